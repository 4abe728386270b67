//! The part of Kubernetes' garbage collector rekon needs (spec §11): forgetting a deleted
//! object with what only exists through it (the ReplicaSet records of a Deployment, the
//! record of a ReplicaSet), and removing an owner deleted with `--cascade=foreground` once
//! its dependents are gone, when the `foregroundDeletion` finalizer would be lifted.

use crate::manifest::ObjectId;
use crate::manifest::types::{Kind, NamespacedName};
use crate::state::State;
use crate::time::Time;

/// The finalizer an owner carries while its dependents are deleted before it.
pub const FOREGROUND_DELETION: &str = "foregroundDeletion";

/// Removes `id` from the state: its record (remembered, with `now`, as deleted outside git, so
/// the next plan says why it comes back), a ReplicaSet's live record, a Deployment's
/// ReplicaSets, status and rollout overrides. Pod records are left: they go when reaped.
pub fn forget(state: &mut State, id: &ObjectId, now: Time) {
    if state.objects.remove(id).is_some() {
        state.deleted.insert(id.clone(), now);
    }
    let Some(key) = id.key() else { return };
    match id.kind {
        Kind::ReplicaSet => {
            state.replica_sets.remove(&key);
        }
        Kind::Deployment => {
            state
                .replica_sets
                .retain(|_, rs| !(rs.namespace == key.namespace && rs.owner.as_deref() == Some(key.name.as_str())));
            state.deployments.remove(&key);
            state.rollouts.remove(&key);
        }
        _ => {}
    }
}

/// Whether any pod of `id` is still recorded: its own (a bare Pod), its ReplicaSet's, or its
/// ReplicaSets' (a Deployment).
pub fn has_dependents(state: &State, id: &ObjectId) -> bool {
    let Some(key) = id.key() else { return false };
    let rs_pods = |rs: &NamespacedName| {
        state
            .pods_of(&ObjectId::namespaced(Kind::ReplicaSet, rs))
            .next()
            .is_some()
    };
    match id.kind {
        Kind::Pod => state.pods_of(id).next().is_some(),
        Kind::ReplicaSet => rs_pods(&key),
        Kind::Deployment => state
            .replica_sets_of(&key.namespace, &key.name)
            .iter()
            .any(|rs| rs_pods(&NamespacedName::new(&rs.namespace, &rs.name))),
        _ => false,
    }
}

/// Removes every owner deleted in the foreground whose dependents are gone; returns whether
/// the state changed.
pub fn finish_foreground_deletions(state: &mut State, now: Time) -> bool {
    let done: Vec<ObjectId> = state
        .objects
        .values()
        .filter(|r| r.finalizers.iter().any(|f| f == FOREGROUND_DELETION))
        .filter(|r| !has_dependents(state, &r.id))
        .map(|r| r.id.clone())
        .collect();
    for id in &done {
        forget(state, id, now);
    }
    !done.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ObjectRecord, PodRecord};

    fn t() -> Time {
        crate::time::parse("2026-01-01T00:00:00Z").unwrap()
    }

    fn record(id: &ObjectId, finalizer: bool) -> ObjectRecord {
        ObjectRecord {
            id: id.clone(),
            spec: serde_json::json!({}).into(),
            hash: "h".into(),
            origin: "f:1".into(),
            created_at: t(),
            generation: 1,
            deletion_timestamp: finalizer.then(t),
            finalizers: if finalizer {
                vec![FOREGROUND_DELETION.into()]
            } else {
                vec![]
            },
        }
    }

    fn pod(uid: &str, owner: &ObjectId) -> PodRecord {
        PodRecord {
            uid: uid.into(),
            namespace: "default".into(),
            name: owner.name.clone(),
            node: Some("n".into()),
            scheduling: None,
            owner: owner.clone(),
            spec_hash: "h".into(),
            created_at: t(),
            created: true,
            deletion_timestamp: Some(t()),
            deletion_grace_period_seconds: Some(30),
            orphaned: None,
        }
    }

    #[test]
    fn an_owner_deleted_in_the_foreground_goes_with_its_last_dependent() {
        let mut state = State::new("l".into());
        let web = ObjectId::new(Kind::Pod, Some("default"), "web");
        let other = ObjectId::new(Kind::Pod, Some("default"), "other");
        state.objects.insert(web.clone(), record(&web, true));
        state.objects.insert(other.clone(), record(&other, false));
        state.pods.insert("u1".into(), pod("u1", &web));
        assert!(
            !finish_foreground_deletions(&mut state, t()),
            "its pod still terminates"
        );
        assert!(state.objects.contains_key(&web));
        state.pods.remove("u1");
        assert!(finish_foreground_deletions(&mut state, t()));
        assert!(!state.objects.contains_key(&web));
        assert_eq!(
            state.deleted.keys().collect::<Vec<_>>(),
            [&web],
            "the next plan says why it comes back"
        );
        assert!(
            state.objects.contains_key(&other),
            "an object without the finalizer stays"
        );
        assert!(!finish_foreground_deletions(&mut state, t()));
    }
}
