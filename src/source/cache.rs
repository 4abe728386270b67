//! The fetch cache: a bare repository per source URL, mirroring its branches and tags.

use super::{Snapshot, SourceError, auth, tree};
use git2::{AutotagOption, FetchOptions, FetchPrune, Oid, Repository};
use sha2::{Digest, Sha256};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

const REMOTE: &str = "origin";
const BRANCHES: &str = "refs/remotes/origin/";
const TAGS: &str = "refs/tags/";

/// A bare repository under `cache_dir` mirroring one URL's branches and tags, locked while used.
pub(super) struct Cache {
    url: String,
    repo: Repository,
    _lock: File,
}

impl Cache {
    pub(super) fn open(url: &str, cache_dir: &Path) -> Result<Cache, SourceError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(cache_dir)
            .map_err(SourceError::io("create directory", cache_dir))?;
        let name = &hex::encode(Sha256::digest(url.as_bytes()))[..16];
        let dir = cache_dir.join(name);
        let lock_path = cache_dir.join(format!("{name}.lock"));
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(SourceError::io("open", &lock_path))?;
        // Two plans may run at once (shared state lock); they must not fetch into one cache
        // together.
        lock.lock().map_err(SourceError::io("lock", &lock_path))?;
        let repo = match Repository::open_bare(&dir) {
            Ok(repo) => repo,
            Err(_) => {
                // A cache is disposable: one left half-made by a crash is made again.
                if dir.exists() {
                    fs::remove_dir_all(&dir).map_err(SourceError::io("remove broken cache", &dir))?;
                }
                init_cache(&dir, url)?
            }
        };
        Ok(Cache {
            url: url.to_string(),
            repo,
            _lock: lock,
        })
    }

    /// Fetches all branches and tags (pruning deleted ones) and records the remote's HEAD
    /// branch as `refs/remotes/origin/HEAD`.
    pub(super) fn fetch(&self) -> Result<(), SourceError> {
        let url = &self.url;
        let mut remote = self
            .repo
            .find_remote(REMOTE)
            .map_err(SourceError::git("open the cache of", url))?;
        let mut opts = FetchOptions::new();
        opts.remote_callbacks(auth::callbacks())
            .prune(FetchPrune::On)
            .download_tags(AutotagOption::None);
        remote
            .fetch(&[] as &[&str], Some(&mut opts), Some("rekon: fetch"))
            .map_err(SourceError::git("fetch", url))?;
        // The advertisement outlives the connection, so this needs no second round trip.
        let head = remote.default_branch().ok();
        if let Some(branch) = head
            .as_ref()
            .and_then(|b| b.as_str().ok()?.strip_prefix("refs/heads/").map(str::to_owned))
        {
            self.repo
                .reference_symbolic(
                    &format!("{BRANCHES}HEAD"),
                    &format!("{BRANCHES}{branch}"),
                    true,
                    "rekon: remote HEAD",
                )
                .map_err(SourceError::git("record the default branch of", url))?;
        }
        Ok(())
    }

    /// The remote's HEAD branch, else `main`, else `master`, and its commit.
    pub(super) fn default_branch(&self) -> Result<(String, Oid), SourceError> {
        let recorded = self
            .repo
            .find_reference(&format!("{BRANCHES}HEAD"))
            .ok()
            .and_then(|r| r.symbolic_target().ok()??.strip_prefix(BRANCHES).map(str::to_owned));
        let candidates = recorded.into_iter().chain(["main".to_string(), "master".to_string()]);
        for branch in candidates {
            if let Some(id) = self.branch(&branch) {
                return Ok((branch, id));
            }
        }
        let url = self.url.clone();
        if self.names(BRANCHES).is_empty() {
            return Err(SourceError::EmptyRepo { url });
        }
        Err(SourceError::NoDefaultBranch { url })
    }

    /// `r` as a branch, then a tag (peeled), then a full or abbreviated commit id.
    pub(super) fn resolve_ref(&self, r: &str) -> Result<Oid, SourceError> {
        let short = r.strip_prefix("refs/heads/").unwrap_or(r);
        if let Some(id) = self.branch(short) {
            return Ok(id);
        }
        let tag = r.strip_prefix(TAGS).unwrap_or(r);
        if let Ok(reference) = self.repo.find_reference(&format!("{TAGS}{tag}")) {
            return reference
                .peel_to_commit()
                .map(|c| c.id())
                .map_err(SourceError::git("peel a tag to a commit in", &self.url));
        }
        if let Some(id) = self.find_commit(r) {
            return Ok(id);
        }
        let list = |prefix| {
            let names = self.names(prefix);
            match names.len() {
                0 => "none".to_string(),
                n if n > 20 => format!("{}, … {} more", names[..20].join(", "), n - 20),
                _ => names.join(", "),
            }
        };
        Err(SourceError::UnknownRef {
            url: self.url.clone(),
            git_ref: r.to_string(),
            branches: list(BRANCHES),
            tags: list(TAGS),
        })
    }

    pub(super) fn branch(&self, name: &str) -> Option<Oid> {
        let reference = self.repo.find_reference(&format!("{BRANCHES}{name}")).ok()?;
        reference.peel_to_commit().ok().map(|c| c.id())
    }

    /// A commit by full or abbreviated (≥ 4 hex digits) id, if the cache has it.
    pub(super) fn find_commit(&self, id: &str) -> Option<Oid> {
        if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let object = self.repo.find_object_by_prefix(id, None).ok()?;
        object.peel_to_commit().ok().map(|c| c.id())
    }

    /// Sorted short names of the references under `prefix`, without `HEAD`.
    fn names(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = match self.repo.references_glob(&format!("{prefix}*")) {
            Ok(refs) => refs
                .flatten()
                .filter_map(|r| r.name().ok()?.strip_prefix(prefix).map(str::to_owned))
                .filter(|n| n != "HEAD")
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }

    pub(super) fn snapshot(&self, id: Oid, label: &str, path: Option<&str>) -> Result<Snapshot, SourceError> {
        let commit = self
            .repo
            .find_commit(id)
            .map_err(SourceError::git("read a commit of", &self.url))?;
        let files = tree::read(&self.repo, &self.url, &commit, path)?;
        let short = &id.to_string()[..7];
        let mut description = format!("{} @ {label} ({short})", self.url);
        if let Some(p) = path.filter(|p| !p.is_empty() && *p != ".") {
            description.push_str(&format!(", path {p}"));
        }
        Ok(Snapshot {
            revision: id.to_string(),
            files,
            description,
        })
    }
}

fn init_cache(dir: &Path, url: &str) -> Result<Repository, SourceError> {
    let repo = Repository::init_bare(dir).map_err(SourceError::git("create a cache for", url))?;
    repo.remote_with_fetch(REMOTE, url, "+refs/heads/*:refs/remotes/origin/*")
        .map_err(SourceError::git("configure the cache of", url))?;
    repo.remote_add_fetch(REMOTE, "+refs/tags/*:refs/tags/*")
        .map_err(SourceError::git("configure the cache of", url))?;
    Ok(repo)
}
