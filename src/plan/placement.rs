//! The scheduler dry-run of a plan: which node every pod it creates lands on, which pods of
//! drained nodes move, and which pods stay Pending, starting from the pods the state runs.
//!
//! Apply never schedules: it puts each pod where the plan said, so the plan shows exactly
//! what apply does. Pods are placed in a fixed order: pods that were already Pending first
//! (oldest first, like the scheduling queue's FIFO), then the pods of the plan's steps by id.

use super::scheduler::{NodeInfo, PendingPod, PlacedPod, Placement, Scheduler};
use super::storage::ClaimView;
use super::{Action, DesiredObject, PlanInput, PodPlacement, Step};
use crate::manifest::types::Kind;
use crate::manifest::types::NamespacedName;
use crate::manifest::types::PodSpec;
use crate::manifest::{ObjectId, Resource};
use crate::state::PodRecord;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The reason of `PodScheduled=False` when no node fits (`v1.PodReasonUnschedulable`).
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";

/// The pod spec an object makes pods from: a bare Pod's spec or a controller's template.
pub fn pod_spec_of(resource: &Resource) -> Option<&PodSpec> {
    resource.pod_spec().or_else(|| resource.pod_template().map(|t| &t.spec))
}

/// One pod waiting for a node in this plan.
struct Queued<'a> {
    owner: ObjectId,
    desired: &'a DesiredObject,
    /// The drained node it leaves.
    from: Option<String>,
    /// It was Pending before this plan and has no step yet.
    retry: bool,
}

/// Places the pods of `steps` (and the state's Pending pods) on `nodes`: fills in each pod
/// step's node or unschedulable message, turns pods of drained nodes into replacements, adds a
/// create step for each Pending pod that now fits, and returns every placement made.
pub(crate) fn place(
    input: &PlanInput<'_>,
    steps: &mut Vec<Step>,
    nodes: Vec<NodeInfo>,
    claims: &BTreeMap<NamespacedName, ClaimView>,
) -> Vec<PodPlacement> {
    let desired: HashMap<&ObjectId, &DesiredObject> = input.desired.iter().map(|d| (&d.id, d)).collect();
    let node_names: HashSet<String> = nodes.iter().map(|n| n.name.clone()).collect();
    let mut step_of: HashMap<ObjectId, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
    let mut placed = Vec::new();
    let mut retry: Vec<(&PodRecord, &DesiredObject)> = Vec::new();
    let mut drained: BTreeMap<&ObjectId, String> = BTreeMap::new();

    for rec in input.state.pods.values() {
        if let (Some(node), Some(t)) = (&rec.node, &rec.orphaned) {
            placed.push(PlacedPod::from_spec(node, None, &t.spec));
            continue;
        }
        if rec.owner.kind == Kind::ReplicaSet {
            // A ReplicaSet's pods are placed by the workload pass of apply; here they only
            // take their room on their node.
            let rs_key = NamespacedName::new(rec.owner.namespace.as_deref().unwrap_or("default"), &rec.owner.name);
            if let (Some(node), Some(rs)) = (&rec.node, input.state.replica_sets.get(&rs_key)) {
                let spread = match &rs.owner {
                    Some(d) => ObjectId::new(Kind::Deployment, Some(&rs.namespace), d).to_string(),
                    None => rec.owner.to_string(),
                };
                placed.push(PlacedPod::from_spec(node, Some(&spread), &rs.template.spec));
            }
            continue;
        }
        let Some(&d) = desired.get(&rec.owner) else { continue };
        let Some(spec) = d.resource.as_deref().and_then(pod_spec_of) else {
            continue;
        };
        let step = step_of.get(&rec.owner).copied();
        if step.is_some_and(|i| steps[i].action != Action::Update) {
            continue; // the step deletes or rebuilds this pod
        }
        match &rec.node {
            None => retry.push((rec, d)),
            Some(node) if !node_names.contains(node) => {
                let reason = format!("because node {node} is drained: it is not in git any more");
                match step {
                    Some(i) => {
                        steps[i].action = Action::Replace;
                        steps[i].reason = Some(reason);
                    }
                    None => {
                        step_of.insert(rec.owner.clone(), steps.len());
                        steps.push(pod_step(d, Action::Replace, reason));
                    }
                }
                drained.insert(&rec.owner, node.clone());
            }
            Some(node) => {
                if let Some(i) = step {
                    steps[i].node = Some(node.clone());
                }
                placed.push(PlacedPod::from_spec(node, spread_key(&rec.owner).as_deref(), spec));
            }
        }
    }

    retry.sort_by(|a, b| (&a.0.created_at, &a.0.owner).cmp(&(&b.0.created_at, &b.0.owner)));
    let mut queue: Vec<Queued<'_>> = retry
        .iter()
        .map(|(rec, d)| Queued {
            owner: rec.owner.clone(),
            desired: d,
            from: None,
            retry: true,
        })
        .collect();
    let mut fresh: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s.action, Action::Create | Action::Replace))
        .filter(|s| {
            desired
                .get(&s.id)
                .is_some_and(|d| d.resource.as_ref().and_then(|r| r.pod_spec()).is_some())
        })
        .collect();
    fresh.sort_by(|a, b| a.id.cmp(&b.id));
    queue.extend(fresh.into_iter().map(|s| Queued {
        owner: s.id.clone(),
        desired: desired[&s.id],
        from: drained.get(&s.id).cloned(),
        retry: false,
    }));

    let mut scheduler = Scheduler::new(nodes, &placed).with_claims(claims);
    let mut placements = Vec::new();
    let mut new_steps = Vec::new();
    for q in queue {
        let Some(spec) = q.desired.resource.as_deref().and_then(pod_spec_of) else {
            continue;
        };
        let key = spread_key(&q.owner);
        let pending = PendingPod {
            name: &q.desired.id.name,
            namespace: q.owner.namespace.as_deref().unwrap_or("default"),
            owner: key.as_deref(),
            spec,
        };
        let (node, message, reason) = match scheduler.place(&pending) {
            Placement::Node(node) => (Some(node), None, None),
            Placement::Unschedulable { message } => (None, Some(message), Some(REASON_UNSCHEDULABLE.to_string())),
            Placement::MissingNode { node } => (
                None,
                Some(format!(
                    "spec.nodeName is {node}, which is not a node: the pod stays Pending"
                )),
                None,
            ),
        };
        if q.retry {
            if let Some(n) = &node {
                new_steps.push(Step {
                    node: Some(n.clone()),
                    ..pod_step(
                        q.desired,
                        Action::Create,
                        format!("because it was Pending and now fits on node {n}"),
                    )
                });
            }
        } else if let Some(&i) = step_of.get(&q.owner) {
            steps[i].node = node.clone();
            steps[i].unschedulable = message.clone();
        }
        placements.push(PodPlacement {
            pod: pod_id(q.desired),
            owner: q.owner,
            still_pending: q.retry && node.is_none(),
            node,
            from: q.from,
            unschedulable: message,
            reason,
        });
    }
    steps.extend(new_steps);
    note_drains(steps, &placements);
    placements
}

/// Lists, on the delete step of each Node, the pods that leave it and where they go.
fn note_drains(steps: &mut [Step], placements: &[PodPlacement]) {
    for step in steps
        .iter_mut()
        .filter(|s| s.id.kind == Kind::Node && s.action == Action::Delete)
    {
        for p in placements
            .iter()
            .filter(|p| p.from.as_deref() == Some(step.id.name.as_str()))
        {
            step.notes.push(match (&p.node, &p.unschedulable) {
                (Some(node), _) => format!("drain: {} moves to node {node}", p.pod),
                (None, message) => format!(
                    "drain: {} stays Pending: {}",
                    p.pod,
                    message.as_deref().unwrap_or_default()
                ),
            });
        }
    }
}

/// The pod of a bare Pod object is the object itself.
fn pod_id(d: &DesiredObject) -> ObjectId {
    ObjectId::new(Kind::Pod, d.id.namespace.as_deref(), &d.id.name)
}

/// Pods of a controller spread across nodes; a bare Pod has no siblings to spread from.
fn spread_key(owner: &ObjectId) -> Option<String> {
    (owner.kind != Kind::Pod).then(|| owner.to_string())
}

/// A step that (re)creates the pod of `d`, node to be filled in.
fn pod_step(d: &DesiredObject, action: Action, reason: String) -> Step {
    Step::explained(d.id.clone(), action, reason, Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testkit::desired;
    use crate::plan::{HostFacts, Observed, Plan, PlanSource, plan};
    use crate::source::SourceSpec;
    use crate::state::{ObjectRecord, Scheduling, State};

    fn plan_of(d: &[DesiredObject], state: &State) -> Plan {
        plan(&PlanInput {
            desired: d,
            state,
            observed: &state
                .pods
                .keys()
                .map(|u| (u.clone(), Some(Default::default())))
                .collect::<Observed>(),
            source: PlanSource {
                spec: SourceSpec::default(),
                revision: "r".into(),
                description: "d".into(),
            },
            host: HostFacts {
                hostname: "box".into(),
                cpus: 4,
                memory_bytes: 8 << 30,
                arch: "x86_64".into(),
            },
            now: crate::time::parse("2026-01-01T00:00:00Z").unwrap(),
            prune_volumes: false,
        })
    }

    fn node(name: &str, extra: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n{extra}status:\n  capacity: {{cpu: '1', memory: 1Gi}}\n---\n"
        )
    }

    fn pod(name: &str, cpu: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    resources: {{requests: {{cpu: {cpu}, memory: 128Mi}}}}\n---\n"
        )
    }

    /// The state after applying `p` exactly: objects recorded, pods where the plan put them.
    fn applied(d: &[DesiredObject], p: &Plan) -> State {
        let mut state = State::new("l".into());
        for o in d {
            let rec = ObjectRecord {
                id: o.id.clone(),
                spec: o.value.clone().into(),
                hash: o.hash.clone(),
                origin: o.origin.clone(),
                created_at: crate::time::parse("2026-01-01T00:00:00Z").unwrap(),
                generation: 1,
                deletion_timestamp: None,
                finalizers: Vec::new(),
            };
            state.objects.insert(o.id.clone(), rec);
        }
        for (i, pl) in p.placements.iter().enumerate() {
            let uid = format!("u{i:02}");
            let rec = crate::state::PodRecord {
                uid: uid.clone(),
                namespace: "default".into(),
                name: pl.pod.name.clone(),
                node: pl.node.clone(),
                scheduling: pl.unschedulable.clone().map(|message| Scheduling {
                    reason: REASON_UNSCHEDULABLE.into(),
                    message,
                }),
                owner: pl.owner.clone(),
                spec_hash: "h".into(),
                created_at: crate::time::parse("2026-01-01T00:00:00Z").unwrap() + chrono::Duration::seconds(i as i64),
                created: pl.node.is_some(),
                deletion_timestamp: None,
                deletion_grace_period_seconds: None,
                orphaned: None,
            };
            state.pods.insert(uid, rec);
        }
        state
    }

    fn nodes_of(p: &Plan) -> Vec<(String, Option<String>)> {
        p.placements
            .iter()
            .map(|pl| (pl.pod.name.clone(), pl.node.clone()))
            .collect()
    }

    const FULL: &str = "0/2 nodes are available: 2 Insufficient cpu.";

    #[test]
    fn without_nodes_pods_land_on_the_host() {
        let p = plan_of(&desired(&pod("a", "100m")), &State::new("l".into()));
        assert_eq!(p.steps[0].node.as_deref(), Some("box"));
        assert!(p.nodes[0].implicit);
        assert_eq!(nodes_of(&p), [("a".to_string(), Some("box".to_string()))]);
    }

    #[test]
    fn eight_pods_on_two_small_nodes_place_six_and_leave_two_pending() {
        let mut yaml = node("n1", "") + &node("n2", "");
        for i in 1..=8 {
            yaml += &pod(&format!("p{i}"), "300m");
        }
        let d = desired(&yaml);
        let p = plan_of(&d, &State::new("l".into()));
        let on = |n: &str| Some(n.to_string());
        let want: Vec<(String, Option<String>)> =
            [on("n1"), on("n2"), on("n1"), on("n2"), on("n1"), on("n2"), None, None]
                .into_iter()
                .enumerate()
                .map(|(i, n)| (format!("p{}", i + 1), n))
                .collect();
        assert_eq!(nodes_of(&p), want);
        let p7 = p.steps.iter().find(|s| s.id.name == "p7").unwrap();
        assert_eq!((p7.action, p7.node.as_deref()), (Action::Create, None));
        assert_eq!(p7.unschedulable.as_deref(), Some(FULL));
        let pending: Vec<_> = p.unschedulable().map(|pl| pl.reason.as_deref()).collect();
        assert_eq!(pending, [Some(REASON_UNSCHEDULABLE); 2]);
        assert_eq!(p.summary.add, 10, "pending pods are recorded objects too");

        // Applied as planned, the next plan has nothing to do and still says why.
        let state = applied(&d, &p);
        let again = plan_of(&d, &state);
        assert!(!again.has_changes(), "{:?}", again.steps);
        let still: Vec<_> = again
            .placements
            .iter()
            .map(|pl| (pl.pod.name.as_str(), pl.still_pending))
            .collect();
        assert_eq!(still, [("p7", true), ("p8", true)]);
        assert_eq!(again.placements[0].unschedulable.as_deref(), Some(FULL));

        // Room appears (a third node): the oldest Pending pod is created there, then the next.
        let d3 = desired(&format!("{yaml}{}", node("n3", "")));
        let room = plan_of(&d3, &state);
        let steps: Vec<_> = room
            .steps
            .iter()
            .map(|s| (s.id.to_string(), s.action, s.node.clone()))
            .collect();
        assert_eq!(
            steps,
            [
                ("Node n3".to_string(), Action::Create, None),
                ("Pod default/p7".to_string(), Action::Create, on("n3")),
                ("Pod default/p8".to_string(), Action::Create, on("n3")),
            ]
        );
        assert_eq!(
            room.steps[1].reason.as_deref(),
            Some("because it was Pending and now fits on node n3")
        );
    }

    #[test]
    fn a_cordoned_node_keeps_its_pods_and_takes_no_new_ones() {
        let d = desired(&(node("n1", "") + &node("n2", "") + &pod("a", "100m") + &pod("b", "100m")));
        let state = applied(&d, &plan_of(&d, &State::new("l".into())));
        let cordoned = desired(
            &(node("n1", "spec:\n  unschedulable: true\n")
                + &node("n2", "")
                + &pod("a", "100m")
                + &pod("b", "100m")
                + &pod("c", "100m")),
        );
        let p = plan_of(&cordoned, &state);
        let steps: Vec<_> = p
            .steps
            .iter()
            .map(|s| (s.id.to_string(), s.action, s.node.clone()))
            .collect();
        assert_eq!(
            steps,
            [
                ("Node n1".to_string(), Action::Update, None),
                ("Pod default/c".to_string(), Action::Create, Some("n2".to_string())),
            ],
            "a stays on n1; c avoids it"
        );
    }

    #[test]
    fn removing_a_node_drains_it_onto_the_others() {
        let d = desired(&(node("n1", "") + &node("n2", "") + &pod("a", "600m") + &pod("b", "600m")));
        let state = applied(&d, &plan_of(&d, &State::new("l".into())));
        assert_eq!(
            nodes_of(&plan_of(&d, &State::new("l".into()))),
            [
                ("a".to_string(), Some("n1".to_string())),
                ("b".to_string(), Some("n2".to_string()))
            ]
        );
        let without_n2 = desired(&(node("n1", "") + &node("n3", "") + &pod("a", "600m") + &pod("b", "600m")));
        let p = plan_of(&without_n2, &state);
        let steps: Vec<_> = p
            .steps
            .iter()
            .map(|s| (s.id.to_string(), s.action, s.node.clone()))
            .collect();
        assert_eq!(
            steps,
            [
                ("Node n3".to_string(), Action::Create, None),
                ("Pod default/b".to_string(), Action::Replace, Some("n3".to_string())),
                ("Node n2".to_string(), Action::Delete, None),
            ],
            "the node goes last, after its pods moved"
        );
        assert_eq!(
            p.steps[1].reason.as_deref(),
            Some("because node n2 is drained: it is not in git any more")
        );
        assert_eq!(p.steps[2].notes, ["drain: Pod default/b moves to node n3"]);
        assert_eq!(p.placements[0].from.as_deref(), Some("n2"));

        // With no room elsewhere the pod is stopped and stays Pending.
        let only_n1 = desired(&(node("n1", "") + &pod("a", "600m") + &pod("b", "600m")));
        let p = plan_of(&only_n1, &state);
        assert_eq!(
            p.steps[1].notes,
            ["drain: Pod default/b stays Pending: 0/1 nodes are available: 1 Insufficient cpu."]
        );
    }

    #[test]
    fn node_name_pins_and_a_missing_node_leaves_the_pod_pending() {
        let d = desired(
            &(node("n1", "spec:\n  unschedulable: true\n")
                + &pod("a", "100m").replace("  containers:", "  nodeName: n1\n  containers:")
                + &pod("b", "100m").replace("  containers:", "  nodeName: gone\n  containers:")),
        );
        let p = plan_of(&d, &State::new("l".into()));
        assert_eq!(
            p.placements[0].node.as_deref(),
            Some("n1"),
            "nodeName bypasses the cordon"
        );
        assert_eq!(
            (
                p.placements[1].unschedulable.as_deref(),
                p.placements[1].reason.as_deref()
            ),
            (
                Some("spec.nodeName is gone, which is not a node: the pod stays Pending"),
                None
            )
        );
    }
}
