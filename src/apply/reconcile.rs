//! The level-triggered loop of the controllers: observe (state and runtime) → plan (the pure
//! controllers and the scheduler, [`crate::plan::workloads::reconcile`]) → act → save, until
//! everything apply watches is healthy, a deadline passes, or no progress is possible.
//!
//! The clock and the progress reporter are injected, so the loop runs against
//! [`FakeRuntime`](crate::runtime::fake::FakeRuntime) with a stepped clock in tests.

use super::ApplyError;
use super::executor::Executor;
use super::pods::{reap_terminated, retry_unconfirmed};
use crate::manifest::ObjectId;
use crate::manifest::types::{Kind, NamespacedName};
use crate::plan::controller::Time;
use crate::plan::health::{GateInput, Verdict, gate};
use crate::plan::workloads::{WorkloadInput, reconcile};
use crate::plan::{DesiredObject, HostFacts, Observed};
use crate::runtime::{Runtime, RuntimeError};
use crate::state::{Event, EventLog, State};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The longest the loop sleeps before it looks at the pods again.
const MAX_WAIT: Duration = Duration::from_millis(200);
/// How long the pods a run started must stay healthy before the loop says converged: a
/// container with no readiness probe is Ready the moment it runs, and one that crashes at
/// start-up (a bad flag, a missing file) would otherwise pass for healthy.
pub const SETTLE: Duration = Duration::from_secs(1);
/// The first wait after the loop acted; it doubles while nothing changes, up to
/// [`MAX_WAIT`]. A runtime that can tell when a pod's status changes ends a wait early.
const FIRST_WAIT: Duration = Duration::from_millis(2);

/// Where the loop reads the time and waits.
pub trait Clock {
    /// The current time.
    fn now(&self) -> Time;
    /// Waits `duration` (a stepped clock moves on by it instead).
    fn sleep(&mut self, duration: Duration);
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        crate::time::now()
    }

    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// What the loop tells the user while it runs.
pub trait Progress {
    /// A line to keep: a controller event, or a workload's new progress message.
    fn line(&mut self, text: &str);
    /// The one-line summary a terminal shows in place (`web: 2/3 updated, 3 ready`).
    fn status(&mut self, text: &str);
}

/// What one run of the loop waits for, and how long.
pub struct LoopConfig<'a> {
    /// The objects of git the plan was made from.
    pub desired: &'a [DesiredObject],
    /// The bare Pods the plan created or changed: the loop waits for them to be healthy.
    pub watched_pods: &'a [ObjectId],
    /// The host the scheduler places pods on.
    pub host: &'a HostFacts,
    /// How long the loop waits for convergence.
    pub timeout: Duration,
    /// Return after the first pass.
    pub no_wait: bool,
}

/// How the loop ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Everything watched is healthy (or, with `no_wait`, the first pass is done).
    Converged,
    /// A Deployment exceeded its progress deadline.
    Failed {
        /// The workload, `deployment/web`.
        object: String,
        /// Its Progressing condition's message.
        message: String,
    },
    /// Progress is impossible: a degraded pod, or a pod no node can take.
    Stuck {
        /// What cannot progress, `pod default/web-…`.
        object: String,
        /// Why, with the container and its reason.
        message: String,
        /// The pod, so the caller can show its last log line.
        pod_uid: Option<String>,
        /// The container whose state is the reason.
        container: Option<String>,
    },
    /// The timeout passed (or the loop was asked to stop); what was still awaited.
    TimedOut(Vec<(String, String)>),
}

/// The loop's collaborators.
pub struct Reconciler<'a, 'e> {
    /// Carries out each pass, with the executor that ran the plan (one saver, one crash
    /// hook, one pod protocol).
    pub executor: &'a mut Executor<'e>,
    /// Where the controllers' and the scheduler's events go.
    pub events: &'a EventLog,
    /// Where the loop reads the time and waits.
    pub clock: &'a mut dyn Clock,
    /// What the loop tells the user.
    pub progress: &'a mut dyn Progress,
    /// Set by a signal: the loop ends as if the timeout had passed.
    pub stop: Option<&'a AtomicBool>,
}

/// What the runtime says about the state's pods (None: it has no such pod).
pub fn observe(runtime: &mut dyn Runtime, state: &State) -> Result<Observed, RuntimeError> {
    let mut observed = Observed::new();
    for uid in state.pods.values().filter(|p| !p.is_pending()).map(|p| &p.uid) {
        observed.insert(uid.clone(), runtime.pod_status(uid)?);
    }
    Ok(observed)
}

/// Whether the loop has anything to do for `state` and `config`.
pub fn needed(state: &State, config: &LoopConfig<'_>) -> bool {
    config
        .desired
        .iter()
        .any(|d| matches!(d.id.kind, Kind::Deployment | Kind::ReplicaSet))
        || !state.replica_sets.is_empty()
        || !config.watched_pods.is_empty()
        || state.pods.values().any(|p| p.is_terminating())
        || state.objects.values().any(|r| r.deletion_timestamp.is_some())
}

impl Reconciler<'_, '_> {
    /// Runs the loop over `state`, saving it after every effect.
    pub fn run(&mut self, state: &mut State, config: &LoopConfig<'_>) -> Result<Outcome, ApplyError> {
        if !needed(state, config) {
            return Ok(Outcome::Converged);
        }
        let deadline = self.clock.now() + config.timeout;
        let mut last_messages: Vec<String> = Vec::new();
        let mut wait = FIRST_WAIT;
        // Whether this run started pods (then convergence must hold for SETTLE), and since
        // when the verdict has been Converged.
        let mut started = !config.watched_pods.is_empty();
        let mut converged_since: Option<Time> = None;
        loop {
            let ex = &mut *self.executor;
            retry_unconfirmed(&mut ex.saver, ex.runtime, &ex.config, state, config.desired)?;
            reap_terminated(&mut ex.saver, ex.runtime, state)?;
            if super::gc::finish_foreground_deletions(state, crate::time::whole_seconds(self.clock.now())) {
                ex.saver.save(state)?;
            }
            let observed = observe(ex.runtime, state).map_err(|source| ApplyError::Runtime {
                id: "pods".into(),
                source,
            })?;
            let claims = self.executor.sync_storage(config.desired, state)?;
            let now = self.clock.now();
            let step = reconcile(&WorkloadInput {
                desired: config.desired,
                state,
                observed: &observed,
                host: config.host,
                claims: &claims,
                now,
                applied_only: true,
            });
            self.record_events(&step, now)?;
            let changed =
                step.acts() || state.replica_sets != step.replica_sets || state.deployments != step.deployments;
            if step.acts() {
                self.executor
                    .runtime
                    .check_can_modify()
                    .map_err(|source| ApplyError::Runtime {
                        id: "the pods of Deployments and ReplicaSets".into(),
                        source,
                    })?;
            }
            started |= !step.creates.is_empty();
            if changed {
                self.executor
                    .execute_pass(state, &step, crate::time::whole_seconds(now))?;
            }
            let messages: Vec<String> = step
                .progress
                .iter()
                .map(|p| format!("{}: {}", p.id.kubectl_ref(), p.message))
                .collect();
            for m in messages.iter().filter(|m| !last_messages.contains(m)) {
                self.progress.line(m);
            }
            last_messages = messages;
            self.progress.status(&summary(config.desired, &step.deployments));
            let verdict = gate(&GateInput {
                state,
                observed: &observed,
                watched_pods: config.watched_pods,
                progress: &step.progress,
                acted: step.acts(),
            });
            let is_converged = verdict == Verdict::Converged;
            if let Some(failed) = step.progress.iter().find(|p| p.failed) {
                return Ok(Outcome::Failed {
                    object: failed.id.kubectl_ref(),
                    message: failed.message.clone(),
                });
            }
            match verdict {
                Verdict::Stuck {
                    object,
                    message,
                    pod_uid,
                    container,
                } => {
                    return Ok(Outcome::Stuck {
                        object,
                        message,
                        pod_uid,
                        container,
                    });
                }
                _ if config.no_wait => return Ok(Outcome::Converged),
                Verdict::Converged if !step.acts() => {
                    let since = *converged_since.get_or_insert(now);
                    let settled = self.clock.now() - since;
                    if !started || settled >= chrono::Duration::from_std(SETTLE).expect("small") {
                        return Ok(Outcome::Converged);
                    }
                }
                Verdict::Waiting(what) if self.clock.now() >= deadline || self.stopped() => {
                    return Ok(Outcome::TimedOut(what));
                }
                _ if self.clock.now() >= deadline || self.stopped() => return Ok(Outcome::TimedOut(Vec::new())),
                _ => {}
            }
            if !is_converged || step.acts() {
                converged_since = None;
            }
            if step.acts() {
                wait = FIRST_WAIT;
            } else {
                // Nothing changed: wait for the next interesting moment, so pod status
                // changes are seen soon without busy polling.
                let mut sleep = wait;
                if let Some(at) = step.next_check
                    && let Ok(until) = (at - self.clock.now()).to_std()
                {
                    sleep = sleep.min(until);
                }
                // The runtime wakes the loop when a pod's status changes; otherwise it sleeps.
                if !self.executor.runtime.wait_for_change(sleep) {
                    self.clock.sleep(sleep);
                }
                wait = (wait * 2).min(MAX_WAIT);
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// The controllers' events and the scheduler's, shown and kept in the event log.
    fn record_events(&mut self, step: &crate::plan::workloads::WorkloadStep, now: Time) -> Result<(), ApplyError> {
        for e in &step.events {
            self.progress.line(&format!("{}: {}", e.object, e.message));
            let source = if e.object.starts_with("deployment/") {
                "deployment-controller"
            } else {
                "replicaset-controller"
            };
            self.events.append(&Event::of_object(
                now,
                &e.type_,
                &e.reason,
                source,
                e.object.clone(),
                e.message.clone(),
            ))?;
        }
        for c in &step.creates {
            let (type_, reason, message) = match (&c.node, &c.scheduling) {
                (Some(node), _) => (
                    "Normal",
                    "Scheduled",
                    format!("Successfully assigned {}/{} to {node}", c.namespace, c.name),
                ),
                (None, s) => (
                    "Warning",
                    "FailedScheduling",
                    s.as_ref().map(|s| s.message.clone()).unwrap_or_default(),
                ),
            };
            self.events.append(&Event::of_object(
                now,
                type_,
                reason,
                "default-scheduler",
                format!("pod/{}", c.name),
                message,
            ))?;
        }
        Ok(())
    }
}

/// One line for the rolling workloads: `web: 2/3 updated, 3 ready`.
fn summary(
    desired: &[DesiredObject],
    deployments: &std::collections::BTreeMap<NamespacedName, crate::plan::controller::DeploymentStatus>,
) -> String {
    let parts: Vec<String> = desired
        .iter()
        .filter(|d| d.id.kind == Kind::Deployment)
        .filter_map(|d| {
            let s = deployments.get(&d.id.key()?)?;
            let want = d.value.pointer("/spec/replicas").and_then(|v| v.as_i64()).unwrap_or(1);
            Some(format!(
                "{}: {}/{want} updated, {} ready",
                d.id.name, s.updated_replicas, s.ready_replicas
            ))
        })
        .collect();
    parts.join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{SourceFile, load};
    use crate::plan::desired_objects;
    use crate::runtime::fake::{Call, FakeRuntime};
    use crate::state::StateStore;

    /// A clock that only moves when the loop sleeps.
    struct StepClock {
        now: Time,
        sleeps: u32,
    }

    impl Clock for StepClock {
        fn now(&self) -> Time {
            self.now
        }

        fn sleep(&mut self, duration: Duration) {
            self.sleeps += 1;
            self.now += chrono::Duration::from_std(duration).unwrap();
        }
    }

    #[derive(Default)]
    struct Lines(Vec<String>);

    impl Progress for Lines {
        fn line(&mut self, text: &str) {
            self.0.push(text.to_string());
        }

        fn status(&mut self, _text: &str) {}
    }

    fn deployment(replicas: u32, image: &str, extra: &str) -> Vec<DesiredObject> {
        let yaml = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n{extra}  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n        resources: {{requests: {{cpu: 100m}}}}\n"
        );
        let m = load(&[SourceFile {
            path: "web.yaml".into(),
            text: yaml,
        }])
        .expect("valid manifests");
        desired_objects(&m, &|b: &[u8]| format!("h:{}", b.len()))
    }

    fn host(cpus: u32) -> HostFacts {
        HostFacts {
            hostname: "box".into(),
            cpus,
            memory_bytes: 8 << 30,
            arch: "x86_64".into(),
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        store: StateStore,
        events: EventLog,
        clock: StepClock,
        lines: Lines,
        uids: u32,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let store = StateStore::open(dir.path()).unwrap();
            let events = EventLog::open(dir.path()).unwrap();
            Fixture {
                _dir: dir,
                store,
                events,
                clock: StepClock {
                    now: crate::time::now(),
                    sleeps: 0,
                },
                lines: Lines::default(),
                uids: 0,
            }
        }

        fn run(
            &mut self,
            rt: &mut FakeRuntime,
            desired: &[DesiredObject],
            host: &HostFacts,
            crash_after: Option<u32>,
        ) -> Result<Outcome, ApplyError> {
            let mut state = self.store.load().unwrap();
            // What the plan's steps do before the loop: every object of git is recorded.
            for d in desired {
                let generation = match state.objects.get(&d.id) {
                    Some(old) if old.hash == d.hash => continue,
                    Some(old) => old.generation + 1,
                    None => 1,
                };
                state.objects.insert(
                    d.id.clone(),
                    crate::state::ObjectRecord {
                        id: d.id.clone(),
                        spec: d.value.clone().into(),
                        hash: d.hash.clone(),
                        origin: d.origin.clone(),
                        created_at: self.clock.now,
                        generation,
                        deletion_timestamp: None,
                        finalizers: Vec::new(),
                    },
                );
            }
            let uids = &mut self.uids;
            let mut new_uid = || {
                *uids += 1;
                format!("uid-{uids:03}")
            };
            let config = LoopConfig {
                desired,
                watched_pods: &[],
                host,
                timeout: Duration::from_secs(60),
                no_wait: false,
            };
            let now = crate::time::now;
            let mut on_step = |_: &crate::plan::Step| {};
            let mut executor = Executor::new(&self.store, rt, &mut new_uid, &now, &mut on_step);
            executor.saver.crash_after = crash_after;
            Reconciler {
                executor: &mut executor,
                events: &self.events,
                clock: &mut self.clock,
                progress: &mut self.lines,
                stop: None,
            }
            .run(&mut state, &config)
        }
    }

    fn creates(rt: &FakeRuntime) -> Vec<&String> {
        rt.calls
            .iter()
            .filter_map(|c| match c {
                Call::Create(uid) => Some(uid),
                _ => None,
            })
            .collect()
    }

    /// What `rekon delete deployment/web --cascade=orphan` and then `delete rs/… --cascade=orphan`
    /// leave: the Deployment and its ReplicaSet forgotten, their pods running with no owner.
    fn orphan_everything(f: &Fixture) -> String {
        let mut state = f.store.load().unwrap();
        let rs = state.replica_sets.values().next().expect("one ReplicaSet").clone();
        for p in state.pods.values_mut() {
            p.orphaned = Some(Box::new(rs.template.clone()));
        }
        let web = ObjectId::new(Kind::Deployment, Some("default"), "web");
        crate::apply::gc::forget(&mut state, &web, crate::time::now());
        assert!(state.replica_sets.is_empty());
        f.store.save(&mut state).unwrap();
        rs.name
    }

    #[test]
    fn orphaned_pods_are_adopted_by_the_replica_set_applying_again_recreates() {
        let mut f = Fixture::new();
        let mut rt = FakeRuntime::new();
        let desired = deployment(3, "busybox", "");
        assert_eq!(f.run(&mut rt, &desired, &host(4), None).unwrap(), Outcome::Converged);
        let rs_name = orphan_everything(&f);
        let before: Vec<String> = f.store.load().unwrap().pods.keys().cloned().collect();

        assert_eq!(f.run(&mut rt, &desired, &host(4), None).unwrap(), Outcome::Converged);
        let state = f.store.load().unwrap();
        // The same ReplicaSet name, the same three pods, no new one created, owned again.
        assert_eq!(
            state.replica_sets.keys().map(|k| k.name.as_str()).collect::<Vec<_>>(),
            [rs_name.as_str()]
        );
        assert_eq!(state.pods.keys().cloned().collect::<Vec<_>>(), before);
        assert_eq!(creates(&rt).len(), 3);
        for p in state.pods.values() {
            assert_eq!(
                (p.owner.to_string(), p.is_orphan()),
                (format!("ReplicaSet default/{rs_name}"), false)
            );
        }
        let status = &state.deployments[&NamespacedName::new("default", "web")];
        assert_eq!((status.replicas, status.available_replicas), (3, 3));
    }

    #[test]
    fn orphans_no_selector_matches_keep_running_and_are_not_counted() {
        let mut f = Fixture::new();
        let mut rt = FakeRuntime::new();
        assert_eq!(
            f.run(&mut rt, &deployment(2, "busybox", ""), &host(4), None).unwrap(),
            Outcome::Converged
        );
        orphan_everything(&f);
        // Another app under the same name: its selector does not match the orphans' labels.
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: other}\n  template:\n    metadata:\n      labels: {app: other}\n    spec:\n      containers:\n      - name: app\n        image: busybox\n";
        let m = load(&[SourceFile {
            path: "web.yaml".into(),
            text: yaml.into(),
        }])
        .unwrap();
        let other = desired_objects(&m, &|b: &[u8]| format!("h:{}", b.len()));
        assert_eq!(f.run(&mut rt, &other, &host(4), None).unwrap(), Outcome::Converged);
        let state = f.store.load().unwrap();
        assert_eq!(state.pods.len(), 4);
        assert_eq!(state.pods.values().filter(|p| p.is_orphan()).count(), 2);
        assert_eq!(rt.pods.len(), 4, "the orphans still run");
        assert_eq!(creates(&rt).len(), 4);
    }

    #[test]
    fn a_new_deployment_converges_without_real_sleeps() {
        let mut f = Fixture::new();
        let mut rt = FakeRuntime::new();
        let outcome = f.run(&mut rt, &deployment(3, "busybox", ""), &host(4), None).unwrap();
        assert_eq!(outcome, Outcome::Converged);
        assert_eq!(rt.pods.len(), 3);
        let state = f.store.load().unwrap();
        let status = &state.deployments[&NamespacedName::new("default", "web")];
        assert_eq!(
            (status.replicas, status.ready_replicas, status.available_replicas),
            (3, 3, 3)
        );
        assert_eq!(
            f.lines.0.last().map(String::as_str),
            Some("deployment/web: deployment \"web\" successfully rolled out")
        );
        assert!(
            f.lines.0.iter().any(|l| l.contains("Scaled up replica set web-")),
            "{:?}",
            f.lines.0
        );
    }

    #[test]
    fn a_rolling_update_replaces_pods_while_old_ones_terminate_in_parallel() {
        let mut f = Fixture::new();
        let mut rt = FakeRuntime::new();
        let strategy = "  strategy:\n    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}\n";
        assert_eq!(
            f.run(&mut rt, &deployment(4, "busybox:1", strategy), &host(4), None)
                .unwrap(),
            Outcome::Converged
        );
        let old: Vec<String> = rt.pods.keys().cloned().collect();
        // Each old pod takes ten passes to stop (its preStop hook, its grace period).
        rt.termination_reaps = 10;
        let outcome = f
            .run(&mut rt, &deployment(4, "busybox:2", strategy), &host(4), None)
            .unwrap();
        assert_eq!(outcome, Outcome::Converged);
        assert!(
            rt.max_terminating >= 2,
            "old pods stop together: at most {}",
            rt.max_terminating
        );
        assert_eq!(rt.pods.len(), 4);
        assert!(
            old.iter().all(|uid| !rt.pods.contains_key(uid)),
            "every old pod is gone"
        );
        let state = f.store.load().unwrap();
        assert_eq!(state.pods.len(), 4, "the terminated records are forgotten");
        assert!(state.pods.values().all(|p| !p.is_terminating()));
        // One after the other, the four old pods would keep the loop waiting 40 passes; in
        // parallel it is about one pod's ten, plus the SETTLE window (about ten doubling waits).
        assert!(f.clock.sleeps < 32, "{} passes slept", f.clock.sleeps);
    }

    #[test]
    fn a_crash_looping_pod_stops_the_loop_at_once() {
        let mut f = Fixture::new();
        let mut rt = FakeRuntime::new();
        let outcome = f
            .run(&mut rt, &deployment(1, "crash-loop", ""), &host(4), None)
            .unwrap();
        let Outcome::Stuck {
            object,
            message,
            container,
            ..
        } = outcome
        else {
            panic!("{outcome:?}")
        };
        assert!(object.starts_with("pod default/web-"), "{object}");
        assert_eq!(message, "container app: CrashLoopBackOff (exit code 1, 1 restart)");
        assert_eq!(container.as_deref(), Some("app"));
        assert_eq!(f.clock.sleeps, 0, "no waiting for --timeout");
    }

    #[test]
    fn a_pod_that_crashes_a_moment_after_it_started_is_not_converged() {
        let mut f = Fixture::new();
        let mut rt = FakeRuntime::new();
        let start = f.clock.now;
        let outcome = f
            .run(&mut rt, &deployment(1, "crash-after-start", ""), &host(4), None)
            .unwrap();
        let Outcome::Stuck { message, .. } = outcome else {
            panic!("{outcome:?} {:?} {}", f.lines.0, f.clock.sleeps)
        };
        assert_eq!(message, "container app: CrashLoopBackOff (exit code 2, 1 restart)");
        assert!(f.clock.now - start < chrono::Duration::from_std(SETTLE).unwrap());
    }

    #[test]
    fn pods_no_node_can_take_stop_the_loop_once_nothing_moves() {
        let mut f = Fixture::new();
        let mut rt = FakeRuntime::new();
        // 100m each on a 1-cpu host: ten fit, the other two never will.
        let outcome = f.run(&mut rt, &deployment(12, "busybox", ""), &host(1), None).unwrap();
        let Outcome::Stuck { object, message, .. } = outcome else {
            panic!("{outcome:?}")
        };
        assert!(object.starts_with("pod default/web-"), "{object}");
        assert_eq!(message, "Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.");
        assert_eq!(rt.pods.len(), 10);
    }

    #[test]
    fn a_rollout_that_cannot_finish_times_out_on_the_injected_clock() {
        let mut f = Fixture::new();
        let mut rt = FakeRuntime::new();
        let start = f.clock.now;
        let outcome = f
            .run(&mut rt, &deployment(2, "never-ready", ""), &host(4), None)
            .unwrap();
        let Outcome::TimedOut(what) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            what,
            [(
                "deployment/web".to_string(),
                format!(
                    "Waiting for deployment \"web\" rollout to finish: 0 of 2 updated replicas are available... ({}: Running, not Ready; {}: Running, not Ready)",
                    rt.pods.values().next().unwrap().0.name,
                    rt.pods.values().nth(1).unwrap().0.name
                )
            )]
        );
        let waited = f.clock.now - start;
        assert!(
            waited >= chrono::Duration::seconds(60) && waited < chrono::Duration::seconds(61),
            "{waited}"
        );
    }

    #[test]
    fn a_crash_between_saves_is_finished_by_the_next_run_without_duplicates() {
        // The first pass saves the intents of the 3 pods, then their confirmations; the
        // statuses follow in a later pass.
        for crash_after in 1..=3 {
            let mut f = Fixture::new();
            let mut rt = FakeRuntime::new();
            let d = deployment(3, "busybox", "");
            let err = f.run(&mut rt, &d, &host(4), Some(crash_after)).unwrap_err();
            assert!(matches!(err, ApplyError::InjectedCrash(n) if n == crash_after), "{err}");
            assert_eq!(f.run(&mut rt, &d, &host(4), None).unwrap(), Outcome::Converged);
            let state = f.store.load().unwrap();
            assert_eq!(rt.pods.len(), 3, "after a crash at save {crash_after}");
            assert_eq!(
                state.pods.keys().collect::<Vec<_>>(),
                rt.pods.keys().collect::<Vec<_>>()
            );
            let mut made = creates(&rt);
            made.sort();
            made.dedup();
            assert_eq!(made.len(), 3, "no pod was created twice under two uids");
        }
    }
}
