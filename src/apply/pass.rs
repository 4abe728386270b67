//! Carrying out one pass of the workload controllers ([`WorkloadStep`]): the pods they delete
//! begin terminating, the ReplicaSets and Deployment statuses are recorded, and the pods the
//! ReplicaSets want are created, all through the pod protocol of [`super::pods`], saving the
//! state around every runtime effect so a crash is finished by the next apply.

use super::ApplyError;
use super::executor::Executor;
use super::pods;
use crate::plan::workloads::{WorkloadStep, rs_owner};
use crate::state::{PodRecord, State};
use crate::time::Time;

impl Executor<'_> {
    /// Executes the controllers' pass `step`; `now` stamps new records and deletions.
    pub fn execute_pass(&mut self, state: &mut State, step: &WorkloadStep, now: Time) -> Result<(), ApplyError> {
        for uid in &step.forget {
            state.pods.remove(uid);
        }
        // Adopted orphans get their new owner (saved with the ReplicaSets below).
        for (uid, rs) in &step.adopt {
            if let Some(rec) = state.pods.get_mut(uid) {
                rec.owner = rs_owner(&rs.namespace, &rs.name);
                rec.orphaned = None;
            }
        }
        // Deletion is recorded first (one save for the whole batch), then begun in the
        // runtime, which returns at once: the pods stop in parallel while the controllers
        // already count them out, and `reap_terminated` forgets them once gone.
        let deletions = pods::graceful(state, &step.deletes);
        pods::begin_deletion(&mut self.saver, self.runtime, state, &deletions, now)?;
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
                    let uid = (self.new_uid)();
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
                            orphaned: None,
                        },
                    );
                    uid
                }
            };
            if c.node.is_some() {
                to_start.push(uid);
            }
        }
        self.saver.save(state)?;
        // The creates are confirmed together: a crash before that save leaves unconfirmed
        // records, which `retry_unconfirmed` creates again, idempotently by uid. A failure
        // saves the confirmations made before it.
        let mut result = Ok(());
        for uid in &to_start {
            let Some(rec) = state.pods.get(uid) else { continue };
            let created = match pods::request_for(state, rec, &[]) {
                Some(request) => pods::create(&mut self.saver, self.runtime, &self.config, state, &request),
                None => Err(ApplyError::MissingDesired(format!(
                    "Pod {}/{}",
                    rec.namespace, rec.name
                ))),
            };
            if let Err(e) = created {
                result = Err(e);
                break;
            }
        }
        self.saver.flush(state)?;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::types::NamespacedName;
    use crate::manifest::{SourceFile, load};
    use crate::plan::workloads::{WorkloadInput, reconcile};
    use crate::plan::{DesiredObject, HostFacts, Observed, desired_objects};
    use crate::runtime::fake::FakeRuntime;
    use crate::state::StateStore;

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
        let mut uid = || {
            *n += 1;
            format!("uid-{n}")
        };
        let now = || crate::time::parse("2026-01-01T00:00:00Z").unwrap();
        let mut on_step = |_: &crate::plan::Step| {};
        let mut ex = Executor::new(store, rt, &mut uid, &now, &mut on_step);
        pods::retry_unconfirmed(&mut ex.saver, ex.runtime, &ex.config, &mut state, d)?;
        pods::reap_terminated(&mut ex.saver, ex.runtime, &mut state)?;
        let observed: Observed = state
            .pods
            .values()
            .filter(|p| !p.is_pending())
            .map(|p| (p.uid.clone(), ex.runtime.pod_status(&p.uid).unwrap()))
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
            claims: &Default::default(),
            now: crate::time::now(),
            applied_only: false,
        });
        ex.execute_pass(&mut state, &step, now())?;
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
