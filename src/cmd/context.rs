//! What several verbs share: opening the state, choosing the runtime, reading the source,
//! loading manifests and computing a plan.

use super::{ExitError, Global, SourceArgs, exit};
use crate::manifest::{self, Manifests};
use crate::plan::{self, DesiredObject, HostFacts, Observed, Plan, PlanInput, PlanSource};
use crate::runtime::fake::FakeRuntime;
use crate::runtime::{self, Runtime};
use crate::source::SourceSpec;
use crate::source::{self, Snapshot};
use crate::state::{EventLog, LockMode, SecretKey, State, StateLock, StateStore};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// An open state directory, locked for the duration of the verb.
pub struct Session {
    /// The state directory, for saving.
    pub store: StateStore,
    /// The state as loaded; saved back through `store`.
    pub state: State,
    /// The secret key Secret values are hashed with.
    pub key: SecretKey,
    /// The event and audit log, `events.jsonl`.
    pub events: EventLog,
    _lock: StateLock,
}

impl Session {
    /// Opens and locks the state (`Exclusive` for apply, `Shared` for plan).
    pub fn open(global: &Global, mode: LockMode, operation: &str) -> Result<Session> {
        let dir = &global.state_dir;
        let store =
            StateStore::open(dir).with_context(|| format!("failed to open the state directory {}", dir.display()))?;
        let lock = StateLock::acquire(dir, mode, global.lock_timeout, operation)?;
        let state = store
            .load()
            .with_context(|| format!("failed to load state from {}", dir.display()))?;
        let key = SecretKey::load_or_create(dir).context("failed to read the state's secret key")?;
        let events = EventLog::open(dir).context("failed to open the event log")?;
        Ok(Session {
            store,
            state,
            key,
            events,
            _lock: lock,
        })
    }

    /// Appends the audit line of a plan or apply run (commit, counts, duration, exit code).
    pub fn audit(&self, kind: &str, plan: &Plan, started: std::time::Instant, code: i32) -> Result<()> {
        self.events.append(&crate::state::Event {
            revision: Some(plan.source.revision.clone()),
            add: Some(plan.summary.add),
            change: Some(plan.summary.change),
            destroy: Some(plan.summary.destroy),
            duration_ms: Some(started.elapsed().as_millis() as u64),
            exit_code: Some(code),
            ..crate::state::Event::new(kind, crate::time::now())
        })?;
        Ok(())
    }

    /// The keyed hash used for Secret values.
    pub fn hasher(&self) -> impl Fn(&[u8]) -> String + Sync + '_ {
        move |bytes| self.key.hash(bytes)
    }
}

/// What a verb that plans starts from: the open session and the parsed source.
pub struct Loaded {
    /// The open, locked state.
    pub session: Session,
    /// The source as resolved from the flags and the state.
    pub spec: SourceSpec,
    /// The files read from it, with their revision.
    pub snapshot: Snapshot,
    /// The objects parsed and validated from those files.
    pub manifests: Manifests,
}

/// Opens the session and reads and parses the source, and runs `then` on the open session.
/// Files named with `-f` need neither the state nor its lock, so they are read on another
/// thread while the state loads and `then` runs (plan observes the pods there): at 10,000
/// objects each side takes about as long as the other. A git source is read after the lock
/// is held, because its cache lives in the state directory.
pub fn open_and_load<T>(
    global: &Global,
    mode: LockMode,
    operation: &str,
    args: &SourceArgs,
    then: impl FnOnce(&Session) -> Result<T>,
) -> Result<(Loaded, T)> {
    let read = |state: Option<&State>| -> Result<_> {
        let spec = source_spec(args, state)?;
        let snapshot = read_source(&spec, &global.state_dir)?;
        let manifests = load_manifests(&snapshot)?;
        Ok((spec, snapshot, manifests))
    };
    if args.files.is_empty() {
        let session = Session::open(global, mode, operation)?;
        let (spec, snapshot, manifests) = read(Some(&session.state))?;
        let then = then(&session)?;
        let loaded = Loaded {
            session,
            spec,
            snapshot,
            manifests,
        };
        return Ok((loaded, then));
    }
    let (session, source) = std::thread::scope(|scope| {
        let source = scope.spawn(|| read(None));
        let session = Session::open(global, mode, operation).map(|s| {
            let then = then(&s);
            (s, then)
        });
        let source = source.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (session, source)
    });
    // Errors in the order of the sequential path: the state's (a locked or unreadable state is
    // what the user must fix first), the source's, then `then`'s.
    let (session, then) = session?;
    let (spec, snapshot, manifests) = source?;
    let loaded = Loaded {
        session,
        spec,
        snapshot,
        manifests,
    };
    Ok((loaded, then?))
}

/// The source to use: the flags, or else the one remembered in the state.
pub fn source_spec(args: &SourceArgs, state: Option<&State>) -> Result<SourceSpec> {
    if !args.files.is_empty() {
        let files = args
            .files
            .iter()
            .map(|f| std::path::absolute(f).map(|p| p.display().to_string()))
            .collect::<std::io::Result<Vec<_>>>()?;
        return Ok(SourceSpec {
            files,
            ..SourceSpec::default()
        });
    }
    if let Some(repo) = &args.repo {
        return Ok(SourceSpec {
            repo: Some(repo.clone()),
            git_ref: args.git_ref.clone(),
            path: args.path.clone(),
            files: vec![],
        });
    }
    if args.git_ref.is_some() || args.path.is_some() {
        let remembered = state.and_then(|s| s.source.clone()).filter(|s| s.repo.is_some());
        let Some(mut spec) = remembered else {
            bail!("--ref and --path need --repo (no repository is remembered in the state yet)")
        };
        spec.git_ref = args.git_ref.clone().or(spec.git_ref);
        spec.path = args.path.clone().or(spec.path);
        return Ok(spec);
    }
    match state.and_then(|s| s.source.clone()) {
        Some(spec) => Ok(spec),
        None => Err(ExitError::new(
            exit::ERROR,
            "no source given: pass --repo URL|PATH or -f FILE|DIR (the source is remembered after the first apply)",
        )
        .into()),
    }
}

/// Reads the manifests of `spec` (fetching git into the state's cache).
pub fn read_source(spec: &SourceSpec, state_dir: &Path) -> Result<Snapshot> {
    let cache = state_dir.join("git");
    source::resolve(spec, &cache).context("failed to read the manifests")
}

/// Loads manifests, printing every error (with file:line:column) on failure.
pub fn load_manifests(snapshot: &Snapshot) -> Result<Manifests> {
    manifest::load(&snapshot.files).map_err(|errors| {
        for e in &errors.0 {
            eprintln!("{e}");
        }
        let n = errors.0.len();
        ExitError::new(
            exit::ERROR,
            format!(
                "{n} problem{} in the manifests; nothing was changed",
                if n == 1 { "" } else { "s" }
            ),
        )
        .into()
    })
}

/// The runtime named by `--runtime`.
pub fn runtime(global: &Global) -> Result<Box<dyn Runtime>> {
    if let Some(file) = global.runtime.strip_prefix("fake:") {
        return Ok(Box::new(FakeRuntime::persistent(file.into())?));
    }
    match global.runtime.as_str() {
        "linux" => Ok(Box::new(runtime::linux_runtime::LinuxRuntime::new(&global.state_dir)?)),
        other => bail!("unknown runtime {other:?}: expected linux or fake:FILE"),
    }
}

/// What the runtime says about every pod of the state that is bound to a node (a Pending
/// pod has nothing in the runtime).
pub fn observe(runtime: &mut dyn Runtime, state: &State) -> Result<Observed> {
    crate::apply::reconcile::observe(runtime, state).context("failed to observe the pods")
}

/// What the runtime says about the state's pods; needs no runtime when there are none, so a
/// first `plan` works anywhere (CI, no root).
pub fn observe_state(global: &Global, state: &State) -> Result<Observed> {
    if state.pods.values().all(|p| p.is_pending()) {
        return Ok(Observed::new());
    }
    observe(runtime(global)?.as_mut(), state)
}

/// This host's name, online CPUs, memory and architecture: the size of the node pods run on
/// when git defines no Node, and of a Node that gives no capacity.
pub fn host_facts() -> HostFacts {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    HostFacts {
        hostname: runtime::host::hostname(),
        cpus,
        memory_bytes: mem_total(&meminfo).unwrap_or(0),
        arch: std::env::consts::ARCH.to_string(),
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<i64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The time now, RFC 3339 in UTC.
pub fn now() -> crate::time::Time {
    crate::time::whole_seconds(crate::time::now())
}

/// Computes the plan of `snapshot` against the session's state.
pub fn make_plan(
    session: &Session,
    spec: &SourceSpec,
    snapshot: &Snapshot,
    manifests: &Manifests,
    observed: &Observed,
    prune_volumes: bool,
) -> (Plan, Vec<DesiredObject>) {
    let hasher = session.hasher();
    let desired = plan::desired_objects(manifests, &hasher);
    let input = PlanInput {
        desired: &desired,
        state: &session.state,
        observed,
        source: PlanSource {
            spec: spec.clone(),
            revision: snapshot.revision.clone(),
            description: snapshot.description.clone(),
        },
        host: host_facts(),
        now: now(),
        prune_volumes,
    };
    (plan::plan(&input), desired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_reads_kib() {
        let meminfo = "MemTotal:        8037560 kB\nMemFree:          123 kB\n";
        assert_eq!(mem_total(meminfo), Some(8037560 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
    }
}
