//! The pod directory contract shared by the supervisor and the CLI (`<state>/pods/<uid>/`):
//! paths, the supervisor's pid file and liveness, and atomic file writes.

use crate::runtime::PodRequest;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// What `pod.json` holds: the [`PodRequest`] (flattened, so the file reads as one) plus what
/// the supervisor needs to find images and cgroups. [`PodDir::read_pod`] reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodFile {
    /// The pod to run, as apply asked for it.
    #[serde(flatten)]
    pub request: PodRequest,
    /// The image store root (`<state>/images`).
    pub image_store: PathBuf,
    /// Where cgroups are mounted (`/sys/fs/cgroup`).
    pub cgroup_root: PathBuf,
    /// The top-level cgroup directory (`rekon`).
    pub cgroup_prefix: String,
}

/// The fields [`PodFile`] adds to the request.
#[derive(Deserialize)]
struct Placement {
    image_store: PathBuf,
    cgroup_root: PathBuf,
    cgroup_prefix: String,
}

/// The paths of one pod directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodDir {
    root: PathBuf,
}

impl PodDir {
    /// The pod directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        PodDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `pod.json`.
    pub fn pod_file(&self) -> PathBuf {
        self.root.join("pod.json")
    }

    /// `status.json`.
    pub fn status_file(&self) -> PathBuf {
        self.root.join("status.json")
    }

    /// `supervisor.pid`.
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("supervisor.pid")
    }

    /// `events.jsonl`: the pod's own events (probe failures, probe kills), shown by
    /// `describe pod`.
    pub fn events_file(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }

    /// `supervisor.log`.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("supervisor.log")
    }

    /// `containers/<name>`.
    pub fn container(&self, name: &str) -> PathBuf {
        self.root.join("containers").join(name)
    }

    /// `containers/<name>/pid`.
    pub fn container_pid(&self, name: &str) -> PathBuf {
        self.container(name).join("pid")
    }

    /// `containers/<name>/rootfs`: the container's overlay directories.
    pub fn rootfs(&self, name: &str) -> PathBuf {
        self.container(name).join("rootfs")
    }

    /// `logs/<name>`.
    pub fn logs(&self, name: &str) -> PathBuf {
        self.root.join("logs").join(name)
    }

    /// `volumes/<name>`.
    pub fn volume(&self, name: &str) -> PathBuf {
        self.root.join("volumes").join(name)
    }

    /// `config/`: the pod's tmpfs for its config data and config volumes, mounted by the
    /// CLI when the pod has any (`podspec::data::needs_data`).
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }

    /// `config/data.json`: the [`crate::runtime::podspec::data::PodData`] apply wrote.
    pub fn data_file(&self) -> PathBuf {
        self.root.join("config").join("data.json")
    }

    /// The digest of the `data.json` the supervisor last read, written once the pod's status
    /// shows what that data did (see [`data_digest`]).
    pub fn data_loaded_file(&self) -> PathBuf {
        self.root.join("config").join("data.loaded")
    }

    /// `config/volumes/`: the configMap, secret, downwardAPI and projected volumes.
    pub fn config_volumes(&self) -> PathBuf {
        self.root.join("config").join("volumes")
    }

    /// `etc/<file>`: the pod's hosts, hostname and resolv.conf files.
    pub fn etc(&self, file: &str) -> PathBuf {
        self.root.join("etc").join(file)
    }

    /// Reads `pod.json`.
    pub fn read_pod(&self) -> std::io::Result<PodFile> {
        let text = fs::read(self.pod_file())?;
        // Two passes over the same object instead of a derived `#[serde(flatten)]`, which
        // buffers the input and makes serde generate a second deserializer for every type
        // of the PodSpec: 200 kB more code in every pod's supervisor.
        let request: PodRequest = serde_json::from_slice(&text).map_err(std::io::Error::other)?;
        let placement: Placement = serde_json::from_slice(&text).map_err(std::io::Error::other)?;
        Ok(PodFile {
            request,
            image_store: placement.image_store,
            cgroup_root: placement.cgroup_root,
            cgroup_prefix: placement.cgroup_prefix,
        })
    }

    /// The supervisor's pid and start time from `supervisor.pid`, if the file is readable.
    pub fn supervisor(&self) -> Option<ProcessId> {
        ProcessId::parse(&fs::read_to_string(self.pid_file()).ok()?)
    }

    /// Whether the supervisor recorded in `supervisor.pid` is still running.
    pub fn supervisor_alive(&self) -> bool {
        self.supervisor().is_some_and(|p| p.is_alive())
    }
}

/// A process identified by its pid and its start time (field 22 of `/proc/<pid>/stat`), so
/// that a recycled pid is never taken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId {
    /// The process id.
    pub pid: i32,
    /// When the process started, in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_time: u64,
}

impl ProcessId {
    /// The identity of a running process, or None when it does not exist.
    pub fn of(pid: i32) -> Option<ProcessId> {
        Some(ProcessId {
            pid,
            start_time: start_time(pid)?,
        })
    }

    /// Parses `"<pid> <starttime>"`.
    pub fn parse(text: &str) -> Option<ProcessId> {
        let mut parts = text.split_whitespace();
        Some(ProcessId {
            pid: parts.next()?.parse().ok()?,
            start_time: parts.next()?.parse().ok()?,
        })
    }

    /// The pid file's content.
    pub fn render(&self) -> String {
        format!("{} {}\n", self.pid, self.start_time)
    }

    /// Whether this very process still exists (a zombie counts as gone).
    pub fn is_alive(&self) -> bool {
        let Ok(stat) = fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return false;
        };
        let fields = stat_fields(&stat);
        fields.first() != Some(&"Z") && field_start_time(&fields) == Some(self.start_time)
    }
}

/// The fields of `/proc/<pid>/stat` after the command name, starting at field 3 (state).
fn stat_fields(stat: &str) -> Vec<&str> {
    // The command name (field 2) may contain spaces and parentheses: skip to the last ')'.
    stat.rfind(')')
        .map(|i| stat[i + 1..].split_whitespace().collect())
        .unwrap_or_default()
}

fn field_start_time(fields: &[&str]) -> Option<u64> {
    fields.get(22 - 3)?.parse().ok()
}

/// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks since boot.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    field_start_time(&stat_fields(&stat))
}

pub use crate::fsutil::{replace_volatile, write_atomic};

/// The digest `data.loaded` holds for the bytes of a `data.json`.
pub fn data_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(bytes)[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_files_read_back_flat_as_written() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = crate::manifest::types::pod::PodSpec {
            hostname: Some("h".into()),
            ..Default::default()
        };
        let file = PodFile {
            request: PodRequest {
                uid: "u-1".into(),
                namespace: "ns".into(),
                name: "web".into(),
                node: "n1".into(),
                labels: [("app".to_string(), "web".to_string())].into(),
                annotations: Default::default(),
                spec,
                data: None,
                claims: Default::default(),
            },
            image_store: "/state/images".into(),
            cgroup_root: "/sys/fs/cgroup".into(),
            cgroup_prefix: "rekon".into(),
        };
        let dir = PodDir::new(tmp.path());
        let json = serde_json::to_value(&file).unwrap();
        assert_eq!(json["name"], "web", "the request's fields are at the top level");
        assert_eq!(json["cgroup_prefix"], "rekon");
        fs::write(dir.pod_file(), serde_json::to_vec(&file).unwrap()).unwrap();
        assert_eq!(dir.read_pod().unwrap(), file);
        fs::write(dir.pod_file(), br#"{"uid": "u-1"}"#).unwrap();
        assert!(dir.read_pod().is_err());
    }

    #[test]
    fn process_ids_round_trip_and_detect_recycled_pids() {
        let me = ProcessId::of(std::process::id() as i32).unwrap();
        assert!(me.is_alive());
        assert_eq!(ProcessId::parse(&me.render()), Some(me));
        let recycled = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!recycled.is_alive());
        assert_eq!(ProcessId::parse("12"), None);
    }

    #[test]
    fn stat_fields_skip_command_names_with_spaces() {
        let stat = "42 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 21";
        assert_eq!(field_start_time(&stat_fields(stat)), Some(777));
    }

    #[test]
    fn atomic_writes_replace_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
