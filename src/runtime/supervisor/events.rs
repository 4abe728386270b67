//! The pod's own event log, `<pod dir>/events.jsonl`: what the kubelet records as pod events
//! (`Unhealthy` probe failures, `Killing` after a failed liveness or startup probe). One JSON
//! object per line, in the shape of the state's `events.jsonl` (`time`, `kind`, `object`,
//! `message`), so `describe pod` can merge both. It goes with the pod directory.

use crate::runtime::lifecycle::Time;
use std::io::Write;
use std::path::PathBuf;

/// Past this size the log is moved to `events.jsonl.1` (replacing the previous one), so a
/// probe failing every second for weeks costs bounded disk.
const ROTATE_AT: u64 = 256 * 1024;

/// Appends events of one pod.
#[derive(Debug, Clone)]
pub struct PodEvents {
    path: PathBuf,
    object: String,
    uid: String,
}

impl PodEvents {
    /// The log at `path` for pod `name` with `uid` (the object is `pod/<name>`).
    pub fn new(path: PathBuf, name: &str, uid: &str) -> PodEvents {
        PodEvents {
            path,
            object: format!("pod/{name}"),
            uid: uid.to_string(),
        }
    }

    /// Appends one event of `type_` (`Normal`, `Warning`) and `reason`; a failure is
    /// reported on stderr (the supervisor log) and dropped.
    pub fn record(&self, at: Time, type_: &str, reason: &str, message: &str) {
        if let Err(e) = self.append(at, type_, reason, message) {
            eprintln!("cannot record event in {}: {e}", self.path.display());
        }
    }

    fn append(&self, at: Time, type_: &str, kind: &str, message: &str) -> std::io::Result<()> {
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() > ROTATE_AT) {
            std::fs::rename(&self.path, self.path.with_extension("jsonl.1"))?;
        }
        let line = serde_json::json!({
            "time": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "kind": kind,
            "type": type_,
            "source": "kubelet",
            "object": self.object,
            "uid": self.uid,
            "message": message,
        });
        let mut bytes = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        // One write per line: O_APPEND keeps lines whole for a concurrent reader.
        file.write_all(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn events_are_json_lines_and_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let log = PodEvents::new(path.clone(), "web", "u1");
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        log.record(
            at,
            "Warning",
            "Unhealthy",
            "Liveness probe failed: HTTP probe failed with statuscode: 500",
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"kind\":\"Unhealthy\",\"message\":\"Liveness probe failed: HTTP probe failed with statuscode: 500\",\"object\":\"pod/web\",\"source\":\"kubelet\",\"time\":\"2023-11-14T22:13:20.000Z\",\"type\":\"Warning\",\"uid\":\"u1\"}\n"
        );
        let long = "x".repeat(ROTATE_AT as usize);
        log.record(at, "Warning", "Unhealthy", &long);
        log.record(
            at,
            "Normal",
            "Killing",
            "Container web failed liveness probe, will be restarted",
        );
        let kept = std::fs::read_to_string(&path).unwrap();
        assert_eq!(kept.lines().count(), 1);
        assert!(kept.contains("\"Killing\""));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("events.jsonl.1"))
                .unwrap()
                .lines()
                .count(),
            2
        );
    }
}
