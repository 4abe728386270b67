//! Killing everything in a cgroup subtree and removing its directories, bottom-up, in every
//! hierarchy, with retries until a deadline.

use super::{Cgroup, CgroupError, CgroupVersion, io_err, read_file, v1, write_file};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait between two looks at a cgroup that is emptying.
const POLL: Duration = Duration::from_millis(5);

/// Appends the pids in `dir/cgroup.procs` and in every descendant.
pub(super) fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    let procs = dir.join("cgroup.procs");
    match fs::read_to_string(&procs) {
        Ok(text) => out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read", &procs)(e)),
    }
    for sub in subdirs(dir)? {
        collect_pids(&sub, out)?;
    }
    Ok(())
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io_err("read", dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("read", dir))?;
        if entry.file_type().map_err(io_err("read", &entry.path()))?.is_dir() {
            out.push(entry.path());
        }
    }
    Ok(out)
}

fn signal_all(cg: &Cgroup) -> Result<(), CgroupError> {
    for pid in cg.pids()? {
        // ESRCH: it exited between reading cgroup.procs and now.
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    Ok(())
}

pub(super) fn kill_all(cg: &Cgroup) -> Result<(), CgroupError> {
    match cg.root.version {
        CgroupVersion::V2 => {
            let file = cg.dirs()[0].join("cgroup.kill");
            if file.exists() {
                return write_file(&file, "1");
            }
            signal_all(cg)
        }
        CgroupVersion::V1 => {
            let deadline = Instant::now() + Duration::from_secs(1);
            let frozen = cg.exists() && v1::freeze(cg, true, deadline)?;
            let result = signal_all(cg);
            // Frozen tasks act on the pending SIGKILL as soon as they are thawed.
            if frozen {
                v1::freeze(cg, false, deadline)?;
            }
            result
        }
    }
}

pub(super) fn remove(cg: &Cgroup, timeout: Duration) -> Result<(), CgroupError> {
    let start = Instant::now();
    let deadline = start + timeout;
    loop {
        if !cg.exists() {
            return Ok(());
        }
        kill_all(cg)?;
        let left = cg.pids()?.len();
        if left == 0 {
            break;
        }
        if Instant::now() >= deadline {
            return Err(CgroupError::Busy {
                path: cg.rel.clone(),
                waited_ms: start.elapsed().as_millis(),
                pids: left,
            });
        }
        std::thread::sleep(POLL);
    }
    for dir in cg.dirs() {
        remove_tree(&dir, deadline, start)?;
    }
    Ok(())
}

/// Removes `dir` and its descendants deepest first; cgroupfs directories hold only virtual
/// files, so `rmdir` (not `remove_dir_all`) is the way to delete them.
fn remove_tree(dir: &Path, deadline: Instant, start: Instant) -> Result<(), CgroupError> {
    for sub in subdirs(dir)? {
        remove_tree(&sub, deadline, start)?;
    }
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            // EBUSY while the last tasks finish exiting.
            Err(e) if Instant::now() < deadline && e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(POLL);
            }
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                let pids = read_file(&dir.join("cgroup.procs"))
                    .map(|t| t.lines().count())
                    .unwrap_or(0);
                return Err(CgroupError::Busy {
                    path: dir.to_path_buf(),
                    waited_ms: start.elapsed().as_millis(),
                    pids,
                });
            }
            Err(e) => return Err(io_err("remove", dir)(e)),
        }
    }
}
