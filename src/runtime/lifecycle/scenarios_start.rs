//! Scenario tests of starting and restarting: init order, sidecars, postStart, restart
//! policies, CrashLoopBackOff, image and start errors.

use super::testkit::*;
use super::*;
use crate::runtime::status::{ContainerState, PodCondition, PodPhase};

fn cond(type_: &str, status: &str, reason: Option<&str>, message: Option<&str>, at: &str) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.map(Into::into),
        message: message.map(Into::into),
        last_transition_time: Some(at.into()),
    }
}

#[test]
fn init_containers_run_one_at_a_time_in_order_then_app_containers() {
    let mut p = Pod::new(PodInput::new("p").init(c("a")).init(c("b")).container(c("web")));
    assert_eq!(p.boot(), vec![start_init("a")]);
    let s = p.status();
    assert_eq!(s.phase, PodPhase::Pending);
    assert_eq!(s.start_time.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(
        s.conditions,
        vec![
            cond("PodReadyToStartContainers", "True", None, None, "2023-11-14T22:13:20Z"),
            cond(
                "Initialized",
                "False",
                Some("ContainersNotInitialized"),
                Some("containers with incomplete status: [a b]"),
                "2023-11-14T22:13:20Z"
            ),
            cond(
                "Ready",
                "False",
                Some("ContainersNotReady"),
                Some("containers with unready status: [web]"),
                "2023-11-14T22:13:20Z"
            ),
            cond(
                "ContainersReady",
                "False",
                Some("ContainersNotReady"),
                Some("containers with unready status: [web]"),
                "2023-11-14T22:13:20Z"
            ),
            cond("PodScheduled", "True", None, None, "2023-11-14T22:13:20Z"),
        ]
    );
    assert_eq!(p.state("a"), "Waiting:PodInitializing");
    assert!(p.at(1.0).ev(started("a")).is_empty());
    assert_eq!(
        (p.state("a"), p.state("b"), p.state("web")),
        (
            "Running".into(),
            "Waiting:PodInitializing".into(),
            "Waiting:PodInitializing".into()
        )
    );
    assert_eq!(p.at(2.0).ev(exited("a", 0)), vec![start_init("b")]);
    assert_eq!(p.state("a"), "Terminated:Completed:0");
    assert!(p.container("a").ready);
    let init = &p.status().conditions[1];
    assert_eq!(init.message.as_deref(), Some("containers with incomplete status: [b]"));
    p.at(3.0).ev(started("b"));
    assert_eq!(p.at(4.0).ev(exited("b", 0)), vec![start("web")]);
    assert_eq!(p.status().phase, PodPhase::Pending);
    assert!(p.at(5.0).ev(started("web")).is_empty());
    let s = p.status();
    assert_eq!(s.phase, PodPhase::Running);
    assert!(s.is_ready());
    let times: Vec<_> = s
        .conditions
        .iter()
        .map(|c| c.last_transition_time.clone().unwrap())
        .collect();
    let want = [
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:13:24Z",
        "2023-11-14T22:13:25Z",
        "2023-11-14T22:13:25Z",
        "2023-11-14T22:13:20Z",
    ];
    assert_eq!(times, want);
    assert_eq!(
        p.container("web").state,
        ContainerState::Running {
            started_at: "2023-11-14T22:13:25Z".into()
        }
    );
    assert_eq!(p.wakeup(), None, "nothing to wait for: zero idle CPU");
}

#[test]
fn failing_init_container_fails_the_pod_under_never() {
    let pod = PodInput::new("p")
        .restart_policy(RestartPolicy::Never)
        .init(c("a"))
        .container(c("web"));
    let mut p = Pod::new(pod);
    p.boot();
    p.at(1.0).ev(started("a"));
    assert_eq!(p.at(2.0).ev(exited("a", 1)), vec![Action::DestroySandbox, Action::Done]);
    let s = p.status();
    assert_eq!(s.phase, PodPhase::Failed);
    assert_eq!(p.state("a"), "Terminated:Error:1");
    assert_eq!(p.state("web"), "Waiting:PodInitializing");
    let ready = &s.conditions[3];
    assert_eq!(
        (ready.reason.as_deref(), ready.message.as_deref()),
        (Some("PodFailed"), None)
    );
    assert!(p.at(50.0).tick().is_empty());
}

#[test]
fn failing_init_container_is_retried_with_backoff_under_always_and_on_failure() {
    for policy in [RestartPolicy::Always, RestartPolicy::OnFailure] {
        let mut p = Pod::new(
            PodInput::new("p")
                .restart_policy(policy)
                .init(c("a"))
                .container(c("web")),
        );
        p.boot();
        p.at(1.0).ev(started("a"));
        assert_eq!(p.at(2.0).ev(exited("a", 1)), vec![start_init("a")], "{policy:?}");
        p.at(2.0).ev(started("a"));
        assert!(p.at(3.0).ev(exited("a", 1)).is_empty());
        assert_eq!(p.state("a"), "Waiting:CrashLoopBackOff");
        assert_eq!(p.status().phase, PodPhase::Pending);
        assert_eq!(p.wakeup(), Some(13.0));
        assert_eq!(p.at(13.0).tick(), vec![start_init("a")]);
        p.ev(started("a"));
        assert_eq!(p.at(14.0).ev(exited("a", 0)), vec![start("web")]);
        assert_eq!(p.container("a").restart_count, 2);
    }
}

#[test]
fn on_failure_pod_whose_container_exits_zero_succeeds() {
    let mut p = Pod::new(
        PodInput::new("p")
            .restart_policy(RestartPolicy::OnFailure)
            .container(c("job")),
    );
    assert_eq!(p.boot(), vec![start("job")]);
    assert_eq!(p.state("job"), "Waiting:ContainerCreating");
    p.at(1.0).ev(started("job"));
    assert_eq!(
        p.at(9.0).ev(exited("job", 0)),
        vec![Action::DestroySandbox, Action::Done]
    );
    let s = p.status();
    assert_eq!(s.phase, PodPhase::Succeeded);
    let got: Vec<_> = s
        .conditions
        .iter()
        .map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("PodReadyToStartContainers", "False", None),
            ("Initialized", "True", Some("PodCompleted")),
            ("Ready", "False", Some("PodCompleted")),
            ("ContainersReady", "False", Some("PodCompleted")),
            ("PodScheduled", "True", None),
        ]
    );
    assert_eq!(
        p.container("job").state,
        ContainerState::Terminated {
            exit_code: 0,
            reason: "Completed".into(),
            message: None,
            started_at: Some("2023-11-14T22:13:21Z".into()),
            finished_at: "2023-11-14T22:13:29Z".into(),
        }
    );
}

#[test]
fn on_failure_restarts_only_failures_and_never_restarts_nothing() {
    let mut p = Pod::new(
        PodInput::new("p")
            .restart_policy(RestartPolicy::OnFailure)
            .container(c("job")),
    );
    p.boot();
    p.at(1.0).ev(started("job"));
    assert_eq!(p.at(2.0).ev(exited("job", 3)), vec![start("job")]);
    assert_eq!(p.status().phase, PodPhase::Running);
    let mut p = Pod::new(
        PodInput::new("p")
            .restart_policy(RestartPolicy::Never)
            .container(c("job")),
    );
    p.boot();
    p.at(1.0).ev(started("job"));
    assert_eq!(
        p.at(2.0).ev(exited("job", 3)),
        vec![Action::DestroySandbox, Action::Done]
    );
    assert_eq!(
        (p.status().phase, p.state("job")),
        (PodPhase::Failed, "Terminated:Error:3".into())
    );
}

#[test]
fn crash_loop_backs_off_10s_doubling_to_300s_with_the_kubelet_message() {
    let mut p = Pod::new(PodInput::new("p").container(c("web")));
    p.boot();
    p.at(0.0).ev(started("web"));
    // The first restart is immediate: doBackOff finds no entry and only records one.
    assert_eq!(p.at(1.0).ev(exited("web", 1)), vec![start("web")]);
    p.ev(started("web"));
    assert_eq!(p.container("web").restart_count, 1);
    let mut now = 1.0;
    let want = ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s", "5m0s"];
    let delays = [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0];
    for (i, (label, delay)) in want.iter().zip(delays).enumerate() {
        now += 1.0;
        assert!(p.at(now).ev(exited("web", 1)).is_empty());
        let web = p.container("web");
        assert_eq!(p.state("web"), "Waiting:CrashLoopBackOff");
        let message = format!("back-off {label} restarting failed container=web pod=p");
        assert_eq!(waiting_message(&web), Some(message));
        assert_eq!(web.restart_count, i as u32 + 1);
        assert!(matches!(
            web.last_state,
            Some(ContainerState::Terminated { exit_code: 1, .. })
        ));
        assert_eq!(p.status().phase, PodPhase::Running);
        assert_eq!(p.wakeup(), Some(now + delay));
        assert!(p.at(now + delay - 0.5).tick().is_empty());
        now += delay;
        assert_eq!(p.at(now).tick(), vec![start("web")]);
        p.ev(started("web"));
        assert_eq!(p.container("web").restart_count, i as u32 + 2);
    }
}

#[test]
fn backoff_resets_when_the_container_ran_more_than_ten_minutes_since_its_last_restart() {
    // (seconds run before the crash, what the crash leads to)
    for (ran, want) in [(600.0, Some("back-off 20s")), (601.0, None)] {
        let mut p = Pod::new(PodInput::new("p").container(c("web")));
        p.boot();
        p.ev(started("web"));
        p.at(1.0).ev(exited("web", 1));
        p.ev(started("web"));
        p.at(2.0).ev(exited("web", 1));
        assert_eq!(p.at(12.0).tick(), vec![start("web")]);
        p.ev(started("web"));
        let actions = p.at(12.0 + ran).ev(exited("web", 1));
        let message = waiting_message(&p.container("web"));
        match want {
            Some(prefix) => {
                assert!(actions.is_empty());
                assert!(message.unwrap().starts_with(prefix), "ran {ran}");
            }
            None => {
                assert_eq!(actions, vec![start("web")], "ran {ran}");
                p.ev(started("web"));
                p.at(12.0 + ran + 1.0).ev(exited("web", 1));
                let message = waiting_message(&p.container("web")).unwrap();
                assert_eq!(message, "back-off 10s restarting failed container=web pod=p");
            }
        }
    }
}

#[test]
fn oom_kill_is_reported_as_oom_killed_with_137() {
    let mut p = Pod::new(PodInput::new("p").container(c("web")));
    p.boot();
    p.ev(started("web"));
    let oom = Event::ContainerExited {
        name: "web".into(),
        exit: Exit::Signal(9),
        oom_killed: true,
    };
    assert_eq!(p.at(3.0).ev(oom.clone()), vec![start("web")]);
    p.ev(started("web"));
    assert_eq!(
        p.container("web").last_state.as_ref().map(short),
        Some("Terminated:OOMKilled:137".into())
    );
    let mut p = Pod::new(
        PodInput::new("p")
            .restart_policy(RestartPolicy::Never)
            .container(c("web")),
    );
    p.boot();
    p.ev(started("web"));
    p.at(3.0).ev(oom);
    assert_eq!(
        (p.state("web"), p.status().phase),
        ("Terminated:OOMKilled:137".into(), PodPhase::Failed)
    );
}

#[test]
fn missing_executable_is_start_error_128_then_run_container_error() {
    let message = r#"exec: "foo": executable file not found in $PATH"#;
    let failed = Event::ContainerCreateFailed {
        name: "web".into(),
        failure: CreateFailure::ExecutableNotFound {
            message: message.into(),
        },
    };
    let mut p = Pod::new(
        PodInput::new("p")
            .restart_policy(RestartPolicy::Never)
            .container(c("web")),
    );
    p.boot();
    assert_eq!(p.at(1.0).ev(failed.clone()), vec![Action::DestroySandbox, Action::Done]);
    assert_eq!(
        p.container("web").state,
        ContainerState::Terminated {
            exit_code: 128,
            reason: "StartError".into(),
            message: Some(message.into()),
            started_at: Some("1970-01-01T00:00:00Z".into()),
            finished_at: "2023-11-14T22:13:21Z".into(),
        }
    );
    assert_eq!(p.status().phase, PodPhase::Failed);

    let mut p = Pod::new(PodInput::new("p").container(c("web")));
    p.boot();
    p.m.handle(t(1.0), failed.clone()).unwrap();
    assert_eq!(p.state("web"), "Waiting:RunContainerError");
    assert_eq!(waiting_message(&p.container("web")).as_deref(), Some(message));
    assert_eq!(
        p.container("web").last_state.as_ref().map(short),
        Some("Terminated:StartError:128".into())
    );
    assert_eq!(p.tick(), vec![start("web")]);
    assert!(p.at(2.0).ev(failed).is_empty());
    assert_eq!(
        (p.state("web"), p.container("web").restart_count),
        ("Waiting:CrashLoopBackOff".into(), 1)
    );
}

#[test]
fn missing_image_is_err_image_pull_then_image_pull_back_off() {
    let mut p = Pod::new(PodInput::new("p").container(ContainerInput::new("web", "nope:1")));
    p.boot();
    let missing = || Event::ContainerCreateFailed {
        name: "web".into(),
        failure: CreateFailure::ImageMissing {
            message: "image \"nope:1\" is not in the local store".into(),
        },
    };
    assert!(p.ev(missing()).is_empty());
    assert_eq!(p.state("web"), "Waiting:ErrImagePull");
    assert_eq!(
        waiting_message(&p.container("web")).as_deref(),
        Some("image \"nope:1\" is not in the local store")
    );
    assert_eq!(p.wakeup(), Some(10.0));
    assert_eq!(p.at(10.0).tick(), vec![start("web")]);
    assert!(p.ev(missing()).is_empty());
    assert_eq!(p.state("web"), "Waiting:ErrImagePull");
    assert_eq!(p.wakeup(), Some(20.0), "the status changes at the next resync");
    assert!(p.at(20.0).tick().is_empty());
    assert_eq!(p.state("web"), "Waiting:ImagePullBackOff");
    assert_eq!(
        waiting_message(&p.container("web")).as_deref(),
        Some("Back-off pulling image \"nope:1\"")
    );
    assert_eq!((p.wakeup(), p.status().phase), (Some(30.0), PodPhase::Pending));
    assert_eq!(p.at(30.0).tick(), vec![start("web")]);
    p.ev(started("web"));
    assert_eq!(
        (p.state("web"), p.container("web").restart_count),
        ("Running".into(), 0)
    );
}

#[test]
fn config_error_is_shown_and_retried_at_the_next_resync() {
    let mut p = Pod::new(PodInput::new("p").container(c("web")));
    p.boot();
    let message = "configmap \"settings\" not found";
    let failure = CreateFailure::ConfigError {
        message: message.into(),
    };
    assert!(
        p.ev(Event::ContainerCreateFailed {
            name: "web".into(),
            failure
        })
        .is_empty()
    );
    assert_eq!(p.state("web"), "Waiting:CreateContainerConfigError");
    assert_eq!(waiting_message(&p.container("web")).as_deref(), Some(message));
    assert_eq!(p.wakeup(), Some(10.0));
    assert_eq!(p.at(10.0).tick(), vec![start("web")]);
}

#[test]
fn post_start_gates_running_and_the_next_container() {
    let pod = PodInput::new("p").container(c("web").post_start()).container(c("log"));
    let mut p = Pod::new(pod);
    assert_eq!(p.boot(), vec![start("web")]);
    assert_eq!(
        p.at(1.0).ev(started("web")),
        vec![Action::RunPostStart { name: "web".into() }]
    );
    assert_eq!(
        (p.state("web"), p.status().phase),
        ("Waiting:ContainerCreating".into(), PodPhase::Pending)
    );
    assert!(p.at(2.0).tick().is_empty(), "log waits for web's hook");
    assert_eq!(
        p.at(3.0).ev(Event::PostStartSucceeded { name: "web".into() }),
        vec![start("log")]
    );
    assert_eq!(
        p.container("web").state,
        ContainerState::Running {
            started_at: "2023-11-14T22:13:21Z".into()
        }
    );
}

#[test]
fn failed_post_start_kills_the_container_and_it_restarts_per_policy() {
    let mut p = Pod::new(PodInput::new("p").container(c("web").post_start()));
    p.boot();
    p.at(1.0).ev(started("web"));
    let failed = Event::PostStartFailed {
        name: "web".into(),
        message: "hook exited with 1".into(),
    };
    assert_eq!(p.at(2.0).ev(failed), vec![term("web")]);
    assert_eq!(p.state("web"), "Waiting:PostStartHookError");
    assert_eq!(
        waiting_message(&p.container("web")).as_deref(),
        Some("hook exited with 1")
    );
    assert_eq!(p.wakeup(), Some(32.0));
    assert_eq!(p.at(32.0).tick(), vec![kill("web")]);
    assert_eq!(p.at(32.5).ev(signalled("web", 9)), vec![start("web")]);
    assert_eq!(
        p.container("web").last_state.as_ref().map(short),
        Some("Terminated:Error:137".into())
    );
}

#[test]
fn sidecar_must_start_before_the_next_init_container_and_always_restarts() {
    let pod = PodInput::new("p")
        .restart_policy(RestartPolicy::Never)
        .init(c("proxy").sidecar().startup_probe())
        .init(c("setup"))
        .container(c("web"));
    let mut p = Pod::new(pod);
    assert_eq!(p.boot(), vec![start_init("proxy")]);
    assert!(p.at(1.0).ev(started("proxy")).is_empty());
    let s = p.status();
    assert_eq!(
        s.conditions[1].message.as_deref(),
        Some("containers with incomplete status: [proxy setup]")
    );
    assert_eq!(s.phase, PodPhase::Pending);
    assert!(!p.container("proxy").started);
    assert_eq!(
        p.at(2.0).ev(probe("proxy", ProbeKind::Startup, true)),
        vec![start_init("setup")]
    );
    p.ev(started("setup"));
    assert_eq!(p.at(3.0).ev(exited("setup", 0)), vec![start("web")]);
    p.ev(started("web"));
    // A sidecar restarts whatever the pod's restartPolicy.
    assert_eq!(p.at(4.0).ev(exited("proxy", 1)), vec![start_init("proxy")]);
    assert_eq!(p.status().phase, PodPhase::Running);
}

#[test]
fn readiness_and_liveness_results_drive_ready_and_restarts() {
    let mut p = Pod::new(PodInput::new("p").container(c("web").readiness_probe()));
    p.boot();
    p.at(1.0).ev(started("web"));
    let s = p.status();
    assert_eq!((s.phase, s.is_ready()), (PodPhase::Running, false));
    assert_eq!(
        s.conditions[2].message.as_deref(),
        Some("containers with unready status: [web]")
    );
    p.at(5.0).ev(probe("web", ProbeKind::Readiness, true));
    let s = p.status();
    assert!(s.is_ready());
    assert_eq!(
        s.conditions[2].last_transition_time.as_deref(),
        Some("2023-11-14T22:13:25Z")
    );
    assert_eq!(
        p.at(9.0).ev(probe("web", ProbeKind::Liveness, false)),
        vec![term("web")]
    );
    // A process that exits 0 on SIGTERM is restarted too: the probe kill forces it.
    let mut q = Pod::new(
        PodInput::new("q")
            .restart_policy(RestartPolicy::OnFailure)
            .container(c("web")),
    );
    q.boot();
    q.ev(started("web"));
    assert_eq!(
        q.at(9.0).ev(probe("web", ProbeKind::Liveness, false)),
        vec![term("web")]
    );
    assert_eq!(q.at(10.0).ev(exited("web", 0)), vec![start("web")]);
    assert_eq!(p.at(10.0).ev(signalled("web", 15)), vec![start("web")]);
    p.ev(started("web"));
    assert!(!p.status().is_ready(), "a new instance starts unready");
}

#[test]
fn invalid_pods_and_unknown_containers_are_errors() {
    let err = PodMachine::new(PodInput::new("p")).unwrap_err();
    assert_eq!(err.to_string(), "pod p has no containers");
    let err = PodMachine::new(PodInput::new("p").init(c("a")).container(c("a"))).unwrap_err();
    assert_eq!(err.to_string(), "pod p declares container a more than once");
    let mut m = PodMachine::new(PodInput::new("p").container(c("web"))).unwrap();
    let err = m.handle(t(0.0), started("nope")).unwrap_err();
    assert_eq!(
        err,
        LifecycleError::UnknownContainer {
            pod: "p".into(),
            name: "nope".into()
        }
    );
    assert_eq!(err.to_string(), "pod p has no container named nope");
}
