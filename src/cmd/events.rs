//! `rekon events`: the events of objects as `kubectl events` shows them, and with `--audit`
//! the append-only log of rekon's own runs.

use super::event_view::{Shown, age, aggregate, object_events};
use super::table::render;
use super::{Global, exit};
use crate::state::{Event, EventLog};
use anyhow::Result;
use clap::Args;
use std::time::Duration;

/// `rekon events`'s arguments: which events to print, and whether to follow.
#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Keep printing new events as they are recorded.
    #[arg(short = 'f', long, visible_alias = "watch", short_alias = 'w')]
    pub follow: bool,
    /// Only the events of this object (`pod/web`, `deployment/web`).
    #[arg(long = "for", value_name = "KIND/NAME")]
    pub for_object: Option<String>,
    /// Only events of these types (`Warning`, `Normal`), comma separated.
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
    /// The audit log of rekon's runs (plan, apply, delete, down) instead.
    #[arg(long)]
    pub audit: bool,
}

fn audit_row(e: &Event) -> Vec<String> {
    let counts = match (e.add, e.change, e.destroy) {
        (Some(a), Some(c), Some(d)) => format!("+{a} ~{c} -{d}"),
        _ => String::new(),
    };
    let short = |r: &String| r.chars().take(12).collect::<String>();
    vec![
        crate::time::rfc3339(e.time),
        e.kind.clone(),
        e.object.clone().unwrap_or_default(),
        e.revision.as_ref().map(short).unwrap_or_default(),
        counts,
        e.exit_code.map(|c| c.to_string()).unwrap_or_default(),
        e.message.clone().unwrap_or_default(),
    ]
}

const AUDIT_HEADER: [&str; 7] = ["TIME", "KIND", "OBJECT", "REVISION", "CHANGES", "EXIT", "MESSAGE"];
const HEADER: [&str; 5] = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];

/// `deploy/web` → `deployment/web`, as events name objects.
fn canonical_object(word: &str) -> Result<String> {
    let (kind, name) = word.split_once('/').unwrap_or((word, ""));
    let kind = super::get::canonical_kind(kind).ok_or_else(|| {
        super::ExitError::new(exit::ERROR, format!("the server doesn't have a resource type {kind:?}"))
    })?;
    Ok(format!("{}/{name}", kind.as_str().to_lowercase()))
}

fn rows(shown: &[Shown], args: &EventsArgs, object: Option<&str>) -> Vec<Vec<String>> {
    let now = crate::time::now();
    shown
        .iter()
        .filter(|s| object.is_none_or(|o| s.object == o))
        .filter(|s| args.types.is_empty() || args.types.iter().any(|t| t.eq_ignore_ascii_case(&s.type_)))
        .map(|s| {
            vec![
                age(s, now),
                s.type_.clone(),
                s.reason.clone(),
                s.object.clone(),
                s.message.clone(),
            ]
        })
        .collect()
}

/// Runs `rekon events`: prints the events of objects (with `--audit`, the audit log) as a
/// table, and with `--follow` keeps printing new ones.
pub fn run(global: &Global, args: &EventsArgs) -> Result<i32> {
    if args.audit {
        return audit(global, args);
    }
    let object = args.for_object.as_deref().map(canonical_object).transpose()?;
    let shown = aggregate(&object_events(global));
    let table = rows(&shown, args, object.as_deref());
    if table.is_empty() && !args.follow {
        eprintln!("No events found.");
        return Ok(exit::OK);
    }
    if !table.is_empty() {
        super::output::print(&render(&HEADER, &table));
    }
    if args.follow {
        let mut seen = shown;
        loop {
            // The logs are files that several processes append to: polling once a second
            // costs nothing.
            std::thread::sleep(Duration::from_secs(1));
            let now = aggregate(&object_events(global));
            let new: Vec<Shown> = now.iter().filter(|s| !seen.contains(s)).cloned().collect();
            for row in rows(&new, args, object.as_deref()) {
                super::output::print(&format!("{}\n", row.join("   ")));
            }
            seen = now;
        }
    }
    Ok(exit::OK)
}

fn audit(global: &Global, args: &EventsArgs) -> Result<i32> {
    let log = EventLog::open(&global.state_dir)?;
    let events: Vec<Event> = log.read_all()?.into_iter().filter(Event::is_audit).collect();
    let rows: Vec<_> = events.iter().map(audit_row).collect();
    super::output::print(&render(&AUDIT_HEADER, &rows));
    if args.follow {
        let mut seen = log.read_all()?.len();
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let events = log.read_all()?;
            for e in events.iter().skip(seen).filter(|e| e.is_audit()) {
                super::output::print(&format!("{}\n", audit_row(e).join("  ")));
            }
            seen = events.len();
        }
    }
    Ok(exit::OK)
}
