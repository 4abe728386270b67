//! One pass of every workload controller over the state: Deployments and standalone
//! ReplicaSets of git, their pods as the runtime reports them, and the scheduler for the pods
//! they create. Pure: apply calls it again after every step (level-triggered).

pub use super::controller::WorkloadProgress;
use super::controller::pass::key;
use super::controller::{
    ControllerAction, ControllerEvent, DeploymentStatus, LiveReplicaSet, ObservedPod, PassInput, PassOutput, Time,
    controllers,
};
use super::scheduler::{PendingPod, PlacedPod, Placement, Scheduler};
use super::{DesiredObject, HostFacts, Observed, nodes, placement::REASON_UNSCHEDULABLE};
use crate::manifest::ObjectId;
use crate::manifest::status::PodPhase;
use crate::manifest::types::Kind;
use crate::manifest::types::NamespacedName;
use crate::state::{PodRecord, Scheduling, State};
use std::collections::BTreeMap;

/// What one pass looks at.
pub struct WorkloadInput<'a> {
    /// The objects of git.
    pub desired: &'a [DesiredObject],
    /// The state: records, ReplicaSets, Deployment statuses, rollout overrides.
    pub state: &'a State,
    /// Runtime status by pod uid (None: the runtime has no such pod any more).
    pub observed: &'a Observed,
    /// The host the scheduler places pods on.
    pub host: &'a HostFacts,
    /// The claims as the binder left them: a pod whose claims are not bound stays Pending.
    pub claims: &'a BTreeMap<NamespacedName, super::storage::ClaimView>,
    /// The controllers' clock.
    pub now: Time,
    /// Sync only the objects of git the state records (apply's loop, after the plan's steps
    /// recorded every one): an object the garbage collector removed during the loop waits
    /// for the next plan to create it again. False for the plan's prediction.
    pub applied_only: bool,
}

/// A pod to create (or, with `uid`, a Pending pod to bind), placed by the scheduler.
#[derive(Debug, Clone, PartialEq)]
pub struct PodCreate {
    /// The ReplicaSet.
    pub replica_set: NamespacedName,
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name, `<replicaset>-<suffix>`.
    pub name: String,
    /// An existing Pending record to bind instead of a new pod.
    pub uid: Option<String>,
    /// None: no node fits; the pod is recorded Pending with `scheduling`.
    pub node: Option<String>,
    /// Why no node fits, for a Pending pod.
    pub scheduling: Option<Scheduling>,
}

/// The result of one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadStep {
    /// Every ReplicaSet after the pass, keyed `namespace/name`.
    pub replica_sets: BTreeMap<NamespacedName, LiveReplicaSet>,
    /// Every Deployment status after the pass, keyed `namespace/name`.
    pub deployments: BTreeMap<NamespacedName, DeploymentStatus>,
    /// Pods to create, or Pending pods to bind.
    pub creates: Vec<PodCreate>,
    /// Uids of pods to delete gracefully.
    pub deletes: Vec<String>,
    /// Uids of records whose pod vanished from the runtime: dropped, the controller replaces
    /// the pod.
    pub forget: Vec<String>,
    /// Orphaned pods a ReplicaSet adopts (`ClaimPods`): uid and the ReplicaSet's key. The
    /// pass already counts them as the ReplicaSet's.
    pub adopt: Vec<(String, NamespacedName)>,
    /// ReplicaSet changes, for the output (`Deployment default/web`, action).
    pub actions: Vec<(ObjectId, ControllerAction)>,
    /// The controllers' events (ScalingReplicaSet, SuccessfulCreate, …).
    pub events: Vec<ControllerEvent>,
    /// How far each workload is.
    pub progress: Vec<WorkloadProgress>,
    /// When to look again at the latest even if no pod changes.
    pub next_check: Option<Time>,
}

impl WorkloadStep {
    /// Whether the pass changes anything on the host.
    pub fn acts(&self) -> bool {
        !self.creates.is_empty() || !self.deletes.is_empty() || !self.forget.is_empty() || !self.adopt.is_empty()
    }
}

/// The owner id of the pods of a ReplicaSet.
pub fn rs_owner(namespace: &str, name: &str) -> ObjectId {
    ObjectId::new(Kind::ReplicaSet, Some(namespace), name)
}

/// The pods of ReplicaSets as the controllers see them, by ReplicaSet key.
fn observed_pods(
    input: &WorkloadInput<'_>,
    adopted: &BTreeMap<&str, NamespacedName>,
    forget: &mut Vec<String>,
    lost: &mut Vec<String>,
) -> BTreeMap<NamespacedName, Vec<ObservedPod>> {
    let mut out: BTreeMap<NamespacedName, Vec<ObservedPod>> = BTreeMap::new();
    let mut labels_of: BTreeMap<&NamespacedName, std::sync::Arc<BTreeMap<String, String>>> = BTreeMap::new();
    for rec in input.state.pods.values() {
        // An orphan counts only for the ReplicaSet that adopts it, with its own labels.
        let (rs_key, orphan_labels) = match (rec.replica_set(), &rec.orphaned) {
            (Some(k), _) => (k, None),
            (None, Some(t)) => match adopted.get(rec.uid.as_str()) {
                Some(k) => (k.clone(), Some(std::sync::Arc::new(t.metadata.labels.clone()))),
                None => continue,
            },
            (None, None) => continue,
        };
        let status = match input.observed.get(&rec.uid) {
            Some(None) => {
                forget.push(rec.uid.clone());
                continue;
            }
            Some(Some(s)) => Some(s),
            None => None,
        };
        // A pod whose supervisor died reports Unknown: rekon deletes it, as the node lifecycle
        // controller evicts the pods of a lost node, and the ReplicaSet replaces it at once.
        let is_lost = status.is_some_and(|s| s.phase == PodPhase::Unknown) && !rec.is_terminating();
        if is_lost {
            lost.push(rec.uid.clone());
        }
        let ready_cond = status.and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
        let recorded = input.state.replica_sets.get_key_value(&rs_key);
        let template = recorded.map(|(_, rs)| &rs.template);
        let labels = match (orphan_labels, recorded) {
            (Some(own), _) => own,
            (None, Some((k, rs))) => labels_of
                .entry(k)
                .or_insert_with(|| std::sync::Arc::new(rs.template.metadata.labels.clone()))
                .clone(),
            (None, None) => Default::default(),
        };
        let owner = rs_key.name.clone();
        out.entry(rs_key).or_default().push(ObservedPod {
            name: rec.name.clone(),
            uid: rec.uid.clone(),
            owner,
            labels,
            phase: status.map_or(PodPhase::Pending, |s| s.phase),
            ready: status.is_some_and(|s| s.is_ready()),
            ready_since: ready_cond
                .filter(|c| c.status == "True")
                .and_then(|c| c.last_transition_time.as_deref())
                .and_then(crate::time::parse),
            // Terminating pods are no longer active (`controller.FilterActivePods`): the
            // ReplicaSet replaces them at once, and they count in no status.
            deleting: is_lost || rec.is_terminating(),
            created_at: rec.created_at,
            node: rec.node.clone(),
            max_restarts: status.map_or(0, |s| {
                s.container_statuses.iter().map(|c| c.restart_count).max().unwrap_or(0)
            }),
            deletion_cost: template
                .and_then(|t| t.metadata.annotations.get(super::controller::DELETION_COST))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        });
    }
    out
}

/// Runs every Deployment and standalone ReplicaSet controller once.
///
/// Orphaned pods are adopted as upstream's `ClaimPods` does: by a ReplicaSet of the same
/// namespace whose selector matches their labels. The ReplicaSet may be one the pass itself
/// creates (a Deployment applied again after `delete --cascade=orphan` of it and of its
/// ReplicaSet), so the pass runs once to learn the ReplicaSets, and again with the adopted
/// pods counted as theirs, so that it creates no pods for replicas the orphans already are.
pub fn reconcile(input: &WorkloadInput<'_>) -> WorkloadStep {
    let first = pass(input, &BTreeMap::new(), &BTreeMap::new());
    let adopted = adoptions(input, &first.replica_sets);
    if adopted.is_empty() {
        return first;
    }
    let adopters: BTreeMap<NamespacedName, Option<String>> = adopted
        .values()
        .map(|k| (k.clone(), first.replica_sets.get(k).and_then(|rs| rs.owner.clone())))
        .collect();
    let mut step = pass(input, &adopted, &adopters);
    step.adopt = adopted.into_iter().map(|(uid, k)| (uid.to_string(), k)).collect();
    step
}

/// Which ReplicaSet (of those after a pass) adopts each orphaned pod, by uid.
fn adoptions<'a>(
    input: &WorkloadInput<'a>,
    replica_sets: &BTreeMap<NamespacedName, LiveReplicaSet>,
) -> BTreeMap<&'a str, NamespacedName> {
    let mut out = BTreeMap::new();
    for rec in input.state.pods.values().filter(|p| !p.is_terminating()) {
        let Some(template) = &rec.orphaned else { continue };
        let adopter = replica_sets.iter().find(|(_, rs)| {
            rs.namespace == rec.namespace && !rs.selector.is_empty() && rs.selector.matches(&template.metadata.labels)
        });
        if let Some((k, _)) = adopter {
            out.insert(rec.uid.as_str(), k.clone());
        }
    }
    out
}

/// One pass of the controllers and the scheduler, with `adopted` orphans counted as their
/// adopters' pods; `adopters` names the Deployment (if any) of each adopting ReplicaSet.
fn pass(
    input: &WorkloadInput<'_>,
    adopted: &BTreeMap<&str, NamespacedName>,
    adopters: &BTreeMap<NamespacedName, Option<String>>,
) -> WorkloadStep {
    let mut step = WorkloadStep {
        replica_sets: BTreeMap::new(),
        deployments: BTreeMap::new(),
        creates: Vec::new(),
        deletes: Vec::new(),
        forget: Vec::new(),
        adopt: Vec::new(),
        actions: Vec::new(),
        events: Vec::new(),
        progress: Vec::new(),
        next_check: None,
    };
    let mut lost = Vec::new();
    let pods = observed_pods(input, adopted, &mut step.forget, &mut lost);
    step.deletes.extend(lost);
    let pass = PassInput {
        desired: input.desired,
        state: input.state,
        pods: &pods,
        adopters,
        now: input.now,
        applied_only: input.applied_only,
    };
    let mut out = PassOutput::default();
    for controller in controllers() {
        controller.sync(&pass, &mut out);
    }
    step.replica_sets = out.replica_sets;
    step.deployments = out.deployments;
    step.actions = out.actions;
    step.events = out.events;
    step.progress = out.progress;
    step.next_check = out.next_check;
    let pod_actions = out.pod_actions;
    // Pods whose ReplicaSet is gone (its Deployment or itself left git) are deleted.
    for rec in input.state.pods.values() {
        let Some(rkey) = rec.replica_set() else { continue };
        if !step.replica_sets.contains_key(&rkey)
            && !rec.is_terminating()
            && !step.forget.contains(&rec.uid)
            && !step.deletes.contains(&rec.uid)
        {
            step.deletes.push(rec.uid.clone());
        }
    }
    schedule(input, &mut step, pod_actions);
    step
}

/// Pods of all ReplicaSets of one Deployment spread together.
fn spread_key(rs: &LiveReplicaSet) -> String {
    match &rs.owner {
        Some(d) => ObjectId::new(Kind::Deployment, Some(&rs.namespace), d).to_string(),
        None => rs_owner(&rs.namespace, &rs.name).to_string(),
    }
}

/// Turns pod actions into creates (placed by the scheduler) and deletes; retries placing
/// Pending pods of ReplicaSets.
fn schedule(input: &WorkloadInput<'_>, step: &mut WorkloadStep, actions: Vec<(String, ControllerAction)>) {
    let (node_infos, _) = nodes::plan_nodes(input.desired, input.host);
    let desired_pods: BTreeMap<&ObjectId, &DesiredObject> = input
        .desired
        .iter()
        .filter(|d| d.id.kind == Kind::Pod)
        .map(|d| (&d.id, d))
        .collect();
    let mut placed = Vec::new();
    for rec in input.state.pods.values() {
        let Some(node) = &rec.node else { continue };
        if step.deletes.contains(&rec.uid) || step.forget.contains(&rec.uid) {
            continue;
        }
        let ns = rec.owner.namespace.as_deref().unwrap_or("default");
        let (spec, spread) = match rec.owner.kind {
            // An orphan takes its room with the spec it was made from.
            _ if rec.is_orphan() => (rec.orphaned.as_ref().map(|t| &t.spec), None),
            Kind::ReplicaSet => match step.replica_sets.get(&key(ns, &rec.owner.name)) {
                Some(rs) => (Some(&rs.template.spec), Some(spread_key(rs))),
                None => (None, None),
            },
            _ => (
                desired_pods
                    .get(&rec.owner)
                    .and_then(|d| d.resource.as_ref())
                    .and_then(|r| r.pod_spec()),
                None,
            ),
        };
        if let Some(spec) = spec {
            placed.push(PlacedPod::from_spec(node, spread.as_deref(), spec));
        }
    }
    let mut scheduler = Scheduler::new(node_infos, &placed).with_claims(input.claims);
    let deleted: Vec<String> = actions
        .iter()
        .filter_map(|(_, a)| match a {
            ControllerAction::DeletePod { uid, .. } => Some(uid.clone()),
            _ => None,
        })
        .collect();
    step.deletes.extend(deleted.iter().cloned());
    let pending: Vec<&PodRecord> = input
        .state
        .pods
        .values()
        .filter(|p| p.replica_set().is_some() && p.node.is_none() && !deleted.contains(&p.uid))
        .collect();
    let mut queue: Vec<(String, String, String, Option<String>)> = pending
        .iter()
        .map(|p| {
            let ns = p.owner.namespace.clone().unwrap_or_default();
            (ns, p.owner.name.clone(), p.name.clone(), Some(p.uid.clone()))
        })
        .collect();
    for (ns, a) in actions {
        if let ControllerAction::CreatePod { replica_set, name } = a {
            queue.push((ns, replica_set, name, None));
        }
    }
    for (ns, rs_name, name, uid) in queue {
        let rkey = key(&ns, &rs_name);
        let Some(rs) = step.replica_sets.get(&rkey) else {
            continue;
        };
        let spread = spread_key(rs);
        let spec = rs.template.spec.clone();
        let placement = scheduler.place(&PendingPod {
            name: &name,
            namespace: &ns,
            owner: Some(&spread),
            spec: &spec,
        });
        let (node, scheduling) = match placement {
            Placement::Node(n) => (Some(n), None),
            Placement::Unschedulable { message } => (
                None,
                Some(Scheduling {
                    reason: REASON_UNSCHEDULABLE.into(),
                    message,
                }),
            ),
            Placement::MissingNode { node } => (
                None,
                Some(Scheduling {
                    reason: "MissingNode".into(),
                    message: format!("spec.nodeName is {node}, which is not a node: the pod stays Pending"),
                }),
            ),
        };
        // A Pending pod that still fits nowhere stays as it is.
        if uid.is_some() && node.is_none() {
            continue;
        }
        step.creates.push(PodCreate {
            replica_set: rkey,
            namespace: ns,
            name,
            uid,
            node,
            scheduling,
        });
    }
}
