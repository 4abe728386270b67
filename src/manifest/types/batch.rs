//! batch/v1 Job.

use super::meta::{LabelSelector, ObjectMeta};
use super::pod::PodTemplateSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A Job: pods that run to completion.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// API group and version, `batch/v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `Job`.
    #[serde(default)]
    pub kind: String,
    /// Name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The desired state: pod template, completions, parallelism and limits.
    #[serde(default)]
    pub spec: JobSpec,
}

/// `spec` of a Job.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    /// Most pods that may run at once (API default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i32>,
    /// Successful pods the Job needs; if unset, any one pod's success makes the Job succeed
    /// (API default 1 when `parallelism` is unset too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<i32>,
    /// Seconds the Job may be active, from its start, before its pods are stopped and it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// Retries before the Job is marked failed (API default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
    /// Only with `manualSelector: true`; otherwise rekon, like the apiserver, generates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Whether `selector` is chosen by hand rather than generated (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_selector: Option<bool>,
    /// The pods to run; `restartPolicy` must be `OnFailure` or `Never`.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// Seconds after the Job finishes before it is deleted; unset means it is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
    /// `NonIndexed` or `Indexed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_mode: Option<String>,
    /// Whether the Job is suspended: it creates no pods and its running ones are stopped (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    // Kubernetes fields rekon rejects (validation says why).
    /// Retries allowed per index of an `Indexed` Job (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit_per_index: Option<Value>,
    /// Failed indexes after which an `Indexed` Job fails (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failed_indexes: Option<Value>,
    /// Rules acting on pod failures by exit code or pod condition (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_failure_policy: Option<Value>,
    /// Rules under which an `Indexed` Job succeeds early (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_policy: Option<Value>,
    /// When a replacement pod is created: `TerminatingOrFailed` or `Failed` (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_replacement_policy: Option<Value>,
    /// The controller that reconciles the Job (rejected by rekon: its own Job controller manages every Job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<Value>,
}
