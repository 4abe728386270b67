//! kubectl's output switches of `get`: `-l`, `-o name`, `--show-labels`.

use crate::support::Host;

#[test]
fn get_selects_by_label_and_prints_names_and_labels() {
    let host = Host::new();
    let dir = host.manifests(
        "apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, labels: {app: web, tier: front}}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: db-config, labels: {app: db}}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: plain}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: \"busybox:1\"}]
",
    );
    host.run(&["apply", "--yes", "-f", &dir]).expect(0);
    let out = |args: &[&str]| host.run(args).expect(0).stdout;
    // kube-root-ca.crt is in every namespace, as upstream's root-CA publisher makes it.
    assert_eq!(
        out(&["get", "cm", "-o", "name"]),
        "configmap/db-config\nconfigmap/kube-root-ca.crt\nconfigmap/plain\nconfigmap/web-config\n"
    );
    assert_eq!(
        out(&["get", "cm", "-l", "app=web", "-o", "name"]),
        "configmap/web-config\n"
    );
    assert_eq!(
        out(&["get", "cm", "-l", "app in (web,db),tier!=front", "-o", "name"]),
        "configmap/db-config\n"
    );
    assert_eq!(
        out(&["get", "cm", "-l", "!app", "-o", "name"]),
        "configmap/kube-root-ca.crt\nconfigmap/plain\n"
    );
    assert_eq!(
        out(&["get", "deploy", "-l", "app", "-o", "name"]),
        "deployment.apps/web\n"
    );
    // The table with LABELS last; AGE is masked.
    let table = out(&["get", "cm", "--show-labels"]);
    let masked: String = table
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {}\n", cells[0], cells[1], cells[3])
        })
        .collect();
    assert_eq!(
        masked,
        "NAME DATA LABELS\ndb-config 1 app=db\nkube-root-ca.crt 1 <none>\nplain 1 <none>\nweb-config 1 app=web,tier=front\n"
    );
    assert_eq!(
        table.lines().next().unwrap(),
        "NAME               DATA   AGE   LABELS",
        "kubectl's spacing"
    );
    let run = host.run(&["get", "cm", "-l", "app in web"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error: unable to parse the selector \"app in web\": expected a (value, …) set after `in`\n"
    );
    let run = host.run(&["get", "cm", "-l", "app=none"]).expect(0);
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("", "No resources found in default namespace.\n")
    );
}

#[test]
fn get_jsonpath_reads_what_get_json_prints() {
    let host = Host::new();
    let dir = host.manifests(
        "apiVersion: v1
kind: ConfigMap
metadata: {name: one}
data: {k: v1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: two}
data: {k: v2}
",
    );
    host.run(&["apply", "--yes", "-f", &dir]).expect(0);
    let out = |args: &[&str]| host.run(args).expect(0).stdout;
    assert_eq!(
        out(&["get", "cm", "-o", "jsonpath={.items[*].metadata.name}"]),
        "one two"
    );
    assert_eq!(out(&["get", "cm", "two", "-o", "jsonpath={.data.k}"]), "v2");
    assert_eq!(
        out(&[
            "get",
            "cm",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.data.k}{\"\\n\"}{end}"
        ]),
        "one=v1\ntwo=v2\n"
    );
    let run = host.run(&["get", "cm", "-o", "jsonpath={.items[7]}"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error: error executing jsonpath \"{.items[7]}\": array index out of bounds: index 7, length 2\n"
    );
}

/// Reads lines of a child's stdout in a thread, so the test can wait for one with a deadline.
fn line_reader(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn get_watch_prints_the_list_then_each_change_once() {
    let host = Host::new();
    let cm = |name: &str, keys: usize| {
        let data: Vec<String> = (0..keys).map(|i| format!("k{i}: v")).collect();
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{{}}}\n",
            data.join(", ")
        )
    };
    let dir = host.manifests(&cm("a", 1));
    host.run(&["apply", "--yes", "-f", &dir]).expect(0);
    let mut child = host
        .cmd(&["get", "cm", "-w"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = line_reader(child.stdout.take().unwrap());
    let next = || {
        lines
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("get -w printed nothing")
    };
    let words = |line: String| line.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(words(next())[..2], ["NAME", "DATA"]);
    assert_eq!(words(next())[..2], ["a", "1"]);
    // A new object and a changed one each print one new row; the unchanged one stays quiet.
    let dir = host.manifests(&format!("{}---\n{}", cm("a", 2), cm("b", 3)));
    host.run(&["apply", "--yes", "-f", &dir]).expect(0);
    let mut changed = vec![words(next())[..2].to_vec(), words(next())[..2].to_vec()];
    changed.sort();
    assert_eq!(changed, [["a", "2"], ["b", "3"]]);
    assert!(
        lines.recv_timeout(std::time::Duration::from_millis(1500)).is_err(),
        "a row whose only change is its age is not printed again"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let run = host.run(&["get", "cm", "-w", "-o", "yaml"]).expect(1);
    assert_eq!(
        run.stderr,
        "Error: --watch prints tables: use it with the default output, -o wide or -o name\n"
    );
}
