//! Kubernetes resource quantities, parsed exactly (INTERFACE STUB: to be implemented).

/// A quantity such as `100m`, `1.5Gi` or `129e6`, held exactly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    /// The value in nano-units (10^-9), rounded up on parse as upstream does.
    pub nanos: i128,
}
