//! `rekon apply`: make the host match the manifests, once, from a saved plan, or in a loop.

use super::context::{self, Session};
use super::output;
use super::{ExitError, Global, SourceArgs, exit, parse_duration};
use crate::apply::{ApplyError, Executor};
use crate::manifest::ObjectId;
use crate::manifest::types::Kind;
use crate::plan::{Plan, Step, render};
use crate::state::{Event, LockMode};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// The arguments of `rekon apply`.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// A plan saved by `rekon plan --out`: apply exactly it, or refuse it when stale.
    pub plan_file: Option<PathBuf>,
    /// Where the manifests come from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Do not ask for confirmation (it is only asked on a terminal anyway).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Keep fetching, planning and applying until SIGINT/SIGTERM.
    #[arg(long, conflicts_with = "plan_file")]
    pub watch: bool,
    /// How long to wait for Deployments and ReplicaSets to converge (exit 3 after it).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Return after the first step of every rollout instead of waiting for it to converge.
    #[arg(long)]
    pub no_wait: bool,
    /// Delete the PersistentVolumeClaims removed from git, and their data (kept otherwise);
    /// with a saved plan, give it to `rekon plan` instead.
    #[arg(long, conflicts_with = "plan_file")]
    pub prune_volumes: bool,
    /// Time between two rounds of --watch.
    #[arg(long, default_value = "30s", value_parser = parse_duration, requires = "watch")]
    pub interval: Duration,
}

/// Runs `rekon apply` (once, or every interval under `--watch`); returns the exit code.
pub fn run(global: &Global, args: &ApplyArgs) -> Result<i32> {
    let stop = Arc::new(AtomicBool::new(false));
    if args.watch {
        return watch(global, args, &stop);
    }
    apply_once(global, args, &stop, !args.yes && std::io::stdin().is_terminal())
}

/// One fetch → plan → apply round. `confirm` asks on the terminal before changing anything.
fn apply_once(global: &Global, args: &ApplyArgs, stop: &AtomicBool, confirm: bool) -> Result<i32> {
    let started = Instant::now();
    let saved = args.plan_file.as_ref().map(read_saved_plan).transpose()?;
    let context::Loaded {
        mut session,
        spec,
        snapshot,
        manifests,
    } = match &saved {
        None => context::open_and_load(global, LockMode::Exclusive, "apply", &args.source, |_| Ok(()))?.0,
        Some(plan) => {
            let session = Session::open(global, LockMode::Exclusive, "apply")?;
            let spec = plan.source.spec.clone();
            let snapshot = crate::source::fetch_commit(&spec, &global.state_dir.join("git"), &plan.source.revision)
                .context("failed to read the saved plan's commit")?;
            let manifests = context::load_manifests(&snapshot)?;
            context::Loaded {
                session,
                spec,
                snapshot,
                manifests,
            }
        }
    };
    let mut runtime = context::runtime(global)?;
    let crash_after: Option<u32> = std::env::var("REKON_TEST_CRASH_AFTER_SAVES")
        .ok()
        .and_then(|v| v.parse().ok());
    let observed = context::observe(runtime.as_mut(), &session.state)?;
    let (plan, desired) = context::make_plan(&session, &spec, &snapshot, &manifests, &observed, args.prune_volumes);
    if let Some(saved) = &saved {
        check_not_stale(saved, &plan)?;
    }

    let style = output::stdout_style();
    if !plan.has_changes() {
        output::print(&render::text(&plan, style));
        let rescheduled = crate::apply::refresh_pending(&plan, &mut session.state);
        if rescheduled
            || session.state.source.as_ref() != Some(&spec)
            || session.state.revision.as_ref() != Some(&snapshot.revision)
        {
            session.state.source = Some(spec);
            session.state.revision = Some(snapshot.revision.clone());
            session.store.save(&mut session.state)?;
        }
        let code = converged_code(&plan);
        let mut counter = 0u64;
        let mut new_uid = || {
            counter += 1;
            new_pod_uid(counter)
        };
        let now = context::now;
        let mut on_step = |_: &Step| {};
        let mut executor = Executor::new(&session.store, runtime.as_mut(), &mut new_uid, &now, &mut on_step);
        executor.saver.crash_after = crash_after;
        executor.config =
            crate::apply::config::ConfigSource::new(&desired, &context::host_facts()).with_state_dir(&global.state_dir);
        let code = code.max(converge(
            &mut executor,
            &mut session.state,
            &session.events,
            &desired,
            &[],
            args,
            stop,
        )?);
        session.audit("apply", &plan, started, code)?;
        return Ok(code);
    }
    if saved.is_none() {
        output::print(&render::text(&plan, style));
    }
    if plan
        .steps
        .iter()
        .any(|s| s.id.kind == Kind::Pod || s.id.kind == Kind::Node)
    {
        runtime
            .check_can_modify()
            .context("cannot apply: nothing was changed")?;
    }
    if confirm && !ask_yes()? {
        output::print("\nApply cancelled.\n");
        return Ok(exit::ERROR);
    }

    let bar = if std::io::stdout().is_terminal() {
        let bar = ProgressBar::new(plan.steps.len() as u64);
        bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("valid template"));
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut counter = 0u64;
    let mut new_uid = || {
        counter += 1;
        new_pod_uid(counter)
    };
    let mut on_step = |step: &Step| {
        let line = format!("{}: {}", step.id, done_word(step));
        bar.inc(1);
        if bar.is_hidden() {
            println!("{line}")
        } else {
            bar.println(line)
        }
    };
    // The scheduler binds before the kubelet starts anything: its events come first.
    record_scheduling_events(&session, &plan)?;
    let now = context::now;
    let mut executor = Executor::new(&session.store, runtime.as_mut(), &mut new_uid, &now, &mut on_step);
    executor.saver.crash_after = crash_after;
    executor.config =
        crate::apply::config::ConfigSource::new(&desired, &context::host_facts()).with_state_dir(&global.state_dir);
    // A test hook, as the crash point: how many new pods' intents one save holds.
    if let Some(batch) = std::env::var("REKON_TEST_POD_BATCH").ok().and_then(|v| v.parse().ok()) {
        executor.pod_batch = batch;
    }
    executor.stop = Some(stop);
    let outcome = executor.execute(&plan, &desired, &mut session.state);
    let outcome = outcome.and_then(|summary| executor.collect_garbage(&session.state).map(|_| summary));
    bar.finish_and_clear();
    match outcome {
        Ok(s) => {
            output::print(&format!(
                "\nApply complete! Resources: {} added, {} changed, {} destroyed.\n",
                s.add, s.change, s.destroy
            ));
            let code = converged_code(&plan);
            // The loop goes on with the plan's executor: its crash hook counts every save
            // of the run, the plan's and the loop's.
            let mut watched = watched_pods(&plan);
            // A pod whose config data changed (a ConfigMap it waited for is now in git) is
            // watched too.
            for id in executor.data_changed.iter().filter(|id| id.kind == Kind::Pod) {
                if !watched.contains(id) {
                    watched.push(id.clone());
                }
            }
            let code = code.max(converge(
                &mut executor,
                &mut session.state,
                &session.events,
                &desired,
                &watched,
                args,
                stop,
            )?);
            session.audit("apply", &plan, started, code)?;
            Ok(code)
        }
        Err(ApplyError::InjectedCrash(_)) => std::process::abort(),
        Err(err) => {
            session.audit("apply", &plan, started, exit::ERROR)?;
            Err(anyhow::Error::new(err).context(
                "apply stopped; the state records every step that completed, and the next apply continues from there",
            ))
        }
    }
}

/// Runs the reconcile loop ([`crate::apply::reconcile`]) and maps how it ended to the exit
/// code, printing what the user reads: progress lines, and on exit 3 what and why.
fn converge(
    executor: &mut Executor<'_>,
    state: &mut crate::state::State,
    events: &crate::state::EventLog,
    desired: &[crate::plan::DesiredObject],
    watched_pods: &[ObjectId],
    args: &ApplyArgs,
    stop: &AtomicBool,
) -> Result<i32> {
    use crate::apply::reconcile::{LoopConfig, Outcome, Reconciler, SystemClock};
    // Under --watch a round waits at most one interval, so a new commit is picked up (and
    // rolls the rollout over) at the next round.
    let timeout = if args.watch {
        args.timeout.min(args.interval)
    } else {
        args.timeout
    };
    let host = context::host_facts();
    let config = LoopConfig {
        desired,
        watched_pods,
        host: &host,
        timeout,
        no_wait: args.no_wait,
    };
    if !crate::apply::reconcile::needed(state, &config) {
        return Ok(exit::OK);
    }
    let mut bar = Bar::new();
    let outcome = Reconciler {
        executor,
        events,
        clock: &mut SystemClock,
        progress: &mut bar,
        stop: Some(stop),
    }
    .run(state, &config);
    bar.0.finish_and_clear();
    match crash_hook(outcome)? {
        Outcome::Converged => Ok(exit::OK),
        Outcome::Failed { object, message } => {
            eprintln!("Error: {object} did not converge: {message}");
            Ok(exit::NOT_CONVERGED)
        }
        Outcome::Stuck {
            object,
            message,
            pod_uid,
            container,
        } => {
            eprintln!("Error: {object} cannot become healthy: {message}");
            if let (Some(uid), Some(container)) = (pod_uid, container)
                && let Some(line) = last_log_line(executor.saver.store, &uid, &container)
            {
                eprintln!("  last log line of container {container}: {line}");
            }
            Ok(exit::NOT_CONVERGED)
        }
        Outcome::TimedOut(what) => {
            for (object, message) in what {
                eprintln!("Error: {object} did not converge within {timeout:?}: {message}");
            }
            Ok(exit::NOT_CONVERGED)
        }
    }
}

/// The loop's progress: a spinner with the rollout summary on a terminal, plain lines
/// otherwise.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Bar {
        Bar(if std::io::stdout().is_terminal() {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        })
    }
}

impl crate::apply::reconcile::Progress for Bar {
    fn line(&mut self, text: &str) {
        if self.0.is_hidden() {
            println!("{text}");
        } else {
            self.0.println(text);
        }
    }

    fn status(&mut self, text: &str) {
        self.0.set_message(text.to_string());
        self.0.tick();
    }
}

/// The bare Pods a plan creates or changes: apply waits for them to be Healthy.
fn watched_pods(plan: &Plan) -> Vec<ObjectId> {
    plan.steps
        .iter()
        .filter(|s| s.id.kind == Kind::Pod && s.action != crate::plan::Action::Delete)
        .map(|s| s.id.clone())
        .collect()
}

/// The last line a container logged, for the error that names it.
fn last_log_line(store: &crate::state::StateStore, uid: &str, container: &str) -> Option<String> {
    let dir = store.dir().join("pods").join(uid);
    let options = crate::runtime::logs::LogOptions {
        tail: Some(1),
        ..Default::default()
    };
    let read = |previous| {
        crate::runtime::logs::read_logs(
            &dir,
            container,
            &crate::runtime::logs::LogOptions {
                previous,
                ..options.clone()
            },
        )
        .ok()
        .and_then(|lines| lines.into_iter().last())
        .filter(|l| !l.is_empty())
    };
    // A crash-looping container waits with an empty current log: its last words are in the
    // previous one.
    read(false).or_else(|| read(true))
}

/// Aborts the process on the injected crash of the test hook, as a `kill -9` would.
fn crash_hook<T>(result: Result<T, ApplyError>) -> Result<T> {
    match result {
        Err(ApplyError::InjectedCrash(_)) => std::process::abort(),
        other => other.context(
            "apply stopped; the state records every step that completed, and the next apply continues from there",
        ),
    }
}

/// Exit code 3 when pods stay Pending (README: applied but not converged), with a warning.
fn converged_code(plan: &Plan) -> i32 {
    let pending = plan.unschedulable().count();
    if pending == 0 {
        return exit::OK;
    }
    eprintln!(
        "Warning: {pending} pod{} could not be scheduled and stay{} Pending; every apply retries {}.",
        if pending == 1 { "" } else { "s" },
        if pending == 1 { "s" } else { "" },
        if pending == 1 { "it" } else { "them" }
    );
    exit::NOT_CONVERGED
}

/// The scheduler's events, as kube-scheduler records them: `Scheduled` for a pod bound to a
/// node, `FailedScheduling` (Warning) for one that stays Pending. A pod already Pending
/// before this apply gets no new event, so cron does not repeat it every round.
fn record_scheduling_events(session: &Session, plan: &Plan) -> Result<()> {
    for p in plan.placements.iter().filter(|p| !p.still_pending) {
        let (type_, reason, message) = match (&p.node, &p.unschedulable) {
            (Some(node), _) => (
                "Normal",
                "Scheduled",
                format!(
                    "Successfully assigned {}/{} to {node}",
                    p.pod.namespace.as_deref().unwrap_or_default(),
                    p.pod.name
                ),
            ),
            (None, message) => ("Warning", "FailedScheduling", message.clone().unwrap_or_default()),
        };
        session.events.append(&Event::of_object(
            crate::time::now(),
            type_,
            reason,
            "default-scheduler",
            format!("pod/{}", p.pod.name),
            message,
        ))?;
    }
    Ok(())
}

fn done_word(step: &Step) -> &'static str {
    match step.action {
        crate::plan::Action::Create => "Creation complete",
        crate::plan::Action::Update => "Modifications complete",
        crate::plan::Action::Replace => "Replacement complete",
        crate::plan::Action::Delete => "Destruction complete",
    }
}

/// A fresh pod uid: random, with a counter so two pods of one apply never collide.
fn new_pod_uid(counter: u64) -> String {
    let random: u64 = rand::random();
    format!("{:016x}{:04x}", random, counter & 0xffff)
}

fn ask_yes() -> Result<bool> {
    print!(
        "\nDo you want to perform these actions?\n  rekon will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

fn read_saved_plan(path: &PathBuf) -> Result<Plan> {
    let bytes = std::fs::read(path).with_context(|| format!("failed to read the saved plan {}", path.display()))?;
    let plan: Plan =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not a rekon plan file", path.display()))?;
    let major = plan.format_version.split('.').next().unwrap_or_default();
    if major != crate::plan::PLAN_FORMAT_VERSION.split('.').next().unwrap_or_default() {
        return Err(ExitError::new(
            exit::ERROR,
            format!(
                "the saved plan has format {}, this rekon reads {}",
                plan.format_version,
                crate::plan::PLAN_FORMAT_VERSION
            ),
        )
        .into());
    }
    Ok(plan)
}

/// Terraform's rule: a saved plan applies only to the state, commit and host it was made for,
/// and only if planning again now gives exactly the same steps.
fn check_not_stale(saved: &Plan, now: &Plan) -> Result<()> {
    // A state never saved (serial 0) has no lineage yet: each load makes a fresh one.
    let lineage_moved = saved.lineage != now.lineage && !(saved.serial == 0 && now.serial == 0);
    let why = if lineage_moved || saved.serial != now.serial {
        Some(format!(
            "the state was changed by another operation after the plan was created (plan: serial {}, state: serial {})",
            saved.serial, now.serial
        ))
    } else if saved.host != now.host {
        Some(format!(
            "the plan was made on host {:?}, this is {:?}",
            saved.host, now.host
        ))
    } else if saved.source.revision != now.source.revision {
        Some(format!(
            "the plan was made for revision {}, the source now gives {}",
            saved.source.revision, now.source.revision
        ))
    } else {
        let key = |p: &Plan| {
            p.steps
                .iter()
                .map(|s| (s.id.clone(), s.action, s.after_hash.clone(), s.node.clone()))
                .collect::<Vec<_>>()
        };
        (key(saved) != key(now))
            .then(|| "the host changed since the plan was made: planning again gives different actions".to_string())
    };
    match why {
        None => Ok(()),
        Some(why) => Err(ExitError::new(exit::ERROR, format!("saved plan is stale\n\nThe given plan file can no longer be applied because {why}. Nothing was changed; run rekon plan again.")).into()),
    }
}

/// `--watch`: a round every interval until SIGINT/SIGTERM. A round that fails (a commit that
/// does not validate, a fetch error) is reported and skipped; what runs keeps running.
fn watch(global: &Global, args: &ApplyArgs, stop: &Arc<AtomicBool>) -> Result<i32> {
    let (tx, rx) = mpsc::channel();
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])?;
    let flag = Arc::clone(stop);
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            flag.store(true, Ordering::SeqCst);
            let _ = tx.send(sig);
        }
    });
    eprintln!(
        "rekon: watching, a round every {:?}; SIGINT or SIGTERM stops",
        args.interval
    );
    // A busy lock is normal under --watch (a cron apply, a `rekon rollout`): a round waits for
    // it up to one interval, then is skipped, which is said once per stretch of busy rounds.
    let round_global = Global {
        lock_timeout: global.lock_timeout.max(args.interval),
        ..global.clone()
    };
    let mut skipping = false;
    loop {
        let result = apply_once(&round_global, args, stop, false);
        let locked = result.as_ref().err().and_then(|e| {
            e.chain()
                .find_map(|c| c.downcast_ref::<crate::state::StateError>())
                .filter(|e| matches!(e, crate::state::StateError::Locked { .. }))
        });
        if let Some(err) = locked {
            if !skipping {
                eprintln!("rekon: round skipped, the next rounds retry quietly: {err}");
            }
            skipping = true;
        } else if let Err(err) = result {
            skipping = false;
            let code = super::report(&err);
            eprintln!(
                "rekon: this round failed (exit {code}); what runs keeps running; next round in {:?}",
                args.interval
            );
            if let Ok(session) = Session::open(global, LockMode::Shared, "watch") {
                let _ = session.events.append(&Event {
                    message: Some(format!("{err:#}")),
                    exit_code: Some(code),
                    ..Event::new("watch-error", crate::time::now())
                });
            }
        } else {
            skipping = false;
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match rx.recv_timeout(args.interval) {
            Ok(_) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    eprintln!("rekon: stopped; the state is saved and pods keep running");
    Ok(exit::OK)
}
