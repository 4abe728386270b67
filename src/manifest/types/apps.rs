//! apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet, and v1 ReplicationController.

use super::meta::{LabelSelector, ObjectMeta};
use super::nullable;
use super::pod::PodTemplateSpec;
use super::storage::PersistentVolumeClaim;
use crate::manifest::IntOrString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A Deployment: ReplicaSets rolled out from a pod template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// API group and version, `apps/v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `Deployment`.
    #[serde(default)]
    pub kind: String,
    /// Name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The desired state: replicas, selector, pod template and rollout strategy.
    #[serde(default)]
    pub spec: DeploymentSpec,
}

/// `spec` of a Deployment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    /// Desired number of pods (API default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Label selector of the pods the Deployment manages; must match the template's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// The pods to create.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// How old pods are replaced by new ones (API default `RollingUpdate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<DeploymentStrategy>,
    /// How long, in seconds, a new pod must stay ready before it counts as available (API default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Old ReplicaSets kept to allow a rollback (API default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// Whether the Deployment is paused: template changes start no rollout (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Seconds a rollout may go without progress before it is reported as failed (API default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
}

/// `strategy`: `RollingUpdate` (with parameters) or `Recreate`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStrategy {
    /// `RollingUpdate` (the API default) or `Recreate`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Parameters of a `RollingUpdate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdate>,
}

/// `maxUnavailable` / `maxSurge` of a Deployment or DaemonSet rolling update.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdate {
    /// Pods that may be unavailable during the update, a number or a percentage
    /// (API default 25% for a Deployment, 1 for a DaemonSet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Pods the update may create above the desired count, a number or a percentage
    /// (API default 25% for a Deployment, 0 for a DaemonSet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
}

/// A ReplicaSet: a number of identical pods.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSet {
    /// API group and version, `apps/v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `ReplicaSet`.
    #[serde(default)]
    pub kind: String,
    /// Name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The desired state: replicas, selector and pod template.
    #[serde(default)]
    pub spec: ReplicaSetSpec,
}

/// `spec` of a ReplicaSet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetSpec {
    /// Desired number of pods (API default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// How long, in seconds, a new pod must stay ready before it counts as available (API default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Label selector of the pods the ReplicaSet owns; must match the template's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// The pods to create when too few match the selector.
    #[serde(default)]
    pub template: PodTemplateSpec,
}

/// The v1 ReplicationController: a ReplicaSet with an equality-only selector.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationController {
    /// API group and version, `v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `ReplicationController`.
    #[serde(default)]
    pub kind: String,
    /// Name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The desired state: replicas, selector and pod template.
    #[serde(default)]
    pub spec: ReplicationControllerSpec,
}

/// `spec` of a ReplicationController.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationControllerSpec {
    /// Desired number of pods (API default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// How long, in seconds, a new pod must stay ready before it counts as available (API default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Labels a pod must carry to be counted; empty means the template's labels (the API default).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    /// The pods to create when too few match the selector.
    #[serde(default)]
    pub template: PodTemplateSpec,
}

/// A StatefulSet: ordered pods with stable names and per-ordinal claims.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSet {
    /// API group and version, `apps/v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `StatefulSet`.
    #[serde(default)]
    pub kind: String,
    /// Name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The desired state: replicas, pod template, claim templates and update strategy.
    #[serde(default)]
    pub spec: StatefulSetSpec,
}

/// `spec` of a StatefulSet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetSpec {
    /// Desired number of pods (API default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Label selector of the pods the StatefulSet owns; must match the template's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// The pods to create, one per ordinal.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// Templates of claims made for each pod, named `<template>-<pod>` and mounted by the volume of the same name.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<PersistentVolumeClaim>,
    /// The governing (usually headless) Service that gives the pods their DNS names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// `OrderedReady` or `Parallel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_management_policy: Option<String>,
    /// How pods are replaced when the template changes (API default `RollingUpdate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<StatefulSetUpdateStrategy>,
    /// Old revisions (ControllerRevisions) kept to allow a rollback (API default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// How long, in seconds, a new pod must stay ready before it counts as available (API default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Whether claims made from `volumeClaimTemplates` are kept or deleted (API default `Retain` for both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim_retention_policy: Option<PvcRetentionPolicy>,
    /// The number the first ordinal starts at (rejected by rekon: ordinals start at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordinals: Option<Value>,
}

/// `updateStrategy` of a StatefulSet: `RollingUpdate` (with a partition) or `OnDelete`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetUpdateStrategy {
    /// `RollingUpdate` (the API default) or `OnDelete`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Parameters of a `RollingUpdate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<StatefulSetRollingUpdate>,
}

/// `rollingUpdate` of a StatefulSet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetRollingUpdate {
    /// Only pods with an ordinal at least this high are updated (API default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// Pods that may be unavailable during the update (rejected by rekon: pods are updated one at a time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<Value>,
}

/// What happens to claims when the StatefulSet is deleted or scaled down.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcRetentionPolicy {
    /// `Retain` or `Delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_deleted: Option<String>,
    /// `Retain` or `Delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_scaled: Option<String>,
}

/// A DaemonSet: one pod per node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonSet {
    /// API group and version, `apps/v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `DaemonSet`.
    #[serde(default)]
    pub kind: String,
    /// Name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The desired state: selector, pod template and update strategy.
    #[serde(default)]
    pub spec: DaemonSetSpec,
}

/// `spec` of a DaemonSet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetSpec {
    /// Label selector of the pods the DaemonSet owns; must match the template's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// The pod to run on each node.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// How pods are replaced when the template changes (API default `RollingUpdate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<DaemonSetUpdateStrategy>,
    /// How long, in seconds, a new pod must stay ready before it counts as available (API default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Old revisions (ControllerRevisions) kept to allow a rollback (API default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
}

/// `updateStrategy` of a DaemonSet: `RollingUpdate` or `OnDelete`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetUpdateStrategy {
    /// `RollingUpdate` (the API default) or `OnDelete`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Parameters of a `RollingUpdate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdate>,
}
