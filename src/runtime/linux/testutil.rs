//! Test fixtures for the Linux runtime: the root check, a busybox root filesystem, unique
//! names and leak assertions (processes, mounts, cgroups, namespaces).

use super::cgroup::{CgroupRoot, DEFAULT_CGROUP_ROOT};
use super::mounts::mount_points_under;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// True when the test can run; false (skip) when not root outside CI. Fails under
/// `CI=true`, where these tests must run.
pub fn require_root() -> bool {
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

/// A name no other test (or test run) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// The busybox binary, installed from Debian's busybox-static when missing.
fn busybox() -> PathBuf {
    let path = PathBuf::from("/bin/busybox");
    if !path.exists() {
        let status = Command::new("apt-get")
            .args(["install", "-y", "busybox-static"])
            .status()
            .expect("run apt-get");
        assert!(status.success(), "apt-get install busybox-static failed");
    }
    path
}

/// Builds a busybox root filesystem in `dir`: `/bin/busybox`, one symlink per applet, and
/// an empty `/etc`, `/tmp` and `/root`.
pub fn busybox_rootfs(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in ["etc", "tmp", "root"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    // A hard link, not a copy: a copy's write descriptor can leak into a child forked by a
    // parallel test, and exec then fails with ETXTBSY.
    if std::fs::hard_link(busybox(), bin.join("busybox")).is_err() {
        std::fs::copy(busybox(), bin.join("busybox")).unwrap();
    }
    let list = Command::new(bin.join("busybox")).arg("--list").output().unwrap();
    for applet in String::from_utf8(list.stdout).unwrap().lines() {
        if applet != "busybox" {
            symlink("busybox", bin.join(applet)).unwrap();
        }
    }
}

/// The host's cgroups with a unique top-level directory for this test.
pub fn cgroup_root() -> CgroupRoot {
    CgroupRoot::detect(Path::new(DEFAULT_CGROUP_ROOT))
        .unwrap()
        .with_prefix(&unique("rekon-test"))
        .unwrap()
}

/// Inode numbers of a process's namespaces, to look for survivors later.
pub fn ns_inodes(pid: i32) -> Vec<u64> {
    ["net", "ipc", "uts", "pid", "mnt"]
        .iter()
        .filter_map(|ns| std::fs::metadata(format!("/proc/{pid}/ns/{ns}")).ok())
        .map(|m| m.ino())
        .collect()
}

/// Time since boot in clock ticks, the unit of a process's start time in `/proc/<pid>/stat`.
pub fn now_ticks() -> u64 {
    let uptime = std::fs::read_to_string("/proc/uptime").unwrap();
    let secs: f64 = uptime.split_whitespace().next().unwrap().parse().unwrap();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .unwrap()
        .unwrap_or(100) as f64;
    (secs * hz) as u64
}

fn start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    after_comm.split(' ').nth(19)?.parse().ok()
}

/// Asserts that the pids are gone and that no process started before `since` (the start of
/// teardown) is in any of the namespaces (by inode), which must have lived until `since`.
/// Later processes are skipped: namespace inode numbers are reused as soon as a namespace
/// dies, and tests running in parallel create namespaces all the time.
pub fn assert_gone(pids: &[i32], namespaces: &[u64], since: u64) {
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} is still alive"
        );
    }
    let own = ns_inodes(std::process::id() as i32);
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if start_ticks(pid).is_none_or(|start| start >= since) {
            continue;
        }
        for ino in ns_inodes(pid) {
            assert!(
                own.contains(&ino) || !namespaces.contains(&ino),
                "process {pid} is still in namespace inode {ino}"
            );
        }
    }
}

/// Asserts nothing is mounted under `dir` and the cgroup top directory is gone.
pub fn assert_clean(dir: &Path, root: &CgroupRoot) {
    assert_eq!(
        mount_points_under(dir).unwrap(),
        Vec::<PathBuf>::new(),
        "mounts left under {}",
        dir.display()
    );
    for cg_dir in root.top().dirs() {
        assert!(!cg_dir.exists(), "cgroup {} was left behind", cg_dir.display());
    }
}
