//! The nodes of a plan: the `kind: Node` objects of git, or else the host as the one node.

use super::scheduler::NodeInfo;
use super::scheduler::node::DEFAULT_MAX_PODS;
use super::{DesiredObject, HostFacts, PlanNode};
use crate::manifest::Resource;
use crate::manifest::types::Node;

/// The nodes pods can be placed on after the plan, as the scheduler sees them and as apply
/// configures them, both sorted by name.
///
/// Every Node of git is a node; with none, there is exactly one, named after the host, with
/// the host's CPUs and memory (DESIGN §3).
pub fn plan_nodes(desired: &[DesiredObject], host: &HostFacts) -> (Vec<NodeInfo>, Vec<PlanNode>) {
    let mut nodes: Vec<&Node> = desired
        .iter()
        .filter_map(|d| match d.resource.as_deref() {
            Some(Resource::Node(n)) => Some(n),
            _ => None,
        })
        .collect();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if nodes.is_empty() {
        let plan_node = PlanNode {
            name: host.hostname.clone(),
            cpu_milli: i64::from(host.cpus) * 1000,
            memory_bytes: host.memory_bytes,
            pods: DEFAULT_MAX_PODS,
            unschedulable: false,
            implicit: true,
        };
        return (vec![NodeInfo::for_host(host)], vec![plan_node]);
    }
    let infos = nodes.iter().map(|n| NodeInfo::from_node(n, host)).collect();
    let plan_nodes = nodes.iter().map(|n| capacity(n, host)).collect();
    (infos, plan_nodes)
}

/// A Node's capacity: `status.capacity`, else `status.allocatable`, else the host's size.
fn capacity(node: &Node, host: &HostFacts) -> PlanNode {
    let status = &node.status;
    let pick = |key: &str| status.capacity.get(key).or_else(|| status.allocatable.get(key));
    PlanNode {
        name: node.metadata.name.clone(),
        cpu_milli: pick("cpu").map_or(i64::from(host.cpus) * 1000, |q| q.milli_value()),
        memory_bytes: pick("memory").map_or(host.memory_bytes, |q| q.value()),
        pods: pick("pods").map_or(DEFAULT_MAX_PODS, |q| q.value()),
        unschedulable: node.spec.unschedulable == Some(true),
        implicit: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{SourceFile, load};
    use crate::plan::desired_objects;

    fn host() -> HostFacts {
        HostFacts {
            hostname: "box".into(),
            cpus: 4,
            memory_bytes: 8 << 30,
            arch: "x86_64".into(),
        }
    }

    fn nodes_of(yaml: &str) -> (Vec<NodeInfo>, Vec<PlanNode>) {
        let m = load(&[SourceFile {
            path: "n.yaml".into(),
            text: yaml.into(),
        }])
        .expect("valid manifests");
        plan_nodes(&desired_objects(&m, &|b: &[u8]| format!("{}", b.len())), &host())
    }

    #[test]
    fn without_node_objects_the_host_is_the_node() {
        let (infos, plan) = nodes_of("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n");
        assert_eq!(infos, vec![NodeInfo::for_host(&host())]);
        assert_eq!(
            plan,
            vec![PlanNode {
                name: "box".into(),
                cpu_milli: 4000,
                memory_bytes: 8 << 30,
                pods: 110,
                unschedulable: false,
                implicit: true,
            }]
        );
    }

    #[test]
    fn node_objects_replace_the_host_and_default_to_its_size() {
        let (infos, plan) = nodes_of(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: n2\nspec:\n  unschedulable: true\n---\n\
             apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels: {disktype: ssd}\n\
             status:\n  capacity: {cpu: '2', memory: 1Gi, pods: '5'}\n  allocatable: {cpu: 1500m}\n",
        );
        let names: Vec<&str> = infos.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["n1", "n2"]);
        assert_eq!(
            (infos[0].cpu_milli, infos[0].memory_bytes, infos[0].pods),
            (1500, 1 << 30, 5)
        );
        assert_eq!(infos[0].labels["disktype"], "ssd");
        assert_eq!(
            (plan[0].cpu_milli, plan[0].memory_bytes, plan[0].pods),
            (2000, 1 << 30, 5)
        );
        assert!(!plan[0].implicit);
        assert_eq!((plan[1].cpu_milli, plan[1].memory_bytes), (4000, 8 << 30));
        assert!(plan[1].unschedulable && infos[1].unschedulable);
    }
}
