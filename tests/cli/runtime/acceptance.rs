//! Acceptance points of the Linux runtime: container start failures (a missing executable, no
//! command, a missing hostPath, a missing image), a CPU limit that holds, `rekon exec` against
//! a real pod, and `rekon down` leaving nothing behind.

#![allow(unsafe_code)] // a pty for the tty tests: ioctl and pre_exec

use super::{LinuxHost, cgroup_dirs, eventually, get_pods, row, terminated};
use rekon::runtime::linux::CgroupRoot;
use rekon::runtime::linux::cgroup::DEFAULT_CGROUP_ROOT;
use rekon::runtime::status::{ContainerState, PodPhase, PodStatus};
use std::path::Path;

/// A one-container pod with `extra` appended to the container (indented 4 spaces).
fn pod_with(name: &str, restart: &str, image: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  restartPolicy: {restart}\n  terminationGracePeriodSeconds: 2\n  containers:\n  - name: main\n    image: {image}\n{extra}"
    )
}

/// The waiting reason and message of the pod's first container.
fn waiting(status: &PodStatus) -> Option<(String, Option<String>)> {
    match &status.container_statuses.first()?.state {
        ContainerState::Waiting { reason, message } => Some((reason.clone(), message.clone())),
        _ => None,
    }
}

fn describe(host: &LinuxHost, name: &str) -> String {
    host.run(&["describe", &format!("pod/{name}")]).expect(0).stdout
}

#[track_caller]
fn assert_contains(text: &str, wanted: &str) {
    assert!(text.contains(wanted), "{wanted:?} not in\n{text}");
}

#[test]
fn a_missing_executable_is_a_start_error() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let extra = "    command: [\"nope\"]\n";
    let yaml = format!(
        "{}---\n{}",
        pod_with("nope-always", "Always", "busybox", extra),
        pod_with("nope-never", "Never", "busybox", extra)
    );
    let run = host.apply(&yaml).expect(3);
    assert!(
        run.stderr.starts_with("Error: pod default/nope-")
            && run.stderr.contains(" cannot become healthy: container main: "),
        "{}",
        run.stderr
    );
    let message = "exec: \"nope\": executable file not found in $PATH";
    let status = host.wait_for("nope-always", 30, |s| {
        s.restarts() >= 1 && waiting(s).is_some_and(|(reason, _)| reason == "CrashLoopBackOff")
    });
    match &status.container_statuses[0].last_state {
        Some(ContainerState::Terminated {
            exit_code,
            reason,
            message: m,
            ..
        }) => assert_eq!(
            (*exit_code, reason.as_str(), m.as_deref()),
            (128, "StartError", Some(message))
        ),
        other => panic!("last state {other:?}"),
    }
    let text = describe(&host, "nope-always");
    assert_contains(
        &text,
        "    State:          Waiting\n      Reason:       CrashLoopBackOff\n",
    );
    assert_contains(
        &text,
        &format!(
            "    Last State:     Terminated\n      Reason:       StartError\n      Message:      {message}\n      Exit Code:    128\n"
        ),
    );

    let status = host.wait_for("nope-never", 20, |s| s.phase == PodPhase::Failed);
    assert_eq!(terminated(&status, "main"), Some((128, "StartError".into())));
    assert_eq!(row(&get_pods(&host), "nope-never")[2], "StartError");
    let text = describe(&host, "nope-never");
    assert_contains(
        &text,
        &format!(
            "    State:          Terminated\n      Reason:       StartError\n      Message:      {message}\n      Exit Code:    128\n"
        ),
    );
    host.finish();
}

#[test]
fn an_image_without_entrypoint_or_cmd_is_a_config_error() {
    let Some(host) = LinuxHost::new() else { return };
    host.image("bare", None, None);
    let run = host.apply(&pod_with("bare", "Always", "bare", "")).expect(3);
    assert_eq!(
        run.stderr,
        "Error: pod default/bare cannot become healthy: container main: CreateContainerConfigError (container main: no command specified: image \"bare\" has no ENTRYPOINT or CMD and the container sets no command)\n"
    );
    let message = "container main: no command specified: image \"bare\" has no ENTRYPOINT or CMD and the container sets no command";
    let status = host.wait_for("bare", 20, |s| waiting(s).is_some());
    assert_eq!(
        waiting(&status),
        Some(("CreateContainerConfigError".into(), Some(message.into())))
    );
    assert_eq!(row(&get_pods(&host), "bare")[2], "CreateContainerConfigError");
    assert_contains(
        &describe(&host, "bare"),
        &format!(
            "    State:          Waiting\n      Reason:       CreateContainerConfigError\n      Message:      {message}\n"
        ),
    );
    host.finish();
}

#[test]
fn a_missing_host_path_directory_is_a_config_error_naming_the_path() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let missing = host.dir.path().join("no-such-dir");
    let volume = |mount: &str| {
        format!(
            "    command: [\"sleep\", \"3600\"]\n    volumeMounts:\n    - name: {mount}\n      mountPath: /data\n  volumes:\n  - name: data\n    hostPath:\n      path: {}\n      type: Directory\n",
            missing.display()
        )
    };
    // A mount of an undefined volume is invalid, as the API server's validation says.
    let dir = host.dir.path().join("bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("pod.yaml"),
        pod_with("hp", "Always", "busybox", &volume("other")),
    )
    .unwrap();
    let problem = "bad/pod.yaml:13:13: spec.containers[0].volumeMounts[0].name: not found: \"other\"\nError: 1 problem in the manifests; nothing was changed\n";
    for verb in ["validate", "plan"] {
        let run = host.run(&[verb, "-f", "bad"]).expect(1);
        assert_eq!(run.stderr, problem, "rekon {verb}");
    }
    assert!(host.state_pods().is_empty());

    let run = host
        .apply(&pod_with("hp", "Always", "busybox", &volume("data")))
        .expect(3);
    assert!(
        run.stderr
            .starts_with("Error: pod default/hp cannot become healthy: container main: CreateContainerConfigError ("),
        "{}",
        run.stderr
    );
    let message = format!(
        "volume data: hostPath type check failed: {} does not exist",
        missing.display()
    );
    let status = host.wait_for("hp", 20, |s| waiting(s).is_some_and(|(r, _)| r != "ContainerCreating"));
    assert_eq!(
        waiting(&status),
        Some(("CreateContainerConfigError".into(), Some(message.clone())))
    );
    assert_contains(
        &describe(&host, "hp"),
        &format!("      Reason:       CreateContainerConfigError\n      Message:      {message}\n"),
    );
    host.finish();
}

#[test]
fn a_missing_image_backs_off_and_starts_once_imported() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    // apply stops as soon as the image is found missing, with the kubelet's reason.
    let run = host
        .apply(&pod_with(
            "later",
            "Always",
            "later:1",
            "    command: [\"sleep\", \"3600\"]\n",
        ))
        .expect(3);
    assert_eq!(
        run.stderr,
        "Error: pod default/later cannot become healthy: container main: ErrImagePull (image \"later:1\" is not in rekon's image store; import it with `rekon image import`)\n"
    );
    let reason = |s: &PodStatus| waiting(s).map(|(r, _)| r);
    let status = host.wait_for("later", 20, |s| reason(s).as_deref() == Some("ErrImagePull"));
    assert_eq!(
        waiting(&status).unwrap().1.as_deref(),
        Some("image \"later:1\" is not in rekon's image store; import it with `rekon image import`")
    );
    assert_eq!(row(&get_pods(&host), "later")[2], "ErrImagePull");
    let status = host.wait_for("later", 30, |s| reason(s).as_deref() == Some("ImagePullBackOff"));
    assert_eq!(
        waiting(&status).unwrap().1.as_deref(),
        Some("Back-off pulling image \"later:1\"")
    );
    assert_eq!(row(&get_pods(&host), "later")[2], "ImagePullBackOff");
    // The supervisor kept running through it all.
    assert_eq!(status.phase, PodPhase::Pending);
    host.image("later:1", None, None);
    host.wait_for("later", 60, |s| s.phase == PodPhase::Running);
    assert_eq!(row(&get_pods(&host), "later")[2], "Running");
    host.finish();
}

#[test]
fn a_cpu_limit_holds_a_busy_loop_near_its_share() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let extra =
        "    command: [\"sh\", \"-c\", \"while :; do :; done\"]\n    resources:\n      limits:\n        cpu: 200m\n";
    host.apply(&pod_with("busy", "Always", "busybox", extra)).expect(0);
    host.wait_for("busy", 20, |s| s.phase == PodPhase::Running);
    let uid = host.uid("busy");
    let node = host.state_node(&uid);
    let cgroup = CgroupRoot::detect(Path::new(DEFAULT_CGROUP_ROOT))
        .unwrap()
        .container(&node, &uid, "main")
        .unwrap();
    let share = super::cpu_cores_used(&cgroup);
    assert!((0.10..=0.30).contains(&share), "cpu share {share:.3} of one core");
    host.finish();
}

#[test]
fn exec_runs_in_the_container_and_names_a_missing_container() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&pod_with(
        "execme",
        "Always",
        "busybox",
        "    command: [\"sleep\", \"3600\"]\n",
    ))
    .expect(0);
    host.wait_for("execme", 20, |s| s.phase == PodPhase::Running);
    let run = host.run(&["exec", "execme", "--", "cat", "/etc/hostname"]).expect(0);
    assert_eq!(run.stdout, "execme\n");
    let run = host.run(&["exec", "execme", "-c", "nosuch", "--", "true"]).expect(1);
    assert_eq!(run.stderr, "Error: container nosuch not found in pod execme\n");
    assert_eq!(run.stdout, "");
    host.finish();
}

#[test]
fn down_stops_every_pod_and_leaves_nothing() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let sleeper = |name: &str| pod_with(name, "Always", "busybox", "    command: [\"sleep\", \"3600\"]\n");
    host.apply(&format!("{}---\n{}", sleeper("one"), sleeper("two")))
        .expect(0);
    let mut supervisors = Vec::new();
    for name in ["one", "two"] {
        host.wait_for(name, 20, |s| s.phase == PodPhase::Running);
        let text = std::fs::read_to_string(host.pod_dir(&host.uid(name)).join("supervisor.pid")).unwrap();
        let (pid, start) = text.trim().split_once(' ').unwrap();
        supervisors.push((pid.to_string(), start.to_string()));
    }
    let uids: Vec<String> = host.uids.borrow().clone();
    assert_eq!(uids.len(), 2);
    let run = host.run(&["down", "--yes"]).expect(0);
    assert_contains(&run.stdout, "Destroy complete! Resources: 2 destroyed.\n");
    assert!(host.state_pods().is_empty(), "pods left in the state");
    for (pid, start) in &supervisors {
        // Gone, or a recycled pid with another start time (field 22 of /proc/<pid>/stat).
        eventually(10, &format!("supervisor {pid} to exit"), || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // After the ")", field 3 (the state) is index 0 and starttime (22) is index 19.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map_or(vec![], |(_, r)| r.split_whitespace().collect());
            let same = fields.get(19) == Some(&start.as_str());
            (!same || fields.first() == Some(&"Z")).then_some(())
        });
    }
    for uid in &uids {
        assert!(cgroup_dirs(uid).is_empty(), "cgroups of {uid} left");
    }
    host.assert_clean();
}

#[test]
fn exec_with_a_tty_gives_the_process_a_terminal() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&pod_with(
        "ttyme",
        "Always",
        "busybox",
        "    command: [\"sleep\", \"3600\"]\n",
    ))
    .expect(0);
    host.wait_for("ttyme", 20, |s| s.phase == PodPhase::Running);
    // `script` gives rekon a terminal of its own, as a user's shell would.
    let inner = format!(
        "{} exec -i -t ttyme -- sh -c 'tty; exit 7'",
        env!("CARGO_BIN_EXE_rekon")
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env("REKON_STATE_DIR", host.state_dir())
        .env("REKON_RUNTIME", "linux")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("/dev/pts/"), "the process has a pty: {stdout:?}");
    assert_eq!(out.status.code(), Some(7), "the exit code comes through: {stdout:?}");
    host.finish();
}

#[test]
fn exec_with_a_tty_follows_the_local_terminal_size() {
    use nix::pty::{Winsize, openpty};
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&pod_with(
        "resize",
        "Always",
        "busybox",
        "    command: [\"sleep\", \"3600\"]\n",
    ))
    .expect(0);
    host.wait_for("resize", 20, |s| s.phase == PodPhase::Running);
    let size = |rows, cols| Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // rekon gets a terminal of its own (a session with the pty as controlling terminal), as
    // under a user's shell; resizing it from the master side sends rekon SIGWINCH.
    let pty = openpty(Some(&size(24, 80)), None).unwrap();
    let slave = |pty: &OwnedFd| std::process::Stdio::from(pty.try_clone().unwrap());
    let mut command = host.cmd(&[
        "exec",
        "-i",
        "-t",
        "resize",
        "--",
        "sh",
        "-c",
        "stty size; read x; stty size",
    ]);
    command
        .stdin(slave(&pty.slave))
        .stdout(slave(&pty.slave))
        .stderr(slave(&pty.slave));
    // SAFETY: between fork and exec only async-signal-safe calls: setsid and an ioctl.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()?;
            nix::errno::Errno::result(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    drop(pty.slave);
    let mut seen = String::new();
    read_until(&pty.master, &mut seen, "24 80");
    // SAFETY: TIOCSWINSZ reads one winsize through the pointer, valid across the call.
    let res = unsafe { libc::ioctl(pty.master.as_raw_fd(), libc::TIOCSWINSZ, &size(50, 132)) };
    assert_eq!(res, 0);
    nix::unistd::write(&pty.master, b"\n").unwrap();
    read_until(&pty.master, &mut seen, "50 132");
    assert!(child.wait().unwrap().success(), "{seen:?}");
    host.finish();
}

/// Reads the pty master into `seen` until it contains `wanted` (20 s at most).
#[track_caller]
fn read_until(master: &std::os::fd::OwnedFd, seen: &mut String, wanted: &str) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut buf = [0u8; 1024];
    while !seen.contains(wanted) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(!left.is_zero(), "{wanted:?} never came; the terminal showed {seen:?}");
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        if poll(&mut fds, PollTimeout::from(ms)).unwrap() == 0 {
            continue;
        }
        match nix::unistd::read(master, &mut buf) {
            Ok(n) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            other => panic!("the terminal closed ({other:?}) before {wanted:?}; it showed {seen:?}"),
        }
    }
}

/// A field of `/proc/<pid>/status`.
fn status_field(pid: i32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
        .to_string()
}

#[test]
fn containers_get_the_runtime_default_capabilities_and_masked_proc() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let sleeper = |name: &str, security: &str| {
        format!("  - name: {name}\n    image: busybox\n    command: [\"sleep\", \"3600\"]\n{security}")
    };
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: caps\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n{}{}{}",
        sleeper("plain", ""),
        sleeper(
            "tight",
            "    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities:\n        drop: [ALL]\n        add: [NET_BIND_SERVICE]\n"
        ),
        sleeper("privileged", "    securityContext:\n      privileged: true\n"),
    );
    host.apply(&pod).expect(0);
    host.wait_for("caps", 20, |s| s.phase == PodPhase::Running);
    let pid = |c: &str| super::container_pid(&host, "caps", c).unwrap();
    // containerd's default set is Docker's a80425fb; NET_BIND_SERVICE alone is bit 10.
    assert_eq!(status_field(pid("plain"), "CapBnd:"), "00000000a80425fb");
    assert_eq!(status_field(pid("plain"), "CapEff:"), "00000000a80425fb");
    assert_eq!(status_field(pid("plain"), "NoNewPrivs:"), "0");
    assert_eq!(status_field(pid("tight"), "CapBnd:"), "0000000000000400");
    assert_eq!(status_field(pid("tight"), "NoNewPrivs:"), "1");
    let own = status_field(std::process::id() as i32, "CapBnd:");
    assert_eq!(
        status_field(pid("privileged"), "CapBnd:"),
        own,
        "privileged keeps all rekon has"
    );
    // exec'd commands run under the container's restrictions, and see its /proc.
    let exec = |c: &str, script: &str| host.run(&["exec", "caps", "-c", c, "--", "sh", "-c", script]);
    let inside = exec(
        "tight",
        "grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status; wc -c < /proc/interrupts; ls /sys/firmware | wc -l",
    )
    .expect(0);
    assert_eq!(
        inside.stdout.split_whitespace().collect::<Vec<_>>(),
        ["CapBnd:", "0000000000000400", "NoNewPrivs:", "1", "0", "0"],
        "masked /proc/interrupts and /sys/firmware"
    );
    let read_only = exec("plain", "echo 1 > /proc/sys/vm/overcommit_memory").expect(1);
    assert_contains(&read_only.stderr, "Read-only file system");
    let unmasked = exec("privileged", "wc -c < /proc/interrupts").expect(0);
    assert_ne!(
        unmasked.stdout.trim(),
        "0",
        "a privileged container sees /proc unmasked"
    );
    host.finish();
}

#[test]
fn an_unknown_capability_is_refused_before_anything_runs() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let run = host
        .apply(&pod_with(
            "badcap",
            "Always",
            "busybox",
            "    command: [\"sleep\", \"3600\"]\n    securityContext:\n      capabilities:\n        add: [NET_FLY]\n",
        ))
        .expect(1);
    assert_contains(
        &run.stderr,
        "spec.containers[0].securityContext.capabilities.add[0]: invalid value \"NET_FLY\": not a Linux capability",
    );
    assert!(host.state_pods().is_empty(), "nothing applied");
}

#[test]
fn an_image_stop_signal_stops_the_container() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let rootfs = host.dir.path().join("busybox-rootfs");
    host.run(&[
        "image",
        "import",
        "stopper",
        rootfs.to_str().unwrap(),
        "--cmd",
        "sh",
        "--stop-signal",
        "SIGUSR1",
    ])
    .expect(0);
    let bad = host.run(&[
        "image",
        "import",
        "x",
        rootfs.to_str().unwrap(),
        "--stop-signal",
        "SIGNOPE",
    ]);
    assert_contains(
        &bad.expect(1).stderr,
        "--stop-signal \"SIGNOPE\": not a signal name or number",
    );
    let out = host.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let script =
        "trap 'echo usr1 > /out/signal; exit 0' USR1; trap 'echo term > /out/signal; exit 0' TERM; sleep 3600 & wait";
    host.apply(&pod_with(
        "stopper",
        "Always",
        "stopper",
        &format!(
            "    command: [\"sh\", \"-c\", \"{script}\"]\n    volumeMounts:\n    - {{name: out, mountPath: /out}}\n  volumes:\n  - name: out\n    hostPath: {{path: {}}}\n",
            out.display()
        ),
    ))
    .expect(0);
    host.wait_for("stopper", 20, |s| s.phase == PodPhase::Running);
    host.run(&["delete", "pod/stopper"]).expect(0);
    let got = eventually(20, "the container to record its signal", || {
        std::fs::read_to_string(out.join("signal")).ok()
    });
    assert_eq!(got, "usr1\n", "the image's STOPSIGNAL, not SIGTERM");
    host.finish();
}

#[test]
fn http_get_hooks_reach_the_pod_and_a_refused_one_fails_post_start() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let out = host.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // A sidecar web server whose CGI script records the request; its startup probe makes the
    // app container (and so its postStart hook) wait until it listens.
    let server = "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\\\necho \\\"$REQUEST_URI $HTTP_USER_AGENT\\\" >> /out/requests\\\\necho Status: 500 Broken\\\\necho\\\\n' > /www/cgi-bin/hook && chmod +x /www/cgi-bin/hook && exec /bin/busybox httpd -f -p 8080 -h /www";
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hooked\nspec:\n  terminationGracePeriodSeconds: 2\n  volumes:\n  - name: out\n    hostPath: {{path: {out}}}\n  initContainers:\n  - name: server\n    image: busybox\n    restartPolicy: Always\n    command: [\"sh\", \"-c\", \"{server}\"]\n    volumeMounts: [{{name: out, mountPath: /out}}]\n    startupProbe:\n      tcpSocket: {{port: 8080}}\n      periodSeconds: 1\n  containers:\n  - name: app\n    image: busybox\n    command: [\"sleep\", \"3600\"]\n    lifecycle:\n      postStart:\n        httpGet: {{path: /cgi-bin/hook?start, port: 8080}}\n---\n{}",
        pod_with(
            "refused",
            "Always",
            "busybox",
            "    command: [\"sleep\", \"3600\"]\n    lifecycle:\n      postStart:\n        httpGet: {path: /, port: 9}\n",
        ),
        out = out.display(),
    );
    let run = host.apply(&pod).expect(3);
    assert!(
        run.stderr
            .starts_with("Error: pod default/refused cannot become healthy: container main: PostStartHookError ("),
        "{}",
        run.stderr
    );
    host.wait_for("hooked", 30, |s| s.phase == PodPhase::Running && s.is_ready());
    // Any response is success for a hook, even a 500 (the kubelet's runHTTPHandler).
    let requests = std::fs::read_to_string(out.join("requests")).unwrap();
    assert_eq!(requests, "/cgi-bin/hook?start kube-lifecycle/1.31\n");
    let status = host.wait_for("refused", 30, |s| {
        waiting(s).is_some_and(|(r, _)| r == "PostStartHookError")
    });
    let message = waiting(&status).unwrap().1.unwrap_or_default();
    assert_contains(
        &message,
        "Get \"http://127.0.0.1:9/\": dial tcp 127.0.0.1:9: connect: connection refused",
    );
    host.finish();
}
