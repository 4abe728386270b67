//! [`ImageStore::import`]: detects what kind of input a path is, stores its blobs and
//! layers, and records the image under its normalised name.

use super::archive::{Compression, Source, TarIndex, sniff, unique};
use super::reference::Reference;
use super::store::ImageStore;
use super::{Image, ImageConfig, ImageError, ImageId, ImportOptions, docker, oci};
use serde_json::{Value, json};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// An image found in an OCI layout or `docker save` archive, not yet stored.
pub(crate) struct Found {
    /// The config blob, byte for byte.
    pub config: Vec<u8>,
    pub manifest_digest: Option<String>,
    /// Bottom layer first.
    pub layers: Vec<FoundLayer>,
}

/// One layer tarball inside an import input.
pub(crate) struct FoundLayer {
    /// Its path inside the input.
    pub path: String,
    /// Its blob digest, when the input states one.
    pub digest: Option<String>,
}

enum Input {
    Oci(Source),
    Docker(Source),
    /// A root filesystem as one uncompressed tar (built from a directory when needed).
    Rootfs(PathBuf),
}

/// A scratch directory inside the store, removed when dropped.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl ImportOptions {
    fn is_empty(&self) -> bool {
        *self == ImportOptions::default()
    }
}

impl ImageStore {
    /// Imports the image at `path` under `name` (normalised; a digest reference is
    /// refused). `path` may be an OCI image layout (directory or tar), a `docker save`
    /// archive (tar, maybe gzip, or its unpacked directory), or a plain root filesystem
    /// (directory or tar, maybe gzip) that becomes a single layer. `options` are applied
    /// on top of the image's config; the image id is the digest of the resulting config.
    /// A name already in use moves to the new image; the old one stays, dangling, until
    /// [`ImageStore::prune`] or [`ImageStore::remove`] by id.
    pub fn import(&self, name: &str, path: &Path, options: &ImportOptions) -> Result<Image, ImageError> {
        let reference = Reference::parse(name)?;
        if reference.digest.is_some() {
            return Err(ImageError::DigestName {
                reference: name.to_string(),
            });
        }
        let _lock = self.lock()?;
        let staging = Staging(self.root().join(format!(".tmp-import-{}", unique())));
        fs::create_dir(&staging.0).map_err(ImageError::io("create", &staging.0))?;
        let (found, src) = match detect(path, &staging.0)? {
            Input::Oci(src) => (oci::read(&src, &reference)?, Some(src)),
            Input::Docker(src) => (docker::read(&src, &reference)?, Some(src)),
            Input::Rootfs(tar) => (rootfs_found(&tar), None),
        };
        let mut config: Value = match found.config.is_empty() {
            true => json!({}),
            false => serde_json::from_slice(&found.config).map_err(|source| ImageError::Json {
                path: path.to_path_buf(),
                what: "the image config".into(),
                source,
            })?,
        };
        if let Some(os) = config["os"].as_str().filter(|os| *os != "linux") {
            return Err(ImageError::bad(path, format!("the image is for {os}, not linux")));
        }
        let expected: Option<Vec<String>> = src.as_ref().map(|_| {
            config["rootfs"]["diff_ids"]
                .as_array()
                .map(|a| a.iter().filter_map(|d| d.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        });
        if found.layers.is_empty() {
            return Err(ImageError::bad(path, "the image has no layers"));
        }
        if let Some(expected) = expected.as_ref().filter(|e| e.len() != found.layers.len()) {
            return Err(ImageError::bad(
                path,
                format!(
                    "the manifest lists {} layers but the config has {} diff ids",
                    found.layers.len(),
                    expected.len()
                ),
            ));
        }
        let mut layers = Vec::new();
        let mut blobs = Vec::new();
        let mut size = 0;
        for (i, layer) in found.layers.iter().enumerate() {
            let what = format!("layer {} ({})", i + 1, layer.path);
            let reader: Box<dyn Read> = match &src {
                Some(src) => src.open(&layer.path)?,
                None => Box::new(File::open(&layer.path).map_err(ImageError::io("open", &layer.path))?),
            };
            let (blob, blob_size) = self.put_blob(reader, layer.digest.as_deref(), &what)?;
            let diff = expected.as_ref().map(|e| e[i].as_str());
            layers.push(self.ensure_layer(&blob, diff, &what)?);
            blobs.push(blob);
            size += blob_size;
        }
        let config_bytes = if src.is_none() {
            rootfs_config(&layers, options)
        } else if options.is_empty() {
            found.config
        } else {
            apply_options(&mut config, options);
            serde_json::to_vec(&config).expect("a JSON value serialises")
        };
        let config: Value = serde_json::from_slice(&config_bytes).expect("checked above");
        let (id, config_size) = self.put_blob(config_bytes.as_slice(), None, "the image config")?;
        blobs.push(id.clone());
        let image = Image {
            id: ImageId(id),
            names: vec![reference.to_string()],
            digests: found.manifest_digest.into_iter().collect(),
            layers,
            config: config_of(&config),
            created: config["created"].as_str().map(str::to_string),
            imported: crate::time::now(),
            size: size + config_size,
            blobs,
        };
        let mut index = self.load()?;
        if let Some(old) = index.images.get_mut(&image.id) {
            // Re-importing the same image keeps every manifest digest it was seen with.
            for d in &image.digests {
                if !old.digests.contains(d) {
                    old.digests.push(d.clone());
                }
            }
        } else {
            let record = Image {
                names: Vec::new(),
                ..image.clone()
            };
            index.images.insert(image.id.clone(), record);
        }
        index.names.insert(reference.to_string(), image.id.clone());
        self.save(&index)?;
        Ok(self.get(&image.id.0)?.unwrap_or(image))
    }
}

/// Works out what `path` is; tars are indexed (gzip ones decompressed into `staging`).
fn detect(path: &Path, staging: &Path) -> Result<Input, ImageError> {
    let meta = fs::metadata(path).map_err(ImageError::io("read", path))?;
    if meta.is_dir() {
        let src = Source::Dir(path.to_path_buf());
        if src.has("oci-layout") {
            return Ok(Input::Oci(src));
        }
        if src.has("manifest.json") {
            return Ok(Input::Docker(src));
        }
        let tar = staging.join("rootfs.tar");
        tar_dir(path, &tar).map_err(|e| ImageError::bad(path, format!("cannot read the root filesystem: {e}")))?;
        return Ok(Input::Rootfs(tar));
    }
    let mut head = [0u8; 4];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(ImageError::io("read", path))?;
    let plain = match sniff(&head[..n]) {
        Compression::None => path.to_path_buf(),
        Compression::Gzip => {
            let plain = staging.join("input.tar");
            let mut out = File::create(&plain).map_err(ImageError::io("create", &plain))?;
            let mut input = super::archive::open_maybe_gzip(path)?;
            io::copy(&mut input, &mut out).map_err(|e| ImageError::bad(path, format!("cannot decompress: {e}")))?;
            plain
        }
        Compression::Zstd => {
            return Err(ImageError::bad(path, "zstd-compressed archives are not supported"));
        }
    };
    let src = Source::Tar(TarIndex::build(&plain, path)?);
    if src.has("oci-layout") && src.has("index.json") {
        Ok(Input::Oci(src))
    } else if src.has("manifest.json") {
        Ok(Input::Docker(src))
    } else {
        Ok(Input::Rootfs(plain))
    }
}

/// Tars a directory tree as it is: symlinks as symlinks, owners and modes kept.
fn tar_dir(dir: &Path, out: &Path) -> io::Result<()> {
    let mut builder = tar::Builder::new(File::create(out)?);
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir)?;
    builder.into_inner()?.sync_all()
}

fn rootfs_found(tar: &Path) -> Found {
    Found {
        config: Vec::new(),
        manifest_digest: None,
        layers: vec![FoundLayer {
            path: tar.to_string_lossy().into_owned(),
            digest: None,
        }],
    }
}

/// The config of a plain root filesystem import. It has no `created` time, so the same
/// tree with the same options always gets the same id.
fn rootfs_config(diff_ids: &[String], options: &ImportOptions) -> Vec<u8> {
    let mut config = json!({
        "architecture": oci::host_arch(),
        "os": "linux",
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": [{ "created_by": "rekon image import" }],
    });
    apply_options(&mut config, options);
    serde_json::to_vec(&config).expect("a JSON value serialises")
}

/// Applies `options` to an OCI image config document (see [`ImportOptions`]).
fn apply_options(doc: &mut Value, options: &ImportOptions) {
    if !doc["config"].is_object() {
        doc["config"] = json!({});
    }
    let c = &mut doc["config"];
    if let Some(entrypoint) = &options.entrypoint {
        c["Entrypoint"] = json!(entrypoint);
        if options.cmd.is_none() {
            c["Cmd"] = Value::Null;
        }
    }
    if let Some(cmd) = &options.cmd {
        c["Cmd"] = json!(cmd);
    }
    if !options.env.is_empty() {
        let mut env: Vec<String> = strings(&c["Env"]).unwrap_or_default();
        for kv in &options.env {
            let key = kv.split('=').next().unwrap_or_default();
            match env.iter_mut().find(|e| e.split('=').next() == Some(key)) {
                Some(e) => e.clone_from(kv),
                None => env.push(kv.clone()),
            }
        }
        c["Env"] = json!(env);
    }
    if let Some(w) = &options.workdir {
        c["WorkingDir"] = json!(w);
    }
    if let Some(u) = &options.user {
        c["User"] = json!(u);
    }
    if let Some(s) = &options.stop_signal {
        c["StopSignal"] = json!(s);
    }
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
}

/// The runtime-relevant part of an OCI image config document.
fn config_of(doc: &Value) -> ImageConfig {
    let c = &doc["config"];
    let text = |k: &str| c[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    ImageConfig {
        entrypoint: strings(&c["Entrypoint"]),
        cmd: strings(&c["Cmd"]),
        env: strings(&c["Env"]).unwrap_or_default(),
        working_dir: text("WorkingDir"),
        user: text("User"),
        stop_signal: text("StopSignal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::image::archive::sha256;
    use crate::runtime::image::busybox_rootfs;
    use crate::runtime::image::fixtures::{E, docker_archive, gzip, oci_layout, tar_of, tar_tree};
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    fn opts(entrypoint: &[&str], cmd: &[&str]) -> ImportOptions {
        let v = |s: &[&str]| Some(s.iter().map(|x| x.to_string()).collect());
        ImportOptions {
            entrypoint: v(entrypoint),
            cmd: v(cmd),
            env: vec!["PATH=/bin".into()],
            workdir: Some("/root".into()),
            user: None,
            stop_signal: Some("SIGQUIT".into()),
        }
    }

    fn count(dir: &Path) -> usize {
        fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn imports_a_busybox_rootfs_from_dir_tar_and_gzip_sharing_one_layer() {
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        busybox_rootfs(&rootfs).unwrap();
        let store = ImageStore::open(tmp.path().join("images")).unwrap();
        let o = opts(&["/bin/sh"], &["-c", "echo hello"]);
        let image = store.import("busybox", &rootfs, &o).unwrap();
        assert_eq!(image.names, ["docker.io/library/busybox:latest"]);
        assert_eq!(
            image.config,
            ImageConfig {
                entrypoint: Some(vec!["/bin/sh".into()]),
                cmd: Some(vec!["-c".into(), "echo hello".into()]),
                env: vec!["PATH=/bin".into()],
                working_dir: Some("/root".into()),
                user: None,
                stop_signal: Some("SIGQUIT".into()),
            }
        );
        let dirs = store.lowerdirs(&image);
        assert_eq!(dirs, [store.layer_dir(&image.layers[0])]);
        let layer = &dirs[0];
        assert_eq!(fs::read_link(layer.join("bin/sh")).unwrap(), Path::new("busybox"));
        assert_eq!(
            fs::metadata(layer.join("bin/busybox")).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(
            fs::metadata(layer.join("tmp")).unwrap().permissions().mode() & 0o7777,
            0o1777
        );
        let out = std::process::Command::new("chroot")
            .arg(layer)
            .args([
                "/bin/sh",
                "-c",
                "echo hello from $(cat /etc/hostname 2>/dev/null || echo busybox)",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from busybox\n");

        // The same tree as a tar, with the same options: same config, so the same image.
        let tar = tmp.path().join("rootfs.tar");
        tar_tree(&rootfs, &tar);
        let again = store.import("busybox:tar", &tar, &o).unwrap();
        assert_eq!(again.id, image.id);
        assert_eq!(
            again.names,
            ["docker.io/library/busybox:latest", "docker.io/library/busybox:tar"]
        );
        // Gzipped, with another command: a new image on the same layer.
        let gz = tmp.path().join("rootfs.tar.gz");
        fs::write(&gz, gzip(&fs::read(&tar).unwrap())).unwrap();
        let other = store.import("busybox:gz", &gz, &opts(&["/bin/echo"], &[])).unwrap();
        assert_ne!(other.id, image.id);
        assert_eq!(other.layers, image.layers);
        assert_eq!(count(&store.root().join("layers")), 1, "one layer stored once");
        assert_eq!(other.config.cmd, Some(vec![]));
        assert_eq!(store.list().unwrap().len(), 2);
        assert_eq!(
            count(store.root()),
            4,
            "no temporaries left: {:?}",
            fs::read_dir(store.root()).unwrap().collect::<Vec<_>>()
        );
    }

    /// Two layers; the second (gzip) whites out `etc/a` and makes `d` opaque.
    fn two_layers() -> (Vec<u8>, Vec<u8>) {
        let l1 = tar_of(&[
            E::Dir("etc/"),
            E::File("etc/a", b"1"),
            E::File("etc/b", b"2"),
            E::Dir("d/"),
            E::File("d/x", b"x"),
        ]);
        let l2 = tar_of(&[
            E::File("etc/.wh.a", b""),
            E::File("d/.wh..wh..opq", b""),
            E::File("d/y", b"y"),
        ]);
        (l1, l2)
    }

    #[test]
    fn imports_oci_layouts_as_dir_and_tar() {
        let tmp = tempfile::tempdir().unwrap();
        let (l1, l2) = two_layers();
        let layout = tmp.path().join("layout");
        let manifest = oci_layout(&layout, &[(l1.clone(), false), (l2.clone(), true)], "v1");
        let store = ImageStore::open(tmp.path().join("images")).unwrap();
        let image = store
            .import("example.com/app:v1", &layout, &ImportOptions::default())
            .unwrap();
        assert_eq!(image.layers, [sha256(&l1), sha256(&l2)]);
        assert_eq!(image.digests, std::slice::from_ref(&manifest));
        assert_eq!(image.created.as_deref(), Some("2024-01-02T03:04:05Z"));
        assert_eq!(image.config.entrypoint, Some(vec!["/bin/sh".to_string()]));
        assert_eq!(image.config.env, ["PATH=/bin", "A=1"]);
        assert_eq!(image.config.working_dir.as_deref(), Some("/srv"));
        let dirs = store.lowerdirs(&image);
        assert_eq!(dirs, [store.layer_dir(&sha256(&l2)), store.layer_dir(&sha256(&l1))]);
        assert!(
            fs::symlink_metadata(dirs[0].join("etc/a"))
                .unwrap()
                .file_type()
                .is_char_device()
        );
        assert_eq!(fs::read(dirs[1].join("etc/a")).unwrap(), b"1");

        let by_digest = format!("example.com/app@{manifest}");
        assert_eq!(store.get(&by_digest).unwrap().map(|i| i.id), Some(image.id.clone()));
        assert_eq!(store.get(&format!("example.com/other@{manifest}")).unwrap(), None);

        let tar = tmp.path().join("layout.tar");
        tar_tree(&layout, &tar);
        let again = store
            .import("example.com/app:tarred", &tar, &ImportOptions::default())
            .unwrap();
        assert_eq!(again.id, image.id);
        assert_eq!(count(&store.root().join("layers")), 2);
        assert_overlay_view(&dirs, tmp.path());
    }

    /// Mounts the layers read-only with overlayfs and checks what a container would see.
    fn assert_overlay_view(lowerdirs: &[PathBuf], tmp: &Path) {
        use nix::mount::{MntFlags, MsFlags, mount, umount2};
        let target = tmp.join("merged");
        fs::create_dir(&target).unwrap();
        let lower: Vec<String> = lowerdirs.iter().map(|d| d.display().to_string()).collect();
        let data = format!("lowerdir={}", lower.join(":"));
        mount(
            Some("overlay"),
            &target,
            Some("overlay"),
            MsFlags::MS_RDONLY,
            Some(data.as_str()),
        )
        .unwrap();
        // Nothing may panic while mounted: collect first, unmount, then assert.
        let mut seen = Vec::new();
        for d in ["etc", "d"] {
            for e in fs::read_dir(target.join(d)).into_iter().flatten().flatten() {
                seen.push(format!("{d}/{}", e.file_name().to_string_lossy()));
            }
        }
        seen.sort();
        umount2(&target, MntFlags::MNT_DETACH).unwrap();
        assert_eq!(seen, ["d/y", "etc/b"]);
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains(&target.display().to_string()), "unmounted");
    }

    #[test]
    fn imports_a_docker_save_archive_with_repeated_layers() {
        let tmp = tempfile::tempdir().unwrap();
        let (l1, _) = two_layers();
        let empty = tar_of(&[]);
        let l3 = tar_of(&[E::File("app", b"#!/bin/sh\n")]);
        let archive = tmp.path().join("save.tar");
        docker_archive(
            &archive,
            &[l1.clone(), empty.clone(), l3.clone(), empty.clone()],
            "app:2",
        );
        let store = ImageStore::open(tmp.path().join("images")).unwrap();
        let image = store.import("app:2", &archive, &ImportOptions::default()).unwrap();
        assert_eq!(image.names, ["docker.io/library/app:2"]);
        assert_eq!(image.layers, [sha256(&l1), sha256(&empty), sha256(&l3), sha256(&empty)]);
        assert_eq!(
            image.config.entrypoint,
            Some(vec!["/bin/echo".to_string(), "docker".to_string()])
        );
        let dirs = store.lowerdirs(&image);
        assert_eq!(
            dirs,
            [
                store.layer_dir(&sha256(&empty)),
                store.layer_dir(&sha256(&l3)),
                store.layer_dir(&sha256(&l1))
            ]
        );

        // Importing under a name the archive does not hold is fine with one image inside;
        // options override the config and give a new id.
        let o = ImportOptions {
            cmd: Some(vec!["x".into()]),
            ..ImportOptions::default()
        };
        let changed = store.import("other:1", &archive, &o).unwrap();
        assert_ne!(changed.id, image.id);
        assert_eq!(changed.config.entrypoint, image.config.entrypoint);
        assert_eq!(changed.config.cmd, Some(vec!["x".to_string()]));
    }

    #[test]
    fn refuses_tampered_blobs_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let (l1, l2) = two_layers();
        let layout = tmp.path().join("layout");
        oci_layout(&layout, &[(l1.clone(), false), (l2, false)], "v1");
        let blob = layout
            .join("blobs/sha256")
            .join(sha256(&l1).trim_start_matches("sha256:"));
        fs::write(&blob, tar_of(&[E::File("evil", b"x")])).unwrap();
        let store = ImageStore::open(tmp.path().join("images")).unwrap();
        let err = store.import("app", &layout, &ImportOptions::default()).unwrap_err();
        let ImageError::DigestMismatch { what, expected, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(
            what,
            &format!("layer 1 (blobs/sha256/{})", expected.trim_start_matches("sha256:"))
        );
        assert_eq!(count(&store.root().join("layers")), 0);
        assert_eq!(count(&store.root().join("blobs/sha256")), 0);
        assert_eq!(store.list().unwrap(), []);

        let err = store
            .import(
                "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                &layout,
                &ImportOptions::default(),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot import under the digest reference app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef; give a name with a tag"
        );
    }
}
