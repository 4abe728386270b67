//! Nodes enforce their capacity: the pods of a node share its cgroup's CPU and memory.

use super::LinuxHost;
use rekon::runtime::linux::CgroupRoot;
use rekon::runtime::linux::cgroup::DEFAULT_CGROUP_ROOT;
use rekon::runtime::status::PodPhase;
use std::path::Path;

fn busy_pod(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: busybox\n    command: [\"sh\", \"-c\", \"while :; do :; done\"]\n"
    )
}

#[test]
fn two_busy_pods_on_a_one_cpu_node_share_one_cpu() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    // A node name of its own: node cgroups are shared by everything rekon runs on a node.
    let node = format!("one-cpu-{}", std::process::id());
    let yaml = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {node}\nstatus:\n  capacity: {{cpu: '1', memory: 1Gi}}\n---\n{}---\n{}",
        busy_pod("busy-a"),
        busy_pod("busy-b")
    );
    host.apply(&yaml).expect(0);
    for pod in ["busy-a", "busy-b"] {
        host.wait_for(pod, 20, |s| s.phase == PodPhase::Running);
        assert_eq!(host.state_node(&host.uid(pod)), node);
    }
    let cgroup = CgroupRoot::detect(Path::new(DEFAULT_CGROUP_ROOT))
        .unwrap()
        .node(&node)
        .unwrap();
    // This machine has 2 CPUs, so without the node's limit the two loops would use about 2.
    let cores = super::cpu_cores_used(&cgroup);
    // The bound that matters is the upper one; the lower one leaves room for parallel tests.
    assert!((0.5..=1.15).contains(&cores), "the node's pods used {cores:.3} CPUs");
    host.finish();
    for dir in cgroup.dirs() {
        assert!(!dir.exists(), "node cgroup {} left behind", dir.display());
    }
}
