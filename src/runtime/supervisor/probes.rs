//! Running probes without blocking the supervisor loop: every probe is a child process whose
//! output comes back through a pipe the loop polls, reaped after SIGCHLD and SIGKILLed when
//! its timeout passes.
//!
//! * exec: the command is exec'd inside the container, as a hook is (`hooks::spawn_with`),
//!   with only the container's `PATH` (exec probes do not get the pod's environment,
//!   pkg/kubelet/prober/worker.go); success is exit code 0; the output is stdout and stderr.
//! * httpGet and tcpSocket: a forked copy of the supervisor joins the container's network
//!   namespace (the pod's, or the host's with hostNetwork) and runs [`NetCheck`]
//!   (`hooks::fork_in_network`, which httpGet hooks use too); it writes
//!   `1` or `0` and the message to the pipe and exits. The supervisor is single-threaded, so
//!   the fork is safe to allocate in.

use super::hooks::{self, ExecTarget};
use crate::manifest::types::container::Container as ContainerSpec;
use crate::runtime::lifecycle::ProbeKind;
use crate::runtime::probe::{Due, NetCheck, ProbeId};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Upstream keeps at most this much probe output (`maxReadLength` in pkg/probe/exec).
const MAX_OUTPUT: usize = 10 * 1024;

/// Network checks time themselves out; the supervisor kills one this long after its timeout.
const NET_BACKSTOP: Duration = Duration::from_secs(1);

/// The default `PATH` of runc and containerd, for a container whose environment has none.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A probe that ended (or could not start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub id: ProbeId,
    pub instance: u32,
    pub container: String,
    pub kind: ProbeKind,
    pub success: bool,
    /// What the kubelet would record: the command's output, or the HTTP/TCP message.
    pub output: String,
}

enum Process {
    Exec(Child),
    Net(Pid),
}

struct Running {
    due: Due,
    process: Process,
    output: File,
    buf: Vec<u8>,
    deadline: Instant,
    timeout_message: String,
}

/// The probes in flight of one pod.
#[derive(Default)]
pub struct Runner {
    running: Vec<Running>,
}

impl Runner {
    /// Starts `due` against its container; returns the result at once when it cannot start.
    pub fn start(&mut self, due: Due, spec: Option<&ContainerSpec>, target: Option<&ExecTarget>) -> Option<Finished> {
        let fail = |due: &Due, output: String| {
            Some(Finished {
                id: due.id,
                instance: due.instance,
                container: due.container.clone(),
                kind: due.kind,
                success: false,
                output,
            })
        };
        let (Some(spec), Some(target)) = (spec, target) else {
            return fail(&due, "the container is not running".into());
        };
        let started = if let Some(exec) = &due.probe.exec {
            spawn_exec(target, &exec.command).map(|(child, output)| {
                let message = format!("command {:?} timed out", exec.command.join(" "));
                (Process::Exec(child), output, due.timing.timeout, message)
            })
        } else {
            let check = match (&due.probe.http_get, &due.probe.tcp_socket) {
                (Some(g), _) => NetCheck::http(g, spec),
                (None, Some(t)) => NetCheck::tcp(t, spec),
                (None, None) => Err("the probe has no exec, httpGet or tcpSocket handler".into()),
            };
            match check {
                Ok(check) => {
                    hooks::fork_in_network(target.pid, || check.run(due.timing.timeout)).map(|(pid, output)| {
                        let message = format!("probe did not finish within {}s", due.timing.timeout.as_secs());
                        (Process::Net(pid), output, due.timing.timeout + NET_BACKSTOP, message)
                    })
                }
                Err(message) => return fail(&due, message),
            }
        };
        match started {
            Ok((process, output, budget, timeout_message)) => {
                self.running.push(Running {
                    due,
                    process,
                    output,
                    buf: Vec::new(),
                    deadline: Instant::now() + budget,
                    timeout_message,
                });
                None
            }
            Err(e) => fail(&due, format!("cannot start the probe: {e}")),
        }
    }

    /// The output pipes to poll, in the order [`drain`](Self::drain) indexes them.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.running.iter().map(|r| r.output.as_fd()).collect()
    }

    /// Reads what the readable pipes (indexes into [`fds`](Self::fds)) hold.
    pub fn drain(&mut self, readable: &[usize]) {
        for &i in readable {
            if let Some(r) = self.running.get_mut(i) {
                r.read_available();
            }
        }
    }

    /// Probes that ended, and probes past their deadline (killed; a Failure).
    pub fn collect(&mut self) -> Vec<Finished> {
        let now = Instant::now();
        let mut done = Vec::new();
        let mut i = 0;
        while i < self.running.len() {
            let r = &mut self.running[i];
            let (success, output) = match r.exited() {
                Some(exit_ok) => r.verdict(exit_ok),
                None if now >= r.deadline => {
                    r.kill();
                    (false, r.timeout_message.clone())
                }
                None => {
                    i += 1;
                    continue;
                }
            };
            let r = self.running.remove(i);
            done.push(Finished {
                id: r.due.id,
                instance: r.due.instance,
                container: r.due.container,
                kind: r.due.kind,
                success,
                output,
            });
        }
        done
    }

    /// Time until the earliest probe deadline.
    pub fn next_deadline(&self) -> Option<Duration> {
        let now = Instant::now();
        self.running
            .iter()
            .map(|r| r.deadline.saturating_duration_since(now))
            .min()
    }

    /// Kills and reaps every probe in flight.
    pub fn kill_all(&mut self) {
        for mut r in self.running.drain(..) {
            r.kill();
        }
    }
}

impl Running {
    fn read_available(&mut self) {
        let mut chunk = [0u8; 4096];
        loop {
            match self.output.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => {
                    let room = MAX_OUTPUT.saturating_sub(self.buf.len());
                    self.buf.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Whether the process ended, and if so whether it exited 0; its output is read in full.
    fn exited(&mut self) -> Option<bool> {
        let success = match &mut self.process {
            Process::Exec(child) => child.try_wait().ok()??.code() == Some(0),
            Process::Net(pid) => match waitpid(*pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => return None,
                Ok(WaitStatus::Exited(_, code)) => code == 0,
                Ok(_) | Err(_) => false,
            },
        };
        self.read_available();
        Some(success)
    }

    /// The result of a process that ended: an exec probe's exit code and output, or what a
    /// network check wrote.
    fn verdict(&self, exit_ok: bool) -> (bool, String) {
        match (&self.process, self.buf.split_first()) {
            (Process::Exec(_), _) => (exit_ok, String::from_utf8_lossy(&self.buf).into_owned()),
            (Process::Net(_), Some((flag, message))) => (*flag == b'1', String::from_utf8_lossy(message).into_owned()),
            (Process::Net(_), None) => (false, "the probe process ended without a result".into()),
        }
    }

    fn kill(&mut self) {
        match &mut self.process {
            Process::Exec(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Process::Net(pid) => {
                let _ = kill(*pid, Signal::SIGKILL);
                let _ = waitpid(*pid, None);
            }
        }
    }
}

fn spawn_exec(target: &ExecTarget, argv: &[String]) -> std::io::Result<(Child, File)> {
    let path = target
        .env
        .iter()
        .find(|e| e.starts_with("PATH="))
        .cloned()
        .unwrap_or_else(|| DEFAULT_PATH.to_string());
    let (read, write) = hooks::nonblocking_pipe()?;
    let stderr = write.try_clone()?;
    let child = hooks::spawn_with(target, argv, &[path], Stdio::from(write), Stdio::from(stderr))?;
    Ok((child, read))
}
