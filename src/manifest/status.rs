//! Pod status as the supervisor reports it, shaped like Kubernetes' `PodStatus`
//! (`spec/k8s-semantics.md` §1.4–§1.7).

use serde::{Deserialize, Serialize};

/// `status.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PodPhase {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
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
    #[serde(rename = "type")]
    pub type_: String,
    /// "True", "False" or "Unknown".
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// `state` / `lastState` of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContainerState {
    Waiting {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    // The API's camelCase names; the aliases read status files of supervisors started by a
    // rekon that wrote snake_case.
    Running {
        #[serde(rename = "startedAt", alias = "started_at")]
        started_at: String,
    },
    Terminated {
        #[serde(rename = "exitCode", alias = "exit_code")]
        exit_code: i32,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(
            rename = "startedAt",
            alias = "started_at",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        started_at: Option<String>,
        #[serde(rename = "finishedAt", alias = "finished_at")]
        finished_at: String,
    },
}

/// One entry of `status.containerStatuses` / `initContainerStatuses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: String,
    pub image: String,
    pub ready: bool,
    pub started: bool,
    pub restart_count: u32,
    pub state: ContainerState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_state: Option<ContainerState>,
}

/// The observed status of one pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: PodPhase,
    #[serde(default)]
    pub conditions: Vec<PodCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default)]
    pub init_container_statuses: Vec<ContainerStatus>,
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
