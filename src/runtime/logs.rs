//! Container log files in the CRI/kubelet format: one file set per container under the pod
//! directory, written by [`LogWriter`] and read back by [`read_logs`] and [`follow`].
//!
//! Layout (the pod directory contract): `<pod dir>/logs/<container>/current.log`, rotated by
//! size to `current.log.1` … (higher is older), and `previous.log` (+ its rotated files) for
//! the container's previous instance. Each record is
//! `<RFC 3339 nano UTC> <stdout|stderr> <F|P> <text>\n`, as kubelet's
//! `pkg/kubelet/kuberuntime/logs/logs.go` parses and containerd's CRI logger writes.

mod reader;
mod writer;

pub use reader::{LogOptions, follow, has_previous, read_logs};
pub use writer::LogWriter;

use crate::time::Time;
use std::path::{Path, PathBuf};

/// Which standard stream of the container a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output (`stdout` in the file).
    Stdout,
    /// Standard error (`stderr` in the file).
    Stderr,
}

impl Stream {
    /// The word used in the log file.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

impl std::fmt::Display for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Size limits of a container's log files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// Rotate `current.log` before it would grow past this many bytes (kubelet's
    /// `containerLogMaxSize`, default 10 MiB).
    pub max_size: u64,
    /// Files kept per instance, counting `current.log` itself (kubelet's
    /// `containerLogMaxFiles`, default 5).
    pub max_files: usize,
    /// Lines longer than this are split into partial (`P`) records (containerd's 16 KiB).
    pub max_line: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_size: 10 * 1024 * 1024,
            max_files: 5,
            max_line: 16 * 1024,
        }
    }
}

/// One parsed record of a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The time stamp exactly as written (RFC 3339 nano, UTC).
    pub timestamp: String,
    /// The stream the text was written to.
    pub stream: Stream,
    /// A `P` record: the line continues in the next record of the same stream.
    pub partial: bool,
    /// The line's text (a piece of it in a partial record), without the `\n`.
    pub text: String,
}

impl LogRecord {
    /// Parses one line of a log file (without its `\n`); None for a malformed line.
    pub fn parse(line: &str) -> Option<LogRecord> {
        let mut parts = line.splitn(4, ' ');
        let timestamp = parts.next()?;
        let stream = match parts.next()? {
            "stdout" => Stream::Stdout,
            "stderr" => Stream::Stderr,
            _ => return None,
        };
        let partial = match parts.next()? {
            "F" => false,
            "P" => true,
            _ => return None,
        };
        let text = parts.next().unwrap_or("");
        Some(LogRecord {
            timestamp: timestamp.to_string(),
            stream,
            partial,
            text: text.to_string(),
        })
    }

    /// The record's time, if its stamp parses.
    pub fn time(&self) -> Option<Time> {
        crate::time::parse(&self.timestamp)
    }
}

/// Formats a time like Go's `time.RFC3339Nano` in UTC: nanoseconds with trailing zeros
/// trimmed (and no fraction at all when it is zero), then `Z`.
pub fn format_timestamp(t: Time) -> String {
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// `<pod dir>/logs/<container>`.
pub fn container_log_dir(pod_dir: &Path, container: &str) -> PathBuf {
    pod_dir.join("logs").join(container)
}

/// The base file of an instance: `current.log`, or `previous.log`.
fn base_name(previous: bool) -> &'static str {
    if previous { "previous.log" } else { "current.log" }
}

/// `base` for n = 0, else `base.n`.
fn numbered(dir: &Path, base: &str, n: usize) -> PathBuf {
    if n == 0 {
        dir.join(base)
    } else {
        dir.join(format!("{base}.{n}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_go_rfc3339_nano() {
        let t = chrono::Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 3).unwrap();
        assert_eq!(format_timestamp(t), "2024-05-01T12:00:03Z");
        let t = t + chrono::Duration::nanoseconds(123_450_000);
        assert_eq!(format_timestamp(t), "2024-05-01T12:00:03.12345Z");
        let t = t + chrono::Duration::nanoseconds(6_789);
        assert_eq!(format_timestamp(t), "2024-05-01T12:00:03.123456789Z");
    }

    #[test]
    fn records_parse() {
        let r = LogRecord::parse("2024-05-01T12:00:03.5Z stderr P hello world").unwrap();
        assert_eq!(r.timestamp, "2024-05-01T12:00:03.5Z");
        assert_eq!(r.stream, Stream::Stderr);
        assert!(r.partial);
        assert_eq!(r.text, "hello world");
        assert_eq!(r.time().unwrap().timestamp_subsec_millis(), 500);
        let empty = LogRecord::parse("2024-05-01T12:00:03Z stdout F ").unwrap();
        assert_eq!(empty.text, "");
        assert_eq!(LogRecord::parse("garbage"), None);
        assert_eq!(LogRecord::parse("2024-05-01T12:00:03Z stdin F x"), None);
    }
}
