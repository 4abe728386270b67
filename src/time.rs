//! The one time type: an instant in UTC ([`Time`]), and its RFC 3339 text as the state, plan
//! files and the API print it (whole seconds, `2026-12-04T01:18:46Z`, as `metav1.Time`).

/// An instant, in UTC. Everything rekon stores, compares or prints as a time is one of these.
pub type Time = chrono::DateTime<chrono::Utc>;

/// The current time. Only `cmd` and the runtime read the clock: `plan` gets it as a value.
pub fn now() -> Time {
    chrono::Utc::now()
}

/// `t` without its fraction of a second: what the state keeps of a record's times, so a
/// record reads back equal to what was saved.
pub fn whole_seconds(t: Time) -> Time {
    use chrono::Timelike;
    t.with_nanosecond(0).expect("0 is a valid nanosecond")
}

/// `t` in RFC 3339 with whole seconds, as Kubernetes prints timestamps.
pub fn rfc3339(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reads an RFC 3339 time with any offset and precision.
pub fn parse(text: &str) -> Option<Time> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Serde for a [`Time`] written as [`rfc3339`] text (whole seconds); reads any RFC 3339 time.
pub mod secs {
    use super::Time;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `t` with whole seconds.
    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    /// Reads an RFC 3339 time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time")))
    }

    /// The same for an optional time.
    pub mod option {
        use super::Time;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `t` with whole seconds, or nothing.
        pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        /// Reads an RFC 3339 time or null.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
            Option::<std::borrow::Cow<'de, str>>::deserialize(d)?
                .map(|text| {
                    crate::time::parse(&text)
                        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time")))
                })
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_print_whole_seconds_and_read_back() {
        let t = chrono::Utc.timestamp_opt(1_800_000_000, 987_000_000).unwrap();
        assert_eq!(rfc3339(t), "2027-01-15T08:00:00Z");
        assert_eq!(
            parse("2027-01-15T08:00:00Z"),
            Some(chrono::Utc.timestamp_opt(1_800_000_000, 0).unwrap())
        );
        assert_eq!(parse("2027-01-15T09:00:00+01:00"), parse("2027-01-15T08:00:00Z"));
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn serde_writes_seconds_and_refuses_what_is_not_a_time() {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        struct S {
            #[serde(with = "secs")]
            at: Time,
            #[serde(with = "secs::option", default)]
            until: Option<Time>,
        }
        let at = chrono::Utc.timestamp_opt(1_800_000_000, 5).unwrap();
        let json = serde_json::to_string(&S { at, until: None }).unwrap();
        assert_eq!(json, r#"{"at":"2027-01-15T08:00:00Z","until":null}"#);
        let back: S = serde_json::from_str(&json).unwrap();
        assert_eq!(back.at, chrono::Utc.timestamp_opt(1_800_000_000, 0).unwrap());
        let err = serde_json::from_str::<S>(r#"{"at":"t"}"#).unwrap_err().to_string();
        assert!(err.contains("\"t\" is not an RFC 3339 time"), "{err}");
    }
}
