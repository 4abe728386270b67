//! What a pod asks of a node: effective cpu/memory requests and host ports.

use crate::manifest::types::PodSpec;
use crate::manifest::types::container::{Container, ResourceList};

/// Cpu and memory a pod requests, as the scheduler adds them up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requests {
    /// Millicores.
    pub cpu_milli: i64,
    /// Bytes.
    pub memory_bytes: i64,
}

/// Requests the scoring plugins assume for a container that sets none:
/// `schedutil.DefaultMilliCPURequest` (100m) and `DefaultMemoryRequest` (200Mi).
pub const NON_ZERO_DEFAULTS: Requests = Requests {
    cpu_milli: 100,
    memory_bytes: 200 * 1024 * 1024,
};

impl Requests {
    fn add(self, other: Requests) -> Requests {
        Requests {
            cpu_milli: self.cpu_milli + other.cpu_milli,
            memory_bytes: self.memory_bytes + other.memory_bytes,
        }
    }

    fn max(self, other: Requests) -> Requests {
        Requests {
            cpu_milli: self.cpu_milli.max(other.cpu_milli),
            memory_bytes: self.memory_bytes.max(other.memory_bytes),
        }
    }

    /// Whether both are zero (such a pod always fits resource-wise).
    pub fn is_zero(&self) -> bool {
        self.cpu_milli == 0 && self.memory_bytes == 0
    }
}

/// The effective requests used by the NodeResourcesFit filter.
///
/// `max(Σ app and sidecar containers, max over init containers of (its request + the
/// sidecars started before it)) + overhead` (`resourcehelper.PodRequests`; spec §7).
/// A request that is absent falls back to the limit, as `SetDefaults_Pod` would have set it.
pub fn pod_requests(spec: &PodSpec) -> Requests {
    aggregate(spec, None)
}

/// The same sum with [`NON_ZERO_DEFAULTS`] for each container's missing request, which is what
/// the scoring plugins count (`NonMissingContainerRequests`), so best-effort pods still spread.
pub fn pod_nonzero_requests(spec: &PodSpec) -> Requests {
    aggregate(spec, Some(NON_ZERO_DEFAULTS))
}

fn aggregate(spec: &PodSpec, missing: Option<Requests>) -> Requests {
    let app = spec
        .containers
        .iter()
        .fold(Requests::default(), |sum, c| sum.add(container_requests(c, missing)));
    let (mut total, mut sidecars, mut init_peak) = (app, Requests::default(), Requests::default());
    for c in &spec.init_containers {
        let own = container_requests(c, missing);
        let during = if c.is_sidecar() {
            total = total.add(own);
            sidecars = sidecars.add(own);
            sidecars
        } else {
            own.add(sidecars)
        };
        init_peak = init_peak.max(during);
    }
    total.max(init_peak).add(overhead(spec))
}

fn container_requests(c: &Container, missing: Option<Requests>) -> Requests {
    let res = &c.resources;
    let get = |key: &str| res.requests.get(key).or_else(|| res.limits.get(key));
    let default = missing.unwrap_or_default();
    Requests {
        cpu_milli: get("cpu").map_or(default.cpu_milli, |q| q.milli_value()),
        memory_bytes: get("memory").map_or(default.memory_bytes, |q| q.value()),
    }
}

/// `spec.overhead` (set by RuntimeClass admission; rarely in manifests).
fn overhead(spec: &PodSpec) -> Requests {
    let Some(list) = spec
        .overhead
        .as_ref()
        .and_then(|v| serde_json::from_value::<ResourceList>(v.clone()).ok())
    else {
        return Requests::default();
    };
    Requests {
        cpu_milli: list.get("cpu").map_or(0, |q| q.milli_value()),
        memory_bytes: list.get("memory").map_or(0, |q| q.value()),
    }
}

/// A host port a pod binds: `hostIP` (default `0.0.0.0`), protocol (default `TCP`), port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPort {
    /// `hostIP`; `0.0.0.0` binds every address.
    pub ip: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// `hostPort`.
    pub port: i32,
}

/// `DefaultBindAllHostIP` in the NodePorts plugin.
const BIND_ALL: &str = "0.0.0.0";

impl HostPort {
    /// Same port and protocol on the same IP, or either side binds all IPs
    /// (`HostPortInfo.CheckConflict`).
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == BIND_ALL || other.ip == BIND_ALL)
    }
}

/// The host ports of the app containers and native sidecars (those run for the pod's whole
/// life); ports without a hostPort are not host ports. With `hostNetwork` an unset hostPort
/// is the containerPort, as API defaulting makes it.
pub fn host_ports(spec: &PodSpec) -> Vec<HostPort> {
    let host_network = spec.host_network == Some(true);
    let sidecars = spec.init_containers.iter().filter(|c| c.is_sidecar());
    spec.containers
        .iter()
        .chain(sidecars)
        .flat_map(|c| &c.ports)
        .filter_map(|p| {
            let port = match p.host_port {
                Some(port) if port > 0 => port,
                None if host_network => p.container_port,
                _ => return None,
            };
            Some(HostPort {
                ip: p
                    .host_ip
                    .clone()
                    .filter(|ip| !ip.is_empty())
                    .unwrap_or_else(|| BIND_ALL.into()),
                protocol: p
                    .protocol
                    .clone()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "TCP".into()),
                port,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a spec written over several indented lines: keys go to column 0, flow
    /// continuation lines stay indented.
    fn spec(yaml: &str) -> PodSpec {
        let text: Vec<String> = yaml
            .lines()
            .map(|l| {
                let l = l.trim();
                if l.starts_with('{') {
                    format!("  {l}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        serde_yaml::from_str(&text.join("\n")).unwrap()
    }

    const MI: i64 = 1024 * 1024;

    #[test]
    fn requests_follow_the_upstream_aggregation() {
        /// Spec, (cpu, memory) for the fit filter, (cpu, memory) for the scores.
        type Case<'a> = (&'a str, (i64, i64), (i64, i64));
        let cases: &[Case<'_>] = &[
            ("containers: [{name: a}]", (0, 0), (100, 200 * MI)),
            (
                "containers: [{name: a, resources: {requests: {cpu: 100m, memory: 64Mi}}},
                              {name: b, resources: {requests: {cpu: 200m}}}]",
                (300, 64 * MI),
                (300, 264 * MI),
            ),
            // Limits stand in for missing requests.
            (
                "containers: [{name: a, resources: {limits: {cpu: '1', memory: 1Gi}}}]",
                (1000, 1024 * MI),
                (1000, 1024 * MI),
            ),
            // An init container bigger than the app containers sets the cpu; memory stays the sum.
            (
                "initContainers: [{name: i, resources: {requests: {cpu: '2', memory: 10Mi}}}]
                 containers: [{name: a, resources: {requests: {cpu: 500m, memory: 64Mi}}}]",
                (2000, 64 * MI),
                (2000, 64 * MI),
            ),
            // A sidecar adds to the app sum and to every later init container.
            (
                "initContainers: [{name: s, restartPolicy: Always, resources: {requests: {cpu: 100m, memory: 10Mi}}},
                                  {name: i, resources: {requests: {cpu: '1', memory: 1Mi}}}]
                 containers: [{name: a, resources: {requests: {cpu: 200m, memory: 20Mi}}}]",
                (1100, 30 * MI),
                (1100, 30 * MI),
            ),
            (
                "containers: [{name: a, resources: {requests: {cpu: 100m}}}]
                 overhead: {cpu: 50m, memory: 1Mi}",
                (150, MI),
                (150, 201 * MI),
            ),
        ];
        for (yaml, fit, nonzero) in cases {
            let s = spec(yaml);
            let got = pod_requests(&s);
            assert_eq!((got.cpu_milli, got.memory_bytes), *fit, "fit: {yaml}");
            let got = pod_nonzero_requests(&s);
            assert_eq!((got.cpu_milli, got.memory_bytes), *nonzero, "nonzero: {yaml}");
        }
    }

    #[test]
    fn host_ports_default_and_conflict() {
        let s = spec(
            "hostNetwork: true
             initContainers: [{name: s, restartPolicy: Always, ports: [{containerPort: 9000, hostPort: 9000}]},
                              {name: i, ports: [{containerPort: 9100, hostPort: 9100}]}]
             containers: [{name: a, ports: [{containerPort: 80},
                                            {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 127.0.0.1}]}]",
        );
        let ports = host_ports(&s);
        let hp = |ip: &str, proto: &str, port| HostPort {
            ip: ip.into(),
            protocol: proto.into(),
            port,
        };
        assert_eq!(
            ports,
            vec![
                hp("0.0.0.0", "TCP", 80),
                hp("127.0.0.1", "UDP", 5353),
                hp("0.0.0.0", "TCP", 9000)
            ]
        );
        assert!(host_ports(&spec("containers: [{name: a, ports: [{containerPort: 80}]}]")).is_empty());

        let cases = [
            (hp("0.0.0.0", "TCP", 80), hp("10.0.0.1", "TCP", 80), true),
            (hp("10.0.0.1", "TCP", 80), hp("10.0.0.1", "TCP", 80), true),
            (hp("10.0.0.1", "TCP", 80), hp("10.0.0.2", "TCP", 80), false),
            (hp("0.0.0.0", "TCP", 80), hp("0.0.0.0", "UDP", 80), false),
            (hp("0.0.0.0", "TCP", 80), hp("0.0.0.0", "TCP", 81), false),
        ];
        for (a, b, want) in cases {
            assert_eq!(a.conflicts(&b), want, "{a:?} vs {b:?}");
            assert_eq!(b.conflicts(&a), want, "{b:?} vs {a:?}");
        }
    }
}
