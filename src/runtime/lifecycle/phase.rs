//! `status.phase` from the container statuses, exactly as the kubelet's `getPhase`
//! (pkg/kubelet/kubelet_pods.go) computes it.

use super::spec::RestartPolicy;
use crate::runtime::status::{ContainerState, ContainerStatus, PodPhase};

/// The pod-level facts `getPhase` reads besides the statuses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhaseInput<'a> {
    pub restart_policy: RestartPolicy,
    /// Per init container (same order as `init`): whether it is a sidecar.
    pub sidecar: &'a [bool],
    pub init: &'a [ContainerStatus],
    pub apps: &'a [ContainerStatus],
    /// Every container was stopped for good (pod finished or deleted).
    pub pod_is_terminal: bool,
    /// A regular container is running (`HasAnyActiveRegularContainerStarted`).
    pub pod_has_initialized: bool,
}

fn last_terminated_code(s: &ContainerStatus) -> Option<i32> {
    match s.last_state {
        Some(ContainerState::Terminated { exit_code, .. }) => Some(exit_code),
        _ => None,
    }
}

/// `getPhase`. Statuses are complete (one per spec container), so upstream's `unknown`
/// counter never moves here.
pub(crate) fn get_phase(input: PhaseInput<'_>) -> PodPhase {
    let mut pending_regular_init = 0;
    let mut pending_sidecars = 0;
    let mut failed_initialization = 0;
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);

    for (s, &sidecar) in input.init.iter().zip(input.sidecar) {
        match (&s.state, sidecar) {
            (ContainerState::Running { .. }, false) => pending_regular_init += 1,
            (ContainerState::Terminated { exit_code, .. }, false) => {
                if *exit_code != 0 {
                    failed_initialization += 1;
                }
            }
            (ContainerState::Waiting { .. }, false) => match last_terminated_code(s) {
                Some(code) if code != 0 => failed_initialization += 1,
                Some(_) => {}
                None => pending_regular_init += 1,
            },
            (ContainerState::Running { .. }, true) => {
                if !s.started {
                    pending_sidecars += 1;
                }
                running += 1;
            }
            // Terminated sidecars do not count toward the phase.
            (ContainerState::Terminated { .. }, true) => {}
            (ContainerState::Waiting { .. }, true) => {
                if last_terminated_code(s).is_none() {
                    pending_sidecars += 1;
                    waiting += 1;
                }
            }
        }
    }

    for s in input.apps {
        match &s.state {
            ContainerState::Running { .. } => running += 1,
            ContainerState::Terminated { exit_code, .. } => {
                stopped += 1;
                if *exit_code == 0 {
                    succeeded += 1;
                }
            }
            ContainerState::Waiting { .. } => {
                if last_terminated_code(s).is_some() {
                    stopped += 1;
                } else {
                    waiting += 1;
                }
            }
        }
    }

    if failed_initialization > 0 && input.restart_policy == RestartPolicy::Never {
        return PodPhase::Failed;
    }
    if pending_regular_init > 0 || (pending_sidecars > 0 && !input.pod_has_initialized) || waiting > 0 {
        return PodPhase::Pending;
    }
    if running > 0 {
        return PodPhase::Running;
    }
    if stopped > 0 {
        if input.pod_is_terminal {
            return if stopped == succeeded {
                PodPhase::Succeeded
            } else {
                PodPhase::Failed
            };
        }
        return match input.restart_policy {
            RestartPolicy::Always => PodPhase::Running,
            _ if stopped == succeeded => PodPhase::Succeeded,
            RestartPolicy::Never => PodPhase::Failed,
            RestartPolicy::OnFailure => PodPhase::Running,
        };
    }
    PodPhase::Pending
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: ContainerState, last_exit: Option<i32>, started: bool) -> ContainerStatus {
        let term = |exit_code| ContainerState::Terminated {
            exit_code,
            reason: String::new(),
            message: None,
            started_at: None,
            finished_at: String::new(),
        };
        ContainerStatus {
            name: "c".into(),
            image: "i".into(),
            ready: false,
            started,
            restart_count: 0,
            state,
            last_state: last_exit.map(term),
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
    fn exited(code: i32) -> ContainerState {
        ContainerState::Terminated {
            exit_code: code,
            reason: String::new(),
            message: None,
            started_at: None,
            finished_at: String::new(),
        }
    }

    /// Checks one row: init containers as (is sidecar, status).
    #[allow(clippy::too_many_arguments)]
    fn check(
        name: &str,
        policy: RestartPolicy,
        init: &[(bool, ContainerStatus)],
        apps: &[ContainerStatus],
        terminal: bool,
        initialized: bool,
        want: PodPhase,
    ) {
        let sidecar: Vec<bool> = init.iter().map(|(s, _)| *s).collect();
        let init: Vec<ContainerStatus> = init.iter().map(|(_, c)| c.clone()).collect();
        let input = PhaseInput {
            restart_policy: policy,
            sidecar: &sidecar,
            init: &init,
            apps,
            pod_is_terminal: terminal,
            pod_has_initialized: initialized,
        };
        assert_eq!(get_phase(input), want, "{name}");
    }

    #[test]
    fn get_phase_table() {
        use PodPhase::*;
        use RestartPolicy::*;
        let w = || status(waiting(), None, false);
        let r = || status(running(), None, true);
        let x = |c| status(exited(c), None, false);
        let back_off = |c| status(waiting(), Some(c), false);
        let unstarted = || status(running(), None, false);
        // name, policy, init (sidecar, status), apps, pod is terminal, pod has initialized, phase
        check("nothing started", Always, &[], &[w()], false, false, Pending);
        check("init running", Always, &[(false, r())], &[w()], false, false, Pending);
        check(
            "init failed, Never",
            Never,
            &[(false, x(1))],
            &[w()],
            false,
            false,
            Failed,
        );
        check(
            "init crash-looping",
            OnFailure,
            &[(false, back_off(1))],
            &[w()],
            false,
            false,
            Pending,
        );
        check(
            "sidecar not started",
            Always,
            &[(true, unstarted())],
            &[w()],
            false,
            false,
            Pending,
        );
        check(
            "sidecar restarting late",
            Always,
            &[(true, unstarted())],
            &[r()],
            false,
            true,
            Running,
        );
        check("app running", Always, &[(false, x(0))], &[r()], false, true, Running);
        check("one app waiting", Always, &[], &[r(), w()], false, true, Pending);
        check(
            "crash-looping, Always",
            Always,
            &[],
            &[back_off(1)],
            false,
            false,
            Running,
        );
        check(
            "all exited 0, OnFailure",
            OnFailure,
            &[],
            &[x(0)],
            false,
            false,
            Succeeded,
        );
        check(
            "exited 1, OnFailure",
            OnFailure,
            &[],
            &[back_off(1)],
            false,
            false,
            Running,
        );
        check("exited 1, Never", Never, &[], &[x(1), x(0)], false, false, Failed);
        check("exited 0, Always", Always, &[], &[x(0)], false, false, Running);
        check(
            "exited 0, Always, terminal",
            Always,
            &[],
            &[x(0)],
            true,
            false,
            Succeeded,
        );
        check("killed, Always, terminal", Always, &[], &[x(143)], true, false, Failed);
        check(
            "sidecar stopped, Never",
            Never,
            &[(true, x(143))],
            &[x(0)],
            true,
            false,
            Succeeded,
        );
        check(
            "sidecar running, Never",
            Never,
            &[(true, r())],
            &[x(0)],
            false,
            false,
            Running,
        );
    }
}
