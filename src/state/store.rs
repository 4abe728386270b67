//! The state store: loads and atomically saves `state.json`, with a backup and format checks.

use crate::state::error::StateError;
use crate::state::model::{FORMAT_VERSION, State};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const STATE_FILE: &str = "state.json";
const BACKUP_FILE: &str = "state.json.backup";
const TEMP_FILE: &str = "state.json.tmp";

/// The state directory and the `state.json` in it (`DESIGN.md` §5).
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// Opens the state directory `dir`, creating it (mode 0700) if missing.
    pub fn open(dir: impl AsRef<Path>) -> Result<StateStore, StateError> {
        let dir = dir.as_ref().to_path_buf();
        ensure_dir(&dir)?;
        Ok(StateStore { dir })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `state.json`.
    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// `state.json.backup`, the state before the last save.
    pub fn backup_path(&self) -> PathBuf {
        self.dir.join(BACKUP_FILE)
    }

    /// `git/`, the fetch cache of the source.
    pub fn git_dir(&self) -> PathBuf {
        self.dir.join("git")
    }

    /// `images/`, the local image store.
    pub fn images_dir(&self) -> PathBuf {
        self.dir.join("images")
    }

    /// `pods/`, one directory per pod uid.
    pub fn pods_dir(&self) -> PathBuf {
        self.dir.join("pods")
    }

    /// `volumes/`, the local provisioner's claim directories.
    pub fn volumes_dir(&self) -> PathBuf {
        self.dir.join("volumes")
    }

    /// The saved state, or a fresh one with a new random lineage if none was ever saved.
    pub fn load(&self) -> Result<State, StateError> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let backup = self.backup_path();
                if backup.exists() {
                    return Err(StateError::Missing { path, backup });
                }
                return Ok(State::new(new_lineage()));
            }
            Err(e) => return Err(StateError::io("read", &path)(e)),
        };
        let backup = Some(self.backup_path()).filter(|b| b.exists());
        let corrupt = |source| StateError::Corrupt {
            path: path.clone(),
            backup: backup.clone(),
            source,
        };
        // The common case, a state of this format, is read in one pass; an older one (its
        // fields may not even fit today's types) goes through its migrations as JSON.
        if let Ok(state) = serde_json::from_slice::<State>(&bytes)
            && state.format_version == FORMAT_VERSION
        {
            return Ok(state);
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(corrupt)?;
        let value = migrate(&path, value, MIGRATIONS).map_err(|e| match e {
            Migration::Json(source) => corrupt(source),
            Migration::State(e) => e,
        })?;
        serde_json::from_value(value).map_err(corrupt)
    }

    /// Increments `state.serial` and writes `state` so that a complete `state.json` exists at
    /// every instant; the previous one is kept as `state.json.backup`.
    pub fn save(&self, state: &mut State) -> Result<(), StateError> {
        state.serial += 1;
        state.format_version = FORMAT_VERSION;
        state.rekon_version = env!("CARGO_PKG_VERSION").to_string();
        let result = serde_json::to_vec_pretty(&*state)
            .map_err(|e| StateError::io("serialize", self.path())(e.into()))
            .and_then(|mut bytes| {
                bytes.push(b'\n');
                self.write_temp(&bytes)?;
                self.install_temp()
            });
        if result.is_err() {
            // Nothing was installed: the caller's state must keep matching the file.
            state.serial -= 1;
        }
        result
    }

    /// Step 1 of a save: the new state in `state.json.tmp` (0600), flushed to disk.
    fn write_temp(&self, bytes: &[u8]) -> Result<(), StateError> {
        let tmp = self.dir.join(TEMP_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(StateError::io("create", &tmp))?;
        // A stale temp file from another umask keeps its mode across truncation.
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(StateError::io("chmod", &tmp))?;
        file.write_all(bytes).map_err(StateError::io("write", &tmp))?;
        file.sync_all().map_err(StateError::io("fsync", &tmp))
    }

    /// Step 2 of a save: keep the old state as the backup, rename the temp file over
    /// `state.json`, and make both durable.
    fn install_temp(&self) -> Result<(), StateError> {
        let (path, backup) = (self.path(), self.backup_path());
        if path.exists() {
            match fs::remove_file(&backup) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(StateError::io("remove", &backup)(e)),
            }
            // A hard link keeps `state.json` in place while the backup appears; copy where
            // the filesystem has no links.
            if fs::hard_link(&path, &backup).is_err() {
                fs::copy(&path, &backup).map_err(StateError::io("copy to backup", &path))?;
            }
        }
        fs::rename(self.dir.join(TEMP_FILE), &path).map_err(StateError::io("rename over", &path))?;
        fsync_dir(&self.dir)
    }
}

/// Why a raw state value could not be brought to [`FORMAT_VERSION`].
enum Migration {
    Json(serde_json::Error),
    State(StateError),
}

/// One migration step: a state value of format `n` to format `n + 1`.
type Step = fn(serde_json::Value) -> Result<serde_json::Value, String>;

/// `MIGRATIONS[i]` turns format `i + 1` into format `i + 2`; each new format adds its step
/// here, tested with a saved older file.
const MIGRATIONS: &[Step] = &[v1_to_v2, v2_to_v3];
const _: () = assert!(MIGRATIONS.len() as u32 + 1 == FORMAT_VERSION);

/// Format 2 lets a pod record have no `node` (a Pending pod) and adds `scheduling`. Every
/// format-1 pod was bound to a node, so the data stays as it is; only a node that is not a
/// string could not be read.
fn v1_to_v2(value: serde_json::Value) -> Result<serde_json::Value, String> {
    if let Some(pods) = value.get("pods").and_then(|p| p.as_object()) {
        for (uid, pod) in pods {
            if !pod.get("node").is_some_and(serde_json::Value::is_string) {
                return Err(format!("pod {uid} has no node"));
            }
        }
    }
    Ok(value)
}

/// Format 3 adds the controller records `replica_sets` and `deployments`. A format-2 state
/// has none: its Deployments and ReplicaSets ran no pods (there was no controller), so the
/// records start empty and the next apply rolls them out.
fn v2_to_v3(mut value: serde_json::Value) -> Result<serde_json::Value, String> {
    let map = value.as_object_mut().ok_or("the state is not an object")?;
    map.entry("replica_sets").or_insert_with(|| serde_json::json!({}));
    map.entry("deployments").or_insert_with(|| serde_json::json!({}));
    Ok(value)
}

/// Brings a state value of any older format to the newest one `steps` know, step by step.
fn migrate(path: &Path, mut value: serde_json::Value, steps: &[Step]) -> Result<serde_json::Value, Migration> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        format_version: u32,
    }
    let found = <Versioned as serde::Deserialize>::deserialize(
        value
            .get("format_version")
            .cloned()
            .map_or_else(|| serde_json::json!({}), |v| serde_json::json!({ "format_version": v })),
    )
    .map_err(Migration::Json)?
    .format_version;
    let current = steps.len() as u32 + 1;
    if found > current {
        return Err(Migration::State(StateError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: current,
        }));
    }
    let unmigratable = |reason: String| {
        Migration::State(StateError::Unmigratable {
            path: path.to_path_buf(),
            found,
            reason,
        })
    };
    if found == 0 {
        return Err(unmigratable("no rekon ever wrote format 0".into()));
    }
    for (from, step) in (found..).zip(&steps[found as usize - 1..]) {
        value = step(value).map_err(unmigratable)?;
        value["format_version"] = (from + 1).into();
    }
    Ok(value)
}

/// 32 random hex characters.
fn new_lineage() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Creates `dir` (and parents) with mode 0700 if it does not exist.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), StateError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(StateError::io("create directory", dir))
}

/// Makes renames and links inside `dir` durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StateError::io("fsync", dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ObjectId;
    use crate::source::SourceSpec;
    use crate::state::model::ObjectRecord;

    fn sample() -> State {
        let mut state = State::new("0123456789abcdef0123456789abcdef".into());
        state.source = Some(SourceSpec {
            repo: Some("file:///repo".into()),
            git_ref: Some("main".into()),
            path: Some("deploy".into()),
            files: vec![],
        });
        state.revision = Some("a".repeat(40));
        let id = ObjectId::new(crate::manifest::types::Kind::ConfigMap, Some("default"), "web");
        state.objects.insert(
            id.clone(),
            ObjectRecord {
                id,
                spec: serde_json::json!({"data": {"k": "v"}}).into(),
                hash: "sha256:00".into(),
                origin: "deploy/cm.yaml:1".into(),
                created_at: crate::time::parse("2026-01-01T00:00:00Z").unwrap(),
                generation: 1,
                deletion_timestamp: None,
                finalizers: Vec::new(),
            },
        );
        state
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn open_creates_private_dir_and_load_gives_fresh_state() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path().join("a/state")).unwrap();
        assert_eq!(mode(store.dir()), 0o700);
        let state = store.load().unwrap();
        assert_eq!(state.serial, 0);
        assert_eq!(state.format_version, FORMAT_VERSION);
        assert_eq!(state.lineage.len(), 32);
        assert!(state.lineage.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(state.lineage, store.load().unwrap().lineage);
        assert!(!store.path().exists(), "load must not write");
    }

    #[test]
    fn save_round_trips_bumps_serial_and_keeps_backup() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        let mut state = sample();
        store.save(&mut state).unwrap();
        assert_eq!(state.serial, 1);
        assert_eq!(store.load().unwrap(), state);
        assert_eq!(mode(&store.path()), 0o600);
        assert!(!store.backup_path().exists());

        let first = state.clone();
        state.revision = Some("b".repeat(40));
        store.save(&mut state).unwrap();
        assert_eq!(state.serial, 2);
        assert_eq!(store.load().unwrap(), state);
        let backup: State = serde_json::from_slice(&fs::read(store.backup_path()).unwrap()).unwrap();
        assert_eq!(backup, first);
        assert!(!tmp.path().join(TEMP_FILE).exists());
    }

    #[test]
    fn save_interrupted_before_rename_leaves_old_state() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        let mut state = sample();
        store.save(&mut state).unwrap();
        // A crash halfway through writing the next state: a torn temp file, never renamed.
        let mut next = serde_json::to_vec(&state).unwrap();
        next.truncate(next.len() / 2);
        store.write_temp(&next).unwrap();
        assert_eq!(store.load().unwrap(), state);
        // The next save overwrites the leftover temp file.
        store.save(&mut state).unwrap();
        assert_eq!(store.load().unwrap().serial, 2);
    }

    #[test]
    fn newer_format_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        let mut value = serde_json::to_value(sample()).unwrap();
        value["format_version"] = 4.into();
        fs::write(store.path(), value.to_string()).unwrap();
        let err = store.load().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "state at {} was written by a newer rekon (format 4); \
                 this rekon reads format 3 and older: upgrade rekon",
                store.path().display()
            )
        );
    }

    #[test]
    fn corrupt_state_names_file_and_backup() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        fs::write(store.path(), "{\"format_version\": 1, \"lineage\": ").unwrap();
        // Without a backup the message does not send the user to one.
        assert_eq!(
            store.load().unwrap_err().to_string(),
            format!(
                "state file {0} is corrupt; there is no backup yet (one is kept from the second save on): \
                 repair {0} by hand, or move it aside to start from an empty state (the pods it \
                 recorded keep running, unmanaged)",
                store.path().display()
            )
        );
        fs::write(store.backup_path(), "{}").unwrap();
        let err = store.load().unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "state file {0} is corrupt; the previous state is kept in {0}.backup: \
                 inspect it and copy it over {0} to recover",
                store.path().display()
            )
        );
        // Valid JSON that is not a state is corrupt too.
        fs::write(store.path(), "[1, 2]").unwrap();
        assert!(matches!(store.load(), Err(StateError::Corrupt { .. })));
        fs::write(store.path(), "{\"format_version\": 0}").unwrap();
        let err = store.load().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "state at {} has format 0, which this rekon cannot migrate: \
                 no rekon ever wrote format 0",
                store.path().display()
            )
        );
    }

    #[test]
    fn migration_steps_run_in_order_from_the_found_format() {
        fn rename(mut v: serde_json::Value) -> Result<serde_json::Value, String> {
            let old = v["old"].take();
            v["new"] = old;
            Ok(v)
        }
        fn refuse(_: serde_json::Value) -> Result<serde_json::Value, String> {
            Err("pods of format 2 cannot be adopted".into())
        }
        let path = Path::new("/s/state.json");
        let v1 = serde_json::json!({"format_version": 1, "old": 7});
        let migrated = migrate(path, v1.clone(), &[rename]).ok().unwrap();
        assert_eq!(
            migrated,
            serde_json::json!({"format_version": 2, "old": null, "new": 7})
        );
        // A state already at format 2 skips the first step and fails in the second.
        let v2 = serde_json::json!({"format_version": 2});
        match migrate(path, v2, &[rename, refuse]) {
            Err(Migration::State(e)) => assert_eq!(
                e.to_string(),
                "state at /s/state.json has format 2, which this rekon cannot migrate: \
                 pods of format 2 cannot be adopted"
            ),
            _ => panic!("expected a refused migration"),
        }
        let v3 = serde_json::json!({"format_version": 3});
        assert!(matches!(
            migrate(path, v3, &[rename]),
            Err(Migration::State(StateError::TooNew {
                found: 3,
                supported: 2,
                ..
            }))
        ));
    }

    #[test]
    fn a_format_1_state_is_migrated_and_saved_as_format_3() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        // A state as rekon 0.1 wrote it (format 1): every pod bound to a node.
        let v1 = r#"{"format_version": 1, "lineage": "0123456789abcdef0123456789abcdef", "serial": 3,
            "rekon_version": "0.1.0", "objects": {}, "pods": {"u1": {"uid": "u1", "namespace": "default",
            "name": "web", "node": "box", "owner": {"kind": "Pod", "namespace": "default", "name": "web"},
            "spec_hash": "h", "created_at": "2026-01-01T00:00:00Z", "created": true}}}"#;
        fs::write(store.path(), v1).unwrap();
        let mut state = store.load().unwrap();
        let pod = &state.pods["u1"];
        assert_eq!((pod.node.as_deref(), &pod.scheduling), (Some("box"), &None));
        store.save(&mut state).unwrap();
        let saved: serde_json::Value = serde_json::from_slice(&fs::read(store.path()).unwrap()).unwrap();
        assert_eq!(saved["format_version"], 3);
        assert_eq!(saved["pods"]["u1"]["node"], "box");
        assert_eq!(saved["replica_sets"], serde_json::json!({}));

        let broken = v1.replace(r#""node": "box","#, "");
        fs::write(store.path(), broken).unwrap();
        assert_eq!(
            store.load().unwrap_err().to_string(),
            format!(
                "state at {} has format 1, which this rekon cannot migrate: pod u1 has no node",
                store.path().display()
            )
        );
    }

    #[test]
    fn a_format_2_state_gets_empty_controller_records() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        let v2 = r#"{"format_version": 2, "lineage": "0123456789abcdef0123456789abcdef", "serial": 9,
            "rekon_version": "0.1.0", "objects": {}, "pods": {"u1": {"uid": "u1", "namespace": "default",
            "name": "web", "node": null, "owner": {"kind": "Pod", "namespace": "default", "name": "web"},
            "spec_hash": "h", "created_at": "2026-01-01T00:00:00Z", "created": false}}}"#;
        fs::write(store.path(), v2).unwrap();
        let state = store.load().unwrap();
        assert_eq!(state.format_version, 3);
        assert!(state.replica_sets.is_empty() && state.deployments.is_empty());
        assert_eq!(state.pods["u1"].node, None);
    }

    #[test]
    fn missing_state_with_backup_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        let mut state = sample();
        store.save(&mut state).unwrap();
        store.save(&mut state).unwrap();
        fs::remove_file(store.path()).unwrap();
        assert!(matches!(store.load(), Err(StateError::Missing { .. })));
    }

    #[test]
    fn failed_save_restores_serial() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        // A directory where the temp file should go makes the write fail.
        fs::create_dir(tmp.path().join(TEMP_FILE)).unwrap();
        let mut state = sample();
        assert!(matches!(
            store.save(&mut state),
            Err(StateError::Io {
                operation: "create",
                ..
            })
        ));
        assert_eq!(state.serial, 0);
    }
}
