//! The container process between `clone` and `exec`: root filesystem, mounts, `pivot_root`,
//! identity, working directory, `$PATH` lookup and `execve`.
//!
//! Runs in a fresh mount namespace and the container's PID namespace; every failure is
//! sent to the parent as a [`ChildFailure`] naming the step and path.

use super::container::{ContainerConfig, User};
use super::error::ChildFailure;
use super::mounts::{self, Mount, MountKind};
use super::rootfs::{self, RootfsDirs};
use super::security::Restrictions;
use super::sys;
use nix::errno::Errno;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// `$PATH` when the container's environment has none (runc's and containerd's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything the container process needs, computed by the parent before forking.
#[derive(Debug)]
pub(crate) struct InitPlan {
    lower_dirs: Vec<PathBuf>,
    rootfs: RootfsDirs,
    readonly_rootfs: bool,
    mounts: Vec<Mount>,
    argv: Vec<String>,
    env: Vec<String>,
    working_dir: PathBuf,
    user: Option<User>,
    restrictions: Restrictions,
    oom_score_adj: Option<i32>,
}

impl InitPlan {
    pub(crate) fn new(config: &ContainerConfig, rootfs: &RootfsDirs) -> Self {
        let etc = [
            (&config.etc.hosts, "/etc/hosts"),
            (&config.etc.hostname, "/etc/hostname"),
            (&config.etc.resolv_conf, "/etc/resolv.conf"),
        ];
        let mut all: Vec<Mount> = etc
            .into_iter()
            .filter_map(|(source, dest)| {
                source.as_ref().map(|s| Mount {
                    destination: PathBuf::from(dest),
                    kind: MountKind::Bind {
                        source: s.clone(),
                        sub_path: None,
                    },
                    read_only: false,
                })
            })
            .collect();
        all.extend(config.mounts.iter().cloned());
        // A parent directory is mounted before what is mounted inside it (containerd sorts
        // mounts the same way); the sort is stable, so equal depths keep their order.
        all.sort_by_key(|m| m.destination.components().count());
        InitPlan {
            lower_dirs: config.lower_dirs.clone(),
            rootfs: rootfs.clone(),
            readonly_rootfs: config.readonly_rootfs,
            mounts: all,
            argv: config.argv.clone(),
            env: config.env.clone(),
            working_dir: config.working_dir.clone().unwrap_or_else(|| PathBuf::from("/")),
            user: config.user.clone(),
            restrictions: config.restrictions,
            oom_score_adj: config.oom_score_adj,
        }
    }

    /// The container's `$PATH`.
    fn path_var(&self) -> &str {
        self.env
            .iter()
            .rev()
            .find_map(|kv| kv.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH)
    }
}

/// Runs the setup and execs; returns only after reporting a failure, with the exit code.
pub(crate) fn run(plan: &InitPlan, report: &OwnedFd) -> i32 {
    match setup_and_exec(plan) {
        Ok(never) => match never {},
        Err(failure) => {
            failure.send(report);
            1
        }
    }
}

fn setup_and_exec(plan: &InitPlan) -> Result<std::convert::Infallible, ChildFailure> {
    nix::sys::stat::umask(Mode::empty());
    nix::unistd::setsid().map_err(ChildFailure::setup("setsid"))?;
    let root = rootfs::mount_overlay(&plan.lower_dirs, &plan.rootfs)?;
    rootfs::mount_proc_sys(&root, plan.restrictions.unmasked)?;
    rootfs::mount_dev(&root)?;
    for m in &plan.mounts {
        mounts::apply(&root, m)?;
    }
    drop(root);
    rootfs::pivot(&plan.rootfs.merged())?;
    if !plan.restrictions.unmasked {
        rootfs::mask_paths()?;
    }
    if plan.readonly_rootfs {
        rootfs::remount_root_read_only()?;
    }
    if let Some(adj) = plan.oom_score_adj {
        // Lowering needs CAP_SYS_RESOURCE, which rekon does not require: skip when refused.
        let _ = std::fs::write("/proc/self/oom_score_adj", adj.to_string());
    }
    std::fs::create_dir_all(&plan.working_dir)
        .map_err(|e| io_failure(format!("create working directory {}", plan.working_dir.display()), e))?;
    plan.restrictions
        .limit_capabilities()
        .map_err(ChildFailure::setup("limit capabilities"))?;
    if let Some(user) = &plan.user {
        switch_user(user)?;
    }
    plan.restrictions
        .apply_no_new_privs()
        .map_err(ChildFailure::setup("set no_new_privs"))?;
    nix::unistd::chdir(&plan.working_dir).map_err(ChildFailure::setup(format!(
        "chdir to working directory {}",
        plan.working_dir.display()
    )))?;
    sys::reset_signals().map_err(ChildFailure::setup("reset signals"))?;
    nix::sys::stat::umask(Mode::from_bits_truncate(0o022));
    let program = find_executable(&plan.argv[0], plan.path_var())?;
    let cstr = |s: &str| {
        CString::new(s).map_err(|_| ChildFailure::setup(format!("argument {s:?} contains NUL"))(Errno::EINVAL))
    };
    let argv: Vec<CString> = plan.argv.iter().map(|a| cstr(a)).collect::<Result<_, _>>()?;
    let env: Vec<CString> = plan.env.iter().map(|a| cstr(a)).collect::<Result<_, _>>()?;
    let path = cstr(&program.display().to_string())?;
    // Everything the parent left open (but stdio) must not leak into the container.
    sys::cloexec_from(3).map_err(ChildFailure::setup("mark descriptors close-on-exec"))?;
    let errno = nix::unistd::execve(&path, &argv, &env).unwrap_err();
    Err(ChildFailure::Exec {
        path: program.display().to_string(),
        errno,
    })
}

fn io_failure(step: String, e: std::io::Error) -> ChildFailure {
    ChildFailure::Setup {
        step: step.into(),
        errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    }
}

/// Drops root for `user`: supplemental groups, then the gid, then the uid (the order that
/// keeps the privilege each step needs).
fn switch_user(user: &User) -> Result<(), ChildFailure> {
    let groups: Vec<Gid> = user.additional_gids.iter().map(|g| Gid::from_raw(*g)).collect();
    nix::unistd::setgroups(&groups).map_err(ChildFailure::setup("setgroups"))?;
    nix::unistd::setgid(Gid::from_raw(user.gid)).map_err(ChildFailure::setup(format!("setgid {}", user.gid)))?;
    nix::unistd::setuid(Uid::from_raw(user.uid)).map_err(ChildFailure::setup(format!("setuid {}", user.uid)))
}

/// Resolves `name` like Go's `exec.LookPath` (used by runc): a name with a slash is used as
/// is; otherwise the first executable regular file in a `$PATH` directory.
pub(crate) fn find_executable(name: &str, path_var: &str) -> Result<PathBuf, ChildFailure> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(name);
        if let Ok(meta) = std::fs::metadata(&candidate)
            && meta.is_file()
            && meta.permissions().mode() & 0o111 != 0
        {
            return Ok(candidate);
        }
    }
    Err(ChildFailure::NotFound { name: name.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lookup_finds_executables_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("tool"), "").unwrap();
        std::fs::write(b.join("tool"), "").unwrap();
        std::fs::set_permissions(b.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path_var = format!("{}:{}", a.display(), b.display());
        assert_eq!(find_executable("tool", &path_var).unwrap(), b.join("tool"));
        assert!(matches!(
            find_executable("missing", &path_var),
            Err(ChildFailure::NotFound { name }) if name == "missing"
        ));
        assert_eq!(find_executable("/x/y", &path_var).unwrap(), PathBuf::from("/x/y"));
    }
}
