//! Carrying out one pass of the workload controllers ([`WorkloadStep`]): deletes pods, records
//! ReplicaSets and Deployment statuses, and creates the pods the ReplicaSets want, saving the
//! state around every runtime effect so a crash is finished by the next apply.

use super::ApplyError;
use crate::manifest::defaults::default_pod;
use crate::manifest::types::Pod;
use crate::manifest::types::{Kind, NamespacedName};
use crate::plan::workloads::{WorkloadStep, rs_owner};
use crate::runtime::{PodRequest, Runtime};
use crate::state::{PodRecord, State, StateStore};
use std::time::Duration;

/// Grace period of a pod whose template sets none (`terminationGracePeriodSeconds`).
const DEFAULT_GRACE: i64 = 30;

/// Saves the state and counts the saves, for the crash-test hook.
pub struct Saver<'a> {
    pub store: &'a StateStore,
    /// Test hook: fail with [`ApplyError::InjectedCrash`] after this many saves.
    pub crash_after: Option<u32>,
    saves: u32,
}

impl<'a> Saver<'a> {
    pub fn new(store: &'a StateStore, crash_after: Option<u32>) -> Self {
        Saver {
            store,
            crash_after,
            saves: 0,
        }
    }

    /// Saves `state` (see [`StateStore::save`]).
    pub fn save(&mut self, state: &mut State) -> Result<(), ApplyError> {
        self.store.save(state)?;
        self.saves += 1;
        if self.crash_after == Some(self.saves) {
            return Err(ApplyError::InjectedCrash(self.saves));
        }
        Ok(())
    }
}

/// Creates again the pods of ReplicaSets recorded but never confirmed (a crash between the
/// intent and the runtime's answer); creating a uid twice is a no-op in the runtime.
pub fn retry_unconfirmed(
    store: &mut Saver<'_>,
    runtime: &mut dyn Runtime,
    state: &mut State,
) -> Result<(), ApplyError> {
    let uids: Vec<String> = state
        .pods
        .values()
        .filter(|p| p.owner.kind == Kind::ReplicaSet && !p.created && p.node.is_some())
        .map(|p| p.uid.clone())
        .collect();
    for uid in &uids {
        create(runtime, state, uid)?;
    }
    if !uids.is_empty() {
        store.save(state)?;
    }
    Ok(())
}

/// Forgets the terminating pods the runtime has finished with; returns how many are still
/// stopping. Terminations are begun again first (idempotent), which finishes a deletion whose
/// record was saved just before a crash.
pub fn reap_terminated(
    store: &mut Saver<'_>,
    runtime: &mut dyn Runtime,
    state: &mut State,
) -> Result<usize, ApplyError> {
    let terminating: Vec<(String, i64)> = state
        .pods
        .values()
        .filter(|p| p.is_terminating())
        .map(|p| (p.uid.clone(), p.deletion_grace_period_seconds.unwrap_or(DEFAULT_GRACE)))
        .collect();
    let mut gone = 0;
    for (uid, grace) in &terminating {
        runtime
            .terminate_pod(uid, Duration::from_secs((*grace).max(0) as u64))
            .map_err(|source| runtime_error(state, uid, source))?;
        if runtime
            .reap_pod(uid)
            .map_err(|source| runtime_error(state, uid, source))?
        {
            state.pods.remove(uid);
            gone += 1;
        }
    }
    if gone > 0 {
        store.save(state)?;
    }
    Ok(terminating.len() - gone)
}

fn runtime_error(state: &State, uid: &str, source: crate::runtime::RuntimeError) -> ApplyError {
    let id = match state.pods.get(uid) {
        Some(rec) => format!("Pod {}/{}", rec.namespace, rec.name),
        None => format!("pod {uid}"),
    };
    ApplyError::Runtime { id, source }
}

/// Executes `step` against `runtime`; `new_uid` makes pod uids, `now` stamps new records.
pub fn execute_workloads(
    store: &mut Saver<'_>,
    runtime: &mut dyn Runtime,
    state: &mut State,
    step: &WorkloadStep,
    new_uid: &mut dyn FnMut() -> String,
    now: crate::time::Time,
) -> Result<(), ApplyError> {
    for uid in &step.forget {
        state.pods.remove(uid);
    }
    // Deletion is recorded first (the deletion timestamp, one save for the whole batch), then
    // begun in the runtime, which returns at once: the pods stop in parallel while the
    // controllers already count them out, and `reap_terminated` forgets them once gone.
    let mut terminate = Vec::new();
    for uid in &step.deletes {
        let Some(rec) = state.pods.get(uid) else { continue };
        if rec.is_terminating() {
            continue;
        }
        if rec.is_pending() {
            state.pods.remove(uid);
            continue;
        }
        let grace = state
            .replica_sets
            .get(&NamespacedName::new(&rec.namespace, &rec.owner.name))
            .and_then(|rs| rs.template.spec.termination_grace_period_seconds)
            .unwrap_or(DEFAULT_GRACE)
            .max(0);
        if let Some(rec) = state.pods.get_mut(uid) {
            rec.deletion_timestamp = Some(now);
            rec.deletion_grace_period_seconds = Some(grace);
        }
        terminate.push((uid.clone(), grace));
    }
    if !step.deletes.is_empty() {
        store.save(state)?;
    }
    for (uid, grace) in &terminate {
        runtime
            .terminate_pod(uid, Duration::from_secs(*grace as u64))
            .map_err(|source| runtime_error(state, uid, source))?;
    }
    // The ReplicaSets and statuses with the intent of every new pod, in one save: a crash
    // after it leaves unconfirmed records that `retry_unconfirmed` finishes.
    state.replica_sets = step.replica_sets.clone();
    state.deployments = step.deployments.clone();
    let mut to_start = Vec::new();
    for c in &step.creates {
        let uid = match &c.uid {
            Some(uid) => {
                if let Some(rec) = state.pods.get_mut(uid) {
                    rec.node = c.node.clone();
                    rec.scheduling = c.scheduling.clone();
                }
                uid.clone()
            }
            None => {
                let uid = new_uid();
                state.pods.insert(
                    uid.clone(),
                    PodRecord {
                        uid: uid.clone(),
                        namespace: c.namespace.clone(),
                        name: c.name.clone(),
                        node: c.node.clone(),
                        scheduling: c.scheduling.clone(),
                        owner: rs_owner(&c.namespace, &c.replica_set.name),
                        spec_hash: step.replica_sets.get(&c.replica_set).map_or_else(String::new, |rs| {
                            rs.pod_template_hash().map_or_else(|| rs.uid.clone(), str::to_string)
                        }),
                        created_at: now,
                        created: false,
                        deletion_timestamp: None,
                        deletion_grace_period_seconds: None,
                    },
                );
                uid
            }
        };
        if c.node.is_some() {
            to_start.push(uid);
        }
    }
    store.save(state)?;
    // The creates are confirmed together: a crash before that save leaves unconfirmed
    // records, which `retry_unconfirmed` creates again, idempotently by uid. A failure
    // saves the confirmations made before it.
    let mut result = Ok(());
    for uid in &to_start {
        if let Err(e) = create(runtime, state, uid) {
            result = Err(e);
            break;
        }
    }
    if !to_start.is_empty() {
        store.save(state)?;
    }
    result
}

/// Creates the pod of record `uid` from its ReplicaSet's template and marks it confirmed.
fn create(runtime: &mut dyn Runtime, state: &mut State, uid: &str) -> Result<(), ApplyError> {
    let Some(rec) = state.pods.get(uid) else { return Ok(()) };
    let id = format!("Pod {}/{}", rec.namespace, rec.name);
    let rs = state
        .replica_sets
        .get(&NamespacedName::new(&rec.namespace, &rec.owner.name))
        .ok_or_else(|| ApplyError::MissingDesired(id.clone()))?;
    // A controller's pod gets the Pod defaults its template lacks (`SetDefaults_Pod`).
    let mut pod = Pod {
        metadata: rs.template.metadata.clone(),
        spec: rs.template.spec.clone(),
        ..Pod::default()
    };
    default_pod(&mut pod);
    let request = PodRequest {
        uid: uid.to_string(),
        namespace: rec.namespace.clone(),
        name: rec.name.clone(),
        node: rec.node.clone().unwrap_or_default(),
        labels: pod.metadata.labels,
        annotations: pod.metadata.annotations,
        spec: pod.spec,
    };
    runtime
        .create_pod(&request)
        .map_err(|source| ApplyError::Runtime { id, source })?;
    if let Some(rec) = state.pods.get_mut(uid) {
        rec.created = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{SourceFile, load};
    use crate::plan::workloads::{WorkloadInput, reconcile};
    use crate::plan::{DesiredObject, HostFacts, Observed, desired_objects};
    use crate::runtime::fake::FakeRuntime;

    fn desired(replicas: u32) -> Vec<DesiredObject> {
        let yaml = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n"
        );
        let m = load(&[SourceFile {
            path: "m.yaml".into(),
            text: yaml,
        }])
        .expect("valid manifests");
        desired_objects(&m, &|b: &[u8]| format!("h:{}", b.len()))
    }

    /// One observe → reconcile → execute pass; returns whether it acted.
    fn pass(store: &StateStore, rt: &mut FakeRuntime, d: &[DesiredObject], n: &mut u32) -> Result<bool, ApplyError> {
        let mut state = store.load().unwrap();
        let mut saver = Saver::new(store, None);
        retry_unconfirmed(&mut saver, rt, &mut state)?;
        reap_terminated(&mut saver, rt, &mut state)?;
        let observed: Observed = state
            .pods
            .values()
            .filter(|p| !p.is_pending())
            .map(|p| (p.uid.clone(), rt.pod_status(&p.uid).unwrap()))
            .collect();
        let host = HostFacts {
            hostname: "h".into(),
            cpus: 2,
            memory_bytes: 1 << 30,
            arch: "x86_64".into(),
        };
        let step = reconcile(&WorkloadInput {
            desired: d,
            state: &state,
            observed: &observed,
            host: &host,
            now: crate::time::now(),
        });
        let mut uid = || {
            *n += 1;
            format!("uid-{n}")
        };
        execute_workloads(
            &mut saver,
            rt,
            &mut state,
            &step,
            &mut uid,
            crate::time::parse("2026-01-01T00:00:00Z").unwrap(),
        )?;
        Ok(step.acts())
    }

    #[test]
    fn a_failed_create_is_retried_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut rt = FakeRuntime::new();
        rt.fail_create_at = Some(1);
        let d = desired(2);
        let mut n = 0;
        let err = pass(&store, &mut rt, &d, &mut n).unwrap_err();
        assert!(err.to_string().starts_with("Pod default/web-"), "{err}");
        let state = store.load().unwrap();
        assert_eq!(state.pods.len(), 2, "both intents are recorded");
        assert_eq!(state.pods.values().filter(|p| p.created).count(), 1);
        assert_eq!(state.replica_sets.len(), 1);

        pass(&store, &mut rt, &d, &mut n).unwrap();
        let state = store.load().unwrap();
        assert_eq!(rt.pods.len(), 2, "the failed pod is created once, no duplicate");
        assert!(state.pods.values().all(|p| p.created));
        assert_eq!(
            state.pods.keys().collect::<Vec<_>>(),
            rt.pods.keys().collect::<Vec<_>>()
        );
        assert!(!pass(&store, &mut rt, &d, &mut n).unwrap(), "converged: nothing to do");
        assert_eq!(
            store.load().unwrap().deployments[&NamespacedName::new("default", "web")].available_replicas,
            2
        );
    }

    #[test]
    fn scaling_down_and_removing_the_deployment_delete_pods() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut rt = FakeRuntime::new();
        let mut n = 0;
        pass(&store, &mut rt, &desired(3), &mut n).unwrap();
        assert_eq!(rt.pods.len(), 3);
        pass(&store, &mut rt, &desired(1), &mut n).unwrap();
        assert_eq!(rt.pods.len(), 1);
        pass(&store, &mut rt, &[], &mut n).unwrap();
        assert!(rt.pods.is_empty());
        // The deletion is recorded and begun; the record goes once the runtime is done.
        let state = store.load().unwrap();
        let terminating: Vec<_> = state
            .pods
            .values()
            .map(|p| p.deletion_timestamp.map(crate::time::rfc3339))
            .collect();
        assert_eq!(terminating, [Some("2026-01-01T00:00:00Z".to_string())]);
        assert_eq!(
            state.pods.values().next().unwrap().deletion_grace_period_seconds,
            Some(30)
        );
        pass(&store, &mut rt, &[], &mut n).unwrap();
        let state = store.load().unwrap();
        assert!(state.pods.is_empty() && state.replica_sets.is_empty() && state.deployments.is_empty());
    }

    #[test]
    fn a_pod_whose_supervisor_died_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut rt = FakeRuntime::new();
        let mut n = 0;
        let d = desired(2);
        pass(&store, &mut rt, &d, &mut n).unwrap();
        let lost = rt.pods.keys().next().unwrap().clone();
        rt.set_phase(&lost, crate::runtime::status::PodPhase::Unknown);
        assert!(pass(&store, &mut rt, &d, &mut n).unwrap());
        assert_eq!(rt.pods.len(), 2);
        assert!(!rt.pods.contains_key(&lost), "the lost pod is deleted");
        assert!(store.load().unwrap().pods[&lost].is_terminating());
        assert!(!pass(&store, &mut rt, &d, &mut n).unwrap());
        assert!(!store.load().unwrap().pods.contains_key(&lost));
        // A pod deleted behind rekon's back is forgotten and replaced too.
        let gone = rt.pods.keys().next().unwrap().clone();
        rt.vanish(&gone);
        assert!(pass(&store, &mut rt, &d, &mut n).unwrap());
        assert_eq!(rt.pods.len(), 2);
        assert_eq!(store.load().unwrap().pods.len(), 2);
    }
}
