//! cgroup v2 file writes: controller delegation, `cpu.weight`, `cpu.max`, `memory.max`,
//! `pids.max`, `memory.events` and `cpu.stat`.

use super::{
    CgroupError, CgroupLimits, CgroupStats, io_err, read_file, read_keyed, read_u64, shares_to_weight, write_file,
};
use std::fs;
use std::path::Path;

/// Controllers rekon enables for its subtree.
const CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

/// Creates `root/rel` level by level, enabling the wanted controllers in each parent's
/// `cgroup.subtree_control` first (a child only gets the controllers its parent delegates).
pub(super) fn create(root: &Path, rel: &Path) -> Result<(), CgroupError> {
    let mut dir = root.to_path_buf();
    for component in rel.components() {
        enable_controllers(&dir)?;
        dir.push(component);
        if !dir.is_dir() {
            fs::create_dir(&dir)
                .or_else(|e| if dir.is_dir() { Ok(()) } else { Err(e) })
                .map_err(io_err("create", &dir))?;
        }
    }
    Ok(())
}

fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let available = read_file(&dir.join("cgroup.controllers"))?;
    let control = dir.join("cgroup.subtree_control");
    let enabled = read_file(&control)?;
    let missing: Vec<String> = CONTROLLERS
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write_file(&control, &missing.join(" "))
}

pub(super) fn set_limits(dir: &Path, limits: &CgroupLimits) -> Result<(), CgroupError> {
    if let Some(shares) = limits.cpu_shares {
        write_file(&dir.join("cpu.weight"), &shares_to_weight(shares).to_string())?;
    }
    if let Some(quota) = limits.cpu_quota {
        write_file(&dir.join("cpu.max"), &format!("{} {}", quota.quota_us, quota.period_us))?;
    }
    if let Some(bytes) = limits.memory_max {
        write_file(&dir.join("memory.max"), &bytes.to_string())?;
        // A pod must not escape its memory limit through swap (kubelet's default NoSwap).
        let swap = dir.join("memory.swap.max");
        if swap.exists() {
            write_file(&swap, "0")?;
        }
    }
    if let Some(pids) = limits.pids_max {
        write_file(&dir.join("pids.max"), &pids.to_string())?;
    }
    Ok(())
}

pub(super) fn oom_kills(dir: &Path) -> Result<u64, CgroupError> {
    read_keyed(&dir.join("memory.events"), "oom_kill")
}

pub(super) fn stats(dir: &Path) -> Result<CgroupStats, CgroupError> {
    let pids_file = dir.join("pids.current");
    Ok(CgroupStats {
        memory_bytes: read_u64(&dir.join("memory.current"))?,
        cpu_usage_ns: read_keyed(&dir.join("cpu.stat"), "usage_usec")? * 1000,
        oom_kills: oom_kills(dir)?,
        pids: if pids_file.exists() {
            Some(read_u64(&pids_file)?)
        } else {
            None
        },
    })
}
