//! ConfigMaps and Secrets (`ValidateConfigMap`, `ValidateSecret`): keys, base64, size.

use super::{Errors, key};
use crate::manifest::names;
use crate::manifest::types::config::{ConfigMap, Secret, decode_base64};

/// `MaxSecretSize` and the ConfigMap limit (`RuntimeObjectsMaxSize`): 1 MiB.
const MAX_DATA_BYTES: usize = 1024 * 1024;

/// Validates a ConfigMap.
pub fn config_map(errs: &mut Errors, cm: &ConfigMap) {
    let mut total = 0;
    for (k, v) in &cm.data {
        data_key(errs, "data", k);
        total += v.len();
    }
    for (k, v) in &cm.binary_data {
        data_key(errs, "binaryData", k);
        if cm.data.contains_key(k) {
            errs.invalid(
                key("binaryData", k),
                k,
                format!("duplicate of key {k:?} present in data"),
            );
        }
        match decode_base64(v) {
            Ok(bytes) => total += bytes.len(),
            Err(e) => errs.invalid(key("binaryData", k), "<value>", base64_message(&e)),
        }
    }
    too_big(errs, "data", total);
}

/// Validates a (defaulted: `stringData` already merged) Secret.
pub fn secret(errs: &mut Errors, s: &Secret) {
    let mut total = 0;
    for (k, v) in &s.data {
        data_key(errs, "data", k);
        match decode_base64(v) {
            Ok(bytes) => total += bytes.len(),
            // The value is secret: never echo it.
            Err(e) => errs.invalid(key("data", k), "<secret value>", base64_message(&e)),
        }
    }
    too_big(errs, "data", total);
    let required: &[&str] = match s.secret_type() {
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/service-account-token" => {
            errs.not_supported("type", "rekon has no API server to issue service account tokens");
            &[]
        }
        _ => &[],
    };
    for k in required {
        if !s.data.contains_key(*k) {
            errs.required(key("data", k));
        }
    }
}

fn data_key(errs: &mut Errors, field: &str, k: &str) {
    for msg in names::config_map_key(k) {
        errs.invalid(key(field, k), k, msg);
    }
}

/// Go's `base64.CorruptInputError` wording.
fn base64_message(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol { offset: at, .. } => {
            format!("illegal base64 data at input byte {at}")
        }
        _ => "illegal base64 data".to_string(),
    }
}

fn too_big(errs: &mut Errors, path: &str, total: usize) {
    if total > MAX_DATA_BYTES {
        errs.push(path, format!("too long: must have at most {MAX_DATA_BYTES} bytes"));
    }
}
