//! apply waits for what it created to be Healthy and stops as soon as progress is impossible
//! (fake runtime: an image named `crash-loop` crash-loops at once).

use crate::support::Host;

/// Deployment `api` of two replicas running `image`.
fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  selector:
    matchLabels: {{app: api}}
  template:
    metadata:
      labels: {{app: api}}
    spec:
      containers:
      - name: api
        image: {image}
"
    )
}

const CRASHING_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: crash-loop:1
";

#[test]
fn a_crash_looping_pod_fails_the_apply_naming_pod_container_and_reason() {
    let host = Host::new();
    let dir = host.manifests(CRASHING_POD);
    let run = host.run(&["apply", "--yes", "-f", &dir]).expect(3);
    assert_eq!(
        run.stderr,
        "Error: pod default/web cannot become healthy: container app: CrashLoopBackOff (exit code 1, 1 restart)\n"
    );
    assert!(
        run.stdout
            .ends_with("\nApply complete! Resources: 1 added, 0 changed, 0 destroyed.\n"),
        "{}",
        run.stdout
    );
    // Nothing changed since: a second apply has nothing to wait for.
    host.run(&["apply", "--yes", "-f", &dir]).expect(0);
}

#[test]
fn a_deployment_whose_new_pods_crash_fails_at_once_not_at_the_timeout() {
    let host = Host::new();
    let dir = host.manifests(&deployment("crash-loop:2"));
    let started = std::time::Instant::now();
    let run = host.run(&["apply", "--yes", "--timeout", "10m", "-f", &dir]).expect(3);
    let line = run.stderr.lines().last().unwrap_or_default();
    assert!(
        line.starts_with("Error: pod default/api-")
            && line.ends_with(" cannot become healthy: container api: CrashLoopBackOff (exit code 1, 1 restart)"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "it did not wait for --timeout"
    );
}

#[test]
fn a_healthy_pod_and_an_unschedulable_one() {
    let host = Host::new();
    let dir = host.manifests(
        "apiVersion: v1
kind: Pod
metadata:
  name: ok
spec:
  containers:
  - name: app
    image: busybox:1
",
    );
    let run = host.run(&["apply", "--yes", "-f", &dir]).expect(0);
    assert_eq!(run.stderr, "");
    let dir = host.manifests(
        "apiVersion: v1
kind: Pod
metadata:
  name: big
spec:
  containers:
  - name: app
    image: busybox:1
    resources:
      requests: {cpu: \"100000\"}
",
    );
    let run = host.run(&["apply", "--yes", "-f", &dir]).expect(3);
    assert_eq!(
        run.stderr,
        "Warning: 1 pod could not be scheduled and stays Pending; every apply retries it.\n"
    );
}

/// `rekon status` after an apply and after a commit that is not applied yet, text and JSON.
#[test]
fn status_reports_sync_last_apply_and_health() {
    let repo = crate::support::Repo::new();
    repo.write(
        "app.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: b}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: app, image: \"busybox:1\"}]
",
    );
    let c1 = repo.commit("one");
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    let run = host.run(&["status"]).expect(0);
    assert_eq!(
        run.stdout,
        "Source:     (none)\nRevision:   (none)\nSync:       Unknown (nothing applied yet)\nHealth:     Healthy\nLast apply: (never)\n"
    );
    host.run(&["apply", "--yes", "--repo", url]).expect(0);
    let run = host.run(&["status"]).expect(0);
    let text = mask_time(&run.stdout);
    assert_eq!(
        text,
        format!(
            "Source:     {url}\nRevision:   {}\nSync:       Synced\nHealth:     Healthy\nLast apply: TIME Succeeded (exit 0) in S\n\n\
KIND        NAMESPACE   NAME   HEALTH    REASON\n\
ConfigMap   default     cfg    Healthy\n\
Pod         default     web    Healthy\n",
            &c1[..12]
        )
    );

    repo.write(
        "app.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: c}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: app, image: \"busybox:1\"}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
",
    );
    let c2 = repo.commit("two");
    let run = host.run(&["status", "-o", "json"]).expect(0);
    let mut v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(v["lastApply"]["time"].as_str().unwrap().ends_with('Z'));
    v["lastApply"]["time"] = "TIME".into();
    v["lastApply"]["durationMs"] = 0.into();
    assert_eq!(
        v,
        serde_json::json!({
            "source": url,
            "revision": c1,
            "head": c2,
            "sync": "OutOfSync",
            "syncMessage": format!("1 to add, 1 to change, 0 to destroy; the source's head {} is not applied", &c2[..12]),
            "lastApply": {"time": "TIME", "result": "Succeeded", "exitCode": 0, "durationMs": 0, "revision": c1},
            "health": "Missing",
            "objects": [
                {"kind": "ConfigMap", "namespace": "default", "name": "cfg", "health": "Healthy"},
                {"kind": "Pod", "namespace": "default", "name": "web", "health": "Healthy"},
                {"kind": "Service", "namespace": "default", "name": "web", "health": "Missing", "reason": "in git, not applied"},
            ]
        })
    );
    let run = host.run(&["status", "--offline"]).expect(0);
    assert!(
        run.stdout.contains("\nSync:       Unknown (not fetched (--offline))\n"),
        "{}",
        run.stdout
    );
}

/// Replaces the RFC 3339 time and the duration of the `Last apply:` line.
fn mask_time(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("Last apply: ") {
            Some(rest) => {
                let mut words: Vec<&str> = rest.split(' ').collect();
                words[0] = "TIME";
                let n = words.len();
                words[n - 1] = "S";
                format!("Last apply: {}", words.join(" "))
            }
            None => l.to_string(),
        })
        .map(|l| l + "\n")
        .collect()
}

/// `get -o json` as scripts written for kubectl read it: metadata filled in as the API server
/// does, owner references that carry the owner's uid, and each kind's status.
#[test]
fn get_json_has_api_metadata_owner_uids_and_status() {
    let host = Host::new();
    let dir = host.manifests(&deployment("busybox:1"));
    host.run(&["apply", "--yes", "-f", &dir]).expect(0);
    let json = |args: &[&str]| -> serde_json::Value { serde_json::from_str(&host.run(args).expect(0).stdout).unwrap() };
    let d = json(&["get", "deploy", "api", "-o", "json"]);
    let meta = &d["metadata"];
    assert!(meta["creationTimestamp"].as_str().unwrap().ends_with('Z'), "{meta}");
    assert_eq!(meta["generation"], 1);
    assert!(
        meta["resourceVersion"].as_str().unwrap().parse::<u64>().is_ok(),
        "{meta}"
    );
    let mut status = d["status"].clone();
    for c in status["conditions"].as_array_mut().unwrap() {
        c["lastUpdateTime"] = "T".into();
        c["lastTransitionTime"] = "T".into();
    }
    let rs = json(&["get", "rs", "-o", "json"]);
    let rs = &rs["items"][0];
    let rs_name = rs["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        status,
        serde_json::json!({
            "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.", "lastUpdateTime": "T", "lastTransitionTime": "T"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": format!("ReplicaSet \"{rs_name}\" has successfully progressed."), "lastUpdateTime": "T", "lastTransitionTime": "T"},
            ]
        })
    );
    assert_eq!(
        rs["metadata"]["ownerReferences"],
        serde_json::json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "controller": true,
            "blockOwnerDeletion": true, "uid": meta["uid"]}])
    );
    assert_eq!(
        rs["status"],
        serde_json::json!({"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 2, "observedGeneration": 1})
    );
    let pods = json(&["get", "pods", "-o", "json"]);
    for pod in pods["items"].as_array().unwrap() {
        assert_eq!(
            pod["metadata"]["ownerReferences"][0]["uid"], rs["metadata"]["uid"],
            "{pod}"
        );
        assert_eq!(pod["status"]["phase"], "Running");
    }
}

/// A rollout that replaces crash-looping pods is not stopped by them: only the new
/// ReplicaSet's pods can make apply give up.
#[test]
fn a_fix_rolls_out_over_crash_looping_pods() {
    let host = Host::new();
    let dir = host.manifests(&deployment("crash-loop:1"));
    host.run(&["apply", "--yes", "-f", &dir]).expect(3);
    let dir = host.manifests(&deployment("busybox:2"));
    let run = host.run(&["apply", "--yes", "-f", &dir]).expect(0);
    assert!(
        run.stdout
            .ends_with("deployment/api: deployment \"api\" successfully rolled out\n"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr, "");
}
