//! `rekon __supervise --pod-dir DIR` (hidden): the per-pod supervisor process that
//! `LinuxRuntime::create_pod` starts; not for people to run.

use clap::Args;
use std::path::PathBuf;

/// `rekon __supervise`'s arguments: the pod directory and the readiness descriptor.
#[derive(Args, Debug)]
pub struct SuperviseArgs {
    /// The pod directory (`<state>/pods/<uid>`) holding pod.json.
    #[arg(long)]
    pub pod_dir: PathBuf,
    /// A descriptor to write one byte to, then close, once the pid file is written.
    #[arg(long)]
    pub ready_fd: Option<i32>,
}

/// Runs the supervisor until the pod is gone; returns its exit code.
pub fn run(args: &SuperviseArgs) -> anyhow::Result<i32> {
    let ready = args
        .ready_fd
        .map(crate::runtime::supervisor::ReadyPipe::adopt)
        .transpose()?;
    Ok(crate::runtime::supervisor::run(&args.pod_dir, ready))
}
