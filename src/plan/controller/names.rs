//! Names the controllers make: the pod-template-hash, pod names and ReplicaSet uids.

use super::types::{POD_TEMPLATE_HASH, Time};
use crate::manifest::types::PodTemplateSpec;
use sha2::{Digest, Sha256};

/// The alphabet of generated names and safe-encoded hashes: no vowels, no confusable
/// characters (staging/src/k8s.io/apimachinery/pkg/util/rand/rand.go `alphanums`).
pub const ALPHANUMS: &[u8; 27] = b"bcdfghjklmnpqrstvwxz2456789";

/// Length of the random suffix of a generated name (apiserver `names/generate.go`).
const RANDOM_LENGTH: usize = 5;
/// Longest name; the base is cut to leave room for the suffix (`maxNameLength` 63).
const MAX_NAME_LENGTH: usize = 63;

/// FNV-1a, 32 bits (Go `hash/fnv.New32a`).
fn fnv32a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// FNV-1a, 64 bits: the seed of pod name suffixes.
fn fnv64a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `rand.SafeEncodeString`: each character `c` becomes `alphanums[c % 27]`.
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|c| ALPHANUMS[usize::from(c) % ALPHANUMS.len()] as char)
        .collect()
}

/// The pod-template-hash of `template` (`controller.ComputeHash`, controller_utils.go): FNV-1a
/// over a deterministic dump of the template (here its canonical JSON, so values differ from
/// upstream's but the same template always gives the same hash), then the collision count as
/// 8 little-endian bytes when set, rendered as the safe-encoded decimal of the uint32.
/// A `pod-template-hash` label already on the template is ignored.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut t = template.clone();
    t.metadata.labels.remove(POD_TEMPLATE_HASH);
    let mut bytes = serde_json::to_vec(&t).expect("a pod template serializes");
    if let Some(n) = collision_count {
        // binary.LittleEndian.PutUint32 into an 8-byte buffer, as upstream.
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&(n as u32).to_le_bytes());
        bytes.extend_from_slice(&buf);
    }
    safe_encode(&fnv32a(&bytes).to_string())
}

/// The name of the `counter`-th pod of a ReplicaSet: `generateName` `<rs>-` plus 5 characters
/// of [`ALPHANUMS`], the base cut to 58 characters (`names.SimpleNameGenerator`). Upstream
/// draws the suffix at random; here it is derived from the ReplicaSet's uid and the counter,
/// so a plan and the apply that follows make the same names.
pub fn pod_name(rs_name: &str, rs_uid: &str, counter: u64) -> String {
    let mut base = format!("{rs_name}-");
    base.truncate(MAX_NAME_LENGTH - RANDOM_LENGTH);
    let mut seed = fnv64a(format!("{rs_uid}/{counter}").as_bytes());
    let mut name = base;
    for _ in 0..RANDOM_LENGTH {
        name.push(ALPHANUMS[(seed % 27) as usize] as char);
        seed /= 27;
    }
    name
}

/// A deterministic uid for an object created by a controller at `now`.
pub fn object_uid(namespace: &str, name: &str, now: Time) -> String {
    let digest = Sha256::digest(format!("{namespace}/{name}@{}", now.timestamp_nanos_opt().unwrap_or(0)));
    let h = hex::encode(&digest[..16]);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(image: &str) -> PodTemplateSpec {
        serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": image}]}
        }))
        .unwrap()
    }

    #[test]
    fn fnv_matches_the_reference_vectors() {
        assert_eq!(fnv32a(b""), 0x811c9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c292c);
        assert_eq!(fnv64a(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn safe_encoding_maps_digits_into_the_alphabet() {
        // '0' is 48: 48 % 27 = 21 → '4'; '9' is 57: 57 % 27 = 3 → 'f'.
        assert_eq!(safe_encode("09"), "4f");
    }

    #[test]
    fn the_hash_is_deterministic_and_in_the_alphabet() {
        let a = template_hash(&template("nginx:1"), None);
        assert_eq!(a, template_hash(&template("nginx:1"), None));
        assert_ne!(a, template_hash(&template("nginx:2"), None));
        assert_ne!(a, template_hash(&template("nginx:1"), Some(1)));
        assert!((1..=10).contains(&a.len()), "{a}");
        assert!(a.bytes().all(|c| ALPHANUMS.contains(&c)), "{a}");
        let mut labelled = template("nginx:1");
        labelled.metadata.labels.insert(POD_TEMPLATE_HASH.into(), a.clone());
        assert_eq!(template_hash(&labelled, None), a, "the hash label is ignored");
    }

    #[test]
    fn pod_names_follow_generate_name() {
        let n = pod_name("web-5f7c", "uid", 0);
        assert_eq!(n.len(), "web-5f7c-".len() + 5);
        assert!(n.starts_with("web-5f7c-"));
        assert!(n[9..].bytes().all(|c| ALPHANUMS.contains(&c)));
        assert_eq!(n, pod_name("web-5f7c", "uid", 0));
        assert_ne!(n, pod_name("web-5f7c", "uid", 1));
        let long = pod_name(&"a".repeat(70), "uid", 0);
        assert_eq!(long.len(), 63);
    }
}
