//! Container output: the read ends of the stdout/stderr pipes, fed to the container's
//! [`LogWriter`] (CRI log format, rotation and `previous.log`, `runtime::logs`).

use crate::runtime::logs::{LogWriter, Stream};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The read end of one container stream.
#[derive(Debug)]
pub struct LogPipe {
    pub container: String,
    pub stream: Stream,
    fd: OwnedFd,
}

/// Creates a pipe for `stream` of `container`: the read end (non-blocking, close-on-exec) and
/// the write end for the container.
pub fn pipe(container: &str, stream: Stream) -> nix::Result<(LogPipe, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    fcntl(&r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    let pipe = LogPipe {
        container: container.to_string(),
        stream,
        fd: r,
    };
    Ok((pipe, w))
}

impl LogPipe {
    /// The descriptor to poll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads what is available into `log`; at EOF (every writer closed the pipe) also ends
    /// the stream's last line and returns true.
    pub fn drain(&mut self, log: Option<&LogWriter>) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match nix::unistd::read(&self.fd, &mut chunk) {
                Ok(0) => {
                    if let Some(log) = log {
                        let _ = log.end_stream(self.stream);
                    }
                    return true;
                }
                Ok(n) => {
                    if let Some(log) = log {
                        let _ = log.write(self.stream, &chunk[..n]);
                    }
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Like [`LogPipe::drain`], then ends the stream even when a grandchild still holds the
    /// pipe open: the container instance is over.
    pub fn close(mut self, log: Option<&LogWriter>) {
        if !self.drain(log)
            && let Some(log) = log
        {
            let _ = log.end_stream(self.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_output_becomes_cri_records() {
        let dir = tempfile::tempdir().unwrap();
        let log = LogWriter::open(dir.path(), "c").unwrap();
        let (mut p, w) = pipe("c", Stream::Stderr).unwrap();
        nix::unistd::write(&w, b"one\ntw").unwrap();
        assert!(!p.drain(Some(&log)));
        nix::unistd::write(&w, b"o\nlast").unwrap();
        drop(w);
        assert!(p.drain(Some(&log)));
        let text = std::fs::read_to_string(dir.path().join("logs/c/current.log")).unwrap();
        let lines: Vec<&str> = text.lines().map(|l| l.split_once(' ').unwrap().1).collect();
        assert_eq!(lines, ["stderr F one", "stderr F two", "stderr F last"]);
    }
}
