//! Reading import inputs: digests while streaming, gzip detection, and a [`Source`] that
//! reads named files from a directory or, by seeking, from a tar archive.

use super::ImageError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest uncompressed layer accepted: a guard against decompression bombs.
pub(crate) const MAX_LAYER_BYTES: u64 = 64 << 30;
/// Largest JSON document (index, manifest, config) read into memory.
pub(crate) const MAX_JSON_BYTES: u64 = 16 << 20;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const MAX_LINK_DEPTH: usize = 16;

/// Hashes (sha256) and counts what is read through it, failing past `limit` bytes.
pub(crate) struct DigestReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    limit: u64,
}

impl<R: Read> DigestReader<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Self {
        DigestReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
            limit,
        }
    }

    /// `sha256:<hex>` of everything read, and its length.
    pub(crate) fn finish(self) -> (String, u64) {
        (format!("sha256:{}", hex::encode(self.hasher.finalize())), self.count)
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            return Err(io::Error::other(format!(
                "larger than the limit of {} bytes",
                self.limit
            )));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// `sha256:<hex>` of a byte slice.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hex of a `sha256:<64 hex>` digest; None for anything else, so a digest from an
/// archive can safely become a file name.
pub(crate) fn digest_hex(digest: &str) -> Option<&str> {
    digest.strip_prefix("sha256:").filter(|h| super::reference::is_hex64(h))
}

/// Compression of a stream, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

pub(crate) fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Opens a file that may be gzip-compressed, decompressing transparently.
pub(crate) fn open_maybe_gzip(path: &Path) -> Result<Box<dyn Read>, ImageError> {
    let file = File::open(path).map_err(ImageError::io("open", path))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(ImageError::io("read", path))?;
    match sniff(head) {
        Compression::Gzip => Ok(Box::new(flate2::read::MultiGzDecoder::new(reader))),
        Compression::Zstd => Err(ImageError::bad(
            path,
            "zstd-compressed layers are not supported; convert the image with gzip layers \
             (skopeo copy --dest-compress-format gzip)",
        )),
        Compression::None => Ok(Box::new(reader)),
    }
}

/// Writes `bytes` to `path` atomically ([`crate::fsutil::write_atomic`]).
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    crate::fsutil::write_atomic(path, bytes).map_err(ImageError::io("write", path))
}

pub(crate) use crate::fsutil::unique;

/// Named files of an import input: a directory, or an uncompressed tar read by seeking.
pub(crate) enum Source {
    Dir(PathBuf),
    Tar(TarIndex),
}

/// Where each file of a tar archive lies.
pub(crate) struct TarIndex {
    /// The archive as the user named it, for messages.
    shown: PathBuf,
    /// The uncompressed tar that offsets refer to.
    file: PathBuf,
    items: HashMap<String, TarItem>,
}

enum TarItem {
    File {
        offset: u64,
        size: u64,
    },
    /// A symlink (target relative to the link's directory) or hard link (target relative
    /// to the archive root), stored as the archive path it points at.
    Link(String),
    Other,
}

impl TarIndex {
    /// Indexes the uncompressed tar `file`; `shown` names it in messages.
    pub(crate) fn build(file: &Path, shown: &Path) -> Result<TarIndex, ImageError> {
        let bad = |e: io::Error| ImageError::bad(shown, format!("cannot read the tar archive: {e}"));
        let f = File::open(file).map_err(ImageError::io("open", file))?;
        let mut archive = tar::Archive::new(f);
        let mut items = HashMap::new();
        for entry in archive.entries_with_seek().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            let Some(name) = entry.path().ok().and_then(|p| clean_name(&p.to_string_lossy())) else {
                continue;
            };
            let item = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => TarItem::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                },
                tar::EntryType::Symlink => {
                    let target = entry.link_name().ok().flatten().unwrap_or_default();
                    let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                    match clean_name(&format!("{dir}/{}", target.to_string_lossy())) {
                        Some(t) => TarItem::Link(t),
                        None => TarItem::Other,
                    }
                }
                tar::EntryType::Link => {
                    let target = entry.link_name().ok().flatten().unwrap_or_default();
                    match clean_name(&target.to_string_lossy()) {
                        Some(t) => TarItem::Link(t),
                        None => TarItem::Other,
                    }
                }
                _ => TarItem::Other,
            };
            items.insert(name, item);
        }
        Ok(TarIndex {
            shown: shown.to_path_buf(),
            file: file.to_path_buf(),
            items,
        })
    }
}

/// `./a//b` → `a/b`; None when `..` leaves the root or nothing is left.
fn clean_name(name: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    (!out.is_empty()).then(|| out.join("/"))
}

impl Source {
    /// The input as the user named it.
    pub(crate) fn shown(&self) -> &Path {
        match self {
            Source::Dir(d) => d,
            Source::Tar(t) => &t.shown,
        }
    }

    /// Whether the input holds a regular file `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        match self {
            Source::Dir(d) => clean_name(name).is_some_and(|n| d.join(n).is_file()),
            Source::Tar(t) => t.resolve(name).is_some(),
        }
    }

    /// Opens the file `name` (a path inside the input).
    pub(crate) fn open(&self, name: &str) -> Result<Box<dyn Read>, ImageError> {
        let missing = || ImageError::bad(self.shown(), format!("{name} is missing"));
        match self {
            Source::Dir(d) => {
                let path = d.join(clean_name(name).ok_or_else(missing)?);
                let f = File::open(&path).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => missing(),
                    _ => ImageError::io("open", &path)(e),
                })?;
                Ok(Box::new(f))
            }
            Source::Tar(t) => {
                let (offset, size) = t.resolve(name).ok_or_else(missing)?;
                let mut f = File::open(&t.file).map_err(ImageError::io("open", &t.file))?;
                f.seek(SeekFrom::Start(offset))
                    .map_err(ImageError::io("read", &t.file))?;
                Ok(Box::new(f.take(size)))
            }
        }
    }

    /// Reads and parses the JSON file `name`; `what` names it in errors.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, ImageError> {
        let bytes = self.bytes(name)?;
        serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
            path: self.shown().to_path_buf(),
            what: name.to_string(),
            source,
        })
    }

    /// Reads the small file `name` into memory.
    pub(crate) fn bytes(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        let mut bytes = Vec::new();
        self.open(name)?
            .take(MAX_JSON_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ImageError::bad(self.shown(), format!("cannot read {name}: {e}")))?;
        if bytes.len() as u64 > MAX_JSON_BYTES {
            return Err(ImageError::bad(
                self.shown(),
                format!("{name} is larger than {MAX_JSON_BYTES} bytes"),
            ));
        }
        Ok(bytes)
    }
}

impl TarIndex {
    fn resolve(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = clean_name(name)?;
        for _ in 0..MAX_LINK_DEPTH {
            match self.items.get(&name)? {
                TarItem::File { offset, size } => return Some((*offset, *size)),
                TarItem::Link(target) => name = target.clone(),
                TarItem::Other => return None,
            }
        }
        None
    }
}
