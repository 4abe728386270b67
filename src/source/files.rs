//! Plain `-f FILE|DIR` sources: manifests read from disk without git, named by a content hash.

use super::{MAX_FILE_SIZE, Snapshot, SourceError, decode, is_manifest_name};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

/// Reads every file and directory in `args` (recursively; manifest extensions only inside
/// directories; symlinked directories are not followed) and hashes them into the revision.
pub fn read(args: &[String]) -> Result<Snapshot, SourceError> {
    let mut found: Vec<PathBuf> = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        let meta = fs::metadata(path).map_err(SourceError::io("read", path))?;
        if meta.is_dir() {
            walk(path, &mut found)?;
        } else {
            // A file named explicitly is read whatever its extension, like `kubectl apply -f`.
            found.push(path.to_path_buf());
        }
    }
    found.sort();
    found.dedup();

    let cwd = std::env::current_dir().ok();
    let read_one = |path: &PathBuf| -> Result<(Vec<u8>, String), SourceError> {
        // One open and one fstat per file: at 10,000 files a second path lookup showed.
        let mut file = fs::File::open(path).map_err(SourceError::io("read", path))?;
        let size = file.metadata().map_err(SourceError::io("read", path))?.len();
        let shown = display(path, cwd.as_deref());
        if size > MAX_FILE_SIZE {
            return Err(SourceError::TooLarge { path: shown, size });
        }
        let mut bytes = Vec::with_capacity(size as usize + 1);
        // A file that grows while it is read is still bounded by the limit.
        std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, MAX_FILE_SIZE + 1), &mut bytes)
            .map_err(SourceError::io("read", path))?;
        Ok((bytes, shown))
    };
    let mut hasher = Sha256::new();
    let mut files = Vec::with_capacity(found.len());
    for (path, read) in found.iter().zip(crate::par::map(&found, read_one)) {
        let (bytes, shown) = read?;
        // The hash names files as given, not as shown, so it does not depend on the cwd.
        let key = path.as_os_str().as_encoded_bytes();
        for part in [key, &bytes] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        files.push(decode(&shown, bytes)?);
    }
    let revision = format!("sha256:{}", hex::encode(hasher.finalize()));
    let description = format!("files {} ({})", args.join(", "), &revision[..19]);
    Ok(Snapshot {
        revision,
        files,
        description,
    })
}

/// Collects manifest files under `dir`; symlinks to files are read, to directories skipped.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let entries = fs::read_dir(dir).map_err(SourceError::io("read directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(SourceError::io("read directory", dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(SourceError::io("read", &path))?;
        if kind.is_dir() {
            walk(&path, found)?;
            continue;
        }
        if kind.is_symlink() && fs::metadata(&path).map(|m| !m.is_file()).unwrap_or(true) {
            continue;
        }
        if is_manifest_name(&entry.file_name().to_string_lossy()) {
            found.push(path);
        }
    }
    Ok(())
}

/// The path relative to the working directory when under it, as errors should show it.
fn display(path: &Path, cwd: Option<&Path>) -> String {
    let shown = cwd.and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path);
    shown.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn arg(p: &Path) -> String {
        p.to_str().unwrap().to_string()
    }

    fn names(s: &Snapshot, root: &Path) -> Vec<String> {
        let prefix = display(root, std::env::current_dir().ok().as_deref());
        s.files
            .iter()
            .map(|f| f.path.strip_prefix(&prefix).unwrap().to_string())
            .collect()
    }

    #[test]
    fn reads_directories_recursively_sorted_without_symlinked_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("app/sub")).unwrap();
        fs::create_dir_all(root.join("elsewhere")).unwrap();
        fs::write(root.join("app/web.yaml"), "kind: Deployment\n").unwrap();
        fs::write(root.join("app/sub/db.yml"), "kind: StatefulSet\n").unwrap();
        fs::write(root.join("app/a.json"), "{}\n").unwrap();
        fs::write(root.join("app/notes.txt"), "no\n").unwrap();
        fs::write(root.join("elsewhere/hidden.yaml"), "kind: Secret\n").unwrap();
        fs::write(root.join("single.txt"), "kind: Pod\n").unwrap();
        symlink(root.join("elsewhere"), root.join("app/linkdir")).unwrap();
        symlink(root.join("elsewhere/hidden.yaml"), root.join("app/linked.yaml")).unwrap();

        let s = read(&[arg(&root.join("single.txt")), arg(&root.join("app"))]).unwrap();
        assert_eq!(
            names(&s, root),
            [
                "/app/a.json",
                "/app/linked.yaml",
                "/app/sub/db.yml",
                "/app/web.yaml",
                "/single.txt"
            ]
        );
        assert_eq!(s.files[1].text, "kind: Secret\n");
        assert!(s.revision.starts_with("sha256:") && s.revision.len() == 7 + 64);
        assert!(s.description.ends_with(&format!("({})", &s.revision[..19])));

        // Order of the arguments does not matter; content does.
        let swapped = read(&[arg(&root.join("app")), arg(&root.join("single.txt"))]).unwrap();
        assert_eq!(swapped.revision, s.revision);
        fs::write(root.join("app/web.yaml"), "kind: Deployment # v2\n").unwrap();
        assert_ne!(read(&[arg(&root.join("app"))]).unwrap().revision, s.revision);
    }

    #[test]
    fn bad_files_are_errors_naming_them() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("missing");
        let err = read(&[arg(&missing)]).unwrap_err();
        assert_eq!(err.to_string(), format!("failed to read {}", missing.display()));

        let bin = tmp.path().join("bin.yaml");
        fs::write(&bin, [0xff, 0xfe]).unwrap();
        let err = read(&[arg(&bin)]).unwrap_err();
        assert!(matches!(err, SourceError::NotUtf8 { .. }), "{err}");

        let big = tmp.path().join("big.yaml");
        fs::write(&big, vec![b'#'; MAX_FILE_SIZE as usize + 1]).unwrap();
        let err = read(&[arg(&big)]).unwrap_err();
        assert!(matches!(err, SourceError::TooLarge { size: 4194305, .. }), "{err}");
    }

    #[test]
    fn display_is_relative_to_the_working_directory() {
        let cwd = Path::new("/work/repo");
        assert_eq!(
            display(Path::new("/work/repo/deploy/a.yaml"), Some(cwd)),
            "deploy/a.yaml"
        );
        assert_eq!(display(Path::new("/other/a.yaml"), Some(cwd)), "/other/a.yaml");
        assert_eq!(display(Path::new("/other/a.yaml"), None), "/other/a.yaml");
    }
}
