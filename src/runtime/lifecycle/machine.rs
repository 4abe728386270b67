//! [`PodMachine`]: the clock-free brain of the per-pod supervisor. The I/O loop feeds it
//! [`Event`]s, asks it for [`Action`]s, sleeps until [`PodMachine::next_wakeup`], and writes
//! [`PodMachine::status`].

use super::backoff::Backoff;
use super::event::{Action, CreateFailure, Event, ProbeKind};
use super::kill::Kill;
use super::slot::{Cached, Kind, RESYNC_AFTER_ERROR, Run, START_ERROR_EXIT_CODE, Slot, Terminated};
use super::spec::{PodInput, RestartPolicy};
use super::{LifecycleError, Time};
use crate::runtime::status::{PodPhase, PodStatus};
use std::collections::{BTreeMap, HashSet};

/// The sandbox's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sandbox {
    NotRequested,
    Requested,
    Ready,
    Destroyed,
}

/// The pod is being stopped for good: deleted, or finished with nothing left to restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Termination {
    pub started: Time,
    /// Whole seconds of grace from `started`.
    pub grace: u64,
}

/// The lifecycle of one pod, driven tick by tick.
///
/// Protocol: after every [`handle`](Self::handle) (and when [`next_wakeup`](Self::next_wakeup)
/// is reached) call [`next_actions`](Self::next_actions) and perform what it returns in order;
/// then [`status`](Self::status) is the pod's status. Events that no longer apply (a result for
/// an instance that is gone) are ignored.
#[derive(Debug, Clone)]
pub struct PodMachine {
    pub(super) name: String,
    pub(super) policy: RestartPolicy,
    pub(super) grace: u64,
    /// Init containers first, then app containers, each in spec order.
    pub(super) slots: Vec<Slot>,
    pub(super) n_init: usize,
    /// Restart backoff keyed by container name (`doBackOff`).
    pub(super) crash_backoff: Backoff,
    /// Pull backoff keyed by image (image_manager.go `EnsureImageExists`).
    pub(super) image_backoff: Backoff,
    pub(super) outbox: Vec<Action>,
    pub(super) sandbox: Sandbox,
    /// Every regular init container succeeded and every sidecar started, once.
    pub(super) initialized: bool,
    /// A regular init container failed under restartPolicy Never.
    pub(super) init_failed: bool,
    pub(super) start_time: Option<Time>,
    pub(super) termination: Option<Termination>,
    /// When every container had stopped for good (upstream's `podIsTerminal`).
    pub(super) terminal_at: Option<Time>,
    pub(super) done: bool,
    /// Terminal phases are sticky (`generateAPIPodStatus`).
    pub(super) sticky_phase: Option<PodPhase>,
    /// Per condition type: its status and when it last changed.
    pub(super) transitions: BTreeMap<String, (String, Time)>,
    pub(super) wakeup: Option<Time>,
}

impl PodMachine {
    /// A machine for `pod`, before anything ran.
    pub fn new(pod: PodInput) -> Result<Self, LifecycleError> {
        if pod.containers.is_empty() {
            return Err(LifecycleError::NoContainers { pod: pod.name });
        }
        let mut seen = HashSet::new();
        for c in pod.init_containers.iter().chain(&pod.containers) {
            if !seen.insert(c.name.as_str()) {
                let name = c.name.clone();
                return Err(LifecycleError::DuplicateContainer { pod: pod.name, name });
            }
        }
        let n_init = pod.init_containers.len();
        let init = pod.init_containers.into_iter().map(|c| {
            let kind = if c.sidecar { Kind::Sidecar } else { Kind::Init };
            Slot::new(c, kind)
        });
        let apps = pod.containers.into_iter().map(|c| Slot::new(c, Kind::App));
        Ok(PodMachine {
            name: pod.name,
            policy: pod.restart_policy,
            grace: pod.termination_grace_period_seconds,
            slots: init.chain(apps).collect(),
            n_init,
            crash_backoff: Backoff::container(),
            image_backoff: Backoff::container(),
            outbox: Vec::new(),
            sandbox: Sandbox::NotRequested,
            initialized: false,
            init_failed: false,
            start_time: None,
            termination: None,
            terminal_at: None,
            done: false,
            sticky_phase: None,
            transitions: BTreeMap::new(),
            wakeup: None,
        })
    }

    /// Records `event`, which happened at `now`.
    pub fn handle(&mut self, now: Time, event: Event) -> Result<(), LifecycleError> {
        match event {
            Event::SandboxReady => {
                if self.sandbox == Sandbox::Requested {
                    self.sandbox = Sandbox::Ready;
                }
            }
            Event::ConfigChanged => {
                for slot in &mut self.slots {
                    if let Some(Cached::ConfigError { at, .. } | Cached::VolumeNotReady { at, .. }) = &mut slot.cached {
                        *at = now - RESYNC_AFTER_ERROR;
                    }
                }
            }
            Event::DeleteRequested { grace_period_seconds } => {
                let grace = grace_period_seconds.unwrap_or(self.grace);
                match self.termination {
                    None => self.termination = Some(Termination { started: now, grace }),
                    // A second deletion may only shorten the one under way.
                    Some(t)
                        if now + std::time::Duration::from_secs(grace)
                            < t.started + std::time::Duration::from_secs(t.grace) =>
                    {
                        self.termination = Some(Termination { started: now, grace });
                        self.shorten_kills(grace, now);
                    }
                    Some(_) => {}
                }
            }
            Event::ContainerStarted { name } => {
                let i = self.index(&name)?;
                self.on_started(i, now);
            }
            Event::ContainerCreateFailed { name, failure } => {
                let i = self.index(&name)?;
                self.on_create_failed(i, now, failure);
            }
            Event::PostStartSucceeded { name } => {
                let i = self.index(&name)?;
                let slot = &mut self.slots[i];
                if let Run::PostStart { started_at } = slot.run {
                    slot.run = Run::Running { started_at };
                    slot.cached = None;
                }
            }
            Event::PostStartFailed { name, message } => {
                let grace = self.grace;
                let i = self.index(&name)?;
                let slot = &mut self.slots[i];
                if let Run::PostStart { .. } = slot.run {
                    // startContainer kills the container ("FailedPostStartHook") and the start
                    // result becomes ErrPostStartHook, shown as PostStartHookError.
                    slot.cached = Some(Cached::PostStartHookError { message });
                    slot.kill.get_or_insert(Kill::new(now, grace, false));
                }
            }
            Event::PreStopFinished { name } => {
                let i = self.index(&name)?;
                let slot = &mut self.slots[i];
                if let Some(kill) = slot.kill.as_mut() {
                    kill.pre_stop_finished(now);
                }
            }
            Event::ContainerExited { name, exit, oom_killed } => {
                let i = self.index(&name)?;
                let slot = &mut self.slots[i];
                let started_at = match slot.run {
                    Run::PostStart { started_at } | Run::Running { started_at } => Some(started_at),
                    Run::Starting => None,
                    Run::Idle | Run::Exited => return Ok(()),
                };
                if slot.run == Run::Starting {
                    slot.instances += 1;
                }
                let exit_code = exit.code();
                // containerd's CRI reasons (pkg/cri/server/helpers.go).
                let reason = match (oom_killed, exit_code) {
                    (true, _) => "OOMKilled",
                    (false, 0) => "Completed",
                    (false, _) => "Error",
                };
                slot.push_termination(Terminated {
                    exit_code,
                    reason: reason.to_string(),
                    message: None,
                    started_at,
                    finished_at: now,
                });
            }
            Event::Probe { name, kind, success } => {
                let i = self.index(&name)?;
                self.on_probe(i, now, kind, success);
            }
        }
        self.refresh(now);
        Ok(())
    }

    /// What to do now. Returns nothing once [`Action::Done`] has been returned.
    pub fn next_actions(&mut self, now: Time) -> Vec<Action> {
        if self.done {
            return Vec::new();
        }
        self.start_time.get_or_insert(now);
        let mut out = std::mem::take(&mut self.outbox);
        let mut wake = None;
        if self.termination.is_none() {
            match self.sandbox {
                Sandbox::NotRequested => {
                    out.push(Action::CreateSandbox);
                    self.sandbox = Sandbox::Requested;
                }
                Sandbox::Ready => {
                    self.sync(now, &mut out, &mut wake);
                    if self.finished() {
                        self.termination = Some(Termination {
                            started: now,
                            grace: self.grace,
                        });
                    }
                }
                Sandbox::Requested | Sandbox::Destroyed => {}
            }
        }
        if let Some(termination) = self.termination {
            self.begin_kills(termination, now);
        }
        self.drive_kills(now, &mut out, &mut wake);
        if self.termination.is_some() && !self.slots.iter().any(Slot::active) {
            if matches!(self.sandbox, Sandbox::Requested | Sandbox::Ready) {
                out.push(Action::DestroySandbox);
            }
            self.sandbox = Sandbox::Destroyed;
            self.terminal_at = Some(now);
            self.done = true;
            out.push(Action::Done);
            wake = None;
        }
        self.wakeup = wake;
        self.refresh(now);
        out
    }

    /// The earliest time [`next_actions`](Self::next_actions) has something to do without a
    /// new event (a backoff expiring, a grace deadline, a status change); `None` means sleep
    /// until the next event. Valid after each `next_actions` call.
    pub fn next_wakeup(&self) -> Option<Time> {
        self.wakeup
    }

    /// Whether [`Action::Done`] was returned.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The pod's status as of `now`.
    pub fn status(&self, now: Time) -> PodStatus {
        let mut status = self.build_status(now);
        for c in &mut status.conditions {
            let at = match self.transitions.get(&c.type_) {
                Some((s, at)) if *s == c.status => *at,
                _ => now,
            };
            c.last_transition_time = Some(super::rfc3339(at));
        }
        status
    }

    fn index(&self, name: &str) -> Result<usize, LifecycleError> {
        self.slots
            .iter()
            .position(|s| s.name() == name)
            .ok_or_else(|| LifecycleError::UnknownContainer {
                pod: self.name.clone(),
                name: name.to_string(),
            })
    }

    fn on_started(&mut self, i: usize, now: Time) {
        let slot = &mut self.slots[i];
        if slot.run != Run::Starting {
            return;
        }
        slot.instances += 1;
        slot.force_restart = false;
        slot.readiness_ok = false;
        slot.startup_ok = false;
        self.image_backoff.reset(&slot.spec.image);
        if slot.spec.has_post_start {
            slot.run = Run::PostStart { started_at: now };
            self.outbox.push(Action::RunPostStart {
                name: slot.spec.name.clone(),
            });
        } else {
            slot.run = Run::Running { started_at: now };
            slot.cached = None;
        }
    }

    fn on_create_failed(&mut self, i: usize, now: Time, failure: CreateFailure) {
        let slot = &mut self.slots[i];
        if slot.run != Run::Starting {
            return;
        }
        match failure {
            CreateFailure::ImageMissing { message } => {
                self.image_backoff.next(&slot.spec.image, now, now);
                slot.cached = Some(Cached::ErrImagePull { at: now, message });
                slot.back_to_rest();
            }
            CreateFailure::ConfigError { message } => {
                self.image_backoff.reset(&slot.spec.image);
                slot.cached = Some(Cached::ConfigError { at: now, message });
                slot.back_to_rest();
            }
            CreateFailure::VolumeNotReady { message } => {
                slot.cached = Some(Cached::VolumeNotReady { at: now, message });
                slot.back_to_rest();
            }
            CreateFailure::ExecutableNotFound { message } => {
                // The container exists but never ran: containerd reports StartError/128 with a
                // zero start time, and the failed start is cached as RunContainerError.
                self.image_backoff.reset(&slot.spec.image);
                slot.instances += 1;
                slot.force_restart = false;
                slot.push_termination(Terminated {
                    exit_code: START_ERROR_EXIT_CODE,
                    reason: "StartError".to_string(),
                    message: Some(message.clone()),
                    started_at: Some(Time::UNIX_EPOCH),
                    finished_at: now,
                });
                slot.cached = Some(Cached::RunContainerError { message });
            }
        }
    }

    fn on_probe(&mut self, i: usize, now: Time, kind: ProbeKind, success: bool) {
        let (grace, policy, terminating) = (self.grace, self.policy, self.termination.is_some());
        let slot = &mut self.slots[i];
        if !slot.alive() {
            return;
        }
        match (kind, success) {
            (ProbeKind::Readiness, ok) => slot.readiness_ok = ok,
            (ProbeKind::Startup, true) => slot.startup_ok = true,
            (ProbeKind::Liveness, true) => {}
            // During shutdown liveness and startup results are forced to Success (prober
            // worker.go), so failures no longer kill.
            (ProbeKind::Startup | ProbeKind::Liveness, false) => {
                if terminating || slot.kill.is_some() {
                    return;
                }
                slot.kill = Some(Kill::new(now, grace, false));
                // computePodActions re-adds a probe-killed container to ContainersToStart
                // whenever the policy is not Never, whatever its exit code.
                slot.force_restart = policy != RestartPolicy::Never;
            }
        }
    }
}
