//! `rekon validate` over the upstream example corpus in ../shared/k8s-examples.

use crate::support::{Host, SHARED};
use std::path::Path;

const OUT_OF_SCOPE: &[(&str, &str)] = &[
    ("pods/pod-with-pod-affinity.yaml", "spec.affinity"),
    ("pods/pod-with-toleration.yaml", "spec.tolerations"),
    (
        "pods/security/seccomp/ga/audit-pod.yaml",
        "spec.securityContext.seccompProfile",
    ),
];

fn corpus_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let root = Path::new(SHARED).join("k8s-examples");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

#[test]
fn every_in_scope_example_validates_and_out_of_scope_ones_name_the_field() {
    let host = Host::new();
    let files = corpus_files();
    assert_eq!(files.len(), 49, "the corpus README lists 49 manifests");
    let mut failures = Vec::new();
    for file in &files {
        let path = Path::new(SHARED).join("k8s-examples").join(file);
        let run = host.run(&["validate", "-f", path.to_str().unwrap()]);
        match OUT_OF_SCOPE.iter().find(|(f, _)| f == file) {
            None if run.code != Some(0) => failures.push(format!("{file}: expected success\n{}", run.stderr)),
            None => assert!(run.stdout.starts_with("Success! "), "{file}: {}", run.stdout),
            Some((_, field)) => {
                let line = run
                    .stderr
                    .lines()
                    .find(|l| l.contains(field) && l.contains("not supported by rekon"));
                match line {
                    // file:line:column: field: not supported by rekon…
                    Some(l) if l.split(':').nth(1).is_some_and(|n| n.parse::<u32>().is_ok()) && run.code == Some(1) => {
                    }
                    _ => failures.push(format!(
                        "{file}: expected an error naming {field} with its line\n{}",
                        run.stderr
                    )),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // validate needs no state: nothing was created.
    assert!(!host.state_dir().exists());
}

#[test]
fn bundled_examples_validate_and_plan() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut sets: Vec<_> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    sets.sort();
    assert!(sets.len() >= 3, "the README promises at least three example sets");
    for set in sets {
        let host = Host::new();
        let dir = set.to_str().unwrap();
        host.run(&["validate", "-f", dir]).expect(0);
        let run = host.run(&["plan", "-f", dir, "--detailed-exitcode"]).expect(2);
        assert!(
            run.stdout.contains(" to add, 0 to change, 0 to destroy."),
            "{dir}: {}",
            run.stdout
        );
    }
}
