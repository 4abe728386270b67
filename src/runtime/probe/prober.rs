//! [`Prober`]: every probe worker of one pod, stepped together against the lifecycle
//! machine's view of its containers (upstream's prober manager, one worker per container and
//! probe type).

use super::worker::{Timing, Worker};
use crate::manifest::types::container::Container;
use crate::manifest::types::probe::Probe;
use crate::runtime::lifecycle::{ContainerView, Event, PodMachine, PodView, ProbeKind, Time};

/// Names one worker of a [`Prober`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeId(usize);

/// A probe to run now: which worker, which container and instance, and what to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// The worker to report the result to ([`Prober::record`]).
    pub id: ProbeId,
    /// The container's name.
    pub container: String,
    /// Which of its probes.
    pub kind: ProbeKind,
    /// The container instance probed ([`ContainerView::instance`]), passed back with the result.
    pub instance: u32,
    /// The probe as the spec gives it (what to run).
    pub probe: Probe,
    /// Its timing and thresholds, defaults applied (the timeout bounds the run).
    pub timing: Timing,
}

struct Entry {
    container: String,
    probe: Probe,
    worker: Worker,
}

/// The probe workers of one pod.
pub struct Prober {
    entries: Vec<Entry>,
    wake: Option<Time>,
}

/// What [`Prober::tick`] found.
#[derive(Debug, Default)]
pub struct Ticked {
    /// Stored results that changed, for the lifecycle machine.
    pub events: Vec<Event>,
    /// Probes to start now.
    pub due: Vec<Due>,
}

impl Prober {
    /// Workers for every probe of the pod's sidecars and app containers (regular init
    /// containers may not have probes).
    pub fn new<'a>(containers: impl IntoIterator<Item = &'a Container>) -> Prober {
        let mut entries = Vec::new();
        for c in containers {
            for (kind, probe) in [
                (ProbeKind::Startup, &c.startup_probe),
                (ProbeKind::Liveness, &c.liveness_probe),
                (ProbeKind::Readiness, &c.readiness_probe),
            ] {
                if let Some(probe) = probe {
                    entries.push(Entry {
                        container: c.name.clone(),
                        probe: probe.clone(),
                        worker: Worker::new(kind, Timing::of(probe)),
                    });
                }
            }
        }
        Prober { entries, wake: None }
    }

    /// Whether the pod has no probes at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Steps every worker at `now` against the machine's view.
    pub fn tick(&mut self, now: Time, machine: &PodMachine) -> Ticked {
        self.tick_with(now, machine.pod_view(), |name| machine.container_view(name))
    }

    /// [`tick`](Self::tick) over explicit facts.
    pub fn tick_with(&mut self, now: Time, pod: PodView, view: impl Fn(&str) -> Option<ContainerView>) -> Ticked {
        let mut out = Ticked::default();
        let mut wake: Option<Time> = None;
        for (i, e) in self.entries.iter_mut().enumerate() {
            let kind = e.worker.kind();
            let tick = e.worker.tick(now, pod, view(&e.container));
            if let Some(success) = tick.changed {
                out.events.push(probe_event(&e.container, kind, success));
            }
            if let Some(instance) = tick.probe {
                out.due.push(Due {
                    id: ProbeId(i),
                    container: e.container.clone(),
                    kind,
                    instance,
                    probe: e.probe.clone(),
                    timing: e.worker.timing(),
                });
            }
            if let Some(at) = tick.wake {
                wake = Some(wake.map_or(at, |w| w.min(at)));
            }
        }
        self.wake = wake;
        out
    }

    /// The raw result of probe `id` against `instance`; an event when the stored result
    /// changed.
    pub fn record(&mut self, id: ProbeId, instance: u32, success: bool) -> Option<Event> {
        let e = self.entries.get_mut(id.0)?;
        let changed = e.worker.record(instance, success)?;
        Some(probe_event(&e.container, e.worker.kind(), changed))
    }

    /// The earliest time a worker has something to do without a new fact; valid after
    /// [`tick`](Self::tick).
    pub fn next_wakeup(&self) -> Option<Time> {
        self.wake
    }
}

fn probe_event(name: &str, kind: ProbeKind, success: bool) -> Event {
    Event::Probe {
        name: name.to_string(),
        kind,
        success,
    }
}

/// The probe type as upstream words it in events (`Liveness probe failed: …`).
pub fn kind_word(kind: ProbeKind) -> &'static str {
    match kind {
        ProbeKind::Liveness => "Liveness",
        ProbeKind::Readiness => "Readiness",
        ProbeKind::Startup => "Startup",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::types::probe::ExecAction;
    use crate::runtime::lifecycle::{Action, ContainerInput, PodInput, RestartPolicy, StopSignal};
    use crate::runtime::status::ContainerStatus;
    use chrono::{TimeDelta, TimeZone, Utc};

    fn t(secs: f64) -> Time {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap() + TimeDelta::milliseconds((secs * 1000.0) as i64)
    }

    fn probe(period: i32, failure: i32) -> Probe {
        Probe {
            exec: Some(ExecAction {
                command: vec!["true".into()],
            }),
            period_seconds: Some(period),
            failure_threshold: Some(failure),
            ..Default::default()
        }
    }

    /// A machine and a prober driven together, as the supervisor loop does; `results` answers
    /// each started probe.
    struct Harness {
        m: PodMachine,
        p: Prober,
        now: f64,
        actions: Vec<Action>,
        /// Probes started and not answered yet.
        pending: Vec<Due>,
    }

    impl Harness {
        fn new(policy: RestartPolicy, container: Container) -> Harness {
            let input = ContainerInput {
                has_readiness_probe: container.readiness_probe.is_some(),
                has_startup_probe: container.startup_probe.is_some(),
                ..ContainerInput::new(container.name.clone(), "busybox")
            };
            let pod = PodInput::new("p").restart_policy(policy).container(input);
            let mut h = Harness {
                m: PodMachine::new(pod).unwrap(),
                p: Prober::new([&container]),
                now: 0.0,
                actions: Vec::new(),
                pending: Vec::new(),
            };
            h.step(vec![]);
            h.step(vec![Event::SandboxReady]);
            h
        }

        /// Feeds events and performs the loop's iterations until quiet.
        fn step(&mut self, events: Vec<Event>) {
            let now = t(self.now);
            let mut events = events;
            loop {
                for e in events.drain(..) {
                    self.m.handle(now, e).unwrap();
                }
                for a in self.m.next_actions(now) {
                    if let Action::StartContainer { name, .. } = &a {
                        events.push(Event::ContainerStarted { name: name.clone() });
                    }
                    self.actions.push(a);
                }
                let ticked = self.p.tick(now, &self.m);
                events.extend(ticked.events);
                self.pending.extend(ticked.due);
                if events.is_empty() {
                    return;
                }
            }
        }

        /// Answers every started probe with `ok` at once and advances to `secs` in 0.5 s steps.
        fn run_until(&mut self, secs: f64, ok: impl Fn(&Due) -> bool) {
            loop {
                let due = std::mem::take(&mut self.pending);
                let events = due
                    .iter()
                    .filter_map(|d| self.p.record(d.id, d.instance, ok(d)))
                    .collect();
                self.step(events);
                if self.now >= secs {
                    return;
                }
                self.now += 0.5;
                self.step(vec![]);
            }
        }

        fn container(&self) -> ContainerStatus {
            self.m.status(t(self.now)).container_statuses[0].clone()
        }

        fn condition(&self, type_: &str) -> String {
            let s = self.m.status(t(self.now));
            let c = s.conditions.iter().find(|c| c.type_ == type_).unwrap();
            c.status.clone()
        }
    }

    fn container(name: &str) -> Container {
        Container {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn readiness_drives_ready_and_the_pod_conditions_without_restarts() {
        let mut c = container("web");
        c.readiness_probe = Some(probe(1, 3));
        let mut h = Harness::new(RestartPolicy::Always, c);
        assert_eq!((h.container().ready, h.condition("Ready")), (false, "False".into()));
        h.run_until(1.0, |_| true);
        assert!(h.container().ready);
        assert_eq!(h.condition("ContainersReady"), "True");
        assert_eq!(h.condition("Ready"), "True");
        // Three failures at 1 s intervals clear Ready; nothing is killed.
        h.run_until(4.0, |_| false);
        assert!(!h.container().ready);
        assert_eq!(h.condition("Ready"), "False");
        assert_eq!(h.container().restart_count, 0);
        assert!(!h.actions.iter().any(|a| matches!(a, Action::Signal { .. })));
    }

    #[test]
    fn liveness_failures_kill_and_restart_per_policy() {
        for (policy, restarts) in [(RestartPolicy::Always, 1), (RestartPolicy::Never, 0)] {
            let mut c = container("web");
            c.liveness_probe = Some(probe(1, 3));
            let mut h = Harness::new(policy, c);
            // Probes at 0, 1 and 2 s: the third failure kills.
            h.run_until(1.5, |_| false);
            assert!(!h.actions.iter().any(|a| matches!(a, Action::Signal { .. })));
            h.run_until(2.0, |_| false);
            let term = Action::Signal {
                name: "web".into(),
                signal: StopSignal::Term,
            };
            assert!(h.actions.contains(&term), "{policy:?}: {:?}", h.actions);
            let exit = Event::ContainerExited {
                name: "web".into(),
                exit: crate::runtime::lifecycle::Exit::Signal(15),
                oom_killed: false,
            };
            h.step(vec![exit]);
            assert_eq!(h.container().restart_count, restarts, "{policy:?}");
        }
    }

    #[test]
    fn startup_probe_holds_started_and_readiness_until_it_succeeds() {
        let mut c = container("web");
        c.startup_probe = Some(probe(1, 30));
        c.readiness_probe = Some(probe(1, 3));
        let mut h = Harness::new(RestartPolicy::Always, c);
        h.run_until(3.0, |d| d.kind == ProbeKind::Readiness);
        let s = h.container();
        assert!(!s.started && !s.ready);
        h.run_until(5.0, |_| true);
        let s = h.container();
        assert!(s.started && s.ready);
    }
}
