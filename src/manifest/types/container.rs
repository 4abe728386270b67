//! v1 Container and the types only containers use (ports, env, resources, mounts, security).

use super::nullable;
use super::probe::{Lifecycle, Probe};
use crate::manifest::Quantity;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A resource list such as `{cpu: 100m, memory: 64Mi}`.
pub type ResourceList = BTreeMap<String, Quantity>;

/// One container of a pod (app, init or sidecar).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Container name, a DNS label unique within the pod.
    #[serde(default)]
    pub name: String,
    /// Image reference, e.g. `nginx:1.25`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Entrypoint, replacing the image's `ENTRYPOINT`; `$(VAR)` references are expanded.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments, replacing the image's `CMD`; `$(VAR)` references are expanded.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Working directory, the image's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Ports the container listens on.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    /// Sources whose keys all become environment variables.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    /// Environment variables; they take precedence over `envFrom`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Resource requests and limits (rekon enforces cpu, memory and ephemeral-storage).
    #[serde(default, skip_serializing_if = "ResourceRequirements::is_empty")]
    pub resources: ResourceRequirements,
    /// Pod volumes mounted into the container's filesystem.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    /// Probe whose failure gets the container restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
    /// Probe that decides whether the container is ready to serve traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    /// Probe that must succeed before the other probes run; its failure restarts the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_probe: Option<Probe>,
    /// The postStart and preStop hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// File whose contents become the container's termination message (API default
    /// `/dev/termination-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_message_path: Option<String>,
    /// `File` or `FallbackToLogsOnError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_message_policy: Option<String>,
    /// `Always`, `IfNotPresent` or `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Security settings for this container, overriding the pod's where both are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    /// Allocate a stdin stream for the container (otherwise reads get EOF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<bool>,
    /// Close stdin after the first attached client detaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_once: Option<bool>,
    /// Allocate a terminal for the container (needs `stdin` too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// Only `Always`, and only on init containers: makes it a native sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    // Kubernetes fields rekon rejects (validation says why).
    /// Raw block devices from volume claims; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_devices: Option<Value>,
    /// How resources are resized in place; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize_policy: Option<Value>,
    /// Per-exit-code restart rules of the container; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy_rules: Option<Value>,
}

impl Container {
    /// The image reference, empty when missing (validation rejects that).
    pub fn image(&self) -> &str {
        self.image.as_deref().unwrap_or("")
    }

    /// Whether this (init) container is a native sidecar (`restartPolicy: Always`).
    pub fn is_sidecar(&self) -> bool {
        self.restart_policy.as_deref() == Some("Always")
    }
}

/// A port a container exposes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    /// Name that probes and Services can refer to the port by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Port number the container listens on, 1 to 65535.
    #[serde(default)]
    pub container_port: i32,
    /// Host port forwarded to the container port; with `hostNetwork` it must equal `containerPort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// Host IP to bind the host port to.
    #[serde(default, rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// `TCP`, `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// One `env` entry: a literal `value` or a `valueFrom` source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    /// Variable name.
    #[serde(default)]
    pub name: String,
    /// Literal value; `$(VAR)` references to variables defined earlier are expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Where to read the value from when `value` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

/// `valueFrom`: exactly one of the four sources.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    /// A pod field, through the downward API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<ObjectFieldSelector>,
    /// A container's resource request or limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_field_ref: Option<ResourceFieldSelector>,
    /// A key of a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeySelector>,
    /// A key of a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeySelector>,
    /// A key of an env file in a volume; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_key_ref: Option<Value>,
}

/// A downward API field such as `metadata.name` or `status.podIP`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectFieldSelector {
    /// Schema version of `fieldPath` (API default `v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Path of the field, e.g. `metadata.name` or `metadata.labels['app']`.
    #[serde(default)]
    pub field_path: String,
}

/// A container resource exposed through the downward API (`limits.cpu`, …).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFieldSelector {
    /// Container to read from; for an env var, the current one when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Resource to read, e.g. `limits.memory`.
    #[serde(default)]
    pub resource: String,
    /// Unit the value is expressed in (API default `1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divisor: Option<Quantity>,
}

/// A key of a ConfigMap or Secret (`configMapKeyRef`, `secretKeyRef`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySelector {
    /// Name of the ConfigMap or Secret, in the pod's namespace.
    #[serde(default)]
    pub name: String,
    /// Key to read.
    #[serde(default)]
    pub key: String,
    /// When `true`, a missing object or key is no error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// An `envFrom` entry: every key of a ConfigMap or Secret, with an optional prefix.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvFromSource {
    /// String prepended to every variable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// ConfigMap whose keys become variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<LocalObjectReference>,
    /// Secret whose keys become variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// A reference to an object in the same namespace, optionally allowed to be missing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// Name of the object.
    #[serde(default)]
    pub name: String,
    /// When `true`, a missing object is no error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `resources`: requests and limits.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirements {
    /// Most of each resource the container may use.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: ResourceList,
    /// Amount of each resource reserved for the container; in a Pod, it defaults to the limit.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: ResourceList,
    /// Dynamic resource claims the container uses; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Value>,
}

impl ResourceRequirements {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty() && self.requests.is_empty() && self.claims.is_none()
    }
}

/// Where a volume appears in a container.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    /// Name of the pod volume to mount.
    #[serde(default)]
    pub name: String,
    /// Absolute path in the container to mount the volume at.
    #[serde(default)]
    pub mount_path: String,
    /// Mount read-only (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Path inside the volume to mount instead of its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// Like `subPath`, with `$(VAR)` expansion; rejected (use `subPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path_expr: Option<Value>,
    /// Whether mounts propagate between host and container; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_propagation: Option<Value>,
    /// Whether a read-only mount is made read-only recursively; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive_read_only: Option<Value>,
}

/// Container-level `securityContext`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    /// UID the container's processes run as, overriding the pod's and the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// GID the container's processes run as, overriding the pod's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    /// Refuse to start the container if it would run as UID 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_non_root: Option<bool>,
    /// Mount the container's root filesystem read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_root_filesystem: Option<bool>,
    /// Whether a process may gain more privileges than its parent (`no_new_privs` when false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_privilege_escalation: Option<bool>,
    /// Run privileged: with all capabilities and access to the host's devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// Capabilities to add to or drop from the default set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// Seccomp profile, overriding the pod's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<super::pod::SeccompProfile>,
    /// SELinux context; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se_linux_options: Option<Value>,
    /// AppArmor profile; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_armor_profile: Option<Value>,
    /// How much of `/proc` is masked; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proc_mount: Option<Value>,
    /// Windows-specific settings; rejected (Linux pods only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_options: Option<Value>,
}

/// Linux capabilities to add and drop (`NET_ADMIN`, `ALL`, …).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// Capabilities granted beyond the default set.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Capabilities removed from the default set (`ALL` removes every one).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}
