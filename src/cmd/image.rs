//! `rekon image`: the local image store — import, ls, rm — in podman/docker's words.

use super::logs::pod_spec;
use super::table::render;
use super::{ExitError, Global, exit};
use crate::runtime::image::{ImageError, ImageId, ImageStore, ImportOptions, Reference};
use crate::runtime::podspec::parse_signal;
use crate::state::{State, StateStore};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `rekon image`'s arguments: one of its subcommands.
#[derive(Args, Debug)]
pub struct ImageArgs {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: ImageCommand,
}

/// The subcommands of `rekon image`.
#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Import an OCI layout, a `docker save` archive, or a root filesystem (directory or tar).
    Import(ImportArgs),
    /// List images.
    #[command(alias = "list")]
    Ls,
    /// Remove an image name (and the image once no name is left).
    #[command(alias = "remove")]
    Rm(RmArgs),
}

/// `rekon image import`'s arguments: the name, the source, and the image config to set.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The name to import under, e.g. `busybox:1.36` (`:latest` when no tag).
    pub name: String,
    /// The OCI layout, archive, or root filesystem.
    pub path: PathBuf,
    /// ENTRYPOINT: a JSON array (`'["httpd","-f"]'`) or a string split on whitespace.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// CMD: a JSON array or a string split on whitespace.
    #[arg(long)]
    pub cmd: Option<String>,
    /// ENV entry `KEY=value` (repeatable).
    #[arg(long = "env", short = 'e')]
    pub env: Vec<String>,
    /// WORKDIR.
    #[arg(long)]
    pub workdir: Option<String>,
    /// USER (`uid[:gid]` or a name).
    #[arg(long)]
    pub user: Option<String>,
    /// STOPSIGNAL: the signal that stops the container instead of SIGTERM (`SIGQUIT`,
    /// `QUIT` or a number).
    #[arg(long)]
    pub stop_signal: Option<String>,
}

/// `rekon image rm`'s arguments: the images to remove.
#[derive(Args, Debug)]
pub struct RmArgs {
    /// Names or ids of the images.
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `--entrypoint`/`--cmd`: a JSON array of strings (exec form), or else the string split on
/// whitespace (podman's `--change` accepts both forms; rekon never wraps it in `sh -c`).
pub fn parse_command(flag: &str, text: &str) -> Result<Vec<String>> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(|e| {
            ExitError::new(
                exit::ERROR,
                format!("--{flag}: {text:?} is not a JSON array of strings: {e}"),
            )
            .into()
        });
    }
    Ok(text.split_whitespace().map(str::to_string).collect())
}

fn store(global: &Global) -> Result<ImageStore> {
    let dir = StateStore::open(&global.state_dir)?.images_dir();
    ImageStore::open(&dir).with_context(|| format!("failed to open the image store {}", dir.display()))
}

/// Runs `rekon image import|ls|rm` on the image store of the state directory.
pub fn run(global: &Global, args: &ImageArgs) -> Result<i32> {
    match &args.command {
        ImageCommand::Import(a) => import(global, a),
        ImageCommand::Ls => list(global),
        ImageCommand::Rm(a) => remove(global, a),
    }
}

fn import(global: &Global, args: &ImportArgs) -> Result<i32> {
    if let Some(bad) = args.stop_signal.as_ref().filter(|s| parse_signal(s).is_none()) {
        return Err(ExitError::new(
            exit::ERROR,
            format!("--stop-signal {bad:?}: not a signal name or number"),
        )
        .into());
    }
    if let Some(bad) = args.env.iter().find(|e| !e.contains('=') || e.starts_with('=')) {
        return Err(ExitError::new(exit::ERROR, format!("--env {bad:?}: expected KEY=value")).into());
    }
    let options = ImportOptions {
        entrypoint: args
            .entrypoint
            .as_deref()
            .map(|t| parse_command("entrypoint", t))
            .transpose()?,
        cmd: args.cmd.as_deref().map(|t| parse_command("cmd", t)).transpose()?,
        env: args.env.clone(),
        workdir: args.workdir.clone(),
        user: args.user.clone(),
        stop_signal: args.stop_signal.clone(),
    };
    let image = store(global)?
        .import(&args.name, &args.path, &options)
        .with_context(|| format!("failed to import {} from {}", args.name, args.path.display()))?;
    // docker import prints the new image's id, and only that, on stdout.
    super::output::print(&format!("{}\n", image.id));
    Ok(exit::OK)
}

fn list(global: &Global) -> Result<i32> {
    let now = crate::time::now();
    let mut rows = Vec::new();
    for image in store(global)?.list()? {
        let created = image
            .created
            .as_deref()
            .and_then(crate::time::parse)
            .unwrap_or(image.imported);
        let created = format!("{} ago", human_duration((now - created).num_seconds()));
        let size = human_size(image.size);
        let names: Vec<(String, String)> = if image.names.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            image.names.iter().map(|n| repo_and_tag(n)).collect()
        };
        for (repo, tag) in names {
            rows.push(vec![
                repo,
                tag,
                image.id.short().to_string(),
                created.clone(),
                size.clone(),
            ]);
        }
    }
    super::output::print(&render(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], &rows));
    Ok(exit::OK)
}

/// The familiar repository and the tag of a stored name (`docker.io/library/busybox:1` →
/// `busybox`, `1`).
fn repo_and_tag(name: &str) -> (String, String) {
    match Reference::parse(name) {
        Ok(r) => {
            let tag = r.tag.clone().unwrap_or_else(|| "<none>".into());
            let bare = Reference {
                tag: None,
                digest: None,
                ..r
            };
            (bare.familiar(), tag)
        }
        Err(_) => (name.to_string(), "<none>".into()),
    }
}

fn remove(global: &Global, args: &RmArgs) -> Result<i32> {
    let store = store(global)?;
    let state = super::get::read_state(global)?;
    let users = image_users(global, &state, &store);
    let mut out = String::new();
    for reference in &args.images {
        let in_use = |id: &ImageId| users.contains_key(id);
        match store.remove(reference, &in_use) {
            Ok(removed) => {
                for name in &removed.untagged {
                    out.push_str(&format!("Untagged: {name}\n"));
                }
                if let Some(id) = removed.deleted {
                    out.push_str(&format!("Deleted: {id}\n"));
                }
            }
            Err(ImageError::InUse { id, .. }) => {
                super::output::print(&out);
                let pods = users.get(&id).map(|p| p.join(", ")).unwrap_or_default();
                let message = format!(
                    "image {reference} ({}) is in use by pod {pods}; delete the pod (or change its image in git and apply) first",
                    id.short()
                );
                return Err(ExitError::new(exit::ERROR, message).into());
            }
            Err(ImageError::NotFound { .. }) => {
                super::output::print(&out);
                return Err(ExitError::new(exit::ERROR, format!("no such image: {reference}")).into());
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("failed to remove {reference}"))),
        }
    }
    super::output::print(&out);
    Ok(exit::OK)
}

/// Which pods of the state use which stored image (`namespace/name`), resolving each
/// container's `image` through the store as the runtime does.
fn image_users(global: &Global, state: &State, store: &ImageStore) -> BTreeMap<ImageId, Vec<String>> {
    let mut users: BTreeMap<ImageId, Vec<String>> = BTreeMap::new();
    for record in state.pods.values() {
        let dir = global.state_dir.join("pods").join(&record.uid);
        let Some(spec) = pod_spec(&dir, state, record) else {
            continue;
        };
        let containers = ["initContainers", "containers"]
            .iter()
            .filter_map(|k| spec[*k].as_array())
            .flatten();
        for image in containers.filter_map(|c| c["image"].as_str()) {
            if let Ok(Some(found)) = store.get(image) {
                let pod = format!("{}/{}", record.namespace, record.name);
                let list = users.entry(found.id).or_default();
                if !list.contains(&pod) {
                    list.push(pod);
                }
            }
        }
    }
    users
}

/// go-units' `HumanDuration`, which `docker images` prints before "ago".
pub fn human_duration(secs: i64) -> String {
    let hours = (secs as f64 / 3600.0).round() as i64;
    match secs {
        s if s < 1 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s / 60 == 1 => "About a minute".into(),
        s if s / 60 < 60 => format!("{} minutes", s / 60),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        s => format!("{} years", s / 3600 / 24 / 365),
    }
}

/// go-units' `HumanSizeWithPrecision(size, 3)`: decimal units, three significant digits.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    // `%.3g`: three significant digits, trailing zeros dropped.
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{text}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_json_or_words() {
        assert_eq!(
            parse_command("cmd", r#"["httpd", "-f", "a b"]"#).unwrap(),
            ["httpd", "-f", "a b"]
        );
        assert_eq!(
            parse_command("cmd", " /bin/sh  -c  true ").unwrap(),
            ["/bin/sh", "-c", "true"]
        );
        let err = parse_command("entrypoint", "[1]").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--entrypoint: \"[1]\" is not a JSON array of strings"),
            "{err}"
        );
    }

    #[test]
    fn sizes_and_ages_follow_docker() {
        assert_eq!(human_size(123), "123B");
        assert_eq!(human_size(12_345), "12.3kB");
        assert_eq!(human_size(4_861_234), "4.86MB");
        assert_eq!(human_size(5_000_000), "5MB");
        assert_eq!(human_size(1_234_567_890), "1.23GB");
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(3 * 3600), "3 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
    }

    #[test]
    fn names_split_into_repository_and_tag() {
        assert_eq!(
            repo_and_tag("docker.io/library/busybox:1.36"),
            ("busybox".into(), "1.36".into())
        );
        assert_eq!(
            repo_and_tag("localhost:5000/x/y:latest"),
            ("localhost:5000/x/y".into(), "latest".into())
        );
    }
}
