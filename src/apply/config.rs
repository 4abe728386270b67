//! Config data for pods: the ConfigMaps and Secrets of git, handed to each pod that names
//! them when it is created ([`ConfigSource::fill`]) and again after every apply that
//! executed a plan ([`sync_pod_data`]), so that config volumes follow git without a restart.
//!
//! The data is read from the objects of git at apply time, never from the state (which keeps
//! Secret values only as keyed hashes), and goes only to the runtime.

use super::pods::request_for;
use crate::manifest::Resource;
use crate::manifest::types::Kind;
use crate::manifest::types::config::encode_base64;
use crate::plan::{DesiredObject, HostFacts};
use crate::runtime::podspec::data::{Allocatable, ObjectData, PodData, RefKind, needs_data, references};
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
}

impl ConfigSource {
    /// The source for `desired` on `host`.
    pub fn new(desired: &[DesiredObject], host: &HostFacts) -> ConfigSource {
        let mut objects = HashMap::new();
        for d in desired {
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
        Some(data)
    }

    /// Sets `req.data`.
    pub fn fill(&self, req: &mut PodRequest) {
        req.data = self.data_for(req);
    }
}

/// Hands every running pod that reads config data the data git has now; returns how many
/// pods' data changed.
pub fn sync_pod_data(
    runtime: &mut dyn Runtime,
    source: &ConfigSource,
    state: &State,
    desired: &[DesiredObject],
) -> Result<usize, RuntimeError> {
    let mut changed = 0;
    for rec in state.pods.values().filter(|p| p.created && !p.is_terminating()) {
        let Some(mut request) = request_for(state, rec, desired) else {
            continue;
        };
        source.fill(&mut request);
        if request.data.is_some() && runtime.update_pod_data(&request)? {
            changed += 1;
        }
    }
    Ok(changed)
}
