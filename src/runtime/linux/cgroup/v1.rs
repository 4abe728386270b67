//! cgroup v1 file writes: `cpu.shares`, CFS quota/period, `memory.limit_in_bytes`,
//! `pids.max`, `memory.oom_control` and the freezer.

use super::{Cgroup, CgroupError, CgroupLimits, CgroupStats, read_file, read_keyed, read_u64, write_file};
use std::path::PathBuf;

fn file(cg: &Cgroup, controller: &str, name: &str) -> Option<PathBuf> {
    cg.dir_of(controller).map(|d| d.join(name))
}

pub(super) fn set_limits(cg: &Cgroup, limits: &CgroupLimits) -> Result<(), CgroupError> {
    let cpu = |name| file(cg, "cpu", name).expect("detect requires the cpu controller");
    if let Some(shares) = limits.cpu_shares {
        write_file(&cpu("cpu.shares"), &shares.to_string())?;
    }
    if let Some(quota) = limits.cpu_quota {
        // The kernel checks quota against the period, so the period goes first.
        write_file(&cpu("cpu.cfs_period_us"), &quota.period_us.to_string())?;
        write_file(&cpu("cpu.cfs_quota_us"), &quota.quota_us.to_string())?;
    }
    if let Some(bytes) = limits.memory_max {
        let path = file(cg, "memory", "memory.limit_in_bytes").expect("detect requires memory");
        write_file(&path, &bytes.to_string())?;
    }
    if let (Some(pids), Some(path)) = (limits.pids_max, file(cg, "pids", "pids.max")) {
        write_file(&path, &pids.to_string())?;
    }
    Ok(())
}

pub(super) fn oom_kills(cg: &Cgroup) -> Result<u64, CgroupError> {
    let path = file(cg, "memory", "memory.oom_control").expect("detect requires memory");
    read_keyed(&path, "oom_kill")
}

pub(super) fn stats(cg: &Cgroup) -> Result<CgroupStats, CgroupError> {
    let memory = file(cg, "memory", "memory.usage_in_bytes").expect("detect requires memory");
    let cpu = match file(cg, "cpuacct", "cpuacct.usage") {
        Some(path) => read_u64(&path)?,
        None => 0,
    };
    let pids = match file(cg, "pids", "pids.current") {
        Some(path) => Some(read_u64(&path)?),
        None => None,
    };
    Ok(CgroupStats {
        memory_bytes: read_u64(&memory)?,
        cpu_usage_ns: cpu,
        oom_kills: oom_kills(cg)?,
        pids,
    })
}

/// Freezes (`true`) or thaws the cgroup; false when there is no freezer hierarchy.
/// Freezing waits until the state reads `FROZEN` or the deadline passes.
pub(super) fn freeze(cg: &Cgroup, frozen: bool, deadline: std::time::Instant) -> Result<bool, CgroupError> {
    let Some(path) = file(cg, "freezer", "freezer.state") else {
        return Ok(false);
    };
    if !path.exists() {
        return Ok(false);
    }
    write_file(&path, if frozen { "FROZEN" } else { "THAWED" })?;
    if frozen {
        while read_file(&path)?.trim() != "FROZEN" && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
    }
    Ok(true)
}
