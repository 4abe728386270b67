//! The health of an object in Argo CD's vocabulary (`Healthy`, `Progressing`, `Degraded`,
//! `Suspended`, `Missing`), computed from its status as Argo CD's built-in checks do
//! (gitops-engine `pkg/health/health_pod.go`, `health_deployment.go`,
//! `health_replicaset.go`). Pure: `apply` waits on it and `rekon status` prints it.

use super::controller::{DeploymentStatus, LiveReplicaSet};
use crate::manifest::status::{ContainerState, ContainerStatus, PodPhase, PodStatus};
use crate::manifest::types::Kind;
use crate::manifest::types::NamespacedName;
use crate::state::PodRecord;
use serde::Serialize;

/// Argo CD's health codes, ordered as Argo CD orders them to give an application the worst
/// health of its resources (gitops-engine `health.IsWorse`); `Unknown` is a kind rekon records
/// without running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Health {
    /// Running as specified: pods Ready, rollout complete.
    Healthy,
    /// Deliberately not progressing (a paused Deployment).
    Suspended,
    /// Not healthy yet, but still moving: pods starting, a rollout under way, a pod Pending.
    Progressing,
    /// In git but not on the host: not applied yet, or its pod is gone.
    Missing,
    /// Failed, or unable to recover by itself (CrashLoopBackOff, a passed progress deadline).
    Degraded,
    /// A kind rekon records but runs no controller for.
    Unknown,
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// A health and why (empty when there is nothing to say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// The health code.
    pub health: Health,
    /// Why, in Argo CD's or kubectl's words; empty when healthy with nothing to say.
    pub reason: String,
}

impl Assessment {
    fn new(health: Health, reason: impl Into<String>) -> Self {
        Assessment {
            health,
            reason: reason.into(),
        }
    }

    /// Healthy with nothing to say: what an object without status is once applied.
    pub fn healthy() -> Self {
        Assessment::new(Health::Healthy, "")
    }
}

/// Waiting reasons from which a container does not recover by itself (Argo CD treats these as
/// Degraded; the kubelet retries them with backoff).
const DEGRADED_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "PostStartHookError",
];

/// The health of one pod: Healthy when Running and Ready or Succeeded; Degraded when Failed,
/// lost, or a container waits for a reason it does not recover from; Progressing otherwise
/// (starting, not Ready yet, or Pending for a node).
pub fn pod(record: &PodRecord, status: Option<&PodStatus>) -> Assessment {
    if record.is_terminating() {
        return Assessment::new(Health::Progressing, "Terminating");
    }
    if let Some(s) = &record.scheduling {
        return Assessment::new(Health::Progressing, format!("{}: {}", s.reason, s.message));
    }
    let Some(status) = status else {
        return Assessment::new(Health::Progressing, "ContainerCreating");
    };
    let containers = status.init_container_statuses.iter().chain(&status.container_statuses);
    if let Some(reason) = containers.clone().find_map(degraded_container) {
        return Assessment::new(Health::Degraded, reason);
    }
    // A container that ended with an error in a pod that still runs is not restarted
    // (restartPolicy Never, or an exit 0 under OnFailure would not show here).
    if status.phase == PodPhase::Running
        && let Some(reason) = failed_container(status)
    {
        return Assessment::new(Health::Degraded, reason);
    }
    match status.phase {
        PodPhase::Succeeded => Assessment::new(Health::Healthy, "Completed"),
        PodPhase::Failed => {
            let why = failed_container(status)
                .or_else(|| status.message.clone())
                .unwrap_or_else(|| "Failed".to_string());
            Assessment::new(Health::Degraded, why)
        }
        PodPhase::Unknown => Assessment::new(
            Health::Degraded,
            "Unknown: the pod's supervisor is gone; the next apply replaces the pod",
        ),
        PodPhase::Running if status.is_ready() => Assessment::healthy(),
        PodPhase::Running => {
            let waiting: Vec<&str> = containers.filter(|c| !c.ready).map(|c| c.name.as_str()).collect();
            Assessment::new(
                Health::Progressing,
                format!("Running, not Ready (containers: {})", waiting.join(", ")),
            )
        }
        PodPhase::Pending => {
            let reason = containers
                .clone()
                .find_map(|c| match &c.state {
                    ContainerState::Waiting { reason, .. } => Some(reason.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "Pending".to_string());
            Assessment::new(Health::Progressing, reason)
        }
    }
}

/// `container app: Error (exit code 2)` for the first app container that ended non-zero.
fn failed_container(status: &PodStatus) -> Option<String> {
    status.container_statuses.iter().find_map(|c| match &c.state {
        ContainerState::Terminated { exit_code, reason, .. } if *exit_code != 0 => {
            Some(format!("container {}: {reason} (exit code {exit_code})", c.name))
        }
        _ => None,
    })
}

/// `container app: CrashLoopBackOff (exit code 1, 3 restarts)` for a container that waits for
/// a degraded reason.
fn degraded_container(c: &ContainerStatus) -> Option<String> {
    let ContainerState::Waiting { reason, message } = &c.state else {
        return None;
    };
    // ContainerCreating with a message: a volume of the pod cannot be set up (FailedMount).
    if reason == "ContainerCreating"
        && let Some(m) = message.as_deref().filter(|m| m.starts_with("MountVolume.SetUp failed"))
    {
        return Some(format!("container {}: FailedMount: {m}", c.name));
    }
    if !DEGRADED_WAITING.contains(&reason.as_str()) {
        return None;
    }
    let mut details = Vec::new();
    if let Some(ContainerState::Terminated { exit_code, .. }) = &c.last_state {
        details.push(format!("exit code {exit_code}"));
    }
    if c.restart_count > 0 {
        let s = if c.restart_count == 1 { "" } else { "s" };
        details.push(format!("{} restart{s}", c.restart_count));
    }
    if details.is_empty()
        && let Some(m) = message.as_deref().filter(|m| !m.is_empty())
    {
        details.push(m.to_string());
    }
    Some(if details.is_empty() {
        format!("container {}: {reason}", c.name)
    } else {
        format!("container {}: {reason} ({})", c.name, details.join(", "))
    })
}

/// The health of a Deployment from its status, as Argo CD's check (which follows kubectl's
/// rollout status): Suspended when paused, Degraded past its progress deadline, Progressing
/// until every replica is updated and available.
pub fn deployment(status: Option<&DeploymentStatus>, generation: i64, replicas: i32, paused: bool) -> Assessment {
    if paused {
        return Assessment::new(Health::Suspended, "Deployment is paused");
    }
    let Some(s) = status else {
        return Assessment::new(Health::Progressing, "Waiting for the Deployment controller");
    };
    if s.observed_generation < generation {
        return Assessment::new(
            Health::Progressing,
            "Waiting for rollout to finish: observed generation is old",
        );
    }
    if let Some(c) = s.condition("Progressing")
        && c.reason == "ProgressDeadlineExceeded"
    {
        return Assessment::new(Health::Degraded, format!("{}: {}", c.reason, c.message));
    }
    if s.updated_replicas < replicas {
        return Assessment::new(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {} out of {replicas} new replicas have been updated...",
                s.updated_replicas
            ),
        );
    }
    if s.replicas > s.updated_replicas {
        return Assessment::new(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                s.replicas - s.updated_replicas
            ),
        );
    }
    if s.available_replicas < s.updated_replicas {
        return Assessment::new(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {} of {} updated replicas are available...",
                s.available_replicas, s.updated_replicas
            ),
        );
    }
    Assessment::healthy()
}

/// The health of a ReplicaSet: Progressing until its available pods reach its replicas.
pub fn replica_set(rs: &LiveReplicaSet) -> Assessment {
    let s = &rs.status;
    if s.observed_generation < rs.generation {
        return Assessment::new(Health::Progressing, "Waiting for the ReplicaSet controller");
    }
    if s.available_replicas < rs.replicas {
        return Assessment::new(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {} out of {} replicas are available...",
                s.available_replicas, rs.replicas
            ),
        );
    }
    Assessment::healthy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ObjectId;
    use crate::manifest::status::PodCondition;
    use crate::state::Scheduling;

    fn record() -> PodRecord {
        PodRecord {
            uid: "u1".into(),
            namespace: "default".into(),
            name: "web".into(),
            node: Some("n1".into()),
            scheduling: None,
            owner: ObjectId::new(Kind::Pod, Some("default"), "web"),
            spec_hash: "h".into(),
            created_at: crate::time::parse("2026-01-01T00:00:00Z").unwrap(),
            created: true,
            deletion_timestamp: None,
            deletion_grace_period_seconds: None,
            orphaned: None,
        }
    }

    fn container(state: ContainerState, last: Option<ContainerState>, restarts: u32) -> ContainerStatus {
        ContainerStatus {
            name: "app".into(),
            image: "busybox".into(),
            ready: false,
            started: false,
            restart_count: restarts,
            state,
            last_state: last,
        }
    }

    fn status(phase: PodPhase, containers: Vec<ContainerStatus>, ready: bool) -> PodStatus {
        PodStatus {
            phase,
            conditions: vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                reason: None,
                message: None,
                last_transition_time: None,
            }],
            container_statuses: containers,
            ..PodStatus::default()
        }
    }

    fn waiting(reason: &str, message: Option<&str>) -> ContainerState {
        ContainerState::Waiting {
            reason: reason.into(),
            message: message.map(str::to_string),
        }
    }

    fn terminated(code: i32, reason: &str) -> ContainerState {
        ContainerState::Terminated {
            exit_code: code,
            reason: reason.into(),
            message: None,
            started_at: None,
            finished_at: "2026-01-01T00:00:01Z".into(),
        }
    }

    #[test]
    fn crash_loop_names_container_exit_code_and_restarts() {
        let s = status(
            PodPhase::Running,
            vec![container(
                waiting("CrashLoopBackOff", Some("back-off 10s restarting failed container")),
                Some(terminated(1, "Error")),
                3,
            )],
            false,
        );
        assert_eq!(
            pod(&record(), Some(&s)),
            Assessment::new(
                Health::Degraded,
                "container app: CrashLoopBackOff (exit code 1, 3 restarts)"
            )
        );
    }

    #[test]
    fn image_pull_errors_carry_the_kubelet_message() {
        let s = status(
            PodPhase::Pending,
            vec![container(
                waiting("ErrImagePull", Some("Failed to pull image \"nope\": not found")),
                None,
                0,
            )],
            false,
        );
        assert_eq!(
            pod(&record(), Some(&s)),
            Assessment::new(
                Health::Degraded,
                "container app: ErrImagePull (Failed to pull image \"nope\": not found)"
            )
        );
    }

    #[test]
    fn running_and_ready_is_healthy_and_starting_is_progressing() {
        let mut c = container(ContainerState::Running { started_at: "t".into() }, None, 0);
        let starting = status(PodPhase::Running, vec![c.clone()], false);
        assert_eq!(
            pod(&record(), Some(&starting)),
            Assessment::new(Health::Progressing, "Running, not Ready (containers: app)")
        );
        c.ready = true;
        assert_eq!(
            pod(&record(), Some(&status(PodPhase::Running, vec![c], true))),
            Assessment::healthy()
        );
        let creating = status(
            PodPhase::Pending,
            vec![container(waiting("ContainerCreating", None), None, 0)],
            false,
        );
        assert_eq!(
            pod(&record(), Some(&creating)),
            Assessment::new(Health::Progressing, "ContainerCreating")
        );
    }

    #[test]
    fn succeeded_is_healthy_failed_is_degraded_lost_is_degraded() {
        let done = status(
            PodPhase::Succeeded,
            vec![container(terminated(0, "Completed"), None, 0)],
            false,
        );
        assert_eq!(pod(&record(), Some(&done)).health, Health::Healthy);
        let failed = status(
            PodPhase::Failed,
            vec![container(terminated(2, "Error"), None, 0)],
            false,
        );
        assert_eq!(
            pod(&record(), Some(&failed)),
            Assessment::new(Health::Degraded, "container app: Error (exit code 2)")
        );
        let lost = PodStatus {
            phase: PodPhase::Unknown,
            ..PodStatus::default()
        };
        assert_eq!(pod(&record(), Some(&lost)).health, Health::Degraded);
    }

    #[test]
    fn an_unschedulable_pod_is_progressing_with_the_scheduler_message() {
        let mut r = record();
        r.node = None;
        r.scheduling = Some(Scheduling {
            reason: "Unschedulable".into(),
            message: "0/1 nodes are available: 1 Insufficient cpu.".into(),
        });
        assert_eq!(
            pod(&r, None),
            Assessment::new(
                Health::Progressing,
                "Unschedulable: 0/1 nodes are available: 1 Insufficient cpu."
            )
        );
    }

    fn dep_status(replicas: i32, updated: i32, available: i32) -> DeploymentStatus {
        DeploymentStatus {
            observed_generation: 2,
            replicas,
            updated_replicas: updated,
            ready_replicas: available,
            available_replicas: available,
            ..DeploymentStatus::default()
        }
    }

    #[test]
    fn deployment_health_follows_rollout_status() {
        assert_eq!(deployment(None, 1, 3, true).health, Health::Suspended);
        assert_eq!(
            deployment(Some(&dep_status(3, 3, 3)), 3, 3, false).reason,
            "Waiting for rollout to finish: observed generation is old"
        );
        assert_eq!(
            deployment(Some(&dep_status(3, 1, 3)), 2, 3, false).reason,
            "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."
        );
        assert_eq!(
            deployment(Some(&dep_status(4, 3, 3)), 2, 3, false).reason,
            "Waiting for rollout to finish: 1 old replicas are pending termination..."
        );
        assert_eq!(
            deployment(Some(&dep_status(3, 3, 2)), 2, 3, false).reason,
            "Waiting for rollout to finish: 2 of 3 updated replicas are available..."
        );
        assert_eq!(
            deployment(Some(&dep_status(3, 3, 3)), 2, 3, false),
            Assessment::healthy()
        );
        let mut stuck = dep_status(3, 1, 2);
        stuck.conditions.push(crate::plan::controller::DeploymentCondition {
            type_: "Progressing".into(),
            status: "False".into(),
            reason: "ProgressDeadlineExceeded".into(),
            message: "ReplicaSet \"web-1\" has timed out progressing.".into(),
            last_update_time: crate::time::now(),
            last_transition_time: crate::time::now(),
        });
        assert_eq!(
            deployment(Some(&stuck), 2, 3, false),
            Assessment::new(
                Health::Degraded,
                "ProgressDeadlineExceeded: ReplicaSet \"web-1\" has timed out progressing."
            )
        );
    }
}

/// The health of one applied object of the state, by kind: a Pod from its pod, a
/// Deployment or ReplicaSet from its controller's status, a kind rekon records without a
/// controller `Unknown`, anything else (ConfigMaps, Services, …) Healthy once applied.
pub fn object(
    record: &crate::state::ObjectRecord,
    state: &crate::state::State,
    observed: &super::Observed,
) -> Assessment {
    let id = &record.id;
    let ns = id.namespace.as_deref().unwrap_or("default");
    let key = NamespacedName::new(ns, &id.name);
    match id.kind {
        Kind::Pod => match state.pods.values().find(|p| &p.owner == id) {
            Some(rec) => pod(rec, observed.get(&rec.uid).and_then(|s| s.as_ref())),
            None => Assessment::new(Health::Missing, "the pod is gone; the next apply creates it"),
        },
        Kind::Deployment => {
            let spec = &record.spec["spec"];
            let replicas = spec["replicas"].as_i64().unwrap_or(1) as i32;
            let paused =
                spec["paused"].as_bool().unwrap_or(false) || state.rollouts.get(&key).is_some_and(|o| o.paused);
            deployment(state.deployments.get(&key), record.generation as i64, replicas, paused)
        }
        Kind::ReplicaSet => match state.replica_sets.get(&key) {
            Some(rs) => replica_set(rs),
            None => Assessment::new(Health::Progressing, "Waiting for the ReplicaSet controller"),
        },
        Kind::ReplicationController | Kind::StatefulSet | Kind::DaemonSet | Kind::Job => Assessment::new(
            Health::Unknown,
            format!("no {} controller yet: recorded, runs no pods", id.kind),
        ),
        Kind::PersistentVolumeClaim => claim(state.claims.get(&key)),
        Kind::PersistentVolume => match state.volumes.get(&id.name) {
            Some(v) if v.phase == crate::state::storage::VolumePhase::Failed => {
                Assessment::new(Health::Degraded, v.message.clone().unwrap_or_default())
            }
            _ => Assessment::healthy(),
        },
        _ => Assessment::healthy(),
    }
}

/// The health of a claim, as Argo CD judges one: Healthy when Bound, Degraded when Lost,
/// Progressing while Pending (with the reason of its last event).
pub fn claim(status: Option<&crate::state::storage::ClaimStatus>) -> Assessment {
    use crate::state::storage::ClaimPhase;
    match status {
        Some(c) if c.phase == ClaimPhase::Bound => Assessment::healthy(),
        Some(c) if c.phase == ClaimPhase::Lost => {
            Assessment::new(Health::Degraded, "the claim has lost its PersistentVolume")
        }
        Some(c) => Assessment::new(
            Health::Progressing,
            format!("Pending: {}", c.waiting.as_deref().unwrap_or("waiting for a volume")),
        ),
        None => Assessment::new(Health::Progressing, "Pending: waiting for a volume"),
    }
}

/// What `apply` makes of one pass: every watched object Healthy, still progressing (with what
/// it waits for), or stuck (progress is impossible, with the pod and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing is left to wait for: apply is done.
    Converged,
    /// (object, what it waits for): `deployment/web`, kubectl's rollout message.
    Waiting(Vec<(String, String)>),
    /// `pod default/web-…: container app: CrashLoopBackOff (…)`, with the pod's uid and the
    /// container, so the caller can add its last log line.
    Stuck {
        /// The pod that is stuck (`pod default/web-…`).
        object: String,
        /// Why: the pod's Degraded reason, or the scheduler's message.
        message: String,
        /// Uid of the pod, for its logs; None for a pod no node can take.
        pod_uid: Option<String>,
        /// The failing container, when one is.
        container: Option<String>,
    },
}

/// What the gate looks at after one controller pass.
pub struct GateInput<'a> {
    /// The state after the pass.
    pub state: &'a crate::state::State,
    /// What the runtime reports for the state's pods.
    pub observed: &'a super::Observed,
    /// The bare Pods this apply created or changed.
    pub watched_pods: &'a [crate::manifest::ObjectId],
    /// How far each workload of the pass is; those not converged are rolling out.
    pub progress: &'a [super::workloads::WorkloadProgress],
    /// Whether the pass changed anything on the host (then something may still move).
    pub acted: bool,
}

/// A running pod whose app containers are each Ready or completed (exit 0, not restarted):
/// it will not become Ready (Kubernetes counts a completed container as not ready), and it
/// does not need to for apply, as a pod of finite life is Progressing in Argo CD too.
fn settled(status: Option<&PodStatus>) -> bool {
    status.is_some_and(|s| {
        s.phase == PodPhase::Running
            && !s.container_statuses.is_empty()
            && s.container_statuses
                .iter()
                .all(|c| c.ready || matches!(c.state, ContainerState::Terminated { exit_code: 0, .. }))
    })
}

/// Decides whether apply is done, waits, or stops: a watched bare Pod, or a pod of a workload
/// still rolling out, that is Degraded stops it at once; so does a pod no node can take when
/// nothing else can move (no pod starting, nothing created or deleted in this pass).
pub fn gate(input: &GateInput<'_>) -> Verdict {
    let mut waiting = Vec::new();
    let mut unschedulable = None;
    let mut starting = false;
    let rolling: Vec<&super::workloads::WorkloadProgress> = input.progress.iter().filter(|p| !p.converged).collect();
    // The ReplicaSets (`namespace/name`) whose pods belong to a workload still rolling out.
    let rolling_ids: std::collections::HashSet<(Kind, &str, &str)> = rolling
        .iter()
        .map(|p| {
            (
                p.id.kind,
                p.id.namespace.as_deref().unwrap_or("default"),
                p.id.name.as_str(),
            )
        })
        .collect();
    // Every ReplicaSet that runs pods is in the state, a standalone one of git included.
    let rolling_sets: std::collections::HashSet<(&str, &str)> = input
        .state
        .replica_sets
        .values()
        .filter(|rs| {
            // Of a Deployment, only the new ReplicaSet: old pods that crash are what a
            // rollout replaces, not a reason to stop it.
            rolling_ids.contains(&(Kind::ReplicaSet, rs.namespace.as_str(), rs.name.as_str()))
                || rs.owner.as_deref().is_some_and(|d| {
                    rolling_ids.contains(&(Kind::Deployment, rs.namespace.as_str(), d))
                        && input
                            .state
                            .deployments
                            .get(&NamespacedName::new(&rs.namespace, d))
                            .is_none_or(|s| s.revision == rs.revision())
                })
        })
        .map(|rs| (rs.namespace.as_str(), rs.name.as_str()))
        .collect();
    let owned_by_rolling = |rec: &PodRecord| {
        rec.replica_set().is_some() && rolling_sets.contains(&(rec.namespace.as_str(), rec.owner.name.as_str()))
    };
    for rec in input.state.pods.values() {
        if rec.is_terminating() {
            // Apply waits until the pods it deletes are gone; meanwhile they free room, so a
            // Pending pod is not stuck yet.
            starting = true;
            waiting.push((format!("pod {}/{}", rec.namespace, rec.name), "Terminating".into()));
            continue;
        }
        let watched = rec.owner.kind == Kind::Pod && input.watched_pods.contains(&rec.owner);
        if !watched && !owned_by_rolling(rec) {
            continue;
        }
        let status = input.observed.get(&rec.uid).and_then(|s| s.as_ref());
        let a = pod(rec, status);
        let object = format!("pod {}/{}", rec.namespace, rec.name);
        match a.health {
            Health::Degraded => {
                let container = status.and_then(|s| {
                    s.init_container_statuses
                        .iter()
                        .chain(&s.container_statuses)
                        .find(|c| degraded_container(c).is_some())
                        .map(|c| c.name.clone())
                });
                return Verdict::Stuck {
                    object,
                    message: a.reason,
                    pod_uid: Some(rec.uid.clone()),
                    container,
                };
            }
            Health::Progressing if rec.scheduling.is_some() => {
                unschedulable.get_or_insert((object.clone(), a.reason.clone()));
                if watched {
                    // Already counted by the plan's scheduler (exit 3 with a warning); apply
                    // does not wait for a bare pod no node can take.
                    continue;
                }
                waiting.push((object.clone(), a.reason.clone()));
            }
            Health::Progressing if watched && settled(status) => {}
            Health::Progressing => {
                starting = true;
                if watched {
                    waiting.push((object.clone(), a.reason.clone()));
                }
            }
            _ => {}
        }
    }
    // Ready pods not yet available (minReadySeconds) still move the rollout on.
    let timers_pending = input
        .state
        .deployments
        .values()
        .any(|s| s.ready_replicas > s.available_replicas);
    if let Some((object, message)) = unschedulable
        && !rolling.is_empty()
        && !starting
        && !input.acted
        && !timers_pending
    {
        return Verdict::Stuck {
            object,
            message,
            pod_uid: None,
            container: None,
        };
    }
    waiting.extend(rolling.iter().map(|p| (p.id.kubectl_ref(), p.message.clone())));
    if waiting.is_empty() {
        Verdict::Converged
    } else {
        Verdict::Waiting(waiting)
    }
}
