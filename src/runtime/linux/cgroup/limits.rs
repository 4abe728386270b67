//! Resource limits of one cgroup and the kubelet's conversions from millicores.
//!
//! Formulas from `spec/k8s-semantics.md` §8 (`pkg/kubelet/cm/helpers_linux.go`,
//! opencontainers/cgroups `ConvertCPUSharesToCgroupV2Value`).

/// The smallest cpu.shares value the kernel accepts (`MinShares`).
pub const MIN_SHARES: u64 = 2;
/// The largest cpu.shares value (`MaxShares`).
pub const MAX_SHARES: u64 = 262_144;
/// The default CFS period in microseconds (100ms).
pub const DEFAULT_CFS_PERIOD_US: u64 = 100_000;
/// The smallest CFS quota the kubelet writes (`MinQuotaPeriod`, 1ms).
pub const MIN_CFS_QUOTA_US: u64 = 1_000;

/// What one cgroup may use. `None` leaves the kernel's current value untouched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupLimits {
    /// Relative CPU weight as cgroup v1 shares; converted with [`shares_to_weight`] on v2.
    pub cpu_shares: Option<u64>,
    /// A hard CPU limit (CFS bandwidth).
    pub cpu_quota: Option<CpuQuota>,
    /// Memory limit in bytes (v1 `memory.limit_in_bytes`, v2 `memory.max`; swap is off on v2).
    pub memory_max: Option<u64>,
    /// Maximum number of tasks (`pids.max`).
    pub pids_max: Option<u64>,
}

/// CFS bandwidth: `quota_us` of CPU time per `period_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuQuota {
    /// Microseconds of CPU time per period.
    pub quota_us: u64,
    /// The period in microseconds.
    pub period_us: u64,
}

impl CgroupLimits {
    /// Limits of a container or pod from its cpu request/limit in millicores and its memory
    /// limit in bytes, as the kubelet computes them: shares from the request (or the limit when
    /// there is no request), a CFS quota only when a cpu limit is set.
    pub fn from_resources(
        cpu_request_milli: Option<u64>,
        cpu_limit_milli: Option<u64>,
        memory_limit: Option<u64>,
    ) -> Self {
        let shares_from = cpu_request_milli.or(cpu_limit_milli).unwrap_or(0);
        CgroupLimits {
            cpu_shares: Some(milli_cpu_to_shares(shares_from)),
            cpu_quota: cpu_limit_milli.map(|m| CpuQuota {
                quota_us: milli_cpu_to_quota(m, DEFAULT_CFS_PERIOD_US),
                period_us: DEFAULT_CFS_PERIOD_US,
            }),
            memory_max: memory_limit,
            pids_max: None,
        }
    }

    /// Limits of a node cgroup: the node's whole capacity.
    pub fn node(capacity_milli_cpu: u64, capacity_memory: u64, capacity_pids: Option<u64>) -> Self {
        CgroupLimits {
            pids_max: capacity_pids,
            ..Self::from_resources(
                Some(capacity_milli_cpu),
                Some(capacity_milli_cpu),
                Some(capacity_memory),
            )
        }
    }
}

/// `MilliCPUToShares`: 2 for 0, else `max(2, m*1024/1000)`, capped at 262144.
pub fn milli_cpu_to_shares(milli_cpu: u64) -> u64 {
    if milli_cpu == 0 {
        return MIN_SHARES;
    }
    (milli_cpu.saturating_mul(1024) / 1000).clamp(MIN_SHARES, MAX_SHARES)
}

/// `MilliCPUToQuota`: `m * period / 1000` microseconds, at least 1000.
pub fn milli_cpu_to_quota(milli_cpu: u64, period_us: u64) -> u64 {
    (milli_cpu.saturating_mul(period_us) / 1000).max(MIN_CFS_QUOTA_US)
}

/// cgroup v2 `cpu.weight` for v1 shares, with the current opencontainers/cgroups formula
/// `ceil(10^((l²+125l)/612 − 7/34))`, `l = log2(shares)`: 1024 → 100, 2 → 1, 262144 → 10000.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= MIN_SHARES {
        return 1;
    }
    if shares >= MAX_SHARES {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_the_kubelet_examples() {
        assert_eq!(milli_cpu_to_shares(100), 102);
        assert_eq!(milli_cpu_to_shares(250), 256);
        assert_eq!(milli_cpu_to_shares(1000), 1024);
        assert_eq!(milli_cpu_to_shares(1), 2);
        assert_eq!(milli_cpu_to_shares(0), 2);
        assert_eq!(milli_cpu_to_shares(1_000_000), MAX_SHARES);
    }

    #[test]
    fn weights_follow_the_new_formula() {
        assert_eq!(shares_to_weight(102), 17);
        assert_eq!(shares_to_weight(256), 35);
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(MAX_SHARES), 10_000);
    }

    #[test]
    fn quota_only_with_a_limit() {
        let l = CgroupLimits::from_resources(Some(250), Some(500), Some(64 << 20));
        assert_eq!(l.cpu_shares, Some(256));
        assert_eq!(
            l.cpu_quota,
            Some(CpuQuota {
                quota_us: 50_000,
                period_us: 100_000
            })
        );
        assert_eq!(l.memory_max, Some(64 << 20));
        let no_limit = CgroupLimits::from_resources(Some(100), None, None);
        assert_eq!(no_limit.cpu_quota, None);
        let limit_only = CgroupLimits::from_resources(None, Some(1000), None);
        assert_eq!(limit_only.cpu_shares, Some(1024));
        assert_eq!(milli_cpu_to_quota(5, DEFAULT_CFS_PERIOD_US), MIN_CFS_QUOTA_US);
    }
}
