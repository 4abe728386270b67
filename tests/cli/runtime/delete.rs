//! `rekon delete` of a Deployment with real pods: orphan keeps them running and the next
//! apply adopts them; foreground keeps the Deployment, with its finalizer, until they stop.

use super::LinuxHost;
use std::time::{Duration, Instant};

/// Three replicas whose pods take about 2 s to stop (their preStop hook).
fn web(image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: web
        image: {image}
        command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]
        lifecycle:
          preStop:
            exec: {{command: [\"sleep\", \"2\"]}}
"
    )
}

/// The uids of the pods the runtime runs, sorted.
fn running(host: &LinuxHost) -> Vec<String> {
    use rekon::runtime::Runtime;
    let mut rt = host.runtime();
    let mut uids: Vec<String> = rt
        .list_pods()
        .unwrap()
        .into_iter()
        .filter(|uid| {
            rt.pod_status(uid)
                .unwrap()
                .is_some_and(|s| s.phase == rekon::runtime::status::PodPhase::Running)
        })
        .collect();
    uids.sort();
    uids
}

#[test]
fn orphaned_pods_keep_running_and_the_next_apply_adopts_them() {
    let Some(host) = LinuxHost::new() else { return };
    host.image("web:1", None, Some(&["sh"]));
    host.apply(&web("web:1")).expect(0);
    let before = running(&host);
    assert_eq!(before.len(), 3);
    let run = host.run(&["delete", "deployment/web", "--cascade=orphan"]).expect(0);
    assert_eq!(run.stdout, "deployment.apps \"web\" deleted\n");
    assert_eq!(running(&host), before, "the pods keep running");
    let rs = host.run(&["get", "rs", "-o", "json"]).expect(0);
    let rs: serde_json::Value = serde_json::from_str(&rs.stdout).unwrap();
    assert_eq!(rs["items"].as_array().unwrap().len(), 1, "{rs}");
    assert_eq!(rs["items"][0]["metadata"].get("ownerReferences"), None, "{rs}");
    host.apply(&web("web:1")).expect(0);
    assert_eq!(running(&host), before, "adopted: the same pods, no new ones");
    let rs = host.run(&["get", "rs", "-o", "json"]).expect(0);
    let rs: serde_json::Value = serde_json::from_str(&rs.stdout).unwrap();
    assert_eq!(rs["items"][0]["metadata"]["ownerReferences"][0]["name"], "web");
    host.finish();
}

#[test]
fn foreground_keeps_the_deployment_with_its_finalizer_until_the_pods_are_gone() {
    let Some(host) = LinuxHost::new() else { return };
    host.image("web:1", None, Some(&["sh"]));
    host.apply(&web("web:1")).expect(0);
    assert_eq!(running(&host).len(), 3);
    let child = host
        .cmd(&["delete", "deployment/web", "--cascade=foreground"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // While the pods stop, the Deployment is still there, being deleted.
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let run = host.run(&["get", "deploy", "web", "-o", "json"]);
        if run.code == Some(0) {
            let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            if v["metadata"]["finalizers"] == serde_json::json!(["foregroundDeletion"]) {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "the finalizer never showed");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(seen["metadata"]["deletionTimestamp"].is_string(), "{seen}");
    let pods = host.run(&["get", "pods"]).expect(0);
    assert!(pods.stdout.contains(" Terminating "), "{}", pods.stdout);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "deployment.apps \"web\" deleted\n"
    );
    assert_eq!(running(&host), Vec::<String>::new(), "every pod is gone first");
    let run = host.run(&["get", "deploy", "web"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error from server (NotFound): deployments.apps \"web\" not found\n"
    );
    host.remember();
    host.finish();
}

#[test]
fn a_second_delete_with_a_shorter_grace_period_cuts_a_termination_short() {
    let Some(host) = LinuxHost::new() else { return };
    host.image("stubborn:1", None, Some(&["sh"]));
    let pod = "apiVersion: v1
kind: Pod
metadata:
  name: stubborn
spec:
  terminationGracePeriodSeconds: 120
  containers:
  - name: app
    image: stubborn:1
    command: [\"sh\", \"-c\", \"trap '' TERM; while true; do sleep 1; done\"]
";
    host.apply(pod).expect(0);
    assert_eq!(running(&host).len(), 1);
    let run = host.run(&["delete", "pod/stubborn", "--wait=false"]).expect(0);
    assert_eq!(run.stdout, "pod \"stubborn\" deleted\n");
    let pods = host.run(&["get", "pods"]).expect(0);
    assert!(
        pods.stdout.contains("stubborn ") && pods.stdout.contains(" Terminating "),
        "{}",
        pods.stdout
    );
    // It ignores SIGTERM and has 120 s; a second delete with 1 s (2 s at least after the
    // stop signal, as the kubelet) ends it within seconds, not minutes.
    let started = Instant::now();
    let run = host.run(&["delete", "pod/stubborn", "--grace-period=1"]).expect(0);
    assert_eq!(run.stdout, "pod \"stubborn\" deleted\n");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "the second delete took {took:?}");
    assert_eq!(running(&host), Vec::<String>::new());
    let run = host.run(&["get", "pods"]).expect(0);
    assert_eq!(run.stderr, "No resources found in default namespace.\n");
    host.finish();
}

#[test]
fn a_deleted_pods_kubelet_events_are_kept_and_a_new_pod_of_its_name_has_only_its_own() {
    let Some(host) = LinuxHost::new() else { return };
    host.image("quiet:1", None, Some(&["sh"]));
    let pod = "apiVersion: v1
kind: Pod
metadata:
  name: quiet
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: quiet:1
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]
";
    let started = |text: &str| text.lines().filter(|l| l.contains("Started container app")).count();
    host.apply(pod).expect(0);
    host.run(&["delete", "pod/quiet"]).expect(0);
    assert_eq!(running(&host), Vec::<String>::new());
    // The pod and its directory are gone; what its kubelet recorded is in the event log.
    let events = host.run(&["events"]).expect(0);
    assert_eq!(started(&events.stdout), 1, "{}", events.stdout);
    assert!(events.stdout.contains("Stopping container app"), "{}", events.stdout);
    // Git brings it back: a new pod, whose describe shows its own start, not the old one's.
    host.apply(pod).expect(0);
    let describe = host.run(&["describe", "pod", "quiet"]).expect(0);
    assert_eq!(started(&describe.stdout), 1, "{}", describe.stdout);
    let events = host.run(&["events"]).expect(0);
    assert_eq!(
        started(&events.stdout),
        2,
        "both pods' starts are in `events`: {}",
        events.stdout
    );
    host.finish();
}
