//! The binder's pass in apply: claims bind, rekon's provisioner makes a directory per
//! provisioned volume below the state dir (`volumes/pvc-<uid>`, mode 0777 as upstream's
//! local-path provisioner makes them, so that containers of any user can write), reclaimed
//! ones are removed, and the statuses are saved. It runs before the plan's pods are created,
//! after its deletions, and in every pass of the controllers' loop.

use super::ApplyError;
use super::executor::Executor;
use crate::manifest::types::NamespacedName;
use crate::manifest::types::pod::PodSpec;
use crate::plan::DesiredObject;
use crate::plan::storage::{ClaimView, StorageInput, bind, claim_views};
use crate::runtime::ClaimMount;
use crate::state::storage::ClaimPhase;
use crate::state::{Event, EventLog, State};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

impl Executor<'_> {
    /// Runs the binder over `desired` and the state, carries out what it decided, saves the
    /// statuses when they changed, and returns the claims as the scheduler sees them.
    pub fn sync_storage(
        &mut self,
        desired: &[DesiredObject],
        state: &mut State,
    ) -> Result<BTreeMap<NamespacedName, ClaimView>, ApplyError> {
        if !crate::plan::storage::in_use(desired, state) {
            return Ok(BTreeMap::new());
        }
        let now = (self.now)();
        let input = StorageInput::new(desired, state, now);
        let step = bind(&input);
        let views = claim_views(&step, &input.classes);
        if !step.changes(state) {
            return Ok(views);
        }
        let dir = self.saver.store.dir().to_path_buf();
        for name in &step.provision {
            let path = provisioned_dir(&dir, name);
            make_dir(&path).map_err(|e| ApplyError::Volume {
                id: format!("PersistentVolume {name}"),
                message: format!("cannot make {}: {e}", path.display()),
            })?;
        }
        state.claims = step.claims.clone();
        state.volumes = step.volumes.clone();
        self.saver.save(state)?;
        // Removed only once the state no longer names them.
        for name in &step.remove {
            let path = provisioned_dir(&dir, name);
            match std::fs::remove_dir_all(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ApplyError::Volume {
                        id: format!("PersistentVolume {name}"),
                        message: format!("cannot remove {}: {e}", path.display()),
                    });
                }
            }
        }
        let log = EventLog::open(&dir)?;
        for e in &step.events {
            log.append(&Event::of_object(
                crate::time::whole_seconds(now),
                &e.type_,
                &e.reason,
                "persistentvolume-controller",
                e.object.clone(),
                e.message.clone(),
            ))?;
        }
        Ok(views)
    }
}

/// The directory of a provisioned volume below the state dir.
pub fn provisioned_dir(state_dir: &Path, volume: &str) -> std::path::PathBuf {
    state_dir.join("volumes").join(volume)
}

fn make_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))
}

/// Where each claim volume of a pod's spec is on the host, by volume name: the directory
/// of its bound volume (provisioned below `state_dir`, or a hostPath or local volume of git).
/// A claim that is not bound is left out; the scheduler keeps such pods Pending.
pub fn claim_mounts(state: &State, state_dir: &Path, namespace: &str, spec: &PodSpec) -> BTreeMap<String, ClaimMount> {
    let mut out = BTreeMap::new();
    for volume in &spec.volumes {
        let Some(source) = &volume.persistent_volume_claim else {
            continue;
        };
        let Some(claim) = state.claims.get(&NamespacedName::new(namespace, &source.claim_name)) else {
            continue;
        };
        let (ClaimPhase::Bound, Some(pv)) = (claim.phase, claim.volume.as_deref()) else {
            continue;
        };
        let mount = match state.volumes.get(pv) {
            Some(vs) if vs.provisioned.is_some() => ClaimMount {
                path: provisioned_dir(state_dir, pv),
                create: false,
                read_only: source.read_only.unwrap_or(false),
            },
            _ => {
                let id = crate::manifest::ObjectId::new(crate::manifest::types::Kind::PersistentVolume, None, pv);
                let Some(rec) = state.objects.get(&id) else { continue };
                let host_path = rec.spec.pointer("/spec/hostPath/path").and_then(|v| v.as_str());
                let local = rec.spec.pointer("/spec/local/path").and_then(|v| v.as_str());
                let type_ = rec
                    .spec
                    .pointer("/spec/hostPath/type")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let Some(path) = host_path.or(local) else { continue };
                ClaimMount {
                    path: path.into(),
                    // A hostPath volume's missing directory is made, as container runtimes
                    // make a missing bind source; a local volume must exist.
                    create: host_path.is_some() && matches!(type_, "" | "DirectoryOrCreate"),
                    read_only: source.read_only.unwrap_or(false),
                }
            }
        };
        out.insert(volume.name.clone(), mount);
    }
    out
}
