//! Scenario tests of stopping: graceful deletion with preStop inside the grace budget,
//! SIGKILL at the deadline, sidecars after app containers in reverse order, and pods that
//! finish on their own.

use super::testkit::*;
use super::*;
use crate::runtime::status::{ContainerState, PodPhase};
use std::time::Duration;

/// Boots a pod and starts every container in order, returning it at t=10.
fn running(pod: PodInput) -> Pod {
    let mut p = Pod::new(pod);
    let mut actions = p.boot();
    while let Some(Action::StartContainer { name, .. }) = actions.first().cloned() {
        actions = p.ev(started(&name));
    }
    assert!(actions.is_empty(), "{actions:?}");
    p.at(10.0);
    p
}

fn pre_stop(name: &str, secs: u64) -> Action {
    Action::RunPreStop {
        name: name.into(),
        timeout: Duration::from_secs(secs),
    }
}

#[test]
fn deletion_stops_app_containers_then_sidecars_in_reverse_order() {
    let pod = PodInput::new("p")
        .init(c("first").sidecar().pre_stop())
        .init(c("second").sidecar())
        .container(c("web").pre_stop())
        .container(c("log"));
    let mut p = running(pod);
    assert_eq!(p.status().phase, PodPhase::Running);
    let delete = Event::DeleteRequested {
        grace_period_seconds: None,
    };
    // preStop hooks (sidecars' too) start at once with the whole budget; plain containers get
    // the stop signal; sidecars then wait for their turn.
    assert_eq!(
        p.ev(delete),
        vec![pre_stop("first", 30), pre_stop("web", 30), term("log")]
    );
    assert_eq!(p.wakeup(), Some(40.0));
    assert!(p.at(11.0).ev(exited("log", 0)).is_empty());
    assert!(
        p.at(12.0)
            .ev(Event::PreStopFinished { name: "first".into() })
            .is_empty()
    );
    // web's hook took 5.5 s: 30 - 5 = 25 s left before SIGKILL.
    let hook_done = Event::PreStopFinished { name: "web".into() };
    assert_eq!(p.at(15.5).ev(hook_done), vec![term("web")]);
    assert_eq!(p.wakeup(), Some(40.0));
    assert_eq!(p.at(16.0).ev(exited("web", 0)), vec![term("second")]);
    assert_eq!(p.at(17.0).ev(signalled("second", 15)), vec![term("first")]);
    assert_eq!(p.state("second"), "Terminated:Error:143");
    assert_eq!(p.status().phase, PodPhase::Running);
    // first waited from 12 to 17: 28 - 5 = 23 s left, so SIGKILL at 40.
    assert_eq!(p.wakeup(), Some(40.0));
    assert_eq!(p.at(40.0).tick(), vec![kill("first")]);
    let actions = p.at(40.2).ev(signalled("first", 9));
    assert_eq!(actions, vec![Action::DestroySandbox, Action::Done]);
    // Sidecars do not count: the app containers exited 0, so the deleted pod Succeeded.
    let s = p.status();
    assert_eq!(s.phase, PodPhase::Succeeded);
    assert_eq!(s.conditions[0].status, "False");
    assert!(p.at(100.0).tick().is_empty());
    assert_eq!(p.wakeup(), None);
}

#[test]
fn sigkill_at_the_deadline_with_a_two_second_minimum_after_pre_stop() {
    // (grace, preStop returns after, SIGTERM at, SIGKILL at)
    let table = [
        (10, None, 20.0, 22.0),
        (10, Some(3.0), 13.0, 20.0),
        (10, Some(9.5), 19.5, 21.5),
        (0, None, 10.0, 12.0),
    ];
    for (grace, hook, term_at, kill_at) in table {
        let mut p = running(PodInput::new("p").container(c("web").pre_stop()));
        let delete = Event::DeleteRequested {
            grace_period_seconds: Some(grace),
        };
        let first = p.ev(delete);
        if grace == 0 {
            assert_eq!(first, vec![term("web")], "a zero budget skips preStop");
        } else {
            assert_eq!(first, vec![pre_stop("web", grace)]);
            if let Some(h) = hook {
                assert_eq!(
                    p.at(10.0 + h).ev(Event::PreStopFinished { name: "web".into() }),
                    vec![term("web")]
                );
            } else {
                assert_eq!(p.wakeup(), Some(term_at));
                assert_eq!(p.at(term_at).tick(), vec![term("web")]);
            }
        }
        assert_eq!(p.wakeup(), Some(kill_at), "grace {grace} hook {hook:?}");
        assert!(p.at(kill_at - 0.1).tick().is_empty());
        assert_eq!(p.at(kill_at).tick(), vec![kill("web")]);
        assert_eq!(p.ev(signalled("web", 9)), vec![Action::DestroySandbox, Action::Done]);
        assert_eq!(
            (p.status().phase, p.state("web")),
            (PodPhase::Failed, "Terminated:Error:137".into())
        );
    }
}

#[test]
fn deletion_stops_restarts_and_probe_kills() {
    let mut p = running(PodInput::new("p").container(c("web")).container(c("log")));
    assert_eq!(p.ev(exited("log", 1)), vec![start("log")]);
    p.ev(started("log"));
    assert!(p.at(11.0).ev(exited("log", 1)).is_empty());
    assert_eq!(p.state("log"), "Waiting:CrashLoopBackOff");
    assert_eq!(
        p.ev(Event::DeleteRequested {
            grace_period_seconds: None
        }),
        vec![term("web")]
    );
    assert_eq!(p.state("log"), "Terminated:Error:1", "no restart is pending any more");
    assert!(p.ev(probe("web", ProbeKind::Liveness, false)).is_empty());
    assert_eq!(
        p.wakeup(),
        Some(41.0),
        "the backoff timer is gone, only SIGKILL remains"
    );
    assert_eq!(
        p.at(12.0).ev(signalled("web", 15)),
        vec![Action::DestroySandbox, Action::Done]
    );
    assert_eq!(p.status().phase, PodPhase::Failed);
}

#[test]
fn deleting_before_anything_ran_reports_failed_with_unknown_init_status() {
    let mut p = Pod::new(PodInput::new("p").init(c("setup")).container(c("web")));
    assert_eq!(p.tick(), vec![Action::CreateSandbox]);
    let actions = p.at(1.0).ev(Event::DeleteRequested {
        grace_period_seconds: None,
    });
    assert_eq!(actions, vec![Action::DestroySandbox, Action::Done]);
    let s = p.status();
    assert_eq!(s.phase, PodPhase::Failed);
    assert_eq!(
        s.init_container_statuses[0].state,
        ContainerState::Terminated {
            exit_code: 137,
            reason: "ContainerStatusUnknown".into(),
            message: Some("The container could not be located when the pod was terminated".into()),
            started_at: None,
            finished_at: "2023-11-14T22:13:21Z".into(),
        }
    );
    assert_eq!(p.state("web"), "Waiting:PodInitializing");
}

#[test]
fn deletion_while_a_container_is_starting_waits_for_it_then_stops_it() {
    let mut p = Pod::new(PodInput::new("p").container(c("web")));
    assert_eq!(p.boot(), vec![start("web")]);
    assert!(
        p.at(1.0)
            .ev(Event::DeleteRequested {
                grace_period_seconds: Some(5)
            })
            .is_empty()
    );
    assert_eq!(p.at(2.0).ev(started("web")), vec![term("web")]);
    assert_eq!(p.wakeup(), Some(6.0), "the budget counts from the deletion");
}

#[test]
fn finished_pod_stops_its_sidecars_in_reverse_order_and_succeeds() {
    let pod = PodInput::new("p")
        .restart_policy(RestartPolicy::Never)
        .init(c("a").sidecar())
        .init(c("b").sidecar())
        .container(c("job"));
    let mut p = running(pod);
    assert_eq!(p.ev(exited("job", 0)), vec![term("b")]);
    assert_eq!(
        p.status().phase,
        PodPhase::Running,
        "a running sidecar keeps the phase Running"
    );
    assert_eq!(p.at(11.0).ev(signalled("b", 15)), vec![term("a")]);
    assert_eq!(
        p.at(12.0).ev(signalled("a", 15)),
        vec![Action::DestroySandbox, Action::Done]
    );
    let s = p.status();
    assert_eq!(s.phase, PodPhase::Succeeded);
    assert_eq!(p.state("job"), "Terminated:Completed:0");
    assert_eq!(s.conditions[1].reason.as_deref(), Some("PodCompleted"));
}

#[test]
fn final_phase_comes_from_app_exit_codes_and_sticks() {
    let pod = PodInput::new("p")
        .restart_policy(RestartPolicy::Never)
        .init(c("proxy").sidecar())
        .container(c("job"));
    let mut p = running(pod);
    p.ev(exited("job", 2));
    assert_eq!(p.status().phase, PodPhase::Running);
    // The sidecar may exit 0 on SIGTERM; the app's failure still decides.
    p.at(11.0).ev(exited("proxy", 0));
    assert_eq!(p.status().phase, PodPhase::Failed);
    assert!(p.m.is_done());
    assert_eq!(p.m.sticky_phase, Some(PodPhase::Failed));
    assert_eq!(p.at(500.0).status().phase, PodPhase::Failed);
}

#[test]
fn a_second_deletion_with_a_shorter_grace_period_moves_the_deadlines_in_never_out() {
    // A container that ignores SIGTERM, deleted with 30 s: SIGKILL would come at 40.
    let mut p = running(PodInput::new("p").container(c("app")));
    let delete = |secs| Event::DeleteRequested {
        grace_period_seconds: Some(secs),
    };
    assert_eq!(p.ev(delete(30)), vec![term("app")]);
    assert_eq!(p.wakeup(), Some(40.0));
    // A longer period later changes nothing.
    assert!(p.at(12.0).ev(delete(60)).is_empty());
    assert_eq!(p.wakeup(), Some(40.0));
    // `delete --grace-period=5` at 15: SIGKILL at 20 instead of 40.
    assert!(p.at(15.0).ev(delete(5)).is_empty());
    assert_eq!(p.wakeup(), Some(20.0));
    assert_eq!(p.at(20.0).tick(), vec![kill("app")]);

    // During a preStop hook: the hook is abandoned at the new deadline, and the stop signal
    // then still gets its 2 s minimum.
    let mut p = running(PodInput::new("p").container(c("web").pre_stop()));
    assert_eq!(p.ev(delete(30)), vec![pre_stop("web", 30)]);
    assert!(p.at(11.0).ev(delete(1)).is_empty());
    assert_eq!(p.wakeup(), Some(12.0));
    assert_eq!(p.at(12.0).tick(), vec![term("web")]);
    assert_eq!(p.wakeup(), Some(14.0));
    assert_eq!(p.at(14.0).tick(), vec![kill("web")]);
}
