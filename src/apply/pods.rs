//! The pod protocol, the one way rekon changes pods, for bare Pods of git and the pods of
//! controllers alike:
//!
//! * create: the uid is chosen and the record saved unconfirmed (the intent), then the
//!   runtime creates the pod, and the record is confirmed with the next save. A crash in
//!   between leaves an unconfirmed record that [`retry_unconfirmed`] creates again,
//!   idempotently by uid, never a pod the state does not know;
//! * delete: the deletion timestamp and grace period are saved (the pod is Terminating from
//!   then on, and controllers no longer count it), then the runtime begins stopping it and
//!   returns; [`reap_terminated`] forgets the record once the runtime is done with the pod.
//!
//! [`Saver`] is the one place the state is saved during an apply.

use super::ApplyError;
use crate::manifest::defaults::default_pod;
use crate::manifest::types::{Kind, NamespacedName, Pod};
use crate::plan::DesiredObject;
use crate::runtime::{PodRequest, Runtime, RuntimeError};
use crate::state::{Event, EventLog, PodRecord, State, StateStore};
use crate::time::Time;
use std::time::Duration;

/// Grace period of a pod whose spec sets none (`terminationGracePeriodSeconds`).
pub const DEFAULT_GRACE: i64 = 30;

/// How often [`wait_gone`] asks the runtime again.
const REAP_POLL: Duration = Duration::from_millis(20);

/// Saves the state for an apply, and counts the saves for the crash-test hook.
pub struct Saver<'a> {
    /// Where the state is saved.
    pub store: &'a StateStore,
    /// Test hook: fail with [`ApplyError::InjectedCrash`] after this many saves.
    pub crash_after: Option<u32>,
    saves: u32,
    dirty: bool,
}

impl<'a> Saver<'a> {
    /// A saver into `store` that has saved nothing yet.
    pub fn new(store: &'a StateStore, crash_after: Option<u32>) -> Self {
        Saver {
            store,
            crash_after,
            saves: 0,
            dirty: false,
        }
    }

    /// Saves `state` (see [`StateStore::save`]).
    pub fn save(&mut self, state: &mut State) -> Result<(), ApplyError> {
        self.store.save(state)?;
        self.dirty = false;
        self.saves += 1;
        if self.crash_after == Some(self.saves) {
            return Err(ApplyError::InjectedCrash(self.saves));
        }
        Ok(())
    }

    /// Notes a change that needs no save of its own: it goes with the next one.
    pub fn defer(&mut self) {
        self.dirty = true;
    }

    /// Saves `state` if a deferred change is not saved yet.
    pub fn flush(&mut self, state: &mut State) -> Result<(), ApplyError> {
        if self.dirty { self.save(state) } else { Ok(()) }
    }
}

/// A pod to delete: its record's uid and the grace period it gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    /// The pod's uid.
    pub uid: String,
    /// Seconds between SIGTERM and SIGKILL (`deletionGracePeriodSeconds`).
    pub grace: i64,
    /// `--force --grace-period=0`: the record goes at once, as the API server removes such a
    /// pod without waiting for the kubelet.
    pub force: bool,
}

/// The grace period of the pod of `rec` (`terminationGracePeriodSeconds` of its spec).
pub fn grace_of(state: &State, rec: &PodRecord) -> i64 {
    let grace = match rec.owner.kind {
        _ if rec.is_orphan() => rec
            .orphaned
            .as_ref()
            .and_then(|t| t.spec.termination_grace_period_seconds),
        Kind::Pod => state
            .objects
            .get(&rec.owner)
            .and_then(|r| r.spec.pointer("/spec/terminationGracePeriodSeconds"))
            .and_then(|v| v.as_i64()),
        _ => state
            .replica_sets
            .get(&NamespacedName::new(&rec.namespace, &rec.owner.name))
            .and_then(|rs| rs.template.spec.termination_grace_period_seconds),
    };
    grace.unwrap_or(DEFAULT_GRACE).max(0)
}

/// The graceful deletions of the recorded pods among `uids`, each with its own grace period.
pub fn graceful(state: &State, uids: &[String]) -> Vec<Deletion> {
    uids.iter()
        .filter_map(|uid| state.pods.get(uid))
        .map(|rec| Deletion {
            uid: rec.uid.clone(),
            grace: grace_of(state, rec),
            force: false,
        })
        .collect()
}

/// Begins the deletion of `pods`: the deletion timestamps are saved in one save, then the
/// runtime begins stopping each pod and returns. A Pending pod (nothing runs) and a forced
/// deletion lose their record at once. A pod already terminating keeps its deletion, unless
/// the new grace period is shorter: then the termination is shortened, as a second
/// `kubectl delete --grace-period` does.
pub fn begin_deletion(
    saver: &mut Saver<'_>,
    runtime: &mut dyn Runtime,
    state: &mut State,
    pods: &[Deletion],
    now: Time,
) -> Result<(), ApplyError> {
    let mut stopping = Vec::new();
    for d in pods {
        let Some(rec) = state.pods.get_mut(&d.uid) else {
            continue;
        };
        if rec.is_terminating() && !d.force {
            if rec.deletion_grace_period_seconds.is_none_or(|g| d.grace < g) {
                rec.deletion_grace_period_seconds = Some(d.grace);
                stopping.push(d);
            }
            continue;
        }
        let runs = !rec.is_pending();
        if !runs || d.force {
            state.pods.remove(&d.uid);
        } else {
            rec.deletion_timestamp = Some(now);
            rec.deletion_grace_period_seconds = Some(d.grace);
        }
        if runs {
            stopping.push(d);
        }
    }
    if pods.is_empty() {
        return Ok(());
    }
    saver.save(state)?;
    for d in stopping {
        runtime
            .terminate_pod(&d.uid, Duration::from_secs(d.grace.max(0) as u64))
            .map_err(|source| runtime_error(state, &d.uid, source))?;
    }
    Ok(())
}

/// Forgets the terminating pods the runtime has finished with; returns how many are still
/// stopping. Terminations are begun again first (idempotent), which finishes a deletion whose
/// record was saved just before a crash.
pub fn reap_terminated(
    saver: &mut Saver<'_>,
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
    let mut kept = Vec::new();
    for (uid, grace) in &terminating {
        runtime
            .terminate_pod(uid, Duration::from_secs((*grace).max(0) as u64))
            .map_err(|source| runtime_error(state, uid, source))?;
        // The kubelet's events go with the pod's directory: read first, kept if it is gone.
        let events = runtime.pod_events(uid);
        if runtime
            .reap_pod(uid)
            .map_err(|source| runtime_error(state, uid, source))?
        {
            state.pods.remove(uid);
            gone += 1;
            kept.extend(events.iter().filter_map(|line| Event::of_kubelet(line, Some(uid))));
        }
    }
    if !kept.is_empty() {
        let log = EventLog::open(saver.store.dir())?;
        for e in &kept {
            log.append(e)?;
        }
    }
    if gone > 0 {
        saver.save(state)?;
    }
    Ok(terminating.len() - gone)
}

/// Waits until the runtime is done with every pod of `uids`, forgetting each as it goes: for
/// a bare pod's replacement, which takes its name, and for a node that is drained.
pub fn wait_gone(
    saver: &mut Saver<'_>,
    runtime: &mut dyn Runtime,
    state: &mut State,
    uids: &[String],
) -> Result<(), ApplyError> {
    loop {
        reap_terminated(saver, runtime, state)?;
        if !uids
            .iter()
            .any(|uid| state.pods.get(uid).is_some_and(|p| p.is_terminating()))
        {
            return Ok(());
        }
        if !runtime.wait_for_change(REAP_POLL) {
            std::thread::sleep(REAP_POLL);
        }
    }
}

/// What the runtime needs to create the pod of `rec`: a bare Pod's spec from `desired`, a
/// controller's pod from its ReplicaSet's template with the Pod defaults the template lacks
/// (`SetDefaults_Pod`). None when the owner is gone.
pub fn request_for(state: &State, rec: &PodRecord, desired: &[DesiredObject]) -> Option<PodRequest> {
    match rec.owner.kind {
        Kind::Pod => bare_request(desired.iter().find(|d| d.id == rec.owner)?, rec),
        _ => controller_request(state, rec),
    }
}

/// The request for the pod of a bare Pod `d` (record `rec`, bound to a node).
pub fn bare_request(d: &DesiredObject, rec: &PodRecord) -> Option<PodRequest> {
    let resource = d.resource.as_ref()?;
    let meta = resource.metadata();
    Some(PodRequest {
        uid: rec.uid.clone(),
        namespace: rec.namespace.clone(),
        name: rec.name.clone(),
        node: rec.node.clone()?,
        labels: meta.labels.clone(),
        annotations: meta.annotations.clone(),
        spec: resource.pod_spec()?.clone(),
        data: None,
        claims: Default::default(),
    })
}

/// The request for a controller's pod, from its ReplicaSet's template.
fn controller_request(state: &State, rec: &PodRecord) -> Option<PodRequest> {
    let rs = state
        .replica_sets
        .get(&NamespacedName::new(&rec.namespace, &rec.owner.name))?;
    let mut pod = Pod {
        metadata: rs.template.metadata.clone(),
        spec: rs.template.spec.clone(),
        ..Pod::default()
    };
    default_pod(&mut pod);
    Some(PodRequest {
        uid: rec.uid.clone(),
        namespace: rec.namespace.clone(),
        name: rec.name.clone(),
        node: rec.node.clone()?,
        labels: pod.metadata.labels,
        annotations: pod.metadata.annotations,
        spec: pod.spec,
        data: None,
        claims: Default::default(),
    })
}

/// Creates the pod of `request`, whose record is saved unconfirmed, and confirms it (saved
/// with the next save).
pub fn create(
    saver: &mut Saver<'_>,
    runtime: &mut dyn Runtime,
    config: &super::config::ConfigSource,
    state: &mut State,
    request: &PodRequest,
) -> Result<(), ApplyError> {
    let mut request = request.clone();
    config.fill(&mut request);
    request.claims = super::storage::claim_mounts(state, saver.store.dir(), &request.namespace, &request.spec);
    let request = &request;
    runtime
        .create_pod(request)
        .map_err(|source| runtime_error(state, &request.uid, source))?;
    if let Some(rec) = state.pods.get_mut(&request.uid) {
        rec.created = true;
    }
    saver.defer();
    Ok(())
}

/// Creates again the pods recorded but never confirmed (a crash between the intent and the
/// runtime's answer), whose owner is still wanted; creating a uid twice is a no-op in the
/// runtime. A bare Pod no longer in git is left to the plan, which deletes it.
pub fn retry_unconfirmed(
    saver: &mut Saver<'_>,
    runtime: &mut dyn Runtime,
    config: &super::config::ConfigSource,
    state: &mut State,
    desired: &[DesiredObject],
) -> Result<(), ApplyError> {
    let requests: Vec<PodRequest> = state
        .pods
        .values()
        .filter(|p| !p.created && !p.is_terminating())
        .filter_map(|p| request_for(state, p, desired))
        .collect();
    for request in &requests {
        create(saver, runtime, config, state, request)?;
    }
    saver.flush(state)
}

/// The runtime's failure, naming the pod of `uid`.
pub fn runtime_error(state: &State, uid: &str, source: RuntimeError) -> ApplyError {
    let id = match state.pods.get(uid) {
        Some(rec) => format!("Pod {}/{}", rec.namespace, rec.name),
        None => format!("pod {uid}"),
    };
    ApplyError::Runtime { id, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::fake::{Call, FakeRuntime};
    use crate::state::PodRecord;

    fn t() -> Time {
        crate::time::parse("2026-01-01T00:00:00Z").unwrap()
    }

    #[test]
    fn a_second_deletion_only_shortens_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut saver = Saver::new(&store, None);
        let mut rt = FakeRuntime::new();
        rt.termination_reaps = 10;
        let owner = crate::manifest::ObjectId::new(Kind::Pod, Some("default"), "web");
        let rec = PodRecord {
            uid: "u1".into(),
            namespace: "default".into(),
            name: "web".into(),
            node: Some("n".into()),
            scheduling: None,
            owner,
            spec_hash: "h".into(),
            created_at: t(),
            created: false,
            deletion_timestamp: None,
            deletion_grace_period_seconds: None,
            orphaned: None,
        };
        let request = PodRequest {
            uid: "u1".into(),
            namespace: "default".into(),
            name: "web".into(),
            node: "n".into(),
            labels: Default::default(),
            annotations: Default::default(),
            spec: Default::default(),
            data: None,
            claims: Default::default(),
        };
        let mut state = State::new("l".into());
        state.pods.insert("u1".into(), rec);
        create(&mut saver, &mut rt, &Default::default(), &mut state, &request).unwrap();
        let delete = |grace| Deletion {
            uid: "u1".into(),
            grace,
            force: false,
        };
        for grace in [30, 60, 5, 5] {
            begin_deletion(&mut saver, &mut rt, &mut state, &[delete(grace)], t()).unwrap();
        }
        assert_eq!(
            rt.calls,
            [
                Call::Create("u1".into()),
                Call::Delete("u1".into()),
                Call::Shorten("u1".into(), 5)
            ]
        );
        let rec = &store.load().unwrap().pods["u1"];
        assert_eq!(
            (rec.deletion_timestamp, rec.deletion_grace_period_seconds),
            (Some(t()), Some(5))
        );
    }
}
