//! Pod volumes: one `Option` per source, validated to have exactly one set.

use super::container::{ObjectFieldSelector, ResourceFieldSelector};
use super::nullable;
use crate::manifest::Quantity;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A named volume of a pod.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Name of the volume, a DNS-1123 label unique within the pod; `volumeMounts` refer to it.
    #[serde(default)]
    pub name: String,
    /// An empty directory created with the pod and removed with it (the API default when no source is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolumeSource>,
    /// A file or directory of the host, mounted into the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathVolumeSource>,
    /// The keys of a ConfigMap, as files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapVolumeSource>,
    /// The keys of a Secret, as files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolumeSource>,
    /// Fields of the pod and resources of its containers, as files.
    #[serde(default, rename = "downwardAPI", skip_serializing_if = "Option::is_none")]
    pub downward_api: Option<DownwardApiVolumeSource>,
    /// Secrets, ConfigMaps and downward API fields merged into one directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected: Option<ProjectedVolumeSource>,
    /// The volume bound to a PersistentVolumeClaim in the pod's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
    /// Volume sources Kubernetes has and rekon does not (network, cloud and CSI storage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<Value>,
    /// An inline volume of an external CSI driver (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi: Option<Value>,
    /// A generic ephemeral volume: a claim made for the pod from a template (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<Value>,
    /// An OCI image or artifact, mounted read-only (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Value>,
    /// An iSCSI disk (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iscsi: Option<Value>,
    /// A git repository cloned into an empty directory, deprecated upstream (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_repo: Option<Value>,
    /// A Google Compute Engine persistent disk (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gce_persistent_disk: Option<Value>,
    /// An AWS Elastic Block Store volume (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_elastic_block_store: Option<Value>,
    /// An Azure data disk (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_disk: Option<Value>,
    /// An Azure Files share (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_file: Option<Value>,
    /// A CephFS mount (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cephfs: Option<Value>,
    /// An OpenStack Cinder volume (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cinder: Option<Value>,
    /// A Fibre Channel disk (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fc: Option<Value>,
    /// A volume of a FlexVolume driver plugin (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flex_volume: Option<Value>,
    /// A Flocker dataset (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flocker: Option<Value>,
    /// A GlusterFS mount (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glusterfs: Option<Value>,
    /// A VMware Photon Controller persistent disk (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photon_persistent_disk: Option<Value>,
    /// A Portworx volume (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portworx_volume: Option<Value>,
    /// A Quobyte mount (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quobyte: Option<Value>,
    /// A Ceph RADOS block device (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rbd: Option<Value>,
    /// A ScaleIO volume (not supported by rekon).
    #[serde(default, rename = "scaleIO", skip_serializing_if = "Option::is_none")]
    pub scale_io: Option<Value>,
    /// A StorageOS volume (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storageos: Option<Value>,
    /// A vSphere VMDK volume (not supported by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vsphere_volume: Option<Value>,
}

impl Volume {
    /// The camelCase names of the sources this volume sets (validation wants exactly one).
    pub fn source_names(&self) -> Vec<&'static str> {
        let supported = [
            ("emptyDir", self.empty_dir.is_some()),
            ("hostPath", self.host_path.is_some()),
            ("configMap", self.config_map.is_some()),
            ("secret", self.secret.is_some()),
            ("downwardAPI", self.downward_api.is_some()),
            ("projected", self.projected.is_some()),
            ("persistentVolumeClaim", self.persistent_volume_claim.is_some()),
        ];
        let mut names: Vec<&'static str> = supported
            .iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name)
            .collect();
        names.extend(self.unsupported_sources());
        names
    }

    /// The camelCase names of set sources that rekon does not support.
    pub fn unsupported_sources(&self) -> Vec<&'static str> {
        [
            ("nfs", &self.nfs),
            ("csi", &self.csi),
            ("ephemeral", &self.ephemeral),
            ("image", &self.image),
            ("iscsi", &self.iscsi),
            ("gitRepo", &self.git_repo),
            ("gcePersistentDisk", &self.gce_persistent_disk),
            ("awsElasticBlockStore", &self.aws_elastic_block_store),
            ("azureDisk", &self.azure_disk),
            ("azureFile", &self.azure_file),
            ("cephfs", &self.cephfs),
            ("cinder", &self.cinder),
            ("fc", &self.fc),
            ("flexVolume", &self.flex_volume),
            ("flocker", &self.flocker),
            ("glusterfs", &self.glusterfs),
            ("photonPersistentDisk", &self.photon_persistent_disk),
            ("portworxVolume", &self.portworx_volume),
            ("quobyte", &self.quobyte),
            ("rbd", &self.rbd),
            ("scaleIO", &self.scale_io),
            ("storageos", &self.storageos),
            ("vsphereVolume", &self.vsphere_volume),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .map(|(name, _)| name)
        .collect()
    }
}

/// A scratch directory that lives as long as the pod (`medium: Memory` for tmpfs).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirVolumeSource {
    /// Backing storage: `""` (the default) for the node's disk, `Memory` for a tmpfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    /// Most storage the directory may use, unset for no limit; for `Memory`, the tmpfs size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
}

/// A path on the host. `type` is `""` (no checks), `DirectoryOrCreate`, `Directory`, ….
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostPathVolumeSource {
    /// Absolute path of the file or directory on the host.
    #[serde(default)]
    pub path: String,
    /// What must exist at `path` before mounting (API default `""`: nothing is checked).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// One projected key: `key` of the source becomes file `path`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyToPath {
    /// The key to project.
    #[serde(default)]
    pub key: String,
    /// Relative path of the file the key's value is written to; may not contain `..`.
    #[serde(default)]
    pub path: String,
    /// Permission bits of this file (0 to 0777); unset means the volume's `defaultMode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<i32>,
}

/// The keys of a ConfigMap as files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapVolumeSource {
    /// Name of the ConfigMap, in the pod's namespace.
    #[serde(default)]
    pub name: String,
    /// Keys to project and their paths; empty projects every key into a file named after it.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    /// Permission bits of the files (0 to 0777, API default 0644).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
    /// Whether the pod may start without the ConfigMap or a listed key (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// The keys of a Secret as files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolumeSource {
    /// Name of the Secret, in the pod's namespace.
    #[serde(default)]
    pub secret_name: String,
    /// Keys to project and their paths; empty projects every key into a file named after it.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    /// Permission bits of the files (0 to 0777, API default 0644).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
    /// Whether the pod may start without the Secret or a listed key (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// Pod fields as files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownwardApiVolumeSource {
    /// The files, one per pod field or container resource.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<DownwardApiVolumeFile>,
    /// Permission bits of the files (0 to 0777, API default 0644).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
}

/// One downward API file: exactly one of fieldRef or resourceFieldRef.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownwardApiVolumeFile {
    /// Relative path of the file; may not contain `..`.
    #[serde(default)]
    pub path: String,
    /// A field of the pod to write, such as `metadata.labels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<ObjectFieldSelector>,
    /// A limit or request of a container to write, such as `limits.cpu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_field_ref: Option<ResourceFieldSelector>,
    /// Permission bits of this file (0 to 0777); unset means the volume's `defaultMode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<i32>,
}

/// Several sources merged into one directory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectedVolumeSource {
    /// The sources to merge, in order.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<VolumeProjection>,
    /// Permission bits of the files (0 to 0777, API default 0644).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
}

/// One projected source: exactly one field set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeProjection {
    /// Keys of a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<KeyProjection>,
    /// Keys of a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<KeyProjection>,
    /// Fields of the pod and resources of its containers.
    #[serde(default, rename = "downwardAPI", skip_serializing_if = "Option::is_none")]
    pub downward_api: Option<DownwardApiProjection>,
    /// A token for the pod's service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_token: Option<ServiceAccountTokenProjection>,
    /// Certificates from ClusterTrustBundle objects (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_trust_bundle: Option<Value>,
    /// A key and certificate issued to the pod (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_certificate: Option<Value>,
}

/// A projected Secret or ConfigMap (`name`, `items`, `optional`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyProjection {
    /// Name of the Secret or ConfigMap, in the pod's namespace.
    #[serde(default)]
    pub name: String,
    /// Keys to project and their paths; empty projects every key into a file named after it.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    /// Whether the object or a listed key may be missing (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// A projected downward API source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownwardApiProjection {
    /// The files, one per pod field or container resource.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<DownwardApiVolumeFile>,
}

/// The shortest lifetime a service account token may be asked for (`validation.go`: 10
/// minutes).
pub const MIN_TOKEN_SECONDS: i64 = 600;

/// A token of the pod's service account, as a file of a projected volume.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountTokenProjection {
    /// The audience the token is for (`aud`); the issuer when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// How long the token is valid (default 3600, at least 600); it is renewed after 80 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<i64>,
    /// The file's path inside the volume.
    #[serde(default)]
    pub path: String,
}

/// A PersistentVolumeClaim in the pod's namespace.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaimVolumeSource {
    /// Name of the PersistentVolumeClaim, in the pod's namespace.
    #[serde(default)]
    pub claim_name: String,
    /// Whether the volume is mounted read-only (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}
