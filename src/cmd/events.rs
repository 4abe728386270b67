//! `rekon events`: the append-only event and audit log.

use super::table::render;
use super::{Global, exit};
use crate::state::{Event, EventLog};
use anyhow::Result;
use clap::Args;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Keep printing new events as they are appended.
    #[arg(short = 'f', long)]
    pub follow: bool,
}

fn row(e: &Event) -> Vec<String> {
    let counts = match (e.add, e.change, e.destroy) {
        (Some(a), Some(c), Some(d)) => format!("+{a} ~{c} -{d}"),
        _ => String::new(),
    };
    let short = |r: &String| r.chars().take(12).collect::<String>();
    vec![
        e.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        e.kind.clone(),
        e.object.clone().unwrap_or_default(),
        e.revision.as_ref().map(short).unwrap_or_default(),
        counts,
        e.exit_code.map(|c| c.to_string()).unwrap_or_default(),
        e.message.clone().unwrap_or_default(),
    ]
}

const HEADER: [&str; 7] = ["TIME", "KIND", "OBJECT", "REVISION", "CHANGES", "EXIT", "MESSAGE"];

pub fn run(global: &Global, args: &EventsArgs) -> Result<i32> {
    let log = EventLog::open(&global.state_dir)?;
    let events = log.read_all()?;
    let rows: Vec<_> = events.iter().map(row).collect();
    super::output::print(&render(&HEADER, &rows));
    if args.follow {
        let mut seen = events.len();
        loop {
            // Following a file is polling by nature; once a second costs nothing.
            std::thread::sleep(Duration::from_secs(1));
            let events = log.read_all()?;
            for e in events.iter().skip(seen) {
                super::output::print(&format!("{}\n", row(e).join("  ")));
            }
            seen = events.len();
        }
    }
    Ok(exit::OK)
}
