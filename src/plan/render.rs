//! Rendering a plan for people (Terraform's words) and for machines (versioned JSON).

use super::{Action, Plan, Step};
use serde_json::json;
use std::fmt::Write;

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Whether to colour actions, diff lines and the summary with ANSI escape codes.
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn action(&self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Replace => "35",
            Action::Delete => "31",
        };
        self.paint(code, text)
    }
}

fn headline(step: &Step) -> String {
    let word = match step.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
    };
    let word = if step.action == Action::Create && step.reason.as_deref() == Some(super::DELETED_OUTSIDE_GIT) {
        "was deleted outside git and will be created"
    } else {
        word
    };
    match (step.action, &step.node, &step.unschedulable) {
        (Action::Create, Some(node), _) => format!("{word} on node {node}"),
        (Action::Replace, Some(node), _) => format!("{word}, the new pod on node {node}"),
        (Action::Create | Action::Replace, None, Some(_)) => format!("{word} but stays Pending"),
        _ => word.to_string(),
    }
}

/// Nomad's "Scheduler dry-run": whether every pod the plan schedules found a node, and the
/// scheduler's message for each one that did not. Empty when the plan schedules no pod.
pub fn dry_run(plan: &Plan) -> String {
    if plan.placements.is_empty() {
        return String::new();
    }
    let mut out = String::from("Scheduler dry-run:\n");
    let placed = plan.placements.iter().filter(|p| p.node.is_some()).count();
    let failed: Vec<_> = plan.unschedulable().collect();
    if failed.is_empty() {
        let _ = writeln!(out, "- All pods successfully placed ({placed}).");
        return out;
    }
    let _ = writeln!(
        out,
        "- WARNING: Failed to place {} pod{}; {} Pending:",
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        if failed.len() == 1 { "it stays" } else { "they stay" }
    );
    for p in failed {
        let _ = writeln!(out, "    {}: {}", p.pod, p.unschedulable.as_deref().unwrap_or_default());
    }
    if placed > 0 {
        let _ = writeln!(out, "- {placed} pod{} placed.", if placed == 1 { "" } else { "s" });
    }
    out
}

/// The summary line, exactly Terraform's (a stable interface for scripts).
pub fn summary_line(plan: &Plan) -> String {
    if plan.has_changes() {
        let s = plan.summary;
        format!(
            "Plan: {} to add, {} to change, {} to destroy.",
            s.add, s.change, s.destroy
        )
    } else {
        "No changes. Your host matches the configuration.".to_string()
    }
}

/// The human plan.
pub fn text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Source: {}", plan.source.description);
    for note in &plan.notes {
        let _ = writeln!(out, "Note: {note}");
    }
    out.push('\n');
    for id in &plan.kept {
        let _ = writeln!(
            out,
            "  # {id} will be kept (apply with --prune-volumes to delete it and its data)\n"
        );
    }
    if !plan.has_changes() {
        let dry = dry_run(plan);
        if !dry.is_empty() {
            let _ = writeln!(out, "{dry}");
        }
        let _ = writeln!(out, "{}", style.paint("1", &summary_line(plan)));
        out.push_str(
            "\nrekon has compared your host against the manifests and found no differences, so no changes are needed.\n",
        );
        return out;
    }
    out.push_str("rekon will perform the following actions. Actions are indicated with the following symbols:\n");
    for action in [Action::Create, Action::Update, Action::Replace, Action::Delete] {
        if plan.steps.iter().any(|s| s.action == action) {
            let word = match action {
                Action::Create => "create",
                Action::Update => "update in-place",
                Action::Replace => "destroy and then create replacement",
                Action::Delete => "destroy",
            };
            let _ = writeln!(
                out,
                "{} {word}",
                style.action(action, &format!("{:>3}", action.symbol()))
            );
        }
    }
    out.push('\n');
    for step in &plan.steps {
        let _ = writeln!(out, "  # {} {}", step.id, headline(step));
        if let Some(reason) = step.reason.as_ref().filter(|r| *r != super::DELETED_OUTSIDE_GIT) {
            let _ = writeln!(out, "  # ({reason})");
        }
        if let Some(message) = &step.unschedulable {
            let _ = writeln!(out, "  # (no node can take it: {message})");
        }
        let mut line = format!(
            "{} {}",
            style.action(step.action, &format!("{:>3}", step.action.symbol())),
            step.id
        );
        if let Some(node) = &step.node {
            let _ = write!(line, "  (node {node})");
        }
        let _ = writeln!(out, "{line}");
        for diff_line in step.diff.lines() {
            let painted = match diff_line.chars().next() {
                Some('+') => style.paint("32", diff_line),
                Some('-') => style.paint("31", diff_line),
                _ => diff_line.to_string(),
            };
            let _ = writeln!(out, "      {painted}");
        }
        for note in &step.notes {
            let _ = writeln!(out, "      note: {note}");
        }
        out.push('\n');
    }
    let dry = dry_run(plan);
    if !dry.is_empty() {
        let _ = writeln!(out, "{dry}");
    }
    let _ = writeln!(out, "{}", style.paint("1", &summary_line(plan)));
    out
}

/// The machine-readable plan, after Terraform's `show -json` shape.
pub fn json(plan: &Plan) -> serde_json::Value {
    let changes: Vec<_> = plan
        .steps
        .iter()
        .map(|s| {
            json!({
                "address": s.id.to_string(),
                "kind": s.id.kind,
                "namespace": s.id.namespace,
                "name": s.id.name,
                "actions": s.action.json_actions(),
                "reason": s.reason,
                "node": s.node,
                "unschedulable": s.unschedulable,
                "origin": s.origin,
                "notes": s.notes,
                "after_hash": s.after_hash,
            })
        })
        .collect();
    json!({
        "format_version": plan.format_version,
        "rekon_version": plan.rekon_version,
        "source": {
            "repo": plan.source.spec.repo,
            "ref": plan.source.spec.git_ref,
            "path": plan.source.spec.path,
            "files": plan.source.spec.files,
            "revision": plan.source.revision,
        },
        "state": {"lineage": plan.lineage, "serial": plan.serial},
        "host": plan.host,
        "created_at": plan.created_at,
        "resource_changes": changes,
        "nodes": plan.nodes,
        "placements": plan.placements.iter().map(|p| json!({
            "pod": p.pod.to_string(),
            "owner": p.owner.to_string(),
            "node": p.node,
            "from": p.from,
            "unschedulable": p.unschedulable,
            "reason": p.reason,
            "still_pending": p.still_pending,
        })).collect::<Vec<_>>(),
        "change_summary": {"add": plan.summary.add, "change": plan.summary.change, "remove": plan.summary.destroy},
        "notes": plan.notes,
        "kept": plan.kept.iter().map(|id| id.to_string()).collect::<Vec<_>>(),
    })
}
