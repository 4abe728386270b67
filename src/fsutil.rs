//! The one way rekon replaces a file: a temporary file beside it, fsync, rename over it,
//! fsync of the directory; a reader sees the old file or the new one, never a part, and a
//! crash leaves one of the two.
//!
//! Files that only describe running processes (a supervisor's pid and status files, the
//! pod spec it reads at start, a pod's deletion mark, the lock holder's note) are replaced
//! the same way without the fsyncs ([`replace_volatile`]): a reader still sees one whole
//! version, and after a power loss, the only crash that loses page-cache data, the processes
//! they describe are gone too, so there is nothing for the file to be true of. Each fsync
//! costs about a millisecond on the path from `apply` to a Running pod.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A name no other writer of this process or another uses at the same time.
pub fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Replaces `path` with `bytes` atomically and durably, the new file with `mode`.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    replace(path, bytes, mode, true)
}

/// Replaces `path` with `bytes` atomically but not durably (mode 0644 less the umask): for
/// files whose meaning ends with the processes they describe (see the module's doc).
pub fn replace_volatile(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace(path, bytes, 0o644, false)
}

/// [`replace_volatile`] with `mode`.
pub fn replace_volatile_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    replace(path, bytes, mode, false)
}

fn replace(path: &Path, bytes: &[u8], mode: u32, durable: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", unique()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&tmp, path)?;
        if durable {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// [`write_atomic_mode`] with mode 0644 (less the umask).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    type Write = fn(&Path, &[u8]) -> std::io::Result<()>;
    type WriteMode = fn(&Path, &[u8], u32) -> std::io::Result<()>;

    /// Durable and volatile replacement alike: the file with the mode, no temporary left,
    /// even when the write fails.
    #[test]
    fn replaces_the_file_with_the_mode_and_leaves_no_temporary() {
        let writers: [(Write, WriteMode); 2] = [
            (write_atomic, write_atomic_mode),
            (replace_volatile, replace_volatile_mode),
        ];
        for (write, write_mode) in writers {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.json");
            write(&path, b"one").unwrap();
            write_mode(&path, b"two", 0o600).unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"two");
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            let err = write(&dir.path().join("missing/f"), b"x").unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
            let names: Vec<_> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["f.json"]);
        }
    }
}
