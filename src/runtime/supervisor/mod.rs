//! The per-pod supervisor (`rekon __supervise --pod-dir DIR`): a single-threaded I/O loop
//! that drives the pod's [`PodMachine`], owns its container processes, writes their logs
//! and the pod's `status.json`, and outlives the CLI that started it, like conmon or
//! containerd-shim (`DESIGN.md` §4, the pod directory contract in `poddir`).
//!
//! It holds the pod's network, IPC and UTS namespaces itself (it enters them before the
//! first container starts), so a pod is one process on the host; only a pod with
//! `shareProcessNamespace` has a second, the pause process that is PID 1 of its PID
//! namespace.
//!
//! It blocks SIGCHLD, SIGTERM and SIGINT and sleeps in `poll` on a signalfd, the
//! containers' output pipes and the running probes' pipes until the machine's or the
//! prober's next wakeup (or a hook or probe deadline), so an idle pod costs no CPU between
//! probes. Probes run in child processes (`probes`), never in the loop.
//! SIGTERM or SIGINT is a graceful deletion, with the grace period from `delete-grace`
//! when [`crate::runtime::linux_runtime::LinuxRuntime::delete_pod`] wrote one.

mod events;
mod hooks;
mod output;
mod pod;
pub mod poddir;
mod probes;
mod resident;
mod wait;

pub use poddir::{PodDir, PodFile, ProcessId, replace_volatile, write_atomic};

use crate::runtime::lifecycle::{Action, ContainerRun, Event, PodMachine, ProbeKind, RestartPolicy, Time};
use crate::runtime::probe::{Prober, kind_word};
use crate::runtime::status::{ContainerState, PodStatus};
use events::PodEvents;
use pod::Pod;
use probes::{Finished, Runner};
use std::collections::VecDeque;
use std::os::fd::BorrowedFd;
use std::path::Path;
use wait::Waiter;

/// The name of the file holding the grace period of a pending deletion, in seconds.
pub const DELETE_GRACE_FILE: &str = "delete-grace";

/// The write end of the pipe through which `create_pod` learns that the supervisor is up.
#[derive(Debug)]
pub struct ReadyPipe(std::os::fd::OwnedFd);

impl ReadyPipe {
    /// Takes ownership of descriptor `fd`, inherited from the CLI; it must be a pipe.
    #[allow(unsafe_code)]
    pub fn adopt(fd: i32) -> std::io::Result<ReadyPipe> {
        use std::os::fd::{BorrowedFd, FromRawFd};
        use std::os::unix::fs::FileTypeExt;
        // SAFETY: only borrowed for the check; ownership is taken below once it is known
        // to be an open pipe.
        let meta = std::fs::File::from(unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?).metadata()?;
        if !meta.file_type().is_fifo() {
            return Err(std::io::Error::other(format!("--ready-fd {fd} is not a pipe")));
        }
        // SAFETY: the descriptor is open (checked above) and nothing else in this process owns it.
        Ok(ReadyPipe(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
    }

    fn signal(self) {
        let _ = nix::unistd::write(&self.0, b"r");
    }
}

/// Runs the supervisor of the pod in `pod_dir` until the pod is gone; returns the exit code
/// (0 after a clean end, 1 when the pod could not be supervised at all). `ready` is told
/// once the pid file is written.
pub fn run(pod_dir: &Path, ready: Option<ReadyPipe>) -> i32 {
    let dir = PodDir::new(pod_dir);
    let me = std::process::id() as i32;
    let Some(id) = ProcessId::of(me) else {
        eprintln!("cannot read /proc/{me}/stat");
        return 1;
    };
    // Signals must be blocked before anything is spawned, and before the pid file tells
    // the CLI that a SIGTERM would be handled.
    let waiter = match Waiter::new() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cannot set up signal handling: {e}");
            return 1;
        }
    };
    let migration_wait = crate::runtime::linux::cgroup::begin_migration_wait();
    if let Err(e) = replace_volatile(&dir.pid_file(), id.render().as_bytes()) {
        eprintln!("cannot write {}: {e}", dir.pid_file().display());
        return 1;
    }
    if let Some(ready) = ready {
        ready.signal();
    }
    let file = match dir.read_pod() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot read {}: {e}", dir.pod_file().display());
            return 1;
        }
    };
    let machine = match PodMachine::new(crate::runtime::podspec::lifecycle_input(&file.request)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cannot supervise pod {}: {e}", file.request.name);
            return 1;
        }
    };
    let spec = &file.request.spec;
    let sidecars = spec.init_containers.iter().filter(|c| c.is_sidecar());
    let prober = Prober::new(sidecars.chain(&spec.containers));
    let pod_events = PodEvents::new(dir.events_file(), &file.request.name, &file.request.uid);
    let pod = match Pod::new(dir.clone(), file, migration_wait) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut sup = Supervisor {
        dir,
        pod,
        machine,
        waiter,
        events: VecDeque::new(),
        last_status: None,
        prober,
        probes: Runner::default(),
        pod_events,
        started: false,
        deleting: false,
        backing_off: Vec::new(),
    };
    let code = sup.run_loop();
    if code == 0 {
        // A clean end: the status is final, and a missing pid file says so.
        let _ = std::fs::remove_file(sup.dir.pid_file());
    }
    code
}

struct Supervisor {
    dir: PodDir,
    pod: Pod,
    machine: PodMachine,
    waiter: Waiter,
    events: VecDeque<Event>,
    last_status: Option<Vec<u8>>,
    prober: Prober,
    probes: Runner,
    pod_events: PodEvents,
    /// A container started since the loop last went idle.
    started: bool,
    /// The pod is being deleted: its stop signals are the kubelet's `Killing`.
    deleting: bool,
    /// Containers waiting in CrashLoopBackOff, so that `BackOff` is recorded once per wait.
    backing_off: Vec<String>,
}

impl Supervisor {
    fn run_loop(&mut self) -> i32 {
        loop {
            let now = now();
            while let Some(event) = self.events.pop_front() {
                if matches!(event, Event::DeleteRequested { .. }) {
                    self.deleting = true;
                }
                if let Err(e) = self.machine.handle(now, event) {
                    eprintln!("{e}");
                }
            }
            for action in self.machine.next_actions(now) {
                self.started |= matches!(action, Action::StartContainer { .. });
                if action == Action::DestroySandbox {
                    // Exec probes run inside the containers' cgroups, which teardown removes.
                    self.probes.kill_all();
                }
                match self.pod.perform(action.clone(), now) {
                    Ok(events) => {
                        self.record_kubelet_events(&action, &events, now);
                        for warning in std::mem::take(&mut self.pod.env_warnings) {
                            self.pod_events
                                .record(now, "Warning", "InvalidEnvironmentVariableNames", &warning);
                        }
                        self.events.extend(events);
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        self.probes.kill_all();
                        self.pod.destroy();
                        self.write_status(now);
                        return 1;
                    }
                }
            }
            if !self.events.is_empty() {
                continue;
            }
            self.tick_probes(now);
            if !self.events.is_empty() {
                continue;
            }
            self.write_status(now);
            self.pod.acknowledge_data();
            if self.machine.is_done() {
                self.probes.kill_all();
                return 0;
            }
            let until = |t: Option<Time>| t.map(|t| (t - now).to_std().unwrap_or_default());
            let timeout = [
                until(self.machine.next_wakeup()),
                until(self.prober.next_wakeup()),
                until(self.pod.token_due()),
                self.pod.next_hook_deadline(),
                self.probes.next_deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            if std::mem::take(&mut self.started) {
                // Going idle after starting containers: drop the set-up code's mappings.
                resident::release_code_mappings();
            }
            let n_pipes = self.pod.pipes.len();
            let fds: Vec<BorrowedFd<'_>> = self.pod.pipes.iter().map(|p| p.fd()).chain(self.probes.fds()).collect();
            let woken = match self.waiter.wait(&fds, timeout) {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("poll failed: {e}");
                    continue;
                }
            };
            if woken.reload {
                self.pod.reload_data();
                self.events.push_back(Event::ConfigChanged);
            } else if self.pod.token_due().is_some_and(|due| due <= crate::time::now()) {
                // The kubelet's token manager: a new token after 80 % of the old one's life.
                self.pod.reload_data();
            }
            if woken.terminate {
                let grace = std::fs::read_to_string(self.dir.root().join(DELETE_GRACE_FILE))
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                self.events.push_back(Event::DeleteRequested {
                    grace_period_seconds: grace,
                });
            }
            let (logs, probe_pipes): (Vec<usize>, Vec<usize>) = woken.readable.iter().partition(|i| **i < n_pipes);
            self.pod.drain_pipes(&logs);
            let probe_pipes: Vec<usize> = probe_pipes.into_iter().map(|i| i - n_pipes).collect();
            self.probes.drain(&probe_pipes);
            self.events.extend(self.pod.reap());
            self.events.extend(self.pod.expired_hooks());
            for finished in self.probes.collect() {
                self.probe_finished(finished);
            }
        }
    }

    /// Steps the probe workers: results that changed go to the machine, due probes start.
    fn tick_probes(&mut self, now: Time) {
        if self.prober.is_empty() {
            return;
        }
        let ticked = self.prober.tick(now, &self.machine);
        for event in ticked.events {
            self.note_probe_kill(now, &event);
            self.events.push_back(event);
        }
        for due in ticked.due {
            let name = due.container.clone();
            let spec = self.pod.container_spec(&name);
            let target = self.pod.exec_target(&name);
            if let Some(finished) = self.probes.start(due, spec, target) {
                self.probe_finished(finished);
            }
        }
    }

    /// Records a probe's raw result: an `Unhealthy` event when it failed
    /// (prober.go `recordContainerEvent`), and the thresholded change for the machine.
    fn probe_finished(&mut self, f: Finished) {
        let now = now();
        if !f.success {
            let message = format!("{} probe failed: {}", kind_word(f.kind), f.output.trim_end());
            self.pod_events.record(now, "Warning", "Unhealthy", &message);
        }
        if let Some(event) = self.prober.record(f.id, f.instance, f.success) {
            self.note_probe_kill(now, &event);
            self.events.push_back(event);
        }
    }

    /// The `Killing` event of a container that failed its liveness or startup probe
    /// (computePodActions: "Container %s failed liveness probe, will be restarted").
    fn note_probe_kill(&self, now: Time, event: &Event) {
        let Event::Probe {
            name,
            kind: kind @ (ProbeKind::Liveness | ProbeKind::Startup),
            success: false,
        } = event
        else {
            return;
        };
        let running = self
            .machine
            .container_view(name)
            .is_some_and(|c| matches!(c.run, ContainerRun::Running { .. }));
        let pod = self.machine.pod_view();
        if !running || pod.deleting {
            return;
        }
        let what = if *kind == ProbeKind::Liveness {
            "liveness"
        } else {
            "startup"
        };
        let mut message = format!("Container {name} failed {what} probe");
        if pod.restart_policy != RestartPolicy::Never {
            message.push_str(", will be restarted");
        }
        self.pod_events.record(now, "Normal", "Killing", &message);
    }

    /// Writes `status.json` when it changed.
    /// The events the kubelet records for what an action did (`Pulled`, `Created`,
    /// `Started`, `Failed`, `FailedPostStartHook`, `Killing`).
    fn record_kubelet_events(&self, action: &Action, events: &[Event], now: Time) {
        match action {
            Action::StartContainer { name, .. } => {
                for e in events {
                    match e {
                        Event::ContainerStarted { name: n } if n == name => {
                            let image = self.pod.image_of(name).unwrap_or_default();
                            let log = &self.pod_events;
                            log.record(
                                now,
                                "Normal",
                                "Pulled",
                                &format!("Container image {image:?} already present on machine"),
                            );
                            log.record(now, "Normal", "Created", &format!("Created container: {name}"));
                            log.record(now, "Normal", "Started", &format!("Started container {name}"));
                        }
                        Event::ContainerCreateFailed {
                            name: n,
                            failure: crate::runtime::lifecycle::CreateFailure::VolumeNotReady { message },
                        } if n == name => {
                            self.pod_events.record(now, "Warning", "FailedMount", message);
                        }
                        Event::ContainerCreateFailed { name: n, failure } if n == name => {
                            let message = match failure {
                                crate::runtime::lifecycle::CreateFailure::ImageMissing { message }
                                | crate::runtime::lifecycle::CreateFailure::ConfigError { message }
                                | crate::runtime::lifecycle::CreateFailure::VolumeNotReady { message }
                                | crate::runtime::lifecycle::CreateFailure::ExecutableNotFound { message } => message,
                            };
                            self.pod_events
                                .record(now, "Warning", "Failed", &format!("Error: {message}"));
                        }
                        _ => {}
                    }
                }
            }
            Action::RunPostStart { name } => {
                for e in events {
                    if let Event::PostStartFailed { name: n, message } = e
                        && n == name
                    {
                        self.pod_events.record(now, "Warning", "FailedPostStartHook", message);
                    }
                }
            }
            Action::Signal {
                name,
                signal: crate::runtime::lifecycle::StopSignal::Term,
            } if self.deleting => {
                self.pod_events
                    .record(now, "Normal", "Killing", &format!("Stopping container {name}"));
            }
            _ => {}
        }
    }

    /// `BackOff` once each time a container starts waiting in CrashLoopBackOff.
    fn record_back_off(&mut self, status: &PodStatus) {
        let waiting: Vec<String> = status
            .init_container_statuses
            .iter()
            .chain(&status.container_statuses)
            .filter(|c| matches!(&c.state, ContainerState::Waiting { reason, .. } if reason == "CrashLoopBackOff"))
            .map(|c| c.name.clone())
            .collect();
        for name in waiting.iter().filter(|n| !self.backing_off.contains(n)) {
            let message = format!(
                "Back-off restarting failed container {name} in pod {}",
                self.pod.full_name()
            );
            self.pod_events
                .record(crate::time::now(), "Warning", "BackOff", &message);
        }
        self.backing_off = waiting;
    }

    fn write_status(&mut self, now: Time) {
        let mut status = self.machine.status(now);
        self.pod.decorate(&mut status);
        self.record_back_off(&status);
        let Ok(bytes) = serde_json::to_vec_pretty(&status) else {
            return;
        };
        if self.last_status.as_ref() == Some(&bytes) {
            return;
        }
        match replace_volatile(&self.dir.status_file(), &bytes) {
            Ok(()) => self.last_status = Some(bytes),
            Err(e) => eprintln!("cannot write {}: {e}", self.dir.status_file().display()),
        }
    }
}

fn now() -> Time {
    crate::time::now()
}
