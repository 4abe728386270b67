//! `rekon delete`: out-of-band deletion of a pod, which the next apply heals, like
//! `kubectl delete pod` under a controller.

use super::context::{self, Session};
use super::get::canonical_kind;
use super::logs::{find_pod, grace_period, pod_spec};
use super::{ExitError, Global, exit};
use crate::state::{Event, LockMode};
use anyhow::{Context, Result};
use clap::Args;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// `KIND/NAME`, or `KIND` followed by `NAME`.
    pub target: String,
    /// The name, when KIND is given on its own.
    pub name: Option<String>,
    /// Seconds the pod gets to stop before it is killed (default: its
    /// terminationGracePeriodSeconds; 0 kills at once).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// Namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
}

/// Splits `pod/web` or (`pod`, `web`) into a kind and a name.
fn split_target(args: &DeleteArgs) -> Result<(String, String)> {
    match (args.target.split_once('/'), &args.name) {
        (Some((kind, name)), None) => Ok((kind.to_string(), name.to_string())),
        (None, Some(name)) => Ok((args.target.clone(), name.clone())),
        (Some(_), Some(_)) => Err(ExitError::new(
            exit::ERROR,
            "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form",
        )
        .into()),
        (None, None) => Err(ExitError::new(
            exit::ERROR,
            format!("resource(s) were provided, but no name was specified: use {}/NAME", args.target),
        )
        .into()),
    }
}

pub fn run(global: &Global, args: &DeleteArgs) -> Result<i32> {
    let (kind_word, name) = split_target(args)?;
    let Some(kind) = canonical_kind(&kind_word) else {
        let message = format!("the server doesn't have a resource type {kind_word:?}");
        return Err(ExitError::new(exit::ERROR, message).into());
    };
    let mut session = Session::open(global, LockMode::Exclusive, "delete")?;
    if kind != "Pod" {
        let found = session.state.objects.values().any(|r| {
            r.id.kind == kind && r.id.name == name && r.id.namespace.as_deref().is_none_or(|ns| ns == args.namespace)
        });
        let what = format!("{}/{name}", kind.to_lowercase());
        let message = if found {
            format!(
                "{what} comes from git: rekon would recreate it on the next apply; delete it from the repository and run `rekon apply` (only pods can be deleted out of band)"
            )
        } else {
            format!("{} {name:?} not found", kind_word.to_lowercase())
        };
        return Err(ExitError::new(exit::ERROR, message).into());
    }
    let pod = find_pod(global, &session.state, &args.namespace, &name)?;
    let grace = match u64::try_from(args.grace_period) {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => grace_period(pod_spec(&pod.dir, &session.state, &pod.record).as_ref()),
    };
    let uid = pod.record.uid.clone();
    let mut runtime = context::runtime(global)?;
    crate::runtime::delete_pods(runtime.as_mut(), &[(uid.clone(), grace)])
        .with_context(|| format!("failed to delete pod {name:?}"))?;
    session.state.pods.remove(&uid);
    let Session { store, state, .. } = &mut session;
    store.save(state).context("failed to save the state")?;
    session.events.append(&Event {
        object: Some(format!("pod/{}", pod.record.name)),
        message: Some(format!("deleted by rekon delete (grace period {}s)", grace.as_secs())),
        ..Event::new("delete", chrono::Utc::now())
    })?;
    super::output::print(&format!("pod {name:?} deleted\n"));
    Ok(exit::OK)
}
