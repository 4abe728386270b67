//! Containers (`validateContainers`, `validateInitContainers`): names, images, ports, env,
//! resources, mounts, probes, hooks and security context.

use super::{Errors, at, child, key, pod};
use crate::manifest::types::container::{Container, EnvVar, ResourceList, SecurityContext, VolumeMount};
use crate::manifest::types::pod::PodSpec;
use crate::manifest::types::probe::{HttpGetAction, LifecycleHandler, Probe};
use crate::manifest::{IntOrString, Quantity};
use crate::manifest::{capabilities, names};
use std::collections::BTreeSet;

/// Resources rekon enforces (cgroups and disk accounting).
const RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

/// Downward API fields an env var may use (`validEnvDownwardAPIFieldPathExpressions`).
const ENV_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// Container resources the downward API exposes.
pub const RESOURCE_FIELDS: &[&str] = &[
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
];

/// One container; `seen` collects names across init and app containers.
pub fn container<'a>(
    errs: &mut Errors,
    path: &str,
    c: &'a Container,
    init: bool,
    spec: &PodSpec,
    volumes: &BTreeSet<&str>,
    seen: &mut BTreeSet<&'a str>,
) {
    let p = |name: &str| child(path, name);
    if c.name.is_empty() {
        errs.required(p("name"));
    } else {
        errs.name(&p("name"), &c.name, names::dns1123_label);
        if !seen.insert(&c.name) {
            errs.duplicate(p("name"), &c.name);
        }
    }
    match c.image.as_deref() {
        None | Some("") => errs.required(p("image")),
        Some(img) if img.trim() != img => errs.invalid(p("image"), img, "must not have leading or trailing whitespace"),
        Some(_) => {}
    }
    errs.one_of(
        p("imagePullPolicy"),
        c.image_pull_policy.as_deref(),
        &["Always", "IfNotPresent", "Never"],
    );
    errs.one_of(
        p("terminationMessagePolicy"),
        c.termination_message_policy.as_deref(),
        &["File", "FallbackToLogsOnError"],
    );
    ports(errs, &p("ports"), c, spec.host_network == Some(true));
    for (i, e) in c.env.iter().enumerate() {
        env_var(errs, &at(&p("env"), i), e);
    }
    for (i, from) in c.env_from.iter().enumerate() {
        let fp = at(&p("envFrom"), i);
        match (&from.config_map_ref, &from.secret_ref) {
            (Some(_), Some(_)) => errs.forbidden(&fp, "may not have more than one field specified at a time"),
            (None, None) => errs.push(&fp, "required: must specify one of: `configMapRef` or `secretRef`"),
            (Some(r), None) => ref_name(errs, &child(&fp, "configMapRef.name"), &r.name),
            (None, Some(r)) => ref_name(errs, &child(&fp, "secretRef.name"), &r.name),
        }
        if let Some(prefix) = from.prefix.as_deref().filter(|s| !s.is_empty()) {
            errs.name(&child(&fp, "prefix"), prefix, names::env_var_name);
        }
    }
    resources(errs, &p("resources"), &c.resources.limits, &c.resources.requests);
    errs.reject_at(
        path,
        "resources.claims",
        &c.resources.claims,
        "dynamic resource allocation needs a cluster",
    );
    mounts(errs, &p("volumeMounts"), &c.volume_mounts, volumes);

    let sidecar = init && c.is_sidecar();
    let regular_init = init && !sidecar;
    for (field, probe_opt) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        let Some(pr) = probe_opt else { continue };
        if regular_init {
            errs.forbidden(
                p(field),
                "may not be set for init containers without restartPolicy=Always",
            );
            continue;
        }
        probe(errs, &p(field), pr, field != "readinessProbe");
    }
    if let Some(lc) = &c.lifecycle {
        if regular_init {
            errs.forbidden(
                p("lifecycle"),
                "may not be set for init containers without restartPolicy=Always",
            );
        }
        for (field, h) in [("postStart", &lc.post_start), ("preStop", &lc.pre_stop)] {
            if let Some(h) = h {
                handler(errs, &child(&p("lifecycle"), field), h);
            }
        }
        errs.reject_at(
            path,
            "lifecycle.stopSignal",
            &lc.stop_signal,
            "containers are stopped with SIGTERM or their image's STOPSIGNAL",
        );
    }
    match (init, c.restart_policy.as_deref()) {
        (_, None) | (true, Some("Always")) => {}
        (true, Some(other)) => errs.unsupported(p("restartPolicy"), other, &["Always"]),
        (false, Some(_)) => errs.forbidden(p("restartPolicy"), "may not be set for non-init containers"),
    }
    if let Some(sc) = &c.security_context {
        security_context(errs, &p("securityContext"), sc);
    }
    errs.reject_at(
        path,
        "volumeDevices",
        &c.volume_devices,
        "rekon attaches no block devices",
    );
    errs.reject_at(
        path,
        "resizePolicy",
        &c.resize_policy,
        "in-place resize is not implemented",
    );
    errs.reject_at(
        path,
        "restartPolicyRules",
        &c.restart_policy_rules,
        "only the pod restartPolicy is implemented",
    );
}

fn ports(errs: &mut Errors, path: &str, c: &Container, host_network: bool) {
    let mut names_seen = BTreeSet::new();
    for (i, port) in c.ports.iter().enumerate() {
        let pp = at(path, i);
        if port.container_port == 0 {
            errs.required(child(&pp, "containerPort"));
        } else {
            errs.port_number(child(&pp, "containerPort"), port.container_port.into());
        }
        if let Some(hp) = port.host_port.filter(|hp| *hp != 0) {
            errs.port_number(child(&pp, "hostPort"), hp.into());
            if host_network && hp != port.container_port {
                errs.invalid_num(
                    child(&pp, "hostPort"),
                    hp.into(),
                    "must match `containerPort` when `hostNetwork` is true",
                );
            }
        }
        if let Some(ip) = &port.host_ip {
            errs.name(&child(&pp, "hostIP"), ip, names::ip_address);
        }
        errs.one_of(
            child(&pp, "protocol"),
            port.protocol.as_deref(),
            &["SCTP", "TCP", "UDP"],
        );
        if let Some(name) = &port.name {
            errs.name(&child(&pp, "name"), name, names::port_name);
            if !names_seen.insert(name.as_str()) {
                errs.duplicate(child(&pp, "name"), name);
            }
        }
    }
}

fn env_var(errs: &mut Errors, path: &str, e: &EnvVar) {
    if e.name.is_empty() {
        errs.required(child(path, "name"));
    } else {
        errs.name(&child(path, "name"), &e.name, names::env_var_name);
    }
    let Some(from) = &e.value_from else { return };
    let vp = child(path, "valueFrom");
    if e.value.as_deref().is_some_and(|v| !v.is_empty()) {
        errs.invalid(&vp, "", "may not be specified when `value` is not empty");
    }
    let set = [
        from.field_ref.is_some(),
        from.resource_field_ref.is_some(),
        from.config_map_key_ref.is_some(),
        from.secret_key_ref.is_some(),
        from.file_key_ref.is_some(),
    ];
    match set.iter().filter(|s| **s).count() {
        0 => errs.push(
            &vp,
            "required: must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ),
        1 => {}
        _ => errs.forbidden(&vp, "may not have more than one field specified at a time"),
    }
    if let Some(f) = &from.field_ref {
        field_path(
            errs,
            &child(&vp, "fieldRef.fieldPath"),
            &f.field_path,
            ENV_FIELDS,
            &["metadata.labels", "metadata.annotations"],
        );
    }
    if let Some(r) = &from.resource_field_ref {
        errs.one_of(
            child(&vp, "resourceFieldRef.resource"),
            Some(&r.resource),
            RESOURCE_FIELDS,
        );
    }
    for (field, key_ref) in [
        ("configMapKeyRef", &from.config_map_key_ref),
        ("secretKeyRef", &from.secret_key_ref),
    ] {
        if let Some(k) = key_ref {
            let kp = child(&vp, field);
            ref_name(errs, &child(&kp, "name"), &k.name);
            if k.key.is_empty() {
                errs.required(child(&kp, "key"));
            } else {
                errs.name(&child(&kp, "key"), &k.key, names::config_map_key);
            }
        }
    }
    errs.reject_at(&vp, "fileKeyRef", &from.file_key_ref, "env files are not implemented");
}

/// A downward API field path: one of `exact`, or `<prefix>['<key>']` for one of `keyed`.
pub fn field_path(errs: &mut Errors, path: &str, value: &str, exact: &[&str], keyed: &[&str]) {
    if value.is_empty() {
        errs.required(path);
        return;
    }
    let keyed_ok = keyed.iter().any(|prefix| {
        value
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix("['"))
            .and_then(|rest| rest.strip_suffix("']"))
            .is_some_and(|k| names::qualified_name(k).is_empty())
    });
    if !exact.contains(&value) && !keyed_ok {
        errs.unsupported(path, value, exact);
    }
}

fn ref_name(errs: &mut Errors, path: &str, name: &str) {
    if name.is_empty() {
        errs.required(path);
    } else {
        errs.name(path, name, names::dns1123_subdomain);
    }
}

/// Resource names, non-negative quantities, and requests ≤ limits (`ValidateResourceRequirements`).
pub fn resources(errs: &mut Errors, path: &str, limits: &ResourceList, requests: &ResourceList) {
    for (field, list) in [("limits", limits), ("requests", requests)] {
        for (name, q) in list {
            let rp = key(&child(path, field), name);
            if !RESOURCES.contains(&name.as_str()) {
                errs.not_supported(&rp, "rekon enforces cpu, memory and ephemeral-storage only");
            } else if q.milli_value() < 0 {
                errs.invalid(&rp, &quantity_str(q), "must be greater than or equal to 0");
            }
        }
    }
    for (name, req) in requests {
        if let Some(limit) = limits.get(name)
            && req > limit
        {
            errs.invalid(
                key(&child(path, "requests"), name),
                &quantity_str(req),
                format!("must be less than or equal to {name} limit of {}", quantity_str(limit)),
            );
        }
    }
}

/// A quantity as the manifest's canonical string.
pub fn quantity_str(q: &Quantity) -> String {
    q.to_string()
}

fn mounts(errs: &mut Errors, path: &str, mounts: &[VolumeMount], volumes: &BTreeSet<&str>) {
    let mut paths = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let mp = at(path, i);
        if m.name.is_empty() {
            errs.required(child(&mp, "name"));
        } else if !volumes.contains(m.name.as_str()) {
            errs.not_found(child(&mp, "name"), &m.name);
        }
        if m.mount_path.is_empty() {
            errs.required(child(&mp, "mountPath"));
        } else {
            if !m.mount_path.starts_with('/') {
                errs.invalid(child(&mp, "mountPath"), &m.mount_path, "must be an absolute path");
            }
            if !paths.insert(m.mount_path.trim_end_matches('/')) {
                errs.invalid(child(&mp, "mountPath"), &m.mount_path, "must be unique");
            }
        }
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            relative_path(errs, &child(&mp, "subPath"), sub);
        }
        errs.reject_at(&mp, "subPathExpr", &m.sub_path_expr, "use subPath");
        errs.reject_at(
            &mp,
            "mountPropagation",
            &m.mount_propagation,
            "mounts are private to the container",
        );
        errs.reject_at(
            &mp,
            "recursiveReadOnly",
            &m.recursive_read_only,
            "read-only mounts are not made recursive",
        );
    }
}

/// `validateLocalDescendingPath`: relative and without `..` components.
pub fn relative_path(errs: &mut Errors, path: &str, value: &str) {
    if value.starts_with('/') {
        errs.invalid(path, value, "must be a relative path");
    }
    if value.split('/').any(|part| part == "..") {
        errs.invalid(path, value, "must not contain '..'");
    }
}

fn probe(errs: &mut Errors, path: &str, pr: &Probe, success_must_be_one: bool) {
    let p = |name: &str| child(path, name);
    let handlers = [
        pr.exec.is_some(),
        pr.http_get.is_some(),
        pr.tcp_socket.is_some(),
        pr.grpc.is_some(),
    ];
    match handlers.iter().filter(|s| **s).count() {
        0 => errs.push(path, "required: must specify a handler type"),
        1 => {}
        _ => errs.forbidden(path, "may not specify more than 1 handler type"),
    }
    if let Some(e) = &pr.exec
        && e.command.is_empty()
    {
        errs.required(p("exec.command"));
    }
    if let Some(g) = &pr.http_get {
        http_get(errs, &p("httpGet"), g);
        if g.scheme.as_deref() == Some("HTTPS") {
            errs.not_supported(p("httpGet.scheme"), "HTTPS probes are not implemented: use scheme HTTP");
        }
    }
    if let Some(t) = &pr.tcp_socket {
        port_ref(errs, &p("tcpSocket.port"), t.port.as_ref());
    }
    errs.reject_at(path, "grpc", &pr.grpc, "use an exec, httpGet or tcpSocket probe");
    for (field, v) in [
        ("initialDelaySeconds", pr.initial_delay_seconds),
        ("timeoutSeconds", pr.timeout_seconds),
        ("periodSeconds", pr.period_seconds),
        ("successThreshold", pr.success_threshold),
        ("failureThreshold", pr.failure_threshold),
    ] {
        errs.non_negative(p(field), v.map(i64::from));
    }
    if success_must_be_one && let Some(s) = pr.success_threshold.filter(|s| *s != 1) {
        errs.invalid_num(p("successThreshold"), s.into(), "must be 1");
    }
    if let Some(t) = pr.termination_grace_period_seconds.filter(|t| *t <= 0) {
        errs.invalid_num(p("terminationGracePeriodSeconds"), t, "must be greater than 0");
    }
}

fn http_get(errs: &mut Errors, path: &str, g: &HttpGetAction) {
    port_ref(errs, &child(path, "port"), g.port.as_ref());
    errs.one_of(child(path, "scheme"), g.scheme.as_deref(), &["HTTP", "HTTPS"]);
    for (i, h) in g.http_headers.iter().enumerate() {
        if h.name.is_empty()
            || !h
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-!#$%&'*+.^_`|~".contains(c))
        {
            errs.invalid(
                child(&at(&child(path, "httpHeaders"), i), "name"),
                &h.name,
                "a valid HTTP header must consist of alphanumeric characters or '-'",
            );
        }
    }
}

/// A probe port: 1..=65535 or a port name.
fn port_ref(errs: &mut Errors, path: &str, port: Option<&IntOrString>) {
    match port {
        None => errs.required(path),
        Some(IntOrString::Int(n)) => errs.port_number(path, *n),
        Some(IntOrString::String(s)) => errs.name(path, s, names::port_name),
    }
}

fn handler(errs: &mut Errors, path: &str, h: &LifecycleHandler) {
    let set = [
        h.exec.is_some(),
        h.http_get.is_some(),
        h.tcp_socket.is_some(),
        h.sleep.is_some(),
    ];
    match set.iter().filter(|s| **s).count() {
        0 => errs.push(path, "required: must specify a handler type"),
        1 => {}
        _ => errs.forbidden(path, "may not specify more than 1 handler type"),
    }
    if let Some(e) = &h.exec
        && e.command.is_empty()
    {
        errs.required(child(path, "exec.command"));
    }
    if let Some(g) = &h.http_get {
        http_get(errs, &child(path, "httpGet"), g);
    }
    if let Some(s) = &h.sleep
        && s.seconds <= 0
    {
        errs.invalid_num(child(path, "sleep.seconds"), s.seconds, "must be greater than 0");
    }
    errs.reject_at(
        path,
        "tcpSocket",
        &h.tcp_socket,
        "tcpSocket hooks are deprecated upstream and never run",
    );
}

fn security_context(errs: &mut Errors, path: &str, sc: &SecurityContext) {
    let p = |name: &str| child(path, name);
    errs.non_negative(p("runAsUser"), sc.run_as_user);
    errs.non_negative(p("runAsGroup"), sc.run_as_group);
    if sc.privileged == Some(true) && sc.allow_privilege_escalation == Some(false) {
        errs.invalid(
            p("allowPrivilegeEscalation"),
            "false",
            "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
        );
    }
    if let Some(profile) = &sc.seccomp_profile {
        pod::seccomp(errs, &p("seccompProfile"), profile);
    }
    if let Some(caps) = &sc.capabilities {
        // The apiserver takes any name and the container then fails to start
        // (CreateContainerError); rekon says so before anything is applied.
        for (list, names) in [("add", &caps.add), ("drop", &caps.drop)] {
            for (i, name) in names.iter().enumerate() {
                if !name.eq_ignore_ascii_case("ALL") && capabilities::number(name).is_none() {
                    errs.invalid(
                        format!("{}[{i}]", p(&format!("capabilities.{list}"))),
                        name,
                        "not a Linux capability",
                    );
                }
            }
        }
    }
    errs.reject_at(
        path,
        "seLinuxOptions",
        &sc.se_linux_options,
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
        "procMount",
        &sc.proc_mount,
        "containers get the default /proc mount",
    );
    errs.reject_at(
        path,
        "windowsOptions",
        &sc.windows_options,
        "rekon runs Linux pods only",
    );
}
