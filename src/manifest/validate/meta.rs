//! Object metadata, labels, annotations and label selectors (`ValidateObjectMeta`,
//! `ValidateLabels`, `ValidateAnnotations`, `ValidateLabelSelector`).

use super::{Errors, at, child};
use crate::manifest::names;
use crate::manifest::types::meta::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

/// `TotalAnnotationSizeLimitB`.
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// The metadata of a top-level object.
pub fn object_meta(errs: &mut Errors, meta: &ObjectMeta, namespaced: bool, name_rule: fn(&str) -> Vec<String>) {
    if meta.generate_name.is_some() {
        errs.not_supported(
            "metadata.generateName",
            "a GitOps source needs fixed names to compare with what runs; set metadata.name",
        );
    }
    if meta.name.is_empty() {
        if meta.generate_name.is_none() {
            errs.required("metadata.name");
        }
    } else {
        errs.name("metadata.name", &meta.name, name_rule);
    }
    match (&meta.namespace, namespaced) {
        (Some(ns), true) => errs.name("metadata.namespace", ns, names::dns1123_label),
        (Some(ns), false) if !ns.is_empty() => errs.forbidden("metadata.namespace", "not allowed on this type"),
        _ => {}
    }
    labels_and_annotations(errs, "metadata", meta);
    server_fields(errs, "metadata", meta);
}

/// The metadata of a pod template or claim template: only labels and annotations matter.
pub fn template_meta(errs: &mut Errors, path: &str, meta: &ObjectMeta) {
    labels_and_annotations(errs, path, meta);
    server_fields(errs, path, meta);
    if meta.generate_name.is_some() {
        errs.not_supported(
            child(path, "generateName"),
            "names of generated objects are chosen by rekon",
        );
    }
}

fn labels_and_annotations(errs: &mut Errors, path: &str, meta: &ObjectMeta) {
    labels(errs, &child(path, "labels"), &meta.labels);
    let ann_path = child(path, "annotations");
    let mut total = 0;
    for (k, v) in &meta.annotations {
        for msg in names::qualified_name(&k.to_lowercase()) {
            errs.invalid(&ann_path, k, msg);
        }
        total += k.len() + v.len();
    }
    if total > ANNOTATIONS_MAX_BYTES {
        errs.push(
            ann_path,
            format!("too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes"),
        );
    }
}

/// Label keys and values (`ValidateLabels`), reported at the map's path.
pub fn labels(errs: &mut Errors, path: &str, labels: &BTreeMap<String, String>) {
    for (k, v) in labels {
        errs.name(path, k, names::qualified_name);
        errs.name(path, v, names::label_value);
    }
}

fn server_fields(errs: &mut Errors, path: &str, meta: &ObjectMeta) {
    const WHY: &str = "it is set by the cluster, not by a manifest";
    errs.reject_at(
        path,
        "ownerReferences",
        &meta.owner_references,
        "rekon sets owners of the objects it creates",
    );
    errs.reject_at(
        path,
        "finalizers",
        &meta.finalizers,
        "rekon has no controllers that act on finalizers",
    );
    errs.reject_at(path, "uid", &meta.uid, WHY);
    errs.reject_at(path, "resourceVersion", &meta.resource_version, WHY);
    errs.reject_at(path, "generation", &meta.generation, WHY);
    errs.reject_at(path, "creationTimestamp", &meta.creation_timestamp, WHY);
    errs.reject_at(path, "deletionTimestamp", &meta.deletion_timestamp, WHY);
    errs.reject_at(
        path,
        "deletionGracePeriodSeconds",
        &meta.deletion_grace_period_seconds,
        WHY,
    );
    errs.reject_at(path, "managedFields", &meta.managed_fields, WHY);
    errs.reject_at(path, "selfLink", &meta.self_link, WHY);
}

/// Syntax of a label selector (`ValidateLabelSelector`).
pub fn selector(errs: &mut Errors, path: &str, sel: &LabelSelector) {
    labels(errs, &child(path, "matchLabels"), &sel.match_labels);
    for (i, req) in sel.match_expressions.iter().enumerate() {
        let p = at(&child(path, "matchExpressions"), i);
        match req.operator.as_str() {
            "In" | "NotIn" if req.values.is_empty() => {
                errs.required(child(&p, "values"));
            }
            "Exists" | "DoesNotExist" if !req.values.is_empty() => {
                errs.forbidden(
                    child(&p, "values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                );
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.unsupported(child(&p, "operator"), other, &["In", "NotIn", "Exists", "DoesNotExist"]),
        }
        errs.name(&child(&p, "key"), &req.key, names::qualified_name);
    }
}

/// A workload's selector: required, non-empty, valid, and matching the template's labels.
pub fn workload_selector(errs: &mut Errors, sel: Option<&LabelSelector>, template_labels: &BTreeMap<String, String>) {
    let Some(sel) = sel else {
        errs.required("spec.selector");
        return;
    };
    if sel.is_empty() {
        errs.invalid("spec.selector", "{}", "empty selector is invalid for this workload");
        return;
    }
    selector(errs, "spec.selector", sel);
    if !sel.matches(template_labels) {
        selector_mismatch(errs, template_labels);
    }
}

/// `` `selector` does not match template `labels` `` at the template's labels.
pub fn selector_mismatch(errs: &mut Errors, template_labels: &BTreeMap<String, String>) {
    let shown: Vec<String> = template_labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    errs.invalid(
        "spec.template.metadata.labels",
        &shown.join(","),
        "`selector` does not match template `labels`",
    );
}
