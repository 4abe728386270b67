//! Scaling without a rollout and history cleanup (`sync`, `scale`, `cleanupDeployment` in
//! pkg/controller/deployment/sync.go; `GetProportion` in deployment_util.go).

use super::deployment::Sync;
use super::types::MAX_REPLICAS;
use super::util::{self, by_creation, by_revision, by_size, replicas};

impl Sync<'_> {
    /// `sync`: a paused Deployment or a scaling event. Scales (proportionally when needed),
    /// cleans history when paused, and updates the status without progress estimation.
    pub(super) fn sync(&mut self) -> Option<usize> {
        let new = self.new_replica_set(false);
        self.scale(new);
        if self.d.spec.paused == Some(true) {
            self.cleanup_deployment_olds(self.olds(new));
        }
        self.sync_deployment_status(new);
        new
    }

    /// `scale` (sync.go).
    fn scale(&mut self, new: Option<usize>) {
        let desired = replicas(self.d);
        if let Some(i) = self.active_or_latest(new) {
            if self.rses[i].replicas != desired {
                self.scale_and_record(i, desired);
            }
            return;
        }
        let olds = self.olds(new);
        if let Some(n) = new
            && self.is_saturated(n)
        {
            for i in olds {
                if self.rses[i].replicas > 0 {
                    self.scale_and_record(i, 0);
                }
            }
            return;
        }
        if !util::is_rolling(self.d) {
            return;
        }
        // Proportional scaling: spread the change over the active ReplicaSets by their share
        // of the previous size (the max-replicas annotation).
        let mut active: Vec<usize> = olds
            .into_iter()
            .chain(new)
            .filter(|&i| self.rses[i].replicas > 0)
            .collect();
        let total: i32 = active.iter().map(|&i| self.rses[i].replicas).sum();
        let allowed = if desired > 0 {
            desired + util::max_surge(self.d)
        } else {
            0
        };
        let to_add = allowed - total;
        let operation = match to_add {
            n if n > 0 => {
                active.sort_by(|&a, &b| by_size(&self.rses[a], &self.rses[b], true));
                "up"
            }
            n if n < 0 => {
                active.sort_by(|&a, &b| by_size(&self.rses[a], &self.rses[b], false));
                "down"
            }
            _ => "",
        };
        let mut added = 0;
        let mut sizes: Vec<i32> = Vec::new();
        for &i in &active {
            let spec = self.rses[i].replicas;
            if to_add != 0 {
                let p = self.proportion(i, to_add, added);
                sizes.push(spec + p);
                added += p;
            } else {
                sizes.push(spec);
            }
        }
        for (k, &i) in active.iter().enumerate() {
            if k == 0 && to_add != 0 {
                // The leftover goes to the largest ReplicaSet.
                sizes[0] = (sizes[0] + to_add - added).max(0);
            }
            self.scale_replica_set(i, sizes[k], operation);
        }
    }

    /// `FindActiveOrLatest`: the only active ReplicaSet; with none active, the new one or else
    /// the newest old one; with several, None.
    fn active_or_latest(&self, new: Option<usize>) -> Option<usize> {
        let olds = self.olds(new);
        if new.is_none() && olds.is_empty() {
            return None;
        }
        let active: Vec<usize> = olds
            .iter()
            .copied()
            .chain(new)
            .filter(|&i| self.rses[i].replicas > 0)
            .collect();
        match active.len() {
            0 => new.or_else(|| {
                olds.iter()
                    .copied()
                    .max_by(|&a, &b| by_creation(&self.rses[a], &self.rses[b]))
            }),
            1 => Some(active[0]),
            _ => None,
        }
    }

    /// `IsSaturated`: the new ReplicaSet is at full size, recorded so, and fully available.
    fn is_saturated(&self, i: usize) -> bool {
        let rs = &self.rses[i];
        let desired = replicas(self.d);
        rs.replicas == desired
            && util::int_annotation(rs, super::types::DESIRED_REPLICAS) == Some(desired)
            && rs.status.available_replicas == desired
    }

    /// `GetProportion`: this ReplicaSet's share of `to_add`, clamped to what is left.
    fn proportion(&self, i: usize, to_add: i32, added: i32) -> i32 {
        let rs = &self.rses[i];
        if rs.replicas == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let fraction = self.fraction(i);
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// `getReplicaSetFraction`: `round(spec × (D + maxSurge) / max-replicas) − spec`.
    fn fraction(&self, i: usize) -> i32 {
        let rs = &self.rses[i];
        let desired = replicas(self.d);
        if desired == 0 {
            return -rs.replicas;
        }
        let max_now = desired + util::max_surge(self.d);
        let before = match util::int_annotation(rs, MAX_REPLICAS) {
            Some(n) if n != 0 => n,
            // Without the annotation (scaled by hand before): the Deployment's size.
            _ => self.status.replicas,
        };
        if before == 0 {
            return 0;
        }
        let size = f64::from(rs.replicas) * f64::from(max_now) / f64::from(before);
        // integer.RoundToInt32 is math.Round: halves away from zero, as f64::round.
        size.round() as i32 - rs.replicas
    }

    /// `cleanupDeployment` over every ReplicaSet but `new`.
    pub(super) fn cleanup_deployment(&mut self, new: usize) {
        let olds = self.olds(Some(new));
        self.cleanup_deployment_olds(olds);
    }

    /// `cleanupDeployment`: keeps at most revisionHistoryLimit old ReplicaSets, deleting the
    /// lowest revisions first; never one that still has pods or an unobserved change.
    fn cleanup_deployment_olds(&mut self, mut olds: Vec<usize>) {
        let Some(limit) = self.d.spec.revision_history_limit else {
            return;
        };
        olds.retain(|&i| !self.deleted.contains(&self.rses[i].name));
        let diff = olds.len() as i64 - i64::from(limit);
        if diff <= 0 {
            return;
        }
        olds.sort_by(|&a, &b| by_revision(&self.rses[a], &self.rses[b]));
        for &i in olds.iter().take(diff as usize) {
            let rs = &self.rses[i];
            if rs.status.replicas != 0 || rs.replicas != 0 || rs.generation > rs.status.observed_generation {
                continue;
            }
            let name = rs.name.clone();
            self.actions
                .push(super::types::ControllerAction::DeleteReplicaSet { name: name.clone() });
            self.deleted.push(name);
        }
    }
}
