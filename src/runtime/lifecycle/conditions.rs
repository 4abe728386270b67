//! The kubelet-owned pod conditions, as pkg/kubelet/status/generate.go builds them, in the
//! order `generateAPIPodStatus` appends them.

use crate::runtime::status::{ContainerState, ContainerStatus, PodCondition, PodPhase};

/// What the conditions are computed from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConditionInput<'a> {
    /// Per init container: whether it is a sidecar.
    pub sidecar: &'a [bool],
    pub init: &'a [ContainerStatus],
    pub apps: &'a [ContainerStatus],
    pub phase: PodPhase,
    /// The sandbox exists with its network (`PodReadyToStartContainers`).
    pub sandbox_ready: bool,
}

fn condition(type_: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        reason: reason.map(str::to_string),
        message,
        last_transition_time: None,
    }
}

/// Go's `%s` of a `[]string`: `[a b]`.
fn go_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

/// PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled.
pub(crate) fn generate(input: ConditionInput<'_>) -> Vec<PodCondition> {
    let containers_ready = containers_ready(input);
    let mut ready = containers_ready.clone();
    // No readiness gates here, so Ready mirrors ContainersReady.
    ready.type_ = "Ready".to_string();
    vec![
        condition("PodReadyToStartContainers", input.sandbox_ready, None, None),
        initialized(input),
        ready,
        containers_ready,
        condition("PodScheduled", true, None, None),
    ]
}

/// `GeneratePodInitializedCondition`.
fn initialized(input: ConditionInput<'_>) -> PodCondition {
    if input.phase == PodPhase::Succeeded {
        return condition("Initialized", true, Some("PodCompleted"), None);
    }
    // A regular container that has run means the pod was initialized before
    // (`HasAnyRegularContainerStarted`).
    let regular_started = input.apps.iter().any(|s| {
        matches!(
            s.state,
            ContainerState::Running { .. } | ContainerState::Terminated { .. }
        )
    });
    if regular_started {
        return condition("Initialized", true, None, None);
    }
    // `isInitContainerInitialized`: sidecars must be started, regular ones ready (exited 0).
    let incomplete: Vec<&str> = input
        .init
        .iter()
        .zip(input.sidecar)
        .filter(|(s, sidecar)| if **sidecar { !s.started } else { !s.ready })
        .map(|(s, _)| s.name.as_str())
        .collect();
    if incomplete.is_empty() {
        return condition("Initialized", true, None, None);
    }
    let message = format!("containers with incomplete status: {}", go_list(&incomplete));
    condition("Initialized", false, Some("ContainersNotInitialized"), Some(message))
}

/// `GenerateContainersReadyCondition`.
fn containers_ready(input: ConditionInput<'_>) -> PodCondition {
    match input.phase {
        PodPhase::Succeeded => return condition("ContainersReady", false, Some("PodCompleted"), None),
        PodPhase::Failed => return condition("ContainersReady", false, Some("PodFailed"), None),
        _ => {}
    }
    let sidecars = input
        .init
        .iter()
        .zip(input.sidecar)
        .filter(|(_, s)| **s)
        .map(|(c, _)| c);
    let unready: Vec<&str> = sidecars
        .chain(input.apps)
        .filter(|s| !s.ready)
        .map(|s| s.name.as_str())
        .collect();
    if unready.is_empty() {
        return condition("ContainersReady", true, None, None);
    }
    let message = format!("containers with unready status: {}", go_list(&unready));
    condition("ContainersReady", false, Some("ContainersNotReady"), Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, state: ContainerState, ready: bool, started: bool) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            image: "i".into(),
            ready,
            started,
            restart_count: 0,
            state,
            last_state: None,
        }
    }
    fn waiting() -> ContainerState {
        ContainerState::Waiting {
            reason: "PodInitializing".into(),
            message: None,
        }
    }
    fn running() -> ContainerState {
        ContainerState::Running {
            started_at: String::new(),
        }
    }
    fn full(c: &PodCondition) -> (&str, &str, Option<&str>, Option<&str>) {
        (&c.type_, &c.status, c.reason.as_deref(), c.message.as_deref())
    }

    #[test]
    fn initializing_pod_lists_incomplete_and_unready_containers() {
        let init = [
            status("setup", waiting(), false, false),
            status("proxy", waiting(), false, false),
        ];
        let apps = [
            status("web", waiting(), false, false),
            status("log", waiting(), false, false),
        ];
        let input = ConditionInput {
            sidecar: &[false, true],
            init: &init,
            apps: &apps,
            phase: PodPhase::Pending,
            sandbox_ready: true,
        };
        let got = generate(input);
        let got: Vec<_> = got.iter().map(full).collect();
        let incomplete = "containers with incomplete status: [setup proxy]";
        let unready = "containers with unready status: [proxy web log]";
        assert_eq!(
            got,
            vec![
                ("PodReadyToStartContainers", "True", None, None),
                (
                    "Initialized",
                    "False",
                    Some("ContainersNotInitialized"),
                    Some(incomplete)
                ),
                ("Ready", "False", Some("ContainersNotReady"), Some(unready)),
                ("ContainersReady", "False", Some("ContainersNotReady"), Some(unready)),
                ("PodScheduled", "True", None, None),
            ]
        );
    }

    #[test]
    fn running_ready_pod_and_terminal_phases() {
        let init = [status("proxy", running(), true, true)];
        let apps = [status("web", running(), true, true)];
        let mut input = ConditionInput {
            sidecar: &[true],
            init: &init,
            apps: &apps,
            phase: PodPhase::Running,
            sandbox_ready: true,
        };
        let got: Vec<_> = generate(input).iter().map(|c| c.status.clone()).collect();
        assert_eq!(got, vec!["True"; 5]);
        input.phase = PodPhase::Succeeded;
        input.sandbox_ready = false;
        let got = generate(input);
        assert_eq!(full(&got[0]), ("PodReadyToStartContainers", "False", None, None));
        assert_eq!(full(&got[1]), ("Initialized", "True", Some("PodCompleted"), None));
        assert_eq!(full(&got[2]), ("Ready", "False", Some("PodCompleted"), None));
        input.phase = PodPhase::Failed;
        let got = generate(input);
        assert_eq!(full(&got[3]), ("ContainersReady", "False", Some("PodFailed"), None));
    }
}
