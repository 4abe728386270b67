//! v1 Service.

use super::meta::ObjectMeta;
use super::nullable;
use crate::manifest::IntOrString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A stable name (and virtual IP) in front of a set of pods.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// API group and version, `v1`.
    #[serde(default)]
    pub api_version: String,
    /// The kind, `Service`.
    #[serde(default)]
    pub kind: String,
    /// Name, namespace, labels and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What the Service selects and exposes.
    #[serde(default)]
    pub spec: ServiceSpec,
}

/// What a Service selects and exposes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Labels of the pods that receive the Service's traffic.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    /// The ports the Service exposes.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServicePort>,
    /// `None` for a headless Service, an address, or unset (allocated).
    #[serde(default, rename = "clusterIP", skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    /// The cluster IPs, one per IP family; the first equals `clusterIP`.
    #[serde(
        default,
        rename = "clusterIPs",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cluster_ips: Vec<String>,
    /// `None` or `ClientIP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<String>,
    /// The DNS name an `ExternalName` Service is an alias (CNAME) for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_name: Option<String>,
    /// Whether pods that are not ready are still published as endpoints (API default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_not_ready_addresses: Option<bool>,
    /// `Cluster` or `Local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<String>,
    /// `Cluster` or `Local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_traffic_policy: Option<String>,
    /// `IPv4` and/or `IPv6`, in order (rejected by rekon: Services get one IPv4 address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_families: Option<Value>,
    /// `SingleStack`, `PreferDualStack` or `RequireDualStack` (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_family_policy: Option<Value>,
    // Kubernetes fields rekon rejects (validation says why).
    /// Further addresses on which the Service accepts traffic (rejected by rekon).
    #[serde(default, rename = "externalIPs", skip_serializing_if = "Option::is_none")]
    pub external_ips: Option<Value>,
    /// The address to ask a load balancer for, deprecated upstream (rejected by rekon).
    #[serde(default, rename = "loadBalancerIP", skip_serializing_if = "Option::is_none")]
    pub load_balancer_ip: Option<Value>,
    /// Client CIDRs a load balancer admits (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_source_ranges: Option<Value>,
    /// The load balancer implementation to use (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<Value>,
    /// Whether a `LoadBalancer` Service gets node ports (API default true; rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocate_load_balancer_node_ports: Option<Value>,
    /// Node port for load balancer health checks under `externalTrafficPolicy: Local` (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_node_port: Option<Value>,
    /// Timeout of `ClientIP` session affinity (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity_config: Option<Value>,
    /// A preference for topologically close endpoints, such as `PreferClose` (rejected by rekon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_distribution: Option<Value>,
}

impl ServiceSpec {
    /// The Service type, `ClusterIP` when unset.
    pub fn service_type(&self) -> &str {
        self.type_.as_deref().unwrap_or("ClusterIP")
    }

    /// True for `clusterIP: None`.
    pub fn is_headless(&self) -> bool {
        self.cluster_ip.as_deref() == Some("None")
    }
}

/// One port of a Service.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    /// Name of the port; required when the Service has more than one port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `TCP`, `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The application protocol, such as `http` or `kubernetes.io/h2c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// The port number the Service listens on.
    #[serde(default)]
    pub port: i32,
    /// A number, or the name of a container port; defaults to `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<IntOrString>,
    /// The port on each node (30000 to 32767) for a `NodePort` or `LoadBalancer` Service; allocated if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<i32>,
}
