//! An in-memory runtime with injectable failures, for plan/apply tests.
//!
//! It can also persist its pods to a JSON file, so that a CLI test can kill `rekon apply`
//! and check with the next process that no pod was created twice.

use super::status::{PodPhase, PodStatus};
use super::{PodRequest, Runtime, RuntimeError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One call made to the fake, for asserting call sequences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `create_pod` of the pod with this uid.
    Create(String),
    /// `terminate_pod` of the pod with this uid, when it exists and is not already terminating.
    Delete(String),
    /// A repeated `terminate_pod` that shortens a termination under way to this many seconds.
    Shorten(String, u64),
    /// `configure_node` of the node with this name.
    ConfigureNode(String),
    /// `remove_node` of the node with this name.
    RemoveNode(String),
}

/// A runtime that only remembers pods.
#[derive(Debug, Default)]
pub struct FakeRuntime {
    /// Pods by uid, with the request that made them.
    pub pods: BTreeMap<String, (PodRequest, PodStatus)>,
    /// Configured nodes by name.
    pub nodes: BTreeMap<String, super::NodeConfig>,
    /// Every create/delete call in order (including idempotent repeats).
    pub calls: Vec<Call>,
    /// Fail the n-th (0-based) create call.
    pub fail_create_at: Option<usize>,
    /// How many `reap_pod` calls a terminating pod survives (0: it stops at once), as a pod
    /// whose preStop hook or grace period takes a while.
    pub termination_reaps: u32,
    /// Pods being terminated, with the reaps they still survive.
    pub terminating: BTreeMap<String, u32>,
    /// The most pods that were terminating at the same time.
    pub max_terminating: usize,
    /// The grace period each terminated pod was last given.
    pub graces: BTreeMap<String, Duration>,
    /// How often each pod's status was read.
    looks: BTreeMap<String, u32>,
    creates: usize,
    file: Option<PathBuf>,
}

impl FakeRuntime {
    /// An empty fake that keeps its pods in memory only.
    pub fn new() -> Self {
        FakeRuntime::default()
    }

    /// A fake whose pods live in `file` (JSON), shared by successive processes.
    pub fn persistent(file: PathBuf) -> Result<Self, RuntimeError> {
        let pods = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RuntimeError::Io {
                context: format!("fake runtime file {} is corrupt", file.display()),
                source: std::io::Error::other(e),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(RuntimeError::Io {
                    context: format!("reading {}", file.display()),
                    source,
                });
            }
        };
        Ok(FakeRuntime {
            pods,
            file: Some(file),
            ..FakeRuntime::default()
        })
    }

    /// Marks a pod as gone, as if someone deleted it behind rekon's back.
    pub fn vanish(&mut self, uid: &str) {
        self.pods.remove(uid);
        self.persist().expect("persist fake runtime");
    }

    /// Sets the phase a pod reports.
    pub fn set_phase(&mut self, uid: &str, phase: PodPhase) {
        if let Some((_, status)) = self.pods.get_mut(uid) {
            status.phase = phase;
        }
        self.persist().expect("persist fake runtime");
    }

    fn persist(&self) -> Result<(), RuntimeError> {
        let Some(file) = &self.file else { return Ok(()) };
        let json = serde_json::to_vec(&self.pods).expect("pods serialize");
        crate::fsutil::write_atomic(file, &json).map_err(|source| RuntimeError::Io {
            context: format!("writing {}", file.display()),
            source,
        })
    }
}

impl Runtime for FakeRuntime {
    fn configure_node(&mut self, node: &super::NodeConfig) -> Result<(), RuntimeError> {
        self.calls.push(Call::ConfigureNode(node.name.clone()));
        self.nodes.insert(node.name.clone(), node.clone());
        Ok(())
    }

    fn remove_node(&mut self, name: &str) -> Result<(), RuntimeError> {
        self.calls.push(Call::RemoveNode(name.to_string()));
        self.nodes.remove(name);
        Ok(())
    }

    fn create_pod(&mut self, pod: &PodRequest) -> Result<(), RuntimeError> {
        self.calls.push(Call::Create(pod.uid.clone()));
        let n = self.creates;
        self.creates += 1;
        if self.fail_create_at == Some(n) {
            return Err(RuntimeError::Injected(format!("create of pod {} failed", pod.name)));
        }
        if !self.pods.contains_key(&pod.uid) {
            // Ready at once, as if every probe passed, except for an image whose name contains
            // `never-ready`: a test hook for rollouts that cannot progress.
            let never = pod
                .spec
                .containers
                .iter()
                .any(|c| c.image.as_deref().is_some_and(|i| i.contains("never-ready")));
            // An image whose name contains `crash-loop` crashes at once and backs off.
            let crash = pod
                .spec
                .containers
                .iter()
                .find(|c| c.image.as_deref().is_some_and(|i| i.contains("crash-loop")));
            let container_statuses = crash
                .map(|c| {
                    vec![super::status::ContainerStatus {
                        name: c.name.clone(),
                        image: c.image.clone().unwrap_or_default(),
                        ready: false,
                        started: false,
                        restart_count: 1,
                        state: super::status::ContainerState::Waiting {
                            reason: "CrashLoopBackOff".into(),
                            message: Some(format!(
                                "back-off 10s restarting failed container={} pod={}",
                                c.name, pod.name
                            )),
                        },
                        last_state: Some(super::status::ContainerState::Terminated {
                            exit_code: 1,
                            reason: "Error".into(),
                            message: None,
                            started_at: None,
                            finished_at: crate::time::rfc3339(crate::time::now()),
                        }),
                    }]
                })
                .unwrap_or_else(|| {
                    let started_at = crate::time::rfc3339(crate::time::now());
                    pod.spec
                        .containers
                        .iter()
                        .map(|c| super::status::ContainerStatus {
                            name: c.name.clone(),
                            image: c.image.clone().unwrap_or_default(),
                            ready: !never,
                            started: true,
                            restart_count: 0,
                            state: super::status::ContainerState::Running {
                                started_at: started_at.clone(),
                            },
                            last_state: None,
                        })
                        .collect()
                });
            let never = never || crash.is_some();
            let status = PodStatus {
                container_statuses,
                phase: PodPhase::Running,
                conditions: vec![super::status::PodCondition {
                    type_: "Ready".into(),
                    status: if never { "False" } else { "True" }.into(),
                    reason: never.then(|| "ContainersNotReady".to_string()),
                    message: None,
                    last_transition_time: Some(crate::time::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                }],
                ..PodStatus::default()
            };
            self.pods.insert(pod.uid.clone(), (pod.clone(), status));
        }
        self.persist()
    }

    fn terminate_pod(&mut self, uid: &str, grace: Duration) -> Result<(), RuntimeError> {
        if let Some(&was) = self.graces.get(uid)
            && self.terminating.contains_key(uid)
            && grace < was
        {
            self.calls.push(Call::Shorten(uid.to_string(), grace.as_secs()));
            self.graces.insert(uid.to_string(), grace);
            return Ok(());
        }
        if self.terminating.contains_key(uid) || !self.pods.contains_key(uid) {
            return Ok(());
        }
        self.graces.insert(uid.to_string(), grace);
        self.calls.push(Call::Delete(uid.to_string()));
        if self.termination_reaps == 0 {
            self.pods.remove(uid);
        } else {
            self.terminating.insert(uid.to_string(), self.termination_reaps);
            self.max_terminating = self.max_terminating.max(self.terminating.len());
        }
        self.persist()
    }

    fn reap_pod(&mut self, uid: &str) -> Result<bool, RuntimeError> {
        if let Some(left) = self.terminating.get_mut(uid) {
            *left = left.saturating_sub(1);
            if *left == 0 {
                self.terminating.remove(uid);
                self.pods.remove(uid);
                self.persist()?;
            }
        }
        Ok(!self.pods.contains_key(uid))
    }

    fn pod_status(&mut self, uid: &str) -> Result<Option<PodStatus>, RuntimeError> {
        // An image whose name contains `crash-after-start` runs Ready for its first three
        // looks, then crash-loops: a container that fails a moment after it started.
        let looks = self.looks.entry(uid.to_string()).or_default();
        *looks += 1;
        let looks = *looks;
        if let Some((req, status)) = self.pods.get_mut(uid) {
            let late = req
                .spec
                .containers
                .iter()
                .find(|c| c.image.as_deref().is_some_and(|i| i.contains("crash-after-start")));
            if let Some(c) = late
                && looks > 3
            {
                for cond in status.conditions.iter_mut().filter(|c| c.type_ == "Ready") {
                    cond.status = "False".into();
                    cond.reason = Some("ContainersNotReady".into());
                }
                for cs in &mut status.container_statuses {
                    cs.ready = false;
                    cs.restart_count = 1;
                    cs.state = super::status::ContainerState::Waiting {
                        reason: "CrashLoopBackOff".into(),
                        message: Some(format!("back-off 10s restarting failed container={}", c.name)),
                    };
                    cs.last_state = Some(super::status::ContainerState::Terminated {
                        exit_code: 2,
                        reason: "Error".into(),
                        message: None,
                        started_at: None,
                        finished_at: String::new(),
                    });
                }
            }
        }
        Ok(self.pods.get(uid).map(|(_, s)| s.clone()))
    }

    fn list_pods(&mut self) -> Result<Vec<String>, RuntimeError> {
        Ok(self.pods.keys().cloned().collect())
    }
}
