//! Scenario tests of the Deployment controller, stepping a simulated clock (no sleeps).

use super::deployment::{DeploymentInput, sync_deployment};
use super::sim::{Sim, t0};
use super::types::*;
use crate::manifest::Resource;
use crate::manifest::defaults::apply_defaults;
use crate::manifest::types::Deployment;
use chrono::Duration;

/// A defaulted Deployment `web` of `replicas` with extra spec fields merged in.
fn deploy(replicas: i32, spec: serde_json::Value) -> Deployment {
    let mut value = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": "v1"}]}}
        }
    });
    for (k, v) in spec.as_object().unwrap() {
        value["spec"][k] = v.clone();
    }
    let mut res = Resource::Deployment(serde_json::from_value(value).unwrap());
    apply_defaults(&mut res);
    match res {
        Resource::Deployment(d) => d,
        _ => unreachable!(),
    }
}

fn rolling(surge: serde_json::Value, unavailable: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"strategy": {"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}})
}

/// Rolls out revision 1 to completion.
fn settled(d: Deployment) -> Sim {
    let mut sim = Sim::new(d);
    sim.ready_delay = |image| (image != "never").then(|| Duration::seconds(2));
    let steps = sim.run(Duration::milliseconds(500), 100, |_| {});
    assert!(steps < 100, "revision 1 converges");
    sim.now += Duration::seconds(1);
    sim
}

fn scale_actions(sim: &Sim) -> Vec<(String, i32, i32)> {
    sim.log
        .iter()
        .filter_map(|(_, a)| match a {
            ControllerAction::ScaleReplicaSet { name, from, to } => Some((name.clone(), *from, *to)),
            _ => None,
        })
        .collect()
}

/// The `replicas` of every ReplicaSet the controller created, in order.
fn created_sizes(sim: &Sim) -> Vec<i32> {
    sim.log
        .iter()
        .filter_map(|(_, a)| match a {
            ControllerAction::CreateReplicaSet { replicas, .. } => Some(*replicas),
            _ => None,
        })
        .collect()
}

fn condition<'a>(s: &'a DeploymentStatus, t: &str) -> (&'a str, &'a str, &'a str) {
    let c = s.condition(t).unwrap_or_else(|| panic!("no {t} condition: {s:?}"));
    (c.status.as_str(), c.reason.as_str(), c.message.as_str())
}

#[test]
fn first_rollout_creates_one_replica_set_at_full_size() {
    let mut sim = Sim::new(deploy(3, serde_json::json!({})));
    let out = sim.step();
    let rs = &out.replica_sets[0];
    let hash = rs.pod_template_hash().unwrap().to_string();
    assert_eq!(rs.name, format!("web-{hash}"));
    assert_eq!(rs.selector.match_labels.get(POD_TEMPLATE_HASH), Some(&hash));
    assert_eq!(rs.template.metadata.labels.get(POD_TEMPLATE_HASH), Some(&hash));
    assert_eq!(
        (
            rs.annotations[REVISION].as_str(),
            rs.annotations[DESIRED_REPLICAS].as_str(),
            rs.annotations[MAX_REPLICAS].as_str()
        ),
        ("1", "3", "4")
    );
    assert_eq!(
        out.actions[0],
        ControllerAction::CreateReplicaSet {
            name: rs.name.clone(),
            replicas: 3
        }
    );
    assert_eq!(
        out.actions
            .iter()
            .filter(|a| matches!(a, ControllerAction::CreatePod { .. }))
            .count(),
        3
    );
    assert_eq!(out.events[0].message, format!("Scaled up replica set {} to 3", rs.name));
    assert_eq!(
        condition(&out.status, "Progressing"),
        (
            "True",
            "NewReplicaSetCreated",
            format!("Created new replica set {:?}", rs.name).as_str()
        )
    );
    assert_eq!(
        condition(&out.status, "Available"),
        (
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability."
        )
    );
    assert_eq!(out.status.revision, 1);
    sim.run(Duration::milliseconds(500), 20, |_| {});
    let s = &sim.status;
    assert_eq!(
        (s.replicas, s.updated_replicas, s.ready_replicas, s.available_replicas),
        (3, 3, 3, 3)
    );
    assert_eq!(
        condition(s, "Progressing"),
        (
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet {:?} has successfully progressed.", rs.name).as_str()
        )
    );
    assert_eq!(
        condition(s, "Available"),
        (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability."
        )
    );
    // The same template always gives the same ReplicaSet name.
    let again = Sim::new(deploy(3, serde_json::json!({}))).step();
    assert_eq!(again.replica_sets[0].name, rs.name);
}

#[test]
fn surge_1_unavailable_0_keeps_3_ready_and_at_most_4_pods() {
    let mut sim = settled(deploy(3, rolling(1.into(), 0.into())));
    let old = sim.rses[0].name.clone();
    sim.set_image("v2");
    let steps = sim.run(Duration::milliseconds(100), 500, |s| {
        assert!(s.ready_count() >= 3, "at {}: {} ready", s.now - t0(), s.ready_count());
        assert!(s.live().count() <= 4, "at {}: {} pods", s.now - t0(), s.live().count());
        assert!(s.rses.iter().map(|r| r.replicas).sum::<i32>() <= 4);
    });
    assert!(steps < 500, "the rollout converges");
    let new = sim.last.as_ref().unwrap().new_replica_set.clone().unwrap();
    assert_ne!(new, old);
    assert_eq!(
        sim.rs_sizes(),
        [(old.clone(), 0), (new.clone(), 3)],
        "the old ReplicaSet is kept at 0"
    );
    assert_eq!(sim.rses[1].revision(), 2);
    assert_eq!(sim.status.revision, 2);
    // The first step surges the new ReplicaSet to 1, then old pods go one by one as new ones
    // become ready.
    let scales = scale_actions(&sim);
    assert_eq!(scales[0], (old.clone(), 3, 2));
    assert_eq!(scales.last().unwrap(), &(old, 1, 0));
    assert_eq!(created_sizes(&sim).last(), Some(&1));
}

#[test]
fn surge_0_unavailable_1_starts_by_scaling_the_old_replica_set_down() {
    let mut sim = settled(deploy(4, rolling(0.into(), 1.into())));
    let old = sim.rses[0].name.clone();
    sim.set_image("v2");
    let steps = sim.run(Duration::milliseconds(100), 500, |s| {
        assert!(s.ready_count() >= 3, "{} ready", s.ready_count());
        assert!(s.live().count() <= 4);
    });
    assert!(steps < 500);
    assert_eq!(scale_actions(&sim)[0], (old, 4, 3));
    assert_eq!(created_sizes(&sim).last(), Some(&0));
}

#[test]
fn a_never_ready_image_exceeds_the_progress_deadline_and_old_pods_keep_serving() {
    let mut sim = settled(deploy(3, serde_json::json!({"progressDeadlineSeconds": 10})));
    let old = sim.rses[0].name.clone();
    sim.set_image("never");
    let start = sim.now;
    let first = sim.step();
    let new = first.new_replica_set.clone().unwrap();
    assert_eq!(
        first.next_check,
        Some(start + Duration::seconds(10) + Duration::milliseconds(1))
    );
    let mut exceeded_at = None;
    for _ in 0..30 {
        sim.now += Duration::seconds(1);
        let out = sim.step();
        if out.deadline_exceeded() && exceeded_at.is_none() {
            exceeded_at = Some(sim.now - start);
        }
        assert!(sim.ready_count() >= 3);
    }
    // updatedReplicas rises when the new pod is first counted (1 s), which refreshes the
    // Progressing condition; the deadline passes strictly after 1 + 10 s.
    assert_eq!(exceeded_at, Some(Duration::seconds(12)));
    assert_eq!(
        condition(&sim.status, "Progressing"),
        (
            "False",
            "ProgressDeadlineExceeded",
            format!("ReplicaSet {new:?} has timed out progressing.").as_str()
        )
    );
    assert_eq!(sim.rs_sizes(), [(old, 3), (new, 1)], "the deadline does not roll back");
    assert_eq!(condition(&sim.status, "Available").0, "True");
    assert!(!sim.last.as_ref().unwrap().converged(&sim.d, sim.generation));
}

#[test]
fn reverting_to_revision_1_reuses_its_replica_set_as_revision_3() {
    let mut sim = settled(deploy(3, serde_json::json!({})));
    let first = sim.rses[0].name.clone();
    sim.set_image("v2");
    sim.run(Duration::milliseconds(500), 200, |_| {});
    sim.set_image("v1");
    let creates_before = created_sizes(&sim).len();
    let steps = sim.run(Duration::milliseconds(500), 200, |_| {});
    assert!(steps < 200);
    let creates = created_sizes(&sim).len();
    assert_eq!(creates, creates_before, "no third ReplicaSet");
    assert_eq!(sim.rses.len(), 2);
    let rs1 = sim.rses.iter().find(|r| r.name == first).unwrap();
    assert_eq!((rs1.revision(), rs1.replicas), (3, 3));
    assert_eq!(rs1.annotations.get(REVISION_HISTORY).map(String::as_str), Some("1"));
    assert_eq!(sim.status.revision, 3);
    let revisions: Vec<i64> = sim.rses.iter().map(LiveReplicaSet::revision).collect();
    assert_eq!(revisions, [3, 2]);
}

#[test]
fn revision_history_limit_2_after_5_changes_keeps_3_replica_sets() {
    let mut sim = settled(deploy(2, serde_json::json!({"revisionHistoryLimit": 2})));
    for v in 2..=6 {
        sim.set_image(&format!("v{v}"));
        assert!(sim.run(Duration::milliseconds(500), 200, |_| {}) < 200);
        sim.now += Duration::seconds(1);
    }
    let mut revisions: Vec<i64> = sim.rses.iter().map(LiveReplicaSet::revision).collect();
    revisions.sort();
    assert_eq!(revisions, [4, 5, 6]);
    let deleted = sim
        .log
        .iter()
        .filter(|(_, a)| matches!(a, ControllerAction::DeleteReplicaSet { .. }))
        .count();
    assert_eq!(deleted, 3);
}

#[test]
fn recreate_never_runs_old_and_new_pods_together() {
    let mut sim = settled(deploy(3, serde_json::json!({"strategy": {"type": "Recreate"}})));
    sim.grace = Duration::seconds(2);
    let old = sim.rses[0].name.clone();
    sim.set_image("v2");
    let mut saw_down = false;
    let steps = sim.run(Duration::milliseconds(500), 100, |s| {
        let old_live = s.pods.iter().filter(|p| p.pod.owner == old).count();
        let new_live = s.live().filter(|p| p.pod.owner != old).count();
        assert!(
            old_live == 0 || new_live == 0,
            "old ({old_live}, terminating included) and new ({new_live}) together"
        );
        saw_down |= condition(&s.status, "Available").1 == "MinimumReplicasUnavailable";
    });
    assert!(steps < 100);
    assert!(saw_down, "Recreate has downtime");
    assert_eq!(scale_actions(&sim)[0], (old.clone(), 3, 0));
    assert_eq!(sim.rs_sizes()[0], (old, 0));
    assert_eq!(sim.rs_sizes()[1].1, 3);
    assert_eq!(sim.status.revision, 2);
}

#[test]
fn proportional_scaling_follows_the_docs_example() {
    // deployment.md "Proportional scaling": 10 → 15, maxSurge 3, maxUnavailable 2, new
    // ReplicaSet at 5 and not ready, old at 8: old becomes 11 and new 7.
    let mut sim = settled(deploy(10, rolling(3.into(), 2.into())));
    let old = sim.rses[0].name.clone();
    sim.set_image("never");
    for _ in 0..5 {
        sim.step();
        sim.now += Duration::seconds(1);
    }
    let new = sim.last.as_ref().unwrap().new_replica_set.clone().unwrap();
    assert_eq!(sim.rs_sizes(), [(old.clone(), 8), (new.clone(), 5)]);
    sim.edit(|d| d.spec.replicas = Some(15));
    let out = sim.step();
    assert_eq!(sim.rs_sizes(), [(old.clone(), 11), (new.clone(), 7)]);
    let messages: Vec<&str> = out
        .events
        .iter()
        .filter(|e| e.reason == "ScalingReplicaSet")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            format!("Scaled up replica set {old} to 11 from 8"),
            format!("Scaled up replica set {new} to 7 from 5")
        ]
    );
    assert!(
        sim.rses
            .iter()
            .all(|rs| rs.annotations[DESIRED_REPLICAS] == "15" && rs.annotations[MAX_REPLICAS] == "18")
    );
}

#[test]
fn a_replicas_only_change_scales_without_a_new_revision() {
    let mut sim = settled(deploy(3, serde_json::json!({})));
    sim.edit(|d| d.spec.replicas = Some(5));
    let out = sim.step();
    let name = sim.rses[0].name.clone();
    assert_eq!(
        out.actions[0],
        ControllerAction::ScaleReplicaSet {
            name: name.clone(),
            from: 3,
            to: 5
        }
    );
    assert_eq!(
        out.events[0].message,
        format!("Scaled up replica set {name} to 5 from 3")
    );
    assert_eq!((sim.rses.len(), sim.status.revision), (1, 1));
}

#[test]
fn a_template_change_mid_rollout_rolls_over() {
    let mut sim = settled(deploy(3, serde_json::json!({})));
    sim.set_image("never");
    for _ in 0..3 {
        sim.step();
        sim.now += Duration::seconds(1);
    }
    assert_eq!(sim.rses.len(), 2);
    sim.set_image("v3");
    let steps = sim.run(Duration::milliseconds(500), 200, |s| assert!(s.live().count() <= 4));
    assert!(steps < 200);
    let sizes: Vec<i32> = sim.rses.iter().map(|r| r.replicas).collect();
    assert_eq!(
        sizes,
        [0, 0, 3],
        "the in-between ReplicaSet is scaled down as an old one"
    );
    assert_eq!(sim.status.revision, 3);
}

#[test]
fn a_paused_deployment_scales_but_does_not_roll() {
    let mut sim = settled(deploy(3, serde_json::json!({})));
    sim.edit(|d| d.spec.paused = Some(true));
    sim.set_image("v2");
    sim.edit(|d| d.spec.replicas = Some(4));
    let out = sim.step();
    assert_eq!(sim.rses.len(), 1, "no new ReplicaSet while paused");
    assert_eq!(sim.rses[0].replicas, 4);
    assert_eq!(out.new_replica_set, None);
    assert_eq!(
        condition(&sim.status, "Progressing"),
        ("Unknown", "DeploymentPaused", "Deployment is paused")
    );
    assert_eq!(out.next_check, None, "no deadline while paused");
    sim.edit(|d| d.spec.paused = Some(false));
    let out = sim.step();
    assert_eq!(
        sim.rses.len(),
        2,
        "resumed: one new ReplicaSet for the accumulated template"
    );
    assert!(out.new_replica_set.is_some());
    // Resumed, then at once the new ReplicaSet's creation in the same pass.
    assert_eq!(condition(&sim.status, "Progressing").1, "NewReplicaSetCreated");
    assert!(sim.run(Duration::milliseconds(500), 200, |_| {}) < 200);
}

#[test]
fn min_ready_seconds_delays_availability() {
    let mut sim = Sim::new(deploy(2, serde_json::json!({"minReadySeconds": 5})));
    let out = sim.step();
    assert_eq!(out.replica_sets[0].min_ready_seconds, 5);
    sim.now += Duration::seconds(3); // ready at 2 s
    let out = sim.step();
    assert_eq!((sim.status.ready_replicas, sim.status.available_replicas), (2, 0));
    assert_eq!(
        out.next_check,
        Some(t0() + Duration::seconds(7) + Duration::milliseconds(1))
    );
    sim.now = out.next_check.unwrap();
    sim.step();
    assert_eq!(sim.status.available_replicas, 2);
}

#[test]
fn a_taken_name_bumps_the_collision_count() {
    let d = deploy(1, serde_json::json!({}));
    let status = DeploymentStatus::default();
    let plain = sync_deployment(&DeploymentInput {
        deployment: &d,
        generation: 1,
        status: &status,
        replica_sets: &[],
        pods: &[],
        foreign_names: &[],
        now: t0(),
    });
    let taken = [plain.replica_sets[0].name.clone()];
    let out = sync_deployment(&DeploymentInput {
        foreign_names: &taken,
        deployment: &d,
        generation: 1,
        status: &status,
        replica_sets: &[],
        pods: &[],
        now: t0(),
    });
    assert_eq!(out.status.collision_count, Some(1));
    assert_ne!(out.replica_sets[0].name, taken[0]);
}

#[test]
fn an_empty_selector_does_nothing_but_warn() {
    let mut d = deploy(1, serde_json::json!({}));
    d.spec.selector = Some(Default::default());
    let out = Sim::new(d).step();
    assert!(out.actions.is_empty());
    assert_eq!(out.events[0].reason, "SelectingAll");
    assert_eq!(
        out.events[0].message,
        "This deployment is selecting all pods. A non-empty selector is required."
    );
}

#[test]
fn a_deleted_pod_is_replaced() {
    let mut sim = settled(deploy(2, serde_json::json!({})));
    sim.pods.remove(0);
    let out = sim.step();
    assert_eq!(out.actions.len(), 1);
    assert!(matches!(&out.actions[0], ControllerAction::CreatePod { .. }));
}

#[test]
fn unhealthy_old_replica_sets_are_scaled_down_first() {
    // v2 never becomes ready (1 surge pod); v3 arrives: the unavailable v2 pod goes first
    // (cleanupUnhealthyReplicas), not an available v1 pod.
    let mut sim = settled(deploy(3, rolling(1.into(), 0.into())));
    sim.set_image("never");
    for _ in 0..3 {
        sim.step();
        sim.now += Duration::seconds(1);
    }
    let v2 = sim.last.as_ref().unwrap().new_replica_set.clone().unwrap();
    assert_eq!(sim.rses.iter().map(|r| r.replicas).collect::<Vec<_>>(), [3, 1]);
    sim.set_image("v3");
    sim.log.clear();
    sim.step();
    assert_eq!(scale_actions(&sim), [(v2, 1, 0)]);
    assert!(created_sizes(&sim).contains(&0));
}

#[test]
fn an_existing_new_replica_set_without_a_progressing_condition_is_found() {
    let d = deploy(1, serde_json::json!({}));
    let mut sim = Sim::new(d.clone());
    sim.run(Duration::seconds(1), 10, |_| {});
    // The recorded status lost its conditions (an older state): the next sync reports the
    // ReplicaSet it found.
    let out = sync_deployment(&DeploymentInput {
        deployment: &d,
        generation: 1,
        status: &DeploymentStatus::default(),
        replica_sets: &sim.rses,
        pods: &sim.pods.iter().map(|p| p.pod.clone()).collect::<Vec<_>>(),
        foreign_names: &[],
        now: sim.now,
    });
    let name = &sim.rses[0].name;
    assert_eq!(
        condition(&out.status, "Progressing"),
        (
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet {name:?} has successfully progressed.").as_str()
        )
    );
    let mut found = out.status.clone();
    found.conditions.clear();
    let out = sync_deployment(&DeploymentInput {
        deployment: &d,
        generation: 1,
        status: &found,
        replica_sets: &sim.rses,
        pods: &[],
        foreign_names: &[],
        now: sim.now,
    });
    // Pods gone: not complete, so FoundNewReplicaSet stays (no progress to report).
    assert_eq!(
        condition(&out.status, "Progressing"),
        (
            "True",
            "FoundNewReplicaSet",
            format!("Found new replica set {name:?}").as_str()
        )
    );
}

#[test]
fn percentages_roll_ten_replicas_within_25_percent() {
    // Defaults: maxSurge 25% of 10 rounds up to 3, maxUnavailable 25% rounds down to 2.
    let mut sim = settled(deploy(10, serde_json::json!({})));
    sim.set_image("v2");
    let steps = sim.run(Duration::milliseconds(250), 500, |s| {
        assert!(s.live().count() <= 13, "{} pods", s.live().count());
        assert!(s.ready_count() >= 8, "{} ready", s.ready_count());
    });
    assert!(steps < 500);
    assert_eq!(sim.rses[1].annotations[MAX_REPLICAS], "13");
}
