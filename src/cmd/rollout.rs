//! `rekon rollout status|history deployment/NAME`: kubectl's rollout views over what the
//! apply loop records in the state (Deployment statuses, ReplicaSets with their revisions).

use super::get::read_state;
use super::rollout_text::{StatusLine, StatusView, history_table, status_line};
use super::{Global, exit, parse_duration};
use crate::manifest::types::{Kind, NamespacedName};
use crate::state::State;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use std::time::{Duration, Instant};

/// `rekon rollout`'s arguments: one of its subcommands.
#[derive(Args, Debug)]
pub struct RolloutArgs {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: RolloutCommand,
}

/// The subcommands of `rekon rollout`.
#[derive(Subcommand, Debug)]
pub enum RolloutCommand {
    /// Watch a Deployment's rollout until it is done (kubectl's messages and exit codes).
    Status(StatusArgs),
    /// The revisions of a Deployment (its ReplicaSets), oldest first.
    History(HistoryArgs),
    /// Roll back to an earlier revision and hold it there until git's object changes.
    Undo(UndoArgs),
    /// Stop rolling a Deployment (it still scales).
    Pause(ChangeArgs),
    /// Roll again after a pause, and drop a hold made by undo.
    Resume(ChangeArgs),
    /// Replace every pod by a rollout (the `restartedAt` template annotation).
    Restart(ChangeArgs),
}

/// Arguments of `rollout pause`, `resume` and `restart` (and of `undo`): the Deployment, and
/// whether to roll the change out now.
#[derive(Args, Debug)]
pub struct ChangeArgs {
    /// deployment/NAME
    pub target: String,
    /// Namespace.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Only record the change; the next `rekon apply` (or `apply --watch`) rolls it out.
    #[arg(long)]
    pub no_apply: bool,
}

/// `rollout undo`'s arguments: the Deployment and the revision to go back to.
#[derive(Args, Debug)]
pub struct UndoArgs {
    /// The Deployment, and whether to roll back now.
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The revision to go back to (0: the one before the current).
    #[arg(long, default_value_t = 0)]
    pub to_revision: i64,
}

/// `rollout status`'s arguments: the Deployment, whether to watch, and for how long.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// deployment/NAME
    pub target: String,
    /// Namespace.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Keep watching until the rollout ends (`--watch=false`: print the current state once).
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set)]
    pub watch: bool,
    /// Give up after this long (e.g. 5m); 0 waits forever.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub timeout: Duration,
}

/// `rollout history`'s arguments: the Deployment, and optionally one revision to show.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// deployment/NAME
    pub target: String,
    /// Namespace.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Show the pod template of this revision.
    #[arg(long)]
    pub revision: Option<i64>,
}

/// Runs `rekon rollout`: prints a rollout's status or history, or records a pause, resume,
/// restart or undo and, unless `--no-apply`, applies it.
pub fn run(global: &Global, args: &RolloutArgs) -> Result<i32> {
    match &args.command {
        RolloutCommand::Status(a) => status(global, a),
        RolloutCommand::History(a) => history(global, a),
        RolloutCommand::Undo(a) => change(global, &a.change, |state, key, name| {
            undo(state, key, name, a.to_revision)
        }),
        RolloutCommand::Pause(a) => change(global, a, |state, key, name| {
            let ov = state.rollouts.entry(key.clone()).or_default();
            if ov.paused {
                bail!("deployments.apps {name:?} is already paused");
            }
            ov.paused = true;
            Ok(format!("deployment.apps/{name} paused"))
        }),
        RolloutCommand::Resume(a) => change(global, a, |state, key, name| {
            let ov = state.rollouts.entry(key.clone()).or_default();
            if !ov.paused && ov.hold.is_none() {
                bail!("deployments.apps {name:?} is not paused");
            }
            ov.paused = false;
            ov.hold = None;
            Ok(format!("deployment.apps/{name} resumed"))
        }),
        RolloutCommand::Restart(a) => change(global, a, |state, key, name| {
            let ov = state.rollouts.entry(key.clone()).or_default();
            if ov.paused {
                bail!("can't restart paused deployment (run rollout resume first)");
            }
            ov.restarted_at = Some(crate::time::rfc3339(crate::time::now()));
            Ok(format!("deployment.apps/{name} restarted"))
        }),
    }
}

/// Records a change to a live Deployment under the state lock, prints kubectl's line, then
/// runs the apply loop with the remembered source so that the change rolls out now.
fn change(
    global: &Global,
    args: &ChangeArgs,
    edit: impl FnOnce(&mut State, &NamespacedName, &str) -> Result<String>,
) -> Result<i32> {
    let name = deployment_name(&args.target)?.to_string();
    let key = NamespacedName::new(&args.namespace, &name);
    {
        let mut session = super::context::Session::open(global, crate::state::LockMode::Exclusive, "rollout")?;
        if view(&session.state, &args.namespace, &name).is_none() {
            bail!("deployments.apps {name:?} not found");
        }
        let message = edit(&mut session.state, &key, &name)?;
        if session
            .state
            .rollouts
            .get(&key)
            .is_some_and(|o| *o == Default::default())
        {
            session.state.rollouts.remove(&key);
        }
        let super::context::Session { store, state, .. } = &mut session;
        store.save(state)?;
        println!("{message}");
    }
    if args.no_apply {
        return Ok(exit::OK);
    }
    let apply = super::apply::ApplyArgs {
        prune_volumes: false,
        plan_file: None,
        source: Default::default(),
        yes: true,
        watch: false,
        timeout: Duration::from_secs(300),
        no_wait: false,
        interval: Duration::from_secs(30),
    };
    super::apply::run(global, &apply)
}

/// `rollout undo`: kubectl's `DeploymentRollbacker` choices, recorded as a hold.
fn undo(state: &mut State, key: &NamespacedName, name: &str, to_revision: i64) -> Result<String> {
    if state.rollouts.get(key).is_some_and(|o| o.paused) {
        bail!(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/{name}' and try again"
        );
    }
    let namespace = key.namespace.as_str();
    let mut rses: Vec<_> = state
        .replica_sets
        .values()
        .filter(|rs| rs.namespace == namespace && rs.owner.as_deref() == Some(name))
        .cloned()
        .collect();
    rses.sort_by_key(|rs| rs.revision());
    let current = rses.last().map(|rs| rs.revision()).unwrap_or(0);
    let target = if to_revision == 0 {
        if rses.len() < 2 {
            bail!("no rollout history found for deployment {name:?}");
        }
        rses[rses.len() - 2].clone()
    } else {
        match rses.iter().find(|rs| rs.revision() == to_revision) {
            Some(rs) => rs.clone(),
            None => bail!("unable to find specified revision {to_revision} in history"),
        }
    };
    let record = state
        .objects
        .values()
        .find(|r| r.id.kind == Kind::Deployment && r.id.name == name && r.id.namespace.as_deref() == Some(namespace))
        .expect("checked by the caller");
    let live_template = rses.last().map(|rs| rs.template.clone());
    if live_template.is_some_and(|t| crate::plan::overrides::same_template(&t, &target.template)) {
        return Ok(format!(
            "deployment.apps/{name} skipped rollback (current template already matches revision {current})"
        ));
    }
    let mut template = target.template.clone();
    template.metadata.labels.remove("pod-template-hash");
    let hold = crate::state::RolloutHold {
        revision: target.revision(),
        template,
        git_hash: record.hash.clone(),
    };
    state.rollouts.entry(key.clone()).or_default().hold = Some(hold);
    Ok(format!("deployment.apps/{name} rolled back"))
}

/// `deployment/NAME` (or `deploy/NAME`, `deployments/NAME`) → NAME.
fn deployment_name(target: &str) -> Result<&str> {
    match target.split_once('/') {
        Some(("deployment" | "deployments" | "deploy" | "deployment.apps", name)) if !name.is_empty() => Ok(name),
        Some((kind, _)) => bail!("no rollout support for {kind:?}: rekon rolls out Deployments (deployment/NAME)"),
        None => bail!("expected deployment/NAME, got {target:?}"),
    }
}

/// What `rollout status` sees now, or None when the Deployment is not in the state.
fn view(state: &State, namespace: &str, name: &str) -> Option<StatusView> {
    let record = state
        .objects
        .values()
        .find(|r| r.id.kind == Kind::Deployment && r.id.name == name && r.id.namespace.as_deref() == Some(namespace))?;
    let desired = record
        .spec
        .pointer("/spec/replicas")
        .and_then(|v| v.as_i64())
        .unwrap_or(1) as i32;
    let status = state
        .deployments
        .get(&NamespacedName::new(namespace, name))
        .cloned()
        .unwrap_or_default();
    Some(StatusView {
        name: name.to_string(),
        generation: record.generation as i64,
        observed_generation: status.observed_generation,
        desired,
        replicas: status.replicas,
        updated: status.updated_replicas,
        available: status.available_replicas,
        deadline_exceeded: status
            .conditions
            .iter()
            .any(|c| c.type_ == "Progressing" && c.reason == "ProgressDeadlineExceeded"),
    })
}

fn status(global: &Global, args: &StatusArgs) -> Result<i32> {
    let name = deployment_name(&args.target)?;
    let start = Instant::now();
    let mut last = None;
    loop {
        let state = read_state(global)?;
        let Some(v) = view(&state, &args.namespace, name) else {
            bail!("deployments.apps {name:?} not found")
        };
        let line = status_line(&v);
        match &line {
            StatusLine::Done(text) => {
                println!("{text}");
                return Ok(exit::OK);
            }
            StatusLine::Failed(text) => bail!("{text}"),
            StatusLine::Waiting(text) => {
                if last.as_ref() != Some(&line) {
                    println!("{text}");
                }
                if !args.watch {
                    return Ok(exit::OK);
                }
            }
        }
        last = Some(line);
        if !args.timeout.is_zero() && start.elapsed() >= args.timeout {
            bail!("timed out waiting for the condition");
        }
        // The state changes only when an apply loop saves it; re-reading it a few times a
        // second costs a stat and a small parse.
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn history(global: &Global, args: &HistoryArgs) -> Result<i32> {
    let name = deployment_name(&args.target)?;
    let state = read_state(global)?;
    if view(&state, &args.namespace, name).is_none() {
        bail!("deployments.apps {name:?} not found");
    }
    let owned: Vec<_> = state
        .replica_sets
        .values()
        .filter(|rs| rs.namespace == args.namespace && rs.owner.as_deref() == Some(name))
        .collect();
    if let Some(wanted) = args.revision {
        let Some(rs) = owned.iter().find(|rs| rs.revision() == wanted) else {
            bail!("unable to find the specified revision")
        };
        let mut template = rs.template.clone();
        template.metadata.labels.remove("pod-template-hash");
        print!(
            "deployment.apps/{name} with revision #{wanted}\nPod Template:\n{}",
            serde_yaml::to_string(&template)?
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
        );
        return Ok(exit::OK);
    }
    let revisions: Vec<(i64, Option<String>)> = owned
        .iter()
        .map(|rs| (rs.revision(), rs.annotations.get("kubernetes.io/change-cause").cloned()))
        .collect();
    print!("{}", history_table(name, &revisions));
    Ok(exit::OK)
}
