//! The verbs beside plan/apply: image, logs, delete and down, against the fake runtime and
//! pod directories written by hand (the pod directory contract).

use crate::support::Host;
use std::path::{Path, PathBuf};

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: web
    image: busybox:1.36
";

const TWO: &str = "apiVersion: v1
kind: Pod
metadata:
  name: duo
spec:
  initContainers:
  - name: setup
    image: busybox:1.36
  containers:
  - name: a
    image: busybox:1.36
  - name: b
    image: busybox:1.36
";

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
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

/// A host with `files` applied from a plain manifest directory.
fn applied(files: &[(&str, &str)]) -> Host {
    let host = Host::new();
    let dir = host.dir.path().join("manifests");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    host.run(&["apply", "-f", dir.to_str().unwrap()]).expect(0);
    host
}

fn uid_of(host: &Host, name: &str) -> String {
    let state = host.state();
    let pods = state["pods"].as_object().unwrap();
    let (uid, _) = pods
        .iter()
        .find(|(_, p)| p["name"] == name)
        .unwrap_or_else(|| panic!("no pod {name} in {pods:?}"));
    uid.clone()
}

/// `<state>/pods/<uid>/logs/<container>`, created.
fn log_dir(host: &Host, pod: &str, container: &str) -> PathBuf {
    let dir = host
        .state_dir()
        .join("pods")
        .join(uid_of(host, pod))
        .join("logs")
        .join(container);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn image_import_ls_and_rm() {
    let host = Host::new();
    let rootfs = host.dir.path().join("rootfs");
    rekon::runtime::image::busybox_rootfs(&rootfs).unwrap();
    let run = host
        .run(&[
            "image",
            "import",
            "busybox:1.36",
            rootfs.to_str().unwrap(),
            "--entrypoint",
            r#"["/bin/sh","-c"]"#,
            "--cmd",
            "echo hi",
            "--env",
            "GREETING=hello",
        ])
        .expect(0);
    let id = run.stdout.trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{}", run.stdout);

    let run = host.run(&["image", "ls"]).expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(
        lines[0].starts_with("REPOSITORY   TAG    IMAGE ID       CREATED"),
        "{}",
        lines[0]
    );
    let cells: Vec<&str> = lines[1].split("   ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(
        &cells[..4],
        ["busybox", "1.36", &id[7..19], "Less than a second ago"],
        "{}",
        lines[1]
    );
    assert!(cells[4].ends_with("MB") || cells[4].ends_with("kB"), "{}", lines[1]);

    // The stored config has the flags.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(host.state_dir().join("images/images.json")).unwrap()).unwrap();
    let config = &index["images"][&id]["config"];
    assert_eq!(config["entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(config["cmd"], serde_json::json!(["echo", "hi"]));
    assert!(
        config["env"].as_array().unwrap().contains(&"GREETING=hello".into()),
        "{config}"
    );

    // In use by a pod of the state: refused.
    let dir = host.dir.path().join("manifests");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir.join("pod.yaml"), POD);
    host.run(&["apply", "-f", dir.to_str().unwrap()]).expect(0);
    let run = host.run(&["image", "rm", "busybox:1.36"]).expect(1);
    assert_eq!(
        run.stderr,
        format!(
            "Error: image busybox:1.36 ({}) is in use by pod default/web; delete the pod (or change its image in git and apply) first\n",
            &id[7..19]
        )
    );
    host.run(&["delete", "pod/web"]).expect(0);

    let run = host.run(&["image", "rm", "busybox:1.36"]).expect(0);
    assert_eq!(
        run.stdout,
        format!("Untagged: docker.io/library/busybox:1.36\nDeleted: {id}\n")
    );
    let run = host.run(&["image", "ls"]).expect(0);
    assert_eq!(run.stdout, "REPOSITORY   TAG   IMAGE ID   CREATED   SIZE\n");
    let run = host.run(&["image", "rm", "busybox:1.36"]).expect(1);
    assert_eq!(run.stderr, "Error: no such image: busybox:1.36\n");
}

#[test]
fn logs_format_tail_previous_and_errors() {
    let host = applied(&[("pod.yaml", POD), ("duo.yaml", TWO)]);
    let dir = log_dir(&host, "web", "web");
    write(
        &dir.join("current.log.1"),
        "2024-05-01T10:00:00.5Z stdout F one\n2024-05-01T10:00:01Z stderr F two\n",
    );
    write(
        &dir.join("current.log"),
        "2024-05-01T10:00:02.123456789Z stdout P thr\n2024-05-01T10:00:02.2Z stdout F ee\n\
         2024-05-01T10:00:03Z stdout F four\n",
    );
    let run = host.run(&["logs", "web"]).expect(0);
    assert_eq!(run.stdout, "one\ntwo\nthree\nfour\n");
    assert_eq!(run.stderr, "");
    let run = host.run(&["logs", "pod/web", "--tail", "3", "--timestamps"]).expect(0);
    assert_eq!(
        run.stdout,
        "2024-05-01T10:00:01Z two\n2024-05-01T10:00:02.123456789Z three\n2024-05-01T10:00:03Z four\n"
    );

    let run = host.run(&["logs", "web", "--previous"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error: previous terminated container \"web\" in pod \"web\" not found\n"
    );
    write(&dir.join("previous.log"), "2024-05-01T09:00:00Z stderr F crashed\n");
    let run = host.run(&["logs", "web", "-c", "web", "-p"]).expect(0);
    assert_eq!(run.stdout, "crashed\n");

    let run = host.run(&["logs", "nope"]).expect(1);
    assert_eq!(run.stderr, "Error: pods \"nope\" not found\n");
    let run = host.run(&["logs", "web", "-n", "other"]).expect(1);
    assert_eq!(run.stderr, "Error: pods \"web\" not found\n");
    let run = host.run(&["logs", "web", "-c", "sidecar"]).expect(1);
    assert_eq!(run.stderr, "Error: container sidecar not found in pod web\n");

    // Several containers: kubectl defaults to the first and says so.
    write(
        &log_dir(&host, "duo", "a").join("current.log"),
        "2024-05-01T10:00:00Z stdout F from a\n",
    );
    write(
        &log_dir(&host, "duo", "b").join("current.log"),
        "2024-05-01T10:00:00Z stdout F from b\n",
    );
    let run = host.run(&["logs", "duo"]).expect(0);
    assert_eq!(run.stdout, "from a\n");
    assert_eq!(run.stderr, "Defaulted container \"a\" out of: a, b, setup (init)\n");
    let run = host.run(&["logs", "duo", "-c", "b"]).expect(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("from b\n", ""));
}

#[test]
fn logs_follow_ends_when_the_pod_is_gone() {
    let host = applied(&[("pod.yaml", POD)]);
    let dir = log_dir(&host, "web", "web");
    write(&dir.join("current.log"), "2024-05-01T10:00:00Z stdout F hello\n");
    let mut child = host
        .cmd(&["logs", "-f", "web"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"hello\n");
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("current.log"))
            .unwrap();
        f.write_all(b"2024-05-01T10:00:01Z stdout F world\n").unwrap();
    }
    let mut more = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut more).unwrap();
    assert_eq!(&more, b"world\n");
    // The pod goes away: follow ends by itself.
    host.run(&["delete", "pod/web", "--grace-period", "0"]).expect(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("logs -f did not end after the pod was deleted");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success());
}

#[test]
fn delete_pod_is_healed_by_the_next_apply() {
    let host = applied(&[("pod.yaml", POD), ("deploy.yaml", DEPLOY)]);
    let serial = host.state()["serial"].as_u64().unwrap();
    assert!(host.fake_pods().iter().any(|(name, _)| name == "default/web"));

    let run = host.run(&["delete", "pod/web"]).expect(0);
    assert_eq!(run.stdout, "pod \"web\" deleted\n");
    assert!(
        !host.fake_pods().iter().any(|(name, _)| name == "default/web"),
        "gone from the runtime"
    );
    let state = host.state();
    assert!(state["serial"].as_u64().unwrap() > serial);
    assert!(state["pods"].as_object().unwrap().values().all(|p| p["name"] != "web"));
    assert!(state["deleted"]["Pod default/web"].is_string(), "{state}");

    let run = host.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        run.stdout
            .contains("  # Pod default/web was deleted outside git and will be created on node "),
        "{}",
        run.stdout
    );
    host.run(&["apply"]).expect(0);
    assert!(
        host.fake_pods().iter().any(|(name, _)| name == "default/web"),
        "recreated"
    );
}

#[test]
fn down_destroys_everything_and_keeps_the_lineage() {
    let host = applied(&[("pod.yaml", POD), ("deploy.yaml", DEPLOY)]);
    let before = host.state();
    // A pod the runtime holds but the state does not know (a crash between create and save).
    let mut fake: serde_json::Value = serde_json::from_slice(&std::fs::read(host.fake_file()).unwrap()).unwrap();
    let (_, entry) = fake
        .as_object()
        .unwrap()
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    let mut stray = entry.clone();
    stray[0]["uid"] = "stray-uid".into();
    stray[0]["name"] = "stray".into();
    fake["stray-uid"] = stray;
    write(&host.fake_file(), &serde_json::to_string(&fake).unwrap());
    let pods = host.fake_pods().len();
    let objects = before["objects"].as_object().unwrap().len();
    // The stray pod and every pod that is not itself a Pod object count as resources.
    let expected = objects + pods - 1;

    let run = host.run(&["down", "--yes"]).expect(0);
    assert!(
        run.stdout
            .ends_with(&format!("\nDestroy complete! Resources: {expected} destroyed.\n")),
        "{}",
        run.stdout
    );
    assert!(host.fake_pods().is_empty(), "{:?}", host.fake_pods());
    let after = host.state();
    assert_eq!(after["lineage"], before["lineage"]);
    assert_eq!(after["source"], before["source"]);
    assert!(after["serial"].as_u64() > before["serial"].as_u64());
    assert!(after["objects"].as_object().unwrap().is_empty());
    assert!(after["pods"].as_object().unwrap().is_empty());

    // The remembered source brings everything back.
    let run = host.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        run.stdout.contains(&format!("Plan: {objects} to add")),
        "{}",
        run.stdout
    );
}
