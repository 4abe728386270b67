//! What configMap, secret, downwardAPI and projected volumes contain (the volume plugins'
//! `MakePayload`, `CollectData`; `spec/k8s-semantics.md` §9.3–§9.5), and the downward API
//! values env and volumes share (`podFieldSelectorRuntimeValue`, `ExtractContainerResourceValue`).

use super::data::{PodData, RefKind};
use crate::manifest::Quantity;
use crate::manifest::types::container::{Container, ResourceFieldSelector};
use crate::manifest::types::pod::PodSpec;
use crate::manifest::types::volume::{DownwardApiVolumeFile, KeyToPath, Volume};
use crate::runtime::PodRequest;
use std::collections::BTreeMap;

/// The API default of every `defaultMode` (`SecretVolumeSourceDefaultMode` and siblings).
pub const DEFAULT_MODE: u32 = 0o644;

/// One file of a volume: its bytes and its permission bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    /// The bytes.
    pub data: Vec<u8>,
    /// Permission bits, 0 to 0777.
    pub mode: u32,
}

/// A volume's files by relative path.
pub type Payload = BTreeMap<String, FileContent>;

fn mode_of(mode: Option<i32>, default: u32) -> u32 {
    mode.map_or(default, |m| (m as u32) & 0o777)
}

/// The files of a configMap, secret, downwardAPI or projected volume; the error is the
/// kubelet's `MountVolume.SetUp` message. None for other volume kinds.
pub fn volume_payload(req: &PodRequest, data: &PodData, volume: &Volume) -> Option<Result<Payload, String>> {
    volume_payload_at(req, data, volume, crate::time::now())
}

/// [`volume_payload`], with the service account tokens of a projected volume minted at `now`.
pub fn volume_payload_at(
    req: &PodRequest,
    data: &PodData,
    volume: &Volume,
    now: crate::time::Time,
) -> Option<Result<Payload, String>> {
    if let Some(cm) = &volume.config_map {
        let source = Keys::new(RefKind::ConfigMap, &cm.name, &cm.items, cm.optional);
        return Some(source.payload(req, data, mode_of(cm.default_mode, DEFAULT_MODE), false));
    }
    if let Some(s) = &volume.secret {
        let source = Keys::new(RefKind::Secret, &s.secret_name, &s.items, s.optional);
        return Some(source.payload(req, data, mode_of(s.default_mode, DEFAULT_MODE), false));
    }
    if let Some(d) = &volume.downward_api {
        return Some(downward(req, data, &d.items, mode_of(d.default_mode, DEFAULT_MODE)));
    }
    let projected = volume.projected.as_ref()?;
    let mode = mode_of(projected.default_mode, DEFAULT_MODE);
    let collect = || {
        let mut out = Payload::new();
        for source in &projected.sources {
            let keys = match (&source.config_map, &source.secret) {
                (Some(cm), _) => Some(Keys::new(RefKind::ConfigMap, &cm.name, &cm.items, cm.optional)),
                (None, Some(s)) => Some(Keys::new(RefKind::Secret, &s.name, &s.items, s.optional)),
                (None, None) => None,
            };
            let part = match (keys, &source.downward_api, &source.service_account_token) {
                (Some(keys), _, _) => keys.payload(req, data, mode, true)?,
                (None, Some(d), _) => downward(req, data, &d.items, mode)?,
                (None, None, Some(t)) => token_file(req, data, t, mode, now)?,
                // Validation refuses the sources rekon cannot project.
                (None, None, None) => Payload::new(),
            };
            out.extend(part);
        }
        Ok(out)
    };
    Some(collect())
}

/// The token file of a `serviceAccountToken` projection, minted for the pod at `now`.
fn token_file(
    req: &PodRequest,
    data: &PodData,
    source: &crate::manifest::types::volume::ServiceAccountTokenProjection,
    mode: u32,
    now: crate::time::Time,
) -> Result<Payload, String> {
    use super::token::{TokenRequest, mint};
    let issuer = data
        .token
        .as_ref()
        .ok_or_else(|| "failed to fetch token: the pod's service account is unknown".to_string())?;
    let token = mint(
        issuer,
        &TokenRequest {
            namespace: &req.namespace,
            audiences: source.audience.iter().filter(|a| !a.is_empty()).cloned().collect(),
            expiration_seconds: source.expiration_seconds.unwrap_or(3600),
            pod: Some((&req.name, &req.uid, &req.node)),
            now,
        },
    )?;
    let mut out = Payload::new();
    out.insert(
        source.path.clone(),
        FileContent {
            data: token.into_bytes(),
            mode,
        },
    );
    Ok(out)
}

/// When the tokens of `spec`'s projected volumes, minted at `minted`, are due for renewal:
/// the earliest 80 % of their lifetimes, or None without any.
pub fn token_refresh(spec: &PodSpec, minted: crate::time::Time) -> Option<crate::time::Time> {
    token_sources(spec)
        .map(|t| super::token::refresh_at(minted, t.expiration_seconds.unwrap_or(3600)))
        .min()
}

/// The `serviceAccountToken` sources of `spec`'s projected volumes.
pub fn token_sources(
    spec: &PodSpec,
) -> impl Iterator<Item = &crate::manifest::types::volume::ServiceAccountTokenProjection> {
    spec.volumes
        .iter()
        .filter_map(|v| v.projected.as_ref())
        .flat_map(|p| &p.sources)
        .filter_map(|s| s.service_account_token.as_ref())
}

/// The keys a configMap or secret volume (or projection) takes from its object.
struct Keys<'a> {
    kind: RefKind,
    name: &'a str,
    items: &'a [KeyToPath],
    optional: bool,
}

impl<'a> Keys<'a> {
    fn new(kind: RefKind, name: &'a str, items: &'a [KeyToPath], optional: Option<bool>) -> Self {
        Keys {
            kind,
            name,
            items,
            optional: optional.unwrap_or(false),
        }
    }

    /// All the object's keys, or the listed `items`, as files of `mode` unless an item says
    /// otherwise. A projection names the object in its error, as the projected plugin does.
    fn payload(&self, req: &PodRequest, data: &PodData, mode: u32, projected: bool) -> Result<Payload, String> {
        let (kind, name) = (self.kind, self.name);
        let object = match data.object(kind, name) {
            Ok(o) => o,
            Err(_) if self.optional => return Ok(Payload::new()),
            Err(e) if projected => return Err(format!("couldn't get {} {}/{name}: {e}", kind.lower(), req.namespace)),
            Err(e) => return Err(e),
        };
        let all = object.all();
        if self.items.is_empty() {
            return Ok(all
                .into_iter()
                .map(|(k, data)| (k, FileContent { data, mode }))
                .collect());
        }
        let mut out = Payload::new();
        for item in self.items {
            match all.get(&item.key) {
                Some(bytes) => {
                    let file = FileContent {
                        data: bytes.clone(),
                        mode: mode_of(item.mode, mode),
                    };
                    out.insert(item.path.clone(), file);
                }
                None if self.optional => {}
                None => {
                    return Err(match kind {
                        RefKind::ConfigMap => format!("configmap references non-existent config key: {}", item.key),
                        RefKind::Secret => format!("references non-existent secret key: {}", item.key),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The container of the pod named `name`, init containers included.
pub fn container_named<'a>(spec: &'a PodSpec, name: &str) -> Result<&'a Container, String> {
    spec.init_containers
        .iter()
        .chain(&spec.containers)
        .find(|c| c.name == name)
        .ok_or_else(|| format!("container {name} not found"))
}

fn downward(req: &PodRequest, data: &PodData, items: &[DownwardApiVolumeFile], mode: u32) -> Result<Payload, String> {
    let mut out = Payload::new();
    for item in items {
        let value = if let Some(field) = &item.field_ref {
            volume_field(req, data, &field.field_path)
                .ok_or_else(|| format!("unsupported fieldPath: {}", field.field_path))?
        } else if let Some(resource) = &item.resource_field_ref {
            let name = resource.container_name.as_deref().unwrap_or_default();
            let container = container_named(&req.spec, name)?;
            resource_value(resource, container, &data.allocatable)?
        } else {
            continue;
        };
        out.insert(
            item.path.clone(),
            FileContent {
                data: value.into_bytes(),
                mode: mode_of(item.mode, mode),
            },
        );
    }
    Ok(out)
}

/// A downward API field as a volume file: the env fields of the pod's metadata, and the
/// whole `metadata.labels` or `metadata.annotations` as `key="value"` lines.
fn volume_field(req: &PodRequest, data: &PodData, path: &str) -> Option<String> {
    match path {
        "metadata.labels" => Some(format_map(&data.labels)),
        "metadata.annotations" => Some(format_map(&data.annotations)),
        "metadata.name" | "metadata.namespace" | "metadata.uid" => pod_field(req, data, path, None, None),
        _ if path.starts_with("metadata.labels['") || path.starts_with("metadata.annotations['") => {
            pod_field(req, data, path, None, None)
        }
        _ => None,
    }
}

/// A downward API field of the pod (`podFieldSelectorRuntimeValue`): labels and annotations
/// from `data`, the IPs from the caller (empty when the pod has none).
pub fn pod_field(
    req: &PodRequest,
    data: &PodData,
    path: &str,
    pod_ip: Option<&str>,
    host_ip: Option<&str>,
) -> Option<String> {
    let quoted_key = |prefix: &str| path.strip_prefix(prefix)?.strip_suffix("']").map(str::to_string);
    Some(match path {
        "metadata.name" => req.name.clone(),
        "metadata.namespace" => req.namespace.clone(),
        "metadata.uid" => req.uid.clone(),
        "spec.nodeName" => req.node.clone(),
        "spec.serviceAccountName" => req
            .spec
            .service_account_name
            .clone()
            .unwrap_or_else(|| "default".into()),
        "status.podIP" | "status.podIPs" => pod_ip.unwrap_or_default().to_string(),
        "status.hostIP" | "status.hostIPs" => host_ip.unwrap_or_default().to_string(),
        _ => {
            if let Some(key) = quoted_key("metadata.labels['") {
                return Some(data.labels.get(&key).cloned().unwrap_or_default());
            }
            let key = quoted_key("metadata.annotations['")?;
            data.annotations.get(&key).cloned().unwrap_or_default()
        }
    })
}

/// `ExtractContainerResourceValue`: ceil(value / divisor), cpu in millicores; a limit that is
/// not set is the node's allocatable (`MergeContainerResourceLimits`), a request that is not
/// set is the limit given in the manifest (the API default), else 0.
pub fn resource_value(
    selector: &ResourceFieldSelector,
    container: &Container,
    allocatable: &super::data::Allocatable,
) -> Result<String, String> {
    let one = Quantity::parse("1").expect("a valid quantity");
    let divisor = selector.divisor.filter(|d| d.milli_value() != 0).unwrap_or(one);
    let r = &container.resources;
    let (field, name) = selector
        .resource
        .split_once('.')
        .ok_or_else(|| format!("unsupported container resource : {}", selector.resource))?;
    let limit = r.limits.get(name);
    let value = |q: Option<&Quantity>, alloc: i64, cpu: bool| -> i64 {
        match q {
            Some(q) if cpu => q.milli_value(),
            Some(q) => q.value(),
            None => alloc,
        }
    };
    let (cpu, alloc) = match name {
        "cpu" => (true, allocatable.cpu_milli),
        "memory" => (false, allocatable.memory),
        "ephemeral-storage" => (false, allocatable.ephemeral_storage),
        _ => return Err(format!("unsupported container resource : {}", selector.resource)),
    };
    let amount = match field {
        "limits" => value(limit, alloc, cpu),
        "requests" => value(r.requests.get(name).or(limit), 0, cpu),
        _ => return Err(format!("unsupported container resource : {}", selector.resource)),
    };
    let per = if cpu { divisor.milli_value() } else { divisor.value() }.max(1);
    Ok(((amount as f64) / (per as f64)).ceil().to_string())
}

/// `fieldpath.FormatMap`: `key="value"` lines in key order, the value quoted as Go's `%q`.
pub fn format_map(map: &BTreeMap<String, String>) -> String {
    let lines: Vec<String> = map.iter().map(|(k, v)| format!("{k}={}", go_quote(v))).collect();
    lines.join("\n")
}

/// Go's `strconv.Quote`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::podspec::data::{Allocatable, ObjectData};

    fn req(spec: serde_json::Value) -> PodRequest {
        PodRequest {
            uid: "u-1".into(),
            namespace: "default".into(),
            name: "web".into(),
            node: "n1".into(),
            labels: Default::default(),
            annotations: Default::default(),
            spec: serde_json::from_value(spec).unwrap(),
            data: None,
            claims: Default::default(),
        }
    }

    fn data() -> PodData {
        let mut d = PodData {
            labels: [
                ("app".to_string(), "web".to_string()),
                ("zone".to_string(), "a\"b".to_string()),
            ]
            .into(),
            allocatable: Allocatable {
                cpu_milli: 2000,
                memory: 1 << 30,
                ephemeral_storage: 10 << 30,
            },
            ..Default::default()
        };
        d.config_maps.insert(
            "cfg".into(),
            ObjectData {
                strings: [("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())].into(),
                binary: Default::default(),
            },
        );
        d
    }

    fn volume(v: serde_json::Value) -> Volume {
        serde_json::from_value(v).unwrap()
    }

    fn files(p: &Payload) -> Vec<String> {
        p.iter()
            .map(|(k, f)| format!("{k}:{:o}:{}", f.mode, String::from_utf8_lossy(&f.data)))
            .collect()
    }

    #[test]
    fn config_map_volumes_take_all_keys_or_the_items() {
        let r = req(serde_json::json!({"containers": []}));
        let all = volume(serde_json::json!({"name": "v", "configMap": {"name": "cfg", "defaultMode": 0o600}}));
        assert_eq!(
            files(&volume_payload(&r, &data(), &all).unwrap().unwrap()),
            ["a:600:1", "b:600:2"]
        );
        let items = volume(serde_json::json!({"name": "v", "configMap": {"name": "cfg",
            "items": [{"key": "b", "path": "dir/b.txt", "mode": 0o400}]}}));
        assert_eq!(
            files(&volume_payload(&r, &data(), &items).unwrap().unwrap()),
            ["dir/b.txt:400:2"]
        );
        let missing_key = volume(serde_json::json!({"name": "v", "configMap": {"name": "cfg",
            "items": [{"key": "zz", "path": "z"}]}}));
        assert_eq!(
            volume_payload(&r, &data(), &missing_key).unwrap().unwrap_err(),
            "configmap references non-existent config key: zz"
        );
        let missing = volume(serde_json::json!({"name": "v", "secret": {"secretName": "nope"}}));
        assert_eq!(
            volume_payload(&r, &data(), &missing).unwrap().unwrap_err(),
            "secret \"nope\" not found"
        );
        let optional = volume(serde_json::json!({"name": "v", "secret": {"secretName": "nope", "optional": true}}));
        assert!(volume_payload(&r, &data(), &optional).unwrap().unwrap().is_empty());
    }

    #[test]
    fn downward_and_projected_volumes() {
        let r = req(serde_json::json!({"containers": [{"name": "c", "image": "i",
            "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}}]}));
        let v = volume(serde_json::json!({"name": "v", "projected": {"sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "a", "path": "a"}]}},
        {"downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}},
            {"path": "cpu", "resourceFieldRef": {"containerName": "c", "resource": "limits.cpu"}, "mode": 0o444}
        ]}}]}}));
        assert_eq!(
            files(&volume_payload(&r, &data(), &v).unwrap().unwrap()),
            [
                "a:644:1",
                "cpu:444:2",
                "labels:644:app=\"web\"\nzone=\"a\\\"b\"",
                "mem:644:64",
                "name:644:web"
            ]
        );
        let missing = volume(serde_json::json!({"name": "v", "projected": {"sources": [{"secret": {"name": "s"}}]}}));
        assert_eq!(
            volume_payload(&r, &data(), &missing).unwrap().unwrap_err(),
            "couldn't get secret default/s: secret \"s\" not found"
        );
    }

    #[test]
    fn resource_values_round_up_and_fall_back_to_allocatable() {
        let c: Container = serde_json::from_value(serde_json::json!({"name": "c",
            "resources": {"limits": {"cpu": "250m", "memory": "100Mi"}}}))
        .unwrap();
        let a = data().allocatable;
        let sel = |resource: &str, divisor: Option<&str>| ResourceFieldSelector {
            container_name: None,
            resource: resource.into(),
            divisor: divisor.map(|d| Quantity::parse(d).unwrap()),
        };
        assert_eq!(resource_value(&sel("limits.cpu", None), &c, &a).unwrap(), "1");
        assert_eq!(resource_value(&sel("limits.cpu", Some("1m")), &c, &a).unwrap(), "250");
        assert_eq!(resource_value(&sel("requests.cpu", Some("1m")), &c, &a).unwrap(), "250");
        assert_eq!(
            resource_value(&sel("limits.memory", Some("1Mi")), &c, &a).unwrap(),
            "100"
        );
        assert_eq!(
            resource_value(&sel("limits.ephemeral-storage", Some("1Gi")), &c, &a).unwrap(),
            "10"
        );
        assert_eq!(
            resource_value(&sel("requests.memory", None), &c, &a).unwrap(),
            "104857600"
        );
        let bare = Container::default();
        assert_eq!(
            resource_value(&sel("limits.cpu", Some("1m")), &bare, &a).unwrap(),
            "2000"
        );
        assert_eq!(resource_value(&sel("requests.cpu", None), &bare, &a).unwrap(), "0");
    }

    #[test]
    fn maps_are_formatted_like_go() {
        let m: BTreeMap<String, String> = [
            ("b".to_string(), "x\ny\t\u{1}é".to_string()),
            ("a".to_string(), String::new()),
        ]
        .into();
        assert_eq!(format_map(&m), "a=\"\"\nb=\"x\\ny\\t\\x01é\"");
    }
}
