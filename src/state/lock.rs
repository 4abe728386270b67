//! The state lock: `rekon.lock` (flock), exclusive for apply and shared for plan, with who
//! holds it in `rekon.lock.info`.

use crate::state::error::StateError;
use crate::state::store::ensure_dir;
use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const LOCK_FILE: &str = "rekon.lock";
const INFO_FILE: &str = "rekon.lock.info";

/// How the lock is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// One holder, nobody else (apply, down, delete, …).
    Exclusive,
    /// Any number of shared holders, no exclusive one (plan, get, …).
    Shared,
}

/// Who holds the exclusive lock, as written to `rekon.lock.info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Process id of the holder.
    pub pid: u32,
    /// The verb holding it: `apply`, `down`, ….
    pub operation: String,
    /// User running it (`$USER` or `$LOGNAME`; `unknown` when neither is set).
    pub user: String,
    /// Hostname of the machine (`unknown` when unreadable).
    pub host: String,
    /// When the lock was taken.
    #[serde(with = "crate::time::secs")]
    pub started: Time,
    /// Version of the rekon holding it.
    pub version: String,
}

/// A held state lock; dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    info_path: Option<PathBuf>,
}

impl StateLock {
    /// Takes the lock on `<dir>/rekon.lock` in `mode`, retrying until `timeout` has passed.
    ///
    /// On timeout the error is [`StateError::Locked`] with the holder's [`LockInfo`] when known.
    pub fn acquire(dir: &Path, mode: LockMode, timeout: Duration, operation: &str) -> Result<StateLock, StateError> {
        ensure_dir(dir)?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(StateError::io("open", &path))?;
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(10);
        loop {
            let attempt = match mode {
                LockMode::Exclusive => file.try_lock(),
                LockMode::Shared => file.try_lock_shared(),
            };
            match attempt {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => return Err(StateError::io("lock", &path)(e)),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StateError::Locked {
                    info: read_info(&dir.join(INFO_FILE)).map(Box::new),
                    path,
                });
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(200));
        }
        let mut lock = StateLock { file, info_path: None };
        if mode == LockMode::Exclusive {
            let info_path = dir.join(INFO_FILE);
            write_info(&info_path, &LockInfo::current(operation))?;
            lock.info_path = Some(info_path);
        }
        Ok(lock)
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Remove the info before unlocking, so a next holder's info is never deleted by us.
        if let Some(info) = &self.info_path {
            let _ = fs::remove_file(info);
        }
        let _ = self.file.unlock();
    }
}

impl LockInfo {
    /// This process, taking the lock for `operation` now.
    fn current(operation: &str) -> LockInfo {
        let user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "unknown".into());
        let host = fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        LockInfo {
            pid: std::process::id(),
            operation: operation.to_string(),
            user,
            host,
            started: crate::time::whole_seconds(crate::time::now()),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

fn write_info(path: &Path, info: &LockInfo) -> Result<(), StateError> {
    let mut json = serde_json::to_vec(info).expect("lock info serializes");
    json.push(b'\n');
    crate::fsutil::replace_volatile_mode(path, &json, 0o600).map_err(StateError::io("write", path))
}

/// The holder recorded in `path`, unless it is missing, unreadable or left by a dead process
/// (a `kill -9` skips the guard's cleanup).
fn read_info(path: &Path) -> Option<LockInfo> {
    let text = fs::read_to_string(path).ok()?;
    let info: LockInfo = serde_json::from_str(&text).ok()?;
    Path::new(&format!("/proc/{}", info.pid)).exists().then_some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_WAIT: Duration = Duration::ZERO;

    #[test]
    fn exclusive_blocks_exclusive_and_shared() {
        let tmp = tempfile::tempdir().unwrap();
        let held = StateLock::acquire(tmp.path(), LockMode::Exclusive, NO_WAIT, "apply").unwrap();
        let info = read_info(&tmp.path().join(INFO_FILE)).expect("info written");
        assert_eq!(info.pid, std::process::id());
        assert_eq!(info.operation, "apply");

        let err = StateLock::acquire(tmp.path(), LockMode::Exclusive, NO_WAIT, "apply").unwrap_err();
        assert!(matches!(&err, StateError::Locked { info: Some(i), .. } if i.pid == info.pid));
        let err = StateLock::acquire(tmp.path(), LockMode::Shared, NO_WAIT, "plan").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "error acquiring the state lock: {} is held by pid {} (apply by {}@{}, started {})",
                tmp.path().join(LOCK_FILE).display(),
                info.pid,
                info.user,
                info.host,
                crate::time::rfc3339(info.started)
            )
        );

        drop(held);
        assert!(!tmp.path().join(INFO_FILE).exists());
        let again = StateLock::acquire(tmp.path(), LockMode::Exclusive, NO_WAIT, "down");
        assert!(again.is_ok());
    }

    #[test]
    fn shared_allows_shared_but_not_exclusive() {
        let tmp = tempfile::tempdir().unwrap();
        let a = StateLock::acquire(tmp.path(), LockMode::Shared, NO_WAIT, "plan").unwrap();
        let b = StateLock::acquire(tmp.path(), LockMode::Shared, NO_WAIT, "plan").unwrap();
        let err = StateLock::acquire(tmp.path(), LockMode::Exclusive, NO_WAIT, "apply").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "error acquiring the state lock: {} is held by another process",
                tmp.path().join(LOCK_FILE).display()
            )
        );
        drop(a);
        assert!(StateLock::acquire(tmp.path(), LockMode::Exclusive, NO_WAIT, "apply").is_err());
        drop(b);
        assert!(StateLock::acquire(tmp.path(), LockMode::Exclusive, NO_WAIT, "apply").is_ok());
    }

    #[test]
    fn waits_until_the_timeout_then_gives_up() {
        let tmp = tempfile::tempdir().unwrap();
        let _held = StateLock::acquire(tmp.path(), LockMode::Exclusive, NO_WAIT, "apply").unwrap();
        let start = Instant::now();
        let timeout = Duration::from_millis(150);
        let err = StateLock::acquire(tmp.path(), LockMode::Exclusive, timeout, "apply");
        assert!(matches!(err, Err(StateError::Locked { .. })));
        assert!(start.elapsed() >= timeout);
    }

    #[test]
    fn waiter_gets_the_lock_once_released() {
        let tmp = tempfile::tempdir().unwrap();
        let held = StateLock::acquire(tmp.path(), LockMode::Exclusive, NO_WAIT, "apply").unwrap();
        let dir = tmp.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            StateLock::acquire(&dir, LockMode::Exclusive, Duration::from_secs(30), "apply").map(|_| ())
        });
        drop(held);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn stale_info_of_a_dead_process_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(INFO_FILE);
        let mut info = LockInfo::current("apply");
        info.pid = u32::MAX; // above pid_max, so never a live process
        write_info(&path, &info).unwrap();
        assert_eq!(read_info(&path), None);
    }
}
