//! Applying a plan: runs its steps against a [`Runtime`](crate::runtime::Runtime), saving the
//! state after every step so a crash anywhere leaves a state the next apply finishes from.

pub mod config;
pub mod executor;
pub mod gc;
pub mod pass;
pub mod pods;
pub mod reconcile;
pub mod storage;
pub mod tokens;

pub use executor::{ApplyError, Executor, refresh_pending};
