//! `IntOrString`, as used by ports and rollout parameters (INTERFACE STUB: to be implemented).

/// A value that is either an integer or a string (`80` or `"http"`, `1` or `"25%"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IntOrString {
    Int(i64),
    String(String),
}
