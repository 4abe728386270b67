//! Reading an OCI image layout (`oci-layout`, `index.json`, `blobs/`), as `skopeo copy …
//! oci:` writes it (OCI image-spec `image-layout.md`, `image-index.md`, `manifest.md`).

use super::ImageError;
use super::archive::{Source, digest_hex, sha256};
use super::import::{Found, FoundLayer};
use super::reference::Reference;
use serde::Deserialize;

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MAX_NESTING: usize = 4;

#[derive(Deserialize)]
struct Layout {
    #[serde(rename = "imageLayoutVersion")]
    version: String,
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize, Clone)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    platform: Option<Platform>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Clone)]
struct Platform {
    architecture: String,
    os: String,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// Finds the image to import in an OCI layout: the only manifest for this host's platform,
/// or, when there are several, the one whose `org.opencontainers.image.ref.name` is the
/// name's tag or the name itself.
pub(crate) fn read(src: &Source, name: &Reference) -> Result<Found, ImageError> {
    let layout: Layout = src.json("oci-layout")?;
    if !layout.version.starts_with("1.") {
        return Err(ImageError::bad(
            src.shown(),
            format!("unsupported OCI layout version {}", layout.version),
        ));
    }
    let index: Index = src.json("index.json")?;
    let mut candidates = Vec::new();
    collect(src, &index.manifests, None, 0, &mut candidates)?;
    let arch = host_arch();
    candidates.retain(|(d, _)| {
        d.platform
            .as_ref()
            .is_none_or(|p| p.os == "linux" && p.architecture == arch)
    });
    let chosen = match candidates.len() {
        0 => {
            return Err(ImageError::bad(src.shown(), format!("holds no image for linux/{arch}")));
        }
        1 => candidates.remove(0),
        n => {
            let tag = name.tag.as_deref().unwrap_or_default();
            let mut matching: Vec<_> = candidates
                .iter()
                .filter(|(_, r)| {
                    r.as_deref().is_some_and(|r| {
                        r == tag || Reference::parse(r).is_ok_and(|p| p.to_string() == name.to_string())
                    })
                })
                .cloned()
                .collect();
            if matching.len() != 1 {
                let names: Vec<String> = candidates
                    .iter()
                    .map(|(d, r)| r.clone().unwrap_or_else(|| d.digest.clone()))
                    .collect();
                return Err(ImageError::bad(
                    src.shown(),
                    format!(
                        "holds {n} images ({}); import it under one of these ref names",
                        names.join(", ")
                    ),
                ));
            }
            matching.remove(0)
        }
    };
    let (desc, _) = chosen;
    let manifest_bytes = verified(src, &desc.digest, "the image manifest")?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|source| ImageError::Json {
        path: src.shown().to_path_buf(),
        what: "the image manifest".into(),
        source,
    })?;
    let config = verified(src, &manifest.config.digest, "the image config")?;
    let layers = manifest
        .layers
        .iter()
        .map(|l| {
            Ok(FoundLayer {
                path: blob_path(src, &l.digest)?,
                digest: Some(l.digest.clone()),
            })
        })
        .collect::<Result<_, ImageError>>()?;
    Ok(Found {
        config,
        manifest_digest: Some(desc.digest),
        layers,
    })
}

/// Reads a small blob and checks it has the digest that named it.
fn verified(src: &Source, digest: &str, what: &str) -> Result<Vec<u8>, ImageError> {
    let bytes = src.bytes(&blob_path(src, digest)?)?;
    let actual = sha256(&bytes);
    if actual != digest {
        return Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(bytes)
}

/// Walks nested indexes down to image manifests, keeping the ref name of the top-level
/// descriptor each came from.
fn collect(
    src: &Source,
    descriptors: &[Descriptor],
    ref_name: Option<&str>,
    depth: usize,
    out: &mut Vec<(Descriptor, Option<String>)>,
) -> Result<(), ImageError> {
    if depth > MAX_NESTING {
        return Err(ImageError::bad(src.shown(), "image indexes nested too deeply"));
    }
    for d in descriptors {
        let r = ref_name.or(d.annotations.get(REF_NAME).map(String::as_str));
        if INDEX_TYPES.contains(&d.media_type.as_str()) {
            let nested: Index = src.json(&blob_path(src, &d.digest)?)?;
            collect(src, &nested.manifests, r, depth + 1, out)?;
        } else {
            out.push((d.clone(), r.map(str::to_string)));
        }
    }
    Ok(())
}

/// `blobs/sha256/<hex>` for a digest, refusing anything that is not a sha256 digest.
fn blob_path(src: &Source, digest: &str) -> Result<String, ImageError> {
    digest_hex(digest)
        .map(|hex| format!("blobs/sha256/{hex}"))
        .ok_or_else(|| ImageError::bad(src.shown(), format!("unsupported digest {digest:?}")))
}

/// This host's architecture in OCI (GOARCH) spelling.
pub(crate) fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "arm" => "arm",
        other => other,
    }
}
