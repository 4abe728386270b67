//! The Kubernetes object kinds rekon understands, as serde types, and [`Resource`] over them.

use serde::{Deserialize, Deserializer};

pub mod apps;
pub mod batch;
pub mod config;
pub mod container;
pub mod kind;
pub mod meta;
pub mod node;
pub mod pod;
pub mod probe;
pub mod service;
pub mod storage;
pub mod volume;

pub use apps::{DaemonSet, Deployment, ReplicaSet, ReplicationController, StatefulSet};
pub use batch::Job;
pub use config::{ConfigMap, Secret, ServiceAccount};
pub use container::Container;
pub use kind::{Kind, NamespacedName, ObjectId, string_keys};
pub use meta::{LabelSelector, ObjectMeta};
pub use node::{Namespace, Node};
pub use pod::{Pod, PodSpec, PodTemplateSpec};
pub use service::Service;
pub use storage::{PersistentVolume, PersistentVolumeClaim, StorageClass};

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
    /// A bare `v1` Pod: run as written, owned by no controller.
    Pod(Pod),
    /// A `v1` ConfigMap: configuration data for pods' volumes and environment.
    ConfigMap(ConfigMap),
    /// A `v1` Secret: like a ConfigMap, but its values are kept in the state only as keyed hashes.
    Secret(Secret),
    /// A `v1` ServiceAccount: the identity pods run as, and their API token.
    ServiceAccount(ServiceAccount),
    /// A `v1` Service: a stable name and virtual IP in front of a set of pods.
    Service(Service),
    /// A `v1` PersistentVolumeClaim: a pod's claim on storage.
    PersistentVolumeClaim(PersistentVolumeClaim),
    /// A `v1` PersistentVolume: a piece of storage on the host (cluster-scoped).
    PersistentVolume(PersistentVolume),
    /// A `storage.k8s.io/v1` StorageClass: who provisions the volumes of claims that name it.
    StorageClass(StorageClass),
    /// A `v1` Node pods are scheduled onto (cluster-scoped).
    Node(Node),
    /// A `v1` Namespace (cluster-scoped).
    Namespace(Namespace),
    /// A `v1` ReplicationController: a ReplicaSet with an equality-only selector.
    ReplicationController(ReplicationController),
    /// An `apps/v1` Deployment: ReplicaSets rolled out from a pod template.
    Deployment(Deployment),
    /// An `apps/v1` ReplicaSet: a number of identical pods.
    ReplicaSet(ReplicaSet),
    /// An `apps/v1` StatefulSet: ordered pods with stable names and per-ordinal claims.
    StatefulSet(StatefulSet),
    /// An `apps/v1` DaemonSet: one pod per node.
    DaemonSet(DaemonSet),
    /// A `batch/v1` Job: pods that run to completion.
    Job(Job),
}

/// Calls `$body` with `$o` bound to the inner object of any variant.
macro_rules! each_kind {
    ($res:expr, $o:ident => $body:expr) => {
        match $res {
            Resource::Pod($o) => $body,
            Resource::ConfigMap($o) => $body,
            Resource::Secret($o) => $body,
            Resource::ServiceAccount($o) => $body,
            Resource::Service($o) => $body,
            Resource::PersistentVolumeClaim($o) => $body,
            Resource::PersistentVolume($o) => $body,
            Resource::StorageClass($o) => $body,
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

impl Resource {
    /// The kind, e.g. `Deployment`.
    pub fn kind(&self) -> Kind {
        match self {
            Resource::Pod(_) => Kind::Pod,
            Resource::ConfigMap(_) => Kind::ConfigMap,
            Resource::Secret(_) => Kind::Secret,
            Resource::ServiceAccount(_) => Kind::ServiceAccount,
            Resource::Service(_) => Kind::Service,
            Resource::PersistentVolumeClaim(_) => Kind::PersistentVolumeClaim,
            Resource::PersistentVolume(_) => Kind::PersistentVolume,
            Resource::StorageClass(_) => Kind::StorageClass,
            Resource::Node(_) => Kind::Node,
            Resource::Namespace(_) => Kind::Namespace,
            Resource::ReplicationController(_) => Kind::ReplicationController,
            Resource::Deployment(_) => Kind::Deployment,
            Resource::ReplicaSet(_) => Kind::ReplicaSet,
            Resource::StatefulSet(_) => Kind::StatefulSet,
            Resource::DaemonSet(_) => Kind::DaemonSet,
            Resource::Job(_) => Kind::Job,
        }
    }

    /// The apiVersion this kind is served at (`v1`, `apps/v1`, `batch/v1`).
    pub fn api_version(&self) -> &'static str {
        self.kind().api_version()
    }

    /// Whether objects of this kind live in a namespace.
    pub fn is_namespaced(&self) -> bool {
        self.kind().is_namespaced()
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
            map.insert("kind".into(), self.kind().as_str().into());
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
        assert_eq!(res.id(), ObjectId::new(Kind::Pod, Some("default"), "web"));
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
