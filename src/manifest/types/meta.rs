//! Object metadata and label selectors shared by every kind.

use super::nullable;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `metadata` of an object or of a pod template.
///
/// Fields the cluster sets (uid, resourceVersion, ownerReferences, …) are typed loosely so that
/// validation can say they do not belong in a manifest instead of calling them unknown.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name, unique per kind within its namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Prefix the API server completes into a unique name when `name` is empty; rejected, as rekon
    /// needs fixed names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// Namespace of a namespaced object (`default` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Identifying key/value pairs that label selectors match.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Non-identifying key/value metadata for tools (256 KiB in total at most).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `kubectl create --dry-run -o yaml` writes `creationTimestamp: null`; only null is accepted.
    #[serde(default, skip_serializing)]
    pub creation_timestamp: Option<Value>,
    /// Objects this one belongs to, for garbage collection; rejected (rekon sets owners itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_references: Option<Value>,
    /// Keys that must be removed before a deletion completes; rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Value>,
    /// Unique ID assigned by the cluster; rejected in a manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<Value>,
    /// Version the API server uses for optimistic concurrency; rejected in a manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<Value>,
    /// Spec revision counter kept by the API server; rejected in a manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<Value>,
    /// When a graceful deletion was requested; rejected in a manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<Value>,
    /// Grace period of a pending deletion, in seconds; rejected in a manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<Value>,
    /// Server-side apply field ownership; rejected in a manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_fields: Option<Value>,
    /// Legacy URL of the object, no longer set by the API server; rejected in a manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<Value>,
}

impl ObjectMeta {
    /// Metadata with just a name (handy in tests and for generated objects).
    pub fn named(name: &str) -> Self {
        ObjectMeta {
            name: name.to_string(),
            ..Default::default()
        }
    }

    /// The namespace, `default` when unset.
    pub fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

/// A label selector (`matchLabels` and `matchExpressions`, ANDed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must all be present with exactly these values.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements, all of which must hold.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// Label key the requirement tests.
    #[serde(default)]
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[serde(default)]
    pub operator: String,
    /// Values for `In` and `NotIn` (at least one); empty for `Exists` and `DoesNotExist`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// A selector on exactly these labels.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Self {
        LabelSelector {
            match_labels: labels.clone(),
            match_expressions: Vec::new(),
        }
    }

    /// True when the selector selects nothing-in-particular, i.e. everything
    /// (`metav1.LabelSelectorAsSelector` of an empty selector is `labels.Everything()`).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether `labels` satisfy the selector (apimachinery `labels.Selector.Matches`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

impl LabelSelector {
    /// Parses kubectl's `-l` syntax (apimachinery `labels.Parse`): requirements joined by `,`,
    /// each `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` or `!k`.
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        let mut out = LabelSelector::default();
        let mut rest = text.trim();
        let bad = |why: &str| Err(format!("unable to parse the selector {text:?}: {why}"));
        while !rest.is_empty() {
            // A requirement ends at a `,` outside parentheses.
            let mut depth = 0;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    c == ',' && depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let req = rest[..end].trim();
            rest = rest.get(end + 1..).unwrap_or("").trim_start();
            let requirement = |key: &str, operator: &str, values: Vec<String>| LabelSelectorRequirement {
                key: key.trim().to_string(),
                operator: operator.to_string(),
                values,
            };
            let set = |list: &str| -> Option<Vec<String>> {
                let inner = list.trim().strip_prefix('(')?.strip_suffix(')')?;
                Some(
                    inner
                        .split(',')
                        .map(|v| v.trim().to_string())
                        .filter(|v| !v.is_empty())
                        .collect(),
                )
            };
            let r = if let Some(key) = req.strip_prefix('!') {
                requirement(key, "DoesNotExist", Vec::new())
            } else if let Some((k, v)) = req.split_once("!=") {
                requirement(k, "NotIn", vec![v.trim().to_string()])
            } else if let Some((k, v)) = req.split_once("==").or_else(|| req.split_once('=')) {
                requirement(k, "In", vec![v.trim().to_string()])
            } else if let Some((k, list)) = req.split_once(" notin ") {
                match set(list) {
                    Some(values) => requirement(k, "NotIn", values),
                    None => return bad("expected a (value, …) set after `notin`"),
                }
            } else if let Some((k, list)) = req.split_once(" in ") {
                match set(list) {
                    Some(values) => requirement(k, "In", values),
                    None => return bad("expected a (value, …) set after `in`"),
                }
            } else {
                requirement(req, "Exists", Vec::new())
            };
            if r.key.is_empty() || r.key.contains([' ', '(', ')']) {
                return bad("found an invalid key");
            }
            out.match_expressions.push(r);
        }
        Ok(out)
    }
}

impl LabelSelectorRequirement {
    /// Whether `labels` satisfy this one requirement; an unknown operator matches nothing.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator.as_str() {
            "In" => value.is_some_and(|v| self.values.contains(v)),
            "NotIn" => value.is_none_or(|v| !self.values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn kubectl_selectors_parse_as_apimachinery_does() {
        let labels: BTreeMap<String, String> = [("app", "web"), ("tier", "front")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (text, want) in [
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("app in (web, api)", true),
            ("tier notin (front)", false),
            ("app,!missing", true),
            ("!app", false),
            ("app=api", false),
        ] {
            assert_eq!(LabelSelector::parse(text).unwrap().matches(&labels), want, "{text}");
        }
        assert_eq!(
            LabelSelector::parse("app in web").unwrap_err(),
            "unable to parse the selector \"app in web\": expected a (value, …) set after `in`"
        );
    }

    #[test]
    fn selector_matches_labels_and_expressions() {
        let sel: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]
        }))
        .unwrap();
        assert!(sel.matches(&labels(&[("app", "web"), ("tier", "a")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "c")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "a"), ("canary", "1")])));
        assert!(!sel.matches(&labels(&[("tier", "a")])));
        assert!(LabelSelector::default().matches(&labels(&[])));
    }

    #[test]
    fn null_maps_read_as_empty_and_are_not_serialized() {
        let meta: ObjectMeta =
            serde_json::from_value(serde_json::json!({"name": "a", "labels": null, "creationTimestamp": null}))
                .unwrap();
        assert!(meta.labels.is_empty());
        assert_eq!(serde_json::to_value(&meta).unwrap(), serde_json::json!({"name": "a"}));
    }
}
