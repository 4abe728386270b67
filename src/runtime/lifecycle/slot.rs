//! One container's record inside the machine: its current instance, the last two
//! terminations, the kubelet's reason cache, and its conversion to a `ContainerStatus`
//! (`convertToAPIContainerStatuses`, pkg/kubelet/kubelet_pods.go).

use super::kill::Kill;
use super::spec::ContainerInput;
use super::{Time, rfc3339};
use crate::runtime::status::{ContainerState, ContainerStatus};
use std::time::Duration;

/// The kubelet re-syncs a pod whose sync failed after about 10 s (pod_workers.go
/// `backOffPeriod`); that is when `ErrImagePull` turns into `ImagePullBackOff` and when a
/// `CreateContainerConfigError` is retried.
pub(crate) const RESYNC_AFTER_ERROR: Duration = Duration::from_secs(10);

/// Exit code containerd gives a container whose process could not start.
pub(crate) const START_ERROR_EXIT_CODE: i32 = 128;

/// What kind of container a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Init,
    Sidecar,
    App,
}

/// The current instance of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// No instance was ever created.
    Idle,
    /// `StartContainer` was issued; no answer yet.
    Starting,
    /// The process runs; its postStart hook has not returned.
    PostStart { started_at: Time },
    /// The process runs.
    Running { started_at: Time },
    /// The latest instance ended: it is `Slot::latest`.
    Exited,
}

/// A finished instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Terminated {
    pub exit_code: i32,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: Option<Time>,
    pub finished_at: Time,
}

impl Terminated {
    fn to_state(&self) -> ContainerState {
        ContainerState::Terminated {
            exit_code: self.exit_code,
            reason: self.reason.clone(),
            message: self.message.clone(),
            started_at: self.started_at.map(rfc3339),
            finished_at: rfc3339(self.finished_at),
        }
    }
}

/// The kubelet's `reasonCache`: why the last start attempt did not lead to a running
/// container. Cleared when a start succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cached {
    ErrImagePull { at: Time, message: String },
    ImagePullBackOff,
    ConfigError { at: Time, message: String },
    VolumeNotReady { at: Time, message: String },
    RunContainerError { message: String },
    PostStartHookError { message: String },
    CrashLoopBackOff { message: String },
}

/// One container of the pod.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub spec: ContainerInput,
    pub kind: Kind,
    pub run: Run,
    /// The latest finished instance, and the one before it.
    pub latest: Option<Terminated>,
    pub before: Option<Terminated>,
    /// Instances created so far; `restartCount` is one less.
    pub instances: u32,
    pub cached: Option<Cached>,
    /// Last readiness result of the current instance (upstream's initial result is Failure).
    pub readiness_ok: bool,
    /// Whether the startup probe of the current instance has succeeded.
    pub startup_ok: bool,
    /// A liveness or startup failure killed this instance: restart it whatever its exit code.
    pub force_restart: bool,
    pub kill: Option<Kill>,
}

impl Slot {
    pub fn new(spec: ContainerInput, kind: Kind) -> Self {
        Slot {
            spec,
            kind,
            run: Run::Idle,
            latest: None,
            before: None,
            instances: 0,
            cached: None,
            readiness_ok: false,
            startup_ok: false,
            force_restart: false,
            kill: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The process exists (it may be inside its postStart hook).
    pub fn alive(&self) -> bool {
        matches!(self.run, Run::PostStart { .. } | Run::Running { .. })
    }

    /// A start is under way or the process exists.
    pub fn active(&self) -> bool {
        self.alive() || self.run == Run::Starting
    }

    /// `started`: running, past postStart, and past its startup probe when it has one.
    pub fn started(&self) -> bool {
        matches!(self.run, Run::Running { .. }) && (!self.spec.has_startup_probe || self.startup_ok)
    }

    /// `ready` of a sidecar or app container: started, and its readiness probe (if any) passes.
    pub fn ready(&self) -> bool {
        self.started() && (!self.spec.has_readiness_probe || self.readiness_ok)
    }

    /// Records a new finished instance.
    pub fn push_termination(&mut self, t: Terminated) {
        self.before = self.latest.take();
        self.latest = Some(t);
        self.run = Run::Exited;
        self.kill = None;
        self.readiness_ok = false;
        self.startup_ok = false;
    }

    /// Where the slot goes back to when a start attempt produced no instance.
    pub fn back_to_rest(&mut self) {
        self.run = if self.latest.is_some() { Run::Exited } else { Run::Idle };
    }

    /// The `ContainerStatus` the kubelet would report. `restart_pending` is
    /// `ShouldContainerBeRestarted`; `default_reason` is ContainerCreating or PodInitializing.
    pub fn api_status(&self, now: Time, restart_pending: bool, default_reason: &str) -> ContainerStatus {
        let waiting = |fallback: &str| self.waiting_state(now, fallback);
        let (state, last_state) = match self.run {
            Run::Running { started_at } => (
                ContainerState::Running {
                    started_at: rfc3339(started_at),
                },
                self.latest.clone(),
            ),
            Run::Idle | Run::Starting | Run::PostStart { .. } => (waiting(default_reason), self.latest.clone()),
            Run::Exited => {
                let latest = self.latest.as_ref().expect("an exited slot has a termination");
                match (&self.cached, restart_pending) {
                    (Some(_), true) => (waiting(default_reason), Some(latest.clone())),
                    _ => (latest.to_state(), self.before.clone()),
                }
            }
        };
        let ready = match (self.kind, &state) {
            (Kind::Init, ContainerState::Terminated { exit_code, .. }) => *exit_code == 0,
            (Kind::Init, _) => false,
            _ => self.ready(),
        };
        ContainerStatus {
            name: self.spec.name.clone(),
            image: self.spec.image.clone(),
            ready,
            started: self.started(),
            restart_count: self.instances.saturating_sub(1),
            state,
            last_state: last_state.map(|t| t.to_state()),
        }
    }

    fn waiting_state(&self, now: Time, default_reason: &str) -> ContainerState {
        let (reason, message) = match &self.cached {
            None => (default_reason.to_string(), None),
            Some(Cached::ErrImagePull { at, message }) => {
                if now < *at + RESYNC_AFTER_ERROR {
                    ("ErrImagePull".to_string(), Some(message.clone()))
                } else {
                    let m = format!("Back-off pulling image {:?}", self.spec.image);
                    ("ImagePullBackOff".to_string(), Some(m))
                }
            }
            Some(Cached::ImagePullBackOff) => {
                let m = format!("Back-off pulling image {:?}", self.spec.image);
                ("ImagePullBackOff".to_string(), Some(m))
            }
            Some(Cached::ConfigError { message, .. }) => {
                ("CreateContainerConfigError".to_string(), Some(message.clone()))
            }
            // The kubelet shows no message with ContainerCreating; rekon keeps the FailedMount
            // event's text, so that `apply` and `status` can say why the pod cannot start.
            Some(Cached::VolumeNotReady { message, .. }) => ("ContainerCreating".to_string(), Some(message.clone())),
            Some(Cached::RunContainerError { message }) => ("RunContainerError".to_string(), Some(message.clone())),
            Some(Cached::PostStartHookError { message }) => ("PostStartHookError".to_string(), Some(message.clone())),
            Some(Cached::CrashLoopBackOff { message }) => ("CrashLoopBackOff".to_string(), Some(message.clone())),
        };
        ContainerState::Waiting { reason, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(secs: i64) -> Time {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn exited(code: i32, at: i64) -> Terminated {
        let reason = if code == 0 { "Completed" } else { "Error" };
        Terminated {
            exit_code: code,
            reason: reason.into(),
            message: None,
            started_at: Some(t(at - 1)),
            finished_at: t(at),
        }
    }

    #[test]
    fn never_started_container_waits_with_the_default_reason() {
        let s = Slot::new(ContainerInput::new("web", "nginx:1"), Kind::App);
        let st = s.api_status(t(0), true, "ContainerCreating");
        let want = ContainerState::Waiting {
            reason: "ContainerCreating".into(),
            message: None,
        };
        assert_eq!(st.state, want);
        assert_eq!(
            (st.ready, st.started, st.restart_count, st.last_state),
            (false, false, 0, None)
        );
    }

    #[test]
    fn exited_container_is_terminated_unless_a_restart_is_pending_with_a_reason() {
        let mut s = Slot::new(ContainerInput::new("web", "nginx:1"), Kind::App);
        s.instances = 2;
        s.push_termination(exited(1, 5));
        s.before = Some(exited(1, 2));
        let st = s.api_status(t(6), false, "ContainerCreating");
        assert!(matches!(st.state, ContainerState::Terminated { exit_code: 1, .. }));
        assert!(matches!(st.last_state, Some(ContainerState::Terminated { .. })));
        assert_eq!(st.restart_count, 1);
        s.cached = Some(Cached::CrashLoopBackOff { message: "m".into() });
        let st = s.api_status(t(6), true, "ContainerCreating");
        let want = ContainerState::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: Some("m".into()),
        };
        assert_eq!(st.state, want);
        assert_eq!(st.last_state, Some(exited(1, 5).to_state()));
    }

    #[test]
    fn image_pull_error_turns_into_back_off_at_the_next_resync() {
        let mut s = Slot::new(ContainerInput::new("web", "nope:1"), Kind::App);
        s.cached = Some(Cached::ErrImagePull {
            at: t(0),
            message: "image \"nope:1\" not found".into(),
        });
        let reason = |st: ContainerStatus| match st.state {
            ContainerState::Waiting { reason, message } => (reason, message.unwrap()),
            other => panic!("{other:?}"),
        };
        let got = reason(s.api_status(t(9), true, "ContainerCreating"));
        assert_eq!(got, ("ErrImagePull".into(), "image \"nope:1\" not found".into()));
        let got = reason(s.api_status(t(10), true, "ContainerCreating"));
        assert_eq!(
            got,
            ("ImagePullBackOff".into(), "Back-off pulling image \"nope:1\"".into())
        );
    }

    #[test]
    fn regular_init_container_is_ready_once_it_completed() {
        let mut s = Slot::new(ContainerInput::new("init", "busybox:1"), Kind::Init);
        s.instances = 1;
        s.push_termination(exited(0, 3));
        let st = s.api_status(t(4), false, "PodInitializing");
        assert!(st.ready && !st.started);
        assert_eq!(
            st.state,
            ContainerState::Terminated {
                exit_code: 0,
                reason: "Completed".into(),
                message: None,
                started_at: Some("2023-11-14T22:13:22Z".into()),
                finished_at: "2023-11-14T22:13:23Z".into(),
            }
        );
    }
}
