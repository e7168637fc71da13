//! Durations on the command line (`--expires targets=90d`, `--within 7d`).

use chrono::Duration;

use crate::error::{RepoError, Result};

/// Parses `N` followed by one unit: `s`, `m`, `h`, `d`, `w` or `y` (365 days).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad =
        |why: &str| RepoError::Usage(format!("duration {text:?}: {why} (e.g. 12h, 7d, 52w, 1y)"));
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| bad("no unit"))?;
    let (digits, unit) = text.split_at(split);
    let n: i64 = digits.parse().map_err(|_| bad("no number"))?;
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => return Err(bad("unknown unit")),
    };
    let seconds = n
        .checked_mul(seconds_per)
        .filter(|s| *s > 0 && *s < 100 * 365 * 86_400)
        .ok_or_else(|| bad("must be positive and under 100 years"))?;
    Ok(Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("7d").unwrap(), Duration::days(7));
        assert_eq!(parse_duration("12h").unwrap(), Duration::hours(12));
        assert_eq!(parse_duration("1y").unwrap(), Duration::days(365));
        for bad in ["", "7", "d", "7x", "-1d", "0d", "1000y"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
