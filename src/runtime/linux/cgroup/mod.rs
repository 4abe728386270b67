//! cgroups for nodes, pods and containers: detection of v1/v2, the `rekon/<node>/<pod>/<ctr>`
//! hierarchy, limits, membership, statistics, OOM-kill counts and recursive teardown.
//!
//! The cgroup root is a parameter so that the file writes can be tested against a temporary
//! directory. On v1 (and the hybrid layout, whose `unified` mount carries no controllers) every
//! used controller hierarchy gets the same relative directory.

mod limits;
mod teardown;
mod v1;
mod v2;

pub use limits::{
    CgroupLimits, CpuQuota, DEFAULT_CFS_PERIOD_US, milli_cpu_to_quota, milli_cpu_to_shares, shares_to_weight,
};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The default mount point of the cgroup filesystems.
pub const DEFAULT_CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// The default top-level cgroup under which rekon creates its nodes.
pub const DEFAULT_PREFIX: &str = "rekon";
/// The v1 controllers rekon uses; `cpu` and `memory` are required.
const V1_CONTROLLERS: [&str; 5] = ["cpu", "cpuacct", "memory", "pids", "freezer"];

/// Errors of cgroup operations.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Neither a v2 nor a v1 layout was found.
    #[error(
        "no cgroup filesystem found at {root}: neither cgroup v2 (cgroup.controllers) nor the v1 cpu and memory controllers; pass --cgroup-root"
    )]
    NotFound {
        /// The root that was probed.
        root: PathBuf,
    },
    /// A name cannot be a cgroup directory.
    #[error("invalid cgroup name {name:?}: must be a non-empty path component")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// Reading or writing a cgroup file or directory failed.
    #[error("cannot {op} {path}")]
    Io {
        /// What was attempted (`write`, `read`, `create`, `remove`).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A cgroup file did not have the expected format.
    #[error("unexpected content in {path}: {content:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What it contained.
        content: String,
    },
    /// Processes were still alive, or a directory could not be removed, at the deadline.
    #[error("cgroup {path} is still busy after {waited_ms}ms ({pids} processes left)")]
    Busy {
        /// The directory that could not be removed.
        path: PathBuf,
        /// How long teardown waited.
        waited_ms: u128,
        /// How many processes were still inside.
        pids: usize,
    },
}

/// Which cgroup version the host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// Legacy or hybrid: one hierarchy per controller.
    V1,
    /// The unified hierarchy.
    V2,
}

/// The host's cgroup layout, found once by [`CgroupRoot::detect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupRoot {
    version: CgroupVersion,
    /// v2: the root itself; v1: one mount per distinct hierarchy with the controllers in it.
    hierarchies: Vec<Hierarchy>,
    prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Hierarchy {
    mount: PathBuf,
    controllers: Vec<&'static str>,
}

impl CgroupRoot {
    /// Detects the layout under `root` (normally [`DEFAULT_CGROUP_ROOT`]): v2 when
    /// `root/cgroup.controllers` exists, else v1 with one directory per controller
    /// (co-mounted controllers such as `cpu,cpuacct` are used once).
    pub fn detect(root: &Path) -> Result<Self, CgroupError> {
        if root.join("cgroup.controllers").is_file() {
            return Ok(CgroupRoot {
                version: CgroupVersion::V2,
                hierarchies: vec![Hierarchy {
                    mount: root.to_path_buf(),
                    controllers: vec![],
                }],
                prefix: DEFAULT_PREFIX.to_string(),
            });
        }
        let mut hierarchies: Vec<Hierarchy> = Vec::new();
        for name in V1_CONTROLLERS {
            let dir = root.join(name);
            let Ok(mount) = dir.canonicalize() else {
                continue;
            };
            if !mount.is_dir() {
                continue;
            }
            match hierarchies.iter_mut().find(|h| h.mount == mount) {
                Some(h) => h.controllers.push(name),
                None => hierarchies.push(Hierarchy {
                    mount,
                    controllers: vec![name],
                }),
            }
        }
        let has = |c| hierarchies.iter().any(|h| h.controllers.contains(&c));
        if !has("cpu") || !has("memory") {
            return Err(CgroupError::NotFound {
                root: root.to_path_buf(),
            });
        }
        Ok(CgroupRoot {
            version: CgroupVersion::V1,
            hierarchies,
            prefix: DEFAULT_PREFIX.to_string(),
        })
    }

    /// The same layout with another top-level directory instead of [`DEFAULT_PREFIX`]
    /// (tests use a unique one).
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, CgroupError> {
        check_name(prefix)?;
        self.prefix = prefix.to_string();
        Ok(self)
    }

    /// The detected version.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// The top-level cgroup (`rekon`) that holds every node.
    pub fn top(&self) -> Cgroup {
        self.at(PathBuf::from(&self.prefix))
    }

    /// The cgroup of a node: `rekon/<node>`.
    pub fn node(&self, node: &str) -> Result<Cgroup, CgroupError> {
        check_name(node)?;
        Ok(self.at(Path::new(&self.prefix).join(node)))
    }

    /// The cgroup of a pod: `rekon/<node>/<pod-uid>`.
    pub fn pod(&self, node: &str, pod_uid: &str) -> Result<Cgroup, CgroupError> {
        check_name(pod_uid)?;
        Ok(self.at(self.node(node)?.rel.join(pod_uid)))
    }

    /// The cgroup of a container (or of the pod's sandbox, under a name such as `pause`):
    /// `rekon/<node>/<pod-uid>/<container>`.
    pub fn container(&self, node: &str, pod_uid: &str, name: &str) -> Result<Cgroup, CgroupError> {
        check_name(name)?;
        Ok(self.at(self.pod(node, pod_uid)?.rel.join(name)))
    }

    fn at(&self, rel: PathBuf) -> Cgroup {
        Cgroup {
            root: self.clone(),
            rel,
        }
    }
}

/// On cgroup v1, starts a thread that moves itself into the cgroup it is already in (its
/// `tasks` file) and ends; join it before forking. The first migration after an idle
/// spell waits for an RCU grace period (`cgroup_threadgroup_rwsem` is a percpu rwsem,
/// kernel/cgroup/cgroup.c), about 12 ms here, and migrations soon after it do not:
/// paying that wait while the supervisor reads its pod and sets up the sandbox takes it
/// out of the first container's start. `None` on v2, where a thread cannot move alone.
pub fn begin_migration_wait() -> Option<std::thread::JoinHandle<()>> {
    // Only a hierarchy rekon uses itself (not, say, systemd's named one).
    let cgroup: String = std::fs::read_to_string("/proc/self/cgroup")
        .ok()?
        .lines()
        .filter(|l| l.split(':').nth(1).is_some_and(|c| c.split(',').any(|c| c == "memory")))
        .map(|l| format!("{l}\n"))
        .collect();
    if cgroup.is_empty() {
        return None;
    }
    std::thread::Builder::new()
        .name("cgroup-wait".into())
        .spawn(move || {
            let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
                return;
            };
            let tasks = crate::runtime::exec::cgroup_procs_files(&cgroup, &mountinfo)
                .into_iter()
                .filter_map(|procs| Some(procs.parent()?.join("tasks")))
                .find(|tasks| tasks.is_file());
            if let Some(tasks) = tasks {
                let _ = std::fs::write(tasks, nix::unistd::gettid().to_string());
            }
        })
        .ok()
}

fn check_name(name: &str) -> Result<(), CgroupError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(CgroupError::InvalidName { name: name.to_string() });
    }
    Ok(())
}

/// Resource usage of one cgroup (including its descendants).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// Memory in use, in bytes.
    pub memory_bytes: u64,
    /// CPU time consumed, in nanoseconds.
    pub cpu_usage_ns: u64,
    /// Processes killed by the OOM killer in this cgroup.
    pub oom_kills: u64,
    /// Number of tasks, when the pids controller is available.
    pub pids: Option<u64>,
}

/// One cgroup, present in every hierarchy rekon uses. Cheap to clone; holds no descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    root: CgroupRoot,
    rel: PathBuf,
}

impl Cgroup {
    /// The path relative to the cgroup root(s), e.g. `rekon/node1/uid/web`.
    pub fn relative_path(&self) -> &Path {
        &self.rel
    }

    /// The directory of this cgroup in every hierarchy (one on v2).
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.root.hierarchies.iter().map(|h| h.mount.join(&self.rel)).collect()
    }

    /// Removes this cgroup's directories where they hold no child cgroup and no process;
    /// a busy or missing one is left as it is (another pod may still use a shared node).
    pub fn remove_if_unused(&self) {
        for dir in self.dirs() {
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// The directory in the hierarchy holding `controller` (v2: the only one).
    fn dir_of(&self, controller: &str) -> Option<PathBuf> {
        match self.root.version {
            CgroupVersion::V2 => Some(self.root.hierarchies[0].mount.join(&self.rel)),
            CgroupVersion::V1 => self
                .root
                .hierarchies
                .iter()
                .find(|h| h.controllers.contains(&controller))
                .map(|h| h.mount.join(&self.rel)),
        }
    }

    /// Whether the cgroup directory exists in any hierarchy.
    pub fn exists(&self) -> bool {
        self.dirs().iter().any(|d| d.is_dir())
    }

    /// Creates the cgroup and its ancestors in every hierarchy; on v2 also enables the cpu,
    /// memory and pids controllers for the children of every ancestor. Idempotent.
    pub fn create(&self) -> Result<(), CgroupError> {
        match self.root.version {
            CgroupVersion::V2 => v2::create(&self.root.hierarchies[0].mount, &self.rel),
            CgroupVersion::V1 => {
                for dir in self.dirs() {
                    fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
                }
                Ok(())
            }
        }
    }

    /// Writes the limits that are set; see [`CgroupLimits`].
    pub fn set_limits(&self, limits: &CgroupLimits) -> Result<(), CgroupError> {
        match self.root.version {
            CgroupVersion::V2 => v2::set_limits(&self.dirs()[0], limits),
            CgroupVersion::V1 => v1::set_limits(self, limits),
        }
    }

    /// The `cgroup.procs` file of every hierarchy: writing a pid (or `0` for the writer) to
    /// each moves that process into this cgroup.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs().into_iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Moves a process into this cgroup in every hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        for file in self.procs_files() {
            write_file(&file, &pid.to_string())?;
        }
        Ok(())
    }

    /// Pids of every process in this cgroup and its descendants, in any hierarchy.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = Vec::new();
        for dir in self.dirs() {
            teardown::collect_pids(&dir, &mut pids)?;
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// How many processes of this cgroup the OOM killer has killed so far
    /// (v1 `memory.oom_control` `oom_kill`, v2 `memory.events` `oom_kill`).
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        match self.root.version {
            CgroupVersion::V2 => v2::oom_kills(&self.dirs()[0]),
            CgroupVersion::V1 => v1::oom_kills(self),
        }
    }

    /// Memory, CPU, OOM kills and task count.
    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        match self.root.version {
            CgroupVersion::V2 => v2::stats(&self.dirs()[0]),
            CgroupVersion::V1 => v1::stats(self),
        }
    }

    /// Sends SIGKILL to every process in this cgroup and its descendants, freezing them first
    /// where a freezer exists so that nothing forks in between. Does not wait.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        teardown::kill_all(self)
    }

    /// Kills everything inside, waits until it is empty and removes the cgroup and its
    /// descendants from every hierarchy, retrying until `timeout`. Ok when already gone.
    pub fn remove(&self, timeout: std::time::Duration) -> Result<(), CgroupError> {
        teardown::remove(self, timeout)
    }
}

pub(crate) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError {
    let path = path.to_path_buf();
    move |source| CgroupError::Io { op, path, source }
}

/// Writes a value in one `write(2)`, without creating the file (cgroupfs files always exist).
pub(crate) fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(io_err("write", path))?;
    file.write_all(value.as_bytes()).map_err(io_err("write", path))
}

pub(crate) fn read_file(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(io_err("read", path))
}

/// The value of `key` in a flat-keyed file (`key value` per line).
pub(crate) fn read_keyed(path: &Path, key: &str) -> Result<u64, CgroupError> {
    let content = read_file(path)?;
    content
        .lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| CgroupError::Parse {
            path: path.to_path_buf(),
            content,
        })
}

pub(crate) fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    let content = read_file(path)?;
    content.trim().parse().map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        content,
    })
}

#[cfg(test)]
mod tests;
