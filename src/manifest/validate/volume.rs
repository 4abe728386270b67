//! Pod volumes (`ValidateVolumes`): names, exactly one source, and each source's fields.

use super::container::{RESOURCE_FIELDS, field_path, quantity_str, relative_path};
use super::{Errors, at, child};
use crate::manifest::names;
use crate::manifest::types::volume::{DownwardApiVolumeFile, KeyToPath, Volume};
use std::collections::BTreeSet;

/// Volume sources rekon implements, for the "not supported" message.
const SUPPORTED: &str = "rekon implements emptyDir, hostPath, configMap, secret, downwardAPI, projected and \
                         persistentVolumeClaim volumes";

/// `hostPath.type` values.
const HOST_PATH_TYPES: &[&str] = &[
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
];

/// Fields a downwardAPI volume file may use.
const VOLUME_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.labels",
    "metadata.annotations",
];

/// Validates the volumes and returns their names.
pub fn volumes<'a>(errs: &mut Errors, path: &str, vols: &'a [Volume]) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    for (i, v) in vols.iter().enumerate() {
        let vp = at(path, i);
        if v.name.is_empty() {
            errs.required(child(&vp, "name"));
        } else {
            errs.name(&child(&vp, "name"), &v.name, names::dns1123_label);
            if !seen.insert(v.name.as_str()) {
                errs.duplicate(child(&vp, "name"), &v.name);
            }
        }
        volume(errs, &vp, v);
    }
    seen
}

fn volume(errs: &mut Errors, path: &str, v: &Volume) {
    let p = |name: &str| child(path, name);
    let sources = v.source_names();
    if sources.len() > 1 {
        errs.forbidden(p(sources[1]), "may not specify more than 1 volume type");
    }
    for name in v.unsupported_sources() {
        errs.not_supported(p(name), SUPPORTED);
    }
    if let Some(e) = &v.empty_dir {
        errs.one_of(p("emptyDir.medium"), e.medium.as_deref(), &["", "Memory"]);
        if let Some(q) = e.size_limit.as_ref().filter(|q| q.milli_value() < 0) {
            errs.invalid(
                p("emptyDir.sizeLimit"),
                &quantity_str(q),
                "must be greater than or equal to 0",
            );
        }
    }
    if let Some(h) = &v.host_path {
        absolute(errs, &p("hostPath.path"), &h.path);
        errs.one_of(p("hostPath.type"), h.type_.as_deref(), HOST_PATH_TYPES);
    }
    if let Some(c) = &v.config_map {
        object_name(errs, &p("configMap.name"), &c.name);
        items(errs, &p("configMap.items"), &c.items);
        mode(errs, &p("configMap.defaultMode"), c.default_mode);
    }
    if let Some(s) = &v.secret {
        object_name(errs, &p("secret.secretName"), &s.secret_name);
        items(errs, &p("secret.items"), &s.items);
        mode(errs, &p("secret.defaultMode"), s.default_mode);
    }
    if let Some(d) = &v.downward_api {
        downward_files(errs, &p("downwardAPI.items"), &d.items);
        mode(errs, &p("downwardAPI.defaultMode"), d.default_mode);
    }
    if let Some(pr) = &v.projected {
        mode(errs, &p("projected.defaultMode"), pr.default_mode);
        for (i, src) in pr.sources.iter().enumerate() {
            let sp = at(&p("projected.sources"), i);
            let set = [
                src.secret.is_some(),
                src.config_map.is_some(),
                src.downward_api.is_some(),
                src.service_account_token.is_some(),
                src.cluster_trust_bundle.is_some(),
                src.pod_certificate.is_some(),
            ];
            match set.iter().filter(|s| **s).count() {
                0 => errs.push(
                    &sp,
                    "required: must specify exactly 1 of: `secret`, `configMap`, `downwardAPI`",
                ),
                1 => {}
                _ => errs.forbidden(&sp, "may not specify more than 1 volume type per source"),
            }
            for (field, kp) in [("secret", &src.secret), ("configMap", &src.config_map)] {
                if let Some(kp) = kp {
                    object_name(errs, &child(&sp, &format!("{field}.name")), &kp.name);
                    items(errs, &child(&sp, &format!("{field}.items")), &kp.items);
                }
            }
            if let Some(d) = &src.downward_api {
                downward_files(errs, &child(&sp, "downwardAPI.items"), &d.items);
            }
            if let Some(t) = &src.service_account_token {
                payload_path(errs, &child(&sp, "serviceAccountToken.path"), &t.path);
                let exp = child(&sp, "serviceAccountToken.expirationSeconds");
                match t.expiration_seconds {
                    Some(s) if s < crate::manifest::types::volume::MIN_TOKEN_SECONDS => {
                        errs.invalid(&exp, &s.to_string(), "may not specify a duration less than 10 minutes")
                    }
                    Some(s) if s > 1 << 32 => errs.invalid(
                        &exp,
                        &s.to_string(),
                        "may not specify a duration larger than 2^32 seconds",
                    ),
                    _ => {}
                }
            }
            let why = "rekon has no API server to issue certificates";
            errs.reject_at(&sp, "clusterTrustBundle", &src.cluster_trust_bundle, why);
            errs.reject_at(&sp, "podCertificate", &src.pod_certificate, why);
        }
    }
    if let Some(c) = &v.persistent_volume_claim {
        object_name(errs, &p("persistentVolumeClaim.claimName"), &c.claim_name);
    }
}

fn object_name(errs: &mut Errors, path: &str, name: &str) {
    if name.is_empty() {
        errs.required(path);
    } else {
        errs.name(path, name, names::dns1123_subdomain);
    }
}

/// An absolute path (hostPath, local PV).
pub fn absolute(errs: &mut Errors, path: &str, value: &str) {
    if value.is_empty() {
        errs.required(path);
    } else if !value.starts_with('/') {
        errs.invalid(path, value, "must be an absolute path");
    } else if value.split('/').any(|part| part == "..") {
        errs.invalid(path, value, "must not contain '..'");
    }
}

fn items(errs: &mut Errors, path: &str, items: &[KeyToPath]) {
    for (i, item) in items.iter().enumerate() {
        let ip = at(path, i);
        if item.key.is_empty() {
            errs.required(child(&ip, "key"));
        } else {
            errs.name(&child(&ip, "key"), &item.key, names::config_map_key);
        }
        payload_path(errs, &child(&ip, "path"), &item.path);
        mode(errs, &child(&ip, "mode"), item.mode);
    }
}

fn downward_files(errs: &mut Errors, path: &str, files: &[DownwardApiVolumeFile]) {
    for (i, f) in files.iter().enumerate() {
        let fp = at(path, i);
        payload_path(errs, &child(&fp, "path"), &f.path);
        mode(errs, &child(&fp, "mode"), f.mode);
        match (&f.field_ref, &f.resource_field_ref) {
            (Some(_), Some(_)) => errs.invalid(
                &fp,
                "",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            ),
            (None, None) => errs.push(&fp, "required: one of fieldRef and resourceFieldRef is required"),
            (Some(r), None) => field_path(
                errs,
                &child(&fp, "fieldRef.fieldPath"),
                &r.field_path,
                VOLUME_FIELDS,
                &["metadata.labels", "metadata.annotations"],
            ),
            (None, Some(r)) => errs.one_of(
                child(&fp, "resourceFieldRef.resource"),
                Some(&r.resource),
                RESOURCE_FIELDS,
            ),
        }
    }
}

/// A file path inside a volume (`validateVolumeSourcePath` + the atomic writer's rules).
fn payload_path(errs: &mut Errors, path: &str, value: &str) {
    if value.is_empty() {
        errs.required(path);
        return;
    }
    relative_path(errs, path, value);
    if value.starts_with("..") {
        errs.invalid(path, value, "must not start with '..'");
    }
}

/// File modes are 0..=0777.
fn mode(errs: &mut Errors, path: &str, mode: Option<i32>) {
    if let Some(m) = mode
        && !(0..=0o777).contains(&m)
    {
        errs.invalid_num(
            path,
            m.into(),
            "must be a number between 0 and 0777 (octal), both inclusive",
        );
    }
}
