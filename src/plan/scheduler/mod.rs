//! A pure, deterministic scheduler: places pods on nodes as kube-scheduler's default profile
//! would (spec/k8s-semantics.md §7), without clock, IO or randomness.
//!
//! Per pod: claims that are not bound keep it Pending (the VolumeBinding plugin's PreFilter,
//! with the binder's view given by [`Scheduler::with_claims`]); `spec.nodeName` bypasses
//! scheduling; otherwise every node is filtered
//! ([`filter`]), the feasible ones scored ([`score`]) and the best taken, ties broken by node
//! name. Placing a pod adds it to the running totals, so a batch is placed as the real
//! scheduler would place the pods one after another. Not modelled: taints other than the
//! cordon taint, affinity, topology spread constraints, volume node affinity, preemption,
//! pod-level `spec.resources`, extended resources and ephemeral storage.

pub mod filter;
pub mod node;
pub mod request;
pub mod score;

use crate::manifest::types::PodSpec;
use filter::{NodeState, PodFacts};
use std::collections::BTreeMap;

pub use filter::fit_error_message;
pub use node::NodeInfo;
pub use request::{HostPort, Requests, host_ports, pod_nonzero_requests, pod_requests};

/// Where a pod goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Bound to this node (by the scheduler, or by `spec.nodeName`).
    Node(String),
    /// No node fits. Kubernetes keeps the pod `Pending` with condition
    /// `PodScheduled=False, reason=Unschedulable, message` and a `FailedScheduling` event.
    Unschedulable {
        /// The `FailedScheduling` message (`0/2 nodes are available: 2 Insufficient cpu.`).
        message: String,
    },
    /// `spec.nodeName` names a node that does not exist. The scheduler ignores such a pod and
    /// no kubelet picks it up, so it stays `Pending` with no PodScheduled condition and no
    /// event (and the pod GC may later delete it as orphaned).
    MissingNode {
        /// The node `spec.nodeName` names.
        node: String,
    },
}

/// A pod already running on a node, counted against that node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedPod {
    /// Name of the node it runs on.
    pub node: String,
    /// Requests as the fit filter counts them ([`pod_requests`]).
    pub requests: Requests,
    /// Requests as the scores count them ([`pod_nonzero_requests`]).
    pub nonzero_requests: Requests,
    /// The host ports it binds, which no other pod of the node may bind.
    pub host_ports: Vec<HostPort>,
    /// The controller that owns the pod (any stable id, e.g. a ReplicaSet's), for spreading.
    pub owner: Option<String>,
}

impl PlacedPod {
    /// A pod with this spec running on `node`.
    pub fn from_spec(node: &str, owner: Option<&str>, spec: &PodSpec) -> PlacedPod {
        PlacedPod {
            node: node.to_string(),
            requests: pod_requests(spec),
            nonzero_requests: pod_nonzero_requests(spec),
            host_ports: host_ports(spec),
            owner: owner.map(str::to_string),
        }
    }
}

/// A pod waiting for a node.
#[derive(Debug, Clone, Copy)]
pub struct PendingPod<'a> {
    /// Name of the pod (the scheduler places by spec and owner alone).
    pub name: &'a str,
    /// Its namespace, where its claims are.
    pub namespace: &'a str,
    /// The owning controller's id, for spreading; `None` for a bare pod.
    pub owner: Option<&'a str>,
    /// Its spec: requests, host ports, `nodeName`, `nodeSelector` and tolerations.
    pub spec: &'a PodSpec,
}

/// The nodes with their running totals; place pods one at a time with [`Scheduler::place`].
#[derive(Debug, Clone)]
pub struct Scheduler {
    nodes: Vec<NodeState>,
    claims: BTreeMap<crate::manifest::types::NamespacedName, crate::plan::storage::ClaimView>,
}

impl Scheduler {
    /// Starts from `nodes` with `placed` already running. Placed pods on unknown nodes are
    /// ignored (their node is gone, so they hold nothing).
    pub fn new(nodes: Vec<NodeInfo>, placed: &[PlacedPod]) -> Scheduler {
        let mut scheduler = Scheduler {
            nodes: nodes.into_iter().map(NodeState::new).collect(),
            claims: BTreeMap::new(),
        };
        for pod in placed {
            if let Some(node) = scheduler.node_mut(&pod.node) {
                node.add(
                    pod.requests,
                    pod.nonzero_requests,
                    &pod.host_ports,
                    pod.owner.as_deref(),
                );
            }
        }
        scheduler
    }

    /// The claims as the binder sees them: a pod with one missing or unbound stays Pending.
    pub fn with_claims(
        mut self,
        claims: &BTreeMap<crate::manifest::types::NamespacedName, crate::plan::storage::ClaimView>,
    ) -> Scheduler {
        self.claims = claims.clone();
        self
    }

    fn node_mut(&mut self, name: &str) -> Option<&mut NodeState> {
        self.nodes.iter_mut().find(|n| n.info.name == name)
    }

    /// Places one pod and, when it lands on a node, counts it there.
    ///
    /// With `spec.nodeName` set the scheduler is bypassed: no filter runs (not even the
    /// nodeSelector or resource check; an overcommitted kubelet would then reject the pod
    /// with `OutOfcpu`/`OutOfmemory`, which is the runtime's business, not the plan's).
    pub fn place(&mut self, pod: &PendingPod<'_>) -> Placement {
        let spec = pod.spec;
        if let Some(message) = crate::plan::storage::unschedulable(pod.namespace, spec, &self.claims, self.nodes.len())
        {
            return Placement::Unschedulable { message };
        }
        let requests = pod_requests(spec);
        let nonzero = pod_nonzero_requests(spec);
        let ports = host_ports(spec);
        if let Some(name) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
            return match self.node_mut(name) {
                Some(node) => {
                    node.add(requests, nonzero, &ports, pod.owner);
                    Placement::Node(name.to_string())
                }
                None => Placement::MissingNode { node: name.to_string() },
            };
        }
        if self.nodes.is_empty() {
            return Placement::Unschedulable {
                message: filter::NO_NODES_MESSAGE.to_string(),
            };
        }
        let facts = PodFacts {
            requests,
            host_ports: &ports,
            node_selector: &spec.node_selector,
            tolerations: &spec.tolerations,
        };
        let mut feasible = Vec::new();
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let failed = filter::filter(node, &facts);
            if failed.is_empty() {
                feasible.push(i);
            }
            for reason in failed {
                *reasons.entry(reason).or_default() += 1;
            }
        }
        let candidates: Vec<&NodeState> = feasible.iter().map(|&i| &self.nodes[i]).collect();
        match score::select(&candidates, nonzero, pod.owner) {
            Some(best) => {
                let node = &mut self.nodes[feasible[best]];
                node.add(requests, nonzero, &ports, pod.owner);
                Placement::Node(node.info.name.clone())
            }
            None => Placement::Unschedulable {
                message: fit_error_message(self.nodes.len(), &reasons),
            },
        }
    }
}

/// Places `pods` in order onto `nodes` that already run `placed`; one [`Placement`] per pod,
/// in the same order.
pub fn schedule(nodes: Vec<NodeInfo>, placed: &[PlacedPod], pods: &[PendingPod<'_>]) -> Vec<Placement> {
    let mut scheduler = Scheduler::new(nodes, placed);
    pods.iter().map(|pod| scheduler.place(pod)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::types::Pod;

    const GI: i64 = 1 << 30;

    fn spec(yaml: &str) -> PodSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn nodes(names: &[&str], cpus: u32, mem: i64) -> Vec<NodeInfo> {
        names.iter().map(|n| NodeInfo::default_node(n, cpus, mem)).collect()
    }

    fn pending<'a>(spec: &'a PodSpec, owner: Option<&'a str>, n: usize) -> Vec<PendingPod<'a>> {
        vec![
            PendingPod {
                name: "p",
                namespace: "default",
                owner,
                spec
            };
            n
        ]
    }

    fn on(name: &str) -> Placement {
        Placement::Node(name.to_string())
    }

    fn unschedulable(message: &str) -> Placement {
        Placement::Unschedulable {
            message: message.to_string(),
        }
    }

    #[test]
    fn batch_of_300m_pods_fills_two_one_cpu_nodes() {
        let s = spec("containers: [{name: c, resources: {requests: {cpu: 300m}}}]");
        let got = schedule(nodes(&["b", "a"], 1, 4 * GI), &[], &pending(&s, Some("rs-web"), 8));
        let full = unschedulable("0/2 nodes are available: 2 Insufficient cpu.");
        assert_eq!(
            got,
            vec![on("a"), on("b"), on("a"), on("b"), on("a"), on("b"), full.clone(), full]
        );
    }

    #[test]
    fn replicas_spread_one_per_equal_node() {
        let s = spec("containers: [{name: c}]");
        let got = schedule(nodes(&["n1", "n2", "n3"], 2, 4 * GI), &[], &pending(&s, Some("rs"), 3));
        assert_eq!(got, vec![on("n1"), on("n2"), on("n3")]);
        // Best-effort pods without an owner still spread through the non-zero request defaults.
        let got = schedule(nodes(&["n1", "n2", "n3"], 2, 4 * GI), &[], &pending(&s, None, 3));
        assert_eq!(got, vec![on("n1"), on("n2"), on("n3")]);
    }

    #[test]
    fn pod_nginx_goes_to_the_ssd_node() {
        // k8s-examples pods/pod-nginx.yaml.
        let pod: Pod = serde_yaml::from_str(
            r#"{apiVersion: "v1", kind: "Pod", metadata: {name: "nginx", labels: {env: "test"}},
                spec: {containers: [{name: "nginx", image: "nginx", imagePullPolicy: "IfNotPresent"}],
                       nodeSelector: {disktype: "ssd"}}}"#,
        )
        .unwrap();
        let mut three = nodes(&["node-1", "node-2", "node-3"], 2, 4 * GI);
        three[1].labels.insert("disktype".into(), "ssd".into());
        three[2].labels.insert("disktype".into(), "hdd".into());
        let pods = pending(&pod.spec, None, 2);
        assert_eq!(schedule(three.clone(), &[], &pods), vec![on("node-2"), on("node-2")]);
        three[1].labels.remove("disktype");
        assert_eq!(
            schedule(three, &[], &pods[..1]),
            vec![unschedulable(
                "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
            )]
        );
    }

    #[test]
    fn message_counts_the_first_failing_filter_of_each_node() {
        let mut three = nodes(&["a", "b", "c"], 4, GI);
        three[0].unschedulable = true;
        let s = spec("containers: [{name: c, resources: {requests: {memory: 2Gi}}}]");
        assert_eq!(
            schedule(three, &[], &pending(&s, None, 1)),
            vec![unschedulable(
                "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient memory."
            )]
        );
        // A node short of both counts in both entries.
        let s = spec("containers: [{name: c, resources: {requests: {cpu: '8', memory: 2Gi}}}]");
        assert_eq!(
            schedule(nodes(&["a"], 4, GI), &[], &pending(&s, None, 1)),
            vec![unschedulable(
                "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
            )]
        );
    }

    #[test]
    fn host_ports_and_pod_count() {
        let s = spec("containers: [{name: c, ports: [{containerPort: 80, hostPort: 8080}]}]");
        assert_eq!(
            schedule(nodes(&["a", "b"], 1, GI), &[], &pending(&s, None, 3)),
            vec![
                on("a"),
                on("b"),
                unschedulable("0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.")
            ]
        );
        let mut small = nodes(&["a"], 1, GI);
        small[0].pods = 2;
        let s = spec("containers: [{name: c}]");
        assert_eq!(
            schedule(small, &[], &pending(&s, None, 3)),
            vec![
                on("a"),
                on("a"),
                unschedulable("0/1 nodes are available: 1 Too many pods.")
            ]
        );
    }

    #[test]
    fn placed_pods_count_against_their_node() {
        let big = spec("containers: [{name: c, resources: {requests: {cpu: 800m}}}]");
        let placed = [
            PlacedPod::from_spec("a", Some("rs"), &big),
            PlacedPod::from_spec("gone", None, &big),
        ];
        let s = spec("containers: [{name: c, resources: {requests: {cpu: 500m}}}]");
        assert_eq!(
            schedule(nodes(&["a", "b"], 1, GI), &placed, &pending(&s, None, 3)),
            vec![
                on("b"),
                on("b"),
                unschedulable("0/2 nodes are available: 2 Insufficient cpu.")
            ]
        );
    }

    #[test]
    fn node_name_bypasses_the_filters() {
        let mut two = nodes(&["a", "b"], 1, GI);
        two[0].unschedulable = true;
        let pinned = spec(
            "nodeName: a\nnodeSelector: {disktype: ssd}\ncontainers: [{name: c, resources: {requests: {cpu: '2'}}}]",
        );
        let missing = spec("nodeName: nope\ncontainers: [{name: c}]");
        let other = spec("containers: [{name: c, resources: {requests: {cpu: 100m}}}]");
        let pods = [
            PendingPod {
                name: "pinned",
                namespace: "default",
                owner: None,
                spec: &pinned,
            },
            PendingPod {
                name: "missing",
                namespace: "default",
                owner: None,
                spec: &missing,
            },
            PendingPod {
                name: "other",
                namespace: "default",
                owner: None,
                spec: &other,
            },
        ];
        let mut scheduler = Scheduler::new(two, &[]);
        let got: Vec<_> = pods.iter().map(|p| scheduler.place(p)).collect();
        assert_eq!(
            got,
            vec![on("a"), Placement::MissingNode { node: "nope".into() }, on("b")]
        );
        assert_eq!(
            scheduler.nodes[0].requested.cpu_milli, 2000,
            "a pinned pod counts on its node"
        );
    }

    #[test]
    fn no_nodes_and_determinism() {
        let s = spec("containers: [{name: c}]");
        assert_eq!(
            schedule(vec![], &[], &pending(&s, None, 1)),
            vec![unschedulable("no nodes available to schedule pods")]
        );
        let forward = schedule(nodes(&["x", "y", "z"], 1, GI), &[], &pending(&s, Some("rs"), 7));
        let backward = schedule(nodes(&["z", "y", "x"], 1, GI), &[], &pending(&s, Some("rs"), 7));
        assert_eq!(forward, backward, "node order does not change the placements");
    }

    /// The benchmark's shape (bench/schedule.sh times it inside `plan`): equal nodes end up
    /// with equal shares.
    #[test]
    fn thousand_pods_on_hundred_nodes_spread_evenly() {
        let names: Vec<String> = (0..100).map(|i| format!("node-{i:03}")).collect();
        let all: Vec<NodeInfo> = names.iter().map(|n| NodeInfo::default_node(n, 16, 64 * GI)).collect();
        let s = spec(
            "containers: [{name: c, resources: {requests: {cpu: 100m, memory: 128Mi}}, ports: [{containerPort: 80}]}]",
        );
        let owners: Vec<String> = (0..10).map(|i| format!("rs-{i}")).collect();
        let pods: Vec<PendingPod<'_>> = (0..1000)
            .map(|i| PendingPod {
                name: "p",
                namespace: "default",
                owner: Some(&owners[i % 10]),
                spec: &s,
            })
            .collect();
        let got = schedule(all, &[], &pods);
        let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &got {
            let Placement::Node(n) = p else { panic!("{p:?}") };
            *per_node.entry(n.as_str()).or_default() += 1;
        }
        assert_eq!(per_node.len(), 100);
        assert!(per_node.values().all(|&n| n == 10), "{per_node:?}");
    }
}
