//! Node scores: least allocated resources plus spreading of an owner's pods.
//!
//! Weights follow the default profile: NodeResourcesFit (LeastAllocated) weight 1, and the
//! spreading score weight 2 as PodTopologySpread has (`apis/config/v1/default_plugins.go`).
//! The spreading score is the simpler SelectorSpread normalisation over hostnames, since
//! rekon has no zones: `100 × (max − count) / max` over the feasible nodes.

use super::filter::NodeState;
use super::request::Requests;

/// Weight of the least-allocated score.
pub const LEAST_ALLOCATED_WEIGHT: i64 = 1;
/// Weight of the spreading score.
pub const SPREAD_WEIGHT: i64 = 2;
/// The top of every plugin's score range (`framework.MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

/// `leastResourceScorer` with cpu and memory weighted 1 each: the mean over both of
/// `(allocatable − requested) × 100 / allocatable`, where requested includes the pod (with
/// the non-zero defaults) and a resource with no allocatable or over-requested scores 0.
pub(crate) fn least_allocated(node: &NodeState, pod: Requests) -> i64 {
    let score = |alloc: i64, requested: i64| {
        if alloc == 0 || requested > alloc {
            0
        } else {
            (alloc - requested) * MAX_NODE_SCORE / alloc
        }
    };
    let used = &node.nonzero_requested;
    let cpu = score(node.info.cpu_milli, used.cpu_milli + pod.cpu_milli);
    let memory = score(node.info.memory_bytes, used.memory_bytes + pod.memory_bytes);
    (cpu + memory) / 2
}

/// The spreading score of every feasible node, in order: nodes with fewer pods of `owner`
/// score higher. A pod without an owner is not spread (upstream's default constraints
/// apply only to pods of a Service, ReplicaSet, StatefulSet or ReplicationController).
pub(crate) fn spread(nodes: &[&NodeState], owner: Option<&str>) -> Vec<i64> {
    let Some(owner) = owner else {
        return vec![0; nodes.len()];
    };
    let counts: Vec<i64> = nodes
        .iter()
        .map(|n| n.owners.get(owner).copied().unwrap_or(0) as i64)
        .collect();
    let max = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&c| {
            if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max - c) / max
            }
        })
        .collect()
}

/// Index of the best node among `feasible`: highest weighted score, ties broken by the
/// smallest node name. Upstream picks among tied nodes at random (`selectHost`); rekon is
/// deterministic so the same repository always gives the same plan.
pub(crate) fn select(feasible: &[&NodeState], pod: Requests, owner: Option<&str>) -> Option<usize> {
    let spread = spread(feasible, owner);
    let total = |i: usize| LEAST_ALLOCATED_WEIGHT * least_allocated(feasible[i], pod) + SPREAD_WEIGHT * spread[i];
    (0..feasible.len()).max_by(|&a, &b| {
        total(a)
            .cmp(&total(b))
            .then_with(|| feasible[b].info.name.cmp(&feasible[a].info.name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::scheduler::node::NodeInfo;

    const GI: i64 = 1 << 30;

    fn node(name: &str, cpus: u32, mem: i64) -> NodeState {
        NodeState::new(NodeInfo::default_node(name, cpus, mem))
    }

    fn req(cpu: i64, mem: i64) -> Requests {
        Requests {
            cpu_milli: cpu,
            memory_bytes: mem,
        }
    }

    #[test]
    fn least_allocated_scores() {
        let mut half = node("a", 2, 4 * GI);
        half.add(req(1000, 2 * GI), req(1000, 2 * GI), &[], None);
        let cases = [
            ("empty node, empty pod", node("a", 2, 4 * GI), req(0, 0), 100),
            ("half used", half.clone(), req(0, 0), 50),
            ("half used plus a quarter", half.clone(), req(500, GI), 25),
            ("cpu over, memory free", half, req(4000, 0), 25),
            ("no allocatable", node("a", 0, 0), req(1, 1), 0),
            // cpu (1000−300)/1000 = 70, memory (1Gi−512Mi)/1Gi = 50.
            ("uneven", node("a", 1, GI), req(300, GI / 2), 60),
        ];
        for (name, n, pod, want) in cases {
            assert_eq!(least_allocated(&n, pod), want, "{name}");
        }
    }

    #[test]
    fn spread_prefers_nodes_with_fewer_of_the_owner() {
        let mut a = node("a", 1, GI);
        let mut b = node("b", 1, GI);
        let c = node("c", 1, GI);
        a.add(req(0, 0), req(0, 0), &[], Some("rs"));
        a.add(req(0, 0), req(0, 0), &[], Some("rs"));
        b.add(req(0, 0), req(0, 0), &[], Some("rs"));
        b.add(req(0, 0), req(0, 0), &[], Some("other"));
        let nodes = [&a, &b, &c];
        assert_eq!(spread(&nodes, Some("rs")), vec![0, 50, 100]);
        assert_eq!(spread(&nodes, Some("new")), vec![100, 100, 100]);
        assert_eq!(spread(&nodes, None), vec![0, 0, 0]);
    }

    #[test]
    fn select_takes_the_best_score_then_the_smallest_name() {
        let (b, a, c) = (node("b", 1, GI), node("a", 1, GI), node("c", 1, GI));
        assert_eq!(
            select(&[&b, &a, &c], req(100, 0), None),
            Some(1),
            "tie goes to the smallest name"
        );
        let big = node("z", 4, 4 * GI);
        assert_eq!(
            select(&[&a, &big], req(100, 0), None),
            Some(1),
            "more room wins over the name"
        );
        let mut a_used = a.clone();
        a_used.add(req(0, 0), req(0, 0), &[], Some("rs"));
        assert_eq!(
            select(&[&a_used, &b], req(0, 0), Some("rs")),
            Some(1),
            "spreading wins over the name"
        );
        assert_eq!(select(&[], req(0, 0), None), None);
    }
}
