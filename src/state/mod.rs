//! The state store: atomic load/save, locking, format versioning and the event log.

pub mod model;

pub use model::{FORMAT_VERSION, ObjectRecord, PodRecord, SourceSpec, State};
pub mod store;
pub use store::{StateError, StateStore};
