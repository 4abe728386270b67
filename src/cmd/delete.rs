//! `rekon delete`: out-of-band deletion of any object rekon manages, with kubectl's cascade
//! (`background`, `foreground`, `orphan`) and the garbage collector's rules
//! (`spec/k8s-semantics.md` §11). An object that git still has comes back on the next
//! apply, and the plan says it was deleted outside git.

use super::context::{self, Session};
use super::get::{canonical_kind, cluster_scoped, controller_records, labels_of, resource_name};
use super::logs::{grace_period, pod_spec};
use super::{ExitError, Global, exit};
use crate::apply::pods::{Deletion, Saver, begin_deletion, wait_gone};
use crate::manifest::ObjectId;
use crate::manifest::types::LabelSelector;
use crate::manifest::types::{Kind, NamespacedName};
use crate::runtime::Runtime;
use crate::state::{Event, LockMode, State};
use anyhow::{Context, Result};
use clap::{ArgAction, Args, ValueEnum};
use std::collections::BTreeMap;
use std::time::Duration;

/// `rekon delete`'s arguments: what to delete, and how its dependents and pods go.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// `KIND/NAME ...`, or `KIND NAME ...`, or `KIND` with `-l` or `--all`.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Delete the objects of KIND whose labels match this selector (`app=web,tier!=db`).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Delete every object of KIND in the namespace.
    #[arg(long)]
    pub all: bool,
    /// What happens to the dependents: deleted after the owner (background), before it
    /// (foreground: the owner stays, with the foregroundDeletion finalizer, until they are
    /// gone), or kept without their owner (orphan).
    #[arg(long, value_enum, default_value_t = Cascade::Background)]
    pub cascade: Cascade,
    /// Seconds a pod gets to stop before it is killed (default: its
    /// terminationGracePeriodSeconds; 0 means 1 unless --force).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// With --grace-period=0: remove the pods at once, without waiting for them to stop.
    #[arg(long)]
    pub force: bool,
    /// Wait until the pods are gone before returning.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub wait: bool,
    /// Treat an object that does not exist as deleted.
    #[arg(long)]
    pub ignore_not_found: bool,
}

/// What `--cascade` does to an object's dependents (kubectl's propagation policies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Cascade {
    /// Delete the owner at once, then its dependents.
    Background,
    /// Delete the dependents first; the owner stays, being deleted, until they are gone.
    Foreground,
    /// Keep the dependents, without their owner.
    Orphan,
}

/// One object to delete.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    kind: Kind,
    namespace: Option<String>,
    name: String,
}

impl Target {
    fn id(&self) -> ObjectId {
        ObjectId::new(self.kind, self.namespace.as_deref(), &self.name)
    }

    /// `deployment.apps "web"`, as kubectl names it in messages.
    fn named(&self) -> String {
        format!("{} {:?}", resource_name(self.kind), self.name)
    }
}

fn kind_of(word: &str) -> Result<Kind> {
    canonical_kind(word)
        .ok_or_else(|| ExitError::new(exit::ERROR, format!("the server doesn't have a resource type {word:?}")).into())
}

/// `deployments.apps`, the resource kubectl names in NotFound errors.
pub fn plural(kind: Kind) -> String {
    let name = resource_name(kind);
    let many = |k: &str| {
        if k.ends_with('s') {
            format!("{k}es")
        } else {
            format!("{k}s")
        }
    };
    match name.split_once('.') {
        Some((k, group)) => format!("{}.{group}", many(k)),
        None => many(&name),
    }
}

/// Every object of `kind` that rekon holds, with its labels: git's and the controllers'.
fn candidates(state: &State, kind: Kind) -> Vec<(Target, BTreeMap<String, String>)> {
    let mut out: Vec<(Target, BTreeMap<String, String>)> = Vec::new();
    let git = state.objects.values().filter(|r| r.deletion_timestamp.is_none());
    for r in git
        .chain(controller_records(state).iter())
        .filter(|r| r.id.kind == kind)
    {
        let target = Target {
            kind: r.id.kind,
            namespace: r.id.namespace.clone(),
            name: r.id.name.clone(),
        };
        if !out.iter().any(|(t, _)| t == &target) {
            out.push((target, labels_of(r)));
        }
    }
    out
}

/// The objects the arguments name, in their order.
fn targets(args: &DeleteArgs, state: &State) -> Result<Vec<Target>> {
    let ns = |kind: Kind| (!cluster_scoped(kind)).then(|| args.namespace.clone());
    let first = &args.targets[0];
    if args.targets.iter().any(|t| t.contains('/')) {
        if args.selector.is_some() || args.all {
            return Err(ExitError::new(exit::ERROR, "name cannot be provided when a selector is specified").into());
        }
        return args
            .targets
            .iter()
            .map(|t| {
                let Some((kind, name)) = t.split_once('/') else {
                    return Err(ExitError::new(
                        exit::ERROR,
                        format!("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'rekon get resource/<resource_name>' instead of 'rekon get resource resource/<resource_name>'): {t}"),
                    )
                    .into());
                };
                let kind = kind_of(kind)?;
                Ok(Target {
                    kind,
                    namespace: ns(kind),
                    name: name.to_string(),
                })
            })
            .collect();
    }
    let kind = kind_of(first)?;
    let names = &args.targets[1..];
    match (&args.selector, args.all, names.is_empty()) {
        (None, false, true) => Err(ExitError::new(
            exit::ERROR,
            format!("resource(s) were provided, but no name was specified: use {first}/NAME, -l SELECTOR or --all"),
        )
        .into()),
        (Some(_), _, false) | (_, true, false) => {
            Err(ExitError::new(exit::ERROR, "name cannot be provided when a selector is specified").into())
        }
        (None, false, false) => Ok(names
            .iter()
            .map(|name| Target {
                kind,
                namespace: ns(kind),
                name: name.clone(),
            })
            .collect()),
        (selector, _, true) => {
            let selector = match selector {
                Some(s) => LabelSelector::parse(s).map_err(|e| ExitError::new(exit::ERROR, e))?,
                None => LabelSelector::default(),
            };
            Ok(candidates(state, kind)
                .into_iter()
                .filter(|(t, _)| t.namespace == ns(kind))
                .filter(|(_, labels)| selector.matches(labels))
                .map(|(t, _)| t)
                .collect())
        }
    }
}

/// Runs `rekon delete`: deletes each target with its dependents per `--cascade`; exit 1
/// when a target does not exist (unless `--ignore-not-found`).
pub fn run(global: &Global, args: &DeleteArgs) -> Result<i32> {
    let mut session = Session::open(global, LockMode::Exclusive, "delete")?;
    let targets = targets(args, &session.state)?;
    let by_selector = args.selector.is_some() || args.all;
    if targets.is_empty() && by_selector {
        eprintln!("No resources found");
        return Ok(exit::OK);
    }
    if args.force && args.grace_period == 0 {
        eprintln!(
            "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely."
        );
    }
    let mut runtime = context::runtime(global)?;
    let mut code = exit::OK;
    for target in &targets {
        let known = candidates(&session.state, target.kind).iter().any(|(t, _)| t == target);
        if !known {
            if !args.ignore_not_found {
                eprintln!(
                    "Error from server (NotFound): {} {:?} not found",
                    plural(target.kind),
                    target.name
                );
                code = exit::ERROR;
            }
            continue;
        }
        let mut deleter = Deleter {
            global,
            session: &mut session,
            runtime: runtime.as_mut(),
            args,
        };
        deleter
            .delete(target)
            .with_context(|| format!("failed to delete {}", target.named()))?;
        let forced = args.force && args.grace_period == 0 && target.kind == Kind::Pod;
        super::output::print(&format!(
            "{} {}\n",
            target.named(),
            if forced { "force deleted" } else { "deleted" }
        ));
    }
    if code != exit::OK {
        return Err(ExitError::silent(code).into());
    }
    Ok(code)
}

/// Carries out one deletion against the state and the runtime.
struct Deleter<'a> {
    global: &'a Global,
    session: &'a mut Session,
    runtime: &'a mut dyn Runtime,
    args: &'a DeleteArgs,
}

impl Deleter<'_> {
    fn delete(&mut self, target: &Target) -> Result<()> {
        let id = target.id();
        let from_git = self.session.state.objects.contains_key(&id);
        if self.args.cascade == Cascade::Foreground && from_git {
            // The owner stays visible, being deleted, until its dependents are gone.
            let rec = self.session.state.objects.get_mut(&id).expect("checked above");
            rec.deletion_timestamp = Some(context::now());
            rec.finalizers = vec![crate::apply::gc::FOREGROUND_DELETION.into()];
            self.save()?;
        }
        let ns = target.namespace.clone().unwrap_or_default();
        let mut pods: Vec<String> = Vec::new();
        match target.kind {
            Kind::Deployment => {
                let rses: Vec<NamespacedName> = self
                    .session
                    .state
                    .replica_sets_of(&ns, &target.name)
                    .iter()
                    .map(|rs| NamespacedName::new(&rs.namespace, &rs.name))
                    .collect();
                for rs_key in rses {
                    if self.args.cascade == Cascade::Orphan {
                        let rs = self.session.state.replica_sets.get_mut(&rs_key).expect("listed above");
                        rs.owner = None;
                        rs.orphaned = true;
                    } else {
                        pods.extend(self.replica_set_pods(&rs_key));
                    }
                }
                let dkey = NamespacedName::new(&ns, &target.name);
                self.session.state.deployments.remove(&dkey);
                self.session.state.rollouts.remove(&dkey);
            }
            Kind::ReplicaSet => {
                let rs_key = NamespacedName::new(&ns, &target.name);
                if self.args.cascade == Cascade::Orphan {
                    self.orphan_pods(&rs_key);
                } else {
                    pods.extend(self.replica_set_pods(&rs_key));
                }
            }
            Kind::Pod => pods.extend(
                self.session
                    .state
                    .pods
                    .values()
                    // A terminating pod is included: a shorter grace period shortens its
                    // termination (`begin_deletion` leaves it alone otherwise).
                    .filter(|p| p.namespace == ns && p.name == target.name)
                    .map(|p| p.uid.clone()),
            ),
            Kind::Namespace => {
                // The namespace controller deletes everything in it first.
                let inside: Vec<Target> = self
                    .session
                    .state
                    .objects
                    .values()
                    .filter(|r| r.id.namespace.as_deref() == Some(target.name.as_str()))
                    .map(|r| Target {
                        kind: r.id.kind,
                        namespace: r.id.namespace.clone(),
                        name: r.id.name.clone(),
                    })
                    .collect();
                // And what runs there with no owner: orphaned ReplicaSets and pods.
                let orphan_sets: Vec<Target> = self
                    .session
                    .state
                    .replica_sets
                    .values()
                    .filter(|rs| rs.orphaned && rs.namespace == target.name)
                    .map(|rs| Target {
                        kind: Kind::ReplicaSet,
                        namespace: Some(rs.namespace.clone()),
                        name: rs.name.clone(),
                    })
                    .collect();
                for t in inside.iter().chain(&orphan_sets) {
                    self.delete(t)?;
                }
                pods.extend(
                    self.session
                        .state
                        .pods
                        .values()
                        .filter(|p| p.is_orphan() && p.namespace == target.name && !p.is_terminating())
                        .map(|p| p.uid.clone()),
                );
            }
            Kind::Node => pods.extend(
                // The pod garbage collector deletes the pods bound to a node that is gone.
                self.session
                    .state
                    .pods
                    .values()
                    .filter(|p| p.node.as_deref() == Some(target.name.as_str()) && !p.is_terminating())
                    .map(|p| p.uid.clone()),
            ),
            _ => {}
        }
        // Background: the owner goes first, its dependents after.
        if self.args.cascade != Cascade::Foreground {
            self.forget(target);
        }
        self.terminate(&pods)?;
        if self.args.wait && !(self.args.force && self.args.grace_period == 0) {
            self.wait_for(&pods)?;
        }
        if self.args.cascade == Cascade::Foreground {
            if from_git && !self.args.wait {
                // --wait=false: the owner stays, being deleted, and the next apply's garbage
                // collection removes it with its last pod (now, if it has none left).
                crate::apply::gc::finish_foreground_deletions(&mut self.session.state, context::now());
            } else {
                self.forget(target);
            }
        }
        if target.kind == Kind::Node && self.runtime.check_can_modify().is_ok() {
            self.runtime
                .remove_node(&target.name)
                .context("failed to remove the node's cgroup")?;
        }
        self.save()?;
        self.session.events.append(&Event {
            object: Some(id.to_string()),
            message: Some(format!("deleted by rekon delete (cascade {:?})", self.args.cascade).to_lowercase()),
            ..Event::new("delete", crate::time::now())
        })?;
        Ok(())
    }

    /// Removes the object and what only exists through it from the state ([`gc::forget`]).
    ///
    /// [`gc::forget`]: crate::apply::gc::forget
    fn forget(&mut self, target: &Target) {
        crate::apply::gc::forget(&mut self.session.state, &target.id(), context::now());
    }

    /// Leaves the pods of the ReplicaSet `namespace/name` without their owner: each keeps
    /// its ReplicaSet's template (labels and spec), goes on running, and waits for a
    /// ReplicaSet whose selector matches to adopt it. Saved with the deletion.
    fn orphan_pods(&mut self, rs_key: &NamespacedName) {
        let Some(template) = self
            .session
            .state
            .replica_sets
            .get(rs_key)
            .map(|rs| rs.template.clone())
        else {
            return;
        };
        for uid in self.replica_set_pods(rs_key) {
            if let Some(rec) = self.session.state.pods.get_mut(&uid) {
                rec.orphaned = Some(Box::new(template.clone()));
            }
        }
    }

    /// The live pods of the ReplicaSet `namespace/name`.
    fn replica_set_pods(&self, rs_key: &NamespacedName) -> Vec<String> {
        let owner = ObjectId::namespaced(Kind::ReplicaSet, rs_key);
        self.session
            .state
            .pods_of(&owner)
            .filter(|p| !p.is_terminating())
            .map(|p| p.uid.clone())
            .collect()
    }

    /// Records the deletion of `pods` and begins it in the runtime; a Pending pod, or every
    /// pod under `--force --grace-period=0`, is forgotten at once.
    fn terminate(&mut self, pods: &[String]) -> Result<()> {
        let force = self.args.force && self.args.grace_period == 0;
        let mut deletions = Vec::new();
        for uid in pods {
            let Some(rec) = self.session.state.pods.get(uid) else {
                continue;
            };
            let grace = match u64::try_from(self.args.grace_period) {
                Ok(0) if !force => Duration::from_secs(1),
                Ok(secs) => Duration::from_secs(secs),
                Err(_) => {
                    let dir = self.global.state_dir.join("pods").join(uid);
                    grace_period(pod_spec(&dir, &self.session.state, rec).as_ref())
                }
            };
            deletions.push(Deletion {
                uid: uid.clone(),
                grace: grace.as_secs() as i64,
                force,
            });
        }
        if deletions.is_empty() {
            return Ok(());
        }
        self.runtime.check_can_modify().context("cannot delete pods")?;
        let Session { store, state, .. } = &mut *self.session;
        begin_deletion(
            &mut Saver::new(store, None),
            self.runtime,
            state,
            &deletions,
            context::now(),
        )
        .context("failed to delete the pods")?;
        Ok(())
    }

    /// Waits until the runtime is done with `pods`, forgetting each as it goes.
    fn wait_for(&mut self, pods: &[String]) -> Result<()> {
        let Session { store, state, .. } = &mut *self.session;
        wait_gone(&mut Saver::new(store, None), self.runtime, state, pods).context("failed to reap the pods")?;
        Ok(())
    }

    fn save(&mut self) -> Result<()> {
        let Session { store, state, .. } = &mut *self.session;
        store.save(state).context("failed to save the state")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_are_the_resources_kubectl_names() {
        let names: Vec<String> = [
            Kind::Pod,
            Kind::Deployment,
            Kind::StorageClass,
            Kind::PersistentVolumeClaim,
            Kind::ServiceAccount,
        ]
        .into_iter()
        .map(plural)
        .collect();
        assert_eq!(
            names,
            [
                "pods",
                "deployments.apps",
                "storageclasses.storage.k8s.io",
                "persistentvolumeclaims",
                "serviceaccounts"
            ]
        );
    }
}
