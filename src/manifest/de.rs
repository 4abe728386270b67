//! serde deserialization from positioned YAML nodes, collecting every problem with its path
//! (INTERFACE STUB: to be implemented).

use super::yaml::{Mark, Node};
use serde::de::DeserializeOwned;

/// A problem found while deserializing one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    /// Field path (`spec.containers[0].image`), as used in [`super::ManifestError`].
    pub path: String,
    pub mark: Mark,
    pub message: String,
}

/// Deserializes `T` from `node`. Every unknown field is reported (not only the first) and
/// type errors carry the path and position of the offending node. Returns `None` when a hard
/// error prevented building `T`.
pub fn from_node<T: DeserializeOwned>(_node: &Node) -> (Option<T>, Vec<FieldIssue>) {
    todo!()
}
