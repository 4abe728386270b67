//! `rekon validate`: parse and validate only; needs no state and no root.

use super::context;
use super::{Global, SourceArgs, exit};
use anyhow::Result;
use clap::Args;

/// `rekon validate`'s arguments: the source to check.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Where the manifests come from.
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Runs `rekon validate`: reads, parses and validates the source and prints a summary; fails
/// with every error found.
pub fn run(global: &Global, args: &ValidateArgs) -> Result<i32> {
    let spec = context::source_spec(&args.source, None)?;
    // A git source still needs a fetch cache: use the state dir's when it exists, else a
    // temporary one, so validate works in a bare CI checkout.
    let tmp;
    let cache_root = if global.state_dir.is_dir() {
        global.state_dir.clone()
    } else {
        tmp = tempfile::tempdir()?;
        tmp.path().to_path_buf()
    };
    let snapshot = context::read_source(&spec, &cache_root)?;
    let manifests = context::load_manifests(&snapshot)?;
    let files = snapshot.files.len();
    let objects = manifests.objects.len();
    println!(
        "Success! {objects} object{} in {files} file{} {} valid ({}).",
        if objects == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" },
        if objects == 1 { "is" } else { "are" },
        snapshot.description
    );
    Ok(exit::OK)
}
