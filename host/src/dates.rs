//! Calendar dates read from outside (API bodies and parameters, the accounting system,
//! plugins' answers): `YYYY-MM-DD` exactly — four-digit year, two-digit month and day,
//! no sign, no spaces — and a real day of the calendar. chrono's own parser is lenient
//! (`2025-2-3`, `+2025-01-01`), so input never goes through it.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

/// Why a text is not a date.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum DateError {
    #[error("is not a date YYYY-MM-DD (e.g. 2025-02-03)")]
    Format,
    #[error("is not a day of the calendar")]
    NoSuchDay,
}

/// Parses `YYYY-MM-DD`, nothing else.
pub fn parse(s: &str) -> Result<NaiveDate, DateError> {
    let b = s.as_bytes();
    let shaped = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(DateError::Format);
    }
    let number = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
    let year = i32::try_from(number(0..4)).map_err(|_| DateError::Format)?;
    NaiveDate::from_ymd_opt(year, number(5..7), number(8..10)).ok_or(DateError::NoSuchDay)
}

/// The message for a bad date, showing the text (shortened) and what is wrong.
pub fn message(s: &str, e: DateError) -> String {
    let shown: String = s.chars().take(40).collect();
    format!("`{shown}` {e}")
}

/// `#[serde(deserialize_with = "crate::dates::strict")]` for a `NaiveDate` from outside.
pub fn strict<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(|e| serde::de::Error::custom(message(&s, e)))
}

/// `#[serde(default, deserialize_with = "crate::dates::strict_opt")]` for an optional
/// `NaiveDate` from outside (`null` or absent is `None`).
pub fn strict_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => parse(&s).map(Some).map_err(|e| serde::de::Error::custom(message(&s, e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_strictly() {
        assert_eq!(parse("2025-02-03"), Ok(NaiveDate::from_ymd_opt(2025, 2, 3).unwrap_or_default()));
        for bad in ["2025-2-3", "+2025-01-01", "2025-01-1", " 2025-01-01", "2025-01-01 ", "20250101", "2025/01/01", "-202-01-01", "2025-01-01T00:00:00", "٢٠٢٥-01-01", ""] {
            assert_eq!(parse(bad), Err(DateError::Format), "{bad:?}");
        }
        assert_eq!(parse("2025-02-30"), Err(DateError::NoSuchDay));
        assert_eq!(parse("2025-13-01"), Err(DateError::NoSuchDay));
    }
}
