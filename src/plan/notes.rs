//! What a plan says about workloads: the rollout a Deployment change starts, or the scale,
//! and what apply's first pass of the controllers does.

use super::controller::LiveReplicaSet;
use super::desired::DesiredObject;
use super::{Action, PlanInput, Step};
use crate::manifest::ObjectId;
use crate::manifest::types::Kind;
use crate::manifest::types::NamespacedName;
use crate::state::State;
use std::collections::BTreeMap;

/// What a Deployment or ReplicaSet change does to pods: the rollout it starts, or a scale.
pub(super) fn workload_notes(d: &DesiredObject, state: &State) -> Vec<String> {
    use super::controller::{template_hash, util};
    use crate::manifest::Resource;
    match d.resource.as_deref() {
        Some(Resource::Deployment(dep)) => {
            let ns = dep.metadata.namespace_or_default();
            let want = util::replicas(dep);
            let mut rses = state.replica_sets_of(ns, &dep.metadata.name);
            // Orphaned ReplicaSets the selector matches are adopted, as the controller does.
            let selector = dep.spec.selector.clone().unwrap_or_default();
            let adopted: Vec<&LiveReplicaSet> = state.adoptable(ns, &selector).collect();
            let mut notes: Vec<String> = adopted
                .iter()
                .map(|rs| {
                    format!(
                        "adopts the orphaned ReplicaSet {} and its {} pod{}",
                        rs.name,
                        rs.status.replicas,
                        if rs.status.replicas == 1 { "" } else { "s" }
                    )
                })
                .collect();
            rses.extend(adopted);
            let paused = dep.spec.paused == Some(true);
            if paused && rses.is_empty() {
                return vec!["paused: no ReplicaSet is created until the Deployment is resumed".into()];
            }
            let Some(current) = rses.iter().max_by_key(|rs| rs.revision()) else {
                let collisions = state
                    .deployments
                    .get(&NamespacedName::new(ns, &dep.metadata.name))
                    .and_then(|s| s.collision_count);
                let hash = template_hash(&dep.spec.template, collisions);
                return vec![format!(
                    "rolls out ReplicaSet {}-{hash} with {want} pod{}",
                    dep.metadata.name,
                    if want == 1 { "" } else { "s" }
                )];
            };
            if util::equal_ignore_hash(&current.template, &dep.spec.template) {
                if current.replicas != want {
                    notes.push(format!(
                        "scales from {} to {want} pods without a rollout",
                        current.replicas
                    ));
                }
                return notes;
            }
            if paused {
                notes.push("paused: the new template is not rolled out until the Deployment is resumed".into());
                return notes;
            }
            let running: i32 = rses.iter().map(|rs| rs.status.replicas).sum();
            notes.push(if util::is_rolling(dep) {
                format!(
                    "rolling update: {running} pods to replace, maxSurge {}, maxUnavailable {}",
                    util::max_surge(dep),
                    util::max_unavailable(dep)
                )
            } else {
                format!("Recreate: {running} pods stop before {want} new ones start")
            });
            if let Some(old) = rses
                .iter()
                .find(|rs| util::equal_ignore_hash(&rs.template, &dep.spec.template))
            {
                notes.push(format!(
                    "reuses ReplicaSet {} (revision {}), which becomes revision {}",
                    old.name,
                    old.revision(),
                    current.revision() + 1
                ));
            }
            notes
        }
        Some(Resource::ReplicaSet(rs)) => vec![format!("keeps {} pods running", rs.spec.replicas.unwrap_or(1))],
        _ => Vec::new(),
    }
}

/// Runs the workload controllers once, as apply's first pass will, and notes on each
/// Deployment and ReplicaSet step what that pass does (`first step: …`).
///
/// A workload unchanged in git whose pass still acts (a pod deleted outside rekon, a rollout
/// left unfinished by `--no-wait`) gets an update step saying why.
pub(super) fn note_first_steps(
    input: &PlanInput<'_>,
    steps: &mut Vec<Step>,
    claims: &BTreeMap<NamespacedName, super::storage::ClaimView>,
) {
    use super::controller::ControllerAction;
    use super::workloads::{WorkloadInput, reconcile};
    let is_workload = |kind: Kind| matches!(kind, Kind::Deployment | Kind::ReplicaSet);
    if !input.desired.iter().any(|d| is_workload(d.id.kind)) {
        return;
    }
    let now = input.now;
    let pass = reconcile(&WorkloadInput {
        desired: input.desired,
        state: input.state,
        observed: input.observed,
        host: &input.host,
        claims,
        now,
        applied_only: false,
    });
    // The workload that owns each ReplicaSet of the pass.
    let workload_of = |rs_key: &NamespacedName| -> Option<ObjectId> {
        let rs = pass.replica_sets.get(rs_key)?;
        Some(match &rs.owner {
            Some(d) => ObjectId::new(Kind::Deployment, Some(&rs.namespace), d),
            None => ObjectId::new(Kind::ReplicaSet, Some(&rs.namespace), &rs.name),
        })
    };
    let pod_owner: BTreeMap<&str, NamespacedName> = input
        .state
        .pods
        .values()
        .map(|p| (p.uid.as_str(), NamespacedName::new(&p.namespace, &p.owner.name)))
        .collect();
    // What the pass does, grouped by workload once: each step then reads its own share.
    let mut actions_of: BTreeMap<&ObjectId, Vec<&ControllerAction>> = BTreeMap::new();
    for (id, a) in &pass.actions {
        actions_of.entry(id).or_default().push(a);
    }
    let mut creates_of: BTreeMap<ObjectId, Vec<&super::workloads::PodCreate>> = BTreeMap::new();
    for c in &pass.creates {
        if let Some(w) = workload_of(&c.replica_set) {
            creates_of.entry(w).or_default().push(c);
        }
    }
    let mut adopts_of: BTreeMap<ObjectId, usize> = BTreeMap::new();
    for (_, rs) in &pass.adopt {
        if let Some(w) = workload_of(rs) {
            *adopts_of.entry(w).or_default() += 1;
        }
    }
    let mut deletes_of: BTreeMap<ObjectId, usize> = BTreeMap::new();
    for uid in &pass.deletes {
        if let Some(w) = pod_owner.get(uid.as_str()).and_then(&workload_of) {
            *deletes_of.entry(w).or_default() += 1;
        }
    }
    let notes_for = |id: &ObjectId| -> (Vec<String>, bool, usize, usize) {
        let mut notes = Vec::new();
        let mut rolls = false;
        for a in actions_of.get(id).into_iter().flatten() {
            rolls = true;
            notes.push(match a {
                ControllerAction::CreateReplicaSet { name, replicas } => {
                    format!(
                        "first step: create ReplicaSet {name} with {replicas} replica{}",
                        if *replicas == 1 { "" } else { "s" }
                    )
                }
                ControllerAction::ScaleReplicaSet { name, from, to } => {
                    format!("first step: scale ReplicaSet {name} from {from} to {to}")
                }
                ControllerAction::UpdateReplicaSet { name } => format!("first step: update ReplicaSet {name}"),
                ControllerAction::DeleteReplicaSet { name } => format!("first step: delete ReplicaSet {name}"),
                _ => continue,
            });
        }
        let mut on_node: BTreeMap<String, usize> = BTreeMap::new();
        let mut pending = Vec::new();
        let mut creates = 0;
        for c in creates_of.get(id).into_iter().flatten() {
            creates += 1;
            match (&c.node, &c.scheduling) {
                (Some(n), _) => *on_node.entry(n.clone()).or_default() += 1,
                (None, s) => pending.push(format!(
                    "first step: pod {} stays Pending: {}",
                    c.name,
                    s.as_ref().map(|s| s.message.as_str()).unwrap_or_default()
                )),
            }
        }
        for (node, n) in on_node {
            notes.push(format!(
                "first step: create {n} pod{} on node {node}",
                if n == 1 { "" } else { "s" }
            ));
        }
        notes.extend(pending);
        let adopts = adopts_of.get(id).copied().unwrap_or(0);
        if adopts > 0 {
            rolls = true;
            notes.push(format!(
                "first step: adopt {adopts} orphaned pod{}",
                if adopts == 1 { "" } else { "s" }
            ));
        }
        let deletes = deletes_of.get(id).copied().unwrap_or(0);
        if deletes > 0 {
            notes.push(format!(
                "first step: delete {deletes} pod{}",
                if deletes == 1 { "" } else { "s" }
            ));
        }
        (notes, rolls, creates, deletes)
    };
    for step in steps
        .iter_mut()
        .filter(|s| s.action != Action::Delete && is_workload(s.id.kind))
    {
        step.notes.extend(notes_for(&step.id).0);
    }
    let stepped: std::collections::BTreeSet<ObjectId> = steps.iter().map(|s| s.id.clone()).collect();
    for d in input.desired.iter().filter(|d| is_workload(d.id.kind)) {
        if stepped.contains(&d.id) {
            continue;
        }
        let (notes, rolls, creates, deletes) = notes_for(&d.id);
        if notes.is_empty() {
            continue;
        }
        let plural = |n: usize| if n == 1 { "pods is" } else { "pods are" };
        let reason = if rolls {
            "because its rollout is not finished".to_string()
        } else if creates > 0 {
            format!("because {creates} of its {} missing on the host", plural(creates))
        } else {
            format!("because {deletes} of its {} to be deleted", plural(deletes))
        };
        steps.push(Step {
            notes,
            ..Step::explained(d.id.clone(), Action::Update, reason, Some(d))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Resource;
    use crate::plan::controller::{DeploymentInput, sync_deployment};

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 4\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n";

    fn desired(yaml: &str) -> DesiredObject {
        crate::plan::testkit::desired(yaml).remove(0)
    }

    /// A state where `yaml` was rolled out with 4 running pods.
    fn rolled_out(yaml: &str) -> State {
        let d = desired(yaml);
        let Some(Resource::Deployment(dep)) = d.resource.as_deref() else {
            panic!()
        };
        let out = sync_deployment(&DeploymentInput {
            deployment: dep,
            generation: 1,
            status: &Default::default(),
            replica_sets: &[],
            pods: &[],
            foreign_names: &[],
            now: crate::time::now(),
        });
        let mut state = State::new("l".into());
        for mut rs in out.replica_sets {
            rs.status.replicas = 4;
            state.replica_sets.insert(NamespacedName::new("default", &rs.name), rs);
        }
        state
    }

    #[test]
    fn notes_say_whether_a_change_rolls_or_scales() {
        let state = rolled_out(DEPLOY);
        assert!(workload_notes(&desired(DEPLOY), &state).is_empty());
        assert_eq!(
            workload_notes(&desired(&DEPLOY.replace("replicas: 4", "replicas: 6")), &state),
            ["scales from 4 to 6 pods without a rollout"]
        );
        assert_eq!(
            workload_notes(&desired(&DEPLOY.replace("image: busybox", "image: nginx")), &state),
            ["rolling update: 4 pods to replace, maxSurge 1, maxUnavailable 1"]
        );
        let recreate = DEPLOY.replace("  selector:", "  strategy: {type: Recreate}\n  selector:");
        let state = rolled_out(&recreate);
        assert_eq!(
            workload_notes(&desired(&recreate.replace("image: busybox", "image: nginx")), &state),
            ["Recreate: 4 pods stop before 4 new ones start"]
        );
        let paused = DEPLOY.replace("  selector:", "  paused: true\n  selector:");
        assert_eq!(
            workload_notes(
                &desired(&paused.replace("image: busybox", "image: nginx")),
                &rolled_out(DEPLOY)
            ),
            ["paused: the new template is not rolled out until the Deployment is resumed"]
        );
        assert_eq!(
            workload_notes(&desired(&paused), &State::new("l".into())),
            ["paused: no ReplicaSet is created until the Deployment is resumed"]
        );
    }
}
