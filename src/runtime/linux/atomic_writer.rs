//! The kubelet's atomic writer (`pkg/volume/util/atomic_writer.go`, `spec/k8s-semantics.md`
//! §9.3): a volume's files go into a new `..<timestamp>` directory, the `..data` symlink is
//! swapped to it in one rename, and each top-level name is a symlink through `..data`, so a
//! reader sees the old set or the new one, never a mix.
//!
//! Everything below the volume directory is reached with `openat` and `O_NOFOLLOW` from a
//! descriptor of that directory: no payload path and no symlink already there can make the
//! writer create, change or remove anything outside it.

use crate::runtime::podspec::payload::Payload;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat, renameat};
use nix::sys::stat::{Mode, fchmod, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, symlinkat, unlinkat};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A payload path the writer refuses (absolute, `..`, starting with `..`, too long).
    #[error("invalid path {0:?}: {1}")]
    InvalidPath(String, &'static str),
    /// A system call failed.
    #[error("{0}: {1}")]
    Sys(String, Errno),
}

fn sys(what: impl Into<String>) -> impl FnOnce(Errno) -> WriteError {
    let what = what.into();
    move |e| WriteError::Sys(what, e)
}

/// `validatePath`: relative, no `..` element, not starting with `..`, at most 4096 bytes and
/// 255 per element.
fn check_path(path: &str) -> Result<Vec<&str>, WriteError> {
    let bad = |why| Err(WriteError::InvalidPath(path.to_string(), why));
    if path.is_empty() {
        return bad("must not be empty");
    }
    if path.len() > 4096 {
        return bad("must be at most 4096 bytes");
    }
    if path.starts_with('/') {
        return bad("must be relative");
    }
    if path.starts_with("..") {
        return bad("must not start with '..'");
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() {
        return bad("must name a file");
    }
    for p in &parts {
        if *p == ".." {
            return bad("must not contain '..'");
        }
        if p.len() > 255 {
            return bad("elements must be at most 255 bytes");
        }
    }
    Ok(parts)
}

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Writes `payload` into the volume directory `dir` (created 0755 when missing). Returns
/// whether anything changed: nothing is written when the payload is what `..data` holds.
pub fn write(dir: &Path, payload: &Payload) -> Result<bool, WriteError> {
    for path in payload.keys() {
        check_path(path)?;
    }
    match std::fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            return Err(WriteError::Sys(format!("create {}", dir.display()), errno));
        }
    }
    let root = nix::fcntl::open(dir, dir_flags(), Mode::empty()).map_err(sys(format!("open {}", dir.display())))?;
    let old = readlinkat(&root, DATA).ok().map(|t| t.to_string_lossy().into_owned());
    let old = old.filter(|o| o.starts_with("..") && !o.contains('/') && o != DATA);
    let old_paths = match &old {
        Some(old) => match openat(&root, old.as_str(), dir_flags(), Mode::empty()) {
            Ok(fd) => {
                if same_content(&fd, payload)? {
                    return Ok(false);
                }
                Some(list_files(&fd, "")?)
            }
            Err(_) => None,
        },
        None => None,
    };
    let ts = new_timestamped_dir(&root)?;
    let ts_fd = openat(&root, ts.as_str(), dir_flags(), Mode::empty()).map_err(sys(format!("open {ts}")))?;
    for (path, file) in payload {
        write_file(&ts_fd, path, &file.data, file.mode)?;
    }
    match unlinkat(&root, DATA_TMP, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(Errno::EISDIR) => remove_tree(&root, DATA_TMP)?,
        Err(e) => return Err(WriteError::Sys(format!("remove {DATA_TMP}"), e)),
    }
    symlinkat(ts.as_str(), &root, DATA_TMP).map_err(sys(format!("symlink {DATA_TMP}")))?;
    renameat(&root, DATA_TMP, &root, DATA).map_err(sys(format!("rename {DATA_TMP} to {DATA}")))?;
    // User-visible names: one symlink per top-level entry of the payload.
    let tops: BTreeSet<&str> = payload
        .keys()
        .filter_map(|p| check_path(p).ok().and_then(|parts| parts.first().copied()))
        .collect();
    for top in &tops {
        let want = format!("{DATA}/{top}");
        match readlinkat(&root, *top) {
            Ok(target) if target.to_string_lossy() == want => continue,
            Ok(_) => unlinkat(&root, *top, UnlinkatFlags::NoRemoveDir).map_err(sys(format!("remove {top}")))?,
            Err(Errno::ENOENT) => {}
            // Not a symlink: something rekon did not make; it goes.
            Err(_) => remove_tree(&root, top)?,
        }
        symlinkat(want.as_str(), &root, *top).map_err(sys(format!("symlink {top}")))?;
    }
    // Names of the old payload that the new one lacks.
    for path in old_paths.iter().flatten() {
        let top = path.split('/').next().unwrap_or_default();
        if !tops.contains(top)
            && let Ok(target) = readlinkat(&root, top)
            && target.to_string_lossy() == format!("{DATA}/{top}")
        {
            let _ = unlinkat(&root, top, UnlinkatFlags::NoRemoveDir);
        }
    }
    if let Some(old) = old
        && old != ts
    {
        remove_tree(&root, &old)?;
    }
    Ok(true)
}

/// `..<UTC yyyy_mm_dd_hh_mm_ss>.<random>`, created 0755.
fn new_timestamped_dir(root: &OwnedFd) -> Result<String, WriteError> {
    let stamp = chrono::Utc::now().format("%Y_%m_%d_%H_%M_%S");
    for _ in 0..16 {
        let name = format!("..{stamp}.{}", rand::random::<u32>());
        match mkdirat(root, name.as_str(), Mode::from_bits_truncate(0o755)) {
            Ok(()) => {
                let fd =
                    openat(root, name.as_str(), dir_flags(), Mode::empty()).map_err(sys(format!("open {name}")))?;
                // mkdir is subject to the umask; the kubelet's directory is 0755.
                fchmod(&fd, Mode::from_bits_truncate(0o755)).map_err(sys(format!("chmod {name}")))?;
                return Ok(name);
            }
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(WriteError::Sys(format!("create {name}"), e)),
        }
    }
    Err(WriteError::Sys("create a timestamped directory".into(), Errno::EEXIST))
}

/// Creates `path` below `ts` with its parent directories, mode `mode` exactly.
fn write_file(ts: &OwnedFd, path: &str, data: &[u8], mode: u32) -> Result<(), WriteError> {
    let parts = check_path(path)?;
    let (name, parents) = parts.split_last().expect("check_path gives at least one element");
    let dir = open_dirs(ts, parents, true).map_err(sys(format!("create the directories of {path}")))?;
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(&dir, *name, flags, Mode::from_bits_truncate(0o600)).map_err(sys(format!("create {path}")))?;
    fchmod(&fd, Mode::from_bits_truncate(mode & 0o777)).map_err(sys(format!("chmod {path}")))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(data).map_err(|e| {
        WriteError::Sys(
            format!("write {path}"),
            Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        )
    })
}

/// The directory `parents` below `base`, each element opened with O_NOFOLLOW from the one
/// before (and created 0755 first when `create`); `base` itself when `parents` is empty.
fn open_dirs(base: &OwnedFd, parents: &[&str], create: bool) -> nix::Result<OwnedFd> {
    let mut dir = base.try_clone().map_err(|_| Errno::EMFILE)?;
    for p in parents {
        if create {
            match mkdirat(&dir, *p, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
        }
        dir = openat(&dir, *p, dir_flags(), Mode::empty())?;
    }
    Ok(dir)
}

/// The entries of the directory `fd` but `.` and `..`, with their types.
fn entries(fd: &OwnedFd) -> Result<Vec<(String, Option<nix::dir::Type>)>, WriteError> {
    let dup = fd
        .try_clone()
        .map_err(|_| WriteError::Sys("dup".into(), Errno::EMFILE))?;
    let mut dir = nix::dir::Dir::from_fd(dup).map_err(sys("read a directory"))?;
    Ok(dir
        .iter()
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.file_type()))
        .filter(|(n, _)| n != "." && n != "..")
        .collect())
}

/// Whether the directory `fd` holds exactly the payload's files, bytes and modes.
fn same_content(fd: &OwnedFd, payload: &Payload) -> Result<bool, WriteError> {
    let present = list_files(fd, "")?;
    if present.len() != payload.len() || present.iter().any(|p| !payload.contains_key(p)) {
        return Ok(false);
    }
    for (path, want) in payload {
        let Ok(parts) = check_path(path) else { return Ok(false) };
        let (name, parents) = parts.split_last().expect("at least one element");
        let Ok(dir) = open_dirs(fd, parents, false) else {
            return Ok(false);
        };
        let Ok(file) = openat(
            &dir,
            *name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            return Ok(false);
        };
        let mode = nix::sys::stat::fstat(&file).map(|st| st.st_mode & 0o777).unwrap_or(0);
        let mut have = Vec::with_capacity(want.data.len());
        if std::fs::File::from(file).read_to_end(&mut have).is_err() || have != want.data || mode != want.mode {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The relative paths of the regular files below `fd` (symlinks are not followed).
fn list_files(fd: &OwnedFd, prefix: &str) -> Result<Vec<String>, WriteError> {
    let mut out = Vec::new();
    let mut subdirs = Vec::new();
    for (name, kind) in entries(fd)? {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        match kind {
            Some(nix::dir::Type::Directory) => subdirs.push((name, path)),
            Some(nix::dir::Type::File) => out.push(path),
            _ => {}
        }
    }
    for (name, path) in subdirs {
        let sub = openat(fd, name.as_str(), dir_flags(), Mode::empty()).map_err(sys(format!("open {path}")))?;
        out.extend(list_files(&sub, &path)?);
    }
    Ok(out)
}

/// Removes `name` below `parent` and everything in it, without following symlinks.
fn remove_tree(parent: &OwnedFd, name: &str) -> Result<(), WriteError> {
    let st = match fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(WriteError::Sys(format!("stat {name}"), e)),
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return unlinkat(parent, name, UnlinkatFlags::NoRemoveDir).map_err(sys(format!("remove {name}")));
    }
    let fd = openat(parent, name, dir_flags(), Mode::empty()).map_err(sys(format!("open {name}")))?;
    for (child, _) in entries(&fd)? {
        remove_tree(&fd, &child)?;
    }
    unlinkat(parent, name, UnlinkatFlags::RemoveDir).map_err(sys(format!("remove {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::podspec::payload::FileContent;
    use std::os::unix::fs::PermissionsExt;

    fn payload(files: &[(&str, &str, u32)]) -> Payload {
        files
            .iter()
            .map(|(p, d, m)| {
                (
                    p.to_string(),
                    FileContent {
                        data: d.as_bytes().to_vec(),
                        mode: *m,
                    },
                )
            })
            .collect()
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("..2"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_the_kubelet_layout_and_swaps_on_change() {
        let tmp = tempfile::tempdir().unwrap();
        let vol = tmp.path().join("v");
        assert!(write(&vol, &payload(&[("a", "1", 0o644), ("d/b", "2", 0o400)])).unwrap());
        assert_eq!(entries(&vol), ["..data", "a", "d"]);
        assert_eq!(std::fs::read_to_string(vol.join("d/b")).unwrap(), "2");
        let mode = std::fs::metadata(vol.join("d/b")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o400);
        assert_eq!(std::fs::read_link(vol.join("a")).unwrap(), Path::new("..data/a"));
        let first = std::fs::read_link(vol.join("..data")).unwrap();
        // The same payload changes nothing.
        assert!(!write(&vol, &payload(&[("a", "1", 0o644), ("d/b", "2", 0o400)])).unwrap());
        assert_eq!(std::fs::read_link(vol.join("..data")).unwrap(), first);
        // A new payload: a new directory, the old one gone, the dropped name gone.
        assert!(write(&vol, &payload(&[("a", "3", 0o644), ("c", "4", 0o644)])).unwrap());
        assert_ne!(std::fs::read_link(vol.join("..data")).unwrap(), first);
        assert!(!vol.join(&first).exists());
        assert_eq!(entries(&vol), ["..data", "a", "c"]);
        assert_eq!(std::fs::read_to_string(vol.join("a")).unwrap(), "3");
        let stamped: Vec<_> = std::fs::read_dir(&vol)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("..2"))
            .collect();
        assert_eq!(stamped.len(), 1);
    }

    #[test]
    fn nothing_outside_the_volume_is_touched() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), "mine").unwrap();
        let vol = tmp.path().join("v");
        std::fs::create_dir(&vol).unwrap();
        // Symlinks planted where the writer works: the temporary link, a top-level name and
        // an old data directory.
        std::os::unix::fs::symlink(&outside, vol.join("..data_tmp")).unwrap();
        std::os::unix::fs::symlink(&outside, vol.join("d")).unwrap();
        std::os::unix::fs::symlink(outside.join("keep"), vol.join("keep")).unwrap();
        assert!(write(&vol, &payload(&[("d/x", "1", 0o644), ("keep", "2", 0o644)])).unwrap());
        assert_eq!(std::fs::read_to_string(outside.join("keep")).unwrap(), "mine");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
        assert_eq!(std::fs::read_to_string(vol.join("keep")).unwrap(), "2");
        assert_eq!(std::fs::read_to_string(vol.join("d/x")).unwrap(), "1");
        // ..data pointing outside is not taken for an old payload to remove.
        std::fs::remove_file(vol.join("..data")).unwrap();
        std::os::unix::fs::symlink(&outside, vol.join("..data")).unwrap();
        assert!(write(&vol, &payload(&[("k", "1", 0o644)])).unwrap());
        assert_eq!(std::fs::read_to_string(outside.join("keep")).unwrap(), "mine");
        for bad in ["/etc/passwd", "../x", "a/../../x", "..hidden"] {
            assert!(matches!(
                write(&vol, &payload(&[(bad, "x", 0o644)])),
                Err(WriteError::InvalidPath(..))
            ));
        }
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
    }
}
