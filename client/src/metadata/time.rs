//! Times in TUF metadata: `YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds. Other tools
//! (python-tuf among them) refuse fractional seconds and offsets, so we never write them and
//! we refuse them on read as python-tuf does.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time as metadata carries it (`expires`, a rollout start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TufTime(pub DateTime<Utc>);

const FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Formats a time the one way TUF metadata carries it.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.format(FORMAT).to_string()
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` exactly: 20 bytes, digits where digits belong.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let shape_ok = s.len() == 20
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(format!("{s:?} is not of the form YYYY-MM-DDTHH:MM:SSZ"));
    }
    NaiveDateTime::parse_from_str(s, FORMAT)
        .map(|n| n.and_utc())
        .map_err(|e| format!("{s:?} is not a valid time: {e}"))
}

impl Serialize for TufTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(&self.0))
    }
}

impl<'de> Deserialize<'de> for TufTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_time(&s)
            .map(TufTime)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_whole_seconds() {
        let t = parse_time("2030-01-02T03:04:05Z").unwrap();
        assert_eq!(format_time(&t), "2030-01-02T03:04:05Z");
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "2030-01-02T03:04:05.5Z",
            "2030-01-02T03:04:05+00:00",
            "2030-01-02 03:04:05Z",
            "+2030-01-02T03:04:05Z",
            "2030-13-02T03:04:05Z",
            "2030-02-30T03:04:05Z",
            "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad} accepted");
        }
    }
}
