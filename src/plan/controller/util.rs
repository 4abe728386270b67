//! Helpers after `pkg/controller/deployment/util/deployment_util.go`: fenceposts, template
//! equality, ReplicaSet orderings and the replica annotations.

use super::types::{DESIRED_REPLICAS, LiveReplicaSet, MAX_REPLICAS, POD_TEMPLATE_HASH, REVISION, REVISION_HISTORY};
use crate::manifest::types::{Deployment, PodTemplateSpec};
use std::cmp::Ordering;

/// `progressDeadlineSeconds` of MaxInt32 means no deadline (`HasProgressDeadline`).
pub const NO_DEADLINE: i32 = i32::MAX;
/// `maxRevHistoryLengthInChars` of the revision-history annotation.
const MAX_REV_HISTORY_CHARS: usize = 2000;
/// Deployment annotations never copied to its ReplicaSets (`annotationsToSkip`).
const ANNOTATIONS_TO_SKIP: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

/// `spec.replicas` (defaulted to 1).
pub fn replicas(d: &Deployment) -> i32 {
    d.spec.replicas.unwrap_or(1)
}

/// Whether the strategy is RollingUpdate (the default).
pub fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

/// `ResolveFenceposts`: maxSurge rounds up, maxUnavailable down; both 0 makes
/// maxUnavailable 1. Unset values default to 25% (`SetDefaults_Deployment`).
pub fn resolve_fenceposts(d: &Deployment, desired: i32) -> (i32, i32) {
    let ru = d.spec.strategy.as_ref().and_then(|s| s.rolling_update.as_ref());
    let quarter = crate::manifest::IntOrString::String("25%".into());
    let surge_v = ru.and_then(|r| r.max_surge.as_ref()).unwrap_or(&quarter);
    let unavail_v = ru.and_then(|r| r.max_unavailable.as_ref()).unwrap_or(&quarter);
    // Validation rejected bad values; 0 is upstream's fallback for an error too.
    let surge = surge_v.scaled_value(desired.into(), true).unwrap_or(0);
    let mut unavailable = unavail_v.scaled_value(desired.into(), false).unwrap_or(0);
    if surge == 0 && unavailable == 0 {
        // Due to rounding down maxUnavailable may resolve to zero: surge might not work
        // (quota), so allow one unavailable pod.
        unavailable = 1;
    }
    (clamp_i32(surge), clamp_i32(unavailable))
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// `MaxSurge`: 0 for Recreate.
pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    resolve_fenceposts(d, replicas(d)).0
}

/// `MaxUnavailable`: 0 for Recreate or 0 replicas, capped at replicas.
pub fn max_unavailable(d: &Deployment) -> i32 {
    let desired = replicas(d);
    if !is_rolling(d) || desired == 0 {
        return 0;
    }
    resolve_fenceposts(d, desired).1.min(desired)
}

/// `HasProgressDeadline`.
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec.progress_deadline_seconds.is_some_and(|s| s != NO_DEADLINE)
}

/// `EqualIgnoreHash`: templates equal once the `pod-template-hash` label is removed.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    // Compared field by field: cloning both templates to drop the label cost more than the
    // rest of a Deployment's pass.
    fn labels(t: &PodTemplateSpec) -> impl Iterator<Item = (&String, &String)> {
        t.metadata
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != POD_TEMPLATE_HASH)
    }
    let crate::manifest::types::ObjectMeta {
        name,
        generate_name,
        namespace,
        labels: _,
        annotations,
        creation_timestamp,
        owner_references,
        finalizers,
        uid,
        resource_version,
        generation,
        deletion_timestamp,
        deletion_grace_period_seconds,
        managed_fields,
        self_link,
    } = &a.metadata;
    let m = &b.metadata;
    a.spec == b.spec
        && labels(a).eq(labels(b))
        && *name == m.name
        && *generate_name == m.generate_name
        && *namespace == m.namespace
        && *annotations == m.annotations
        && *creation_timestamp == m.creation_timestamp
        && *owner_references == m.owner_references
        && *finalizers == m.finalizers
        && *uid == m.uid
        && *resource_version == m.resource_version
        && *generation == m.generation
        && *deletion_timestamp == m.deletion_timestamp
        && *deletion_grace_period_seconds == m.deletion_grace_period_seconds
        && *managed_fields == m.managed_fields
        && *self_link == m.self_link
}

pub use crate::state::workloads::by_creation;

/// `ReplicaSetsByRevision`: lowest revision first, then by creation.
pub fn by_revision(a: &LiveReplicaSet, b: &LiveReplicaSet) -> Ordering {
    a.revision().cmp(&b.revision()).then_with(|| by_creation(a, b))
}

/// `ReplicaSetsBySizeOlder` (`newer == false`) / `ReplicaSetsBySizeNewer`: larger first; ties
/// older (or newer) first.
pub fn by_size(a: &LiveReplicaSet, b: &LiveReplicaSet, newer: bool) -> Ordering {
    b.replicas.cmp(&a.replicas).then_with(|| {
        let age = by_creation(a, b);
        if newer { age.reverse() } else { age }
    })
}

/// The integer value of an annotation, if present and valid.
pub fn int_annotation(rs: &LiveReplicaSet, key: &str) -> Option<i32> {
    rs.annotations.get(key).and_then(|v| v.parse().ok())
}

/// `SetReplicasAnnotations`: returns whether anything changed.
pub fn set_replicas_annotations(rs: &mut LiveReplicaSet, desired: i32, max: i32) -> bool {
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let value = value.to_string();
        if rs.annotations.get(key) != Some(&value) {
            rs.annotations.insert(key.to_string(), value);
            changed = true;
        }
    }
    changed
}

/// `ReplicasAnnotationsNeedUpdate`.
pub fn replicas_annotations_need_update(rs: &LiveReplicaSet, desired: i32, max: i32) -> bool {
    rs.annotations.get(DESIRED_REPLICAS) != Some(&desired.to_string())
        || rs.annotations.get(MAX_REPLICAS) != Some(&max.to_string())
}

/// `SetNewReplicaSetAnnotations`: copies the Deployment's annotations (except the skipped
/// ones), raises the revision to `new_revision` when lower (appending the old one to the
/// revision history), and for a ReplicaSet about to be created sets the replica annotations.
/// Returns whether anything changed.
pub fn set_new_rs_annotations(d: &Deployment, rs: &mut LiveReplicaSet, new_revision: i64, exists: bool) -> bool {
    let mut changed = false;
    for (k, v) in &d.metadata.annotations {
        if ANNOTATIONS_TO_SKIP.contains(&k.as_str()) || rs.annotations.get(k) == Some(v) {
            continue;
        }
        rs.annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    let old = rs.annotations.get(REVISION).cloned();
    let old_int = match old.as_deref().map(str::parse::<i64>) {
        None => 0,
        Some(Ok(n)) => n,
        // An unparsable revision is left alone, as upstream does.
        Some(Err(_)) => return changed,
    };
    if old_int < new_revision {
        rs.annotations.insert(REVISION.into(), new_revision.to_string());
        changed = true;
        // An existing revision being raised means this ReplicaSet is rolled back to: keep
        // the old number in the history (revision-history capped at 2000 characters).
        if let Some(old) = old {
            let history = rs.annotations.get(REVISION_HISTORY).cloned().unwrap_or_default();
            let joined = if history.is_empty() {
                Some(old)
            } else {
                let mut parts: Vec<&str> = history.split(',').collect();
                let mut total = history.len() + old.len() + 1;
                let mut start = 0;
                while total > MAX_REV_HISTORY_CHARS && start < parts.len() {
                    total -= parts[start].len() + 1;
                    start += 1;
                }
                (total <= MAX_REV_HISTORY_CHARS).then(|| {
                    parts = parts.split_off(start);
                    parts.push(&old);
                    parts.join(",")
                })
            };
            if let Some(joined) = joined {
                rs.annotations.insert(REVISION_HISTORY.into(), joined);
            }
        }
    }
    if !exists && set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)) {
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::IntOrString;
    use crate::manifest::types::apps::{DeploymentStrategy, RollingUpdate};

    fn deploy(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        let mut d = Deployment::default();
        d.spec.replicas = Some(replicas);
        d.spec.strategy = Some(DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdate {
                max_surge: Some(surge),
                max_unavailable: Some(unavailable),
            }),
        });
        d
    }

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        let cases = [
            (10, "25%", "25%", (3, 2)),
            (3, "25%", "25%", (1, 0)),
            (1, "25%", "25%", (1, 0)),
            (4, "0%", "10%", (0, 1)), // both 0 after rounding: unavailable 1
            (0, "25%", "25%", (0, 1)),
        ];
        for (n, s, u, want) in cases {
            let d = deploy(n, s.into(), u.into());
            assert_eq!(resolve_fenceposts(&d, n), want, "{n} {s} {u}");
        }
        let d = deploy(4, 0.into(), 1.into());
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 1));
        let d = deploy(2, 1.into(), 5.into());
        assert_eq!(max_unavailable(&d), 2, "capped at replicas");
        let d = deploy(0, 1.into(), 1.into());
        assert_eq!(max_unavailable(&d), 0, "no replicas, nothing unavailable");
        let mut recreate = deploy(3, 1.into(), 1.into());
        recreate.spec.strategy = Some(DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        });
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
    }
}
