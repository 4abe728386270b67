//! The rollout commands' changes on top of git's Deployments: `pause`, `restart` and the hold
//! `undo` records (DESIGN §3). A hold lasts while git's object is the one it was made
//! against; once git changes, git wins again.

use crate::manifest::types::Deployment;
use crate::manifest::types::NamespacedName;
use crate::state::{RolloutOverride, State};

/// The template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// Git's Deployment (hash `git_hash`) as the controllers should see it.
pub fn effective_deployment<'a>(
    dep: &'a Deployment,
    git_hash: &str,
    ov: Option<&RolloutOverride>,
) -> std::borrow::Cow<'a, Deployment> {
    // Copied only when a rollout verb changed something.
    let Some(ov) = ov else {
        return std::borrow::Cow::Borrowed(dep);
    };
    let mut dep = dep.clone();
    if let Some(hold) = ov.hold.as_ref().filter(|h| h.git_hash == git_hash) {
        dep.spec.template = hold.template.clone();
    }
    if let Some(at) = &ov.restarted_at {
        dep.spec
            .template
            .metadata
            .annotations
            .insert(RESTARTED_AT.into(), at.clone());
    }
    if ov.paused {
        dep.spec.paused = Some(true);
    }
    std::borrow::Cow::Owned(dep)
}

/// The plan's word on every live hold and pause: `deployment/web is held at revision 1 by
/// rollout undo (git wants revision 2)`.
pub fn notes(desired: &[super::DesiredObject], state: &State) -> Vec<String> {
    let mut out = Vec::new();
    for d in desired {
        let Some(crate::manifest::Resource::Deployment(dep)) = d.resource.as_deref() else {
            continue;
        };
        let ns = dep.metadata.namespace_or_default();
        let key = NamespacedName::new(ns, &dep.metadata.name);
        let Some(ov) = state.rollouts.get(&key) else { continue };
        if let Some(hold) = ov.hold.as_ref().filter(|h| h.git_hash == d.hash) {
            let wants = state
                .replica_sets_of(ns, &dep.metadata.name)
                .into_iter()
                .find(|rs| same_template(&rs.template, &dep.spec.template))
                .map_or("a new revision".to_string(), |rs| format!("revision {}", rs.revision()));
            out.push(format!(
                "deployment/{} is held at revision {} by rollout undo (git wants {wants}); it rolls forward when the object changes in git or after `rekon rollout resume deployment/{}`",
                dep.metadata.name, hold.revision, dep.metadata.name
            ));
        }
        if ov.paused {
            out.push(format!(
                "deployment/{} is paused by rollout pause: it scales but does not roll until `rekon rollout resume deployment/{}`",
                dep.metadata.name, dep.metadata.name
            ));
        }
    }
    out
}

/// Whether two templates are equal apart from the pod-template-hash label (kubectl's
/// `EqualIgnoreHash`).
pub fn same_template(a: &crate::manifest::types::PodTemplateSpec, b: &crate::manifest::types::PodTemplateSpec) -> bool {
    let strip = |t: &crate::manifest::types::PodTemplateSpec| {
        let mut t = t.clone();
        t.metadata.labels.remove("pod-template-hash");
        t
    };
    strip(a) == strip(b)
}
