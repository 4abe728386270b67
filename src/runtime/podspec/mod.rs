//! Translating a Kubernetes `PodSpec` into the runtime's lower-level inputs: the lifecycle
//! machine's [`PodInput`], cgroup limits and the QoS class (`spec/k8s-semantics.md` §8),
//! argv, environment and volume mounts of each container.

pub mod command;
pub mod data;
pub mod env;
pub mod payload;
pub mod token;
pub mod user;
pub mod volumes;

use crate::manifest::types::container::Container;
use crate::manifest::types::pod::PodSpec;
use crate::runtime::PodRequest;
use crate::runtime::lifecycle::spec::DEFAULT_GRACE_PERIOD_SECONDS;
use crate::runtime::lifecycle::{ContainerInput, PodInput, RestartPolicy};
use crate::runtime::linux::CgroupLimits;

/// The lifecycle machine's view of the pod.
pub fn lifecycle_input(req: &PodRequest) -> PodInput {
    let spec = &req.spec;
    let input = |c: &Container| {
        let hooks = c.lifecycle.as_ref();
        ContainerInput {
            name: c.name.clone(),
            image: c.image().to_string(),
            sidecar: false,
            has_post_start: hooks.is_some_and(|l| l.post_start.is_some()),
            has_pre_stop: hooks.is_some_and(|l| l.pre_stop.is_some()),
            has_readiness_probe: c.readiness_probe.is_some(),
            has_startup_probe: c.startup_probe.is_some(),
        }
    };
    let restart_policy = match spec.restart_policy.as_deref() {
        Some("Never") => RestartPolicy::Never,
        Some("OnFailure") => RestartPolicy::OnFailure,
        _ => RestartPolicy::Always,
    };
    PodInput {
        // Upstream prints `format.Pod`: name_namespace(uid).
        name: format!("{}_{}({})", req.name, req.namespace, req.uid),
        restart_policy,
        init_containers: spec
            .init_containers
            .iter()
            .map(|c| ContainerInput {
                sidecar: c.is_sidecar(),
                ..input(c)
            })
            .collect(),
        containers: spec.containers.iter().map(input).collect(),
        termination_grace_period_seconds: spec
            .termination_grace_period_seconds
            .map_or(DEFAULT_GRACE_PERIOD_SECONDS, |s| s.max(0) as u64),
    }
}

/// A container's cpu request, cpu limit (millicores) and memory request, memory limit
/// (bytes); a missing request copies the limit (`SetDefaults_Pod`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// `requests.cpu` in millicores; None when neither request nor limit is set.
    pub cpu_request: Option<u64>,
    /// `limits.cpu` in millicores, when set.
    pub cpu_limit: Option<u64>,
    /// `requests.memory` in bytes; None when neither request nor limit is set.
    pub memory_request: Option<u64>,
    /// `limits.memory` in bytes, when set.
    pub memory_limit: Option<u64>,
}

impl Resources {
    /// The resources of `container`.
    pub fn of(container: &Container) -> Resources {
        let r = &container.resources;
        let milli = |k: &str, list: &crate::manifest::types::container::ResourceList| {
            list.get(k).map(|q| q.milli_value().max(0) as u64)
        };
        let bytes = |k: &str, list: &crate::manifest::types::container::ResourceList| {
            list.get(k).map(|q| q.value().max(0) as u64)
        };
        let cpu_limit = milli("cpu", &r.limits);
        let memory_limit = bytes("memory", &r.limits);
        Resources {
            cpu_request: milli("cpu", &r.requests).or(cpu_limit),
            cpu_limit,
            memory_request: bytes("memory", &r.requests).or(memory_limit),
            memory_limit,
        }
    }

    /// The container cgroup's limits.
    pub fn limits(&self) -> CgroupLimits {
        CgroupLimits::from_resources(self.cpu_request, self.cpu_limit, self.memory_limit)
    }
}

/// The pod cgroup's limits: the sums over app containers (each init container runs alone, so
/// the larger of the two counts), a limit only when every container sets one.
pub fn pod_limits(spec: &PodSpec) -> CgroupLimits {
    let apps: Vec<Resources> = spec.containers.iter().map(Resources::of).collect();
    let inits: Vec<Resources> = spec.init_containers.iter().map(Resources::of).collect();
    let sum = |f: fn(&Resources) -> Option<u64>, all: bool| -> Option<u64> {
        let values: Vec<Option<u64>> = apps.iter().map(f).collect();
        if all && values.iter().any(Option::is_none) {
            return None;
        }
        let apps_total: u64 = values.iter().flatten().sum();
        let init_max = inits.iter().filter_map(f).max().unwrap_or(0);
        if all && inits.iter().any(|r| f(r).is_none()) {
            return None;
        }
        Some(apps_total.max(init_max)).filter(|v| *v > 0 || all)
    };
    CgroupLimits::from_resources(
        sum(|r| r.cpu_request, false),
        sum(|r| r.cpu_limit, true),
        sum(|r| r.memory_limit, true),
    )
}

/// `status.qosClass` (`GetPodQOS`): only cpu and memory, across all containers.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let all: Vec<Resources> = spec
        .init_containers
        .iter()
        .chain(&spec.containers)
        .map(Resources::of)
        .collect();
    let any = all.iter().any(|r| {
        [r.cpu_request, r.cpu_limit, r.memory_request, r.memory_limit]
            .iter()
            .any(|v| v.is_some_and(|v| v > 0))
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = all.iter().all(|r| {
        r.cpu_limit.is_some()
            && r.memory_limit.is_some()
            && r.cpu_request == r.cpu_limit
            && r.memory_request == r.memory_limit
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}

/// `oom_score_adj` of a container (`GetContainerOOMScoreAdjust`, pkg/kubelet/qos/policy.go).
/// A signal as an image's `StopSignal` names it: `SIGQUIT`, `QUIT` (any case) or a number
/// (moby's `signal.ParseSignal`, which containerd uses).
pub fn parse_signal(text: &str) -> Option<nix::sys::signal::Signal> {
    use nix::sys::signal::Signal;
    let text = text.trim();
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse().ok()
}

/// The signal that stops a container of `image`: its `StopSignal`, else SIGTERM
/// (`StopContainer` in the CRI runtimes; an unparsable value falls back to SIGTERM).
pub fn stop_signal(image: &crate::runtime::image::ImageConfig) -> nix::sys::signal::Signal {
    image
        .stop_signal
        .as_deref()
        .and_then(parse_signal)
        .unwrap_or(nix::sys::signal::Signal::SIGTERM)
}

/// The `oom_score_adj` of a container's processes, as the kubelet sets it by QoS class:
/// -997 (Guaranteed), 1000 (BestEffort), else 1000 less the per-mille share of
/// `node_memory` (bytes) that `memory_request` takes, within 3..=999.
pub fn oom_score_adj(qos: &str, memory_request: Option<u64>, node_memory: u64) -> i32 {
    match qos {
        "Guaranteed" => -997,
        "BestEffort" => 1000,
        _ => {
            let request = memory_request.unwrap_or(0) as u128;
            let capacity = node_memory.max(1) as u128;
            let adj = 1000 - (1000 * request / capacity) as i64;
            adj.clamp(3, 999) as i32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_signals_parse_like_moby() {
        use nix::sys::signal::Signal;
        assert_eq!(parse_signal("SIGQUIT"), Some(Signal::SIGQUIT));
        assert_eq!(parse_signal("quit"), Some(Signal::SIGQUIT));
        assert_eq!(parse_signal("10"), Some(Signal::SIGUSR1));
        assert_eq!(parse_signal("SIGNOPE"), None);
        assert_eq!(parse_signal("99"), None);
        let image = |s: Option<&str>| crate::runtime::image::ImageConfig {
            stop_signal: s.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(stop_signal(&image(None)), Signal::SIGTERM);
        assert_eq!(stop_signal(&image(Some("SIGWINCH"))), Signal::SIGWINCH);
        assert_eq!(stop_signal(&image(Some("bogus"))), Signal::SIGTERM);
    }
    use crate::manifest::Quantity;

    fn container(name: &str, limits: &[(&str, &str)], requests: &[(&str, &str)]) -> Container {
        let mut c = Container {
            name: name.into(),
            image: Some("busybox".into()),
            ..Container::default()
        };
        for (k, v) in limits {
            c.resources.limits.insert(k.to_string(), Quantity::parse(v).unwrap());
        }
        for (k, v) in requests {
            c.resources.requests.insert(k.to_string(), Quantity::parse(v).unwrap());
        }
        c
    }

    fn spec(containers: Vec<Container>) -> PodSpec {
        PodSpec {
            containers,
            ..PodSpec::default()
        }
    }

    #[test]
    fn qos_classes_follow_get_pod_qos() {
        assert_eq!(qos_class(&spec(vec![container("a", &[], &[])])), "BestEffort");
        let full = [("cpu", "500m"), ("memory", "64Mi")];
        assert_eq!(qos_class(&spec(vec![container("a", &full, &[])])), "Guaranteed");
        let partial = container("b", &[("memory", "64Mi")], &[]);
        assert_eq!(qos_class(&spec(vec![container("a", &full, &[]), partial])), "Burstable");
        let lower = container("a", &full, &[("cpu", "100m")]);
        assert_eq!(qos_class(&spec(vec![lower])), "Burstable");
    }

    #[test]
    fn limits_default_requests_to_limits() {
        let c = container("a", &[("cpu", "500m"), ("memory", "32Mi")], &[]);
        let limits = Resources::of(&c).limits();
        assert_eq!(limits.memory_max, Some(32 << 20));
        assert_eq!(limits.cpu_shares, Some(512));
        assert_eq!(limits.cpu_quota.unwrap().quota_us, 50_000);
        let pod = pod_limits(&spec(vec![c.clone(), c]));
        assert_eq!(pod.memory_max, Some(64 << 20));
        let open = pod_limits(&spec(vec![container("x", &[], &[("cpu", "100m")])]));
        assert_eq!(
            (open.memory_max, open.cpu_quota, open.cpu_shares),
            (None, None, Some(102))
        );
    }

    #[test]
    fn oom_score_adjustments() {
        assert_eq!(oom_score_adj("Guaranteed", None, 1 << 30), -997);
        assert_eq!(oom_score_adj("BestEffort", None, 1 << 30), 1000);
        assert_eq!(oom_score_adj("Burstable", Some(1 << 29), 1 << 30), 500);
        assert_eq!(oom_score_adj("Burstable", Some(1 << 30), 1 << 30), 3);
        assert_eq!(oom_score_adj("Burstable", None, 1 << 30), 999);
    }

    #[test]
    fn lifecycle_input_reads_policy_grace_hooks_and_probes() {
        let mut app = container("app", &[], &[]);
        app.readiness_probe = Some(Default::default());
        let mut s = spec(vec![app]);
        s.restart_policy = Some("OnFailure".into());
        s.termination_grace_period_seconds = Some(5);
        let req = PodRequest {
            uid: "u1".into(),
            namespace: "default".into(),
            name: "p".into(),
            node: "n".into(),
            labels: Default::default(),
            annotations: Default::default(),
            spec: s,
            data: None,
            claims: Default::default(),
        };
        let input = lifecycle_input(&req);
        assert_eq!(input.name, "p_default(u1)");
        assert_eq!(input.restart_policy, RestartPolicy::OnFailure);
        assert_eq!(input.termination_grace_period_seconds, 5);
        assert!(!input.containers[0].has_post_start);
        assert!(input.containers[0].has_readiness_probe && !input.containers[0].has_startup_probe);
    }
}
