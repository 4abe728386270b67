//! Unpacking one layer tarball into a directory, safe against hostile archives, with OCI
//! whiteouts converted to the overlayfs form.
//!
//! The rules (containerd's `archive/tar.go` and Docker's `pkg/archive` do the same in
//! spirit): a leading `/` is dropped (the entry stays inside the layer); `..` that climbs
//! out of the layer is refused; parent directories are walked with `lstat` and a symlink
//! or non-directory on the way is refused, so nothing is written through a symlink the
//! archive made earlier; an existing entry is unlinked before it is replaced and files are
//! created with `O_EXCL|O_NOFOLLOW`; hard links must point at an existing non-directory
//! inside the layer; char and block devices are skipped except the 0/0 char device that
//! already is an overlay whiteout. `.wh.<name>` becomes a 0/0 char device `<name>` and
//! `.wh..wh..opq` becomes `trusted.overlay.opaque=y` on its directory (OCI image-spec
//! `layer.md`, "Whiteouts"; kernel `Documentation/filesystems/overlayfs.rst`).
//!
//! The destination is a fresh private directory that only this process writes, so checks
//! by path are not racing anyone.

use super::ImageError;
use super::archive::{DigestReader, MAX_LAYER_BYTES, open_maybe_gzip};
use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tar::EntryType;

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
const MAX_ENTRIES: u64 = 4_000_000;
/// Extended attributes kept from PAX headers; `trusted.*` (overlay's own) never is.
const KEPT_XATTRS: [&str; 1] = ["security.capability"];

/// The result of unpacking a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// `sha256:` of the uncompressed tar stream.
    pub diff_id: String,
    /// Bytes in the uncompressed tar stream.
    pub size: u64,
}

/// Unpacks the (plain or gzip) layer tarball at `blob` into `dest`, which must not exist.
/// `layer` names the layer in errors. On error `dest` may hold a partial tree: the caller
/// unpacks into a temporary name and removes it.
pub(crate) fn unpack_layer(blob: &Path, dest: &Path, layer: &str) -> Result<Unpacked, ImageError> {
    fs::DirBuilder::new()
        .mode(0o755)
        .create(dest)
        .map_err(ImageError::io("create", dest))?;
    let stream = DigestReader::new(open_maybe_gzip(blob)?, MAX_LAYER_BYTES);
    let mut archive = tar::Archive::new(stream);
    let mut unpacker = Unpacker {
        root: dest,
        layer,
        dir_times: Vec::new(),
    };
    let read_err = |e: io::Error| ImageError::bad(blob, format!("layer {layer}: {e}"));
    let mut count = 0u64;
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(ImageError::bad(
                blob,
                format!("layer {layer} has more than {MAX_ENTRIES} entries"),
            ));
        }
        unpacker.entry(&mut entry).map_err(|e| match e {
            UnpackError::Image(e) => e,
            UnpackError::Io(e) => read_err(e),
        })?;
    }
    let mut stream = archive.into_inner();
    // The diff id covers the whole stream, including the zero blocks after the last entry.
    io::copy(&mut stream, &mut io::sink()).map_err(read_err)?;
    for (path, mtime) in unpacker.dir_times.iter().rev() {
        set_mtime(path, *mtime);
    }
    let (diff_id, size) = stream.finish();
    Ok(Unpacked { diff_id, size })
}

enum UnpackError {
    Image(ImageError),
    Io(io::Error),
}

impl From<io::Error> for UnpackError {
    fn from(e: io::Error) -> Self {
        UnpackError::Io(e)
    }
}

impl From<ImageError> for UnpackError {
    fn from(e: ImageError) -> Self {
        UnpackError::Image(e)
    }
}

struct Unpacker<'a> {
    root: &'a Path,
    layer: &'a str,
    dir_times: Vec<(PathBuf, u64)>,
}

impl Unpacker<'_> {
    fn refuse(&self, entry: &Path, reason: impl Into<String>) -> UnpackError {
        UnpackError::Image(ImageError::UnsafeEntry {
            layer: self.layer.to_string(),
            entry: entry.display().to_string(),
            reason: reason.into(),
        })
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let name = entry.path()?.into_owned();
        let comps = clean(&name).ok_or_else(|| self.refuse(&name, "path escapes the layer"))?;
        let kind = entry.header().entry_type();
        let (parent_comps, file_name) = match comps.split_last() {
            Some((last, parent)) => (parent, Some(last.as_os_str())),
            None => (&comps[..], None),
        };
        let Some(file_name) = file_name else {
            // `./` itself: the layer root's metadata.
            if kind == EntryType::Directory {
                self.metadata(entry, self.root.to_path_buf(), true)?;
            }
            return Ok(());
        };
        if let Some(hidden) = file_name.as_bytes().strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            if hidden.is_empty() || hidden == b"." || hidden == b".." {
                // `.wh...` would "hide" the parent of the directory it is in.
                return Err(self.refuse(&name, "whiteout of no name"));
            }
            let parent = self.parents(&name, parent_comps)?;
            if file_name == OPAQUE_MARKER {
                lsetxattr(&parent, "trusted.overlay.opaque", b"y")?;
            } else if !hidden.starts_with(WHITEOUT_PREFIX.as_bytes()) {
                let target = parent.join(OsStr::from_bytes(hidden));
                remove_existing(&target, false)?;
                whiteout(&target)?;
            }
            // Other `.wh..wh.*` names are aufs bookkeeping, meaningless here.
            return Ok(());
        }
        let path = self.parents(&name, parent_comps)?.join(file_name);
        match kind {
            EntryType::Directory => {
                if !remove_existing(&path, true)? {
                    fs::DirBuilder::new().mode(0o755).create(&path)?;
                }
                self.metadata(entry, path, true)?;
            }
            EntryType::Regular | EntryType::Continuous => {
                remove_existing(&path, false)?;
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&path)?;
                io::copy(entry, &mut file)?;
                drop(file);
                self.metadata(entry, path, false)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()?
                    .ok_or_else(|| self.refuse(&name, "symlink without a target"))?;
                remove_existing(&path, false)?;
                std::os::unix::fs::symlink(&target, &path)?;
                self.metadata(entry, path, false)?;
            }
            EntryType::Link => {
                let target_name = entry
                    .link_name()?
                    .ok_or_else(|| self.refuse(&name, "hard link without a target"))?
                    .into_owned();
                let target = self.link_target(&name, &target_name)?;
                if target != path {
                    remove_existing(&path, false)?;
                    // linkat(2) without AT_SYMLINK_FOLLOW: a link to a symlink links the
                    // symlink itself, never what it points at.
                    fs::hard_link(&target, &path)?;
                }
            }
            EntryType::Char | EntryType::Block => {
                let header = entry.header();
                let is_whiteout = kind == EntryType::Char
                    && header.device_major()?.unwrap_or(0) == 0
                    && header.device_minor()?.unwrap_or(0) == 0;
                if is_whiteout {
                    remove_existing(&path, false)?;
                    whiteout(&path)?;
                }
                // Any other device node is skipped: a container gets its /dev from the
                // runtime, never from an image.
            }
            EntryType::Fifo => {
                remove_existing(&path, false)?;
                nix::sys::stat::mknod(
                    &path,
                    nix::sys::stat::SFlag::S_IFIFO,
                    nix::sys::stat::Mode::from_bits_truncate(0o600),
                    0,
                )
                .map_err(io::Error::from)?;
                self.metadata(entry, path, false)?;
            }
            // PAX and GNU long-name headers are consumed by the tar crate; anything else
            // (sockets, sparse oddities) has no place in a layer.
            _ => {}
        }
        Ok(())
    }

    /// Creates (or walks) the parent directories of an entry without following symlinks.
    fn parents(&self, name: &Path, comps: &[OsString]) -> Result<PathBuf, UnpackError> {
        let mut path = self.root.to_path_buf();
        for c in comps {
            path.push(c);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(self.refuse(name, format!("parent {} is a symlink", rel(self.root, &path))));
                }
                Ok(_) => {
                    return Err(self.refuse(name, format!("parent {} is not a directory", rel(self.root, &path))));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::DirBuilder::new().mode(0o755).create(&path)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(path)
    }

    /// The existing file a hard link points at, inside the layer and reached without
    /// following symlinks.
    fn link_target(&self, name: &Path, target: &Path) -> Result<PathBuf, UnpackError> {
        let comps = clean(target).ok_or_else(|| self.refuse(name, "hard link target escapes the layer"))?;
        let mut path = self.root.to_path_buf();
        for (i, c) in comps.iter().enumerate() {
            path.push(c);
            let last = i + 1 == comps.len();
            match fs::symlink_metadata(&path) {
                Ok(m) if !last && m.is_dir() => {}
                Ok(m) if last && !m.is_dir() => return Ok(path),
                _ => {
                    return Err(self.refuse(
                        name,
                        format!("hard link target {} is not a file in this layer", target.display()),
                    ));
                }
            }
        }
        Err(self.refuse(name, "hard link without a target"))
    }

    /// Owner, mode, xattrs and mtime from the header; chown before chmod, since chown
    /// clears set-id bits.
    fn metadata<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: PathBuf,
        is_dir: bool,
    ) -> Result<(), UnpackError> {
        let header = entry.header();
        // Unparsable numeric fields read as 0, as GNU tar treats empty ones.
        let id = |v: io::Result<u64>| -> Result<u32, UnpackError> {
            let v = v.unwrap_or(0);
            u32::try_from(v).map_err(|_| self.refuse(&path, format!("owner id {v} is out of range")))
        };
        let (uid, gid) = (id(header.uid())?, id(header.gid())?);
        let mode = header.mode().unwrap_or(if is_dir { 0o755 } else { 0o644 }) & 0o7777;
        let mtime = header.mtime().unwrap_or(0);
        let is_symlink = header.entry_type() == EntryType::Symlink;
        std::os::unix::fs::lchown(&path, Some(uid), Some(gid))?;
        if !is_symlink {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        }
        if let Some(exts) = entry.pax_extensions()? {
            for ext in exts.flatten() {
                let Some(key) = ext.key().ok().and_then(|k| k.strip_prefix("SCHILY.xattr.")) else {
                    continue;
                };
                if KEPT_XATTRS.contains(&key) && !is_symlink {
                    lsetxattr(&path, key, ext.value_bytes())?;
                }
            }
        }
        if is_dir {
            self.dir_times.push((path, mtime));
        } else {
            set_mtime(&path, mtime);
        }
        Ok(())
    }
}

/// Lexically cleans an archive path into components below the layer root; None when `..`
/// climbs above it. A leading `/` is dropped, as tar and Docker do.
pub(crate) fn clean(path: &Path) -> Option<Vec<OsString>> {
    let mut out: Vec<OsString> = Vec::new();
    for c in path.as_os_str().as_bytes().split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop()?;
            }
            c => out.push(OsStr::from_bytes(c).to_os_string()),
        }
    }
    Some(out)
}

/// Removes what is at `path` so a new entry can take its place. An existing directory is
/// kept when `keep_dir` (a directory entry over a directory updates it); returns whether
/// a directory was kept.
fn remove_existing(path: &Path, keep_dir: bool) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() && keep_dir => Ok(true),
        // remove_dir_all does not follow symlinks inside the tree.
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).map(|()| false),
        Ok(_) => fs::remove_file(path).map(|()| false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// An overlayfs whiteout: a character device 0/0.
fn whiteout(path: &Path) -> io::Result<()> {
    nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        nix::sys::stat::makedev(0, 0),
    )
    .map_err(io::Error::from)
}

/// Best effort: a wrong mtime never breaks a container.
fn set_mtime(path: &Path, secs: u64) {
    let t = nix::sys::time::TimeVal::new(i64::try_from(secs).unwrap_or(0), 0);
    let _ = nix::sys::stat::lutimes(path, &t, &t);
}

#[allow(unsafe_code)]
fn lsetxattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let cpath = CString::new(path.as_os_str().as_bytes())?;
    let cname = CString::new(name)?;
    // SAFETY: both strings are NUL-terminated and live across the call; `value` points at
    // `value.len()` readable bytes; lsetxattr does not keep any pointer after returning.
    let rc = unsafe { libc::lsetxattr(cpath.as_ptr(), cname.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::image::fixtures::{E, gzip, tar_of};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    /// Unpacks `tar` (written to a blob file) into `<tmp>/layer`.
    fn unpack(tmp: &Path, tar: &[u8]) -> Result<Unpacked, ImageError> {
        let blob = tmp.join("blob");
        fs::write(&blob, tar).unwrap();
        unpack_layer(&blob, &tmp.join("layer"), "test")
    }

    #[allow(unsafe_code)]
    fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
        let cpath = CString::new(path.as_os_str().as_bytes()).unwrap();
        let cname = CString::new(name).unwrap();
        let mut buf = [0u8; 64];
        // SAFETY: NUL-terminated strings live across the call; buf has buf.len() writable bytes.
        let n = unsafe { libc::lgetxattr(cpath.as_ptr(), cname.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        usize::try_from(n).ok().map(|n| buf[..n].to_vec())
    }

    #[test]
    fn unpacks_files_links_owners_and_whiteouts() {
        let tmp = tempfile::tempdir().unwrap();
        let tar = tar_of(&[
            E::Dir("./"),
            E::Dir("etc/"),
            E::Owned("etc/shadow", b"secret", 0o4750, 1234, 42),
            E::Symlink("etc/link", "/etc/shadow"),
            E::Hardlink("etc/hard", "etc/shadow"),
            E::File("deep/er/file", b"made parents"),
            E::File("gone/.wh.old", b""),
            E::File("opaque/.wh..wh..opq", b""),
            E::Char("dev-null", 1, 3),
            E::Char("overlay-whiteout", 0, 0),
        ]);
        let got = unpack(tmp.path(), &gzip(&tar)).unwrap();
        assert_eq!(
            got.diff_id,
            super::super::archive::sha256(&tar),
            "diff id is of the uncompressed tar"
        );
        assert_eq!(got.size, tar.len() as u64);
        let l = tmp.path().join("layer");
        let m = fs::symlink_metadata(l.join("etc/shadow")).unwrap();
        assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o4750, 1234, 42));
        assert_eq!(m.mtime(), 1_600_000_000);
        assert_eq!(fs::read_link(l.join("etc/link")).unwrap(), Path::new("/etc/shadow"));
        assert_eq!(fs::symlink_metadata(l.join("etc/hard")).unwrap().ino(), m.ino());
        assert_eq!(fs::read(l.join("deep/er/file")).unwrap(), b"made parents");
        for whiteout in ["gone/old", "overlay-whiteout"] {
            let m = fs::symlink_metadata(l.join(whiteout)).unwrap();
            assert!(m.file_type().is_char_device(), "{whiteout}");
            assert_eq!(m.rdev(), 0, "{whiteout}");
        }
        assert!(!l.join("gone/.wh.old").exists());
        assert!(!l.join("opaque/.wh..wh..opq").exists());
        assert_eq!(
            xattr(&l.join("opaque"), "trusted.overlay.opaque").as_deref(),
            Some(&b"y"[..])
        );
        assert!(!l.join("dev-null").exists(), "device nodes are skipped");
    }

    #[test]
    fn refuses_parent_escape() {
        let tmp = tempfile::tempdir().unwrap();
        let err = unpack(tmp.path(), &tar_of(&[E::File("a/../../evil", b"x")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer test: refusing entry \"a/../../evil\": path escapes the layer"
        );
        assert!(!tmp.path().join("evil").exists());
        fs::remove_dir_all(tmp.path().join("layer")).unwrap();
        for name in [".wh...", "x/.wh..", ".wh."] {
            let err = unpack(tmp.path(), &tar_of(&[E::File(name, b"")])).unwrap_err();
            assert!(err.to_string().ends_with("whiteout of no name"), "{name}: {err}");
            assert!(
                tmp.path().join("blob").exists(),
                "{name}: nothing above the layer removed"
            );
            fs::remove_dir_all(tmp.path().join("layer")).unwrap();
        }
        let err = unpack(tmp.path(), &tar_of(&[E::Hardlink("h", "../blob")])).unwrap_err();
        assert!(err.to_string().contains("hard link target escapes the layer"), "{err}");
    }

    #[test]
    fn contains_absolute_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        let abs = format!("{}/abs", outside.display());
        unpack(tmp.path(), &tar_of(&[E::File(&abs, b"x")])).unwrap();
        assert!(!outside.exists(), "nothing written at the absolute path");
        let inside = tmp.path().join("layer").join(abs.trim_start_matches('/'));
        assert_eq!(fs::read(inside).unwrap(), b"x");
    }

    #[test]
    fn never_writes_through_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("target"), b"original").unwrap();
        let dir = outside.display().to_string();
        let err = unpack(
            tmp.path(),
            &tar_of(&[E::Symlink("esc", &dir), E::File("esc/pwned", b"x")]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer test: refusing entry \"esc/pwned\": parent esc is a symlink"
        );
        fs::remove_dir_all(tmp.path().join("layer")).unwrap();

        // A file over a symlink replaces the symlink, it does not follow it.
        let file = format!("{dir}/target");
        unpack(tmp.path(), &tar_of(&[E::Symlink("f", &file), E::File("f", b"new")])).unwrap();
        assert_eq!(fs::read(tmp.path().join("layer/f")).unwrap(), b"new");
        fs::remove_dir_all(tmp.path().join("layer")).unwrap();

        // A hard link through a symlinked directory is refused; to a symlink it links the
        // symlink itself.
        let err = unpack(
            tmp.path(),
            &tar_of(&[E::Symlink("d", &dir), E::Hardlink("h", "d/target")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("is not a file in this layer"), "{err}");
        fs::remove_dir_all(tmp.path().join("layer")).unwrap();
        unpack(tmp.path(), &tar_of(&[E::Symlink("s", &file), E::Hardlink("h", "s")])).unwrap();
        assert!(
            fs::symlink_metadata(tmp.path().join("layer/h"))
                .unwrap()
                .file_type()
                .is_symlink()
        );

        assert_eq!(fs::read(outside.join("target")).unwrap(), b"original");
        assert_eq!(
            fs::read_dir(&outside).unwrap().count(),
            1,
            "nothing new outside the layer"
        );
    }

    #[test]
    fn clean_keeps_paths_inside() {
        let c = |p: &str| clean(Path::new(p)).map(|v| v.join(OsStr::new("/")).to_string_lossy().into_owned());
        assert_eq!(c("./a//b/./c").as_deref(), Some("a/b/c"));
        assert_eq!(c("/abs/x").as_deref(), Some("abs/x"));
        assert_eq!(c("a/../b").as_deref(), Some("b"));
        assert_eq!(c("a/../../b"), None);
        assert_eq!(c("./").as_deref(), Some(""));
    }
}
