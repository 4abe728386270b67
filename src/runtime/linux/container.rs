//! Starting a container process in a pod's sandbox, and waiting for or signalling it.
//!
//! The caller forks an intermediate child that joins the sandbox's IPC, UTS and network
//! namespaces, the container's cgroup and the target PID namespace, then clones the
//! container process with `CLONE_PARENT | CLONE_NEWNS` (so the caller is its parent and can
//! `waitpid` it, as runc's nsexec does), reports its pid and exits. The container process
//! builds its root (`init.rs`) and execs; failures come back over a close-on-exec pipe.

use super::cgroup::Cgroup;
use super::error::{ProcessError, receive};
use super::init::{self, InitPlan};
use super::mounts::Mount;
use super::rootfs::RootfsDirs;
use super::sandbox::{PidNamespace, PodNamespaces};
use super::sys;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Everything needed to start one container; the supervisor fills it from the PodSpec and
/// the image.
#[derive(Debug, Clone, Default)]
pub struct ContainerConfig {
    /// The image layers for overlayfs, top-most first.
    pub lower_dirs: Vec<PathBuf>,
    /// The container's writable layer and mount point.
    pub rootfs: Option<RootfsDirs>,
    /// `readOnlyRootFilesystem`.
    pub readonly_rootfs: bool,
    /// The sandbox's namespaces ([`super::Sandbox::namespaces`]).
    pub namespaces: PodNamespaces,
    /// The container's cgroup; the process is inside it before it execs.
    pub cgroup: Option<Cgroup>,
    /// Files bind-mounted at `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`.
    pub etc: EtcFiles,
    /// Volume mounts, applied shallowest destination first.
    pub mounts: Vec<Mount>,
    /// The command and its arguments (command/args or entrypoint/cmd, already combined).
    /// `argv[0]` without a slash is looked up in the container's `$PATH`.
    pub argv: Vec<String>,
    /// The environment, `NAME=value`, in order.
    pub env: Vec<String>,
    /// The working directory inside the container (created when missing); `/` when None.
    pub working_dir: Option<PathBuf>,
    /// `runAsUser`/`runAsGroup`/supplemental groups; root when None.
    pub user: Option<User>,
    /// Capabilities, `no_new_privs` and the masked paths (`securityContext`).
    pub restrictions: super::Restrictions,
    /// Written to `/proc/self/oom_score_adj` when allowed (lowering it needs
    /// CAP_SYS_RESOURCE, which is not required: a refused write is ignored).
    pub oom_score_adj: Option<i32>,
}

/// The `/etc` files the kubelet manages (`spec/k8s-semantics.md` §10); see [`super::hosts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcFiles {
    /// Mounted at `/etc/hosts`.
    pub hosts: Option<PathBuf>,
    /// Mounted at `/etc/hostname`.
    pub hostname: Option<PathBuf>,
    /// Mounted at `/etc/resolv.conf`.
    pub resolv_conf: Option<PathBuf>,
}

/// The identity the process runs as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// `runAsUser`.
    pub uid: u32,
    /// `runAsGroup` (the image's group or 0 when unset).
    pub gid: u32,
    /// Supplemental groups.
    pub additional_gids: Vec<u32>,
}

/// Where the container's standard streams go; None is `/dev/null`.
#[derive(Debug, Default)]
pub struct ContainerStdio {
    /// Standard input.
    pub stdin: Option<OwnedFd>,
    /// Standard output (a pipe to the log writer, or a file).
    pub stdout: Option<OwnedFd>,
    /// Standard error.
    pub stderr: Option<OwnedFd>,
}

/// How a container process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerExit {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
}

impl ContainerExit {
    /// The exit code Kubernetes reports: the code, or 128 + the signal number.
    pub fn code(&self) -> i32 {
        match *self {
            ContainerExit::Exited(code) => code,
            ContainerExit::Signaled(signal) => 128 + signal,
        }
    }
}

/// A started container process, a child of the caller. Dropping it SIGKILLs and reaps the
/// process if it was not waited for; [`Container::detach`] leaves it running.
#[derive(Debug)]
pub struct Container {
    pid: Pid,
    exit: Option<ContainerExit>,
}

impl Container {
    /// Starts the container and returns once it has exec'd its command. On failure the
    /// child is reaped and the error names the failed step and path.
    pub fn spawn(config: &ContainerConfig, stdio: ContainerStdio) -> Result<Container, ProcessError> {
        let Some(argv0) = config.argv.first() else {
            return Err(ProcessError::Sys {
                op: "start a container without a command".into(),
                source: Errno::EINVAL,
            });
        };
        let Some(rootfs) = &config.rootfs else {
            return Err(ProcessError::Sys {
                op: format!("start {argv0:?} without a root filesystem"),
                source: Errno::EINVAL,
            });
        };
        let ns = open_namespaces(&config.namespaces)?;
        let null = || open_file("/dev/null", OFlag::O_RDWR);
        let stdio = [
            stdio.stdin.map_or_else(null, Ok)?,
            stdio.stdout.map_or_else(null, Ok)?,
            stdio.stderr.map_or_else(null, Ok)?,
        ];
        let plan = InitPlan::new(config, rootfs);
        let (report_r, report_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(ProcessError::sys("create a pipe"))?;
        let (pid_r, pid_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(ProcessError::sys("create a pipe"))?;
        let cgroup_files = config.cgroup.as_ref().map(|c| c.procs_files()).unwrap_or_default();
        let Some(middle) = sys::fork().map_err(ProcessError::sys("fork"))? else {
            let failure = intermediate(&ns, &cgroup_files, &stdio, &plan, &report_w, &pid_w);
            failure.send(&report_w);
            sys::exit_now(1);
        };
        drop((report_w, pid_w, stdio, ns));
        let _ = waitpid(middle, None);
        let mut buf = [0u8; 4];
        let got = nix::unistd::read(&pid_r, &mut buf).unwrap_or(0);
        let error = receive(report_r)?;
        if got != 4 {
            return Err(error.unwrap_or(ProcessError::Died {
                pid: middle.as_raw(),
                status: "no pid reported".into(),
            }));
        }
        let mut container = Container {
            pid: Pid::from_raw(i32::from_le_bytes(buf)),
            exit: None,
        };
        if let Some(error) = error {
            let _ = container.wait();
            return Err(error);
        }
        Ok(container)
    }

    /// The container process's pid in the caller's PID namespace.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Waits until the process ends.
    pub fn wait(&mut self) -> Result<ContainerExit, ProcessError> {
        self.wait_with(None).map(|e| e.expect("blocking wait returns a status"))
    }

    /// The exit status when the process has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ContainerExit>, ProcessError> {
        self.wait_with(Some(WaitPidFlag::WNOHANG))
    }

    fn wait_with(&mut self, flags: Option<WaitPidFlag>) -> Result<Option<ContainerExit>, ProcessError> {
        if let Some(exit) = self.exit {
            return Ok(Some(exit));
        }
        loop {
            let status = match waitpid(self.pid, flags) {
                Err(Errno::EINTR) => continue,
                other => other.map_err(ProcessError::sys(format!("wait for container {}", self.pid)))?,
            };
            self.exit = match status {
                WaitStatus::Exited(_, code) => Some(ContainerExit::Exited(code)),
                WaitStatus::Signaled(_, signal, _) => Some(ContainerExit::Signaled(signal as i32)),
                WaitStatus::StillAlive => None,
                _ => continue,
            };
            return Ok(self.exit);
        }
    }

    /// Sends `signal` to the container process (ignored once it has been reaped).
    pub fn signal(&self, signal: Signal) -> Result<(), ProcessError> {
        if self.exit.is_some() {
            return Ok(());
        }
        kill(self.pid, signal).map_err(ProcessError::sys(format!("signal container {}", self.pid)))
    }

    /// Forgets the process without stopping it; returns its pid.
    pub fn detach(mut self) -> i32 {
        self.exit = Some(ContainerExit::Exited(0));
        self.pid.as_raw()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = self.wait();
        }
    }
}

fn open_file(path: &str, flags: OFlag) -> Result<OwnedFd, ProcessError> {
    nix::fcntl::open(Path::new(path), flags | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(ProcessError::sys(format!("open {path}")))
}

/// Namespace descriptors, opened by the caller so that a sandbox that died is seen here.
struct NamespaceFds {
    join: Vec<(OwnedFd, CloneFlags)>,
    pid: PidNamespace,
}

fn open_namespaces(ns: &PodNamespaces) -> Result<NamespaceFds, ProcessError> {
    let mut join = Vec::new();
    let wanted = [
        (&ns.ipc, CloneFlags::CLONE_NEWIPC),
        (&ns.uts, CloneFlags::CLONE_NEWUTS),
        (&ns.net, CloneFlags::CLONE_NEWNET),
    ];
    for (path, flag) in wanted {
        if let Some(path) = path {
            join.push((open_file(&path.display().to_string(), OFlag::O_RDONLY)?, flag));
        }
    }
    if let PidNamespace::Join(path) = &ns.pid {
        join.push((
            open_file(&path.display().to_string(), OFlag::O_RDONLY)?,
            CloneFlags::CLONE_NEWPID,
        ));
    }
    Ok(NamespaceFds {
        join,
        pid: ns.pid.clone(),
    })
}

/// The intermediate child: cgroup, namespaces, stdio, then the container process.
/// Only returns on failure.
fn intermediate(
    ns: &NamespaceFds,
    cgroup_files: &[PathBuf],
    stdio: &[OwnedFd; 3],
    plan: &InitPlan,
    report: &OwnedFd,
    pid_pipe: &OwnedFd,
) -> super::error::ChildFailure {
    use super::error::ChildFailure;
    let run = || -> Result<(), ChildFailure> {
        for file in cgroup_files {
            // "0" moves the writer; the container process inherits the cgroup when cloned.
            std::fs::write(file, "0").map_err(|e| ChildFailure::Setup {
                step: format!("join cgroup {}", file.display()).into(),
                errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
            })?;
        }
        for (fd, flag) in &ns.join {
            nix::sched::setns(fd, *flag).map_err(ChildFailure::setup(format!("join the pod's {flag:?} namespace")))?;
        }
        if ns.pid == PidNamespace::Private {
            nix::sched::unshare(CloneFlags::CLONE_NEWPID).map_err(ChildFailure::setup("create a PID namespace"))?;
        }
        let high: Vec<OwnedFd> = stdio
            .iter()
            .map(|fd| sys::dup_high(fd.as_raw_fd()))
            .collect::<nix::Result<_>>()
            .map_err(ChildFailure::setup("duplicate stdio"))?;
        for (target, fd) in high.iter().enumerate() {
            sys::dup_onto(fd.as_raw_fd(), target as i32).map_err(ChildFailure::setup("set up stdio"))?;
        }
        let mut child = || init::run(plan, report);
        let pid = sys::clone_child(CloneFlags::CLONE_PARENT | CloneFlags::CLONE_NEWNS, &mut child)
            .map_err(ChildFailure::setup("clone the container process"))?;
        nix::unistd::write(pid_pipe, &pid.as_raw().to_le_bytes()).map_err(ChildFailure::setup("report the pid"))?;
        sys::exit_now(0)
    };
    match run() {
        Ok(()) => sys::exit_now(0),
        Err(failure) => failure,
    }
}
