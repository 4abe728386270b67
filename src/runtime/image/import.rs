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
        if let Some(expected) = &expected {
            if expected.len() != found.layers.len() {
                return Err(ImageError::bad(
                    path,
                    format!(
                        "the manifest lists {} layers but the config has {} diff ids",
                        found.layers.len(),
                        expected.len()
                    ),
                ));
            }
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
            imported: chrono::Utc::now(),
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
            index.images.insert(image.id.clone(), image.clone());
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
        Compression::Zstd => return Err(ImageError::bad(path, "zstd-compressed archives are not supported")),
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
    }
}
