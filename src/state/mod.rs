//! The state store: atomic load/save, locking, format versioning and the event log.

pub mod error;
pub mod events;
pub mod lock;
pub mod model;
pub mod secret;
pub mod storage;
pub mod store;
pub mod workloads;

pub use error::StateError;
pub use events::{Event, EventLog};
pub use lock::{LockInfo, LockMode, StateLock};
pub use model::{
    AppliedSpec, FORMAT_VERSION, ObjectRecord, PodRecord, RolloutHold, RolloutOverride, Scheduling, State,
};
pub use secret::SecretKey;
pub use store::StateStore;
