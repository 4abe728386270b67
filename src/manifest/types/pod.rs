//! v1 Pod and its spec (STUB).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PodSpec {
    pub termination_grace_period_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Pod {
    pub metadata: super::ObjectMeta,
    pub spec: PodSpec,
}
