//! Tests of cgroup detection and file writes against temporary trees, and of the real
//! hierarchy of this machine (as root).

use super::*;
use crate::runtime::linux::testutil;
use std::os::unix::fs::symlink;
use std::time::Duration;

fn touch(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, content) in files {
        fs::write(dir.join(name), content).unwrap();
    }
}

fn read(path: PathBuf) -> String {
    fs::read_to_string(path).unwrap().trim().to_string()
}

const V2_FILES: [(&str, &str); 9] = [
    ("cgroup.controllers", "cpuset cpu io memory pids"),
    ("cgroup.subtree_control", ""),
    ("cgroup.procs", ""),
    ("cpu.weight", "100"),
    ("cpu.max", "max 100000"),
    ("memory.max", "max"),
    ("memory.swap.max", "max"),
    ("pids.max", "max"),
    ("memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n"),
];

#[test]
fn v2_writes_limits_and_delegates_controllers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = CgroupRoot::detect(tmp.path());
    assert!(root.is_err());
    for dir in ["", "rekon", "rekon/n1", "rekon/n1/uid", "rekon/n1/uid/web"] {
        touch(&tmp.path().join(dir), &V2_FILES);
    }
    let root = CgroupRoot::detect(tmp.path()).unwrap();
    assert_eq!(root.version(), CgroupVersion::V2);
    let cg = root.container("n1", "uid", "web").unwrap();
    cg.create().unwrap();
    assert_eq!(read(tmp.path().join("cgroup.subtree_control")), "+cpu +memory +pids");
    assert_eq!(
        read(tmp.path().join("rekon/n1/uid/cgroup.subtree_control")),
        "+cpu +memory +pids"
    );
    assert_eq!(read(tmp.path().join("rekon/n1/uid/web/cgroup.subtree_control")), "");
    let mut limits = CgroupLimits::from_resources(Some(1000), Some(500), Some(32 << 20));
    limits.pids_max = Some(64);
    cg.set_limits(&limits).unwrap();
    let dir = tmp.path().join("rekon/n1/uid/web");
    assert_eq!(read(dir.join("cpu.weight")), "100");
    assert_eq!(read(dir.join("cpu.max")), "50000 100000");
    assert_eq!(read(dir.join("memory.max")), "33554432");
    assert_eq!(read(dir.join("memory.swap.max")), "0");
    assert_eq!(read(dir.join("pids.max")), "64");
    assert_eq!(cg.oom_kills().unwrap(), 2);
    assert_eq!(cg.procs_files(), vec![dir.join("cgroup.procs")]);
}

#[test]
fn v1_detects_comounted_controllers_and_writes_limits() {
    let tmp = tempfile::tempdir().unwrap();
    touch(&tmp.path().join("cpu,cpuacct"), &[]);
    symlink("cpu,cpuacct", tmp.path().join("cpu")).unwrap();
    symlink("cpu,cpuacct", tmp.path().join("cpuacct")).unwrap();
    touch(&tmp.path().join("memory"), &[]);
    touch(&tmp.path().join("unified"), &[("cgroup.controllers", "")]);
    let root = CgroupRoot::detect(tmp.path()).unwrap().with_prefix("rk").unwrap();
    assert_eq!(root.version(), CgroupVersion::V1);
    let node = root.node("n1").unwrap();
    assert_eq!(node.dirs().len(), 2);
    node.create().unwrap();
    let cpu = tmp.path().join("cpu,cpuacct/rk/n1");
    let mem = tmp.path().join("memory/rk/n1");
    touch(
        &cpu,
        &[("cpu.shares", ""), ("cpu.cfs_period_us", ""), ("cpu.cfs_quota_us", "")],
    );
    touch(
        &mem,
        &[
            ("memory.limit_in_bytes", ""),
            ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"),
        ],
    );
    node.set_limits(&CgroupLimits::node(2000, 1 << 30, Some(100))).unwrap();
    assert_eq!(read(cpu.join("cpu.shares")), "2048");
    assert_eq!(read(cpu.join("cpu.cfs_quota_us")), "200000");
    assert_eq!(read(cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(read(mem.join("memory.limit_in_bytes")), "1073741824");
    assert_eq!(node.oom_kills().unwrap(), 1);
}

#[test]
fn detection_and_names_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let err = CgroupRoot::detect(tmp.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no cgroup filesystem found at {}: neither cgroup v2 (cgroup.controllers) nor the v1 cpu and memory controllers; pass --cgroup-root",
            tmp.path().display()
        )
    );
    touch(&tmp.path().join("cpu"), &[]);
    touch(&tmp.path().join("memory"), &[]);
    let root = CgroupRoot::detect(tmp.path()).unwrap();
    for bad in ["", "..", "a/b"] {
        assert!(
            matches!(root.node(bad), Err(CgroupError::InvalidName { .. })),
            "{bad:?}"
        );
    }
}

/// On this machine's real hierarchy: limits read back, a process is counted, and removal
/// kills it and leaves no directory in any controller.
#[test]
fn real_hierarchy_limits_membership_and_removal() {
    if !testutil::require_root() {
        return;
    }
    let root = testutil::cgroup_root();
    let node = root.node("node").unwrap();
    let cg = root.container("node", "pod", "ctr").unwrap();
    cg.create().unwrap();
    node.set_limits(&CgroupLimits::node(2000, 1 << 30, Some(1000))).unwrap();
    let mut limits = CgroupLimits::from_resources(Some(250), Some(500), Some(64 << 20));
    limits.pids_max = Some(32);
    cg.set_limits(&limits).unwrap();
    let file = |ctrl: &str, name: &str| read(cg.dir_of(ctrl).unwrap().join(name));
    match root.version() {
        CgroupVersion::V1 => {
            assert_eq!(file("cpu", "cpu.shares"), "256");
            assert_eq!(file("cpu", "cpu.cfs_quota_us"), "50000");
            assert_eq!(file("cpu", "cpu.cfs_period_us"), "100000");
            assert_eq!(file("memory", "memory.limit_in_bytes"), "67108864");
            assert_eq!(file("pids", "pids.max"), "32");
        }
        CgroupVersion::V2 => {
            assert_eq!(file("cpu", "cpu.weight"), "35");
            assert_eq!(file("cpu", "cpu.max"), "50000 100000");
            assert_eq!(file("memory", "memory.max"), "67108864");
            assert_eq!(file("pids", "pids.max"), "32");
        }
    }
    let mut child = std::process::Command::new("sleep").arg("100").spawn().unwrap();
    let pid = child.id() as i32;
    cg.add_pid(pid).unwrap();
    assert_eq!(cg.pids().unwrap(), vec![pid]);
    assert_eq!(root.top().pids().unwrap(), vec![pid]);
    assert_eq!(cg.stats().unwrap().pids, Some(1));
    assert_eq!(cg.oom_kills().unwrap(), 0);
    root.top().remove(Duration::from_secs(5)).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    assert!(!root.top().exists());
    for dir in root.top().dirs() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    root.top().remove(Duration::from_secs(1)).unwrap();
}
