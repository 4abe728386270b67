//! git → plan → apply → state, end to end with the fake runtime.

use crate::support::{Host, Repo, Run, wait_for};

const CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  greeting: hello
";

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: web
    image: busybox:latest
    command: [\"httpd\", \"-f\"]
";

const DEPLOY: &str = "apiVersion: apps/v1
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
";

fn repo_with_three() -> (Repo, String) {
    let repo = Repo::new();
    repo.write("config.yaml", CONFIG);
    repo.write("pod.yaml", POD);
    repo.write("apps/deploy.yaml", DEPLOY);
    let c = repo.commit("three objects");
    (repo, c)
}

#[test]
fn plan_apply_plan_then_change_and_delete() {
    let (repo, c1) = repo_with_three();
    let host = Host::new();
    let url = repo.path().to_str().unwrap();

    let run = host.run(&["plan", "--repo", url, "--detailed-exitcode"]).expect(2);
    assert!(
        run.stdout.contains("Plan: 3 to add, 0 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&c1[..7]),
        "the plan names the commit: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  # Pod default/web will be created"),
        "{}",
        run.stdout
    );
    assert!(!host.state_dir().join("state.json").exists(), "plan changes nothing");

    let run = host.run(&["apply", "--repo", url]).expect(0);
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{}",
        run.stdout
    );
    assert_eq!(
        host.fake_pods().len(),
        3,
        "the bare Pod and the Deployment's 2 replicas run"
    );
    assert_eq!(host.state()["revision"], c1.as_str());
    // One audit line per plan/apply: commit, counts, duration, exit code.
    let events = std::fs::read_to_string(host.state_dir().join("events.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = events.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<_> = lines.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    // Between them, the controllers' and the scheduler's events, as Kubernetes records them.
    assert_eq!((kinds[0], kinds[kinds.len() - 1]), ("plan", "apply"), "{kinds:?}");
    let messages: Vec<&str> = lines.iter().filter_map(|e| e["message"].as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Successfully assigned default/web to ")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Scaled up replica set api-") && m.ends_with(" to 2")),
        "{messages:?}"
    );
    let apply = &lines[lines.len() - 1];
    assert_eq!(
        (
            apply["revision"].as_str(),
            apply["add"].as_u64(),
            apply["exit_code"].as_i64()
        ),
        (Some(c1.as_str()), Some(3), Some(0))
    );
    assert!(apply["duration_ms"].is_u64() && apply["time"].is_string(), "{apply}");

    // The source is remembered: a bare plan (as cron runs it) needs no flags.
    let run = host.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(
        run.stdout.contains("No changes. Your host matches the configuration."),
        "{}",
        run.stdout
    );

    repo.write("config.yaml", &CONFIG.replace("hello", "bonjour"));
    repo.remove("pod.yaml");
    let c2 = repo.commit("change and delete");
    let run = host.run(&["plan", "--detailed-exitcode"]).expect(2);
    let out = &run.stdout;
    assert!(out.contains("Plan: 0 to add, 1 to change, 1 to destroy."), "{out}");
    assert!(
        out.contains("  # ConfigMap default/app-config will be updated in-place"),
        "{out}"
    );
    assert!(
        out.contains("      -   greeting: hello\n      +   greeting: bonjour\n"),
        "{out}"
    );
    assert!(
        out.contains("  # Pod default/web will be destroyed\n  # (because it is not in git any more)\n"),
        "{out}"
    );
    assert!(
        !out.contains("Deployment default/api"),
        "unchanged objects are not in the plan: {out}"
    );
    assert!(out.contains(&c2[..7]), "{out}");

    host.run(&["apply"]).expect(0);
    let left: Vec<String> = host.fake_pods().into_iter().map(|(name, _)| name).collect();
    assert_eq!(left.len(), 2, "the pruned Pod is gone, the Deployment's stay: {left:?}");
    assert!(left.iter().all(|n| n.starts_with("default/api-")), "{left:?}");
    host.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn json_plan_has_a_versioned_schema_and_counts() {
    let (repo, c1) = repo_with_three();
    let host = Host::new();
    let run = host
        .run(&["plan", "--repo", repo.path().to_str().unwrap(), "-o", "json"])
        .expect(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["format_version"], "1.1");
    assert_eq!(v["source"]["revision"], c1.as_str());
    assert_eq!(
        v["change_summary"],
        serde_json::json!({"add": 3, "change": 0, "remove": 0})
    );
    let pod = v["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "Pod")
        .unwrap();
    assert_eq!(pod["actions"], serde_json::json!(["create"]));
    assert_eq!(pod["origin"], "pod.yaml:1");
}

#[test]
fn saved_plan_applies_exactly_and_is_refused_when_stale() {
    let (repo, _) = repo_with_three();
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    let plan_file = host.dir.path().join("web.plan");
    host.run(&["plan", "--repo", url, "--out", plan_file.to_str().unwrap()])
        .expect(0);
    let plan_b = host.dir.path().join("b.plan");
    host.run(&["plan", "--repo", url, "--out", plan_b.to_str().unwrap()])
        .expect(0);

    let run = host.run(&["apply", plan_file.to_str().unwrap()]).expect(0);
    assert!(run.stdout.contains("3 added"), "{}", run.stdout);
    let state_before = host.state();

    // b.plan was made against serial 0; the state has moved on since.
    let run = host.run(&["apply", plan_b.to_str().unwrap()]).expect(1);
    assert!(run.stderr.starts_with("Error: saved plan is stale\n"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the state was changed by another operation after the plan was created"),
        "{}",
        run.stderr
    );
    assert_eq!(host.state(), state_before, "a refused plan changes nothing");
}

#[test]
fn second_apply_waits_for_the_lock_then_exits_4() {
    let (repo, _) = repo_with_three();
    let host = Host::new();
    host.run(&["plan", "--repo", repo.path().to_str().unwrap()]).expect(0);
    // Hold the lock as a concurrent apply would (flock on the same file).
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(host.state_dir().join("rekon.lock"))
        .unwrap();
    lock.lock().unwrap();
    let started = std::time::Instant::now();
    let run = host
        .run(&["apply", "--repo", repo.path().to_str().unwrap(), "--lock-timeout", "1s"])
        .expect(4);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "it waited for --lock-timeout"
    );
    assert!(run.stderr.contains("error acquiring the state lock"), "{}", run.stderr);
    assert!(!host.state_dir().join("state.json").exists(), "nothing was applied");
    lock.unlock().unwrap();
    host.run(&["apply", "--lock-timeout", "1s", "--repo", repo.path().to_str().unwrap()])
        .expect(0);
}

#[test]
fn killed_apply_is_finished_by_the_next_without_duplicates() {
    let repo = Repo::new();
    for i in 0..4 {
        repo.write(
            &format!("pod{i}.yaml"),
            &POD.replace("name: web\n", &format!("name: web{i}\n")),
        );
    }
    repo.write("config.yaml", CONFIG);
    repo.commit("five objects");
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    // Every crash point an apply of these objects has: with one pod per save, after each of
    // its 5 state saves (1 per Pod: its intent, with the previous pod confirmed; 1 at the
    // end); with the default batch, after its 2 (the 4 intents; the end).
    let points = (1..=5).map(|n| (1, n)).chain((1..=2).map(|n| (64, n)));
    for (batch, crash_after) in points {
        let host = Host::new();
        let run = Run::from(
            host.cmd(&["apply", "--repo", url])
                .env("REKON_TEST_CRASH_AFTER_SAVES", crash_after.to_string())
                .env("REKON_TEST_POD_BATCH", batch.to_string())
                .output()
                .unwrap(),
        );
        assert_ne!(
            run.code,
            Some(0),
            "crash point {crash_after} of batch {batch} must stop the run"
        );
        host.run(&["apply"]).expect(0);
        let pods = host.fake_pods();
        let names: Vec<_> = pods.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(
            names,
            ["default/web0", "default/web1", "default/web2", "default/web3"],
            "crash point {crash_after}"
        );
        let state = host.state();
        let uids: Vec<_> = state["pods"].as_object().unwrap().keys().cloned().collect();
        let mut host_uids: Vec<_> = pods.iter().map(|(_, u)| u.clone()).collect();
        host_uids.sort();
        assert_eq!(uids, host_uids, "state and host agree at crash point {crash_after}");
        host.run(&["plan", "--detailed-exitcode"]).expect(0);
    }
    drop(host);
}

#[test]
fn secret_values_never_leave_in_the_clear() {
    let repo = Repo::new();
    // "hunter2-topsecret" in base64, plus a stringData value.
    repo.write(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: aHVudGVyMi10b3BzZWNyZXQ=\nstringData:\n  token: plain-token-value-42\n",
    );
    repo.commit("secret");
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    let plan_file = host.dir.path().join("s.plan");
    let text = host
        .run(&["plan", "--repo", url, "--out", plan_file.to_str().unwrap()])
        .expect(0)
        .stdout;
    assert!(text.contains("password: (sensitive value)"), "{text}");
    let json = host.run(&["plan", "--repo", url, "-o", "json"]).expect(0).stdout;
    host.run(&["apply", plan_file.to_str().unwrap()]).expect(0);
    // A second apply (the Secret changes) leaves a backup of the first state too.
    repo.write(
        "secret.yaml",
        &std::fs::read_to_string(repo.path().join("secret.yaml"))
            .unwrap()
            .replace("creds", "creds2"),
    );
    repo.commit("rename");
    host.run(&["apply"]).expect(0);
    let yaml = host.run(&["get", "secret", "creds2", "-o", "yaml"]).expect(0).stdout;
    let describe = host.run(&["describe", "secret/creds2"]).expect(0).stdout;
    let files = ["state.json", "state.json.backup", "events.jsonl"]
        .map(|f| std::fs::read_to_string(host.state_dir().join(f)).unwrap());
    let saved = std::fs::read_to_string(&plan_file).unwrap();
    for (what, body) in [
        ("plan", &text),
        ("json", &json),
        ("get", &yaml),
        ("describe", &describe),
        ("plan file", &saved),
    ]
    .into_iter()
    .chain(files.iter().map(|f| ("state file", f)))
    {
        for secret in [
            "hunter2-topsecret",
            "aHVudGVyMi10b3BzZWNyZXQ=",
            "plain-token-value-42",
            "cGxhaW4tdG9rZW4tdmFsdWUtNDI=",
        ] {
            assert!(!body.contains(secret), "{what} leaks {secret}:\n{body}");
        }
    }
}

#[test]
fn invalid_manifests_report_every_error_and_change_nothing() {
    let repo = Repo::new();
    repo.write(
        "a.yaml",
        &POD.replace("    image: busybox:latest\n", "")
            .replace("labels:\n", "labelz:\n"),
    );
    repo.write(
        "b.yaml",
        &DEPLOY.replace(
            "replicas: 2\n",
            "replicas: 2\n  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 0}\n",
        ),
    );
    repo.commit("broken");
    let host = Host::new();
    let run = host.run(&["apply", "--repo", repo.path().to_str().unwrap()]).expect(1);
    let err = &run.stderr;
    assert!(err.contains("a.yaml:5:3: metadata.labelz: unknown field"), "{err}");
    assert!(err.contains("a.yaml:9:5: spec.containers[0].image: required"), "{err}");
    assert!(
        err.contains("b.yaml:8:50: spec.strategy.rollingUpdate.maxUnavailable: invalid value 0: may not be 0 when `maxSurge` is 0\n"),
        "{err}"
    );
    assert!(
        err.ends_with("Error: 3 problems in the manifests; nothing was changed\n"),
        "{err}"
    );
    assert!(!host.state_dir().join("state.json").exists());
}

/// Polls `cond` until it holds or `secs` pass.
#[test]
fn watch_applies_new_commits_skips_invalid_ones_and_stops_on_sigterm() {
    let (repo, c1) = repo_with_three();
    let host = Host::new();
    let log = host.dir.path().join("watch.log");
    let mut child = crate::support::KillOnDrop(
        host.cmd(&[
            "apply",
            "--watch",
            "--interval",
            "200ms",
            "--repo",
            repo.path().to_str().unwrap(),
        ])
        .stdout(std::fs::File::create(host.dir.path().join("watch.out")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap(),
    );
    let revision = || {
        std::fs::read(host.state_dir().join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["revision"].as_str().map(str::to_string))
    };
    wait_for(30, "the first commit to be applied", || {
        revision().as_deref() == Some(c1.as_str())
    });

    repo.write("config.yaml", &CONFIG.replace("hello", "bonjour"));
    let c2 = repo.commit("change");
    wait_for(30, "the second commit to be applied", || {
        revision().as_deref() == Some(c2.as_str())
    });

    repo.write(
        "broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n",
    );
    repo.commit("invalid");
    wait_for(30, "the invalid commit to be reported", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("broken.yaml:4:9: metadata.name: invalid value \"Bad_Name\"")
    });
    assert_eq!(
        revision().as_deref(),
        Some(c2.as_str()),
        "the last good commit stays applied"
    );
    assert_eq!(host.fake_pods().len(), 3, "its pods keep running");

    assert_eq!(child.terminate().code(), Some(0));
    let err = std::fs::read_to_string(&log).unwrap();
    assert!(
        err.ends_with("rekon: stopped; the state is saved and pods keep running\n"),
        "{err}"
    );
    assert_eq!(host.fake_pods().len(), 3, "pods are left running");
}

/// A busy lock is normal under --watch: the round waits up to one interval, and a stretch of
/// skipped rounds is said once, not as an error per round.
#[test]
fn watch_says_once_that_rounds_are_skipped_while_the_lock_is_busy() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let (repo, _) = repo_with_three();
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    host.run(&["apply", "--yes", "--repo", url]).expect(0);
    // Another holder of the lock, until its stdin closes.
    let lock = host.state_dir().join("rekon.lock");
    let mut holder = crate::support::KillOnDrop(
        std::process::Command::new("flock")
            .args(["-x", lock.to_str().unwrap(), "-c", "echo locked; cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(holder.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "locked\n");
    repo.write("config.yaml", &CONFIG.replace("hello", "bonjour"));
    let c2 = repo.commit("change");

    let log = host.dir.path().join("watch.log");
    let mut child = crate::support::KillOnDrop(
        host.cmd(&["apply", "--watch", "--interval", "200ms", "--repo", url])
            .stdout(std::fs::File::create(host.dir.path().join("watch.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let skipped = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("rekon: round skipped, the next rounds retry quietly: error acquiring the state lock: ")
            .count()
    };
    wait_for(30, "a skipped round", || skipped() == 1);
    // Several more rounds pass (each waits 200 ms for the lock) and say nothing.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(holder.0.stdin.take());
    assert_eq!(holder.0.wait().unwrap().code(), Some(0));
    let revision = || {
        std::fs::read(host.state_dir().join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["revision"].as_str().map(str::to_string))
    };
    wait_for(30, "the change to be applied once the lock is free", || {
        revision().as_deref() == Some(c2.as_str())
    });
    assert_eq!(child.terminate().code(), Some(0));
    let err = std::fs::read_to_string(&log).unwrap();
    assert_eq!(skipped(), 1, "{err}");
    assert!(!err.contains("Error"), "{err}");
}

#[test]
fn apply_without_root_explains_and_changes_nothing() {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs as root: this test must run there"
        );
        eprintln!("skipped: needs root to switch to an unprivileged user");
        return;
    }
    let repo = Repo::new();
    repo.write("pod.yaml", POD);
    repo.commit("pod");
    let host = Host::new();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(host.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    // git refuses a repository owned by another user (safe.directory): hand it over.
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(repo.path())
        .status();
    assert!(chown.unwrap().success());
    let run = Run::from(
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                env!("CARGO_BIN_EXE_rekon"),
            ])
            .args(["apply", "--yes", "--repo", repo.path().to_str().unwrap()])
            .env("REKON_STATE_DIR", host.state_dir())
            .env("REKON_RUNTIME", "linux")
            .env("HOME", host.dir.path())
            .output()
            .unwrap(),
    )
    .expect(1);
    assert!(
        run.stderr.contains("Error: cannot apply: nothing was changed\n  caused by: the Linux runtime needs root to create namespaces and cgroups (running as uid 65534)"),
        "{}",
        run.stderr
    );
    assert!(!host.state_dir().join("state.json").exists(), "nothing was recorded");
}
