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
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `state.json` exists but is not a readable rekon state.
    #[error("state file {path} is corrupt; {}", recovery(path, backup.as_deref()))]
    Corrupt {
        path: PathBuf,
        /// `state.json.backup`, when there is one.
        backup: Option<PathBuf>,
        #[source]
        source: serde_json::Error,
    },
    /// `state.json` was deleted but its backup is still there; starting afresh would orphan pods.
    #[error(
        "state file {path} is missing but {backup} exists: copy the backup to {path} \
         (or delete the backup to start from an empty state)"
    )]
    Missing { path: PathBuf, backup: PathBuf },
    /// The state was written by a newer rekon.
    #[error(
        "state at {path} was written by a newer rekon (format {found}); \
         this rekon reads format {supported} and older: upgrade rekon"
    )]
    TooNew { path: PathBuf, found: u32, supported: u32 },
    /// The state has an older format that no migration covers.
    #[error("state at {path} has format {found}, which this rekon cannot migrate: {reason}")]
    Unmigratable { path: PathBuf, found: u32, reason: String },
    /// Another run holds the state lock.
    #[error("error acquiring the state lock: {path} is held by {}", holder(.info.as_deref()))]
    Locked { path: PathBuf, info: Option<Box<LockInfo>> },
    /// A line of the event log is neither valid JSON nor the torn tail of a crashed write.
    #[error("event log {path} is corrupt at line {line}")]
    CorruptEvent {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    /// `secret.key` does not hold exactly the key this rekon wrote.
    #[error("secret key {path} is corrupt: expected {expected} bytes, found {found}")]
    BadKey {
        path: PathBuf,
        expected: usize,
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
