//! One sync of a [`PodMachine`]: which container to start next (`computePodActions` and
//! `SyncPod` in pkg/kubelet/kuberuntime/kuberuntime_manager.go), restart backoff, when the pod
//! is finished, and driving the kills of a shutdown in `terminationOrdering`.

use super::Time;
use super::backoff::go_duration;
use super::event::Action;
use super::kill::{Kill, whole_secs};
use super::machine::{PodMachine, Termination};
use super::slot::{Cached, Kind, RESYNC_AFTER_ERROR, Run, Slot};
use super::spec::RestartPolicy;

/// Lowers `wake` to `at`.
pub(super) fn wake_at(wake: &mut Option<Time>, at: Time) {
    if wake.is_none_or(|w| at < w) {
        *wake = Some(at);
    }
}

impl PodMachine {
    /// Starts what should run. Only one start is in flight at a time: `SyncPod` starts
    /// containers one after another and runs each postStart hook synchronously.
    pub(super) fn sync(&mut self, now: Time, out: &mut Vec<Action>, wake: &mut Option<Time>) {
        let mut in_flight = self
            .slots
            .iter()
            .any(|s| matches!(s.run, Run::Starting | Run::PostStart { .. }));
        if !self.initialized {
            for i in 0..self.n_init {
                let s = &self.slots[i];
                let sidecar = s.kind == Kind::Sidecar;
                let exit_code = s.latest.as_ref().map(|t| t.exit_code);
                match s.run {
                    Run::Starting | Run::PostStart { .. } => return,
                    // The next init container starts once a sidecar has started.
                    Run::Running { .. } if sidecar && s.started() => continue,
                    Run::Running { .. } => return,
                    Run::Exited if !sidecar && exit_code == Some(0) => continue,
                    Run::Exited if !sidecar && self.policy == RestartPolicy::Never => {
                        self.init_failed = true;
                        return;
                    }
                    Run::Idle | Run::Exited => {
                        self.try_start(i, now, &mut in_flight, out, wake);
                        return;
                    }
                }
            }
            self.initialized = true;
        }
        // After initialization: sidecars restart whenever they exit, app containers per policy.
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            let wanted = match s.run {
                Run::Idle => s.kind != Kind::Init,
                Run::Exited => s.kind != Kind::Init && self.restart_wanted(s),
                _ => false,
            };
            if wanted {
                self.try_start(i, now, &mut in_flight, out, wake);
            }
        }
    }

    /// `ShouldContainerBeRestarted` for an exited container of a pod that is not terminating.
    /// Regular init containers under `Always` behave as `OnFailure`; sidecars always restart.
    pub(super) fn restart_wanted(&self, s: &Slot) -> bool {
        let failed = s.latest.as_ref().is_some_and(|t| t.exit_code != 0);
        match (s.kind, self.policy) {
            (Kind::Sidecar, _) => true,
            (_, RestartPolicy::Never) => false,
            (Kind::Init, _) => failed,
            (Kind::App, RestartPolicy::Always) => true,
            (Kind::App, RestartPolicy::OnFailure) => failed || s.force_restart,
        }
    }

    /// Starts container `i` unless a backoff or another start in flight holds it back.
    fn try_start(&mut self, i: usize, now: Time, in_flight: &mut bool, out: &mut Vec<Action>, wake: &mut Option<Time>) {
        let s = &self.slots[i];
        let name = s.spec.name.clone();
        let image = s.spec.image.clone();
        let finished = match s.run {
            Run::Exited => s.latest.as_ref().map(|t| t.finished_at),
            _ => None,
        };
        // doBackOff: the window opens at the last exit's finishedAt.
        if let Some(finished) = finished
            && self.crash_backoff.is_in_backoff_since(&name, finished, now)
        {
            let delay = self.crash_backoff.get(&name);
            let message = format!(
                "back-off {} restarting failed container={} pod={}",
                go_duration(delay),
                name,
                self.name
            );
            self.slots[i].cached = Some(Cached::CrashLoopBackOff { message });
            wake_at(wake, finished + delay);
            return;
        }
        if let Some(Cached::ConfigError { at, .. } | Cached::VolumeNotReady { at, .. }) = s.cached
            && now < at + RESYNC_AFTER_ERROR
        {
            wake_at(wake, at + RESYNC_AFTER_ERROR);
            return;
        }
        if self.image_backoff.is_in_backoff_since_update(&image, now) {
            match s.cached {
                Some(Cached::ErrImagePull { at, .. }) if now < at + RESYNC_AFTER_ERROR => {
                    wake_at(wake, at + RESYNC_AFTER_ERROR)
                }
                Some(Cached::ErrImagePull { .. }) => {}
                // Another container with the same image is in pull backoff.
                _ => self.slots[i].cached = Some(Cached::ImagePullBackOff),
            }
            if let Some(end) = self.image_backoff.window_end(&image) {
                wake_at(wake, end);
            }
            return;
        }
        if *in_flight {
            return;
        }
        if let Some(finished) = finished {
            self.crash_backoff.next(&name, finished, now);
        }
        let init = self.slots[i].kind != Kind::App;
        out.push(Action::StartContainer { name, init });
        self.slots[i].run = Run::Starting;
        *in_flight = true;
    }

    /// Nothing runs or will run again: the kubelet kills the pod (`KillPod` when
    /// `keepCount == 0 && len(ContainersToStart) == 0`), sidecars included.
    pub(super) fn finished(&self) -> bool {
        if self.init_failed {
            return true;
        }
        self.initialized
            && self.slots[self.n_init..]
                .iter()
                .all(|s| s.run == Run::Exited && !self.restart_wanted(s))
    }

    /// Gives every live container without a kill its shutdown kill, with what is left of the
    /// grace period. Sidecars are ordered: they stop after the app containers, in reverse order.
    pub(super) fn begin_kills(&mut self, termination: Termination, now: Time) {
        let budget = termination.grace.saturating_sub(whole_secs(termination.started, now));
        for s in &mut self.slots {
            if s.alive() && s.kill.is_none() {
                s.kill = Some(Kill::new(now, budget, s.kind == Kind::Sidecar));
            }
        }
    }

    /// Moves the deadlines of every kill in progress to at most `grace` seconds from `now`.
    pub(super) fn shorten_kills(&mut self, grace: u64, now: Time) {
        for s in &mut self.slots {
            if let Some(kill) = &mut s.kill {
                kill.shorten(grace, now);
            }
        }
    }

    /// Advances every kill in progress.
    pub(super) fn drive_kills(&mut self, now: Time, out: &mut Vec<Action>, wake: &mut Option<Time>) {
        for i in 0..self.slots.len() {
            let Some(mut kill) = self.slots[i].kill else { continue };
            let turn = self.turn(i);
            let s = &self.slots[i];
            if let Some(at) = kill.advance(s.name(), s.spec.has_pre_stop, turn, now, out) {
                wake_at(wake, at);
            }
            self.slots[i].kill = Some(kill);
        }
    }

    /// `terminationOrdering`: a sidecar's turn comes when every app container and every later
    /// sidecar is gone.
    fn turn(&self, i: usize) -> bool {
        if self.slots[i].kind != Kind::Sidecar {
            return true;
        }
        let later_sidecars = self.slots[i + 1..self.n_init]
            .iter()
            .filter(|s| s.kind == Kind::Sidecar);
        let apps = self.slots[self.n_init..].iter();
        !later_sidecars.chain(apps).any(Slot::active)
    }
}
