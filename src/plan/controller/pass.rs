//! The one interface every workload controller implements: a level-triggered pass over the
//! objects of its kind, reading the desired objects, the recorded state and the observed
//! pods, and writing what it decides into one [`PassOutput`]. The caller
//! ([`crate::plan::workloads::reconcile`]) runs every controller of [`controllers`] in order,
//! then the scheduler over the pods they want; a new kind is one new implementation.

use super::types::{ControllerAction, ControllerEvent, DeploymentStatus, LiveReplicaSet, ObservedPod, Time};
use crate::manifest::ObjectId;
use crate::manifest::types::NamespacedName;
use crate::plan::DesiredObject;
use crate::state::State;
use std::collections::BTreeMap;

/// What a pass reads. Pure data: nothing here reaches the host or a clock.
pub struct PassInput<'a> {
    /// The desired objects of the plan; each controller picks those of its kind.
    pub desired: &'a [DesiredObject],
    /// The recorded state: ReplicaSets, Deployment statuses, rollout overrides.
    pub state: &'a State,
    /// The pods of every ReplicaSet as the controllers see them, keyed `namespace/name`.
    pub pods: &'a BTreeMap<NamespacedName, Vec<ObservedPod>>,
    /// ReplicaSets that adopt orphaned pods this pass, with the Deployment that owns each (if
    /// any): a Deployment counts those pods even for a ReplicaSet it creates in this pass.
    pub adopters: &'a BTreeMap<NamespacedName, Option<String>>,
    /// The controllers' clock (the plan's time).
    pub now: Time,
    /// Sync only the objects of git the state records (see `WorkloadInput::applied_only`).
    pub applied_only: bool,
}

impl PassInput<'_> {
    /// `metadata.generation` of a desired object (1 before its first apply).
    pub fn generation(&self, id: &ObjectId) -> i64 {
        self.state.objects.get(id).map_or(1, |r| r.generation as i64)
    }

    /// Whether the controllers leave the object of git `id` alone: it is being deleted with
    /// `--cascade=foreground` (its record has a deletion timestamp), or, with
    /// [`applied_only`](Self::applied_only), it has no record.
    pub fn left_alone(&self, id: &ObjectId) -> bool {
        match self.state.objects.get(id) {
            Some(r) => r.deletion_timestamp.is_some(),
            None => self.applied_only,
        }
    }

    /// The observed pods of the ReplicaSet `namespace/name`.
    pub fn pods_of(&self, namespace: &str, name: &str) -> Vec<ObservedPod> {
        self.pods.get(&key(namespace, name)).cloned().unwrap_or_default()
    }
}

/// How far one workload is.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadProgress {
    /// The workload (`Deployment` or `ReplicaSet`).
    pub id: ObjectId,
    /// Its rollout is complete and the controller has nothing left to do.
    pub converged: bool,
    /// ProgressDeadlineExceeded: apply stops waiting.
    pub failed: bool,
    /// What it waits for, kubectl's words plus the pods that hold it up.
    pub message: String,
}

/// What the controllers of one pass decided together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassOutput {
    /// Every ReplicaSet after the pass, keyed `namespace/name`; one left out is gone, and so
    /// are its pods.
    pub replica_sets: BTreeMap<NamespacedName, LiveReplicaSet>,
    /// Every Deployment status after the pass, keyed `namespace/name`.
    pub deployments: BTreeMap<NamespacedName, DeploymentStatus>,
    /// Pods to create or delete, with their namespace, for the scheduler.
    pub pod_actions: Vec<(String, ControllerAction)>,
    /// Other changes (ReplicaSets scaled, created, deleted), for the output.
    pub actions: Vec<(ObjectId, ControllerAction)>,
    /// Events the controllers recorded, in order.
    pub events: Vec<ControllerEvent>,
    /// How far each workload is, for the gate apply waits on.
    pub progress: Vec<WorkloadProgress>,
    /// When to look again at the latest even if no pod changes.
    pub next_check: Option<Time>,
    /// ReplicaSets a controller has claimed this pass (`namespace/name`): no other runs them.
    pub claimed: Vec<NamespacedName>,
}

impl PassOutput {
    /// Keeps the earliest of the next checks.
    pub fn check_at(&mut self, at: Option<Time>) {
        self.next_check = match (self.next_check, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// One workload controller.
pub trait Controller {
    /// The kind it controls, as git names it.
    fn kind(&self) -> crate::manifest::types::Kind;
    /// One pass over every object it controls.
    fn sync(&self, input: &PassInput<'_>, out: &mut PassOutput);
}

/// Every controller, in the order a pass runs them: owners first, so that they claim their
/// children before the controllers of the children look at them.
pub fn controllers() -> [&'static dyn Controller; 2] {
    [
        &super::deployment::DeploymentController,
        &super::replicaset::ReplicaSetController,
    ]
}

/// `namespace/name`, the key of the state's controller records.
pub fn key(namespace: &str, name: &str) -> NamespacedName {
    NamespacedName::new(namespace, name)
}

/// Pods that are not Ready, for messages: ` (web-abc-x1: Running, not Ready)`.
pub fn not_ready_pods(pods: &[ObservedPod]) -> String {
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
