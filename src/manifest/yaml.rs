//! A YAML reader that keeps the line and column of every node (INTERFACE STUB: to be implemented).

/// A position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub line: usize,
    pub column: usize,
}

/// How a scalar was written: plain scalars get YAML type resolution, quoted ones are strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    Quoted,
    Block,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `~`, `null`, `Null`, `NULL` or an empty plain scalar.
    Null,
    /// Any other scalar, with its exact text (after YAML unescaping) and style.
    Scalar { text: String, style: ScalarStyle },
    Seq(Vec<Node>),
    /// Keys in file order; duplicate keys are a parse error.
    Map(Vec<(Node, Node)>),
}

/// A YAML node with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub mark: Mark,
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub mark: Mark,
    pub message: String,
}

/// Parses every document of a (possibly multi-document) YAML text, skipping empty documents.
pub fn parse_documents(_text: &str) -> Result<Vec<Node>, YamlError> {
    todo!()
}

impl Node {
    /// The node at a field path such as `spec.containers[0].image`, or the deepest existing
    /// ancestor of it (so an error about a missing field points at its parent).
    pub fn locate(&self, _path: &str) -> &Node {
        todo!()
    }
}
