//! A tiny simulated cluster for the controller tests: it carries out actions, makes pods
//! Ready after a delay that depends on their image, and steps a clock (no sleeps).

use super::deployment::{DeploymentInput, DeploymentOutcome, sync_deployment};
use super::types::{ControllerAction, DeploymentStatus, LiveReplicaSet, ObservedPod, Time};
use crate::manifest::status::PodPhase;
use crate::manifest::types::Deployment;
use chrono::{Duration, TimeZone};

/// A pod of the simulation, with when it becomes Ready and when it is gone after deletion.
#[derive(Debug, Clone)]
pub struct SimPod {
    pub pod: ObservedPod,
    pub ready_at: Option<Time>,
    pub gone_at: Option<Time>,
}

/// The simulated cluster of one Deployment.
pub struct Sim {
    pub d: Deployment,
    pub generation: i64,
    pub status: DeploymentStatus,
    pub rses: Vec<LiveReplicaSet>,
    pub pods: Vec<SimPod>,
    pub now: Time,
    /// How long a new pod of this image takes to become Ready (None: never).
    pub ready_delay: fn(&str) -> Option<Duration>,
    /// How long a deleted pod stays terminating.
    pub grace: Duration,
    /// Every action taken, with the time.
    pub log: Vec<(Time, ControllerAction)>,
    pub last: Option<DeploymentOutcome>,
}

/// The epoch of the simulations.
pub fn t0() -> Time {
    chrono::Utc.timestamp_opt(1_800_000_000, 0).unwrap()
}

impl Sim {
    pub fn new(d: Deployment) -> Sim {
        Sim {
            d,
            generation: 1,
            status: DeploymentStatus::default(),
            rses: Vec::new(),
            pods: Vec::new(),
            now: t0(),
            ready_delay: |_| Some(Duration::seconds(2)),
            grace: Duration::zero(),
            log: Vec::new(),
            last: None,
        }
    }

    /// Changes the Deployment as a new commit would (generation + 1).
    pub fn edit(&mut self, f: impl FnOnce(&mut Deployment)) {
        f(&mut self.d);
        self.generation += 1;
    }

    /// Sets the first container's image.
    pub fn set_image(&mut self, image: &str) {
        self.edit(|d| d.spec.template.spec.containers[0].image = Some(image.to_string()));
    }

    /// The pods not being deleted.
    pub fn live(&self) -> impl Iterator<Item = &SimPod> {
        self.pods.iter().filter(|p| !p.pod.deleting)
    }

    pub fn ready_count(&self) -> usize {
        self.live().filter(|p| p.pod.ready).count()
    }

    pub fn rs_sizes(&self) -> Vec<(String, i32)> {
        self.rses.iter().map(|rs| (rs.name.clone(), rs.replicas)).collect()
    }

    /// One controller pass at `now`, then its actions are carried out.
    pub fn step(&mut self) -> DeploymentOutcome {
        let now = self.now;
        self.pods.retain(|p| p.gone_at.is_none_or(|g| g > now));
        for p in &mut self.pods {
            if !p.pod.ready && !p.pod.deleting && p.ready_at.is_some_and(|r| r <= now) {
                p.pod.ready = true;
                p.pod.ready_since = p.ready_at;
            }
        }
        let pods: Vec<ObservedPod> = self.pods.iter().map(|p| p.pod.clone()).collect();
        let out = sync_deployment(&DeploymentInput {
            deployment: &self.d,
            generation: self.generation,
            status: &self.status,
            replica_sets: &self.rses,
            pods: &pods,
            foreign_names: &[],
            now,
        });
        self.rses = out.replica_sets.clone();
        self.status = out.status.clone();
        for a in &out.actions {
            self.log.push((now, a.clone()));
            match a {
                ControllerAction::CreatePod { replica_set, name } => {
                    let rs = self.rses.iter().find(|r| &r.name == replica_set).unwrap();
                    let image = rs.template.spec.containers[0].image.clone().unwrap_or_default();
                    self.pods.push(SimPod {
                        pod: ObservedPod {
                            name: name.clone(),
                            uid: format!("uid-{name}"),
                            owner: replica_set.clone(),
                            labels: std::sync::Arc::new(rs.template.metadata.labels.clone()),
                            phase: PodPhase::Running,
                            ready: false,
                            ready_since: None,
                            deleting: false,
                            created_at: now,
                            node: Some("n1".into()),
                            max_restarts: 0,
                            deletion_cost: 0,
                        },
                        ready_at: (self.ready_delay)(&image).map(|d| now + d),
                        gone_at: None,
                    });
                }
                ControllerAction::DeletePod { uid, .. } => {
                    let grace = self.grace;
                    if let Some(p) = self.pods.iter_mut().find(|p| &p.pod.uid == uid) {
                        p.pod.deleting = true;
                        p.pod.ready = false;
                        p.gone_at = Some(now + grace);
                    }
                }
                _ => {}
            }
        }
        self.last = Some(out.clone());
        out
    }

    /// Steps every `dt` until converged or `max` steps, calling `check` after each step.
    /// Returns the number of steps taken.
    pub fn run(&mut self, dt: Duration, max: usize, mut check: impl FnMut(&Sim)) -> usize {
        for n in 1..=max {
            let out = self.step();
            check(self);
            if out.converged(&self.d, self.generation) {
                return n;
            }
            self.now += dt;
        }
        max
    }
}
