//! The plain description of one pod that the lifecycle machine runs (no Kubernetes types).

/// The kubelet's default `terminationGracePeriodSeconds` (`SetDefaults_PodSpec`).
pub const DEFAULT_GRACE_PERIOD_SECONDS: u64 = 30;

/// `spec.restartPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    /// Restart containers whenever they exit.
    #[default]
    Always,
    /// Restart containers only when they exit with a non-zero code.
    OnFailure,
    /// Never restart containers.
    Never,
}

/// One init or app container, reduced to what the lifecycle needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInput {
    /// The container's name, unique in the pod.
    pub name: String,
    /// The image as the spec names it; reported in status and keying image pull back-off.
    pub image: String,
    /// Init containers only: `restartPolicy: Always`, a native sidecar.
    pub sidecar: bool,
    /// `lifecycle.postStart` is set.
    pub has_post_start: bool,
    /// `lifecycle.preStop` is set.
    pub has_pre_stop: bool,
    /// `readinessProbe` is set: the container is not ready until a readiness success arrives.
    pub has_readiness_probe: bool,
    /// `startupProbe` is set: the container is not started until a startup success arrives.
    pub has_startup_probe: bool,
}

impl ContainerInput {
    /// A container with no hooks and no probes.
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        ContainerInput {
            name: name.into(),
            image: image.into(),
            sidecar: false,
            has_post_start: false,
            has_pre_stop: false,
            has_readiness_probe: false,
            has_startup_probe: false,
        }
    }

    /// Marks an init container as a sidecar (`restartPolicy: Always`).
    pub fn sidecar(mut self) -> Self {
        self.sidecar = true;
        self
    }

    /// Declares a postStart hook.
    pub fn post_start(mut self) -> Self {
        self.has_post_start = true;
        self
    }

    /// Declares a preStop hook.
    pub fn pre_stop(mut self) -> Self {
        self.has_pre_stop = true;
        self
    }

    /// Declares a readiness probe.
    pub fn readiness_probe(mut self) -> Self {
        self.has_readiness_probe = true;
        self
    }

    /// Declares a startup probe.
    pub fn startup_probe(mut self) -> Self {
        self.has_startup_probe = true;
        self
    }
}

/// The pod: its containers in spec order and the settings of its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInput {
    /// Printed as `pod=<name>` in back-off messages. Upstream prints `format.Pod`
    /// (`name_namespace(uid)`); pass that form here to get it.
    pub name: String,
    /// `spec.restartPolicy`.
    pub restart_policy: RestartPolicy,
    /// Init containers (sidecars among them), in spec order.
    pub init_containers: Vec<ContainerInput>,
    /// App containers, in spec order.
    pub containers: Vec<ContainerInput>,
    /// `spec.terminationGracePeriodSeconds`.
    pub termination_grace_period_seconds: u64,
}

impl PodInput {
    /// A pod with restartPolicy Always, no containers yet and the default 30 s grace period.
    pub fn new(name: impl Into<String>) -> Self {
        PodInput {
            name: name.into(),
            restart_policy: RestartPolicy::Always,
            init_containers: Vec::new(),
            containers: Vec::new(),
            termination_grace_period_seconds: DEFAULT_GRACE_PERIOD_SECONDS,
        }
    }

    /// Sets the restart policy.
    pub fn restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.restart_policy = policy;
        self
    }

    /// Appends an init container (regular, or a sidecar built with [`ContainerInput::sidecar`]).
    pub fn init(mut self, c: ContainerInput) -> Self {
        self.init_containers.push(c);
        self
    }

    /// Appends an app container.
    pub fn container(mut self, c: ContainerInput) -> Self {
        self.containers.push(c);
        self
    }

    /// Sets `terminationGracePeriodSeconds`.
    pub fn grace_period_seconds(mut self, secs: u64) -> Self {
        self.termination_grace_period_seconds = secs;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_fields_and_defaults_follow_kubernetes() {
        let pod = PodInput::new("p")
            .init(ContainerInput::new("proxy", "envoy:1").sidecar().startup_probe())
            .container(ContainerInput::new("web", "nginx:1").post_start().pre_stop())
            .restart_policy(RestartPolicy::OnFailure);
        assert_eq!(PodInput::new("q").restart_policy, RestartPolicy::Always);
        assert_eq!(pod.termination_grace_period_seconds, 30);
        assert!(pod.init_containers[0].sidecar && pod.init_containers[0].has_startup_probe);
        assert!(!pod.init_containers[0].has_post_start);
        let web = &pod.containers[0];
        assert!(web.has_post_start && web.has_pre_stop && !web.has_readiness_probe);
        assert_eq!(pod.grace_period_seconds(5).termination_grace_period_seconds, 5);
    }
}
