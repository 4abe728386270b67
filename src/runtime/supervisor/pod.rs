//! The pod's processes and kernel objects, and how each lifecycle [`Action`] is performed:
//! cgroups, the sandbox, the `/etc` files and volumes, containers, hooks and teardown.

use super::hooks::{self, ExecTarget, HookProcess};
use super::output::{self, LogPipe};
use super::poddir::{PodDir, PodFile};
use crate::manifest::types::container::Container as ContainerSpec;
use crate::manifest::types::probe::LifecycleHandler;
use crate::runtime::image::{Image, ImageStore};
use crate::runtime::lifecycle::{Action, CreateFailure, Event, Exit, StopSignal, Time};
use crate::runtime::linux::hosts::{self, HostAlias};
use crate::runtime::linux::mounts::unmount_host;
use crate::runtime::linux::{
    Cgroup, CgroupRoot, Container, ContainerConfig, ContainerExit, ContainerStdio, EtcFiles, PodNamespaces,
    Restrictions, RootfsDirs, Sandbox, SandboxConfig, sandbox,
};
use crate::runtime::logs::{LogWriter, Stream};
use crate::runtime::podspec::{self, Resources, data::PodData, env::PodFacts};
use crate::runtime::probe::NetCheck;
use crate::runtime::status::PodStatus;
use nix::sys::signal::Signal;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long teardown waits for cgroups to empty.
const CGROUP_REMOVE_TIMEOUT: Duration = Duration::from_secs(10);

/// A fatal supervisor error: the pod cannot be run at all.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Fatal(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HookKind {
    PostStart,
    PreStop,
}

/// A running hook: a process, a sleep, or both ended by a deadline.
struct Hook {
    kind: HookKind,
    child: Option<HookProcess>,
    deadline: Option<Instant>,
    command: String,
}

/// One container of the pod, across its restarts.
struct Slot {
    spec: ContainerSpec,
    cgroup: Option<Cgroup>,
    process: Option<Container>,
    target: Option<ExecTarget>,
    oom_before: u64,
    hook: Option<Hook>,
    /// What stops the current process instead of SIGTERM (the image's `StopSignal`).
    stop_signal: Signal,
}

/// Everything the supervisor owns for one pod.
pub struct Pod {
    dir: PodDir,
    file: PodFile,
    store: Option<ImageStore>,
    cgroups: CgroupRoot,
    pod_cgroup: Cgroup,
    /// The namespaces containers join (the supervisor's own, plus a shared PID namespace).
    namespaces: PodNamespaces,
    /// The pause process of a shared PID namespace.
    sandbox: Option<Sandbox>,
    hostname: String,
    qos: &'static str,
    node_memory: u64,
    volumes: Result<(), String>,
    /// `InvalidEnvironmentVariableNames` warnings not yet recorded as events.
    pub env_warnings: Vec<String>,
    /// The config data of `config/data.json`, when the pod has any.
    data: Option<PodData>,
    /// Why the config volumes could not all be written: the kubelet's FailedMount message.
    config_volumes: Result<(), String>,
    /// When the service account tokens of its volumes are due for renewal.
    token_due: Option<crate::time::Time>,
    /// The digest of the data read by the last reload, until it is acknowledged.
    loaded: Option<String>,
    slots: BTreeMap<String, Slot>,
    pub pipes: Vec<LogPipe>,
    logs: BTreeMap<String, LogWriter>,
    /// The thread of [`crate::runtime::linux::cgroup::begin_migration_wait`], joined before the first fork.
    migration_wait: Option<std::thread::JoinHandle<()>>,
}

impl Pod {
    /// Detects cgroups and creates the node and pod cgroups; `migration_wait` is joined
    /// before the first fork.
    pub fn new(dir: PodDir, file: PodFile, migration_wait: Option<std::thread::JoinHandle<()>>) -> Result<Pod, Fatal> {
        let req = &file.request;
        let fatal = |what: &str, e: &dyn std::error::Error| Fatal(format!("{what}: {}", chain(e)));
        let cgroups = CgroupRoot::detect(&file.cgroup_root)
            .and_then(|r| r.with_prefix(&file.cgroup_prefix))
            .map_err(|e| fatal("cannot find cgroups", &e))?;
        let node = cgroups.node(&req.node).map_err(|e| fatal("bad node name", &e))?;
        node.create().map_err(|e| fatal("cannot create the node cgroup", &e))?;
        let pod_cgroup = cgroups.pod(&req.node, &req.uid).map_err(|e| fatal("bad pod uid", &e))?;
        pod_cgroup
            .create()
            .map_err(|e| fatal("cannot create the pod cgroup", &e))?;
        if let Err(e) = pod_cgroup.set_limits(&podspec::pod_limits(&req.spec)) {
            eprintln!("cannot set the pod cgroup's limits: {}", chain(&e));
        }
        let slots = req
            .spec
            .init_containers
            .iter()
            .chain(&req.spec.containers)
            .map(|c| {
                let slot = Slot {
                    spec: c.clone(),
                    cgroup: None,
                    process: None,
                    target: None,
                    oom_before: 0,
                    hook: None,
                    stop_signal: Signal::SIGTERM,
                };
                (c.name.clone(), slot)
            })
            .collect();
        Ok(Pod {
            store: ImageStore::open(&file.image_store).ok(),
            hostname: hosts::pod_hostname(&req.name, req.spec.hostname.as_deref()),
            qos: podspec::qos_class(&req.spec),
            node_memory: node_memory(),
            volumes: Ok(()),
            data: None,
            env_warnings: Vec::new(),
            config_volumes: Ok(()),
            token_due: None,
            loaded: None,
            dir,
            file,
            cgroups,
            pod_cgroup,
            namespaces: PodNamespaces::default(),
            sandbox: None,
            slots,
            pipes: Vec::new(),
            logs: BTreeMap::new(),
            migration_wait,
        })
    }

    /// Container `name`'s spec.
    pub fn container_spec(&self, name: &str) -> Option<&ContainerSpec> {
        self.slots.get(name).map(|s| &s.spec)
    }

    /// How to run a command in container `name`'s current process, while it has one.
    pub fn exec_target(&self, name: &str) -> Option<&ExecTarget> {
        let slot = self.slots.get(name)?;
        slot.process.as_ref()?;
        slot.target.as_ref()
    }

    /// The image a container of the pod runs (for the kubelet's `Pulled` event).
    pub fn image_of(&self, container: &str) -> Option<&str> {
        let spec = &self.file.request.spec;
        spec.init_containers
            .iter()
            .chain(&spec.containers)
            .find(|c| c.name == container)
            .and_then(|c| c.image.as_deref())
    }

    /// `name_namespace(uid)`, as the kubelet names a pod in its messages.
    pub fn full_name(&self) -> String {
        let r = &self.file.request;
        format!("{}_{}({})", r.name, r.namespace, r.uid)
    }

    /// Adds what the machine does not know to its status.
    pub fn decorate(&self, status: &mut PodStatus) {
        status.qos_class = Some(self.qos.to_string());
    }

    /// Performs one action; returns the events it produced.
    pub fn perform(&mut self, action: Action, now: Time) -> Result<Vec<Event>, Fatal> {
        let _ = now;
        if action != Action::CreateSandbox {
            self.join_migration_wait();
        }
        Ok(match action {
            Action::CreateSandbox => {
                self.create_sandbox()?;
                vec![Event::SandboxReady]
            }
            Action::StartContainer { name, .. } => vec![self.start(&name)],
            Action::RunPostStart { name } => self.run_hook(&name, HookKind::PostStart, None),
            Action::RunPreStop { name, timeout } => self.run_hook(&name, HookKind::PreStop, Some(timeout)),
            Action::Signal { name, signal } => {
                if let Some(slot) = self.slots.get(&name) {
                    if let Some(p) = &slot.process {
                        let sig = match signal {
                            StopSignal::Term => slot.stop_signal,
                            StopSignal::Kill => Signal::SIGKILL,
                        };
                        let _ = p.signal(sig);
                    }
                    if signal == StopSignal::Kill
                        && let Some(cg) = &slot.cgroup
                    {
                        let _ = cg.kill_all();
                    }
                }
                vec![]
            }
            Action::DestroySandbox => {
                self.destroy();
                vec![]
            }
            Action::Done => vec![],
        })
    }

    /// Enters the pod's namespaces (the supervisor holds them itself, see
    /// [`crate::runtime::linux::sandbox`]) and, for a shared PID namespace, starts the pause
    /// process that is its PID 1.
    /// Joins the thread of [`crate::runtime::linux::cgroup::begin_migration_wait`]: the supervisor forks only
    /// while it is single-threaded.
    fn join_migration_wait(&mut self) {
        if let Some(thread) = self.migration_wait.take() {
            let _ = thread.join();
        }
    }

    fn create_sandbox(&mut self) -> Result<(), Fatal> {
        let spec = &self.file.request.spec;
        let host_network = spec.host_network.unwrap_or(false);
        self.write_etc_files(host_network)
            .map_err(|e| Fatal(format!("cannot write the pod's /etc files: {e}")))?;
        self.reload_data();
        let spec = &self.file.request.spec;
        let claims = &self.file.request.claims;
        self.volumes = podspec::volumes::prepare(spec, claims, &self.dir.root().join("volumes"));
        let host_pid = spec.host_pid.unwrap_or(false);
        let config = SandboxConfig {
            hostname: (!host_network).then(|| self.hostname.clone()),
            host_network,
            host_ipc: spec.host_ipc.unwrap_or(false),
            host_pid,
            share_process_namespace: false,
            cgroup: None,
        };
        let sandbox_err = |e: &dyn std::error::Error| Fatal(format!("cannot start the pod sandbox: {}", chain(e)));
        self.namespaces = sandbox::enter(&config).map_err(|e| sandbox_err(&e))?;
        if !spec.share_process_namespace.unwrap_or(false) || host_pid {
            return Ok(());
        }
        self.join_migration_wait();
        let pause = self
            .cgroups
            .container(&self.file.request.node, &self.file.request.uid, "pause")
            .map_err(|e| Fatal(chain(&e)))?;
        pause
            .create()
            .map_err(|e| Fatal(format!("cannot create the sandbox cgroup: {}", chain(&e))))?;
        // The pause process inherits the namespaces entered above and adds the PID one.
        let pid_only = SandboxConfig {
            host_network: true,
            host_ipc: true,
            share_process_namespace: true,
            cgroup: Some(pause),
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(&pid_only).map_err(|e| sandbox_err(&e))?;
        self.namespaces.pid = sandbox.namespaces().pid.clone();
        self.sandbox = Some(sandbox);
        Ok(())
    }

    fn write_etc_files(&self, host_network: bool) -> std::io::Result<()> {
        let spec = &self.file.request.spec;
        std::fs::create_dir_all(self.dir.etc(""))?;
        let aliases: Vec<HostAlias> = spec
            .host_aliases
            .iter()
            .map(|a| HostAlias {
                ip: a.ip.clone(),
                hostnames: a.hostnames.clone(),
            })
            .collect();
        let (hosts, hostname) = if host_network {
            let node_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
            let name = crate::runtime::host::hostname();
            (hosts::host_network_hosts(&node_hosts, &aliases), name)
        } else {
            let domain = hosts::pod_domain(spec.subdomain.as_deref(), &self.file.request.namespace, "cluster.local");
            let ips: Vec<String> = Vec::new();
            let text = hosts::managed_hosts(&ips, &self.hostname, domain.as_deref(), &aliases);
            (text, self.hostname.clone())
        };
        std::fs::write(self.dir.etc("hosts"), hosts)?;
        std::fs::write(self.dir.etc("hostname"), hosts::hostname_file(&hostname))?;
        // dnsPolicy Default uses the node's file; ClusterFirst would point at a cluster DNS,
        // which rekon does not run yet, so every policy gets the node's file for now.
        let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        std::fs::write(self.dir.etc("resolv.conf"), resolv)
    }

    /// Reads `config/data.json` again and rewrites the config volumes from it, each through
    /// one `..data` swap (nothing changes for a volume whose files are the same). A file that
    /// cannot be read keeps the data read before.
    pub fn reload_data(&mut self) {
        if !podspec::data::needs_data(&self.file.request.spec) {
            return;
        }
        let data = match std::fs::read(self.dir.data_file()) {
            Ok(bytes) => match serde_json::from_slice::<PodData>(&bytes) {
                Ok(d) => {
                    self.loaded = Some(super::poddir::data_digest(&bytes));
                    Some(d)
                }
                Err(e) => {
                    eprintln!("cannot read {}: {e}", self.dir.data_file().display());
                    None
                }
            },
            Err(e) => {
                eprintln!("cannot read {}: {e}", self.dir.data_file().display());
                None
            }
        };
        if data.is_some() {
            self.data = data;
        }
        let now = crate::time::now();
        self.config_volumes = self.write_config_volumes(now);
        self.token_due = podspec::payload::token_refresh(&self.file.request.spec, now);
    }

    /// Says which data the status just written reflects (`config/data.loaded`), once after
    /// each reload: `apply` waits for it before it looks at the pod again.
    pub fn acknowledge_data(&mut self) {
        if let Some(digest) = self.loaded.take() {
            let _ = crate::fsutil::replace_volatile_mode(&self.dir.data_loaded_file(), digest.as_bytes(), 0o600);
        }
    }

    /// When the tokens of the pod's volumes are to be minted again ([`Pod::reload_data`]).
    pub fn token_due(&self) -> Option<crate::time::Time> {
        self.token_due
    }

    fn write_config_volumes(&self, now: crate::time::Time) -> Result<(), String> {
        let req = &self.file.request;
        let Some(data) = &self.data else {
            return Err("the pod's config data is missing".to_string());
        };
        let base = self.dir.config_volumes();
        std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
        let mut first_error = None;
        for volume in &req.spec.volumes {
            let Some(payload) = podspec::payload::volume_payload_at(req, data, volume, now) else {
                continue;
            };
            let written = payload.and_then(|p| {
                crate::runtime::linux::atomic_writer::write(&base.join(&volume.name), &p).map_err(|e| e.to_string())
            });
            if let Err(e) = written {
                first_error.get_or_insert(format!("MountVolume.SetUp failed for volume {:?} : {e}", volume.name));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Creates and starts one container; the event says how it went.
    fn start(&mut self, name: &str) -> Event {
        match self.try_start(name) {
            Ok(()) => Event::ContainerStarted { name: name.into() },
            Err(failure) => {
                eprintln!("container {name}: {failure:?}");
                Event::ContainerCreateFailed {
                    name: name.into(),
                    failure,
                }
            }
        }
    }

    fn try_start(&mut self, name: &str) -> Result<(), CreateFailure> {
        let config_err = |message: String| CreateFailure::ConfigError { message };
        let req = &self.file.request;
        let slot = self
            .slots
            .get(name)
            .ok_or_else(|| config_err(format!("no container {name}")))?;
        let spec = slot.spec.clone();
        let image = self.image(&spec)?;
        let facts = PodFacts {
            pod_ip: None,
            host_ip: None,
            hostname: self.hostname.clone(),
        };
        // The kubelet mounts every volume of the pod before it starts any container.
        self.volumes.clone().map_err(config_err)?;
        self.config_volumes
            .clone()
            .map_err(|message| CreateFailure::VolumeNotReady { message })?;
        let built =
            podspec::env::build(req, &spec, &image.config.env, &facts, self.data.as_ref()).map_err(config_err)?;
        let env = built.env;
        let argv = podspec::command::argv(&spec, &image.config, &built.declared).map_err(config_err)?;
        let mounts = podspec::volumes::container_mounts(
            &req.spec,
            &req.claims,
            &spec,
            &self.dir.root().join("volumes"),
            &self.dir.config_volumes(),
        )
        .map_err(config_err)?;
        let env_warnings = built.warnings;
        let store = self.store.as_ref().expect("image() checked the store");
        let lower_dirs = store.lowerdirs(&image);
        let user = podspec::user::resolve(&req.spec, &spec, &image.config, &lower_dirs).map_err(config_err)?;
        let resources = Resources::of(&spec);
        let restrictions = Restrictions::of(spec.security_context.as_ref()).map_err(config_err)?;
        let cgroup = match &slot.cgroup {
            Some(c) => c.clone(),
            None => {
                let c = self
                    .cgroups
                    .container(&req.node, &req.uid, name)
                    .map_err(|e| config_err(chain(&e)))?;
                c.create().map_err(|e| config_err(chain(&e)))?;
                c.set_limits(&resources.limits()).map_err(|e| config_err(chain(&e)))?;
                c
            }
        };
        let working_dir = spec
            .working_dir
            .clone()
            .or(image.config.working_dir.clone())
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        let start_err = |message: String| CreateFailure::ExecutableNotFound { message };
        let log = match self.logs.remove(name) {
            Some(log) => {
                // kubectl logs --previous shows the instance that just ended.
                let _ = log.start_new_instance();
                log
            }
            None => LogWriter::open(self.dir.root(), name)
                .map_err(|e| start_err(format!("cannot open the log of {name}: {e}")))?,
        };
        self.logs.insert(name.to_string(), log);
        let rootfs = RootfsDirs::new(&self.dir.rootfs(name));
        // A restarted container gets a fresh writable layer, as with a new CRI container.
        let _ = rootfs.cleanup();
        rootfs
            .create()
            .map_err(|e| start_err(format!("cannot create {}: {e}", rootfs.base.display())))?;
        let namespaces = self.namespaces.clone();
        let config = ContainerConfig {
            lower_dirs,
            rootfs: Some(rootfs),
            readonly_rootfs: spec
                .security_context
                .as_ref()
                .and_then(|s| s.read_only_root_filesystem)
                .unwrap_or(false),
            namespaces,
            cgroup: Some(cgroup.clone()),
            etc: EtcFiles {
                hosts: Some(self.dir.etc("hosts")),
                hostname: Some(self.dir.etc("hostname")),
                resolv_conf: Some(self.dir.etc("resolv.conf")),
            },
            mounts,
            argv,
            env: env.to_strings(),
            working_dir: working_dir.clone(),
            user: user.clone(),
            restrictions,
            oom_score_adj: Some(podspec::oom_score_adj(
                self.qos,
                resources.memory_request,
                self.node_memory,
            )),
        };
        let pipe_err = |e: nix::Error| start_err(format!("cannot create a pipe: {e}"));
        let (out_pipe, out_w) = output::pipe(name, Stream::Stdout).map_err(pipe_err)?;
        let (err_pipe, err_w) = output::pipe(name, Stream::Stderr).map_err(pipe_err)?;
        let oom_before = cgroup.oom_kills().unwrap_or(0);
        let stdio = ContainerStdio {
            stdin: None,
            stdout: Some(out_w),
            stderr: Some(err_w),
        };
        let slot = self.slots.get_mut(name).expect("checked above");
        slot.cgroup = Some(cgroup.clone());
        let process = Container::spawn(&config, stdio).map_err(|e| start_err(chain(&e)))?;
        let pid = process.pid();
        let _ = std::fs::create_dir_all(self.dir.container(name));
        let _ = std::fs::write(self.dir.container_pid(name), format!("{pid}\n"));
        slot.target = Some(ExecTarget {
            pid,
            cgroup: Some(cgroup),
            env: config.env.clone(),
            working_dir,
            user,
            restrictions,
        });
        slot.process = Some(process);
        slot.oom_before = oom_before;
        slot.stop_signal = podspec::stop_signal(&image.config);
        self.pipes.push(out_pipe);
        self.pipes.push(err_pipe);
        self.env_warnings.extend(env_warnings);
        Ok(())
    }

    /// The container's image from the local store (every pull policy uses the local image:
    /// there is no registry yet).
    fn image(&self, spec: &ContainerSpec) -> Result<Image, CreateFailure> {
        let reference = spec.image();
        let missing = |detail: String| CreateFailure::ImageMissing {
            message: format!(
                "image {reference:?} is not in rekon's image store{detail}; import it with `rekon image import`"
            ),
        };
        let Some(store) = &self.store else {
            return Err(missing(String::new()));
        };
        match store.get(reference) {
            Ok(Some(image)) => Ok(image),
            Ok(None) => Err(missing(String::new())),
            Err(e) => Err(missing(format!(" ({})", chain(&e)))),
        }
    }

    fn run_hook(&mut self, name: &str, kind: HookKind, timeout: Option<Duration>) -> Vec<Event> {
        let finished = |ok: Result<(), String>| hook_event(name, kind, ok);
        let Some(slot) = self.slots.get_mut(name) else {
            return vec![];
        };
        let handler: Option<LifecycleHandler> = slot.spec.lifecycle.as_ref().and_then(|l| match kind {
            HookKind::PostStart => l.post_start.clone(),
            HookKind::PreStop => l.pre_stop.clone(),
        });
        let deadline = timeout.map(|t| Instant::now() + t);
        let Some(handler) = handler else {
            return vec![finished(Ok(()))];
        };
        if let Some(exec) = &handler.exec {
            let Some(target) = &slot.target else {
                return vec![finished(Err("the container is not running".into()))];
            };
            return match hooks::spawn(target, &exec.command) {
                Ok(child) => {
                    slot.hook = Some(Hook {
                        kind,
                        child: Some(HookProcess::Exec(child)),
                        deadline,
                        command: format!("{:?}", exec.command),
                    });
                    vec![]
                }
                Err(e) => vec![finished(Err(format!(
                    "command {:?} failed to start: {e}",
                    exec.command
                )))],
            };
        }
        if let Some(sleep) = &handler.sleep {
            let until = Instant::now() + Duration::from_secs(sleep.seconds.max(0) as u64);
            slot.hook = Some(Hook {
                kind,
                child: None,
                deadline: Some(deadline.map_or(until, |d| d.min(until))),
                command: String::new(),
            });
            return vec![];
        }
        if let Some(get) = &handler.http_get {
            let Some(target) = &slot.target else {
                return vec![finished(Err("the container is not running".into()))];
            };
            let request = match NetCheck::http(get, &slot.spec) {
                Ok(NetCheck::Http(request)) => request,
                Ok(NetCheck::Tcp { .. }) => unreachable!("an httpGet action gives an HTTP check"),
                Err(e) => return vec![finished(Err(e))],
            };
            // Without a deadline (postStart) the kubelet's client waits as long as it takes;
            // a day stands for that.
            let timeout = timeout.unwrap_or(Duration::from_secs(24 * 3600));
            return match hooks::spawn_http(target.pid, &request, timeout) {
                Ok(process) => {
                    slot.hook = Some(Hook {
                        kind,
                        child: Some(process),
                        deadline,
                        command: request.url(),
                    });
                    vec![]
                }
                Err(e) => vec![finished(Err(format!(
                    "cannot start the request to {}: {e}",
                    request.url()
                )))],
            };
        }
        vec![finished(Err("the hook has no handler".into()))]
    }

    /// The earliest hook deadline, from now.
    pub fn next_hook_deadline(&self) -> Option<Duration> {
        let now = Instant::now();
        self.slots
            .values()
            .filter_map(|s| s.hook.as_ref()?.deadline)
            .min()
            .map(|d| d.saturating_duration_since(now))
    }

    /// Hooks whose deadline passed: sleeps that ended, exec hooks that timed out (killed).
    pub fn expired_hooks(&mut self) -> Vec<Event> {
        let now = Instant::now();
        let mut events = Vec::new();
        for (name, slot) in &mut self.slots {
            let Some(hook) = &mut slot.hook else { continue };
            if hook.deadline.is_none_or(|d| d > now) {
                continue;
            }
            if let Some(child) = &mut hook.child {
                child.kill();
            }
            events.push(hook_event(
                name,
                hook.kind,
                if hook.child.is_some() {
                    Err(format!("command {} timed out", hook.command))
                } else {
                    Ok(())
                },
            ));
            slot.hook = None;
        }
        events
    }

    /// Reads the readable pipes (indexes into [`Pod::pipes`]); drops those at EOF.
    pub fn drain_pipes(&mut self, readable: &[usize]) {
        let mut closed = Vec::new();
        for &i in readable {
            let Some(pipe) = self.pipes.get_mut(i) else { continue };
            if pipe.drain(self.logs.get(&pipe.container)) {
                closed.push(i);
            }
        }
        for i in closed.into_iter().rev() {
            self.pipes.remove(i);
        }
    }

    /// Collects exited containers and hooks (after SIGCHLD; harmless at any time).
    pub fn reap(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        let mut exited = Vec::new();
        for (name, slot) in &mut self.slots {
            if let Some(hook) = &mut slot.hook
                && let Some(child) = &mut hook.child
                && let Some(outcome) = child.try_finish(&hook.command)
            {
                events.push(hook_event(name, hook.kind, outcome));
                slot.hook = None;
            }
            let Some(process) = &mut slot.process else { continue };
            let Ok(Some(exit)) = process.try_wait() else { continue };
            let oom = slot
                .cgroup
                .as_ref()
                .and_then(|c| c.oom_kills().ok())
                .is_some_and(|n| n > slot.oom_before);
            slot.process = None;
            let _ = std::fs::remove_file(self.dir.container_pid(name));
            exited.push(name.clone());
            let exit = match exit {
                ContainerExit::Exited(c) => Exit::Code(c),
                ContainerExit::Signaled(s) => Exit::Signal(s),
            };
            events.push(Event::ContainerExited {
                name: name.clone(),
                exit,
                oom_killed: oom,
            });
        }
        // The last output of an exited container goes to its log before the exit is known.
        for i in (0..self.pipes.len()).rev() {
            if exited.contains(&self.pipes[i].container) {
                let pipe = self.pipes.remove(i);
                let log = self.logs.get(&pipe.container);
                pipe.close(log);
            }
        }
        if let Some(sandbox) = &mut self.sandbox
            && !sandbox.is_running()
        {
            eprintln!("the pod sandbox (pid {}) exited", sandbox.pid());
        }
        events
    }

    /// Tears everything down: processes, sandbox, cgroups, host mounts, container roots.
    pub fn destroy(&mut self) {
        for slot in self.slots.values_mut() {
            if let Some(mut hook) = slot.hook.take()
                && let Some(child) = &mut hook.child
            {
                child.kill();
            }
            // Dropping a Container kills and reaps it.
            slot.process = None;
        }
        self.pipes.clear();
        if let Some(sandbox) = self.sandbox.take()
            && let Err(e) = sandbox.stop(Duration::from_secs(2))
        {
            eprintln!("cannot stop the sandbox: {}", chain(&e));
        }
        if let Err(e) = self.pod_cgroup.remove(CGROUP_REMOVE_TIMEOUT) {
            eprintln!("cannot remove the pod cgroup: {}", chain(&e));
        }
        if let Err(e) = unmount_host(self.dir.root()) {
            eprintln!("cannot unmount the pod's volumes: {e}");
        }
        for name in self.slots.keys() {
            let _ = RootfsDirs::new(&self.dir.rootfs(name)).cleanup();
            let _ = std::fs::remove_file(self.dir.container_pid(name));
        }
    }
}

fn hook_event(name: &str, kind: HookKind, outcome: Result<(), String>) -> Event {
    match (kind, outcome) {
        (HookKind::PreStop, _) => Event::PreStopFinished { name: name.into() },
        (HookKind::PostStart, Ok(())) => Event::PostStartSucceeded { name: name.into() },
        (HookKind::PostStart, Err(message)) => Event::PostStartFailed {
            name: name.into(),
            message,
        },
    }
}

/// An error and its causes, `: `-separated.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The host's memory in bytes (`MemTotal`), the node capacity for `oom_score_adj`.
fn node_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(1 << 30, |kb| kb * 1024)
}
