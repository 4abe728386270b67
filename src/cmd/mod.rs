//! The command line: clap definitions, one file per verb, printing and exit codes.

pub mod apply;
pub mod context;
pub mod create;
pub mod delete;
pub mod describe;
pub mod describe_node;
pub mod down;
pub mod event_view;
pub mod events;
pub mod exec;
pub mod get;
pub mod image;
pub mod jsonpath;
pub mod logs;
pub mod output;
pub mod plan;
pub mod rollout;
pub mod rollout_text;
pub mod status;
pub mod supervise;
pub mod table;
pub mod validate;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Exit codes, a documented contract (README "Exit codes").
pub mod exit {
    /// Success, or no changes.
    pub const OK: i32 = 0;
    /// Any error.
    pub const ERROR: i32 = 1;
    /// `plan --detailed-exitcode`: there are changes.
    pub const CHANGES: i32 = 2;
    /// Applied, but not converged (rollout failed or timed out, pods unschedulable).
    pub const NOT_CONVERGED: i32 = 3;
    /// The state is locked by another run (after `--lock-timeout`).
    pub const LOCKED: i32 = 4;
}

/// An error that carries its own exit code (its message is already printed when `silent`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitError {
    /// The process exit code (see [`exit`]).
    pub code: i32,
    /// What to print after `Error: `; empty when `silent`.
    pub message: String,
    /// The explanation is already printed: print nothing.
    pub silent: bool,
}

impl ExitError {
    /// An error that prints `message` and exits with `code`.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        ExitError {
            code,
            message: message.into(),
            silent: false,
        }
    }

    /// An exit code whose explanation has already been printed.
    pub fn silent(code: i32) -> Self {
        ExitError {
            code,
            message: String::new(),
            silent: true,
        }
    }
}

/// The `rekon` command line: global options and one verb.
#[derive(Parser, Debug)]
#[command(
    name = "rekon",
    version,
    about = "Kubernetes manifests from git, planned and applied on one Linux host"
)]
pub struct Cli {
    /// Options every verb takes.
    #[command(flatten)]
    pub global: Global,
    /// The verb to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every verb takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// State directory.
    #[arg(long, global = true, env = "REKON_STATE_DIR", default_value = "state")]
    pub state_dir: PathBuf,
    /// How long to wait for another rekon holding the state lock (e.g. 10s, 2m).
    #[arg(long, global = true, default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Which runtime runs pods: `linux`, or `fake:FILE` (for tests: pods are only recorded).
    #[arg(long, global = true, env = "REKON_RUNTIME", default_value = "linux", hide = true)]
    pub runtime: String,
}

/// Where the manifests come from.
#[derive(Args, Debug, Clone, Default)]
pub struct SourceArgs {
    /// Git repository: URL (https, ssh, file://) or local path.
    #[arg(long)]
    pub repo: Option<String>,
    /// Branch, tag or commit (default: the remote's HEAD branch).
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    /// Subdirectory of the repository holding the manifests.
    #[arg(long)]
    pub path: Option<String>,
    /// Plain manifest files or directories, without git (repeatable).
    #[arg(short = 'f', long = "filename", conflicts_with_all = ["repo", "git_ref", "path"])]
    pub files: Vec<PathBuf>,
}

/// The verbs of `rekon`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what apply would change; changes nothing.
    Plan(plan::PlanArgs),
    /// Make the host match the manifests.
    Apply(apply::ApplyArgs),
    /// Parse and validate manifests only: no state, no root (for CI).
    Validate(validate::ValidateArgs),
    /// List objects from the state, in kubectl's columns.
    Get(get::GetArgs),
    /// Show one object in detail: spec summary, status, conditions, events.
    Describe(describe::DescribeArgs),
    /// Print the event and audit log.
    Events(events::EventsArgs),
    /// The source and revision applied, whether git moved past it, the last apply, and the
    /// health of every object.
    Status(status::StatusArgs),
    /// The per-pod supervisor (internal).
    #[command(name = "__supervise", hide = true)]
    Supervise(supervise::SuperviseArgs),
    /// Print a container's log.
    Logs(logs::LogsArgs),
    /// Run a command in a running container.
    Exec(exec::ExecArgs),
    /// Delete a pod out of band (the next apply recreates it).
    Delete(delete::DeleteArgs),
    /// Stop and remove everything rekon runs, and forget every object (terraform destroy).
    Down(down::DownArgs),
    /// Manage the local image store.
    Image(image::ImageArgs),
    /// Follow and inspect Deployment rollouts (status, history).
    Rollout(rollout::RolloutArgs),
    /// Make something that is not in git: a ServiceAccount token.
    Create(create::CreateArgs),
}

/// Parses `30s`, `5m`, `1h`, `250ms` or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 30s, 5m, 1h"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Plan(args) => plan::run(&cli.global, args),
        Command::Apply(args) => apply::run(&cli.global, args),
        Command::Validate(args) => validate::run(&cli.global, args),
        Command::Get(args) => get::run(&cli.global, args),
        Command::Describe(args) => describe::run(&cli.global, args),
        Command::Events(args) => events::run(&cli.global, args),
        Command::Status(args) => status::run(&cli.global, args),
        Command::Supervise(args) => supervise::run(args),
        Command::Logs(args) => logs::run(&cli.global, args),
        Command::Exec(args) => exec::run(&cli.global, args),
        Command::Delete(args) => delete::run(&cli.global, args),
        Command::Down(args) => down::run(&cli.global, args),
        Command::Image(args) => image::run(&cli.global, args),
        Command::Rollout(args) => rollout::run(&cli.global, args),
        Command::Create(args) => create::run(&cli.global, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// Prints an error chain once and maps it to an exit code.
pub(crate) fn report(err: &anyhow::Error) -> i32 {
    if let Some(e) = err.downcast_ref::<ExitError>() {
        if !e.silent {
            eprintln!("Error: {}", e.message);
        }
        return e.code;
    }
    if let Some(io) = err.root_cause().downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return exit::OK;
    }
    let code = match err.chain().find_map(|c| c.downcast_ref::<crate::state::StateError>()) {
        Some(crate::state::StateError::Locked { .. }) => exit::LOCKED,
        _ => exit::ERROR,
    };
    eprintln!("Error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(
            parse_duration("5d"),
            Err("invalid duration \"5d\": unknown unit \"d\" (use ms, s, m or h)".to_string())
        );
    }
}
