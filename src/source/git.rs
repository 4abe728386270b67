//! Git sources: one fetch cache per URL, `--ref` resolution, and snapshots at one commit.

use super::cache::Cache;
use super::{Snapshot, SourceError};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Fetches `repo` into the cache and reads the manifests at `git_ref` (the remote's default
/// branch if None) under `path`.
pub fn resolve(
    repo: &str,
    git_ref: Option<&str>,
    path: Option<&str>,
    cache_dir: &Path,
) -> Result<Snapshot, SourceError> {
    let url = normalize_url(repo)?;
    let cache = Cache::open(&url, cache_dir)?;
    cache.fetch()?;
    let (id, label) = match git_ref {
        None | Some("HEAD") => {
            let (branch, id) = cache.default_branch()?;
            (id, branch)
        }
        Some(r) => (cache.resolve_ref(r)?, r.to_string()),
    };
    cache.snapshot(id, &label, path)
}

/// Reads the manifests at exactly `commit`, fetching only when the cache does not have it yet
/// (a saved plan is applied from the commit it was made from, offline if possible).
pub fn fetch_commit(
    repo: &str,
    git_ref: Option<&str>,
    path: Option<&str>,
    cache_dir: &Path,
    commit: &str,
) -> Result<Snapshot, SourceError> {
    let url = normalize_url(repo)?;
    let cache = Cache::open(&url, cache_dir)?;
    let id = match cache.find_commit(commit) {
        Some(id) => id,
        None => {
            cache.fetch()?;
            cache.find_commit(commit).ok_or_else(|| SourceError::CommitMissing {
                url: url.clone(),
                commit: commit.to_string(),
            })?
        }
    };
    cache.snapshot(id, git_ref.unwrap_or("HEAD"), path)
}

/// `--repo` as a URL git understands: URLs and `user@host:path` as they are, a local path as
/// an absolute `file://` URL.
pub fn normalize_url(repo: &str) -> Result<String, SourceError> {
    // git's rule (connect.c, url_is_local_not_ssh): a colon before any slash means scp syntax.
    let scp_like = repo.find(':').is_some_and(|colon| !repo[..colon].contains('/'));
    if repo.contains("://") || scp_like {
        return Ok(repo.to_string());
    }
    let abs = fs::canonicalize(repo).map_err(|source| SourceError::RepoPath {
        path: PathBuf::from(repo),
        source,
    })?;
    let mut url = String::from("file://");
    for &b in abs.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::fixture::{Change::*, Fixture};
    use git2::Oid;

    const WEB1: &[u8] = b"kind: Deployment # v1\n";
    const WEB2: &[u8] = b"kind: Deployment # v2\n";

    /// main: c1 (tag v1) → c2 (old.yaml deleted, web.yaml changed); feature: c2 → c3.
    /// The work tree holds changes that are never committed.
    struct Repo {
        _tmp: tempfile::TempDir,
        fx: Fixture,
        cache: PathBuf,
        url: String,
        c1: Oid,
        c2: Oid,
        c3: Oid,
    }

    fn repo() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        // A space in the path checks the file:// URL encoding.
        let fx = Fixture::init(&tmp.path().join("my repo"));
        let c1 = fx.commit(
            "main",
            &[
                Write("deploy/web.yaml", WEB1),
                Write("deploy/old.yaml", b"kind: Service\n"),
                Write("deploy/sub/db.yml", b"kind: StatefulSet\n"),
                Write("deploy/notes.txt", b"not a manifest\n"),
                Write("top.json", b"{}\n"),
                Write("README.md", b"# readme\n"),
            ],
        );
        fx.tag("v1", c1);
        let c2 = fx.commit("main", &[Delete("deploy/old.yaml"), Write("deploy/web.yaml", WEB2)]);
        fx.branch("feature", c2);
        let c3 = fx.commit("feature", &[Write("deploy/feature.yaml", b"kind: ConfigMap\n")]);
        fs::create_dir_all(fx.path.join("deploy")).unwrap();
        fs::write(fx.path.join("deploy/web.yaml"), b"kind: Uncommitted\n").unwrap();
        fs::write(fx.path.join("deploy/extra.yaml"), b"kind: Uncommitted\n").unwrap();
        let url = normalize_url(fx.path.to_str().unwrap()).unwrap();
        let cache = tmp.path().join("state/git");
        Repo {
            _tmp: tmp,
            fx,
            cache,
            url,
            c1,
            c2,
            c3,
        }
    }

    fn paths(s: &Snapshot) -> Vec<&str> {
        s.files.iter().map(|f| f.path.as_str()).collect()
    }

    fn text<'a>(s: &'a Snapshot, path: &str) -> &'a str {
        &s.files.iter().find(|f| f.path == path).unwrap().text
    }

    #[test]
    fn default_branch_reads_committed_files_only() {
        let r = repo();
        let s = resolve(&r.url, None, Some("deploy"), &r.cache).unwrap();
        assert_eq!(s.revision, r.c2.to_string());
        assert_eq!(paths(&s), ["deploy/sub/db.yml", "deploy/web.yaml"]);
        assert_eq!(text(&s, "deploy/web.yaml").as_bytes(), WEB2);
        assert_eq!(
            s.description,
            format!("{} @ main ({}), path deploy", r.url, &r.c2.to_string()[..7])
        );
        assert!(r.url.starts_with("file:///") && r.url.ends_with("/my%20repo"));

        let all = resolve(&r.url, None, None, &r.cache).unwrap();
        assert_eq!(paths(&all), ["deploy/sub/db.yml", "deploy/web.yaml", "top.json"]);
    }

    #[test]
    fn resolves_branch_tag_and_commit_ids() {
        let r = repo();
        let at = |git_ref: &str| resolve(&r.url, Some(git_ref), Some("deploy/"), &r.cache).unwrap();
        let feature = at("feature");
        assert_eq!(feature.revision, r.c3.to_string());
        assert_eq!(
            paths(&feature),
            ["deploy/feature.yaml", "deploy/sub/db.yml", "deploy/web.yaml"]
        );
        let v1 = at("v1");
        assert_eq!(v1.revision, r.c1.to_string());
        assert_eq!(paths(&v1), ["deploy/old.yaml", "deploy/sub/db.yml", "deploy/web.yaml"]);
        assert_eq!(text(&v1, "deploy/web.yaml").as_bytes(), WEB1);
        assert_eq!(at("refs/tags/v1").revision, r.c1.to_string());
        assert_eq!(at("refs/heads/main").revision, r.c2.to_string());
        assert_eq!(at(&r.c1.to_string()).revision, r.c1.to_string());
        assert_eq!(at(&r.c1.to_string()[..7]).revision, r.c1.to_string());
        assert_eq!(at("HEAD").revision, r.c2.to_string());
    }

    #[test]
    fn unknown_ref_lists_what_exists() {
        let r = repo();
        let err = resolve(&r.url, Some("nope"), None, &r.cache).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "ref \"nope\" not found in {}: not a branch, tag or commit \
                 (branches: feature, main; tags: v1)",
                r.url
            )
        );
    }

    #[test]
    fn default_branch_follows_the_remote_head() {
        let r = repo();
        r.fx.repo.set_head("refs/heads/feature").unwrap();
        let s = resolve(&r.url, None, None, &r.cache).unwrap();
        assert_eq!(s.revision, r.c3.to_string());
        assert!(s.description.contains(" @ feature ("), "{}", s.description);
    }

    #[test]
    fn refetch_sees_new_commits_and_pruned_branches() {
        let r = repo();
        assert_eq!(
            resolve(&r.url, None, None, &r.cache).unwrap().revision,
            r.c2.to_string()
        );
        let c4 = r.fx.commit("main", &[Write("new.yaml", b"kind: Pod\n")]);
        r.fx.repo
            .find_reference("refs/heads/feature")
            .unwrap()
            .delete()
            .unwrap();
        let s = resolve(&r.url, None, None, &r.cache).unwrap();
        assert_eq!(s.revision, c4.to_string());
        assert!(paths(&s).contains(&"new.yaml"));
        assert!(matches!(
            resolve(&r.url, Some("feature"), None, &r.cache),
            Err(SourceError::UnknownRef { .. })
        ));
    }

    #[test]
    fn fetch_commit_reads_a_cached_commit_offline() {
        let r = repo();
        resolve(&r.url, None, None, &r.cache).unwrap();
        let c1 = r.c1.to_string();
        // The source disappears: the cached commit is still readable.
        fs::remove_dir_all(&r.fx.path).unwrap();
        let s = fetch_commit(&r.url, Some("v1"), Some("deploy"), &r.cache, &c1).unwrap();
        assert_eq!(s.revision, c1);
        assert!(paths(&s).contains(&"deploy/old.yaml"));
        let gone = "0123456789abcdef0123456789abcdef01234567";
        let err = fetch_commit(&r.url, None, None, &r.cache, gone).unwrap_err();
        assert!(matches!(err, SourceError::Git { operation: "fetch", .. }), "{err}");
    }

    #[test]
    fn fetch_commit_fetches_a_missing_commit() {
        let r = repo();
        let s = fetch_commit(&r.url, None, None, &r.cache, &r.c3.to_string()).unwrap();
        assert_eq!(s.revision, r.c3.to_string());
        let gone = "0123456789abcdef0123456789abcdef01234567";
        let err = fetch_commit(&r.url, None, None, &r.cache, gone).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("commit {gone} is not in {} (was it force-pushed away?)", r.url)
        );
    }

    #[test]
    fn missing_path_symlinks_and_bad_files() {
        let r = repo();
        let err = resolve(&r.url, None, Some("nope"), &r.cache).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("path \"nope\" does not exist at commit {} of {}", r.c2, r.url)
        );
        r.fx.commit(
            "main",
            &[Link("deploy/link.yaml", "web.yaml"), Link("linked", "deploy")],
        );
        let s = resolve(&r.url, None, None, &r.cache).unwrap();
        assert_eq!(paths(&s), ["deploy/sub/db.yml", "deploy/web.yaml", "top.json"]);

        r.fx.commit("main", &[Write("deploy/bin.yaml", &[0xff, 0xfe])]);
        let err = resolve(&r.url, None, None, &r.cache).unwrap_err();
        assert_eq!(err.to_string(), "deploy/bin.yaml is not UTF-8 text");

        let big = vec![b'#'; super::super::MAX_FILE_SIZE as usize + 1];
        r.fx.commit("main", &[Delete("deploy/bin.yaml"), Write("big.yaml", &big)]);
        let err = resolve(&r.url, None, None, &r.cache).unwrap_err();
        assert_eq!(
            err.to_string(),
            "big.yaml is 4194305 bytes, more than the 4 MiB limit for a manifest file"
        );
    }

    #[test]
    fn empty_repository_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let fx = Fixture::init(&tmp.path().join("empty"));
        let url = normalize_url(fx.path.to_str().unwrap()).unwrap();
        let err = resolve(&url, None, None, &tmp.path().join("git")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("repository {url} has no branches: push a commit first")
        );
    }

    #[test]
    fn urls_pass_through_and_paths_become_file_urls() {
        for url in [
            "https://example.com/a.git",
            "ssh://git@example.com/a",
            "git@example.com:a/b.git",
            "file:///x",
        ] {
            assert_eq!(normalize_url(url).unwrap(), url);
        }
        let err = normalize_url("./does/not:exist").unwrap_err();
        assert!(matches!(err, SourceError::RepoPath { .. }));
        assert_eq!(err.to_string(), "repository path ./does/not:exist cannot be opened");
    }

    #[test]
    fn unreachable_url_names_url_and_operation() {
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("file://{}/missing", tmp.path().display());
        let err = resolve(&url, None, None, &tmp.path().join("git")).unwrap_err();
        assert_eq!(err.to_string(), format!("failed to fetch {url}"));
    }
}
