//! `rekon logs`: a container's log, with kubectl's flags and messages; also the pod and
//! container lookup that `rekon exec` shares.

use super::context;
use super::{ExitError, Global, exit, parse_duration};
use crate::runtime::logs::{self, LogOptions};
use crate::runtime::status::{ContainerState, PodPhase};
use crate::state::{PodRecord, State};
use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// `rekon logs`'s arguments: the pod, the container, and which lines.
#[derive(Args, Debug)]
pub struct LogsArgs {
    /// The pod (`NAME` or `pod/NAME`).
    pub pod: String,
    /// The container (default: the pod's only or first container).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Keep printing new lines until the pod ends.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The previous (terminated) instance of the container.
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Only the last N lines (-1: all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// Prefix each line with its RFC 3339 nano time stamp.
    #[arg(long)]
    pub timestamps: bool,
    /// Only lines newer than this (e.g. 10s, 5m, 1h).
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// Namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
}

/// A pod of the state and where its files are.
#[derive(Debug, Clone)]
pub struct PodTarget {
    /// The pod's record in the state.
    pub record: PodRecord,
    /// `<state>/pods/<uid>`.
    pub dir: PathBuf,
    /// Names of its app containers, in spec order.
    pub containers: Vec<String>,
    /// Names of its init containers, in spec order.
    pub init_containers: Vec<String>,
    /// `kubectl.kubernetes.io/default-container`, when set.
    pub default_container: Option<String>,
}

/// Finds pod `name` (`NAME` or `pod/NAME`) of namespace `ns`, kubectl's
/// `pods "web" not found` otherwise.
pub fn find_pod(global: &Global, state: &State, ns: &str, name: &str) -> Result<PodTarget> {
    let name = ["pod/", "pods/", "po/"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    let Some(record) = state.pods.values().find(|p| p.namespace == ns && p.name == name) else {
        return Err(ExitError::new(exit::ERROR, format!("pods {name:?} not found")).into());
    };
    let dir = global.state_dir.join("pods").join(&record.uid);
    let pod_json = read_pod_json(&dir);
    let spec = pod_spec(&dir, state, record).unwrap_or(Value::Null);
    let names = |key: &str| -> Vec<String> {
        spec[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let default_container = pod_json.as_ref().and_then(|p| {
        let annotations = p.get("annotations").or_else(|| p.pointer("/request/annotations"))?;
        annotations["kubectl.kubernetes.io/default-container"]
            .as_str()
            .map(str::to_string)
    });
    Ok(PodTarget {
        record: record.clone(),
        dir,
        containers: names("containers"),
        init_containers: names("initContainers"),
        default_container,
    })
}

fn read_pod_json(dir: &std::path::Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(dir.join("pod.json")).ok()?).ok()
}

/// The pod's spec (JSON, Kubernetes field names): from `<dir>/pod.json` (the pod directory
/// contract), else from the object in the state that made the pod.
pub fn pod_spec(dir: &std::path::Path, state: &State, record: &PodRecord) -> Option<Value> {
    read_pod_json(dir)
        .as_ref()
        .and_then(spec_in_pod_json)
        .or_else(|| spec_from_owner(state, record))
}

/// The pod's `terminationGracePeriodSeconds` (Kubernetes' default 30 s when unset).
pub fn grace_period(spec: Option<&Value>) -> Duration {
    Duration::from_secs(
        spec.and_then(|s| s["terminationGracePeriodSeconds"].as_u64())
            .unwrap_or(30),
    )
}

/// The pod spec inside `pod.json`: the `PodRequest`'s `spec`, at the top or one level down.
fn spec_in_pod_json(pod: &Value) -> Option<Value> {
    if pod["spec"]["containers"].is_array() {
        return Some(pod["spec"].clone());
    }
    pod.as_object()?
        .values()
        .find(|v| v["spec"]["containers"].is_array())
        .map(|v| v["spec"].clone())
}

/// The pod spec from the object that made the pod (a bare Pod, or a template).
fn spec_from_owner(state: &State, record: &PodRecord) -> Option<Value> {
    let owner = state.objects.get(&record.owner)?;
    let spec = &owner.spec["spec"];
    [&spec["template"]["spec"], spec]
        .into_iter()
        .find(|s| s["containers"].is_array())
        .cloned()
}

impl PodTarget {
    /// The container to use, as kubectl's `podcmd.FindOrDefaultContainerByName`: the named
    /// one, else the default-container annotation, else the first — saying so on stderr
    /// when the pod has others.
    pub fn container(&self, requested: Option<&str>) -> Result<String> {
        let pod = &self.record.name;
        if let Some(name) = requested {
            if self.containers.iter().chain(&self.init_containers).any(|c| c == name) {
                return Ok(name.to_string());
            }
            return Err(ExitError::new(exit::ERROR, format!("container {name} not found in pod {pod}")).into());
        }
        if let Some(name) = self.default_container.as_ref().filter(|n| self.containers.contains(n)) {
            return Ok(name.clone());
        }
        let Some(first) = self.containers.first() else {
            return Err(ExitError::new(
                exit::ERROR,
                format!("pod {}/{pod} does not have any containers", self.record.namespace),
            )
            .into());
        };
        if self.containers.len() > 1 || !self.init_containers.is_empty() {
            let all: Vec<String> = self
                .containers
                .iter()
                .cloned()
                .chain(self.init_containers.iter().map(|c| format!("{c} (init)")))
                .collect();
            eprintln!("Defaulted container {first:?} out of: {}", all.join(", "));
        }
        Ok(first.clone())
    }
}

/// Runs `rekon logs`: prints the container's log, or with `--follow` follows it until the
/// pod ends.
pub fn run(global: &Global, args: &LogsArgs) -> Result<i32> {
    let state = super::get::read_state(global)?;
    let target = find_pod(global, &state, &args.namespace, &args.pod)?;
    let container = target.container(args.container.as_deref())?;
    let pod = &target.record.name;
    let options = LogOptions {
        previous: args.previous,
        tail: usize::try_from(args.tail).ok(),
        timestamps: args.timestamps,
        since: args
            .since
            .map(|d| crate::time::now() - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)),
    };
    if args.follow && !args.previous {
        let uid = target.record.uid.clone();
        // Asked afresh on every poll: another rekon may delete the pod, and a runtime
        // instance may cache what it read when it was made.
        let mut running = || {
            let known = super::get::read_state(global).is_ok_and(|s| s.pods.contains_key(&uid));
            if !known || !target.dir.exists() && global.runtime == "linux" {
                return false;
            }
            match context::runtime(global).map(|mut rt| rt.pod_status(&uid)) {
                Ok(Ok(Some(status))) => !matches!(status.phase, PodPhase::Succeeded | PodPhase::Failed),
                Ok(Ok(None)) => false,
                _ => true,
            }
        };
        let mut out = std::io::stdout().lock();
        return match logs::follow(&target.dir, &container, &options, &mut out, POLL, &mut running) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::OK),
            other => other.map(|()| exit::OK).context("failed to follow the log"),
        };
    }
    let lines = match logs::read_logs(&target.dir, &container, &options) {
        Ok(lines) => lines,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if args.previous {
                let message = format!("previous terminated container {container:?} in pod {pod:?} not found");
                return Err(ExitError::new(exit::ERROR, message).into());
            }
            if let Some(reason) = waiting_reason(global, &target.record.uid, &container) {
                let message = format!("container {container:?} in pod {pod:?} is waiting to start: {reason}");
                return Err(ExitError::new(exit::ERROR, message).into());
            }
            Vec::new()
        }
        Err(e) => return Err(e).context(format!("failed to read the logs of container {container:?}")),
    };
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    super::output::print(&text);
    Ok(exit::OK)
}

/// How often `-f` looks for new lines.
const POLL: Duration = Duration::from_millis(200);

/// The container's waiting reason, as kubelet reports it for a container without logs.
fn waiting_reason(global: &Global, uid: &str, container: &str) -> Option<String> {
    let status = context::runtime(global).ok()?.pod_status(uid).ok()??;
    let c = status.container_statuses.iter().find(|c| c.name == container)?;
    match &c.state {
        ContainerState::Waiting { reason, .. } => Some(reason.clone()),
        _ => None,
    }
}
