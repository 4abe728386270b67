//! v1 Node (a virtual node: a cgroup subtree with capacity) and v1 Namespace.

use super::container::ResourceList;
use super::meta::ObjectMeta;
use super::nullable;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A node pods are scheduled onto.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// API group and version, `v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `Node`.
    #[serde(default)]
    pub kind: String,
    /// Name, labels and annotations (Nodes have no namespace).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Whether the node is cordoned, and fields rekon rejects.
    #[serde(default, skip_serializing_if = "NodeSpec::is_empty")]
    pub spec: NodeSpec,
    /// The resources the node offers pods.
    #[serde(default, skip_serializing_if = "NodeStatus::is_empty")]
    pub status: NodeStatus,
}

/// `spec` of a Node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    /// Whether the node is cordoned: no new pods are scheduled onto it (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<bool>,
    /// Taints that repel pods which do not tolerate them (rekon accepts only an empty list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taints: Option<Value>,
    /// The IP range for the node's pods (rejected by rekon, which assigns pod addresses itself).
    #[serde(default, rename = "podCIDR", skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<Value>,
    /// The IP ranges for the node's pods, one per IP family (rejected by rekon).
    #[serde(default, rename = "podCIDRs", skip_serializing_if = "Option::is_none")]
    pub pod_cidrs: Option<Value>,
    /// The cloud provider's ID of the node (rejected by rekon: its nodes are virtual nodes of this host).
    #[serde(default, rename = "providerID", skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<Value>,
}

impl NodeSpec {
    fn is_empty(&self) -> bool {
        *self == NodeSpec::default()
    }
}

/// The capacity a virtual node offers (`cpu`, `memory`, `pods`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// Total resources of the node; per resource, rekon uses this, else `allocatable`, else the host's size.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: ResourceList,
    /// Resources available to pods, after reservations for the system.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub allocatable: ResourceList,
}

impl NodeStatus {
    fn is_empty(&self) -> bool {
        self.capacity.is_empty() && self.allocatable.is_empty()
    }
}

/// A namespace.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    /// API group and version, `v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `Namespace`.
    #[serde(default)]
    pub kind: String,
    /// Name, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Finalizers; rekon accepts only an empty spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Value>,
}
