//! serde deserialization from positioned YAML nodes, collecting every problem with its path.
//!
//! Unknown fields are found where derived structs ask for an ignored value
//! (`deserialize_ignored_any`), so all of them are reported and deserialization goes on.
//! A hard error (a type error, a missing required field) stops serde; the node it happened
//! at is then skipped and deserialization is run again, so that one document reports as many
//! problems as possible. Paths use the syntax of [`Node::locate`].
//!
//! Plain scalars are typed as Kubernetes types them: `version: 1` is an integer and cannot
//! fill a string field. Two newtype names give exact types their raw text:
//! [`RAW_SCALAR`] (quantities) and [`INT_OR_STRING`].

mod access;
mod error;
mod node;

pub use error::DeError;

use super::yaml::{Mark, Node};
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::HashSet;

/// Newtype name for which this deserializer hands over the raw text of any scalar (plain or
/// quoted) with `visit_str`; other deserializers just pass the inner value through.
pub const RAW_SCALAR: &str = "$rekon::RawScalar";

/// Newtype name for which a plain integer is given with `visit_i64` and any string
/// (quoted, or plain and not a number) with `visit_str`.
pub const INT_OR_STRING: &str = "$rekon::IntOrString";

/// How many times one document is re-read after hard errors before giving up.
const MAX_PASSES: usize = 100;

/// A problem found while deserializing one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    /// Field path (`spec.containers[0].image`), as used in [`super::ManifestError`].
    pub path: String,
    /// Position of the node the problem was found at.
    pub mark: Mark,
    /// What is wrong: an unknown field, a type error, a missing required field.
    pub message: String,
}

/// State shared by all the deserializers of one pass.
#[derive(Default)]
struct Ctx {
    issues: RefCell<Vec<FieldIssue>>,
    /// Nodes (by address) that failed in an earlier pass and are now skipped.
    poisoned: HashSet<usize>,
}

impl Ctx {
    fn is_poisoned(&self, node: &Node) -> bool {
        !self.poisoned.is_empty() && self.poisoned.contains(&addr(node))
    }
}

fn addr(node: &Node) -> usize {
    std::ptr::from_ref(node) as usize
}

/// Deserializes `T` from `node`. Every unknown field is reported (not only the first) and
/// type errors carry the path and position of the offending node. Returns `None` when a hard
/// error prevented building `T`. Issues are sorted by position.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> (Option<T>, Vec<FieldIssue>) {
    let mut ctx = Ctx::default();
    let mut failed = false;
    let mut value = None;
    for _ in 0..MAX_PASSES {
        let root = node::Deser {
            node,
            path: String::new(),
            key_mark: None,
            ctx: &ctx,
        };
        match T::deserialize(root) {
            Ok(v) => {
                value = Some(v);
                break;
            }
            Err(e) => {
                failed = true;
                let (path, mark, at) = match e.at {
                    Some(at) => (at.path, at.mark, at.node),
                    None => (String::new(), node.mark, addr(node)),
                };
                if !e.silent {
                    ctx.issues.get_mut().push(FieldIssue {
                        path,
                        mark,
                        message: e.message,
                    });
                }
                if at == addr(node) || !ctx.poisoned.insert(at) {
                    break;
                }
            }
        }
    }
    let mut issues = ctx.issues.into_inner();
    issues.sort_by(|a, b| (a.mark, &a.path, &a.message).cmp(&(b.mark, &b.path, &b.message)));
    issues.dedup();
    (if failed { None } else { value }, issues)
}

#[cfg(test)]
mod tests;
