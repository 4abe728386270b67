//! Events as kubectl shows them: the events of objects from the state's log (the scheduler's
//! and the controllers') and from each pod's own log (the kubelet's), repeats aggregated into
//! one line with a count (`2m (x4 over 5m)`), for `rekon events` and describe's `Events:`.

use super::Global;
use super::table::human_duration;
use crate::state::{Event, EventLog};
use crate::time::Time;

/// One line: an event and its repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// `Normal` or `Warning`.
    pub type_: String,
    /// The event's reason (`Scheduled`, `Pulled`, `ScalingReplicaSet`, …).
    pub reason: String,
    /// `pod/web`, `deployment/web`.
    pub object: String,
    /// The component that recorded it (`kubelet`, `default-scheduler`, …).
    pub source: String,
    /// Human-readable text of the event.
    pub message: String,
    /// When the first of the repeats happened.
    pub first: Time,
    /// When the last of the repeats happened.
    pub last: Time,
    /// How many times it happened (1 for a single event).
    pub count: u32,
    /// The uid of the pod concerned, when recorded: two pods of one name are two objects,
    /// whose events are not aggregated together.
    pub uid: Option<String>,
}

/// Every event of an object rekon knows of: the state's log without the audit lines, and the
/// logs of the pods on the host (which go with their pod, as a kubelet's events expire).
pub fn object_events(global: &Global) -> Vec<Event> {
    let mut events = state_events(global);
    if let Ok(dirs) = std::fs::read_dir(global.state_dir.join("pods")) {
        for dir in dirs.flatten() {
            events.extend(pod_events(&dir.path()));
        }
    }
    events.sort_by_key(|e| e.time);
    events
}

/// The events of objects in the state's log (the scheduler's and the controllers'), without
/// the audit lines of rekon's runs.
pub fn state_events(global: &Global) -> Vec<Event> {
    EventLog::open(&global.state_dir)
        .and_then(|log| log.read_all())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !e.is_audit())
        .collect()
}

/// The events a pod's supervisor recorded in its directory; unreadable lines are skipped.
pub fn pod_events(pod_dir: &std::path::Path) -> Vec<Event> {
    let dir = crate::runtime::supervisor::PodDir::new(pod_dir.to_path_buf());
    std::fs::read_to_string(dir.events_file())
        .unwrap_or_default()
        .lines()
        .filter_map(|line| Event::of_kubelet(line, None))
        .collect()
}

/// kubectl's form of an event's object: `Pod default/web` → `pod/web`.
pub fn kubectl_object(object: &str) -> String {
    match object.split_once(' ') {
        Some((kind, rest)) => {
            let name = rest.rsplit('/').next().unwrap_or(rest);
            format!("{}/{name}", kind.to_lowercase())
        }
        None => object.to_string(),
    }
}

/// The event's type; lines written before types were recorded get the one upstream gives
/// their reason.
fn type_of(e: &Event) -> String {
    e.type_.clone().unwrap_or_else(|| {
        let warning = [
            "FailedScheduling",
            "BackOff",
            "Unhealthy",
            "Failed",
            "FailedCreate",
            "FailedPostStartHook",
            "FailedPreStopHook",
        ];
        if warning.contains(&e.kind.as_str()) {
            "Warning"
        } else {
            "Normal"
        }
        .into()
    })
}

/// The component that recorded the event, by its reason when the line does not say.
fn source_of(e: &Event) -> String {
    e.source.clone().unwrap_or_else(|| {
        match e.kind.as_str() {
            "Scheduled" | "FailedScheduling" => "default-scheduler",
            "ScalingReplicaSet" => "deployment-controller",
            "SuccessfulCreate" | "SuccessfulDelete" | "FailedCreate" => "replicaset-controller",
            _ => "kubelet",
        }
        .into()
    })
}

/// Repeats (same type, reason, object, source and message) become one line with a count and
/// the times of the first and the last; lines come in the order of their last occurrence.
pub fn aggregate(events: &[Event]) -> Vec<Shown> {
    let mut out: Vec<Shown> = Vec::new();
    for e in events {
        let shown = Shown {
            type_: type_of(e),
            reason: e.kind.clone(),
            object: kubectl_object(e.object.as_deref().unwrap_or_default()),
            source: source_of(e),
            message: e.message.clone().unwrap_or_default(),
            first: e.time,
            last: e.time,
            count: 1,
            uid: e.uid.clone(),
        };
        let same = out.iter_mut().find(|s| {
            (&s.type_, &s.reason, &s.object, &s.source, &s.message, &s.uid)
                == (
                    &shown.type_,
                    &shown.reason,
                    &shown.object,
                    &shown.source,
                    &shown.message,
                    &shown.uid,
                )
        });
        match same {
            Some(s) => {
                s.count += 1;
                s.first = s.first.min(e.time);
                s.last = s.last.max(e.time);
            }
            None => out.push(shown),
        }
    }
    out.sort_by_key(|s| s.last);
    out
}

/// kubectl's age of an event line: `5s`, or `5s (x4 over 2m)` for repeats.
pub fn age(s: &Shown, now: Time) -> String {
    let since = |t: Time| human_duration((now - t).num_seconds());
    if s.count > 1 {
        format!("{} (x{} over {})", since(s.last), s.count, since(s.first))
    } else {
        since(s.last)
    }
}

/// The events of one object (`kind/name` as kubectl writes it, lower case).
pub fn of(events: &[Shown], object: &str) -> Vec<Shown> {
    events.iter().filter(|s| s.object == object).cloned().collect()
}

/// describe's `Events:` section (`Type Reason Age From Message`).
pub fn describe_section(events: &[Shown], now: Time) -> String {
    if events.is_empty() {
        return "Events:       <none>\n".into();
    }
    let mut rows = vec![
        ["Type", "Reason", "Age", "From", "Message"].map(String::from).to_vec(),
        ["----", "------", "----", "----", "-------"].map(String::from).to_vec(),
    ];
    for s in events {
        rows.push(vec![
            s.type_.clone(),
            s.reason.clone(),
            age(s, now),
            s.source.clone(),
            s.message.clone(),
        ]);
    }
    // describe's tabwriter pads columns by two spaces (`tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)`).
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::from("Events:\n");
    for row in &rows {
        out.push_str("  ");
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < row.len() - 1 {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> Time {
        chrono::Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn event(secs: i64, reason: &str, object: &str, message: &str) -> Event {
        Event {
            object: Some(object.into()),
            message: Some(message.into()),
            ..Event::new(reason, at(secs))
        }
    }

    #[test]
    fn repeats_are_counted_and_old_lines_get_types_and_sources() {
        let events = [
            event(
                0,
                "Scheduled",
                "Pod default/web",
                "Successfully assigned default/web to box",
            ),
            event(1, "BackOff", "pod/web", "Back-off restarting failed container app"),
            event(30, "BackOff", "pod/web", "Back-off restarting failed container app"),
            event(40, "Started", "pod/web", "Started container app"),
            event(150, "BackOff", "pod/web", "Back-off restarting failed container app"),
        ];
        let shown = aggregate(&events);
        let now = at(160);
        let lines: Vec<(String, String, String, String, String)> = shown
            .iter()
            .map(|s| {
                (
                    s.type_.clone(),
                    s.reason.clone(),
                    age(s, now),
                    s.source.clone(),
                    s.object.clone(),
                )
            })
            .collect();
        let l = |a: &str, b: &str, c: &str, d: &str| (a.into(), b.into(), c.into(), d.into(), "pod/web".into());
        assert_eq!(
            lines,
            [
                l("Normal", "Scheduled", "2m40s", "default-scheduler"),
                l("Normal", "Started", "2m", "kubelet"),
                l("Warning", "BackOff", "10s (x3 over 2m39s)", "kubelet"),
            ]
        );
        assert_eq!(
            describe_section(&shown[..2], now),
            "Events:\n  Type    Reason     Age    From               Message\n  ----    ------     ----   ----               -------\n  Normal  Scheduled  2m40s  default-scheduler  Successfully assigned default/web to box\n  Normal  Started    2m     kubelet            Started container app\n"
        );
        assert_eq!(describe_section(&[], now), "Events:       <none>\n");
    }
}
