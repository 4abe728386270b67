//! Entering a running container (`rekon exec`): join the namespaces and cgroups of its
//! process, take its environment and user, and run a command there, like `runc exec`.
//!
//! The container's process is named by `<pod dir>/containers/<name>/pid` (the pod directory
//! contract). Everything that can be read is read in the parent; the forked child only joins
//! the cgroups and namespaces (mount last, as `container.rs` joins ipc, uts, net, pid), then
//! forks once more so the command is inside the PID namespace, which `setns` only applies to
//! children.

mod process;
mod pty;

use nix::errno::Errno;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

pub use crate::runtime::linux::DEFAULT_PATH;

/// Which container to enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    /// `<state>/pods/<uid>`.
    pub pod_dir: PathBuf,
    /// The pod's name, for messages.
    pub pod: String,
    /// The name of the container to enter.
    pub container: String,
}

/// What to run and how to connect it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOptions {
    /// The command and its arguments; the first is looked up in the container's `$PATH`.
    pub command: Vec<String>,
    /// Pass stdin to the process (`-i`); without it the process reads `/dev/null`.
    pub stdin: bool,
    /// Allocate a pseudo-terminal and relay it in raw mode (`-t`).
    pub tty: bool,
}

/// Why a command could not be started in the container.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The container has no live process: no pid file, or its process or `/proc` entries are gone.
    #[error("container {container:?} in pod {pod:?} is not running")]
    NotRunning {
        /// The pod's name.
        pod: String,
        /// The container's name.
        container: String,
    },
    /// rekon exec was run without root, which joining namespaces needs.
    #[error("rekon exec needs root to enter a container's namespaces (running as uid {uid}); run it as root")]
    NotRoot {
        /// The effective uid it runs as.
        uid: u32,
    },
    /// The command line was empty.
    #[error("you must specify at least one command for the container")]
    NoCommand,
    /// A host file needed to enter the container could not be used.
    #[error("cannot {action} {path}")]
    Io {
        /// What was attempted (`read`, `open`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A system call failed (fork, wait, setting up the pseudo-terminal).
    #[error("{op}")]
    Sys {
        /// What was attempted.
        op: String,
        /// The cause.
        #[source]
        source: Errno,
    },
    /// A command argument or environment entry contains a NUL byte, so it cannot be passed to exec.
    #[error("argument or environment entry {text:?} contains a NUL byte")]
    Nul {
        /// The offending argument or `KEY=value` entry.
        text: String,
    },
}

/// The user a process runs as, from `/proc/<pid>/status` (effective ids).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessIdentity {
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
    /// Supplementary group ids.
    pub groups: Vec<u32>,
}

/// Splits `/proc/<pid>/environ` (NUL-terminated `KEY=value` entries).
pub fn parse_environ(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

/// The effective uid, gid and supplementary groups from `/proc/<pid>/status`.
pub fn parse_status(text: &str) -> Option<ProcessIdentity> {
    let field = |key: &str| {
        text.lines().find_map(|l| l.strip_prefix(key)).map(|rest| {
            rest.split_whitespace()
                .filter_map(|v| v.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
    };
    // "Uid:" is real, effective, saved, filesystem.
    let uid = *field("Uid:")?.get(1)?;
    let gid = *field("Gid:")?.get(1)?;
    Some(ProcessIdentity {
        uid,
        gid,
        groups: field("Groups:").unwrap_or_default(),
    })
}

/// The `cgroup.procs` files of every hierarchy the process is in, from its
/// `/proc/<pid>/cgroup` and this process's `/proc/self/mountinfo`: the cgroup2 mount for
/// the `0::` line, the v1 mount whose options name the line's controllers otherwise.
pub fn cgroup_procs_files(proc_cgroup: &str, mountinfo: &str) -> Vec<PathBuf> {
    // mountinfo: id parent major:minor root mountpoint opts [optional...] - fstype source superopts
    let mounts: Vec<(&str, &str, &str, Vec<&str>)> = mountinfo
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let dash = fields.iter().position(|f| *f == "-")?;
            let fstype = *fields.get(dash + 1)?;
            let superopts = fields.get(dash + 3).map(|o| o.split(',').collect()).unwrap_or_default();
            Some((fields[3], fields[4], fstype, superopts))
        })
        .filter(|(_, _, fstype, _)| *fstype == "cgroup" || *fstype == "cgroup2")
        .collect();
    let mut files = Vec::new();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let mount = if controllers.is_empty() {
            mounts.iter().find(|m| m.2 == "cgroup2")
        } else {
            let wanted: Vec<&str> = controllers.split(',').collect();
            mounts
                .iter()
                .find(|m| m.2 == "cgroup" && wanted.iter().all(|c| m.3.contains(c)))
        };
        let Some((root, mountpoint, ..)) = mount else { continue };
        // A mount of a sub-cgroup shows the paths below its root.
        let Some(rel) = Path::new(path).strip_prefix(root).ok() else {
            continue;
        };
        let file = Path::new(mountpoint).join(rel).join("cgroup.procs");
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files
}

/// The host pid of the container's current process, when it is alive.
pub fn container_pid(pod_dir: &Path, container: &str) -> Option<i32> {
    let text = std::fs::read_to_string(pod_dir.join("containers").join(container).join("pid")).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state letter follows the parenthesised command name; a zombie has exited.
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    (pid > 0 && state != "Z" && state != "X").then_some(pid)
}

/// Runs `options.command` inside the container and returns its exit code (128 + signal
/// when it was killed; 126/127 when it could not be executed, with the reason on stderr).
pub fn exec(target: &ExecTarget, options: &ExecOptions) -> Result<i32, ExecError> {
    if options.command.is_empty() {
        return Err(ExecError::NoCommand);
    }
    let uid = nix::unistd::geteuid().as_raw();
    if uid != 0 {
        return Err(ExecError::NotRoot { uid });
    }
    let not_running = || ExecError::NotRunning {
        pod: target.pod.clone(),
        container: target.container.clone(),
    };
    let pid = container_pid(&target.pod_dir, &target.container).ok_or_else(not_running)?;
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let read = |name: &str| std::fs::read(proc_dir.join(name)).map_err(|_| not_running());
    let env = parse_environ(&read("environ")?);
    let status = String::from_utf8_lossy(&read("status")?).into_owned();
    let identity = parse_status(&status).ok_or_else(not_running)?;
    let restrictions = crate::runtime::linux::Restrictions::parse_status(&status).ok_or_else(not_running)?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(io_err("read", "/proc/self/mountinfo"))?;
    let cgroups = cgroup_procs_files(&String::from_utf8_lossy(&read("cgroup")?), &mountinfo);
    let mut namespaces = Vec::new();
    for (name, flag) in process::NAMESPACES {
        let path = proc_dir.join("ns").join(name);
        let file = File::open(&path).map_err(|_| not_running())?;
        namespaces.push((file, flag));
    }
    let plan = process::Plan {
        argv: cstrings(&options.command)?,
        envp: cstrings(&env)?,
        path_var: env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH)
            .to_string(),
        identity,
        cgroups,
        namespaces,
        pid,
        restrictions,
    };
    process::run(&plan, options)
}

fn cstrings(items: &[String]) -> Result<Vec<CString>, ExecError> {
    items
        .iter()
        .map(|s| CString::new(s.as_bytes()).map_err(|_| ExecError::Nul { text: s.clone() }))
        .collect()
}

fn io_err(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> ExecError {
    let path = path.into();
    move |source| ExecError::Io { action, path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environ_splits_on_nul() {
        assert_eq!(
            parse_environ(b"PATH=/bin:/usr/bin\0HOME=/root\0EMPTY=\0"),
            ["PATH=/bin:/usr/bin", "HOME=/root", "EMPTY="]
        );
        assert!(parse_environ(b"").is_empty());
    }

    #[test]
    fn status_gives_effective_ids() {
        let status = "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1001\t1001\t1001\n\
                      Gid:\t100\t101\t101\t101\nFDSize:\t64\nGroups:\t10 20 \n";
        assert_eq!(
            parse_status(status),
            Some(ProcessIdentity {
                uid: 1001,
                gid: 101,
                groups: vec![10, 20]
            })
        );
        let no_groups = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n";
        assert_eq!(parse_status(no_groups).unwrap().groups, Vec::<u32>::new());
        assert_eq!(parse_status("Name:\tx\n"), None);
    }

    #[test]
    fn cgroup_files_follow_the_mounts() {
        let mountinfo = "\
25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid shared:5 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw shared:6 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw shared:11 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory
";
        let cgroup = "\
12:memory:/rekon/n/uid1/app
4:cpu,cpuacct:/rekon/n/uid1/app
1:name=systemd:/user.slice
0::/user.slice
3:blkio:/not-mounted
";
        let files = cgroup_procs_files(cgroup, mountinfo);
        let want: Vec<PathBuf> = [
            "/sys/fs/cgroup/memory/rekon/n/uid1/app/cgroup.procs",
            "/sys/fs/cgroup/cpu,cpuacct/rekon/n/uid1/app/cgroup.procs",
            "/sys/fs/cgroup/systemd/user.slice/cgroup.procs",
            "/sys/fs/cgroup/unified/user.slice/cgroup.procs",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(files, want);
        let v2 = "40 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_procs_files("0::/rekon/n/u/c\n", v2),
            [PathBuf::from("/sys/fs/cgroup/rekon/n/u/c/cgroup.procs")]
        );
    }

    #[test]
    fn a_missing_or_dead_pid_is_not_running() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(container_pid(tmp.path(), "app"), None);
        let dir = tmp.path().join("containers/app");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pid"), format!("{}\n", std::process::id())).unwrap();
        assert_eq!(container_pid(tmp.path(), "app"), Some(std::process::id() as i32));
        std::fs::write(dir.join("pid"), "garbage").unwrap();
        assert_eq!(container_pid(tmp.path(), "app"), None);
    }

    /// A process in fresh ipc/uts/net/pid/mount namespaces, made with util-linux `unshare`,
    /// stands in for a container; exec must see its hostname, environment and PID namespace.
    #[test]
    fn exec_enters_the_namespaces_of_a_running_process() {
        if !nix::unistd::geteuid().is_root() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must run the root tests"
            );
            eprintln!("skipped: needs root");
            return;
        }
        use std::time::{Duration, Instant};
        let tmp = tempfile::tempdir().unwrap();
        let mut unshare = std::process::Command::new("unshare")
            .args(["--ipc", "--uts", "--net", "--pid", "--fork", "--mount", "--kill-child"])
            .args(["/bin/sh", "-c", "hostname exec-test && FOO=bar exec sleep 60"])
            .spawn()
            .unwrap();
        let children = format!("/proc/{0}/task/{0}/children", unshare.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid: i32 = loop {
            let text = std::fs::read_to_string(&children).unwrap_or_default();
            if let Some(pid) = text.split_whitespace().next().and_then(|p| p.parse().ok())
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|e| parse_environ(&e).contains(&"FOO=bar".to_string()))
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "the namespaced process did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        let dir = tmp.path().join("containers/app");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pid"), pid.to_string()).unwrap();
        let target = ExecTarget {
            pod_dir: tmp.path().to_path_buf(),
            pod: "web".into(),
            container: "app".into(),
        };
        let out = tmp.path().join("out");
        let script = format!(
            "hostname > {0}; echo $FOO >> {0}; echo $$ >> {0}; pwd >> {0}",
            out.display()
        );
        let run = |command: &[&str]| {
            let options = ExecOptions {
                command: command.iter().map(|s| s.to_string()).collect(),
                ..ExecOptions::default()
            };
            exec(&target, &options).unwrap()
        };
        let code = run(&["sh", "-c", &script]);
        let nope = run(&["no-such-command"]);
        let three = run(&["sh", "-c", "exit 3"]);
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        unshare.wait().unwrap();
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the test process is gone");
        assert_eq!(code, 0);
        let lines: Vec<String> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(lines[0], "exec-test", "the container's hostname");
        assert_eq!(lines[1], "bar", "the container's environment");
        let inner_pid: u32 = lines[2].parse().unwrap();
        assert!(
            inner_pid > 1 && inner_pid < 100,
            "a pid of the container's namespace: {inner_pid}"
        );
        assert_eq!(lines[3], "/");
        assert_eq!((nope, three), (127, 3));
        assert_eq!(container_pid(tmp.path(), "app"), None, "a dead process is not running");
    }

    #[test]
    fn errors_read_like_kubectl() {
        let target = ExecTarget {
            pod_dir: PathBuf::from("/nonexistent"),
            pod: "web".into(),
            container: "c".into(),
        };
        let options = ExecOptions {
            command: vec!["true".into()],
            ..ExecOptions::default()
        };
        let err = exec(&target, &options).unwrap_err();
        let msg = err.to_string();
        if nix::unistd::geteuid().is_root() {
            assert_eq!(msg, "container \"c\" in pod \"web\" is not running");
        } else {
            assert!(msg.starts_with("rekon exec needs root"), "{msg}");
        }
        let none = exec(&target, &ExecOptions::default()).unwrap_err();
        assert_eq!(
            none.to_string(),
            "you must specify at least one command for the container"
        );
    }
}
