//! The volume binder and rekon's provisioner, as one pure pass: claims of git bind to
//! PersistentVolumes of git or to volumes the provisioner makes, after upstream's
//! PersistentVolume controller (`pkg/controller/volume/persistentvolume/pv_controller.go`,
//! `FindMatchingVolume` in `component-helpers/storage/volume/pv_helpers.go`; spec §9.7).
//!
//! The caller (plan or apply) gathers a [`StorageInput`], calls [`bind`], makes the
//! directories of [`StorageStep::provision`], removes those of [`StorageStep::remove`], and
//! keeps the statuses in the state. Nothing here reads a clock or the host.

use super::DesiredObject;
use super::controller::ControllerEvent;
use super::controller::names::object_uid;
use crate::manifest::Quantity;
use crate::manifest::Resource;
use crate::manifest::types::pod::PodSpec;
use crate::manifest::types::{Kind, NamespacedName, PersistentVolume, PersistentVolumeClaim, StorageClass};
use crate::state::State;
use crate::state::storage::{ClaimPhase, ClaimRef, ClaimStatus, Provisioned, VolumePhase, VolumeStatus};
use crate::time::Time;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use crate::manifest::types::storage::PROVISIONER;
/// The StorageClass rekon has built in, the default unless git marks another one.
pub const BUILTIN_CLASS: &str = "standard";
/// The annotation that makes a StorageClass the default (`storageutil.IsDefaultAnnotation`).
pub const IS_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

/// rekon's built-in StorageClass `standard`: its provisioner, reclaim Delete, bound at
/// once, marked default.
pub fn builtin_class() -> StorageClass {
    let mut class = StorageClass {
        api_version: "storage.k8s.io/v1".into(),
        kind: "StorageClass".into(),
        provisioner: PROVISIONER.into(),
        reclaim_policy: Some("Delete".into()),
        volume_binding_mode: Some("Immediate".into()),
        ..Default::default()
    };
    class.metadata.name = BUILTIN_CLASS.into();
    class
        .metadata
        .annotations
        .insert(IS_DEFAULT_CLASS.into(), "true".into());
    class
}

/// Whether `class` is marked default.
pub fn is_default(class: &StorageClass) -> bool {
    class.metadata.annotations.get(IS_DEFAULT_CLASS).map(String::as_str) == Some("true")
}

/// The classes in effect: git's, and the built-in one unless git has a class of its name.
pub fn classes(git: Vec<StorageClass>) -> Vec<StorageClass> {
    let mut out = git;
    if !out.iter().any(|c| c.metadata.name == BUILTIN_CLASS) {
        // Git's default class, if any, wins over the built-in one, as the newer default
        // class does upstream.
        let mut builtin = builtin_class();
        if out.iter().any(is_default) {
            builtin.metadata.annotations.clear();
        }
        out.push(builtin);
    }
    out.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    out
}

/// What one pass of the binder reads.
pub struct StorageInput {
    /// Every claim: git's, and those removed from git but kept (DESIGN §3).
    pub claims: Vec<(NamespacedName, Arc<Resource>)>,
    /// The PersistentVolumes of git.
    pub volumes: Vec<Arc<Resource>>,
    /// The classes in effect ([`classes`]).
    pub classes: Vec<StorageClass>,
    /// Claims some pod of git uses: a claim of a `WaitForFirstConsumer` class binds then.
    pub consumers: BTreeSet<NamespacedName>,
    /// Claims a pod on the host still uses: their volumes are not reclaimed yet
    /// (`kubernetes.io/pvc-protection`).
    pub in_use: BTreeSet<NamespacedName>,
    /// When each recorded claim was first applied: its uid derives from it, as the uid of
    /// every object of git does.
    pub created: BTreeMap<NamespacedName, Time>,
    /// The statuses of the last pass.
    pub claim_status: BTreeMap<NamespacedName, ClaimStatus>,
    /// The statuses of the last pass.
    pub volume_status: BTreeMap<String, VolumeStatus>,
    /// The binder's clock.
    pub now: Time,
}

/// What one pass decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageStep {
    /// Every claim's status after the pass.
    pub claims: BTreeMap<NamespacedName, ClaimStatus>,
    /// Every volume's status after the pass (git's and provisioned ones).
    pub volumes: BTreeMap<String, VolumeStatus>,
    /// Provisioned volumes whose directory is to be made.
    pub provision: Vec<String>,
    /// Provisioned volumes reclaimed with `Delete`: their directory goes.
    pub remove: Vec<String>,
    /// Events, in order (`persistentvolumeclaim/data` ProvisioningSucceeded, …).
    pub events: Vec<ControllerEvent>,
}

impl StorageStep {
    /// Whether the pass changes anything the state keeps.
    pub fn changes(&self, state: &State) -> bool {
        self.claims != state.claims
            || self.volumes != state.volumes
            || !self.provision.is_empty()
            || !self.remove.is_empty()
    }
}

/// Whether the binder has anything to do: claims or volumes in git, or claims and volumes
/// the state keeps.
pub fn in_use(desired: &[DesiredObject], state: &State) -> bool {
    let storage = |kind: Kind| matches!(kind, Kind::PersistentVolumeClaim | Kind::PersistentVolume);
    !state.claims.is_empty()
        || !state.volumes.is_empty()
        || desired.iter().any(|d| storage(d.id.kind))
        || state.objects.keys().any(|id| storage(id.kind))
}

impl StorageInput {
    /// The input for the objects of git and the claims the state keeps beyond them.
    pub fn new(desired: &[DesiredObject], state: &State, now: Time) -> StorageInput {
        let mut claims = Vec::new();
        let mut volumes = Vec::new();
        let mut git_classes = Vec::new();
        let mut consumers = BTreeSet::new();
        let mut wanted = BTreeSet::new();
        let created = state
            .objects
            .values()
            .filter(|r| r.id.kind == Kind::PersistentVolumeClaim)
            .map(|r| {
                let ns = r.id.namespace.as_deref().unwrap_or("default");
                (NamespacedName::new(ns, &r.id.name), r.created_at)
            })
            .collect();
        for d in desired {
            let Some(r) = &d.resource else { continue };
            match &**r {
                Resource::PersistentVolumeClaim(c) => {
                    wanted.insert(&d.id);
                    claims.push((key_of(c), Arc::clone(r)));
                }
                Resource::PersistentVolume(_) => volumes.push(Arc::clone(r)),
                Resource::StorageClass(c) => git_classes.push(c.clone()),
                other => {
                    let ns = other.metadata().namespace_or_default();
                    let spec = other.pod_spec().or(other.pod_template().map(|t| &t.spec));
                    for claim in spec.into_iter().flat_map(claim_names) {
                        consumers.insert(NamespacedName::new(ns, claim));
                    }
                }
            }
        }
        // Claims removed from git but kept until `--prune-volumes`.
        for rec in state.objects.values() {
            if rec.id.kind != Kind::PersistentVolumeClaim || wanted.contains(&rec.id) {
                continue;
            }
            if let Ok(c) = serde_json::from_value::<PersistentVolumeClaim>((*rec.spec).clone()) {
                claims.push((key_of(&c), Arc::new(Resource::PersistentVolumeClaim(c))));
            }
        }
        StorageInput {
            claims,
            volumes,
            classes: classes(git_classes),
            consumers,
            in_use: claims_in_use(state),
            created,
            claim_status: state.claims.clone(),
            volume_status: state.volumes.clone(),
            now,
        }
    }
}

fn key_of(c: &PersistentVolumeClaim) -> NamespacedName {
    NamespacedName::new(c.metadata.namespace_or_default(), &c.metadata.name)
}

/// The claims a pod spec mounts.
pub fn claim_names(spec: &PodSpec) -> impl Iterator<Item = &str> {
    spec.volumes
        .iter()
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.as_str())
}

/// The claims the pods of the state use, terminating ones included.
pub fn claims_in_use(state: &State) -> BTreeSet<NamespacedName> {
    state
        .pods
        .values()
        .flat_map(|rec| {
            pod_claims(state, rec)
                .into_iter()
                .map(|c| NamespacedName::new(&rec.namespace, &c))
        })
        .collect()
}

/// The names of the pods of the state that mount the claim `key` (`describe pvc`'s Used By).
pub fn pods_using(state: &State, key: &NamespacedName) -> Vec<String> {
    let mut names: Vec<String> = state
        .pods
        .values()
        .filter(|rec| rec.namespace == key.namespace && pod_claims(state, rec).contains(&key.name))
        .map(|rec| rec.name.clone())
        .collect();
    names.sort();
    names
}

/// The claims the pod of `rec` mounts, from the spec it was made from.
fn pod_claims(state: &State, rec: &crate::state::PodRecord) -> Vec<String> {
    if let Some(t) = &rec.orphaned {
        return claim_names(&t.spec).map(String::from).collect();
    }
    if let Some(rs) = rec.replica_set().and_then(|k| state.replica_sets.get(&k)) {
        return claim_names(&rs.template.spec).map(String::from).collect();
    }
    let volumes = state
        .objects
        .get(&rec.owner)
        .filter(|_| rec.owner.kind == Kind::Pod)
        .and_then(|r| r.spec.pointer("/spec/volumes"))
        .and_then(|v| v.as_array());
    volumes
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName")?.as_str())
        .map(String::from)
        .collect()
}

/// The event object of a claim: `persistentvolumeclaim/data`, as the controllers' events
/// name theirs.
fn claim_ref(key: &NamespacedName) -> String {
    format!("persistentvolumeclaim/{}", key.name)
}

/// Why a volume does not satisfy a claim (`checkVolumeSatisfyClaim`), or None when it does.
fn mismatch(pv: &PersistentVolume, claim: &PersistentVolumeClaim, class: Option<&str>) -> Option<&'static str> {
    let request = claim.spec.resources.requests.get("storage");
    let capacity = pv.spec.capacity.get("storage");
    if let (Some(r), Some(c)) = (request, capacity)
        && c < r
    {
        return Some("requested PV is too small");
    }
    if pv.spec.storage_class_name.as_deref().unwrap_or("") != class.unwrap_or("") {
        return Some("storageClassName does not match");
    }
    if pv.spec.volume_mode.as_deref().unwrap_or("Filesystem")
        != claim.spec.volume_mode.as_deref().unwrap_or("Filesystem")
    {
        return Some("incompatible volumeMode");
    }
    if !claim.spec.access_modes.iter().all(|m| pv.spec.access_modes.contains(m)) {
        return Some("incompatible accessMode");
    }
    None
}

/// Runs the binder once over `input`.
pub fn bind(input: &StorageInput) -> StorageStep {
    let mut step = StorageStep::default();
    let default_class = input
        .classes
        .iter()
        .find(|c| is_default(c))
        .map(|c| c.metadata.name.clone());
    // The PersistentVolumes of git, by name, with the status each had.
    let git: BTreeMap<&str, &PersistentVolume> = input
        .volumes
        .iter()
        .filter_map(|r| match &**r {
            Resource::PersistentVolume(pv) => Some((pv.metadata.name.as_str(), pv)),
            _ => None,
        })
        .collect();
    // Provisioned volumes survive until reclaimed; git's only while in git.
    for (name, vs) in &input.volume_status {
        if vs.provisioned.is_some() || git.contains_key(name.as_str()) {
            step.volumes.insert(name.clone(), vs.clone());
        }
    }
    for name in git.keys() {
        step.volumes.entry(name.to_string()).or_insert(VolumeStatus {
            phase: VolumePhase::Available,
            claim: None,
            message: None,
            provisioned: None,
        });
    }
    let mut claims: Vec<(&NamespacedName, &PersistentVolumeClaim)> = input
        .claims
        .iter()
        .filter_map(|(k, r)| match &**r {
            Resource::PersistentVolumeClaim(c) => Some((k, c)),
            _ => None,
        })
        .collect();
    claims.sort_by(|a, b| a.0.cmp(b.0));
    for (key, claim) in claims {
        let mut status = input.claim_status.get(key).cloned().unwrap_or_else(|| ClaimStatus {
            uid: object_uid(
                &key.namespace,
                &key.name,
                input.created.get(key).copied().unwrap_or(input.now),
            ),
            phase: ClaimPhase::Pending,
            volume: None,
            capacity: None,
            access_modes: Vec::new(),
            class: None,
            waiting: None,
        });
        if status.phase == ClaimPhase::Pending {
            // A claim with no class gets the default one while it waits (retroactive default
            // class assignment); `""` asks for no class.
            status.class = match claim.spec.storage_class_name.as_deref() {
                Some(c) => Some(c.to_string()),
                None => default_class.clone(),
            };
        }
        let this = ClaimRef {
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            uid: status.uid.clone(),
        };
        match status.phase {
            ClaimPhase::Bound | ClaimPhase::Lost => {
                let volume = status.volume.clone().unwrap_or_default();
                match step.volumes.get_mut(&volume) {
                    Some(vs) => {
                        vs.phase = VolumePhase::Bound;
                        vs.claim = Some(this);
                        status.phase = ClaimPhase::Bound;
                    }
                    None if status.phase == ClaimPhase::Bound => {
                        status.phase = ClaimPhase::Lost;
                        step.events.push(ControllerEvent {
                            object: claim_ref(key),
                            type_: "Warning".into(),
                            reason: "ClaimLost".into(),
                            message: "Bound claim has lost its PersistentVolume. Data on the volume is lost!".into(),
                        });
                    }
                    None => {}
                }
            }
            ClaimPhase::Pending => {
                let outcome = find_volume(input, &step, &git, key, claim, &status);
                match outcome {
                    Found::Volume(name) => bind_to(&mut step, &mut status, &this, &name, &git),
                    Found::Wait { type_, reason, message } => {
                        if status.waiting.as_deref() != Some(reason) {
                            step.events.push(ControllerEvent {
                                object: claim_ref(key),
                                type_: type_.into(),
                                reason: reason.into(),
                                message,
                            });
                            status.waiting = Some(reason.to_string());
                        }
                    }
                    Found::Provision(class) => {
                        // A retained volume of an earlier claim of the same name and uid
                        // (recreated within the same second) keeps its name.
                        while step.volumes.contains_key(&format!("pvc-{}", status.uid)) {
                            status.uid = object_uid(&key.namespace, &format!("{}/{}", key.name, status.uid), input.now);
                        }
                        let this = ClaimRef {
                            uid: status.uid.clone(),
                            ..this.clone()
                        };
                        let name = format!("pvc-{}", status.uid);
                        let capacity = claim
                            .spec
                            .resources
                            .requests
                            .get("storage")
                            .copied()
                            .unwrap_or_else(|| Quantity::parse("0").expect("0 is a quantity"));
                        step.volumes.insert(
                            name.clone(),
                            VolumeStatus {
                                phase: VolumePhase::Available,
                                claim: None,
                                message: None,
                                provisioned: Some(Provisioned {
                                    class: class.metadata.name.clone(),
                                    capacity,
                                    access_modes: claim.spec.access_modes.clone(),
                                    reclaim_policy: class.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
                                    created_at: input.now,
                                }),
                            },
                        );
                        step.provision.push(name.clone());
                        step.events.push(ControllerEvent::normal(
                            claim_ref(key),
                            "ProvisioningSucceeded",
                            format!("Successfully provisioned volume {name}"),
                        ));
                        bind_to(&mut step, &mut status, &this, &name, &git);
                    }
                }
            }
        }
        step.claims.insert(key.clone(), status);
    }
    reclaim(input, &mut step);
    step
}

/// What a Pending claim can do this pass.
enum Found<'a> {
    /// Bind to this volume.
    Volume(String),
    /// Provision a volume of this class, then bind.
    Provision(&'a StorageClass),
    /// Wait; the event says why.
    Wait {
        type_: &'static str,
        reason: &'static str,
        message: String,
    },
}

fn wait(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Found<'static> {
    Found::Wait {
        type_,
        reason,
        message: message.into(),
    }
}

/// The volume a Pending claim binds to, or what it waits for (`syncUnboundClaim`).
fn find_volume<'a>(
    input: &'a StorageInput,
    step: &StorageStep,
    git: &BTreeMap<&str, &PersistentVolume>,
    key: &NamespacedName,
    claim: &PersistentVolumeClaim,
    status: &ClaimStatus,
) -> Found<'a> {
    let class = status.class.as_deref().filter(|c| !c.is_empty());
    let free = |name: &str| {
        step.volumes
            .get(name)
            .is_some_and(|vs| vs.phase == VolumePhase::Available && vs.claim.is_none())
    };
    let pre_bound = |pv: &PersistentVolume| {
        pv.spec
            .claim_ref
            .as_ref()
            .is_some_and(|r| r.name == key.name && r.namespace.as_deref().unwrap_or("default") == key.namespace)
    };
    if let Some(name) = claim.spec.volume_name.as_deref().filter(|n| !n.is_empty()) {
        let Some(pv) = git.get(name) else {
            return wait("Normal", "FailedBinding", format!("volume \"{name}\" not found"));
        };
        if let Some(why) = mismatch(pv, claim, class) {
            return wait(
                "Warning",
                "VolumeMismatch",
                format!("Cannot bind to requested volume \"{name}\": {why}"),
            );
        }
        if !free(name) && !pre_bound(pv) {
            return wait(
                "Warning",
                "FailedBinding",
                format!("volume \"{name}\" already bound to a different claim."),
            );
        }
        return Found::Volume(name.to_string());
    }
    let class_obj = class.and_then(|c| input.classes.iter().find(|k| k.metadata.name == c));
    let delayed = class_obj.is_some_and(|c| c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"));
    if delayed && !input.consumers.contains(key) {
        return wait(
            "Normal",
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
        );
    }
    // A volume pre-bound to the claim wins; otherwise the smallest free one that fits.
    if let Some((name, _)) = git
        .iter()
        .find(|(name, pv)| pre_bound(pv) && free(name) && mismatch(pv, claim, class).is_none())
    {
        return Found::Volume(name.to_string());
    }
    let best = git
        .iter()
        .filter(|(name, pv)| free(name) && pv.spec.claim_ref.is_none() && mismatch(pv, claim, class).is_none())
        .filter(|(_, pv)| {
            claim
                .spec
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&pv.metadata.labels))
        })
        .min_by(|a, b| a.1.spec.capacity.get("storage").cmp(&b.1.spec.capacity.get("storage")));
    if let Some((name, _)) = best {
        return Found::Volume(name.to_string());
    }
    let Some(class) = class else {
        return wait(
            "Normal",
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        );
    };
    let Some(class_obj) = class_obj else {
        return wait(
            "Warning",
            "ProvisioningFailed",
            format!("storageclass.storage.k8s.io \"{class}\" not found"),
        );
    };
    if class_obj.provisioner != PROVISIONER {
        return wait(
            "Normal",
            "ExternalProvisioning",
            format!(
                "Waiting for a volume to be created either by the external provisioner '{}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
                class_obj.provisioner
            ),
        );
    }
    if claim.spec.selector.is_some() {
        return wait("Warning", "ProvisioningFailed", "claim Selector is not supported");
    }
    Found::Provision(class_obj)
}

fn bind_to(
    step: &mut StorageStep,
    status: &mut ClaimStatus,
    this: &ClaimRef,
    name: &str,
    git: &BTreeMap<&str, &PersistentVolume>,
) {
    let Some(vs) = step.volumes.get_mut(name) else { return };
    vs.phase = VolumePhase::Bound;
    vs.claim = Some(this.clone());
    let (capacity, modes) = match (&vs.provisioned, git.get(name)) {
        (Some(p), _) => (Some(p.capacity), p.access_modes.clone()),
        (None, Some(pv)) => (pv.spec.capacity.get("storage").cloned(), pv.spec.access_modes.clone()),
        (None, None) => (None, Vec::new()),
    };
    status.phase = ClaimPhase::Bound;
    status.volume = Some(name.to_string());
    status.capacity = capacity;
    status.access_modes = modes;
    status.waiting = None;
}

/// Volumes whose claim is gone: a provisioned one with `Delete` goes (once no pod uses the
/// claim), one with `Retain` is Released, and so is a volume of git; a volume of git with
/// `Delete` is Failed, because rekon deletes only what it provisioned.
fn reclaim(input: &StorageInput, step: &mut StorageStep) {
    let bound: BTreeSet<(String, String, String)> = step
        .claims
        .iter()
        .filter(|(_, c)| c.phase == ClaimPhase::Bound)
        .map(|(k, c)| (k.namespace.clone(), k.name.clone(), c.uid.clone()))
        .collect();
    let git_policy: BTreeMap<&str, &str> = input
        .volumes
        .iter()
        .filter_map(|r| match &**r {
            Resource::PersistentVolume(pv) => Some((
                pv.metadata.name.as_str(),
                pv.spec.persistent_volume_reclaim_policy.as_deref().unwrap_or("Retain"),
            )),
            _ => None,
        })
        .collect();
    let mut gone = Vec::new();
    for (name, vs) in step.volumes.iter_mut() {
        let Some(claim) = vs.claim.clone() else { continue };
        if bound.contains(&(claim.namespace.clone(), claim.name.clone(), claim.uid.clone())) {
            continue;
        }
        let key = NamespacedName::new(&claim.namespace, &claim.name);
        if input.in_use.contains(&key) {
            continue;
        }
        let policy = match &vs.provisioned {
            Some(p) => p.reclaim_policy.as_str(),
            None => git_policy.get(name.as_str()).copied().unwrap_or("Retain"),
        };
        match (policy, vs.provisioned.is_some()) {
            ("Delete", true) => gone.push(name.clone()),
            ("Delete", false) => {
                if vs.phase != VolumePhase::Failed {
                    vs.phase = VolumePhase::Failed;
                    let message = "rekon deletes only the volumes it provisioned; remove the PersistentVolume from git";
                    vs.message = Some(message.into());
                    step.events.push(ControllerEvent {
                        object: format!("persistentvolume/{name}"),
                        type_: "Warning".into(),
                        reason: "VolumeFailedDelete".into(),
                        message: message.into(),
                    });
                }
            }
            _ => vs.phase = VolumePhase::Released,
        }
    }
    for name in gone {
        step.volumes.remove(&name);
        step.remove.push(name);
    }
}

/// What the plan says of a claim it creates or changes: the volume it binds, the volume
/// rekon's provisioner makes for it, or why it stays Pending; nothing for a claim bound before.
pub fn claim_note(step: &StorageStep, key: &NamespacedName, state: &State) -> Option<String> {
    let c = step.claims.get(key)?;
    if state.claims.get(key).is_some_and(|was| was.phase == ClaimPhase::Bound) {
        return None;
    }
    let volume = c.volume.as_deref().and_then(|v| Some((v, step.volumes.get(v)?)));
    Some(match (c.phase, volume) {
        (ClaimPhase::Bound, Some((_, vs))) if vs.provisioned.is_some() => {
            let p = vs.provisioned.as_ref()?;
            format!(
                "rekon's provisioner makes a {} volume of class {} for it",
                p.capacity, p.class
            )
        }
        (ClaimPhase::Bound, Some((name, _))) => format!("binds to PersistentVolume {name}"),
        _ => {
            let event = step.events.iter().rev().find(|e| e.object == claim_ref(key));
            format!(
                "stays Pending: {}",
                event.map_or("no volume fits it", |e| e.message.as_str())
            )
        }
    })
}

/// How a pod's claim looks to the scheduler.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimView {
    /// Bound: the pod may run.
    Bound,
    /// Not bound; `delayed` when its class binds on the first consumer (then no volume fits).
    Unbound {
        /// The class is `WaitForFirstConsumer`.
        delayed: bool,
    },
}

/// The claims as the scheduler sees them after a pass, keyed `namespace/name`.
pub fn claim_views(step: &StorageStep, classes: &[StorageClass]) -> BTreeMap<NamespacedName, ClaimView> {
    step.claims
        .iter()
        .map(|(k, c)| {
            let view = match c.phase {
                ClaimPhase::Bound => ClaimView::Bound,
                _ => ClaimView::Unbound {
                    delayed: c.class.as_deref().is_some_and(|name| {
                        classes.iter().any(|k| {
                            k.metadata.name == name && k.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer")
                        })
                    }),
                },
            };
            (k.clone(), view)
        })
        .collect()
}

/// Why a pod that mounts claims cannot be scheduled (a PreFilter failure of the
/// VolumeBinding plugin, `volume_binding.go`), or None when every claim is bound.
pub fn unschedulable(
    namespace: &str,
    spec: &PodSpec,
    claims: &BTreeMap<NamespacedName, ClaimView>,
    nodes: usize,
) -> Option<String> {
    let mut delayed = false;
    for name in claim_names(spec) {
        match claims.get(&NamespacedName::new(namespace, name)) {
            None => {
                return Some(format!(
                    "0/{nodes} nodes are available: persistentvolumeclaim \"{name}\" not found."
                ));
            }
            Some(ClaimView::Unbound { delayed: false }) => {
                return Some(format!(
                    "0/{nodes} nodes are available: pod has unbound immediate PersistentVolumeClaims."
                ));
            }
            Some(ClaimView::Unbound { delayed: true }) => delayed = true,
            Some(ClaimView::Bound) => {}
        }
    }
    delayed.then(|| {
        format!("0/{nodes} nodes are available: {nodes} node(s) didn't find available persistent volumes to bind.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testkit::desired;

    fn now() -> Time {
        crate::time::parse("2026-01-01T00:00:00Z").unwrap()
    }

    fn pv(name: &str, size: &str, class: &str, extra: &str) -> String {
        format!(
            "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\n  labels: {{size: \"{size}\"}}\nspec:\n  capacity: {{storage: {size}}}\n  accessModes: [ReadWriteOnce]\n  storageClassName: \"{class}\"\n  hostPath: {{path: /mnt/{name}}}\n{extra}---\n"
        )
    }

    fn pvc(name: &str, size: &str, class: Option<&str>, extra: &str) -> String {
        let class = class.map_or(String::new(), |c| format!("  storageClassName: \"{c}\"\n"));
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: {size}}}}}\n{class}{extra}---\n"
        )
    }

    /// One pass over `yaml`, carrying the statuses of `prev`.
    fn pass(yaml: &str, prev: Option<&StorageStep>, in_use: &[&str]) -> StorageStep {
        let d = desired(yaml);
        let mut state = State::new("l".into());
        if let Some(p) = prev {
            state.claims = p.claims.clone();
            state.volumes = p.volumes.clone();
        }
        let mut input = StorageInput::new(&d, &state, now());
        input.in_use = in_use.iter().map(|n| NamespacedName::new("default", n)).collect();
        bind(&input)
    }

    fn claim<'a>(step: &'a StorageStep, name: &str) -> &'a ClaimStatus {
        &step.claims[&NamespacedName::new("default", name)]
    }

    fn events(step: &StorageStep) -> Vec<(String, String, String)> {
        step.events
            .iter()
            .map(|e| (e.object.clone(), e.reason.clone(), e.message.clone()))
            .collect()
    }

    #[test]
    fn the_smallest_free_volume_of_the_class_with_the_modes_binds() {
        let yaml = [
            pv("big", "20Gi", "manual", ""),
            pv("small", "5Gi", "manual", ""),
            pv("tiny", "1Gi", "manual", ""),
            pv("fast", "5Gi", "fast", ""),
            pv("rwx", "4Gi", "manual", "").replace("[ReadWriteOnce]", "[ReadWriteMany]"),
            pvc("data", "3Gi", Some("manual"), ""),
        ]
        .concat();
        let step = pass(&yaml, None, &[]);
        let c = claim(&step, "data");
        assert_eq!(c.phase, ClaimPhase::Bound);
        assert_eq!(c.volume.as_deref(), Some("small"));
        assert_eq!(c.capacity.as_ref().map(|q| q.to_string()).as_deref(), Some("5Gi"));
        assert_eq!(c.access_modes, ["ReadWriteOnce"]);
        let phases: Vec<(&str, VolumePhase)> = step.volumes.iter().map(|(n, v)| (n.as_str(), v.phase)).collect();
        assert_eq!(
            phases,
            [
                ("big", VolumePhase::Available),
                ("fast", VolumePhase::Available),
                ("rwx", VolumePhase::Available),
                ("small", VolumePhase::Bound),
                ("tiny", VolumePhase::Available),
            ]
        );
        let claim_ref = step.volumes["small"].claim.clone().unwrap();
        assert_eq!(
            (claim_ref.namespace.as_str(), claim_ref.name.as_str()),
            ("default", "data")
        );
        assert_eq!(claim_ref.uid, c.uid);
        assert!(step.provision.is_empty() && step.events.is_empty(), "{step:?}");
        // The next pass changes nothing.
        assert_eq!(pass(&yaml, Some(&step), &[]), StorageStep { events: vec![], ..step });
    }

    #[test]
    fn an_empty_class_binds_only_classless_volumes_and_says_why_it_waits_once() {
        let yaml = [pv("manual", "5Gi", "manual", ""), pvc("data", "1Gi", Some(""), "")].concat();
        let step = pass(&yaml, None, &[]);
        assert_eq!(claim(&step, "data").phase, ClaimPhase::Pending);
        assert_eq!(
            events(&step),
            [(
                "persistentvolumeclaim/data".to_string(),
                "FailedBinding".to_string(),
                "no persistent volumes available for this claim and no storage class is set".to_string()
            )]
        );
        let again = pass(&yaml, Some(&step), &[]);
        assert!(again.events.is_empty(), "{again:?}");
        // A classless volume appears: it binds.
        let yaml = format!("{yaml}{}", pv("plain", "2Gi", "", ""));
        let step = pass(&yaml, Some(&again), &[]);
        assert_eq!(claim(&step, "data").volume.as_deref(), Some("plain"));
        assert_eq!(claim(&step, "data").waiting, None);
    }

    #[test]
    fn the_default_class_provisions_and_delete_reclaims_once_no_pod_uses_the_claim() {
        let yaml = pvc("data", "1Gi", None, "");
        let step = pass(&yaml, None, &[]);
        let c = claim(&step, "data");
        let name = format!("pvc-{}", c.uid);
        assert_eq!(c.uid, object_uid("default", "data", now()));
        assert_eq!(
            (c.phase, c.volume.as_deref(), c.class.as_deref()),
            (ClaimPhase::Bound, Some(name.as_str()), Some("standard"))
        );
        assert_eq!(step.provision, std::slice::from_ref(&name));
        assert_eq!(
            events(&step),
            [(
                "persistentvolumeclaim/data".to_string(),
                "ProvisioningSucceeded".to_string(),
                format!("Successfully provisioned volume {name}")
            )]
        );
        let p = step.volumes[&name].provisioned.clone().unwrap();
        assert_eq!(
            (p.class.as_str(), p.reclaim_policy.as_str(), p.capacity.to_string()),
            ("standard", "Delete", "1Gi".to_string())
        );
        // The claim leaves git while a pod still mounts it: the volume waits.
        let held = pass("", Some(&step), &["data"]);
        assert!(held.claims.is_empty());
        assert_eq!(held.volumes[&name].phase, VolumePhase::Bound);
        assert!(held.remove.is_empty());
        let gone = pass("", Some(&held), &[]);
        assert!(gone.volumes.is_empty());
        assert_eq!(gone.remove, [name]);
    }

    #[test]
    fn retain_releases_and_a_volume_of_git_with_delete_fails() {
        let class = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: keep\nprovisioner: rekon.dev/local-path\nreclaimPolicy: Retain\n---\n";
        let git_pv = pv("old", "1Gi", "manual", "  persistentVolumeReclaimPolicy: Delete\n");
        let yaml = [
            class,
            &git_pv,
            &pvc("a", "1Gi", Some("keep"), ""),
            &pvc("b", "1Gi", Some("manual"), ""),
        ]
        .concat();
        let step = pass(&yaml, None, &[]);
        let a = claim(&step, "a").volume.clone().unwrap();
        assert_eq!(claim(&step, "b").volume.as_deref(), Some("old"));
        let step = pass(&[class, &git_pv].concat(), Some(&step), &[]);
        assert_eq!(step.volumes[&a].phase, VolumePhase::Released);
        assert!(step.remove.is_empty());
        assert_eq!(step.volumes["old"].phase, VolumePhase::Failed);
        assert_eq!(
            events(&step),
            [(
                "persistentvolume/old".to_string(),
                "VolumeFailedDelete".to_string(),
                "rekon deletes only the volumes it provisioned; remove the PersistentVolume from git".to_string()
            )]
        );
        // A Released volume binds no new claim by itself; the new claim gets a new volume.
        let step = pass(&[class, &pvc("a", "1Gi", Some("keep"), "")].concat(), Some(&step), &[]);
        let again = claim(&step, "a");
        assert_eq!(again.phase, ClaimPhase::Bound);
        assert_ne!(again.volume.as_deref(), Some(a.as_str()));
        assert_eq!(step.volumes[&a].phase, VolumePhase::Released);
    }

    #[test]
    fn selectors_volume_names_and_claim_refs_choose_the_volume() {
        let yaml = [
            pv("one", "1Gi", "manual", ""),
            pv("two", "2Gi", "manual", ""),
            pv(
                "three",
                "3Gi",
                "manual",
                "  claimRef: {namespace: default, name: reserved}\n",
            ),
            pvc(
                "picky",
                "1Gi",
                Some("manual"),
                "  selector: {matchLabels: {size: 2Gi}}\n",
            ),
            pvc("named", "1Gi", Some("manual"), "  volumeName: one\n"),
            pvc("reserved", "1Gi", Some("manual"), ""),
            pvc("zz-other", "1Gi", Some("manual"), ""),
        ]
        .concat();
        let step = pass(&yaml, None, &[]);
        let volume = |n: &str| claim(&step, n).volume.clone();
        assert_eq!(volume("picky").as_deref(), Some("two"));
        assert_eq!(volume("named").as_deref(), Some("one"));
        assert_eq!(volume("reserved").as_deref(), Some("three"));
        // Every manual volume is taken; the class has no provisioner object.
        assert_eq!(claim(&step, "zz-other").phase, ClaimPhase::Pending);
        assert_eq!(
            events(&step),
            [(
                "persistentvolumeclaim/zz-other".to_string(),
                "ProvisioningFailed".to_string(),
                "storageclass.storage.k8s.io \"manual\" not found".to_string()
            )]
        );
        let yaml = [
            pv("small", "1Gi", "manual", ""),
            pvc("big", "5Gi", Some("manual"), "  volumeName: small\n"),
        ]
        .concat();
        assert_eq!(
            events(&pass(&yaml, None, &[])),
            [(
                "persistentvolumeclaim/big".to_string(),
                "VolumeMismatch".to_string(),
                "Cannot bind to requested volume \"small\": requested PV is too small".to_string()
            )]
        );
    }

    #[test]
    fn wait_for_first_consumer_binds_when_a_pod_uses_the_claim_and_foreign_provisioners_wait() {
        let classes = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: late\nprovisioner: rekon.dev/local-path\nvolumeBindingMode: WaitForFirstConsumer\n---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: ebs\nprovisioner: ebs.csi.aws.com\n---\n";
        let yaml = [
            classes,
            &pvc("data", "1Gi", Some("late"), ""),
            &pvc("cloud", "1Gi", Some("ebs"), ""),
        ]
        .concat();
        let step = pass(&yaml, None, &[]);
        assert_eq!(claim(&step, "data").phase, ClaimPhase::Pending);
        assert_eq!(
            events(&step),
            [
                (
                    "persistentvolumeclaim/cloud".to_string(),
                    "ExternalProvisioning".to_string(),
                    "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.".to_string()
                ),
                (
                    "persistentvolumeclaim/data".to_string(),
                    "WaitForFirstConsumer".to_string(),
                    "waiting for first consumer to be created before binding".to_string()
                ),
            ]
        );
        let views = claim_views(
            &step,
            &StorageInput::new(&desired(&yaml), &State::new("l".into()), now()).classes,
        );
        let spec: PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [{"name": "c", "image": "i"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
        }))
        .unwrap();
        assert_eq!(
            unschedulable("default", &spec, &views, 2).as_deref(),
            Some("0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind.")
        );
        let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: [{name: c, image: i}]\n  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]\n---\n";
        let step = pass(&format!("{yaml}{pod}"), Some(&step), &[]);
        assert_eq!(claim(&step, "data").phase, ClaimPhase::Bound);
        assert_eq!(step.provision.len(), 1);
    }

    #[test]
    fn a_claim_whose_volume_leaves_git_is_lost() {
        let yaml = [pv("v", "1Gi", "manual", ""), pvc("data", "1Gi", Some("manual"), "")].concat();
        let step = pass(&yaml, None, &[]);
        let step = pass(&pvc("data", "1Gi", Some("manual"), ""), Some(&step), &[]);
        assert_eq!(claim(&step, "data").phase, ClaimPhase::Lost);
        assert_eq!(step.events[0].reason, "ClaimLost");
        // It comes back: bound again.
        let step = pass(&yaml, Some(&step), &[]);
        assert_eq!(claim(&step, "data").phase, ClaimPhase::Bound);
    }

    #[test]
    fn pods_with_missing_or_unbound_claims_stay_pending_with_the_schedulers_words() {
        let spec: PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [{"name": "c", "image": "i"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
        }))
        .unwrap();
        let mut views = BTreeMap::new();
        assert_eq!(
            unschedulable("default", &spec, &views, 1).as_deref(),
            Some("0/1 nodes are available: persistentvolumeclaim \"data\" not found.")
        );
        views.insert(
            NamespacedName::new("default", "data"),
            ClaimView::Unbound { delayed: false },
        );
        assert_eq!(
            unschedulable("default", &spec, &views, 1).as_deref(),
            Some("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.")
        );
        views.insert(NamespacedName::new("default", "data"), ClaimView::Bound);
        assert_eq!(unschedulable("default", &spec, &views, 1), None);
        assert!(unschedulable("other", &spec, &views, 1).is_some());
    }

    #[test]
    fn git_may_replace_the_built_in_default() {
        let mine = StorageClass {
            provisioner: "x.example/p".into(),
            metadata: crate::manifest::types::ObjectMeta {
                name: "fast".into(),
                annotations: [(IS_DEFAULT_CLASS.to_string(), "true".to_string())].into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let all = classes(vec![mine]);
        let defaults: Vec<&str> = all
            .iter()
            .filter(|c| is_default(c))
            .map(|c| c.metadata.name.as_str())
            .collect();
        assert_eq!(defaults, ["fast"]);
        assert_eq!(all.len(), 2);
        let builtin = classes(vec![]);
        assert_eq!(builtin, [builtin_class()]);
    }
}
