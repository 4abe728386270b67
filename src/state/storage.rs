//! What the volume binder keeps between runs: the status of every claim and every volume,
//! including the volumes rekon's provisioner made (they are in no manifest). Saved in
//! `state.json`, read by `get pv/pvc` and `describe pvc`, and given back to the binder
//! (`plan::storage`) on every pass.

use crate::manifest::Quantity;
use crate::time::Time;
use serde::{Deserialize, Serialize};

/// `status.phase` of a PersistentVolumeClaim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClaimPhase {
    /// Not bound yet.
    Pending,
    /// Bound to its volume.
    Bound,
    /// Its volume went away while bound.
    Lost,
}

/// `status.phase` of a PersistentVolume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumePhase {
    /// Free for a claim.
    Available,
    /// Bound to a claim.
    Bound,
    /// Its claim is gone and it is retained: it binds no claim again by itself.
    Released,
    /// Its claim is gone and its reclaim policy could not be carried out.
    Failed,
}

impl std::fmt::Display for ClaimPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl std::fmt::Display for VolumePhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// The status of one PersistentVolumeClaim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimStatus {
    /// The claim's `metadata.uid` (its provisioned volume is `pvc-<uid>`).
    pub uid: String,
    /// `status.phase`.
    pub phase: ClaimPhase,
    /// `spec.volumeName` once bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    /// `status.capacity.storage`: the bound volume's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Quantity>,
    /// `status.accessModes`: the bound volume's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// The class it asks for: its own `storageClassName`, or the default class's name
    /// (which upstream's admission writes into the claim). None: no class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The reason of the last event about why it waits, so that each is recorded once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
}

/// The claim a volume is bound to (`spec.claimRef`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRef {
    /// Namespace of the claim.
    pub namespace: String,
    /// Name of the claim.
    pub name: String,
    /// Uid of the claim: a claim of the same name made later is another claim.
    pub uid: String,
}

/// The status of one PersistentVolume, of git or provisioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeStatus {
    /// `status.phase`.
    pub phase: VolumePhase,
    /// The claim it is (or was, when Released) bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<ClaimRef>,
    /// `status.message`, for a Failed volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Set when rekon's provisioner made it: it is a directory below the state dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<Provisioned>,
}

/// A volume rekon's provisioner made for a claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provisioned {
    /// Its StorageClass.
    pub class: String,
    /// `spec.capacity.storage`: the claim's request.
    pub capacity: Quantity,
    /// The claim's access modes.
    pub access_modes: Vec<String>,
    /// `Delete` or `Retain`, from the class.
    pub reclaim_policy: String,
    /// When it was made.
    #[serde(with = "crate::time::secs")]
    pub created_at: Time,
}
