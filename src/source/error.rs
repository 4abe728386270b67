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
        /// The path as given.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A git operation on `url` failed.
    #[error("failed to {operation} {url}")]
    Git {
        /// What was attempted (`fetch`, `read a tree of`, `open the cache of`, ...).
        operation: &'static str,
        /// The repository's URL or path.
        url: String,
        /// The cause.
        #[source]
        source: git2::Error,
    },
    /// `--ref` is not a branch, tag or commit of the repository.
    #[error(
        "ref {git_ref:?} not found in {url}: not a branch, tag or commit \
         (branches: {branches}; tags: {tags})"
    )]
    UnknownRef {
        /// The repository's URL or path.
        url: String,
        /// The ref as given with `--ref`.
        git_ref: String,
        /// Comma-separated, or `none`.
        branches: String,
        /// Comma-separated, or `none`.
        tags: String,
    },
    /// The repository has no branch at all.
    #[error("repository {url} has no branches: push a commit first")]
    EmptyRepo {
        /// The repository's URL or path.
        url: String,
    },
    /// The remote did not say which branch is its HEAD and neither main nor master exists.
    #[error("cannot tell the default branch of {url}: pass --ref")]
    NoDefaultBranch {
        /// The repository's URL or path.
        url: String,
    },
    /// A commit recorded in a saved plan is no longer in the repository.
    #[error("commit {commit} is not in {url} (was it force-pushed away?)")]
    CommitMissing {
        /// The repository's URL or path.
        url: String,
        /// The commit id the plan recorded.
        commit: String,
    },
    /// `--path` does not exist at the commit.
    #[error("path {path:?} does not exist at commit {commit} of {url}")]
    PathMissing {
        /// The repository's URL or path.
        url: String,
        /// The commit id looked in.
        commit: String,
        /// The path as given with `--path`.
        path: String,
    },
    /// A manifest file is too big to be one.
    #[error("{path} is {size} bytes, more than the 4 MiB limit for a manifest file")]
    TooLarge {
        /// The file, as shown to the user (relative to the repository or working directory).
        path: String,
        /// Its size in bytes.
        size: u64,
    },
    /// A manifest file is not UTF-8 text.
    #[error("{path} is not UTF-8 text")]
    NotUtf8 {
        /// The file, as shown to the user (relative to the repository or working directory).
        path: String,
    },
    /// A plain file or directory given with `-f` cannot be read.
    #[error("failed to {operation} {path}")]
    Io {
        /// What was attempted (`read`, `open`, `read directory`, ...).
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The `-f` files no longer hash to the revision a saved plan was made from.
    #[error("the files changed since the plan was made (plan: {expected}, now: {actual}): plan again")]
    Changed {
        /// The revision the plan was made from.
        expected: String,
        /// The revision the files hash to now.
        actual: String,
    },
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
