//! What the I/O loop feeds the lifecycle machine ([`Event`]) and what it is asked to do
//! ([`Action`]).

use std::time::Duration;

/// How a container process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal number; reported as exit code `128 + signal`.
    Signal(i32),
}

impl Exit {
    /// The exit code Kubernetes reports.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// Why a `StartContainer` produced no running process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateFailure {
    /// The image is not in the local store: `ErrImagePull`, then `ImagePullBackOff`.
    ImageMissing { message: String },
    /// Env, configMap or secret resolution failed: `CreateContainerConfigError`.
    ConfigError { message: String },
    /// The container was created but its process could not start, e.g. runc's
    /// `exec: "foo": executable file not found in $PATH`: terminated `StartError`, exit 128.
    ExecutableNotFound { message: String },
}

/// Which probe a result comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Readiness,
    Startup,
    Liveness,
}

/// Something that happened, fed to [`super::PodMachine::handle`] with the time it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The sandbox asked for by [`Action::CreateSandbox`] exists, with its network.
    SandboxReady,
    /// The container's process runs.
    ContainerStarted { name: String },
    /// `StartContainer` failed before a process ran.
    ContainerCreateFailed { name: String, failure: CreateFailure },
    /// The postStart hook asked for by [`Action::RunPostStart`] succeeded.
    PostStartSucceeded { name: String },
    /// The postStart hook failed; the message becomes the `PostStartHookError` waiting message.
    PostStartFailed { name: String, message: String },
    /// The preStop hook returned (its outcome does not change what follows: the stop goes ahead).
    PreStopFinished { name: String },
    /// The container's process is gone; `oom_killed` when its cgroup recorded an OOM kill.
    ContainerExited { name: String, exit: Exit, oom_killed: bool },
    /// A probe's result (after its own threshold counting).
    Probe {
        name: String,
        kind: ProbeKind,
        success: bool,
    },
    /// Graceful deletion; `None` uses `terminationGracePeriodSeconds`.
    DeleteRequested { grace_period_seconds: Option<u64> },
}

/// The stop signal to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM, or the image's STOPSIGNAL.
    Term,
    /// SIGKILL.
    Kill,
}

/// What the I/O loop must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create the pause process and the pod's namespaces and network; answer with
    /// [`Event::SandboxReady`].
    CreateSandbox,
    /// Create and start one container; answer with `ContainerStarted` or `ContainerCreateFailed`.
    StartContainer { name: String, init: bool },
    /// Run the postStart hook; answer with `PostStartSucceeded` or `PostStartFailed`.
    RunPostStart { name: String },
    /// Run the preStop hook, abandoning it after `timeout`; answer with `PreStopFinished`.
    RunPreStop { name: String, timeout: Duration },
    /// Send a stop signal to the container's process.
    Signal { name: String, signal: StopSignal },
    /// Tear the sandbox down (namespaces, network, cgroups); every container is gone.
    DestroySandbox,
    /// Nothing will ever change again: write the final status and exit.
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_exits_report_128_plus_signal() {
        assert_eq!(Exit::Signal(9).code(), 137);
        assert_eq!(Exit::Signal(15).code(), 143);
        assert_eq!(Exit::Code(3).code(), 3);
    }
}
