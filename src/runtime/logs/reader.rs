//! Reading a container's log files back: [`read_logs`] for one shot (kubectl's `--tail`,
//! `--since`, `--previous`, `--timestamps`), [`follow`] for `-f`.

use super::{LogRecord, base_name, container_log_dir};
use crate::time::Time;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which lines to show, as `kubectl logs` flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// The previous instance (`previous.log`) instead of the current one.
    pub previous: bool,
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Prefix each line with its RFC 3339 nano time stamp.
    pub timestamps: bool,
    /// Only lines written at or after this time.
    pub since: Option<Time>,
}

/// A logical line: partial records joined, stamped with the time of its first record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    timestamp: String,
    time: Option<Time>,
    text: String,
}

impl Line {
    fn render(&self, timestamps: bool) -> String {
        if timestamps {
            format!("{} {}", self.timestamp, self.text)
        } else {
            self.text.clone()
        }
    }
}

/// Joins records into lines; a trailing partial line is kept until its end arrives.
#[derive(Debug, Default)]
struct Assembler {
    /// Unfinished partial lines, per stream (stdout, stderr).
    open: [Option<Line>; 2],
    /// Bytes after the last `\n` seen.
    rest: Vec<u8>,
}

impl Assembler {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Line>) {
        self.rest.extend_from_slice(bytes);
        let Some(end) = self.rest.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let complete: Vec<u8> = self.rest.drain(..=end).collect();
        for raw in String::from_utf8_lossy(&complete).lines() {
            let Some(record) = LogRecord::parse(raw) else { continue };
            let slot = &mut self.open[record.stream as usize];
            let line = slot.get_or_insert_with(|| Line {
                time: record.time(),
                timestamp: record.timestamp.clone(),
                text: String::new(),
            });
            line.text.push_str(&record.text);
            if !record.partial {
                out.extend(slot.take());
            }
        }
    }

    /// At the end of an instance: unfinished partial lines are shown as they are.
    fn flush(&mut self, out: &mut Vec<Line>) {
        for slot in &mut self.open {
            out.extend(slot.take());
        }
    }
}

/// The files of one instance, oldest first: `base.{max}` … `base.1`, `base`.
fn instance_files(dir: &Path, previous: bool) -> Vec<PathBuf> {
    let base = base_name(previous);
    let mut rotated: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n: usize = name.strip_prefix(base)?.strip_prefix('.')?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    rotated.into_iter().map(|(_, p)| p).collect()
}

fn select(lines: Vec<Line>, options: &LogOptions) -> Vec<String> {
    let mut lines: Vec<Line> = match options.since {
        Some(since) => lines
            .into_iter()
            .filter(|l| l.time.is_none_or(|t| t >= since))
            .collect(),
        None => lines,
    };
    if let Some(n) = options.tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    lines.iter().map(|l| l.render(options.timestamps)).collect()
}

/// Whether the container has a previous instance with logs.
pub fn has_previous(pod_dir: &Path, container: &str) -> bool {
    container_log_dir(pod_dir, container).join(base_name(true)).exists()
}

/// The lines of the container's current (or previous) instance, across rotated files, without
/// the record prefix (or with the time stamp when `timestamps`). `NotFound` when the
/// instance has no log file.
pub fn read_logs(pod_dir: &Path, container: &str, options: &LogOptions) -> io::Result<Vec<String>> {
    let dir = container_log_dir(pod_dir, container);
    let base = File::open(dir.join(base_name(options.previous)))?;
    let (mut lines, mut asm) = read_rotated(&dir, options.previous)?;
    read_to_end(&base, &mut asm, &mut lines)?;
    asm.flush(&mut lines);
    Ok(select(lines, options))
}

fn read_rotated(dir: &Path, previous: bool) -> io::Result<(Vec<Line>, Assembler)> {
    let mut lines = Vec::new();
    let mut asm = Assembler::default();
    for path in instance_files(dir, previous) {
        match File::open(&path) {
            Ok(file) => read_to_end(&file, &mut asm, &mut lines)?,
            // Rotated away between listing and opening: its lines are gone.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok((lines, asm))
}

fn read_to_end(mut file: &File, asm: &mut Assembler, out: &mut Vec<Line>) -> io::Result<()> {
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)?;
    asm.feed(&buf, out);
    Ok(())
}

/// `kubectl logs -f`: prints the selected lines of the current instance, then keeps printing
/// new lines as the file grows, across rotation and restarts (the file being renamed),
/// polling every `poll`. Waits for `current.log` to appear. Returns once `running()` says
/// false and everything written so far has been printed.
pub fn follow(
    pod_dir: &Path,
    container: &str,
    options: &LogOptions,
    out: &mut dyn Write,
    poll: Duration,
    running: &mut dyn FnMut() -> bool,
) -> io::Result<()> {
    let dir = container_log_dir(pod_dir, container);
    let path = dir.join(base_name(false));
    let mut current = loop {
        match File::open(&path) {
            Ok(f) => break f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !running() {
                    return Ok(());
                }
                std::thread::sleep(poll);
            }
            Err(e) => return Err(e),
        }
    };
    let (mut lines, mut asm) = read_rotated(&dir, false)?;
    read_to_end(&current, &mut asm, &mut lines)?;
    emit(out, &select(lines, options))?;
    let later = LogOptions {
        tail: None,
        ..options.clone()
    };
    loop {
        // Look for a rename before draining: once current.log is a new file, the old one
        // receives no more writes, so draining it afterwards loses nothing.
        let replaced = match std::fs::metadata(&path) {
            Ok(meta) => meta.ino() != current.metadata()?.ino(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        let stop = !replaced && !running();
        let mut lines = Vec::new();
        read_to_end(&current, &mut asm, &mut lines)?;
        if replaced {
            let newer = files_after(&dir, current.metadata()?.ino());
            // Open current.log before the files rotated after ours: a rotation racing with
            // this read then at worst repeats nothing and loses nothing already renamed.
            current = File::open(&path)?;
            for file in newer {
                if let Ok(f) = File::open(&file)
                    && f.metadata()?.ino() != current.metadata()?.ino()
                {
                    read_to_end(&f, &mut asm, &mut lines)?;
                }
            }
            read_to_end(&current, &mut asm, &mut lines)?;
        }
        if stop {
            asm.flush(&mut lines);
        }
        emit(out, &select(lines, &later))?;
        if stop {
            return Ok(());
        }
        if !replaced {
            std::thread::sleep(poll);
        }
    }
}

/// The rotated files written after the file with inode `ino`, oldest first: the chain is
/// the previous instance's files then the current instance's. When `ino` is no longer in the
/// chain (rotated out), every rotated file of the current instance is newer.
fn files_after(dir: &Path, ino: u64) -> Vec<PathBuf> {
    let previous = instance_files(dir, true).into_iter().chain([dir.join(base_name(true))]);
    let chain: Vec<PathBuf> = previous.chain(instance_files(dir, false)).collect();
    let found = chain
        .iter()
        .position(|p| std::fs::metadata(p).is_ok_and(|m| m.ino() == ino));
    match found {
        Some(i) => chain[i + 1..].to_vec(),
        None => instance_files(dir, false),
    }
}

fn emit(out: &mut dyn Write, lines: &[String]) -> io::Result<()> {
    for line in lines {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::super::{LogConfig, LogWriter, Stream};
    use super::*;

    fn writer(dir: &Path, max_size: u64) -> LogWriter {
        let config = LogConfig {
            max_size,
            max_files: 4,
            max_line: 8,
        };
        LogWriter::with_config(dir, "app", config).unwrap()
    }

    fn opts() -> LogOptions {
        LogOptions::default()
    }

    #[test]
    fn lines_come_back_without_the_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let w = writer(tmp.path(), 1 << 20);
        w.write(Stream::Stdout, b"one\na very long line\n").unwrap();
        w.write(Stream::Stderr, b"two\n").unwrap();
        assert_eq!(
            read_logs(tmp.path(), "app", &opts()).unwrap(),
            ["one", "a very long line", "two"]
        );
        let stamped = read_logs(
            tmp.path(),
            "app",
            &LogOptions {
                timestamps: true,
                ..opts()
            },
        )
        .unwrap();
        let (stamp, text) = stamped[1].split_once(' ').unwrap();
        assert_eq!(text, "a very long line");
        assert!(crate::time::parse(stamp).is_some());
    }

    #[test]
    fn tail_spans_rotated_files() {
        let tmp = tempfile::tempdir().unwrap();
        let w = writer(tmp.path(), 120);
        for i in 0..12 {
            w.write(Stream::Stdout, format!("l{i:02}\n").as_bytes()).unwrap();
        }
        let dir = tmp.path().join("logs/app");
        assert!(dir.join("current.log.2").exists(), "the test needs several files");
        let current_lines = std::fs::read_to_string(dir.join("current.log"))
            .unwrap()
            .lines()
            .count();
        let tail = current_lines + 2;
        let got = read_logs(
            tmp.path(),
            "app",
            &LogOptions {
                tail: Some(tail),
                ..opts()
            },
        )
        .unwrap();
        let want: Vec<String> = (12 - tail..12).map(|i| format!("l{i:02}")).collect();
        assert_eq!(got, want);
        let all = read_logs(tmp.path(), "app", &opts()).unwrap();
        assert_eq!(all.last().unwrap(), "l11");
        assert_eq!(all.len(), all.iter().collect::<std::collections::BTreeSet<_>>().len());
    }

    #[test]
    fn previous_and_since() {
        let tmp = tempfile::tempdir().unwrap();
        let w = writer(tmp.path(), 1 << 20);
        assert!(!has_previous(tmp.path(), "app"));
        let err = read_logs(
            tmp.path(),
            "app",
            &LogOptions {
                previous: true,
                ..opts()
            },
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        w.write(Stream::Stdout, b"crashed\n").unwrap();
        w.start_new_instance().unwrap();
        w.write(Stream::Stdout, b"running\n").unwrap();
        assert!(has_previous(tmp.path(), "app"));
        assert_eq!(
            read_logs(
                tmp.path(),
                "app",
                &LogOptions {
                    previous: true,
                    ..opts()
                }
            )
            .unwrap(),
            ["crashed"]
        );
        assert_eq!(read_logs(tmp.path(), "app", &opts()).unwrap(), ["running"]);
        let future = crate::time::now() + chrono::Duration::hours(1);
        assert!(
            read_logs(
                tmp.path(),
                "app",
                &LogOptions {
                    since: Some(future),
                    ..opts()
                }
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn partial_records_join_per_stream() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs/app");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("current.log"),
            "2024-01-01T00:00:00Z stdout P abc\n\
             2024-01-01T00:00:01Z stderr F err\n\
             2024-01-01T00:00:02Z stdout F def\n\
             not a record\n\
             2024-01-01T00:00:03Z stdout P cut",
        )
        .unwrap();
        let got = read_logs(
            tmp.path(),
            "app",
            &LogOptions {
                timestamps: true,
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(got, ["2024-01-01T00:00:01Z err", "2024-01-01T00:00:00Z abcdef"]);
    }

    #[test]
    fn follow_crosses_rotation_and_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let w = writer(tmp.path(), 100);
        w.write(Stream::Stdout, b"before\n").unwrap();
        let mut polls = 0;
        let mut out = Vec::new();
        let pod = tmp.path().to_path_buf();
        let mut running = || {
            polls += 1;
            match polls {
                1 => {
                    for i in 0..6 {
                        w.write(Stream::Stdout, format!("rot{i}\n").as_bytes()).unwrap();
                    }
                }
                2 => {
                    w.start_new_instance().unwrap();
                    w.write(Stream::Stdout, b"restarted\n").unwrap();
                }
                3 => w.write(Stream::Stderr, b"last\n").unwrap(),
                _ => return false,
            }
            true
        };
        follow(
            &pod,
            "app",
            &LogOptions {
                tail: Some(1),
                ..opts()
            },
            &mut out,
            Duration::from_millis(1),
            &mut running,
        )
        .unwrap();
        let mut want = vec!["before".to_string()];
        want.extend((0..6).map(|i| format!("rot{i}")));
        want.extend(["restarted".to_string(), "last".to_string()]);
        assert_eq!(String::from_utf8(out).unwrap(), want.join("\n") + "\n");
    }
}
