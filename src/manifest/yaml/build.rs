//! Builds [`Node`] trees from the `yaml-rust2` event stream.

use super::{Mark, Node, NodeValue, Resolved, ScalarStyle, YamlError, resolve_plain};
use std::collections::{HashMap, HashSet};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The core schema's tag prefix, what `!!` expands to.
const CORE: &str = "tag:yaml.org,2002:";

/// A file's aliases may expand to this many times a document's node budget in all.
const FILE_ALIAS_FACTOR: usize = 10;

/// A collection being built.
enum Frame {
    Seq {
        mark: Mark,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        mark: Mark,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        seen: HashSet<String>,
    },
}

/// Event receiver state for one file.
pub(super) struct Builder {
    stack: Vec<Frame>,
    /// Anchored nodes with their size in nodes, for the budget.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes of the current document so far, aliases counted at their expanded size.
    nodes: usize,
    budget: usize,
    /// Nodes that aliases expanded to in the whole file: the text itself bounds the rest, so
    /// this is what keeps many small alias bombs in one file from adding up.
    alias_nodes: usize,
    docs: Vec<Node>,
}

fn mark(m: &Marker) -> Mark {
    Mark {
        line: m.line(),
        column: m.col() + 1,
    }
}

fn err(mark: Mark, message: impl Into<String>) -> YamlError {
    YamlError {
        mark,
        message: message.into(),
    }
}

fn count(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        NodeValue::Map(entries) => 1 + entries.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>(),
        _ => 1,
    }
}

fn tag_name(tag: &Tag) -> String {
    if tag.handle == CORE {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

impl Builder {
    pub(super) fn new(budget: usize) -> Self {
        Builder {
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            budget,
            alias_nodes: 0,
            docs: Vec::new(),
        }
    }

    pub(super) fn run(mut self, text: &str) -> Result<Vec<Node>, YamlError> {
        let (text, pads) = super::flow::relax(text);
        // A position in the relaxed text, in the original one.
        let original = |m: &Marker| {
            let mut at = mark(m);
            let pad = pads.get(at.line.wrapping_sub(1)).copied().unwrap_or(0);
            at.column = at.column.saturating_sub(pad).max(1);
            at
        };
        let mut parser = Parser::new_from_str(&text);
        loop {
            let (event, marker) = parser.next_token().map_err(|e| err(original(e.marker()), e.info()))?;
            let at = original(&marker);
            match event {
                Event::StreamEnd => break,
                Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
                Event::DocumentStart => {
                    self.anchors.clear();
                    self.nodes = 0;
                }
                Event::Alias(id) => {
                    let Some((node, size)) = self.anchors.get(&id) else {
                        return Err(err(at, "unknown alias"));
                    };
                    let (mut node, size) = (node.clone(), *size);
                    self.spend(size, at)?;
                    self.alias_nodes = self.alias_nodes.saturating_add(size);
                    if self.alias_nodes > self.budget.saturating_mul(FILE_ALIAS_FACTOR) {
                        return Err(err(
                            at,
                            format!(
                                "aliases in this file expand to more than {} nodes (too many aliases?)",
                                self.budget.saturating_mul(FILE_ALIAS_FACTOR)
                            ),
                        ));
                    }
                    node.mark = at;
                    self.push(node)?;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    self.spend(1, at)?;
                    let node = Node {
                        value: scalar_value(text, style, tag.as_ref(), at)?,
                        mark: at,
                    };
                    self.anchor(anchor, &node, 1);
                    self.push(node)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    check_collection_tag(tag.as_ref(), "seq", at)?;
                    self.spend(1, at)?;
                    self.stack.push(Frame::Seq {
                        mark: at,
                        anchor,
                        items: Vec::new(),
                    });
                }
                Event::MappingStart(anchor, tag) => {
                    check_collection_tag(tag.as_ref(), "map", at)?;
                    self.spend(1, at)?;
                    let seen = HashSet::new();
                    self.stack.push(Frame::Map {
                        mark: at,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                        seen,
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (node, anchor) = match self.stack.pop() {
                        Some(Frame::Seq { mark, anchor, items }) => (
                            Node {
                                value: NodeValue::Seq(items),
                                mark,
                            },
                            anchor,
                        ),
                        Some(Frame::Map {
                            mark, anchor, entries, ..
                        }) => (
                            Node {
                                value: NodeValue::Map(merge_keys(entries)?),
                                mark,
                            },
                            anchor,
                        ),
                        None => return Err(err(at, "unbalanced collection end")),
                    };
                    if anchor != 0 {
                        let size = count(&node);
                        self.anchor(anchor, &node, size);
                    }
                    self.push(node)?;
                }
            }
        }
        Ok(self.docs)
    }

    fn spend(&mut self, nodes: usize, at: Mark) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > self.budget {
            return Err(err(
                at,
                format!(
                    "document expands to more than {} nodes (too many aliases?)",
                    self.budget
                ),
            ));
        }
        Ok(())
    }

    fn anchor(&mut self, anchor: usize, node: &Node, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
    }

    /// Adds a finished node to the collection being built, or ends a document.
    fn push(&mut self, node: Node) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                if node.value != NodeValue::Null {
                    self.docs.push(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                mark,
                entries,
                key,
                seen,
                ..
            }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    let text = match &node.value {
                        NodeValue::Scalar { text, .. } => text.clone(),
                        NodeValue::Null => return Err(err(node.mark, "null mapping key")),
                        _ => return Err(err(node.mark, "mapping key must be a scalar")),
                    };
                    if !seen.insert(text.clone()) {
                        return Err(err(node.mark, format!("duplicate key {text:?}")));
                    }
                    // A block mapping's start event is reported past its first key.
                    *mark = (*mark).min(node.mark);
                    *key = Some(node);
                }
            },
        }
        Ok(())
    }
}

fn is_merge_key(key: &Node) -> bool {
    matches!(&key.value, NodeValue::Scalar { text, style: ScalarStyle::Plain } if text == "<<")
}

/// Applies YAML merge keys (`<<: *base` or `<<: [*a, *b]`), which go-yaml and so Kubernetes
/// accept: explicit keys win over merged ones, and earlier merged mappings over later ones.
fn merge_keys(entries: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>, YamlError> {
    if !entries.iter().any(|(k, _)| is_merge_key(k)) {
        return Ok(entries);
    }
    let (merges, mut result): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(k, _)| is_merge_key(k));
    let mut seen: HashSet<String> = result
        .iter()
        .filter_map(|(k, _)| k.scalar_text().map(str::to_string))
        .collect();
    let bad = |at: Mark| err(at, "a merge key (<<) needs a mapping or a sequence of mappings");
    for (_, value) in merges {
        let sources = match value.value {
            NodeValue::Map(entries) => vec![entries],
            NodeValue::Seq(items) => items
                .into_iter()
                .map(|item| match item.value {
                    NodeValue::Map(entries) => Ok(entries),
                    _ => Err(bad(item.mark)),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(bad(value.mark)),
        };
        for (k, v) in sources.into_iter().flatten() {
            if k.scalar_text().is_some_and(|t| seen.insert(t.to_string())) {
                result.push((k, v));
            }
        }
    }
    Ok(result)
}

fn check_collection_tag(tag: Option<&Tag>, expected: &str, at: Mark) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle == CORE && t.suffix == expected => Ok(()),
        Some(t) => Err(err(at, format!("unsupported tag {}", tag_name(t)))),
    }
}

/// A scalar's value after its style and tag, per the YAML 1.1 core tags.
fn scalar_value(text: String, style: TScalarStyle, tag: Option<&Tag>, at: Mark) -> Result<NodeValue, YamlError> {
    let style = match style {
        TScalarStyle::Plain => ScalarStyle::Plain,
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => ScalarStyle::Quoted,
        TScalarStyle::Literal | TScalarStyle::Folded => ScalarStyle::Block,
    };
    let Some(tag) = tag else {
        if style == ScalarStyle::Plain && resolve_plain(&text) == Resolved::Null {
            return Ok(NodeValue::Null);
        }
        return Ok(NodeValue::Scalar { text, style });
    };
    let name = tag_name(tag);
    if tag.handle != CORE {
        return Err(err(at, format!("unsupported tag {name}")));
    }
    let resolved = resolve_plain(&text);
    let fits = match tag.suffix.as_str() {
        "str" => {
            return Ok(NodeValue::Scalar {
                text,
                style: ScalarStyle::Quoted,
            });
        }
        "null" => {
            return if resolved == Resolved::Null {
                Ok(NodeValue::Null)
            } else {
                Err(mismatch(&text, &name, at))
            };
        }
        "bool" => matches!(resolved, Resolved::Bool(_)),
        "int" => matches!(resolved, Resolved::Int(_)),
        "float" => matches!(resolved, Resolved::Int(_) | Resolved::Float(_)),
        _ => return Err(err(at, format!("unsupported tag {name}"))),
    };
    if !fits {
        return Err(mismatch(&text, &name, at));
    }
    // A tagged scalar is typed by its tag even when quoted, so it becomes plain.
    Ok(NodeValue::Scalar {
        text,
        style: ScalarStyle::Plain,
    })
}

fn mismatch(text: &str, tag: &str, at: Mark) -> YamlError {
    err(at, format!("cannot decode {text:?} as {tag}"))
}
