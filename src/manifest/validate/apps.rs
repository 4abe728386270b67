//! Workload controllers (`pkg/apis/apps/validation`, `pkg/apis/batch/validation`,
//! `ValidateReplicationController`): selectors, templates, strategies and counts.

use super::meta::{selector, selector_mismatch, template_meta, workload_selector};
use super::{Errors, at, child, pod, storage};
use crate::manifest::IntOrString;
use crate::manifest::names;
use crate::manifest::types::apps::{
    DaemonSet, Deployment, ReplicaSet, ReplicationController, RollingUpdate, StatefulSet,
};
use crate::manifest::types::batch::Job;
use crate::manifest::types::pod::PodTemplateSpec;

/// Validates a Deployment.
pub fn deployment(errs: &mut Errors, d: &Deployment) {
    let s = &d.spec;
    errs.non_negative("spec.replicas", s.replicas.map(i64::from));
    workload_selector(errs, s.selector.as_ref(), &s.template.metadata.labels);
    template(errs, &s.template, &["Always"], &[]);
    no_active_deadline(errs, &s.template);
    if let Some(st) = &s.strategy {
        errs.one_of(
            "spec.strategy.type",
            st.type_.as_deref(),
            &["Recreate", "RollingUpdate"],
        );
        match (st.type_.as_deref(), &st.rolling_update) {
            (Some("Recreate"), Some(_)) => errs.forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            ),
            (_, Some(ru)) => rolling_update(errs, "spec.strategy.rollingUpdate", ru),
            _ => {}
        }
    }
    let min_ready = s.min_ready_seconds.unwrap_or(0);
    errs.non_negative("spec.minReadySeconds", Some(min_ready.into()));
    errs.non_negative("spec.revisionHistoryLimit", s.revision_history_limit.map(i64::from));
    if let Some(pd) = s.progress_deadline_seconds {
        errs.non_negative("spec.progressDeadlineSeconds", Some(pd.into()));
        if pd >= 0 && pd <= min_ready {
            errs.invalid_num(
                "spec.progressDeadlineSeconds",
                pd.into(),
                "must be greater than minReadySeconds",
            );
        }
    }
}

/// Validates a ReplicaSet.
pub fn replica_set(errs: &mut Errors, rs: &ReplicaSet) {
    let s = &rs.spec;
    errs.non_negative("spec.replicas", s.replicas.map(i64::from));
    errs.non_negative("spec.minReadySeconds", s.min_ready_seconds.map(i64::from));
    workload_selector(errs, s.selector.as_ref(), &s.template.metadata.labels);
    template(errs, &s.template, &["Always"], &[]);
    no_active_deadline(errs, &s.template);
}

/// Validates a ReplicationController (its selector is a plain label map).
pub fn replication_controller(errs: &mut Errors, rc: &ReplicationController) {
    let s = &rc.spec;
    errs.non_negative("spec.replicas", s.replicas.map(i64::from));
    errs.non_negative("spec.minReadySeconds", s.min_ready_seconds.map(i64::from));
    if s.selector.is_empty() {
        errs.required("spec.selector");
    } else {
        super::meta::labels(errs, "spec.selector", &s.selector);
        let labels = &s.template.metadata.labels;
        if !s.selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            selector_mismatch(errs, labels);
        }
    }
    template(errs, &s.template, &["Always"], &[]);
    no_active_deadline(errs, &s.template);
}

/// Validates a StatefulSet; its claim templates count as volumes of the pod template.
pub fn stateful_set(errs: &mut Errors, sts: &StatefulSet) {
    let s = &sts.spec;
    errs.non_negative("spec.replicas", s.replicas.map(i64::from));
    errs.non_negative("spec.minReadySeconds", s.min_ready_seconds.map(i64::from));
    errs.non_negative("spec.revisionHistoryLimit", s.revision_history_limit.map(i64::from));
    workload_selector(errs, s.selector.as_ref(), &s.template.metadata.labels);
    errs.one_of(
        "spec.podManagementPolicy",
        s.pod_management_policy.as_deref(),
        &["OrderedReady", "Parallel"],
    );
    if let Some(name) = &s.service_name {
        errs.name("spec.serviceName", name, names::dns1123_label);
    }
    if let Some(st) = &s.update_strategy {
        errs.one_of(
            "spec.updateStrategy.type",
            st.type_.as_deref(),
            &["RollingUpdate", "OnDelete"],
        );
        if st.type_.as_deref() == Some("OnDelete") && st.rolling_update.is_some() {
            errs.forbidden(
                "spec.updateStrategy.rollingUpdate",
                "only allowed for updateStrategy 'RollingUpdate'",
            );
        }
        if let Some(ru) = &st.rolling_update {
            errs.non_negative(
                "spec.updateStrategy.rollingUpdate.partition",
                ru.partition.map(i64::from),
            );
            errs.reject(
                "spec.updateStrategy.rollingUpdate.maxUnavailable",
                &ru.max_unavailable,
                "StatefulSet pods are updated one at a time",
            );
        }
    }
    if let Some(r) = &s.persistent_volume_claim_retention_policy {
        errs.one_of(
            "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
            r.when_deleted.as_deref(),
            &["Retain", "Delete"],
        );
        errs.one_of(
            "spec.persistentVolumeClaimRetentionPolicy.whenScaled",
            r.when_scaled.as_deref(),
            &["Retain", "Delete"],
        );
    }
    errs.reject("spec.ordinals", &s.ordinals, "StatefulSet ordinals start at 0");
    let mut claim_names = Vec::new();
    for (i, claim) in s.volume_claim_templates.iter().enumerate() {
        let cp = at("spec.volumeClaimTemplates", i);
        if claim.metadata.name.is_empty() {
            errs.required(child(&cp, "metadata.name"));
        } else {
            errs.name(&child(&cp, "metadata.name"), &claim.metadata.name, names::dns1123_label);
            claim_names.push(claim.metadata.name.as_str());
        }
        template_meta(errs, &child(&cp, "metadata"), &claim.metadata);
        storage::claim_spec(errs, &child(&cp, "spec"), &claim.spec);
    }
    template(errs, &s.template, &["Always"], &claim_names);
    no_active_deadline(errs, &s.template);
}

/// Validates a DaemonSet.
pub fn daemon_set(errs: &mut Errors, ds: &DaemonSet) {
    let s = &ds.spec;
    errs.non_negative("spec.minReadySeconds", s.min_ready_seconds.map(i64::from));
    errs.non_negative("spec.revisionHistoryLimit", s.revision_history_limit.map(i64::from));
    workload_selector(errs, s.selector.as_ref(), &s.template.metadata.labels);
    template(errs, &s.template, &["Always"], &[]);
    no_active_deadline(errs, &s.template);
    if let Some(st) = &s.update_strategy {
        errs.one_of(
            "spec.updateStrategy.type",
            st.type_.as_deref(),
            &["RollingUpdate", "OnDelete"],
        );
        if st.type_.as_deref() == Some("OnDelete") && st.rolling_update.is_some() {
            errs.forbidden(
                "spec.updateStrategy.rollingUpdate",
                "only allowed for updateStrategy 'RollingUpdate'",
            );
        }
        if let Some(ru) = &st.rolling_update {
            rolling_update(errs, "spec.updateStrategy.rollingUpdate", ru);
        }
    }
}

/// Validates a Job.
pub fn job(errs: &mut Errors, j: &Job) {
    let s = &j.spec;
    errs.non_negative("spec.parallelism", s.parallelism.map(i64::from));
    errs.non_negative("spec.completions", s.completions.map(i64::from));
    errs.non_negative("spec.backoffLimit", s.backoff_limit.map(i64::from));
    errs.non_negative(
        "spec.ttlSecondsAfterFinished",
        s.ttl_seconds_after_finished.map(i64::from),
    );
    if let Some(a) = s.active_deadline_seconds.filter(|a| *a <= 0) {
        errs.invalid_num("spec.activeDeadlineSeconds", a, "must be greater than 0");
    }
    errs.one_of(
        "spec.completionMode",
        s.completion_mode.as_deref(),
        &["NonIndexed", "Indexed"],
    );
    if s.completion_mode.as_deref() == Some("Indexed") && s.completions.is_none() {
        errs.push("spec.completions", "required: when completion mode is Indexed");
    }
    match (&s.selector, s.manual_selector) {
        (Some(sel), Some(true)) => {
            selector(errs, "spec.selector", sel);
            if !sel.matches(&s.template.metadata.labels) {
                selector_mismatch(errs, &s.template.metadata.labels);
            }
        }
        (Some(_), _) => errs.forbidden(
            "spec.selector",
            "`selector` will be auto-generated; set `manualSelector: true` to choose it yourself",
        ),
        (None, _) => {}
    }
    template(errs, &s.template, &["OnFailure", "Never"], &[]);
    let why = "rekon implements backoffLimit, activeDeadlineSeconds and completions only";
    errs.reject("spec.backoffLimitPerIndex", &s.backoff_limit_per_index, why);
    errs.reject("spec.maxFailedIndexes", &s.max_failed_indexes, why);
    errs.reject("spec.podFailurePolicy", &s.pod_failure_policy, why);
    errs.reject("spec.successPolicy", &s.success_policy, why);
    errs.reject("spec.podReplacementPolicy", &s.pod_replacement_policy, why);
    errs.reject(
        "spec.managedBy",
        &s.managed_by,
        "rekon's own Job controller manages every Job",
    );
}

/// The pod template: metadata, the pod spec, and the restart policies the workload allows.
fn template(errs: &mut Errors, t: &PodTemplateSpec, restart: &[&str], claims: &[&str]) {
    template_meta(errs, "spec.template.metadata", &t.metadata);
    pod::pod_spec(errs, "spec.template.spec", &t.spec, claims);
    if let Some(rp) = t.spec.restart_policy.as_deref()
        && !restart.contains(&rp)
    {
        errs.unsupported("spec.template.spec.restartPolicy", rp, restart);
    }
}

fn no_active_deadline(errs: &mut Errors, t: &PodTemplateSpec) {
    if t.spec.active_deadline_seconds.is_some() {
        errs.forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        );
    }
}

/// `maxUnavailable` / `maxSurge` (`ValidateRollingUpdateDeployment`).
fn rolling_update(errs: &mut Errors, path: &str, ru: &RollingUpdate) {
    let unavailable_path = child(path, "maxUnavailable");
    let surge_path = child(path, "maxSurge");
    let unavailable = ru
        .max_unavailable
        .as_ref()
        .and_then(|v| int_or_percent(errs, &unavailable_path, v));
    let surge = ru.max_surge.as_ref().and_then(|v| int_or_percent(errs, &surge_path, v));
    if let (Some(IntOrString::String(s)), Some(n)) = (&ru.max_unavailable, unavailable)
        && n > 100
    {
        errs.invalid(&unavailable_path, s, "must not be greater than 100%");
    }
    if (surge == Some(0) || ru.max_surge.is_none()) && unavailable == Some(0) {
        let shown = match &ru.max_unavailable {
            Some(IntOrString::String(s)) => format!("{s:?}"),
            _ => "0".to_string(),
        };
        errs.push(
            &unavailable_path,
            format!("invalid value {shown}: may not be 0 when `maxSurge` is 0"),
        );
    }
}

/// `ValidatePositiveIntOrPercent`: the number (or percent number), when valid.
fn int_or_percent(errs: &mut Errors, path: &str, v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::Int(n) if *n < 0 => {
            errs.invalid_num(path, *n, "must be greater than or equal to 0");
            None
        }
        IntOrString::Int(n) => Some(*n),
        IntOrString::String(s) => {
            match s
                .strip_suffix('%')
                .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
            {
                Some(digits) => digits.parse().ok(),
                None => {
                    errs.invalid(path, s, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%')");
                    None
                }
            }
        }
    }
}
