//! The serde error type of [`super::from_node`]: a message plus where it happened.

use super::super::yaml::Mark;
use serde::de::{Expected, Unexpected};
use std::fmt;

/// Where an error happened: the field path, the position and the node (by address, so that
/// a later pass can skip it).
#[derive(Debug, Clone)]
pub(super) struct At {
    pub path: String,
    pub mark: Mark,
    pub node: usize,
}

/// An error raised while deserializing; located by the innermost node it passes through.
#[derive(Debug)]
pub struct DeError {
    pub(super) message: String,
    /// Set by `missing_field`; the enclosing mapping attaches its path.
    pub(super) missing: Option<&'static str>,
    pub(super) at: Option<At>,
    /// A consequence of an earlier, already reported error: not reported again.
    pub(super) silent: bool,
}

impl DeError {
    pub(super) fn new(message: String, at: Option<At>) -> Self {
        DeError {
            message,
            missing: None,
            at,
            silent: false,
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) if !at.path.is_empty() => write!(f, "{}: {}", at.path, self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DeError {}

/// Names an unexpected value the way [`super::super::yaml::Node::describe`] does.
fn describe(unexp: &Unexpected<'_>) -> String {
    match unexp {
        Unexpected::Bool(b) => format!("boolean {b}"),
        Unexpected::Signed(i) => format!("integer {i}"),
        Unexpected::Unsigned(u) => format!("integer {u}"),
        Unexpected::Float(x) => format!("float {x}"),
        Unexpected::Str(s) => format!("string {s:?}"),
        Unexpected::Unit => "null".to_string(),
        Unexpected::Seq => "a sequence".to_string(),
        Unexpected::Map => "a mapping".to_string(),
        other => other.to_string(),
    }
}

impl serde::de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::new(msg.to_string(), None)
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        DeError::new(format!("expected {exp}, found {}", describe(&unexp)), None)
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        DeError::new(format!("invalid value {}, expected {exp}", describe(&unexp)), None)
    }

    fn missing_field(field: &'static str) -> Self {
        DeError {
            message: "required".to_string(),
            missing: Some(field),
            at: None,
            silent: false,
        }
    }
}
