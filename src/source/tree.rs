//! Reads the manifest files of one commit straight from its git tree (never a work tree).

use super::{SourceError, decode, is_manifest_name};
use crate::manifest::SourceFile;
use git2::{Commit, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};
use std::path::Path;

/// Git's file mode for a symbolic link; links are skipped, never followed.
const MODE_SYMLINK: i32 = 0o120000;

/// The manifests under `path` (the whole tree if None) at `commit`, sorted, with paths
/// relative to the repository root.
pub(super) fn read(
    repo: &Repository,
    url: &str,
    commit: &Commit<'_>,
    path: Option<&str>,
) -> Result<Vec<SourceFile>, SourceError> {
    let tree = commit.tree().map_err(SourceError::git("read the tree of", url))?;
    let mut found: Vec<(String, Oid)> = Vec::new();
    match normalize(path) {
        None => walk(&tree, url, "", &mut found)?,
        Some(dir) => {
            let missing = || SourceError::PathMissing {
                url: url.to_string(),
                commit: commit.id().to_string(),
                path: dir.clone(),
            };
            let entry = tree.get_path(Path::new(&dir)).map_err(|_| missing())?;
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let sub = repo
                        .find_tree(entry.id())
                        .map_err(SourceError::git("read a tree of", url))?;
                    walk(&sub, url, &format!("{dir}/"), &mut found)?;
                }
                // A single file named explicitly is read whatever its extension.
                Some(ObjectType::Blob) if entry.filemode() != MODE_SYMLINK => found.push((dir.clone(), entry.id())),
                _ => return Err(missing()),
            }
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|(path, id)| {
            let blob = repo.find_blob(id).map_err(SourceError::git("read a file of", url))?;
            if blob.size() as u64 > super::MAX_FILE_SIZE {
                return Err(SourceError::TooLarge {
                    path,
                    size: blob.size() as u64,
                });
            }
            decode(&path, blob.content().to_vec())
        })
        .collect()
}

/// `--path` without `./`, leading or trailing slashes; None for the repository root.
fn normalize(path: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = path?
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Collects the manifest blobs of `tree` (recursively) as `prefix + path`.
fn walk(tree: &git2::Tree<'_>, url: &str, prefix: &str, found: &mut Vec<(String, Oid)>) -> Result<(), SourceError> {
    let mut bad_name = None;
    let walked = tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        let is_file = entry.kind() == Some(ObjectType::Blob) && entry.filemode() != MODE_SYMLINK;
        if !is_file {
            return TreeWalkResult::Ok;
        }
        match entry.name() {
            Ok(name) if is_manifest_name(name) => found.push((format!("{prefix}{dir}{name}"), entry.id())),
            Ok(_) => {}
            Err(_) => {
                let name = String::from_utf8_lossy(entry.name_bytes());
                if is_manifest_name(&name) {
                    bad_name = Some(format!("{prefix}{dir}{name}"));
                    return TreeWalkResult::Abort;
                }
            }
        }
        TreeWalkResult::Ok
    });
    match bad_name {
        Some(path) => Err(SourceError::NotUtf8 { path }),
        None => walked.map_err(SourceError::git("walk the tree of", url)),
    }
}
