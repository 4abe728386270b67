//! The state file's data: what was applied, from where, and which pods run for it.

use super::workloads::{DeploymentStatus, LiveReplicaSet};
use crate::manifest::ObjectId;
use crate::manifest::types::{NamespacedName, string_keys};
use crate::source::SourceSpec;
use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the state format this rekon writes; a newer one is refused.
pub const FORMAT_VERSION: u32 = 3;

/// What was applied for one object of the desired state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// Kind, namespace and name of the object.
    pub id: ObjectId,
    /// The object as applied, canonical JSON with Secret values replaced by keyed hashes.
    pub spec: AppliedSpec,
    /// sha256 of `spec`; equal hashes mean nothing to do.
    pub hash: String,
    /// `file:line` the object came from.
    pub origin: String,
    /// When it was first applied.
    #[serde(with = "crate::time::secs")]
    pub created_at: Time,
    /// Bumped on every change of `spec`, like `metadata.generation`.
    pub generation: u64,
    /// When `rekon delete --cascade=foreground` began removing it: it stays, with the
    /// `foregroundDeletion` finalizer, until its dependents are gone.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::time::secs::option")]
    pub deletion_timestamp: Option<Time>,
    /// `metadata.finalizers`: `foregroundDeletion` while a foreground delete waits for its
    /// dependents; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// The JSON of an applied object, kept as the state file's text until something reads it.
///
/// A plan with no changes compares only hashes: parsing every object of a large state into a
/// tree showed as a sixth of such a plan, and the trees as a fifth of its memory. Reading it
/// (through `Deref`) parses it once.
#[derive(Clone)]
pub struct AppliedSpec {
    raw: Box<serde_json::value::RawValue>,
    parsed: std::sync::OnceLock<serde_json::Value>,
}

impl AppliedSpec {
    /// The spec of `value`.
    pub fn new(value: &serde_json::Value) -> Self {
        let parsed = std::sync::OnceLock::new();
        let _ = parsed.set(value.clone());
        AppliedSpec {
            raw: serde_json::value::to_raw_value(value).expect("a JSON value always serializes"),
            parsed,
        }
    }
}

impl std::ops::Deref for AppliedSpec {
    type Target = serde_json::Value;

    fn deref(&self) -> &serde_json::Value {
        // The text came from `new` or was read as valid JSON, so it parses.
        self.parsed
            .get_or_init(|| serde_json::from_str(self.raw.get()).expect("the state's JSON was checked when read"))
    }
}

impl From<serde_json::Value> for AppliedSpec {
    fn from(value: serde_json::Value) -> Self {
        AppliedSpec::new(&value)
    }
}

impl PartialEq for AppliedSpec {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for AppliedSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl Serialize for AppliedSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AppliedSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(AppliedSpec {
            raw: Box::<serde_json::value::RawValue>::deserialize(deserializer)?,
            parsed: std::sync::OnceLock::new(),
        })
    }
}

/// One pod rekon asked the runtime to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodRecord {
    /// The pod's `metadata.uid`, its key in [`State::pods`].
    pub uid: String,
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod (`web-7c9f-x2x4q`).
    pub name: String,
    /// The node it is bound to; None while it is Pending (no node could take it).
    #[serde(default)]
    pub node: Option<String>,
    /// Why it is not bound yet (`PodScheduled=False`); None once it is placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<Scheduling>,
    /// The object that made this pod: itself for a bare Pod, or a ReplicaSet/StatefulSet/….
    pub owner: ObjectId,
    /// Hash of the pod spec it was created from.
    pub spec_hash: String,
    /// When rekon decided to create it (`metadata.creationTimestamp`).
    #[serde(with = "crate::time::secs")]
    pub created_at: Time,
    /// False between "decided to create" and "runtime confirmed": a crash there is adopted
    /// or retried by the next apply, never duplicated.
    pub created: bool,
    /// When its deletion began: the pod is Terminating until the runtime reports it gone,
    /// and controllers no longer count it (`metadata.deletionTimestamp`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::time::secs::option")]
    pub deletion_timestamp: Option<Time>,
    /// The grace period its deletion was given (`metadata.deletionGracePeriodSeconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// Set when `rekon delete rs/NAME --cascade=orphan` took its ReplicaSet away: the pod's
    /// labels and spec (its ReplicaSet's template), kept so that it goes on running with no
    /// owner, takes its room on its node, and is adopted by a ReplicaSet whose selector
    /// matches the labels. `owner` then only says where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphaned: Option<Box<crate::manifest::types::PodTemplateSpec>>,
}

/// The `PodScheduled=False` condition of a Pending pod, as the scheduler writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduling {
    /// `Unschedulable`.
    pub reason: String,
    /// The scheduler's message (`0/2 nodes are available: 2 Insufficient cpu.`).
    pub message: String,
}

impl PodRecord {
    /// Whether the pod waits for a node (it then has no pod in the runtime).
    pub fn is_pending(&self) -> bool {
        self.node.is_none()
    }

    /// Whether its deletion has begun.
    pub fn is_terminating(&self) -> bool {
        self.deletion_timestamp.is_some()
    }

    /// Whether it runs with no owner (see [`orphaned`](Self::orphaned)).
    pub fn is_orphan(&self) -> bool {
        self.orphaned.is_some()
    }

    /// The ReplicaSet that controls it, when one does (not for a bare Pod or an orphan).
    pub fn replica_set(&self) -> Option<NamespacedName> {
        (self.owner.kind == crate::manifest::types::Kind::ReplicaSet && !self.is_orphan())
            .then(|| NamespacedName::new(self.owner.namespace.as_deref().unwrap_or("default"), &self.owner.name))
    }
}

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Format of the file; [`FORMAT_VERSION`] when this rekon wrote it.
    pub format_version: u32,
    /// Random id fixed when the state is first created; a saved plan must match it.
    pub lineage: String,
    /// Incremented on every save.
    pub serial: u64,
    /// Version of the rekon that wrote it.
    pub rekon_version: String,
    /// Where the last apply read the desired state from (repo, ref, path or files); None
    /// before the first apply. Verbs given no source use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceSpec>,
    /// Commit (or `sha256:` content hash for `-f`) last applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Keyed by id (in the file, by [`ObjectId`]'s display form).
    #[serde(default, with = "string_keys")]
    pub objects: BTreeMap<ObjectId, ObjectRecord>,
    /// Keyed by pod uid.
    #[serde(default)]
    pub pods: BTreeMap<String, PodRecord>,
    /// Every ReplicaSet that runs pods: made by a Deployment (`owner` set) or from git.
    /// Keyed by `namespace/name`. Their pods' records have the owner `ReplicaSet ns/name`.
    #[serde(default, with = "string_keys")]
    pub replica_sets: BTreeMap<NamespacedName, LiveReplicaSet>,
    /// The status of every Deployment (conditions, counts, revision, collisionCount), keyed
    /// by `namespace/name`.
    #[serde(default, with = "string_keys")]
    pub deployments: BTreeMap<NamespacedName, DeploymentStatus>,
    /// What `rekon rollout pause|restart|undo` changed on a live Deployment, keyed by
    /// `namespace/name`; applied on top of git's object by every controller pass.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", with = "string_keys")]
    pub rollouts: BTreeMap<NamespacedName, RolloutOverride>,
    /// Objects of git that `rekon delete` removed, keyed like `objects`, with the time: the
    /// next plan says why it creates them again. Cleared when they are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", with = "string_keys")]
    pub deleted: BTreeMap<ObjectId, Time>,
    /// The status of every PersistentVolumeClaim, keyed by `namespace/name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", with = "string_keys")]
    pub claims: BTreeMap<NamespacedName, super::storage::ClaimStatus>,
    /// The status of every PersistentVolume, of git or provisioned, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, super::storage::VolumeStatus>,
}

/// A Deployment's changes made outside git by the rollout commands.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RolloutOverride {
    /// `rollout pause`: scale but do not roll, until `rollout resume`.
    #[serde(default)]
    pub paused: bool,
    /// `rollout restart`: the `kubectl.kubernetes.io/restartedAt` template annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted_at: Option<String>,
    /// `rollout undo`: the template of an older revision, held until git's object changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<RolloutHold>,
}

/// A rollback recorded by `rollout undo` (DESIGN §3: honest about GitOps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutHold {
    /// The revision rolled back to, as `rollout undo` found it.
    pub revision: i64,
    /// Its pod template, without the pod-template-hash label.
    pub template: crate::manifest::types::PodTemplateSpec,
    /// The hash of git's Deployment when the hold was made: once git's object differs, git
    /// wins again.
    pub git_hash: String,
}

impl State {
    /// A fresh, empty state with a new lineage.
    pub fn new(lineage: String) -> Self {
        State {
            format_version: FORMAT_VERSION,
            lineage,
            serial: 0,
            rekon_version: env!("CARGO_PKG_VERSION").to_string(),
            source: None,
            revision: None,
            objects: BTreeMap::new(),
            pods: BTreeMap::new(),
            replica_sets: BTreeMap::new(),
            deployments: BTreeMap::new(),
            rollouts: BTreeMap::new(),
            deleted: BTreeMap::new(),
            claims: BTreeMap::new(),
            volumes: BTreeMap::new(),
        }
    }

    /// The orphaned ReplicaSets of `namespace` that a Deployment with `selector` adopts
    /// (`ClaimReplicaSets`: an empty selector claims nothing).
    pub fn adoptable<'a>(
        &'a self,
        namespace: &'a str,
        selector: &'a crate::manifest::types::LabelSelector,
    ) -> impl Iterator<Item = &'a LiveReplicaSet> + 'a {
        self.replica_sets
            .values()
            .filter(move |rs| rs.adoptable_by(namespace, selector))
    }

    /// The ReplicaSets controlled by the Deployment `namespace/name`, oldest first.
    pub fn replica_sets_of<'a>(&'a self, namespace: &'a str, name: &'a str) -> Vec<&'a LiveReplicaSet> {
        let mut out: Vec<&LiveReplicaSet> = self
            .replica_sets
            .values()
            .filter(|rs| rs.namespace == namespace && rs.owner.as_deref() == Some(name))
            .collect();
        out.sort_by(|a, b| super::workloads::by_creation(a, b));
        out
    }

    /// The pods owned by `owner`.
    pub fn pods_of<'a>(&'a self, owner: &'a ObjectId) -> impl Iterator<Item = &'a PodRecord> + 'a {
        self.pods.values().filter(move |p| &p.owner == owner && !p.is_orphan())
    }
}
