//! Workload controllers as pure functions: `(desired object, observed children, now) →
//! (actions, new records, status)`, after the upstream Deployment and ReplicaSet controllers
//! (`spec/k8s-semantics.md` §3, §4).
//!
//! Nothing here reads a clock or the host. The caller observes pods, calls
//! [`sync_deployment`] or [`sync_replica_set`], carries out the [`ControllerAction`]s, keeps
//! the returned [`LiveReplicaSet`]s and [`DeploymentStatus`] in the state, and calls again
//! (level-triggered) until [`DeploymentOutcome::converged`] or a deadline.

pub mod deployment;
pub mod names;
pub mod pass;
pub mod progress;
pub mod ranking;
pub mod replicaset;
pub mod rolling;
pub mod scale;
pub mod types;
pub mod util;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use deployment::{DeploymentInput, DeploymentOutcome, sync_deployment};
pub use names::{pod_name, template_hash};
pub use pass::{Controller, PassInput, PassOutput, WorkloadProgress, controllers};
pub use replicaset::{ReplicaSetOutcome, sync_replica_set};
pub use types::*;
