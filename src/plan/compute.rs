//! The planning function: which objects to create, update, replace or destroy, and why.

use super::desired::DesiredObject;
use super::diff::{replace_reason, yaml_diff};
use super::{Action, PLAN_FORMAT_VERSION, Plan, PlanSource, Step, Summary};
use crate::runtime::status::{PodPhase, PodStatus};
use crate::state::State;
use std::collections::{BTreeMap, BTreeSet};

/// What the runtime reported for each pod of the state, by uid (None: the runtime has no
/// such pod any more).
pub type Observed = BTreeMap<String, Option<PodStatus>>;

/// Everything a plan is computed from.
pub struct PlanInput<'a> {
    pub desired: &'a [DesiredObject],
    pub state: &'a State,
    pub observed: &'a Observed,
    pub source: PlanSource,
    pub host: String,
    /// RFC 3339 time stamped into the plan.
    pub now: String,
    /// The node pods land on (one node until the scheduler places pods).
    pub node: String,
}

/// Apply order of kinds: what others depend on comes first; deletes go in reverse.
pub fn kind_rank(kind: &str) -> usize {
    const ORDER: &[&str] = &[
        "Namespace",
        "Node",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "ConfigMap",
        "Secret",
        "Service",
        "Pod",
        "ReplicaSet",
        "ReplicationController",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
    ];
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

/// Kinds whose controller is not built yet: recorded, but they run nothing.
fn no_controller_note(kind: &str) -> Option<String> {
    match kind {
        "Deployment" | "ReplicaSet" | "ReplicationController" | "StatefulSet" | "DaemonSet" | "Job" => Some(format!(
            "no {kind} controller yet: the object is recorded but starts no pods"
        )),
        _ => None,
    }
}

/// Computes the plan. Pure: the same inputs always give the same plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut steps = Vec::new();
    let mut wanted = BTreeSet::new();
    for d in input.desired {
        let key = d.id.to_string();
        wanted.insert(key.clone());
        let is_pod = d.id.kind == "Pod";
        let step = match input.state.objects.get(&key) {
            None => Some(Step {
                id: d.id.clone(),
                action: Action::Create,
                reason: None,
                after_hash: Some(d.hash.clone()),
                diff: yaml_diff(&d.id.kind, None, Some(&d.value)),
                node: is_pod.then(|| input.node.clone()),
                notes: no_controller_note(&d.id.kind).into_iter().collect(),
                origin: Some(d.origin.clone()),
            }),
            Some(rec) if rec.hash != d.hash => {
                let reason = replace_reason(&d.id.kind, &rec.spec, &d.value);
                Some(Step {
                    id: d.id.clone(),
                    action: if reason.is_some() {
                        Action::Replace
                    } else {
                        Action::Update
                    },
                    reason,
                    after_hash: Some(d.hash.clone()),
                    diff: yaml_diff(&d.id.kind, Some(&rec.spec), Some(&d.value)),
                    node: is_pod.then(|| input.node.clone()),
                    notes: Vec::new(),
                    origin: Some(d.origin.clone()),
                })
            }
            Some(_) if is_pod => pod_drift(input, d),
            Some(_) => None,
        };
        steps.extend(step);
    }
    for (key, rec) in &input.state.objects {
        if !wanted.contains(key) {
            steps.push(Step {
                id: rec.id.clone(),
                action: Action::Delete,
                reason: Some("because it is not in git any more".to_string()),
                after_hash: None,
                diff: String::new(),
                node: None,
                notes: Vec::new(),
                origin: None,
            });
        }
    }
    // Deletes first (dependents before what they depend on), then the rest in kind order.
    steps.sort_by_key(|s| match s.action {
        Action::Delete => (0, usize::MAX - kind_rank(&s.id.kind), s.id.clone()),
        _ => (1, kind_rank(&s.id.kind), s.id.clone()),
    });
    let notes = input
        .desired
        .iter()
        .filter(|d| d.resource.is_none() && !input.state.objects.contains_key(&d.id.to_string()))
        .map(|d| format!("{} is used by objects but not defined in git: rekon creates it", d.id))
        .collect();
    Plan {
        format_version: PLAN_FORMAT_VERSION.to_string(),
        rekon_version: env!("CARGO_PKG_VERSION").to_string(),
        source: input.source.clone(),
        lineage: input.state.lineage.clone(),
        serial: input.state.serial,
        host: input.host.clone(),
        created_at: input.now.clone(),
        summary: Summary::of(&steps),
        steps,
        notes,
    }
}

/// A bare Pod unchanged in git whose pod on the host is missing, unconfirmed or lost.
fn pod_drift(input: &PlanInput<'_>, d: &DesiredObject) -> Option<Step> {
    let pods: Vec<_> = input.state.pods_of(&d.id).collect();
    let reason = match pods.first() {
        None => Some("because its pod is not on the host"),
        Some(p) if !p.created => Some("because a previous apply stopped before the pod was confirmed"),
        Some(p) => match input.observed.get(&p.uid) {
            Some(None) => Some("because its pod was deleted outside rekon"),
            Some(Some(status)) if status.phase == PodPhase::Unknown => {
                Some("because its supervisor died (phase Unknown)")
            }
            _ => None,
        },
    }?;
    Some(Step {
        id: d.id.clone(),
        action: Action::Replace,
        reason: Some(reason.to_string()),
        after_hash: Some(d.hash.clone()),
        diff: String::new(),
        node: Some(input.node.clone()),
        notes: Vec::new(),
        origin: Some(d.origin.clone()),
    })
}
