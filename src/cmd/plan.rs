//! `rekon plan`: what apply would do, changing nothing.

use super::context;
use super::output::{self, PlanFormat};
use super::{Global, SourceArgs, exit};
use crate::plan::render;
use crate::state::LockMode;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

/// `rekon plan`'s arguments: the source, where to save the plan, and how to print it.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Where the manifests come from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Save the plan to FILE, for `rekon apply FILE`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    pub output: PlanFormat,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Delete the PersistentVolumeClaims removed from git, and their data (kept otherwise).
    #[arg(long)]
    pub prune_volumes: bool,
}

/// Runs `rekon plan`: prints the plan (and with `--out` saves it) and records the audit
/// line; exit 2 with `--detailed-exitcode` when there are changes.
pub fn run(global: &Global, args: &PlanArgs) -> Result<i32> {
    let started = Instant::now();
    let (
        context::Loaded {
            mut session,
            spec,
            snapshot,
            manifests,
        },
        observed,
    ) = context::open_and_load(global, LockMode::Shared, "plan", &args.source, |session| {
        context::observe_state(global, &session.state)
    })?;
    let (plan, desired) = context::make_plan(&session, &spec, &snapshot, &manifests, &observed, args.prune_volumes);

    match args.output {
        PlanFormat::Text => {
            let mut text = render::text(&plan, output::stdout_style());
            if plan.has_changes() && args.out.is_none() {
                text.push_str("\nNote: You didn't use the --out option to save this plan, so rekon can't guarantee to take exactly these actions if you run \"rekon apply\" now.\n");
            }
            output::print(&text);
        }
        PlanFormat::Json => output::print(&format!("{}\n", serde_json::to_string_pretty(&render::json(&plan))?)),
    }
    if let Some(out) = &args.out {
        let json = serde_json::to_vec_pretty(&plan)?;
        std::fs::write(out, json).with_context(|| format!("failed to save the plan to {}", out.display()))?;
        if args.output == PlanFormat::Text {
            output::print(&format!(
                "\nSaved the plan to: {}\nTo perform exactly these actions, run: rekon apply {}\n",
                out.display(),
                out.display()
            ));
        }
    }
    let code = if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    };
    session.audit("plan", &plan, started, code)?;
    // The process ends next: freeing every object of a large repository one by one (about 5 %
    // of a plan at 10,000 objects) would only delay the exit.
    let state = std::mem::replace(&mut session.state, crate::state::State::new(String::new()));
    std::mem::forget((state, snapshot, manifests, observed, plan, desired));
    Ok(code)
}
