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
    if pending_regular_init > 0 || (pending_sidecars > 0 && !input.pod_has_initialized) || waiting > 0
    {
        return PodPhase::Pending;
    }
    if running > 0 {
        return PodPhase::Running;
    }
    if stopped > 0 {
        if input.pod_is_terminal {
            return if stopped == succeeded { PodPhase::Succeeded } else { PodPhase::Failed };
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
        ContainerState::Waiting { reason: "PodInitializing".into(), message: None }
    }
    fn running() -> ContainerState {
        ContainerState::Running { started_at: String::new() }
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

    #[test]
    fn get_phase_table() {
        use PodPhase::*;
        use RestartPolicy::*;
        let w = || status(waiting(), None, false);
        let r = || status(running(), None, true);
        let x = |c| status(exited(c), None, false);
        let back_off = |c| status(waiting(), Some(c), false);
        // (name, policy, init sidecar flags, init, apps, terminal, initialized, want)
        let table: Vec<(&str, RestartPolicy, Vec<bool>, Vec<ContainerStatus>, Vec<ContainerStatus>, bool, bool, PodPhase)> = vec![
            ("nothing started", Always, vec![], vec![], vec![w()], false, false, Pending),
            ("init running", Always, vec![false], vec![r()], vec![w()], false, false, Pending),
            ("init failed, Never", Never, vec![false], vec![x(1)], vec![w()], false, false, Failed),
            ("init crash-looping, OnFailure", OnFailure, vec![false], vec![back_off(1)], vec![w()], false, false, Pending),
            ("sidecar not started", Always, vec![true], vec![status(running(), None, false)], vec![w()], false, false, Pending),
            ("sidecar restarting after init", Always, vec![true], vec![status(running(), None, false)], vec![r()], false, true, Running),
            ("app running", Always, vec![false], vec![x(0)], vec![r()], false, true, Running),
            ("one app waiting", Always, vec![], vec![], vec![r(), w()], false, true, Pending),
            ("crash-looping app, Always", Always, vec![], vec![], vec![back_off(1)], false, false, Running),
            ("all exited 0, OnFailure", OnFailure, vec![], vec![], vec![x(0)], false, false, Succeeded),
            ("exited 1, OnFailure restarting", OnFailure, vec![], vec![], vec![back_off(1)], false, false, Running),
            ("exited 1, Never", Never, vec![], vec![], vec![x(1), x(0)], false, false, Failed),
            ("exited 0, Always, not terminal", Always, vec![], vec![], vec![x(0)], false, false, Running),
            ("exited 0, Always, terminal", Always, vec![], vec![], vec![x(0)], true, false, Succeeded),
            ("killed, Always, terminal", Always, vec![], vec![], vec![x(143)], true, false, Failed),
            ("sidecar stopped, app done, Never", Never, vec![true], vec![x(143)], vec![x(0)], true, false, Succeeded),
            ("sidecar running, app done, Never", Never, vec![true], vec![r()], vec![x(0)], false, false, Running),
        ];
        for (name, policy, sidecar, init, apps, terminal, initialized, want) in table {
            let input = PhaseInput {
                restart_policy: policy,
                sidecar: &sidecar,
                init: &init,
                apps: &apps,
                pod_is_terminal: terminal,
                pod_has_initialized: initialized,
            };
            assert_eq!(get_phase(input), want, "{name}");
        }
    }
}
