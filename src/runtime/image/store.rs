//! [`ImageStore`]: the content-addressed image store under `<state>/images` — names, image
//! records, blobs and unpacked layers, with locking and garbage collection.

use super::archive::{DigestReader, MAX_LAYER_BYTES, atomic_write, digest_hex, unique};
use super::reference::{Reference, is_hex64};
use super::unpack::unpack_layer;
use super::{Image, ImageError, ImageId, Removed};
use nix::fcntl::{Flock, FlockArg};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

const FORMAT_VERSION: u32 = 1;
const INDEX_FILE: &str = "images.json";
const LOCK_FILE: &str = "images.lock";
const TMP_PREFIX: &str = ".tmp-";
const TRASH_PREFIX: &str = ".trash-";

/// The local image store. Cheap to construct; every call reads `images.json` afresh, and
/// every change holds `images.lock`, so several rekon processes can share one store.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
}

/// The contents of `images.json`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Index {
    version: u32,
    /// Normalised reference → image id.
    #[serde(default)]
    pub(super) names: BTreeMap<String, ImageId>,
    #[serde(default)]
    pub(super) images: BTreeMap<ImageId, Image>,
}

impl Index {
    fn named(&self, id: &ImageId) -> Option<Image> {
        let mut image = self.images.get(id)?.clone();
        image.names = self
            .names
            .iter()
            .filter(|(_, i)| *i == id)
            .map(|(n, _)| n.clone())
            .collect();
        Some(image)
    }

    /// The id a reference names: a tag reference by name, `repo@digest` by id or manifest
    /// digest within that repository, and a bare id (`sha256:<hex>` or 64 hex) directly.
    fn resolve(&self, reference: &str) -> Result<Option<ImageId>, ImageError> {
        let as_id = reference.strip_prefix("sha256:").unwrap_or(reference);
        if is_hex64(as_id) {
            let id = ImageId(format!("sha256:{as_id}"));
            return Ok(self.images.contains_key(&id).then_some(id));
        }
        let r = Reference::parse(reference)?;
        let Some(digest) = &r.digest else {
            return Ok(self.names.get(&r.to_string()).cloned());
        };
        let repo = r.repository();
        Ok(self
            .images
            .values()
            .filter(|i| &i.id.0 == digest || i.digests.contains(digest))
            .find(|i| {
                self.names
                    .iter()
                    .any(|(n, id)| *id == i.id && Reference::parse(n).is_ok_and(|n| n.repository() == repo))
            })
            .map(|i| i.id.clone()))
    }
}

impl ImageStore {
    /// Opens (creating when missing, mode 0700) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<ImageStore, ImageError> {
        let store = ImageStore { root: root.into() };
        for dir in [
            store.root.clone(),
            store.root.join("blobs/sha256"),
            store.root.join("layers"),
        ] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(ImageError::io("create", &dir))?;
        }
        store.load()?;
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every image, named ones sorted by their first name, then dangling ones by id.
    pub fn list(&self) -> Result<Vec<Image>, ImageError> {
        let index = self.load()?;
        let mut images: Vec<Image> = index.images.keys().filter_map(|id| index.named(id)).collect();
        images.sort_by(|a, b| (a.names.is_empty(), &a.names, &a.id).cmp(&(b.names.is_empty(), &b.names, &b.id)));
        Ok(images)
    }

    /// The image a reference names (see [`Reference`] for normalisation: `nginx` finds
    /// `docker.io/library/nginx:latest`), or None.
    pub fn get(&self, reference: &str) -> Result<Option<Image>, ImageError> {
        let index = self.load()?;
        Ok(index.resolve(reference)?.and_then(|id| index.named(&id)))
    }

    /// The layer directories of `image` in overlayfs `lowerdir=` order, topmost first.
    /// A layer repeated in the stack (Docker's empty layers) is listed once, at its
    /// topmost place: overlayfs refuses a directory twice, and the lower copy could only
    /// repeat what the upper one already decides.
    pub fn lowerdirs(&self, image: &Image) -> Vec<PathBuf> {
        let mut seen = BTreeSet::new();
        image
            .layers
            .iter()
            .rev()
            .filter(|l| seen.insert(l.as_str()))
            .map(|l| self.layer_dir(l))
            .collect()
    }

    /// Where the layer with this diff id is unpacked.
    pub fn layer_dir(&self, diff_id: &str) -> PathBuf {
        self.root
            .join("layers")
            .join(diff_id.strip_prefix("sha256:").unwrap_or(diff_id))
    }

    /// Removes a name, or by id or digest every name of an image. When no name is left the
    /// image is deleted with its blobs and every layer no other image uses — unless
    /// `in_use(id)` says a pod uses it, which is an error and changes nothing.
    pub fn remove(&self, reference: &str, in_use: &dyn Fn(&ImageId) -> bool) -> Result<Removed, ImageError> {
        let _lock = self.lock()?;
        let mut index = self.load()?;
        let not_found = || ImageError::NotFound {
            reference: reference.to_string(),
        };
        let id = index.resolve(reference)?.ok_or_else(not_found)?;
        let by_name = Reference::parse(reference)
            .ok()
            .filter(|r| r.digest.is_none() && index.names.contains_key(&r.to_string()));
        let untagged: Vec<String> = match &by_name {
            Some(r) => vec![r.to_string()],
            None => index.named(&id).map(|i| i.names).unwrap_or_default(),
        };
        let left = index.names.values().filter(|i| **i == id).count() - untagged.len();
        if left == 0 && in_use(&id) {
            return Err(ImageError::InUse {
                reference: reference.to_string(),
                id,
            });
        }
        for n in &untagged {
            index.names.remove(n);
        }
        let removed = if left == 0 { index.images.remove(&id) } else { None };
        self.save(&index)?;
        let layers_deleted = self.collect_garbage(&index, removed.as_slice())?;
        Ok(Removed {
            untagged,
            deleted: removed.map(|i| i.id),
            layers_deleted,
        })
    }

    /// Deletes dangling images (left without a name by a later import under the same
    /// name) that no pod uses; returns their ids.
    pub fn prune(&self, in_use: &dyn Fn(&ImageId) -> bool) -> Result<Vec<ImageId>, ImageError> {
        let _lock = self.lock()?;
        let mut index = self.load()?;
        let named: BTreeSet<&ImageId> = index.names.values().collect();
        let dangling: Vec<ImageId> = index
            .images
            .keys()
            .filter(|id| !named.contains(id) && !in_use(id))
            .cloned()
            .collect();
        let removed: Vec<Image> = dangling.iter().filter_map(|id| index.images.remove(id)).collect();
        self.save(&index)?;
        self.collect_garbage(&index, &removed)?;
        Ok(dangling)
    }

    pub(super) fn load(&self) -> Result<Index, ImageError> {
        let path = self.root.join(INDEX_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Index {
                    version: FORMAT_VERSION,
                    ..Index::default()
                });
            }
            Err(e) => return Err(ImageError::io("read", &path)(e)),
        };
        let index: Index = serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
            path: path.clone(),
            what: "the image index".into(),
            source,
        })?;
        if index.version != FORMAT_VERSION {
            return Err(ImageError::StoreVersion {
                path,
                found: index.version,
                supported: FORMAT_VERSION,
            });
        }
        Ok(index)
    }

    pub(super) fn save(&self, index: &Index) -> Result<(), ImageError> {
        let bytes = serde_json::to_vec_pretty(index).expect("the image index serialises");
        atomic_write(&self.root.join(INDEX_FILE), &bytes)
    }

    /// Takes the store's exclusive lock, then removes temporaries a crashed run left.
    pub(super) fn lock(&self) -> Result<Flock<File>, ImageError> {
        let path = self.root.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(ImageError::io("open", &path))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| ImageError::io("lock", &path)(errno.into()))?;
        for dir in [
            self.root.clone(),
            self.root.join("layers"),
            self.root.join("blobs/sha256"),
        ] {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(TMP_PREFIX) || name.starts_with(TRASH_PREFIX) {
                    let _ = remove_any(&entry.path());
                }
            }
        }
        Ok(lock)
    }

    pub(super) fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        digest_hex(digest).map(|hex| self.root.join("blobs/sha256").join(hex))
    }

    /// Copies a blob into the store, checking its digest when one is expected; returns
    /// its digest and size. A blob already stored under the expected digest is not copied.
    pub(super) fn put_blob(
        &self,
        mut from: impl Read,
        expected: Option<&str>,
        what: &str,
    ) -> Result<(String, u64), ImageError> {
        if let Some((digest, path)) = expected.and_then(|d| Some((d, self.blob_path(d)?)))
            && let Ok(m) = fs::metadata(&path)
        {
            return Ok((digest.to_string(), m.len()));
        }
        let tmp = self.root.join("blobs/sha256").join(format!("{TMP_PREFIX}{}", unique()));
        let result = (|| {
            let mut file = File::create(&tmp).map_err(ImageError::io("create", &tmp))?;
            let mut reader = DigestReader::new(&mut from, MAX_LAYER_BYTES);
            io::copy(&mut reader, &mut file).map_err(|e| ImageError::bad(&tmp, format!("cannot store {what}: {e}")))?;
            file.sync_all().map_err(ImageError::io("write", &tmp))?;
            let (digest, size) = reader.finish();
            if let Some(expected) = expected.filter(|e| *e != digest) {
                return Err(ImageError::DigestMismatch {
                    what: what.to_string(),
                    expected: expected.to_string(),
                    actual: digest,
                });
            }
            let path = self.blob_path(&digest).expect("a sha256 digest");
            fs::rename(&tmp, &path).map_err(ImageError::io("rename", &tmp))?;
            Ok((digest, size))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Unpacks the layer blob `blob` unless the layer is already there; returns its diff
    /// id, checked against `expected` when given.
    pub(super) fn ensure_layer(&self, blob: &str, expected: Option<&str>, what: &str) -> Result<String, ImageError> {
        if let Some(diff) = expected {
            if digest_hex(diff).is_none() {
                return Err(ImageError::bad(
                    &self.root,
                    format!("{what} has an invalid diff id {diff:?}"),
                ));
            }
            if self.layer_dir(diff).is_dir() {
                return Ok(diff.to_string());
            }
        }
        let blob_path = self.blob_path(blob).expect("a stored blob digest");
        let tmp = self.root.join("layers").join(format!("{TMP_PREFIX}{}", unique()));
        let result = (|| {
            let unpacked = unpack_layer(&blob_path, &tmp, what)?;
            if let Some(expected) = expected.filter(|e| *e != unpacked.diff_id) {
                return Err(ImageError::DigestMismatch {
                    what: format!("{what} (uncompressed)"),
                    expected: expected.to_string(),
                    actual: unpacked.diff_id,
                });
            }
            // The layer must be on disk before its name says it is complete.
            let dir = File::open(&tmp).map_err(ImageError::io("open", &tmp))?;
            nix::unistd::syncfs(&dir).map_err(|e| ImageError::io("sync", &tmp)(e.into()))?;
            let dest = self.layer_dir(&unpacked.diff_id);
            if dest.is_dir() {
                remove_any(&tmp).map_err(ImageError::io("remove", &tmp))?;
            } else {
                fs::rename(&tmp, &dest).map_err(ImageError::io("rename", &tmp))?;
            }
            Ok(unpacked.diff_id)
        })();
        if result.is_err() {
            let _ = remove_any(&tmp);
        }
        result
    }

    /// Deletes the blobs and layers of `removed` images that no image in `index` uses;
    /// returns how many layers went.
    fn collect_garbage(&self, index: &Index, removed: &[Image]) -> Result<usize, ImageError> {
        let layers: BTreeSet<&String> = index.images.values().flat_map(|i| &i.layers).collect();
        let blobs: BTreeSet<&String> = index.images.values().flat_map(|i| &i.blobs).collect();
        let mut deleted = 0;
        for image in removed {
            for layer in image.layers.iter().filter(|l| !layers.contains(l)) {
                let dir = self.layer_dir(layer);
                if !dir.is_dir() {
                    continue;
                }
                // Renamed first so that a crash mid-delete never leaves half a layer under
                // its real name.
                let trash = self.root.join("layers").join(format!("{TRASH_PREFIX}{}", unique()));
                fs::rename(&dir, &trash).map_err(ImageError::io("rename", &dir))?;
                remove_any(&trash).map_err(ImageError::io("remove", &trash))?;
                deleted += 1;
            }
            for blob in image.blobs.iter().filter(|b| !blobs.contains(b)) {
                if let Some(path) = self.blob_path(blob) {
                    match fs::remove_file(&path) {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => {
                            return Err(ImageError::io("remove", &path)(e));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(deleted)
    }
}

fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::image::ImportOptions;
    use crate::runtime::image::fixtures::{E, docker_archive, oci_layout, tar_of};

    fn count(dir: &Path) -> usize {
        fs::read_dir(dir).unwrap().count()
    }

    fn never(_: &ImageId) -> bool {
        false
    }

    /// A store holding an OCI image `example.com/app:v1` (layers shared, own) and a docker
    /// image `web:1` (layers shared, other).
    fn two_images(tmp: &Path) -> (ImageStore, Image, Image) {
        let shared = tar_of(&[E::File("shared", b"s")]);
        let own = tar_of(&[E::File("own", b"o")]);
        let other = tar_of(&[E::File("other", b"x")]);
        oci_layout(&tmp.join("layout"), &[(shared.clone(), true), (own, false)], "v1");
        docker_archive(&tmp.join("save.tar"), &[shared, other], "web:1");
        let store = ImageStore::open(tmp.join("images")).unwrap();
        let a = store
            .import("example.com/app:v1", &tmp.join("layout"), &ImportOptions::default())
            .unwrap();
        let b = store
            .import("web:1", &tmp.join("save.tar"), &ImportOptions::default())
            .unwrap();
        (store, a, b)
    }

    #[test]
    fn finds_images_by_any_spelling_of_their_name() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _, web) = two_images(tmp.path());
        for name in [
            "web:1",
            "docker.io/library/web:1",
            "index.docker.io/library/web:1",
            "library/web:1",
            web.id.hex(),
            &web.id.0,
        ] {
            assert_eq!(store.get(name).unwrap().map(|i| i.id), Some(web.id.clone()), "{name}");
        }
        for name in ["web", "web:2", "example.com/web:1"] {
            assert_eq!(store.get(name).unwrap(), None, "{name}");
        }
        let latest = store
            .import("nginx:latest", &tmp.path().join("save.tar"), &ImportOptions::default())
            .unwrap();
        assert_eq!(store.get("nginx").unwrap().map(|i| i.id), Some(latest.id));
        assert!(matches!(store.get("Nginx"), Err(ImageError::Reference(_))));
    }

    #[test]
    fn remove_refuses_images_in_use_and_keeps_shared_layers() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, app, web) = two_images(tmp.path());
        let layers = store.root().join("layers");
        let blobs = store.root().join("blobs/sha256");
        assert_eq!(count(&layers), 3, "the shared layer is stored once");
        let blobs_before = count(&blobs);

        let used = web.id.clone();
        let err = store.remove("web:1", &|id| *id == used).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "image web:1 ({}) is used by a pod; delete the pod first, then remove the image",
                web.id
            )
        );
        assert!(store.get("web:1").unwrap().is_some(), "nothing changed");
        let err = store.remove("nope", &never).unwrap_err();
        assert_eq!(err.to_string(), "no such image: nope");

        let removed = store.remove("web:1", &never).unwrap();
        assert_eq!(
            removed,
            Removed {
                untagged: vec!["docker.io/library/web:1".into()],
                deleted: Some(web.id.clone()),
                layers_deleted: 1,
            }
        );
        assert_eq!(count(&layers), 2);
        // Its config and both layer tarballs: the shared layer came gzipped in the OCI
        // layout, so its tarball is another blob even though the unpacked layer is shared.
        assert_eq!(count(&blobs), blobs_before - 3);
        for dir in store.lowerdirs(&app) {
            assert!(dir.is_dir(), "{} still there", dir.display());
        }

        // An image with two names: removing one name only untags, even while in use.
        store
            .import(
                "example.com/app:also",
                &tmp.path().join("layout"),
                &ImportOptions::default(),
            )
            .unwrap();
        let removed = store.remove("example.com/app:v1", &|_| true).unwrap();
        assert_eq!((removed.deleted, removed.layers_deleted), (None, 0));
        let removed = store.remove(&app.id.0, &never).unwrap();
        assert_eq!(removed.untagged, ["example.com/app:also"]);
        assert_eq!((count(&layers), count(&blobs)), (0, 0));
        assert_eq!(store.list().unwrap(), []);
    }

    #[test]
    fn reimport_leaves_a_dangling_image_that_prune_removes() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, app, _) = two_images(tmp.path());
        let o = ImportOptions {
            cmd: Some(vec!["new".into()]),
            ..ImportOptions::default()
        };
        let new = store
            .import("example.com/app:v1", &tmp.path().join("layout"), &o)
            .unwrap();
        let list = store.list().unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list.last().map(|i| (&i.id, i.names.is_empty())), Some((&app.id, true)));
        let old = app.id.clone();
        assert_eq!(store.prune(&|id| *id == old).unwrap(), [], "in use: kept");
        assert_eq!(store.prune(&never).unwrap(), std::slice::from_ref(&app.id));
        assert_eq!(store.list().unwrap().len(), 2);
        for dir in store.lowerdirs(&new) {
            assert!(dir.is_dir(), "layers shared with the new image stay");
        }
    }

    #[test]
    fn refuses_a_newer_store_format() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("images.json"), r#"{"version":9}"#).unwrap();
        let err = ImageStore::open(tmp.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} is an image store of format version 9; this rekon reads version 1",
                tmp.path().join("images.json").display()
            )
        );
    }
}
