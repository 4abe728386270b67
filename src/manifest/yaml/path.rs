//! Field paths such as `spec.containers[0].image` or `metadata.labels['app.kubernetes.io/name']`.

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A map key: `.key` or `['key']`.
    Key(String),
    /// A sequence index, from 0: `[i]`.
    Index(usize),
}

/// Whether a key can be written bare in a path.
fn is_plain(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Appends `key` to `path`: `.key` (or just `key` at the start), or `['key']` for keys that
/// are not made only of ASCII letters, digits, `_` and `-`.
pub fn format_key(path: &str, key: &str) -> String {
    if is_plain(key) {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    } else {
        let escaped = key.replace('\\', "\\\\").replace('\'', "\\'");
        format!("{path}['{escaped}']")
    }
}

/// Splits a path into segments; `None` if it is malformed. The empty path has no segments.
pub fn parse_path(path: &str) -> Option<Vec<PathSegment>> {
    let mut segments = Vec::new();
    let mut chars = path.chars().peekable();
    let mut expect_key = true;
    while let Some(&c) = chars.peek() {
        match c {
            '[' => {
                chars.next();
                match chars.peek() {
                    Some(&q @ ('\'' | '"')) => {
                        chars.next();
                        let mut key = String::new();
                        loop {
                            match chars.next()? {
                                '\\' => key.push(chars.next()?),
                                c if c == q => break,
                                c => key.push(c),
                            }
                        }
                        segments.push(PathSegment::Key(key));
                    }
                    _ => {
                        let mut digits = String::new();
                        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                            digits.push(d);
                            chars.next();
                        }
                        segments.push(PathSegment::Index(digits.parse().ok()?));
                    }
                }
                if chars.next()? != ']' {
                    return None;
                }
                expect_key = false;
            }
            '.' => {
                chars.next();
                if expect_key {
                    return None;
                }
                expect_key = true;
            }
            _ => {
                let mut key = String::new();
                while let Some(&k) = chars.peek().filter(|&&k| k != '.' && k != '[') {
                    key.push(k);
                    chars.next();
                }
                if !expect_key && !segments.is_empty() {
                    return None;
                }
                segments.push(PathSegment::Key(key));
                expect_key = false;
            }
        }
    }
    if expect_key && !segments.is_empty() {
        return None;
    }
    Some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> PathSegment {
        PathSegment::Key(k.to_string())
    }

    #[test]
    fn formats_and_parses_round_trip() {
        let path = format_key(&format_key("", "metadata"), "labels");
        let path = format_key(&path, "app.kubernetes.io/name");
        assert_eq!(path, "metadata.labels['app.kubernetes.io/name']");
        assert_eq!(
            parse_path(&path),
            Some(vec![key("metadata"), key("labels"), key("app.kubernetes.io/name")])
        );
        assert_eq!(format_key("a", "it's"), "a['it\\'s']");
        assert_eq!(parse_path("a['it\\'s'].b"), Some(vec![key("a"), key("it's"), key("b")]));
        assert_eq!(format_key("", "a b"), "['a b']");
        assert_eq!(parse_path("['a b']"), Some(vec![key("a b")]));
    }

    #[test]
    fn parses_indices_and_rejects_garbage() {
        let want = vec![key("spec"), key("containers"), PathSegment::Index(0), key("image")];
        assert_eq!(parse_path("spec.containers[0].image"), Some(want));
        assert_eq!(
            parse_path("a[1][2]"),
            Some(vec![key("a"), PathSegment::Index(1), PathSegment::Index(2)])
        );
        assert_eq!(parse_path(""), Some(vec![]));
        assert_eq!(parse_path("[\"x.y\"]"), Some(vec![key("x.y")]));
        for bad in ["a..b", "a.", ".a", "a[x]", "a[1", "a['x", "a[0]b"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }
}
