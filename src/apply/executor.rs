//! The step executor.

use crate::manifest::ObjectId;
use crate::plan::{Action, DesiredObject, Plan, Step, Summary};
use crate::runtime::{PodRequest, Runtime, RuntimeError};
use crate::state::{ObjectRecord, PodRecord, State, StateError, StateStore};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("failed to save the state")]
    State(#[from] StateError),
    #[error("{id}: the runtime failed")]
    Runtime {
        id: String,
        #[source]
        source: RuntimeError,
    },
    #[error("{0}: the plan names an object the manifests do not have")]
    MissingDesired(String),
    /// A test hook: stop as if killed right after a state save.
    #[error("injected crash after {0} state saves")]
    InjectedCrash(u32),
    /// SIGINT/SIGTERM arrived; the state is saved up to the last completed step.
    #[error("interrupted; the state is saved up to the last completed step")]
    Interrupted,
}

/// Runs plans. Everything it touches is passed in, so tests drive it with a fake runtime.
pub struct Executor<'a> {
    pub store: &'a StateStore,
    pub runtime: &'a mut dyn Runtime,
    /// Makes pod uids (random in production, counted in tests).
    pub new_uid: &'a mut dyn FnMut() -> String,
    /// The time, RFC 3339.
    pub now: &'a dyn Fn() -> String,
    /// Called after each step completes.
    pub on_step: &'a mut dyn FnMut(&Step),
    /// Test hook: fail with [`ApplyError::InjectedCrash`] after this many saves.
    pub crash_after_saves: Option<u32>,
    /// Checked before each step: when set, stop cleanly.
    pub stop: Option<&'a AtomicBool>,
    saves: u32,
}

impl<'a> Executor<'a> {
    pub fn new(
        store: &'a StateStore,
        runtime: &'a mut dyn Runtime,
        new_uid: &'a mut dyn FnMut() -> String,
        now: &'a dyn Fn() -> String,
        on_step: &'a mut dyn FnMut(&Step),
    ) -> Self {
        Executor {
            store,
            runtime,
            new_uid,
            now,
            on_step,
            crash_after_saves: None,
            stop: None,
            saves: 0,
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
        for step in &plan.steps {
            if self.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Err(ApplyError::Interrupted);
            }
            match step.action {
                Action::Delete => self.delete(&step.id, state)?,
                _ => {
                    let d = desired
                        .iter()
                        .find(|d| d.id == step.id)
                        .ok_or_else(|| ApplyError::MissingDesired(step.id.to_string()))?;
                    if step.id.kind == "Pod" && step.action != Action::Update {
                        self.stop_pods_of(&step.id, state)?;
                        self.start_pod(d, step.node.as_deref().unwrap_or(&plan.host), state)?;
                    }
                    self.record(d, state)?;
                }
            }
            (self.on_step)(step);
        }
        state.revision = Some(plan.source.revision.clone());
        self.save(state)?;
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
        for uid in &orphans {
            self.runtime
                .delete_pod(uid, Duration::from_secs(30))
                .map_err(|source| ApplyError::Runtime {
                    id: format!("pod {uid}"),
                    source,
                })?;
        }
        Ok(orphans)
    }

    fn save(&mut self, state: &mut State) -> Result<(), ApplyError> {
        self.store.save(state)?;
        self.saves += 1;
        if self.crash_after_saves == Some(self.saves) {
            return Err(ApplyError::InjectedCrash(self.saves));
        }
        Ok(())
    }

    fn record(&mut self, d: &DesiredObject, state: &mut State) -> Result<(), ApplyError> {
        let key = d.id.to_string();
        let now = (self.now)();
        let rec = match state.objects.get(&key) {
            Some(old) if old.hash == d.hash => return Ok(()),
            Some(old) => ObjectRecord {
                spec: d.value.clone(),
                hash: d.hash.clone(),
                origin: d.origin.clone(),
                generation: old.generation + 1,
                ..old.clone()
            },
            None => ObjectRecord {
                id: d.id.clone(),
                spec: d.value.clone(),
                hash: d.hash.clone(),
                origin: d.origin.clone(),
                created_at: now,
                generation: 1,
            },
        };
        state.objects.insert(key, rec);
        self.save(state)
    }

    fn delete(&mut self, id: &ObjectId, state: &mut State) -> Result<(), ApplyError> {
        self.stop_pods_of(id, state)?;
        state.objects.remove(&id.to_string());
        self.save(state)
    }

    fn stop_pods_of(&mut self, owner: &ObjectId, state: &mut State) -> Result<(), ApplyError> {
        let grace = state
            .objects
            .get(&owner.to_string())
            .and_then(|r| r.spec.pointer("/spec/terminationGracePeriodSeconds"))
            .and_then(|v| v.as_u64())
            .unwrap_or(30);
        let uids: Vec<String> = state.pods_of(owner).map(|p| p.uid.clone()).collect();
        for uid in uids {
            self.runtime
                .delete_pod(&uid, Duration::from_secs(grace))
                .map_err(|source| ApplyError::Runtime {
                    id: owner.to_string(),
                    source,
                })?;
            state.pods.remove(&uid);
            self.save(state)?;
        }
        Ok(())
    }

    fn start_pod(&mut self, d: &DesiredObject, node: &str, state: &mut State) -> Result<(), ApplyError> {
        let resource = d
            .resource
            .as_ref()
            .ok_or_else(|| ApplyError::MissingDesired(d.id.to_string()))?;
        let spec = resource
            .pod_spec()
            .ok_or_else(|| ApplyError::MissingDesired(d.id.to_string()))?;
        let meta = resource.metadata();
        let uid = (self.new_uid)();
        // Record the intent first: a crash after the runtime call but before the next save
        // leaves an unconfirmed record whose uid the runtime creates idempotently.
        state.pods.insert(
            uid.clone(),
            PodRecord {
                uid: uid.clone(),
                namespace: d.id.namespace.clone().unwrap_or_default(),
                name: d.id.name.clone(),
                node: node.to_string(),
                owner: d.id.clone(),
                spec_hash: d.hash.clone(),
                created_at: (self.now)(),
                created: false,
            },
        );
        self.save(state)?;
        let request = PodRequest {
            uid: uid.clone(),
            namespace: d.id.namespace.clone().unwrap_or_default(),
            name: d.id.name.clone(),
            node: node.to_string(),
            labels: meta.labels.clone(),
            annotations: meta.annotations.clone(),
            spec: spec.clone(),
        };
        self.runtime
            .create_pod(&request)
            .map_err(|source| ApplyError::Runtime {
                id: d.id.to_string(),
                source,
            })?;
        if let Some(p) = state.pods.get_mut(&uid) {
            p.created = true;
        }
        self.save(state)
    }
}
