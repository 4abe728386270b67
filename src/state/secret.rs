//! The state's secret key: Secret values are stored only as HMAC-SHA256 hashes under it.

use crate::state::error::StateError;
use crate::state::store::{ensure_dir, fsync_dir};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

const KEY_FILE: &str = "secret.key";
const KEY_LEN: usize = 32;

/// 32 random bytes kept in `secret.key` (0600). Keyed hashes cannot be reversed by guessing
/// short secrets against the state file alone.
#[derive(Clone)]
pub struct SecretKey {
    key: [u8; KEY_LEN],
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// The key of state directory `dir`, created on first use.
    pub fn load_or_create(dir: &Path) -> Result<SecretKey, StateError> {
        ensure_dir(dir)?;
        let path = dir.join(KEY_FILE);
        loop {
            match fs::read(&path) {
                Ok(bytes) => {
                    let key = bytes.as_slice().try_into().map_err(|_| StateError::BadKey {
                        path: path.clone(),
                        expected: KEY_LEN,
                        found: bytes.len(),
                    })?;
                    return Ok(SecretKey { key });
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(StateError::io("read", &path)(e)),
            }
            let key: [u8; KEY_LEN] = rand::random();
            // Write a private temp file, then link it into place: the key appears whole or not
            // at all, and of two racing runs the first one's key wins (link never replaces).
            let tmp = dir.join(format!("{KEY_FILE}.tmp.{}", hex::encode(rand::random::<[u8; 8]>())));
            let written = write_new(&tmp, &key).and_then(|()| match fs::hard_link(&tmp, &path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(StateError::io("link", &path)(e)),
            });
            let _ = fs::remove_file(&tmp);
            if written? {
                fsync_dir(dir)?;
                return Ok(SecretKey { key });
            }
        }
    }

    /// `hmac-sha256:<hex>` of `bytes` under this key.
    pub fn hash(&self, bytes: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("hmac takes any key length");
        mac.update(bytes);
        format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(StateError::io("create", path))?;
    file.write_all(bytes).map_err(StateError::io("write", path))?;
    file.sync_all().map_err(StateError::io("fsync", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_persists_with_mode_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let a = SecretKey::load_or_create(tmp.path()).unwrap();
        let b = SecretKey::load_or_create(tmp.path()).unwrap();
        assert_eq!(a.hash(b"hunter2"), b.hash(b"hunter2"));
        let meta = fs::metadata(tmp.path().join(KEY_FILE)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), KEY_LEN as u64);
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![KEY_FILE], "no temp file left behind");
    }

    #[test]
    fn hash_format_and_keys_differ() {
        let (t1, t2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = SecretKey::load_or_create(t1.path()).unwrap();
        let b = SecretKey::load_or_create(t2.path()).unwrap();
        let h = a.hash(b"hunter2");
        assert!(h.starts_with("hmac-sha256:"));
        assert_eq!(h.len(), "hmac-sha256:".len() + 64);
        assert_ne!(h, b.hash(b"hunter2"));
        assert_ne!(h, a.hash(b"hunter3"));
        assert_eq!(format!("{a:?}"), "SecretKey(..)");
    }

    #[test]
    fn hash_matches_an_independent_hmac_sha256() {
        // Python: hmac.new(b"\x0b" * 32, b"Hi There", hashlib.sha256).hexdigest()
        let key = SecretKey { key: [0x0b; KEY_LEN] };
        assert_eq!(
            key.hash(b"Hi There"),
            "hmac-sha256:198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"
        );
    }

    #[test]
    fn short_key_file_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(KEY_FILE), b"short").unwrap();
        let err = SecretKey::load_or_create(tmp.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "secret key {} is corrupt: expected 32 bytes, found 5",
                tmp.path().join(KEY_FILE).display()
            )
        );
    }
}
