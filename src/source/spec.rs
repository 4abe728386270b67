//! [`SourceSpec`]: where the desired state comes from.

use serde::{Deserialize, Serialize};

/// Where desired state comes from, remembered so a bare `rekon apply` reuses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SourceSpec {
    /// Git URL or local path of the repository; None for `-f` files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Branch, tag or commit as the user gave it; None means the remote's HEAD branch.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Subdirectory of the repository holding the manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Plain files or directories given with `-f` (absolute paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}
