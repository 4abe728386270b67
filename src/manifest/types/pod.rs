//! v1 Pod, its spec and the pod template that controllers stamp pods from.

use super::container::Container;
use super::meta::ObjectMeta;
use super::nullable;
use super::volume::Volume;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A bare Pod.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    /// API version of the object, `v1`.
    #[serde(default)]
    pub api_version: String,
    /// Object kind, `Pod`.
    #[serde(default)]
    pub kind: String,
    /// Object metadata: name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Containers, volumes and settings the pod should run with.
    #[serde(default)]
    pub spec: PodSpec,
}

/// The template a controller creates pods from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateSpec {
    /// Labels and annotations given to every pod created from the template.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec of every pod created from the template.
    #[serde(default)]
    pub spec: PodSpec,
}

/// What a pod runs and how.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// Containers run in order, each to completion, before the app containers start; sidecars
    /// (`restartPolicy: Always`) keep running.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    /// App containers, run side by side; at least one is required.
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<Container>,
    /// Volumes the containers can mount, by name.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// `Always`, `OnFailure` or `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    /// Seconds the kubelet waits after SIGTERM before SIGKILL (API default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// Seconds after the pod starts at which it is marked failed and its containers killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// `ClusterFirst`, `ClusterFirstWithHostNet`, `Default` or `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_policy: Option<String>,
    /// Extra resolver settings merged with those from `dnsPolicy` (required when it is `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<PodDnsConfig>,
    /// Labels a node must have for the pod to be placed on it.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Name of the service account the pod runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Deprecated alias of `serviceAccountName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Whether the service account's API token is mounted into the containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// Node the pod runs on; when set in a manifest, the scheduler is bypassed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Use the host's network namespace instead of one for the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    /// Use the host's PID namespace.
    #[serde(default, rename = "hostPID", skip_serializing_if = "Option::is_none")]
    pub host_pid: Option<bool>,
    /// Use the host's IPC namespace.
    #[serde(default, rename = "hostIPC", skip_serializing_if = "Option::is_none")]
    pub host_ipc: Option<bool>,
    /// Put all containers of the pod in one PID namespace (not together with `hostPID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_process_namespace: Option<bool>,
    /// Pod-wide security settings; a container's `securityContext` takes precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    /// References to Secrets holding registry credentials for pulling the images.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<Value>,
    /// Host name of the pod, the pod name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// With `hostname`, gives the pod the FQDN `<hostname>.<subdomain>.<namespace>.svc.<cluster-domain>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    /// Make the kernel host name the pod's FQDN instead of its short name; only `false` is supported.
    #[serde(default, rename = "setHostnameAsFQDN", skip_serializing_if = "Option::is_none")]
    pub set_hostname_as_fqdn: Option<bool>,
    /// Scheduler that places the pod (API default `default-scheduler`, the only one rekon has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
    /// Node taints the pod tolerates; only the control-plane taints are accepted (as no-ops).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Extra entries for the pod's `/etc/hosts`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub host_aliases: Vec<HostAlias>,
    /// Name of the PriorityClass that gives the pod its priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Numeric priority, filled in from `priorityClassName` by the cluster; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Whether variables describing the namespace's Services are put in the containers'
    /// environment (API default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_service_links: Option<bool>,
    // Kubernetes fields rekon rejects (validation says why).
    /// Node and pod (anti-)affinity rules for scheduling; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Value>,
    /// How pods are spread across topology domains; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread_constraints: Option<Value>,
    /// Debugging containers added to a running pod; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_containers: Option<Value>,
    /// RuntimeClass selecting a container runtime configuration; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_class_name: Option<Value>,
    /// Extra pod conditions required for readiness; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_gates: Option<Value>,
    /// Whether the pod may preempt lower-priority pods; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemption_policy: Option<Value>,
    /// Resources the runtime itself uses per pod, set from the RuntimeClass; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead: Option<Value>,
    /// Operating system the pod needs; only `linux` is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Value>,
    /// Whether the pod uses the host's user namespace (`false` gives it its own); rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_users: Option<Value>,
    /// Dynamic resource allocation claims; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_claims: Option<Value>,
    /// Gates that keep the pod from being scheduled until removed; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_gates: Option<Value>,
    /// Pod-level requests and limits; rejected (set them per container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
}

impl PodSpec {
    /// Init containers then app containers, in spec order.
    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.init_containers.iter().chain(self.containers.iter())
    }
}

/// `dnsConfig`: extra nameservers, searches and options for the pod's resolv.conf.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDnsConfig {
    /// DNS server IPs to add.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    /// DNS search domains to add.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub searches: Vec<String>,
    /// resolv.conf options to add or override.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<PodDnsConfigOption>,
}

/// One resolv.conf option (`ndots: "2"`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDnsConfigOption {
    /// Option name, e.g. `ndots`.
    #[serde(default)]
    pub name: String,
    /// Option value, for options that take one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Pod-level `securityContext`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    /// UID container processes run as unless a container sets its own (default: the image's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// GID container processes run as unless a container sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    /// Refuse to start a container that would run as UID 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_non_root: Option<bool>,
    /// Supplemental GID of every container's processes; volumes that support it are made
    /// group-owned by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<i64>,
    /// Extra GIDs for the first process of every container, besides its primary group.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub supplemental_groups: Vec<i64>,
    /// Seccomp profile of every container that does not set its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<SeccompProfile>,
    /// When volume ownership is changed to `fsGroup`; rejected (rekon always changes it recursively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group_change_policy: Option<Value>,
    /// Namespaced kernel parameters to set for the pod; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctls: Option<Value>,
    /// SELinux context of every container; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se_linux_options: Option<Value>,
    /// How SELinux labels are applied to volumes; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se_linux_change_policy: Option<Value>,
    /// AppArmor profile of every container; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_armor_profile: Option<Value>,
    /// How the supplemental groups of the first process are computed; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplemental_groups_policy: Option<Value>,
    /// Windows-specific settings; rejected (Linux pods only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_options: Option<Value>,
}

/// `seccompProfile`: `RuntimeDefault`, `Unconfined` or `Localhost` (+ `localhostProfile`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompProfile {
    /// Profile kind: `RuntimeDefault`, `Unconfined` or `Localhost` (not supported by rekon).
    #[serde(default, rename = "type")]
    pub type_: String,
    /// Profile file relative to the kubelet's seccomp directory; only with `Localhost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localhost_profile: Option<String>,
}

/// A toleration of a node taint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    /// Taint key tolerated; empty with `Exists` tolerates every taint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `Equal` (API default) or `Exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Taint value to match with `Equal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Taint effect to match (`NoSchedule`, `PreferNoSchedule` or `NoExecute`); all when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    /// For `NoExecute`: seconds the pod stays bound after the taint appears (forever when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

/// An extra `/etc/hosts` line.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostAlias {
    /// IP address of the entry.
    #[serde(default)]
    pub ip: String,
    /// Host names that resolve to `ip`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
}
