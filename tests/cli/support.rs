//! Test helpers: a throw-away git repository, a state dir, and running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A git repository in a temporary directory, committed with git2.
pub struct Repo {
    pub dir: tempfile::TempDir,
    repo: git2::Repository,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = git2::Repository::init_opts(dir.path(), &opts).unwrap();
        Repo { dir, repo }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, file: &str, text: &str) {
        let path = self.dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn remove(&self, file: &str) {
        std::fs::remove_file(self.dir.path().join(file)).unwrap();
    }

    /// Commits the whole work tree; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        let mut index = self.repo.index().unwrap();
        index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("test", "test@example.invalid").unwrap();
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap()
            .to_string()
    }
}

/// A state directory plus a fake-runtime file, and a way to run rekon against them.
pub struct Host {
    pub dir: tempfile::TempDir,
}

impl Host {
    pub fn new() -> Host {
        Host {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Writes `yaml` as the only manifest of this host's manifest directory; returns the
    /// directory, for `-f`.
    pub fn manifests(&self, yaml: &str) -> String {
        let dir = self.dir.path().join("manifests");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app.yaml"), yaml).unwrap();
        dir.to_str().unwrap().to_string()
    }

    pub fn fake_file(&self) -> PathBuf {
        self.dir.path().join("fake-runtime.json")
    }

    /// `rekon ARGS` with this host's state dir and the fake runtime.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rekon"));
        cmd.args(args)
            .env("REKON_STATE_DIR", self.state_dir())
            .env("REKON_RUNTIME", format!("fake:{}", self.fake_file().display()))
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().unwrap())
    }

    /// Pods the fake runtime holds, as (namespace/name, uid).
    pub fn fake_pods(&self) -> Vec<(String, String)> {
        let Ok(bytes) = std::fs::read(self.fake_file()) else {
            return vec![];
        };
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let mut pods: Vec<(String, String)> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(uid, pair)| {
                (
                    format!(
                        "{}/{}",
                        pair[0]["namespace"].as_str().unwrap(),
                        pair[0]["name"].as_str().unwrap()
                    ),
                    uid.clone(),
                )
            })
            .collect();
        pods.sort();
        pods
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.state_dir().join("state.json")).unwrap()).unwrap()
    }
}

/// The result of one run, with output as text.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }
}

impl Run {
    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared");

/// Polls `f` every 50 ms until it returns Some, for up to `secs`; fails naming `what`.
#[track_caller]
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// [`eventually`] for a condition.
#[track_caller]
pub fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    eventually(secs, what, || cond().then_some(()))
}

/// A child process that a failed assertion does not leave running.
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    /// Sends SIGTERM and waits (30 s at most) for the process to exit.
    #[track_caller]
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        eventually(30, "the process to stop after SIGTERM", || self.0.try_wait().unwrap())
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
