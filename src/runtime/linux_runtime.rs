//! [`LinuxRuntime`]: the [`Runtime`] that runs each pod under its own supervisor process
//! (`rekon-shim`, or `rekon __supervise`), and observes pods by reading their directories
//! (`<state>/pods/<uid>/`, the contract in `supervisor::poddir`).
#![allow(unsafe_code)]

use super::NodeConfig;
use super::linux::cgroup::{DEFAULT_CGROUP_ROOT, DEFAULT_PREFIX};
use super::linux::mounts::unmount_host;
use super::linux::{CgroupLimits, CgroupRoot};
use super::status::PodPhase;
use super::supervisor::{DELETE_GRACE_FILE, PodDir, PodFile};
use super::{PodRequest, PodStatus, Runtime, RuntimeError};
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::fs;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `create_pod` waits for a new supervisor to write its pid file.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Added to the grace period before a deletion stops waiting for the supervisor.
const DELETE_SLACK: Duration = Duration::from_secs(10);
/// The polling interval while waiting for a supervisor to end without a pidfd.
const POLL: Duration = Duration::from_millis(20);
/// The small supervisor binary installed next to `rekon` (src/bin/rekon-shim.rs).
const SHIM: &str = "rekon-shim";
/// The descriptor number at which a new supervisor finds its readiness pipe.
const READY_FD: i32 = 3;

/// Pods as real processes on this host, one supervisor each.
#[derive(Debug, Clone)]
pub struct LinuxRuntime {
    state_dir: PathBuf,
    cgroup_root: PathBuf,
    cgroup_prefix: String,
    supervisor_exe: Option<PathBuf>,
    /// Watches the pod directories for new status files (`wait_for_change`); made on first
    /// use, shared by clones.
    watcher: std::sync::Arc<std::sync::Mutex<Option<StatusWatcher>>>,
}

/// An inotify instance on every pod directory: a supervisor writes `status.json` by
/// renaming a temporary file into the directory (`IN_MOVED_TO`), and a pod directory comes or
/// goes in `pods/` (`IN_CREATE`, `IN_DELETE`).
struct StatusWatcher {
    inotify: nix::sys::inotify::Inotify,
    watched: std::collections::BTreeSet<PathBuf>,
}

impl std::fmt::Debug for StatusWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusWatcher")
            .field("watched", &self.watched.len())
            .finish()
    }
}

impl LinuxRuntime {
    /// The runtime of the state directory `state_dir` (pods under `pods/`, images under
    /// `images/`), with cgroups under `/sys/fs/cgroup/.../rekon`.
    pub fn new(state_dir: impl Into<PathBuf>) -> Result<LinuxRuntime, RuntimeError> {
        let state_dir = std::path::absolute(state_dir.into()).map_err(|source| RuntimeError::Io {
            context: "cannot resolve the state directory".into(),
            source,
        })?;
        Ok(LinuxRuntime {
            state_dir,
            cgroup_root: PathBuf::from(DEFAULT_CGROUP_ROOT),
            cgroup_prefix: DEFAULT_PREFIX.to_string(),
            supervisor_exe: None,
            watcher: Default::default(),
        })
    }

    /// Uses another cgroup mount point and top-level directory (tests use a unique one).
    pub fn with_cgroups(mut self, root: impl Into<PathBuf>, prefix: &str) -> Self {
        self.cgroup_root = root.into();
        self.cgroup_prefix = prefix.to_string();
        self
    }

    /// Starts supervisors with this executable (a `rekon` binary) instead of the current one;
    /// for library tests, whose current executable is the test harness.
    pub fn with_supervisor_exe(mut self, exe: impl Into<PathBuf>) -> Self {
        self.supervisor_exe = Some(exe.into());
        self
    }

    /// `<state>/pods`.
    pub fn pods_dir(&self) -> PathBuf {
        self.state_dir.join("pods")
    }

    /// The directory of pod `uid`.
    pub fn pod_dir(&self, uid: &str) -> PodDir {
        PodDir::new(self.pods_dir().join(uid))
    }

    fn require_root(&self) -> Result<(), RuntimeError> {
        if super::host::is_root() {
            Ok(())
        } else {
            Err(RuntimeError::NotRoot {
                uid: super::host::euid(),
            })
        }
    }

    fn start_supervisor(&self, dir: &PodDir, uid: &str) -> Result<(), RuntimeError> {
        let (exe, subcommand) = self.supervisor_command()?;
        let log = fs::File::create(dir.log_file()).map_err(io("cannot create supervisor.log"))?;
        let log2 = log.try_clone().map_err(io("cannot create supervisor.log"))?;
        let mut cmd = Command::new(exe);
        cmd.args(subcommand)
            .arg("--pod-dir")
            .arg(dir.root())
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let (ready_r, ready_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| RuntimeError::Io {
            context: "cannot create a pipe for the pod supervisor".into(),
            source: e.into(),
        })?;
        let ready_raw = ready_w.as_raw_fd();
        cmd.arg("--ready-fd").arg(READY_FD.to_string());
        // SAFETY: runs in the forked child before exec; fcntl, dup2, setsid and fork are async-signal-safe,
        // and the intermediate child leaves with `_exit` without touching any lock. The double
        // fork makes init the supervisor's parent, so no zombie stays while the CLI lives.
        unsafe {
            cmd.pre_exec(move || {
                // The supervisor finds the pipe's write end at READY_FD, without close-on-exec.
                let res = if ready_raw == READY_FD {
                    libc::fcntl(ready_raw, libc::F_SETFD, 0)
                } else {
                    libc::dup2(ready_raw, READY_FD)
                };
                if res < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                nix::unistd::setsid()?;
                match super::linux::sys::fork()? {
                    Some(_) => super::linux::sys::exit_now(0),
                    None => Ok(()),
                }
            });
        }
        let mut child = cmd.spawn().map_err(io("cannot start the pod supervisor"))?;
        let _ = child.wait();
        drop(cmd);
        drop(ready_w);
        // One byte once the pid file is written; EOF when the supervisor died before that.
        let mut fds = [PollFd::new(ready_r.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(START_TIMEOUT).expect("a short timeout");
        let ready = loop {
            match poll(&mut fds, timeout) {
                Err(nix::errno::Errno::EINTR) => continue,
                Ok(0) | Err(_) => break false,
                Ok(_) => break matches!(nix::unistd::read(&ready_r, &mut [0u8; 1]), Ok(1)),
            }
        };
        if ready && dir.supervisor_alive() {
            return Ok(());
        }
        let log = fs::read_to_string(dir.log_file()).unwrap_or_default();
        Err(RuntimeError::Pod {
            uid: uid.to_string(),
            message: format!("the supervisor did not start within {START_TIMEOUT:?}: {}", log.trim()),
        })
    }

    /// The supervisor to start: the configured executable's `__supervise`, else `rekon-shim`
    /// next to the running executable, else the running executable's `__supervise`.
    fn supervisor_command(&self) -> Result<(PathBuf, Option<&'static str>), RuntimeError> {
        if let Some(exe) = &self.supervisor_exe {
            return Ok((exe.clone(), Some("__supervise")));
        }
        let exe = std::env::current_exe().map_err(io("cannot find the rekon executable"))?;
        let shim = exe.with_file_name(SHIM);
        if shim.is_file() {
            return Ok((shim, None));
        }
        Ok((exe, Some("__supervise")))
    }

    /// `<state>/nodes/<name>.json`: a configured node's capacity, applied whenever its cgroup
    /// is (re)created for a pod.
    fn node_file(&self, name: &str) -> PathBuf {
        self.state_dir.join("nodes").join(format!("{name}.json"))
    }

    fn cgroups(&self) -> Result<CgroupRoot, RuntimeError> {
        CgroupRoot::detect(&self.cgroup_root)
            .and_then(|r| r.with_prefix(&self.cgroup_prefix))
            .map_err(cgroup_err)
    }

    /// Creates the node's cgroup with its capacity as limits, when the node was configured.
    fn apply_node_limits(&self, name: &str) -> Result<(), RuntimeError> {
        let text = match fs::read(self.node_file(name)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(format!("cannot read the node file of {name}"))(e)),
        };
        let node: NodeConfig =
            serde_json::from_slice(&text).map_err(|e| io(format!("bad node file of {name}"))(e.into()))?;
        let cgroup = self.cgroups()?.node(name).map_err(cgroup_err)?;
        cgroup.create().map_err(cgroup_err)?;
        if let (Some(cpu), Some(memory)) = (node.cpu_millis, node.memory_bytes) {
            let limits = CgroupLimits::node(cpu.max(0) as u64, memory.max(0) as u64, None);
            cgroup.set_limits(&limits).map_err(cgroup_err)?;
        }
        Ok(())
    }

    /// Removes what a dead supervisor left: processes and cgroups, mounts, the directory.
    fn clean_up(&self, uid: &str, dir: &PodDir) -> Result<(), RuntimeError> {
        let file = dir.read_pod().ok();
        let (root, prefix, node) = match &file {
            Some(f) => (
                f.cgroup_root.clone(),
                f.cgroup_prefix.clone(),
                Some(f.request.node.clone()),
            ),
            None => (self.cgroup_root.clone(), self.cgroup_prefix.clone(), None),
        };
        if let Some(node) = node
            && let Ok(cgroups) = CgroupRoot::detect(&root).and_then(|r| r.with_prefix(&prefix))
            && let Ok(pod) = cgroups.pod(&node, uid)
        {
            pod.remove(Duration::from_secs(10)).map_err(|e| RuntimeError::Pod {
                uid: uid.to_string(),
                message: format!("cannot remove the pod cgroup: {e}"),
            })?;
            // The node and top cgroups go with their last pod, so nothing of rekon stays.
            if let Ok(node) = cgroups.node(&node) {
                node.remove_if_unused();
            }
            cgroups.top().remove_if_unused();
        }
        unmount_host(dir.root()).map_err(io("cannot unmount the pod's volumes"))?;
        // The directory leaves the listing in one rename before it is removed: a reader
        // never sees a pod half gone (its deletion mark removed, its last status not yet).
        let gone = self.pods_dir().join(format!("{REMOVING}{uid}"));
        match fs::rename(dir.root(), &gone) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(format!("cannot remove {}", dir.root().display()))(e)),
        }
        match fs::remove_dir_all(&gone) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(format!("cannot remove {}", gone.display()))(e)),
        }
        // What a removal interrupted after its rename left (clean-up runs under the state
        // lock, so no other removal is under way).
        if let Ok(entries) = fs::read_dir(self.pods_dir()) {
            for entry in entries.filter_map(Result::ok) {
                if entry.file_name().to_string_lossy().starts_with(REMOVING) {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok(())
    }
}

/// Writes `config/data.json` (mode 0600) on the pod's config tmpfs, mounting the tmpfs first
/// when `create`; returns whether the file changed. Secret values live only there, in the
/// supervisor's memory and in the tmpfs volumes it writes: never on disk.
fn write_pod_data(
    dir: &PodDir,
    pod: &PodRequest,
    data: &super::podspec::data::PodData,
    create: bool,
) -> Result<bool, RuntimeError> {
    let json = serde_json::to_vec(data).map_err(|e| io("cannot encode the pod's config data")(e.into()))?;
    if create {
        let volumes = pod.spec.volumes.len() as u64 + 1;
        let size = (16 << 20) + 4 * json.len() as u64 * volumes;
        super::linux::mounts::mount_host_tmpfs(&dir.config_dir(), Some(size))
            .map_err(io("cannot mount the pod's config tmpfs"))?;
        fs::set_permissions(dir.config_dir(), fs::Permissions::from_mode(0o700))
            .map_err(io("cannot set up the pod's config tmpfs"))?;
    } else if fs::read(dir.data_file()).is_ok_and(|old| old == json) {
        return Ok(false);
    }
    // On tmpfs, where an fsync has nothing to make durable.
    crate::fsutil::replace_volatile_mode(&dir.data_file(), &json, 0o600)
        .map_err(io("cannot write the pod's config data"))?;
    Ok(true)
}

/// How long `update_pod_data` waits for a supervisor to say it read the new data.
const DATA_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until the supervisor of `dir` has read the data of `digest` and written the status
/// that follows from it (`config/data.loaded`), so that whoever looks at the pod next sees
/// no status of the old data; gives up after [`DATA_ACK_TIMEOUT`] or when it dies.
fn wait_data_loaded(dir: &PodDir, digest: &str, watch: Option<&nix::sys::inotify::Inotify>) {
    use std::os::fd::AsFd;
    let deadline = std::time::Instant::now() + DATA_ACK_TIMEOUT;
    loop {
        if fs::read(dir.data_loaded_file()).is_ok_and(|d| d == digest.as_bytes()) {
            return;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || dir.supervisor().is_none_or(|p| !p.is_alive()) {
            return;
        }
        // Woken by the rename of `data.loaded`, or after 50 ms to check the supervisor.
        let step = left.min(Duration::from_millis(50));
        match watch {
            Some(w) => {
                let mut fds = [nix::poll::PollFd::new(w.as_fd(), nix::poll::PollFlags::POLLIN)];
                let ms = u16::try_from(step.as_millis()).unwrap_or(u16::MAX);
                let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
                let _ = w.read_events();
            }
            None => std::thread::sleep(step),
        }
    }
}

fn cgroup_err(e: super::linux::CgroupError) -> RuntimeError {
    RuntimeError::Io {
        context: "cannot set up the node's cgroup".into(),
        source: std::io::Error::other(e),
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
    let context = context.into();
    move |source| RuntimeError::Io { context, source }
}

/// Waits until the supervisor recorded in the pod directory has ended, or `deadline`.
fn wait_until_dead(dir: &PodDir, deadline: Instant) -> bool {
    let Some(sup) = dir.supervisor() else {
        return true;
    };
    // A pidfd becomes readable when the process ends (pidfd_open(2)); it is opened before
    // the identity check so that a recycled pid cannot be mistaken for the supervisor.
    let pidfd = pidfd_open(sup.pid);
    loop {
        if !sup.is_alive() {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match &pidfd {
            Some(fd) => {
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                let ms = PollTimeout::try_from(left.min(Duration::from_secs(60))).unwrap_or(PollTimeout::MAX);
                let _ = poll(&mut fds, ms);
            }
            None => std::thread::sleep(POLL.min(left)),
        }
    }
}

/// A pidfd of `pid`, or None on kernels before 5.3 or when the process is gone.
fn pidfd_open(pid: i32) -> Option<std::os::fd::OwnedFd> {
    // SAFETY: pidfd_open takes integers; the result is checked before it is owned.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative result is a fresh descriptor that nothing else owns.
    (fd >= 0).then(|| unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
}

impl Runtime for LinuxRuntime {
    fn check_can_modify(&self) -> Result<(), RuntimeError> {
        self.require_root()
    }

    fn create_pod(&mut self, pod: &PodRequest) -> Result<(), RuntimeError> {
        self.require_root()?;
        let dir = self.pod_dir(&pod.uid);
        if dir.root().exists() {
            if dir.supervisor_alive() || dir.status_file().exists() {
                return Ok(());
            }
            // A directory without a status: a create that crashed before its supervisor ran.
            self.clean_up(&pod.uid, &dir)?;
        }
        self.apply_node_limits(&pod.node)?;
        fs::create_dir_all(self.pods_dir()).map_err(io("cannot create the pods directory"))?;
        fs::DirBuilder::new()
            .mode(0o700)
            .create(dir.root())
            .map_err(io(format!("cannot create {}", dir.root().display())))?;
        let file = PodFile {
            request: pod.clone(),
            image_store: self.state_dir.join("images"),
            cgroup_root: self.cgroup_root.clone(),
            cgroup_prefix: self.cgroup_prefix.clone(),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| io("cannot encode pod.json")(e.into()))?;
        super::supervisor::replace_volatile(&dir.pod_file(), &json).map_err(io("cannot write pod.json"))?;
        if let Some(data) = &pod.data {
            write_pod_data(&dir, pod, data, true)?;
        }
        self.start_supervisor(&dir, &pod.uid)
    }

    fn configure_node(&mut self, node: &NodeConfig) -> Result<(), RuntimeError> {
        self.require_root()?;
        let file = self.node_file(&node.name);
        fs::create_dir_all(file.parent().expect("nodes dir")).map_err(io("cannot create the nodes directory"))?;
        let json = serde_json::to_vec_pretty(node).map_err(|e| io("cannot encode the node")(e.into()))?;
        super::supervisor::write_atomic(&file, &json).map_err(io(format!("cannot write {}", file.display())))?;
        self.apply_node_limits(&node.name)
    }

    fn remove_node(&mut self, name: &str) -> Result<(), RuntimeError> {
        self.require_root()?;
        match fs::remove_file(self.node_file(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(format!("cannot remove the node file of {name}"))(e)),
        }
        let cgroups = self.cgroups()?;
        cgroups.node(name).map_err(cgroup_err)?.remove_if_unused();
        cgroups.top().remove_if_unused();
        Ok(())
    }

    fn update_pod_data(&mut self, pod: &PodRequest) -> Result<bool, RuntimeError> {
        let Some(data) = &pod.data else { return Ok(false) };
        let dir = self.pod_dir(&pod.uid);
        if !dir.data_file().exists() || dir.root().join(DELETE_GRACE_FILE).exists() {
            return Ok(false);
        }
        let json = serde_json::to_vec(data).map_err(|e| io("cannot encode the pod's config data")(e.into()))?;
        if fs::read(dir.data_file()).is_ok_and(|old| old == json) {
            return Ok(false);
        }
        // Watched before the write, so that the acknowledgement cannot be missed.
        let watch = nix::sys::inotify::Inotify::init(nix::sys::inotify::InitFlags::IN_NONBLOCK).ok();
        if let Some(w) = &watch {
            let _ = w.add_watch(&dir.config_dir(), nix::sys::inotify::AddWatchFlags::IN_MOVED_TO);
        }
        if !write_pod_data(&dir, pod, data, false)? {
            return Ok(false);
        }
        // SIGHUP: the supervisor reads the data again (the pid file names it with its start
        // time, so a reused pid is never signalled).
        if let Some(id) = dir.supervisor().filter(|p| p.is_alive()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(id.pid), nix::sys::signal::Signal::SIGHUP);
            wait_data_loaded(&dir, &super::supervisor::poddir::data_digest(&json), watch.as_ref());
        }
        Ok(true)
    }

    fn pod_events(&mut self, uid: &str) -> Vec<String> {
        let file = self.pod_dir(uid).events_file();
        [file.with_extension("jsonl.1"), file]
            .iter()
            .filter_map(|f| fs::read_to_string(f).ok())
            .flat_map(|text| text.lines().map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    fn terminate_pod(&mut self, uid: &str, grace: Duration) -> Result<(), RuntimeError> {
        self.require_root()?;
        let dir = self.pod_dir(uid);
        let grace_file = dir.root().join(DELETE_GRACE_FILE);
        if !dir.root().exists() {
            return Ok(());
        }
        // A deletion under way is begun again only to shorten it (a second `rekon delete`
        // with a smaller --grace-period); the supervisor moves its deadlines in on SIGTERM.
        if let Ok(meta) = fs::metadata(&grace_file) {
            let old: u64 = fs::read_to_string(&grace_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(u64::MAX);
            let old_deadline = meta
                .modified()
                .ok()
                .and_then(|t| t.checked_add(Duration::from_secs(old)));
            let new_deadline = std::time::SystemTime::now() + grace;
            if old_deadline.is_none_or(|d| new_deadline >= d) {
                return Ok(());
            }
        }
        if let Some(sup) = dir.supervisor()
            && sup.is_alive()
        {
            // The supervisor reads the grace period when SIGTERM arrives; the file's mtime is
            // when the deletion began, for the kill deadline of `reap_pod`.
            super::supervisor::replace_volatile(&grace_file, grace.as_secs().to_string().as_bytes())
                .map_err(io("cannot record the pod's deletion"))?;
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(sup.pid), nix::sys::signal::Signal::SIGTERM);
        }
        Ok(())
    }

    fn reap_pod(&mut self, uid: &str) -> Result<bool, RuntimeError> {
        self.require_root()?;
        let dir = self.pod_dir(uid);
        if !dir.root().exists() {
            return Ok(true);
        }
        if let Some(sup) = dir.supervisor()
            && sup.is_alive()
        {
            let grace_file = dir.root().join(DELETE_GRACE_FILE);
            let Ok(meta) = fs::metadata(&grace_file) else {
                return Ok(false); // not being deleted
            };
            let grace: u64 = fs::read_to_string(&grace_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            let since = meta.modified().ok().and_then(|t| t.elapsed().ok()).unwrap_or_default();
            if since < Duration::from_secs(grace) + DELETE_SLACK {
                return Ok(false);
            }
            // The supervisor did not end within its grace period and the slack: kill it,
            // and the pod's processes with its cgroup below.
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(sup.pid), nix::sys::signal::Signal::SIGKILL);
            if !wait_until_dead(&dir, Instant::now() + DELETE_SLACK) {
                return Ok(false);
            }
        }
        self.clean_up(uid, &dir)?;
        Ok(true)
    }

    fn pod_status(&mut self, uid: &str) -> Result<Option<PodStatus>, RuntimeError> {
        let dir = self.pod_dir(uid);
        if !dir.root().exists() {
            return Ok(None);
        }
        let mut status: PodStatus = match fs::read(dir.status_file()) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(_) => PodStatus::default(),
        };
        // A pid file that names a dead process: the supervisor died without finishing
        // (a clean end removes the file).
        if dir.pid_file().exists() && !dir.supervisor_alive() {
            status.phase = PodPhase::Unknown;
            status.message = Some("the pod's supervisor is not running".into());
        }
        Ok(Some(status))
    }

    fn wait_for_change(&mut self, timeout: Duration) -> bool {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        let Ok(mut guard) = self.watcher.lock() else {
            return false;
        };
        if guard.is_none() {
            let Ok(inotify) = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) else {
                return false;
            };
            *guard = Some(StatusWatcher {
                inotify,
                watched: Default::default(),
            });
        }
        let w = guard.as_mut().expect("made above");
        // Watches follow the pod directories: new ones are added each time.
        let pods = self.pods_dir();
        let mut dirs = vec![pods.clone()];
        if let Ok(entries) = fs::read_dir(&pods) {
            dirs.extend(
                entries
                    .filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().starts_with(REMOVING))
                    .map(|e| e.path())
                    .filter(|p| p.is_dir()),
            );
        }
        w.watched.retain(|d| d.exists());
        for dir in dirs {
            if !w.watched.contains(&dir) {
                let flags = AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_CREATE | AddWatchFlags::IN_DELETE;
                if w.inotify.add_watch(&dir, flags).is_err() {
                    return false;
                }
                w.watched.insert(dir);
            }
        }
        let mut fds = [PollFd::new(w.inotify.as_fd(), PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let _ = poll(&mut fds, ms);
        // Drain what woke us; the caller looks at every pod again anyway.
        while w.inotify.read_events().is_ok_and(|e| !e.is_empty()) {}
        true
    }

    fn list_pods(&mut self) -> Result<Vec<String>, RuntimeError> {
        let entries = match fs::read_dir(self.pods_dir()) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io("cannot list the pods directory")(e)),
        };
        let mut uids = Vec::new();
        for entry in entries.filter_map(Result::ok).filter(|e| e.path().is_dir()) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !name.starts_with(REMOVING) {
                uids.push(name);
            }
        }
        uids.sort();
        Ok(uids)
    }
}

/// The name prefix of a pod directory that is being removed (never a uid: uids are hex).
const REMOVING: &str = ".removing-";

/// Whether `path` is inside the pods directory of `state_dir` (for sanity checks).
pub fn is_pod_path(state_dir: &Path, path: &Path) -> bool {
    path.starts_with(state_dir.join("pods"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_of_missing_and_dead_pods_without_root() {
        let dir = tempfile::tempdir().unwrap();
        let mut rt = LinuxRuntime::new(dir.path()).unwrap();
        assert_eq!(rt.pod_status("nope").unwrap(), None);
        assert_eq!(rt.list_pods().unwrap(), Vec::<String>::new());
        let pod = rt.pod_dir("u1");
        fs::create_dir_all(pod.root()).unwrap();
        let running = PodStatus {
            phase: PodPhase::Running,
            ..PodStatus::default()
        };
        fs::write(pod.status_file(), serde_json::to_vec(&running).unwrap()).unwrap();
        assert_eq!(rt.pod_status("u1").unwrap().unwrap().phase, PodPhase::Running);
        // pid 1's start time is never u64::MAX: a recycled or dead supervisor.
        fs::write(pod.pid_file(), format!("1 {}\n", u64::MAX)).unwrap();
        let status = rt.pod_status("u1").unwrap().unwrap();
        assert_eq!(status.phase, PodPhase::Unknown);
        assert_eq!(rt.list_pods().unwrap(), ["u1"]);
        assert!(is_pod_path(dir.path(), pod.root()));
    }

    #[test]
    fn mutations_need_root() {
        if super::super::host::is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut rt = LinuxRuntime::new(dir.path()).unwrap();
        let err = rt.terminate_pod("u", Duration::ZERO).unwrap_err();
        assert!(matches!(err, RuntimeError::NotRoot { .. }));
    }

    #[test]
    fn node_capacity_becomes_the_node_cgroup_limits() {
        if !crate::runtime::linux::testutil::require_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let prefix = format!("rekon-test-node-{}", std::process::id());
        let mut rt = LinuxRuntime::new(dir.path())
            .unwrap()
            .with_cgroups(DEFAULT_CGROUP_ROOT, &prefix);
        let node = NodeConfig {
            name: "n1".into(),
            cpu_millis: Some(1500),
            memory_bytes: Some(1 << 30),
            pods: Some(110),
        };
        rt.configure_node(&node).unwrap();
        let cgroup = rt.cgroups().unwrap().node("n1").unwrap();
        let read = |file: &str| -> String {
            let dir = cgroup.dirs().into_iter().find(|d| d.join(file).exists()).unwrap();
            fs::read_to_string(dir.join(file)).unwrap().trim().to_string()
        };
        match rt.cgroups().unwrap().version() {
            super::super::linux::CgroupVersion::V1 => {
                assert_eq!(read("cpu.cfs_quota_us"), "150000");
                assert_eq!(read("memory.limit_in_bytes"), (1u64 << 30).to_string());
            }
            super::super::linux::CgroupVersion::V2 => {
                assert_eq!(read("cpu.max"), "150000 100000");
                assert_eq!(read("memory.max"), (1u64 << 30).to_string());
            }
        }
        // Recorded, so a node cgroup removed with its last pod gets its limits back.
        let file: NodeConfig = serde_json::from_slice(&fs::read(rt.node_file("n1")).unwrap()).unwrap();
        assert_eq!(file, node);
        rt.remove_node("n1").unwrap();
        assert!(!rt.node_file("n1").exists());
        for d in rt.cgroups().unwrap().top().dirs() {
            assert!(!d.exists(), "{} was left behind", d.display());
        }
    }
}
