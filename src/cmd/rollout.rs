//! `rekon rollout status|history deployment/NAME`: kubectl's rollout views over what the
//! apply loop records in the state (Deployment statuses, ReplicaSets with their revisions).

use super::get::read_state;
use super::rollout_text::{StatusLine, StatusView, history_table, status_line};
use super::{Global, exit, parse_duration};
use crate::state::State;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct RolloutArgs {
    #[command(subcommand)]
    pub command: RolloutCommand,
}

#[derive(Subcommand, Debug)]
pub enum RolloutCommand {
    /// Watch a Deployment's rollout until it is done (kubectl's messages and exit codes).
    Status(StatusArgs),
    /// The revisions of a Deployment (its ReplicaSets), oldest first.
    History(HistoryArgs),
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// deployment/NAME
    pub target: String,
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Keep watching until the rollout ends (`--watch=false`: print the current state once).
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set)]
    pub watch: bool,
    /// Give up after this long (e.g. 5m); 0 waits forever.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// deployment/NAME
    pub target: String,
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Show the pod template of this revision.
    #[arg(long)]
    pub revision: Option<i64>,
}

pub fn run(global: &Global, args: &RolloutArgs) -> Result<i32> {
    match &args.command {
        RolloutCommand::Status(a) => status(global, a),
        RolloutCommand::History(a) => history(global, a),
    }
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
        .find(|r| r.id.kind == "Deployment" && r.id.name == name && r.id.namespace.as_deref() == Some(namespace))?;
    let desired = record
        .spec
        .pointer("/spec/replicas")
        .and_then(|v| v.as_i64())
        .unwrap_or(1) as i32;
    let status = state
        .deployments
        .get(&format!("{namespace}/{name}"))
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
