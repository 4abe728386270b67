//! [`LogWriter`]: turns a container's output into CRI log records, with size rotation.

use super::{LogConfig, Stream, base_name, container_log_dir, format_timestamp, numbered};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Writes one container's log files. Shareable between the stdout and stderr reader
/// threads (`&self` methods, locked inside); records are never interleaved mid-line.
#[derive(Debug)]
pub struct LogWriter {
    dir: PathBuf,
    config: LogConfig,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: File,
    size: u64,
    /// Bytes of a line not yet ended, per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
}

impl LogWriter {
    /// Opens (appending to) `<pod_dir>/logs/<container>/current.log` with the default limits.
    pub fn open(pod_dir: &Path, container: &str) -> io::Result<LogWriter> {
        LogWriter::with_config(pod_dir, container, LogConfig::default())
    }

    /// Like [`LogWriter::open`] with explicit limits.
    pub fn with_config(pod_dir: &Path, container: &str, config: LogConfig) -> io::Result<LogWriter> {
        let dir = container_log_dir(pod_dir, container);
        std::fs::create_dir_all(&dir)?;
        let file = open_append(&dir.join(base_name(false)))?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            dir,
            config,
            inner: Mutex::new(Inner {
                file,
                size,
                pending: [Vec::new(), Vec::new()],
            }),
        })
    }

    /// The directory holding this container's log files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends output of `stream`: every complete line becomes an `F` record; a line that
    /// reaches `max_line` bytes without ending is written as `P` records (containerd's
    /// `redirectLogs`). The rest waits for more bytes or [`LogWriter::finish`].
    pub fn write(&self, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        let mut inner = self.lock();
        let idx = stream_index(stream);
        inner.pending[idx].extend_from_slice(bytes);
        let max = self.config.max_line.max(1);
        loop {
            let pending = &inner.pending[idx];
            let (record, partial, consumed) = match pending.iter().position(|&b| b == b'\n') {
                Some(i) if i <= max => (pending[..i].to_vec(), false, i + 1),
                _ if pending.len() >= max => (pending[..max].to_vec(), true, max),
                _ => break,
            };
            inner.pending[idx].drain(..consumed);
            self.emit(&mut inner, stream, partial, &record)?;
        }
        Ok(())
    }

    /// Writes any unterminated line of `stream` as a full record, as the CRI logger does when
    /// the stream reaches EOF.
    pub fn end_stream(&self, stream: Stream) -> io::Result<()> {
        let mut inner = self.lock();
        let rest = std::mem::take(&mut inner.pending[stream_index(stream)]);
        if !rest.is_empty() {
            self.emit(&mut inner, stream, false, &rest)?;
        }
        Ok(())
    }

    /// Ends both streams ([`LogWriter::end_stream`]) and syncs the file.
    pub fn finish(&self) -> io::Result<()> {
        self.end_stream(Stream::Stdout)?;
        self.end_stream(Stream::Stderr)?;
        self.lock().file.sync_data()
    }

    /// Before a container restarts: finishes the current instance and renames its files to
    /// `previous.log` (+ `.1` …), replacing the older previous instance, then starts an empty
    /// `current.log`, so `rekon logs --previous` shows the instance that just ended.
    pub fn start_new_instance(&self) -> io::Result<()> {
        self.finish()?;
        let mut inner = self.lock();
        let (current, previous) = (base_name(false), base_name(true));
        for n in 0..self.config.max_files.max(1) {
            remove_if_exists(&numbered(&self.dir, previous, n))?;
        }
        for n in 0..self.config.max_files.max(1) {
            rename_if_exists(&numbered(&self.dir, current, n), &numbered(&self.dir, previous, n))?;
        }
        inner.file = open_append(&self.dir.join(current))?;
        inner.size = 0;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst a half-written record; keep logging.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, inner: &mut Inner, stream: Stream, partial: bool, text: &[u8]) -> io::Result<()> {
        let now = format_timestamp(crate::time::now());
        let tag = if partial { "P" } else { "F" };
        let mut record = Vec::with_capacity(now.len() + text.len() + 12);
        record.extend_from_slice(format!("{now} {stream} {tag} ").as_bytes());
        record.extend_from_slice(text);
        record.push(b'\n');
        if inner.size > 0 && inner.size + record.len() as u64 > self.config.max_size {
            self.rotate(inner)?;
        }
        inner.file.write_all(&record)?;
        inner.size += record.len() as u64;
        Ok(())
    }

    /// `current.log` → `.1` → `.2` …, dropping the oldest so `max_files` remain.
    fn rotate(&self, inner: &mut Inner) -> io::Result<()> {
        let base = base_name(false);
        let keep = self.config.max_files.max(1);
        if keep == 1 {
            inner.file.set_len(0)?;
            inner.size = 0;
            return Ok(());
        }
        remove_if_exists(&numbered(&self.dir, base, keep - 1))?;
        for n in (1..keep - 1).rev() {
            rename_if_exists(&numbered(&self.dir, base, n), &numbered(&self.dir, base, n + 1))?;
        }
        std::fs::rename(self.dir.join(base), numbered(&self.dir, base, 1))?;
        inner.file = open_append(&self.dir.join(base))?;
        inner.size = 0;
        Ok(())
    }
}

fn stream_index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o640).open(path)
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::LogRecord;
    use super::*;

    fn records(path: &Path) -> Vec<LogRecord> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| LogRecord::parse(l).unwrap_or_else(|| panic!("malformed record {l:?}")))
            .collect()
    }

    fn texts(path: &Path) -> Vec<(Stream, bool, String)> {
        records(path)
            .into_iter()
            .map(|r| (r.stream, r.partial, r.text))
            .collect()
    }

    #[test]
    fn lines_become_full_records() {
        let tmp = tempfile::tempdir().unwrap();
        let w = LogWriter::open(tmp.path(), "app").unwrap();
        w.write(Stream::Stdout, b"hello\nwor").unwrap();
        w.write(Stream::Stderr, b"oops\n").unwrap();
        w.write(Stream::Stdout, b"ld\n\n").unwrap();
        let path = tmp.path().join("logs/app/current.log");
        let raw = std::fs::read_to_string(&path).unwrap();
        let first = raw.lines().next().unwrap();
        let (stamp, rest) = first.split_once(' ').unwrap();
        assert_eq!(rest, "stdout F hello");
        assert!(
            stamp.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{stamp}"
        );
        assert_eq!(
            texts(&path),
            vec![
                (Stream::Stdout, false, "hello".into()),
                (Stream::Stderr, false, "oops".into()),
                (Stream::Stdout, false, "world".into()),
                (Stream::Stdout, false, "".into()),
            ]
        );
    }

    #[test]
    fn long_lines_are_partial_and_eof_flushes() {
        let tmp = tempfile::tempdir().unwrap();
        let config = LogConfig {
            max_line: 4,
            ..LogConfig::default()
        };
        let w = LogWriter::with_config(tmp.path(), "app", config).unwrap();
        w.write(Stream::Stdout, b"abcdefghij\nxy").unwrap();
        w.write(Stream::Stdout, b"z").unwrap();
        let path = tmp.path().join("logs/app/current.log");
        assert_eq!(texts(&path).len(), 3, "xyz waits for its newline");
        w.finish().unwrap();
        assert_eq!(
            texts(&path),
            vec![
                (Stream::Stdout, true, "abcd".into()),
                (Stream::Stdout, true, "efgh".into()),
                (Stream::Stdout, false, "ij".into()),
                (Stream::Stdout, false, "xyz".into()),
            ]
        );
    }

    #[test]
    fn the_default_partial_limit_is_16_kib() {
        let tmp = tempfile::tempdir().unwrap();
        let w = LogWriter::open(tmp.path(), "app").unwrap();
        let mut line = vec![b'x'; 16 * 1024 + 10];
        line.push(b'\n');
        w.write(Stream::Stderr, &line).unwrap();
        let recs = records(&tmp.path().join("logs/app/current.log"));
        assert_eq!(recs.len(), 2);
        assert!(recs[0].partial && recs[0].text.len() == 16 * 1024);
        assert!(!recs[1].partial && recs[1].text == "x".repeat(10));
    }

    #[test]
    fn rotation_keeps_max_files() {
        let tmp = tempfile::tempdir().unwrap();
        let config = LogConfig {
            max_size: 100,
            max_files: 3,
            ..LogConfig::default()
        };
        let w = LogWriter::with_config(tmp.path(), "app", config).unwrap();
        for i in 0..20 {
            w.write(Stream::Stdout, format!("line {i:02}\n").as_bytes()).unwrap();
        }
        let dir = tmp.path().join("logs/app");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["current.log", "current.log.1", "current.log.2"]);
        for name in &names {
            assert!(std::fs::metadata(dir.join(name)).unwrap().len() <= 100, "{name}");
        }
        let last = records(&dir.join("current.log"));
        assert_eq!(last.last().unwrap().text, "line 19");
        let older = records(&dir.join("current.log.1"));
        let newer_first: u32 = last[0].text[5..].parse().unwrap();
        let older_last: u32 = older.last().unwrap().text[5..].parse().unwrap();
        assert_eq!(older_last + 1, newer_first, "files are contiguous");
    }

    #[test]
    fn a_new_instance_moves_current_to_previous() {
        let tmp = tempfile::tempdir().unwrap();
        let config = LogConfig {
            max_size: 60,
            ..LogConfig::default()
        };
        let w = LogWriter::with_config(tmp.path(), "app", config).unwrap();
        w.write(Stream::Stdout, b"first instance\nsecond line\nunterminated")
            .unwrap();
        w.start_new_instance().unwrap();
        w.write(Stream::Stdout, b"second instance\n").unwrap();
        let dir = tmp.path().join("logs/app");
        assert!(dir.join("previous.log.1").exists() && !dir.join("current.log.1").exists());
        assert_eq!(texts(&dir.join("previous.log"))[0].2, "unterminated");
        assert_eq!(
            texts(&dir.join("current.log")),
            vec![(Stream::Stdout, false, "second instance".into())]
        );
        w.start_new_instance().unwrap();
        assert!(
            !dir.join("previous.log.1").exists(),
            "older previous files are replaced"
        );
        assert_eq!(texts(&dir.join("previous.log"))[0].2, "second instance");
        assert_eq!(std::fs::metadata(dir.join("current.log")).unwrap().len(), 0);
        // Reopening appends, as a restarted supervisor does.
        drop(w);
        let again = LogWriter::open(tmp.path(), "app").unwrap();
        again.write(Stream::Stdout, b"after reopen\n").unwrap();
        assert_eq!(texts(&dir.join("current.log")).len(), 1);
    }
}
