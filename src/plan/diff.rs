//! Comparing two versions of an object: in-place update or replacement, and the YAML diff.

use super::desired::displayable;
use crate::manifest::types::Kind;
use serde_json::Value;
use similar::TextDiff;

/// Fields that cannot change in place, per kind (apiserver `ValidateXUpdate` rules; a Pod's
/// spec is immutable but for a few fields, which rekon treats as a rebuild, like a kubelet
/// restart would).
fn immutable_paths(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Pod => &["/spec"],
        Kind::Deployment | Kind::ReplicaSet | Kind::DaemonSet | Kind::ReplicationController => &["/spec/selector"],
        Kind::StatefulSet => &[
            "/spec/selector",
            "/spec/serviceName",
            "/spec/volumeClaimTemplates",
            "/spec/podManagementPolicy",
        ],
        Kind::Job => &["/spec/selector", "/spec/template", "/spec/completionMode"],
        Kind::Service => &["/spec/clusterIP"],
        Kind::PersistentVolumeClaim => &[
            "/spec/accessModes",
            "/spec/storageClassName",
            "/spec/volumeName",
            "/spec/volumeMode",
            "/spec/selector",
        ],
        Kind::PersistentVolume => &["/spec/hostPath", "/spec/local", "/spec/volumeMode"],
        Kind::StorageClass => &["/provisioner", "/parameters", "/reclaimPolicy", "/volumeBindingMode"],
        Kind::Secret => &["/type"],
        _ => &[],
    }
}

/// Why `old` cannot become `new` in place, or None when an in-place update will do.
pub fn replace_reason(kind: Kind, old: &Value, new: &Value) -> Option<String> {
    for path in immutable_paths(kind) {
        if old.pointer(path) != new.pointer(path) {
            let field = path.trim_start_matches('/').replace('/', ".");
            return Some(format!("because {field} cannot be changed in place"));
        }
    }
    // An immutable ConfigMap or Secret cannot change its data.
    if old.get("immutable") == Some(&Value::Bool(true))
        && (old.get("data") != new.get("data") || old.get("binaryData") != new.get("binaryData"))
    {
        return Some("because the object is immutable".to_string());
    }
    None
}

/// YAML text of a value as a user may read it.
pub fn to_yaml(value: &Value) -> String {
    serde_yaml::to_string(value).expect("a JSON value always renders as YAML")
}

/// The unified diff of what changes; for a create, every line of the new object with `+`.
pub fn yaml_diff(kind: Kind, old: Option<&Value>, new: Option<&Value>) -> String {
    let old_text = old.map(|o| to_yaml(&displayable(kind, o, None))).unwrap_or_default();
    let new_text = new.map(|n| to_yaml(&displayable(kind, n, old))).unwrap_or_default();
    match (old, new) {
        (None, Some(_)) => new_text.lines().map(|l| format!("+ {l}\n")).collect(),
        (Some(_), None) => String::new(),
        _ => {
            let diff = TextDiff::from_lines(&old_text, &new_text);
            let mut out = String::new();
            for hunk in diff.unified_diff().context_radius(2).iter_hunks() {
                for change in hunk.iter_changes() {
                    let sign = match change.tag() {
                        similar::ChangeTag::Delete => "-",
                        similar::ChangeTag::Insert => "+",
                        similar::ChangeTag::Equal => " ",
                    };
                    out.push_str(sign);
                    out.push(' ');
                    out.push_str(change.value().trim_end_matches('\n'));
                    out.push('\n');
                }
                out.push_str("  ...\n");
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selector_change_forces_replacement() {
        let old = json!({"spec": {"selector": {"matchLabels": {"app": "a"}}, "replicas": 1}});
        let new = json!({"spec": {"selector": {"matchLabels": {"app": "b"}}, "replicas": 1}});
        assert_eq!(
            replace_reason(Kind::Deployment, &old, &new).as_deref(),
            Some("because spec.selector cannot be changed in place")
        );
        let scaled = json!({"spec": {"selector": {"matchLabels": {"app": "a"}}, "replicas": 3}});
        assert_eq!(replace_reason(Kind::Deployment, &old, &scaled), None);
    }

    #[test]
    fn pod_label_change_is_in_place_but_spec_change_is_not() {
        let old = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"x": 1}});
        let relabel = json!({"metadata": {"labels": {"a": "2"}}, "spec": {"x": 1}});
        let respec = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"x": 2}});
        assert_eq!(replace_reason(Kind::Pod, &old, &relabel), None);
        assert!(replace_reason(Kind::Pod, &old, &respec).is_some());
    }

    #[test]
    fn diff_shows_only_changed_lines_with_context() {
        let old = json!({"data": {"a": "1", "b": "2"}, "kind": "ConfigMap"});
        let new = json!({"data": {"a": "1", "b": "3"}, "kind": "ConfigMap"});
        let d = yaml_diff(Kind::ConfigMap, Some(&old), Some(&new));
        assert!(d.contains("-   b: '2'\n"), "{d}");
        assert!(d.contains("+   b: '3'\n"), "{d}");
        assert!(d.contains("    a: '1'\n"), "{d}");
    }

    #[test]
    fn secret_diff_never_shows_values() {
        let old = json!({"kind": "Secret", "data": {"p": "hmac-sha256:aa"}});
        let new = json!({"kind": "Secret", "data": {"p": "hmac-sha256:bb"}});
        let d = yaml_diff(Kind::Secret, Some(&old), Some(&new));
        assert!(!d.contains("hmac"), "{d}");
        assert!(d.contains("+   p: (sensitive value changed)"), "{d}");
    }
}
