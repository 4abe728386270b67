//! The Deployment controller (`syncDeployment`, pkg/controller/deployment/): finds or creates
//! the new ReplicaSet, keeps revisions, and chooses between scaling, a rolling update and
//! Recreate; then each ReplicaSet syncs its pods.

use super::names::{object_uid, template_hash};
use super::replicaset::{status_of, sync_replica_set};
use super::types::{
    ControllerAction, ControllerEvent, DESIRED_REPLICAS, DeploymentStatus, LiveReplicaSet, ObservedPod,
    POD_TEMPLATE_HASH, Time,
};
use super::util::{self, by_creation, equal_ignore_hash, replicas};
use crate::manifest::types::{Deployment, LabelSelector};

/// Everything one sync of a Deployment looks at.
#[derive(Debug, Clone)]
pub struct DeploymentInput<'a> {
    /// The desired object, defaulted (`SetDefaults_Deployment`); its namespace set.
    pub deployment: &'a Deployment,
    /// `metadata.generation`: bumped on every change of the object in git.
    pub generation: i64,
    /// The status recorded by the previous sync (default for a new Deployment).
    pub status: &'a DeploymentStatus,
    /// The ReplicaSets it controls.
    pub replica_sets: &'a [LiveReplicaSet],
    /// The pods of those ReplicaSets (`ObservedPod::owner` names the ReplicaSet).
    pub pods: &'a [ObservedPod],
    /// Names of other ReplicaSets in the namespace (from git): a new ReplicaSet whose name is
    /// taken bumps `collisionCount`.
    pub foreign_names: &'a [String],
    /// The controller's clock (the plan's time).
    pub now: Time,
}

/// What one sync decided.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentOutcome {
    /// Its ReplicaSets after this sync, oldest first (deleted ones gone, new one added).
    pub replica_sets: Vec<LiveReplicaSet>,
    /// The Deployment's status after this sync.
    pub status: DeploymentStatus,
    /// ReplicaSet changes first, then the pod creates and deletes of every ReplicaSet.
    pub actions: Vec<ControllerAction>,
    /// Events of the Deployment and its ReplicaSets, in order.
    pub events: Vec<ControllerEvent>,
    /// The name of the new ReplicaSet (None while paused with an unrolled template, or before
    /// Recreate has scaled the old ones down).
    pub new_replica_set: Option<String>,
    /// The next moment something changes without a pod event (a pod becoming available after
    /// minReadySeconds, the progress deadline); the caller observes again then at the latest.
    pub next_check: Option<Time>,
}

impl DeploymentOutcome {
    /// The rollout is complete and nothing is left to do (`DeploymentComplete`, no old pods,
    /// no action, no history left to clean up).
    pub fn converged(&self, d: &Deployment, generation: i64) -> bool {
        let s = &self.status;
        let limit = d.spec.revision_history_limit.map_or(usize::MAX, |l| l.max(0) as usize);
        let olds = self.replica_sets.len() - usize::from(self.new_replica_set.is_some());
        self.actions.is_empty()
            && olds <= limit
            && super::progress::deployment_complete(replicas(d), generation, s)
            && self.replica_sets.iter().all(|rs| {
                Some(&rs.name) == self.new_replica_set.as_ref() || (rs.replicas == 0 && rs.status.replicas == 0)
            })
    }

    /// Progressing is False with `ProgressDeadlineExceeded`.
    pub fn deadline_exceeded(&self) -> bool {
        self.status
            .condition("Progressing")
            .is_some_and(|c| c.reason == super::progress::TIMED_OUT)
    }
}

/// The working copy one sync mutates, like the Deployment object upstream mutates in place.
pub(super) struct Sync<'a> {
    pub(super) d: &'a Deployment,
    pub(super) name: String,
    pub(super) namespace: String,
    pub(super) generation: i64,
    pub(super) now: Time,
    /// `d.Status`, updated in place by getNewReplicaSet and the status syncs.
    pub(super) status: DeploymentStatus,
    /// The status the sync started from (DeploymentProgressing compares against it).
    pub(super) old_status: DeploymentStatus,
    pub(super) rses: Vec<LiveReplicaSet>,
    pub(super) pods: &'a [ObservedPod],
    foreign: &'a [String],
    /// ReplicaSets deleted by the history cleanup.
    pub(super) deleted: Vec<String>,
    pub(super) actions: Vec<ControllerAction>,
    pub(super) events: Vec<ControllerEvent>,
}

/// Syncs one Deployment (`syncDeployment`, deployment_controller.go).
pub fn sync_deployment(input: &DeploymentInput<'_>) -> DeploymentOutcome {
    let d = input.deployment;
    let mut rses = input.replica_sets.to_vec();
    // The controller reads ReplicaSet status written by the ReplicaSet controller's last
    // sync; here that status is computed from the pods just observed.
    for rs in &mut rses {
        let pods: Vec<ObservedPod> = input.pods.iter().filter(|p| p.owner == rs.name).cloned().collect();
        rs.status = status_of(rs, &pods, input.now);
    }
    rses.sort_by(by_creation);
    let mut s = Sync {
        d,
        name: d.metadata.name.clone(),
        namespace: d.metadata.namespace_or_default().to_string(),
        generation: input.generation,
        now: input.now,
        status: input.status.clone(),
        old_status: input.status.clone(),
        rses,
        pods: input.pods,
        foreign: input.foreign_names,
        deleted: Vec::new(),
        actions: Vec::new(),
        events: Vec::new(),
    };
    let selector = d.spec.selector.clone().unwrap_or_default();
    let new = if selector.is_empty() {
        s.events.push(ControllerEvent {
            object: s.object(),
            type_: "Warning".into(),
            reason: "SelectingAll".into(),
            message: "This deployment is selecting all pods. A non-empty selector is required.".into(),
        });
        s.status.observed_generation = s.status.observed_generation.max(s.generation);
        s.find_new()
    } else {
        s.check_paused_conditions();
        if d.spec.paused == Some(true) || s.is_scaling_event() {
            s.sync()
        } else if util::is_rolling(d) {
            s.rollout_rolling()
        } else {
            s.rollout_recreate()
        }
    };
    s.finish(new)
}

impl<'a> Sync<'a> {
    pub(super) fn object(&self) -> String {
        format!("deployment/{}", self.name)
    }

    /// `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the Deployment's,
    /// ignoring the hash label. So an old template coming back reuses its ReplicaSet.
    pub(super) fn find_new(&self) -> Option<usize> {
        self.rses
            .iter()
            .position(|rs| equal_ignore_hash(&rs.template, &self.d.spec.template))
    }

    /// Every ReplicaSet but the new one (`FindOldReplicaSets`), oldest first.
    pub(super) fn olds(&self, new: Option<usize>) -> Vec<usize> {
        (0..self.rses.len()).filter(|i| Some(*i) != new).collect()
    }

    /// `getAllReplicaSetsAndSyncRevision` / `getNewReplicaSet` (sync.go): syncs the new
    /// ReplicaSet's annotations and revision, or creates it when `create` is set.
    pub(super) fn new_replica_set(&mut self, create: bool) -> Option<usize> {
        let existing = self.find_new();
        let max_old = self
            .olds(existing)
            .iter()
            .map(|&i| self.rses[i].revision())
            .max()
            .unwrap_or(0);
        let new_revision = max_old + 1;
        if let Some(i) = existing {
            let min_ready = self.d.spec.min_ready_seconds.unwrap_or(0);
            // In place: the annotations change only when `updated` says so.
            let rs = &mut self.rses[i];
            let updated = util::set_new_rs_annotations(self.d, rs, new_revision, true);
            if updated || rs.min_ready_seconds != min_ready {
                if rs.min_ready_seconds != min_ready {
                    rs.min_ready_seconds = min_ready;
                    rs.generation += 1;
                }
                self.actions
                    .push(ControllerAction::UpdateReplicaSet { name: rs.name.clone() });
                // Upstream returns here and syncs the Deployment's revision on the next pass;
                // the next pass reaches the same state, so do it now.
            }
            self.status.revision = self.rses[i].revision();
            if util::has_progress_deadline(self.d) && self.status.condition("Progressing").is_none() {
                let message = format!("Found new replica set {:?}", self.rses[i].name);
                let c = super::progress::condition("Progressing", "True", "FoundNewReplicaSet", message, self.now);
                super::progress::set_condition(&mut self.status, c);
            }
            return Some(i);
        }
        if !create {
            return None;
        }
        let d = self.d;
        let (hash, name) = loop {
            let hash = template_hash(&d.spec.template, self.status.collision_count);
            let name = format!("{}-{hash}", self.name);
            if !self.foreign.contains(&name) && !self.rses.iter().any(|rs| rs.name == name) {
                break (hash, name);
            }
            // The name is taken by a ReplicaSet with another template: bump collisionCount,
            // which changes the hash (upstream requeues; the next pass does exactly this).
            *self.status.collision_count.get_or_insert(0) += 1;
        };
        let mut template = d.spec.template.clone();
        template.metadata.labels.insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector: LabelSelector = d.spec.selector.clone().unwrap_or_default();
        selector.match_labels.insert(POD_TEMPLATE_HASH.into(), hash);
        let mut rs = LiveReplicaSet {
            uid: object_uid(&self.namespace, &name, self.now),
            name: name.clone(),
            namespace: self.namespace.clone(),
            owner: Some(self.name.clone()),
            labels: template.metadata.labels.clone(),
            annotations: Default::default(),
            selector,
            template,
            replicas: 0,
            min_ready_seconds: d.spec.min_ready_seconds.unwrap_or(0),
            created_at: self.now,
            generation: 1,
            pods_created: 0,
            status: Default::default(),
            orphaned: false,
        };
        self.rses.push(rs.clone());
        let i = self.rses.len() - 1;
        rs.replicas = self.new_rs_new_replicas(i);
        util::set_new_rs_annotations(d, &mut rs, new_revision, false);
        let replicas = rs.replicas;
        self.rses[i] = rs;
        self.actions.push(ControllerAction::CreateReplicaSet {
            name: name.clone(),
            replicas,
        });
        if replicas > 0 {
            self.events.push(ControllerEvent::normal(
                self.object(),
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} to {replicas}"),
            ));
        }
        self.status.revision = new_revision;
        if util::has_progress_deadline(d) {
            let message = format!("Created new replica set {name:?}");
            let c = super::progress::condition("Progressing", "True", "NewReplicaSetCreated", message, self.now);
            super::progress::set_condition(&mut self.status, c);
        }
        Some(i)
    }

    /// `NewRSNewReplicas` (deployment_util.go).
    pub(super) fn new_rs_new_replicas(&self, new: usize) -> i32 {
        let desired = replicas(self.d);
        if !util::is_rolling(self.d) {
            return desired;
        }
        let current: i32 = self.rses.iter().map(|rs| rs.replicas).sum();
        let max_total = desired + util::max_surge(self.d);
        let new_spec = self.rses[new].replicas;
        if current >= max_total {
            return new_spec;
        }
        new_spec + (max_total - current).min(desired - new_spec)
    }

    /// `scaleReplicaSetAndRecordEvent`.
    pub(super) fn scale_and_record(&mut self, i: usize, to: i32) -> bool {
        let from = self.rses[i].replicas;
        if from == to {
            return false;
        }
        self.scale_replica_set(i, to, if from < to { "up" } else { "down" })
    }

    /// `scaleReplicaSet`: sets the size and the desired/max annotations; returns whether the
    /// size changed.
    pub(super) fn scale_replica_set(&mut self, i: usize, to: i32, operation: &str) -> bool {
        let desired = replicas(self.d);
        let max = desired + util::max_surge(self.d);
        let rs = &mut self.rses[i];
        let from = rs.replicas;
        let resize = from != to;
        if !resize && !util::replicas_annotations_need_update(rs, desired, max) {
            return false;
        }
        util::set_replicas_annotations(rs, desired, max);
        let name = rs.name.clone();
        if resize {
            rs.replicas = to;
            rs.generation += 1;
            self.actions.push(ControllerAction::ScaleReplicaSet {
                name: name.clone(),
                from,
                to,
            });
            self.events.push(ControllerEvent::normal(
                self.object(),
                "ScalingReplicaSet",
                format!("Scaled {operation} replica set {name} to {to} from {from}"),
            ));
        } else {
            self.actions.push(ControllerAction::UpdateReplicaSet { name });
        }
        resize
    }

    /// `isScalingEvent`: an active ReplicaSet's desired-replicas annotation differs from
    /// `spec.replicas`.
    fn is_scaling_event(&mut self) -> bool {
        let new = self.new_replica_set(false);
        let desired = replicas(self.d);
        let mut all = self.olds(new);
        all.extend(new);
        all.iter()
            .map(|&i| &self.rses[i])
            .filter(|rs| rs.replicas > 0)
            .filter_map(|rs| util::int_annotation(rs, DESIRED_REPLICAS))
            .any(|n| n != desired)
    }

    /// Runs every ReplicaSet's own sync on the new sizes and puts the outcome together.
    fn finish(mut self, new: Option<usize>) -> DeploymentOutcome {
        let new_name = new.map(|i| self.rses[i].name.clone());
        let deleted = std::mem::take(&mut self.deleted);
        self.rses.retain(|rs| !deleted.contains(&rs.name));
        let mut next_check = super::progress::deadline_check(self.d, &self.status);
        let mut pod_actions = Vec::new();
        for rs in &mut self.rses {
            let pods: Vec<ObservedPod> = self.pods.iter().filter(|p| p.owner == rs.name).cloned().collect();
            let out = sync_replica_set(rs, &pods, self.pods, self.now);
            *rs = out.replica_set;
            pod_actions.extend(out.actions);
            self.events.extend(out.events);
            next_check = match (next_check, out.next_check) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        self.actions.extend(pod_actions);
        DeploymentOutcome {
            new_replica_set: new_name,
            replica_sets: self.rses,
            status: self.status,
            actions: self.actions,
            events: self.events,
            next_check,
        }
    }
}

/// The Deployment controller over the state: every Deployment of git, with the rollout
/// verbs' overrides, its ReplicaSets (adopting orphaned ones its selector matches) and
/// their pods.
pub struct DeploymentController;

impl super::pass::Controller for DeploymentController {
    fn kind(&self) -> crate::manifest::types::Kind {
        crate::manifest::types::Kind::Deployment
    }

    fn sync(&self, input: &super::pass::PassInput<'_>, out: &mut super::pass::PassOutput) {
        use super::pass::key;
        use crate::manifest::Resource;
        // Names of the ReplicaSets of git: a new ReplicaSet whose name is taken collides.
        let standalone: Vec<(&str, &str)> = input
            .desired
            .iter()
            .filter_map(|d| match d.resource.as_deref() {
                Some(Resource::ReplicaSet(rs)) => Some((rs.metadata.namespace_or_default(), rs.metadata.name.as_str())),
                _ => None,
            })
            .collect();
        // The recorded ReplicaSets by (namespace, owner), and the orphans, indexed once: a
        // lookup per Deployment over every ReplicaSet made the pass quadratic.
        let mut owned_by: std::collections::HashMap<(&str, &str), Vec<&LiveReplicaSet>> = Default::default();
        let mut orphans: Vec<&LiveReplicaSet> = Vec::new();
        for rs in input.state.replica_sets.values() {
            if rs.orphaned {
                orphans.push(rs);
            } else if let Some(owner) = &rs.owner {
                owned_by.entry((&rs.namespace, owner)).or_default().push(rs);
            }
        }
        for d in input.desired {
            let Some(Resource::Deployment(dep)) = d.resource.as_deref() else {
                continue;
            };
            let ns = dep.metadata.namespace_or_default().to_string();
            let dkey = key(&ns, &dep.metadata.name);
            if input.left_alone(&d.id) {
                // Deleted with --cascade=foreground: not synced any more (upstream's
                // `syncStatusOnly` for a Deployment with a deletionTimestamp); its ReplicaSets
                // are kept as they are until the garbage collector removes them with it.
                for rs in owned_by
                    .get(&(ns.as_str(), dep.metadata.name.as_str()))
                    .into_iter()
                    .flatten()
                {
                    out.claimed.push(key(&ns, &rs.name));
                    out.replica_sets.insert(key(&ns, &rs.name), (*rs).clone());
                }
                if let Some(status) = input.state.deployments.get(&dkey) {
                    out.deployments.insert(dkey, status.clone());
                }
                continue;
            }
            let mut rses: Vec<LiveReplicaSet> = owned_by
                .get(&(ns.as_str(), dep.metadata.name.as_str()))
                .into_iter()
                .flatten()
                .map(|rs| (*rs).clone())
                .collect();
            // Orphaned ReplicaSets whose labels the selector matches are adopted: same name,
            // same pods, no new ones.
            let selector = dep.spec.selector.clone().unwrap_or_default();
            for rs in orphans.iter().filter(|rs| rs.adoptable_by(&ns, &selector)) {
                let rkey = key(&ns, &rs.name);
                if !out.claimed.contains(&rkey) {
                    let mut rs = (*rs).clone();
                    rs.owner = Some(dep.metadata.name.clone());
                    rs.orphaned = false;
                    out.claimed.push(rkey);
                    rses.push(rs);
                }
            }
            rses.sort_by(by_creation);
            let mut owned: Vec<ObservedPod> = rses.iter().flat_map(|rs| input.pods_of(&ns, &rs.name)).collect();
            for (k, owner) in input.adopters {
                let mine = k.namespace == ns && owner.as_deref() == Some(dep.metadata.name.as_str());
                if mine && !rses.iter().any(|rs| rs.name == k.name) {
                    owned.extend(input.pods_of(&ns, &k.name));
                }
            }
            let foreign: Vec<String> = standalone
                .iter()
                .filter(|(n, _)| *n == ns)
                .map(|(_, name)| name.to_string())
                .collect();
            let status = input.state.deployments.get(&dkey).cloned().unwrap_or_default();
            let generation = input.generation(&d.id);
            let effective = crate::plan::overrides::effective_deployment(dep, &d.hash, input.state.rollouts.get(&dkey));
            let dep = &effective;
            let synced = sync_deployment(&DeploymentInput {
                deployment: dep,
                generation,
                status: &status,
                replica_sets: &rses,
                pods: &owned,
                foreign_names: &foreign,
                now: input.now,
            });
            for a in &synced.actions {
                match a {
                    ControllerAction::CreatePod { .. } | ControllerAction::DeletePod { .. } => {
                        out.pod_actions.push((ns.clone(), a.clone()))
                    }
                    _ => out.actions.push((d.id.clone(), a.clone())),
                }
            }
            out.progress.push(progress(&d.id, dep, generation, &synced, &owned));
            out.check_at(synced.next_check);
            out.events.extend(synced.events);
            for rs in synced.replica_sets {
                let rkey = key(&ns, &rs.name);
                out.claimed.push(rkey.clone());
                out.replica_sets.insert(rkey, rs);
            }
            out.deployments.insert(dkey, synced.status);
        }
    }
}

/// kubectl `rollout status` wording for a Deployment (`DeploymentStatusViewer.Status`).
fn progress(
    id: &crate::manifest::ObjectId,
    dep: &Deployment,
    generation: i64,
    out: &DeploymentOutcome,
    pods: &[ObservedPod],
) -> super::pass::WorkloadProgress {
    use super::pass::not_ready_pods;
    let name = &dep.metadata.name;
    let s = &out.status;
    let want = dep.spec.replicas.unwrap_or(1);
    let converged = out.converged(dep, generation);
    let failed = out.deadline_exceeded();
    let new_pods: Vec<ObservedPod> = pods
        .iter()
        .filter(|p| Some(&p.owner) == out.new_replica_set.as_ref())
        .cloned()
        .collect();
    let message = if failed {
        let c = s
            .condition("Progressing")
            .map(|c| c.message.clone())
            .unwrap_or_default();
        format!(
            "deployment {name:?} exceeded its progress deadline: {c}{}",
            not_ready_pods(&new_pods)
        )
    } else if s.updated_replicas < want {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} out of {want} new replicas have been updated...{}",
            s.updated_replicas,
            not_ready_pods(&new_pods)
        )
    } else if s.replicas > s.updated_replicas {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            s.replicas - s.updated_replicas
        )
    } else if s.available_replicas < s.updated_replicas {
        format!(
            "Waiting for deployment {name:?} rollout to finish: {} of {} updated replicas are available...{}",
            s.available_replicas,
            s.updated_replicas,
            not_ready_pods(&new_pods)
        )
    } else {
        format!("deployment {name:?} successfully rolled out")
    };
    super::pass::WorkloadProgress {
        id: id.clone(),
        converged,
        failed,
        message,
    }
}
