//! A container's root filesystem: the on-disk overlay directories (with their cleanup) and,
//! in the child, the overlay mount, `/proc`, `/sys`, a minimal `/dev` and `pivot_root`.

use super::error::ChildFailure;
use super::mounts::{Create, fd_path, resolve_in_root};
use super::security::{MASKED_PATHS, READONLY_PATHS};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{Mode, SFlag, makedev, mkdirat, mknodat};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The per-container directories of an overlay root, all on the same filesystem:
/// `<base>/upper` (the writable layer), `<base>/work` (overlayfs scratch) and `<base>/rootfs`
/// (the mount point, mounted only inside the container's mount namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootfsDirs {
    /// The directory holding the three.
    pub base: PathBuf,
}

impl RootfsDirs {
    /// The layout under `base` (for example `<pod dir>/containers/<name>`).
    pub fn new(base: &Path) -> Self {
        RootfsDirs {
            base: base.to_path_buf(),
        }
    }

    /// The writable layer.
    pub fn upper(&self) -> PathBuf {
        self.base.join("upper")
    }

    /// overlayfs' work directory.
    pub fn work(&self) -> PathBuf {
        self.base.join("work")
    }

    /// The mount point of the merged root.
    pub fn merged(&self) -> PathBuf {
        self.base.join("rootfs")
    }

    /// Creates the directories (idempotent). The writable layer survives container restarts
    /// until [`RootfsDirs::cleanup`].
    pub fn create(&self) -> std::io::Result<()> {
        for dir in [self.upper(), self.work(), self.merged()] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }

    /// Unmounts anything left mounted below `base` in the caller's namespace and deletes the
    /// directories with the writable layer. Call once the container has exited for good.
    pub fn cleanup(&self) -> std::io::Result<()> {
        super::mounts::unmount_host(&self.base)?;
        match std::fs::remove_dir_all(&self.base) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// Makes every mount of the (new) mount namespace private, so that nothing done in the
/// container propagates to the host, then mounts the overlay and returns its root.
pub(crate) fn mount_overlay(lower: &[PathBuf], dirs: &RootfsDirs) -> Result<OwnedFd, ChildFailure> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(ChildFailure::setup("make / private"))?;
    let lower: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        dirs.upper().display(),
        dirs.work().display()
    );
    let merged = dirs.merged();
    mount(
        Some("overlay"),
        &merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(ChildFailure::setup(format!(
        "mount overlay at {} ({data})",
        merged.display()
    )))?;
    nix::fcntl::open(
        &merged,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(ChildFailure::setup(format!("open {}", merged.display())))
}

/// Mounts a filesystem of type `fstype` at `path` inside `root`, creating the directory.
fn mount_fs(root: &OwnedFd, path: &str, fstype: &str, flags: MsFlags, data: Option<&str>) -> Result<(), ChildFailure> {
    let step = format!("mount {fstype} at {path}");
    let target =
        resolve_in_root(root, Path::new(path), Some(Create::Dir)).map_err(ChildFailure::setup(step.clone()))?;
    mount(Some(fstype), fd_path(&target).as_str(), Some(fstype), flags, data).map_err(ChildFailure::setup(step.clone()))
}

/// `/proc` of the container's PID namespace and a read-only `/sys`.
/// `/sys` is writable only for a privileged container (`writable_sys`).
pub(crate) fn mount_proc_sys(root: &OwnedFd, writable_sys: bool) -> Result<(), ChildFailure> {
    let hidden = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount_fs(root, "/proc", "proc", hidden, None)?;
    let sys = if writable_sys {
        hidden
    } else {
        hidden | MsFlags::MS_RDONLY
    };
    mount_fs(root, "/sys", "sysfs", sys, None)
}

/// Masks [`MASKED_PATHS`] and makes [`READONLY_PATHS`] read-only; after [`pivot`], when
/// `/proc` and `/sys` are the container's own (kernel filesystems: no symlink planted by an
/// image can redirect these paths). Paths this kernel does not have are skipped.
pub(crate) fn mask_paths() -> Result<(), ChildFailure> {
    let hidden = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    for path in MASKED_PATHS {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            continue;
        };
        let masked = if meta.is_dir() {
            mount(
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                hidden | MsFlags::MS_RDONLY,
                Some("size=0"),
            )
        } else {
            mount(Some("/dev/null"), path, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        };
        masked.map_err(ChildFailure::setup(format!("mask {path}")))?;
    }
    for path in READONLY_PATHS {
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        let step = format!("make {path} read-only");
        mount(
            Some(path),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(ChildFailure::setup(step.clone()))?;
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | hidden;
        mount(None::<&str>, path, None::<&str>, flags, None::<&str>).map_err(ChildFailure::setup(step))?;
    }
    Ok(())
}

/// The character devices of a minimal `/dev` (runc's default device list).
const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// A tmpfs `/dev` with the standard devices, its symlinks, `pts` (a new devpts instance) and
/// `shm`. Expects the process umask to be 0.
pub(crate) fn mount_dev(root: &OwnedFd) -> Result<(), ChildFailure> {
    mount_fs(
        root,
        "/dev",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )?;
    let dev = resolve_in_root(root, Path::new("/dev"), None).map_err(ChildFailure::setup("open /dev"))?;
    for (name, major, minor) in DEVICES {
        let made = mknodat(
            &dev,
            name,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        );
        if made == Err(Errno::EPERM) {
            bind_host_device(root, name)?;
        } else {
            made.map_err(ChildFailure::setup(format!("mknod /dev/{name}")))?;
        }
    }
    let links = [
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    for (target, name) in links {
        nix::unistd::symlinkat(target, &dev, name).map_err(ChildFailure::setup(format!("symlink /dev/{name}")))?;
    }
    for (name, mode) in [("pts", 0o755), ("shm", 0o1777)] {
        mkdirat(&dev, name, Mode::from_bits_truncate(mode))
            .map_err(ChildFailure::setup(format!("mkdir /dev/{name}")))?;
    }
    mount_fs(
        root,
        "/dev/pts",
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )?;
    mount_fs(
        root,
        "/dev/shm",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
}

/// Where `mknod` is not allowed, bind-mounts the host's device node instead.
fn bind_host_device(root: &OwnedFd, name: &str) -> Result<(), ChildFailure> {
    let step = format!("bind /dev/{name} from the host");
    let target = resolve_in_root(root, &Path::new("/dev").join(name), Some(Create::File))
        .map_err(ChildFailure::setup(step.clone()))?;
    let source = format!("/dev/{name}");
    mount(
        Some(source.as_str()),
        fd_path(&target).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(ChildFailure::setup(step.clone()))
}

/// Makes `merged` the root of the mount namespace and detaches the old root
/// (runc's `pivot_root(".", ".")` without a put-old directory).
pub(crate) fn pivot(merged: &Path) -> Result<(), ChildFailure> {
    nix::unistd::chdir(merged).map_err(ChildFailure::setup(format!("chdir {}", merged.display())))?;
    nix::unistd::pivot_root(".", ".").map_err(ChildFailure::setup(format!("pivot_root {}", merged.display())))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(ChildFailure::setup("unmount the old root"))?;
    nix::unistd::chdir("/").map_err(ChildFailure::setup("chdir /"))
}

/// Remounts the new root read-only (`readOnlyRootFilesystem`); after [`pivot`].
pub(crate) fn remount_root_read_only() -> Result<(), ChildFailure> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        None::<&str>,
    )
    .map_err(ChildFailure::setup("remount / read-only"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_layout_and_cleanup() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = RootfsDirs::new(&tmp.path().join("ctr"));
        dirs.create().unwrap();
        assert!(dirs.upper().is_dir() && dirs.work().is_dir() && dirs.merged().is_dir());
        std::fs::write(dirs.upper().join("file"), "x").unwrap();
        dirs.cleanup().unwrap();
        assert!(!dirs.base.exists());
        dirs.cleanup().unwrap();
    }
}
