//! The data a pod's environment and config volumes are made from: the ConfigMaps and Secrets
//! it refers to, its labels and annotations, and its node's allocatable resources.
//!
//! `apply` reads them from git and hands them to the runtime in [`crate::runtime::PodRequest`]
//! (never in `pod.json`); the Linux runtime writes them to `config/data.json` on the pod's
//! own tmpfs, where the supervisor reads them each time it starts a container or is told that
//! they changed. Only the objects the pod names are included.

use crate::manifest::types::container::Container;
use crate::manifest::types::pod::PodSpec;
use crate::manifest::types::volume::Volume;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a pod's env and config volumes read, besides its spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodData {
    /// The pod's current labels (downward API volumes follow them).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The pod's current annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The ConfigMaps the pod names that exist, by name.
    #[serde(default)]
    pub config_maps: BTreeMap<String, ObjectData>,
    /// The Secrets the pod names that exist, by name.
    #[serde(default)]
    pub secrets: BTreeMap<String, ObjectData>,
    /// The node's allocatable resources, for `resourceFieldRef` of an unset limit.
    #[serde(default)]
    pub allocatable: Allocatable,
    /// What its service account tokens are signed with, when it mounts any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<super::token::TokenIssuer>,
}

/// The keys of one ConfigMap or Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectData {
    /// A ConfigMap's `data`: the only keys environment variables read from a ConfigMap.
    #[serde(default)]
    pub strings: BTreeMap<String, String>,
    /// A ConfigMap's `binaryData` or a Secret's `data`, base64 as in the API.
    #[serde(default)]
    pub binary: BTreeMap<String, String>,
}

impl ObjectData {
    /// Every key with its bytes, in key order.
    pub fn all(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out: BTreeMap<String, Vec<u8>> = self
            .strings
            .iter()
            .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
            .collect();
        for (k, v) in &self.binary {
            if let Ok(bytes) = crate::manifest::types::config::decode_base64(v) {
                out.insert(k.clone(), bytes);
            }
        }
        out
    }

    /// What an environment variable reads from `key`: a ConfigMap's `data` only (not
    /// `binaryData`), a Secret's bytes as text.
    pub fn env_value(&self, kind: RefKind, key: &str) -> Option<String> {
        match kind {
            RefKind::ConfigMap => self.strings.get(key).cloned(),
            RefKind::Secret => self.get(key).map(|v| String::from_utf8_lossy(&v).into_owned()),
        }
    }

    /// Every key `envFrom` reads, with its value as [`ObjectData::env_value`] gives it.
    pub fn env_values(&self, kind: RefKind) -> Vec<(String, String)> {
        match kind {
            RefKind::ConfigMap => self.strings.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            RefKind::Secret => self
                .all()
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect(),
        }
    }

    /// The bytes of `key`.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        if let Some(s) = self.strings.get(key) {
            return Some(s.as_bytes().to_vec());
        }
        crate::manifest::types::config::decode_base64(self.binary.get(key)?).ok()
    }
}

/// A node's allocatable cpu (millicores), memory and ephemeral storage (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allocatable {
    /// Millicores.
    pub cpu_milli: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes.
    pub ephemeral_storage: i64,
}

/// The kind of a referenced object, as the kubelet names it in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefKind {
    /// A ConfigMap.
    ConfigMap,
    /// A Secret.
    Secret,
}

impl RefKind {
    /// `configmap` or `secret`, as in `configmap "x" not found`.
    pub fn lower(self) -> &'static str {
        match self {
            RefKind::ConfigMap => "configmap",
            RefKind::Secret => "secret",
        }
    }

    /// `ConfigMap` or `Secret`, as in `couldn't find key k in ConfigMap ns/x`.
    pub fn title(self) -> &'static str {
        match self {
            RefKind::ConfigMap => "ConfigMap",
            RefKind::Secret => "Secret",
        }
    }
}

impl PodData {
    /// The object `name` of `kind`, or the kubelet's `configmap "x" not found`.
    pub fn object(&self, kind: RefKind, name: &str) -> Result<&ObjectData, String> {
        let map = match kind {
            RefKind::ConfigMap => &self.config_maps,
            RefKind::Secret => &self.secrets,
        };
        map.get(name)
            .ok_or_else(|| format!("{} {name:?} not found", kind.lower()))
    }
}

/// Whether the pod needs [`PodData`] at all: anything besides plain values and the pod's own
/// fields in its environment, or a configMap, secret, downwardAPI or projected volume.
pub fn needs_data(spec: &PodSpec) -> bool {
    let container_needs = |c: &Container| {
        !c.env_from.is_empty()
            || c.env
                .iter()
                .filter_map(|e| e.value_from.as_ref())
                .any(|s| s.field_ref.is_none())
    };
    spec.init_containers.iter().chain(&spec.containers).any(container_needs)
        || spec.volumes.iter().any(is_config_volume)
}

/// Whether `volume` is written from data: configMap, secret, downwardAPI or projected.
pub fn is_config_volume(volume: &Volume) -> bool {
    volume.config_map.is_some()
        || volume.secret.is_some()
        || volume.downward_api.is_some()
        || volume.projected.is_some()
}

/// Every ConfigMap and Secret the pod names, in env, envFrom and volumes.
pub fn references(spec: &PodSpec) -> BTreeSet<(RefKind, String)> {
    let mut out = BTreeSet::new();
    for c in spec.init_containers.iter().chain(&spec.containers) {
        for from in &c.env_from {
            if let Some(r) = &from.config_map_ref {
                out.insert((RefKind::ConfigMap, r.name.clone()));
            }
            if let Some(r) = &from.secret_ref {
                out.insert((RefKind::Secret, r.name.clone()));
            }
        }
        for source in c.env.iter().filter_map(|e| e.value_from.as_ref()) {
            if let Some(r) = &source.config_map_key_ref {
                out.insert((RefKind::ConfigMap, r.name.clone()));
            }
            if let Some(r) = &source.secret_key_ref {
                out.insert((RefKind::Secret, r.name.clone()));
            }
        }
    }
    for v in &spec.volumes {
        if let Some(cm) = &v.config_map {
            out.insert((RefKind::ConfigMap, cm.name.clone()));
        }
        if let Some(s) = &v.secret {
            out.insert((RefKind::Secret, s.secret_name.clone()));
        }
        for source in v.projected.iter().flat_map(|p| &p.sources) {
            if let Some(cm) = &source.config_map {
                out.insert((RefKind::ConfigMap, cm.name.clone()));
            }
            if let Some(s) = &source.secret {
                out.insert((RefKind::Secret, s.name.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_cover_env_env_from_and_volumes() {
        let spec: PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [{"name": "c", "image": "i",
                "envFrom": [{"configMapRef": {"name": "a"}}, {"secretRef": {"name": "s1"}}],
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s2", "key": "k"}}},
                        {"name": "Y", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
            "volumes": [{"name": "v", "configMap": {"name": "b"}},
                        {"name": "p", "projected": {"sources": [{"secret": {"name": "s3"}}, {"configMap": {"name": "c"}}]}}]
        }))
        .unwrap();
        let names: Vec<String> = references(&spec)
            .into_iter()
            .map(|(k, n)| format!("{}/{n}", k.lower()))
            .collect();
        assert_eq!(
            names,
            [
                "configmap/a",
                "configmap/b",
                "configmap/c",
                "secret/s1",
                "secret/s2",
                "secret/s3"
            ]
        );
        assert!(needs_data(&spec));
        let plain: PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [{"name": "c", "image": "i",
                "env": [{"name": "Y", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]
        }))
        .unwrap();
        assert!(!needs_data(&plain));
    }

    #[test]
    fn objects_give_bytes_and_the_kubelets_not_found() {
        let mut data = PodData::default();
        data.config_maps.insert(
            "cfg".into(),
            ObjectData {
                strings: [("a".to_string(), "1".to_string())].into(),
                binary: [("b".to_string(), "AAE=".to_string())].into(),
            },
        );
        let cm = data.object(RefKind::ConfigMap, "cfg").unwrap();
        assert_eq!(cm.get("b"), Some(vec![0, 1]));
        assert_eq!(cm.all().len(), 2);
        assert_eq!(
            data.object(RefKind::Secret, "cfg").unwrap_err(),
            "secret \"cfg\" not found"
        );
    }
}
