//! apply waits for what it created to be Healthy and stops as soon as progress is impossible
//! (fake runtime: an image named `crash-loop` crash-loops at once).

use crate::support::Host;

fn write(host: &Host, yaml: &str) -> String {
    let dir = host.dir.path().join("manifests");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.yaml"), yaml).unwrap();
    dir.to_str().unwrap().to_string()
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
    let dir = write(&host, CRASHING_POD);
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
    let dir = write(
        &host,
        "apiVersion: apps/v1
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
        image: crash-loop:2
",
    );
    let started = std::time::Instant::now();
    let run = host.run(&["apply", "--yes", "--timeout", "10m", "-f", &dir]).expect(3);
    let line = run.stderr.lines().last().unwrap_or_default();
    assert!(
        line.starts_with("Error: pod default/api-") && line.ends_with(" cannot become healthy: container api: CrashLoopBackOff (exit code 1, 1 restart)"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "it did not wait for --timeout");
}

#[test]
fn a_healthy_pod_and_an_unschedulable_one() {
    let host = Host::new();
    let dir = write(
        &host,
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
    let dir = write(
        &host,
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
