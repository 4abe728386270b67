//! Pod volumes on the host (emptyDir directories and `medium: Memory` tmpfs) and each
//! container's mounts of them, with hostPath `type` checks (`spec/k8s-semantics.md` §9.1–§9.2).

use crate::manifest::types::container::Container;
use crate::manifest::types::pod::PodSpec;
use crate::manifest::types::volume::Volume;
use crate::runtime::ClaimMount;
use crate::runtime::linux::mounts::mount_host_tmpfs;
use crate::runtime::linux::{Mount, MountKind};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates the pod's emptyDir volumes under `volumes_dir` (tmpfs for `medium: Memory`), and
/// the missing directories of hostPath volumes its claims are bound to. Errors name the
/// volume.
pub fn prepare(spec: &PodSpec, claims: &BTreeMap<String, ClaimMount>, volumes_dir: &Path) -> Result<(), String> {
    for (name, claim) in claims.iter().filter(|(_, c)| c.create) {
        if fs::symlink_metadata(&claim.path).is_err() {
            fs::create_dir_all(&claim.path)
                .and_then(|()| fs::set_permissions(&claim.path, fs::Permissions::from_mode(0o755)))
                .map_err(|e| format!("volume {name}: cannot create {}: {e}", claim.path.display()))?;
        }
    }
    for volume in &spec.volumes {
        let Some(empty_dir) = empty_dir(volume) else {
            continue;
        };
        let dir = volumes_dir.join(&volume.name);
        let fail = |e: std::io::Error| format!("volume {}: cannot create {}: {e}", volume.name, dir.display());
        fs::create_dir_all(&dir).map_err(fail)?;
        if empty_dir.medium.as_deref() == Some("Memory") {
            let size = empty_dir.size_limit.as_ref().map(|q| q.value().max(0) as u64);
            mount_host_tmpfs(&dir, size).map_err(fail)?;
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).map_err(fail)?;
    }
    Ok(())
}

/// A volume's emptyDir source; a volume with no source at all is an emptyDir
/// (`SetDefaults_Volume`).
fn empty_dir(volume: &Volume) -> Option<crate::manifest::types::volume::EmptyDirVolumeSource> {
    match &volume.empty_dir {
        Some(e) => Some(e.clone()),
        None if volume.source_names().is_empty() => Some(Default::default()),
        None => None,
    }
}

/// The mounts of `container`, or a `CreateContainerConfigError` message. Config volumes
/// (configMap, secret, downwardAPI, projected) are the directories below `config_dir` that
/// the supervisor writes, always read-only, as the kubelet mounts them.
pub fn container_mounts(
    spec: &PodSpec,
    claims: &BTreeMap<String, ClaimMount>,
    container: &Container,
    volumes_dir: &Path,
    config_dir: &Path,
) -> Result<Vec<Mount>, String> {
    let mut mounts = Vec::new();
    for vm in &container.volume_mounts {
        let Some(volume) = spec.volumes.iter().find(|v| v.name == vm.name) else {
            return Err(format!(
                "volume mount {}: no volume named {} in the pod",
                vm.mount_path, vm.name
            ));
        };
        if vm.sub_path_expr.is_some() {
            return Err(format!(
                "volume mount {}: subPathExpr is not supported by rekon's runtime yet",
                vm.mount_path
            ));
        }
        let mut read_only = vm.read_only.unwrap_or(false);
        let source = if super::data::is_config_volume(volume) {
            read_only = true;
            config_dir.join(&volume.name)
        } else if empty_dir(volume).is_some() {
            volumes_dir.join(&volume.name)
        } else if let Some(pvc) = &volume.persistent_volume_claim {
            let Some(claim) = claims.get(&volume.name) else {
                return Err(format!(
                    "volume {}: persistentvolumeclaim \"{}\" is not bound",
                    volume.name, pvc.claim_name
                ));
            };
            read_only |= claim.read_only;
            if !claim.path.is_dir() {
                return Err(format!(
                    "volume {}: {} is not a directory",
                    volume.name,
                    claim.path.display()
                ));
            }
            claim.path.clone()
        } else if let Some(host) = &volume.host_path {
            check_host_path(&volume.name, Path::new(&host.path), host.type_.as_deref().unwrap_or(""))?;
            PathBuf::from(&host.path)
        } else {
            let kind = volume.source_names().first().copied().unwrap_or("unknown");
            return Err(format!(
                "volume {}: {kind} volumes are not supported by rekon's runtime yet",
                volume.name
            ));
        };
        mounts.push(Mount {
            destination: PathBuf::from(&vm.mount_path),
            kind: MountKind::Bind {
                source,
                sub_path: vm.sub_path.as_deref().filter(|s| !s.is_empty()).map(PathBuf::from),
            },
            read_only,
        });
    }
    Ok(mounts)
}

/// The hostPath `type` checks (pkg/volume/hostpath `checkType`).
pub fn check_host_path(volume: &str, path: &Path, type_: &str) -> Result<(), String> {
    let meta = fs::metadata(path);
    let shown = path.display();
    let want = |what: &str, ok: &dyn Fn(&fs::FileType) -> bool| match &meta {
        Ok(m) if ok(&m.file_type()) => Ok(()),
        Ok(_) => Err(format!(
            "volume {volume}: hostPath type check failed: {shown} is not a {what}"
        )),
        Err(_) => Err(format!(
            "volume {volume}: hostPath type check failed: {shown} does not exist"
        )),
    };
    let create_err = |e: std::io::Error| format!("volume {volume}: cannot create {shown}: {e}");
    match type_ {
        "" => Ok(()),
        "Directory" => want("directory", &|t| t.is_dir()),
        "File" => want("file", &|t| t.is_file()),
        "Socket" => want("socket", &|t| t.is_socket()),
        "CharDevice" => want("character device", &|t| t.is_char_device()),
        "BlockDevice" => want("block device", &|t| t.is_block_device()),
        "DirectoryOrCreate" => {
            if meta.is_err() {
                fs::create_dir_all(path).map_err(create_err)?;
                fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(create_err)?;
                return Ok(());
            }
            want("directory", &|t| t.is_dir())
        }
        "FileOrCreate" => {
            if meta.is_err() {
                // The kubelet does not create the parent directory of a FileOrCreate path.
                fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .map_err(create_err)?;
                fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(create_err)?;
                return Ok(());
            }
            want("file", &|t| t.is_file())
        }
        other => Err(format!("volume {volume}: unknown hostPath type {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::types::container::VolumeMount;
    use crate::manifest::types::volume::{ConfigMapVolumeSource, HostPathVolumeSource};

    #[test]
    fn host_path_types_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(check_host_path("v", d, "Directory"), Ok(()));
        assert_eq!(
            check_host_path("v", d, "File"),
            Err(format!(
                "volume v: hostPath type check failed: {} is not a file",
                d.display()
            ))
        );
        let missing = d.join("missing");
        assert_eq!(
            check_host_path("v", &missing, "Directory"),
            Err(format!(
                "volume v: hostPath type check failed: {} does not exist",
                missing.display()
            ))
        );
        check_host_path("v", &missing, "DirectoryOrCreate").unwrap();
        assert!(missing.is_dir());
        let file = d.join("f");
        check_host_path("v", &file, "FileOrCreate").unwrap();
        assert!(file.is_file());
        assert!(check_host_path("v", &d.join("no/such/f"), "FileOrCreate").is_err());
        assert!(check_host_path("v", &file, "Socket").is_err());
        assert_eq!(check_host_path("v", &missing, ""), Ok(()));
    }

    #[test]
    fn mounts_of_empty_dirs_host_paths_and_config_volumes() {
        let spec = PodSpec {
            volumes: vec![
                Volume {
                    name: "data".into(),
                    empty_dir: Some(Default::default()),
                    ..Default::default()
                },
                Volume {
                    name: "host".into(),
                    host_path: Some(HostPathVolumeSource {
                        path: "/tmp".into(),
                        type_: Some("Directory".into()),
                    }),
                    ..Default::default()
                },
                Volume {
                    name: "cm".into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: "x".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let mount = |name: &str, path: &str| VolumeMount {
            name: name.into(),
            mount_path: path.into(),
            ..Default::default()
        };
        let mut c = Container {
            name: "c".into(),
            volume_mounts: vec![mount("data", "/data"), mount("host", "/h")],
            ..Default::default()
        };
        c.volume_mounts[1].read_only = Some(true);
        c.volume_mounts[0].sub_path = Some("sub".into());
        let mounts = container_mounts(
            &spec,
            &Default::default(),
            &c,
            Path::new("/pod/volumes"),
            Path::new("/pod/config/volumes"),
        )
        .unwrap();
        assert_eq!(
            mounts[0].kind,
            MountKind::Bind {
                source: "/pod/volumes/data".into(),
                sub_path: Some("sub".into())
            }
        );
        assert!(mounts[1].read_only && !mounts[0].read_only);
        c.volume_mounts = vec![mount("cm", "/cm")];
        let cm = container_mounts(&spec, &Default::default(), &c, Path::new("/v"), Path::new("/c")).unwrap();
        assert_eq!(
            cm[0].kind,
            MountKind::Bind {
                source: "/c/cm".into(),
                sub_path: None
            }
        );
        assert!(cm[0].read_only, "config volumes are mounted read-only");
    }
}
