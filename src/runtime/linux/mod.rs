//! The kernel-facing core of the Linux runtime: cgroups, the pod sandbox, containers with
//! overlay roots and safe mounts, and the kubelet-format `/etc` files (`DESIGN.md` §4).
//!
//! This is a low-level API with its own plain config types; the per-pod supervisor
//! translates a PodSpec into them. Typical use, in a process that has not started threads
//! (or that accepts glibc's fork-safety guarantees, as the tests do):
//!
//! 1. [`CgroupRoot::detect`], then create and limit the node, pod and container cgroups;
//! 2. [`Sandbox::start`] with the pod's hostname and namespace choices;
//! 3. [`Container::spawn`] per container with [`Sandbox::namespaces`], its overlay
//!    layers and [`RootfsDirs`], mounts and the files built with [`hosts`];
//! 4. on deletion: signal and wait the containers, [`Sandbox::stop`],
//!    [`Cgroup::remove`], [`RootfsDirs::cleanup`] and [`mounts::unmount_host`].

pub mod atomic_writer;
pub mod cgroup;
pub mod container;
pub mod error;
pub mod hosts;
mod init;
pub mod mounts;
pub mod rootfs;
pub mod sandbox;
pub mod security;
pub(crate) mod sys;

pub use cgroup::{Cgroup, CgroupError, CgroupLimits, CgroupRoot, CgroupStats, CgroupVersion};
pub use container::{Container, ContainerConfig, ContainerExit, ContainerStdio, EtcFiles, User};
pub use error::ProcessError;
pub use init::DEFAULT_PATH;
pub use mounts::{Mount, MountKind};
pub use rootfs::RootfsDirs;
pub use sandbox::{PidNamespace, PodNamespaces, Sandbox, SandboxConfig};
pub use security::Restrictions;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;
