//! `rekon delete` of every kind, with kubectl's cascade: against the fake runtime, whose pods
//! stop at once (the real pods' termination is in runtime/rollout.rs and runtime/acceptance.rs).

use crate::support::Host;

const APP: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: web
    image: busybox:1.36
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: busybox:1.36
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels: {app: web}
data: {a: b}
";

fn applied() -> Host {
    let host = Host::new();
    let dir = host.manifests(APP);
    host.run(&["apply", "-f", &dir]).expect(0);
    host
}

/// The uids of the fake runtime's pods whose name starts with `prefix`.
fn uids(host: &Host, prefix: &str) -> Vec<String> {
    host.fake_pods()
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(_, uid)| uid)
        .collect()
}

/// The `# ...` headlines of `plan`.
fn headlines(host: &Host) -> Vec<String> {
    let run = host.run(&["plan"]).expect(0);
    run.stdout
        .lines()
        .filter(|l| l.starts_with("  # "))
        .map(str::to_string)
        .collect()
}

#[test]
fn orphan_keeps_the_replica_set_and_pods_and_the_next_apply_adopts_them() {
    let host = applied();
    let pods = uids(&host, "default/api-");
    assert_eq!(pods.len(), 2);
    let rs_name = host.state()["replica_sets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let run = host.run(&["delete", "deployment/api", "--cascade=orphan"]).expect(0);
    assert_eq!(run.stdout, "deployment.apps \"api\" deleted\n");
    assert_eq!(uids(&host, "default/api-"), pods, "the pods keep running");
    let run = host.run(&["get", "deploy"]).expect(0);
    assert_eq!(run.stderr, "No resources found in default namespace.\n");
    let rs = host.run(&["get", "rs", &rs_name, "-o", "json"]).expect(0);
    let rs: serde_json::Value = serde_json::from_str(&rs.stdout).unwrap();
    assert_eq!(rs["metadata"].get("ownerReferences"), None, "{rs}");
    assert_eq!(rs["status"]["replicas"], 2);

    let plan = host.run(&["plan"]).expect(0);
    assert!(
        plan.stdout
            .contains("  # Deployment default/api was deleted outside git and will be created\n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!(
            "      note: adopts the orphaned ReplicaSet {rs_name} and its 2 pods\n"
        )),
        "{}",
        plan.stdout
    );
    host.run(&["apply"]).expect(0);
    assert_eq!(uids(&host, "default/api-"), pods, "adopted: no new pods");
    let rs = host.run(&["get", "rs", &rs_name, "-o", "json"]).expect(0);
    let rs: serde_json::Value = serde_json::from_str(&rs.stdout).unwrap();
    assert_eq!(rs["metadata"]["ownerReferences"][0]["name"], "api", "{rs}");
    assert_eq!(
        host.state().get("deleted"),
        None,
        "the deletion is forgotten once healed"
    );
    assert_eq!(headlines(&host), Vec::<String>::new());
}

#[test]
fn orphaning_the_replica_set_too_leaves_the_pods_running_ownerless_until_a_replica_set_adopts_them() {
    let host = applied();
    let pods = uids(&host, "default/api-");
    host.run(&["delete", "deployment/api", "--cascade=orphan"]).expect(0);
    let rs_name = host.state()["replica_sets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let run = host
        .run(&["delete", &format!("rs/{rs_name}"), "--cascade=orphan"])
        .expect(0);
    assert_eq!(run.stdout, format!("replicaset.apps \"{rs_name}\" deleted\n"));
    assert_eq!(uids(&host, "default/api-"), pods, "the pods keep running");
    let run = host.run(&["get", "rs"]).expect(0);
    assert_eq!(run.stderr, "No resources found in default namespace.\n");
    let listed = host.run(&["get", "pods", "-l", "app=api", "-o", "json"]).expect(0);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{listed}");
    for pod in items {
        assert_eq!(pod["metadata"].get("ownerReferences"), None, "{pod}");
        assert_eq!(
            pod["metadata"]["labels"]["pod-template-hash"],
            rs_name.rsplit('-').next().unwrap()
        );
        assert_eq!(pod["status"]["phase"], "Running", "{pod}");
    }
    let first = items[0]["metadata"]["name"].as_str().unwrap().to_string();
    let describe = host.run(&["describe", &format!("pod/{first}")]).expect(0).stdout;
    assert!(!describe.contains("Controlled By:"), "{describe}");

    let plan = host.run(&["plan"]).expect(0);
    assert!(
        plan.stdout
            .contains("  # Deployment default/api was deleted outside git and will be created\n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!(
            "      note: first step: create ReplicaSet {rs_name} with 2 replicas\n      note: first step: adopt 2 orphaned pods\n"
        )),
        "{}",
        plan.stdout
    );
    host.run(&["apply"]).expect(0);
    assert_eq!(uids(&host, "default/api-"), pods, "adopted: no new pods");
    let listed = host.run(&["get", "pods", "-l", "app=api", "-o", "json"]).expect(0);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    for pod in listed["items"].as_array().unwrap() {
        assert_eq!(pod["metadata"]["ownerReferences"][0]["name"], rs_name.as_str(), "{pod}");
    }
    let describe = host.run(&["describe", &format!("pod/{first}")]).expect(0).stdout;
    assert!(
        describe.contains(&format!("\nControlled By:  ReplicaSet/{rs_name}\nContainers:\n")),
        "{describe}"
    );
    let state = host.state();
    for pod in state["pods"].as_object().unwrap().values() {
        assert_eq!(pod.get("orphaned"), None, "{pod}");
    }
    assert_eq!(headlines(&host), Vec::<String>::new());
}

#[test]
fn deleting_the_namespace_takes_its_orphans_too() {
    let host = Host::new();
    let team = APP
        .replace(
            "kind: Deployment\nmetadata:\n",
            "kind: Deployment\nmetadata:\n  namespace: team\n",
        )
        .replace("kind: Pod\nmetadata:\n", "kind: Pod\nmetadata:\n  namespace: team\n");
    let dir = host.manifests(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n---\n{team}"
    ));
    host.run(&["apply", "-f", &dir]).expect(0);
    host.run(&["delete", "deployment/api", "-n", "team", "--cascade=orphan"])
        .expect(0);
    let rs = host.state()["replica_sets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    host.run(&["delete", "rs", &rs, "-n", "team", "--cascade=orphan"])
        .expect(0);
    assert_eq!(uids(&host, "team/api-").len(), 2);
    let run = host.run(&["delete", "namespace/team"]).expect(0);
    assert_eq!(run.stdout, "namespace \"team\" deleted\n");
    assert_eq!(uids(&host, "team/"), Vec::<String>::new());
    assert_eq!(host.state()["pods"], serde_json::json!({}));
}

#[test]
fn foreground_without_waiting_leaves_the_owner_being_deleted_for_the_next_apply_to_finish() {
    let host = applied();
    let run = host
        .run(&["delete", "deployment/api", "--cascade=foreground", "--wait=false"])
        .expect(0);
    assert_eq!(run.stdout, "deployment.apps \"api\" deleted\n");
    let dep = host.run(&["get", "deploy", "api", "-o", "json"]).expect(0);
    let dep: serde_json::Value = serde_json::from_str(&dep.stdout).unwrap();
    assert_eq!(
        dep["metadata"]["finalizers"],
        serde_json::json!(["foregroundDeletion"]),
        "{dep}"
    );
    assert!(dep["metadata"]["deletionTimestamp"].is_string(), "{dep}");
    let state = host.state();
    let pods: Vec<&serde_json::Value> = state["pods"]
        .as_object()
        .unwrap()
        .values()
        .filter(|p| p["name"] != "web")
        .collect();
    assert_eq!(pods.len(), 2);
    assert!(
        pods.iter().all(|p| p["deletion_timestamp"].is_string()),
        "its pods terminate: {pods:?}"
    );
    // The next apply reaps the pods, and the garbage collector then removes the Deployment;
    // being deleted, it got no new pods meanwhile.
    host.run(&["apply"]).expect(0);
    assert_eq!(uids(&host, "default/api-"), Vec::<String>::new());
    host.run(&["get", "deployment", "api"]).expect(1);
    assert_eq!(
        headlines(&host),
        ["  # Deployment default/api was deleted outside git and will be created"]
    );
    host.run(&["apply"]).expect(0);
    assert_eq!(uids(&host, "default/api-").len(), 2);
}

#[test]
fn background_deletes_the_replica_sets_and_pods_and_git_brings_them_back() {
    let host = applied();
    let old = uids(&host, "default/api-");
    let run = host.run(&["delete", "deploy", "api"]).expect(0);
    assert_eq!(run.stdout, "deployment.apps \"api\" deleted\n");
    assert_eq!(uids(&host, "default/api-"), Vec::<String>::new());
    let run = host.run(&["get", "deployment", "api"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error from server (NotFound): deployments.apps \"api\" not found\n"
    );
    let state = host.state();
    assert_eq!(state["replica_sets"], serde_json::json!({}));
    assert!(state["pods"].as_object().unwrap().values().all(|p| p["name"] == "web"));
    assert_eq!(
        headlines(&host),
        ["  # Deployment default/api was deleted outside git and will be created"]
    );
    host.run(&["apply"]).expect(0);
    let new = uids(&host, "default/api-");
    assert_eq!(new.len(), 2);
    assert!(new.iter().all(|u| !old.contains(u)));
}

#[test]
fn pods_selectors_all_and_other_kinds() {
    let host = applied();
    // A controller's pod: the ReplicaSet replaces it on the next apply.
    let api = host
        .fake_pods()
        .into_iter()
        .find(|(n, _)| n.starts_with("default/api-"))
        .unwrap();
    let name = api.0.trim_start_matches("default/").to_string();
    let run = host.run(&["delete", "pod", &name]).expect(0);
    assert_eq!(run.stdout, format!("pod {name:?} deleted\n"));
    assert_eq!(uids(&host, "default/api-").len(), 1);
    assert_eq!(
        headlines(&host),
        [
            "  # Deployment default/api will be updated in-place",
            "  # (because 1 of its pods is missing on the host)"
        ],
        "a controller's pod is not git's: its Deployment replaces it"
    );

    // -l matches the labels of the kind named, in the namespace.
    let run = host.run(&["delete", "pods,cm", "-l", "app=web"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error: the server doesn't have a resource type \"pods,cm\"\n"
    );
    let run = host.run(&["delete", "pods", "-l", "app=web"]).expect(0);
    assert_eq!(run.stdout, "pod \"web\" deleted\n");
    let run = host.run(&["delete", "cm", "-l", "app=web"]).expect(0);
    assert_eq!(run.stdout, "configmap \"cfg\" deleted\n");
    let run = host.run(&["delete", "cm", "-l", "app=web"]).expect(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", "No resources found\n"));
    let run = host.run(&["delete", "pods", "--all", "-n", "other"]).expect(0);
    assert_eq!(run.stderr, "No resources found\n");

    let mut expected = vec![
        "  # (because 1 of its pods is missing on the host)".to_string(),
        "  # Deployment default/api will be updated in-place".to_string(),
        "  # ConfigMap default/cfg was deleted outside git and will be created".to_string(),
        format!(
            "  # Pod default/web was deleted outside git and will be created on node {}",
            rekon::runtime::host::hostname()
        ),
    ];
    let mut got = headlines(&host);
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    let run = host.run(&["delete", "pod/nope", "deployment/x", "cm/cfg"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error from server (NotFound): pods \"nope\" not found\nError from server (NotFound): deployments.apps \"x\" not found\nError from server (NotFound): configmaps \"cfg\" not found\n"
    );
    host.run(&["delete", "pod/nope", "--ignore-not-found"]).expect(0);
    let run = host.run(&["delete", "widget/x"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error: the server doesn't have a resource type \"widget\"\n"
    );
    let run = host.run(&["delete", "pod"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error: resource(s) were provided, but no name was specified: use pod/NAME, -l SELECTOR or --all\n"
    );
}

#[test]
fn force_with_grace_period_zero_removes_at_once() {
    let host = applied();
    let run = host
        .run(&["delete", "pod/web", "--force", "--grace-period=0"])
        .expect(0);
    assert_eq!(run.stdout, "pod \"web\" force deleted\n");
    assert_eq!(
        run.stderr,
        "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n"
    );
    assert!(
        host.state()["pods"]
            .as_object()
            .unwrap()
            .values()
            .all(|p| p["name"] != "web")
    );
}

#[test]
fn deleting_a_namespace_deletes_what_is_in_it() {
    let host = Host::new();
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n".to_string()
        + &APP.replace("metadata:\n  name:", "metadata:\n  namespace: shop\n  name:");
    let dir = host.manifests(&yaml);
    host.run(&["apply", "-f", &dir]).expect(0);
    assert_eq!(uids(&host, "shop/").len(), 3);
    let run = host.run(&["delete", "ns/shop"]).expect(0);
    assert_eq!(run.stdout, "namespace \"shop\" deleted\n");
    assert_eq!(host.fake_pods(), Vec::<(String, String)>::new());
    let state = host.state();
    assert_eq!(state["objects"], serde_json::json!({}));
    assert_eq!(state["deleted"].as_object().unwrap().len(), 4, "{}", state["deleted"]);
}
