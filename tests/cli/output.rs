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
    assert_eq!(
        out(&["get", "cm", "-o", "name"]),
        "configmap/db-config\nconfigmap/plain\nconfigmap/web-config\n"
    );
    assert_eq!(
        out(&["get", "cm", "-l", "app=web", "-o", "name"]),
        "configmap/web-config\n"
    );
    assert_eq!(
        out(&["get", "cm", "-l", "app in (web,db),tier!=front", "-o", "name"]),
        "configmap/db-config\n"
    );
    assert_eq!(out(&["get", "cm", "-l", "!app", "-o", "name"]), "configmap/plain\n");
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
        "NAME DATA LABELS\ndb-config 1 app=db\nplain 1 <none>\nweb-config 1 app=web,tier=front\n"
    );
    assert_eq!(
        table.lines().next().unwrap(),
        "NAME         DATA   AGE   LABELS",
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
