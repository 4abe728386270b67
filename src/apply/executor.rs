//! The executor: the one place apply changes the runtime and saves the state. It carries
//! out a plan's steps ([`Executor::execute`]) and each pass of the workload controllers
//! ([`Executor::execute_pass`], in `pass.rs`), both through the pod protocol of
//! [`super::pods`] and one [`Saver`].

use super::pods::{self, Saver};
use crate::manifest::ObjectId;
use crate::manifest::types::Kind;
use crate::plan::{Action, DesiredObject, Plan, PodPlacement, Step, Summary};
use crate::runtime::{NodeConfig, Runtime, RuntimeError};
use crate::state::{AppliedSpec, ObjectRecord, PodRecord, Scheduling, State, StateError, StateStore};
use crate::time::Time;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The state could not be saved; what completed before is in the last save.
    #[error("failed to save the state")]
    State(#[from] StateError),
    /// A runtime call failed.
    #[error("{id}: the runtime failed")]
    Runtime {
        /// The object or pod the call was for (`Pod default/web`).
        id: String,
        /// What the runtime said.
        #[source]
        source: RuntimeError,
    },
    /// A step or a pod record names an object that is not among the manifests (or a
    /// ReplicaSet that is not recorded).
    #[error("{0}: the plan names an object the manifests do not have")]
    MissingDesired(String),
    /// A saved plan of an older format has no capacity for a Node it configures.
    #[error("Node {0}: the plan gives no size for this node (a plan older than format 1.1); run rekon plan again")]
    NodeNotInPlan(String),
    /// A provisioned volume's directory could not be made or removed.
    #[error("{id}: {message}")]
    Volume {
        /// The volume (`PersistentVolume pvc-…`).
        id: String,
        /// What failed.
        message: String,
    },
    /// A test hook: stop as if killed right after a state save.
    #[error("injected crash after {0} state saves")]
    InjectedCrash(u32),
    /// SIGINT/SIGTERM arrived; the state is saved up to the last completed step.
    #[error("interrupted; the state is saved up to the last completed step")]
    Interrupted,
}

/// Runs plans and controller passes. Everything it touches is passed in, so tests drive it
/// with a fake runtime.
pub struct Executor<'a> {
    /// Saves the state; its crash hook counts every save of the run.
    pub saver: Saver<'a>,
    /// Where pods run.
    pub runtime: &'a mut dyn Runtime,
    /// Makes pod uids (random in production, counted in tests).
    pub new_uid: &'a mut dyn FnMut() -> String,
    /// The time stamped on new records and deletions.
    pub now: &'a dyn Fn() -> Time,
    /// Called after each step completes.
    pub on_step: &'a mut dyn FnMut(&Step),
    /// Checked before each step: when set, stop cleanly.
    pub stop: Option<&'a AtomicBool>,
    /// How many new pods' intents one save records ahead of their creation. Every save writes
    /// the whole state, so one save per pod made a first apply of 2,000 bare pods write
    /// 2,000 × 19 MB; an intent saved early costs nothing if the run stops, as the next apply
    /// creates an unconfirmed pod idempotently by its uid.
    pub pod_batch: usize,
    /// The ConfigMaps and Secrets of git, for the pods that read them.
    pub config: super::config::ConfigSource,
    /// The owners of the running pods whose config data the last plan changed (a ConfigMap
    /// that now exists, a new value): apply waits for the bare Pods among them.
    pub data_changed: Vec<ObjectId>,
    /// Pods whose intent is saved, by object: their creation is the next runtime step.
    reserved: std::collections::HashMap<ObjectId, String>,
}

impl<'a> Executor<'a> {
    /// An executor saving into `store`, with the default batch and no hooks.
    pub fn new(
        store: &'a StateStore,
        runtime: &'a mut dyn Runtime,
        new_uid: &'a mut dyn FnMut() -> String,
        now: &'a dyn Fn() -> Time,
        on_step: &'a mut dyn FnMut(&Step),
    ) -> Self {
        Executor {
            saver: Saver::new(store, None),
            runtime,
            new_uid,
            now,
            on_step,
            stop: None,
            pod_batch: 64,
            config: Default::default(),
            data_changed: Vec::new(),
            reserved: Default::default(),
        }
    }

    /// Executes every step of `plan` in order; `desired` must be the objects it was made from.
    pub fn execute(
        &mut self,
        plan: &Plan,
        desired: &[DesiredObject],
        state: &mut State,
    ) -> Result<Summary, ApplyError> {
        // Remembered from the first save on, so a bare `rekon apply` after a crash continues.
        state.source = Some(plan.source.spec.clone());
        let by_id: std::collections::HashMap<&ObjectId, &DesiredObject> = desired.iter().map(|d| (&d.id, d)).collect();
        // New bare pods on a node whose object has no pod record (one left by a crash is
        // stopped first, by rebuild_pod): their intents can be saved ahead, together. Only a
        // step's own object gains pod records, so this holds through the run.
        let with_pods: std::collections::HashSet<&ObjectId> = state.pods.values().map(|p| &p.owner).collect();
        let fresh: std::collections::HashSet<ObjectId> = plan
            .steps
            .iter()
            .filter(|s| {
                s.id.kind == Kind::Pod && s.action == Action::Create && s.node.is_some() && !with_pods.contains(&s.id)
            })
            .map(|s| s.id.clone())
            .collect();
        // Claims bind once the storage objects are recorded, before any pod that mounts them
        // is created.
        let mut storage_synced = false;
        for (i, step) in plan.steps.iter().enumerate() {
            if self.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Err(ApplyError::Interrupted);
            }
            if !storage_synced
                && step.action != Action::Delete
                && crate::plan::compute::kind_rank(step.id.kind)
                    > crate::plan::compute::kind_rank(Kind::PersistentVolumeClaim)
            {
                self.sync_storage(desired, state)?;
                storage_synced = true;
            }
            if fresh.contains(&step.id) && !self.reserved.contains_key(&step.id) {
                let batch = plan.steps[i..].iter().take_while(|s| fresh.contains(&s.id));
                self.reserve(batch, &by_id, state)?;
            }
            if let Some(uid) = self.reserved.remove(&step.id) {
                let d = *by_id
                    .get(&step.id)
                    .ok_or_else(|| ApplyError::MissingDesired(step.id.to_string()))?;
                if let Err(e) = self.create_pod(d, uid, state) {
                    // The pods created before this one are kept: their confirmations are saved.
                    self.saver.save(state)?;
                    return Err(e);
                }
                (self.on_step)(step);
                continue;
            }
            match step.action {
                Action::Delete if step.id.kind == Kind::Node => self.remove_node(&step.id, state)?,
                Action::Delete => self.delete(&step.id, state)?,
                _ => {
                    let d = *by_id
                        .get(&step.id)
                        .ok_or_else(|| ApplyError::MissingDesired(step.id.to_string()))?;
                    if step.id.kind == Kind::Pod && step.action != Action::Update {
                        self.rebuild_pod(plan, step, d, state)?;
                    }
                    if step.id.kind == Kind::Node {
                        self.configure_node(plan, &step.id)?;
                    }
                    self.record(d, state)?;
                }
            }
            (self.on_step)(step);
        }
        refresh_pending(plan, state);
        state.revision = Some(plan.source.revision.clone());
        self.saver.save(state)?;
        self.sync_storage(desired, state)?;
        // ConfigMaps, Secrets, labels or annotations that changed reach the running pods.
        self.data_changed =
            super::config::sync_pod_data(self.runtime, &self.config, state, desired).map_err(|source| {
                ApplyError::Runtime {
                    id: "the config data of running pods".into(),
                    source,
                }
            })?;
        Ok(plan.summary)
    }

    /// Deletes runtime pods that no state record knows (left by a crash or by hand); returns
    /// their uids.
    pub fn collect_garbage(&mut self, state: &State) -> Result<Vec<String>, ApplyError> {
        let orphans: Vec<String> = self
            .runtime
            .list_pods()
            .map_err(|source| ApplyError::Runtime {
                id: "runtime".into(),
                source,
            })?
            .into_iter()
            .filter(|uid| !state.pods.contains_key(uid))
            .collect();
        let pods: Vec<(String, Duration)> = orphans
            .iter()
            .map(|uid| (uid.clone(), Duration::from_secs(30)))
            .collect();
        crate::runtime::delete_pods(self.runtime, &pods).map_err(|source| ApplyError::Runtime {
            id: format!("pods {}", orphans.join(", ")),
            source,
        })?;
        Ok(orphans)
    }

    fn record(&mut self, d: &DesiredObject, state: &mut State) -> Result<(), ApplyError> {
        let now = (self.now)();
        let rec = match state.objects.get(&d.id) {
            Some(old) if old.hash == d.hash => return Ok(()),
            Some(old) => ObjectRecord {
                spec: AppliedSpec::new(&d.value),
                hash: d.hash.clone(),
                origin: d.origin.clone(),
                generation: old.generation + 1,
                ..old.clone()
            },
            None => ObjectRecord {
                id: d.id.clone(),
                spec: AppliedSpec::new(&d.value),
                hash: d.hash.clone(),
                origin: d.origin.clone(),
                created_at: now,
                generation: 1,
                deletion_timestamp: None,
                finalizers: Vec::new(),
            },
        };
        state.deleted.remove(&d.id);
        state.objects.insert(d.id.clone(), rec);
        // Only the state changes here: saved with the next runtime step or at the end. Lost
        // in a crash, the next plan simply records it again.
        self.saver.defer();
        Ok(())
    }

    /// Removes an object of git; its pods terminate in the background, as a deleted Pod
    /// does in Kubernetes, and the reconcile loop forgets them once they are gone.
    fn delete(&mut self, id: &ObjectId, state: &mut State) -> Result<(), ApplyError> {
        let uids: Vec<String> = state.pods_of(id).map(|p| p.uid.clone()).collect();
        self.stop_pods(&uids, state, false)?;
        state.objects.remove(id);
        self.saver.defer();
        Ok(())
    }

    /// Deletes pods gracefully, together (the pod protocol's deletion), and with `wait` until
    /// the runtime is done with them.
    fn stop_pods(&mut self, uids: &[String], state: &mut State, wait: bool) -> Result<(), ApplyError> {
        let deletions = pods::graceful(state, uids);
        if deletions.is_empty() {
            return Ok(());
        }
        pods::begin_deletion(&mut self.saver, self.runtime, state, &deletions, (self.now)())?;
        if wait {
            pods::wait_gone(&mut self.saver, self.runtime, state, uids)?;
        }
        Ok(())
    }

    /// Replaces the pods of `step`'s object by one on the planned node, or by a Pending record
    /// when the plan found no node. A Pending pod keeps its uid when it is finally placed, as
    /// a Kubernetes pod stays the same object when it is bound.
    fn rebuild_pod(
        &mut self,
        plan: &Plan,
        step: &Step,
        d: &DesiredObject,
        state: &mut State,
    ) -> Result<(), ApplyError> {
        let pending = state.pods_of(&step.id).find(|p| p.is_pending());
        let pending = pending.map(|p| (p.uid.clone(), p.created_at));
        // The replacement takes the old pod's name: the old one must be gone first.
        let old: Vec<String> = state.pods_of(&step.id).map(|p| p.uid.clone()).collect();
        self.stop_pods(&old, state, true)?;
        let mut rec = match pending {
            Some((uid, created_at)) => PodRecord {
                created_at,
                ..self.pod_record(d, uid)
            },
            None => {
                let uid = (self.new_uid)();
                self.pod_record(d, uid)
            }
        };
        match &step.node {
            Some(node) => self.start_pod(d, node, rec, state),
            None => {
                let placement = plan.placements.iter().find(|p| p.owner == step.id);
                let uid = rec.uid.clone();
                rec.scheduling = placement.and_then(scheduling_of);
                state.pods.insert(uid, rec);
                // No runtime call: saved with the next one, or at the end.
                self.record(d, state)
            }
        }
    }

    /// Creates or resizes a Node's cgroup from the capacity the plan computed.
    fn configure_node(&mut self, plan: &Plan, id: &ObjectId) -> Result<(), ApplyError> {
        let node = plan
            .nodes
            .iter()
            .find(|n| n.name == id.name)
            .ok_or_else(|| ApplyError::NodeNotInPlan(id.name.clone()))?;
        let config = NodeConfig {
            name: node.name.clone(),
            cpu_millis: Some(node.cpu_milli),
            memory_bytes: Some(node.memory_bytes),
            pods: Some(node.pods),
        };
        self.runtime
            .configure_node(&config)
            .map_err(|source| ApplyError::Runtime {
                id: id.to_string(),
                source,
            })
    }

    /// Drains a Node removed from git (its pods were normally moved by earlier steps; any left
    /// are deleted gracefully) and removes its cgroup.
    fn remove_node(&mut self, id: &ObjectId, state: &mut State) -> Result<(), ApplyError> {
        let left: Vec<String> = state
            .pods
            .values()
            .filter(|p| p.node.as_deref() == Some(id.name.as_str()))
            .map(|p| p.uid.clone())
            .collect();
        self.stop_pods(&left, state, true)?;
        self.saver.flush(state)?;
        self.runtime
            .remove_node(&id.name)
            .map_err(|source| ApplyError::Runtime {
                id: id.to_string(),
                source,
            })?;
        state.objects.remove(id);
        self.saver.defer();
        Ok(())
    }

    /// A new, unconfirmed and unbound record for the pod of `d`.
    fn pod_record(&self, d: &DesiredObject, uid: String) -> PodRecord {
        PodRecord {
            uid,
            namespace: d.id.namespace.clone().unwrap_or_default(),
            name: d.id.name.clone(),
            node: None,
            scheduling: None,
            owner: d.id.clone(),
            spec_hash: d.hash.clone(),
            created_at: (self.now)(),
            created: false,
            deletion_timestamp: None,
            deletion_grace_period_seconds: None,
            orphaned: None,
        }
    }

    /// Saves the intents of the new pods of `steps` (at most [`Self::pod_batch`]) in one
    /// save; [`Self::create_pod`] then creates each.
    fn reserve<'s>(
        &mut self,
        steps: impl Iterator<Item = &'s Step>,
        by_id: &std::collections::HashMap<&ObjectId, &DesiredObject>,
        state: &mut State,
    ) -> Result<(), ApplyError> {
        for step in steps.take(self.pod_batch.max(1)) {
            let (Some(d), Some(node)) = (by_id.get(&step.id), &step.node) else {
                break;
            };
            let uid = (self.new_uid)();
            let mut rec = self.pod_record(d, uid.clone());
            rec.node = Some(node.clone());
            state.pods.insert(uid.clone(), rec);
            self.reserved.insert(step.id.clone(), uid);
        }
        // With the intents go any records not saved yet (the previous pods' confirmations): a
        // crash after a runtime call but before its confirmation leaves an unconfirmed record
        // whose uid the runtime creates idempotently, never an unknown pod.
        self.saver.save(state)
    }

    fn start_pod(
        &mut self,
        d: &DesiredObject,
        node: &str,
        mut rec: PodRecord,
        state: &mut State,
    ) -> Result<(), ApplyError> {
        // Record the intent first, as for a new pod.
        let uid = rec.uid.clone();
        rec.node = Some(node.to_string());
        state.pods.insert(uid.clone(), rec);
        self.saver.save(state)?;
        self.create_pod(d, uid, state)
    }

    /// Creates the pod whose intent, record `uid`, is saved, and confirms it.
    fn create_pod(&mut self, d: &DesiredObject, uid: String, state: &mut State) -> Result<(), ApplyError> {
        let request = state
            .pods
            .get(&uid)
            .and_then(|rec| pods::bare_request(d, rec))
            .ok_or_else(|| ApplyError::MissingDesired(d.id.to_string()))?;
        pods::create(&mut self.saver, self.runtime, &self.config, state, &request)?;
        // Confirmed together with the object's record, in the next save (the next intents,
        // or the plan's last): a crash before it leaves an unconfirmed record that the next
        // apply creates again, idempotently by uid.
        self.record(d, state)
    }
}

/// The condition a Pending pod records for `placement`; None when it has no node.
fn scheduling_of(placement: &PodPlacement) -> Option<Scheduling> {
    Some(Scheduling {
        reason: placement.reason.clone()?,
        message: placement.unschedulable.clone()?,
    })
}

/// Writes the latest scheduler message onto the records of pods that stay Pending (no step
/// touches them); returns whether any record changed.
pub fn refresh_pending(plan: &Plan, state: &mut State) -> bool {
    let mut changed = false;
    for p in plan.placements.iter().filter(|p| p.still_pending) {
        let want = scheduling_of(p);
        for rec in state.pods.values_mut().filter(|r| r.owner == p.owner && r.is_pending()) {
            if rec.scheduling != want {
                rec.scheduling = want.clone();
                changed = true;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Observed, PlanInput, PlanSource, plan};
    use crate::runtime::fake::{Call, FakeRuntime};
    use crate::source::SourceSpec;

    use crate::plan::testkit::desired;

    fn pods(names: &[&str]) -> String {
        names
            .iter()
            .map(|n| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {n}\nspec:\n  containers:\n  - name: c\n    image: busybox\n---\n"))
            .collect()
    }

    fn make_plan(d: &[DesiredObject], state: &State, observed: &Observed) -> Plan {
        plan(&PlanInput {
            desired: d,
            state,
            observed,
            source: PlanSource {
                spec: SourceSpec::default(),
                revision: "r1".into(),
                description: "test".into(),
            },
            host: crate::plan::HostFacts {
                hostname: "h".into(),
                cpus: 2,
                memory_bytes: 1 << 30,
                arch: "x86_64".into(),
            },
            now: crate::time::parse("2026-01-01T00:00:00Z").unwrap(),
            prune_volumes: false,
        })
    }

    /// Runs a plan to the end (or to an injected crash) and returns the calls made.
    fn run(
        store: &StateStore,
        rt: &mut FakeRuntime,
        d: &[DesiredObject],
        crash: Option<u32>,
    ) -> Result<(), ApplyError> {
        run_batched(store, rt, d, crash, 64)
    }

    /// [`run`] with `pod_batch` new pods' intents per save.
    fn run_batched(
        store: &StateStore,
        rt: &mut FakeRuntime,
        d: &[DesiredObject],
        crash: Option<u32>,
        pod_batch: usize,
    ) -> Result<(), ApplyError> {
        let mut state = store.load().unwrap();
        let observed: Observed = state
            .pods
            .keys()
            .map(|u| (u.clone(), rt.pod_status(u).unwrap()))
            .collect();
        let p = make_plan(d, &state, &observed);
        let mut n = 0;
        let mut uid = || {
            n += 1;
            format!("uid-{}-{n}", state_serial_tag(store))
        };
        let now = || crate::time::parse("2026-01-01T00:00:00Z").unwrap();
        let mut on_step = |_: &Step| {};
        let mut ex = Executor::new(store, rt, &mut uid, &now, &mut on_step);
        ex.saver.crash_after = crash;
        ex.pod_batch = pod_batch;
        ex.execute(&p, d, &mut state).map(|_| ())
    }

    /// Uids unique across runs: the serial of the state when the run started.
    fn state_serial_tag(store: &StateStore) -> u64 {
        store.load().map(|s| s.serial).unwrap_or(0)
    }

    #[test]
    fn creates_pods_once_and_prunes_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut rt = FakeRuntime::new();
        run(&store, &mut rt, &desired(&pods(&["a", "b"])), None).unwrap();
        assert_eq!(rt.pods.len(), 2);
        assert!(rt.calls.iter().all(|c| matches!(c, Call::Create(_))));
        let state = store.load().unwrap();
        assert!(state.pods.values().all(|p| p.created));
        assert_eq!(state.revision.as_deref(), Some("r1"));

        rt.calls.clear();
        run(&store, &mut rt, &desired(&pods(&["a"])), None).unwrap();
        let b_uid = state.pods.values().find(|p| p.name == "b").unwrap().uid.clone();
        assert_eq!(rt.calls, vec![Call::Delete(b_uid)]);
        assert_eq!(store.load().unwrap().objects.len(), 1);
    }

    #[test]
    fn a_failed_runtime_call_keeps_what_completed_and_the_next_run_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut rt = FakeRuntime::new();
        rt.fail_create_at = Some(1);
        let d = desired(&pods(&["a", "b", "c"]));
        let err = run(&store, &mut rt, &d, None).unwrap_err();
        assert_eq!(err.to_string(), "Pod default/b: the runtime failed");
        let state = store.load().unwrap();
        assert!(
            state
                .objects
                .contains_key(&"Pod default/a".parse::<ObjectId>().unwrap()),
            "the completed step is recorded"
        );
        assert!(
            !state
                .objects
                .contains_key(&"Pod default/b".parse::<ObjectId>().unwrap())
        );
        let b = state.pods.values().find(|p| p.name == "b").unwrap();
        assert!(!b.created, "the failed pod stays unconfirmed");

        run(&store, &mut rt, &d, None).unwrap();
        let state = store.load().unwrap();
        let mut names: Vec<_> = rt.pods.values().map(|(r, _)| r.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(state.pods.len(), 3);
        assert_eq!(state.objects.len(), 3);
    }

    #[test]
    fn every_crash_point_converges_without_duplicates() {
        let d =
            desired(&(pods(&["a", "b"]) + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: v\n"));
        // One pod per batch: a save per pod (its intent, with the previous pod's
        // confirmation) and one at the end; both pods in one batch: two saves.
        for (batch, crash) in [(1, 1), (1, 2), (1, 3), (64, 1), (64, 2)] {
            let dir = tempfile::tempdir().unwrap();
            let store = StateStore::open(dir.path()).unwrap();
            let mut rt = FakeRuntime::new();
            assert!(
                matches!(run_batched(&store, &mut rt, &d, Some(crash), batch), Err(ApplyError::InjectedCrash(n)) if n == crash)
            );
            run(&store, &mut rt, &d, None).unwrap();
            let state = store.load().unwrap();
            let mut names: Vec<_> = rt.pods.values().map(|(r, _)| r.name.clone()).collect();
            names.sort();
            assert_eq!(names, ["a", "b"], "crash after save {crash}");
            assert_eq!(
                state.pods.keys().collect::<Vec<_>>(),
                rt.pods.keys().collect::<Vec<_>>(),
                "crash {crash}"
            );
            let again = make_plan(
                &d,
                &state,
                &state
                    .pods
                    .keys()
                    .map(|u| (u.clone(), rt.pods.get(u).map(|p| p.1.clone())))
                    .collect(),
            );
            assert!(!again.has_changes(), "crash {crash}: {:?}", again.steps);
        }
    }

    #[test]
    fn a_pod_deleted_behind_rekons_back_is_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut rt = FakeRuntime::new();
        let d = desired(&pods(&["a"]));
        run(&store, &mut rt, &d, None).unwrap();
        let uid = rt.pods.keys().next().unwrap().clone();
        rt.vanish(&uid);
        let state = store.load().unwrap();
        let observed: Observed = [(uid.clone(), None)].into();
        let p = make_plan(&d, &state, &observed);
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].action, Action::Replace);
        assert_eq!(
            p.steps[0].reason.as_deref(),
            Some("because its pod was deleted outside rekon")
        );
        run(&store, &mut rt, &d, None).unwrap();
        assert_eq!(rt.pods.len(), 1);
        assert_ne!(rt.pods.keys().next().unwrap(), &uid);
    }

    fn node(name: &str, cpu: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\nstatus:\n  capacity: {{cpu: '{cpu}', memory: 1Gi}}\n---\n"
        )
    }

    fn big_pods(names: &[&str]) -> String {
        pods(names).replace(
            "image: busybox\n",
            "image: busybox\n    resources: {requests: {cpu: 600m}}\n",
        )
    }

    fn node_of(rt: &FakeRuntime, name: &str) -> Option<String> {
        rt.pods
            .values()
            .find(|(r, _)| r.name == name)
            .map(|(r, _)| r.node.clone())
    }

    #[test]
    fn nodes_are_configured_and_pods_go_where_the_plan_said_or_stay_pending() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut rt = FakeRuntime::new();
        let d = desired(&(node("n1", "1") + &node("n2", "1") + &big_pods(&["a", "b", "c"])));
        run(&store, &mut rt, &d, None).unwrap();
        let config = &rt.nodes["n1"];
        assert_eq!(
            (config.cpu_millis, config.memory_bytes, config.pods),
            (Some(1000), Some(1 << 30), Some(110))
        );
        assert_eq!(
            (node_of(&rt, "a"), node_of(&rt, "b")),
            (Some("n1".into()), Some("n2".into()))
        );
        assert_eq!(rt.pods.len(), 2, "the pod that fits nowhere is not created");
        let state = store.load().unwrap();
        let c = state.pods.values().find(|p| p.name == "c").unwrap();
        assert_eq!(c.node, None);
        assert_eq!(
            c.scheduling,
            Some(Scheduling {
                reason: "Unschedulable".into(),
                message: "0/2 nodes are available: 2 Insufficient cpu.".into(),
            })
        );
        assert!(
            state
                .objects
                .contains_key(&"Pod default/c".parse::<ObjectId>().unwrap())
        );

        // A bigger n2: the Pending pod is created there, with the uid it had.
        let pending_uid = c.uid.clone();
        rt.calls.clear();
        let d = desired(&(node("n1", "1") + &node("n2", "2") + &big_pods(&["a", "b", "c"])));
        run(&store, &mut rt, &d, None).unwrap();
        assert_eq!(
            rt.calls,
            vec![Call::ConfigureNode("n2".into()), Call::Create(pending_uid.clone())]
        );
        assert_eq!(rt.pods[&pending_uid].0.node, "n2");
        let state = store.load().unwrap();
        assert!(state.pods.values().all(|p| p.node.is_some() && p.scheduling.is_none()));
    }

    #[test]
    fn removing_a_node_moves_its_pods_then_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut rt = FakeRuntime::new();
        run(
            &store,
            &mut rt,
            &desired(&(node("n1", "2") + &node("n2", "2") + &pods(&["a", "b"]))),
            None,
        )
        .unwrap();
        let b_uid = rt.pods.iter().find(|(_, (r, _))| r.name == "b").unwrap().0.clone();
        assert_eq!(node_of(&rt, "b").as_deref(), Some("n2"));
        rt.calls.clear();
        run(&store, &mut rt, &desired(&(node("n1", "2") + &pods(&["a", "b"]))), None).unwrap();
        assert_eq!(rt.calls.len(), 3, "{:?}", rt.calls);
        assert_eq!(rt.calls[0], Call::Delete(b_uid));
        assert!(matches!(&rt.calls[1], Call::Create(_)));
        assert_eq!(rt.calls[2], Call::RemoveNode("n2".into()));
        assert_eq!(node_of(&rt, "b").as_deref(), Some("n1"));
        assert!(
            !store
                .load()
                .unwrap()
                .objects
                .contains_key(&"Node n2".parse::<ObjectId>().unwrap())
        );
    }

    #[test]
    fn a_still_pending_pod_gets_the_latest_message() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut rt = FakeRuntime::new();
        run(
            &store,
            &mut rt,
            &desired(&(node("n1", "1") + &big_pods(&["a", "b"]))),
            None,
        )
        .unwrap();
        let mut state = store.load().unwrap();
        let d = desired(
            &(node("n1", "1") + &big_pods(&["a", "b"]))
                .replace("  name: n1\n", "  name: n1\nspec:\n  unschedulable: true\n"),
        );
        let p = make_plan(&d, &state, &Observed::new());
        assert!(p.placements.iter().all(|pl| pl.still_pending || pl.node.is_some()));
        assert!(refresh_pending(&p, &mut state));
        let b = state.pods.values().find(|p| p.name == "b").unwrap();
        assert_eq!(
            b.scheduling.as_ref().map(|s| s.message.as_str()),
            Some("0/1 nodes are available: 1 node(s) were unschedulable.")
        );
        assert!(!refresh_pending(&p, &mut state), "nothing changes twice");
    }
}
