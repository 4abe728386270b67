//! The processes of `rekon exec`: the parent relays, a child joins the container's cgroups
//! and namespaces, and its child (inside the PID namespace) becomes the command.
//!
//! The forked children only make system calls, allocate and write to fd 2 before `exec`
//! or `_exit`; the CLI has started no threads when it calls this.

use super::pty::{self, Pty};
use super::{ExecError, ExecOptions, ProcessIdentity};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Gid, Pid, Uid};
use std::ffi::CString;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Namespaces joined, in this order: the mount namespace last, because after it `/proc`
/// and the host's paths are the container's.
pub(super) const NAMESPACES: [(&str, CloneFlags); 5] = [
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// Everything the children need, prepared in the parent.
pub(super) struct Plan {
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub path_var: String,
    pub identity: ProcessIdentity,
    pub cgroups: Vec<PathBuf>,
    pub namespaces: Vec<(File, CloneFlags)>,
    /// The container process whose namespaces are joined (its devpts gives `-t` its pty).
    pub pid: i32,
    /// The container process's capabilities and `no_new_privs`, which the command gets too.
    pub restrictions: crate::runtime::linux::Restrictions,
}

/// Exit code when the command exists but cannot be executed (as shells and runc use).
const CANNOT_EXECUTE: i32 = 126;
/// Exit code when the command is not found.
const NOT_FOUND: i32 = 127;

/// Forks the children and waits for the command, relaying the terminal with `-t`.
pub(super) fn run(plan: &Plan, options: &ExecOptions) -> Result<i32, ExecError> {
    let pty = if options.tty { Some(pty::open(plan.pid)?) } else { None };
    let devnull = if options.stdin || options.tty {
        None
    } else {
        Some(File::open("/dev/null").map_err(super::io_err("open", "/dev/null"))?)
    };
    // The CLI is single-threaded here; the child only runs `intermediate`, which makes
    // system calls and allocates, and always ends in `_exit`.
    let child = match crate::runtime::linux::sys::fork().map_err(sys("fork"))? {
        None => exit_now(intermediate(plan, pty.as_ref(), devnull.as_ref())),
        Some(child) => child,
    };
    drop(devnull);
    let status = match pty {
        Some(pty) => {
            let master = pty.into_master();
            pty::relay(&master, options.stdin, child)?
        }
        None => wait(child)?,
    };
    Ok(status)
}

/// Waits for `pid`, retrying on EINTR; returns its exit code (128 + signal when killed).
pub(super) fn wait(pid: Pid) -> Result<i32, ExecError> {
    loop {
        match waitpid(pid, None) {
            Ok(status) => {
                if let Some(code) = exit_code(status) {
                    return Ok(code);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(sys("wait for the exec process")(e)),
        }
    }
}

/// `waitpid` without blocking: Some(code) once `pid` has ended.
pub(super) fn try_wait(pid: Pid) -> Result<Option<i32>, ExecError> {
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(status) => Ok(exit_code(status)),
        Err(Errno::EINTR) => Ok(None),
        Err(e) => Err(sys("wait for the exec process")(e)),
    }
}

fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
}

/// The first child: cgroups, namespaces, then the command's process; returns the code to
/// exit with.
fn intermediate(plan: &Plan, pty: Option<&Pty>, devnull: Option<&File>) -> i32 {
    for file in &plan.cgroups {
        // "0" moves the writer; the command inherits the cgroup when forked. A hierarchy
        // that is not mounted here has no file to write.
        if let Err(e) = std::fs::write(file, "0")
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return fail(&format!("cannot join cgroup {}: {e}", file.display()), CANNOT_EXECUTE);
        }
    }
    for (fd, flag) in &plan.namespaces {
        if let Err(e) = nix::sched::setns(fd, *flag) {
            return fail(
                &format!("cannot join the container's {flag:?} namespace: {e}"),
                CANNOT_EXECUTE,
            );
        }
    }
    // Still single-threaded; the grandchild execs or `_exit`s.
    match crate::runtime::linux::sys::fork() {
        Err(e) => fail(&format!("fork: {e}"), CANNOT_EXECUTE),
        Ok(None) => exit_now(command(plan, pty, devnull)),
        Ok(Some(child)) => match wait(child) {
            Ok(code) => code,
            Err(e) => fail(&e.to_string(), CANNOT_EXECUTE),
        },
    }
}

/// Inside every namespace: stdio, `/` of the container, the container's user, exec.
fn command(plan: &Plan, pty: Option<&Pty>, devnull: Option<&File>) -> i32 {
    if let Some(pty) = pty
        && let Err(e) = pty.attach_as_controlling_terminal()
    {
        return fail(&format!("cannot set up the terminal: {e}"), CANNOT_EXECUTE);
    }
    if let Some(null) = devnull
        && let Err(e) = nix::unistd::dup2_stdin(null)
    {
        return fail(&format!("cannot redirect stdin: {e}"), CANNOT_EXECUTE);
    }
    if let Err(e) = std::env::set_current_dir("/") {
        return fail(&format!("chdir /: {e}"), CANNOT_EXECUTE);
    }
    if let Err(e) = plan.restrictions.limit_capabilities() {
        return fail(&format!("cannot limit capabilities: {e}"), CANNOT_EXECUTE);
    }
    if let Err(e) = switch_user(&plan.identity) {
        return fail(&e, CANNOT_EXECUTE);
    }
    if let Err(e) = plan.restrictions.apply_no_new_privs() {
        return fail(&format!("cannot set no_new_privs: {e}"), CANNOT_EXECUTE);
    }
    let name = plan.argv[0].to_string_lossy().into_owned();
    let Some(path) = find_executable(&name, &plan.path_var) else {
        return fail(
            &format!("exec: {name:?}: executable file not found in $PATH"),
            NOT_FOUND,
        );
    };
    let Ok(cpath) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return fail(&format!("exec: {name:?}: invalid path"), NOT_FOUND);
    };
    let err = nix::unistd::execve(&cpath, &plan.argv, &plan.envp).unwrap_err();
    let code = if err == Errno::ENOENT {
        NOT_FOUND
    } else {
        CANNOT_EXECUTE
    };
    fail(&format!("exec: {:?}: {}", path.display().to_string(), err.desc()), code)
}

fn switch_user(id: &ProcessIdentity) -> Result<(), String> {
    let groups: Vec<Gid> = id.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    nix::unistd::setgroups(&groups).map_err(|e| format!("setgroups: {e}"))?;
    nix::unistd::setgid(Gid::from_raw(id.gid)).map_err(|e| format!("setgid {}: {e}", id.gid))?;
    nix::unistd::setuid(Uid::from_raw(id.uid)).map_err(|e| format!("setuid {}: {e}", id.uid))
}

/// Go's `exec.LookPath`, as runc uses it: a name with a slash as is, else the first
/// executable regular file in a `$PATH` directory.
pub(super) fn find_executable(name: &str, path_var: &str) -> Option<PathBuf> {
    let executable = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if name.contains('/') {
        return Some(PathBuf::from(name));
    }
    path_var
        .split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(name))
        .find(|p| executable(p))
}

/// Writes `message` to fd 2 (the user's stderr, or the terminal) and returns `code`.
fn fail(message: &str, code: i32) -> i32 {
    let stderr = std::io::stderr();
    let _ = nix::unistd::write(&stderr, format!("rekon exec: {message}\n").as_bytes());
    code
}

use crate::runtime::linux::sys::exit_now;

pub(super) fn sys(op: &str) -> impl FnOnce(Errno) -> ExecError + '_ {
    move |source| ExecError::Sys {
        op: op.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_uses_the_given_path() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("tool");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        let path_var = format!("/nonexistent:{}", tmp.path().display());
        assert_eq!(find_executable("tool", &path_var), None, "not executable yet");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_executable("tool", &path_var), Some(bin));
        assert_eq!(find_executable("./x/y", ""), Some(PathBuf::from("./x/y")));
    }

    #[test]
    fn exit_codes_include_signals() {
        let pid = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 3)), Some(3));
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, nix::sys::signal::Signal::SIGKILL, false)),
            Some(137)
        );
    }
}
