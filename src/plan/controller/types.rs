//! The controllers' working data: observed pods, actions and events. The records they keep
//! between runs live in the state ([`crate::state::workloads`]) and are re-exported here.

use crate::manifest::status::PodPhase;
pub use crate::state::workloads::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One pod as the controllers see it (built by the caller from the state and the runtime).
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedPod {
    /// Name of the pod.
    pub name: String,
    /// The pod's uid, its key in the state.
    pub uid: String,
    /// The ReplicaSet that owns it (controller ownerReference).
    pub owner: String,
    /// `metadata.labels`, matched against selectors and the template's labels; shared by the
    /// pods of one template (controllers copy pods around a pass many times).
    pub labels: std::sync::Arc<BTreeMap<String, String>>,
    /// `status.phase` as the runtime reports it.
    pub phase: PodPhase,
    /// The Ready condition is True.
    pub ready: bool,
    /// lastTransitionTime of the Ready condition.
    pub ready_since: Option<Time>,
    /// Being deleted (has a deletionTimestamp): no longer counted as active.
    pub deleting: bool,
    /// `metadata.creationTimestamp`; ranks scale-down victims (newer go first).
    pub created_at: Time,
    /// The node it is bound to; None while Pending unscheduled.
    pub node: Option<String>,
    /// The highest restartCount of its containers.
    pub max_restarts: u32,
    /// `controller.kubernetes.io/pod-deletion-cost` (0 when absent or invalid).
    pub deletion_cost: i32,
}

impl ObservedPod {
    /// `IsPodActive` (controller_utils.go): not Succeeded, not Failed, not being deleted.
    pub fn is_active(&self) -> bool {
        !matches!(self.phase, PodPhase::Succeeded | PodPhase::Failed) && !self.deleting
    }

    /// `IsPodAvailable` (pkg/api/v1/pod/util.go): Ready, and for minReadySeconds > 0 Ready
    /// since strictly more than that long.
    pub fn is_available(&self, min_ready_seconds: i32, now: Time) -> bool {
        if !self.ready {
            return false;
        }
        if min_ready_seconds == 0 {
            return true;
        }
        self.ready_since
            .is_some_and(|t| t + chrono::Duration::seconds(min_ready_seconds.into()) < now)
    }
}

/// What a controller asks for. The records after the change are in the outcome; actions say
/// what changed, in order, for the plan and the executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ControllerAction {
    /// A new ReplicaSet (its record is in the outcome's `replica_sets`).
    CreateReplicaSet {
        /// Name of the new ReplicaSet.
        name: String,
        /// Its initial `spec.replicas`.
        replicas: i32,
    },
    /// `spec.replicas` changes.
    ScaleReplicaSet {
        /// Name of the ReplicaSet.
        name: String,
        /// `spec.replicas` before.
        from: i32,
        /// `spec.replicas` after.
        to: i32,
    },
    /// Annotations (revision, desired/max replicas) or minReadySeconds change, size does not.
    UpdateReplicaSet {
        /// Name of the ReplicaSet.
        name: String,
    },
    /// Removed by revisionHistoryLimit cleanup (it has no pods).
    DeleteReplicaSet {
        /// Name of the ReplicaSet.
        name: String,
    },
    /// A pod to create from the ReplicaSet's template.
    CreatePod {
        /// Name of the ReplicaSet whose template it is made from.
        replica_set: String,
        /// Generated name of the new pod.
        name: String,
    },
    /// A pod to delete gracefully.
    DeletePod {
        /// Name of the ReplicaSet that owns it.
        replica_set: String,
        /// Name of the pod.
        name: String,
        /// Uid of the pod.
        uid: String,
    },
}

/// An event the upstream controller would record (`kubectl describe` shows them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerEvent {
    /// `deployment/web` or `replicaset/web-7d9c`.
    pub object: String,
    /// `Normal` or `Warning`.
    pub type_: String,
    /// `ScalingReplicaSet`, `SuccessfulCreate`, `SuccessfulDelete`, `SelectingAll`, …
    pub reason: String,
    /// Human-readable text (`Scaled up replica set web-7d9c to 3`).
    pub message: String,
}

impl ControllerEvent {
    pub(crate) fn normal(object: String, reason: &str, message: String) -> Self {
        ControllerEvent {
            object,
            type_: "Normal".into(),
            reason: reason.into(),
            message,
        }
    }
}
