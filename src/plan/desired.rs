//! The desired side of a plan: each object as canonical JSON with Secret values hashed.

use crate::manifest::types::Kind;
use crate::manifest::{Manifests, ObjectId, Resource};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Text that stands in for a Secret value wherever a user could read it.
pub const SENSITIVE: &str = "(sensitive value)";

/// One object of the desired state, ready to be compared with the state.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    /// Kind, namespace and name of the object.
    pub id: ObjectId,
    /// The typed object; None for a Namespace rekon adds because objects use it.
    pub resource: Option<std::sync::Arc<Resource>>,
    /// Canonical JSON with every Secret value replaced by its keyed hash.
    pub value: Value,
    /// sha256 of `value`.
    pub hash: String,
    /// `file:line`, or `(implicit)`.
    pub origin: String,
}

/// Builds the desired objects of `manifests`; `hasher` is the state's keyed hash, so the same
/// Secret value always gives the same text and no value is kept in the clear.
pub fn desired_objects(manifests: &Manifests, hasher: &(dyn Fn(&[u8]) -> String + Sync)) -> Vec<DesiredObject> {
    // Each object's canonical value and hash are independent of the others.
    let mut out: Vec<DesiredObject> = crate::par::map(&manifests.objects, |loaded| {
        let mut value = loaded.resource.to_value();
        if loaded.resource.kind() == Kind::Secret {
            hash_secret_values(&mut value, hasher);
        }
        DesiredObject {
            id: loaded.resource.id(),
            resource: Some(std::sync::Arc::clone(&loaded.resource)),
            hash: hash_value(&value),
            value,
            origin: loaded.origin.clone(),
        }
    });
    for ns in &manifests.implicit_namespaces {
        let value = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        out.push(DesiredObject {
            id: ObjectId::new(Kind::Namespace, None, ns),
            resource: None,
            hash: hash_value(&value),
            value,
            origin: "(implicit)".to_string(),
        });
    }
    out
}

/// sha256 hex of a JSON value (serde_json's maps are sorted, so this is canonical).
pub fn hash_value(value: &Value) -> String {
    // Streamed into the hash: no copy of the text is kept.
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    serde_json::to_writer(&mut hashing, value).expect("a JSON value always serializes");
    hex::encode(hashing.0.finalize())
}

fn hash_secret_values(value: &mut Value, hasher: &dyn Fn(&[u8]) -> String) {
    for field in ["data", "stringData"] {
        if let Some(Value::Object(map)) = value.get_mut(field) {
            for v in map.values_mut() {
                let text = v.as_str().unwrap_or_default().to_string();
                *v = Value::String(hasher(text.as_bytes()));
            }
        }
    }
}

/// The value as a user may see it: Secret values masked. When `before` is given, a value
/// whose hash changed reads `(sensitive value changed)`.
pub fn displayable(kind: Kind, value: &Value, before: Option<&Value>) -> Value {
    let mut shown = value.clone();
    if kind != Kind::Secret {
        return shown;
    }
    for field in ["data", "stringData"] {
        if let Some(Value::Object(map)) = shown.get_mut(field) {
            for (key, v) in map.iter_mut() {
                let old = before.and_then(|b| b.get(field)).and_then(|d| d.get(key));
                let changed = matches!(old, Some(o) if o != v);
                *v = Value::String(if changed {
                    "(sensitive value changed)".into()
                } else {
                    SENSITIVE.into()
                });
            }
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_are_masked_and_changes_flagged() {
        let before = json!({"kind": "Secret", "data": {"a": "h1", "b": "h2"}});
        let after = json!({"kind": "Secret", "data": {"a": "h1", "b": "h3"}});
        let shown = displayable(Kind::Secret, &after, Some(&before));
        assert_eq!(shown["data"]["a"], SENSITIVE);
        assert_eq!(shown["data"]["b"], "(sensitive value changed)");
    }

    #[test]
    fn hash_is_stable_and_order_independent() {
        let a = json!({"x": 1, "y": {"b": 2, "a": 1}});
        let b = json!({"y": {"a": 1, "b": 2}, "x": 1});
        assert_eq!(hash_value(&a), hash_value(&b));
        assert_ne!(hash_value(&a), hash_value(&json!({"x": 2})));
    }
}
