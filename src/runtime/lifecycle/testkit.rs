//! Test harness for the lifecycle machine: a stepped clock and terse events and assertions.

use super::*;
use crate::runtime::status::{ContainerState, ContainerStatus, PodStatus};
use chrono::{TimeDelta, TimeZone, Utc};

/// `secs` after a fixed epoch (2023-11-14T22:13:20Z), milliseconds allowed.
pub fn t(secs: f64) -> Time {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap() + TimeDelta::milliseconds((secs * 1000.0) as i64)
}

/// A machine and a clock.
pub struct Pod {
    pub m: PodMachine,
    pub now: f64,
}

impl Pod {
    pub fn new(pod: PodInput) -> Self {
        Pod {
            m: PodMachine::new(pod).unwrap(),
            now: 0.0,
        }
    }

    /// Creates the sandbox at the current time; returns the first actions after it.
    pub fn boot(&mut self) -> Vec<Action> {
        assert_eq!(self.tick(), vec![Action::CreateSandbox]);
        self.ev(Event::SandboxReady)
    }

    pub fn at(&mut self, secs: f64) -> &mut Self {
        self.now = secs;
        self
    }

    /// Feeds an event now, then asks for the actions.
    pub fn ev(&mut self, e: Event) -> Vec<Action> {
        self.m.handle(t(self.now), e).unwrap();
        self.tick()
    }

    pub fn tick(&mut self) -> Vec<Action> {
        self.m.next_actions(t(self.now))
    }

    pub fn status(&self) -> PodStatus {
        self.m.status(t(self.now))
    }

    /// Seconds from the epoch of the next wakeup.
    pub fn wakeup(&self) -> Option<f64> {
        self.m
            .next_wakeup()
            .map(|w| (w - t(0.0)).num_milliseconds() as f64 / 1000.0)
    }

    pub fn container(&self, name: &str) -> ContainerStatus {
        let s = self.status();
        s.init_container_statuses
            .into_iter()
            .chain(s.container_statuses)
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no status for {name}"))
    }

    /// A short form of a container's state: `Running`, `Waiting:Reason`,
    /// `Terminated:Reason:code`.
    pub fn state(&self, name: &str) -> String {
        short(&self.container(name).state)
    }
}

pub fn short(s: &ContainerState) -> String {
    match s {
        ContainerState::Running { .. } => "Running".to_string(),
        ContainerState::Waiting { reason, .. } => format!("Waiting:{reason}"),
        ContainerState::Terminated { reason, exit_code, .. } => format!("Terminated:{reason}:{exit_code}"),
    }
}

/// The waiting message of a container.
pub fn waiting_message(c: &ContainerStatus) -> Option<String> {
    match &c.state {
        ContainerState::Waiting { message, .. } => message.clone(),
        _ => None,
    }
}

pub fn start(name: &str) -> Action {
    Action::StartContainer {
        name: name.into(),
        init: false,
    }
}
pub fn start_init(name: &str) -> Action {
    Action::StartContainer {
        name: name.into(),
        init: true,
    }
}
pub fn term(name: &str) -> Action {
    Action::Signal {
        name: name.into(),
        signal: StopSignal::Term,
    }
}
pub fn kill(name: &str) -> Action {
    Action::Signal {
        name: name.into(),
        signal: StopSignal::Kill,
    }
}
pub fn started(name: &str) -> Event {
    Event::ContainerStarted { name: name.into() }
}
pub fn exited(name: &str, code: i32) -> Event {
    Event::ContainerExited {
        name: name.into(),
        exit: Exit::Code(code),
        oom_killed: false,
    }
}
pub fn signalled(name: &str, signal: i32) -> Event {
    Event::ContainerExited {
        name: name.into(),
        exit: Exit::Signal(signal),
        oom_killed: false,
    }
}
pub fn probe(name: &str, kind: ProbeKind, success: bool) -> Event {
    Event::Probe {
        name: name.into(),
        kind,
        success,
    }
}
pub fn c(name: &str) -> ContainerInput {
    ContainerInput::new(name, "busybox:1")
}
