//! `rekon exec`: run a command in a running container, like `kubectl exec`.

use super::logs::find_pod;
use super::{ExitError, Global, exit};
use crate::runtime::exec::{self, ExecError, ExecOptions, ExecTarget};
use anyhow::Result;
use clap::Args;

/// `rekon exec`'s arguments: the pod, the container and the command.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// The pod (`NAME` or `pod/NAME`).
    pub pod: String,
    /// The container (default: the pod's only or first container).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Pass stdin to the command.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Allocate a terminal for the command.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// The command and its arguments, after `--`.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// Runs `rekon exec`: runs the command in the container and exits with its exit code.
pub fn run(global: &Global, args: &ExecArgs) -> Result<i32> {
    if args.command.is_empty() {
        return Err(ExitError::new(exit::ERROR, "you must specify at least one command for the container").into());
    }
    let state = super::get::read_state(global)?;
    let pod = find_pod(global, &state, &args.namespace, &args.pod)?;
    let container = pod.container(args.container.as_deref())?;
    let tty = args.tty && std::io::IsTerminal::is_terminal(&std::io::stdin());
    if args.tty && !tty {
        // kubectl's wording (`pkg/cmd/exec/exec.go`, via term.TTY.Safe).
        eprintln!("Unable to use a TTY - input is not a terminal or the right kind of file");
    }
    let target = ExecTarget {
        pod_dir: pod.dir.clone(),
        pod: pod.record.name.clone(),
        container,
    };
    let options = ExecOptions {
        command: args.command.clone(),
        stdin: args.stdin,
        tty,
    };
    match exec::exec(&target, &options) {
        Ok(0) => Ok(exit::OK),
        Ok(code) => {
            // kubectl reports a failed remote command this way and exits with its code.
            eprintln!("command terminated with exit code {code}");
            Err(ExitError::silent(code).into())
        }
        Err(e @ (ExecError::NotRunning { .. } | ExecError::NotRoot { .. } | ExecError::NoCommand)) => {
            Err(ExitError::new(exit::ERROR, e.to_string()).into())
        }
        Err(e) => Err(anyhow::Error::new(e).context("failed to exec in the container")),
    }
}
