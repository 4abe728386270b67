//! The append-only event and audit log, `events.jsonl`: one JSON object per line.

use crate::state::error::StateError;
use crate::state::store::ensure_dir;
use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const EVENTS_FILE: &str = "events.jsonl";

/// One line of the event log: an audit line per plan/apply, or something that happened to an
/// object or pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (RFC 3339 in the file).
    pub time: Time,
    /// `plan`, `apply`, `object`, `pod`, ….
    pub kind: String,
    /// Commit or `sha256:` content hash the run worked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Objects the plan adds, in audit lines of plan/apply runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<u32>,
    /// Objects the plan changes, in audit lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<u32>,
    /// Objects the run destroys (plan/apply summary, or what `down` removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy: Option<u32>,
    /// How long the run took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Exit code of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The object or pod concerned (`deployment/web`, `pod/web-7c9f-x2x4q`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Human-readable detail: the event's message, or the error of a failed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `Normal` or `Warning`, for the events of objects (the `kind` is then the reason).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The component that recorded it (`kubelet`, `default-scheduler`,
    /// `deployment-controller`, `replicaset-controller`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The uid of the pod concerned (`involvedObject.uid`): a pod's events are its own, not
    /// those of an earlier pod of the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl Event {
    /// An event of `kind` at `time` with every optional field empty.
    pub fn new(kind: &str, time: Time) -> Event {
        Event {
            time,
            kind: kind.to_string(),
            revision: None,
            add: None,
            change: None,
            destroy: None,
            duration_ms: None,
            exit_code: None,
            object: None,
            message: None,
            type_: None,
            source: None,
            uid: None,
        }
    }

    /// An event of an object, as Kubernetes records one: `reason` (kept in `kind`),
    /// `Normal` or `Warning`, the component that saw it, the object and the message.
    pub fn of_object(time: Time, type_: &str, reason: &str, source: &str, object: String, message: String) -> Event {
        Event {
            object: Some(object),
            message: Some(message),
            type_: Some(type_.to_string()),
            source: Some(source.to_string()),
            ..Event::new(reason, time)
        }
    }

    /// An event line a pod's kubelet (its supervisor) wrote, of the pod `uid` when the line
    /// does not name it; None when the line does not parse.
    pub fn of_kubelet(line: &str, uid: Option<&str>) -> Option<Event> {
        let mut e: Event = serde_json::from_str(line).ok()?;
        e.source.get_or_insert_with(|| "kubelet".into());
        if e.uid.is_none() {
            e.uid = uid.map(str::to_string);
        }
        Some(e)
    }

    /// Whether it is an audit line of a rekon run (`plan`, `apply`, `down`, `delete`), not
    /// an event of an object.
    pub fn is_audit(&self) -> bool {
        self.kind.starts_with(|c: char| c.is_ascii_lowercase())
    }
}

/// `events.jsonl` in the state directory.
#[derive(Debug, Clone)]
pub struct EventLog {
    path: PathBuf,
}

impl EventLog {
    /// The event log of the state directory `dir` (created 0700 if missing).
    pub fn open(dir: &Path) -> Result<EventLog, StateError> {
        ensure_dir(dir)?;
        Ok(EventLog {
            path: dir.join(EVENTS_FILE),
        })
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event` as one line.
    pub fn append(&self, event: &Event) -> Result<(), StateError> {
        let path = &self.path;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(StateError::io("open", path))?;
        // plan and apply may append at the same time; the flock also makes the repair below safe.
        file.lock().map_err(StateError::io("lock", path))?;
        repair_torn_tail(&mut file).map_err(StateError::io("repair", path))?;
        let mut line = serde_json::to_vec(event).expect("events serialize");
        line.push(b'\n');
        // One write per line: O_APPEND keeps lines whole.
        file.write_all(&line).map_err(StateError::io("append to", path))
    }

    /// Every event in order. A torn last line (a crash mid-append) is skipped; any other bad
    /// line is an error.
    pub fn read_all(&self) -> Result<Vec<Event>, StateError> {
        let path = &self.path;
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StateError::io("open", path)(e)),
        };
        file.lock_shared().map_err(StateError::io("lock", path))?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(StateError::io("read", path))?;
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        let mut events = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(event) => events.push(event),
                Err(_) if i + 1 == lines.len() && !complete => {}
                Err(source) => {
                    return Err(StateError::CorruptEvent {
                        path: path.clone(),
                        line: i + 1,
                        source,
                    });
                }
            }
        }
        Ok(events)
    }
}

/// Cuts a partial last line left by a crashed writer, so the next line starts clean.
fn repair_torn_tail(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let mut text = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut text)?;
    let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    file.set_len(keep as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::fs;

    fn apply_event() -> Event {
        let mut e = Event::new("apply", chrono::Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap());
        e.revision = Some("a1b2c3d".into());
        e.add = Some(2);
        e.change = Some(0);
        e.destroy = Some(1);
        e.duration_ms = Some(1500);
        e.exit_code = Some(0);
        e
    }

    #[test]
    fn appends_one_line_per_event_and_reads_them_back() {
        let tmp = tempfile::tempdir().unwrap();
        let log = EventLog::open(tmp.path()).unwrap();
        assert_eq!(log.read_all().unwrap(), vec![]);
        let mut pod = Event::new("pod", chrono::Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 1).unwrap());
        pod.object = Some("pod/web-0".into());
        pod.message = Some("Started".into());
        log.append(&apply_event()).unwrap();
        log.append(&pod).unwrap();
        assert_eq!(log.read_all().unwrap(), vec![apply_event(), pod]);
        let text = fs::read_to_string(log.path()).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            r#"{"time":"2026-05-01T10:00:00Z","kind":"apply","revision":"a1b2c3d","add":2,"change":0,"destroy":1,"duration_ms":1500,"exit_code":0}"#
        );
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn torn_last_line_is_skipped_and_repaired_on_append() {
        let tmp = tempfile::tempdir().unwrap();
        let log = EventLog::open(tmp.path()).unwrap();
        log.append(&apply_event()).unwrap();
        let mut file = OpenOptions::new().append(true).open(log.path()).unwrap();
        file.write_all(br#"{"time":"2026-05-01T10:00:00Z","ki"#).unwrap();
        assert_eq!(log.read_all().unwrap(), vec![apply_event()]);
        log.append(&apply_event()).unwrap();
        assert_eq!(log.read_all().unwrap(), vec![apply_event(), apply_event()]);
    }

    #[test]
    fn a_bad_complete_line_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let log = EventLog::open(tmp.path()).unwrap();
        fs::write(log.path(), "not json\n").unwrap();
        let err = log.read_all().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("event log {} is corrupt at line 1", log.path().display())
        );
    }
}
