//! Pod specs (`ValidatePodSpec`) and what rekon does not support in them.

use super::{Errors, at, child, container, volume};
use crate::manifest::names;
use crate::manifest::types::pod::{PodSecurityContext, PodSpec, SeccompProfile, Toleration};
use std::collections::BTreeSet;

/// Taint keys that kubeadm-style control-plane nodes carry. rekon's nodes carry no taints, so
/// tolerating these is a no-op and accepted; DaemonSets commonly do.
const CONTROL_PLANE_TAINTS: &[&str] = &[
    "node-role.kubernetes.io/master",
    "node-role.kubernetes.io/control-plane",
];

/// A pod spec at `path`; `claim_templates` are extra volume names (StatefulSet claims).
pub fn pod_spec(errs: &mut Errors, path: &str, spec: &PodSpec, claim_templates: &[&str]) {
    let p = |name: &str| child(path, name);
    let mut volume_names: BTreeSet<&str> = volume::volumes(errs, &p("volumes"), &spec.volumes);
    volume_names.extend(claim_templates);

    if spec.containers.is_empty() {
        errs.required(p("containers"));
    }
    let mut seen = BTreeSet::new();
    for (i, c) in spec.init_containers.iter().enumerate() {
        container::container(
            errs,
            &at(&p("initContainers"), i),
            c,
            true,
            spec,
            &volume_names,
            &mut seen,
        );
    }
    for (i, c) in spec.containers.iter().enumerate() {
        container::container(errs, &at(&p("containers"), i), c, false, spec, &volume_names, &mut seen);
    }

    errs.one_of(
        p("restartPolicy"),
        spec.restart_policy.as_deref(),
        &["Always", "OnFailure", "Never"],
    );
    errs.one_of(
        p("dnsPolicy"),
        spec.dns_policy.as_deref(),
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    );
    if spec.dns_policy.as_deref() == Some("None") && spec.dns_config.is_none() {
        errs.push(
            p("dnsConfig"),
            "required: must provide `dnsConfig` when `dnsPolicy` is None",
        );
    }
    errs.non_negative(
        p("terminationGracePeriodSeconds"),
        spec.termination_grace_period_seconds,
    );
    if let Some(v) = spec.active_deadline_seconds
        && v < 1
    {
        errs.invalid_num(
            p("activeDeadlineSeconds"),
            v,
            "must be between 1 and 2147483647, inclusive",
        );
    }
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        if let Some(v) = value {
            errs.name(&p(field), v, names::dns1123_label);
        }
    }
    if let Some(n) = &spec.node_name {
        errs.name(&p("nodeName"), n, names::dns1123_subdomain);
    }
    super::meta::labels(errs, &p("nodeSelector"), &spec.node_selector);
    for sa in [&spec.service_account_name, &spec.service_account]
        .into_iter()
        .flatten()
    {
        errs.name(&p("serviceAccountName"), sa, names::dns1123_subdomain);
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.invalid(
            p("shareProcessNamespace"),
            "true",
            "ShareProcessNamespace and HostPID cannot both be enabled",
        );
    }
    for (i, alias) in spec.host_aliases.iter().enumerate() {
        let ap = at(&p("hostAliases"), i);
        errs.name(&child(&ap, "ip"), &alias.ip, names::ip_address);
        for (j, h) in alias.hostnames.iter().enumerate() {
            errs.name(&at(&child(&ap, "hostnames"), j), h, names::dns1123_subdomain);
        }
    }
    if let Some(s) = spec.scheduler_name.as_deref()
        && s != "default-scheduler"
    {
        errs.not_supported(
            p("schedulerName"),
            "rekon has one built-in scheduler, \"default-scheduler\"",
        );
    }
    for (i, t) in spec.tolerations.iter().enumerate() {
        toleration(errs, &at(&p("tolerations"), i), t);
    }
    if let Some(sc) = &spec.security_context {
        security_context(errs, &p("securityContext"), sc);
    }
    unsupported_fields(errs, path, spec);
}

fn toleration(errs: &mut Errors, path: &str, t: &Toleration) {
    let key = t.key.as_deref().unwrap_or("");
    if !CONTROL_PLANE_TAINTS.contains(&key) {
        errs.not_supported(
            path,
            "rekon nodes carry no taints; only tolerations of node-role.kubernetes.io/master and \
             node-role.kubernetes.io/control-plane (no-ops) are accepted",
        );
        return;
    }
    errs.one_of(child(path, "operator"), t.operator.as_deref(), &["Equal", "Exists"]);
    errs.one_of(
        child(path, "effect"),
        t.effect.as_deref(),
        &["NoSchedule", "PreferNoSchedule", "NoExecute"],
    );
}

fn security_context(errs: &mut Errors, path: &str, sc: &PodSecurityContext) {
    let p = |name: &str| child(path, name);
    errs.non_negative(p("runAsUser"), sc.run_as_user);
    errs.non_negative(p("runAsGroup"), sc.run_as_group);
    errs.non_negative(p("fsGroup"), sc.fs_group);
    for (i, g) in sc.supplemental_groups.iter().enumerate() {
        errs.non_negative(at(&p("supplementalGroups"), i), Some(*g));
    }
    if let Some(profile) = &sc.seccomp_profile {
        seccomp(errs, &p("seccompProfile"), profile);
    }
    errs.reject_at(
        path,
        "fsGroupChangePolicy",
        &sc.fs_group_change_policy,
        "rekon always applies fsGroup recursively",
    );
    errs.reject_at(path, "sysctls", &sc.sysctls, "pod sysctls are not implemented");
    errs.reject_at(
        path,
        "seLinuxOptions",
        &sc.se_linux_options,
        "rekon does not label containers for SELinux",
    );
    errs.reject_at(
        path,
        "seLinuxChangePolicy",
        &sc.se_linux_change_policy,
        "rekon does not label containers for SELinux",
    );
    errs.reject_at(
        path,
        "appArmorProfile",
        &sc.app_armor_profile,
        "rekon does not load AppArmor profiles",
    );
    errs.reject_at(
        path,
        "supplementalGroupsPolicy",
        &sc.supplemental_groups_policy,
        "only the default policy is implemented",
    );
    errs.reject_at(
        path,
        "windowsOptions",
        &sc.windows_options,
        "rekon runs Linux pods only",
    );
}

/// `seccompProfile`: RuntimeDefault and Unconfined are fine, Localhost is not supported.
pub fn seccomp(errs: &mut Errors, path: &str, profile: &SeccompProfile) {
    match profile.type_.as_str() {
        "RuntimeDefault" | "Unconfined" => {
            if profile.localhost_profile.is_some() {
                errs.forbidden(
                    child(path, "localhostProfile"),
                    "can only be set if `type` is 'Localhost'",
                );
            }
        }
        "Localhost" => errs.not_supported(
            child(path, "type"),
            "rekon has no node directory of seccomp profiles; use RuntimeDefault or Unconfined",
        ),
        "" => errs.required(child(path, "type")),
        other => errs.unsupported(
            child(path, "type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        ),
    }
}

fn unsupported_fields(errs: &mut Errors, path: &str, spec: &PodSpec) {
    let p = |name: &str| child(path, name);
    errs.reject_at(
        path,
        "affinity",
        &spec.affinity,
        "rekon's scheduler places pods on the virtual nodes of one host by nodeName and nodeSelector only",
    );
    errs.reject_at(
        path,
        "topologySpreadConstraints",
        &spec.topology_spread_constraints,
        "rekon runs one host, so there are no topology domains to spread over",
    );
    errs.reject_at(
        path,
        "ephemeralContainers",
        &spec.ephemeral_containers,
        "ephemeral containers are added by debugging tools, not declared",
    );
    errs.reject_at(
        path,
        "runtimeClassName",
        &spec.runtime_class_name,
        "rekon has one built-in container runtime",
    );
    errs.reject_at(
        path,
        "readinessGates",
        &spec.readiness_gates,
        "nothing on a single host sets custom pod conditions",
    );
    errs.reject_at(
        path,
        "preemptionPolicy",
        &spec.preemption_policy,
        "rekon does not preempt pods",
    );
    errs.reject_at(
        path,
        "priority",
        &spec.priority,
        "it is set from priorityClassName by the cluster",
    );
    errs.reject_at(
        path,
        "overhead",
        &spec.overhead,
        "it is set from a RuntimeClass, which rekon does not have",
    );
    if let Some(os) = &spec.os
        && os.get("name").and_then(|n| n.as_str()) != Some("linux")
    {
        errs.not_supported(p("os"), "rekon runs Linux pods only");
    }
    errs.reject_at(
        path,
        "hostUsers",
        &spec.host_users,
        "user namespaces are not implemented",
    );
    errs.reject_at(
        path,
        "resourceClaims",
        &spec.resource_claims,
        "dynamic resource allocation needs a cluster",
    );
    errs.reject_at(
        path,
        "schedulingGates",
        &spec.scheduling_gates,
        "nothing on a single host removes scheduling gates",
    );
    errs.reject_at(
        path,
        "resources",
        &spec.resources,
        "pod-level resources are not implemented; set container resources",
    );
    if spec.set_hostname_as_fqdn == Some(true) {
        errs.not_supported(p("setHostnameAsFQDN"), "pod hostnames are short names");
    }
}
