//! One pass of every workload controller over the state: Deployments and standalone
//! ReplicaSets of git, their pods as the runtime reports them, and the scheduler for the pods
//! they create. Pure: apply calls it again after every step (level-triggered).

use super::controller::{
    ControllerAction, ControllerEvent, DeploymentInput, DeploymentStatus, LiveReplicaSet, ObservedPod, Time,
    names::object_uid, sync_deployment, sync_replica_set,
};
use super::scheduler::{PendingPod, PlacedPod, Placement, Scheduler};
use super::{DesiredObject, HostFacts, Observed, nodes, placement::REASON_UNSCHEDULABLE};
use crate::manifest::types::{Deployment, ReplicaSet};
use crate::manifest::{ObjectId, Resource};
use crate::runtime::status::PodPhase;
use crate::state::{PodRecord, Scheduling, State};
use std::collections::BTreeMap;

/// What one pass looks at.
pub struct WorkloadInput<'a> {
    pub desired: &'a [DesiredObject],
    pub state: &'a State,
    /// Runtime status by pod uid (None: the runtime has no such pod any more).
    pub observed: &'a Observed,
    pub host: &'a HostFacts,
    pub now: Time,
}

/// A pod to create (or, with `uid`, a Pending pod to bind), placed by the scheduler.
#[derive(Debug, Clone, PartialEq)]
pub struct PodCreate {
    /// `namespace/name` of the ReplicaSet.
    pub replica_set: String,
    pub namespace: String,
    pub name: String,
    /// An existing Pending record to bind instead of a new pod.
    pub uid: Option<String>,
    /// None: no node fits; the pod is recorded Pending with `scheduling`.
    pub node: Option<String>,
    pub scheduling: Option<Scheduling>,
}

/// How far one workload is.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadProgress {
    pub id: ObjectId,
    pub converged: bool,
    /// ProgressDeadlineExceeded: apply stops waiting.
    pub failed: bool,
    /// What it waits for, kubectl's words plus the pods that hold it up.
    pub message: String,
}

/// The result of one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadStep {
    /// Every ReplicaSet after the pass, keyed `namespace/name`.
    pub replica_sets: BTreeMap<String, LiveReplicaSet>,
    /// Every Deployment status after the pass, keyed `namespace/name`.
    pub deployments: BTreeMap<String, DeploymentStatus>,
    pub creates: Vec<PodCreate>,
    /// Uids of pods to delete gracefully.
    pub deletes: Vec<String>,
    /// Uids of records whose pod vanished from the runtime: dropped, the controller replaces
    /// the pod.
    pub forget: Vec<String>,
    /// ReplicaSet changes, for the output (`Deployment default/web`, action).
    pub actions: Vec<(ObjectId, ControllerAction)>,
    pub events: Vec<ControllerEvent>,
    pub progress: Vec<WorkloadProgress>,
    /// When to look again at the latest even if no pod changes.
    pub next_check: Option<Time>,
}

impl WorkloadStep {
    /// Whether the pass changes anything on the host.
    pub fn acts(&self) -> bool {
        !self.creates.is_empty() || !self.deletes.is_empty() || !self.forget.is_empty()
    }
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// The owner id of the pods of a ReplicaSet.
pub fn rs_owner(namespace: &str, name: &str) -> ObjectId {
    ObjectId::new("ReplicaSet", Some(namespace), name)
}

fn parse_time(s: &str) -> Option<Time> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The pods of ReplicaSets as the controllers see them, by ReplicaSet key.
fn observed_pods(
    input: &WorkloadInput<'_>,
    forget: &mut Vec<String>,
    lost: &mut Vec<String>,
) -> BTreeMap<String, Vec<ObservedPod>> {
    let mut out: BTreeMap<String, Vec<ObservedPod>> = BTreeMap::new();
    for rec in input.state.pods.values().filter(|p| p.owner.kind == "ReplicaSet") {
        let rs_key = key(rec.owner.namespace.as_deref().unwrap_or("default"), &rec.owner.name);
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
        let template = input.state.replica_sets.get(&rs_key).map(|rs| &rs.template);
        out.entry(rs_key).or_default().push(ObservedPod {
            name: rec.name.clone(),
            uid: rec.uid.clone(),
            owner: rec.owner.name.clone(),
            labels: template.map(|t| t.metadata.labels.clone()).unwrap_or_default(),
            phase: status.map_or(PodPhase::Pending, |s| s.phase),
            ready: status.is_some_and(|s| s.is_ready()),
            ready_since: ready_cond
                .filter(|c| c.status == "True")
                .and_then(|c| c.last_transition_time.as_deref())
                .and_then(parse_time),
            // Terminating pods are no longer active (`controller.FilterActivePods`): the
            // ReplicaSet replaces them at once, and they count in no status.
            deleting: is_lost || rec.is_terminating(),
            created_at: parse_time(&rec.created_at).unwrap_or(input.now),
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
pub fn reconcile(input: &WorkloadInput<'_>) -> WorkloadStep {
    let mut step = WorkloadStep {
        replica_sets: BTreeMap::new(),
        deployments: BTreeMap::new(),
        creates: Vec::new(),
        deletes: Vec::new(),
        forget: Vec::new(),
        actions: Vec::new(),
        events: Vec::new(),
        progress: Vec::new(),
        next_check: None,
    };
    let mut lost = Vec::new();
    let pods = observed_pods(input, &mut step.forget, &mut lost);
    step.deletes.extend(lost);
    let generation = |id: &ObjectId| {
        input
            .state
            .objects
            .get(&id.to_string())
            .map_or(1, |r| r.generation as i64)
    };
    let mut pod_actions: Vec<(String, ControllerAction)> = Vec::new();
    let mut adopted: Vec<String> = Vec::new();
    let standalone: Vec<(&DesiredObject, &ReplicaSet)> = input
        .desired
        .iter()
        .filter_map(|d| match &d.resource {
            Some(Resource::ReplicaSet(rs)) => Some((d, rs)),
            _ => None,
        })
        .collect();
    for d in input.desired {
        let Some(Resource::Deployment(dep)) = &d.resource else {
            continue;
        };
        let ns = dep.metadata.namespace_or_default().to_string();
        let dkey = key(&ns, &dep.metadata.name);
        let mut rses: Vec<LiveReplicaSet> = input
            .state
            .replica_sets_of(&ns, &dep.metadata.name)
            .into_iter()
            .cloned()
            .collect();
        // Orphaned ReplicaSets whose labels the Deployment's selector matches are adopted
        // (`ClaimReplicaSets`): same name, same pods, no new ones.
        let selector = dep.spec.selector.clone().unwrap_or_default();
        for rs in input.state.replica_sets.values() {
            if rs.orphaned && rs.namespace == ns && !selector.is_empty() && selector.matches(&rs.labels) {
                let mut rs = rs.clone();
                rs.owner = Some(dep.metadata.name.clone());
                rs.orphaned = false;
                adopted.push(key(&ns, &rs.name));
                rses.push(rs);
            }
        }
        rses.sort_by(super::controller::util::by_creation);
        let owned: Vec<ObservedPod> = rses
            .iter()
            .flat_map(|rs| pods.get(&key(&ns, &rs.name)).cloned().unwrap_or_default())
            .collect();
        let foreign: Vec<String> = standalone
            .iter()
            .filter(|(_, rs)| rs.metadata.namespace_or_default() == ns)
            .map(|(_, rs)| rs.metadata.name.clone())
            .collect();
        let status = input.state.deployments.get(&dkey).cloned().unwrap_or_default();
        let generation = generation(&d.id);
        let effective = super::overrides::effective_deployment(dep, &d.hash, input.state.rollouts.get(&dkey));
        let dep = &effective;
        let out = sync_deployment(&DeploymentInput {
            deployment: dep,
            generation,
            status: &status,
            replica_sets: &rses,
            pods: &owned,
            foreign_names: &foreign,
            now: input.now,
        });
        for a in &out.actions {
            match a {
                ControllerAction::CreatePod { .. } | ControllerAction::DeletePod { .. } => {
                    pod_actions.push((ns.clone(), a.clone()))
                }
                _ => step.actions.push((d.id.clone(), a.clone())),
            }
        }
        step.progress
            .push(deployment_progress(d, dep, generation, &out, &owned));
        step.next_check = earliest(step.next_check, out.next_check);
        step.events.extend(out.events);
        for rs in out.replica_sets {
            step.replica_sets.insert(key(&ns, &rs.name), rs);
        }
        step.deployments.insert(dkey, out.status);
    }
    for (d, rs) in standalone {
        let ns = rs.metadata.namespace_or_default().to_string();
        let rkey = key(&ns, &rs.metadata.name);
        let live = standalone_record(input, rs, &rkey, generation(&d.id));
        let own = pods.get(&rkey).cloned().unwrap_or_default();
        let out = sync_replica_set(&live, &own, &own, input.now);
        pod_actions.extend(out.actions.iter().map(|a| (ns.clone(), a.clone())));
        let s = &out.replica_set.status;
        let converged = out.actions.is_empty() && s.replicas == live.replicas && s.available_replicas == live.replicas;
        step.progress.push(WorkloadProgress {
            id: d.id.clone(),
            converged,
            failed: false,
            message: format!(
                "{} of {} pods available{}",
                s.available_replicas,
                live.replicas,
                not_ready_pods(&own)
            ),
        });
        step.next_check = earliest(step.next_check, out.next_check);
        step.events.extend(out.events);
        step.replica_sets.insert(rkey, out.replica_set);
    }
    // An orphaned ReplicaSet nobody adopts runs on its own, as its controller does.
    for rs in input.state.replica_sets.values() {
        let rkey = key(&rs.namespace, &rs.name);
        if !rs.orphaned || adopted.contains(&rkey) {
            continue;
        }
        let own = pods.get(&rkey).cloned().unwrap_or_default();
        let out = sync_replica_set(rs, &own, &own, input.now);
        pod_actions.extend(out.actions.iter().map(|a| (rs.namespace.clone(), a.clone())));
        step.next_check = earliest(step.next_check, out.next_check);
        step.events.extend(out.events);
        step.replica_sets.insert(rkey, out.replica_set);
    }
    // Pods whose ReplicaSet is gone (its Deployment or itself left git) are deleted.
    for rec in input.state.pods.values().filter(|p| p.owner.kind == "ReplicaSet") {
        let rkey = key(rec.owner.namespace.as_deref().unwrap_or("default"), &rec.owner.name);
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

fn earliest(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The record of a ReplicaSet from git, with the spec git gives now.
fn standalone_record(input: &WorkloadInput<'_>, rs: &ReplicaSet, rkey: &str, generation: i64) -> LiveReplicaSet {
    let ns = rs.metadata.namespace_or_default();
    let mut live = input
        .state
        .replica_sets
        .get(rkey)
        .cloned()
        .unwrap_or_else(|| LiveReplicaSet {
            name: rs.metadata.name.clone(),
            namespace: ns.to_string(),
            uid: object_uid(ns, &rs.metadata.name, input.now),
            owner: None,
            labels: Default::default(),
            annotations: Default::default(),
            selector: Default::default(),
            template: Default::default(),
            replicas: 0,
            min_ready_seconds: 0,
            created_at: input.now,
            generation,
            pods_created: 0,
            status: Default::default(),
            orphaned: false,
        });
    live.labels = rs.metadata.labels.clone();
    live.annotations = rs.metadata.annotations.clone();
    live.selector = rs.spec.selector.clone().unwrap_or_default();
    live.template = rs.spec.template.clone();
    live.replicas = rs.spec.replicas.unwrap_or(1);
    live.min_ready_seconds = rs.spec.min_ready_seconds.unwrap_or(0);
    live.generation = generation;
    live
}

/// Pods that are not Ready, for messages: ` (web-abc-x1: Running, not Ready)`.
fn not_ready_pods(pods: &[ObservedPod]) -> String {
    let names: Vec<String> = pods
        .iter()
        .filter(|p| !p.ready)
        .map(|p| match &p.node {
            None => format!("{}: Pending, unschedulable", p.name),
            Some(_) => format!("{}: {}, not Ready", p.name, p.phase),
        })
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join("; "))
    }
}

/// kubectl `rollout status` wording for a Deployment (`DeploymentStatusViewer.Status`).
fn deployment_progress(
    d: &DesiredObject,
    dep: &Deployment,
    generation: i64,
    out: &super::controller::DeploymentOutcome,
    pods: &[ObservedPod],
) -> WorkloadProgress {
    let name = &dep.metadata.name;
    let s = &out.status;
    let want = dep.spec.replicas.unwrap_or(1);
    let converged = out.converged(dep, generation);
    let failed = out.deadline_exceeded();
    let new_pods: Vec<ObservedPod> = pods
        .iter()
        .filter(|p| Some(&p.owner) == out.new_replica_set.as_ref())
        .cloned()
        .collect();
    let message = if failed {
        let c = s
            .condition("Progressing")
            .map(|c| c.message.clone())
            .unwrap_or_default();
        format!(
            "deployment {name:?} exceeded its progress deadline: {c}{}",
            not_ready_pods(&new_pods)
        )
    } else if s.updated_replicas < want {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} out of {want} new replicas have been updated...{}",
            s.updated_replicas,
            not_ready_pods(&new_pods)
        )
    } else if s.replicas > s.updated_replicas {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            s.replicas - s.updated_replicas
        )
    } else if s.available_replicas < s.updated_replicas {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} of {} updated replicas are available...{}",
            s.available_replicas,
            s.updated_replicas,
            not_ready_pods(&new_pods)
        )
    } else {
        format!("deployment {name:?} successfully rolled out")
    };
    WorkloadProgress {
        id: d.id.clone(),
        converged,
        failed,
        message,
    }
}

/// Pods of all ReplicaSets of one Deployment spread together.
fn spread_key(rs: &LiveReplicaSet) -> String {
    match &rs.owner {
        Some(d) => ObjectId::new("Deployment", Some(&rs.namespace), d).to_string(),
        None => rs_owner(&rs.namespace, &rs.name).to_string(),
    }
}

/// Turns pod actions into creates (placed by the scheduler) and deletes; retries placing
/// Pending pods of ReplicaSets.
fn schedule(input: &WorkloadInput<'_>, step: &mut WorkloadStep, actions: Vec<(String, ControllerAction)>) {
    let (node_infos, _) = nodes::plan_nodes(input.desired, input.host);
    let desired_pods: BTreeMap<String, &DesiredObject> = input
        .desired
        .iter()
        .filter(|d| d.id.kind == "Pod")
        .map(|d| (d.id.to_string(), d))
        .collect();
    let mut placed = Vec::new();
    for rec in input.state.pods.values() {
        let Some(node) = &rec.node else { continue };
        if step.deletes.contains(&rec.uid) || step.forget.contains(&rec.uid) {
            continue;
        }
        let owner_key = rec.owner.to_string();
        let ns = rec.owner.namespace.as_deref().unwrap_or("default");
        let (spec, spread) = match rec.owner.kind.as_str() {
            "ReplicaSet" => match step.replica_sets.get(&key(ns, &rec.owner.name)) {
                Some(rs) => (Some(&rs.template.spec), Some(spread_key(rs))),
                None => (None, None),
            },
            _ => (
                desired_pods
                    .get(&owner_key)
                    .and_then(|d| d.resource.as_ref())
                    .and_then(|r| r.pod_spec()),
                None,
            ),
        };
        if let Some(spec) = spec {
            placed.push(PlacedPod::from_spec(node, spread.as_deref(), spec));
        }
    }
    let mut scheduler = Scheduler::new(node_infos, &placed);
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
        .filter(|p| p.owner.kind == "ReplicaSet" && p.node.is_none() && !deleted.contains(&p.uid))
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
