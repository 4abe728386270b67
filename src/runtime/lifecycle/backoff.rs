//! Per-key exponential backoff, a clock-free port of client-go's `flowcontrol.Backoff`
//! (`staging/src/k8s.io/client-go/util/flowcontrol/backoff.go`).

use super::Time;
use std::collections::HashMap;
use std::time::Duration;

/// The kubelet's container restart backoff: `flowcontrol.NewBackOff(10s, 300s)`
/// (`pkg/kubelet/kubelet.go`, `MaxContainerBackOff`).
pub const CONTAINER_BACKOFF_INITIAL: Duration = Duration::from_secs(10);
/// Cap of the container restart backoff.
pub const CONTAINER_BACKOFF_MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    backoff: Duration,
    last_update: Time,
}

/// Exponential backoff per key: the first step is `initial`, each further step doubles, capped
/// at `max`; an entry not stepped for more than `2 * max` counts as expired and starts over.
///
/// Upstream reads `Clock.Now()` inside; here every method that needs the clock takes `now`.
/// The kubelet builds its backoffs without jitter, so there is none here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    entries: HashMap<String, Entry>,
}

impl Backoff {
    /// A backoff starting at `initial` and capped at `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            entries: HashMap::new(),
        }
    }

    /// The kubelet's container backoff (10s doubling to 300s).
    pub fn container() -> Self {
        Backoff::new(CONTAINER_BACKOFF_INITIAL, CONTAINER_BACKOFF_MAX)
    }

    /// The current delay for `id`, zero when it has no entry (`Get`).
    pub fn get(&self, id: &str) -> Duration {
        self.entries.get(id).map_or(Duration::ZERO, |e| e.backoff)
    }

    /// Steps `id` (`Next`): a new or expired entry restarts at `initial`, otherwise the delay
    /// doubles up to `max`. Expiry is judged at `event_time`; `now` becomes the last update.
    pub fn next(&mut self, id: &str, event_time: Time, now: Time) {
        let max = self.max;
        let initial = self.initial;
        match self.entries.get_mut(id) {
            Some(e) if !has_expired(event_time, e.last_update, max) => {
                e.backoff = (e.backoff * 2).min(max);
                e.last_update = now;
            }
            _ => {
                self.entries.insert(
                    id.to_string(),
                    Entry {
                        backoff: initial,
                        last_update: now,
                    },
                );
            }
        }
    }

    /// Whether `now` is still inside the window that opened at `event_time`
    /// (`IsInBackOffSince`; the kubelet passes the last exit's `finishedAt`).
    pub fn is_in_backoff_since(&self, id: &str, event_time: Time, now: Time) -> bool {
        match self.entries.get(id) {
            Some(e) if !has_expired(event_time, e.last_update, self.max) => since(event_time, now) < e.backoff,
            _ => false,
        }
    }

    /// Whether `event_time` is inside the window that opened at the last update
    /// (`IsInBackOffSinceUpdate`; the image manager passes the current time).
    pub fn is_in_backoff_since_update(&self, id: &str, event_time: Time) -> bool {
        match self.entries.get(id) {
            Some(e) if !has_expired(event_time, e.last_update, self.max) => {
                since(e.last_update, event_time) < e.backoff
            }
            _ => false,
        }
    }

    /// When the window opened by the last update of `id` closes, if it has an entry.
    pub fn window_end(&self, id: &str) -> Option<Time> {
        self.entries.get(id).map(|e| e.last_update + e.backoff)
    }

    /// Forgets `id` (`Reset` / `DeleteEntry`).
    pub fn reset(&mut self, id: &str) {
        self.entries.remove(id);
    }

    /// Drops every entry not updated for more than `2 * max` (`GC`).
    pub fn gc(&mut self, now: Time) {
        let max = self.max;
        self.entries.retain(|_, e| !has_expired(now, e.last_update, max));
    }
}

/// `hasExpired`: "consider stable if it's ok for twice the maxDuration".
fn has_expired(event_time: Time, last_update: Time, max: Duration) -> bool {
    since(last_update, event_time) > max * 2
}

/// `to - from`, negative spans counted as zero.
fn since(from: Time, to: Time) -> Duration {
    (to - from).to_std().unwrap_or(Duration::ZERO)
}

/// Formats a duration like Go's `time.Duration.String` (`10s`, `1m20s`, `5m0s`, `1h0m0s`,
/// `1.5s`, `500ms`), as the kubelet's back-off messages print it.
pub fn go_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    if d < Duration::from_secs(1) {
        return format!("{}ms", trim_fraction(d.as_micros() as f64 / 1000.0));
    }
    let secs = d.as_secs();
    let frac = d.subsec_nanos();
    let s = if frac == 0 {
        format!("{}s", secs % 60)
    } else {
        format!("{}s", trim_fraction((secs % 60) as f64 + frac as f64 / 1e9))
    };
    match (secs / 3600, (secs / 60) % 60) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

fn trim_fraction(x: f64) -> String {
    let s = format!("{x:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(secs: i64) -> Time {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn doubles_from_ten_seconds_and_caps_at_five_minutes() {
        let mut b = Backoff::container();
        assert_eq!(b.get("web"), Duration::ZERO);
        let mut seen = Vec::new();
        for i in 0..8 {
            b.next("web", t(i), t(i));
            seen.push(b.get("web").as_secs());
        }
        assert_eq!(seen, vec![10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn expires_after_twice_the_cap_since_the_last_update() {
        let mut b = Backoff::container();
        b.next("web", t(0), t(0));
        b.next("web", t(5), t(5));
        assert_eq!(b.get("web").as_secs(), 20);
        // 600s after the last update is not yet expired: the delay keeps doubling.
        let mut same = b.clone();
        same.next("web", t(605), t(605));
        assert_eq!(same.get("web").as_secs(), 40);
        // 601s after it is: the entry starts over at the initial delay.
        b.next("web", t(606), t(606));
        assert_eq!(b.get("web").as_secs(), 10);
    }

    #[test]
    fn window_since_event_and_since_update() {
        let mut b = Backoff::container();
        assert!(!b.is_in_backoff_since("web", t(0), t(0)));
        b.next("web", t(0), t(0));
        b.next("web", t(1), t(1)); // 20s, last update t(1)
        let table = [(t(30), t(49), true), (t(30), t(50), false), (t(700), t(701), false)];
        for (event, now, want) in table {
            assert_eq!(b.is_in_backoff_since("web", event, now), want, "{event} {now}");
        }
        assert!(b.is_in_backoff_since_update("web", t(20)));
        assert!(!b.is_in_backoff_since_update("web", t(21)));
        assert_eq!(b.window_end("web"), Some(t(21)));
        b.reset("web");
        assert_eq!(b.window_end("web"), None);
    }

    #[test]
    fn gc_drops_only_stale_entries() {
        let mut b = Backoff::container();
        b.next("old", t(0), t(0));
        b.next("new", t(500), t(500));
        b.gc(t(601));
        assert_eq!(b.get("old"), Duration::ZERO);
        assert_eq!(b.get("new").as_secs(), 10);
    }

    #[test]
    fn formats_like_go() {
        let table = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(80), "1m20s"),
            (Duration::from_secs(160), "2m40s"),
            (Duration::from_secs(300), "5m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(500), "500ms"),
        ];
        for (d, want) in table {
            assert_eq!(go_duration(d), want);
        }
    }
}
