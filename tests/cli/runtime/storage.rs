//! PersistentVolumes, claims and rekon's provisioner with real pods: the upstream examples
//! on a hostPath volume, data that outlives its pod, reclaim policies, `--prune-volumes`,
//! and pods whose claims cannot bind.

use super::{LinuxHost, SHARED, example};
use regex::Regex;
use std::path::Path;

/// An upstream manifest as it is (storage objects take no grace period).
fn raw(path: &str) -> String {
    std::fs::read_to_string(Path::new(SHARED).join("k8s-examples").join(path)).unwrap()
}

/// `get` output with uids and ages masked and columns collapsed to two spaces.
fn masked(text: &str) -> String {
    let uid = Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let age = Regex::new(r"\b\d+(s|m\d*s?)$").unwrap();
    let spaces = Regex::new(r"(\S) {2,}").unwrap();
    text.lines()
        .map(|l| {
            let l = uid.replace_all(l, "[UID]");
            let l = age.replace(&l, "[AGE]");
            format!("{}\n", spaces.replace_all(&l, "$1  "))
        })
        .collect()
}

/// The value of a `describe` line (`Status:       Bound` → `Bound`).
fn field(describe: &str, name: &str) -> String {
    describe
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in\n{describe}"))
        .trim()
        .to_string()
}

/// `/mnt/data`, the hostPath of the upstream examples, made for the test and removed after it
/// when it did not exist; files the test wrote are removed either way.
struct MntData {
    made: bool,
    files: Vec<&'static str>,
}

impl MntData {
    fn new() -> MntData {
        let made = !Path::new("/mnt/data").exists();
        std::fs::create_dir_all("/mnt/data").unwrap();
        MntData {
            made,
            files: Vec::new(),
        }
    }

    fn write(&mut self, name: &'static str, text: &str) {
        std::fs::write(Path::new("/mnt/data").join(name), text).unwrap();
        self.files.push(name);
    }
}

impl Drop for MntData {
    fn drop(&mut self) {
        for f in &self.files {
            let _ = std::fs::remove_file(Path::new("/mnt/data").join(f));
        }
        if self.made {
            let _ = std::fs::remove_dir_all("/mnt/data");
        }
    }
}

#[test]
fn the_upstream_pv_claim_pod_and_mysql_examples_use_the_host_directory() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    // mysql:5.6 stands in as a shell that writes into its data directory and stops on SIGTERM.
    let mysql = "echo ready > /var/lib/mysql/marker; trap 'exit 0' TERM; while true; do sleep 1; done";
    host.image("mysql:5.6", Some(&["sh", "-c", mysql]), None);
    let mut data = MntData::new();
    data.write("index.html", "Hello from Kubernetes storage\n");
    data.files.push("marker");
    let yaml = [
        raw("pods/storage/pv-volume.yaml"),
        raw("pods/storage/pv-claim.yaml"),
        example("pods/storage/pv-pod.yaml"),
    ]
    .join("---\n");
    host.apply(&yaml).expect(0);
    let index = host
        .run(&["exec", "task-pv-pod", "--", "cat", "/usr/share/nginx/html/index.html"])
        .expect(0)
        .stdout;
    assert_eq!(index, "Hello from Kubernetes storage\n");
    assert_eq!(
        masked(&host.run(&["get", "pv"]).expect(0).stdout),
        "NAME  CAPACITY  ACCESS MODES  RECLAIM POLICY  STATUS  CLAIM  STORAGECLASS  VOLUMEATTRIBUTESCLASS  REASON  AGE\n\
         task-pv-volume  10Gi  RWO  Retain  Bound  default/task-pv-claim  manual  <unset>  [AGE]\n"
    );
    assert_eq!(
        masked(&host.run(&["get", "pvc"]).expect(0).stdout),
        "NAME  STATUS  VOLUME  CAPACITY  ACCESS MODES  STORAGECLASS  VOLUMEATTRIBUTESCLASS  AGE\n\
         task-pv-claim  Bound  task-pv-volume  10Gi  RWO  manual  <unset>  [AGE]\n"
    );
    let describe = host.run(&["describe", "pvc", "task-pv-claim"]).expect(0).stdout;
    for (name, want) in [
        ("StorageClass", "manual"),
        ("Status", "Bound"),
        ("Volume", "task-pv-volume"),
        ("Capacity", "10Gi"),
        ("Access Modes", "RWO"),
        ("VolumeMode", "Filesystem"),
        ("Used By", "task-pv-pod"),
    ] {
        assert_eq!(field(&describe, name), want, "{describe}");
    }

    // MySQL on the same host directory: the first example's claim is pruned, its volume
    // (Retain) leaves git with it, and the MySQL claim binds the MySQL volume.
    let template = "    spec:\n      containers:";
    let deployment = raw("application/mysql/mysql-deployment.yaml").replace(
        template,
        "    spec:\n      terminationGracePeriodSeconds: 2\n      containers:",
    );
    let yaml = [raw("application/mysql/mysql-pv.yaml"), deployment].join("---\n");
    host.apply_with(&yaml, &["--prune-volumes"]).expect(0);
    assert_eq!(std::fs::read_to_string("/mnt/data/marker").unwrap(), "ready\n");
    let pods = host.run(&[
        "get",
        "pvc",
        "mysql-pv-claim",
        "-o",
        "jsonpath={.status.phase} {.spec.volumeName}",
    ]);
    assert_eq!(pods.expect(0).stdout, "Bound mysql-pv-volume");
    assert_eq!(
        masked(&host.run(&["get", "pv"]).expect(0).stdout),
        "NAME  CAPACITY  ACCESS MODES  RECLAIM POLICY  STATUS  CLAIM  STORAGECLASS  VOLUMEATTRIBUTESCLASS  REASON  AGE\n\
         mysql-pv-volume  20Gi  RWO  Retain  Bound  default/mysql-pv-claim  manual  <unset>  [AGE]\n"
    );
    // What the first pod wrote is still there: the volume is the host's directory.
    assert_eq!(
        std::fs::read_to_string("/mnt/data/index.html").unwrap(),
        "Hello from Kubernetes storage\n"
    );
    host.finish();
    drop(data);
}

/// A claim of the default class, one of a Retain class, and a pod that counts its starts in
/// both.
const COUNTER: &str = "apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: keep
provisioner: rekon.dev/local-path
reclaimPolicy: Retain
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: kept
spec:
  storageClassName: keep
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 2Gi
";

const COUNTER_POD: &str = "---
apiVersion: v1
kind: Pod
metadata:
  name: counter
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: [\"sh\", \"-c\", \"echo x >> /a/starts; echo x >> /b/starts; exec sleep 3600\"]
    volumeMounts:
    - {name: a, mountPath: /a}
    - {name: b, mountPath: /b}
    - {name: ro, mountPath: /ro}
  volumes:
  - name: a
    persistentVolumeClaim: {claimName: data}
  - name: b
    persistentVolumeClaim: {claimName: kept}
  - name: ro
    persistentVolumeClaim: {claimName: data, readOnly: true}
";

#[test]
fn provisioned_claims_outlive_their_pods_and_reclaim_follows_the_class() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&format!("{COUNTER}{COUNTER_POD}")).expect(0);
    let starts = |path: &str| host.run(&["exec", "counter", "--", "cat", path]).expect(0).stdout;
    assert_eq!(starts("/a/starts"), "x\n");
    // The same claim mounted readOnly: readable, not writable.
    assert_eq!(starts("/ro/starts"), "x\n");
    let write = host.run(&["exec", "counter", "--", "sh", "-c", "echo y >> /ro/starts"]);
    assert_ne!(write.code, Some(0), "{}", write.stdout);
    let first = host.uid("counter");
    host.run(&["delete", "pod", "counter"]).expect(0);
    host.apply(&format!("{COUNTER}{COUNTER_POD}")).expect(0);
    assert_ne!(host.uid("counter"), first, "a new pod");
    assert_eq!(starts("/a/starts"), "x\nx\n");
    assert_eq!(starts("/b/starts"), "x\nx\n");
    assert_eq!(
        masked(&host.run(&["get", "pvc"]).expect(0).stdout),
        "NAME  STATUS  VOLUME  CAPACITY  ACCESS MODES  STORAGECLASS  VOLUMEATTRIBUTESCLASS  AGE\n\
         data  Bound  pvc-[UID]  1Gi  RWO  standard  <unset>  [AGE]\n\
         kept  Bound  pvc-[UID]  2Gi  RWO  keep  <unset>  [AGE]\n"
    );
    assert_eq!(
        masked(&host.run(&["get", "sc"]).expect(0).stdout),
        "NAME  PROVISIONER  RECLAIMPOLICY  VOLUMEBINDINGMODE  ALLOWVOLUMEEXPANSION  AGE\n\
         keep  rekon.dev/local-path  Retain  Immediate  false  [AGE]\n\
         standard (default)  rekon.dev/local-path  Delete  Immediate  false  [AGE]\n"
    );
    let volume = |claim: &str| {
        let run = host.run(&["get", "pvc", claim, "-o", "jsonpath={.spec.volumeName}"]);
        run.expect(0).stdout
    };
    let (deleted, retained) = (volume("data"), volume("kept"));
    let dir = |pv: &str| host.state_dir().join("volumes").join(pv);
    assert!(dir(&deleted).is_dir() && dir(&retained).is_dir());

    // The claims leave git: the plan keeps them, and so does apply.
    let manifests = host.dir.path().join("manifests");
    std::fs::write(manifests.join("pods.yaml"), COUNTER.split("---\n").next().unwrap()).unwrap();
    let plan = host.run(&["plan", "-f", manifests.to_str().unwrap()]).expect(0).stdout;
    let kept: Vec<&str> = plan.lines().filter(|l| l.contains("will be kept")).collect();
    assert_eq!(
        kept,
        [
            "  # PersistentVolumeClaim default/data will be kept (apply with --prune-volumes to delete it and its data)",
            "  # PersistentVolumeClaim default/kept will be kept (apply with --prune-volumes to delete it and its data)",
        ],
        "{plan}"
    );
    host.apply(COUNTER.split("---\n").next().unwrap()).expect(0);
    assert!(dir(&deleted).is_dir() && dir(&retained).is_dir());
    assert_eq!(
        host.run(&["get", "pvc", "-o", "name"]).expect(0).stdout,
        "persistentvolumeclaim/data\npersistentvolumeclaim/kept\n"
    );

    // With --prune-volumes: Delete removes the data, Retain keeps it and the volume is Released.
    host.apply_with(COUNTER.split("---\n").next().unwrap(), &["--prune-volumes"])
        .expect(0);
    assert!(!dir(&deleted).exists(), "the Delete volume's directory is removed");
    assert_eq!(
        std::fs::read_to_string(dir(&retained).join("starts")).unwrap(),
        "x\nx\n"
    );
    assert_eq!(
        masked(&host.run(&["get", "pv"]).expect(0).stdout),
        "NAME  CAPACITY  ACCESS MODES  RECLAIM POLICY  STATUS  CLAIM  STORAGECLASS  VOLUMEATTRIBUTESCLASS  REASON  AGE\n\
         pvc-[UID]  2Gi  RWO  Retain  Released  default/kept  keep  <unset>  [AGE]\n"
    );
    assert_eq!(
        host.run(&["get", "pvc"]).stderr,
        "No resources found in default namespace.\n"
    );
    // `down` says where retained data stays.
    let down = host.run(&["down", "--yes"]).expect(0).stdout;
    assert!(
        down.contains(&format!(
            "PersistentVolume {retained} is retained (reclaim policy Retain): its data stays in {}\n",
            dir(&retained).display()
        )),
        "{down}"
    );
    host.assert_clean();
}

#[test]
fn a_pod_whose_claim_cannot_bind_stays_pending_and_runs_once_a_volume_is_in_git() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    let claim = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: none\nspec:\n  storageClassName: \"\"\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n";
    let pod = COUNTER_POD
        .replace("claimName: data", "claimName: none")
        .replace("claimName: kept", "claimName: none");
    let run = host.apply(&format!("{claim}{pod}"));
    assert!(
        run.stdout.contains(
            "  # (no node can take it: 0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.)"
        ),
        "{}",
        run.stdout
    );
    run.expect(3);
    let describe = host.run(&["describe", "pvc", "none"]).expect(0).stdout;
    assert_eq!(field(&describe, "Status"), "Pending");
    assert!(
        describe.contains("no persistent volumes available for this claim and no storage class is set"),
        "{describe}"
    );
    let dir = host.dir.path().join("pv");
    let volume = format!(
        "---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: plain\nspec:\n  capacity: {{storage: 1Gi}}\n  accessModes: [ReadWriteOnce]\n  hostPath: {{path: {}, type: DirectoryOrCreate}}\n",
        dir.display()
    );
    host.apply(&format!("{claim}{volume}{pod}")).expect(0);
    assert_eq!(std::fs::read_to_string(dir.join("starts")).unwrap(), "x\nx\n");
    host.finish();
}
