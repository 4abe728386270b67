//! The errors of reading desired state from git or plain files.

use std::path::PathBuf;

/// Anything that can go wrong turning a [`super::SourceSpec`] into a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Neither `--repo` nor `-f` was given and none is remembered in the state.
    #[error("no source given: pass --repo URL|PATH or -f FILE|DIR")]
    NoSource,
    /// `--repo` names a local path that cannot be read.
    #[error("repository path {path} cannot be opened")]
    RepoPath {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A git operation on `url` failed.
    #[error("failed to {operation} {url}")]
    Git {
        operation: &'static str,
        url: String,
        #[source]
        source: git2::Error,
    },
    /// `--ref` is not a branch, tag or commit of the repository.
    #[error(
        "ref {git_ref:?} not found in {url}: not a branch, tag or commit \
         (branches: {branches}; tags: {tags})"
    )]
    UnknownRef {
        url: String,
        git_ref: String,
        /// Comma-separated, or `none`.
        branches: String,
        /// Comma-separated, or `none`.
        tags: String,
    },
    /// The repository has no branch at all.
    #[error("repository {url} has no branches: push a commit first")]
    EmptyRepo { url: String },
    /// The remote did not say which branch is its HEAD and neither main nor master exists.
    #[error("cannot tell the default branch of {url}: pass --ref")]
    NoDefaultBranch { url: String },
    /// A commit recorded in a saved plan is no longer in the repository.
    #[error("commit {commit} is not in {url} (was it force-pushed away?)")]
    CommitMissing { url: String, commit: String },
    /// `--path` does not exist at the commit.
    #[error("path {path:?} does not exist at commit {commit} of {url}")]
    PathMissing { url: String, commit: String, path: String },
    /// A manifest file is too big to be one.
    #[error("{path} is {size} bytes, more than the 4 MiB limit for a manifest file")]
    TooLarge { path: String, size: u64 },
    /// A manifest file is not UTF-8 text.
    #[error("{path} is not UTF-8 text")]
    NotUtf8 { path: String },
    /// A plain file or directory given with `-f` cannot be read.
    #[error("failed to {operation} {path}")]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The `-f` files no longer hash to the revision a saved plan was made from.
    #[error("the files changed since the plan was made (plan: {expected}, now: {actual}): plan again")]
    Changed { expected: String, actual: String },
}

impl SourceError {
    /// A [`SourceError::Git`] for `operation` on `url`.
    pub(crate) fn git(operation: &'static str, url: &str) -> impl FnOnce(git2::Error) -> SourceError {
        let url = url.to_string();
        move |source| SourceError::Git { operation, url, source }
    }

    /// A [`SourceError::Io`] for `operation` on `path`.
    pub(crate) fn io(operation: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SourceError {
        let path = path.into();
        move |source| SourceError::Io {
            operation,
            path,
            source,
        }
    }
}
