//! Carrying out one pass of the workload controllers ([`WorkloadStep`]): deletes pods, records
//! ReplicaSets and Deployment statuses, and creates the pods the ReplicaSets want, saving the
//! state around every runtime effect so a crash is finished by the next apply.

use super::ApplyError;
use crate::manifest::defaults::default_pod;
use crate::manifest::types::Pod;
use crate::plan::workloads::{WorkloadStep, rs_owner};
use crate::runtime::{PodRequest, Runtime};
use crate::state::{PodRecord, State, StateStore};
use std::time::Duration;

/// Grace period of a pod whose template sets none (`terminationGracePeriodSeconds`).
const DEFAULT_GRACE: i64 = 30;

/// Creates again the pods of ReplicaSets recorded but never confirmed (a crash between the
/// intent and the runtime's answer); creating a uid twice is a no-op in the runtime.
pub fn retry_unconfirmed(store: &StateStore, runtime: &mut dyn Runtime, state: &mut State) -> Result<(), ApplyError> {
    let uids: Vec<String> = state
        .pods
        .values()
        .filter(|p| p.owner.kind == "ReplicaSet" && !p.created && p.node.is_some())
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

/// Executes `step` against `runtime`; `new_uid` makes pod uids, `now` is RFC 3339.
pub fn execute_workloads(
    store: &StateStore,
    runtime: &mut dyn Runtime,
    state: &mut State,
    step: &WorkloadStep,
    new_uid: &mut dyn FnMut() -> String,
    now: &str,
) -> Result<(), ApplyError> {
    for uid in &step.forget {
        state.pods.remove(uid);
    }
    for uid in &step.deletes {
        let Some(rec) = state.pods.get(uid) else { continue };
        if !rec.is_pending() {
            let grace = state
                .replica_sets
                .get(&format!("{}/{}", rec.namespace, rec.owner.name))
                .and_then(|rs| rs.template.spec.termination_grace_period_seconds)
                .unwrap_or(DEFAULT_GRACE);
            runtime
                .delete_pod(uid, Duration::from_secs(grace.max(0) as u64))
                .map_err(|source| ApplyError::Runtime {
                    id: format!("Pod {}/{}", rec.namespace, rec.name),
                    source,
                })?;
        }
        state.pods.remove(uid);
        // Saved per pod: the runtime effect is done, the record must follow.
        store.save(state)?;
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
                let rs_name = c.replica_set.rsplit('/').next().unwrap_or_default();
                state.pods.insert(
                    uid.clone(),
                    PodRecord {
                        uid: uid.clone(),
                        namespace: c.namespace.clone(),
                        name: c.name.clone(),
                        node: c.node.clone(),
                        scheduling: c.scheduling.clone(),
                        owner: rs_owner(&c.namespace, rs_name),
                        spec_hash: step.replica_sets.get(&c.replica_set).map_or_else(String::new, |rs| {
                            rs.pod_template_hash().map_or_else(|| rs.uid.clone(), str::to_string)
                        }),
                        created_at: now.to_string(),
                        created: false,
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
    for uid in &to_start {
        create(runtime, state, uid)?;
    }
    if !to_start.is_empty() {
        store.save(state)?;
    }
    Ok(())
}

/// Creates the pod of record `uid` from its ReplicaSet's template and marks it confirmed.
fn create(runtime: &mut dyn Runtime, state: &mut State, uid: &str) -> Result<(), ApplyError> {
    let Some(rec) = state.pods.get(uid) else { return Ok(()) };
    let id = format!("Pod {}/{}", rec.namespace, rec.name);
    let rs = state
        .replica_sets
        .get(&format!("{}/{}", rec.namespace, rec.owner.name))
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
