//! The Kubernetes object kinds rekon understands (INTERFACE STUB: kinds to be filled in).

use serde::{Deserialize, Serialize};
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

pub mod pod;

/// Any object rekon accepts (STUB: the helper fills in every kind).
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Pod(pod::Pod),
}
