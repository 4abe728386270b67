//! Name and key syntax checks, with upstream's messages (apimachinery `util/validation/validation.go`).
//!
//! Each check returns the list of problems (empty when valid), so callers can report them all.

/// `a lowercase RFC 1123 label …`, at most 63 characters (Namespace names, container names).
pub fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len(63));
    }
    if !is_label(value, |c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        errs.push(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', \
             and must start and end with an alphanumeric character"
                .to_string(),
        );
    }
    errs
}

/// `a lowercase RFC 1123 subdomain …`, at most 253 characters (most object names).
pub fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len(253));
    }
    if value.is_empty()
        || !value
            .split('.')
            .all(|part| is_label(part, |c| c.is_ascii_lowercase() || c.is_ascii_digit()))
    {
        errs.push(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', \
             and must start and end with an alphanumeric character"
                .to_string(),
        );
    }
    errs
}

/// `a DNS-1035 label …`, at most 63 characters (Service names).
pub fn dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len(63));
    }
    let starts_alpha = value.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if !starts_alpha || !is_label(value, |c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        errs.push(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', \
             start with an alphabetic character, and end with an alphanumeric character"
                .to_string(),
        );
    }
    errs
}

/// A label or annotation key: an optional DNS subdomain prefix and `/`, then a name part.
pub fn qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let (prefix, name) = match value.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, value),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            errs.push("prefix part must be non-empty".to_string());
        } else {
            errs.extend(
                dns1123_subdomain(prefix)
                    .into_iter()
                    .map(|m| format!("prefix part {m}")),
            );
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
        return errs;
    }
    if name.len() > 63 {
        errs.push(format!("name part {}", max_len(63)));
    }
    if !is_name_part(name) {
        errs.push(
            "name part must consist of alphanumeric characters, '-', '_' or '.', \
             and must start and end with an alphanumeric character"
                .to_string(),
        );
    }
    errs
}

/// A label value: empty, or a name part of at most 63 characters.
pub fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len(63));
    }
    if !value.is_empty() && !is_name_part(value) {
        errs.push(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', \
             and must start and end with an alphanumeric character"
                .to_string(),
        );
    }
    errs
}

/// A port name (IANA_SVC_NAME, RFC 6335).
pub fn port_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 15 {
        errs.push(max_len(15));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string());
    }
    if value.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if !value.chars().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if value.starts_with('-') || value.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

/// An environment variable name (`IsEnvVarName`).
pub fn env_var_name(value: &str) -> Vec<String> {
    let valid = !value.is_empty()
        && !value.starts_with(|c: char| c.is_ascii_digit())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Vec::new()
    } else {
        vec![
            "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', \
             and must not start with a digit"
                .to_string(),
        ]
    }
}

/// A ConfigMap or Secret key (`IsConfigMapKey`).
pub fn config_map_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len(253));
    }
    if value.is_empty()
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        errs.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.'".to_string());
    }
    if value == "." {
        errs.push("must not be '.'".to_string());
    } else if value == ".." {
        errs.push("must not be '..'".to_string());
    } else if value.starts_with("..") {
        errs.push("must not start with '..'".to_string());
    }
    errs
}

/// An IPv4 or IPv6 address.
pub fn ip_address(value: &str) -> Vec<String> {
    if value.parse::<std::net::IpAddr>().is_ok() {
        Vec::new()
    } else {
        vec!["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".to_string()]
    }
}

fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` with `alnum` deciding what an alphanumeric is.
fn is_label(value: &str, alnum: impl Fn(char) -> bool) -> bool {
    let first_last_ok = value.chars().next().is_some_and(&alnum) && value.chars().last().is_some_and(&alnum);
    first_last_ok && value.chars().all(|c| alnum(c) || c == '-')
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_name_part(value: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    value.chars().next().is_some_and(alnum)
        && value.chars().last().is_some_and(alnum)
        && value.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_and_labels() {
        assert!(dns1123_subdomain("web.example-1").is_empty());
        assert_eq!(
            dns1123_subdomain("Web"),
            vec![
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', \
                  and must start and end with an alphanumeric character"
            ]
        );
        assert!(!dns1123_subdomain("a..b").is_empty());
        assert!(!dns1123_subdomain("").is_empty());
        assert_eq!(
            dns1123_subdomain(&"a".repeat(254)),
            vec!["must be no more than 253 characters"]
        );
        assert!(dns1123_label("kube-system").is_empty());
        assert!(!dns1123_label("a.b").is_empty());
        assert!(dns1035_label("my-svc").is_empty());
        assert!(!dns1035_label("1svc").is_empty());
    }

    #[test]
    fn qualified_names_and_values() {
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert!(qualified_name("k8s-app").is_empty());
        assert_eq!(qualified_name("/x"), vec!["prefix part must be non-empty"]);
        assert!(!qualified_name("Example.com/x").is_empty());
        assert_eq!(qualified_name("a/"), vec!["name part must be non-empty"]);
        assert!(!qualified_name("-x").is_empty());
        assert!(label_value("").is_empty());
        assert!(label_value("v1.2_3").is_empty());
        assert!(!label_value("a b").is_empty());
    }

    #[test]
    fn ports_env_keys_ips() {
        assert!(port_name("http-web").is_empty());
        assert_eq!(port_name("80"), vec!["must contain at least one letter (a-z)"]);
        assert!(!port_name("a--b").is_empty());
        assert!(!port_name("web-server-port-1").is_empty());
        assert!(env_var_name("MY_VAR.x-1").is_empty());
        assert!(!env_var_name("1VAR").is_empty());
        assert!(config_map_key("game.properties").is_empty());
        assert!(!config_map_key("a/b").is_empty());
        assert_eq!(config_map_key(".."), vec!["must not be '..'"]);
        assert!(ip_address("127.0.0.1").is_empty());
        assert!(!ip_address("10.1.2").is_empty());
    }
}
