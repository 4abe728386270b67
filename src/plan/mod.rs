//! Planning: a pure function from desired objects, state and observed pods to a [`Plan`].
//!
//! No clock, filesystem or processes here: time, host and the keyed hash come in as inputs,
//! which is what keeps planning fast and testable.

pub mod compute;
pub mod controller;
pub mod desired;
pub mod diff;
pub mod health;
pub mod nodes;
pub mod notes;
pub mod overrides;
pub mod placement;
pub mod render;
pub mod scheduler;
pub mod storage;
#[cfg(test)]
pub(crate) mod testkit;
pub mod workloads;

use crate::manifest::ObjectId;
use crate::source::SourceSpec;
use crate::time::Time;
use serde::{Deserialize, Serialize};

pub use compute::{Observed, PlanInput, plan};
pub use desired::{DesiredObject, desired_objects};
pub use placement::pod_spec_of;

/// Version of the plan JSON schema (saved plans and `-o json`); a major bump breaks readers.
/// 1.1 added `nodes`, `placements` and `steps[].unschedulable`.
pub const PLAN_FORMAT_VERSION: &str = "1.1";

/// Facts about the host that the plan needs, gathered by the caller (the plan reads nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// The host's name: recorded in the plan, and the name of the node when git defines none.
    pub hostname: String,
    /// Online CPUs.
    pub cpus: u32,
    /// Total memory (`MemTotal`).
    pub memory_bytes: i64,
    /// Architecture in Rust's spelling (`std::env::consts::ARCH`, e.g. `x86_64`).
    pub arch: String,
}

/// A node the plan schedules onto, with the capacity apply gives its cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanNode {
    /// The Node's `metadata.name` (the hostname for the implicit node).
    pub name: String,
    /// Capacity in millicores (`status.capacity.cpu`, else the host's CPUs).
    pub cpu_milli: i64,
    /// Capacity in bytes (`status.capacity.memory`, else the host's memory).
    pub memory_bytes: i64,
    /// How many pods it takes (`status.capacity.pods`, else 110).
    pub pods: i64,
    /// `spec.unschedulable`: cordoned, keeps its pods, takes no new ones.
    #[serde(default)]
    pub unschedulable: bool,
    /// The node named after the host that exists when git defines no Node (never configured).
    #[serde(default)]
    pub implicit: bool,
}

/// Where the plan puts one pod it schedules (Nomad's "scheduler dry-run").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodPlacement {
    /// The pod (`Pod namespace/name`).
    pub pod: ObjectId,
    /// The object that makes it (the Pod itself for a bare Pod).
    pub owner: ObjectId,
    /// The node it lands on; None when it stays Pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The node it leaves (a drained node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Why it stays Pending: the scheduler's message (`0/2 nodes are available: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<String>,
    /// The reason of its `PodScheduled=False` condition (`Unschedulable`); None when the pod
    /// names a missing node, which upstream leaves without a condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// True for a pod that was Pending before this plan and still is: no step, nothing runs.
    #[serde(default)]
    pub still_pending: bool,
}

/// What one step does to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Create an object the state does not have yet.
    Create,
    /// Change an object in place: its hash differs, but no immutable field changed.
    Update,
    /// Destroy, then create (an immutable field changed, or a pod must be rebuilt).
    Replace,
    /// Destroy an object of the state that git no longer has.
    Delete,
}

impl Action {
    /// Terraform's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }

    /// Terraform's action list for JSON (`["delete","create"]` for a replace).
    pub fn json_actions(self) -> &'static [&'static str] {
        match self {
            Action::Create => &["create"],
            Action::Update => &["update"],
            Action::Replace => &["delete", "create"],
            Action::Delete => &["delete"],
        }
    }
}

/// Where the plan's desired state came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSource {
    /// The source as named: repository, ref and path, or the `-f` files.
    pub spec: SourceSpec,
    /// Commit sha, or `sha256:` content hash for `-f`.
    pub revision: String,
    /// Human description (`file:///repo @ main (a1b2c3d)`).
    pub description: String,
}

/// The reason of a create whose object `rekon delete` removed although git still has it.
pub const DELETED_OUTSIDE_GIT: &str = "deleted outside git";

/// One change to one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The object the step acts on.
    pub id: ObjectId,
    /// What the step does to it.
    pub action: Action,
    /// Why, when it is not obvious (`because it is not in git any more`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Hash of the object as it will be after the step (None for delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_hash: Option<String>,
    /// Unified YAML diff (Secret values masked) of what changes.
    pub diff: String,
    /// For pods: the node the pod is placed on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// For pods no node can take: the scheduler's message; the pod is recorded Pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<String>,
    /// Extra facts shown under the step (`no controller yet …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// `file:line` of the desired object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Step {
    /// A step the plan explains by its reason alone (no diff): a delete (`desired` None), or a
    /// replace or update of the desired object `desired`.
    pub fn explained(id: ObjectId, action: Action, reason: String, desired: Option<&DesiredObject>) -> Step {
        Step {
            id,
            action,
            reason: Some(reason),
            after_hash: desired.map(|d| d.hash.clone()),
            diff: String::new(),
            node: None,
            unschedulable: None,
            notes: Vec::new(),
            origin: desired.map(|d| d.origin.clone()),
        }
    }
}

/// Terraform's counts: a replace counts once in add and once in destroy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Creates and replaces.
    pub add: u32,
    /// Updates in place.
    pub change: u32,
    /// Deletes and replaces.
    pub destroy: u32,
}

impl Summary {
    /// The counts of `steps`.
    pub fn of(steps: &[Step]) -> Summary {
        let mut s = Summary::default();
        for step in steps {
            match step.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }

    /// Whether nothing is added, changed or destroyed.
    pub fn is_empty(&self) -> bool {
        self.add == 0 && self.change == 0 && self.destroy == 0
    }
}

/// A plan: computed by `plan`, rendered, saved by `--out`, executed by `apply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`] of the rekon that made it.
    pub format_version: String,
    /// Version of the rekon that made it.
    pub rekon_version: String,
    /// Where the desired state came from.
    pub source: PlanSource,
    /// The state the plan was made against; a saved plan is stale if either moved.
    pub lineage: String,
    /// The state's serial when the plan was made.
    pub serial: u64,
    /// Hostname of the machine it was made on.
    pub host: String,
    /// When it was made: the controllers' clock for this plan.
    #[serde(with = "crate::time::secs")]
    pub created_at: Time,
    /// The changes, in apply order: deletes first (a Node's last of all), then the rest by kind.
    pub steps: Vec<Step>,
    /// Counts of `steps`.
    pub summary: Summary,
    /// The nodes pods are scheduled onto after this plan.
    #[serde(default)]
    pub nodes: Vec<PlanNode>,
    /// Every pod this plan schedules: created, moved, or (still) Pending.
    #[serde(default)]
    pub placements: Vec<PodPlacement>,
    /// Warnings about the configuration as a whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// PersistentVolumeClaims removed from git that the plan keeps, with their data, because
    /// it was made without `--prune-volumes` (DESIGN §3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<ObjectId>,
}

impl Plan {
    /// Whether there is any step to apply.
    pub fn has_changes(&self) -> bool {
        !self.steps.is_empty()
    }

    /// The placements of pods that stay Pending.
    pub fn unschedulable(&self) -> impl Iterator<Item = &PodPlacement> {
        self.placements.iter().filter(|p| p.node.is_none())
    }
}
