//! Stopping one container within a grace budget, as `killContainer` does
//! (pkg/kubelet/kuberuntime/kuberuntime_container.go): preStop with the whole budget, then
//! (sidecars only) wait for its turn, then the stop signal, then SIGKILL after what is left,
//! floored at 2 s.

use super::Time;
use super::event::{Action, StopSignal};
use std::time::Duration;

/// `minimumGracePeriodInSeconds` (kuberuntime_manager.go): a container always gets at least
/// this long between the stop signal and SIGKILL.
pub(crate) const MINIMUM_GRACE_PERIOD_SECONDS: u64 = 2;

/// Where a kill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Nothing sent yet.
    New,
    /// `RunPreStop` sent at `Kill::started`; abandoned at `deadline`.
    PreStop { deadline: Time },
    /// The preStop hook returned with `remaining` whole seconds of budget left.
    PreStopDone { remaining: u64 },
    /// A sidecar waiting for the containers that stop before it, for at most `remaining` s.
    WaitTurn { remaining: u64, since: Time },
    /// The stop signal was sent; SIGKILL goes at `kill_at`.
    Term { kill_at: Time },
    /// SIGKILL was sent.
    Killed,
}

/// A kill in progress for one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kill {
    pub started: Time,
    /// Whole seconds of grace when the kill started.
    pub budget: u64,
    /// Sidecars in a pod shutdown wait for their turn (`terminationOrdering`).
    pub ordered: bool,
    pub stage: Stage,
}

impl Kill {
    pub fn new(started: Time, budget: u64, ordered: bool) -> Self {
        Kill {
            started,
            budget,
            ordered,
            stage: Stage::New,
        }
    }

    /// The preStop hook returned at `at`. Upstream subtracts the hook's run time truncated to
    /// whole seconds (`executePreStopHook`).
    pub fn pre_stop_finished(&mut self, at: Time) {
        if let Stage::PreStop { .. } = self.stage {
            let remaining = self.budget.saturating_sub(whole_secs(self.started, at));
            self.stage = Stage::PreStopDone { remaining };
        }
    }

    /// Moves the kill as far as `now` allows, pushing the actions for container `name`.
    /// `turn` tells whether everything this container must outlive is gone. Returns the next
    /// time this kill needs attention, if any.
    pub fn advance(
        &mut self,
        name: &str,
        has_pre_stop: bool,
        turn: bool,
        now: Time,
        out: &mut Vec<Action>,
    ) -> Option<Time> {
        loop {
            match self.stage {
                Stage::New if has_pre_stop && self.budget > 0 => {
                    let timeout = Duration::from_secs(self.budget);
                    out.push(Action::RunPreStop {
                        name: name.to_string(),
                        timeout,
                    });
                    self.stage = Stage::PreStop {
                        deadline: self.started + timeout,
                    };
                }
                Stage::New => self.stage = Stage::PreStopDone { remaining: self.budget },
                // An abandoned hook has used the whole budget.
                Stage::PreStop { deadline } if now >= deadline => self.stage = Stage::PreStopDone { remaining: 0 },
                Stage::PreStop { deadline } => return Some(deadline),
                Stage::PreStopDone { remaining } if self.ordered && remaining > 0 => {
                    self.stage = Stage::WaitTurn { remaining, since: now }
                }
                Stage::PreStopDone { remaining } => self.term(name, remaining, now, out),
                Stage::WaitTurn { remaining, since } => {
                    let deadline = since + Duration::from_secs(remaining);
                    if turn {
                        let left = remaining.saturating_sub(whole_secs(since, now));
                        self.term(name, left, now, out);
                    } else if now >= deadline {
                        self.term(name, 0, now, out);
                    } else {
                        return Some(deadline);
                    }
                }
                Stage::Term { kill_at } if now >= kill_at => {
                    let signal = StopSignal::Kill;
                    out.push(Action::Signal {
                        name: name.to_string(),
                        signal,
                    });
                    self.stage = Stage::Killed;
                }
                Stage::Term { kill_at } => return Some(kill_at),
                Stage::Killed => return None,
            }
        }
    }

    /// A second deletion with a shorter grace period arrived at `now`: every deadline of this
    /// kill moves to at most `grace` seconds from now (the stop signal's floor of
    /// [`MINIMUM_GRACE_PERIOD_SECONDS`] still holds), as the kubelet kills a pod again with the
    /// shorter period (`podWorkers.UpdatePod`, pkg/kubelet/pod_workers.go). Never lengthens.
    pub fn shorten(&mut self, grace: u64, now: Time) {
        let by = now + Duration::from_secs(grace);
        let left = |remaining: u64| remaining.min(grace);
        self.stage = match self.stage {
            Stage::New => {
                self.budget = self.budget.saturating_sub(whole_secs(self.started, now)).min(grace);
                self.started = now;
                Stage::New
            }
            Stage::PreStop { deadline } => Stage::PreStop {
                deadline: deadline.min(by),
            },
            Stage::PreStopDone { remaining } => Stage::PreStopDone {
                remaining: left(remaining),
            },
            Stage::WaitTurn { remaining, since } => {
                let now_left = remaining.saturating_sub(whole_secs(since, now));
                Stage::WaitTurn {
                    remaining: left(now_left),
                    since: now,
                }
            }
            Stage::Term { kill_at } => {
                let floor = now + Duration::from_secs(grace.max(MINIMUM_GRACE_PERIOD_SECONDS));
                Stage::Term {
                    kill_at: kill_at.min(floor),
                }
            }
            Stage::Killed => Stage::Killed,
        };
    }

    fn term(&mut self, name: &str, remaining: u64, now: Time, out: &mut Vec<Action>) {
        let grace = remaining.max(MINIMUM_GRACE_PERIOD_SECONDS);
        out.push(Action::Signal {
            name: name.to_string(),
            signal: StopSignal::Term,
        });
        self.stage = Stage::Term {
            kill_at: now + Duration::from_secs(grace),
        };
    }
}

/// Whole seconds from `from` to `to`, truncated as Go's `int64(d.Seconds())`.
pub(crate) fn whole_secs(from: Time, to: Time) -> u64 {
    (to - from).num_seconds().max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(secs: i64) -> Time {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn sig(signal: StopSignal) -> Action {
        Action::Signal {
            name: "web".into(),
            signal,
        }
    }

    #[test]
    fn without_pre_stop_sends_term_then_kill_after_the_budget() {
        let mut k = Kill::new(t(0), 30, false);
        let mut out = Vec::new();
        assert_eq!(k.advance("web", false, true, t(0), &mut out), Some(t(30)));
        assert_eq!(out, vec![sig(StopSignal::Term)]);
        out.clear();
        assert_eq!(k.advance("web", false, true, t(29), &mut out), Some(t(30)));
        assert!(out.is_empty());
        assert_eq!(k.advance("web", false, true, t(30), &mut out), None);
        assert_eq!(out, vec![sig(StopSignal::Kill)]);
    }

    #[test]
    fn pre_stop_time_is_subtracted_in_whole_seconds_with_a_two_second_floor() {
        let table = [
            // (budget, hook returns at, SIGKILL expected at)
            (30, Some(5_700), 5_700 + 25_000),
            (30, Some(29_000), 29_000 + 2_000),
            (30, None, 30_000 + 2_000),
            (0, None, 2_000),
        ];
        for (budget, returns_ms, kill_ms) in table {
            let mut k = Kill::new(t(0), budget, false);
            let mut out = Vec::new();
            k.advance("web", true, true, t(0), &mut out);
            let at = match returns_ms {
                Some(ms) => {
                    let at = t(0) + chrono::TimeDelta::milliseconds(ms);
                    k.pre_stop_finished(at);
                    at
                }
                None => t(budget as i64),
            };
            let next = k.advance("web", true, true, at, &mut out);
            let signals: Vec<_> = out.iter().filter(|a| matches!(a, Action::Signal { .. })).collect();
            assert_eq!(signals, vec![&sig(StopSignal::Term)], "budget {budget} {returns_ms:?}");
            assert_eq!(matches!(out[0], Action::RunPreStop { .. }), budget > 0);
            assert_eq!(next, Some(t(0) + chrono::TimeDelta::milliseconds(kill_ms)));
        }
    }

    #[test]
    fn ordered_kill_waits_for_its_turn_within_the_budget() {
        let mut k = Kill::new(t(0), 30, true);
        let mut out = Vec::new();
        assert_eq!(k.advance("web", false, false, t(0), &mut out), Some(t(30)));
        assert!(out.is_empty());
        assert_eq!(k.advance("web", false, true, t(12), &mut out), Some(t(30)));
        assert_eq!(out, vec![sig(StopSignal::Term)]);
        // A turn that never comes leaves the 2 s floor.
        let mut k = Kill::new(t(0), 30, true);
        out.clear();
        k.advance("web", false, false, t(0), &mut out);
        assert_eq!(k.advance("web", false, false, t(30), &mut out), Some(t(32)));
        assert_eq!(out, vec![sig(StopSignal::Term)]);
    }
}
