//! What the workload controllers keep between runs: live ReplicaSets and Deployment
//! statuses, saved in `state.json`, read by `get`, `describe` and `rollout`, and given back to
//! the controllers (`plan::controller`) on every pass.

use crate::manifest::types::{LabelSelector, PodTemplateSpec};
pub use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The revision of a ReplicaSet (and, copied from the new one, of its Deployment).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a reused ReplicaSet had, comma separated.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// `spec.replicas` of the Deployment when it last scaled the ReplicaSet.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// `spec.replicas + maxSurge` of the Deployment when it last scaled the ReplicaSet.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label a Deployment adds to its ReplicaSets, their selectors and their pods.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The pod annotation that ranks scale-down victims (lower goes first).
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";
/// `kubernetes.io/change-cause`, shown by `rollout history`.
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

/// A ReplicaSet as it lives on the host: made by a Deployment, or standing alone from git.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveReplicaSet {
    /// `metadata.name` (`<deployment>-<pod-template-hash>` for a Deployment's).
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// Deterministic uid (derived from namespace, name and creation time).
    pub uid: String,
    /// The name of the Deployment that controls it; None for a ReplicaSet from git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `metadata.labels` (the template's labels plus `pod-template-hash`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`: revision, revision-history, desired-replicas, max-replicas and
    /// the Deployment's own annotations (change-cause, …).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `spec.selector` (the Deployment's plus `pod-template-hash`).
    pub selector: LabelSelector,
    /// `spec.template`, with the `pod-template-hash` label for a Deployment's ReplicaSet.
    pub template: PodTemplateSpec,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `spec.minReadySeconds`.
    #[serde(default)]
    pub min_ready_seconds: i32,
    /// `metadata.creationTimestamp`.
    pub created_at: Time,
    /// `metadata.generation`: bumped whenever the spec changes.
    pub generation: i64,
    /// How many pod names were generated so far (the seed of the next name).
    #[serde(default)]
    pub pods_created: u64,
    /// `status`, as the last controller pass computed it.
    pub status: ReplicaSetStatus,
    /// Left without its Deployment by `rekon delete --cascade=orphan`: it keeps its pods
    /// and runs on its own until a Deployment whose selector matches adopts it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub orphaned: bool,
}

impl LiveReplicaSet {
    /// Whether a Deployment of `namespace` with `selector` adopts it (`ClaimReplicaSets`: an
    /// orphan whose labels the selector matches; an empty selector claims nothing).
    pub fn adoptable_by(&self, namespace: &str, selector: &crate::manifest::types::LabelSelector) -> bool {
        self.orphaned && self.namespace == namespace && !selector.is_empty() && selector.matches(&self.labels)
    }

    /// The `deployment.kubernetes.io/revision` annotation as a number (0 when absent or bad,
    /// as upstream `Revision` treats it).
    pub fn revision(&self) -> i64 {
        self.annotations.get(REVISION).and_then(|r| r.parse().ok()).unwrap_or(0)
    }

    /// The `pod-template-hash` label, when a Deployment made it.
    pub fn pod_template_hash(&self) -> Option<&str> {
        self.labels.get(POD_TEMPLATE_HASH).map(String::as_str)
    }
}

/// `status` of a ReplicaSet (`calculateStatus` in replica_set_utils.go).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaSetStatus {
    /// Active pods: not Succeeded, not Failed, not terminating.
    pub replicas: i32,
    /// Active pods whose labels match the template's labels.
    pub fully_labeled_replicas: i32,
    /// Active pods whose Ready condition is True.
    pub ready_replicas: i32,
    /// Ready for at least minReadySeconds.
    pub available_replicas: i32,
    /// The `metadata.generation` this status was computed for.
    pub observed_generation: i64,
}

/// A condition of a Deployment (`Available`, `Progressing`, `ReplicaFailure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentCondition {
    /// `type`: `Available`, `Progressing` or `ReplicaFailure`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// One-word CamelCase cause of the last transition (`NewReplicaSetAvailable`, …).
    pub reason: String,
    /// Human-readable details of the transition.
    pub message: String,
    /// `lastUpdateTime`: when the condition was last updated; the progress deadline counts
    /// from it.
    pub last_update_time: Time,
    /// `lastTransitionTime`: when `status` last changed.
    pub last_transition_time: Time,
}

/// `status` of a Deployment (`calculateStatus` in sync.go), plus the revision annotation the
/// live object would carry (rekon cannot write it into git).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentStatus {
    /// The Deployment's generation this status was computed for (`observedGeneration`).
    pub observed_generation: i64,
    /// Σ status.replicas of its ReplicaSets (active pods).
    pub replicas: i32,
    /// status.replicas of the new ReplicaSet.
    pub updated_replicas: i32,
    /// Σ status.readyReplicas of its ReplicaSets.
    pub ready_replicas: i32,
    /// Σ status.availableReplicas of its ReplicaSets (ready for at least minReadySeconds).
    pub available_replicas: i32,
    /// max(0, Σ spec.replicas − available).
    pub unavailable_replicas: i32,
    /// `status.conditions`: at most one of each type.
    #[serde(default)]
    pub conditions: Vec<DeploymentCondition>,
    /// `collisionCount`: bumped when the new ReplicaSet's name is taken by one with another
    /// template, to change the pod-template-hash; None until the first collision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
    /// The `deployment.kubernetes.io/revision` annotation: the new ReplicaSet's revision.
    #[serde(default)]
    pub revision: i64,
}

impl DeploymentStatus {
    /// The condition of this type, if any.
    pub fn condition(&self, type_: &str) -> Option<&DeploymentCondition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// `ReplicaSetsByCreationTimestamp`: oldest first, then by name.
pub fn by_creation(a: &LiveReplicaSet, b: &LiveReplicaSet) -> std::cmp::Ordering {
    a.created_at.cmp(&b.created_at).then_with(|| a.name.cmp(&b.name))
}
