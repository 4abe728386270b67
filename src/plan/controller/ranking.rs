//! Which pods a ReplicaSet deletes first when it scales down: `getPodsToDelete` and
//! `ActivePodsWithRanks.Less` (pkg/controller/replicaset/replica_set.go,
//! pkg/controller/controller_utils.go), with the PodDeletionCost and LogarithmicScaleDown
//! gates on, as they are by default.

use super::types::{ObservedPod, Time};
use crate::manifest::status::PodPhase;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The `diff` pods of `pods` to delete. `related` are the active and inactive pods of every
/// ReplicaSet of the same owner (`getIndirectlyRelatedPods`): they give each node its rank.
pub fn pods_to_delete<'a>(
    pods: &[&'a ObservedPod],
    related: &[&ObservedPod],
    diff: usize,
    now: Time,
) -> Vec<&'a ObservedPod> {
    let mut pods = pods.to_vec();
    // No ranking when all of them go.
    if diff < pods.len() {
        let mut on_node: HashMap<Option<&str>, usize> = HashMap::new();
        for p in related.iter().filter(|p| p.is_active()) {
            *on_node.entry(p.node.as_deref()).or_default() += 1;
        }
        let rank = |p: &ObservedPod| on_node.get(&p.node.as_deref()).copied().unwrap_or(0);
        pods.sort_by(|a, b| compare(a, b, rank(a), rank(b), now));
    }
    pods.truncate(diff);
    pods
}

fn phase_ordinal(phase: PodPhase) -> u8 {
    match phase {
        PodPhase::Pending => 0,
        PodPhase::Unknown => 1,
        PodPhase::Running => 2,
        // Not in upstream's podPhaseToOrdinal map: the zero value.
        PodPhase::Succeeded | PodPhase::Failed => 0,
    }
}

/// `Less`: `Less` means "delete first". The first rule that differs decides.
fn compare(a: &ObservedPod, b: &ObservedPod, rank_a: usize, rank_b: usize, now: Time) -> Ordering {
    // 1. Unassigned < assigned.
    if a.node != b.node && (a.node.is_none() || b.node.is_none()) {
        return if a.node.is_none() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // 2. Pending < Unknown < Running.
    let (pa, pb) = (phase_ordinal(a.phase), phase_ordinal(b.phase));
    if pa != pb {
        return pa.cmp(&pb);
    }
    // 3. Not ready < ready.
    if a.ready != b.ready {
        return if a.ready { Ordering::Greater } else { Ordering::Less };
    }
    // 4. Lower pod-deletion-cost < higher.
    if a.deletion_cost != b.deletion_cost {
        return a.deletion_cost.cmp(&b.deletion_cost);
    }
    // 5. Doubled up (more related pods on the node) < not doubled up.
    if rank_a != rank_b {
        return rank_b.cmp(&rank_a);
    }
    // 6. Ready for a shorter time < longer, in log2 buckets; equal buckets by uid.
    if a.ready && b.ready && a.ready_since != b.ready_since {
        return by_log_time(a.ready_since, b.ready_since, &a.uid, &b.uid, now);
    }
    // 7. Higher max container restart count < lower.
    if a.max_restarts != b.max_restarts {
        return b.max_restarts.cmp(&a.max_restarts);
    }
    // 8. Newer < older, in log2 buckets; equal buckets by uid.
    if a.created_at != b.created_at {
        return by_log_time(Some(a.created_at), Some(b.created_at), &a.uid, &b.uid, now);
    }
    Ordering::Equal
}

/// Newer (or unset) first, by `floor(log2(now − t))` in nanoseconds (`logarithmicRankDiff`);
/// a tie is broken by the lexically smaller uid.
fn by_log_time(a: Option<Time>, b: Option<Time>, uid_a: &str, uid_b: &str, now: Time) -> Ordering {
    let (Some(ta), Some(tb)) = (a, b) else {
        // `afterOrZero`: a zero time goes first.
        return match (a, b) {
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            _ => Ordering::Equal,
        };
    };
    let bucket = |t: Time| {
        let d = (now - t).num_nanoseconds().unwrap_or(i64::MAX);
        if d > 0 { (d as f64).log2() as i64 } else { -1 }
    };
    match bucket(ta).cmp(&bucket(tb)) {
        Ordering::Equal => uid_a.cmp(uid_b),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> Time {
        chrono::Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    fn pod(name: &str) -> ObservedPod {
        ObservedPod {
            name: name.into(),
            uid: format!("uid-{name}"),
            owner: "rs".into(),
            labels: Default::default(),
            phase: PodPhase::Running,
            ready: true,
            ready_since: Some(t(0)),
            deleting: false,
            created_at: t(0),
            node: Some("n1".into()),
            max_restarts: 0,
            deletion_cost: 0,
        }
    }

    fn first(pods: &[ObservedPod], related: &[ObservedPod], now: Time) -> Vec<String> {
        let refs: Vec<&ObservedPod> = pods.iter().collect();
        let rel: Vec<&ObservedPod> = related.iter().collect();
        pods_to_delete(&refs, &rel, pods.len() - 1, now)
            .iter()
            .map(|p| p.name.clone())
            .collect()
    }

    #[test]
    fn each_rule_decides_in_order() {
        let now = t(10_000);
        let base = pod("base");
        // (victim, survivor): the victim differs from `base` in exactly one rule.
        let cases: Vec<(&str, ObservedPod)> = vec![
            ("unassigned", ObservedPod { node: None, ..pod("v") }),
            (
                "pending",
                ObservedPod {
                    phase: PodPhase::Pending,
                    ..pod("v")
                },
            ),
            (
                "unknown",
                ObservedPod {
                    phase: PodPhase::Unknown,
                    ..pod("v")
                },
            ),
            (
                "not ready",
                ObservedPod {
                    ready: false,
                    ready_since: None,
                    ..pod("v")
                },
            ),
            (
                "cheaper",
                ObservedPod {
                    deletion_cost: -5,
                    ..pod("v")
                },
            ),
            (
                "ready more recently",
                ObservedPod {
                    ready_since: Some(t(9_000)),
                    ..pod("v")
                },
            ),
            (
                "more restarts",
                ObservedPod {
                    max_restarts: 3,
                    ..pod("v")
                },
            ),
            (
                "newer",
                ObservedPod {
                    created_at: t(9_000),
                    ..pod("v")
                },
            ),
        ];
        for (why, victim) in cases {
            let pods = [base.clone(), victim.clone()];
            assert_eq!(first(&pods, &pods, now), ["v"], "{why}");
            let pods = [victim, base.clone()];
            assert_eq!(first(&pods, &pods, now), ["v"], "{why} (other order)");
        }
        // Deletion cost beats readiness time: rule 4 before rule 6.
        let costly_new = ObservedPod {
            deletion_cost: 10,
            ready_since: Some(t(9_999)),
            ..pod("v")
        };
        let pods = [costly_new, base.clone()];
        assert_eq!(first(&pods, &pods, now), ["base"]);
    }

    #[test]
    fn a_doubled_up_node_loses_pods_first() {
        let now = t(100);
        let a = ObservedPod {
            node: Some("n1".into()),
            ..pod("a")
        };
        let b = ObservedPod {
            node: Some("n2".into()),
            ..pod("b")
        };
        // A pod of a sibling ReplicaSet doubles n2 up.
        let sibling = ObservedPod {
            node: Some("n2".into()),
            owner: "rs-old".into(),
            ..pod("s")
        };
        let pods = [a.clone(), b.clone()];
        assert_eq!(first(&pods, &[a, b, sibling], now), ["b"]);
    }

    #[test]
    fn equal_log_buckets_fall_back_to_the_uid() {
        let now = t(1_000);
        // 999 s and 998 s ago share a log2 bucket: the smaller uid goes first.
        let a = ObservedPod {
            created_at: t(1),
            uid: "b-uid".into(),
            ..pod("a")
        };
        let b = ObservedPod {
            created_at: t(2),
            uid: "a-uid".into(),
            ..pod("b")
        };
        let pods = [a, b];
        assert_eq!(first(&pods, &pods, now), ["b"]);
    }

    #[test]
    fn deleting_all_needs_no_ranking() {
        let pods = [pod("x"), pod("y")];
        let refs: Vec<&ObservedPod> = pods.iter().collect();
        assert_eq!(pods_to_delete(&refs, &refs, 2, t(0)).len(), 2);
    }
}
