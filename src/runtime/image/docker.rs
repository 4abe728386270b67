//! Reading a `docker save` archive: `manifest.json` listing each image's config file and
//! layer tars (moby `image/tarexport/save.go`; both the legacy `<id>/layer.tar` layout and
//! the Docker 25+ `blobs/sha256/<hex>` layout).

use super::ImageError;
use super::archive::{Source, digest_hex};
use super::import::{Found, FoundLayer};
use super::reference::Reference;
use serde::Deserialize;

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

/// Finds the image to import: the only one in the archive, or the one tagged `name`.
pub(crate) fn read(src: &Source, name: &Reference) -> Result<Found, ImageError> {
    let mut entries: Vec<Entry> = src.json("manifest.json")?;
    let entry = match entries.len() {
        0 => return Err(ImageError::bad(src.shown(), "manifest.json lists no image")),
        1 => entries.remove(0),
        n => {
            let wanted = name.to_string();
            let tags = |e: &Entry| e.repo_tags.clone().unwrap_or_default();
            let pos = entries.iter().position(|e| {
                tags(e)
                    .iter()
                    .any(|t| Reference::parse(t).is_ok_and(|r| r.to_string() == wanted))
            });
            match pos {
                Some(i) => entries.remove(i),
                None => {
                    let all: Vec<String> = entries.iter().flat_map(tags).collect();
                    return Err(ImageError::bad(
                        src.shown(),
                        format!(
                            "holds {n} images ({}); import it under one of these names",
                            all.join(", ")
                        ),
                    ));
                }
            }
        }
    };
    let config = src.bytes(&entry.config)?;
    let layers = entry
        .layers
        .into_iter()
        .map(|path| {
            // Docker 25+ names layers by digest; the legacy layout does not.
            let digest = path
                .strip_prefix("blobs/sha256/")
                .filter(|h| digest_hex(&format!("sha256:{h}")).is_some())
                .map(|h| format!("sha256:{h}"));
            FoundLayer { path, digest }
        })
        .collect();
    Ok(Found {
        config,
        manifest_digest: None,
        layers,
    })
}
