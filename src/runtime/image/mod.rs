//! The local image store (`DESIGN.md` §4 "Images"): references, import of OCI layouts,
//! `docker save` archives and plain root filesystems, and content-addressed layers that
//! pods mount with overlayfs.
//!
//! On disk, under the store root (`<state>/images`):
//! ```text
//! blobs/sha256/<hex>    layer tarballs and image configs, byte for byte as imported
//! layers/<diffid hex>/  each layer unpacked once (whiteouts in overlayfs form), shared
//! images.json           {"version":1,"names":{ref: id},"images":{id: Image}}
//! images.lock           flock held while the store is changed
//! ```
//! A layer is unpacked into `layers/.tmp-*` and renamed into place, so a crash never leaves
//! half a layer under its real name; leftovers are removed the next time the store is
//! changed.

mod archive;
mod docker;
#[cfg(test)]
mod fixtures;
mod import;
mod oci;
pub mod reference;
mod store;
mod testutil;
mod unpack;

pub use reference::{Reference, ReferenceError};
pub use store::ImageStore;
pub use testutil::busybox_rootfs;

use std::path::PathBuf;

/// An image id: the digest of its config blob, `sha256:<64 hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ImageId(pub String);

impl ImageId {
    /// The hex part without the `sha256:` prefix.
    pub fn hex(&self) -> &str {
        self.0.strip_prefix("sha256:").unwrap_or(&self.0)
    }

    /// The first 12 hex digits, as `docker images` shows ids.
    pub fn short(&self) -> &str {
        let hex = self.hex();
        &hex[..hex.len().min(12)]
    }
}

impl std::fmt::Display for ImageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The parts of an image config that start a container (OCI image-spec `config.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageConfig {
    /// `Entrypoint`: the executable and its first arguments; None when the image sets none.
    pub entrypoint: Option<Vec<String>>,
    /// `Cmd`: the default arguments (or command, without an entrypoint); None when unset.
    pub cmd: Option<Vec<String>>,
    /// `KEY=value` entries in order.
    #[serde(default)]
    pub env: Vec<String>,
    /// `WorkingDir`: the process's working directory; None when unset (`/`).
    pub working_dir: Option<String>,
    /// `User`: a user name or uid, optionally with `:gid`; None when unset (root).
    pub user: Option<String>,
    /// `StopSignal` (`SIGQUIT`, `QUIT` or a number): what stops the container instead of
    /// SIGTERM (see [`crate::runtime::podspec::stop_signal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

/// One image in the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Image {
    /// Digest of the (effective) config blob.
    pub id: ImageId,
    /// Normalised references naming this image, sorted; empty for a dangling image (its
    /// names were taken by a later import). Not stored in the record: `images.json` keeps
    /// names in its `names` map.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Manifest digests this image was imported with (for `name@sha256:…` references).
    #[serde(default)]
    pub digests: Vec<String>,
    /// Layer diff ids (`sha256:…` of the uncompressed tar), bottom layer first.
    pub layers: Vec<String>,
    /// How to start a container of the image, after the import's changes.
    pub config: ImageConfig,
    /// `created` from the image config, as written there.
    pub created: Option<String>,
    /// When this image was imported into the store.
    pub imported: crate::time::Time,
    /// Total size of the uncompressed layers in bytes.
    pub size: u64,
    /// Digests of every blob kept for this image (config and layer tarballs).
    #[serde(default)]
    pub blobs: Vec<String>,
}

/// Settings applied on top of an imported image's config, like `podman import --change`.
///
/// A field that is `None` (or an empty `env`) keeps the image's value. As in a Dockerfile,
/// setting `entrypoint` without `cmd` clears the image's `cmd`. `env` entries replace
/// entries with the same key and append new ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// The entrypoint to set.
    pub entrypoint: Option<Vec<String>>,
    /// The command (default arguments) to set.
    pub cmd: Option<Vec<String>>,
    /// `KEY=value` entries to set or add.
    pub env: Vec<String>,
    /// The working directory to set.
    pub workdir: Option<String>,
    /// The user (name or uid, optionally with `:gid`) to set.
    pub user: Option<String>,
    /// The stop signal to set (`SIGQUIT`, `QUIT` or a number).
    pub stop_signal: Option<String>,
}

/// What [`ImageStore::remove`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Names that no longer point at the image.
    pub untagged: Vec<String>,
    /// The image whose content was deleted, when no name refers to it any more.
    pub deleted: Option<ImageId>,
    /// How many unpacked layers were deleted (the rest are shared with other images).
    pub layers_deleted: usize,
}

/// Errors of the image store.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An image reference does not parse.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// A file of the store or of the imported image could not be read or written.
    #[error("cannot {action} {path}")]
    Io {
        /// What was attempted (`open`, `read`, `write`, `rename`, `create`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No image in the store has this name, id or digest.
    #[error("no such image: {reference}")]
    NotFound {
        /// The reference as given.
        reference: String,
    },
    /// The image to remove is used by a pod.
    #[error("image {reference} ({id}) is used by a pod; delete the pod first, then remove the image")]
    InUse {
        /// The reference as given.
        reference: String,
        /// The image it names.
        id: ImageId,
    },
    /// An import was asked to name the image by digest (`name@sha256:…`) rather than by tag.
    #[error("cannot import under the digest reference {reference}; give a name with a tag")]
    DigestName {
        /// The reference as given.
        reference: String,
    },
    /// The imported archive or directory is not a usable image (a file missing or unreadable,
    /// another OS, an unsupported compression).
    #[error("{path}: {reason}")]
    BadArchive {
        /// The archive, directory or file inside it.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON file of the image or of the store does not parse.
    #[error("{path}: cannot parse {what}")]
    Json {
        /// The file, or the archive holding it.
        path: PathBuf,
        /// Which document it is (`the image manifest`, `the image index`, a file name).
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A blob or unpacked layer does not have the digest that names it.
    #[error("{what} has digest {actual}, expected {expected}")]
    DigestMismatch {
        /// Which blob or layer.
        what: String,
        /// The digest it was named by (`sha256:…`).
        expected: String,
        /// The digest of its content.
        actual: String,
    },
    /// A layer tarball holds an entry that unpacking refuses (one that escapes the layer, say).
    #[error("layer {layer}: refusing entry {entry:?}: {reason}")]
    UnsafeEntry {
        /// The layer being unpacked.
        layer: String,
        /// The entry's path in the tarball.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// `images.json` was written by a rekon with another store format.
    #[error("{path} is an image store of format version {found}; this rekon reads version {supported}")]
    StoreVersion {
        /// The index file.
        path: PathBuf,
        /// The format version it holds.
        found: u32,
        /// The version this rekon reads.
        supported: u32,
    },
}

impl ImageError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = path.into();
        move |source| ImageError::Io { action, path, source }
    }

    pub(crate) fn bad(path: impl Into<PathBuf>, reason: impl Into<String>) -> ImageError {
        ImageError::BadArchive {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
