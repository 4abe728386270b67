//! Building a [`PodMachine`]'s `PodStatus`: container statuses, phase (sticky once terminal),
//! conditions with their transition times, and `TerminatePod`'s final defaults
//! (pkg/kubelet/status/status_manager.go).

use super::conditions::{self, ConditionInput};
use super::machine::{PodMachine, Sandbox};
use super::phase::{self, PhaseInput};
use super::slot::{Kind, Run, Slot};
use super::{Time, rfc3339};
use crate::runtime::status::{ContainerState, ContainerStatus, PodPhase, PodStatus};

/// `TerminatePod`'s status for a container that never reported a termination.
fn status_unknown(at: Time) -> ContainerState {
    ContainerState::Terminated {
        exit_code: 137,
        reason: "ContainerStatusUnknown".to_string(),
        message: Some("The container could not be located when the pod was terminated".to_string()),
        started_at: None,
        finished_at: rfc3339(at),
    }
}

impl PodMachine {
    /// `ShouldContainerBeRestarted`: an exited container that will be started again, so the
    /// kubelet shows it waiting with the cached reason.
    fn restart_pending(&self, s: &Slot) -> bool {
        self.termination.is_none() && s.run == Run::Exited && self.restart_wanted(s)
    }

    /// The status without condition transition times.
    pub(super) fn build_status(&self, now: Time) -> PodStatus {
        let default_reason = if self.n_init > 0 {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        let convert = |s: &Slot| s.api_status(now, self.restart_pending(s), default_reason);
        let mut init: Vec<ContainerStatus> = self.slots[..self.n_init].iter().map(convert).collect();
        let mut apps: Vec<ContainerStatus> = self.slots[self.n_init..].iter().map(convert).collect();
        if let Some(at) = self.terminal_at {
            self.default_unknown(at, &mut init, &mut apps);
        }
        let sidecar: Vec<bool> = self.slots[..self.n_init]
            .iter()
            .map(|s| s.kind == Kind::Sidecar)
            .collect();
        let phase = self.sticky_phase.unwrap_or_else(|| {
            let computed = phase::get_phase(PhaseInput {
                restart_policy: self.policy,
                sidecar: &sidecar,
                init: &init,
                apps: &apps,
                pod_is_terminal: self.terminal_at.is_some(),
                pod_has_initialized: self.slots[self.n_init..].iter().any(Slot::alive),
            });
            // TerminatePod: a pod that stopped for good is never left Pending or Running.
            match computed {
                PodPhase::Pending | PodPhase::Running if self.terminal_at.is_some() => PodPhase::Failed,
                p => p,
            }
        });
        let conditions = conditions::generate(ConditionInput {
            sidecar: &sidecar,
            init: &init,
            apps: &apps,
            phase,
            sandbox_ready: self.sandbox == Sandbox::Ready,
        });
        PodStatus {
            phase,
            conditions,
            start_time: self.start_time.map(rfc3339),
            init_container_statuses: init,
            container_statuses: apps,
            ..PodStatus::default()
        }
    }

    /// `TerminatePod`: once initialized, an app container that never terminated is reported
    /// as ContainerStatusUnknown/137; so is every init container up to the last one that
    /// tried to start (`initializedContainers`, which keeps at least the first).
    fn default_unknown(&self, at: Time, init: &mut [ContainerStatus], apps: &mut [ContainerStatus]) {
        let not_terminated = |c: &ContainerStatus| !matches!(c.state, ContainerState::Terminated { .. });
        if self.initialized {
            for c in apps.iter_mut().filter(|c| not_terminated(c)) {
                c.state = status_unknown(at);
            }
        }
        let tried = |c: &ContainerStatus| {
            !matches!(c.state, ContainerState::Waiting { .. })
                || matches!(c.last_state, Some(ContainerState::Terminated { .. }))
        };
        let prefix = init.iter().rposition(tried).map_or(init.len().min(1), |i| i + 1);
        for c in init[..prefix].iter_mut().filter(|c| not_terminated(c)) {
            c.state = status_unknown(at);
        }
    }

    /// Records a terminal phase and the conditions' transitions after a change at `now`.
    pub(super) fn refresh(&mut self, now: Time) {
        let status = self.build_status(now);
        if matches!(status.phase, PodPhase::Succeeded | PodPhase::Failed) {
            self.sticky_phase = Some(status.phase);
        }
        for c in status.conditions {
            let changed = self.transitions.get(&c.type_).is_none_or(|(s, _)| *s != c.status);
            if changed {
                self.transitions.insert(c.type_, (c.status, now));
            }
        }
    }
}
