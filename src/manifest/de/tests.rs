//! Tests of [`super::from_node`] with small derived structs.

use super::*;
use crate::manifest::yaml::parse_documents;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Obj {
    metadata: Meta,
    #[serde(default)]
    spec: Option<Spec>,
}

#[derive(Debug, Deserialize, PartialEq, Default)]
struct Meta {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    replicas: Option<i32>,
    #[serde(default)]
    containers: Vec<Container>,
    #[serde(default)]
    restart_policy: Option<RestartPolicy>,
    #[serde(default)]
    paused: bool,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Container {
    name: String,
    #[serde(default)]
    image: String,
    #[serde(default)]
    port: Option<u16>,
}

#[derive(Debug, Deserialize, PartialEq)]
enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

fn load<T: DeserializeOwned>(text: &str) -> (Option<T>, Vec<FieldIssue>) {
    let docs = parse_documents(text).expect("valid yaml");
    from_node(&docs[0])
}

fn issue(path: &str, line: usize, column: usize, message: &str) -> FieldIssue {
    FieldIssue {
        path: path.to_string(),
        mark: Mark { line, column },
        message: message.to_string(),
    }
}

#[test]
fn reads_a_valid_document() {
    let text = "metadata:\n  name: web\n  labels: {app: web, 'app.kubernetes.io/name': x}\nspec:\n  replicas: 3\n  restartPolicy: OnFailure\n  paused: yes\n  containers:\n  - name: a\n    image: \"nginx:1\"\n    port: 0x50\n";
    let (obj, issues) = load::<Obj>(text);
    assert_eq!(issues, vec![]);
    let obj = obj.expect("built");
    assert_eq!(obj.metadata.labels["app.kubernetes.io/name"], "x");
    let spec = obj.spec.expect("spec");
    assert_eq!(
        (spec.replicas, spec.restart_policy, spec.paused),
        (Some(3), Some(RestartPolicy::OnFailure), true)
    );
    assert_eq!(
        spec.containers,
        vec![Container {
            name: "a".into(),
            image: "nginx:1".into(),
            port: Some(80)
        }]
    );
}

#[test]
fn reports_every_unknown_field_and_still_builds() {
    let text = "metadata:\n  name: web\n  nmae: typo\nspec:\n  containers:\n  - name: a\n    imagePullPolicy: Always\n";
    let (obj, issues) = load::<Obj>(text);
    assert!(obj.is_some());
    assert_eq!(
        issues,
        vec![
            issue("metadata.nmae", 3, 3, "unknown field"),
            issue("spec.containers[0].imagePullPolicy", 7, 5, "unknown field"),
        ]
    );
}

#[test]
fn an_unquoted_number_is_not_a_string() {
    let (obj, issues) = load::<Obj>("metadata:\n  name: web\n  labels:\n    version: 1\n");
    assert_eq!(obj, None);
    assert_eq!(
        issues,
        vec![issue(
            "metadata.labels.version",
            4,
            14,
            "expected a string, found integer 1 (quote it: \"1\")"
        )]
    );
    let (_, issues) = load::<Obj>("metadata:\n  name: true\n");
    assert_eq!(
        issues[0].message,
        "expected a string, found boolean true (quote it: \"true\")"
    );
}

#[test]
fn collects_several_hard_errors_and_unknown_fields() {
    let text = "metadata:\n  labels:\n    a.b/c: 1.5\nspec:\n  replicas: abc\n  bogus: 1\n  containers:\n  - image: x\n  - name: b\n    port: 70000\n";
    let (obj, issues) = load::<Obj>(text);
    assert_eq!(obj, None);
    assert_eq!(
        issues,
        vec![
            issue("metadata.name", 2, 3, "required"),
            issue(
                "metadata.labels['a.b/c']",
                3,
                12,
                "expected a string, found float 1.5 (quote it: \"1.5\")"
            ),
            issue("spec.replicas", 5, 13, "expected an integer, found string \"abc\""),
            issue("spec.bogus", 6, 3, "unknown field"),
            issue("spec.containers[0].name", 8, 5, "required"),
            issue(
                "spec.containers[1].port",
                10,
                11,
                "integer 70000 is out of range for u16"
            ),
        ]
    );
}

#[test]
fn a_missing_required_field_points_at_its_mapping() {
    let (obj, issues) = load::<Obj>("spec:\n  replicas: 1\nmetadata: {}\n");
    assert_eq!(obj, None);
    assert_eq!(issues, vec![issue("metadata.name", 3, 11, "required")]);
    let (_, issues) = load::<Obj>("spec: {}\n");
    assert_eq!(issues, vec![issue("metadata", 1, 1, "required")]);
}

#[test]
fn reports_bad_enum_variants_and_shapes() {
    let (_, issues) = load::<Obj>("metadata: {name: a}\nspec: {restartPolicy: Sometimes}\n");
    assert_eq!(
        issues,
        vec![issue(
            "spec.restartPolicy",
            2,
            23,
            "unknown variant `Sometimes`, expected one of `Always`, `OnFailure`, `Never`"
        )]
    );
    let (_, issues) = load::<Obj>("metadata: [a]\n");
    assert_eq!(
        issues,
        vec![issue("metadata", 1, 11, "expected a mapping, found a sequence")]
    );
}

#[test]
fn deserialize_any_types_plain_scalars() {
    let (v, issues) = load::<serde_json::Value>("a: 1\nb: '1'\nc: yes\nd: 1.5\ne: ~\nf: [x]\n");
    assert_eq!(issues, vec![]);
    let want = serde_json::json!({"a": 1, "b": "1", "c": true, "d": 1.5, "e": null, "f": ["x"]});
    assert_eq!(v, Some(want));
}

#[derive(Debug, PartialEq)]
enum Probe {
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Probe;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Probe, E> {
                Ok(Probe::Int(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Probe, E> {
                Ok(Probe::Str(v.to_string()))
            }
        }
        d.deserialize_newtype_struct(INT_OR_STRING, V)
    }
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(transparent)]
struct Raw(RawText);

#[derive(Debug, PartialEq)]
struct RawText(String);

impl<'de> Deserialize<'de> for RawText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, v: &str) -> Result<RawText, E> {
                Ok(RawText(v.to_string()))
            }
        }
        d.deserialize_newtype_struct(RAW_SCALAR, V)
    }
}

#[test]
fn magic_newtypes_see_raw_scalars() {
    let (v, issues) = load::<BTreeMap<String, Probe>>("a: 80\nb: http\nc: '80'\nd: 25%\n");
    assert_eq!(issues, vec![]);
    let v = v.expect("built");
    assert_eq!(v["a"], Probe::Int(80));
    assert_eq!(v["b"], Probe::Str("http".into()));
    assert_eq!(v["c"], Probe::Str("80".into()));
    assert_eq!(v["d"], Probe::Str("25%".into()));
    let (_, issues) = load::<BTreeMap<String, Probe>>("a: 1.5\n");
    assert_eq!(
        issues,
        vec![issue("a", 1, 4, "expected an integer or a string, found float 1.5")]
    );

    let (v, issues) = load::<Vec<Raw>>("[1, 0.5, 129e6, '100m', 1Gi, 010]\n");
    assert_eq!(issues, vec![]);
    let texts: Vec<String> = v.expect("built").into_iter().map(|r| r.0.0).collect();
    assert_eq!(texts, ["1", "0.5", "129e6", "100m", "1Gi", "010"]);
    let (_, issues) = load::<Vec<Raw>>("[{a: 1}]\n");
    assert_eq!(issues, vec![issue("[0]", 1, 2, "expected a scalar, found a mapping")]);
}

#[test]
fn nulls_are_zero_values() {
    let (obj, issues) = load::<Obj>("metadata:\n  name:\n  labels:\nspec:\n  replicas:\n  containers: ~\n");
    assert_eq!(issues, vec![]);
    let obj = obj.expect("built");
    assert_eq!(obj.metadata, Meta::default());
    assert_eq!(obj.spec.expect("spec").replicas, None);
}

#[test]
fn every_example_manifest_reads_as_json() {
    let root = std::path::Path::new("/work/shared/k8s-examples");
    let mut stack = vec![root.to_path_buf()];
    let mut docs_read = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("examples dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).expect("readable");
                for doc in parse_documents(&text).expect("parses") {
                    let (v, issues) = from_node::<serde_json::Value>(&doc);
                    assert_eq!(issues, vec![], "{}", path.display());
                    assert!(v.expect("built")["kind"].is_string(), "{}", path.display());
                    docs_read += 1;
                }
            }
        }
    }
    assert!(docs_read > 49, "{docs_read}");
}
