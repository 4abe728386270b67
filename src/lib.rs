//! rekon: a declarative, GitOps-style reconciler of Kubernetes manifests for one Linux host.
//!
//! Data flows one way (`DESIGN.md` §2): [`source`] → [`manifest`] → [`plan`] → [`apply`] →
//! [`runtime`], with [`state`] recording what was applied.

pub mod apply;
pub mod cmd;
pub mod fsutil;
pub mod manifest;
pub mod par;
pub mod plan;
pub mod runtime;
pub mod source;
pub mod state;
pub mod time;
