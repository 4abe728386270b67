//! Scheduling onto nodes, end to end with the fake runtime: the plan's dry-run, what apply
//! places where, Pending pods, cordon and drain.

use crate::support::{Host, Repo, SHARED};
use std::collections::BTreeMap;

fn node(name: &str, labels: &str, capacity: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels: {{{labels}}}\nstatus:\n  capacity: {{{capacity}}}\n"
    )
}

fn pod(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    resources:\n      requests: {{cpu: 300m, memory: 128Mi}}\n"
    )
}

/// Pod name → node, as the fake runtime was asked to run them.
fn runtime_nodes(host: &Host) -> BTreeMap<String, String> {
    let Ok(bytes) = std::fs::read(host.fake_file()) else {
        return BTreeMap::new();
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v.as_object()
        .unwrap()
        .values()
        .map(|pair| {
            (
                pair[0]["name"].as_str().unwrap().to_string(),
                pair[0]["node"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn nginx_repo(ssd: &str) -> Repo {
    let repo = Repo::new();
    repo.write("nodes/node-1.yaml", &node("node-1", "", "cpu: '2', memory: 4Gi"));
    repo.write("nodes/node-2.yaml", &node("node-2", ssd, "cpu: '2', memory: 4Gi"));
    repo.write(
        "nodes/node-3.yaml",
        &node("node-3", "disktype: hdd", "cpu: '2', memory: 4Gi"),
    );
    let nginx = std::fs::read_to_string(format!("{SHARED}/k8s-examples/pods/pod-nginx.yaml")).unwrap();
    repo.write("pod-nginx.yaml", &nginx);
    repo.commit("three nodes and nginx");
    repo
}

#[test]
fn nginx_lands_on_the_ssd_node() {
    let repo = nginx_repo("disktype: ssd");
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    let run = host.run(&["plan", "--repo", url]).expect(0);
    assert!(
        run.stdout
            .contains("  # Pod default/nginx will be created on node node-2\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Scheduler dry-run:\n- All pods successfully placed (1).\n"),
        "{}",
        run.stdout
    );
    host.run(&["apply", "--repo", url]).expect(0);
    assert_eq!(
        runtime_nodes(&host),
        BTreeMap::from([("nginx".into(), "node-2".into())])
    );
    let run = host.run(&["get", "pods", "-o", "wide"]).expect(0);
    let row: Vec<&str> = run.stdout.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[row.len() - 2..], ["node-2", "BestEffort"], "{}", run.stdout);
}

#[test]
fn nginx_stays_pending_without_an_ssd_node_and_plan_says_so_first() {
    let repo = nginx_repo("");
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    let message = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.";
    let run = host.run(&["plan", "--repo", url]).expect(0);
    assert!(
        run.stdout.contains(&format!(
            "  # Pod default/nginx will be created but stays Pending\n  # (no node can take it: {message})\n"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "Scheduler dry-run:\n- WARNING: Failed to place 1 pod; it stays Pending:\n    Pod default/nginx: {message}\n"
        )),
        "{}",
        run.stdout
    );

    let run = host.run(&["apply", "--repo", url]).expect(3);
    assert_eq!(
        run.stderr,
        "Warning: 1 pod could not be scheduled and stays Pending; every apply retries it.\n"
    );
    assert!(runtime_nodes(&host).is_empty(), "nothing runs for a Pending pod");
    let run = host.run(&["get", "pods"]).expect(0);
    assert!(
        run.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("nginx   0/1     Pending"),
        "{}",
        run.stdout
    );
    let run = host.run(&["describe", "pod/nginx"]).expect(0);
    assert!(
        run.stdout.contains(&format!(
            "  PodScheduled                False   Unschedulable   {message}\n"
        )),
        "{}",
        run.stdout
    );
    let state = host.state();
    let record = state["pods"].as_object().unwrap().values().next().unwrap();
    assert_eq!(record["node"], serde_json::Value::Null);
    assert_eq!(record["scheduling"]["message"], message);

    // Retried on every run; labelling a node places it.
    host.run(&["plan", "--detailed-exitcode"]).expect(0);
    repo.write(
        "nodes/node-2.yaml",
        &node("node-2", "disktype: ssd", "cpu: '2', memory: 4Gi"),
    );
    repo.commit("label node-2");
    let run = host.run(&["plan", "--repo", url]).expect(0);
    assert!(
        run.stdout.contains("  # Pod default/nginx will be created on node node-2\n  # (because it was Pending and now fits on node node-2)\n"),
        "{}",
        run.stdout
    );
    host.run(&["apply", "--repo", url]).expect(0);
    assert_eq!(
        runtime_nodes(&host),
        BTreeMap::from([("nginx".into(), "node-2".into())])
    );
}

#[test]
fn eight_pods_on_two_small_nodes_plan_equals_apply() {
    let repo = Repo::new();
    for n in ["n1", "n2"] {
        repo.write(&format!("{n}.yaml"), &node(n, "", "cpu: '1', memory: 1Gi"));
    }
    for i in 1..=8 {
        repo.write(&format!("pods/p{i}.yaml"), &pod(&format!("p{i}")));
    }
    repo.commit("8 pods, 2 nodes");
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    let run = host.run(&["plan", "--repo", url, "-o", "json"]).expect(0);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let mut planned = BTreeMap::new();
    let mut pending = Vec::new();
    for p in plan["placements"].as_array().unwrap() {
        let name = p["pod"]
            .as_str()
            .unwrap()
            .trim_start_matches("Pod default/")
            .to_string();
        match p["node"].as_str() {
            Some(node) => drop(planned.insert(name, node.to_string())),
            None => pending.push((name, p["unschedulable"].as_str().unwrap().to_string())),
        }
    }
    let full = "0/2 nodes are available: 2 Insufficient cpu.".to_string();
    assert_eq!(pending, [("p7".into(), full.clone()), ("p8".into(), full)]);
    let per_node = |m: &BTreeMap<String, String>, n: &str| m.values().filter(|v| *v == n).count();
    assert_eq!((per_node(&planned, "n1"), per_node(&planned, "n2")), (3, 3));

    host.run(&["apply", "--repo", url]).expect(3);
    assert_eq!(
        runtime_nodes(&host),
        planned,
        "apply placed exactly what plan predicted"
    );
    let run = host.run(&["get", "pods"]).expect(0);
    assert_eq!(run.stdout.matches("Pending").count(), 2, "{}", run.stdout);

    // describe node adds up what the node's three pods request, as kubectl does.
    let run = host.run(&["describe", "node/n1"]).expect(0);
    assert!(
        run.stdout.contains("Non-terminated Pods:          (3 in total)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  cpu                900m (90%)    0 (0%)\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  memory             384Mi (37%)   0 (0%)\n"),
        "{}",
        run.stdout
    );
    host.run(&["describe", "node/n9"]).expect(1);
}

#[test]
fn cordon_keeps_pods_and_removing_a_node_moves_them() {
    let repo = Repo::new();
    repo.write("n1.yaml", &node("n1", "", "cpu: '2', memory: 2Gi"));
    repo.write("n2.yaml", &node("n2", "", "cpu: '2', memory: 2Gi"));
    repo.write("a.yaml", &pod("a"));
    repo.write("b.yaml", &pod("b"));
    repo.commit("two nodes, two pods");
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    host.run(&["apply", "--repo", url]).expect(0);
    let before = runtime_nodes(&host);
    assert_eq!(
        before,
        BTreeMap::from([("a".into(), "n1".into()), ("b".into(), "n2".into())])
    );

    repo.write(
        "n1.yaml",
        &(node("n1", "", "cpu: '2', memory: 2Gi") + "spec:\n  unschedulable: true\n"),
    );
    repo.commit("cordon n1");
    let run = host.run(&["apply", "--repo", url]).expect(0);
    assert!(
        run.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    assert_eq!(runtime_nodes(&host), before, "a cordon keeps the pods where they are");
    let run = host.run(&["get", "nodes"]).expect(0);
    assert!(run.stdout.contains("Ready,SchedulingDisabled"), "{}", run.stdout);

    repo.remove("n1.yaml");
    repo.commit("remove n1");
    let run = host.run(&["plan"]).expect(0);
    assert!(
        run.stdout.contains("  # Pod default/a must be replaced, the new pod on node n2\n  # (because node n1 is drained: it is not in git any more)\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("      note: drain: Pod default/a moves to node n2\n"),
        "{}",
        run.stdout
    );
    host.run(&["apply"]).expect(0);
    assert_eq!(
        runtime_nodes(&host),
        BTreeMap::from([("a".into(), "n2".into()), ("b".into(), "n2".into())])
    );
    host.run(&["plan", "--detailed-exitcode"]).expect(0);
}

fn deployment(replicas: u32, requests: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n        resources:\n          requests: {{{requests}}}\n"
    )
}

#[test]
fn a_deployment_of_eight_on_two_small_nodes_places_six_as_planned() {
    let repo = Repo::new();
    for n in ["n1", "n2"] {
        repo.write(&format!("{n}.yaml"), &node(n, "", "cpu: '1', memory: 1Gi"));
    }
    repo.write("web.yaml", &deployment(8, "cpu: 300m, memory: 128Mi"));
    repo.commit("8 replicas, 2 nodes");
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    let run = host.run(&["plan", "--repo", url]).expect(0);
    for n in ["n1", "n2"] {
        assert!(
            run.stdout
                .contains(&format!("note: first step: create 3 pods on node {n}\n")),
            "{}",
            run.stdout
        );
    }
    let message = ": 0/2 nodes are available: 2 Insufficient cpu.";
    let mut planned_pending: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("note: first step: pod "))
        .filter_map(|l| l.strip_suffix(&format!(" stays Pending{message}")))
        .map(str::to_string)
        .collect();
    planned_pending.sort();
    assert_eq!(planned_pending.len(), 2, "{}", run.stdout);
    host.run(&["apply", "--repo", url, "--timeout", "5s"]).expect(3);
    let placed = runtime_nodes(&host);
    let per_node = |n: &str| placed.values().filter(|v| *v == n).count();
    assert_eq!((per_node("n1"), per_node("n2")), (3, 3), "{placed:?}");
    let run = host.run(&["get", "pods"]).expect(0);
    let mut pending_now: Vec<String> = run
        .stdout
        .lines()
        .filter(|l| l.contains(" Pending "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    pending_now.sort();
    // The same number as planned (pod names take the ReplicaSet's uid, which a state that
    // does not exist yet cannot fix in the plan).
    assert_eq!(
        pending_now.len(),
        planned_pending.len(),
        "{pending_now:?} vs {planned_pending:?}"
    );
    let pending = host.run(&["get", "pods", "-o", "json"]).expect(0).stdout;
    assert_eq!(
        pending.matches("0/2 nodes are available: 2 Insufficient cpu.").count(),
        2,
        "{pending}"
    );
}

#[test]
fn replicas_spread_one_per_node_on_three_equal_nodes() {
    let repo = Repo::new();
    for n in ["n1", "n2", "n3"] {
        repo.write(&format!("{n}.yaml"), &node(n, "", "cpu: '4', memory: 8Gi"));
    }
    repo.write("web.yaml", &deployment(3, "cpu: 100m, memory: 64Mi"));
    repo.commit("3 replicas, 3 nodes");
    let host = Host::new();
    host.run(&["apply", "--repo", repo.path().to_str().unwrap()]).expect(0);
    let mut nodes: Vec<String> = runtime_nodes(&host).into_values().collect();
    nodes.sort();
    assert_eq!(nodes, ["n1", "n2", "n3"]);
}
