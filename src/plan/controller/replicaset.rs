//! The ReplicaSet controller (`syncReplicaSet`, `manageReplicas`, `calculateStatus` in
//! pkg/controller/replicaset/): keeps the number of active pods at `spec.replicas`.

use super::names::pod_name;
use super::ranking::pods_to_delete;
use super::types::{ControllerAction, ControllerEvent, LiveReplicaSet, ObservedPod, ReplicaSetStatus, Time};
use std::collections::HashSet;

/// Most pods created or deleted in one sync (`BurstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// What one sync of a ReplicaSet decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSetOutcome {
    /// The ReplicaSet with its new status and name counter.
    pub replica_set: LiveReplicaSet,
    /// `CreatePod` / `DeletePod`, in order. Creates are meant to run in slow-start batches
    /// (1, 2, 4, …; `slowStartBatch`): the first failure stops the rest.
    pub actions: Vec<ControllerAction>,
    /// `SuccessfulCreate` / `SuccessfulDelete` events, in order.
    pub events: Vec<ControllerEvent>,
    /// When the status changes without any pod event: a Ready pod becomes available after
    /// minReadySeconds (`AddAfter(key, MinReadySeconds)`).
    pub next_check: Option<Time>,
}

/// Syncs one ReplicaSet. `pods` are the pods it owns (any state); `related` are the pods of
/// every ReplicaSet of the same Deployment (or `pods` for a standalone one), for ranking.
pub fn sync_replica_set(
    rs: &LiveReplicaSet,
    pods: &[ObservedPod],
    related: &[ObservedPod],
    now: Time,
) -> ReplicaSetOutcome {
    let mut rs = rs.clone();
    let object = format!("replicaset/{}", rs.name);
    let active: Vec<&ObservedPod> = pods.iter().filter(|p| p.is_active()).collect();
    let mut actions = Vec::new();
    let mut events = Vec::new();
    let diff = active.len() as i64 - i64::from(rs.replicas);
    if diff < 0 {
        let want = (-diff as usize).min(BURST_REPLICAS);
        // Names of pods that still exist (terminating ones included) are never reused.
        let taken: HashSet<&str> = pods.iter().map(|p| p.name.as_str()).collect();
        for _ in 0..want {
            let name = loop {
                let name = pod_name(&rs.name, &rs.uid, rs.pods_created);
                rs.pods_created += 1;
                if !taken.contains(name.as_str()) {
                    break name;
                }
            };
            events.push(ControllerEvent::normal(
                object.clone(),
                "SuccessfulCreate",
                format!("Created pod: {name}"),
            ));
            actions.push(ControllerAction::CreatePod {
                replica_set: rs.name.clone(),
                name,
            });
        }
    } else if diff > 0 {
        let want = (diff as usize).min(BURST_REPLICAS);
        let related: Vec<&ObservedPod> = related.iter().collect();
        for p in pods_to_delete(&active, &related, want, now) {
            events.push(ControllerEvent::normal(
                object.clone(),
                "SuccessfulDelete",
                format!("Deleted pod: {}", p.name),
            ));
            actions.push(ControllerAction::DeletePod {
                replica_set: rs.name.clone(),
                name: p.name.clone(),
                uid: p.uid.clone(),
            });
        }
    }
    rs.status = calculate_status(&rs, &active, now);
    let next_check = active
        .iter()
        .filter(|p| p.ready && !p.is_available(rs.min_ready_seconds, now))
        .filter_map(|p| p.ready_since)
        .map(|t| t + chrono::Duration::seconds(rs.min_ready_seconds.into()) + chrono::Duration::milliseconds(1))
        .min();
    ReplicaSetOutcome {
        replica_set: rs,
        actions,
        events,
        next_check,
    }
}

/// The status of `rs` over `pods` (the pods it owns, in any state).
pub fn status_of(rs: &LiveReplicaSet, pods: &[ObservedPod], now: Time) -> ReplicaSetStatus {
    let active: Vec<&ObservedPod> = pods.iter().filter(|p| p.is_active()).collect();
    calculate_status(rs, &active, now)
}

/// `calculateStatus` (replica_set_utils.go), over the active pods before this sync acted.
fn calculate_status(rs: &LiveReplicaSet, active: &[&ObservedPod], now: Time) -> ReplicaSetStatus {
    let template_labels = &rs.template.metadata.labels;
    let mut status = ReplicaSetStatus {
        replicas: active.len() as i32,
        observed_generation: rs.generation,
        ..ReplicaSetStatus::default()
    };
    for p in active {
        if template_labels.iter().all(|(k, v)| p.labels.get(k) == Some(v)) {
            status.fully_labeled_replicas += 1;
        }
        if p.ready {
            status.ready_replicas += 1;
            if p.is_available(rs.min_ready_seconds, now) {
                status.available_replicas += 1;
            }
        }
    }
    status
}

/// The ReplicaSet controller over the state: every ReplicaSet of git, and every orphaned one
/// no Deployment claimed (it keeps its pods, as upstream).
pub struct ReplicaSetController;

impl super::pass::Controller for ReplicaSetController {
    fn kind(&self) -> crate::manifest::types::Kind {
        crate::manifest::types::Kind::ReplicaSet
    }

    fn sync(&self, input: &super::pass::PassInput<'_>, out: &mut super::pass::PassOutput) {
        use super::pass::{WorkloadProgress, key, not_ready_pods};
        use crate::manifest::Resource;
        for d in input.desired {
            let Some(Resource::ReplicaSet(rs)) = d.resource.as_deref() else {
                continue;
            };
            let ns = rs.metadata.namespace_or_default().to_string();
            let rkey = key(&ns, &rs.metadata.name);
            if input.left_alone(&d.id) {
                // Deleted with --cascade=foreground: kept as it is, creating no pods, until the
                // garbage collector removes it with its last pod.
                if let Some(live) = input.state.replica_sets.get(&rkey) {
                    out.claimed.push(rkey.clone());
                    out.replica_sets.insert(rkey, live.clone());
                }
                continue;
            }
            let live = record_of_git(input, rs, &rkey, input.generation(&d.id));
            let own = input.pods_of(&ns, &rs.metadata.name);
            let synced = sync_replica_set(&live, &own, &own, input.now);
            out.pod_actions
                .extend(synced.actions.iter().map(|a| (ns.clone(), a.clone())));
            let s = &synced.replica_set.status;
            let converged =
                synced.actions.is_empty() && s.replicas == live.replicas && s.available_replicas == live.replicas;
            out.progress.push(WorkloadProgress {
                id: d.id.clone(),
                converged,
                failed: false,
                message: format!(
                    "{} of {} pods available{}",
                    s.available_replicas,
                    live.replicas,
                    not_ready_pods(&own)
                ),
            });
            out.check_at(synced.next_check);
            out.events.extend(synced.events);
            out.claimed.push(rkey.clone());
            out.replica_sets.insert(rkey, synced.replica_set);
        }
        for rs in input.state.replica_sets.values() {
            let rkey = key(&rs.namespace, &rs.name);
            if !rs.orphaned || out.claimed.contains(&rkey) {
                continue;
            }
            let own = input.pods_of(&rs.namespace, &rs.name);
            let synced = sync_replica_set(rs, &own, &own, input.now);
            out.pod_actions
                .extend(synced.actions.iter().map(|a| (rs.namespace.clone(), a.clone())));
            out.check_at(synced.next_check);
            out.events.extend(synced.events);
            out.replica_sets.insert(rkey, synced.replica_set);
        }
    }
}

/// The record of a ReplicaSet from git, with the spec git gives now.
fn record_of_git(
    input: &super::pass::PassInput<'_>,
    rs: &crate::manifest::types::ReplicaSet,
    rkey: &crate::manifest::types::NamespacedName,
    generation: i64,
) -> LiveReplicaSet {
    let ns = rs.metadata.namespace_or_default();
    let mut live = input
        .state
        .replica_sets
        .get(rkey)
        .cloned()
        .unwrap_or_else(|| LiveReplicaSet {
            name: rs.metadata.name.clone(),
            namespace: ns.to_string(),
            uid: super::names::object_uid(ns, &rs.metadata.name, input.now),
            owner: None,
            labels: Default::default(),
            annotations: Default::default(),
            selector: Default::default(),
            template: Default::default(),
            replicas: 0,
            min_ready_seconds: 0,
            created_at: input.now,
            generation,
            pods_created: 0,
            status: Default::default(),
            orphaned: false,
        });
    live.labels = rs.metadata.labels.clone();
    live.annotations = rs.metadata.annotations.clone();
    live.selector = rs.spec.selector.clone().unwrap_or_default();
    live.template = rs.spec.template.clone();
    live.replicas = rs.spec.replicas.unwrap_or(1);
    live.min_ready_seconds = rs.spec.min_ready_seconds.unwrap_or(0);
    live.generation = generation;
    live
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::status::PodPhase;
    use crate::manifest::types::LabelSelector;
    use chrono::TimeZone;

    fn t(s: i64) -> Time {
        chrono::Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    fn rs(replicas: i32, min_ready: i32) -> LiveReplicaSet {
        let template = serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}
        }))
        .unwrap();
        LiveReplicaSet {
            name: "web".into(),
            namespace: "default".into(),
            uid: "u".into(),
            owner: None,
            labels: Default::default(),
            annotations: Default::default(),
            selector: LabelSelector::default(),
            template,
            replicas,
            min_ready_seconds: min_ready,
            created_at: t(0),
            generation: 3,
            pods_created: 0,
            status: Default::default(),
            orphaned: false,
        }
    }

    fn pod(name: &str, ready_since: Option<i64>) -> ObservedPod {
        ObservedPod {
            name: name.into(),
            uid: format!("uid-{name}"),
            owner: "web".into(),
            labels: std::sync::Arc::new([("app".to_string(), "web".to_string())].into()),
            phase: PodPhase::Running,
            ready: ready_since.is_some(),
            ready_since: ready_since.map(t),
            deleting: false,
            created_at: t(0),
            node: Some("n".into()),
            max_restarts: 0,
            deletion_cost: 0,
        }
    }

    fn kinds(o: &ReplicaSetOutcome) -> Vec<String> {
        o.actions
            .iter()
            .map(|a| match a {
                ControllerAction::CreatePod { name, .. } => format!("+{name}"),
                ControllerAction::DeletePod { name, .. } => format!("-{name}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn creates_missing_pods_with_fresh_names() {
        let out = sync_replica_set(&rs(3, 0), &[pod("web-aaaaa", Some(0))], &[], t(10));
        assert_eq!(out.actions.len(), 2);
        assert_eq!(out.replica_set.pods_created, 2);
        assert!(kinds(&out).iter().all(|k| k.starts_with("+web-") && k.len() == 10));
        assert_eq!(out.events[0].message, format!("Created pod: {}", &kinds(&out)[0][1..]));
        // The next sync continues the sequence: no name comes twice.
        let again = sync_replica_set(&out.replica_set, &[], &[], t(11));
        let mut all = kinds(&out);
        all.extend(kinds(&again));
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn terminating_and_finished_pods_are_replaced() {
        let gone = ObservedPod {
            deleting: true,
            ..pod("a", Some(0))
        };
        let done = ObservedPod {
            phase: PodPhase::Succeeded,
            ..pod("b", Some(0))
        };
        let out = sync_replica_set(&rs(2, 0), &[gone, done, pod("c", Some(0))], &[], t(5));
        assert_eq!(out.actions.len(), 1, "{:?}", out.actions);
        assert_eq!(out.replica_set.status.replicas, 1);
    }

    #[test]
    fn scales_down_the_not_ready_pod_first() {
        let pods = [pod("old", Some(0)), pod("fresh", None), pod("mid", Some(50))];
        let out = sync_replica_set(&rs(1, 0), &pods, &pods, t(100));
        assert_eq!(kinds(&out), ["-fresh", "-mid"]);
    }

    #[test]
    fn status_counts_ready_and_available_after_min_ready_seconds() {
        let mut unlabeled = pod("x", Some(0));
        unlabeled.labels = Default::default();
        let pods = [pod("a", Some(0)), pod("b", Some(8)), pod("c", None), unlabeled];
        let out = sync_replica_set(&rs(4, 5), &pods, &pods, t(10));
        let s = &out.replica_set.status;
        assert_eq!(
            (
                s.replicas,
                s.fully_labeled_replicas,
                s.ready_replicas,
                s.available_replicas,
                s.observed_generation
            ),
            (4, 3, 3, 2, 3)
        );
        assert_eq!(out.next_check, Some(t(13) + chrono::Duration::milliseconds(1)));
        // Exactly at ready + minReadySeconds it is not available yet ("Before", strictly).
        assert!(!pods[1].is_available(5, t(13)));
        assert!(pods[1].is_available(5, t(14)));
    }

    #[test]
    fn at_most_burst_replicas_per_sync() {
        let out = sync_replica_set(&rs(600, 0), &[], &[], t(0));
        assert_eq!(out.actions.len(), BURST_REPLICAS);
    }
}
