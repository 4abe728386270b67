//! Container output: the read ends of the stdout/stderr pipes, split into lines and written to
//! `logs/<name>/current.log` in the CRI log format (`<RFC 3339 nano> <stream> <F|P> <text>`).

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Lines longer than this are split into partial (`P`) records, like the kubelet's 16 KiB.
const MAX_LINE: usize = 16 * 1024;

/// Which stream a pipe carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The read end of one container stream.
#[derive(Debug)]
pub struct LogPipe {
    pub container: String,
    pub stream: Stream,
    fd: OwnedFd,
    buf: Vec<u8>,
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
        buf: Vec::new(),
    };
    Ok((pipe, w))
}

impl LogPipe {
    /// The descriptor to poll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads what is available and writes complete lines to `log`; at EOF also the rest.
    /// Returns true at EOF (every writer closed the pipe).
    pub fn drain(&mut self, log: &Path) -> bool {
        let mut chunk = [0u8; 8192];
        let eof = loop {
            match nix::unistd::read(&self.fd, &mut chunk) {
                Ok(0) => break true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break false,
            }
        };
        let mut records = Vec::new();
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            split_record(&line[..line.len() - 1], &mut records);
        }
        while self.buf.len() >= MAX_LINE {
            let part: Vec<u8> = self.buf.drain(..MAX_LINE).collect();
            records.push((true, part));
        }
        if eof && !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            records.push((false, rest));
        }
        if !records.is_empty() {
            let _ = write_records(log, self.stream, &records);
        }
        eof
    }
}

fn split_record(line: &[u8], out: &mut Vec<(bool, Vec<u8>)>) {
    let mut chunks = line.chunks(MAX_LINE).peekable();
    if chunks.peek().is_none() {
        out.push((false, Vec::new()));
    }
    while let Some(chunk) = chunks.next() {
        out.push((chunks.peek().is_some(), chunk.to_vec()));
    }
}

/// Appends `(partial, text)` records to `log`.
fn write_records(log: &Path, stream: Stream, records: &[(bool, Vec<u8>)]) -> std::io::Result<()> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut file = fs::OpenOptions::new().create(true).append(true).open(log)?;
    let mut out = Vec::new();
    for (partial, text) in records {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        out.extend_from_slice(format!("{now} {} {} ", stream.as_str(), if *partial { "P" } else { "F" }).as_bytes());
        out.extend_from_slice(text);
        out.push(b'\n');
    }
    file.write_all(&out)
}

/// `logs/<name>/current.log`.
pub fn current_log(logs_dir: &Path) -> PathBuf {
    logs_dir.join("current.log")
}

/// Before a container restarts: `current.log` becomes `previous.log` (replacing it).
pub fn rotate_previous(logs_dir: &Path) {
    let current = current_log(logs_dir);
    if current.exists() {
        let _ = fs::rename(&current, logs_dir.join("previous.log"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_cri_records() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c/current.log");
        let (mut p, w) = pipe("c", Stream::Stderr).unwrap();
        nix::unistd::write(&w, b"one\ntw").unwrap();
        assert!(!p.drain(&log));
        nix::unistd::write(&w, b"o\nlast").unwrap();
        drop(w);
        assert!(p.drain(&log));
        let text = fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().map(|l| l.split_once(' ').unwrap().1).collect();
        assert_eq!(lines, ["stderr F one", "stderr F two", "stderr F last"]);
        let ts = text.split(' ').next().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z'),
            "{ts}"
        );
    }

    #[test]
    fn long_lines_are_split_into_partials() {
        let mut out = Vec::new();
        split_record(&vec![b'x'; MAX_LINE + 3], &mut out);
        assert_eq!(
            out.iter().map(|(p, t)| (*p, t.len())).collect::<Vec<_>>(),
            [(true, MAX_LINE), (false, 3)]
        );
        rotate_previous(Path::new("/nonexistent"));
    }
}
