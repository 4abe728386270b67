//! Deployment status and conditions (`calculateStatus`, `syncRolloutStatus`,
//! `checkPausedConditions` in pkg/controller/deployment/{sync,progress}.go; the reasons of
//! deployment_util.go).

use super::deployment::Sync;
use super::types::{DeploymentCondition, DeploymentStatus, Time};
use super::util::{self, replicas};
use crate::manifest::types::Deployment;

/// `TimedOutReason`.
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
/// `NewRSAvailableReason`.
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
/// `PausedDeployReason`.
pub const PAUSED: &str = "DeploymentPaused";

/// `NewDeploymentCondition`: both times are `now`.
pub fn condition(type_: &str, status: &str, reason: &str, message: String, now: Time) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message,
        last_update_time: now,
        last_transition_time: now,
    }
}

/// `SetDeploymentCondition`: nothing changes when status and reason are the same; the
/// transition time is kept when only the reason changes.
pub fn set_condition(status: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(cur) = status.condition(&c.type_) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time;
        }
    }
    remove_condition(status, &c.type_);
    status.conditions.push(c);
}

/// `RemoveDeploymentCondition`.
pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    status.conditions.retain(|c| c.type_ != type_);
}

/// `DeploymentComplete`: updated = replicas = available = D and the generation is observed.
pub fn deployment_complete(desired: i32, generation: i64, s: &DeploymentStatus) -> bool {
    s.updated_replicas == desired
        && s.replicas == desired
        && s.available_replicas == desired
        && s.observed_generation >= generation
}

/// `DeploymentProgressing`: more updated, fewer old, more ready or more available pods.
fn progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let old_olds = old.replicas - old.updated_replicas;
    let new_olds = new.replicas - new.updated_replicas;
    new.updated_replicas > old.updated_replicas
        || new_olds < old_olds
        || new.ready_replicas > old.ready_replicas
        || new.available_replicas > old.available_replicas
}

/// `DeploymentTimedOut`: the Progressing condition was last updated more than
/// progressDeadlineSeconds ago (a completed rollout never times out).
fn timed_out(d: &Deployment, s: &DeploymentStatus, now: Time) -> bool {
    if !util::has_progress_deadline(d) {
        return false;
    }
    let Some(c) = s.condition("Progressing") else {
        return false;
    };
    match c.reason.as_str() {
        NEW_RS_AVAILABLE => false,
        TIMED_OUT => true,
        _ => deadline_of(d, c) < now,
    }
}

fn deadline_of(d: &Deployment, c: &DeploymentCondition) -> Time {
    c.last_update_time + chrono::Duration::seconds(d.spec.progress_deadline_seconds.unwrap_or(600).into())
}

/// When the progress deadline passes for a rollout in progress (`requeueStuckDeployment`).
pub fn deadline_check(d: &Deployment, s: &DeploymentStatus) -> Option<Time> {
    if !util::has_progress_deadline(d) || d.spec.paused == Some(true) {
        return None;
    }
    let c = s.condition("Progressing")?;
    if c.status != "True" || c.reason == NEW_RS_AVAILABLE {
        return None;
    }
    Some(deadline_of(d, c) + chrono::Duration::milliseconds(1))
}

impl Sync<'_> {
    /// `calculateStatus` (sync.go) with the Available condition.
    fn calculate_status(&self, new: Option<usize>) -> DeploymentStatus {
        let all = &self.rses;
        let available: i32 = all.iter().map(|rs| rs.status.available_replicas).sum();
        let total: i32 = all.iter().map(|rs| rs.replicas).sum();
        let mut status = DeploymentStatus {
            observed_generation: self.generation,
            replicas: all.iter().map(|rs| rs.status.replicas).sum(),
            updated_replicas: new.map_or(0, |i| all[i].status.replicas),
            ready_replicas: all.iter().map(|rs| rs.status.ready_replicas).sum(),
            available_replicas: available,
            unavailable_replicas: (total - available).max(0),
            conditions: self.status.conditions.clone(),
            collision_count: self.status.collision_count,
            revision: self.status.revision,
        };
        let c = if available >= replicas(self.d) - util::max_unavailable(self.d) {
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
                self.now,
            )
        } else {
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
                self.now,
            )
        };
        set_condition(&mut status, c);
        status
    }

    /// `syncDeploymentStatus`: the status of a scale or a paused Deployment.
    pub(super) fn sync_deployment_status(&mut self, new: Option<usize>) {
        self.status = self.calculate_status(new);
    }

    /// `syncRolloutStatus` (progress.go): the status plus the Progressing condition.
    pub(super) fn sync_rollout_status(&mut self, new: Option<usize>) {
        let mut status = self.calculate_status(new);
        if !util::has_progress_deadline(self.d) {
            remove_condition(&mut status, "Progressing");
        }
        let current = self.status.condition("Progressing").cloned();
        let complete_before = status.replicas == status.updated_replicas
            && current.as_ref().is_some_and(|c| c.reason == NEW_RS_AVAILABLE);
        let rs_name = new.map(|i| self.rses[i].name.clone());
        let msg = |what: &str| match &rs_name {
            Some(n) => format!("ReplicaSet {n:?} {what}"),
            None => format!("Deployment {:?} {what}", self.name),
        };
        if util::has_progress_deadline(self.d) && !complete_before {
            if deployment_complete(replicas(self.d), self.generation, &status) {
                let c = condition(
                    "Progressing",
                    "True",
                    NEW_RS_AVAILABLE,
                    msg("has successfully progressed."),
                    self.now,
                );
                set_condition(&mut status, c);
            } else if progressing(&self.old_status, &status) {
                let mut c = condition(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    msg("is progressing."),
                    self.now,
                );
                // Same reason again must still refresh lastUpdateTime: replace the condition,
                // keeping the transition time of a True one.
                if let Some(cur) = &current {
                    if cur.status == "True" {
                        c.last_transition_time = cur.last_transition_time;
                    }
                    remove_condition(&mut status, "Progressing");
                }
                set_condition(&mut status, c);
            } else if timed_out(self.d, &status, self.now) {
                let c = condition(
                    "Progressing",
                    "False",
                    TIMED_OUT,
                    msg("has timed out progressing."),
                    self.now,
                );
                set_condition(&mut status, c);
            }
        }
        // ReplicaFailure would be copied from the ReplicaSets' conditions; rekon's ReplicaSets
        // record no failure conditions yet, so it is always removed.
        remove_condition(&mut status, "ReplicaFailure");
        self.status = status;
    }

    /// `checkPausedConditions`: Progressing Unknown `DeploymentPaused` / `DeploymentResumed`,
    /// never over a reported timeout.
    pub(super) fn check_paused_conditions(&mut self) {
        if !util::has_progress_deadline(self.d) {
            return;
        }
        let current = self.status.condition("Progressing");
        if current.is_some_and(|c| c.reason == TIMED_OUT) {
            return;
        }
        let paused_cond = current.is_some_and(|c| c.reason == PAUSED);
        let paused = self.d.spec.paused == Some(true);
        if paused && !paused_cond {
            let c = condition(
                "Progressing",
                "Unknown",
                PAUSED,
                "Deployment is paused".into(),
                self.now,
            );
            set_condition(&mut self.status, c);
        } else if !paused && paused_cond {
            let c = condition(
                "Progressing",
                "Unknown",
                "DeploymentResumed",
                "Deployment is resumed".into(),
                self.now,
            );
            set_condition(&mut self.status, c);
        }
    }
}
