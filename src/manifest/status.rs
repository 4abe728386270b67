//! Pod status as the supervisor reports it, shaped like Kubernetes' `PodStatus`
//! (`spec/k8s-semantics.md` §1.4–§1.7).

use serde::{Deserialize, Serialize};

/// `status.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PodPhase {
    /// Accepted, but not every container has been started yet (images, init containers).
    #[default]
    Pending,
    /// All containers have been created and at least one is running, starting or restarting.
    Running,
    /// All containers have exited successfully and will not be restarted.
    Succeeded,
    /// All containers have exited and at least one of them failed.
    Failed,
    /// The pod's state cannot be known, e.g. its supervisor died without finishing.
    Unknown,
}

impl std::fmt::Display for PodPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// One entry of `status.conditions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodCondition {
    /// `type`: the condition's name (`PodScheduled`, `Initialized`, `ContainersReady`, `Ready`).
    #[serde(rename = "type")]
    pub type_: String,
    /// "True", "False" or "Unknown".
    pub status: String,
    /// A CamelCase word for why the condition last changed, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable account of the last change, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// `state` / `lastState` of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContainerState {
    /// Not running yet, or between restarts.
    Waiting {
        /// Why it is waiting (`ContainerCreating`, `ErrImagePull`, `CrashLoopBackOff`, ...).
        reason: String,
        /// Details of the reason, when there are any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    // The API's camelCase names; the aliases read status files of supervisors started by a
    // rekon that wrote snake_case.
    /// Running.
    Running {
        /// When the container (last) started (RFC 3339).
        #[serde(rename = "startedAt", alias = "started_at")]
        started_at: String,
    },
    /// Ran and exited.
    Terminated {
        /// The process's exit code (128 + the signal number when killed by a signal).
        #[serde(rename = "exitCode", alias = "exit_code")]
        exit_code: i32,
        /// Why it ended (`Completed`, `Error`, `OOMKilled`, ...).
        reason: String,
        /// Details of the reason, when there are any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// When the container started (RFC 3339), when it did start.
        #[serde(
            rename = "startedAt",
            alias = "started_at",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        started_at: Option<String>,
        /// When the container exited (RFC 3339).
        #[serde(rename = "finishedAt", alias = "finished_at")]
        finished_at: String,
    },
}

/// One entry of `status.containerStatuses` / `initContainerStatuses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    /// The container's name, as in the pod spec.
    pub name: String,
    /// The image the container runs, as in the pod spec.
    pub image: String,
    /// Whether the container is ready: running and passing its readiness probe, or, for an
    /// init container, exited with code 0.
    pub ready: bool,
    /// Whether the container has started and passed its startup probe, if it has one.
    pub started: bool,
    /// How many times the container has been restarted.
    pub restart_count: u32,
    /// The container's current state.
    pub state: ContainerState,
    /// The state of the container's previous instance, usually its termination, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_state: Option<ContainerState>,
}

/// The observed status of one pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    /// Where the pod is in its lifecycle.
    pub phase: PodPhase,
    /// The pod's conditions (`Ready` and the others).
    #[serde(default)]
    pub conditions: Vec<PodCondition>,
    /// A CamelCase word for why the pod is in its phase, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable account of the pod's state, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The pod's IP address, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    /// The pod's QoS class (`Guaranteed`, `Burstable` or `BestEffort`), once computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_class: Option<String>,
    /// When the pod was started on the node (RFC 3339), once it has been.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// The init containers' statuses, in spec order.
    #[serde(default)]
    pub init_container_statuses: Vec<ContainerStatus>,
    /// The app containers' statuses, in spec order.
    #[serde(default)]
    pub container_statuses: Vec<ContainerStatus>,
}

impl PodStatus {
    /// Whether the `Ready` condition is True.
    pub fn is_ready(&self) -> bool {
        self.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
    }

    /// Sum of restart counts over app containers, as kubectl's RESTARTS column.
    pub fn restarts(&self) -> u32 {
        self.container_statuses.iter().map(|c| c.restart_count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::ContainerState;

    #[test]
    fn container_states_use_the_api_names_and_read_the_old_ones() {
        let t = ContainerState::Terminated {
            exit_code: 1,
            reason: "Error".into(),
            message: None,
            started_at: Some("a".into()),
            finished_at: "b".into(),
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "a", "finishedAt": "b"}})
        );
        let old = serde_json::json!({"terminated": {"exit_code": 1, "reason": "Error", "started_at": "a", "finished_at": "b"}});
        assert_eq!(serde_json::from_value::<ContainerState>(old).unwrap(), t);
    }
}
