//! v1 Pod and its spec (STUB).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PodSpec {}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Pod {}
