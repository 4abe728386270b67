//! kubectl's words for rollouts: the messages of `rollout status` and the table of
//! `rollout history` (kubectl `polymorphichelpers/rollout_status.go`, `history.go`;
//! spec/k8s-semantics.md §3.12), as pure functions of what the deployment reports.

/// What `rollout status` looks at: the Deployment's generation and spec replicas, and the
/// status its controller last wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusView {
    /// The Deployment's name, for the messages.
    pub name: String,
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`: the generation its controller last acted on.
    pub observed_generation: i64,
    /// `spec.replicas`.
    pub desired: i32,
    /// `status.replicas`: its active pods, old and new.
    pub replicas: i32,
    /// `status.updatedReplicas`: pods of the current template.
    pub updated: i32,
    /// `status.availableReplicas`: pods ready for at least minReadySeconds.
    pub available: i32,
    /// The Progressing condition's reason is `ProgressDeadlineExceeded`.
    pub deadline_exceeded: bool,
}

/// One step of `rollout status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusLine {
    /// Not done yet: print and keep watching.
    Waiting(String),
    /// Done: print and exit 0.
    Done(String),
    /// Will not finish: an error, exit non-zero.
    Failed(String),
}

/// `DeploymentStatusViewer.Status`, message for message.
pub fn status_line(v: &StatusView) -> StatusLine {
    let name = &v.name;
    if v.generation > v.observed_generation {
        return StatusLine::Waiting("Waiting for deployment spec update to be observed...".into());
    }
    if v.deadline_exceeded {
        return StatusLine::Failed(format!("deployment {name:?} exceeded its progress deadline"));
    }
    if v.updated < v.desired {
        return StatusLine::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {} out of {} new replicas have been updated...",
            v.updated, v.desired
        ));
    }
    if v.replicas > v.updated {
        return StatusLine::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            v.replicas - v.updated
        ));
    }
    if v.available < v.updated {
        return StatusLine::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {} of {} updated replicas are available...",
            v.available, v.updated
        ));
    }
    StatusLine::Done(format!("deployment {name:?} successfully rolled out"))
}

/// `rollout history deployment/NAME`: the revisions ascending with their change cause
/// (`kubernetes.io/change-cause`, else `<none>`), laid out as kubectl's tabwriter does
/// (padding 2).
pub fn history_table(name: &str, revisions: &[(i64, Option<String>)]) -> String {
    if revisions.is_empty() {
        return "No rollout history found.\n".into();
    }
    let mut sorted = revisions.to_vec();
    sorted.sort_by_key(|(r, _)| *r);
    let width = sorted
        .iter()
        .map(|(r, _)| r.to_string().len())
        .max()
        .unwrap_or(0)
        .max("REVISION".len())
        + 2;
    let mut out = format!("deployment.apps/{name} \n{:<width$}CHANGE-CAUSE\n", "REVISION");
    for (revision, cause) in sorted {
        out.push_str(&format!(
            "{:<width$}{}\n",
            revision.to_string(),
            cause.as_deref().unwrap_or("<none>")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(generation: i64, observed: i64, desired: i32, replicas: i32, updated: i32, available: i32) -> StatusView {
        StatusView {
            name: "web".into(),
            generation,
            observed_generation: observed,
            desired,
            replicas,
            updated,
            available,
            deadline_exceeded: false,
        }
    }

    #[test]
    fn status_messages_in_kubectls_order() {
        let cases = [
            (
                view(2, 1, 3, 3, 0, 3),
                StatusLine::Waiting("Waiting for deployment spec update to be observed...".into()),
            ),
            (
                view(2, 2, 3, 4, 1, 3),
                StatusLine::Waiting(
                    "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
                        .into(),
                ),
            ),
            (
                view(2, 2, 3, 4, 3, 3),
                StatusLine::Waiting(
                    "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
                        .into(),
                ),
            ),
            (
                view(2, 2, 3, 3, 3, 2),
                StatusLine::Waiting(
                    "Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are available...".into(),
                ),
            ),
            (
                view(2, 2, 3, 3, 3, 3),
                StatusLine::Done("deployment \"web\" successfully rolled out".into()),
            ),
        ];
        for (v, want) in cases {
            assert_eq!(status_line(&v), want, "{v:?}");
        }
        let stuck = StatusView {
            deadline_exceeded: true,
            ..view(2, 2, 3, 4, 1, 3)
        };
        assert_eq!(
            status_line(&stuck),
            StatusLine::Failed("deployment \"web\" exceeded its progress deadline".into())
        );
    }

    #[test]
    fn history_ascends_with_causes() {
        let table = history_table("web", &[(2, Some("image web:2".into())), (1, None), (10, None)]);
        assert_eq!(
            table,
            "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         image web:2\n10        <none>\n"
        );
        assert_eq!(history_table("web", &[]), "No rollout history found.\n");
    }
}
