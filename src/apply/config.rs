//! Config data for pods: the ConfigMaps and Secrets of git, handed to each pod that names
//! them when it is created ([`ConfigSource::fill`]) and again after every apply that
//! executed a plan ([`sync_pod_data`]), so that config volumes follow git without a restart.
//!
//! The data is read from the objects of git at apply time, never from the state (which keeps
//! Secret values only as keyed hashes), and goes only to the runtime.

use super::pods::request_for;
use super::tokens::Credentials;
use crate::manifest::Resource;
use crate::manifest::types::Kind;
use crate::manifest::types::config::encode_base64;
use crate::plan::{DesiredObject, HostFacts};
use crate::runtime::podspec::data::{Allocatable, ObjectData, PodData, RefKind, needs_data, references};
use crate::runtime::podspec::token::TokenIssuer;
use crate::runtime::{PodRequest, Runtime, RuntimeError};
use crate::state::State;
use std::collections::HashMap;
use std::sync::Arc;

/// The ConfigMaps and Secrets of git and the nodes' allocatable resources.
#[derive(Debug, Default, Clone)]
pub struct ConfigSource {
    objects: HashMap<(RefKind, String, String), Arc<Resource>>,
    nodes: HashMap<String, Allocatable>,
    ephemeral_storage: i64,
    /// What admission takes from the ServiceAccounts of git, by namespace and name.
    accounts: HashMap<(String, String), Account>,
    /// The state dir, whose service account credentials are made on first use; None: pods
    /// get no token (tests of plan and apply).
    state_dir: Option<std::path::PathBuf>,
    credentials: Arc<std::sync::OnceLock<Result<Credentials, String>>>,
}

/// What the admission plugin takes from a ServiceAccount of git.
#[derive(Debug, Clone, Default)]
struct Account {
    /// `automountServiceAccountToken`.
    automount: Option<bool>,
    /// `imagePullSecrets`, as a pod spec holds them.
    image_pull_secrets: Vec<serde_json::Value>,
}

/// The name prefix of the volume the ServiceAccount admission plugin adds.
pub const API_ACCESS_VOLUME: &str = "kube-api-access-";
/// Where that volume is mounted in every container.
pub const API_ACCESS_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The ConfigMap of the CA bundle in every namespace.
pub const ROOT_CA: &str = "kube-root-ca.crt";

impl ConfigSource {
    /// The source for `desired` on `host`.
    pub fn new(desired: &[DesiredObject], host: &HostFacts) -> ConfigSource {
        let mut objects = HashMap::new();
        let mut accounts = HashMap::new();
        for d in desired {
            if let Some(Resource::ServiceAccount(sa)) = d.resource.as_deref() {
                let ns = d.id.namespace.clone().unwrap_or_else(|| "default".into());
                let account = Account {
                    automount: sa.automount_service_account_token,
                    image_pull_secrets: sa
                        .image_pull_secrets
                        .iter()
                        .filter_map(|r| serde_json::to_value(r).ok())
                        .collect(),
                };
                accounts.insert((ns, d.id.name.clone()), account);
            }
            let kind = match d.id.kind {
                Kind::ConfigMap => RefKind::ConfigMap,
                Kind::Secret => RefKind::Secret,
                _ => continue,
            };
            if let Some(r) = &d.resource {
                let ns = d.id.namespace.clone().unwrap_or_else(|| "default".into());
                objects.insert((kind, ns, d.id.name.clone()), Arc::clone(r));
            }
        }
        let (_, nodes) = crate::plan::nodes::plan_nodes(desired, host);
        let ephemeral_storage = nix::sys::statvfs::statvfs("/")
            .map(|s| (s.blocks() as i64).saturating_mul(s.fragment_size() as i64))
            .unwrap_or(0);
        ConfigSource {
            objects,
            nodes: nodes
                .iter()
                .map(|n| {
                    let a = Allocatable {
                        cpu_milli: n.cpu_milli,
                        memory: n.memory_bytes,
                        ephemeral_storage,
                    };
                    (n.name.clone(), a)
                })
                .collect(),
            ephemeral_storage,
            accounts,
            state_dir: None,
            credentials: Default::default(),
        }
    }

    /// Tokens of pods are signed with the credentials of the state at `state_dir`.
    pub fn with_state_dir(mut self, state_dir: &std::path::Path) -> ConfigSource {
        self.state_dir = Some(state_dir.to_path_buf());
        self
    }

    fn credentials(&self) -> Option<&Credentials> {
        let dir = self.state_dir.as_ref()?;
        let got = self.credentials.get_or_init(|| {
            let loaded = Credentials::load_or_create(dir);
            if let Err(e) = &loaded {
                eprintln!("warning: no service account tokens: {e}");
            }
            loaded
        });
        got.as_ref().ok()
    }

    /// What the ServiceAccount admission plugin does to a new pod (spec §21): the account
    /// defaults to `default`, and unless automounting is off (the pod's setting over the
    /// account's), a `kube-api-access-<5>` projected volume with the token, the CA bundle and
    /// the namespace is added and mounted in every container that has nothing at its path.
    pub fn admit(&self, req: &mut PodRequest) {
        let spec = &mut req.spec;
        let account = [&spec.service_account_name, &spec.service_account]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| "default".to_string());
        spec.service_account_name = Some(account.clone());
        spec.service_account = Some(account.clone());
        let of_account = self.accounts.get(&(req.namespace.clone(), account));
        // A pod that names no pull secrets gets its account's.
        if spec.image_pull_secrets.is_empty()
            && let Some(a) = of_account
        {
            spec.image_pull_secrets = a.image_pull_secrets.clone();
        }
        let automount = of_account.and_then(|a| a.automount);
        if !spec.automount_service_account_token.or(automount).unwrap_or(true) {
            return;
        }
        let existing = spec
            .volumes
            .iter()
            .find(|v| v.name.starts_with(API_ACCESS_VOLUME))
            .map(|v| v.name.clone());
        // generateName's 5 characters, derived from the pod's uid.
        let name = existing.clone().unwrap_or_else(|| {
            crate::plan::controller::names::pod_name(API_ACCESS_VOLUME.trim_end_matches('-'), &req.uid, 0)
        });
        for c in spec.init_containers.iter_mut().chain(spec.containers.iter_mut()) {
            if !c.volume_mounts.iter().any(|m| m.mount_path == API_ACCESS_PATH) {
                c.volume_mounts.push(
                    serde_json::from_value(serde_json::json!({
                        "name": name, "readOnly": true, "mountPath": API_ACCESS_PATH
                    }))
                    .expect("a valid volume mount"),
                );
            }
        }
        if existing.is_none() {
            spec.volumes.push(
                serde_json::from_value(serde_json::json!({"name": name, "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": crate::runtime::podspec::token::API_ACCESS_SECONDS, "path": "token"}},
                    {"configMap": {"name": ROOT_CA, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ]}}))
                .expect("a valid volume"),
            );
        }
    }

    /// The data `req` reads, when its spec needs any.
    pub fn data_for(&self, req: &PodRequest) -> Option<PodData> {
        if !needs_data(&req.spec) {
            return None;
        }
        let mut data = PodData {
            labels: req.labels.clone(),
            annotations: req.annotations.clone(),
            allocatable: self.nodes.get(&req.node).copied().unwrap_or(Allocatable {
                ephemeral_storage: self.ephemeral_storage,
                ..Allocatable::default()
            }),
            ..PodData::default()
        };
        for (kind, name) in references(&req.spec) {
            let Some(resource) = self.objects.get(&(kind, req.namespace.clone(), name.clone())) else {
                // The CA bundle every namespace has, unless git defines the ConfigMap.
                if (kind, name.as_str()) == (RefKind::ConfigMap, ROOT_CA)
                    && let Some(c) = self.credentials()
                {
                    let strings = [("ca.crt".to_string(), c.ca_pem.clone())].into();
                    data.config_maps.insert(
                        name,
                        ObjectData {
                            strings,
                            binary: Default::default(),
                        },
                    );
                }
                continue;
            };
            let object = match resource.as_ref() {
                Resource::ConfigMap(cm) => ObjectData {
                    strings: cm.data.clone(),
                    binary: cm.binary_data.clone(),
                },
                Resource::Secret(s) => ObjectData {
                    strings: Default::default(),
                    // `stringData` is merged into `data` by defaulting; keep the encoding.
                    binary: s
                        .data_bytes()
                        .into_iter()
                        .map(|(k, v)| (k, encode_base64(&v)))
                        .collect(),
                },
                _ => continue,
            };
            match kind {
                RefKind::ConfigMap => data.config_maps.insert(name, object),
                RefKind::Secret => data.secrets.insert(name, object),
            };
        }
        if crate::runtime::podspec::payload::token_sources(&req.spec)
            .next()
            .is_some()
            && let Some(c) = self.credentials()
        {
            let account = req
                .spec
                .service_account_name
                .clone()
                .unwrap_or_else(|| "default".into());
            data.token = Some(TokenIssuer {
                key: c.key_base64(),
                kid: c.kid.clone(),
                service_account_uid: account_uid(&req.namespace, &account),
                service_account: account,
                node_uid: crate::plan::controller::names::object_uid(
                    "",
                    &format!("node/{}", req.node),
                    Default::default(),
                ),
            });
        }
        Some(data)
    }

    /// Admits `req` ([`ConfigSource::admit`]) and sets `req.data`.
    pub fn fill(&self, req: &mut PodRequest) {
        self.admit(req);
        req.data = self.data_for(req);
    }
}

/// The uid of the ServiceAccount `namespace/name` (the default one, or one of git): fixed by
/// its name, as `get sa -o yaml` shows it.
pub fn account_uid(namespace: &str, name: &str) -> String {
    crate::plan::controller::names::object_uid(namespace, &format!("serviceaccount/{name}"), Default::default())
}

/// Hands every running pod that reads config data the data git has now; returns the
/// owners of the pods whose data changed.
pub fn sync_pod_data(
    runtime: &mut dyn Runtime,
    source: &ConfigSource,
    state: &State,
    desired: &[DesiredObject],
) -> Result<Vec<crate::manifest::ObjectId>, RuntimeError> {
    let mut changed = Vec::new();
    for rec in state.pods.values().filter(|p| p.created && !p.is_terminating()) {
        let Some(mut request) = request_for(state, rec, desired) else {
            continue;
        };
        source.fill(&mut request);
        if request.data.is_some() && runtime.update_pod_data(&request)? {
            changed.push(rec.owner.clone());
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testkit::desired;

    fn request(spec: serde_json::Value) -> PodRequest {
        PodRequest {
            uid: "uid-1".into(),
            namespace: "default".into(),
            name: "p".into(),
            node: "n".into(),
            labels: Default::default(),
            annotations: Default::default(),
            spec: serde_json::from_value(spec).unwrap(),
            data: None,
            claims: Default::default(),
        }
    }

    fn host() -> HostFacts {
        HostFacts {
            hostname: "n".into(),
            cpus: 1,
            memory_bytes: 1 << 30,
            arch: "x86_64".into(),
        }
    }

    #[test]
    fn admission_adds_the_api_access_volume_to_every_container_as_upstream() {
        let source = ConfigSource::new(&desired(""), &host());
        let mut req = request(serde_json::json!({
            "initContainers": [{"name": "init", "image": "i"}],
            "containers": [
                {"name": "a", "image": "i"},
                {"name": "b", "image": "i", "volumeMounts": [{"name": "own", "mountPath": API_ACCESS_PATH}]}
            ],
            "volumes": [{"name": "own", "emptyDir": {}}]
        }));
        source.admit(&mut req);
        assert_eq!(req.spec.service_account_name.as_deref(), Some("default"));
        let volume = req.spec.volumes.last().unwrap();
        let name = volume.name.clone();
        assert!(
            name.starts_with(API_ACCESS_VOLUME) && name.len() == API_ACCESS_VOLUME.len() + 5,
            "{name}"
        );
        assert_eq!(
            serde_json::to_value(volume).unwrap(),
            serde_json::json!({"name": name, "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ]}})
        );
        let mounts = |c: &crate::manifest::types::Container| -> Vec<(String, Option<bool>)> {
            c.volume_mounts
                .iter()
                .filter(|m| m.mount_path == API_ACCESS_PATH)
                .map(|m| (m.name.clone(), m.read_only))
                .collect()
        };
        assert_eq!(mounts(&req.spec.init_containers[0]), [(name.clone(), Some(true))]);
        assert_eq!(mounts(&req.spec.containers[0]), [(name.clone(), Some(true))]);
        assert_eq!(mounts(&req.spec.containers[1]), [("own".to_string(), None)]);
        // Admitting again changes nothing.
        let before = req.spec.clone();
        source.admit(&mut req);
        assert_eq!(req.spec, before);
    }

    #[test]
    fn the_pods_setting_wins_over_the_accounts_and_unset_means_mounted() {
        let yaml = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: quiet\nautomountServiceAccountToken: false\nimagePullSecrets: [{name: registry}]\n";
        let source = ConfigSource::new(&desired(yaml), &host());
        let volumes = |spec: serde_json::Value| {
            let mut req = request(spec);
            source.admit(&mut req);
            req.spec.volumes.len()
        };
        let c = serde_json::json!([{"name": "a", "image": "i"}]);
        assert_eq!(volumes(serde_json::json!({"containers": c})), 1);
        // The account's pull secrets go to a pod that names none.
        let mut req = request(serde_json::json!({"containers": c, "serviceAccountName": "quiet"}));
        source.admit(&mut req);
        assert_eq!(req.spec.image_pull_secrets, [serde_json::json!({"name": "registry"})]);
        assert_eq!(
            volumes(serde_json::json!({"containers": c, "serviceAccountName": "quiet"})),
            0
        );
        assert_eq!(
            volumes(
                serde_json::json!({"containers": c, "serviceAccountName": "quiet", "automountServiceAccountToken": true})
            ),
            1
        );
        assert_eq!(
            volumes(serde_json::json!({"containers": c, "automountServiceAccountToken": false})),
            0
        );
    }
}
