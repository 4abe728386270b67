//! The state's service account credentials: the ES256 key tokens are signed with and the CA
//! certificate of the `kube-root-ca.crt` ConfigMaps, made on first use below the state dir
//! (`serviceaccount/key.der`, mode 0600, its key id in `serviceaccount/kid`, and
//! `serviceaccount/ca.crt`). Reading them back parses no key: every apply reads them.
//!
//! rekon has no API server: the CA signs nothing and its key is not kept; the certificate is
//! there because clients that detect in-cluster config read it at start.

use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The key and certificate of one state.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    /// The signing key, PKCS#8 DER.
    pub key: Vec<u8>,
    /// The header's `kid`: base64url (no padding) of the SHA-256 of the public key's DER
    /// (`keyIDFromPublicKey`).
    pub kid: String,
    /// The CA certificate, PEM.
    pub ca_pem: String,
}

impl Credentials {
    /// Reads the credentials of the state at `state_dir`, making them the first time.
    pub fn load_or_create(state_dir: &Path) -> Result<Credentials, String> {
        let dir = state_dir.join("serviceaccount");
        let key_path = dir.join("key.der");
        let ca_path = dir.join("ca.crt");
        let kid_path = dir.join("kid");
        let fail = |what: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", what.display());
        // The key is written last: once it exists, the other two do.
        if !key_path.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| fail(&dir, &e))?;
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| fail(&key_path, &e))?;
            let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
            let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(spki));
            let ca = ca_certificate().map_err(|e| fail(&ca_path, &e))?;
            write_new(&ca_path, ca.as_bytes(), 0o644).map_err(|e| fail(&ca_path, &e))?;
            write_new(&kid_path, kid.as_bytes(), 0o644).map_err(|e| fail(&kid_path, &e))?;
            write_new(&key_path, &key.serialize_der(), 0o600).map_err(|e| fail(&key_path, &e))?;
        }
        let key = std::fs::read(&key_path).map_err(|e| fail(&key_path, &e))?;
        let ca_pem = std::fs::read_to_string(&ca_path).map_err(|e| fail(&ca_path, &e))?;
        let kid = match std::fs::read_to_string(&kid_path) {
            Ok(kid) => kid,
            // A key made before the id was kept beside it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let pair = rcgen::KeyPair::try_from(key.as_slice()).map_err(|e| fail(&key_path, &e))?;
                let spki = rcgen::PublicKeyData::subject_public_key_info(&pair);
                let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(spki));
                write_new(&kid_path, kid.as_bytes(), 0o644).map_err(|e| fail(&kid_path, &e))?;
                kid
            }
            Err(e) => return Err(fail(&kid_path, &e)),
        };
        Ok(Credentials { key, kid, ca_pem })
    }

    /// The key in base64, as a pod's data carries it.
    pub fn key_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.key)
    }
}

/// A self-signed CA certificate for ten years, `CN=rekon-ca`.
fn ca_certificate() -> Result<String, rcgen::Error> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, "rekon-ca");
    let now = std::time::SystemTime::now();
    params.not_before = now.into();
    params.not_after = (now + std::time::Duration::from_secs(10 * 365 * 24 * 3600)).into();
    Ok(params.self_signed(&key)?.pem())
}

/// Writes `bytes` to `path` through a temporary file renamed into place.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = Credentials::load_or_create(dir.path()).unwrap();
        let again = Credentials::load_or_create(dir.path()).unwrap();
        assert_eq!(first, again);
        // A state whose key has no id file beside it gets one.
        std::fs::remove_file(dir.path().join("serviceaccount/kid")).unwrap();
        assert_eq!(Credentials::load_or_create(dir.path()).unwrap(), first);
        assert!(
            first.ca_pem.starts_with("-----BEGIN CERTIFICATE-----\n"),
            "{}",
            first.ca_pem
        );
        assert_eq!(first.kid.len(), 43);
        // The key id is upstream's: base64url of the SHA-256 of the public key's DER.
        let pair = rcgen::KeyPair::try_from(first.key.as_slice()).unwrap();
        let spki = rcgen::PublicKeyData::subject_public_key_info(&pair);
        assert_eq!(
            first.kid,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(spki))
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("serviceaccount/key.der"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
