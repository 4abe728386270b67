//! What the prober needs to know about the machine's containers and pod (upstream's prober
//! worker reads the same facts from the status manager: container ID, running state,
//! `started`, deletion and terminal phase).

use super::Time;
use super::machine::PodMachine;
use super::slot::Run;
use super::spec::RestartPolicy;
use crate::runtime::status::PodPhase;

/// Where a container's current instance is, as a prober worker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerRun {
    /// No instance reports yet: never created, being created, or inside its postStart hook
    /// (upstream: no container ID in the status yet, "wait for more information").
    Pending,
    /// The process runs (past postStart) since `since`; `started` is the status field.
    Running {
        /// When the process started.
        since: Time,
        /// Whether the container counts as started (its startup probe, if any, has passed).
        started: bool,
    },
    /// The latest instance ended.
    Exited,
}

/// One container as the prober sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerView {
    /// Instances created so far: a new value is a new container ID.
    pub instance: u32,
    /// Where the current instance is.
    pub run: ContainerRun,
}

/// The pod as the prober sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodView {
    /// Graceful deletion (or the final teardown) has begun.
    pub deleting: bool,
    /// The phase is Succeeded or Failed, or the machine is done.
    pub terminal: bool,
    /// The pod's `spec.restartPolicy`.
    pub restart_policy: RestartPolicy,
}

impl PodMachine {
    /// Container `name`'s current instance; `None` for a name the pod does not have.
    pub fn container_view(&self, name: &str) -> Option<ContainerView> {
        let slot = self.slots.iter().find(|s| s.name() == name)?;
        let run = match slot.run {
            Run::Idle | Run::Starting | Run::PostStart { .. } => ContainerRun::Pending,
            Run::Running { started_at } => ContainerRun::Running {
                since: started_at,
                started: slot.started(),
            },
            Run::Exited => ContainerRun::Exited,
        };
        Some(ContainerView {
            instance: slot.instances,
            run,
        })
    }

    /// The pod-level facts probes depend on.
    pub fn pod_view(&self) -> PodView {
        let terminal = self.done || matches!(self.sticky_phase, Some(PodPhase::Succeeded | PodPhase::Failed));
        PodView {
            deleting: self.termination.is_some(),
            terminal,
            restart_policy: self.policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{Pod, t};
    use super::super::{ContainerInput, Event, PodInput};
    use super::*;

    #[test]
    fn views_follow_the_instance_and_the_startup_probe() {
        let mut p = Pod::new(PodInput::new("p").container(ContainerInput::new("web", "nginx:1").startup_probe()));
        let pending = ContainerView {
            instance: 0,
            run: ContainerRun::Pending,
        };
        assert_eq!(p.m.container_view("web"), Some(pending));
        assert_eq!(p.m.container_view("nope"), None);
        p.boot();
        p.at(1.0).ev(Event::ContainerStarted { name: "web".into() });
        let running = |started| ContainerView {
            instance: 1,
            run: ContainerRun::Running { since: t(1.0), started },
        };
        assert_eq!(p.m.container_view("web"), Some(running(false)));
        p.at(2.0).ev(Event::Probe {
            name: "web".into(),
            kind: super::super::ProbeKind::Startup,
            success: true,
        });
        assert_eq!(p.m.container_view("web"), Some(running(true)));
        assert!(!p.m.pod_view().deleting && !p.m.pod_view().terminal);
        p.at(3.0).ev(Event::DeleteRequested {
            grace_period_seconds: Some(0),
        });
        assert!(p.m.pod_view().deleting);
    }
}
