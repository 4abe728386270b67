//! Test fixtures: layer tarballs (including hostile ones), OCI layouts and `docker save`
//! archives written by hand with the `tar` crate.

use super::archive::sha256;
use serde_json::json;
use std::fs;
use std::io::Write;
use std::path::Path;

/// One entry of a hand-built tarball.
pub(crate) enum E<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    /// A file with mode, uid and gid.
    Owned(&'a str, &'a [u8], u32, u64, u64),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Char(&'a str, u32, u32),
}

/// A tarball of `entries`; names are written raw, so `../x` and `/x` go in unchecked.
pub(crate) fn tar_of(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        let (name, data): (&str, &[u8]) = match e {
            E::Dir(n) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                (n, b"")
            }
            E::File(n, d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                (n, d)
            }
            E::Owned(n, d, mode, uid, gid) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_uid(*uid);
                h.set_gid(*gid);
                (n, d)
            }
            E::Symlink(n, t) | E::Hardlink(n, t) => {
                let kind = match e {
                    E::Symlink(..) => tar::EntryType::Symlink,
                    _ => tar::EntryType::Link,
                };
                h.set_entry_type(kind);
                h.set_mode(0o777);
                h.as_old_mut().linkname[..t.len()].copy_from_slice(t.as_bytes());
                (n, b"")
            }
            E::Char(n, major, minor) => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_mode(0o666);
                h.set_device_major(*major).unwrap();
                h.set_device_minor(*minor).unwrap();
                (n, b"")
            }
        };
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mtime(1_600_000_000);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// An OCI image config with these diff ids and an entrypoint.
pub(crate) fn config_json(diff_ids: &[String], entrypoint: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "created": "2024-01-02T03:04:05Z",
        "architecture": super::oci::host_arch(),
        "os": "linux",
        "config": { "Entrypoint": entrypoint, "Env": ["PATH=/bin", "A=1"], "WorkingDir": "/srv" },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    }))
    .unwrap()
}

fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let path = dir.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    digest
}

/// Writes an OCI layout to `dir`; each layer is `(uncompressed tar, gzip it?)`. Returns the
/// manifest digest.
pub(crate) fn oci_layout(dir: &Path, layers: &[(Vec<u8>, bool)], ref_name: &str) -> String {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let diff_ids: Vec<String> = layers.iter().map(|(t, _)| sha256(t)).collect();
    let config = config_json(&diff_ids, &["/bin/sh"]);
    let config_digest = put_blob(dir, &config);
    let descs: Vec<_> = layers
        .iter()
        .map(|(t, gz)| {
            let (bytes, mt) = match gz {
                true => (gzip(t), "application/vnd.oci.image.layer.v1.tar+gzip"),
                false => (t.clone(), "application/vnd.oci.image.layer.v1.tar"),
            };
            json!({ "mediaType": mt, "digest": put_blob(dir, &bytes), "size": bytes.len() })
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len() },
        "layers": descs,
    }))
    .unwrap();
    let manifest_digest = put_blob(dir, &manifest);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": { "org.opencontainers.image.ref.name": ref_name },
        }],
    });
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    manifest_digest
}

/// Writes a legacy `docker save` archive (`<id>/layer.tar`, `<hex>.json`, manifest.json)
/// to the file `out`; a repeated layer is stored as a symlink, as Docker does.
pub(crate) fn docker_archive(out: &Path, layers: &[Vec<u8>], repo_tag: &str) {
    let diff_ids: Vec<String> = layers.iter().map(|t| sha256(t)).collect();
    let config = config_json(&diff_ids, &["/bin/echo", "docker"]);
    let config_name = format!("{}.json", sha256(&config).trim_start_matches("sha256:"));
    let mut b = tar::Builder::new(Vec::new());
    let add = |b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    add(&mut b, &config_name, &config);
    let mut names = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = format!("layer{i}/layer.tar");
        match layers[..i].iter().position(|l| l == layer) {
            Some(j) => {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, &name, format!("../layer{j}/layer.tar")).unwrap();
            }
            None => add(&mut b, &name, layer),
        }
        names.push(name);
    }
    let manifest = json!([{ "Config": config_name, "RepoTags": [repo_tag], "Layers": names }]);
    add(&mut b, "manifest.json", &serde_json::to_vec(&manifest).unwrap());
    add(&mut b, "repositories", b"{}");
    fs::write(out, b.into_inner().unwrap()).unwrap();
}

/// Tars the directory `dir` into the file `out`, as `tar -C dir -cf out .` would.
pub(crate) fn tar_tree(dir: &Path, out: &Path) {
    let mut b = tar::Builder::new(fs::File::create(out).unwrap());
    b.follow_symlinks(false);
    b.append_dir_all(".", dir).unwrap();
    b.into_inner().unwrap();
}
