//! `rekon get`: objects from the state in kubectl's columns.

use super::context;
use super::table::{age, render};
use super::{Global, exit};
use crate::manifest::types::{Kind, NamespacedName};
use crate::plan::desired::displayable;
use crate::runtime::PodStatus;
use crate::runtime::status::ContainerState;
use crate::state::{ObjectRecord, PodRecord, State, StateStore};
use anyhow::{Result, bail};
use clap::Args;
use serde_json::Value;

/// `rekon get`'s arguments: what to list, how to print it, and whether to watch.
#[derive(Args, Debug)]
pub struct GetArgs {
    /// pods|deploy|rs|sts|ds|svc|cm|secret|pvc|pv|nodes|ns|jobs|all
    pub kind: String,
    /// Only this object.
    pub name: Option<String>,
    /// Output format: wide, yaml, json, name or jsonpath=TEMPLATE (`{.items[*].metadata.name}`).
    #[arg(short = 'o', long = "output")]
    pub output: Option<String>,
    /// Only objects whose labels match this selector (`app=web`, `tier!=db`, `env in (a,b)`).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Add a LABELS column.
    #[arg(long)]
    pub show_labels: bool,
    /// Namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// All namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// After the list, print each object again whenever it changes (until interrupted).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Like --watch, without the list first.
    #[arg(long)]
    pub watch_only: bool,
}

/// How often `get --watch` looks at the state and the pods again.
const WATCH_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The kind a user typed, in kubectl's spellings.
pub fn canonical_kind(word: &str) -> Option<Kind> {
    Some(match word.to_lowercase().as_str() {
        "po" | "pod" | "pods" => Kind::Pod,
        "deploy" | "deployment" | "deployments" => Kind::Deployment,
        "rs" | "replicaset" | "replicasets" => Kind::ReplicaSet,
        "rc" | "replicationcontroller" | "replicationcontrollers" => Kind::ReplicationController,
        "sts" | "statefulset" | "statefulsets" => Kind::StatefulSet,
        "ds" | "daemonset" | "daemonsets" => Kind::DaemonSet,
        "job" | "jobs" => Kind::Job,
        "svc" | "service" | "services" => Kind::Service,
        "cm" | "configmap" | "configmaps" => Kind::ConfigMap,
        "secret" | "secrets" => Kind::Secret,
        "sa" | "serviceaccount" | "serviceaccounts" => Kind::ServiceAccount,
        "pvc" | "persistentvolumeclaim" | "persistentvolumeclaims" => Kind::PersistentVolumeClaim,
        "pv" | "persistentvolume" | "persistentvolumes" => Kind::PersistentVolume,
        "sc" | "storageclass" | "storageclasses" => Kind::StorageClass,
        "no" | "node" | "nodes" => Kind::Node,
        "ns" | "namespace" | "namespaces" => Kind::Namespace,
        _ => return None,
    })
}

/// Reads the state without locking (saves are atomic renames) and without creating it.
pub fn read_state(global: &Global) -> Result<State> {
    if !global.state_dir.join("state.json").exists() {
        return Ok(State::new(String::new()));
    }
    Ok(StateStore::open(&global.state_dir)?.load()?)
}

/// Runs `rekon get`: prints the matching objects, and with `--watch` their changes; exit 1
/// when a named object does not exist.
pub fn run(global: &Global, args: &GetArgs) -> Result<i32> {
    let watching = args.watch || args.watch_only;
    if watching && !matches!(args.output.as_deref(), None | Some("wide" | "name")) {
        bail!("--watch prints tables: use it with the default output, -o wide or -o name");
    }
    let (out, found) = render_once(global, args)?;
    if !found && !watching {
        match &args.name {
            Some(name) => {
                let plural = canonical_kind(&args.kind).map_or_else(|| args.kind.clone(), super::delete::plural);
                eprintln!("Error from server (NotFound): {plural} {name:?} not found");
                return Err(super::ExitError::silent(super::exit::ERROR).into());
            }
            None if args.all_namespaces => eprintln!("No resources found"),
            None => eprintln!("No resources found in {} namespace.", args.namespace),
        }
    }
    if !args.watch_only {
        super::output::print(&out);
    }
    if watching {
        watch(global, args, &out)?;
    }
    Ok(exit::OK)
}

/// Prints every row that is new or changed since the last look, as kubectl's watch does,
/// until the process is interrupted. A row whose only change is its AGE is not printed again.
fn watch(global: &Global, args: &GetArgs, first: &str) -> Result<()> {
    let mut seen = watch_rows(first);
    loop {
        std::thread::sleep(WATCH_POLL);
        let (text, _) = render_once(global, args)?;
        let now = watch_rows(&text);
        for (_, line) in now.iter().filter(|(key, _)| !seen.iter().any(|(k, _)| k == key)) {
            super::output::print(&format!("{line}\n"));
        }
        seen = now;
    }
}

/// The rows of tables (headers and blank lines left out), each with its AGE cell blanked
/// out as the key that says whether it changed.
fn watch_rows(text: &str) -> Vec<(String, String)> {
    let mut age: Option<(usize, Option<usize>)> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if line.starts_with("NAME ") || line.starts_with("NAMESPACE ") {
            age = line.find("   AGE").map(|i| {
                let start = i + 3;
                let next = line[start + 3..].find(|c: char| c != ' ').map(|j| start + 3 + j);
                (start, next)
            });
            continue;
        }
        let key = match age {
            Some((start, end)) if line.len() >= start && line.is_char_boundary(start) => {
                let end = end.map_or(line.len(), |e| e.min(line.len()));
                let end = if line.is_char_boundary(end) { end } else { line.len() };
                format!("{}{}", &line[..start], &line[end..])
            }
            _ => line.to_string(),
        };
        out.push((key, line.to_string()));
    }
    out
}

/// The output of one `get` (without the not-found message), and whether anything matched.
fn render_once(global: &Global, args: &GetArgs) -> Result<(String, bool)> {
    let state = read_state(global)?;
    let kinds: Vec<Kind> = if args.kind == "all" {
        vec![
            Kind::Pod,
            Kind::Service,
            Kind::Deployment,
            Kind::ReplicaSet,
            Kind::StatefulSet,
            Kind::DaemonSet,
            Kind::Job,
        ]
    } else {
        match canonical_kind(&args.kind) {
            Some(k) => vec![k],
            None => bail!("the server doesn't have a resource type {:?}", args.kind),
        }
    };
    let selector = args
        .selector
        .as_deref()
        .map(crate::manifest::types::LabelSelector::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let statuses = pod_statuses(global, &state);
    let mut owned = controller_records(&state);
    owned.extend(root_ca_records(&state, &global.state_dir));
    let mut out = String::new();
    let mut found = false;
    for kind in kinds {
        let mut records: Vec<&ObjectRecord> = state
            .objects
            .values()
            .chain(&owned)
            .filter(|r| r.id.kind == kind)
            .filter(|r| args.all_namespaces || r.id.namespace.as_deref().is_none_or(|ns| ns == args.namespace))
            .filter(|r| args.name.as_ref().is_none_or(|n| &r.id.name == n))
            .filter(|r| selector.as_ref().is_none_or(|s| s.matches(&labels_of(r))))
            .collect();
        // As the API server lists them: by namespace and name.
        records.sort_by(|a, b| (&a.id.namespace, &a.id.name).cmp(&(&b.id.namespace, &b.id.name)));
        if records.is_empty() && !(kind == Kind::Node && args.name.is_none() && selector.is_none()) {
            continue;
        }
        found = true;
        let jsonpath = args.output.as_deref().and_then(|o| o.strip_prefix("jsonpath="));
        let structured = jsonpath.is_some() || matches!(args.output.as_deref(), Some("yaml" | "json"));
        match args.output.as_deref() {
            _ if structured => {
                let items: Vec<Value> = records.iter().map(|r| with_status(r, &state, &statuses)).collect();
                let value = if items.len() == 1 && args.name.is_some() {
                    items[0].clone()
                } else {
                    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items})
                };
                out.push_str(&if let Some(template) = jsonpath {
                    super::jsonpath::render(template, &value)
                        .map_err(|e| anyhow::anyhow!("error executing jsonpath {template:?}: {e}"))?
                } else if args.output.as_deref() == Some("yaml") {
                    serde_yaml::to_string(&value)?
                } else {
                    format!("{}\n", serde_json::to_string_pretty(&value)?)
                });
            }
            Some("name") => {
                for r in &records {
                    out.push_str(&format!("{}/{}\n", resource_name(kind), r.id.name));
                }
            }
            Some("wide") | None => {
                if !out.is_empty() {
                    out.push('\n');
                }
                let wide = args.output.as_deref() == Some("wide");
                let text = table(kind, &records, &state, &statuses, wide, args.all_namespaces);
                if args.show_labels && !records.is_empty() {
                    out.push_str(&with_labels(&text, &records));
                } else {
                    out.push_str(&text);
                }
            }
            Some(other) => bail!(
                "unable to match a printer suitable for the output format {other:?}, allowed formats are: json, jsonpath=TEMPLATE, name, wide, yaml"
            ),
        }
    }
    Ok((out, found))
}

/// Whether objects of `kind` live outside namespaces.
pub fn cluster_scoped(kind: Kind) -> bool {
    !kind.is_namespaced()
}

/// An object's labels as written in its manifest (or given by its controller).
pub fn labels_of(r: &ObjectRecord) -> std::collections::BTreeMap<String, String> {
    r.spec["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// kubectl's `-o name` spelling of a kind: lower case, with its API group (`deployment.apps`).
pub fn resource_name(kind: Kind) -> String {
    let group = match kind.api_version().split_once('/') {
        Some((group, _)) => format!(".{group}"),
        None => String::new(),
    };
    format!("{}{group}", kind.as_str().to_lowercase())
}

/// The table with kubectl's LABELS column (`k=v,k2=v2`, `<none>`) added after the last one;
/// the table's rows are the records in order.
fn with_labels(table: &str, records: &[&ObjectRecord]) -> String {
    let width = table.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (i, line) in table.lines().enumerate() {
        let cell = match i {
            0 => "LABELS".to_string(),
            _ => {
                let labels = records.get(i - 1).map(|r| labels_of(r)).unwrap_or_default();
                if labels.is_empty() {
                    "<none>".to_string()
                } else {
                    labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                }
            }
        };
        out.push_str(line);
        out.push_str(&" ".repeat(width - line.chars().count() + 3));
        out.push_str(&cell);
        out.push('\n');
    }
    out
}

/// Statuses of every pod in the state, as the runtime reports them (empty when it cannot).
pub fn pod_statuses(global: &Global, state: &State) -> std::collections::BTreeMap<String, Option<PodStatus>> {
    match context::runtime(global) {
        Ok(mut rt) => context::observe(rt.as_mut(), state).unwrap_or_default(),
        Err(_) => Default::default(),
    }
}

/// The objects the controllers made, as records like git's: ReplicaSets of Deployments and
/// the pods of ReplicaSets (with their template as spec and an owner reference).
pub fn controller_records(state: &State) -> Vec<ObjectRecord> {
    let mut out = Vec::new();
    for rs in state.replica_sets.values() {
        let id = crate::manifest::ObjectId::new(Kind::ReplicaSet, Some(&rs.namespace), &rs.name);
        let owner_ref = rs.owner.as_ref().map(
            |d| serde_json::json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": d, "controller": true}]),
        );
        if rs.owner.is_some() || rs.orphaned {
            let mut meta = serde_json::json!({"name": rs.name, "namespace": rs.namespace, "uid": rs.uid,
                "labels": rs.labels, "annotations": rs.annotations});
            if let Some(o) = &owner_ref {
                meta["ownerReferences"] = o.clone();
            }
            out.push(synthetic(
                id.clone(),
                serde_json::json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
                    "spec": {"replicas": rs.replicas, "selector": rs.selector, "template": rs.template}}),
                rs.created_at,
                rs.generation as u64,
            ));
        }
        for pod in state.pods_of(&id) {
            out.push(synthetic(
                crate::manifest::ObjectId::new(Kind::Pod, Some(&pod.namespace), &pod.name),
                serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid,
                        "labels": rs.template.metadata.labels,
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs.name, "controller": true}]},
                    "spec": rs.template.spec}),
                pod.created_at,
                1,
            ));
        }
    }
    // Pods orphaned by `delete rs/NAME --cascade=orphan`: no owner reference.
    for pod in state.pods.values() {
        let Some(t) = &pod.orphaned else { continue };
        out.push(synthetic(
            crate::manifest::ObjectId::new(Kind::Pod, Some(&pod.namespace), &pod.name),
            serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid,
                    "labels": t.metadata.labels},
                "spec": t.spec}),
            pod.created_at,
            1,
        ));
    }
    // A bare Pod removed from git (or by `rekon delete`) stays visible, Terminating, until its
    // supervisor is done, as a deleted pod does in the API until the kubelet confirms.
    for pod in state.pods.values() {
        if pod.owner.kind == Kind::Pod && pod.is_terminating() && !state.objects.contains_key(&pod.owner) {
            out.push(synthetic(
                pod.owner.clone(),
                serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid}, "spec": {}}),
                pod.created_at,
                1,
            ));
        }
    }
    // The volumes rekon's provisioner made, and its StorageClass unless git has one of the name.
    for (name, vs) in &state.volumes {
        let Some(p) = &vs.provisioned else { continue };
        out.push(synthetic(
            crate::manifest::ObjectId::new(Kind::PersistentVolume, None, name),
            serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": crate::plan::storage::PROVISIONER}},
                "spec": {"capacity": {"storage": p.capacity}, "accessModes": p.access_modes,
                    "persistentVolumeReclaimPolicy": p.reclaim_policy, "storageClassName": p.class,
                    "volumeMode": "Filesystem"}}),
            p.created_at,
            1,
        ));
    }
    // The `default` ServiceAccount of every namespace, unless git has its own.
    let (namespaces, since) = namespaces_of(state);
    for ns in namespaces {
        let id = crate::manifest::ObjectId::new(Kind::ServiceAccount, Some(&ns), "default");
        if !state.objects.contains_key(&id) {
            let uid = crate::apply::config::account_uid(&ns, "default");
            out.push(synthetic(
                id,
                serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "default", "namespace": ns, "uid": uid}}),
                since,
                1,
            ));
        }
    }
    let builtin = crate::manifest::ObjectId::new(Kind::StorageClass, None, crate::plan::storage::BUILTIN_CLASS);
    if !state.objects.contains_key(&builtin) {
        let git: Vec<crate::manifest::types::StorageClass> = state
            .objects
            .values()
            .filter(|r| r.id.kind == Kind::StorageClass)
            .filter_map(|r| serde_json::from_value((*r.spec).clone()).ok())
            .collect();
        let classes = crate::plan::storage::classes(git);
        if let Some(class) = classes
            .iter()
            .find(|c| c.metadata.name == crate::plan::storage::BUILTIN_CLASS)
        {
            // It exists since the state does.
            let since = state
                .objects
                .values()
                .map(|r| r.created_at)
                .min()
                .unwrap_or_else(crate::time::now);
            out.push(synthetic(
                builtin,
                serde_json::to_value(class).unwrap_or(Value::Null),
                since,
                1,
            ));
        }
    }
    out
}

fn synthetic(
    id: crate::manifest::ObjectId,
    spec: Value,
    created_at: crate::time::Time,
    generation: u64,
) -> ObjectRecord {
    ObjectRecord {
        id,
        spec: spec.into(),
        hash: String::new(),
        origin: "(made by a controller)".into(),
        created_at,
        generation,
        deletion_timestamp: None,
        finalizers: Vec::new(),
    }
}

/// The `kube-root-ca.crt` ConfigMap of every namespace that has objects, once the state has
/// its CA (made when the first pod needs a token), unless git has one of the name.
pub fn root_ca_records(state: &State, state_dir: &std::path::Path) -> Vec<ObjectRecord> {
    let Ok(ca) = std::fs::read_to_string(state_dir.join("serviceaccount/ca.crt")) else {
        return Vec::new();
    };
    let (namespaces, since) = namespaces_of(state);
    let name = crate::apply::config::ROOT_CA;
    namespaces
        .into_iter()
        .map(|ns| crate::manifest::ObjectId::new(Kind::ConfigMap, Some(&ns), name))
        .filter(|id| !state.objects.contains_key(id))
        .map(|id| {
            let ns = id.namespace.clone().unwrap_or_default();
            synthetic(
                id,
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": ns, "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                    "data": {"ca.crt": ca}}),
                since,
                1,
            )
        })
        .collect()
}

/// Every namespace of the state (its objects', its Namespaces and `default`), and when its
/// first object was applied: the objects each namespace has upstream (the `default`
/// ServiceAccount, `kube-root-ca.crt`) are given that age.
fn namespaces_of(state: &State) -> (std::collections::BTreeSet<String>, crate::time::Time) {
    let mut namespaces: std::collections::BTreeSet<String> = state
        .objects
        .values()
        .filter_map(|r| match r.id.kind {
            Kind::Namespace => Some(r.id.name.clone()),
            _ => r.id.namespace.clone(),
        })
        .collect();
    namespaces.insert("default".into());
    let since = state
        .objects
        .values()
        .map(|r| r.created_at)
        .min()
        .unwrap_or_else(crate::time::now);
    (namespaces, since)
}

/// What `get pvc` and `describe pvc` show of a claim.
pub struct ClaimSummary {
    /// `Pending`, `Bound` or `Lost`.
    pub phase: String,
    /// The bound volume; empty while Pending.
    pub volume: String,
    /// The bound volume's size; empty while Pending.
    pub capacity: String,
    /// The bound volume's access modes as kubectl abbreviates them; empty while Pending.
    pub modes: String,
    /// The class it asks for (its own, or the default's), if any.
    pub class: Option<String>,
}

/// The summary of the claim `r` from the binder's status.
pub fn claim_summary(state: &State, r: &ObjectRecord) -> ClaimSummary {
    let key = NamespacedName::new(r.id.namespace.as_deref().unwrap_or("default"), &r.id.name);
    let status = state.claims.get(&key);
    let bound = status.filter(|c| c.phase != crate::state::storage::ClaimPhase::Pending);
    ClaimSummary {
        phase: status.map_or("Pending".to_string(), |c| c.phase.to_string()),
        volume: bound.and_then(|c| c.volume.clone()).unwrap_or_default(),
        capacity: bound
            .and_then(|c| c.capacity.as_ref())
            .map(|q| q.to_string())
            .unwrap_or_default(),
        modes: bound.map(|c| mode_letters(&c.access_modes)).unwrap_or_default(),
        class: status.and_then(|c| c.class.clone()).or_else(|| {
            r.spec
                .pointer("/spec/storageClassName")
                .and_then(Value::as_str)
                .map(String::from)
        }),
    }
}

/// The annotation of upstream's root-CA publisher (spec §21).
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// The pod behind a Pod record: a bare Pod's own, or (for a controller's) the one of that name.
pub fn pod_of<'a>(state: &'a State, r: &'a ObjectRecord) -> Option<&'a PodRecord> {
    state.pods_of(&r.id).next().or_else(|| {
        (r.id.kind == Kind::Pod).then_some(())?;
        state
            .pods
            .values()
            .find(|p| p.name == r.id.name && Some(&p.namespace) == r.id.namespace.as_ref())
    })
}

fn with_status(
    r: &ObjectRecord,
    state: &State,
    statuses: &std::collections::BTreeMap<String, Option<PodStatus>>,
) -> Value {
    let mut v = displayable(r.id.kind, &r.spec, None);
    api_metadata(&mut v, r, state);
    let key = NamespacedName::new(r.id.namespace.as_deref().unwrap_or("default"), &r.id.name);
    match r.id.kind {
        Kind::Deployment => {
            if let Some(s) = state.deployments.get(&key) {
                v["status"] = deployment_status(s);
            }
            return v;
        }
        Kind::ReplicaSet => {
            if let Some(rs) = state.replica_sets.get(&key) {
                v["status"] = replica_set_status(rs);
            }
            return v;
        }
        Kind::PersistentVolumeClaim => {
            let Some(c) = state.claims.get(&key) else {
                v["status"] = serde_json::json!({"phase": "Pending"});
                return v;
            };
            if let Some(class) = &c.class {
                v["spec"]["storageClassName"] = class.clone().into();
            }
            if let Some(volume) = &c.volume {
                v["spec"]["volumeName"] = volume.clone().into();
            }
            v["status"] = serde_json::json!({"phase": c.phase.to_string()});
            if c.phase != crate::state::storage::ClaimPhase::Pending {
                v["status"]["accessModes"] = serde_json::json!(c.access_modes);
                v["status"]["capacity"] = serde_json::json!({"storage": c.capacity});
            }
            return v;
        }
        Kind::PersistentVolume => {
            let Some(vs) = state.volumes.get(&r.id.name) else {
                return v;
            };
            if let Some(c) = &vs.claim {
                v["spec"]["claimRef"] = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "namespace": c.namespace, "name": c.name, "uid": c.uid});
            }
            v["status"] = serde_json::json!({"phase": vs.phase.to_string()});
            if let Some(m) = &vs.message {
                v["status"]["message"] = m.clone().into();
            }
            return v;
        }
        _ => {}
    }
    let Some(pod) = pod_of(state, r) else { return v };
    if let Some(at) = &pod.deletion_timestamp {
        v["metadata"]["deletionTimestamp"] = Value::String(crate::time::rfc3339(*at));
        v["metadata"]["deletionGracePeriodSeconds"] = pod.deletion_grace_period_seconds.into();
    }
    if pod.is_pending() {
        v["metadata"]["uid"] = Value::String(pod.uid.clone());
        v["status"] = pending_status(pod);
    } else if let Some(Some(status)) = statuses.get(&pod.uid) {
        v["metadata"]["uid"] = Value::String(pod.uid.clone());
        v["spec"]["nodeName"] = Value::String(pod.node.clone().unwrap_or_default());
        v["status"] = serde_json::to_value(status).unwrap_or(Value::Null);
    }
    v
}

/// The uid of an object of git: fixed by its name and first apply, as a real cluster's is
/// fixed at creation.
fn git_uid(r: &ObjectRecord) -> String {
    crate::plan::controller::names::object_uid(r.id.namespace.as_deref().unwrap_or(""), &r.id.name, r.created_at)
}

/// `metadata` as the API server fills it in: uid, creationTimestamp, generation,
/// resourceVersion (the state's serial: it changes whenever the state does), and owner
/// references with the owner's uid.
fn api_metadata(v: &mut Value, r: &ObjectRecord, state: &State) {
    let meta = &mut v["metadata"];
    if meta.get("uid").is_none_or(Value::is_null) {
        meta["uid"] = Value::String(match r.id.kind {
            // The uid the tokens of its pods name.
            Kind::ServiceAccount => {
                crate::apply::config::account_uid(r.id.namespace.as_deref().unwrap_or("default"), &r.id.name)
            }
            _ => git_uid(r),
        });
    }
    meta["creationTimestamp"] = Value::String(crate::time::rfc3339(r.created_at));
    meta["generation"] = r.generation.into();
    meta["resourceVersion"] = Value::String(state.serial.to_string());
    if let Some(at) = &r.deletion_timestamp {
        meta["deletionTimestamp"] = Value::String(crate::time::rfc3339(*at));
        meta["finalizers"] = serde_json::json!(r.finalizers);
    }
    let ns = r.id.namespace.as_deref().unwrap_or("default");
    if let Some(refs) = meta.get_mut("ownerReferences").and_then(Value::as_array_mut) {
        for o in refs {
            let (Some(kind), Some(name)) = (o["kind"].as_str(), o["name"].as_str()) else {
                continue;
            };
            let uid = match Kind::parse(kind) {
                Some(Kind::ReplicaSet) => state
                    .replica_sets
                    .get(&NamespacedName::new(ns, name))
                    .map(|rs| rs.uid.clone()),
                Some(Kind::Deployment) => state
                    .objects
                    .get(&crate::manifest::ObjectId::new(Kind::Deployment, Some(ns), name))
                    .map(git_uid),
                _ => None,
            };
            if let Some(uid) = uid {
                o["uid"] = Value::String(uid);
            }
            o["blockOwnerDeletion"] = Value::Bool(true);
        }
    }
}

fn time(t: &crate::time::Time) -> String {
    crate::time::rfc3339(*t)
}

/// A Deployment's `status` with the API's field names.
fn deployment_status(s: &crate::plan::controller::DeploymentStatus) -> Value {
    let conditions: Vec<Value> = s
        .conditions
        .iter()
        .map(|c| {
            serde_json::json!({"type": c.type_, "status": c.status, "reason": c.reason, "message": c.message,
                "lastUpdateTime": time(&c.last_update_time), "lastTransitionTime": time(&c.last_transition_time)})
        })
        .collect();
    let mut v = serde_json::json!({
        "observedGeneration": s.observed_generation,
        "replicas": s.replicas,
        "updatedReplicas": s.updated_replicas,
        "readyReplicas": s.ready_replicas,
        "availableReplicas": s.available_replicas,
        "conditions": conditions,
    });
    if s.unavailable_replicas > 0 {
        v["unavailableReplicas"] = s.unavailable_replicas.into();
    }
    if let Some(c) = s.collision_count {
        v["collisionCount"] = c.into();
    }
    v
}

/// A ReplicaSet's `status` with the API's field names.
fn replica_set_status(rs: &crate::plan::controller::LiveReplicaSet) -> Value {
    let s = &rs.status;
    serde_json::json!({
        "replicas": s.replicas,
        "fullyLabeledReplicas": s.fully_labeled_replicas,
        "readyReplicas": s.ready_replicas,
        "availableReplicas": s.available_replicas,
        "observedGeneration": s.observed_generation,
    })
}

/// The status of a pod no node took, as the scheduler leaves it in Kubernetes.
fn pending_status(pod: &PodRecord) -> Value {
    let conditions: Vec<Value> = pod
        .scheduling
        .iter()
        .map(|s| {
            serde_json::json!({
                "type": "PodScheduled",
                "status": "False",
                "reason": s.reason,
                "message": s.message,
            })
        })
        .collect();
    serde_json::json!({"phase": "Pending", "conditions": conditions})
}

/// kubectl's STATUS column for a pod.
pub fn pod_status_word(record: Option<&PodRecord>, status: Option<&Option<PodStatus>>) -> String {
    let Some(record) = record else { return "Pending".into() };
    if record.is_pending() {
        return "Pending".into();
    }
    // A pod being deleted says so whatever its containers do (kubectl's printPod).
    if record.is_terminating() {
        return "Terminating".into();
    }
    let status = match status {
        Some(Some(s)) => s,
        Some(None) => return "Missing".into(),
        None if record.created => return "Unknown".into(),
        None => return "ContainerCreating".into(),
    };
    if let Some(reason) = &status.reason {
        return reason.clone();
    }
    for (i, c) in status.init_container_statuses.iter().enumerate() {
        match &c.state {
            ContainerState::Terminated { exit_code: 0, .. } => continue,
            ContainerState::Terminated { reason, .. } => return format!("Init:{reason}"),
            ContainerState::Waiting { reason, .. } if reason != "PodInitializing" => return format!("Init:{reason}"),
            _ => return format!("Init:{}/{}", i, status.init_container_statuses.len()),
        }
    }
    let mut word = status.phase.to_string();
    for c in &status.container_statuses {
        match &c.state {
            ContainerState::Waiting { reason, .. } if !reason.is_empty() => word = reason.clone(),
            ContainerState::Terminated { reason, .. } if !reason.is_empty() => word = reason.clone(),
            _ => {}
        }
    }
    word
}

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "<none>".to_string(),
    }
}

fn count(v: Option<&Value>) -> usize {
    v.and_then(Value::as_object).map_or(0, |m| m.len())
}

fn table(
    kind: Kind,
    records: &[&ObjectRecord],
    state: &State,
    statuses: &std::collections::BTreeMap<String, Option<PodStatus>>,
    wide: bool,
    all_ns: bool,
) -> String {
    let mut header: Vec<&str> = match kind {
        // kubectl has no QoS column; rekon adds it to the wide view (it decides the pod's
        // cgroup and OOM ranking on this host).
        Kind::Pod if wide => vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "QOS"],
        Kind::Pod => vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        Kind::Deployment => vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        Kind::ReplicaSet | Kind::ReplicationController => vec!["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        Kind::StatefulSet => vec!["NAME", "READY", "AGE"],
        Kind::DaemonSet => vec![
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "NODE SELECTOR",
            "AGE",
        ],
        Kind::Job => vec!["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
        Kind::Service => vec!["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        Kind::ConfigMap => vec!["NAME", "DATA", "AGE"],
        Kind::Secret => vec!["NAME", "TYPE", "DATA", "AGE"],
        Kind::ServiceAccount => vec!["NAME", "SECRETS", "AGE"],
        Kind::PersistentVolumeClaim => vec![
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE",
        ],
        Kind::PersistentVolume => vec![
            "NAME",
            "CAPACITY",
            "ACCESS MODES",
            "RECLAIM POLICY",
            "STATUS",
            "CLAIM",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "REASON",
            "AGE",
        ],
        Kind::StorageClass => vec![
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "ALLOWVOLUMEEXPANSION",
            "AGE",
        ],
        Kind::Node => vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        Kind::Namespace => vec!["NAME", "STATUS", "AGE"],
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in records {
        let spec = &r.spec;
        let replicas = spec.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
        let mut row = vec![r.id.name.clone()];
        row.extend(match kind {
            Kind::Pod => {
                let pod = pod_of(state, r);
                let st = pod.and_then(|p| statuses.get(&p.uid));
                let total = spec
                    .pointer("/spec/containers")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let (ready, restarts) = match st {
                    Some(Some(s)) => (s.container_statuses.iter().filter(|c| c.ready).count(), s.restarts()),
                    _ => (0, 0),
                };
                let mut cells = vec![
                    format!("{ready}/{total}"),
                    pod_status_word(pod, st),
                    restarts.to_string(),
                    age(pod.map_or(r.created_at, |p| p.created_at)),
                ];
                if wide {
                    let ip = match st {
                        Some(Some(s)) => s.pod_ip.clone(),
                        _ => None,
                    };
                    cells.push(ip.unwrap_or_else(|| "<none>".into()));
                    cells.push(pod.and_then(|p| p.node.clone()).unwrap_or_else(|| "<none>".into()));
                    let qos = spec
                        .get("spec")
                        .and_then(|s| serde_json::from_value::<crate::manifest::types::PodSpec>(s.clone()).ok())
                        .map_or("<unknown>", |s| crate::runtime::podspec::qos_class(&s));
                    cells.push(qos.to_string());
                }
                cells
            }
            Kind::Deployment => {
                let key = NamespacedName::new(r.id.namespace.as_deref().unwrap_or("default"), &r.id.name);
                let st = state.deployments.get(&key);
                vec![
                    format!("{}/{replicas}", st.map_or(0, |s| s.ready_replicas)),
                    st.map_or(0, |s| s.updated_replicas).to_string(),
                    st.map_or(0, |s| s.available_replicas).to_string(),
                    age(r.created_at),
                ]
            }
            Kind::ReplicaSet | Kind::ReplicationController => {
                let key = NamespacedName::new(r.id.namespace.as_deref().unwrap_or("default"), &r.id.name);
                let st = state.replica_sets.get(&key).map(|rs| &rs.status);
                vec![
                    replicas.to_string(),
                    st.map_or(0, |s| s.replicas).to_string(),
                    st.map_or(0, |s| s.ready_replicas).to_string(),
                    age(r.created_at),
                ]
            }
            Kind::StatefulSet => vec![format!("0/{replicas}"), age(r.created_at)],
            Kind::DaemonSet => {
                let sel = key_values(spec.pointer("/spec/template/spec/nodeSelector"));
                vec![
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    sel.filter(|s| !s.is_empty()).unwrap_or("<none>".into()),
                    age(r.created_at),
                ]
            }
            Kind::Job => {
                let completions = spec.pointer("/spec/completions").and_then(Value::as_i64).unwrap_or(1);
                vec![
                    "Pending".into(),
                    format!("0/{completions}"),
                    "".into(),
                    age(r.created_at),
                ]
            }
            Kind::Service => {
                let ports = spec.pointer("/spec/ports").and_then(Value::as_array).map(|ps| {
                    ps.iter()
                        .map(|p| {
                            format!(
                                "{}/{}",
                                s(p.get("port")),
                                p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                });
                let cluster_ip = spec
                    .pointer("/spec/clusterIP")
                    .and_then(Value::as_str)
                    .unwrap_or("<pending>")
                    .to_string();
                vec![
                    s(spec.pointer("/spec/type")),
                    cluster_ip,
                    "<none>".into(),
                    ports.unwrap_or("<none>".into()),
                    age(r.created_at),
                ]
            }
            Kind::ConfigMap => vec![
                (count(spec.get("data")) + count(spec.get("binaryData"))).to_string(),
                age(r.created_at),
            ],
            Kind::ServiceAccount => vec![
                spec.get("secrets")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
                    .to_string(),
                age(r.created_at),
            ],
            Kind::Secret => vec![
                s(spec.get("type")),
                count(spec.get("data")).to_string(),
                age(r.created_at),
            ],
            Kind::PersistentVolumeClaim => {
                let c = claim_summary(state, r);
                vec![
                    c.phase,
                    c.volume,
                    c.capacity,
                    c.modes,
                    c.class.unwrap_or_else(|| "<unset>".into()),
                    "<unset>".into(),
                    age(r.created_at),
                ]
            }
            Kind::PersistentVolume => {
                let st = state.volumes.get(&r.id.name);
                let claim = st
                    .and_then(|v| v.claim.as_ref())
                    .map(|c| format!("{}/{}", c.namespace, c.name))
                    .unwrap_or_default();
                let class = spec
                    .pointer("/spec/storageClassName")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                vec![
                    s(spec.pointer("/spec/capacity/storage")),
                    access_modes(spec),
                    s(spec.pointer("/spec/persistentVolumeReclaimPolicy")),
                    st.map_or("Available".to_string(), |v| v.phase.to_string()),
                    claim,
                    if class.is_empty() {
                        "<unset>".into()
                    } else {
                        class.to_string()
                    },
                    "<unset>".into(),
                    "".into(),
                    age(r.created_at),
                ]
            }
            Kind::StorageClass => {
                let default = spec
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(crate::plan::storage::IS_DEFAULT_CLASS))
                    .and_then(Value::as_str)
                    == Some("true");
                vec![
                    if default { "(default)".into() } else { String::new() },
                    s(spec.get("provisioner")),
                    s(spec.get("reclaimPolicy")),
                    s(spec.get("volumeBindingMode")),
                    spec.get("allowVolumeExpansion")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                        .to_string(),
                    age(r.created_at),
                ]
            }
            Kind::Node => vec![
                if spec.pointer("/spec/unschedulable") == Some(&Value::Bool(true)) {
                    "Ready,SchedulingDisabled".into()
                } else {
                    "Ready".into()
                },
                "<none>".into(),
                age(r.created_at),
                format!("rekon-{}", env!("CARGO_PKG_VERSION")),
            ],
            Kind::Namespace => vec!["Active".into(), age(r.created_at)],
        });
        if kind == Kind::StorageClass {
            // kubectl marks the default class after its name.
            let mark = row.remove(1);
            if !mark.is_empty() {
                row[0] = format!("{} {mark}", row[0]);
            }
        }
        if all_ns && r.id.namespace.is_some() {
            row.insert(0, r.id.namespace.clone().unwrap_or_default());
        }
        rows.push(row);
    }
    if kind == Kind::Node && records.is_empty() {
        rows.push(vec![
            crate::runtime::host::hostname(),
            "Ready".into(),
            "<none>".into(),
            "<unknown>".into(),
            format!("rekon-{}", env!("CARGO_PKG_VERSION")),
        ]);
    }
    let namespaced = !cluster_scoped(kind);
    if all_ns && namespaced {
        header.insert(0, "NAMESPACE");
    }
    render(&header, &rows)
}

/// A string map as kubectl prints selectors: `k1=v1,k2=v2`; None when it is not a map.
pub fn key_values(map: Option<&Value>) -> Option<String> {
    map.and_then(Value::as_object).map(|m| {
        m.iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn access_modes(spec: &Value) -> String {
    let modes: Vec<String> = spec
        .pointer("/spec/accessModes")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    mode_letters(&modes)
}

/// Access modes as kubectl abbreviates them: `RWO,ROX`.
pub fn mode_letters(modes: &[String]) -> String {
    modes
        .iter()
        .map(|m| match m.as_str() {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            _ => "?",
        })
        .collect::<Vec<_>>()
        .join(",")
}
