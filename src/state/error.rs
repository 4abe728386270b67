//! The errors of the state store, its lock, the event log and the secret key.

use crate::state::lock::LockInfo;
use std::path::PathBuf;

/// The way back from a corrupt state file: its backup, or what to do when there is none.
fn recovery(path: &std::path::Path, backup: Option<&std::path::Path>) -> String {
    let path = path.display();
    match backup {
        Some(b) => format!(
            "the previous state is kept in {}: inspect it and copy it over {path} to recover",
            b.display()
        ),
        None => format!(
            "there is no backup yet (one is kept from the second save on): repair {path} by hand, \
             or move it aside to start from an empty state (the pods it recorded keep running, \
             unmanaged)"
        ),
    }
}

/// Anything that can go wrong reading or writing the state directory.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A filesystem operation on a state file failed.
    #[error("failed to {operation} {path}")]
    Io {
        /// What was being done: `open`, `read`, `write`, `lock`, ….
        operation: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `state.json` exists but is not a readable rekon state.
    #[error("state file {path} is corrupt; {}", recovery(path, backup.as_deref()))]
    Corrupt {
        /// Path of the state file.
        path: PathBuf,
        /// `state.json.backup`, when there is one.
        backup: Option<PathBuf>,
        /// Why serde could not read it.
        #[source]
        source: serde_json::Error,
    },
    /// `state.json` was deleted but its backup is still there; starting afresh would orphan pods.
    #[error(
        "state file {path} is missing but {backup} exists: copy the backup to {path} \
         (or delete the backup to start from an empty state)"
    )]
    Missing {
        /// Path of the missing state file.
        path: PathBuf,
        /// Path of the backup that still exists.
        backup: PathBuf,
    },
    /// The state was written by a newer rekon.
    #[error(
        "state at {path} was written by a newer rekon (format {found}); \
         this rekon reads format {supported} and older: upgrade rekon"
    )]
    TooNew {
        /// Path of the state file.
        path: PathBuf,
        /// The `format_version` the file declares.
        found: u32,
        /// The newest format this rekon reads.
        supported: u32,
    },
    /// The state has an older format that no migration covers.
    #[error("state at {path} has format {found}, which this rekon cannot migrate: {reason}")]
    Unmigratable {
        /// Path of the state file.
        path: PathBuf,
        /// The `format_version` the file declares.
        found: u32,
        /// Why no migration applies.
        reason: String,
    },
    /// Another run holds the state lock.
    #[error("error acquiring the state lock: {path} is held by {}", holder(.info.as_deref()))]
    Locked {
        /// Path of the lock file, `rekon.lock`.
        path: PathBuf,
        /// Who holds it, from `rekon.lock.info`; None for shared holders, or when that file is
        /// missing, unreadable or names a process that is gone.
        info: Option<Box<LockInfo>>,
    },
    /// A line of the event log is neither valid JSON nor the torn tail of a crashed write.
    #[error("event log {path} is corrupt at line {line}")]
    CorruptEvent {
        /// Path of the event log.
        path: PathBuf,
        /// The bad line, counting from 1.
        line: usize,
        /// Why the line does not parse.
        #[source]
        source: serde_json::Error,
    },
    /// `secret.key` does not hold exactly the key this rekon wrote.
    #[error("secret key {path} is corrupt: expected {expected} bytes, found {found}")]
    BadKey {
        /// Path of the key file.
        path: PathBuf,
        /// Length of the key rekon writes, in bytes.
        expected: usize,
        /// Length of the file, in bytes.
        found: usize,
    },
}

fn holder(info: Option<&LockInfo>) -> String {
    match info {
        Some(i) => format!(
            "pid {} ({} by {}@{}, started {})",
            i.pid,
            i.operation,
            i.user,
            i.host,
            crate::time::rfc3339(i.started)
        ),
        None => "another process".to_string(),
    }
}

impl StateError {
    /// An [`StateError::Io`] for `operation` on `path`.
    pub(crate) fn io(operation: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StateError {
        let path = path.into();
        move |source| StateError::Io {
            operation,
            path,
            source,
        }
    }
}
