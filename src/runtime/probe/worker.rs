//! One probe of one container, stepped by a clock: the kubelet's prober worker
//! (`worker.doProbe`, pkg/kubelet/prober/worker.go; `spec/k8s-semantics.md` §2) without
//! goroutines or timers. It decides when a probe is due and turns raw results into the
//! thresholded result the lifecycle machine acts on.

use crate::runtime::lifecycle::{ContainerRun, ContainerView, PodView, ProbeKind, RestartPolicy, Time};
use std::time::Duration;

/// A probe's timing and thresholds, defaults applied (`SetDefaults_Probe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `initialDelaySeconds`: how long after the container started the first probe waits.
    pub initial_delay: Duration,
    /// `periodSeconds`: how often the probe runs.
    pub period: Duration,
    /// `timeoutSeconds`: how long one run may take before it counts as a failure.
    pub timeout: Duration,
    /// `successThreshold`: consecutive successes needed to pass after a failure.
    pub success_threshold: u32,
    /// `failureThreshold`: consecutive failures needed to fail after a success.
    pub failure_threshold: u32,
}

impl Timing {
    /// Upstream's values; a zero (or unset) field takes the default, as `SetDefaults_Probe`
    /// does (timeout 1 s, period 10 s, thresholds 1 and 3).
    pub fn of(probe: &crate::manifest::types::probe::Probe) -> Timing {
        let secs = |v: Option<i32>, default: u64| match v {
            Some(n) if n > 0 => n as u64,
            _ => default,
        };
        Timing {
            initial_delay: Duration::from_secs(secs(probe.initial_delay_seconds, 0)),
            period: Duration::from_secs(secs(probe.period_seconds, 10)),
            timeout: Duration::from_secs(secs(probe.timeout_seconds, 1)),
            success_threshold: secs(probe.success_threshold, 1) as u32,
            failure_threshold: secs(probe.failure_threshold, 3) as u32,
        }
    }
}

/// The stored result of a probe (`results.Result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No result yet (a startup probe before its first).
    Unknown,
    /// The probe passes.
    Success,
    /// The probe fails.
    Failure,
}

impl Outcome {
    /// The initial result on a new container: readiness Failure, liveness Success, startup
    /// Unknown (`newWorker`).
    pub fn initial(kind: ProbeKind) -> Outcome {
        match kind {
            ProbeKind::Readiness => Outcome::Failure,
            ProbeKind::Liveness => Outcome::Success,
            ProbeKind::Startup => Outcome::Unknown,
        }
    }
}

/// What one [`Worker::tick`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tick {
    /// Run the probe now against this container instance; answer with [`Worker::record`].
    pub probe: Option<u32>,
    /// The stored result changed to this value: tell the lifecycle machine.
    pub changed: Option<bool>,
    /// When the worker next has something to do without a new fact.
    pub wake: Option<Time>,
}

/// The worker of one probe of one container.
#[derive(Debug, Clone)]
pub struct Worker {
    kind: ProbeKind,
    timing: Timing,
    /// The container instance the stored result belongs to (upstream's container ID).
    instance: Option<u32>,
    result: Outcome,
    on_hold: bool,
    last: Option<bool>,
    run: u32,
    /// The instance a probe is running against.
    in_flight: Option<u32>,
    next_due: Option<Time>,
    stopped: bool,
}

impl Worker {
    /// A worker that has seen no container yet.
    pub fn new(kind: ProbeKind, timing: Timing) -> Worker {
        Worker {
            kind,
            timing,
            instance: None,
            result: Outcome::initial(kind),
            on_hold: false,
            last: None,
            run: 0,
            in_flight: None,
            next_due: None,
            stopped: false,
        }
    }

    /// Which probe this is.
    pub fn kind(&self) -> ProbeKind {
        self.kind
    }

    /// Its timing.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// The stored result.
    pub fn result(&self) -> Outcome {
        self.result
    }

    /// Whether the worker has exited (pod terminal, deletion, or a dead container under Never).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// One pass of `doProbe` at `now` over the current facts. A probe already running is
    /// never doubled: the next starts one period after the previous one started, or when it
    /// returns if that is later (a Go ticker drops the ticks its reader missed).
    pub fn tick(&mut self, now: Time, pod: PodView, c: Option<ContainerView>) -> Tick {
        let mut out = Tick::default();
        if self.stopped {
            return out;
        }
        if pod.terminal {
            self.stopped = true;
            return out;
        }
        let Some(c) = c.filter(|c| c.instance > 0) else {
            return out;
        };
        if self.instance != Some(c.instance) {
            // A new container: the machine starts it from the same initial result.
            self.instance = Some(c.instance);
            self.result = Outcome::initial(self.kind);
            self.on_hold = false;
            self.last = None;
            self.run = 0;
            self.next_due = None;
        }
        if self.on_hold {
            return out;
        }
        let (since, started) = match c.run {
            ContainerRun::Pending => return out,
            ContainerRun::Exited => {
                out.changed = self.set(Outcome::Failure);
                if pod.restart_policy == RestartPolicy::Never {
                    self.stopped = true;
                }
                return out;
            }
            ContainerRun::Running { since, started } => (since, started),
        };
        if pod.deleting && matches!(self.kind, ProbeKind::Liveness | ProbeKind::Startup) {
            // A quiet shutdown: no probe-triggered kill while the pod is being deleted.
            out.changed = self.set(Outcome::Success);
            self.stopped = true;
            return out;
        }
        let delay_end = since + self.timing.initial_delay;
        if now < delay_end {
            out.wake = Some(delay_end);
            return out;
        }
        // Only the startup probe runs until the container has started; then only the others.
        if started == (self.kind == ProbeKind::Startup) || self.in_flight.is_some() {
            return out;
        }
        if let Some(due) = self.next_due
            && now < due
        {
            out.wake = Some(due);
            return out;
        }
        self.in_flight = Some(c.instance);
        self.next_due = Some(now + self.timing.period);
        out.probe = Some(c.instance);
        out
    }

    /// Records the raw result of the probe started against `instance`; returns the new stored
    /// result when it changed. Results for an older instance, or arriving while on hold, are
    /// dropped.
    pub fn record(&mut self, instance: u32, success: bool) -> Option<bool> {
        if self.in_flight == Some(instance) {
            self.in_flight = None;
        }
        if self.stopped || self.on_hold || self.instance != Some(instance) {
            return None;
        }
        if self.last == Some(success) {
            self.run += 1;
        } else {
            self.last = Some(success);
            self.run = 1;
        }
        let threshold = if success {
            self.timing.success_threshold
        } else {
            self.timing.failure_threshold
        };
        if self.run < threshold {
            return None;
        }
        let changed = self.set(if success { Outcome::Success } else { Outcome::Failure });
        if !success && matches!(self.kind, ProbeKind::Liveness | ProbeKind::Startup) {
            // The container will be restarted: stop probing until a new instance appears.
            self.on_hold = true;
            self.run = 0;
        }
        changed
    }

    /// A probe for `instance` is running.
    pub fn in_flight(&self) -> Option<u32> {
        self.in_flight
    }

    fn set(&mut self, result: Outcome) -> Option<bool> {
        if self.result == result {
            return None;
        }
        self.result = result;
        Some(result == Outcome::Success)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};

    fn t(secs: f64) -> Time {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap() + TimeDelta::milliseconds((secs * 1000.0) as i64)
    }

    fn timing(delay: u64, period: u64, success: u32, failure: u32) -> Timing {
        Timing {
            initial_delay: Duration::from_secs(delay),
            period: Duration::from_secs(period),
            timeout: Duration::from_secs(1),
            success_threshold: success,
            failure_threshold: failure,
        }
    }

    const POD: PodView = PodView {
        deleting: false,
        terminal: false,
        restart_policy: RestartPolicy::Always,
    };

    fn running(instance: u32, since: f64, started: bool) -> Option<ContainerView> {
        Some(ContainerView {
            instance,
            run: ContainerRun::Running {
                since: t(since),
                started,
            },
        })
    }

    /// Steps a worker: at each time, tick; when a probe is started, answer with the next raw
    /// result. Returns (time, stored-result change) pairs and the probe times.
    fn drive(w: &mut Worker, c: Option<ContainerView>, raw: &[bool], until: f64) -> (Vec<(f64, bool)>, Vec<f64>) {
        let (mut changes, mut probes) = (Vec::new(), Vec::new());
        let mut results = raw.iter();
        let mut now = 0.0;
        while now <= until {
            let tick = w.tick(t(now), POD, c);
            if let Some(v) = tick.changed {
                changes.push((now, v));
            }
            if let Some(instance) = tick.probe {
                probes.push(now);
                if let Some(v) = results.next().and_then(|ok| w.record(instance, *ok)) {
                    changes.push((now, v));
                }
            }
            now += 0.5;
        }
        (changes, probes)
    }

    #[test]
    fn initial_results_follow_upstream() {
        let table = [
            (ProbeKind::Readiness, Outcome::Failure),
            (ProbeKind::Liveness, Outcome::Success),
            (ProbeKind::Startup, Outcome::Unknown),
        ];
        for (kind, want) in table {
            let mut w = Worker::new(kind, timing(0, 10, 1, 3));
            w.tick(t(0.0), POD, running(1, 0.0, kind != ProbeKind::Startup));
            assert_eq!(w.result(), want, "{kind:?}");
        }
    }

    #[test]
    fn thresholds_count_consecutive_results() {
        // (kind, success threshold, failure threshold, raw results, expected changes)
        type Row = (ProbeKind, u32, u32, &'static [bool], &'static [(f64, bool)]);
        let table: [Row; 6] = [
            // Readiness flips to Success at the first success, back after 3 failures.
            (
                ProbeKind::Readiness,
                1,
                3,
                &[true, false, false, false],
                &[(0.0, true), (3.0, false)],
            ),
            // Two successes needed: a failure in between restarts the count.
            (ProbeKind::Readiness, 2, 3, &[true, false, true, true], &[(3.0, true)]),
            // Interrupted failures never reach the threshold.
            (
                ProbeKind::Readiness,
                1,
                2,
                &[true, false, true, false, true],
                &[(0.0, true)],
            ),
            // Liveness starts as Success: only the third failure changes it.
            (
                ProbeKind::Liveness,
                1,
                3,
                &[false, false, true, false, false, false],
                &[(5.0, false)],
            ),
            // Startup goes from Unknown to Success at once.
            (ProbeKind::Startup, 1, 3, &[true], &[(0.0, true)]),
            (ProbeKind::Startup, 1, 1, &[false], &[(0.0, false)]),
        ];
        for (kind, st, ft, raw, want) in table {
            let mut w = Worker::new(kind, timing(0, 1, st, ft));
            let started = kind != ProbeKind::Startup;
            let (changes, _) = drive(&mut w, running(1, 0.0, started), raw, raw.len() as f64 - 0.5);
            assert_eq!(changes, want, "{kind:?} {st}/{ft} {raw:?}");
        }
    }

    #[test]
    fn probes_wait_for_the_initial_delay_then_tick_every_period() {
        let mut w = Worker::new(ProbeKind::Readiness, timing(3, 2, 1, 3));
        // The container started at 1 s: first probe at 4 s, then every 2 s.
        let (_, probes) = drive(&mut w, running(1, 1.0, true), &[false; 10], 9.0);
        assert_eq!(probes, [4.0, 6.0, 8.0]);
        let mut w = Worker::new(ProbeKind::Readiness, timing(3, 2, 1, 3));
        assert_eq!(w.tick(t(2.0), POD, running(1, 1.0, true)).wake, Some(t(4.0)));
    }

    #[test]
    fn a_running_probe_is_not_doubled_and_the_next_waits_a_period() {
        let mut w = Worker::new(ProbeKind::Readiness, timing(0, 2, 1, 3));
        assert_eq!(w.tick(t(0.0), POD, running(1, 0.0, true)).probe, Some(1));
        // Still running at 3 s: nothing new.
        assert_eq!(w.tick(t(3.0), POD, running(1, 0.0, true)), Tick::default());
        assert_eq!(w.record(1, true), Some(true));
        // Overdue: probe at once.
        assert_eq!(w.tick(t(3.0), POD, running(1, 0.0, true)).probe, Some(1));
        w.record(1, true);
        assert_eq!(w.tick(t(3.5), POD, running(1, 0.0, true)).wake, Some(t(5.0)));
    }

    #[test]
    fn startup_gates_the_other_probes_and_then_stops() {
        let mut startup = Worker::new(ProbeKind::Startup, timing(0, 1, 1, 3));
        let mut live = Worker::new(ProbeKind::Liveness, timing(0, 1, 1, 3));
        let mut ready = Worker::new(ProbeKind::Readiness, timing(0, 1, 1, 3));
        let before = running(1, 0.0, false);
        assert_eq!(startup.tick(t(0.0), POD, before).probe, Some(1));
        assert_eq!(live.tick(t(0.0), POD, before), Tick::default());
        assert_eq!(ready.tick(t(0.0), POD, before), Tick::default());
        assert_eq!(startup.record(1, true), Some(true));
        let after = running(1, 0.0, true);
        assert_eq!(startup.tick(t(1.0), POD, after), Tick::default());
        assert_eq!(live.tick(t(1.0), POD, after).probe, Some(1));
        assert_eq!(ready.tick(t(1.0), POD, after).probe, Some(1));
    }

    #[test]
    fn liveness_failure_holds_until_a_new_instance_which_starts_afresh() {
        let mut w = Worker::new(ProbeKind::Liveness, timing(0, 1, 1, 1));
        assert_eq!(w.tick(t(0.0), POD, running(1, 0.0, true)).probe, Some(1));
        assert_eq!(w.record(1, false), Some(false));
        // On hold: no probes while the kill goes on, even after the container exited.
        assert_eq!(w.tick(t(5.0), POD, running(1, 0.0, true)), Tick::default());
        let exited = Some(ContainerView {
            instance: 1,
            run: ContainerRun::Exited,
        });
        assert_eq!(w.tick(t(6.0), POD, exited), Tick::default());
        // The restarted container is probed again, from Success.
        let tick = w.tick(t(7.0), POD, running(2, 7.0, true));
        assert_eq!(
            (tick.probe, tick.changed, w.result()),
            (Some(2), None, Outcome::Success)
        );
        // A late result for the old instance is dropped.
        assert_eq!(w.record(1, false), None);
        assert_eq!(w.record(2, false), Some(false));
    }

    #[test]
    fn a_non_running_container_fails_and_under_never_the_worker_exits() {
        let exited = Some(ContainerView {
            instance: 1,
            run: ContainerRun::Exited,
        });
        let mut w = Worker::new(ProbeKind::Readiness, timing(0, 1, 1, 3));
        w.tick(t(0.0), POD, running(1, 0.0, true));
        w.record(1, true);
        assert_eq!(w.tick(t(1.0), POD, exited).changed, Some(false));
        assert!(!w.stopped());
        let never = PodView {
            restart_policy: RestartPolicy::Never,
            ..POD
        };
        let mut w = Worker::new(ProbeKind::Liveness, timing(0, 1, 1, 3));
        assert_eq!(w.tick(t(1.0), never, exited).changed, Some(false));
        assert!(w.stopped());
        assert_eq!(w.tick(t(2.0), never, running(2, 2.0, true)), Tick::default());
    }

    #[test]
    fn deletion_sets_liveness_and_startup_to_success_and_stops_them() {
        let deleting = PodView { deleting: true, ..POD };
        for (kind, started, change) in [
            (ProbeKind::Liveness, true, None),
            (ProbeKind::Startup, false, Some(true)),
        ] {
            let mut w = Worker::new(kind, timing(0, 1, 1, 3));
            assert_eq!(w.tick(t(0.0), deleting, running(1, 0.0, started)).changed, change);
            assert!(w.stopped() && w.result() == Outcome::Success, "{kind:?}");
        }
        // Readiness keeps probing during a graceful deletion.
        let mut w = Worker::new(ProbeKind::Readiness, timing(0, 1, 1, 3));
        assert_eq!(w.tick(t(0.0), deleting, running(1, 0.0, true)).probe, Some(1));
    }

    #[test]
    fn a_terminal_pod_stops_every_worker_and_pending_containers_wait() {
        let mut w = Worker::new(ProbeKind::Readiness, timing(0, 1, 1, 3));
        let pending = Some(ContainerView {
            instance: 1,
            run: ContainerRun::Pending,
        });
        assert_eq!(w.tick(t(0.0), POD, pending), Tick::default());
        assert_eq!(w.tick(t(0.0), POD, None), Tick::default());
        let terminal = PodView { terminal: true, ..POD };
        w.tick(t(1.0), terminal, running(1, 0.0, true));
        assert!(w.stopped());
    }

    #[test]
    fn timing_applies_upstream_defaults() {
        let probe = crate::manifest::types::probe::Probe {
            period_seconds: Some(0),
            failure_threshold: Some(5),
            ..Default::default()
        };
        assert_eq!(Timing::of(&probe), timing(0, 10, 1, 5));
    }
}
