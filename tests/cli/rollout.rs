//! Deployments and ReplicaSets end to end with the fake runtime: rollouts, convergence,
//! timeouts and out-of-band deletes.

use crate::support::{Host, KillOnDrop, Repo, wait_for};

/// A repository with Deployment `web` of `busybox:1`, committed as `message`, applied to a
/// new host.
fn applied_web(message: &str) -> (Repo, Host) {
    let repo = Repo::new();
    repo.write("web.yaml", &deployment("busybox:1"));
    repo.commit(message);
    let host = Host::new();
    host.run(&["apply", "--repo", repo.path().to_str().unwrap()]).expect(0);
    (repo, host)
}

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  strategy:\n    rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: c\n        image: {image}\n"
    )
}

/// Pod names the fake runtime runs.
fn pod_names(host: &Host) -> Vec<String> {
    host.fake_pods().into_iter().map(|(name, _)| name).collect()
}

#[test]
fn a_deployment_rolls_out_and_an_image_change_rolls_it_over() {
    let repo = Repo::new();
    repo.write("web.yaml", &deployment("busybox:1"));
    repo.commit("web");
    let host = Host::new();
    let url = repo.path().to_str().unwrap();
    let run = host.run(&["apply", "--repo", url]).expect(0);
    assert!(
        run.stdout
            .contains("deployment/web: deployment \"web\" successfully rolled out"),
        "{}",
        run.stdout
    );
    let state = host.state();
    let rses = state["replica_sets"].as_object().unwrap();
    assert_eq!(rses.len(), 1);
    let first = rses.values().next().unwrap()["name"].as_str().unwrap().to_string();
    assert!(
        run.stdout
            .contains(&format!("deployment/web: Scaled up replica set {first} to 3")),
        "{}",
        run.stdout
    );
    let pods = pod_names(&host);
    assert_eq!(pods.len(), 3);
    assert!(
        pods.iter()
            .all(|p| p.starts_with(&format!("default/{first}-")) && p.len() == "default/".len() + first.len() + 6)
    );
    assert_eq!(state["deployments"]["default/web"]["revision"], 1);
    let events = std::fs::read_to_string(host.state_dir().join("events.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = events.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let scaled = events.iter().find(|e| e["kind"] == "ScalingReplicaSet").unwrap();
    assert_eq!(scaled["object"], "deployment/web");
    assert_eq!(scaled["message"], format!("Scaled up replica set {first} to 3"));
    assert_eq!(events.iter().filter(|e| e["kind"] == "SuccessfulCreate").count(), 3);
    assert_eq!(events.iter().filter(|e| e["kind"] == "Scheduled").count(), 3);

    repo.write(
        "web.yaml",
        &deployment("busybox:1").replace("replicas: 3", "replicas: 5"),
    );
    repo.commit("five");
    let plan = host.run(&["plan"]).expect(0);
    assert!(
        plan.stdout.contains("scales from 3 to 5 pods without a rollout"),
        "{}",
        plan.stdout
    );
    repo.write("web.yaml", &deployment("busybox:2"));
    repo.commit("v2");
    let plan = host.run(&["plan"]).expect(0);
    assert!(
        plan.stdout
            .contains("rolling update: 3 pods to replace, maxSurge 1, maxUnavailable 0"),
        "{}",
        plan.stdout
    );
    host.run(&["apply"]).expect(0);
    let state = host.state();
    let rses = state["replica_sets"].as_object().unwrap();
    assert_eq!(rses.len(), 2, "the old ReplicaSet is kept");
    assert_eq!(rses[&format!("default/{first}")]["replicas"], 0);
    assert_eq!(state["deployments"]["default/web"]["revision"], 2);
    let pods = pod_names(&host);
    assert_eq!(pods.len(), 3);
    assert!(
        pods.iter().all(|p| !p.starts_with(&format!("default/{first}-"))),
        "{pods:?}"
    );
}

#[test]
fn a_pod_deleted_out_of_band_is_replaced_on_the_next_apply() {
    let (_repo, host) = applied_web("web");
    let before = host.fake_pods();
    let mut fake: serde_json::Value = serde_json::from_slice(&std::fs::read(host.fake_file()).unwrap()).unwrap();
    fake.as_object_mut().unwrap().remove(&before[0].1);
    std::fs::write(host.fake_file(), fake.to_string()).unwrap();
    let plan = host.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout.contains("because 1 of its pods is missing on the host"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("first step: create 1 pod on node "),
        "{}",
        plan.stdout
    );
    host.run(&["apply"]).expect(0);
    let plan = host.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    let after = host.fake_pods();
    assert_eq!(after.len(), 3);
    assert!(!after.iter().any(|(_, uid)| uid == &before[0].1));
}

#[test]
fn a_never_ready_rollout_times_out_with_exit_3_and_keeps_the_old_pods() {
    let (repo, host) = applied_web("web");
    repo.write("web.yaml", &deployment("never-ready:1"));
    repo.commit("broken");
    let run = host.run(&["apply", "--timeout", "1s"]).expect(3);
    let new_rs = host.state()["deployments"]["default/web"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(new_rs.starts_with("ReplicaSet \"web-"), "{new_rs}");
    let line = run.stderr.lines().find(|l| l.starts_with("Error: ")).unwrap();
    assert!(
        line.starts_with("Error: deployment/web did not converge within 1s: Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated... (web-"),
        "{}",
        run.stderr
    );
    assert!(line.ends_with(": Running, not Ready)"), "names the pod: {line}");
    assert_eq!(pod_names(&host).len(), 4, "3 old pods keep serving, 1 surge pod");
}

#[test]
fn a_standalone_replica_set_keeps_its_pods_and_no_wait_returns_at_once() {
    let repo = Repo::new();
    repo.write(
        "rs.yaml",
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: fe\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: fe}\n  template:\n    metadata:\n      labels: {app: fe}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n",
    );
    repo.commit("rs");
    let host = Host::new();
    host.run(&["apply", "--no-wait", "--repo", repo.path().to_str().unwrap()])
        .expect(0);
    let pods = pod_names(&host);
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(|p| p.starts_with("default/fe-")));
    repo.remove("rs.yaml");
    repo.commit("gone");
    host.run(&["apply"]).expect(0);
    assert!(pod_names(&host).is_empty(), "pruned with its ReplicaSet");
    assert!(host.state()["replica_sets"].as_object().unwrap().is_empty());
}

#[test]
fn reverting_in_git_reuses_the_first_replica_set_as_revision_3() {
    let (repo, host) = applied_web("v1");
    let first = host.state()["replica_sets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    repo.write("web.yaml", &deployment("busybox:2"));
    repo.commit("v2");
    host.run(&["apply"]).expect(0);
    repo.write("web.yaml", &deployment("busybox:1"));
    repo.commit("revert");
    let plan = host.run(&["plan"]).expect(0);
    assert!(
        plan.stdout.contains(&format!(
            "reuses ReplicaSet {first} (revision 1), which becomes revision 3"
        )),
        "{}",
        plan.stdout
    );
    host.run(&["apply"]).expect(0);
    let state = host.state();
    let rses = state["replica_sets"].as_object().unwrap();
    assert_eq!(rses.len(), 2, "no third ReplicaSet");
    let rs1 = &rses[&format!("default/{first}")];
    assert_eq!(rs1["annotations"]["deployment.kubernetes.io/revision"], "3");
    assert_eq!(rs1["annotations"]["deployment.kubernetes.io/revision-history"], "1");
    assert_eq!(rs1["replicas"], 3);
    assert_eq!(state["deployments"]["default/web"]["revision"], 3);

    let run = host.run(&["rollout", "history", "deployment/web"]).expect(0);
    assert_eq!(
        run.stdout,
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n"
    );
    let run = host
        .run(&["rollout", "history", "deployment/web", "--revision", "1"])
        .expect(1);
    assert_eq!(run.stderr, "Error: unable to find the specified revision\n");
    let run = host.run(&["rollout", "status", "deployment/web"]).expect(0);
    assert_eq!(run.stdout, "deployment \"web\" successfully rolled out\n");

    // get shows what the controllers made, in kubectl's columns.
    let run = host.run(&["get", "deploy"]).expect(0);
    let row: Vec<&str> = run.stdout.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], ["web", "3/3", "3", "3"], "{}", run.stdout);
    let run = host.run(&["get", "rs"]).expect(0);
    let mut rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    rows.sort();
    let counts: Vec<&[&str]> = rows.iter().map(|r| &r[1..4]).collect();
    assert_eq!(counts.len(), 2, "{}", run.stdout);
    assert!(
        counts.contains(&&["3", "3", "3"][..]) && counts.contains(&&["0", "0", "0"][..]),
        "{}",
        run.stdout
    );
    let run = host.run(&["get", "pods"]).expect(0);
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with(&format!("{first}-")))
            .count(),
        3,
        "{}",
        run.stdout
    );
}

#[test]
fn a_progress_deadline_exceeded_ends_apply_with_exit_3() {
    let repo = Repo::new();
    let with_deadline =
        |image: &str| deployment(image).replace("  replicas: 3\n", "  replicas: 3\n  progressDeadlineSeconds: 1\n");
    repo.write("web.yaml", &with_deadline("busybox:1"));
    repo.commit("v1");
    let host = Host::new();
    host.run(&["apply", "--repo", repo.path().to_str().unwrap()]).expect(0);
    repo.write("web.yaml", &with_deadline("never-ready:1"));
    repo.commit("broken");
    let run = host.run(&["apply", "--timeout", "1m"]).expect(3);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_default();
    let rs = host.state()["replica_sets"]
        .as_object()
        .unwrap()
        .values()
        .find(|rs| rs["annotations"]["deployment.kubernetes.io/revision"] == "2")
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let want = format!(
        "Error: deployment/web did not converge: deployment \"web\" exceeded its progress deadline: ReplicaSet \"{rs}\" has timed out progressing. ({rs}-"
    );
    assert!(line.starts_with(&want), "{}", run.stderr);
    assert!(line.ends_with(": Running, not Ready)"), "{line}");
    assert_eq!(pod_names(&host).len(), 4, "old pods keep serving");

    let run = host.run(&["rollout", "status", "deployment/web"]).expect(1);
    assert_eq!(run.stderr, "Error: deployment \"web\" exceeded its progress deadline\n");
}

#[test]
fn a_crash_at_any_save_of_a_rollout_is_finished_by_the_next_apply_without_duplicates() {
    let repo = Repo::new();
    repo.write("web.yaml", &deployment("busybox:1"));
    repo.commit("v1");
    let url = repo.path().to_str().unwrap();
    // Save 1 records the Deployment; then one save for the intent of the three pods and one
    // for their confirmations; later saves record statuses.
    for crash in 1..=4 {
        let host = Host::new();
        let out = host
            .cmd(&["apply", "--repo", url])
            .env("REKON_TEST_CRASH_AFTER_SAVES", crash.to_string())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), None, "crash {crash}: killed by the injected abort");
        host.run(&["apply"]).expect(0);
        let runtime: Vec<String> = host.fake_pods().into_iter().map(|(_, uid)| uid).collect();
        assert_eq!(runtime.len(), 3, "crash {crash}");
        let state = host.state();
        let mut recorded: Vec<String> = state["pods"].as_object().unwrap().keys().cloned().collect();
        recorded.sort();
        let mut runtime = runtime;
        runtime.sort();
        assert_eq!(recorded, runtime, "crash {crash}");
        assert_eq!(state["replica_sets"].as_object().unwrap().len(), 1, "crash {crash}");
    }
}

/// `(revision, replicas)` of every ReplicaSet, by revision.
fn revisions(host: &Host) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = host.state()["replica_sets"]
        .as_object()
        .unwrap()
        .values()
        .map(|rs| {
            (
                rs["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                rs["replicas"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn undo_holds_the_old_revision_until_git_changes_or_resume() {
    let (repo, host) = applied_web("v1");
    repo.write("web.yaml", &deployment("busybox:2"));
    repo.commit("v2");
    host.run(&["apply"]).expect(0);
    assert_eq!(revisions(&host), [("1".into(), 0), ("2".into(), 3)]);

    let run = host.run(&["rollout", "undo", "deployment/web"]).expect(0);
    assert!(
        run.stdout.starts_with("deployment.apps/web rolled back\n"),
        "{}",
        run.stdout
    );
    // As upstream: the first ReplicaSet comes back as revision 3, no new one.
    assert_eq!(revisions(&host), [("2".into(), 0), ("3".into(), 3)]);
    let run = host.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(
        run.stdout.contains(
            "deployment/web is held at revision 1 by rollout undo (git wants revision 2); it rolls forward when the object changes in git or after `rekon rollout resume deployment/web`"
        ),
        "{}",
        run.stdout
    );
    let run = host
        .run(&["rollout", "undo", "deployment/web", "--to-revision", "3", "--no-apply"])
        .expect(0);
    assert_eq!(
        run.stdout,
        "deployment.apps/web skipped rollback (current template already matches revision 3)\n"
    );
    let run = host
        .run(&["rollout", "undo", "deployment/web", "--to-revision", "9"])
        .expect(1);
    assert_eq!(run.stderr, "Error: unable to find specified revision 9 in history\n");

    host.run(&["rollout", "pause", "deployment/web", "--no-apply"])
        .expect(0);
    let run = host.run(&["rollout", "undo", "deployment/web"]).expect(1);
    assert!(
        run.stderr.contains("you cannot rollback a paused deployment"),
        "{}",
        run.stderr
    );
    let run = host.run(&["rollout", "resume", "deployment/web"]).expect(0);
    assert!(
        run.stdout.starts_with("deployment.apps/web resumed\n"),
        "{}",
        run.stdout
    );
    // The hold is gone: git's template (revision 2's) rolls forward again, as revision 4.
    assert_eq!(revisions(&host), [("3".into(), 0), ("4".into(), 3)]);
    host.run(&["plan", "--detailed-exitcode"]).expect(0);

    let before = pod_names(&host);
    let run = host.run(&["rollout", "restart", "deployment/web"]).expect(0);
    assert!(
        run.stdout.starts_with("deployment.apps/web restarted\n"),
        "{}",
        run.stdout
    );
    let after = pod_names(&host);
    assert_eq!(after.len(), 3);
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "every pod replaced: {before:?} → {after:?}"
    );
    assert_eq!(revisions(&host).len(), 3, "restart is one more revision");

    // A hold ends when git's object changes: git wins again.
    host.run(&["rollout", "undo", "deployment/web"]).expect(0);
    repo.write("web.yaml", &deployment("busybox:3"));
    repo.commit("v3");
    let run = host.run(&["plan"]).expect(0);
    assert!(!run.stdout.contains("is held at revision"), "{}", run.stdout);
    host.run(&["apply"]).expect(0);
    let state = host.state();
    let newest = state["replica_sets"]
        .as_object()
        .unwrap()
        .values()
        .max_by_key(|rs| {
            rs["annotations"]["deployment.kubernetes.io/revision"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .unwrap();
    assert_eq!(newest["template"]["spec"]["containers"][0]["image"], "busybox:3");
    assert_eq!(newest["replicas"], 3);
}

/// Polls `cond` every 50 ms; panics naming `what` after `secs`.
#[test]
fn watch_rolls_a_stuck_rollout_over_to_the_next_commit() {
    let (repo, host) = applied_web("v1");
    let mut child = KillOnDrop(
        host.cmd(&["apply", "--watch", "--interval", "300ms", "--yes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let images = |host: &Host| -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = host.state()["replica_sets"]
            .as_object()
            .map(|m| {
                m.values()
                    .map(|rs| {
                        (
                            rs["template"]["spec"]["containers"][0]["image"]
                                .as_str()
                                .unwrap()
                                .to_string(),
                            rs["replicas"].as_i64().unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    };
    repo.write("web.yaml", &deployment("never-ready:2"));
    repo.commit("a broken image");
    wait_for(30, "the stuck rollout to start", || {
        images(&host).iter().any(|(i, n)| i == "never-ready:2" && *n >= 1)
    });
    repo.write("web.yaml", &deployment("busybox:3"));
    repo.commit("a fix");
    wait_for(30, "the rollover to the fix", || {
        images(&host)
            == [
                ("busybox:1".into(), 0),
                ("busybox:3".into(), 3),
                ("never-ready:2".into(), 0),
            ]
    });
    assert_eq!(child.terminate().code(), Some(0));
    assert_eq!(pod_names(&host).len(), 3, "{:?}", pod_names(&host));
}
