//! Type resolution of plain scalars, YAML 1.1 style as go-yaml v2 does it (`resolve.go`),
//! which is what Kubernetes reads manifests with (sigs.k8s.io/yaml).

/// The type a plain scalar resolves to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved {
    /// `~`, `null`, `Null`, `NULL` or the empty scalar.
    Null,
    /// A YAML 1.1 boolean: `true`/`false`, but also `yes`/`no`, `on`/`off`, `y`/`n`.
    Bool(bool),
    /// Anything in the i64 or u64 range.
    Int(i128),
    /// A float, including `.inf`, `-.inf` and `.nan`.
    Float(f64),
    /// Anything else, including timestamps: go-yaml v2 keeps those as strings.
    Str,
}

/// Resolves the text of a plain (unquoted, untagged) scalar.
pub fn resolve_plain(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Resolved::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first == b'.' {
        // go-yaml tries strconv.ParseFloat on anything starting with '.'.
        return match text.parse::<f64>() {
            Ok(f) if text[1..].bytes().next().is_some_and(|b| b.is_ascii_digit()) => Resolved::Float(f),
            _ => Resolved::Str,
        };
    }
    if !(first.is_ascii_digit() || first == b'-' || first == b'+') {
        return Resolved::Str;
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(i) = parse_int(&plain) {
        return Resolved::Int(i);
    }
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return Resolved::Float(f);
    }
    Resolved::Str
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)`: optional sign, then
/// `0x`, `0o`, `0b`, a leading `0` (octal) or decimal digits.
fn parse_int(s: &str) -> Option<i128> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    let value = if negative {
        -(i128::try_from(magnitude).ok()?)
    } else {
        i128::try_from(magnitude).ok()?
    };
    let fits = if negative {
        value >= i128::from(i64::MIN)
    } else {
        value <= i128::from(u64::MAX)
    };
    fits.then_some(value)
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_go_yaml_v2() {
        let cases: &[(&str, Resolved)] = &[
            ("", Resolved::Null),
            ("~", Resolved::Null),
            ("NULL", Resolved::Null),
            ("nULL", Resolved::Str),
            ("yes", Resolved::Bool(true)),
            ("Y", Resolved::Bool(true)),
            ("On", Resolved::Bool(true)),
            ("OFF", Resolved::Bool(false)),
            ("n", Resolved::Bool(false)),
            ("fAlse", Resolved::Str),
            ("1", Resolved::Int(1)),
            ("-12", Resolved::Int(-12)),
            ("+7", Resolved::Int(7)),
            ("1_000", Resolved::Int(1000)),
            ("0x1F", Resolved::Int(31)),
            ("0o17", Resolved::Int(15)),
            ("017", Resolved::Int(15)),
            ("0b101", Resolved::Int(5)),
            ("-0b11", Resolved::Int(-3)),
            ("18446744073709551615", Resolved::Int(18446744073709551615)),
            ("18446744073709551616", Resolved::Float(18446744073709551616.0)),
            ("08", Resolved::Float(8.0)),
            ("1.5", Resolved::Float(1.5)),
            ("129e6", Resolved::Float(129e6)),
            ("1.", Resolved::Float(1.0)),
            (".5", Resolved::Float(0.5)),
            ("-1E-3", Resolved::Float(-0.001)),
            (".inf", Resolved::Float(f64::INFINITY)),
            ("-.Inf", Resolved::Float(f64::NEG_INFINITY)),
            ("1.2.3", Resolved::Str),
            ("1e", Resolved::Str),
            ("100m", Resolved::Str),
            ("1Gi", Resolved::Str),
            ("2001-12-14", Resolved::Str),
            ("0x", Resolved::Str),
            (".", Resolved::Str),
            ("-", Resolved::Str),
            ("nginx:1.14.2", Resolved::Str),
        ];
        for (text, want) in cases {
            assert_eq!(resolve_plain(text), *want, "resolving {text:?}");
        }
        assert!(matches!(resolve_plain(".nan"), Resolved::Float(f) if f.is_nan()));
    }
}
