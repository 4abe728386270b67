//! Services (`ValidateService`): type, ports, target ports, cluster IP.

use super::{Errors, at, child};
use crate::manifest::IntOrString;
use crate::manifest::names;
use crate::manifest::types::service::Service;
use std::collections::BTreeSet;

/// Validates a Service.
pub fn service(errs: &mut Errors, svc: &Service) {
    let s = &svc.spec;
    let ty = s.service_type();
    errs.one_of(
        "spec.type",
        s.type_.as_deref(),
        &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    );
    errs.one_of(
        "spec.sessionAffinity",
        s.session_affinity.as_deref(),
        &["ClientIP", "None"],
    );
    errs.one_of(
        "spec.internalTrafficPolicy",
        s.internal_traffic_policy.as_deref(),
        &["Cluster", "Local"],
    );
    errs.one_of(
        "spec.externalTrafficPolicy",
        s.external_traffic_policy.as_deref(),
        &["Cluster", "Local"],
    );
    if s.external_traffic_policy.is_some() && ty != "NodePort" && ty != "LoadBalancer" {
        errs.forbidden(
            "spec.externalTrafficPolicy",
            "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        );
    }
    super::meta::labels(errs, "spec.selector", &s.selector);
    match s.cluster_ip.as_deref() {
        None | Some("") | Some("None") => {}
        Some(ip) => errs.name("spec.clusterIP", ip, names::ip_address),
    }
    if ty == "ExternalName" {
        match s.external_name.as_deref() {
            None | Some("") => errs.required("spec.externalName"),
            Some(n) => errs.name("spec.externalName", n, names::dns1123_subdomain),
        }
        if s.cluster_ip.as_deref().is_some_and(|ip| !ip.is_empty()) {
            errs.forbidden("spec.clusterIP", "may not be set for ExternalName services");
        }
    } else if s.ports.is_empty() && !s.is_headless() {
        errs.required("spec.ports");
    }
    let mut seen = BTreeSet::new();
    for (i, port) in s.ports.iter().enumerate() {
        let pp = at("spec.ports", i);
        match port.name.as_deref() {
            None | Some("") if s.ports.len() > 1 => errs.required(child(&pp, "name")),
            None | Some("") => {}
            Some(name) => {
                errs.name(&child(&pp, "name"), name, names::port_name);
                if !seen.insert(name) {
                    errs.duplicate(child(&pp, "name"), name);
                }
            }
        }
        errs.port_number(child(&pp, "port"), port.port.into());
        errs.one_of(
            child(&pp, "protocol"),
            port.protocol.as_deref(),
            &["SCTP", "TCP", "UDP"],
        );
        match &port.target_port {
            Some(IntOrString::Int(n)) => errs.port_number(child(&pp, "targetPort"), *n),
            Some(IntOrString::String(name)) => errs.name(&child(&pp, "targetPort"), name, names::port_name),
            None => {}
        }
        if let Some(np) = port.node_port.filter(|n| *n != 0) {
            if ty != "NodePort" && ty != "LoadBalancer" {
                errs.forbidden(child(&pp, "nodePort"), "may not be used when `type` is 'ClusterIP'");
            } else if !(30000..=32767).contains(&np) {
                errs.invalid_num(
                    child(&pp, "nodePort"),
                    np.into(),
                    "provided port is not in the valid range. The range of valid ports is 30000-32767",
                );
            }
        }
    }
    let local_only = "rekon's Services are reachable only inside rekon's pod network";
    errs.reject("spec.externalIPs", &s.external_ips, local_only);
    errs.reject("spec.loadBalancerIP", &s.load_balancer_ip, local_only);
    errs.reject(
        "spec.loadBalancerSourceRanges",
        &s.load_balancer_source_ranges,
        local_only,
    );
    errs.reject("spec.loadBalancerClass", &s.load_balancer_class, local_only);
    errs.reject(
        "spec.allocateLoadBalancerNodePorts",
        &s.allocate_load_balancer_node_ports,
        local_only,
    );
    errs.reject("spec.healthCheckNodePort", &s.health_check_node_port, local_only);
    errs.reject(
        "spec.sessionAffinityConfig",
        &s.session_affinity_config,
        "session affinity timeouts are not implemented",
    );
    errs.reject(
        "spec.trafficDistribution",
        &s.traffic_distribution,
        "rekon runs one host, so there is no topology to prefer",
    );
    errs.reject(
        "spec.ipFamilies",
        &s.ip_families,
        "rekon gives Services one IPv4 address",
    );
    errs.reject(
        "spec.ipFamilyPolicy",
        &s.ip_family_policy,
        "rekon gives Services one IPv4 address",
    );
}
