//! PersistentVolumes, PersistentVolumeClaims, StorageClasses, Nodes and Namespaces.

use super::container::quantity_str;
use super::volume::absolute;
use super::{Errors, at, child, key};
use crate::manifest::names;
use crate::manifest::types::container::ResourceList;
use crate::manifest::types::node::{Namespace, Node};
use crate::manifest::types::storage::{PersistentVolume, PersistentVolumeClaimSpec, StorageClass};
use key as key_path;

const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

/// The spec of a claim (also of a StatefulSet claim template).
pub fn claim_spec(errs: &mut Errors, path: &str, s: &PersistentVolumeClaimSpec) {
    let p = |name: &str| child(path, name);
    access_modes(errs, &p("accessModes"), &s.access_modes);
    match s.resources.requests.get("storage") {
        None => errs.required(key(&p("resources.requests"), "storage")),
        Some(q) if q.milli_value() <= 0 => errs.invalid(
            key(&p("resources.requests"), "storage"),
            &quantity_str(q),
            "must be greater than zero",
        ),
        Some(_) => {}
    }
    quantities(errs, &p("resources.requests"), &s.resources.requests);
    quantities(errs, &p("resources.limits"), &s.resources.limits);
    volume_mode(errs, &p("volumeMode"), s.volume_mode.as_deref());
    if let Some(class) = s.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
        errs.name(&p("storageClassName"), class, names::dns1123_subdomain);
    }
    if let Some(v) = s.volume_name.as_deref().filter(|v| !v.is_empty()) {
        errs.name(&p("volumeName"), v, names::dns1123_subdomain);
    }
    if let Some(sel) = &s.selector {
        super::meta::selector(errs, &p("selector"), sel);
    }
    let why = "rekon provisions empty local volumes only";
    errs.reject_at(path, "dataSource", &s.data_source, why);
    errs.reject_at(path, "dataSourceRef", &s.data_source_ref, why);
    errs.reject_at(path, "volumeAttributesClassName", &s.volume_attributes_class_name, why);
}

/// Validates a PersistentVolume: a hostPath or local source, capacity, modes, claimRef.
pub fn volume(errs: &mut Errors, pv: &PersistentVolume) {
    let s = &pv.spec;
    match s.capacity.get("storage") {
        None => errs.required("spec.capacity.storage"),
        Some(q) if q.milli_value() <= 0 => {
            errs.invalid("spec.capacity.storage", &quantity_str(q), "must be greater than zero")
        }
        Some(_) => {}
    }
    quantities(errs, "spec.capacity", &s.capacity);
    access_modes(errs, "spec.accessModes", &s.access_modes);
    match (&s.host_path, &s.local) {
        (Some(_), Some(_)) => errs.forbidden("spec.local", "may not specify more than 1 volume type"),
        (None, None) if s.nfs.is_none() && s.csi.is_none() && s.iscsi.is_none() => {
            errs.push("spec", "required: must specify a volume type")
        }
        _ => {}
    }
    if let Some(h) = &s.host_path {
        absolute(errs, "spec.hostPath.path", &h.path);
    }
    if let Some(l) = &s.local {
        absolute(errs, "spec.local.path", &l.path);
    }
    errs.one_of(
        "spec.persistentVolumeReclaimPolicy",
        s.persistent_volume_reclaim_policy.as_deref(),
        &["Delete", "Recycle", "Retain"],
    );
    volume_mode(errs, "spec.volumeMode", s.volume_mode.as_deref());
    if let Some(class) = s.storage_class_name.as_deref().filter(|c| !c.is_empty()) {
        errs.name("spec.storageClassName", class, names::dns1123_subdomain);
    }
    if let Some(r) = &s.claim_ref {
        if r.name.is_empty() {
            errs.required("spec.claimRef.name");
        }
        if r.namespace.as_deref().unwrap_or("").is_empty() {
            errs.required("spec.claimRef.namespace");
        }
    }
    let why = "rekon's volumes are directories on this host (hostPath or local)";
    errs.reject("spec.nfs", &s.nfs, why);
    errs.reject("spec.csi", &s.csi, why);
    errs.reject("spec.iscsi", &s.iscsi, why);
    errs.reject("spec.mountOptions", &s.mount_options, "volumes are bind mounts");
    errs.reject("spec.volumeAttributesClassName", &s.volume_attributes_class_name, why);
}

/// Validates a StorageClass (`ValidateStorageClass`): a provisioner named like a qualified
/// name, a reclaim policy and a binding mode upstream knows.
pub fn class(errs: &mut Errors, c: &StorageClass) {
    if c.provisioner.is_empty() {
        errs.required("provisioner");
    } else {
        errs.name("provisioner", &c.provisioner, names::qualified_name);
    }
    errs.one_of("reclaimPolicy", c.reclaim_policy.as_deref(), &["Delete", "Retain"]);
    errs.one_of(
        "volumeBindingMode",
        c.volume_binding_mode.as_deref(),
        &["Immediate", "WaitForFirstConsumer"],
    );
    if c.provisioner == crate::manifest::types::storage::PROVISIONER {
        for key in c.parameters.keys() {
            errs.not_supported(
                key_path("parameters", key),
                "rekon's provisioner takes no parameters: it makes a directory per claim",
            );
        }
        if c.allow_volume_expansion == Some(true) {
            errs.not_supported(
                "allowVolumeExpansion",
                "rekon's volumes are directories with no size to expand",
            );
        }
    }
    errs.reject("mountOptions", &c.mount_options, "volumes are bind mounts");
    errs.reject("allowedTopologies", &c.allowed_topologies, "rekon has one host");
}

/// Validates a Node: capacity and allocatable quantities.
pub fn node(errs: &mut Errors, n: &Node) {
    quantities(errs, "status.capacity", &n.status.capacity);
    quantities(errs, "status.allocatable", &n.status.allocatable);
    if n.spec
        .taints
        .as_ref()
        .is_some_and(|t| t.as_array().is_none_or(|a| !a.is_empty()))
    {
        errs.not_supported(
            "spec.taints",
            "rekon nodes carry no taints, because rekon does not implement tolerations",
        );
    }
    let why = "rekon assigns pod addresses itself";
    errs.reject("spec.podCIDR", &n.spec.pod_cidr, why);
    errs.reject("spec.podCIDRs", &n.spec.pod_cidrs, why);
    errs.reject(
        "spec.providerID",
        &n.spec.provider_id,
        "rekon nodes are virtual nodes of this host",
    );
}

/// Validates a Namespace.
pub fn namespace(errs: &mut Errors, ns: &Namespace) {
    if ns
        .spec
        .as_ref()
        .is_some_and(|s| s.as_object().is_none_or(|o| !o.is_empty()))
    {
        errs.not_supported("spec", "rekon has no namespace finalizers");
    }
}

fn access_modes(errs: &mut Errors, path: &str, modes: &[String]) {
    if modes.is_empty() {
        errs.required(path);
    }
    for (i, m) in modes.iter().enumerate() {
        errs.one_of(at(path, i), Some(m), ACCESS_MODES);
    }
}

fn volume_mode(errs: &mut Errors, path: &str, mode: Option<&str>) {
    match mode {
        Some("Block") => errs.not_supported(path, "rekon volumes are directories; use Filesystem"),
        other => errs.one_of(path, other, &["Block", "Filesystem"]),
    }
}

fn quantities(errs: &mut Errors, path: &str, list: &ResourceList) {
    for (name, q) in list {
        if q.milli_value() < 0 {
            errs.invalid(key(path, name), &quantity_str(q), "must be greater than or equal to 0");
        }
    }
}
