//! ConfigMaps, Secrets and the downward API in real pods: the upstream examples, updates
//! through one `..data` swap, missing objects, and Secret values that never reach the disk.

use super::{LinuxHost, example, read_in_container};
use rekon::runtime::status::{ContainerState, PodPhase};

/// The upstream busybox names the examples use, beyond `example_images`.
fn images(host: &LinuxHost) {
    host.example_images();
    host.image("registry.k8s.io/busybox", None, Some(&["sh"]));
}

fn multikeys() -> String {
    example("configmap/configmap-multikeys.yaml")
}

#[test]
fn config_map_volume_and_env_from_examples_show_the_keys() {
    let Some(host) = LinuxHost::new() else { return };
    images(&host);
    let yaml = format!("{}\n---\n{}", multikeys(), example("pods/pod-configmap-volume.yaml"));
    host.apply(&yaml).expect(0);
    host.wait_for("dapi-test-pod", 20, |s| s.phase == PodPhase::Succeeded);
    assert_eq!(
        host.log("dapi-test-pod", "test-container"),
        ["SPECIAL_LEVEL", "SPECIAL_TYPE"]
    );
    // The same pod name with envFrom: a replace.
    let yaml = format!("{}\n---\n{}", multikeys(), example("pods/pod-configmap-envFrom.yaml"));
    host.apply(&yaml).expect(0);
    host.wait_for("dapi-test-pod", 20, |s| s.phase == PodPhase::Succeeded);
    let env = host.log("dapi-test-pod", "test-container");
    for wanted in ["SPECIAL_LEVEL=very", "SPECIAL_TYPE=charm", "HOSTNAME=dapi-test-pod"] {
        assert!(env.iter().any(|l| l == wanted), "{wanted} not in {env:?}");
    }
    host.finish();
}

#[test]
fn downward_api_examples_show_the_pods_fields() {
    let Some(host) = LinuxHost::new() else { return };
    images(&host);
    let yaml = format!(
        "{}\n---\n{}",
        example("pods/inject/dapi-envars-pod.yaml"),
        example("pods/inject/dapi-volume.yaml")
    );
    host.apply(&yaml).expect(0);
    let node = host.state_node(&host.uid("dapi-envars-fieldref"));
    super::eventually(20, "the env lines", || {
        let lines = host.log("dapi-envars-fieldref", "test-container");
        // printenv prints the set variables; MY_POD_IP is empty until pods have IPs.
        let want = [node.as_str(), "dapi-envars-fieldref", "default", "", "default"];
        lines.windows(5).any(|w| w == want).then_some(())
    });
    let volume = "kubernetes-downwardapi-volume-example";
    let labels = read_in_container(&host, volume, "client-container", "/etc/podinfo/labels").unwrap();
    assert_eq!(
        labels,
        "cluster=\"test-cluster1\"\nrack=\"rack-22\"\nzone=\"us-est-coast\""
    );
    let annotations = read_in_container(&host, volume, "client-container", "/etc/podinfo/annotations").unwrap();
    assert_eq!(annotations, "build=\"two\"\nbuilder=\"john-doe\"");
    // A label changed in git reaches the file without a restart.
    let uid = host.uid(volume);
    let changed = yaml.replace("rack-22", "rack-23");
    host.apply(&changed).expect(0);
    assert_eq!(host.uid(volume), uid);
    super::eventually(10, "the new label", || {
        read_in_container(&host, volume, "client-container", "/etc/podinfo/labels")
            .filter(|l| l.contains("rack=\"rack-23\""))
    });
    host.finish();
}

/// The Secret of the upstream examples, whose password is what the grep looks for.
const PASSWORD: &str = "39528$vdg7Jb";

#[test]
fn secrets_reach_volumes_env_and_projections_and_nothing_else() {
    let Some(host) = LinuxHost::new() else { return };
    let start = std::time::SystemTime::now();
    images(&host);
    let extra = "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: user\nstringData:\n  username: admin\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: pass\ndata:\n  password: Mzk1MjgkdmRnN0pi\n";
    let yaml = [
        example("pods/inject/secret.yaml"),
        example("pods/inject/secret-pod.yaml"),
        example("pods/inject/secret-envars-pod.yaml"),
        example("pods/storage/projected.yaml"),
        extra.to_string(),
    ]
    .join("\n---\n");
    let run = host.apply(&yaml).expect(0);
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
    let exec = |pod: &str, args: &[&str]| {
        let mut all = vec!["exec", pod, "--"];
        all.extend_from_slice(args);
        host.run(&all).expect(0).stdout
    };
    assert_eq!(
        exec("secret-test-pod", &["cat", "/etc/secret-volume/password"]),
        PASSWORD
    );
    assert_eq!(
        exec("secret-test-pod", &["cat", "/etc/secret-volume/username"]),
        "my-app"
    );
    let ls = exec("secret-test-pod", &["ls", "-la", "/etc/secret-volume/..data/"]);
    assert!(ls.contains("-rw-r--r--"), "{ls}");
    // The volume is read-only whatever the mount says.
    let write = host
        .cmd(&[
            "exec",
            "secret-test-pod",
            "--",
            "sh",
            "-c",
            "echo x > /etc/secret-volume/new",
        ])
        .output();
    assert!(!write.unwrap().status.success());
    let env = exec(
        "secret-envars-test-pod",
        &["printenv", "SECRET_USERNAME", "SECRET_PASSWORD"],
    );
    assert_eq!(env, format!("my-app\n{PASSWORD}\n"));
    assert_eq!(
        exec("test-projected-volume", &["cat", "/projected-volume/username"]),
        "admin"
    );
    assert_eq!(
        exec("test-projected-volume", &["cat", "/projected-volume/password"]),
        PASSWORD
    );
    // The volumes live on tmpfs.
    let uid = host.uid("secret-test-pod");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let config = host.pod_dir(&uid).join("config");
    assert!(
        mounts
            .lines()
            .any(|l| l.contains(&format!(" {} ", config.display())) && l.contains(" - tmpfs ")),
        "no tmpfs at {}",
        config.display()
    );
    // Nothing on disk holds the value: the state dir outside the tmpfs mounts, and /tmp.
    let tmpfs: Vec<std::path::PathBuf> = mounts
        .lines()
        .filter(|l| l.contains(" - tmpfs "))
        .filter_map(|l| l.split(' ').nth(4).map(std::path::PathBuf::from))
        .collect();
    let state = host.state_dir();
    let hits = grep(&state, PASSWORD, &tmpfs, None);
    assert!(hits.is_empty(), "the secret is on disk in {hits:?}");
    // Below /tmp only what was written while this test ran: other checkouts of this
    // repository there (CI clones one) hold the example's value in sources and builds.
    let hits = grep(
        std::path::Path::new("/tmp"),
        PASSWORD,
        &[
            tmpfs.clone(),
            vec![
                host.dir.path().join("manifests"),
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            ],
        ]
        .concat(),
        Some(start),
    );
    assert!(hits.is_empty(), "the secret is on disk in {hits:?}");
    host.finish();
    let hits = grep(&state, PASSWORD, &[], None);
    assert!(hits.is_empty(), "the secret is left in {hits:?}");
}

/// Files below `dir` (not below any of `skip`, and modified since `since` when given)
/// whose bytes contain `needle`.
fn grep(
    dir: &std::path::Path,
    needle: &str,
    skip: &[std::path::PathBuf],
    since: Option<std::time::SystemTime>,
) -> Vec<std::path::PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if skip.iter().any(|s| d.starts_with(s)) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(path);
            } else if t.is_file()
                && since.is_none_or(|since| e.metadata().and_then(|m| m.modified()).is_ok_and(|m| m >= since))
                && let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                hits.push(path);
            }
        }
    }
    hits
}

fn config_pod(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: \"{value}\"\n  b: \"{value}-b\"\n---\n\
apiVersion: v1\nkind: Pod\nmetadata:\n  name: reader\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: busybox\n    command: [\"sleep\", \"3600\"]\n    env:\n    - name: A\n      valueFrom:\n        configMapKeyRef: {{name: app, key: a}}\n    volumeMounts:\n    - {{name: cfg, mountPath: /cfg}}\n    - {{name: cfg, mountPath: /one/a, subPath: a}}\n  volumes:\n  - name: cfg\n    configMap: {{name: app}}\n"
    )
}

#[test]
fn a_config_map_update_reaches_the_volume_in_one_swap_and_not_env_or_sub_path() {
    let Some(host) = LinuxHost::new() else { return };
    images(&host);
    host.apply(&config_pod("v1")).expect(0);
    let read = |path: &str| read_in_container(&host, "reader", "main", path);
    assert_eq!(read("/cfg/a").as_deref(), Some("v1"));
    assert_eq!(read("/one/a").as_deref(), Some("v1"));
    let uid = host.uid("reader");
    let data_dir = host.pod_dir(&uid).join("config/volumes/cfg");
    let before = std::fs::read_link(data_dir.join("..data")).unwrap();
    // Watch the volume: the only change a reader can see is the rename onto ..data.
    let inotify = nix::sys::inotify::Inotify::init(nix::sys::inotify::InitFlags::IN_NONBLOCK).unwrap();
    let mask = nix::sys::inotify::AddWatchFlags::IN_MOVED_TO
        | nix::sys::inotify::AddWatchFlags::IN_CREATE
        | nix::sys::inotify::AddWatchFlags::IN_DELETE;
    inotify.add_watch(&data_dir, mask).unwrap();
    host.apply(&config_pod("v2")).expect(0);
    super::eventually(10, "the new value", || read("/cfg/a").filter(|v| v == "v2"));
    assert_eq!(read("/cfg/b").as_deref(), Some("v2-b"));
    let events = inotify.read_events().unwrap_or_default();
    let names: Vec<String> = events
        .iter()
        .filter_map(|e| e.name.as_ref().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.starts_with("..2"))
        .collect();
    assert_eq!(names, ["..data_tmp", "..data"], "{events:?}");
    assert_ne!(std::fs::read_link(data_dir.join("..data")).unwrap(), before);
    // Same pod, no restart; env and the subPath mount keep the old value, as upstream.
    assert_eq!(host.uid("reader"), uid);
    let status = host.status(&uid).unwrap();
    assert_eq!(status.container_statuses[0].restart_count, 0);
    assert_eq!(
        host.run(&["exec", "reader", "--", "printenv", "A"]).expect(0).stdout,
        "v1\n"
    );
    assert_eq!(read("/one/a").as_deref(), Some("v1"));
    host.finish();
}

#[test]
fn a_missing_config_map_waits_and_starts_once_it_is_in_git() {
    let Some(host) = LinuxHost::new() else { return };
    images(&host);
    let full = config_pod("v1");
    let pod_only = full.split("---\n").nth(1).unwrap().to_string();
    // Env first: CreateContainerConfigError with the kubelet's message, apply exits 3.
    let env_only = pod_only
        .replace(
            "    volumeMounts:\n    - {name: cfg, mountPath: /cfg}\n    - {name: cfg, mountPath: /one/a, subPath: a}\n",
            "",
        )
        .replace("  volumes:\n  - name: cfg\n    configMap: {name: app}\n", "");
    let run = host.apply(&env_only).expect(3);
    assert!(
        run.stderr.contains("pod default/reader cannot become healthy: container main: CreateContainerConfigError (configmap \"app\" not found)"),
        "{}",
        run.stderr
    );
    let uid = host.uid("reader");
    let status = host.status(&uid).unwrap();
    assert_eq!(
        status.container_statuses[0].state,
        ContainerState::Waiting {
            reason: "CreateContainerConfigError".into(),
            message: Some("configmap \"app\" not found".into())
        }
    );
    // A ConfigMap without the key: the pod's data changed, so apply watches it, and it
    // cannot become healthy.
    let no_key = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  other: x\n---\n{env_only}");
    let run = host.apply(&no_key).expect(3);
    assert!(
        run.stderr
            .contains("pod default/reader cannot become healthy: container main: CreateContainerConfigError"),
        "{}",
        run.stderr
    );
    host.wait_for("reader", 10, |s| {
        matches!(&s.container_statuses[0].state, ContainerState::Waiting { message: Some(m), .. }
            if m == "couldn't find key a in ConfigMap default/app")
    });
    // The whole ConfigMap: the same pod starts.
    let with_env = full
        .replace(
            "    volumeMounts:\n    - {name: cfg, mountPath: /cfg}\n    - {name: cfg, mountPath: /one/a, subPath: a}\n",
            "",
        )
        .replace("  volumes:\n  - name: cfg\n    configMap: {name: app}\n", "");
    host.apply(&with_env).expect(0);
    assert_eq!(host.uid("reader"), uid);
    host.wait_for("reader", 10, |s| s.phase == PodPhase::Running);
    assert_eq!(
        host.run(&["exec", "reader", "--", "printenv", "A"]).expect(0).stdout,
        "v1\n"
    );
    host.finish();

    // A volume of a missing ConfigMap: ContainerCreating and FailedMount, as the kubelet.
    let Some(host) = LinuxHost::new() else { return };
    images(&host);
    let volume_only = pod_only.replace(
        "    env:\n    - name: A\n      valueFrom:\n        configMapKeyRef: {name: app, key: a}\n",
        "",
    );
    let run = host.apply(&volume_only).expect(3);
    let message = "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app\" not found";
    assert!(
        run.stderr.contains(&format!("container main: FailedMount: {message}")),
        "{}",
        run.stderr
    );
    let describe = host.run(&["describe", "pod/reader"]).expect(0).stdout;
    assert!(
        describe.contains("FailedMount") && describe.contains(message),
        "{describe}"
    );
    let uid = host.uid("reader");
    host.apply(&format!("{}---\n{volume_only}", full.split("---\n").next().unwrap()))
        .expect(0);
    assert_eq!(host.uid("reader"), uid);
    host.wait_for("reader", 10, |s| s.phase == PodPhase::Running);
    assert_eq!(
        read_in_container(&host, "reader", "main", "/cfg/a").as_deref(),
        Some("v1")
    );
    host.finish();
}
