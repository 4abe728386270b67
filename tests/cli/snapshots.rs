//! What users read, asserted whole: `plan` (create, update with a diff, replace, destroy,
//! rollout notes, placements, a redacted Secret), `apply`, `get` and `describe` of every kind
//! rekon runs, `rollout status|history`, `events` and `status`, against the fake runtime.
//!
//! Each text is compared with `tests/cli/snapshots/<name>.txt` after the parts that differ
//! between runs are filtered (temporary paths, the host name, commit ids, uids, generated pod
//! names, times and ages). `UPDATE_SNAPSHOTS=1` rewrites the files; a mismatch prints a diff.

use crate::support::{Host, Repo};
use regex::Regex;
use std::path::PathBuf;

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cli/snapshots")
}

/// Replaces what changes from run to run by a placeholder.
fn filter(text: &str, temp_dirs: &[&std::path::Path]) -> String {
    let mut out = text.to_string();
    for dir in temp_dirs {
        out = out.replace(&dir.display().to_string(), "[TMP]");
    }
    out = out.replace(&rekon::runtime::host::hostname(), "[HOST]");
    let rules = [
        // RFC 3339 times, with or without fractions.
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "[TIME]"),
        // Commit ids and their short forms, uids, content hashes.
        (r"\b[0-9a-f]{40}\b", "[COMMIT]"),
        (r"sha256:[0-9a-f]{12,64}", "sha256:[HASH]"),
        (r"\b[0-9a-f]{20}\b", "[UID]"),
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "[UID]",
        ),
        (r"\(([0-9a-f]{7,12})\)", "([SHORT])"),
        (r"\b[0-9a-f]{12}\b", "[SHORT]"),
        // The random suffix of a ReplicaSet's pod names (the ReplicaSet's hash is fixed).
        (r"\b(web-[0-9a-z]{8,10})-[0-9a-z]{5}\b", "$1-[POD]"),
        // Durations and ages of a test that runs for seconds: `0s`, `2m30s`, `123ms`, `1.2s`.
        (r"\b\d+(\.\d+)?(ms|s)\b|\b\d+m\d+s\b", "[AGE]"),
        (r#""durationMs": \d+"#, r#""durationMs": [MS]"#),
    ];
    for (pattern, with) in rules {
        out = Regex::new(pattern).unwrap().replace_all(&out, with).into_owned();
    }
    // Columns padded around a filtered cell have a width that depends on its length.
    let spaces = Regex::new(r"(\S) {2,}").unwrap();
    spaces.replace_all(&out, "$1  ").into_owned()
}

/// Compares `text`, filtered, with the snapshot `name`.
#[track_caller]
fn assert_snapshot(name: &str, text: &str, temp_dirs: &[&std::path::Path]) {
    let got = filter(text, temp_dirs);
    let path = snapshot_dir().join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshot_dir()).unwrap();
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no snapshot {}: run with UPDATE_SNAPSHOTS=1", path.display()));
    if got != want {
        let diff = similar::TextDiff::from_lines(&want, &got);
        panic!(
            "snapshot {name} differs (- snapshot, + now; UPDATE_SNAPSHOTS=1 accepts):\n{}",
            diff.unified_diff().context_radius(3)
        );
    }
}

const APP: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: busybox:1
        resources:
          requests: {cpu: 100m, memory: 64Mi}
---
apiVersion: v1
kind: Pod
metadata:
  name: tool
  namespace: shop
spec:
  containers:
  - name: tool
    image: busybox:1
    command: [sleep, '3600']
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: shop
stringData:
  password: hunter2
";

#[test]
fn what_users_read_from_plan_to_status() {
    let repo = Repo::new();
    repo.write("app.yaml", APP);
    repo.commit("shop");
    let host = Host::new();
    let dirs = [repo.path(), host.dir.path()];
    let source = repo.path().to_str().unwrap().to_string();
    let run = |args: &[&str], code: i32| {
        let r = host.run(args);
        assert_eq!(r.code, Some(code), "{args:?}: {}{}", r.stdout, r.stderr);
        format!("{}{}", r.stdout, r.stderr)
    };

    let plan = run(&["plan", "--repo", &source], 0);
    assert!(!plan.contains("hunter2"), "the Secret's value is redacted");
    assert_snapshot("plan_create", &plan, &dirs);
    assert_snapshot("apply_create", &run(&["apply", "--repo", &source], 0), &dirs);
    for kind in ["pods", "deploy", "rs", "svc", "cm", "secret", "ns", "nodes"] {
        let text = run(&["get", kind, "-n", "shop"], 0);
        assert_snapshot(&format!("get_{kind}"), &text, &dirs);
    }
    assert_snapshot(
        "get_pods_wide",
        &run(&["get", "pods", "-n", "shop", "-o", "wide"], 0),
        &dirs,
    );
    for target in ["deployment/web", "pod/tool", "svc/web", "cm/settings", "secret/creds"] {
        let text = run(&["describe", target, "-n", "shop"], 0);
        assert!(!text.contains("hunter2"), "{text}");
        assert_snapshot(&format!("describe_{}", target.replace('/', "_")), &text, &dirs);
    }
    assert_snapshot(
        "rollout_status",
        &run(&["rollout", "status", "deployment/web", "-n", "shop"], 0),
        &dirs,
    );

    // An image change (a rollout), a new Secret value, a pod replaced, the ConfigMap gone.
    let changed = APP
        .replace("        image: busybox:1\n", "        image: busybox:2\n")
        .replace("password: hunter2", "password: hunter3")
        .replace("command: [sleep, '3600']", "command: [sleep, '7200']");
    let changed = changed[..changed.find("---\napiVersion: v1\nkind: ConfigMap").unwrap()].to_string()
        + &changed[changed.find("---\napiVersion: v1\nkind: Secret").unwrap()..];
    repo.write("app.yaml", &changed);
    repo.commit("busybox 2");
    let plan = run(&["plan"], 0);
    assert!(!plan.contains("hunter"), "{plan}");
    assert_snapshot("plan_update", &plan, &dirs);
    assert_snapshot("status_out_of_sync", &run(&["status"], 0), &dirs);
    assert_snapshot("apply_update", &run(&["apply"], 0), &dirs);
    assert_snapshot(
        "rollout_history",
        &run(&["rollout", "history", "deployment/web", "-n", "shop"], 0),
        &dirs,
    );
    assert_snapshot("events", &run(&["events"], 0), &dirs);
    assert_snapshot("status_synced", &run(&["status"], 0), &dirs);
    assert_snapshot("status_json", &run(&["status", "-o", "json"], 0), &dirs);
}
