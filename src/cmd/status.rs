//! `rekon status`: what `argocd app get` shows, for one host: the source and the revision
//! applied, whether git has moved past it, the last apply, and each object's health.

use super::context::{self, Session};
use super::{Global, exit};
use crate::plan::health::{self, Assessment, Health};
use crate::state::{Event, LockMode, State};
use anyhow::Result;
use clap::{Args, ValueEnum};
use serde::Serialize;

/// `rekon status`'s arguments: the output format, and whether to fetch the source.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    pub output: StatusFormat,
    /// Do not fetch the source: report the applied state only (sync is then Unknown).
    #[arg(long)]
    pub offline: bool,
}

/// `-o` formats of status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Argo CD's `app get` layout, for people.
    #[default]
    Text,
    /// One JSON report, for machines.
    Json,
}

/// Argo CD's sync status: whether the host matches the source's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sync {
    /// A plan against the head has no changes.
    Synced,
    /// A plan against the head has changes.
    OutOfSync,
    /// Not compared: nothing applied yet, `--offline`, or the source could not be read.
    Unknown,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    source: Option<String>,
    /// The revision last applied.
    revision: Option<String>,
    /// The source's head now (None offline or when it could not be read).
    head: Option<String>,
    sync: Sync,
    /// Why: counts of the plan against the head, or the error reading it.
    sync_message: String,
    last_apply: Option<LastApply>,
    /// The worst health of any object.
    health: Health,
    objects: Vec<ObjectStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LastApply {
    time: String,
    result: &'static str,
    exit_code: i32,
    duration_ms: u64,
    revision: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectStatus {
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
    health: Health,
    #[serde(skip_serializing_if = "String::is_empty")]
    reason: String,
}

/// The words of an apply's exit code.
fn result_word(code: i32) -> &'static str {
    match code {
        exit::OK => "Succeeded",
        exit::NOT_CONVERGED => "Applied, not converged",
        exit::LOCKED => "Locked",
        _ => "Failed",
    }
}

fn last_apply(events: &[Event]) -> Option<LastApply> {
    let e = events.iter().rev().find(|e| e.kind == "apply")?;
    let code = e.exit_code.unwrap_or(exit::ERROR);
    Some(LastApply {
        time: crate::time::rfc3339(e.time),
        result: result_word(code),
        exit_code: code,
        duration_ms: e.duration_ms.unwrap_or(0),
        revision: e.revision.clone(),
    })
}

fn describe_source(state: &State) -> Option<String> {
    let spec = state.source.as_ref()?;
    Some(match &spec.repo {
        Some(repo) => {
            let mut s = repo.clone();
            if let Some(r) = &spec.git_ref {
                s.push_str(&format!(" (ref {r})"));
            }
            if let Some(p) = &spec.path {
                s.push_str(&format!(" (path {p})"));
            }
            s
        }
        None => format!("files {}", spec.files.join(", ")),
    })
}

/// Runs `rekon status`: prints the source, the revision applied, the sync status, the last
/// apply and the health of every object.
pub fn run(global: &Global, args: &StatusArgs) -> Result<i32> {
    let session = Session::open(global, LockMode::Shared, "status")?;
    let observed = context::observe_state(global, &session.state)?;
    let state = &session.state;
    let mut objects: Vec<ObjectStatus> = state
        .objects
        .values()
        .map(|r| status_of(&r.id, health::object(r, state, &observed)))
        .collect();
    let (head, sync, sync_message) = match (&state.source, args.offline) {
        (None, _) => (None, Sync::Unknown, "nothing applied yet".to_string()),
        (Some(_), true) => (None, Sync::Unknown, "not fetched (--offline)".to_string()),
        (Some(spec), false) => match compare(global, &session, spec, &observed) {
            Ok((plan, head)) => {
                for step in plan.steps.iter().filter(|s| s.action == crate::plan::Action::Create) {
                    if !state.objects.contains_key(&step.id) {
                        objects.push(status_of(
                            &step.id,
                            Assessment {
                                health: Health::Missing,
                                reason: "in git, not applied".to_string(),
                            },
                        ));
                    }
                }
                let s = &plan.summary;
                if plan.has_changes() {
                    let mut why = format!("{} to add, {} to change, {} to destroy", s.add, s.change, s.destroy);
                    if state.revision.as_deref() != Some(head.as_str()) {
                        why.push_str(&format!("; the source's head {} is not applied", short(&head)));
                    }
                    (Some(head), Sync::OutOfSync, why)
                } else {
                    (Some(head), Sync::Synced, String::new())
                }
            }
            Err(err) => (None, Sync::Unknown, format!("{err:#}")),
        },
    };
    objects.sort_by(|a, b| (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name)));
    let report = Report {
        source: describe_source(state),
        revision: state.revision.clone(),
        head,
        sync,
        sync_message,
        last_apply: last_apply(&session.events.read_all()?),
        health: objects.iter().map(|o| o.health).max().unwrap_or(Health::Healthy),
        objects,
    };
    match args.output {
        StatusFormat::Json => super::output::print(&format!("{}\n", serde_json::to_string_pretty(&report)?)),
        StatusFormat::Text => super::output::print(&text(&report)),
    }
    Ok(exit::OK)
}

fn status_of(id: &crate::manifest::ObjectId, a: Assessment) -> ObjectStatus {
    ObjectStatus {
        kind: id.kind.to_string(),
        namespace: id.namespace.clone(),
        name: id.name.clone(),
        health: a.health,
        reason: a.reason,
    }
}

/// Plans the source's head against the state: the sync status is whether that plan is empty.
fn compare(
    global: &Global,
    session: &Session,
    spec: &crate::source::SourceSpec,
    observed: &crate::plan::Observed,
) -> Result<(crate::plan::Plan, String)> {
    let snapshot = context::read_source(spec, &global.state_dir)?;
    let manifests = context::load_manifests(&snapshot)?;
    let (plan, _) = context::make_plan(session, spec, &snapshot, &manifests, observed, false);
    Ok((plan, snapshot.revision))
}

fn short(rev: &str) -> &str {
    let n = if rev.starts_with("sha256:") { 19 } else { 12 };
    &rev[..rev.len().min(n)]
}

fn text(r: &Report) -> String {
    let mut out = String::new();
    let field = |out: &mut String, k: &str, v: &str| out.push_str(&format!("{:<12}{v}\n", format!("{k}:")));
    field(&mut out, "Source", r.source.as_deref().unwrap_or("(none)"));
    field(
        &mut out,
        "Revision",
        r.revision.as_deref().map(short).unwrap_or("(none)"),
    );
    let sync = match (&r.sync, r.sync_message.is_empty()) {
        (s, true) => format!("{s:?}"),
        (s, false) => format!("{s:?} ({})", r.sync_message),
    };
    field(&mut out, "Sync", &sync);
    field(&mut out, "Health", &r.health.to_string());
    let last = match &r.last_apply {
        Some(a) => format!(
            "{} {} (exit {}) in {:.1}s",
            a.time,
            a.result,
            a.exit_code,
            a.duration_ms as f64 / 1000.0
        ),
        None => "(never)".to_string(),
    };
    field(&mut out, "Last apply", &last);
    if r.objects.is_empty() {
        return out;
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = r
        .objects
        .iter()
        .map(|o| {
            vec![
                o.kind.clone(),
                o.namespace.clone().unwrap_or_default(),
                o.name.clone(),
                o.health.to_string(),
                o.reason.clone(),
            ]
        })
        .collect();
    let table = super::table::render(&["KIND", "NAMESPACE", "NAME", "HEALTH", "REASON"], &rows);
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
