//! `rekon down`: stop and remove everything rekon runs on this host and forget every object
//! in the state, like `terraform destroy`.

use super::context::{self, Session};
use super::logs::{grace_period, pod_spec};
use super::{ExitError, Global, exit};
use crate::manifest::types::Kind;
use crate::state::{Event, LockMode, State};
use anyhow::{Context, Result};
use clap::Args;
use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};

/// `rekon down`'s arguments: whether to skip the confirmation.
#[derive(Args, Debug)]
pub struct DownArgs {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Terraform's confirmation: only `yes` goes on.
fn confirmed() -> Result<bool> {
    let mut err = std::io::stderr();
    write!(
        err,
        "Do you really want to destroy all resources?\n  rekon will stop every pod it runs on this host and forget every object in the state.\n  There is no undo. Only 'yes' will be accepted to confirm.\n\n  Enter a value: "
    )?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// What `down` destroys: every object, plus every pod that is not itself a Pod object
/// (controllers' pods, and pods the runtime holds that the state does not know).
fn resource_count(state: &State, runtime_pods: &BTreeSet<String>) -> usize {
    let bare = |uid: &String| {
        state.pods.get(uid).is_some_and(|p| {
            p.owner.kind == Kind::Pod && p.owner.name == p.name && state.objects.contains_key(&p.owner)
        })
    };
    let pods: BTreeSet<&String> = state.pods.keys().chain(runtime_pods).collect();
    state.objects.len() + pods.into_iter().filter(|uid| !bare(uid)).count()
}

/// Runs `rekon down`: asks on a terminal unless `--yes`, stops every pod, removes the nodes'
/// cgroups and empties the state; exit 1 when the answer is not `yes`.
pub fn run(global: &Global, args: &DownArgs) -> Result<i32> {
    if !args.yes && std::io::stdin().is_terminal() && !confirmed()? {
        eprintln!("\nDestroy cancelled.");
        return Err(ExitError::silent(exit::ERROR).into());
    }
    let mut session = Session::open(global, LockMode::Exclusive, "down")?;
    let mut runtime = context::runtime(global)?;
    let held: BTreeSet<String> = runtime
        .list_pods()
        .context("failed to list the pods the runtime holds")?
        .into_iter()
        .collect();
    let count = resource_count(&session.state, &held);
    let uids: BTreeSet<String> = held.iter().chain(session.state.pods.keys()).cloned().collect();
    let mut pods = Vec::new();
    for uid in &uids {
        let dir = global.state_dir.join("pods").join(uid);
        let spec = match session.state.pods.get(uid) {
            Some(record) => pod_spec(&dir, &session.state, record),
            None => std::fs::read(dir.join("pod.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v.get("spec").cloned()),
        };
        let name = session.state.pods.get(uid).map_or(uid.as_str(), |p| p.name.as_str());
        eprintln!("pod/{name}: Destroying...");
        if session.state.pods.get(uid).is_none_or(|p| !p.is_pending()) {
            pods.push((uid.clone(), grace_period(spec.as_ref())));
        }
    }
    // Every pod stops at once; an interrupted down leaves their records, and the next one
    // finishes them.
    crate::runtime::delete_pods(runtime.as_mut(), &pods).context("failed to delete the pods")?;
    session.state.pods.clear();
    // Node cgroups and their recorded capacity go with the pods (the default node too).
    let mut nodes: BTreeSet<String> = session
        .state
        .objects
        .values()
        .filter(|r| r.id.kind == Kind::Node)
        .map(|r| r.id.name.clone())
        .collect();
    nodes.insert(crate::runtime::host::hostname());
    if runtime.check_can_modify().is_ok() {
        for node in &nodes {
            runtime
                .remove_node(node)
                .with_context(|| format!("failed to remove node {node}"))?;
        }
    }
    session.state.objects.clear();
    session.state.revision = None;
    // Claims go with everything else; their provisioned volumes are reclaimed by policy.
    let volumes = std::mem::take(&mut session.state.volumes);
    session.state.claims.clear();
    let mut retained = Vec::new();
    let mut removed = Vec::new();
    for (name, v) in volumes {
        let Some(p) = v.provisioned else { continue };
        let dir = crate::apply::storage::provisioned_dir(&global.state_dir, &name);
        if p.reclaim_policy == "Delete" {
            removed.push(dir);
        } else {
            retained.push(format!(
                "PersistentVolume {name} is retained (reclaim policy {}): its data stays in {}\n",
                p.reclaim_policy,
                dir.display()
            ));
        }
    }
    let Session { store, state, .. } = &mut session;
    store.save(state).context("failed to save the state")?;
    for dir in removed {
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("failed to remove {}", dir.display()));
            }
            _ => {}
        }
    }
    super::output::print(&retained.concat());
    session.events.append(&Event {
        destroy: Some(count as u32),
        exit_code: Some(exit::OK),
        ..Event::new("down", crate::time::now())
    })?;
    super::output::print(&format!("\nDestroy complete! Resources: {count} destroyed.\n"));
    Ok(exit::OK)
}
