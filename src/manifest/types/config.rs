//! v1 ConfigMap and Secret.

use super::meta::ObjectMeta;
use super::nullable;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Configuration data as strings (`data`) and base64 bytes (`binaryData`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    /// API version of the object, `v1`.
    #[serde(default)]
    pub api_version: String,
    /// Object kind, `ConfigMap`.
    #[serde(default)]
    pub kind: String,
    /// Object metadata: name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// UTF-8 string values by key; a key may not also appear in `binaryData`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Values are base64 in the manifest, as in the API.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub binary_data: BTreeMap<String, String>,
    /// When `true`, the data cannot change in place: rekon deletes and recreates the object instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

/// Secret data. After defaulting, `string_data` is empty: it has been merged into `data`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// API version of the object, `v1`.
    #[serde(default)]
    pub api_version: String,
    /// Object kind, `Secret`.
    #[serde(default)]
    pub kind: String,
    /// Object metadata: name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Values are base64, as in the API.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Plain-text values; defaulting encodes them into `data`, overriding keys of the same name.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub string_data: BTreeMap<String, String>,
    /// Secret type, e.g. `Opaque` (API default) or `kubernetes.io/tls`; some types require certain keys.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// When `true`, `data` cannot change in place: rekon deletes and recreates the object instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

/// Decodes a base64 value as Go's `encoding/json` does for `[]byte` (standard alphabet,
/// padded; `\r` and `\n` are ignored by `base64.StdEncoding`).
pub fn decode_base64(value: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let cleaned: String = value.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD.decode(cleaned)
}

/// Encodes bytes as the API does.
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl ConfigMap {
    /// `binaryData` decoded; invalid values (rejected by validation) are left out.
    pub fn binary_bytes(&self) -> BTreeMap<String, Vec<u8>> {
        decode_map(&self.binary_data)
    }
}

impl Secret {
    /// `data` decoded; invalid values (rejected by validation) are left out.
    pub fn data_bytes(&self) -> BTreeMap<String, Vec<u8>> {
        decode_map(&self.data)
    }

    /// The secret type, `Opaque` when unset.
    pub fn secret_type(&self) -> &str {
        self.type_.as_deref().unwrap_or("Opaque")
    }
}

fn decode_map(map: &BTreeMap<String, String>) -> BTreeMap<String, Vec<u8>> {
    map.iter()
        .filter_map(|(k, v)| decode_base64(v).ok().map(|b| (k.clone(), b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_bytes_decodes_like_go() {
        let s: Secret = serde_json::from_value(serde_json::json!({
            "data": {"user": "YWRtaW4=", "wrapped": "YWRt\naW4=", "bad": "!!"}
        }))
        .unwrap();
        let bytes = s.data_bytes();
        assert_eq!(bytes["user"], b"admin");
        assert_eq!(bytes["wrapped"], b"admin");
        assert!(!bytes.contains_key("bad"));
        assert_eq!(encode_base64(b"admin"), "YWRtaW4=");
    }
}

/// An identity for the processes of pods (`v1` ServiceAccount).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    /// API version of the object, `v1`.
    #[serde(default)]
    pub api_version: String,
    /// Object kind, `ServiceAccount`.
    #[serde(default)]
    pub kind: String,
    /// Object metadata: name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Whether pods that run as it get its API token mounted unless they say otherwise
    /// (true when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// Pull secrets copied into pods that name none.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<super::container::LocalObjectReference>,
    /// Secrets pods of the account may use (legacy token Secrets; rekon makes none).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<serde_json::Value>,
}
