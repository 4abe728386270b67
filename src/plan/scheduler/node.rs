//! The scheduler's view of a node: name, labels, cordon flag and allocatable resources.

use crate::manifest::types::Node;
use crate::manifest::types::container::ResourceList;
use crate::plan::HostFacts;
use std::collections::BTreeMap;

/// The kubelet's default `maxPods`, used when a Node declares no `pods` capacity.
pub const DEFAULT_MAX_PODS: i64 = 110;

/// Well-known label the kubelet sets to the node's hostname.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// Well-known label the kubelet sets to the node's OS (`linux`).
pub const LABEL_OS: &str = "kubernetes.io/os";
/// Well-known label the kubelet sets to the node's architecture in Go's spelling (`amd64`).
pub const LABEL_ARCH: &str = "kubernetes.io/arch";

/// A node as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's name, which `spec.nodeName` refers to.
    pub name: String,
    /// `metadata.labels` plus the kubelet's well-known ones (hostname, os, arch), for
    /// `nodeSelector`.
    pub labels: BTreeMap<String, String>,
    /// `spec.unschedulable` (a cordoned node).
    pub unschedulable: bool,
    /// Allocatable cpu in millicores.
    pub cpu_milli: i64,
    /// Allocatable memory in bytes.
    pub memory_bytes: i64,
    /// How many pods the node accepts.
    pub pods: i64,
}

impl NodeInfo {
    /// Builds the scheduler's view of a `kind: Node` manifest on `host`.
    ///
    /// Each resource comes from `status.allocatable`, else `status.capacity` (a real kubelet
    /// reports both; a manifest usually gives one), else the host's CPUs and memory (a Node
    /// that declares no size is as big as the machine); a missing `pods` is the kubelet
    /// default of 110. The kubelet's well-known labels (hostname, os, arch) are added when
    /// absent, as the kubelet does on registration, so `nodeSelector:
    /// {kubernetes.io/hostname: x}` works.
    pub fn from_node(node: &Node, host: &HostFacts) -> NodeInfo {
        let status = &node.status;
        let pick = |key: &str| status.allocatable.get(key).or_else(|| status.capacity.get(key));
        let mut labels = node.metadata.labels.clone();
        for (key, value) in well_known_labels(&node.metadata.name, &host.arch) {
            labels.entry(key).or_insert(value);
        }
        NodeInfo {
            name: node.metadata.name.clone(),
            labels,
            unschedulable: node.spec.unschedulable == Some(true),
            cpu_milli: pick("cpu").map_or(i64::from(host.cpus) * 1000, |q| q.milli_value()),
            memory_bytes: pick("memory").map_or(host.memory_bytes, |q| q.value()),
            pods: pick("pods").map_or(DEFAULT_MAX_PODS, |q| q.value()),
        }
    }

    /// The node used when the repository has no Node manifest: the host itself, with its
    /// CPUs and memory, 110 pods and the kubelet's well-known labels.
    pub fn for_host(host: &HostFacts) -> NodeInfo {
        NodeInfo {
            name: host.hostname.clone(),
            labels: well_known_labels(&host.hostname, &host.arch).collect(),
            unschedulable: false,
            cpu_milli: i64::from(host.cpus) * 1000,
            memory_bytes: host.memory_bytes,
            pods: DEFAULT_MAX_PODS,
        }
    }

    /// A node like [`NodeInfo::for_host`] of a host with this name and size (tests, benches).
    pub fn default_node(hostname: &str, cpus: u32, memory_bytes: i64) -> NodeInfo {
        NodeInfo::for_host(&HostFacts {
            hostname: hostname.to_string(),
            cpus,
            memory_bytes,
            arch: std::env::consts::ARCH.to_string(),
        })
    }

    /// The allocatable resources as a list (for display next to requests).
    pub fn allocatable(&self) -> ResourceList {
        use crate::manifest::Quantity;
        use crate::manifest::quantity::Format;
        ResourceList::from([
            ("cpu".to_string(), Quantity::from_milli(self.cpu_milli)),
            (
                "memory".to_string(),
                Quantity::from_units(self.memory_bytes, Format::BinarySI),
            ),
            ("pods".to_string(), Quantity::from_units(self.pods, Format::DecimalSI)),
        ])
    }
}

/// Hostname, os and arch labels as the kubelet sets them (`pkg/kubelet/kubelet_node_status.go`).
fn well_known_labels(hostname: &str, arch: &str) -> impl Iterator<Item = (String, String)> {
    [
        (LABEL_HOSTNAME, hostname.to_string()),
        (LABEL_OS, "linux".to_string()),
        (LABEL_ARCH, go_arch(arch).to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
}

/// An architecture in Go's `GOARCH` spelling, which the arch label uses.
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(yaml: &str) -> Node {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn host() -> HostFacts {
        HostFacts {
            hostname: "box".into(),
            cpus: 8,
            memory_bytes: 16 << 30,
            arch: "x86_64".into(),
        }
    }

    #[test]
    fn from_node_prefers_allocatable_and_defaults_the_rest() {
        let cases = [
            (
                "metadata: {name: a}\nstatus: {capacity: {cpu: '2', memory: 4Gi, pods: '10'}}",
                (2000, 4 << 30, 10, false),
            ),
            (
                "metadata: {name: b}\nspec: {unschedulable: true}\nstatus: {capacity: {cpu: '2', memory: 4Gi}, allocatable: {cpu: 1500m}}",
                (1500, 4 << 30, 110, true),
            ),
            // No size at all: the host's CPUs and memory.
            ("metadata: {name: c}", (8000, 16 << 30, 110, false)),
            (
                "metadata: {name: d}\nstatus: {capacity: {memory: 1Gi}}",
                (8000, 1 << 30, 110, false),
            ),
        ];
        for (yaml, (cpu, mem, pods, cordoned)) in cases {
            let info = NodeInfo::from_node(&node(yaml), &host());
            assert_eq!(
                (info.cpu_milli, info.memory_bytes, info.pods, info.unschedulable),
                (cpu, mem, pods, cordoned),
                "{yaml}"
            );
        }
    }

    #[test]
    fn from_node_adds_well_known_labels_without_overriding() {
        let info = NodeInfo::from_node(
            &node("metadata: {name: n1, labels: {disktype: ssd, kubernetes.io/os: custom}}"),
            &host(),
        );
        assert_eq!(info.labels["disktype"], "ssd");
        assert_eq!(info.labels[LABEL_HOSTNAME], "n1");
        assert_eq!(info.labels[LABEL_OS], "custom");
        assert_eq!(info.labels[LABEL_ARCH], "amd64");
    }

    #[test]
    fn host_node_has_host_capacity_and_labels() {
        let info = NodeInfo::for_host(&HostFacts {
            cpus: 4,
            memory_bytes: 8 << 30,
            ..host()
        });
        assert_eq!((info.cpu_milli, info.memory_bytes, info.pods), (4000, 8 << 30, 110));
        assert_eq!(info.labels.len(), 3);
        assert_eq!(info.labels[LABEL_HOSTNAME], "box");
        assert_eq!(info.labels[LABEL_OS], "linux");
        assert_eq!(info.labels[LABEL_ARCH], "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert!(!info.unschedulable);
        let alloc = info.allocatable();
        assert_eq!(alloc["cpu"].to_string(), "4");
        assert_eq!(alloc["memory"].to_string(), "8Gi");
    }
}
