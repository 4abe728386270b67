//! Errors of starting sandboxes and containers, and the record a child writes to its parent
//! through the close-on-exec report pipe when setup fails.
//!
//! An empty pipe at EOF means success: `exec` (container) or an explicit close (sandbox)
//! closes the child's end. Otherwise the child wrote one record: a kind byte, the errno as
//! 4 little-endian bytes, then UTF-8 text (the failed step, or the executable's name).

use nix::errno::Errno;
use std::borrow::Cow;
use std::os::fd::{AsFd, OwnedFd};

/// Why a sandbox or container could not be started or waited for.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// A system call in the calling process failed (`fork`, `pipe`, opening a namespace).
    #[error("cannot {op}")]
    Sys {
        /// What was attempted, with the path when there is one.
        op: String,
        /// The cause.
        #[source]
        source: Errno,
    },
    /// A setup step in the child failed; `step` names it with its paths
    /// (`mount volume /host/data at /data`).
    #[error("{step}")]
    Setup {
        /// The step and its paths.
        step: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `argv[0]` has no slash and is not in any `$PATH` directory of the container
    /// (Kubernetes shows it as `StartError`).
    #[error("exec: \"{name}\": executable file not found in $PATH")]
    ExecutableNotFound {
        /// The command as given.
        name: String,
    },
    /// `execve` failed on the resolved path (missing, not executable, bad format).
    #[error("exec: \"{path}\"")]
    Exec {
        /// The path that was executed.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The child ended before it reported anything.
    #[error("process {pid} exited during setup with status {status}")]
    Died {
        /// The child's pid.
        pid: i32,
        /// Its wait status, as text.
        status: String,
    },
}

impl ProcessError {
    /// Whether the executable does not exist (in `$PATH`, or at the given path): the
    /// supervisor reports these as `StartError` with this error's message.
    pub fn is_executable_not_found(&self) -> bool {
        match self {
            ProcessError::ExecutableNotFound { .. } => true,
            ProcessError::Exec { source, .. } => source.raw_os_error() == Some(libc::ENOENT),
            _ => false,
        }
    }

    pub(crate) fn sys(op: impl Into<String>) -> impl FnOnce(Errno) -> ProcessError {
        let op = op.into();
        move |source| ProcessError::Sys { op, source }
    }
}

const KIND_SETUP: u8 = 1;
const KIND_NOT_FOUND: u8 = 2;
const KIND_EXEC: u8 = 3;

/// The longest record a child sends; longer text is cut.
const MAX_RECORD: usize = 1024;

/// A failure found in the child, before it is written to the report pipe. A step given as a
/// `&'static str` costs no allocation, which a child cloned from a multi-threaded process
/// must avoid (see `sys`).
#[derive(Debug)]
pub(crate) enum ChildFailure {
    Setup { step: Cow<'static, str>, errno: Errno },
    NotFound { name: String },
    Exec { path: String, errno: Errno },
}

impl ChildFailure {
    pub(crate) fn setup(step: impl Into<Cow<'static, str>>) -> impl FnOnce(Errno) -> ChildFailure {
        let step = step.into();
        move |errno| ChildFailure::Setup { step, errno }
    }

    /// Writes the record (from a stack buffer: no allocation); errors are ignored because
    /// the child exits right after.
    pub(crate) fn send(&self, pipe: impl AsFd) {
        let (kind, errno, text) = match self {
            ChildFailure::Setup { step, errno } => (KIND_SETUP, *errno as i32, step.as_ref()),
            ChildFailure::NotFound { name } => (KIND_NOT_FOUND, 0, name.as_str()),
            ChildFailure::Exec { path, errno } => (KIND_EXEC, *errno as i32, path.as_str()),
        };
        let mut buf = [0u8; MAX_RECORD];
        buf[0] = kind;
        buf[1..5].copy_from_slice(&errno.to_le_bytes());
        let mut len = text.len().min(MAX_RECORD - 5);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        buf[5..5 + len].copy_from_slice(&text.as_bytes()[..len]);
        let _ = nix::unistd::write(pipe, &buf[..5 + len]);
    }
}

/// Reads the report pipe to EOF: None on success, else the child's error.
pub(crate) fn receive(pipe: OwnedFd) -> Result<Option<ProcessError>, ProcessError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match nix::unistd::read(&pipe, &mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(ProcessError::sys("read the child's report pipe")(e)),
        }
    }
    if buf.len() < 5 {
        return Ok(None);
    }
    let errno = i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]);
    let text = String::from_utf8_lossy(&buf[5..]).into_owned();
    let source = std::io::Error::from_raw_os_error(errno);
    Ok(Some(match buf[0] {
        KIND_NOT_FOUND => ProcessError::ExecutableNotFound { name: text },
        KIND_EXEC => ProcessError::Exec { path: text, source },
        _ => ProcessError::Setup { step: text, source },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(failure: ChildFailure) -> ProcessError {
        let (r, w) = nix::unistd::pipe().unwrap();
        failure.send(&w);
        drop(w);
        receive(r).unwrap().expect("a record")
    }

    #[test]
    fn records_round_trip_with_exact_messages() {
        let e = roundtrip(ChildFailure::NotFound { name: "nope".into() });
        assert_eq!(e.to_string(), "exec: \"nope\": executable file not found in $PATH");
        assert!(e.is_executable_not_found());
        let e = roundtrip(ChildFailure::setup("mount volume /a at /b")(Errno::EACCES));
        assert_eq!(e.to_string(), "mount volume /a at /b");
        let ProcessError::Setup { source, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(source.raw_os_error(), Some(libc::EACCES));
        assert!(!e.is_executable_not_found());
        let e = roundtrip(ChildFailure::Exec {
            path: "/bin/x".into(),
            errno: Errno::ENOENT,
        });
        assert!(e.is_executable_not_found());
    }

    #[test]
    fn empty_pipe_means_success() {
        let (r, w) = nix::unistd::pipe().unwrap();
        drop(w);
        assert!(receive(r).unwrap().is_none());
    }
}
