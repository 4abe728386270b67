//! Root-only tests of sandboxes and containers on the real kernel, with a busybox root
//! filesystem; each asserts afterwards that no process, mount, cgroup or namespace is left.

use super::hosts::{HostAlias, hostname_file, managed_hosts};
use super::testutil::{self, assert_clean, assert_gone, ns_inodes};
use super::*;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use std::os::fd::OwnedFd;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

const NODE: &str = "node";
const POD: &str = "pod";

/// One pod: a temp dir with a busybox layer, a sandbox in its own cgroup, and bookkeeping
/// of every pid and of the sandbox's namespaces for the leak checks. (A container's own mount
/// and PID namespaces die with it: they are covered by the pid and cgroup checks, and their
/// inode numbers may be reused by other tests before teardown.)
struct Pod {
    tmp: tempfile::TempDir,
    root: CgroupRoot,
    lower: PathBuf,
    sandbox: Option<Sandbox>,
    pids: Vec<i32>,
    namespaces: Vec<u64>,
}

impl Pod {
    fn start(mut config: SandboxConfig) -> Pod {
        let tmp = tempfile::tempdir().unwrap();
        let lower = tmp.path().join("layer");
        testutil::busybox_rootfs(&lower);
        let root = testutil::cgroup_root();
        let pause = root.container(NODE, POD, "pause").unwrap();
        pause.create().unwrap();
        config.cgroup = Some(pause);
        let sandbox = Sandbox::start(&config).unwrap();
        let (pids, namespaces) = (vec![sandbox.pid()], ns_inodes(sandbox.pid()));
        Pod {
            tmp,
            root,
            lower,
            sandbox: Some(sandbox),
            pids,
            namespaces,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn config(&self, name: &str, argv: &[&str]) -> ContainerConfig {
        let cgroup = self.root.container(NODE, POD, name).unwrap();
        cgroup.create().unwrap();
        let rootfs = RootfsDirs::new(&self.path(&format!("containers/{name}")));
        rootfs.create().unwrap();
        ContainerConfig {
            lower_dirs: vec![self.lower.clone()],
            rootfs: Some(rootfs),
            namespaces: self.sandbox.as_ref().unwrap().namespaces().clone(),
            cgroup: Some(cgroup),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec!["PATH=/bin".into(), "HOME=/root".into()],
            ..Default::default()
        }
    }

    /// Starts a container whose stdout and stderr go to the returned pipe.
    fn spawn(&mut self, config: &ContainerConfig) -> Result<(Container, OwnedFd), ProcessError> {
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let stdio = ContainerStdio {
            stdin: None,
            stderr: Some(w.try_clone().unwrap()),
            stdout: Some(w),
        };
        let container = Container::spawn(config, stdio)?;
        self.pids.push(container.pid());
        Ok((container, r))
    }

    /// Runs a container to completion; its exit and its output.
    fn run(&mut self, config: &ContainerConfig) -> (ContainerExit, String) {
        let (mut container, out) = self.spawn(config).unwrap();
        let output = read_all(out);
        (container.wait().unwrap(), output)
    }

    /// Stops everything and asserts nothing is left.
    fn teardown(mut self) {
        let since = testutil::now_ticks();
        self.sandbox.take().unwrap().stop(Duration::from_secs(5)).unwrap();
        self.root.top().remove(Duration::from_secs(5)).unwrap();
        let containers = self.path("containers");
        for entry in std::fs::read_dir(&containers).into_iter().flatten().flatten() {
            RootfsDirs::new(&entry.path()).cleanup().unwrap();
        }
        assert_clean(self.tmp.path(), &self.root);
        assert_gone(&self.pids, &self.namespaces, since);
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        // Only after a failed assertion: leave nothing behind, assert nothing.
        if let Some(sandbox) = self.sandbox.take() {
            drop(sandbox);
            let _ = self.root.top().remove(Duration::from_secs(5));
        }
    }
}

fn read_all(fd: OwnedFd) -> String {
    let mut file = std::fs::File::from(fd);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut file, &mut out).unwrap();
    out
}

#[test]
fn sandbox_gives_hostname_loopback_and_etc_files() {
    if !testutil::require_root() {
        return;
    }
    let mut pod = Pod::start(SandboxConfig {
        hostname: Some("web-0".into()),
        ..Default::default()
    });
    let aliases = [HostAlias {
        ip: "127.0.0.1".into(),
        hostnames: vec!["foo.local".into()],
    }];
    let hosts = managed_hosts(&["10.0.0.5".into()], "web-0", None, &aliases);
    std::fs::write(pod.path("etc-hosts"), &hosts).unwrap();
    std::fs::write(pod.path("hostname"), hostname_file("web-0")).unwrap();
    let mut config = pod.config(
        "app",
        &[
            "sh",
            "-c",
            "hostname; cat /sys/class/net/lo/flags /etc/hostname /etc/hosts; echo pid=$$",
        ],
    );
    config.etc = EtcFiles {
        hosts: Some(pod.path("etc-hosts")),
        hostname: Some(pod.path("hostname")),
        resolv_conf: None,
    };
    let (exit, output) = pod.run(&config);
    assert_eq!(exit, ContainerExit::Exited(0), "{output}");
    assert_eq!(output, format!("web-0\n0x9\nweb-0\n{hosts}pid=1\n"));
    pod.teardown();
}

#[test]
fn containers_share_localhost_and_the_pod_pid_namespace() {
    if !testutil::require_root() {
        return;
    }
    let mut pod = Pod::start(SandboxConfig {
        share_process_namespace: true,
        ..Default::default()
    });
    let server = pod.config(
        "server",
        &[
            "sh",
            "-c",
            "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www",
        ],
    );
    let (mut server, _out) = pod.spawn(&server).unwrap();
    // The client polls inside the container, with its own deadline of 100 tries.
    let client = pod.config(
        "client",
        &["sh", "-c", "i=0; until wget -q -O - http://127.0.0.1:8080/ 2>/dev/null; do i=$((i+1)); [ $i -gt 100 ] && exit 1; usleep 50000; done; ps"],
    );
    let (exit, output) = pod.run(&client);
    assert_eq!(exit, ContainerExit::Exited(0), "{output}");
    assert!(output.starts_with("hello\n"), "{output}");
    assert!(output.contains("httpd -f -p 127.0.0.1:8080"), "{output}");
    server.signal(Signal::SIGKILL).unwrap();
    assert_eq!(server.wait().unwrap(), ContainerExit::Signaled(libc::SIGKILL));
    assert_eq!(server.wait().unwrap().code(), 137);
    pod.teardown();
}

#[test]
fn volumes_are_read_only_and_hostile_symlinks_stay_inside() {
    if !testutil::require_root() {
        return;
    }
    let mut pod = Pod::start(SandboxConfig::default());
    let outside = pod.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // Escapes as an image could ship them: to a host directory (absolute and relative; both
    // dangle inside the root) and up to `/etc` (exists inside the root).
    symlink(&outside, pod.lower.join("evil")).unwrap();
    symlink(
        format!("../../../../../../..{}", outside.display()),
        pod.lower.join("evil2"),
    )
    .unwrap();
    symlink("../../../../../../etc", pod.lower.join("etc-link")).unwrap();
    for dir in ["vol", "vol2", "vol3"] {
        std::fs::create_dir_all(pod.path(dir)).unwrap();
    }
    std::fs::write(pod.path("vol/file"), "content\n").unwrap();
    let bind = |source: PathBuf, dest: &str, sub: Option<&str>, read_only| Mount {
        destination: dest.into(),
        kind: MountKind::Bind {
            source,
            sub_path: sub.map(PathBuf::from),
        },
        read_only,
    };
    for dest in ["/evil/data", "/evil2/data"] {
        let mut config = pod.config("escape", &["true"]);
        config.mounts = vec![bind(pod.path("vol2"), dest, None, false)];
        let err = pod.spawn(&config).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("mount volume {} at {dest}", pod.path("vol2").display())
        );
    }
    let mut config = pod.config(
        "app",
        &["sh", "-c", "touch /ro/x 2>/dev/null && echo rw || echo ro; cat /ro/file; echo hi > /etc-link/data/f; cat /etc/data/f; echo s > /sp/f; touch /scratch/t && echo tmpfs"],
    );
    config.mounts = vec![
        bind(pod.path("vol"), "/ro", None, true),
        bind(pod.path("vol2"), "/etc-link/data", None, false),
        bind(pod.path("vol3"), "/sp", Some("sub/../../../dir"), false),
        Mount {
            destination: "/scratch".into(),
            kind: MountKind::Tmpfs {
                size_bytes: Some(1 << 20),
            },
            read_only: false,
        },
    ];
    let (exit, output) = pod.run(&config);
    assert_eq!(exit, ContainerExit::Exited(0), "{output}");
    assert_eq!(output, "ro\ncontent\nhi\ntmpfs\n");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "a mount escaped the root"
    );
    assert!(!pod.path("vol/x").exists());
    assert_eq!(std::fs::read_to_string(pod.path("vol2/f")).unwrap(), "hi\n");
    assert_eq!(std::fs::read_to_string(pod.path("vol3/dir/f")).unwrap(), "s\n");
    pod.teardown();
}

#[test]
fn setup_failures_are_reported_precisely() {
    if !testutil::require_root() {
        return;
    }
    let mut pod = Pod::start(SandboxConfig::default());
    let missing = pod.config("missing", &["no-such-command", "arg"]);
    let err = pod.spawn(&missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        "exec: \"no-such-command\": executable file not found in $PATH"
    );
    assert!(err.is_executable_not_found());
    let absolute = pod.config("absolute", &["/bin/nope"]);
    assert!(pod.spawn(&absolute).unwrap_err().is_executable_not_found());
    let mut bad_mount = pod.config("badmount", &["true"]);
    bad_mount.mounts = vec![Mount {
        destination: "/data".into(),
        kind: MountKind::Bind {
            source: "/nonexistent-rekon-volume".into(),
            sub_path: None,
        },
        read_only: false,
    }];
    let err = pod.spawn(&bad_mount).unwrap_err();
    assert_eq!(err.to_string(), "mount volume /nonexistent-rekon-volume at /data");
    let ProcessError::Setup { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.raw_os_error(), Some(libc::ENOENT));
    pod.teardown();
}

#[test]
fn oom_kill_is_detected() {
    if !testutil::require_root() {
        return;
    }
    let mut pod = Pod::start(SandboxConfig::default());
    let config = pod.config("hog", &["sh", "-c", "head -c 209715200 /dev/zero | tail"]);
    let cgroup = config.cgroup.clone().unwrap();
    cgroup
        .set_limits(&CgroupLimits {
            memory_max: Some(32 << 20),
            ..Default::default()
        })
        .unwrap();
    let (exit, output) = pod.run(&config);
    assert_eq!(exit.code(), 137, "{output}");
    assert!(cgroup.oom_kills().unwrap() >= 1);
    assert!(cgroup.stats().unwrap().oom_kills >= 1);
    pod.teardown();
}

#[test]
fn host_network_sandbox_keeps_host_namespaces() {
    if !testutil::require_root() {
        return;
    }
    let sandbox = Sandbox::start(&SandboxConfig {
        host_network: true,
        host_ipc: true,
        host_pid: true,
        hostname: Some("ignored".into()),
        ..Default::default()
    })
    .unwrap();
    let ns = sandbox.namespaces().clone();
    assert_eq!(
        ns,
        PodNamespaces {
            net: None,
            ipc: None,
            uts: None,
            pid: PidNamespace::Host
        }
    );
    let host = ns_inodes(std::process::id() as i32);
    let inodes = ns_inodes(sandbox.pid());
    assert_eq!(inodes[..4], host[..4]);
    let pid = sandbox.pid();
    sandbox.stop(Duration::from_secs(5)).unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}
