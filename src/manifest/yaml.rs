//! A YAML reader that keeps the line and column of every node.
//!
//! Built on the event parser of `yaml-rust2`. Anchors and aliases are expanded (with a node
//! budget against "billion laughs" files), duplicate and non-scalar keys are errors, and only
//! the core tags `!!str !!int !!bool !!null !!float !!seq !!map` are accepted. Scalars keep
//! their text and style; [`resolve_plain`] gives plain scalars their YAML 1.1 type as
//! Kubernetes does (sigs.k8s.io/yaml on go-yaml v2).

mod build;
mod flow;
mod path;
mod resolve;

pub use path::{PathSegment, format_key, parse_path};
pub use resolve::{Resolved, resolve_plain};

/// How many nodes one document may expand to (aliases included) before it is rejected; a
/// file's aliases together may expand to ten times as many.
pub const NODE_BUDGET: usize = 100_000;

/// A position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mark {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

/// How a scalar was written: plain scalars get YAML type resolution, quoted ones are strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    /// Unquoted; its type is resolved from its text ([`resolve_plain`]).
    Plain,
    /// Single- or double-quoted: always a string.
    Quoted,
    /// A literal (`|`) or folded (`>`) block scalar: always a string.
    Block,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `~`, `null`, `Null`, `NULL` or an empty plain scalar.
    Null,
    /// Any other scalar, with its exact text (after YAML unescaping) and style.
    Scalar {
        /// The scalar's text, unescaped.
        text: String,
        /// How the scalar was written.
        style: ScalarStyle,
    },
    /// A sequence, items in file order.
    Seq(Vec<Node>),
    /// Keys in file order; duplicate keys are a parse error.
    Map(Vec<(Node, Node)>),
}

/// A YAML node with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub value: NodeValue,
    /// Where the node starts in the file.
    pub mark: Mark,
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Where in the file the error was found.
    pub mark: Mark,
    /// What is wrong.
    pub message: String,
}

/// Parses every document of a (possibly multi-document) YAML text, skipping empty documents
/// (a lone `---`, only comments, or a document that is just `null`).
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    build::Builder::new(NODE_BUDGET).run(text)
}

impl Node {
    /// The node at a field path such as `spec.containers[0].image`, or the deepest existing
    /// ancestor of it (so an error about a missing field points at its parent).
    ///
    /// Path syntax: map keys joined by `.`, sequence indices as `[i]`, and keys that are not
    /// made only of ASCII letters, digits, `_` and `-` written as `['key']` (with `\'` and `\\`
    /// escapes), e.g. `metadata.labels['app.kubernetes.io/name']`. This is the syntax
    /// [`super::de`] uses in its issue paths. A path that does not parse locates `self`.
    pub fn locate(&self, path: &str) -> &Node {
        let Some(segments) = parse_path(path) else {
            return self;
        };
        let mut node = self;
        for seg in &segments {
            let next = match (&node.value, seg) {
                (NodeValue::Map(entries), PathSegment::Key(k)) => entries
                    .iter()
                    .find(|(key, _)| key.key_text() == Some(k.as_str()))
                    .map(|(_, v)| v),
                (NodeValue::Seq(items), PathSegment::Index(i)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// The text of a scalar node (`None` for null, sequences and mappings).
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The text of a mapping key; keys are always scalars after parsing.
    fn key_text(&self) -> Option<&str> {
        self.scalar_text()
    }

    /// A short description of the node's kind and value for error messages:
    /// `integer 1`, `string "abc"`, `a mapping`.
    pub fn describe(&self) -> String {
        match &self.value {
            NodeValue::Null => "null".to_string(),
            NodeValue::Seq(_) => "a sequence".to_string(),
            NodeValue::Map(_) => "a mapping".to_string(),
            NodeValue::Scalar {
                text,
                style: ScalarStyle::Plain,
            } => match resolve_plain(text) {
                Resolved::Null => "null".to_string(),
                Resolved::Bool(_) => format!("boolean {text}"),
                Resolved::Int(_) => format!("integer {text}"),
                Resolved::Float(_) => format!("float {text}"),
                Resolved::Str => format!("string {text:?}"),
            },
            NodeValue::Scalar { text, .. } => format!("string {text:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(text: &str) -> Node {
        let mut docs = parse_documents(text).expect("parses");
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    fn parse_err(text: &str) -> YamlError {
        parse_documents(text).expect_err("should fail")
    }

    fn scalar(text: &str, style: ScalarStyle) -> NodeValue {
        NodeValue::Scalar {
            text: text.to_string(),
            style,
        }
    }

    #[test]
    fn parses_every_example_manifest() {
        let root = std::path::Path::new("/work/shared/k8s-examples");
        let mut stack = vec![root.to_path_buf()];
        let mut files = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("examples dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    let text = std::fs::read_to_string(&path).expect("readable");
                    let docs = parse_documents(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
                    assert!(!docs.is_empty(), "{}", path.display());
                    for doc in &docs {
                        assert!(
                            doc.locate("kind").scalar_text().is_some(),
                            "{}: no kind",
                            path.display()
                        );
                    }
                    files += 1;
                }
            }
        }
        assert_eq!(files, 49);
    }

    #[test]
    fn keeps_positions_and_styles() {
        let doc = parse_one(
            "\n# c\nmetadata:\n  name: web\n  labels:\n    'app.kubernetes.io/name': \"x\"\nspec:\n  ports:\n  - port: 80\n    text: |\n      hi\n",
        );
        let name = doc.locate("metadata.name");
        assert_eq!(name.value, scalar("web", ScalarStyle::Plain));
        assert_eq!(name.mark, Mark { line: 4, column: 9 });
        let label = doc.locate("metadata.labels['app.kubernetes.io/name']");
        assert_eq!(label.value, scalar("x", ScalarStyle::Quoted));
        assert_eq!(label.mark, Mark { line: 6, column: 31 });
        assert_eq!(doc.locate("spec.ports[0].port").mark, Mark { line: 9, column: 11 });
        assert_eq!(
            doc.locate("spec.ports[0].text").value,
            scalar("hi\n", ScalarStyle::Block)
        );
        // The deepest existing node: `spec.ports[0]`, then `spec`.
        assert_eq!(
            doc.locate("spec.ports[0].missing.deeper").mark,
            Mark { line: 9, column: 5 }
        );
        assert_eq!(doc.locate("spec.ports[3]").mark, doc.locate("spec.ports").mark);
    }

    #[test]
    fn reads_kyaml_flow_style() {
        let text = "---\n{\n  apiVersion: \"v1\",\n  # comment\n  kind: \"Pod\",\n  spec: {\n    ports: [80, 443,],  # trailing\n  },\n}";
        let doc = parse_one(text);
        assert_eq!(doc.locate("kind").value, scalar("Pod", ScalarStyle::Quoted));
        assert_eq!(doc.locate("spec.ports[1]").value, scalar("443", ScalarStyle::Plain));
        assert_eq!(doc.locate("spec.ports[1]").mark, Mark { line: 7, column: 17 });
    }

    #[test]
    fn skips_empty_documents() {
        let docs = parse_documents("---\n# only a comment\n---\na: 1\n---\n---\nb: 2\n...\n---\n~\n").expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].mark, Mark { line: 7, column: 1 });
        assert_eq!(parse_documents("").expect("parses"), vec![]);
    }

    #[test]
    fn rejects_duplicate_and_complex_keys() {
        let e = parse_err("metadata:\n  name: a\n  name: b\n");
        assert_eq!(
            e,
            YamlError {
                mark: Mark { line: 3, column: 3 },
                message: "duplicate key \"name\"".to_string()
            }
        );
        assert_eq!(parse_err("? [a]\n: 1\n").message, "mapping key must be a scalar");
        assert_eq!(parse_err("a: 1\n- b\n").mark.line, 2);
    }

    #[test]
    fn expands_aliases_within_a_budget() {
        let doc = parse_one("base: &b {x: 1}\nother: *b\n");
        assert_eq!(doc.locate("other.x").value, scalar("1", ScalarStyle::Plain));
        assert_eq!(doc.locate("other").mark, Mark { line: 2, column: 8 });
        let mut laughs =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 9].join(",");
            laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let e = parse_err(&laughs);
        assert_eq!(
            e.message,
            "document expands to more than 100000 nodes (too many aliases?)"
        );
        assert_eq!(e.mark.line, 6);
    }

    #[test]
    fn the_budget_is_per_document_and_aliases_are_bounded_per_file() {
        // 20,000 small documents (~1.5 MB): every one is well inside the budget.
        let one = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels: {app: web, tier: x}\ndata:\n  a: b\n  c: d\n";
        let text = vec![one; 20_000].join("---\n");
        assert_eq!(parse_documents(&text).unwrap().len(), 20_000);
        // One document of many small ones expanding aliases: each is fine, together too much.
        let doc = format!(
            "a: &a [{}]\nb: [{}]\n",
            vec!["x"; 1000].join(","),
            vec!["*a"; 90].join(",")
        );
        assert_eq!(parse_documents(&doc).unwrap().len(), 1);
        let e = parse_documents(&[doc.as_str(); 12].join("---\n")).unwrap_err();
        assert_eq!(
            e.message,
            "aliases in this file expand to more than 1000000 nodes (too many aliases?)"
        );
        assert_eq!(e.mark.line, 12 * 3 - 1);
    }

    #[test]
    fn flow_collections_ignore_indentation_as_go_yaml_does() {
        // The closing bracket, and items, at the key's own indentation (go-yaml accepts them).
        let doc = parse_one(
            "spec:\n  command: [\n    \"sh\",\n  \"-c\"\n  ]\n  labels: {\n  app: web\n  }\n  args:\n  - [\n  x]\n",
        );
        assert_eq!(doc.locate("spec.command[1]").value, scalar("-c", ScalarStyle::Quoted));
        // Positions are the file's, not the relaxed text's.
        assert_eq!(doc.locate("spec.command[1]").mark, Mark { line: 4, column: 3 });
        assert_eq!(doc.locate("spec.labels.app").mark, Mark { line: 7, column: 8 });
        assert_eq!(doc.locate("spec.args[0][0]").value, scalar("x", ScalarStyle::Plain));
        // What is not inside a flow collection keeps its meaning.
        let doc = parse_one("a: |\n  [\nb: echo [x\nc: \"[\"\n");
        assert_eq!(doc.locate("a").value, scalar("[\n", ScalarStyle::Block));
        assert_eq!(doc.locate("b").value, scalar("echo [x", ScalarStyle::Plain));
        // A collection never closed is still an error, at its place in the file.
        assert!(parse_documents("a:\n  b: [\n  1,\n").is_err());
    }

    #[test]
    fn applies_merge_keys() {
        let text = "base: &b {x: 1, y: 2}\nmore: &m {z: 3, x: 9}\nm:\n  y: 5\n  <<: [*b, *m]\n";
        let doc = parse_one(text);
        let m = doc.locate("m");
        let NodeValue::Map(entries) = &m.value else {
            panic!("not a map: {m:?}")
        };
        let got: Vec<(&str, &str)> = entries
            .iter()
            .map(|(k, v)| (k.scalar_text().unwrap(), v.scalar_text().unwrap()))
            .collect();
        assert_eq!(got, [("y", "5"), ("x", "1"), ("z", "3")]);
        assert_eq!(
            parse_err("a:\n  <<: 1\n").message,
            "a merge key (<<) needs a mapping or a sequence of mappings"
        );
        assert_eq!(
            parse_one("a: {'<<': 1}").locate("a['<<']").value,
            scalar("1", ScalarStyle::Plain)
        );
    }

    #[test]
    fn honours_core_tags_only() {
        let doc = parse_one("a: !!str 1\nb: !!int \"2\"\nc: !!null ''\nd: !!float 3\n");
        assert_eq!(doc.locate("a").value, scalar("1", ScalarStyle::Quoted));
        assert_eq!(doc.locate("b").value, scalar("2", ScalarStyle::Plain));
        assert_eq!(doc.locate("c").value, NodeValue::Null);
        assert_eq!(doc.locate("d").value, scalar("3", ScalarStyle::Plain));
        assert_eq!(parse_err("a: !!int abc\n").message, "cannot decode \"abc\" as !!int");
        assert_eq!(parse_err("a: !custom x\n").message, "unsupported tag !custom");
        assert_eq!(parse_err("a: !!set {}\n").message, "unsupported tag !!set");
    }

    #[test]
    fn describes_nodes_for_messages() {
        let doc = parse_one("a: 1\nb: abc\nc: '1'\nd: yes\ne: [1]\n");
        let d: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|k| doc.locate(k).describe())
            .collect();
        assert_eq!(
            d,
            [
                "integer 1",
                "string \"abc\"",
                "string \"1\"",
                "boolean yes",
                "a sequence"
            ]
        );
    }
}
