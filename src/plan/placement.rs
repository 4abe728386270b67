//! The scheduler dry-run of a plan: which node every pod it creates lands on, which pods of
//! drained nodes move, and which pods stay Pending, starting from the pods the state runs.
//!
//! Apply never schedules: it puts each pod where the plan said, so the plan shows exactly
//! what apply does. Pods are placed in a fixed order: pods that were already Pending first
//! (oldest first, like the scheduling queue's FIFO), then the pods of the plan's steps by id.

use super::scheduler::{NodeInfo, PendingPod, PlacedPod, Placement, Scheduler};
use super::{Action, DesiredObject, PlanInput, PodPlacement, Step};
use crate::manifest::types::PodSpec;
use crate::manifest::{ObjectId, Resource};
use crate::state::PodRecord;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The reason of `PodScheduled=False` when no node fits (`v1.PodReasonUnschedulable`).
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";

/// The pod spec an object makes pods from: a bare Pod's spec or a controller's template.
pub fn pod_spec_of(resource: &Resource) -> Option<&PodSpec> {
    resource
        .pod_spec()
        .or_else(|| resource.pod_template().map(|t| &t.spec))
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
pub(crate) fn place(input: &PlanInput<'_>, steps: &mut Vec<Step>, nodes: Vec<NodeInfo>) -> Vec<PodPlacement> {
    let desired: HashMap<&ObjectId, &DesiredObject> = input.desired.iter().map(|d| (&d.id, d)).collect();
    let node_names: HashSet<String> = nodes.iter().map(|n| n.name.clone()).collect();
    let mut step_of: HashMap<ObjectId, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
    let mut placed = Vec::new();
    let mut retry: Vec<(&PodRecord, &DesiredObject)> = Vec::new();
    let mut drained: BTreeMap<&ObjectId, String> = BTreeMap::new();

    for rec in input.state.pods.values() {
        let Some(&d) = desired.get(&rec.owner) else { continue };
        let Some(spec) = d.resource.as_ref().and_then(pod_spec_of) else { continue };
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
        .filter(|s| desired.get(&s.id).is_some_and(|d| d.resource.as_ref().and_then(|r| r.pod_spec()).is_some()))
        .collect();
    fresh.sort_by(|a, b| a.id.cmp(&b.id));
    queue.extend(fresh.into_iter().map(|s| Queued {
        owner: s.id.clone(),
        desired: desired[&s.id],
        from: drained.get(&s.id).cloned(),
        retry: false,
    }));

    let mut scheduler = Scheduler::new(nodes, &placed);
    let mut placements = Vec::new();
    let mut new_steps = Vec::new();
    for q in queue {
        let Some(spec) = q.desired.resource.as_ref().and_then(pod_spec_of) else { continue };
        let key = spread_key(&q.owner);
        let pending = PendingPod {
            name: &q.desired.id.name,
            owner: key.as_deref(),
            spec,
        };
        let (node, message, reason) = match scheduler.place(&pending) {
            Placement::Node(node) => (Some(node), None, None),
            Placement::Unschedulable { message } => (None, Some(message), Some(REASON_UNSCHEDULABLE.to_string())),
            Placement::MissingNode { node } => (
                None,
                Some(format!("spec.nodeName is {node}, which is not a node: the pod stays Pending")),
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
                        format!("because it was Pending and node {n} has room now"),
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
    for step in steps.iter_mut().filter(|s| s.id.kind == "Node" && s.action == Action::Delete) {
        for p in placements.iter().filter(|p| p.from.as_deref() == Some(step.id.name.as_str())) {
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
    ObjectId::new("Pod", d.id.namespace.as_deref(), &d.id.name)
}

/// Pods of a controller spread across nodes; a bare Pod has no siblings to spread from.
fn spread_key(owner: &ObjectId) -> Option<String> {
    (owner.kind != "Pod").then(|| owner.to_string())
}

/// A step that (re)creates the pod of `d`, node to be filled in.
fn pod_step(d: &DesiredObject, action: Action, reason: String) -> Step {
    Step {
        id: d.id.clone(),
        action,
        reason: Some(reason),
        after_hash: Some(d.hash.clone()),
        diff: String::new(),
        node: None,
        unschedulable: None,
        notes: Vec::new(),
        origin: Some(d.origin.clone()),
    }
}
