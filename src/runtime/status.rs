//! Pod status as the supervisor reports it: the manifest-level types of
//! [`crate::manifest::status`], which `plan` reads without depending on the runtime.

pub use crate::manifest::status::*;
