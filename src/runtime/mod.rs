//! The runtime boundary: everything that touches the kernel is reached through [`Runtime`].
//!
//! `apply` only sees this trait and its domain types; the Linux implementation lives in
//! `linux/`, and [`fake::FakeRuntime`] backs the plan/apply tests.

pub mod exec;
pub mod fake;
pub mod host;
pub mod image;
pub mod lifecycle;
pub mod linux;
pub mod linux_runtime;
pub mod logs;
pub mod podspec;
pub mod probe;
pub mod status;
pub mod supervisor;

use crate::manifest::types::pod::PodSpec;
use std::collections::BTreeMap;
use std::time::Duration;

pub use status::PodStatus;

/// Everything the runtime needs to start one pod.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PodRequest {
    /// Unique id chosen by apply before the pod is created; creating the same uid twice is
    /// idempotent, which is what makes a crash between "create" and "save state" safe.
    pub uid: String,
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name in its namespace.
    pub name: String,
    /// The node the scheduler placed the pod on.
    pub node: String,
    /// The pod's `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// The pod's `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// The pod's spec, defaulted and validated.
    pub spec: PodSpec,
    /// The ConfigMaps, Secrets and metadata its env and config volumes read, when it has any
    /// (`podspec::data::needs_data`). Never serialized: Secret values stay off the disk.
    #[serde(skip)]
    pub data: Option<podspec::data::PodData>,
    /// Where each persistentVolumeClaim volume is on the host, by volume name (the
    /// directory of the claim's bound volume), filled in by apply.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, ClaimMount>,
}

/// The host directory of a pod's claim volume.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClaimMount {
    /// The bound volume's directory.
    pub path: std::path::PathBuf,
    /// Make the directory when it is missing (a hostPath volume of type "" or
    /// DirectoryOrCreate).
    #[serde(default)]
    pub create: bool,
    /// `persistentVolumeClaim.readOnly`.
    #[serde(default)]
    pub read_only: bool,
}

/// Errors of a runtime operation.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The Linux runtime was asked to change pods without running as root.
    #[error(
        "the Linux runtime needs root to create namespaces and cgroups (running as uid {uid}); run rekon as root, or use `rekon plan` which needs no privileges"
    )]
    NotRoot {
        /// The effective uid rekon runs as.
        uid: u32,
    },
    /// Starting or removing one pod failed (its supervisor did not start, its cgroup stayed).
    #[error("pod {uid} failed: {message}")]
    Pod {
        /// Uid of the pod.
        uid: String,
        /// What went wrong.
        message: String,
    },
    /// A failure injected by a test into the fake runtime.
    #[error("injected failure: {0}")]
    Injected(String),
    /// A file or system operation of the runtime itself failed.
    #[error("{context}")]
    Io {
        /// What was attempted.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A place pods run. Implementations must be idempotent by pod uid.
pub trait Runtime {
    /// Starts the pod, or does nothing when a pod with this uid already exists.
    fn create_pod(&mut self, pod: &PodRequest) -> Result<(), RuntimeError>;
    /// Starts stopping the pod gracefully (preStop, SIGTERM, the grace period, SIGKILL) and
    /// returns at once, as the API server's delete does: the pod is Terminating until
    /// [`Runtime::reap_pod`] finds it gone. Idempotent: a second call changes nothing.
    fn terminate_pod(&mut self, uid: &str, grace: Duration) -> Result<(), RuntimeError>;
    /// Finishes the termination of a pod: `Ok(true)` once its processes have ended and
    /// everything it held is removed (or it never existed), `Ok(false)` while it is still
    /// stopping. A pod that outlives its grace period by a margin is killed.
    fn reap_pod(&mut self, uid: &str) -> Result<bool, RuntimeError>;
    /// The pod's current status, or None when the runtime has no such pod.
    fn pod_status(&mut self, uid: &str) -> Result<Option<PodStatus>, RuntimeError>;
    /// Uids of every pod the runtime holds.
    fn list_pods(&mut self) -> Result<Vec<String>, RuntimeError>;
    /// The events the pod's kubelet recorded (JSON lines in the shape of the state's event
    /// log), oldest first, so they can be kept once the pod and its directory are gone.
    fn pod_events(&mut self, uid: &str) -> Vec<String> {
        let _ = uid;
        Vec::new()
    }
    /// Waits up to `timeout` for a pod's status to change, so that the caller looks again
    /// as soon as it does; returns false at once when the runtime cannot tell (the caller
    /// then sleeps on its own clock).
    fn wait_for_change(&mut self, timeout: Duration) -> bool {
        let _ = timeout;
        false
    }
    /// Whether pods can be created and deleted at all (the Linux runtime needs root), checked
    /// before a plan that touches pods runs, so nothing is half-applied.
    fn check_can_modify(&self) -> Result<(), RuntimeError> {
        Ok(())
    }
    /// Creates or updates the node's cgroup so that its capacity is enforced as limits on
    /// all its pods together. Idempotent; pods may be created on a node never configured
    /// (it then has no limits).
    fn configure_node(&mut self, node: &NodeConfig) -> Result<(), RuntimeError>;
    /// Removes the node's cgroup; its pods must have been deleted first.
    fn remove_node(&mut self, name: &str) -> Result<(), RuntimeError>;
    /// Hands a running pod new config data (`pod.data`: its ConfigMaps, Secrets, labels and
    /// annotations as git has them now); its config volumes change through one `..data`
    /// swap each, and a container waiting for a missing object retries at once. Returns
    /// whether anything changed. A pod without config data, or one that is gone or
    /// terminating, is left alone.
    fn update_pod_data(&mut self, pod: &PodRequest) -> Result<bool, RuntimeError> {
        let _ = pod;
        Ok(false)
    }
}

/// How often [`delete_pods`] looks whether terminating pods are gone.
const REAP_POLL: Duration = Duration::from_millis(20);

/// Terminates every pod of `pods` (uid, grace period) at once and waits until all are gone:
/// the pods stop in parallel, so the whole takes about the longest grace period, not the sum.
/// For the callers that must not go on while a pod still runs (`down`, `delete`, a replace).
pub fn delete_pods(runtime: &mut dyn Runtime, pods: &[(String, Duration)]) -> Result<(), RuntimeError> {
    for (uid, grace) in pods {
        runtime.terminate_pod(uid, *grace)?;
    }
    let mut left: Vec<&String> = pods.iter().map(|(uid, _)| uid).collect();
    while !left.is_empty() {
        let mut still = Vec::new();
        for uid in left {
            if !runtime.reap_pod(uid)? {
                still.push(uid);
            }
        }
        left = still;
        if !left.is_empty() {
            std::thread::sleep(REAP_POLL);
        }
    }
    Ok(())
}

/// A node's capacity as the runtime enforces it (`status.capacity` of a Node; `None`: no
/// limit).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeConfig {
    /// The Node's name.
    pub name: String,
    /// CPU in millicores.
    pub cpu_millis: Option<i64>,
    /// Memory in bytes.
    pub memory_bytes: Option<i64>,
    /// The `pods` capacity is a scheduling limit, not a cgroup one; kept for describe.
    pub pods: Option<i64>,
}
