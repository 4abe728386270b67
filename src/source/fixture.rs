//! Throw-away git repositories for the source tests, built with git2 in temp dirs.

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository, RepositoryInitOptions, Signature};
use std::path::{Path, PathBuf};

/// A non-bare repository whose commits are made straight from trees, so its work tree holds
/// only what a test writes there and never commits.
pub(crate) struct Fixture {
    pub repo: Repository,
    pub path: PathBuf,
}

/// One change of a commit: write a file, write a symlink, or delete a path.
pub(crate) enum Change<'a> {
    Write(&'a str, &'a [u8]),
    Link(&'a str, &'a str),
    Delete(&'a str),
}

impl Fixture {
    /// An empty repository at `path` whose HEAD is `main`.
    pub fn init(path: &Path) -> Fixture {
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = Repository::init_opts(path, &opts).unwrap();
        Fixture {
            repo,
            path: path.to_path_buf(),
        }
    }

    /// Commits `changes` on top of `branch` (created if missing) and returns the commit id.
    pub fn commit(&self, branch: &str, changes: &[Change<'_>]) -> Oid {
        let refname = format!("refs/heads/{branch}");
        let parent = self
            .repo
            .find_reference(&refname)
            .ok()
            .map(|r| r.peel_to_commit().unwrap());
        let base = match &parent {
            Some(c) => c.tree().unwrap(),
            None => {
                let empty = self.repo.treebuilder(None).unwrap().write().unwrap();
                self.repo.find_tree(empty).unwrap()
            }
        };
        let mut update = TreeUpdateBuilder::new();
        for change in changes {
            match change {
                Change::Write(path, bytes) => {
                    update.upsert(*path, self.repo.blob(bytes).unwrap(), FileMode::Blob);
                }
                Change::Link(path, target) => {
                    update.upsert(*path, self.repo.blob(target.as_bytes()).unwrap(), FileMode::Link);
                }
                Change::Delete(path) => {
                    update.remove(*path);
                }
            }
        }
        let tree = self
            .repo
            .find_tree(update.create_updated(&self.repo, &base).unwrap())
            .unwrap();
        let sig = Signature::now("Test", "test@example.com").unwrap();
        let parents: Vec<_> = parent.iter().collect();
        self.repo
            .commit(Some(&refname), &sig, &sig, "test commit", &tree, &parents)
            .unwrap()
    }

    /// A branch `name` at `commit`.
    pub fn branch(&self, name: &str, commit: Oid) {
        let commit = self.repo.find_commit(commit).unwrap();
        self.repo.branch(name, &commit, false).unwrap();
    }

    /// An annotated tag `name` on `commit`.
    pub fn tag(&self, name: &str, commit: Oid) {
        let object = self.repo.find_object(commit, None).unwrap();
        let sig = Signature::now("Test", "test@example.com").unwrap();
        self.repo.tag(name, &object, &sig, "test tag", false).unwrap();
    }
}
