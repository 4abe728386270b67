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
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolumeSource>,
    #[serde(default, rename = "downwardAPI", skip_serializing_if = "Option::is_none")]
    pub downward_api: Option<DownwardApiVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected: Option<ProjectedVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
    /// Volume sources Kubernetes has and rekon does not (network, cloud and CSI storage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iscsi: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_repo: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gce_persistent_disk: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_elastic_block_store: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_disk: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_file: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cephfs: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cinder: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fc: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flex_volume: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flocker: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glusterfs: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photon_persistent_disk: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portworx_volume: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quobyte: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rbd: Option<Value>,
    #[serde(default, rename = "scaleIO", skip_serializing_if = "Option::is_none")]
    pub scale_io: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storageos: Option<Value>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
}

/// A path on the host. `type` is `""` (no checks), `DirectoryOrCreate`, `Directory`, ….
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostPathVolumeSource {
    #[serde(default)]
    pub path: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// One projected key: `key` of the source becomes file `path`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyToPath {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<i32>,
}

/// The keys of a ConfigMap as files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapVolumeSource {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// The keys of a Secret as files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolumeSource {
    #[serde(default)]
    pub secret_name: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// Pod fields as files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownwardApiVolumeSource {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<DownwardApiVolumeFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
}

/// One downward API file: exactly one of fieldRef or resourceFieldRef.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownwardApiVolumeFile {
    #[serde(default)]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<ObjectFieldSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_field_ref: Option<ResourceFieldSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<i32>,
}

/// Several sources merged into one directory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectedVolumeSource {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<VolumeProjection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
}

/// One projected source: exactly one field set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeProjection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<KeyProjection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<KeyProjection>,
    #[serde(default, rename = "downwardAPI", skip_serializing_if = "Option::is_none")]
    pub downward_api: Option<DownwardApiProjection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_token: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_trust_bundle: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_certificate: Option<Value>,
}

/// A projected Secret or ConfigMap (`name`, `items`, `optional`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyProjection {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// A projected downward API source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownwardApiProjection {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<DownwardApiVolumeFile>,
}

/// A PersistentVolumeClaim in the pod's namespace.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaimVolumeSource {
    #[serde(default)]
    pub claim_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}
