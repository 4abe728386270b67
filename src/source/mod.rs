//! The source of desired state: manifests at one git commit, or plain `-f` files.

mod auth;
mod cache;
pub mod error;
pub mod files;
#[cfg(test)]
mod fixture;
pub mod git;
pub mod spec;
mod tree;

pub use error::SourceError;
pub use spec::SourceSpec;

use crate::manifest::SourceFile;
use std::path::Path;

/// Files larger than this are refused: no manifest is that big, and it bounds memory.
pub const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// The manifests of one revision of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The commit id, or `sha256:<hex>` over the files for `-f`.
    pub revision: String,
    /// The manifest files, sorted by path.
    pub files: Vec<SourceFile>,
    /// What a user reads: `file:///x @ main (a1b2c3d)`.
    pub description: String,
}

/// Reads the current manifests of `spec`; `cache_dir` (`<state>/git`) keeps fetched repositories.
pub fn resolve(spec: &SourceSpec, cache_dir: &Path) -> Result<Snapshot, SourceError> {
    match &spec.repo {
        Some(repo) => git::resolve(repo, spec.git_ref.as_deref(), spec.path.as_deref(), cache_dir),
        None if !spec.files.is_empty() => files::read(&spec.files),
        None => Err(SourceError::NoSource),
    }
}

/// Reads the manifests of exactly `revision` (a saved plan's), fetching only if the cache
/// lacks it; for `-f` files, checks they still hash to `revision`.
pub fn fetch_commit(spec: &SourceSpec, cache_dir: &Path, revision: &str) -> Result<Snapshot, SourceError> {
    match &spec.repo {
        Some(repo) => git::fetch_commit(repo, spec.git_ref.as_deref(), spec.path.as_deref(), cache_dir, revision),
        None if !spec.files.is_empty() => {
            let snapshot = files::read(&spec.files)?;
            if snapshot.revision != revision {
                return Err(SourceError::Changed {
                    expected: revision.to_string(),
                    actual: snapshot.revision,
                });
            }
            Ok(snapshot)
        }
        None => Err(SourceError::NoSource),
    }
}

/// Whether a file found in a directory is read as a manifest.
fn is_manifest_name(name: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|ext| name.ends_with(ext))
}

/// Checks the size limit and UTF-8 of a manifest file's bytes.
fn decode(path: &str, bytes: Vec<u8>) -> Result<SourceFile, SourceError> {
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(SourceError::TooLarge {
            path: path.to_string(),
            size: bytes.len() as u64,
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 { path: path.to_string() })?;
    Ok(SourceFile {
        path: path.to_string(),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_source_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let err = resolve(&SourceSpec::default(), tmp.path()).unwrap_err();
        assert_eq!(err.to_string(), "no source given: pass --repo URL|PATH or -f FILE|DIR");
    }

    #[test]
    fn fetch_commit_of_files_checks_the_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("pod.yaml");
        std::fs::write(&file, "kind: Pod\n").unwrap();
        let spec = SourceSpec {
            files: vec![file.to_str().unwrap().to_string()],
            ..SourceSpec::default()
        };
        let cache = tmp.path().join("git");
        let planned = resolve(&spec, &cache).unwrap();
        assert_eq!(fetch_commit(&spec, &cache, &planned.revision).unwrap(), planned);
        std::fs::write(&file, "kind: Pod # changed\n").unwrap();
        let err = fetch_commit(&spec, &cache, &planned.revision).unwrap_err();
        let now = resolve(&spec, &cache).unwrap().revision;
        assert_eq!(
            err.to_string(),
            format!(
                "the files changed since the plan was made (plan: {}, now: {now}): plan again",
                planned.revision
            )
        );
    }

    #[test]
    fn git_spec_goes_to_git() {
        let tmp = tempfile::tempdir().unwrap();
        let fx = fixture::Fixture::init(&tmp.path().join("r"));
        let c1 = fx.commit("main", &[fixture::Change::Write("a.yaml", b"kind: Pod\n")]);
        let spec = SourceSpec {
            repo: Some(tmp.path().join("r").to_str().unwrap().to_string()),
            ..SourceSpec::default()
        };
        let s = resolve(&spec, &tmp.path().join("git")).unwrap();
        assert_eq!(s.revision, c1.to_string());
        assert_eq!(
            s.files,
            vec![SourceFile {
                path: "a.yaml".into(),
                text: "kind: Pod\n".into()
            }]
        );
    }

    #[test]
    fn manifest_names() {
        assert!(is_manifest_name("a.yaml") && is_manifest_name("a.yml") && is_manifest_name("a.json"));
        assert!(!is_manifest_name("a.txt") && !is_manifest_name("yaml"));
    }
}
