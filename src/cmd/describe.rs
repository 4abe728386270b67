//! `rekon describe KIND/NAME`: one object in detail, in kubectl's layout.

use super::event_view::{aggregate, describe_section, kubectl_object, pod_events, state_events};
use super::get::{canonical_kind, pod_status_word, pod_statuses, read_state};
use super::table::age;
use super::{Global, exit};
use crate::manifest::types::{Kind, NamespacedName};
use crate::plan::desired::displayable;
use crate::runtime::status::ContainerState;
use anyhow::{Result, bail};
use clap::Args;
use serde_json::Value;
use std::fmt::Write;

/// `rekon describe`'s arguments: the object to show.
#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// KIND/NAME, e.g. pod/web or deployment/web.
    pub target: String,
    /// NAME, when the object is given as `KIND NAME` (`describe pod web`), as kubectl takes it.
    pub name: Option<String>,
    /// Namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
}

fn map_lines(v: Option<&Value>) -> String {
    match v.and_then(Value::as_object) {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("\n              "),
        _ => "<none>".to_string(),
    }
}

/// Runs `rekon describe`: prints the object in kubectl's layout, with its events; fails when
/// the state has no such object.
pub fn run(global: &Global, args: &DescribeArgs) -> Result<i32> {
    let joined;
    let target = match &args.name {
        Some(name) if !args.target.contains('/') => {
            joined = format!("{}/{name}", args.target);
            &joined
        }
        Some(_) => bail!(
            "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form"
        ),
        None => &args.target,
    };
    let Some((kind_word, name)) = target.split_once('/') else {
        bail!("expected KIND/NAME (e.g. pod/web), got {:?}", target)
    };
    let Some(kind) = canonical_kind(kind_word) else {
        bail!("the server doesn't have a resource type {kind_word:?}")
    };
    let state = read_state(global)?;
    if kind == Kind::Node {
        let Some(text) = super::describe_node::describe(global, &state, name) else {
            bail!("node {name:?} not found")
        };
        super::output::print(&text);
        return Ok(exit::OK);
    }
    let mut owned = super::get::controller_records(&state);
    owned.extend(super::get::root_ca_records(&state, &global.state_dir));
    let Some(rec) = state.objects.values().chain(&owned).find(|r| {
        r.id.kind == kind && r.id.name == name && r.id.namespace.as_deref().is_none_or(|ns| ns == args.namespace)
    }) else {
        bail!("{kind_word} {name:?} not found in namespace {:?}", args.namespace)
    };
    let spec = displayable(kind, &rec.spec, None);
    let mut out = String::new();
    let _ = writeln!(out, "Name:         {}", rec.id.name);
    if let Some(ns) = &rec.id.namespace {
        let _ = writeln!(out, "Namespace:    {ns}");
    }
    let _ = writeln!(out, "Labels:       {}", map_lines(spec.pointer("/metadata/labels")));
    let _ = writeln!(
        out,
        "Annotations:  {}",
        map_lines(spec.pointer("/metadata/annotations"))
    );
    let _ = writeln!(out, "Source:       {}", rec.origin);
    let _ = writeln!(out, "Generation:   {}", rec.generation);
    let _ = writeln!(
        out,
        "Created:      {} ({} ago)",
        crate::time::rfc3339(rec.created_at),
        age(rec.created_at)
    );
    if kind == Kind::PersistentVolumeClaim {
        describe_claim(&mut out, &state, rec, &spec);
    }
    if kind == Kind::Pod {
        describe_pod(&mut out, global, &state, rec);
    } else if kind == Kind::Deployment {
        describe_deployment(&mut out, &state, rec, &spec)?;
    } else {
        let _ = writeln!(out, "Spec:");
        let body = spec.get("spec").or(spec.get("data")).cloned().unwrap_or(Value::Null);
        for line in serde_yaml::to_string(&body)?.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let object = rec.id.kubectl_ref();
    let pod = (kind == Kind::Pod).then(|| super::get::pod_of(&state, rec)).flatten();
    // A pod's events are its own: an earlier pod of the same name has another uid. The
    // kubelet's events of a running pod are in its directory: only this pod's are read.
    let mut events: Vec<crate::state::Event> = state_events(global)
        .into_iter()
        .filter(|e| e.object.as_deref().map(kubectl_object).as_deref() == Some(object.as_str()))
        .filter(|e| match (&e.uid, pod) {
            (Some(uid), Some(pod)) => *uid == pod.uid,
            (Some(_), None) => kind != Kind::Pod,
            (None, _) => true,
        })
        .collect();
    if let Some(pod) = pod {
        events.extend(pod_events(&global.state_dir.join("pods").join(&pod.uid)));
        events.sort_by_key(|e| e.time);
    }
    out.push_str(&describe_section(&aggregate(&events), crate::time::now()));
    super::output::print(&out);
    Ok(exit::OK)
}

/// A claim's status lines, after kubectl's `describe pvc`.
fn describe_claim(out: &mut String, state: &crate::state::State, rec: &crate::state::ObjectRecord, spec: &Value) {
    let key =
        crate::manifest::types::NamespacedName::new(rec.id.namespace.as_deref().unwrap_or("default"), &rec.id.name);
    let c = super::get::claim_summary(state, rec);
    let used_by = crate::plan::storage::pods_using(state, &key);
    let _ = writeln!(out, "StorageClass: {}", c.class.unwrap_or_default());
    let _ = writeln!(out, "Status:       {}", c.phase);
    let _ = writeln!(out, "Volume:       {}", c.volume);
    let _ = writeln!(out, "Capacity:     {}", c.capacity);
    let _ = writeln!(out, "Access Modes: {}", c.modes);
    let _ = writeln!(
        out,
        "VolumeMode:   {}",
        spec.pointer("/spec/volumeMode")
            .and_then(Value::as_str)
            .unwrap_or("Filesystem")
    );
    let _ = writeln!(
        out,
        "Used By:      {}",
        if used_by.is_empty() {
            "<none>".to_string()
        } else {
            used_by.join("\n              ")
        }
    );
}

fn describe_pod(out: &mut String, global: &Global, state: &crate::state::State, rec: &crate::state::ObjectRecord) {
    let statuses = pod_statuses(global, state);
    let pod = super::get::pod_of(state, rec);
    let status = pod.and_then(|p| statuses.get(&p.uid));
    let node = pod.and_then(|p| p.node.as_deref());
    let _ = writeln!(out, "Node:         {}", node.unwrap_or("<none>"));
    let _ = writeln!(out, "Status:       {}", pod_status_word(pod, status));
    let observed = status.and_then(|s| s.as_ref());
    if let Some(s) = observed {
        if let Some(reason) = &s.reason {
            let _ = writeln!(out, "Reason:       {reason}");
        }
        if let Some(message) = &s.message {
            let _ = writeln!(out, "Message:      {message}");
        }
        let _ = writeln!(out, "IP:           {}", s.pod_ip.as_deref().unwrap_or(""));
        if let Some(q) = &s.qos_class {
            let _ = writeln!(out, "QoS Class:    {q}");
        }
    }
    // kubectl's line for the controller owner reference; none for a bare or orphaned pod.
    let controller = rec
        .spec
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| refs.iter().find(|r| r["controller"] == true));
    if let Some(c) = controller {
        let kind = c["kind"].as_str().unwrap_or_default();
        let name = c["name"].as_str().unwrap_or_default();
        let _ = writeln!(out, "Controlled By:  {kind}/{name}");
    }
    let _ = writeln!(out, "Containers:");
    for c in rec
        .spec
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        let _ = writeln!(out, "  {name}:");
        let _ = writeln!(
            out,
            "    Image:          {}",
            c.get("image").and_then(Value::as_str).unwrap_or_default()
        );
        let cs = observed.and_then(|s| s.container_statuses.iter().find(|c| c.name == name));
        if let Some(cs) = cs {
            write_state(out, "State:     ", &cs.state);
            if let Some(last) = &cs.last_state {
                write_state(out, "Last State:", last);
            }
            let _ = writeln!(out, "    Ready:          {}", if cs.ready { "True" } else { "False" });
            let _ = writeln!(out, "    Restart Count:  {}", cs.restart_count);
        }
    }
    // kubectl shows the scheduler's verdict as the PodScheduled condition of a Pending pod.
    if let Some(sched) = pod.and_then(|p| p.scheduling.as_ref()) {
        let _ = writeln!(
            out,
            "Conditions:\n  Type                        Status  Reason          Message\n  {:<27} {:<7} {:<15} {}",
            "PodScheduled", "False", sched.reason, sched.message
        );
    }
    if let Some(s) = observed
        && !s.conditions.is_empty()
    {
        let _ = writeln!(out, "Conditions:\n  Type                        Status");
        for c in &s.conditions {
            let _ = writeln!(out, "  {:<27} {}", c.type_, c.status);
        }
    }
}

/// One container state in kubectl's layout (`describe.go` `describeContainerState`), the
/// message included: it is where a start failure says what went wrong.
fn write_state(out: &mut String, label: &str, state: &ContainerState) {
    match state {
        ContainerState::Running { started_at } => {
            let _ = writeln!(out, "    {label}     Running\n      Started:      {started_at}");
        }
        ContainerState::Waiting { reason, message } => {
            let _ = writeln!(out, "    {label}     Waiting\n      Reason:       {reason}");
            if let Some(m) = message {
                let _ = writeln!(out, "      Message:      {m}");
            }
        }
        ContainerState::Terminated {
            exit_code,
            reason,
            message,
            finished_at,
            ..
        } => {
            let _ = writeln!(out, "    {label}     Terminated\n      Reason:       {reason}");
            if let Some(m) = message {
                let _ = writeln!(out, "      Message:      {m}");
            }
            let _ = writeln!(
                out,
                "      Exit Code:    {exit_code}\n      Finished:     {finished_at}"
            );
        }
    }
}

/// kubectl's Deployment view: replica counts, strategy, template, conditions, ReplicaSets.
fn describe_deployment(
    out: &mut String,
    state: &crate::state::State,
    rec: &crate::state::ObjectRecord,
    spec: &Value,
) -> Result<()> {
    let ns = rec.id.namespace.as_deref().unwrap_or("default");
    let st = state
        .deployments
        .get(&NamespacedName::new(ns, &rec.id.name))
        .cloned()
        .unwrap_or_default();
    let text = |p: &str| {
        spec.pointer(p)
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
    };
    let desired = spec.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let selector = super::get::key_values(spec.pointer("/spec/selector/matchLabels")).unwrap_or_default();
    let _ = writeln!(out, "Selector:               {selector}");
    let _ = writeln!(
        out,
        "Replicas:               {desired} desired | {} updated | {} total | {} available | {} unavailable",
        st.updated_replicas, st.replicas, st.available_replicas, st.unavailable_replicas
    );
    let strategy = text("/spec/strategy/type").unwrap_or_else(|| "RollingUpdate".into());
    let _ = writeln!(out, "StrategyType:           {strategy}");
    let _ = writeln!(
        out,
        "MinReadySeconds:        {}",
        text("/spec/minReadySeconds").unwrap_or_else(|| "0".into())
    );
    if strategy == "RollingUpdate" {
        let _ = writeln!(
            out,
            "RollingUpdateStrategy:  {} max unavailable, {} max surge",
            text("/spec/strategy/rollingUpdate/maxUnavailable").unwrap_or_else(|| "25%".into()),
            text("/spec/strategy/rollingUpdate/maxSurge").unwrap_or_else(|| "25%".into())
        );
    }
    if let Some(ov) = state.rollouts.get(&NamespacedName::new(ns, &rec.id.name)) {
        if let Some(hold) = &ov.hold {
            let _ = writeln!(
                out,
                "Held:                   at revision {} by rollout undo",
                hold.revision
            );
        }
        if ov.paused {
            let _ = writeln!(out, "Paused:                 by rollout pause");
        }
    }
    let _ = writeln!(out, "Pod Template:");
    let template = spec.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    for line in serde_yaml::to_string(&template)?.lines() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "Conditions:");
    let _ = writeln!(out, "  Type           Status  Reason");
    let _ = writeln!(out, "  ----           ------  ------");
    for c in &st.conditions {
        let _ = writeln!(out, "  {:<14} {:<7} {}", c.type_, c.status, c.reason);
    }
    let mut rses = state.replica_sets_of(ns, &rec.id.name);
    rses.sort_by_key(|rs| rs.revision());
    let line = |rs: &crate::plan::controller::LiveReplicaSet| {
        format!("{} ({}/{} replicas created)", rs.name, rs.status.replicas, rs.replicas)
    };
    let (new, old) = match rses.split_last() {
        Some((new, old)) => (
            line(new),
            old.iter().filter(|rs| rs.replicas > 0).map(|rs| line(rs)).collect(),
        ),
        None => ("<none>".to_string(), Vec::new()),
    };
    let old = if old.is_empty() {
        "<none>".to_string()
    } else {
        old.join(", ")
    };
    let _ = writeln!(out, "OldReplicaSets:         {old}");
    let _ = writeln!(out, "NewReplicaSet:          {new}");
    Ok(())
}
