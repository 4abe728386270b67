//! Validation of defaulted objects (after `pkg/apis/*/validation/validation.go`), one file per
//! area. Every problem becomes a [`FieldError`] whose path uses the syntax of `de.rs`.

mod apps;
mod config;
mod container;
mod meta;
mod pod;
mod service;
mod storage;
mod volume;

use super::names;
use super::types::Resource;
use std::fmt::Display;

/// One validation problem: a field path and a lowercase message in Kubernetes' words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `spec.template.spec.containers[0].image`.
    pub path: String,
    /// `required`, `invalid value "Web": …`, `not supported by rekon: …`.
    pub message: String,
}

/// Validates a defaulted object; an empty list means it is valid.
pub fn validate(res: &Resource) -> Vec<FieldError> {
    let mut errs = Errors::default();
    let name_rule: fn(&str) -> Vec<String> = match res {
        Resource::Service(_) => names::dns1035_label,
        Resource::Namespace(_) => names::dns1123_label,
        _ => names::dns1123_subdomain,
    };
    meta::object_meta(&mut errs, res.metadata(), res.is_namespaced(), name_rule);
    match res {
        Resource::Pod(p) => pod::pod_spec(&mut errs, "spec", &p.spec, &[]),
        Resource::ConfigMap(c) => config::config_map(&mut errs, c),
        Resource::Secret(s) => config::secret(&mut errs, s),
        Resource::ServiceAccount(_) => {}
        Resource::Service(s) => service::service(&mut errs, s),
        Resource::PersistentVolumeClaim(c) => storage::claim_spec(&mut errs, "spec", &c.spec),
        Resource::PersistentVolume(v) => storage::volume(&mut errs, v),
        Resource::StorageClass(c) => storage::class(&mut errs, c),
        Resource::Node(n) => storage::node(&mut errs, n),
        Resource::Namespace(n) => storage::namespace(&mut errs, n),
        Resource::ReplicationController(rc) => apps::replication_controller(&mut errs, rc),
        Resource::Deployment(d) => apps::deployment(&mut errs, d),
        Resource::ReplicaSet(rs) => apps::replica_set(&mut errs, rs),
        Resource::StatefulSet(s) => apps::stateful_set(&mut errs, s),
        Resource::DaemonSet(d) => apps::daemon_set(&mut errs, d),
        Resource::Job(j) => apps::job(&mut errs, j),
    }
    errs.0
}

/// The errors of one object, with constructors for upstream's error types.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `field.Required`.
    pub fn required(&mut self, path: impl Into<String>) {
        self.push(path, "required");
    }

    /// `field.Invalid` for a string value (quoted as Go's `%q` would).
    pub fn invalid(&mut self, path: impl Into<String>, value: &str, detail: impl Display) {
        self.push(path, format!("invalid value {value:?}: {detail}"));
    }

    /// `field.Invalid` for a number.
    pub fn invalid_num(&mut self, path: impl Into<String>, value: i64, detail: impl Display) {
        self.push(path, format!("invalid value {value}: {detail}"));
    }

    /// `field.NotSupported`: the value is not one of `supported`.
    pub fn unsupported(&mut self, path: impl Into<String>, value: &str, supported: &[&str]) {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        self.push(
            path,
            format!("unsupported value {value:?}: supported values: {}", list.join(", ")),
        );
    }

    /// `field.Duplicate`.
    pub fn duplicate(&mut self, path: impl Into<String>, value: &str) {
        self.push(path, format!("duplicate value {value:?}"));
    }

    /// `field.NotFound`.
    pub fn not_found(&mut self, path: impl Into<String>, value: &str) {
        self.push(path, format!("not found: {value:?}"));
    }

    /// `field.Forbidden`.
    pub fn forbidden(&mut self, path: impl Into<String>, detail: impl Display) {
        self.push(path, format!("forbidden: {detail}"));
    }

    /// A Kubernetes field that rekon deliberately does not implement, with the reason.
    pub fn not_supported(&mut self, path: impl Into<String>, why: impl Display) {
        self.push(path, format!("not supported by rekon: {why}"));
    }

    /// Reports `not supported` when an optional field is set.
    pub fn reject<T>(&mut self, path: impl Into<String>, field: &Option<T>, why: &str) {
        if field.is_some() {
            self.not_supported(path, why);
        }
    }

    /// [`reject`](Self::reject) at `parent.name`, a path built only when the field is set
    /// (every object's metadata is checked for ten such fields).
    pub fn reject_at<T>(&mut self, parent: &str, name: &str, field: &Option<T>, why: &str) {
        if field.is_some() {
            self.not_supported(child(parent, name), why);
        }
    }

    /// Runs a name check and reports each of its messages against `value`.
    pub fn name(&mut self, path: &str, value: &str, rule: fn(&str) -> Vec<String>) {
        for msg in rule(value) {
            self.invalid(path, value, msg);
        }
    }

    /// A string that must be one of `allowed` when set.
    pub fn one_of(&mut self, path: impl Into<String>, value: Option<&str>, allowed: &[&str]) {
        if let Some(v) = value
            && !allowed.contains(&v)
        {
            self.unsupported(path, v, allowed);
        }
    }

    /// `ValidateNonnegativeField`.
    pub fn non_negative(&mut self, path: impl Into<String>, value: Option<i64>) {
        if let Some(v) = value
            && v < 0
        {
            self.invalid_num(path, v, "must be greater than or equal to 0");
        }
    }

    /// A port number in 1..=65535.
    pub fn port_number(&mut self, path: impl Into<String>, port: i64) {
        if !(1..=65535).contains(&port) {
            self.invalid_num(path, port, "must be between 1 and 65535, inclusive");
        }
    }
}

/// `path[index]`.
pub(crate) fn at(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// `path.key` or `path['odd.key']`, as `de.rs` writes map keys.
pub(crate) fn key(path: &str, key: &str) -> String {
    super::yaml::format_key(path, key)
}

/// `path.child`.
pub(crate) fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}
