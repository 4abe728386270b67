//! Test fixtures shared by the plan and apply tests: desired objects from YAML text.

use super::{DesiredObject, desired_objects};
use crate::manifest::{SourceFile, load};

/// The desired objects of `yaml` (as `m.yaml`), hashed by length so tests can predict hashes.
pub fn desired(yaml: &str) -> Vec<DesiredObject> {
    let m = load(&[SourceFile {
        path: "m.yaml".into(),
        text: yaml.into(),
    }])
    .expect("valid manifests");
    desired_objects(&m, &|b: &[u8]| format!("h:{}", b.len()))
}
