//! The Linux runtime end to end: `rekon apply` with `REKON_RUNTIME=linux` runs real pods
//! (supervisors, namespaces, cgroups, overlay roots) from busybox images imported into a
//! temporary state; every test deletes what it made and asserts nothing leaked.
//! These need root: they skip without it, and fail under `CI=true`.

use rekon::runtime::Runtime;
use rekon::runtime::image::{ImageStore, ImportOptions, busybox_rootfs};
use rekon::runtime::linux_runtime::LinuxRuntime;
use rekon::runtime::status::{ContainerState, PodPhase, PodStatus};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use super::support::eventually;
use super::support::{Run, SHARED};

mod acceptance;
mod accounts;
mod config;
mod delete;
mod nodes;
mod probes;
mod rollout;
mod storage;

/// True when the test can run; panics under `CI=true` without root.
fn require_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "the Linux runtime tests need root and CI=true: run them as root"
    );
    eprintln!("skipping: the Linux runtime tests need root");
    false
}

/// A state directory with images, and the real `rekon` with the Linux runtime.
struct LinuxHost {
    dir: tempfile::TempDir,
    uids: std::cell::RefCell<Vec<String>>,
}

impl LinuxHost {
    fn new() -> Option<LinuxHost> {
        if !require_root() {
            return None;
        }
        Some(LinuxHost {
            dir: tempfile::tempdir().unwrap(),
            uids: Default::default(),
        })
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Imports a busybox root filesystem as `name` with an entrypoint/cmd.
    fn image(&self, name: &str, entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) {
        let rootfs = self.dir.path().join("busybox-rootfs");
        if !rootfs.exists() {
            busybox_rootfs(&rootfs).unwrap();
            // As in the nginx image, which the examples write into.
            std::fs::create_dir_all(rootfs.join("usr/share/nginx/html")).unwrap();
        }
        std::fs::create_dir_all(self.state_dir().join("images")).unwrap();
        let store = ImageStore::open(self.state_dir().join("images")).unwrap();
        let v = |s: Option<&[&str]>| s.map(|s| s.iter().map(|x| x.to_string()).collect());
        let opts = ImportOptions {
            entrypoint: v(entrypoint),
            cmd: v(cmd),
            ..Default::default()
        };
        store.import(name, &rootfs, &opts).unwrap();
    }

    /// The images the upstream examples use, all busybox.
    fn example_images(&self) {
        // busybox_rootfs links only a few applets: run httpd through the busybox binary.
        let httpd: &[&str] = &["/bin/busybox", "httpd", "-f", "-p", "80"];
        for nginx in ["nginx", "nginx:1.29", "nginx:1.14.2"] {
            self.image(nginx, Some(httpd), None);
        }
        for plain in [
            "debian",
            "busybox",
            "busybox:1.28",
            "registry.k8s.io/busybox:1.27.2",
            "alpine",
        ] {
            self.image(plain, None, Some(&["sh"]));
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rekon"));
        cmd.args(args)
            .env("REKON_STATE_DIR", self.state_dir())
            .env("REKON_RUNTIME", "linux")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().unwrap())
    }

    /// Applies `yaml` (written to manifests/pods.yaml) and remembers the pods it made.
    fn apply(&self, yaml: &str) -> Run {
        self.apply_with(yaml, &[])
    }

    /// `apply` that returns after the first step, for pods meant never to become Healthy.
    fn apply_no_wait(&self, yaml: &str) -> Run {
        self.apply_with(yaml, &["--no-wait"])
    }

    fn apply_with(&self, yaml: &str, flags: &[&str]) -> Run {
        let dir = self.dir.path().join("manifests");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pods.yaml"), yaml).unwrap();
        let mut args = vec!["apply", "--yes"];
        args.extend_from_slice(flags);
        args.extend(["-f", dir.to_str().unwrap()]);
        let run = self.run(&args);
        self.remember();
        run
    }

    fn remember(&self) {
        let mut uids = self.uids.borrow_mut();
        for uid in self.state_pods().into_values() {
            if !uids.contains(&uid) {
                uids.push(uid);
            }
        }
    }

    /// name → uid of the pods in the state.
    fn state_pods(&self) -> std::collections::BTreeMap<String, String> {
        let Ok(bytes) = std::fs::read(self.state_dir().join("state.json")) else {
            return Default::default();
        };
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["pods"]
            .as_object()
            .map(|pods| {
                pods.iter()
                    .map(|(uid, p)| (p["name"].as_str().unwrap().to_string(), uid.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn uid(&self, name: &str) -> String {
        self.state_pods()
            .remove(name)
            .unwrap_or_else(|| panic!("no pod {name} in the state"))
    }

    /// The node pod `uid` was placed on, from the state.
    fn state_node(&self, uid: &str) -> String {
        let bytes = std::fs::read(self.state_dir().join("state.json")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["pods"][uid]["node"].as_str().unwrap().to_string()
    }

    fn pod_dir(&self, uid: &str) -> PathBuf {
        self.state_dir().join("pods").join(uid)
    }

    fn status(&self, uid: &str) -> Option<PodStatus> {
        self.runtime().pod_status(uid).unwrap()
    }

    fn runtime(&self) -> LinuxRuntime {
        LinuxRuntime::new(self.state_dir()).unwrap()
    }

    /// Polls pod `name`'s status until `pred` holds; panics with the status after `secs`.
    #[track_caller]
    fn wait_for(&self, name: &str, secs: u64, pred: impl Fn(&PodStatus) -> bool) -> PodStatus {
        let uid = self.uid(name);
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let status = self.status(&uid);
            if let Some(s) = &status
                && pred(s)
            {
                return s.clone();
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.pod_dir(&uid).join("supervisor.log"));
                panic!("pod {name}: condition not met in {secs}s: {status:#?}\nsupervisor.log: {log:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The log lines (text only) of a container's current instance.
    fn log(&self, name: &str, container: &str) -> Vec<String> {
        let path = self
            .pod_dir(&self.uid(name))
            .join("logs")
            .join(container)
            .join("current.log");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| l.splitn(4, ' ').nth(3).unwrap_or("").to_string())
            .collect()
    }

    /// Deletes every pod through `apply` of an empty manifest set, then asserts that no
    /// process, cgroup, mount or pod directory is left.
    fn finish(self) {
        let empty = self.dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::write(empty.join("none.yaml"), "").unwrap();
        self.run(&["apply", "--yes", "-f", empty.to_str().unwrap()]).expect(0);
        self.assert_clean();
    }

    fn assert_clean(&self) {
        let uids = self.uids.borrow().clone();
        assert!(!uids.is_empty(), "the test made no pods");
        for uid in &uids {
            assert!(!self.pod_dir(uid).exists(), "pod dir {uid} left behind");
            let left = cgroup_dirs(uid);
            assert!(left.is_empty(), "cgroups left behind: {left:?}");
            for proc_dir in std::fs::read_dir("/proc").unwrap().flatten() {
                let cg = std::fs::read_to_string(proc_dir.path().join("cgroup")).unwrap_or_default();
                assert!(
                    !cg.contains(uid.as_str()),
                    "process {:?} left in pod {uid}",
                    proc_dir.file_name()
                );
            }
        }
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let state = self.state_dir().display().to_string();
        assert!(!mounts.contains(&state), "mounts left under {state}");
    }
}

impl Drop for LinuxHost {
    fn drop(&mut self) {
        // When a test failed half way: remove whatever it started.
        let mut rt = self.runtime();
        let pods: Vec<(String, Duration)> = rt
            .list_pods()
            .unwrap_or_default()
            .into_iter()
            .map(|uid| (uid, Duration::from_secs(1)))
            .collect();
        let _ = rekon::runtime::delete_pods(&mut rt, &pods);
    }
}

/// The rows of describe's `Events:` section: type, reason, from, message (the age left out).
fn describe_events(describe: &str) -> Vec<[String; 4]> {
    let events = describe
        .split("Events:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no events in\n{describe}"));
    let rows: Vec<Vec<&str>> = events
        .lines()
        .map(|l| l.trim().split("  ").map(str::trim).filter(|c| !c.is_empty()).collect())
        .collect();
    assert_eq!(rows[0], ["Type", "Reason", "Age", "From", "Message"], "{describe}");
    rows[2..]
        .iter()
        .map(|r| [r[0], r[1], r[3], &r[4..].join("  ")].map(str::to_string))
        .collect()
}

/// CPUs a cgroup (with its descendants) used over about 2 s. Measuring, not synchronising:
/// two samples about 2 s apart on the monotonic clock.
fn cpu_cores_used(cgroup: &rekon::runtime::linux::Cgroup) -> f64 {
    let usage = || cgroup.stats().unwrap().cpu_usage_ns;
    let (start, before) = (Instant::now(), usage());
    while start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (elapsed, after) = (start.elapsed(), usage());
    (after - before) as f64 / elapsed.as_nanos() as f64
}

/// Cgroup directories of pod `uid` under every controller.
fn cgroup_dirs(uid: &str) -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut bases = vec![root.join("rekon")];
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        bases.push(entry.path().join("rekon"));
    }
    let mut found = Vec::new();
    for base in bases {
        let Ok(nodes) = std::fs::read_dir(&base) else { continue };
        for node in nodes.flatten() {
            let dir = node.path().join(uid);
            if dir.exists() {
                found.push(dir);
            }
        }
    }
    found
}

fn pod(name: &str, restart: &str, command: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  restartPolicy: {restart}\n  terminationGracePeriodSeconds: 2\n  containers:\n  - name: main\n    image: busybox\n    command: [\"sh\", \"-c\", {command:?}]\n"
    )
}

/// An upstream example with `terminationGracePeriodSeconds: 2` added: busybox httpd standing
/// in for nginx is PID 1 without a SIGTERM handler, so it would use the whole 30 s default.
fn example(path: &str) -> String {
    let text = std::fs::read_to_string(Path::new(SHARED).join("k8s-examples").join(path)).unwrap();
    if text.contains("spec: {") {
        text.replacen("spec: {", "spec: {\n    terminationGracePeriodSeconds: 2,", 1)
    } else {
        text.replacen("\nspec:\n", "\nspec:\n  terminationGracePeriodSeconds: 2\n", 1)
    }
}

fn terminated(status: &PodStatus, container: &str) -> Option<(i32, String)> {
    status
        .container_statuses
        .iter()
        .chain(&status.init_container_statuses)
        .find(|c| c.name == container)
        .and_then(|c| match &c.state {
            ContainerState::Terminated { exit_code, reason, .. } => Some((*exit_code, reason.clone())),
            _ => None,
        })
}

#[test]
fn exit_0_under_on_failure_ends_succeeded() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&pod("ok", "OnFailure", "echo hello; echo oops >&2; exit 0"))
        .expect(0);
    let status = host.wait_for("ok", 20, |s| s.phase == PodPhase::Succeeded);
    assert_eq!(terminated(&status, "main"), Some((0, "Completed".into())));
    assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));
    assert_eq!(host.log("ok", "main"), ["hello", "oops"]);
    let text = std::fs::read_to_string(host.pod_dir(&host.uid("ok")).join("logs/main/current.log")).unwrap();
    assert!(
        text.contains(" stdout F hello\n") && text.contains(" stderr F oops\n"),
        "{text}"
    );
    host.finish();
}

/// The host pid of a container's current process (`containers/<name>/pid`).
fn container_pid(host: &LinuxHost, pod: &str, container: &str) -> Option<i32> {
    let path = host
        .pod_dir(&host.uid(pod))
        .join("containers")
        .join(container)
        .join("pid");
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A file inside a running container's root (`/proc/<pid>/root`).
fn read_in_container(host: &LinuxHost, pod: &str, container: &str, path: &str) -> Option<String> {
    let pid = container_pid(host, pod, container)?;
    std::fs::read_to_string(format!("/proc/{pid}/root{path}")).ok()
}

fn get_pods(host: &LinuxHost) -> String {
    host.run(&["get", "pods"]).expect(0).stdout
}

fn row(table: &str, name: &str) -> Vec<String> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in\n{table}"))
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn crashing_container_under_always_backs_off() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    // apply stops as soon as the pod crash-loops, naming it, with the container's last words.
    let started = std::time::Instant::now();
    let run = host.apply(&pod("crash", "Always", "echo run; exit 3")).expect(3);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        run.stderr,
        "Error: pod default/crash cannot become healthy: container main: CrashLoopBackOff (exit code 3, 1 restart)\n  last log line of container main: run\n"
    );
    host.wait_for("crash", 20, |s| {
        s.restarts() >= 1
            && matches!(&s.container_statuses[0].state, ContainerState::Waiting { reason, .. } if reason == "CrashLoopBackOff")
    });
    let r = row(&get_pods(&host), "crash");
    assert_eq!(r[2], "CrashLoopBackOff", "{r:?}");
    assert!(r[3].parse::<u32>().unwrap() >= 1, "{r:?}");
    // The instance that ended is kept for `rekon logs --previous`.
    let previous = host.run(&["logs", "crash", "--previous"]).expect(0);
    assert_eq!(previous.stdout, "run\n");
    // The scheduler's and the kubelet's events, in describe's columns, repeats counted.
    let describe = host.run(&["describe", "pod/crash"]).expect(0).stdout;
    let events = describe
        .split("Events:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{describe}"));
    let rows: Vec<Vec<&str>> = events
        .lines()
        .map(|l| l.trim().split("  ").map(str::trim).filter(|c| !c.is_empty()).collect())
        .collect();
    assert_eq!(rows[0], ["Type", "Reason", "Age", "From", "Message"]);
    let seen = |reason: &str| -> (String, String, String) {
        let row = rows
            .iter()
            .find(|r| r[1] == reason)
            .unwrap_or_else(|| panic!("no {reason} in\n{events}"));
        (row[0].to_string(), row[3].to_string(), row[4].to_string())
    };
    let host_name = rekon::runtime::host::hostname();
    assert_eq!(
        seen("Scheduled"),
        (
            "Normal".into(),
            "default-scheduler".into(),
            format!("Successfully assigned default/crash to {host_name}")
        )
    );
    assert_eq!(
        seen("Pulled"),
        (
            "Normal".into(),
            "kubelet".into(),
            "Container image \"busybox\" already present on machine".into()
        )
    );
    assert_eq!(
        seen("Created"),
        ("Normal".into(), "kubelet".into(), "Created container: main".into())
    );
    assert_eq!(
        seen("Started"),
        ("Normal".into(), "kubelet".into(), "Started container main".into())
    );
    let uid = host.uid("crash");
    assert_eq!(
        seen("BackOff"),
        (
            "Warning".into(),
            "kubelet".into(),
            format!("Back-off restarting failed container main in pod crash_default({uid})")
        )
    );
    let run = host
        .run(&["events", "--for", "po/crash", "--types", "Warning"])
        .expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("LAST SEEN   TYPE      REASON    OBJECT      MESSAGE"),
        "{}",
        run.stdout
    );
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(
        lines[1].contains(
            "   Warning   BackOff   pod/crash   Back-off restarting failed container main in pod crash_default("
        ),
        "{}",
        run.stdout
    );
    host.finish();
}

#[test]
fn never_leaves_a_failed_pod_failed_and_oom_kills_are_reported() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let oom = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hog\nspec:\n  restartPolicy: Never\n  containers:\n  - name: main\n    image: busybox\n    command: [\"tail\", \"/dev/zero\"]\n    resources:\n      limits:\n        memory: 32Mi\n";
    let run = host
        .apply(&format!("{}---\n{oom}", pod("fail", "Never", "exit 2")))
        .expect(3);
    assert!(
        run.stderr
            .starts_with("Error: pod default/fail cannot become healthy: container main: Error (exit code 2)")
            || run
                .stderr
                .starts_with("Error: pod default/hog cannot become healthy: container main: OOMKilled (exit code 137)"),
        "{}",
        run.stderr
    );
    let status = host.wait_for("fail", 20, |s| s.phase == PodPhase::Failed);
    assert_eq!(terminated(&status, "main"), Some((2, "Error".into())));
    let status = host.wait_for("hog", 30, |s| s.phase == PodPhase::Failed);
    assert_eq!(terminated(&status, "main"), Some((137, "OOMKilled".into())));
    assert_eq!(status.qos_class.as_deref(), Some("Burstable"));
    let table = get_pods(&host);
    assert_eq!(row(&table, "fail")[2], "Error");
    assert_eq!(row(&table, "hog")[2], "OOMKilled");
    host.finish();
}

#[test]
fn a_killed_supervisor_shows_unknown_and_the_next_apply_replaces_the_pod() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let yaml = pod("sleeper", "Always", "sleep 3600");
    host.apply(&yaml).expect(0);
    host.wait_for("sleeper", 20, |s| s.phase == PodPhase::Running);
    // The pod keeps running after `rekon apply` exited.
    let pid = container_pid(&host, "sleeper", "main").unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    let old = host.uid("sleeper");
    let sup = std::fs::read_to_string(host.pod_dir(&old).join("supervisor.pid")).unwrap();
    let sup_pid: i32 = sup.split_whitespace().next().unwrap().parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sup_pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    host.wait_for("sleeper", 10, |s| s.phase == PodPhase::Unknown);
    assert_eq!(row(&get_pods(&host), "sleeper")[2], "Unknown");
    host.apply(&yaml).expect(0);
    let new = host.uid("sleeper");
    assert_ne!(new, old);
    assert!(!host.pod_dir(&old).exists(), "the dead pod was not cleaned up");
    assert!(cgroup_dirs(&old).is_empty());
    host.wait_for("sleeper", 20, |s| s.phase == PodPhase::Running);
    host.finish();
}

#[test]
fn init_containers_example_without_network_stays_in_init() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let run = host.apply(&example("pods/init-containers.yaml")).expect(3);
    assert!(
        run.stderr.starts_with(
            "Error: pod default/init-demo cannot become healthy: container install: CrashLoopBackOff (exit code 1, "
        ),
        "{}",
        run.stderr
    );
    // wget to info.cern.ch cannot work in a pod without a network: the init container fails
    // and is retried, and the app container never starts.
    let status = host.wait_for("init-demo", 20, |s| {
        s.init_container_statuses.first().is_some_and(|c| c.restart_count >= 1)
    });
    assert_eq!(status.phase, PodPhase::Pending);
    assert!(
        matches!(&status.container_statuses[0].state, ContainerState::Waiting { reason, .. } if reason == "PodInitializing")
    );
    let r = row(&get_pods(&host), "init-demo");
    assert!(r[2].starts_with("Init:"), "{r:?}");
    host.finish();
}

#[test]
fn shared_volume_example_init_writes_what_the_app_serves() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&example("pods/multi-container/shared-volume.yaml"))
        .expect(0);
    host.wait_for("shared-volume-example", 20, |s| s.phase == PodPhase::Running);
    let text = eventually(10, "index.html", || {
        read_in_container(
            &host,
            "shared-volume-example",
            "web",
            "/usr/share/nginx/html/index.html",
        )
    });
    assert_eq!(text, "Hello from the init container\n");
    host.finish();
}

#[test]
fn two_container_example_shares_an_empty_dir() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&example("pods/two-container-pod.yaml")).expect(0);
    let status = host.wait_for("two-containers", 20, |s| terminated(s, "debian-container").is_some());
    assert_eq!(terminated(&status, "debian-container"), Some((0, "Completed".into())));
    assert_eq!(status.phase, PodPhase::Running);
    let text = read_in_container(
        &host,
        "two-containers",
        "nginx-container",
        "/usr/share/nginx/html/index.html",
    );
    assert_eq!(text.as_deref(), Some("Hello from the debian container\n"));
    // A pod is one process on the host: the supervisor holds the pod's network, UTS and IPC
    // namespaces itself, and its only child left is the running container.
    let supervisor = supervisor_pid(&host, "two-containers");
    let nginx = container_pid(&host, "two-containers", "nginx-container").unwrap();
    for ns in ["net", "uts", "ipc"] {
        let of = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        assert_eq!(of(&supervisor.to_string()), of(&nginx.to_string()), "{ns} namespace");
        assert_ne!(of(&supervisor.to_string()), of("self"), "{ns} namespace");
    }
    assert_eq!(children(supervisor), vec![nginx]);
    host.finish();
}

/// The pid of a pod's supervisor (`supervisor.pid`: pid and start time).
fn supervisor_pid(host: &LinuxHost, pod: &str) -> i32 {
    let text = std::fs::read_to_string(host.pod_dir(&host.uid(pod)).join("supervisor.pid")).unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// The children of a process, from `/proc/<pid>/task/*/children`.
fn children(pid: i32) -> Vec<i32> {
    let mut all: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .flat_map(|t| {
            std::fs::read_to_string(t.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect::<Vec<i32>>()
        })
        .collect();
    all.sort();
    all
}

#[test]
fn lifecycle_example_runs_the_post_start_hook_in_the_container() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&example("pods/lifecycle-events.yaml")).expect(0);
    host.wait_for("lifecycle-demo", 20, |s| s.phase == PodPhase::Running && s.is_ready());
    let text = read_in_container(
        &host,
        "lifecycle-demo",
        "lifecycle-demo-container",
        "/usr/share/message",
    );
    assert_eq!(text.as_deref(), Some("Hello from the postStart handler\n"));
    host.finish();
}

#[test]
fn share_process_namespace_example_puts_containers_in_one_pid_namespace() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&example("pods/share-process-namespace.yaml")).expect(0);
    host.wait_for("nginx", 20, |s| s.phase == PodPhase::Running && s.is_ready());
    let ns =
        |c: &str| std::fs::read_link(format!("/proc/{}/ns/pid", container_pid(&host, "nginx", c).unwrap())).unwrap();
    assert_eq!(ns("nginx"), ns("shell"));
    assert_ne!(ns("nginx"), std::fs::read_link("/proc/self/ns/pid").unwrap());
    // PID 1 of that namespace is the pod's pause process, the supervisor's third child.
    let supervisor = supervisor_pid(&host, "nginx");
    let containers = [
        container_pid(&host, "nginx", "nginx").unwrap(),
        container_pid(&host, "nginx", "shell").unwrap(),
    ];
    let pause: Vec<i32> = children(supervisor)
        .into_iter()
        .filter(|p| !containers.contains(p))
        .collect();
    assert_eq!(pause.len(), 1, "{:?}", children(supervisor));
    assert_eq!(
        std::fs::read_link(format!("/proc/{}/ns/pid", pause[0])).unwrap(),
        ns("nginx")
    );
    // The shell sees the web server: its /proc lists httpd.
    let shell = container_pid(&host, "nginx", "shell").unwrap();
    let seen: Vec<String> = std::fs::read_dir(format!("/proc/{shell}/root/proc"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim().to_string())
        .collect();
    assert!(seen.contains(&"/bin/busybox httpd -f -p 80".to_string()), "{seen:?}");
    assert!(seen.contains(&"sleep 3600".to_string()), "{seen:?}");
    host.finish();
}

#[test]
fn host_aliases_example_prints_the_kubelet_hosts_file() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&example("service/networking/hostaliases-pod.yaml"))
        .expect(0);
    host.wait_for("hostaliases-pod", 20, |s| s.phase == PodPhase::Succeeded);
    assert_eq!(
        host.log("hostaliases-pod", "cat-hosts").join("\n"),
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\tbar.remote"
    );
    host.finish();
}
