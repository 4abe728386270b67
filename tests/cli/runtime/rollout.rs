//! Rolling updates with real pods: readiness probes gate the rollout, and the surge and
//! unavailability bounds hold at every moment, sampled every 100 ms.

use super::LinuxHost;
use rekon::runtime::Runtime;
use rekon::runtime::supervisor::DELETE_GRACE_FILE;
use std::time::Duration;

fn deployment(image: &str, replicas: u32, surge: u32, unavailable: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  strategy:
    rollingUpdate: {{maxSurge: {surge}, maxUnavailable: {unavailable}}}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: {image}
        command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 2; touch /tmp/ready; sleep 3600 & wait\"]
        readinessProbe:
          exec: {{command: [\"test\", \"-f\", \"/tmp/ready\"]}}
          periodSeconds: 1
"
    )
}

/// (ready, non-terminating) pods on the host now.
fn sample(host: &LinuxHost) -> (usize, usize) {
    let (ready, live, _) = sample_all(host);
    (ready, live)
}

/// (ready, non-terminating, terminating) pods on the host now.
fn sample_all(host: &LinuxHost) -> (usize, usize, usize) {
    let mut rt = host.runtime();
    let (mut ready, mut live, mut terminating) = (0, 0, 0);
    for uid in rt.list_pods().unwrap() {
        if host.pod_dir(&uid).join(DELETE_GRACE_FILE).exists() {
            terminating += 1;
            continue;
        }
        let Ok(Some(status)) = rt.pod_status(&uid) else {
            continue;
        };
        live += 1;
        if status.is_ready() {
            ready += 1;
        }
    }
    (ready, live, terminating)
}

/// Applies `yaml` in a child process and samples the pods every 100 ms until it exits;
/// returns the fewest ready and the most non-terminating pods seen.
fn apply_sampling(host: &LinuxHost, yaml: &str) -> (usize, usize) {
    let (min_ready, max_live, _) = apply_sampling_all(host, yaml);
    (min_ready, max_live)
}

/// As [`apply_sampling`], with the most terminating pods seen at once.
fn apply_sampling_all(host: &LinuxHost, yaml: &str) -> (usize, usize, usize) {
    let dir = host.dir.path().join("manifests");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pods.yaml"), yaml).unwrap();
    let mut child = host
        .cmd(&["apply", "--yes", "--timeout", "60s", "-f", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (mut min_ready, mut max_live, mut max_terminating) = (usize::MAX, 0, 0);
    loop {
        let done = child.try_wait().unwrap();
        let (ready, live, terminating) = sample_all(host);
        min_ready = min_ready.min(ready);
        max_live = max_live.max(live);
        max_terminating = max_terminating.max(terminating);
        if let Some(status) = done {
            assert!(status.success(), "apply failed: {status}");
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    host.remember();
    (min_ready, max_live, max_terminating)
}

#[test]
fn a_rolling_update_keeps_three_ready_and_at_most_four_pods() {
    let Some(host) = LinuxHost::new() else { return };
    host.image("web:1", None, Some(&["sh"]));
    host.image("web:2", None, Some(&["sh"]));
    host.apply(&deployment("web:1", 3, 1, 0)).expect(0);
    assert_eq!(sample(&host), (3, 3), "apply returns once the rollout is done");
    let (min_ready, max_live) = apply_sampling(&host, &deployment("web:2", 3, 1, 0));
    assert!(min_ready >= 3, "ready pods dropped to {min_ready}");
    assert!(max_live <= 4, "{max_live} pods at once");
    let run = host.run(&["get", "rs"]).expect(0);
    let mut counts: Vec<String> = run
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect();
    counts.sort();
    assert_eq!(counts, ["0", "3"], "{}", run.stdout);
    let run = host.run(&["rollout", "history", "deployment/web"]).expect(0);
    assert!(
        run.stdout.ends_with("1         <none>\n2         <none>\n"),
        "{}",
        run.stdout
    );
    host.finish();
}

#[test]
fn max_unavailable_one_without_surge_never_exceeds_four_pods() {
    let Some(host) = LinuxHost::new() else { return };
    host.image("web:1", None, Some(&["sh"]));
    host.image("web:2", None, Some(&["sh"]));
    host.apply(&deployment("web:1", 4, 0, 1)).expect(0);
    let (min_ready, max_live) = apply_sampling(&host, &deployment("web:2", 4, 0, 1));
    assert!(min_ready >= 3, "ready pods dropped to {min_ready}");
    assert!(max_live <= 4, "{max_live} pods at once");
    host.finish();
}

#[test]
fn a_never_ready_image_stops_at_the_progress_deadline_and_old_pods_keep_serving() {
    let Some(host) = LinuxHost::new() else { return };
    host.image("web:1", None, Some(&["sh"]));
    host.image("web:2", None, Some(&["sh"]));
    let with_deadline =
        |yaml: String| yaml.replace("  replicas: 3\n", "  replicas: 3\n  progressDeadlineSeconds: 10\n");
    host.apply(&with_deadline(deployment("web:1", 3, 1, 0))).expect(0);
    // web:2 never gets ready: its readiness probe looks for a file nobody writes.
    let broken = with_deadline(deployment("web:2", 3, 1, 0))
        .replace("test\", \"-f\", \"/tmp/ready", "test\", \"-f\", \"/nowhere");
    let run = host.apply(&broken).expect(3);
    assert!(
        run.stderr
            .contains("deployment/web did not converge: deployment \"web\" exceeded its progress deadline"),
        "{}",
        run.stderr
    );
    assert_eq!(
        sample(&host),
        (3, 4),
        "the 3 old pods keep serving next to the 1 new one"
    );
    let run = host.run(&["rollout", "status", "deployment/web"]).expect(1);
    assert_eq!(run.stderr, "Error: deployment \"web\" exceeded its progress deadline\n");
    let run = host.run(&["describe", "deployment/web"]).expect(0);
    assert!(
        run.stdout
            .contains("  Progressing    False   ProgressDeadlineExceeded\n"),
        "{}",
        run.stdout
    );
    host.finish();
}

#[test]
fn old_pods_with_a_slow_pre_stop_terminate_together_while_replacements_start() {
    let Some(host) = LinuxHost::new() else { return };
    host.image("web:1", None, Some(&["sh"]));
    host.image("web:2", None, Some(&["sh"]));
    // Each old pod takes 10 s to stop (its preStop hook) out of a 30 s grace period: one
    // after the other, four of them would take 40 s.
    let slow = |image: &str| {
        deployment(image, 4, 1, 1)
            .replace("maxSurge: 1, maxUnavailable: 1", "maxSurge: 25%, maxUnavailable: 25%")
            .replace("terminationGracePeriodSeconds: 2", "terminationGracePeriodSeconds: 30")
            .replace(
                "        readinessProbe:",
                "        lifecycle:\n          preStop:\n            exec: {command: [\"sleep\", \"10\"]}\n        readinessProbe:",
            )
    };
    host.apply(&slow("web:1")).expect(0);
    let started = std::time::Instant::now();
    let (min_ready, max_live, max_terminating) = apply_sampling_all(&host, &slow("web:2"));
    let took = started.elapsed();
    eprintln!("rollout took {took:?}, {max_terminating} terminating at once");
    assert!(
        max_terminating >= 2,
        "at most {max_terminating} old pods were terminating at once"
    );
    assert!(min_ready >= 3, "ready pods dropped to {min_ready}");
    assert!(max_live <= 5, "{max_live} pods at once");
    assert!(took < Duration::from_secs(30), "the rollout took {took:?}");
    assert_eq!(sample_all(&host), (4, 4, 0), "apply returns once the old pods are gone");
    let run = host.run(&["get", "pods"]).expect(0);
    let statuses: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(statuses, ["Running"; 4], "{}", run.stdout);
    host.finish();
}
