//! Running a lifecycle hook's or an exec probe's command inside a running container: the child joins the
//! container's cgroup and its IPC, UTS, network, PID and mount namespaces (as `runc exec`
//! does) before it execs.
#![allow(unsafe_code)]

use crate::runtime::linux::{Cgroup, Restrictions, User};
use crate::runtime::probe::HttpRequest;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// What a hook command needs from its container.
#[derive(Debug, Clone)]
pub struct ExecTarget {
    /// The container's process (host PID namespace).
    pub pid: i32,
    pub cgroup: Option<Cgroup>,
    /// `NAME=value` entries.
    pub env: Vec<String>,
    pub working_dir: Option<PathBuf>,
    pub user: Option<User>,
    /// The container's capabilities and `no_new_privs`, which its hooks and probes get too.
    pub restrictions: Restrictions,
}

/// A running hook's process.
#[derive(Debug)]
pub enum HookProcess {
    /// An exec hook's command, in the container.
    Exec(Child),
    /// An httpGet hook: a forked copy of the supervisor in the container's network namespace
    /// making the request ([`fork_in_network`]).
    Http { pid: Pid, output: File },
}

impl HookProcess {
    /// Kills the process and reaps it.
    pub fn kill(&mut self) {
        match self {
            HookProcess::Exec(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            HookProcess::Http { pid, .. } => {
                let _ = kill(*pid, Signal::SIGKILL);
                let _ = waitpid(*pid, None);
            }
        }
    }

    /// The outcome once the process has ended (reaping it), None while it runs. `command`
    /// names an exec hook's command in the error.
    pub fn try_finish(&mut self, command: &str) -> Option<Result<(), String>> {
        match self {
            HookProcess::Exec(child) => {
                let status = child.try_wait().ok()??;
                Some(match status.code() {
                    Some(0) => Ok(()),
                    _ => Err(format!("command {command} exited with {status}")),
                })
            }
            HookProcess::Http { pid, output } => {
                if let Ok(WaitStatus::StillAlive) = waitpid(*pid, Some(WaitPidFlag::WNOHANG)) {
                    return None;
                }
                let mut result = Vec::new();
                let _ = output.read_to_end(&mut result);
                Some(match result.split_first() {
                    Some((b'1', _)) => Ok(()),
                    Some((_, message)) => Err(String::from_utf8_lossy(message).into_owned()),
                    None => Err("the request's process ended without a result".into()),
                })
            }
        }
    }
}

/// Starts an httpGet hook's request from the network namespace of the container's process
/// `pid` (the pod's, or the host's with hostNetwork), as the kubelet does from outside.
pub fn spawn_http(pid: i32, request: &HttpRequest, timeout: Duration) -> std::io::Result<HookProcess> {
    let (pid, output) = fork_in_network(pid, || match request.run_hook(timeout) {
        Ok(()) => (true, String::new()),
        Err(message) => (false, message),
    })?;
    Ok(HookProcess::Http { pid, output })
}

/// Forks a child that joins the network namespace of process `pid` and runs `check`; it
/// writes `1` or `0` and the message to the returned pipe (read end non-blocking) and exits.
/// The caller reaps the child. Used by httpGet hooks and by network probes.
pub fn fork_in_network(pid: i32, check: impl FnOnce() -> (bool, String)) -> std::io::Result<(Pid, File)> {
    let netns = File::open(format!("/proc/{pid}/ns/net"))?;
    let (read, write) = nonblocking_pipe()?;
    // The supervisor is single-threaded, so the child is a complete copy in which allocation
    // and locking are safe; it never returns into the caller's frames: it ends in `_exit`,
    // which skips atexit handlers and stdio flushing.
    match crate::runtime::linux::sys::fork()? {
        Some(child) => Ok((child, read)),
        None => {
            drop(read);
            let (ok, message) = match nix::sched::setns(&netns, CloneFlags::CLONE_NEWNET) {
                Ok(()) => check(),
                Err(e) => (false, format!("cannot enter the pod's network namespace: {e}")),
            };
            let mut out = File::from(write);
            let _ = out.write_all(&[if ok { b'1' } else { b'0' }]);
            let _ = out.write_all(message.as_bytes());
            crate::runtime::linux::sys::exit_now(0)
        }
    }
}

/// A pipe whose read end does not block.
pub fn nonblocking_pipe() -> std::io::Result<(File, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    fcntl(&r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok((File::from(r), w))
}

/// Starts `argv` in the container with the container's environment and no output; the
/// caller reaps the child.
pub fn spawn(target: &ExecTarget, argv: &[String]) -> std::io::Result<Child> {
    spawn_with(target, argv, &target.env, Stdio::null(), Stdio::null())
}

/// Starts `argv` in the container with environment `env` (`NAME=value` entries) and the
/// given stdout and stderr; the caller reaps the child.
pub fn spawn_with(
    target: &ExecTarget,
    argv: &[String],
    env: &[String],
    stdout: Stdio,
    stderr: Stdio,
) -> std::io::Result<Child> {
    let Some((program, args)) = argv.split_first() else {
        return Err(std::io::Error::other("the exec command is empty"));
    };
    // Opened here so that a container that is already gone fails in the caller.
    let mut namespaces: Vec<(OwnedFd, CloneFlags)> = Vec::new();
    for (name, flag) in [
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("net", CloneFlags::CLONE_NEWNET),
        ("pid", CloneFlags::CLONE_NEWPID),
        ("mnt", CloneFlags::CLONE_NEWNS),
    ] {
        let path = format!("/proc/{}/ns/{name}", target.pid);
        let fd = nix::fcntl::open(path.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())?;
        namespaces.push((fd, flag));
    }
    let cgroup_files = target.cgroup.as_ref().map(|c| c.procs_files()).unwrap_or_default();
    let restrictions = target.restrictions;
    let workdir = target.working_dir.clone().unwrap_or_else(|| PathBuf::from("/"));
    let user = target.user.clone();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|e| e.split_once('=').unwrap_or((e, ""))))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    // SAFETY: the closure runs in the forked child before exec. The supervisor is
    // single-threaded, so no lock can be held by a thread that does not exist in the child;
    // it only makes system calls and small allocations.
    unsafe {
        cmd.pre_exec(move || {
            for file in &cgroup_files {
                std::fs::write(file, "0")?;
            }
            for (fd, flag) in &namespaces {
                nix::sched::setns(fd, *flag)?;
                let _ = fd.as_raw_fd();
            }
            std::env::set_current_dir(&workdir).or_else(|_| std::env::set_current_dir("/"))?;
            restrictions.limit_capabilities()?;
            if let Some(user) = &user {
                let groups: Vec<nix::unistd::Gid> = user
                    .additional_gids
                    .iter()
                    .map(|g| nix::unistd::Gid::from_raw(*g))
                    .collect();
                nix::unistd::setgroups(&groups)?;
                nix::unistd::setgid(nix::unistd::Gid::from_raw(user.gid))?;
                nix::unistd::setuid(nix::unistd::Uid::from_raw(user.uid))?;
            }
            restrictions.apply_no_new_privs()?;
            super::wait::unblock_all()?;
            Ok(())
        });
    }
    cmd.spawn()
}
