//! `IntOrString`, as used by ports and rollout parameters (`80` or `"http"`, `1` or `"25%"`).
//!
//! After upstream staging/src/k8s.io/apimachinery/pkg/util/intstr/intstr.go.

use super::de::INT_OR_STRING;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;

/// A value that is either an integer or a string (`80` or `"http"`, `1` or `"25%"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IntOrString {
    /// A plain integer (`80`).
    Int(i64),
    /// A string, such as a port name (`"http"`) or a percentage (`"25%"`).
    String(String),
}

impl IntOrString {
    /// The value of an integer, or of a percentage applied to `total` and rounded up or down
    /// (upstream `GetScaledValueFromIntOrPercent`). Other strings are an error.
    pub fn scaled_value(&self, total: i64, round_up: bool) -> Result<i64, String> {
        let s = match self {
            IntOrString::Int(i) => return Ok(*i),
            IntOrString::String(s) => s,
        };
        let Some(number) = s.strip_suffix('%') else {
            return Err("invalid value for IntOrString: invalid type: string is not a percentage".to_string());
        };
        let percent: i64 = number.parse().map_err(|_| {
            format!(
                "invalid value for IntOrString: invalid value {s:?}: strconv.Atoi: parsing {number:?}: invalid syntax"
            )
        })?;
        // Exact integer arithmetic; upstream uses float64, identical for realistic values.
        let product = i128::from(percent) * i128::from(total);
        let scaled = if round_up {
            product.div_euclid(100) + i128::from(product.rem_euclid(100) != 0)
        } else {
            product.div_euclid(100)
        };
        i64::try_from(scaled).map_err(|_| format!("invalid value for IntOrString: {s:?} of {total} is out of range"))
    }
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(i) => write!(f, "{i}"),
            IntOrString::String(s) => f.write_str(s),
        }
    }
}

impl From<i64> for IntOrString {
    fn from(i: i64) -> Self {
        IntOrString::Int(i)
    }
}

impl From<&str> for IntOrString {
    fn from(s: &str) -> Self {
        IntOrString::String(s.to_string())
    }
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrString::Int(i) => s.serialize_i64(*i),
            IntOrString::String(v) => s.serialize_str(v),
        }
    }
}

struct IntOrStringVisitor;

impl<'de> de::Visitor<'de> for IntOrStringVisitor {
    type Value = IntOrString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrString, E> {
        Ok(IntOrString::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrString, E> {
        i64::try_from(v)
            .map(IntOrString::Int)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrString, E> {
        Ok(IntOrString::String(v.to_string()))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<IntOrString, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(INT_OR_STRING, IntOrStringVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::de::from_node;
    use crate::manifest::yaml::parse_documents;

    fn s(v: &str) -> IntOrString {
        IntOrString::String(v.to_string())
    }

    #[test]
    fn scales_percentages_like_upstream() {
        let cases = [
            (IntOrString::Int(3), 10, true, 3),
            (s("25%"), 10, true, 3),
            (s("25%"), 10, false, 2),
            (s("100%"), 7, false, 7),
            (s("0%"), 7, true, 0),
            (s("33%"), 3, true, 1),
            (s("33%"), 3, false, 0),
            (s("-10%"), 15, false, -2),
        ];
        for (v, total, up, want) in cases {
            assert_eq!(v.scaled_value(total, up), Ok(want), "{v} of {total} (up: {up})");
        }
        assert_eq!(
            s("http").scaled_value(4, true),
            Err("invalid value for IntOrString: invalid type: string is not a percentage".to_string())
        );
        assert_eq!(
            s("a%").scaled_value(4, true),
            Err(
                "invalid value for IntOrString: invalid value \"a%\": strconv.Atoi: parsing \"a\": invalid syntax"
                    .to_string()
            )
        );
    }

    #[test]
    fn round_trips_through_json() {
        let v: Vec<IntOrString> = serde_json::from_str("[80, \"http\", \"25%\"]").expect("json");
        assert_eq!(v, [IntOrString::Int(80), s("http"), s("25%")]);
        assert_eq!(serde_json::to_string(&v).expect("json"), "[80,\"http\",\"25%\"]");
        assert!(serde_json::from_str::<IntOrString>("1.5").is_err());
    }

    #[test]
    fn reads_yaml_by_style() {
        let docs = parse_documents("[8080, http, '8080', 25%, 0x10]").expect("yaml");
        let (v, issues) = from_node::<Vec<IntOrString>>(&docs[0]);
        assert_eq!(issues, vec![]);
        assert_eq!(
            v,
            Some(vec![
                IntOrString::Int(8080),
                s("http"),
                s("8080"),
                s("25%"),
                IntOrString::Int(16)
            ])
        );
        let docs = parse_documents("port: true").expect("yaml");
        let (v, issues) = from_node::<std::collections::BTreeMap<String, IntOrString>>(&docs[0]);
        assert_eq!(v, None);
        assert_eq!(issues[0].message, "expected an integer or a string, found boolean true");
    }
}
