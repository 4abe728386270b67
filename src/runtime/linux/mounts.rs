//! Volume mounts inside a container's root, resolved safely, and the host-side tmpfs mounts
//! (emptyDir `medium: Memory`) with their explicit cleanup.
//!
//! Destinations are resolved component by component with `openat2(RESOLVE_IN_ROOT)`, so a
//! symlink in the image (`/data -> ../../../host`) resolves inside the container's root;
//! missing components are created through the already-resolved parent. The mount then targets
//! `/proc/self/fd/<n>` of the resolved descriptor, as runc does.

use super::error::ChildFailure;
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// A mount into a container, applied after the root filesystem, `/proc` and `/dev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Absolute path inside the container.
    pub destination: PathBuf,
    /// What is mounted.
    pub kind: MountKind,
    /// Remount read-only after mounting (`readOnly: true`).
    pub read_only: bool,
}

/// The source of a [`Mount`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A recursive bind mount of a host file or directory.
    Bind {
        /// The host path (a volume directory, a pod file such as `etc-hosts`).
        source: PathBuf,
        /// `subPath`: a path inside `source`, resolved inside it and created as a directory
        /// when missing, like the kubelet does.
        sub_path: Option<PathBuf>,
    },
    /// A tmpfs private to this container.
    Tmpfs {
        /// `size=` in bytes; the kernel default (half of RAM) when None.
        size_bytes: Option<u64>,
    },
}

/// What to create at a mount point that does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    Dir,
    File,
}

/// The lexically normal components of `path` (`..` clamped at the root).
fn components(path: &Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// How often `openat2` is retried when the kernel reports a concurrent rename or mount.
const RESOLVE_RETRIES: usize = 128;

fn open_in_root(root: &OwnedFd, rel: &str) -> nix::Result<OwnedFd> {
    let how = || {
        OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
    };
    let rel = if rel.is_empty() { "." } else { rel };
    // With RESOLVE_IN_ROOT the kernel fails with EAGAIN when a rename or mount anywhere on
    // the host raced with the lookup (openat2(2)); other pods starting in parallel do that.
    let mut result = openat2(root, rel, how());
    for _ in 0..RESOLVE_RETRIES {
        if !matches!(result, Err(Errno::EAGAIN)) {
            break;
        }
        result = openat2(root, rel, how());
    }
    result
}

/// Resolves `path` inside `root`, creating what is missing (directories on the way, then
/// `create` for the last component). Returns an `O_PATH` descriptor of the target, which is
/// guaranteed to lie inside `root`.
pub(crate) fn resolve_in_root(root: &OwnedFd, path: &Path, create: Option<Create>) -> nix::Result<OwnedFd> {
    let parts = components(path);
    let mut current = open_in_root(root, "")?;
    for (i, name) in parts.iter().enumerate() {
        let prefix = parts[..=i].join("/");
        match open_in_root(root, &prefix) {
            Ok(fd) => current = fd,
            Err(Errno::ENOENT) if create.is_some() => {
                let last = i + 1 == parts.len();
                let made = if last && create == Some(Create::File) {
                    nix::fcntl::openat(
                        &current,
                        name.as_str(),
                        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o644),
                    )
                    .map(drop)
                } else {
                    nix::sys::stat::mkdirat(&current, name.as_str(), Mode::from_bits_truncate(0o755))
                };
                // EEXIST here means a dangling symlink: refuse rather than guess where it
                // should lead (filepath-securejoin's MkdirAll does the same).
                made.map_err(|e| if e == Errno::EEXIST { Errno::ENOENT } else { e })?;
                current = open_in_root(root, &prefix)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(current)
}

/// The `/proc/self/fd/<n>` path that designates an open descriptor.
pub(crate) fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Applies one mount below `root` (the container root, before `pivot_root`).
pub(crate) fn apply(root: &OwnedFd, m: &Mount) -> Result<(), ChildFailure> {
    let dest = m.destination.display();
    match &m.kind {
        MountKind::Bind { source, sub_path } => {
            let step = format!("mount volume {} at {dest}", source.display());
            let source_fd = open_source(source, sub_path.as_deref()).map_err(ChildFailure::setup(step.clone()))?;
            let is_dir = nix::sys::stat::fstat(&source_fd)
                .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
                .map_err(ChildFailure::setup(step.clone()))?;
            let create = if is_dir { Create::Dir } else { Create::File };
            let target =
                resolve_in_root(root, &m.destination, Some(create)).map_err(ChildFailure::setup(step.clone()))?;
            mount(
                Some(fd_path(&source_fd).as_str()),
                fd_path(&target).as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(ChildFailure::setup(step))?;
        }
        MountKind::Tmpfs { size_bytes } => {
            let step = format!("mount tmpfs at {dest}");
            let target =
                resolve_in_root(root, &m.destination, Some(Create::Dir)).map_err(ChildFailure::setup(step.clone()))?;
            let data = size_bytes.map(|s| format!("size={s}"));
            mount(
                Some("tmpfs"),
                fd_path(&target).as_str(),
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                data.as_deref(),
            )
            .map_err(ChildFailure::setup(step))?;
        }
    }
    if m.read_only {
        remount_read_only(root, &m.destination)?;
    }
    Ok(())
}

/// Remounts the mount at `path` read-only; the path is resolved again so that the
/// descriptor designates the new mount, not the directory under it.
pub(crate) fn remount_read_only(root: &OwnedFd, path: &Path) -> Result<(), ChildFailure> {
    let step = format!("remount {} read-only", path.display());
    let target = resolve_in_root(root, path, None).map_err(ChildFailure::setup(step.clone()))?;
    mount(
        None::<&str>,
        fd_path(&target).as_str(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        None::<&str>,
    )
    .map_err(ChildFailure::setup(step))
}

fn open_source(source: &Path, sub_path: Option<&Path>) -> nix::Result<OwnedFd> {
    let base = nix::fcntl::open(source, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())?;
    match sub_path {
        // A subPath may not leave its volume, whatever symlinks the volume holds.
        Some(sub) => resolve_in_root(&base, sub, Some(Create::Dir)),
        None => Ok(base),
    }
}

/// Mounts a tmpfs at `dir` in the caller's (host) mount namespace, for volumes shared by
/// the containers of a pod (emptyDir `medium: Memory`). Undo with [`unmount_host`].
pub fn mount_host_tmpfs(dir: &Path, size_bytes: Option<u64>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let data = match size_bytes {
        Some(size) => format!("mode=0777,size={size}"),
        None => "mode=0777".to_string(),
    };
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(data.as_str()),
    )
    .map_err(std::io::Error::from)
}

/// Unmounts everything mounted at or below `dir` in the caller's mount namespace, deepest
/// first (lazily, so a busy mount does not block pod deletion). Ok when nothing is mounted.
pub fn unmount_host(dir: &Path) -> std::io::Result<()> {
    let mut points = mount_points_under(dir)?;
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in points {
        match umount2(&point, MntFlags::MNT_DETACH) {
            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Mount points at or below `dir` in `/proc/self/mountinfo` (stacked mounts repeat).
pub fn mount_points_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| p.starts_with(dir))
        .collect())
}

/// Undoes the octal escapes (`\040` for a space) of mountinfo paths.
fn unescape_mountinfo(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            out.push((bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn open_dir(path: &Path) -> OwnedFd {
        nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).unwrap()
    }

    fn real_path(fd: &OwnedFd) -> PathBuf {
        std::fs::read_link(fd_path(fd)).unwrap()
    }

    #[test]
    fn hostile_symlinks_resolve_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        symlink("../../../..", root.join("up")).unwrap();
        symlink("/etc", root.join("data")).unwrap();
        let root_fd = open_dir(&root);
        let fd = resolve_in_root(&root_fd, Path::new("/up/escape"), Some(Create::Dir)).unwrap();
        assert_eq!(real_path(&fd), root.join("escape"));
        let fd = resolve_in_root(&root_fd, Path::new("/data/hosts"), Some(Create::File)).unwrap();
        assert_eq!(real_path(&fd), root.join("etc/hosts"));
        assert!(root.join("etc/hosts").is_file());
        let fd = resolve_in_root(&root_fd, Path::new("/../a/./b"), Some(Create::Dir)).unwrap();
        assert_eq!(real_path(&fd), root.join("a/b"));
    }

    #[test]
    fn dangling_symlinks_and_missing_paths_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        symlink("/nowhere/x", tmp.path().join("dangling")).unwrap();
        let root_fd = open_dir(tmp.path());
        assert_eq!(
            resolve_in_root(&root_fd, Path::new("/dangling"), Some(Create::Dir)).unwrap_err(),
            Errno::ENOENT
        );
        assert_eq!(
            resolve_in_root(&root_fd, Path::new("/missing"), None).unwrap_err(),
            Errno::ENOENT
        );
        assert!(!tmp.path().join("nowhere").exists());
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }
}
