//! The pod sandbox: the pod's network, IPC, UTS and (with `shareProcessNamespace`) PID
//! namespaces, held for as long as the pod lives.
//!
//! Two ways to hold them. [`enter`] moves the calling process (the pod's supervisor) into
//! new namespaces, so the pod needs no process of its own for them: its children, the
//! containers and probes, inherit them. A shared PID namespace needs a PID 1 that is not the
//! supervisor, and [`Sandbox::start`] gives one: an infra ("pause") process created with
//! `clone(2)` on a fresh stack, which can also create the network, IPC and UTS namespaces
//! itself. It sets the pod's host name, brings `lo` up, reports to the parent through a pipe
//! and then waits for signals: SIGTERM or SIGINT end it, SIGCHLD makes it reap orphans.

use super::cgroup::Cgroup;
use super::error::{ChildFailure, ProcessError, receive};
use super::sys;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How the pod's namespaces are set up.
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    /// The UTS host name (the pod's hostname, or its FQDN with `setHostnameAsFQDN`). Only set
    /// when the pod has its own UTS namespace, i.e. without `host_network`.
    pub hostname: Option<String>,
    /// Share the host's network and UTS namespaces (`hostNetwork`).
    pub host_network: bool,
    /// Share the host's IPC namespace (`hostIPC`).
    pub host_ipc: bool,
    /// Share the host's PID namespace (`hostPID`); wins over `share_process_namespace`.
    pub host_pid: bool,
    /// One PID namespace for the whole pod, with the sandbox as PID 1
    /// (`shareProcessNamespace`).
    pub share_process_namespace: bool,
    /// The cgroup the sandbox process runs in (a leaf, such as `<pod>/pause`).
    pub cgroup: Option<Cgroup>,
}

/// The namespaces a container of the pod joins; `None` keeps the caller's (the host's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodNamespaces {
    /// `/proc/<pid>/ns/net` of the sandbox.
    pub net: Option<PathBuf>,
    /// `/proc/<pid>/ns/ipc` of the sandbox.
    pub ipc: Option<PathBuf>,
    /// `/proc/<pid>/ns/uts` of the sandbox.
    pub uts: Option<PathBuf>,
    /// Which PID namespace the container gets.
    pub pid: PidNamespace,
}

/// The PID namespace of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PidNamespace {
    /// A new one, with the container's process as PID 1 (the Kubernetes default).
    #[default]
    Private,
    /// The pod's shared one (`/proc/<sandbox>/ns/pid`).
    Join(PathBuf),
    /// The host's (`hostPID`).
    Host,
}

/// Moves the calling process into the namespaces `config` asks for except the PID one
/// (network and UTS unless `host_network`, IPC unless `host_ipc`), sets the host name and
/// brings `lo` up. Children started afterwards inherit them, so the returned namespaces name
/// none to join; `pid` is [`PidNamespace::Private`] or [`PidNamespace::Host`]. A shared PID
/// namespace needs a [`Sandbox`] started afterwards (it then inherits these namespaces).
///
/// The caller must be single-threaded: `unshare` moves only the calling thread.
pub fn enter(config: &SandboxConfig) -> Result<PodNamespaces, ProcessError> {
    nix::sched::unshare(own_namespaces(config)).map_err(ProcessError::sys("create the pod's namespaces"))?;
    if !config.host_network {
        if let Some(name) = &config.hostname {
            nix::unistd::sethostname(name).map_err(ProcessError::sys(format!("set hostname {name:?}")))?;
        }
        sys::set_link_up("lo").map_err(ProcessError::sys("bring lo up"))?;
    }
    Ok(PodNamespaces {
        pid: if config.host_pid {
            PidNamespace::Host
        } else {
            PidNamespace::Private
        },
        ..PodNamespaces::default()
    })
}

/// The network, UTS and IPC namespaces a pod gets of its own (those it does not share with
/// the host).
fn own_namespaces(config: &SandboxConfig) -> CloneFlags {
    let mut flags = CloneFlags::empty();
    if !config.host_network {
        flags |= CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWUTS;
    }
    if !config.host_ipc {
        flags |= CloneFlags::CLONE_NEWIPC;
    }
    flags
}

/// A running sandbox. Dropping it kills the process (SIGKILL) and reaps it; use
/// [`Sandbox::stop`] for a graceful end, [`Sandbox::detach`] to leave it running.
#[derive(Debug)]
pub struct Sandbox {
    pid: Pid,
    namespaces: PodNamespaces,
    reaped: bool,
}

impl Sandbox {
    /// Starts the sandbox process and waits until its namespaces are ready. Must be called
    /// by the process that will later reap it.
    pub fn start(config: &SandboxConfig) -> Result<Sandbox, ProcessError> {
        let mut flags = own_namespaces(config);
        let shared_pid = config.share_process_namespace && !config.host_pid;
        if shared_pid {
            flags |= CloneFlags::CLONE_NEWPID;
        }
        let (report_r, report_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(ProcessError::sys("create a pipe"))?;
        let mut child = || match setup(config, &report_w) {
            Ok(()) => {
                drop_fd(&report_w);
                pause_loop()
            }
            Err(failure) => {
                failure.send(&report_w);
                1
            }
        };
        let pid = sys::clone_child(flags, &mut child).map_err(ProcessError::sys("clone the sandbox"))?;
        drop(report_w);
        let mut sandbox = Sandbox {
            pid,
            namespaces: PodNamespaces::default(),
            reaped: false,
        };
        if let Some(mut error) = receive(report_r)? {
            if let (ProcessError::Setup { step, .. }, Some(name)) = (&mut error, &config.hostname)
                && step == SET_HOSTNAME
            {
                *step = format!("set hostname {name:?}");
            }
            return Err(error);
        }
        if let Some(cgroup) = &config.cgroup {
            cgroup.add_pid(pid.as_raw()).map_err(|e| ProcessError::Setup {
                step: format!("move the sandbox into cgroup {}", cgroup.relative_path().display()),
                source: std::io::Error::other(e),
            })?;
        }
        let ns = |name: &str| Some(PathBuf::from(format!("/proc/{pid}/ns/{name}")));
        sandbox.namespaces = PodNamespaces {
            net: if config.host_network { None } else { ns("net") },
            uts: if config.host_network { None } else { ns("uts") },
            ipc: if config.host_ipc { None } else { ns("ipc") },
            pid: if config.host_pid {
                PidNamespace::Host
            } else if shared_pid {
                PidNamespace::Join(ns("pid").expect("set above"))
            } else {
                PidNamespace::Private
            },
        };
        Ok(sandbox)
    }

    /// The sandbox's pid in the caller's PID namespace.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// The namespaces containers of this pod join.
    pub fn namespaces(&self) -> &PodNamespaces {
        &self.namespaces
    }

    /// Whether the process is still alive (reaps it when it has exited).
    pub fn is_running(&mut self) -> bool {
        if self.reaped {
            return false;
        }
        match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => true,
            _ => {
                self.reaped = true;
                false
            }
        }
    }

    /// Sends SIGTERM, waits up to `grace` for the process to exit, then SIGKILLs it.
    pub fn stop(mut self, grace: Duration) -> Result<(), ProcessError> {
        let deadline = Instant::now() + grace;
        let _ = kill(self.pid, Signal::SIGTERM);
        while Instant::now() < deadline {
            if !self.is_running() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.kill_and_reap()
    }

    /// Forgets the process without stopping it; returns its pid.
    pub fn detach(mut self) -> i32 {
        self.reaped = true;
        self.pid.as_raw()
    }

    fn kill_and_reap(&mut self) -> Result<(), ProcessError> {
        if self.reaped {
            return Ok(());
        }
        let _ = kill(self.pid, Signal::SIGKILL);
        self.reaped = true;
        match waitpid(self.pid, None) {
            Ok(_) | Err(Errno::ECHILD) => Ok(()),
            Err(e) => Err(ProcessError::sys(format!("wait for sandbox {}", self.pid))(e)),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.kill_and_reap();
    }
}

fn drop_fd(fd: &OwnedFd) {
    let _ = nix::unistd::close(fd.as_raw_fd());
}

/// The step name the child reports when the host name cannot be set; the parent adds the name.
const SET_HOSTNAME: &str = "set the host name";

/// Runs in the child: session, host name, loopback, signal handling. The child is a `clone`
/// of a possibly multi-threaded process, which glibc does not prepare for allocation the way
/// it prepares a `fork` child (a malloc lock held by another thread stays locked), so this
/// code must not allocate: every step name is static, and the parent joins the cgroup.
fn setup(config: &SandboxConfig, report: &OwnedFd) -> Result<(), ChildFailure> {
    // Descriptors of the parent (other pods' report pipes among them) must not be held open
    // for the lifetime of the pod.
    sys::close_all_except(3, report.as_raw_fd()).map_err(ChildFailure::setup("close inherited descriptors"))?;
    nix::unistd::setsid().map_err(ChildFailure::setup("setsid"))?;
    if !config.host_network {
        if let Some(name) = &config.hostname {
            nix::unistd::sethostname(name).map_err(ChildFailure::setup(SET_HOSTNAME))?;
        }
        sys::set_link_up("lo").map_err(ChildFailure::setup("bring lo up"))?;
    }
    sys::reset_signals().map_err(ChildFailure::setup("reset signals"))?;
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGCHLD] {
        sys::catch_signal(signal).map_err(ChildFailure::setup("install signal handlers"))?;
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&wait_set()), None).map_err(ChildFailure::setup("block signals"))
}

fn wait_set() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.add(Signal::SIGCHLD);
    set
}

/// The pause loop; returns the exit code.
fn pause_loop() -> i32 {
    let set = wait_set();
    loop {
        match set.wait() {
            Ok(Signal::SIGCHLD) => {
                while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    if status == WaitStatus::StillAlive {
                        break;
                    }
                }
            }
            Ok(_) => return 0,
            Err(_) => continue,
        }
    }
}
