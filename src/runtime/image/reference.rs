//! Image references (`nginx`, `registry.k8s.io/busybox:1.27.2`, `x@sha256:…`) and their
//! normalisation, after Docker's `distribution/reference` (`normalize.go`, `regexp.go`).
//!
//! The rule, as Docker applies it:
//! * The first `/`-separated component is a registry domain only when it contains a `.` or a
//!   `:`, is `localhost`, or has an uppercase letter; otherwise the domain is `docker.io` and
//!   the whole string is the repository path.
//! * `index.docker.io` is spelled `docker.io`; a one-component path on `docker.io` gets the
//!   `library/` prefix.
//! * Without a tag and without a digest the tag is `latest`.
//!
//! So `nginx`, `nginx:latest`, `library/nginx` and `docker.io/library/nginx:latest` are the
//! same image, and `localhost:5000/x/y` is not on Docker Hub.

use std::fmt;

/// The registry short names resolve against.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The tag a reference without tag and digest gets.
pub const DEFAULT_TAG: &str = "latest";
const LEGACY_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
/// `NameTotalLengthMax` in distribution/reference.
const NAME_MAX: usize = 255;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// The registry, e.g. `docker.io`, `registry.k8s.io`, `localhost:5000`.
    pub domain: String,
    /// The repository path inside the registry, e.g. `library/nginx`.
    pub path: String,
    /// The tag; `latest` when neither tag nor digest was given.
    pub tag: Option<String>,
    /// A content digest `algorithm:hex`, when given with `@`.
    pub digest: Option<String>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The string breaks the reference grammar (empty, bad tag, digest, domain or path).
    #[error("invalid image reference {reference:?}: {reason}")]
    Invalid {
        /// The string as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Reference {
    /// Parses and normalises `s` (see the module docs for the rule).
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let bad = |reason: &str| ReferenceError::Invalid {
            reference: s.to_string(),
            reason: reason.to_string(),
        };
        if s.is_empty() {
            return Err(bad("empty"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => {
                check_digest(digest).map_err(|r| bad(&r))?;
                (rest, Some(digest.to_string()))
            }
            None => (s, None),
        };
        // A tag is after the last ':' only when that ':' follows the last '/', so
        // `localhost:5000/x` has a port, not a tag.
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(tag) = tag {
            check_tag(tag).map_err(|r| bad(&r))?;
        }
        if name.len() > NAME_MAX {
            return Err(bad(&format!("name longer than {NAME_MAX} characters")));
        }
        let (domain, path) = split_domain(name);
        check_domain(&domain).map_err(|r| bad(&r))?;
        if path.is_empty() {
            return Err(bad("missing repository name"));
        }
        for component in path.split('/') {
            check_component(component).map_err(|r| bad(&r))?;
        }
        if is_hex64(name) {
            return Err(bad("repository name must not be a 64-character hex string"));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// `domain/path`, the repository without tag or digest.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The short form Docker prints: `nginx:latest` for `docker.io/library/nginx:latest`.
    pub fn familiar(&self) -> String {
        let repo = if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix(OFFICIAL_PREFIX)
                .filter(|p| !p.contains('/'))
                .unwrap_or(&self.path)
                .to_string()
        } else {
            self.repository()
        };
        with_suffixes(repo, self)
    }
}

impl fmt::Display for Reference {
    /// The fully normalised form, e.g. `docker.io/library/nginx:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&with_suffixes(self.repository(), self))
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

fn with_suffixes(mut s: String, r: &Reference) -> String {
    if let Some(tag) = &r.tag {
        s.push(':');
        s.push_str(tag);
    }
    if let Some(digest) = &r.digest {
        s.push('@');
        s.push_str(digest);
    }
    s
}

fn split_domain(name: &str) -> (String, String) {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    let domain = if domain == LEGACY_DOMAIN {
        DEFAULT_DOMAIN.to_string()
    } else {
        domain
    };
    let path = if domain == DEFAULT_DOMAIN && !path.contains('/') && !path.is_empty() {
        format!("{OFFICIAL_PREFIX}{path}")
    } else {
        path
    };
    (domain, path)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn check_component(c: &str) -> Result<(), String> {
    if c.is_empty() {
        return Err("empty path component".into());
    }
    if c.chars().any(|ch| ch.is_ascii_uppercase()) {
        return Err("repository name must be lowercase".into());
    }
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(format!("path component {c:?} must start and end with [a-z0-9]"));
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return Err(format!("invalid separator {sep:?} in {c:?}"));
        }
    }
    Ok(())
}

/// `[\w][\w.-]{0,127}`
fn check_tag(t: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = t.chars();
    let ok = t.len() <= 128 && chars.next().is_some_and(word) && chars.all(|c| word(c) || c == '.' || c == '-');
    if ok { Ok(()) } else { Err(format!("invalid tag {t:?}")) }
}

fn check_domain(d: &str) -> Result<(), String> {
    let (host, port) = if d.starts_with('[') {
        match d.find(']') {
            Some(i) if d[i + 1..].is_empty() => (&d[..=i], None),
            Some(i) => (&d[..=i], Some(d[i + 1..].strip_prefix(':').unwrap_or_default())),
            None => return Err(format!("invalid registry domain {d:?}")),
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    let host_ok = if host.starts_with('[') && host.ends_with(']') {
        host[1..host.len() - 1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!("invalid registry domain {d:?}"))
    }
}

fn check_digest(d: &str) -> Result<(), String> {
    let hex_len = match d.split_once(':') {
        Some(("sha256", hex)) => (hex, 64),
        Some(("sha512", hex)) => (hex, 128),
        _ => return Err(format!("unsupported digest {d:?} (want sha256:<64 hex>)")),
    };
    let (hex, len) = hex_len;
    if hex.len() == len && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(format!("invalid digest {d:?}"))
    }
}

/// True for exactly 64 lowercase hex digits (a bare image id).
pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn normalises_like_docker() {
        let table = [
            ("nginx", "docker.io/library/nginx:latest", "nginx:latest"),
            ("nginx:latest", "docker.io/library/nginx:latest", "nginx:latest"),
            ("library/nginx", "docker.io/library/nginx:latest", "nginx:latest"),
            (
                "docker.io/library/nginx",
                "docker.io/library/nginx:latest",
                "nginx:latest",
            ),
            (
                "index.docker.io/nginx",
                "docker.io/library/nginx:latest",
                "nginx:latest",
            ),
            ("busybox:1.28", "docker.io/library/busybox:1.28", "busybox:1.28"),
            (
                "registry.k8s.io/busybox:1.27.2",
                "registry.k8s.io/busybox:1.27.2",
                "registry.k8s.io/busybox:1.27.2",
            ),
            (
                "docker.io/alpine/socat:1.8.0.3",
                "docker.io/alpine/socat:1.8.0.3",
                "alpine/socat:1.8.0.3",
            ),
            (
                "localhost:5000/x/y:tag",
                "localhost:5000/x/y:tag",
                "localhost:5000/x/y:tag",
            ),
            ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
            ("[::1]:5000/x:t", "[::1]:5000/x:t", "[::1]:5000/x:t"),
            (
                "127.0.0.1:5000/app",
                "127.0.0.1:5000/app:latest",
                "127.0.0.1:5000/app:latest",
            ),
            (
                "a__b/c-d--e.f_g",
                "docker.io/a__b/c-d--e.f_g:latest",
                "a__b/c-d--e.f_g:latest",
            ),
        ];
        for (input, full, familiar) in table {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.to_string(), full, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(Reference::parse(full).unwrap(), r, "{full} round-trips");
        }
    }

    #[test]
    fn digests_keep_no_default_tag() {
        let r = Reference::parse(&format!("nginx@{D}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.to_string(), format!("docker.io/library/nginx@{D}"));
        let r = Reference::parse(&format!("localhost:5000/x:v1@{D}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.repository(), "localhost:5000/x");
    }

    #[test]
    fn rejects_bad_references() {
        let err = Reference::parse("Nginx").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid image reference \"Nginx\": repository name must be lowercase"
        );
        for bad in [
            "",
            "nginx:",
            "nginx:-x",
            "-nginx",
            "a//b",
            "nginx@sha256:abc",
            "nginx@md5:0123",
            "a/b:c/d",
            "x y",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "bad_host.:5000/x",
            "[::1]junk/x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
