//! RollingUpdate and Recreate (`rolloutRolling` in rolling.go, `rolloutRecreate` in
//! recreate.go): one pass of each, exactly as upstream.

use super::deployment::Sync;
use super::util::{self, by_creation, replicas};
use crate::manifest::status::PodPhase;

impl Sync<'_> {
    /// `rolloutRolling`: scale the new ReplicaSet up if possible, else old ones down, then
    /// sync the rollout status; clean history once complete.
    pub(super) fn rollout_rolling(&mut self) -> Option<usize> {
        let new = self.new_replica_set(true)?;
        if self.reconcile_new_replica_set(new) {
            self.sync_rollout_status(Some(new));
            return Some(new);
        }
        let olds = self.active_olds(new);
        if self.reconcile_old_replica_sets(new, olds) {
            self.sync_rollout_status(Some(new));
            return Some(new);
        }
        if super::progress::deployment_complete(replicas(self.d), self.generation, &self.status) {
            self.cleanup_deployment(new);
        }
        self.sync_rollout_status(Some(new));
        Some(new)
    }

    /// Old ReplicaSets with `spec.replicas > 0` (`FilterActiveReplicaSets`), oldest first.
    fn active_olds(&self, new: usize) -> Vec<usize> {
        self.olds(Some(new))
            .into_iter()
            .filter(|&i| self.rses[i].replicas > 0)
            .collect()
    }

    /// `reconcileNewReplicaSet`.
    fn reconcile_new_replica_set(&mut self, new: usize) -> bool {
        let desired = replicas(self.d);
        let spec = self.rses[new].replicas;
        if spec == desired {
            return false;
        }
        if spec > desired {
            return self.scale_and_record(new, desired);
        }
        let count = self.new_rs_new_replicas(new);
        self.scale_and_record(new, count)
    }

    /// `reconcileOldReplicaSets`: how many old pods may go without breaking maxUnavailable,
    /// unhealthy ones first.
    fn reconcile_old_replica_sets(&mut self, new: usize, olds: Vec<usize>) -> bool {
        let old_pods: i32 = olds.iter().map(|&i| self.rses[i].replicas).sum();
        if old_pods == 0 {
            return false;
        }
        let all_pods: i32 = self.rses.iter().map(|rs| rs.replicas).sum();
        let min_available = replicas(self.d) - util::max_unavailable(self.d);
        let new_rs = &self.rses[new];
        let new_unavailable = new_rs.replicas - new_rs.status.available_replicas;
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        let cleaned = self.cleanup_unhealthy_replicas(new, max_scaled_down);
        let scaled = self.scale_down_old_for_rolling_update(new, &olds);
        cleaned + scaled > 0
    }

    /// `cleanupUnhealthyReplicas`: old ReplicaSets (oldest first) lose their unavailable
    /// pods first, at most `max_cleanup` in total.
    fn cleanup_unhealthy_replicas(&mut self, new: usize, max_cleanup: i32) -> i32 {
        let mut olds = self.olds(Some(new));
        olds.sort_by(|&a, &b| by_creation(&self.rses[a], &self.rses[b]));
        let mut total = 0;
        for i in olds {
            if total >= max_cleanup {
                break;
            }
            let rs = &self.rses[i];
            if rs.replicas == 0 || rs.replicas == rs.status.available_replicas {
                continue;
            }
            let count = (max_cleanup - total).min(rs.replicas - rs.status.available_replicas);
            let to = rs.replicas - count;
            self.scale_and_record(i, to);
            total += count;
        }
        total
    }

    /// `scaleDownOldReplicaSetsForRollingUpdate`: available pods above the minimum go,
    /// from the oldest ReplicaSets first.
    fn scale_down_old_for_rolling_update(&mut self, new: usize, active_olds: &[usize]) -> i32 {
        let min_available = replicas(self.d) - util::max_unavailable(self.d);
        // Upstream sums over the active old ReplicaSets and the new one.
        let available: i32 = active_olds
            .iter()
            .chain(std::iter::once(&new))
            .map(|&i| self.rses[i].status.available_replicas)
            .sum();
        if available <= min_available {
            return 0;
        }
        let mut olds = self.olds(Some(new));
        olds.sort_by(|&a, &b| by_creation(&self.rses[a], &self.rses[b]));
        let goal = available - min_available;
        let mut total = 0;
        for i in olds {
            if total >= goal {
                break;
            }
            let spec = self.rses[i].replicas;
            if spec == 0 {
                continue;
            }
            let count = spec.min(goal - total);
            self.scale_and_record(i, spec - count);
            total += count;
        }
        total
    }

    /// `rolloutRecreate`: every old ReplicaSet to 0, wait until no old pod runs (terminating
    /// ones included), then the new ReplicaSet, created only now, to full size.
    pub(super) fn rollout_recreate(&mut self) -> Option<usize> {
        let mut new = self.new_replica_set(false);
        let mut scaled_down = false;
        for i in self.olds(new) {
            if self.rses[i].replicas > 0 {
                self.scale_and_record(i, 0);
                scaled_down = true;
            }
        }
        if scaled_down || self.old_pods_running(new) {
            self.sync_rollout_status(new);
            return new;
        }
        if new.is_none() {
            new = self.new_replica_set(true);
        }
        let n = new?;
        self.scale_and_record(n, replicas(self.d));
        if super::progress::deployment_complete(replicas(self.d), self.generation, &self.status) {
            self.cleanup_deployment(n);
        }
        self.sync_rollout_status(new);
        new
    }

    /// `oldPodsRunning` (recreate.go): an old ReplicaSet still reports pods, or a pod of an old
    /// ReplicaSet is not Succeeded/Failed (Unknown and terminating pods count as running).
    fn old_pods_running(&self, new: Option<usize>) -> bool {
        let new_name = new.map(|i| self.rses[i].name.as_str());
        if self.olds(new).iter().any(|&i| self.rses[i].status.replicas > 0) {
            return true;
        }
        self.pods
            .iter()
            .filter(|p| Some(p.owner.as_str()) != new_name)
            .any(|p| !matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed))
    }
}
