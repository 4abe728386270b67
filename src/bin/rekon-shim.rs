//! `rekon-shim --pod-dir DIR [--ready-fd N]`: the per-pod supervisor as a binary of its own.
//!
//! It runs exactly what `rekon __supervise` runs, but links only the runtime: no git, TLS,
//! YAML or argument-parsing libraries are mapped into each pod's supervisor, which halves its
//! resident memory (bench/README.md). `rekon` starts it when it sits next to the `rekon`
//! executable and falls back to `rekon __supervise` otherwise.

use rekon::runtime::supervisor::{ReadyPipe, run};
use std::path::PathBuf;

const USAGE: &str = "usage: rekon-shim --pod-dir DIR [--ready-fd N] (started by rekon, not by people)";

fn main() {
    let mut pod_dir = None;
    let mut ready_fd = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--pod-dir") => pod_dir = args.next().map(PathBuf::from),
            Some("--ready-fd") => ready_fd = args.next().and_then(|v| v.to_str()?.parse::<i32>().ok()),
            _ => exit_usage(),
        }
    }
    let Some(pod_dir) = pod_dir else { exit_usage() };
    let ready = match ready_fd.map(ReadyPipe::adopt).transpose() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rekon-shim: {e}");
            std::process::exit(2);
        }
    };
    std::process::exit(run(&pod_dir, ready));
}

fn exit_usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}
