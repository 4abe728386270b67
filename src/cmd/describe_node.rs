//! `rekon describe node/NAME` in kubectl's shape: labels, taints, capacity, allocatable, the
//! pods bound to the node with their requests and limits, and the allocated totals.

use super::Global;
use super::context::host_facts;
use super::logs::pod_spec;
use super::table::age;
use crate::manifest::types::Kind;
use crate::manifest::types::{Node, PodSpec};
use crate::plan::scheduler::{NodeInfo, pod_requests};
use crate::state::{PodRecord, State};
use std::fmt::Write as _;

/// The nodes as the scheduler sees them: git's Node objects, or the host when there are none.
pub fn nodes(state: &State) -> Vec<(NodeInfo, Option<crate::time::Time>)> {
    let host = host_facts();
    let from_git: Vec<(NodeInfo, Option<crate::time::Time>)> = state
        .objects
        .values()
        .filter(|r| r.id.kind == Kind::Node)
        .filter_map(|r| {
            let node: Node = serde_json::from_value((*r.spec).clone()).ok()?;
            Some((NodeInfo::from_node(&node, &host), Some(r.created_at)))
        })
        .collect();
    if from_git.is_empty() {
        vec![(NodeInfo::for_host(&host), None)]
    } else {
        from_git
    }
}

/// The description of node `name`, or None when there is no such node.
pub fn describe(global: &Global, state: &State, name: &str) -> Option<String> {
    let (node, created) = nodes(state).into_iter().find(|(n, _)| n.name == name)?;
    let mut out = String::new();
    let _ = writeln!(out, "Name:               {}", node.name);
    let _ = writeln!(out, "Roles:              <none>");
    let mut labels = node.labels.iter().map(|(k, v)| format!("{k}={v}"));
    let _ = writeln!(out, "Labels:             {}", labels.next().unwrap_or("<none>".into()));
    for l in labels {
        let _ = writeln!(out, "                    {l}");
    }
    let created = created.map_or("<host>".to_string(), |c| {
        format!("{} ({} ago)", crate::time::rfc3339(c), age(c))
    });
    let _ = writeln!(out, "CreationTimestamp:  {created}");
    let taint = if node.unschedulable {
        "node.kubernetes.io/unschedulable:NoSchedule"
    } else {
        "<none>"
    };
    let _ = writeln!(out, "Taints:             {taint}");
    let _ = writeln!(out, "Unschedulable:      {}", node.unschedulable);
    let _ = writeln!(out, "Conditions:");
    let _ = writeln!(out, "  Type    Status  Reason        Message");
    let _ = writeln!(out, "  ----    ------  ------        -------");
    let _ = writeln!(out, "  Ready   True    KubeletReady  rekon runs pods on this node");
    let resources = |out: &mut String, title: &str| {
        let _ = writeln!(out, "{title}:");
        let _ = writeln!(out, "  cpu:     {}", cpu(node.cpu_milli));
        let _ = writeln!(out, "  memory:  {}", memory(node.memory_bytes));
        let _ = writeln!(out, "  pods:    {}", node.pods);
    };
    resources(&mut out, "Capacity");
    resources(&mut out, "Allocatable");
    let pods: Vec<(&PodRecord, Usage)> = state
        .pods
        .values()
        .filter(|p| p.node.as_deref() == Some(name))
        .map(|p| {
            let dir = global.state_dir.join("pods").join(&p.uid);
            let spec = pod_spec(&dir, state, p).and_then(|v| serde_json::from_value::<PodSpec>(v).ok());
            (p, spec.as_ref().map(Usage::of).unwrap_or_default())
        })
        .collect();
    let _ = writeln!(out, "Non-terminated Pods:          ({} in total)", pods.len());
    let pct = |v: i64, of: i64| if of > 0 { v * 100 / of } else { 0 };
    let rows: Vec<Vec<String>> = pods
        .iter()
        .map(|(p, u)| {
            vec![
                p.namespace.clone(),
                p.name.clone(),
                format!("{} ({}%)", cpu(u.cpu_requests), pct(u.cpu_requests, node.cpu_milli)),
                format!("{} ({}%)", cpu(u.cpu_limits), pct(u.cpu_limits, node.cpu_milli)),
                format!(
                    "{} ({}%)",
                    memory(u.memory_requests),
                    pct(u.memory_requests, node.memory_bytes)
                ),
                format!(
                    "{} ({}%)",
                    memory(u.memory_limits),
                    pct(u.memory_limits, node.memory_bytes)
                ),
                age(p.created_at),
            ]
        })
        .collect();
    let header = [
        "Namespace",
        "Name",
        "CPU Requests",
        "CPU Limits",
        "Memory Requests",
        "Memory Limits",
        "Age",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |out: &mut String, cells: &[String]| {
        let text: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "  {}", text.join("  ").trim_end());
    };
    if !rows.is_empty() {
        line(&mut out, &header.map(String::from));
        line(&mut out, &header.map(|h| "-".repeat(h.len())));
        for row in &rows {
            line(&mut out, row);
        }
    }
    let total = pods.iter().fold(Usage::default(), |a, (_, u)| a.add(u));
    let _ = writeln!(out, "Allocated resources:");
    let _ = writeln!(out, "  (Total limits may be over 100 percent, i.e., overcommitted.)");
    let _ = writeln!(out, "  Resource           Requests      Limits");
    let _ = writeln!(out, "  --------           --------      ------");
    let cell = |v: String, p: i64| format!("{v} ({p}%)");
    let _ = writeln!(
        out,
        "  cpu                {:<13} {}",
        cell(cpu(total.cpu_requests), pct(total.cpu_requests, node.cpu_milli)),
        cell(cpu(total.cpu_limits), pct(total.cpu_limits, node.cpu_milli))
    );
    let _ = writeln!(
        out,
        "  memory             {:<13} {}",
        cell(
            memory(total.memory_requests),
            pct(total.memory_requests, node.memory_bytes)
        ),
        cell(memory(total.memory_limits), pct(total.memory_limits, node.memory_bytes))
    );
    let _ = writeln!(out, "Events:              <none>");
    Some(out)
}

/// Requests (as the scheduler counts them) and limits of one pod.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Usage {
    cpu_requests: i64,
    cpu_limits: i64,
    memory_requests: i64,
    memory_limits: i64,
}

impl Usage {
    /// Limits as kubectl's `PodRequestsAndLimits` adds them: the sum over app containers, or
    /// the largest init container's when that is bigger.
    fn of(spec: &PodSpec) -> Usage {
        let req = pod_requests(spec);
        let limit = |c: &crate::manifest::types::container::Container, key: &str, milli: bool| {
            c.resources
                .limits
                .get(key)
                .map_or(0, |q| if milli { q.milli_value() } else { q.value() })
        };
        let sum = |key: &str, milli: bool| spec.containers.iter().map(|c| limit(c, key, milli)).sum::<i64>();
        let init = |key: &str, milli: bool| {
            spec.init_containers
                .iter()
                .map(|c| limit(c, key, milli))
                .max()
                .unwrap_or(0)
        };
        Usage {
            cpu_requests: req.cpu_milli,
            cpu_limits: sum("cpu", true).max(init("cpu", true)),
            memory_requests: req.memory_bytes,
            memory_limits: sum("memory", false).max(init("memory", false)),
        }
    }

    fn add(self, o: &Usage) -> Usage {
        Usage {
            cpu_requests: self.cpu_requests + o.cpu_requests,
            cpu_limits: self.cpu_limits + o.cpu_limits,
            memory_requests: self.memory_requests + o.memory_requests,
            memory_limits: self.memory_limits + o.memory_limits,
        }
    }
}

/// Millicores as kubectl prints them: `0`, `300m`, `2`.
fn cpu(milli: i64) -> String {
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

/// Bytes in the largest binary unit that divides them: `0`, `128Mi`, `1Gi`.
fn memory(bytes: i64) -> String {
    for (unit, size) in [("Ti", 1i64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes != 0 && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_print_as_kubectl() {
        assert_eq!(cpu(0), "0");
        assert_eq!(cpu(300), "300m");
        assert_eq!(cpu(2000), "2");
        assert_eq!(memory(128 << 20), "128Mi");
        assert_eq!(memory(1 << 30), "1Gi");
        assert_eq!(memory(1000), "1000");
    }

    #[test]
    fn limits_take_the_larger_of_app_sum_and_init_max() {
        let spec: PodSpec = serde_json::from_value(serde_json::json!({
            "initContainers": [{"name": "i", "resources": {"limits": {"cpu": "2", "memory": "64Mi"}}}],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "300m"}, "limits": {"cpu": "500m", "memory": "128Mi"}}},
                {"name": "b", "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}
            ]
        }))
        .unwrap();
        let u = Usage::of(&spec);
        assert_eq!(u.cpu_limits, 2000, "the init container's 2 CPUs beat 500m + 500m");
        assert_eq!(u.memory_limits, 256 << 20);
        assert_eq!(u.cpu_requests, pod_requests(&spec).cpu_milli);
    }
}
