//! Kubernetes resource quantities (`100m`, `1.5Gi`, `129e6`), held exactly in nano-units.
//!
//! Parsing, rounding and the canonical string follow upstream
//! staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go (`spec/k8s-semantics.md` §8).

mod parse;

use super::de::RAW_SCALAR;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

const NANO: i128 = 1_000_000_000;
const MILLI_IN_NANOS: i128 = 1_000_000;

/// The suffix family a quantity was written in; it picks the canonical string's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// `Ki Mi Gi Ti Pi Ei`.
    BinarySI,
    /// `n u m k M G T P E` or no suffix.
    #[default]
    DecimalSI,
    /// `e<int>` / `E<int>`.
    DecimalExponent,
}

/// A quantity such as `100m`, `1.5Gi` or `129e6`, held exactly. Equality, ordering and
/// hashing look at the value only (`1Gi == 1024Mi`, `1 == 1000m`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Quantity {
    /// The value in nano-units (10^-9), rounded up on parse as upstream does.
    pub nanos: i128,
    /// The family of the suffix it was written with.
    pub format: Format,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// Upstream `ErrFormatWrong`.
    #[error(
        "invalid quantity {text:?}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format {
        /// The text that was parsed.
        text: String,
    },
    /// Upstream `ErrSuffix`.
    #[error("invalid quantity {text:?}: unable to parse quantity's suffix")]
    Suffix {
        /// The text that was parsed.
        text: String,
    },
    /// More than 2^63-1 units, which upstream would silently cap.
    #[error("invalid quantity {text:?}: too large (the maximum is 9223372036854775807)")]
    TooLarge {
        /// The text that was parsed.
        text: String,
    },
}

/// `ceil(|nanos| / unit)` with the sign of `nanos`: upstream rounds magnitudes up.
fn div_round_up(nanos: i128, unit: i128) -> i128 {
    let q = nanos / unit;
    if nanos % unit == 0 { q } else { q + nanos.signum() }
}

impl Quantity {
    /// Parses `<signedNumber><suffix>`, rounding up to a whole nano.
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        parse::parse(text)
    }

    /// A decimal quantity of `milli` thousandths (`from_milli(1500)` is `1500m`).
    pub fn from_milli(milli: i64) -> Quantity {
        Quantity {
            nanos: i128::from(milli) * MILLI_IN_NANOS,
            format: Format::DecimalSI,
        }
    }

    /// A quantity of whole units in the given format (`from_units(1 << 30, BinarySI)` is `1Gi`).
    pub fn from_units(units: i64, format: Format) -> Quantity {
        Quantity {
            nanos: i128::from(units) * NANO,
            format,
        }
    }

    /// The value in thousandths, rounded up (upstream `MilliValue`).
    pub fn milli_value(&self) -> i64 {
        div_round_up(self.nanos, MILLI_IN_NANOS) as i64
    }

    /// The value in units, rounded up (upstream `Value`).
    pub fn value(&self) -> i64 {
        div_round_up(self.nanos, NANO) as i64
    }

    /// Rounds up to milli precision, as pod defaulting does (`SetDefaults_ResourceList`).
    pub fn round_up_milli(&mut self) {
        self.nanos = div_round_up(self.nanos, MILLI_IN_NANOS) * MILLI_IN_NANOS;
    }

    /// Whether the value is zero, whatever the suffix (`0`, `0Gi`, `0m`).
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Mantissa and power-of-ten exponent (a multiple of 3) of the canonical decimal form
    /// (upstream `AsCanonicalBytes`).
    fn canonical_decimal(&self) -> (i128, i32) {
        let (mut mantissa, mut exponent) = (self.nanos, -9i32);
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        let r = exponent.rem_euclid(3);
        (mantissa * 10i128.pow(r as u32), exponent - r)
    }
}

impl fmt::Display for Quantity {
    /// The canonical string (upstream `CanonicalizeBytes`): the largest exact suffix of the
    /// quantity's family; binary values below 1024 or not whole are shown in decimal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let whole = self.nanos % NANO == 0;
        if self.format == Format::BinarySI && self.nanos.abs() >= 1024 * NANO && whole {
            let (mut units, mut exp) = (self.nanos / NANO, 0);
            while units % 1024 == 0 && exp < 6 {
                units /= 1024;
                exp += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
            return write!(f, "{units}{suffix}");
        }
        let (mantissa, exp) = self.canonical_decimal();
        if self.format == Format::DecimalExponent {
            return if exp == 0 {
                write!(f, "{mantissa}")
            } else {
                write!(f, "{mantissa}e{exp}")
            };
        }
        let suffix = match exp {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            _ => "E",
        };
        // Values are at most 2^63-1 units, so the exponent never exceeds 18 (E).
        let mantissa = if exp > 18 {
            mantissa * 10i128.pow((exp - 18) as u32)
        } else {
            mantissa
        };
        write!(f, "{mantissa}{suffix}")
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads the raw text of a YAML scalar (`cpu: 0.5` stays `0.5`), or a JSON string or number.
struct QuantityVisitor;

impl<'de> de::Visitor<'de> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quantity")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        Quantity::parse(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Quantity, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(RAW_SCALAR, QuantityVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_and_canonicalizes_like_upstream() {
        // (input, nanos, canonical string)
        let cases: &[(&str, i128, &str)] = &[
            ("0", 0, "0"),
            ("100m", 100_000_000, "100m"),
            ("1500m", 1_500_000_000, "1500m"),
            ("1.5", 1_500_000_000, "1500m"),
            ("0.5", 500_000_000, "500m"),
            ("1", 1_000_000_000, "1"),
            ("1000m", 1_000_000_000, "1"),
            ("1k", 1_000_000_000_000, "1k"),
            ("1Ki", 1024 * NANO, "1Ki"),
            ("1.5Gi", 1536 * 1024 * 1024 * NANO, "1536Mi"),
            ("0.5Ki", 512 * NANO, "512"),
            ("2048Ki", 2048 * 1024 * NANO, "2Mi"),
            ("129e6", 129_000_000 * NANO, "129e6"),
            ("129M", 129_000_000 * NANO, "129M"),
            ("1E3", 1000 * NANO, "1e3"),
            ("12e-1", 1_200_000_000, "1200e-3"),
            ("0.1n", 1, "1n"),
            ("1u", 1000, "1u"),
            ("+5", 5 * NANO, "5"),
            ("-100m", -100_000_000, "-100m"),
            ("-0.1n", -1, "-1n"),
            (".5", 500_000_000, "500m"),
            ("1.", NANO, "1"),
            ("1.000000000001", NANO + 1, "1000000001n"),
            ("0000.00000000000000000000000000000000000000000001", 1, "1n"),
            ("1E", 1_000_000_000_000_000_000 * NANO, "1E"),
            (
                "9223372036854775807",
                i128::from(i64::MAX) * NANO,
                "9223372036854775807",
            ),
        ];
        for (text, nanos, canonical) in cases {
            let got = q(text);
            assert_eq!(got.nanos, *nanos, "nanos of {text}");
            assert_eq!(got.to_string(), *canonical, "canonical form of {text}");
        }
    }

    #[test]
    fn rejects_bad_quantities() {
        for bad in ["", "abc", "-", ".", "1.5.5", "1 Gi", "Gi", "1Gix", "1e", "1e3.5", "1m5"] {
            assert!(
                matches!(
                    Quantity::parse(bad),
                    Err(QuantityError::Format { .. } | QuantityError::Suffix { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            Quantity::parse("1Mk"),
            Err(QuantityError::Suffix {
                text: "1Mk".to_string()
            })
        );
        assert_eq!(
            Quantity::parse("abc").unwrap_err().to_string(),
            "invalid quantity \"abc\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        for big in [
            "9223372036854775808",
            "10E",
            "8Ei",
            "1e19",
            "1e99999",
            "99999999999999999999999999999999999999999",
        ] {
            assert_eq!(
                Quantity::parse(big),
                Err(QuantityError::TooLarge { text: big.to_string() }),
                "{big}"
            );
        }
        assert_eq!(q("0e99999").nanos, 0);
        assert!(matches!(
            Quantity::parse("1e99999999999"),
            Err(QuantityError::Suffix { .. })
        ));
    }

    #[test]
    fn compares_by_value_and_rounds_up() {
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert_eq!(q("1"), q("1000m"));
        assert!(q("1k") < q("1Ki"));
        assert!(q("999m") < q("1"));
        assert_eq!(q("1.5").milli_value(), 1500);
        assert_eq!(q("0.1m").milli_value(), 1);
        assert_eq!(q("1001m").value(), 2);
        assert_eq!(q("1Gi").value(), 1 << 30);
        let mut cpu = q("100.5u");
        cpu.round_up_milli();
        assert_eq!(cpu.to_string(), "1m");
        assert!(q("0m").is_zero() && !q("1n").is_zero());
        assert_eq!(Quantity::from_milli(250).to_string(), "250m");
        assert_eq!(Quantity::from_units(1 << 30, Format::BinarySI).to_string(), "1Gi");
    }

    #[test]
    fn serializes_as_canonical_string_and_reads_json_numbers() {
        assert_eq!(serde_json::to_string(&q("1.5Gi")).expect("json"), "\"1536Mi\"");
        let from_json: Vec<Quantity> = serde_json::from_str("[\"100m\", 2, 0.5]").expect("json");
        assert_eq!(from_json, [q("100m"), q("2"), q("500m")]);
        let err = serde_json::from_str::<Quantity>("\"x\"").unwrap_err().to_string();
        assert!(err.starts_with("invalid quantity \"x\""), "{err}");
    }

    #[test]
    fn reads_yaml_numbers_as_written() {
        let docs = crate::manifest::yaml::parse_documents("[1, 0.5, 129e6, '250m', 1Gi, true]").expect("yaml");
        let (v, issues) = crate::manifest::de::from_node::<Vec<Quantity>>(&docs[0]);
        assert_eq!(v, None);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "[5]");
        let docs = crate::manifest::yaml::parse_documents("[1, 0.5, 129e6, '250m', 1Gi]").expect("yaml");
        let (v, issues) = crate::manifest::de::from_node::<Vec<Quantity>>(&docs[0]);
        assert_eq!(issues, vec![]);
        let strings: Vec<String> = v.expect("built").iter().map(Quantity::to_string).collect();
        assert_eq!(strings, ["1", "500m", "129e6", "250m", "1Gi"]);
    }
}
