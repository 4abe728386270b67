//! The Kubernetes object kinds rekon understands, as serde types, and [`Resource`] over them.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Identity of an object: kind, namespace (None for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectId {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectId {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        ObjectId {
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// The kubectl-style short reference, `deployment/web`.
    pub fn kubectl_ref(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }
}

impl fmt::Display for ObjectId {
    /// `Deployment default/web`, or `Namespace prod` for cluster-scoped objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

pub mod apps;
pub mod batch;
pub mod config;
pub mod container;
pub mod meta;
pub mod node;
pub mod pod;
pub mod probe;
pub mod service;
pub mod storage;
pub mod volume;

pub use apps::{DaemonSet, Deployment, ReplicaSet, ReplicationController, StatefulSet};
pub use batch::Job;
pub use config::{ConfigMap, Secret};
pub use container::Container;
pub use meta::{LabelSelector, ObjectMeta};
pub use node::{Namespace, Node};
pub use pod::{Pod, PodSpec, PodTemplateSpec};
pub use service::Service;
pub use storage::{PersistentVolume, PersistentVolumeClaim};

/// Reads `null` as the type's default: Kubernetes treats an explicit null like an absent field.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Any object rekon accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Pod(Pod),
    ConfigMap(ConfigMap),
    Secret(Secret),
    Service(Service),
    PersistentVolumeClaim(PersistentVolumeClaim),
    PersistentVolume(PersistentVolume),
    Node(Node),
    Namespace(Namespace),
    ReplicationController(ReplicationController),
    Deployment(Deployment),
    ReplicaSet(ReplicaSet),
    StatefulSet(StatefulSet),
    DaemonSet(DaemonSet),
    Job(Job),
}

/// Calls `$body` with `$o` bound to the inner object of any variant.
macro_rules! each_kind {
    ($res:expr, $o:ident => $body:expr) => {
        match $res {
            Resource::Pod($o) => $body,
            Resource::ConfigMap($o) => $body,
            Resource::Secret($o) => $body,
            Resource::Service($o) => $body,
            Resource::PersistentVolumeClaim($o) => $body,
            Resource::PersistentVolume($o) => $body,
            Resource::Node($o) => $body,
            Resource::Namespace($o) => $body,
            Resource::ReplicationController($o) => $body,
            Resource::Deployment($o) => $body,
            Resource::ReplicaSet($o) => $body,
            Resource::StatefulSet($o) => $body,
            Resource::DaemonSet($o) => $body,
            Resource::Job($o) => $body,
        }
    };
}

/// Every (apiVersion, kind) rekon accepts, and whether the kind is namespaced.
pub const KINDS: &[(&str, &str, bool)] = &[
    ("v1", "Pod", true),
    ("v1", "ConfigMap", true),
    ("v1", "Secret", true),
    ("v1", "Service", true),
    ("v1", "PersistentVolumeClaim", true),
    ("v1", "PersistentVolume", false),
    ("v1", "Node", false),
    ("v1", "Namespace", false),
    ("v1", "ReplicationController", true),
    ("apps/v1", "Deployment", true),
    ("apps/v1", "ReplicaSet", true),
    ("apps/v1", "StatefulSet", true),
    ("apps/v1", "DaemonSet", true),
    ("batch/v1", "Job", true),
];

impl Resource {
    /// The kind, e.g. `Deployment`.
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Pod(_) => "Pod",
            Resource::ConfigMap(_) => "ConfigMap",
            Resource::Secret(_) => "Secret",
            Resource::Service(_) => "Service",
            Resource::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Resource::PersistentVolume(_) => "PersistentVolume",
            Resource::Node(_) => "Node",
            Resource::Namespace(_) => "Namespace",
            Resource::ReplicationController(_) => "ReplicationController",
            Resource::Deployment(_) => "Deployment",
            Resource::ReplicaSet(_) => "ReplicaSet",
            Resource::StatefulSet(_) => "StatefulSet",
            Resource::DaemonSet(_) => "DaemonSet",
            Resource::Job(_) => "Job",
        }
    }

    /// The apiVersion this kind is served at (`v1`, `apps/v1`, `batch/v1`).
    pub fn api_version(&self) -> &'static str {
        let kind = self.kind();
        KINDS.iter().find(|(_, k, _)| *k == kind).map_or("v1", |(v, _, _)| v)
    }

    /// Whether objects of this kind live in a namespace.
    pub fn is_namespaced(&self) -> bool {
        let kind = self.kind();
        KINDS.iter().any(|(_, k, namespaced)| *k == kind && *namespaced)
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        each_kind!(self, o => &o.metadata)
    }

    /// The object's metadata, mutable (defaulting sets the namespace).
    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        each_kind!(self, o => &mut o.metadata)
    }

    /// Kind, namespace (`None` for cluster-scoped kinds, `default` when unset) and name.
    pub fn id(&self) -> ObjectId {
        let meta = self.metadata();
        let namespace = self.is_namespaced().then(|| meta.namespace_or_default());
        ObjectId::new(self.kind(), namespace, &meta.name)
    }

    /// Canonical JSON of the whole object, apiVersion and kind included.
    pub fn to_value(&self) -> serde_json::Value {
        let mut value =
            each_kind!(self, o => serde_json::to_value(o)).expect("manifest types serialize to JSON infallibly");
        if let Some(map) = value.as_object_mut() {
            map.insert("apiVersion".into(), self.api_version().into());
            map.insert("kind".into(), self.kind().into());
        }
        value
    }

    /// The pod template of a workload controller.
    pub fn pod_template(&self) -> Option<&PodTemplateSpec> {
        match self {
            Resource::Deployment(o) => Some(&o.spec.template),
            Resource::ReplicaSet(o) => Some(&o.spec.template),
            Resource::ReplicationController(o) => Some(&o.spec.template),
            Resource::StatefulSet(o) => Some(&o.spec.template),
            Resource::DaemonSet(o) => Some(&o.spec.template),
            Resource::Job(o) => Some(&o.spec.template),
            _ => None,
        }
    }

    /// The pod template of a workload controller, mutable.
    pub fn pod_template_mut(&mut self) -> Option<&mut PodTemplateSpec> {
        match self {
            Resource::Deployment(o) => Some(&mut o.spec.template),
            Resource::ReplicaSet(o) => Some(&mut o.spec.template),
            Resource::ReplicationController(o) => Some(&mut o.spec.template),
            Resource::StatefulSet(o) => Some(&mut o.spec.template),
            Resource::DaemonSet(o) => Some(&mut o.spec.template),
            Resource::Job(o) => Some(&mut o.spec.template),
            _ => None,
        }
    }

    /// The spec of a bare Pod.
    pub fn pod_spec(&self) -> Option<&PodSpec> {
        match self {
            Resource::Pod(p) => Some(&p.spec),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn id_and_value_of_namespaced_and_cluster_objects() {
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}
        }))
        .unwrap();
        let res = Resource::Pod(pod);
        assert_eq!(res.id(), ObjectId::new("Pod", Some("default"), "web"));
        assert_eq!(
            res.to_value(),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
        );
        assert!(res.pod_spec().is_some() && res.pod_template().is_none());

        let ns = Resource::Namespace(Namespace {
            metadata: ObjectMeta::named("prod"),
            ..Default::default()
        });
        assert_eq!(ns.id().to_string(), "Namespace prod");
        assert_eq!(
            ns.to_value(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}})
        );
        let job = Resource::Job(Job::default());
        assert_eq!((job.api_version(), job.is_namespaced()), ("batch/v1", true));
    }
}
