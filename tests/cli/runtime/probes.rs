//! Health probes in real pods (`spec/k8s-semantics.md` §2): an exec liveness probe that
//! restarts its container, httpGet and tcpSocket probes that reach busybox `httpd` through the
//! pod's own network namespace, and a failing startup probe; each with 1 s periods so the
//! tests stay short.

use super::{LinuxHost, eventually, get_pods, row};
use rekon::runtime::status::PodPhase;

/// A one-container pod running `command` in busybox, with `probes` (YAML indented 4 spaces)
/// appended to the container.
fn pod(name: &str, command: &str, probes: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: busybox\n    command: [\"sh\", \"-c\", {command:?}]\n    ports:\n    - name: http\n      containerPort: 8080\n{probes}"
    )
}

/// Serves /tmp (holding index.html) on port 8080 inside the pod.
const HTTPD: &str = "echo ok > /tmp/index.html; exec /bin/busybox httpd -f -p 8080 -h /tmp";

fn describe(host: &LinuxHost, name: &str) -> String {
    host.run(&["describe", &format!("pod/{name}")]).expect(0).stdout
}

/// READY and RESTARTS of `name` in `get pods`.
fn ready_and_restarts(host: &LinuxHost, name: &str) -> (String, u32) {
    let r = row(&get_pods(host), name);
    (r[1].clone(), r[3].parse().unwrap())
}

#[test]
fn exec_probes_run_in_the_container_and_a_failing_liveness_probe_restarts_it() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let probes = "    livenessProbe:\n      exec:\n        command: [\"sh\", \"-c\", \"echo unhealthy; exit 1\"]\n      periodSeconds: 1\n      failureThreshold: 3\n";
    let slow = "    livenessProbe:\n      exec:\n        command: [\"sleep\", \"30\"]\n      timeoutSeconds: 1\n      periodSeconds: 1\n      failureThreshold: 1\n";
    // The probe reads the container's own filesystem, where the file appears after 2 s.
    let gated = "    readinessProbe:\n      exec:\n        command: [\"cat\", \"/tmp/rekon-probe-ready\"]\n      periodSeconds: 1\n";
    let yaml = [
        pod("sick", "sleep 3600", probes),
        pod("slow", "sleep 3600", slow),
        pod("gated", "sleep 2; touch /tmp/rekon-probe-ready; exec sleep 3600", gated),
    ]
    .join("---\n");
    host.apply_no_wait(&yaml).expect(0);
    let restarts = eventually(30, "a restart by the liveness probe", || {
        let (_, restarts) = ready_and_restarts(&host, "sick");
        (restarts >= 1).then_some(restarts)
    });
    assert!(restarts >= 1);
    let text = describe(&host, "sick");
    let events = super::describe_events(&text);
    let has = |row: [&str; 4]| events.iter().any(|e| e.iter().map(String::as_str).eq(row));
    assert!(
        has(["Warning", "Unhealthy", "kubelet", "Liveness probe failed: unhealthy"]),
        "{text}"
    );
    assert!(
        has([
            "Normal",
            "Killing",
            "kubelet",
            "Container main failed liveness probe, will be restarted"
        ]),
        "{text}"
    );
    // A probe that outlives timeoutSeconds is killed and counts as a failure.
    let status = host.wait_for("slow", 30, |s| s.restarts() >= 1);
    assert_eq!(status.container_statuses[0].restart_count, status.restarts());
    assert!(describe(&host, "slow").contains("  Liveness probe failed: command \"sleep 30\" timed out\n"));
    let status = host.wait_for("gated", 30, |s| s.is_ready());
    assert_eq!(status.restarts(), 0);
    let text = describe(&host, "gated");
    assert!(
        text.contains(
            "  Readiness probe failed: cat: can't open '/tmp/rekon-probe-ready': No such file or directory\n"
        ),
        "{text}"
    );
    host.finish();
}

#[test]
fn http_readiness_probes_go_through_the_pod_network_namespace() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let ok = "    readinessProbe:\n      httpGet:\n        path: /index.html\n        port: http\n        httpHeaders:\n        - name: X-Probe\n          value: rekon\n      periodSeconds: 1\n";
    let missing = "    readinessProbe:\n      httpGet:\n        path: /missing\n        port: 8080\n      periodSeconds: 1\n      failureThreshold: 1\n";
    let yaml = format!("{}---\n{}", pod("web-ok", HTTPD, ok), pod("web-404", HTTPD, missing));
    host.apply_no_wait(&yaml).expect(0);
    let status = host.wait_for("web-ok", 30, |s| s.is_ready());
    assert!(status.container_statuses[0].ready && status.container_statuses[0].started);
    assert_eq!(ready_and_restarts(&host, "web-ok"), ("1/1".to_string(), 0));
    // The 404 pod runs but never becomes ready, and readiness failures do not restart it.
    let text = eventually(30, "a readiness failure event", || {
        let text = describe(&host, "web-404");
        text.contains("Readiness probe failed: HTTP probe failed with statuscode: 404")
            .then_some(text)
    });
    assert!(!text.contains("Killing"), "{text}");
    let status = host.status(&host.uid("web-404")).unwrap();
    assert_eq!(status.phase, PodPhase::Running);
    assert!(!status.is_ready());
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(
        (ready.reason.as_deref(), ready.message.as_deref()),
        (
            Some("ContainersNotReady"),
            Some("containers with unready status: [main]")
        )
    );
    assert_eq!(ready_and_restarts(&host, "web-404"), ("0/1".to_string(), 0));
    host.finish();
}

#[test]
fn tcp_probes_gate_readiness_and_a_failing_startup_probe_restarts() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let open = "    readinessProbe:\n      tcpSocket:\n        port: 8080\n      periodSeconds: 1\n";
    let closed = "    startupProbe:\n      tcpSocket:\n        port: 9\n      periodSeconds: 1\n      failureThreshold: 2\n    readinessProbe:\n      tcpSocket:\n        port: 8080\n      periodSeconds: 1\n";
    let yaml = format!(
        "{}---\n{}",
        pod("tcp-ok", HTTPD, open),
        pod("tcp-closed", HTTPD, closed)
    );
    host.apply_no_wait(&yaml).expect(0);
    host.wait_for("tcp-ok", 30, |s| s.is_ready());
    assert_eq!(ready_and_restarts(&host, "tcp-ok").0, "1/1");
    // The startup probe never passes: the container is never started nor ready, and it is
    // killed and restarted.
    let status = host.wait_for("tcp-closed", 30, |s| s.restarts() >= 1);
    let c = &status.container_statuses[0];
    assert!(!c.started && !c.ready, "{c:?}");
    let text = describe(&host, "tcp-closed");
    assert!(
        text.contains("Startup probe failed: dial tcp 127.0.0.1:9: connect: connection refused\n"),
        "{text}"
    );
    assert!(
        text.contains("Container main failed startup probe, will be restarted"),
        "{text}"
    );
    host.finish();
}

#[test]
fn https_probes_are_rejected_by_validate() {
    let dir = tempfile::tempdir().unwrap();
    let probes = "    readinessProbe:\n      httpGet:\n        port: 8443\n        scheme: HTTPS\n";
    std::fs::write(dir.path().join("pod.yaml"), pod("tls", "sleep 1", probes)).unwrap();
    let run = super::super::support::Run::from(
        std::process::Command::new(env!("CARGO_BIN_EXE_rekon"))
            .args(["validate", "-f", "pod.yaml"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    );
    let out = run.expect(1);
    assert!(
        out.stderr.contains(
            "pod.yaml:17:17: spec.containers[0].readinessProbe.httpGet.scheme: not supported by rekon: HTTPS probes are not implemented: use scheme HTTP"
        ),
        "{}",
        out.stderr
    );
}
