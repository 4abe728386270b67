//! The planning function: which objects to create, update, replace or destroy, and why.

use super::desired::DesiredObject;
use super::diff::{replace_reason, yaml_diff};
use super::{Action, HostFacts, PLAN_FORMAT_VERSION, Plan, PlanSource, Step, Summary, nodes, placement};
use crate::manifest::ObjectId;
use crate::manifest::status::{PodPhase, PodStatus};
use crate::manifest::types::Kind;
use crate::state::{PodRecord, State};
use crate::time::Time;
use std::collections::{BTreeMap, BTreeSet};

/// What the runtime reported for each pod of the state, by uid (None: the runtime has no
/// such pod any more).
pub type Observed = BTreeMap<String, Option<PodStatus>>;

/// Everything a plan is computed from.
pub struct PlanInput<'a> {
    /// The objects of the source, plus the Namespaces they use that git does not define.
    pub desired: &'a [DesiredObject],
    /// The state as last saved.
    pub state: &'a State,
    /// What the runtime reports for the state's pods.
    pub observed: &'a Observed,
    /// Where `desired` came from; copied into the plan.
    pub source: PlanSource,
    /// The host: its name is recorded in the plan; its size is the default node's.
    pub host: HostFacts,
    /// The time stamped into the plan; the controllers' clock.
    pub now: Time,
    /// Delete the PersistentVolumeClaims removed from git, and their data (DESIGN §3: kept
    /// otherwise).
    pub prune_volumes: bool,
}

/// Apply order of kinds: what others depend on comes first; deletes go in reverse.
pub fn kind_rank(kind: Kind) -> usize {
    match kind {
        Kind::Namespace => 0,
        Kind::Node => 1,
        Kind::StorageClass => 2,
        Kind::PersistentVolume => 3,
        Kind::PersistentVolumeClaim => 4,
        Kind::ConfigMap => 5,
        Kind::Secret => 6,
        Kind::ServiceAccount => 6,
        Kind::Service => 7,
        Kind::Pod => 8,
        Kind::ReplicaSet => 9,
        Kind::ReplicationController => 10,
        Kind::Deployment => 11,
        Kind::StatefulSet => 12,
        Kind::DaemonSet => 13,
        Kind::Job => 14,
    }
}

/// Kinds whose controller is not built yet: recorded, but they run nothing.
fn no_controller_note(kind: Kind) -> Option<String> {
    match kind {
        Kind::ReplicationController | Kind::StatefulSet | Kind::DaemonSet | Kind::Job => Some(format!(
            "no {kind} controller yet: the object is recorded but starts no pods"
        )),
        _ => None,
    }
}

/// Computes the plan. Pure: the same inputs always give the same plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut steps = Vec::new();
    let mut wanted = BTreeSet::new();
    let mut held = Vec::new();
    // Indexed once: looking pods up per object would make planning quadratic.
    let mut pods_by_owner: BTreeMap<&ObjectId, Vec<&PodRecord>> = BTreeMap::new();
    for pod in input.state.pods.values() {
        pods_by_owner.entry(&pod.owner).or_default().push(pod);
    }
    for d in input.desired {
        wanted.insert(&d.id);
        let is_pod = d.id.kind == Kind::Pod;
        let step = match input.state.objects.get(&d.id) {
            None => Some(Step {
                id: d.id.clone(),
                action: Action::Create,
                reason: input
                    .state
                    .deleted
                    .contains_key(&d.id)
                    .then(|| super::DELETED_OUTSIDE_GIT.to_string()),
                after_hash: Some(d.hash.clone()),
                diff: yaml_diff(d.id.kind, None, Some(&d.value)),
                node: None,
                unschedulable: None,
                notes: no_controller_note(d.id.kind)
                    .into_iter()
                    .chain(super::notes::workload_notes(d, input.state))
                    .collect(),
                origin: Some(d.origin.clone()),
            }),
            Some(rec) if rec.hash != d.hash => {
                let reason = replace_reason(d.id.kind, &rec.spec, &d.value);
                if reason.is_some() && d.id.kind == Kind::PersistentVolumeClaim && !input.prune_volumes {
                    // Replacing a claim loses its data: only with --prune-volumes.
                    held.push(format!(
                        "{}: {}; the claim and its data are kept as they are (plan with --prune-volumes to replace it and lose its data)",
                        d.id,
                        reason.as_deref().unwrap_or_default().trim_start_matches("because ")
                    ));
                    continue;
                }
                Some(Step {
                    id: d.id.clone(),
                    action: if reason.is_some() {
                        Action::Replace
                    } else {
                        Action::Update
                    },
                    reason,
                    after_hash: Some(d.hash.clone()),
                    diff: yaml_diff(d.id.kind, Some(&rec.spec), Some(&d.value)),
                    node: None,
                    unschedulable: None,
                    notes: super::notes::workload_notes(d, input.state),
                    origin: Some(d.origin.clone()),
                })
            }
            Some(_) if is_pod => pod_drift(input, d, pods_by_owner.get(&d.id).map_or(&[][..], Vec::as_slice)),
            Some(_) => None,
        };
        steps.extend(step);
    }
    let mut kept = Vec::new();
    for (key, rec) in &input.state.objects {
        if !wanted.contains(&key) && key.kind == Kind::PersistentVolumeClaim && !input.prune_volumes {
            kept.push(key.clone());
        } else if !wanted.contains(&key) {
            steps.push(Step::explained(
                rec.id.clone(),
                Action::Delete,
                "because it is not in git any more".to_string(),
                None,
            ));
        }
    }
    // The binder's prediction: pods whose claims will not bind stay Pending.
    let claims = predict_claims(input, &mut steps);
    super::notes::note_first_steps(input, &mut steps, &claims);
    let (node_infos, plan_nodes) = nodes::plan_nodes(input.desired, &input.host);
    let placements = placement::place(input, &mut steps, node_infos, &claims);
    // Deletes first (dependents before what they depend on), then the rest in kind order;
    // a Node goes last, once the pods it drains run elsewhere.
    steps.sort_by_key(|s| match s.action {
        Action::Delete if s.id.kind == Kind::Node => (2, 0, s.id.clone()),
        Action::Delete => (0, usize::MAX - kind_rank(s.id.kind), s.id.clone()),
        _ => (1, kind_rank(s.id.kind), s.id.clone()),
    });
    let notes = input
        .desired
        .iter()
        .filter(|d| d.resource.is_none() && !input.state.objects.contains_key(&d.id))
        .map(|d| format!("{} is used by objects but not defined in git: rekon creates it", d.id))
        .chain(super::overrides::notes(input.desired, input.state))
        .chain(held)
        .collect();
    Plan {
        format_version: PLAN_FORMAT_VERSION.to_string(),
        rekon_version: env!("CARGO_PKG_VERSION").to_string(),
        source: input.source.clone(),
        lineage: input.state.lineage.clone(),
        serial: input.state.serial,
        host: input.host.hostname.clone(),
        created_at: input.now,
        summary: Summary::of(&steps),
        steps,
        nodes: plan_nodes,
        placements,
        notes,
        kept,
    }
}

/// The claims after the binder's pass over the plan's objects, as the scheduler sees them,
/// with a note on each claim step saying how it binds. Nothing to do (and no record of the
/// state parsed) when neither git nor the state has storage objects.
fn predict_claims(
    input: &PlanInput<'_>,
    steps: &mut [Step],
) -> BTreeMap<crate::manifest::types::NamespacedName, super::storage::ClaimView> {
    if !super::storage::in_use(input.desired, input.state) {
        return BTreeMap::new();
    }
    let storage_input = super::storage::StorageInput::new(input.desired, input.state, input.now);
    let bound = super::storage::bind(&storage_input);
    for step in steps
        .iter_mut()
        .filter(|s| s.id.kind == Kind::PersistentVolumeClaim && s.action != Action::Delete)
    {
        let key = crate::manifest::types::NamespacedName::new(
            step.id.namespace.as_deref().unwrap_or("default"),
            &step.id.name,
        );
        step.notes.extend(super::storage::claim_note(&bound, &key, input.state));
    }
    super::storage::claim_views(&bound, &storage_input.classes)
}

/// A bare Pod unchanged in git whose pod on the host is missing, unconfirmed or lost.
fn pod_drift(input: &PlanInput<'_>, d: &DesiredObject, pods: &[&PodRecord]) -> Option<Step> {
    let reason = match pods.first() {
        None => Some("because its pod is not on the host"),
        // A Pending pod is retried by the scheduler dry-run, not rebuilt.
        Some(p) if p.node.is_none() => None,
        Some(p) if !p.created => Some("because a previous apply stopped before the pod was confirmed"),
        Some(p) => match input.observed.get(&p.uid) {
            Some(None) => Some("because its pod was deleted outside rekon"),
            Some(Some(status)) if status.phase == PodPhase::Unknown => {
                Some("because its supervisor died (phase Unknown)")
            }
            _ => None,
        },
    }?;
    Some(Step::explained(
        d.id.clone(),
        Action::Replace,
        reason.to_string(),
        Some(d),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceSpec;
    use crate::state::ObjectRecord;

    use crate::plan::testkit::desired;

    fn plan_of(d: &[DesiredObject], state: &State) -> Plan {
        plan(&input_of(d, state))
    }

    fn input_of<'a>(d: &'a [DesiredObject], state: &'a State) -> PlanInput<'a> {
        static OBSERVED: std::sync::LazyLock<Observed> = std::sync::LazyLock::new(Observed::new);
        PlanInput {
            desired: d,
            state,
            observed: &OBSERVED,
            source: PlanSource {
                spec: SourceSpec::default(),
                revision: "r".into(),
                description: "d".into(),
            },
            host: HostFacts {
                hostname: "h".into(),
                cpus: 2,
                memory_bytes: 1 << 30,
                arch: "x86_64".into(),
            },
            now: crate::time::parse("2026-01-01T00:00:00Z").unwrap(),
            prune_volumes: false,
        }
    }

    fn applied(d: &[DesiredObject]) -> State {
        let mut state = State::new("l".into());
        for o in d {
            let rec = ObjectRecord {
                id: o.id.clone(),
                spec: o.value.clone().into(),
                hash: o.hash.clone(),
                origin: o.origin.clone(),
                created_at: crate::time::parse("2026-01-01T00:00:00Z").unwrap(),
                generation: 1,
                deletion_timestamp: None,
                finalizers: Vec::new(),
            };
            state.objects.insert(o.id.clone(), rec);
        }
        state
    }

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n";

    #[test]
    fn creates_in_dependency_order_with_an_implicit_namespace() {
        let d = desired(&format!(
            "{DEPLOY}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: shop\n"
        ));
        let p = plan_of(&d, &State::new("l".into()));
        let order: Vec<String> = p.steps.iter().map(|s| s.id.to_string()).collect();
        assert_eq!(order, ["Namespace shop", "ConfigMap shop/c", "Deployment shop/web"]);
        assert_eq!(
            p.summary,
            Summary {
                add: 3,
                change: 0,
                destroy: 0
            }
        );
        assert_eq!(
            p.notes,
            ["Namespace shop is used by objects but not defined in git: rekon creates it"]
        );
        let notes = &p.steps[2].notes;
        assert_eq!(notes.len(), 3, "{notes:?}");
        let rs = notes[0]
            .strip_prefix("rolls out ReplicaSet ")
            .and_then(|n| n.strip_suffix(" with 2 pods"))
            .unwrap_or_else(|| panic!("{notes:?}"));
        assert!(rs.starts_with("web-"), "{rs}");
        assert_eq!(
            notes[1..],
            [
                format!("first step: create ReplicaSet {rs} with 2 replicas"),
                "first step: create 2 pods on node h".to_string()
            ]
        );
    }

    #[test]
    fn no_changes_when_state_matches() {
        let d = desired("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n");
        assert!(!plan_of(&d, &applied(&d)).has_changes());
        // A Deployment recorded without its ReplicaSets (a state from before the controllers)
        // still has its rollout to do.
        let d = desired(DEPLOY);
        let p = plan_of(&d, &applied(&d));
        let steps: Vec<_> = p
            .steps
            .iter()
            .map(|s| (s.id.to_string(), s.action, s.reason.as_deref()))
            .collect();
        assert_eq!(
            steps,
            [(
                "Deployment shop/web".to_string(),
                Action::Update,
                Some("because its rollout is not finished")
            )]
        );
    }

    #[test]
    fn scale_is_in_place_and_selector_change_is_a_replacement() {
        let d = desired(DEPLOY);
        let state = applied(&d);
        let scaled = desired(&DEPLOY.replace("replicas: 2", "replicas: 5"));
        let p = plan_of(&scaled, &state);
        let step = p.steps.iter().find(|s| s.id.kind == Kind::Deployment).unwrap();
        assert_eq!(step.action, Action::Update);
        assert!(
            step.diff.contains("-   replicas: 2\n+   replicas: 5\n"),
            "{}",
            step.diff
        );

        let moved = desired(&DEPLOY.replace("app: web", "app: web2"));
        let p = plan_of(&moved, &state);
        let step = p.steps.iter().find(|s| s.id.kind == Kind::Deployment).unwrap();
        assert_eq!(step.action, Action::Replace);
        assert_eq!(
            step.reason.as_deref(),
            Some("because spec.selector cannot be changed in place")
        );
        assert_eq!(
            p.summary,
            Summary {
                add: 1,
                change: 0,
                destroy: 1
            }
        );
    }

    #[test]
    fn removed_objects_are_destroyed_dependents_first() {
        let d = desired(&format!(
            "{DEPLOY}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: shop\n"
        ));
        let p = plan_of(&[], &applied(&d));
        let order: Vec<String> = p.steps.iter().map(|s| s.id.to_string()).collect();
        assert_eq!(order, ["Deployment shop/web", "ConfigMap shop/c", "Namespace shop"]);
        assert!(
            p.steps
                .iter()
                .all(|s| s.reason.as_deref() == Some("because it is not in git any more"))
        );
    }

    #[test]
    fn claims_say_how_they_bind_and_removed_ones_are_kept_without_prune_volumes() {
        let yaml = "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: disk\nspec:\n  capacity: {storage: 5Gi}\n  accessModes: [ReadWriteOnce]\n  storageClassName: manual\n  hostPath: {path: /mnt/disk}\n---\n\
apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: a\nspec:\n  storageClassName: manual\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n---\n\
apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: b\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 2Gi}}\n---\n\
apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: c\nspec:\n  storageClassName: \"\"\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 2Gi}}\n";
        let d = desired(yaml);
        let p = plan_of(&d, &State::new("l".into()));
        let notes: Vec<(String, Vec<String>)> = p
            .steps
            .iter()
            .filter(|s| s.id.kind == Kind::PersistentVolumeClaim)
            .map(|s| (s.id.name.clone(), s.notes.clone()))
            .collect();
        assert_eq!(
            notes,
            [
                ("a".to_string(), vec!["binds to PersistentVolume disk".to_string()]),
                (
                    "b".to_string(),
                    vec!["rekon's provisioner makes a 2Gi volume of class standard for it".to_string()]
                ),
                (
                    "c".to_string(),
                    vec![
                        "stays Pending: no persistent volumes available for this claim and no storage class is set"
                            .to_string()
                    ]
                ),
            ]
        );
        let state = applied(&d);
        let p = plan_of(&d[..1], &state);
        assert!(!p.has_changes(), "{:?}", p.steps);
        let kept: Vec<String> = p.kept.iter().map(|id| id.to_string()).collect();
        assert_eq!(
            kept,
            [
                "PersistentVolumeClaim default/a",
                "PersistentVolumeClaim default/b",
                "PersistentVolumeClaim default/c"
            ]
        );
        let pruned = plan(&PlanInput {
            prune_volumes: true,
            ..input_of(&d[..1], &state)
        });
        assert_eq!(pruned.summary.destroy, 3);
        assert!(pruned.kept.is_empty());
        // A change that needs a replacement loses the data: only with --prune-volumes.
        let changed = desired(&yaml.replace(
            "[ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}",
            "[ReadWriteMany]\n  resources: {requests: {storage: 1Gi}}",
        ));
        let p = plan_of(&changed, &state);
        assert!(!p.has_changes(), "{:?}", p.steps);
        assert_eq!(
            p.notes,
            [
                "PersistentVolumeClaim default/a: spec.accessModes cannot be changed in place; the claim and its data are kept as they are (plan with --prune-volumes to replace it and lose its data)"
            ]
        );
        let p = plan(&PlanInput {
            prune_volumes: true,
            ..input_of(&changed, &state)
        });
        let steps: Vec<(String, Action)> = p.steps.iter().map(|s| (s.id.to_string(), s.action)).collect();
        assert_eq!(
            steps,
            [("PersistentVolumeClaim default/a".to_string(), Action::Replace)]
        );
    }

    #[test]
    fn secret_values_are_hashed_never_kept() {
        let d = desired("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  pw: hunter2\n");
        let text = serde_json::to_string(&d[0].value).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("aHVudGVyMg=="), "{text}");
        let p = plan_of(&d, &State::new("l".into()));
        assert!(p.steps[0].diff.contains("pw: (sensitive value)"), "{}", p.steps[0].diff);
    }
}
