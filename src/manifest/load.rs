//! From source files to validated, defaulted objects (INTERFACE STUB: to be implemented).

use super::{ManifestErrors, Resource, SourceFile};

/// One object with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub resource: Resource,
    /// `file:line` of the document.
    pub origin: String,
}

/// The desired objects of one source, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Manifests {
    pub objects: Vec<Loaded>,
    /// Namespaces used by objects but not defined by a Namespace object.
    pub implicit_namespaces: Vec<String>,
}

/// Parses, defaults and validates every file; returns all errors of all files together.
pub fn load(_files: &[SourceFile]) -> Result<Manifests, ManifestErrors> {
    todo!()
}
