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
    ImageMissing {
        /// The waiting message, e.g. `image "nope:1" not found`.
        message: String,
    },
    /// Env, configMap or secret resolution failed: `CreateContainerConfigError`.
    ConfigError {
        /// The waiting message: what could not be resolved.
        message: String,
    },
    /// A volume of the pod could not be set up (a missing ConfigMap or Secret, or a key):
    /// the containers wait in `ContainerCreating`, retried at the next resync.
    VolumeNotReady {
        /// The kubelet's `MountVolume.SetUp failed for volume "v" : …`.
        message: String,
    },
    /// The container was created but its process could not start, e.g. runc's
    /// `exec: "foo": executable file not found in $PATH`: terminated `StartError`, exit 128.
    ExecutableNotFound {
        /// The termination message: why the process could not start.
        message: String,
    },
}

/// Which probe a result comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// `readinessProbe`: failing takes the container out of `ready`.
    Readiness,
    /// `startupProbe`: holds the other probes back until it succeeds; failing restarts.
    Startup,
    /// `livenessProbe`: failing restarts the container.
    Liveness,
}

/// Something that happened, fed to [`super::PodMachine::handle`] with the time it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The sandbox asked for by [`Action::CreateSandbox`] exists, with its network.
    SandboxReady,
    /// The pod's config data changed: containers waiting on a config or volume error retry now.
    ConfigChanged,
    /// The container's process runs.
    ContainerStarted {
        /// The container's name.
        name: String,
    },
    /// `StartContainer` failed before a process ran.
    ContainerCreateFailed {
        /// The container's name.
        name: String,
        /// What went wrong.
        failure: CreateFailure,
    },
    /// The postStart hook asked for by [`Action::RunPostStart`] succeeded.
    PostStartSucceeded {
        /// The container's name.
        name: String,
    },
    /// The postStart hook failed; the message becomes the `PostStartHookError` waiting message.
    PostStartFailed {
        /// The container's name.
        name: String,
        /// What the hook's failure was.
        message: String,
    },
    /// The preStop hook returned (its outcome does not change what follows: the stop goes ahead).
    PreStopFinished {
        /// The container's name.
        name: String,
    },
    /// The container's process is gone; `oom_killed` when its cgroup recorded an OOM kill.
    ContainerExited {
        /// The container's name.
        name: String,
        /// How the process ended.
        exit: Exit,
        /// Whether the kernel's OOM killer killed it.
        oom_killed: bool,
    },
    /// A probe's result (after its own threshold counting).
    Probe {
        /// The container's name.
        name: String,
        /// Which of its probes.
        kind: ProbeKind,
        /// Whether the probe now counts as passing.
        success: bool,
    },
    /// Graceful deletion; `None` uses `terminationGracePeriodSeconds`.
    DeleteRequested {
        /// The grace period asked for, in seconds.
        grace_period_seconds: Option<u64>,
    },
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
    StartContainer {
        /// The container's name.
        name: String,
        /// Whether it is an init container.
        init: bool,
    },
    /// Run the postStart hook; answer with `PostStartSucceeded` or `PostStartFailed`.
    RunPostStart {
        /// The container's name.
        name: String,
    },
    /// Run the preStop hook, abandoning it after `timeout`; answer with `PreStopFinished`.
    RunPreStop {
        /// The container's name.
        name: String,
        /// How long the hook may run: the whole grace period.
        timeout: Duration,
    },
    /// Send a stop signal to the container's process.
    Signal {
        /// The container's name.
        name: String,
        /// Which signal.
        signal: StopSignal,
    },
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
