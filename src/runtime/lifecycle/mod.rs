//! The per-pod lifecycle as a pure state machine: Kubernetes' kubelet rules for starting,
//! restarting, hooking, probing and stopping containers (`spec/k8s-semantics.md` §1, §2, §11),
//! with no processes and no clock.
//!
//! The supervisor's I/O loop owns processes, namespaces and time. It feeds [`Event`]s into a
//! [`PodMachine`] with the time they happened, performs the [`Action`]s that
//! [`PodMachine::next_actions`] returns, sleeps until [`PodMachine::next_wakeup`] (or the next
//! event), and writes [`PodMachine::status`].
//!
//! Restart backoff follows the kubelet's code rather than the docs' summary: `doBackOff`
//! (kuberuntime_manager.go) keys a `flowcontrol.Backoff` (10 s doubling to 300 s) on the
//! container and opens the window at the last exit's `finishedAt`. The first exit finds no
//! entry, so the first restart is immediate; later ones wait 10 s, 20 s, … 300 s. The entry
//! resets when `finishedAt - lastUpdate > 600 s`, `lastUpdate` being the last restart
//! decision: a container that ran more than 10 minutes since it was last (re)started restarts
//! at once and its next delay is 10 s again (`hasExpired` in flowcontrol/backoff.go).

pub mod backoff;
mod conditions;
pub mod event;
mod kill;
mod machine;
mod phase;
mod report;
#[cfg(test)]
mod scenarios_start;
#[cfg(test)]
mod scenarios_stop;
mod slot;
pub mod spec;
mod sync;
#[cfg(test)]
mod testkit;
mod view;

pub use backoff::{Backoff, go_duration};
pub use event::{Action, CreateFailure, Event, Exit, ProbeKind, StopSignal};
pub use machine::PodMachine;
pub use spec::{ContainerInput, PodInput, RestartPolicy};
pub use view::{ContainerRun, ContainerView, PodView};

// The machine's time is the crate's one time type: the I/O loop reads the clock, tests step it.
pub use crate::time::{Time, rfc3339};

/// A pod description the machine cannot run, or an event naming no container of the pod.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The pod has no app containers.
    #[error("pod {pod} has no containers")]
    NoContainers {
        /// The pod's name ([`PodInput::name`]).
        pod: String,
    },
    /// Two containers (init or app) of the pod have the same name.
    #[error("pod {pod} declares container {name} more than once")]
    DuplicateContainer {
        /// The pod's name ([`PodInput::name`]).
        pod: String,
        /// The repeated container name.
        name: String,
    },
    /// An event names a container the pod does not have.
    #[error("pod {pod} has no container named {name}")]
    UnknownContainer {
        /// The pod's name ([`PodInput::name`]).
        pod: String,
        /// The name the event gave.
        name: String,
    },
}
