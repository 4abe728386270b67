//! v1 PersistentVolume and PersistentVolumeClaim, storage.k8s.io/v1 StorageClass.

use super::container::ResourceList;
use super::meta::{LabelSelector, ObjectMeta};
use super::nullable;
use super::volume::HostPathVolumeSource;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A piece of storage on the host.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolume {
    /// API group and version, `v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `PersistentVolume`.
    #[serde(default)]
    pub kind: String,
    /// Name, labels and annotations (PersistentVolumes have no namespace).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Capacity, access modes, class and source.
    #[serde(default)]
    pub spec: PersistentVolumeSpec,
}

/// Capacity, access modes, class and the (hostPath or local) source of a PersistentVolume.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeSpec {
    /// Size of the volume: `storage`, a quantity (required).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: ResourceList,
    /// How the volume may be mounted: `ReadWriteOnce`, `ReadOnlyMany`, `ReadWriteMany` or `ReadWriteOncePod`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// A directory of the host that backs the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathVolumeSource>,
    /// A local disk or directory that backs the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalVolumeSource>,
    /// Class of the volume; only claims of the same class bind to it (empty: no class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// `Retain`, `Delete` or `Recycle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_reclaim_policy: Option<String>,
    /// The claim the volume is bound or reserved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_ref: Option<ClaimReference>,
    /// `Filesystem` or `Block`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<String>,
    /// Accepted as written: on one host every node-affinity term that names it is satisfied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<Value>,
    /// Options for mounting the volume (rejected by rekon: volumes are bind mounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<Value>,
    /// An NFS export (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<Value>,
    /// A volume of an external CSI driver (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi: Option<Value>,
    /// An iSCSI disk (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iscsi: Option<Value>,
    /// Name of the VolumeAttributesClass of the volume (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_attributes_class_name: Option<Value>,
}

/// A local disk or directory (`spec.local`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalVolumeSource {
    /// Absolute path of the disk or directory on the host.
    #[serde(default)]
    pub path: String,
    /// Filesystem to mount, such as `ext4`; applies only when `path` is a block device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_type: Option<String>,
}

/// A PersistentVolume pre-bound to a claim.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimReference {
    /// `v1`; may be omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `PersistentVolumeClaim`; may be omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace of the claim (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the claim.
    #[serde(default)]
    pub name: String,
}

/// A request for storage. Also used, without apiVersion and kind, as a StatefulSet
/// `volumeClaimTemplates` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaim {
    /// API group and version, `v1`; empty in a claim template.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The kind, `PersistentVolumeClaim`; empty in a claim template.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What the claim asks for.
    #[serde(default)]
    pub spec: PersistentVolumeClaimSpec,
}

/// What a claim asks for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaimSpec {
    /// The access modes the volume must offer, such as `ReadWriteOnce`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// The size asked for: `requests.storage` (required).
    #[serde(default)]
    pub resources: VolumeResourceRequirements,
    /// Class of the volume wanted; `""` asks for a volume without a class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// `Filesystem` (the API default) or `Block`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<String>,
    /// Name of the PersistentVolume to bind to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    /// Labels a volume must carry to be bound to the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// An object to fill the new volume from, such as a snapshot or a claim (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<Value>,
    /// Like `dataSource`, but may name an object of any API group (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source_ref: Option<Value>,
    /// Name of the VolumeAttributesClass wanted (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_attributes_class_name: Option<Value>,
}

/// `resources` of a claim: `requests.storage` (and optionally `limits`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeResourceRequirements {
    /// The minimum resources wanted: `storage`, a quantity.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: ResourceList,
    /// The maximum resources the volume may have.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: ResourceList,
}

/// The provisioner of rekon's StorageClass: a directory per claim below the state dir.
pub const PROVISIONER: &str = "rekon.dev/local-path";

/// A kind of storage claims ask for by name, and who provisions it (storage.k8s.io/v1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageClass {
    /// API group and version, `storage.k8s.io/v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `StorageClass`.
    #[serde(default)]
    pub kind: String,
    /// Name, labels and annotations (StorageClasses have no namespace); the annotation
    /// `storageclass.kubernetes.io/is-default-class: "true"` makes it the default.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Who creates the volumes of its claims (required); rekon's own is [`PROVISIONER`].
    #[serde(default)]
    pub provisioner: String,
    /// What happens to a provisioned volume when its claim goes: `Delete` (the default) or
    /// `Retain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_policy: Option<String>,
    /// `Immediate` (the default) or `WaitForFirstConsumer`: bind when a pod uses the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_binding_mode: Option<String>,
    /// Whether claims may grow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_volume_expansion: Option<bool>,
    /// Options for the provisioner.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Options for mounting its volumes (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<Value>,
    /// Topologies its volumes may be provisioned in (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_topologies: Option<Value>,
}
