//! Upstream defaulting (`pkg/apis/core/v1/defaults.go`, `pkg/apis/apps/v1/defaults.go`,
//! `pkg/apis/batch/v1/defaults.go`), applied before validation as the apiserver does.

use super::IntOrString;
use super::types::apps::{
    DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, PvcRetentionPolicy, RollingUpdate, StatefulSet,
    StatefulSetRollingUpdate, StatefulSetUpdateStrategy,
};
use super::types::config::{Secret, encode_base64};
use super::types::container::{Container, ResourceList};
use super::types::pod::{Pod, PodSecurityContext, PodSpec};
use super::types::probe::{HttpGetAction, Probe};
use super::types::service::Service;
use super::types::storage::PersistentVolumeClaimSpec;
use super::types::volume::{EmptyDirVolumeSource, Volume};
use super::types::{Job, Resource};

/// `defaultMode` 0644 of configMap, secret, downwardAPI and projected volumes.
pub const DEFAULT_VOLUME_MODE: i32 = 0o644;

/// Applies every default Kubernetes would for this object.
pub fn apply_defaults(res: &mut Resource) {
    if res.is_namespaced() && res.metadata().namespace.as_deref().unwrap_or("").is_empty() {
        res.metadata_mut().namespace = Some("default".to_string());
    }
    match res {
        Resource::Pod(p) => default_pod(p),
        Resource::Secret(s) => default_secret(s),
        Resource::Service(s) => default_service(s),
        Resource::PersistentVolumeClaim(c) => default_claim_spec(&mut c.spec),
        Resource::PersistentVolume(v) => {
            set(&mut v.spec.persistent_volume_reclaim_policy, "Retain");
            set(&mut v.spec.volume_mode, "Filesystem");
            round_up(&mut v.spec.capacity);
            if let Some(h) = &mut v.spec.host_path {
                set(&mut h.type_, "");
            }
        }
        Resource::StorageClass(c) => {
            set(&mut c.reclaim_policy, "Delete");
            set(&mut c.volume_binding_mode, "Immediate");
        }
        Resource::Node(n) => {
            round_up(&mut n.status.capacity);
            round_up(&mut n.status.allocatable);
        }
        Resource::ConfigMap(_) | Resource::Namespace(_) | Resource::ServiceAccount(_) => {}
        Resource::ReplicationController(rc) => {
            set_num(&mut rc.spec.replicas, 1);
            let labels = &rc.spec.template.metadata.labels;
            if rc.spec.selector.is_empty() {
                rc.spec.selector = labels.clone();
            }
            if rc.metadata.labels.is_empty() {
                rc.metadata.labels = labels.clone();
            }
            default_pod_spec(&mut rc.spec.template.spec);
        }
        Resource::Deployment(d) => default_deployment(d),
        Resource::ReplicaSet(rs) => {
            set_num(&mut rs.spec.replicas, 1);
            default_pod_spec(&mut rs.spec.template.spec);
        }
        Resource::StatefulSet(s) => default_stateful_set(s),
        Resource::DaemonSet(d) => default_daemon_set(d),
        Resource::Job(j) => default_job(j),
    }
}

/// `SetDefaults_Pod` plus the pod spec defaults: what a Pod object gets on creation.
/// Controllers call this for the pods they stamp from a (defaulted) template.
pub fn default_pod(pod: &mut Pod) {
    default_pod_spec(&mut pod.spec);
    // SetDefaults_Pod: requests default to limits, for Pod objects only (not templates).
    for c in pod
        .spec
        .init_containers
        .iter_mut()
        .chain(pod.spec.containers.iter_mut())
    {
        let limits = c.resources.limits.clone();
        for (name, limit) in limits {
            c.resources.requests.entry(name).or_insert(limit);
        }
    }
    set_flag(&mut pod.spec.enable_service_links, true);
}

/// `SetDefaults_PodSpec` and the defaults of everything a pod spec contains.
pub fn default_pod_spec(spec: &mut PodSpec) {
    set(&mut spec.dns_policy, "ClusterFirst");
    set(&mut spec.restart_policy, "Always");
    set_num(&mut spec.termination_grace_period_seconds, 30);
    set(&mut spec.scheduler_name, "default-scheduler");
    spec.security_context.get_or_insert_with(PodSecurityContext::default);
    let host_network = spec.host_network == Some(true);
    for c in spec.init_containers.iter_mut().chain(spec.containers.iter_mut()) {
        default_container(c, host_network);
    }
    for v in &mut spec.volumes {
        default_volume(v);
    }
}

fn default_container(c: &mut Container, host_network: bool) {
    if c.image_pull_policy.is_none() {
        c.image_pull_policy = Some(pull_policy_for(c.image()).to_string());
    }
    set(&mut c.termination_message_path, "/dev/termination-log");
    set(&mut c.termination_message_policy, "File");
    for p in &mut c.ports {
        set(&mut p.protocol, "TCP");
        // defaultHostNetworkPorts: with hostNetwork the host port is the container port.
        if host_network && p.host_port.is_none() {
            p.host_port = Some(p.container_port);
        }
    }
    for probe in [&mut c.liveness_probe, &mut c.readiness_probe, &mut c.startup_probe]
        .into_iter()
        .flatten()
    {
        default_probe(probe);
    }
    if let Some(lc) = &mut c.lifecycle {
        for h in [&mut lc.post_start, &mut lc.pre_stop].into_iter().flatten() {
            if let Some(g) = &mut h.http_get {
                default_http_get(g);
            }
        }
    }
    round_up(&mut c.resources.limits);
    round_up(&mut c.resources.requests);
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent` (a digest counts as pinned).
pub fn pull_policy_for(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((n, _)) => (n, true),
        None => (image, false),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, "latest")) => "Always",
        Some(_) => "IfNotPresent",
        None if digest => "IfNotPresent",
        None => "Always",
    }
}

fn default_probe(p: &mut Probe) {
    set_num(&mut p.timeout_seconds, 1);
    set_num(&mut p.period_seconds, 10);
    set_num(&mut p.success_threshold, 1);
    set_num(&mut p.failure_threshold, 3);
    if let Some(g) = &mut p.http_get {
        default_http_get(g);
    }
}

fn default_http_get(g: &mut HttpGetAction) {
    set(&mut g.path, "/");
    set(&mut g.scheme, "HTTP");
}

fn default_volume(v: &mut Volume) {
    if v.source_names().is_empty() {
        v.empty_dir = Some(EmptyDirVolumeSource::default());
    }
    if let Some(h) = &mut v.host_path {
        set(&mut h.type_, "");
    }
    let modes = [
        v.config_map.as_mut().map(|s| &mut s.default_mode),
        v.secret.as_mut().map(|s| &mut s.default_mode),
        v.downward_api.as_mut().map(|s| &mut s.default_mode),
        v.projected.as_mut().map(|s| &mut s.default_mode),
    ];
    for mode in modes.into_iter().flatten() {
        set_num(mode, DEFAULT_VOLUME_MODE);
    }
    // SetDefaults_ServiceAccountTokenProjection: an hour.
    for source in v.projected.iter_mut().flat_map(|p| p.sources.iter_mut()) {
        if let Some(t) = &mut source.service_account_token {
            set_num(&mut t.expiration_seconds, 3600);
        }
    }
}

fn default_secret(s: &mut Secret) {
    set(&mut s.type_, "Opaque");
    // Convert_v1_Secret_To_core_Secret: "StringData overwrites Data".
    for (key, value) in std::mem::take(&mut s.string_data) {
        s.data.insert(key, encode_base64(value.as_bytes()));
    }
}

fn default_service(s: &mut Service) {
    set(&mut s.spec.type_, "ClusterIP");
    set(&mut s.spec.session_affinity, "None");
    let ty = s.spec.service_type().to_string();
    if ty != "ExternalName" {
        set(&mut s.spec.internal_traffic_policy, "Cluster");
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        set(&mut s.spec.external_traffic_policy, "Cluster");
    }
    for p in &mut s.spec.ports {
        set(&mut p.protocol, "TCP");
        if p.target_port.is_none() {
            p.target_port = Some(IntOrString::Int(i64::from(p.port)));
        }
    }
}

fn default_claim_spec(spec: &mut PersistentVolumeClaimSpec) {
    set(&mut spec.volume_mode, "Filesystem");
    round_up(&mut spec.resources.requests);
    round_up(&mut spec.resources.limits);
}

fn default_deployment(d: &mut Deployment) {
    let spec = &mut d.spec;
    set_num(&mut spec.replicas, 1);
    let strategy = spec.strategy.get_or_insert_with(DeploymentStrategy::default);
    set(&mut strategy.type_, "RollingUpdate");
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let ru = strategy.rolling_update.get_or_insert_with(RollingUpdate::default);
        ru.max_unavailable
            .get_or_insert_with(|| IntOrString::String("25%".into()));
        ru.max_surge.get_or_insert_with(|| IntOrString::String("25%".into()));
    }
    set_num(&mut spec.revision_history_limit, 10);
    set_num(&mut spec.progress_deadline_seconds, 600);
    set_num(&mut spec.min_ready_seconds, 0);
    default_pod_spec(&mut spec.template.spec);
}

fn default_stateful_set(s: &mut StatefulSet) {
    let spec = &mut s.spec;
    set(&mut spec.pod_management_policy, "OrderedReady");
    let strategy = spec
        .update_strategy
        .get_or_insert_with(StatefulSetUpdateStrategy::default);
    // SetDefaults_StatefulSet fills rollingUpdate only when the type was empty (spec §5).
    if strategy.type_.is_none() {
        strategy.type_ = Some("RollingUpdate".into());
        strategy
            .rolling_update
            .get_or_insert_with(StatefulSetRollingUpdate::default);
    }
    if strategy.type_.as_deref() == Some("RollingUpdate")
        && let Some(ru) = &mut strategy.rolling_update
    {
        set_num(&mut ru.partition, 0);
    }
    set_num(&mut spec.replicas, 1);
    set_num(&mut spec.revision_history_limit, 10);
    let retention = spec
        .persistent_volume_claim_retention_policy
        .get_or_insert_with(PvcRetentionPolicy::default);
    set(&mut retention.when_deleted, "Retain");
    set(&mut retention.when_scaled, "Retain");
    for claim in &mut spec.volume_claim_templates {
        default_claim_spec(&mut claim.spec);
    }
    default_pod_spec(&mut spec.template.spec);
}

fn default_daemon_set(d: &mut DaemonSet) {
    let spec = &mut d.spec;
    let strategy = spec
        .update_strategy
        .get_or_insert_with(DaemonSetUpdateStrategy::default);
    set(&mut strategy.type_, "RollingUpdate");
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let ru = strategy.rolling_update.get_or_insert_with(RollingUpdate::default);
        ru.max_unavailable.get_or_insert(IntOrString::Int(1));
        ru.max_surge.get_or_insert(IntOrString::Int(0));
    }
    set_num(&mut spec.revision_history_limit, 10);
    default_pod_spec(&mut spec.template.spec);
}

fn default_job(j: &mut Job) {
    let spec = &mut j.spec;
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
    }
    set_num(&mut spec.parallelism, 1);
    set_num(&mut spec.backoff_limit, 6);
    set(&mut spec.completion_mode, "NonIndexed");
    set_flag(&mut spec.suspend, false);
    if j.metadata.labels.is_empty() {
        j.metadata.labels = spec.template.metadata.labels.clone();
    }
    default_pod_spec(&mut spec.template.spec);
}

/// `SetDefaults_ResourceList`: every quantity rounded up to milli precision.
fn round_up(list: &mut ResourceList) {
    for q in list.values_mut() {
        q.round_up_milli();
    }
}

fn set(field: &mut Option<String>, value: &str) {
    if field.is_none() {
        *field = Some(value.to_string());
    }
}

fn set_num<T>(field: &mut Option<T>, value: T) {
    field.get_or_insert(value);
}

fn set_flag(field: &mut Option<bool>, value: bool) {
    field.get_or_insert(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaulted(value: serde_json::Value) -> serde_json::Value {
        let kind = value["kind"].as_str().unwrap().to_string();
        let mut res = match kind.as_str() {
            "Pod" => Resource::Pod(serde_json::from_value(value).unwrap()),
            "Deployment" => Resource::Deployment(serde_json::from_value(value).unwrap()),
            "DaemonSet" => Resource::DaemonSet(serde_json::from_value(value).unwrap()),
            "Job" => Resource::Job(serde_json::from_value(value).unwrap()),
            "Service" => Resource::Service(serde_json::from_value(value).unwrap()),
            "Secret" => Resource::Secret(serde_json::from_value(value).unwrap()),
            other => panic!("{other}"),
        };
        apply_defaults(&mut res);
        res.to_value()
    }

    #[test]
    fn pull_policy_follows_the_tag() {
        assert_eq!(pull_policy_for("nginx"), "Always");
        assert_eq!(pull_policy_for("nginx:latest"), "Always");
        assert_eq!(pull_policy_for("nginx:1.25"), "IfNotPresent");
        assert_eq!(pull_policy_for("localhost:5000/app"), "Always");
        assert_eq!(pull_policy_for("localhost:5000/app:v2"), "IfNotPresent");
        assert_eq!(pull_policy_for("registry.k8s.io/redis@sha256:cb11"), "IfNotPresent");
    }

    #[test]
    fn pod_gets_every_default() {
        let pod = defaulted(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {
                "containers": [{
                    "name": "c", "image": "busybox",
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "0.1", "memory": "64Mi"}, "requests": {"memory": "32Mi"}},
                    "readinessProbe": {"httpGet": {"port": 80}}
                }],
                "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "cfg"}}]
            }
        }));
        assert_eq!(
            pod,
            json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                "spec": {
                    "containers": [{
                        "name": "c", "image": "busybox", "imagePullPolicy": "Always",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "resources": {"limits": {"cpu": "100m", "memory": "64Mi"},
                                      "requests": {"cpu": "100m", "memory": "32Mi"}},
                        "readinessProbe": {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
                                           "timeoutSeconds": 1, "periodSeconds": 10,
                                           "successThreshold": 1, "failureThreshold": 3},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File"
                    }],
                    "volumes": [{"name": "scratch", "emptyDir": {}},
                                {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}}],
                    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst", "securityContext": {},
                    "schedulerName": "default-scheduler", "enableServiceLinks": true
                }
            })
        );
    }

    #[test]
    fn controllers_get_their_defaults() {
        let template =
            json!({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}});
        let d = defaulted(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                 "spec": {"template": template.clone()}}),
        );
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(
            d["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(
            (
                d["spec"]["revisionHistoryLimit"].clone(),
                d["spec"]["progressDeadlineSeconds"].clone()
            ),
            (json!(10), json!(600))
        );
        // Template pods get pod-spec defaults, but requests-from-limits only when stamped (default_pod).
        assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
        assert!(d["spec"]["template"]["spec"].get("enableServiceLinks").is_none());

        let ds = defaulted(
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"},
                                  "spec": {"template": template.clone()}}),
        );
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );

        let job = defaulted(
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                                   "spec": {"template": template}}),
        );
        let spec = &job["spec"];
        assert_eq!(
            (
                spec["parallelism"].clone(),
                spec["completions"].clone(),
                spec["backoffLimit"].clone()
            ),
            (json!(1), json!(1), json!(6))
        );
        assert_eq!(
            (spec["completionMode"].clone(), spec["suspend"].clone()),
            (json!("NonIndexed"), json!(false))
        );
        assert_eq!(job["metadata"]["labels"], json!({"app": "a"}));
    }

    #[test]
    fn service_and_secret_defaults() {
        let svc = defaulted(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                                   "spec": {"ports": [{"port": 8000}]}}));
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"port": 8000, "protocol": "TCP", "targetPort": 8000}])
        );
        assert_eq!(
            (svc["spec"]["type"].clone(), svc["spec"]["sessionAffinity"].clone()),
            (json!("ClusterIP"), json!("None"))
        );

        let secret = defaulted(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                      "data": {"a": "b2xk", "b": "Yg=="}, "stringData": {"a": "new"}}));
        assert_eq!(secret["data"], json!({"a": "bmV3", "b": "Yg=="}));
        assert_eq!(secret["type"], "Opaque");
        assert!(secret.get("stringData").is_none());
    }
}
