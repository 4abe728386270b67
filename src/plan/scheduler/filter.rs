//! The filters a node must pass, their upstream reason strings, and the FitError message.

use super::node::NodeInfo;
use super::request::{HostPort, Requests};
use crate::manifest::types::pod::Toleration;
use std::collections::{BTreeMap, HashMap};

/// NodeUnschedulable (`ErrReasonUnschedulable`).
pub const REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// NodeAffinity, for nodeSelector as well (`ErrReasonPod`).
pub const REASON_NODE_SELECTOR: &str = "node(s) didn't match Pod's node affinity/selector";
/// NodePorts (`ErrReason`).
pub const REASON_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";
/// NodeResourcesFit, pod count.
pub const REASON_TOO_MANY_PODS: &str = "Too many pods";
/// NodeResourcesFit, cpu.
pub const REASON_CPU: &str = "Insufficient cpu";
/// NodeResourcesFit, memory.
pub const REASON_MEMORY: &str = "Insufficient memory";

/// The message when there are no nodes at all (`ErrNoNodesAvailable` in `schedule_one.go`).
pub const NO_NODES_MESSAGE: &str = "no nodes available to schedule pods";

/// The taint a cordoned node implicitly carries; tolerating it lets a pod onto the node.
const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// A node plus what is already placed on it: the running totals the filters and scores read.
#[derive(Debug, Clone)]
pub(crate) struct NodeState {
    pub info: NodeInfo,
    pub requested: Requests,
    /// Requests with the scoring defaults for containers that set none.
    pub nonzero_requested: Requests,
    pub pod_count: i64,
    pub host_ports: Vec<HostPort>,
    /// Pods per owner on this node, for spreading.
    pub owners: HashMap<String, usize>,
}

impl NodeState {
    pub fn new(info: NodeInfo) -> NodeState {
        NodeState {
            info,
            requested: Requests::default(),
            nonzero_requested: Requests::default(),
            pod_count: 0,
            host_ports: Vec::new(),
            owners: HashMap::new(),
        }
    }

    /// Counts a pod as running here.
    pub fn add(&mut self, requests: Requests, nonzero: Requests, ports: &[HostPort], owner: Option<&str>) {
        self.requested.cpu_milli += requests.cpu_milli;
        self.requested.memory_bytes += requests.memory_bytes;
        self.nonzero_requested.cpu_milli += nonzero.cpu_milli;
        self.nonzero_requested.memory_bytes += nonzero.memory_bytes;
        self.pod_count += 1;
        self.host_ports.extend_from_slice(ports);
        if let Some(owner) = owner {
            *self.owners.entry(owner.to_string()).or_default() += 1;
        }
    }
}

/// What the filters need to know about the pod being placed.
pub(crate) struct PodFacts<'a> {
    pub requests: Requests,
    pub host_ports: &'a [HostPort],
    pub node_selector: &'a BTreeMap<String, String>,
    pub tolerations: &'a [Toleration],
}

/// Runs the filters in the default profile's order (NodeUnschedulable, NodeAffinity,
/// NodePorts, NodeResourcesFit) and returns the reasons of the first that fails, empty
/// when the node fits. Like `RunFilterPlugins`, a node stops at its first failing plugin,
/// but NodeResourcesFit reports every resource that is short.
pub(crate) fn filter(node: &NodeState, pod: &PodFacts<'_>) -> Vec<&'static str> {
    let info = &node.info;
    if info.unschedulable && !tolerates_unschedulable(pod.tolerations) {
        return vec![REASON_UNSCHEDULABLE];
    }
    if !pod.node_selector.iter().all(|(k, v)| info.labels.get(k) == Some(v)) {
        return vec![REASON_NODE_SELECTOR];
    }
    if pod
        .host_ports
        .iter()
        .any(|p| node.host_ports.iter().any(|used| p.conflicts(used)))
    {
        return vec![REASON_PORTS];
    }
    fits_request(node, pod.requests)
}

/// `fitsRequest` in `noderesources/fit.go`: pod count first, then each resource the pod
/// requests more of than is left. Limits are ignored.
fn fits_request(node: &NodeState, req: Requests) -> Vec<&'static str> {
    let mut reasons = Vec::new();
    if node.pod_count + 1 > node.info.pods {
        reasons.push(REASON_TOO_MANY_PODS);
    }
    if req.is_zero() {
        return reasons;
    }
    if req.cpu_milli > 0 && req.cpu_milli > node.info.cpu_milli - node.requested.cpu_milli {
        reasons.push(REASON_CPU);
    }
    if req.memory_bytes > 0 && req.memory_bytes > node.info.memory_bytes - node.requested.memory_bytes {
        reasons.push(REASON_MEMORY);
    }
    reasons
}

/// Whether a toleration matches the `node.kubernetes.io/unschedulable:NoSchedule` taint
/// (`NodeUnschedulable.Filter`, `Toleration.ToleratesTaint`).
fn tolerates_unschedulable(tolerations: &[Toleration]) -> bool {
    tolerations.iter().any(|t| {
        let effect_ok = matches!(t.effect.as_deref(), None | Some("") | Some("NoSchedule"));
        let exists = t.operator.as_deref() == Some("Exists");
        let key_ok = match t.key.as_deref() {
            None | Some("") => exists,
            Some(key) => key == TAINT_UNSCHEDULABLE,
        };
        // The taint's value is empty, so `Equal` matches only an empty value.
        let value_ok = exists || t.value.as_deref().unwrap_or("").is_empty();
        effect_ok && key_ok && value_ok
    })
}

/// `FitError.Error()` (`framework/types.go`): `0/<N> nodes are available: ` then
/// `<count> <reason>` entries sorted as strings, joined by `, `, ending with `.`.
/// No preemption suffix: rekon does not preempt, so there is no PostFilter message.
pub fn fit_error_message(num_nodes: usize, reasons: &BTreeMap<&str, usize>) -> String {
    let mut entries: Vec<String> = reasons.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
    entries.sort();
    let mut msg = format!("0/{num_nodes} nodes are available:");
    if !entries.is_empty() {
        msg.push_str(&format!(" {}.", entries.join(", ")));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(unschedulable: bool, cpu: i64, mem: i64, pods: i64) -> NodeState {
        let mut info = NodeInfo::default_node("n", 0, mem);
        info.labels.insert("disktype".into(), "ssd".into());
        info.unschedulable = unschedulable;
        info.cpu_milli = cpu;
        info.pods = pods;
        NodeState::new(info)
    }

    fn req(cpu: i64, mem: i64) -> Requests {
        Requests {
            cpu_milli: cpu,
            memory_bytes: mem,
        }
    }

    fn tol(key: Option<&str>, op: Option<&str>, effect: Option<&str>) -> Toleration {
        Toleration {
            key: key.map(Into::into),
            operator: op.map(Into::into),
            effect: effect.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn each_filter_gives_its_reason() {
        let ssd = BTreeMap::from([("disktype".to_string(), "ssd".to_string())]);
        let hdd = BTreeMap::from([("disktype".to_string(), "hdd".to_string())]);
        let none = BTreeMap::new();
        let port = HostPort {
            ip: "0.0.0.0".into(),
            protocol: "TCP".into(),
            port: 80,
        };
        let mut busy = state(false, 1000, 1000, 2);
        busy.add(req(600, 600), req(600, 600), std::slice::from_ref(&port), None);
        let cordoned = state(true, 1000, 1000, 2);
        let unsched_tol = [tol(Some(TAINT_UNSCHEDULABLE), Some("Exists"), Some("NoSchedule"))];

        /// Name, node, pod requests, host ports, nodeSelector, tolerations, expected reasons.
        type Case<'a> = (
            &'a str,
            &'a NodeState,
            Requests,
            &'a [HostPort],
            &'a BTreeMap<String, String>,
            &'a [Toleration],
            Vec<&'a str>,
        );
        let cases: Vec<Case<'_>> = vec![
            ("fits", &busy, req(400, 400), &[], &ssd, &[], vec![]),
            (
                "cordoned",
                &cordoned,
                req(0, 0),
                &[],
                &none,
                &[],
                vec![REASON_UNSCHEDULABLE],
            ),
            (
                "cordoned but tolerated",
                &cordoned,
                req(0, 0),
                &[],
                &none,
                &unsched_tol,
                vec![],
            ),
            (
                "cordoned beats selector",
                &cordoned,
                req(0, 0),
                &[],
                &hdd,
                &[],
                vec![REASON_UNSCHEDULABLE],
            ),
            ("selector", &busy, req(0, 0), &[], &hdd, &[], vec![REASON_NODE_SELECTOR]),
            (
                "ports",
                &busy,
                req(0, 0),
                std::slice::from_ref(&port),
                &ssd,
                &[],
                vec![REASON_PORTS],
            ),
            ("cpu", &busy, req(401, 0), &[], &none, &[], vec![REASON_CPU]),
            (
                "cpu and memory",
                &busy,
                req(401, 401),
                &[],
                &none,
                &[],
                vec![REASON_CPU, REASON_MEMORY],
            ),
            (
                "zero request fits a full node",
                &busy,
                req(0, 0),
                &[],
                &none,
                &[],
                vec![],
            ),
        ];
        for (name, node, requests, ports, selector, tolerations, want) in cases {
            let pod = PodFacts {
                requests,
                host_ports: ports,
                node_selector: selector,
                tolerations,
            };
            assert_eq!(filter(node, &pod), want, "{name}");
        }

        let mut full = state(false, 1000, 1000, 1);
        full.add(req(0, 0), req(100, 100), &[], None);
        let pod = PodFacts {
            requests: req(2000, 0),
            host_ports: &[],
            node_selector: &none,
            tolerations: &[],
        };
        assert_eq!(filter(&full, &pod), vec![REASON_TOO_MANY_PODS, REASON_CPU]);
    }

    #[test]
    fn tolerations_of_the_unschedulable_taint() {
        let cases = [
            (tol(None, Some("Exists"), None), true),
            (tol(Some(TAINT_UNSCHEDULABLE), None, None), true),
            (tol(Some(TAINT_UNSCHEDULABLE), Some("Exists"), Some("NoExecute")), false),
            (tol(Some("other"), Some("Exists"), None), false),
            (tol(None, None, None), false),
        ];
        for (t, want) in cases {
            assert_eq!(tolerates_unschedulable(std::slice::from_ref(&t)), want, "{t:?}");
        }
    }

    #[test]
    fn fit_error_message_sorts_entries_as_strings() {
        let reasons = BTreeMap::from([(REASON_MEMORY, 2), (REASON_UNSCHEDULABLE, 1)]);
        assert_eq!(
            fit_error_message(3, &reasons),
            "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient memory."
        );
        // String order, not numeric: "10 …" sorts before "9 …", as in Go's sort.Strings.
        let reasons = BTreeMap::from([(REASON_CPU, 9), (REASON_NODE_SELECTOR, 10)]);
        assert_eq!(
            fit_error_message(19, &reasons),
            "0/19 nodes are available: 10 node(s) didn't match Pod's node affinity/selector, 9 Insufficient cpu."
        );
    }
}
