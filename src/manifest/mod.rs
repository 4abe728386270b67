//! Typed Kubernetes objects: strict positioned parsing, defaulting and validation.
//!
//! Nothing here does IO: callers hand in [`SourceFile`]s (path + text) and get back
//! [`Manifests`] or every [`ManifestError`] of the run at once.

pub mod capabilities;
pub mod de;
pub mod defaults;
pub mod error;
pub mod intorstr;
pub mod load;
pub mod names;
pub mod quantity;
pub mod status;
pub mod types;
pub mod validate;
pub mod yaml;

pub use error::{ManifestError, ManifestErrors};
pub use intorstr::IntOrString;
pub use load::{Loaded, Manifests, load};
pub use quantity::Quantity;
pub use types::{ObjectId, Resource};

/// One manifest file as read from git or disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path shown in errors, relative to the source root (`deploy/web.yaml`).
    pub path: String,
    /// The file's full text.
    pub text: String,
}
