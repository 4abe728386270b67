//! The Kubernetes object kinds rekon understands (TEMPORARY STUB until the types branch lands).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub mod pod;

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
        ObjectId { kind: kind.to_string(), namespace: namespace.map(str::to_string), name: name.to_string() }
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

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Any object rekon accepts (STUB).
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Pod(pod::Pod),
}

impl Resource {
    pub fn kind(&self) -> &'static str {
        "Pod"
    }
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Resource::Pod(p) => &p.metadata,
        }
    }
    pub fn id(&self) -> ObjectId {
        ObjectId::new(self.kind(), self.metadata().namespace.as_deref(), &self.metadata().name)
    }
    pub fn is_namespaced(&self) -> bool {
        true
    }
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Resource::Pod(p) => serde_json::to_value(p).unwrap(),
        }
    }
    pub fn pod_spec(&self) -> Option<&pod::PodSpec> {
        match self {
            Resource::Pod(p) => Some(&p.spec),
        }
    }
}
