//! Exact money: a decimal with at most two fractional digits, stored as integer minor
//! units (kopecks) on both engines so sums in SQL stay exact, shown in JSON as a string.
//!
//! Text from outside (API bodies and parameters, the accounting system, templates' data)
//! is read strictly: `-?\d+(\.\d{1,2})?` and below [`Money::MAX`] either way, nothing else
//! (no `_`, exponents, spaces or signs other than a leading minus).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An exact amount of money (two decimal places), e.g. `"1500000.00"` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, utoipa::ToSchema)]
#[schema(value_type = String, example = "1500000.00")]
pub struct Money(i64);

/// Why a text is not an amount of money.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("is not an amount: digits, an optional leading minus and at most two decimal places after a point, e.g. \"1500000.00\"")]
    NotANumber,
    #[error("has more than two decimal places")]
    TooPrecise,
    #[error("is out of range: amounts are at most 9999999999999.99 either way")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);
    /// The largest amount read from outside, 9 999 999 999 999.99 (just under ten
    /// trillion): far above any real document, and small enough that sums of millions
    /// of such amounts still fit the 64-bit kopecks every engine stores.
    pub const MAX: Money = Money(999_999_999_999_999);

    pub fn from_minor(minor: i64) -> Money {
        Money(minor)
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    pub fn from_decimal(d: Decimal) -> Result<Money, MoneyError> {
        let normalized = d.normalize();
        if normalized.scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        let minor = d.checked_mul(Decimal::ONE_HUNDRED).ok_or(MoneyError::TooLarge)?.trunc();
        i64::try_from(minor).map(Money).map_err(|_| MoneyError::TooLarge)
    }

    /// An amount the host itself wrote as text (a stored amount or a sum of them, as a
    /// document's data carries it): the same strict grammar as input, over the whole
    /// range of the stored kopecks rather than [`Money::MAX`].
    pub fn parse_stored(s: &str) -> Result<Money, MoneyError> {
        parse(s, i64::MAX)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.to_decimal())
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    /// `-?\d+(\.\d{1,2})?`, at most [`Money::MAX`] either way.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s, Money::MAX.0)
    }
}

/// `-?\d+(\.\d{1,2})?`, at most `max` kopecks either way, with checked arithmetic.
fn parse(s: &str, max: i64) -> Result<Money, MoneyError> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (units, fraction) = match body.split_once('.') {
        Some((units, fraction)) => (units, Some(fraction)),
        None => (body, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(units) || fraction.is_some_and(|f| !digits(f)) {
        return Err(MoneyError::NotANumber);
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > 2 {
        return Err(MoneyError::TooPrecise);
    }
    let number = |t: &str| t.bytes().try_fold(0i64, |n, b| n.checked_mul(10)?.checked_add(i64::from(b - b'0')));
    let kopecks = number(fraction).unwrap_or(0) * if fraction.len() == 1 { 10 } else { 1 };
    let minor = number(units.trim_start_matches('0'))
        .and_then(|u| u.checked_mul(100))
        .and_then(|u| u.checked_add(kopecks))
        .filter(|m| *m <= max)
        .ok_or(MoneyError::TooLarge)?;
    Ok(Money(if negative { -minor } else { minor }))
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Strings only: a JSON number may already have lost precision in the client.
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for Money
where
    i64: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <i64 as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <i64 as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for Money
where
    i64: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <i64 as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for Money
where
    i64: sqlx::Decode<'r, DB>,
{
    fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        <i64 as sqlx::Decode<'r, DB>>::decode(value).map(Money)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_round_trips_exactly_through_its_string_form() {
        for s in ["0.00", "0.10", "1500000.00", "-12.34", "9999999999999.99", "-9999999999999.99"] {
            assert_eq!(s.parse::<Money>().unwrap().to_string(), s);
        }
        assert_eq!("7".parse::<Money>().unwrap().to_string(), "7.00");
        assert_eq!("0.1".parse::<Money>().unwrap().minor(), 10);
    }

    #[test]
    fn money_refuses_fractions_of_a_kopeck_and_non_numbers() {
        assert_eq!("1.005".parse::<Money>(), Err(MoneyError::TooPrecise));
        assert_eq!("1.5e3".parse::<Money>(), Err(MoneyError::NotANumber));
        assert_eq!("abc".parse::<Money>(), Err(MoneyError::NotANumber));
    }

    #[test]
    fn money_is_read_strictly() {
        for bad in ["1_000", "1 000", " 1.00", "1.00 ", "+1.00", "1.", ".5", "-", "", "1,5", "0x10", "١٢", "1e3", "--1", "1.-5"] {
            assert_eq!(bad.parse::<Money>(), Err(MoneyError::NotANumber), "{bad:?}");
        }
        assert_eq!("1.500".parse::<Money>(), Err(MoneyError::TooPrecise));
        assert_eq!("007.5".parse::<Money>().unwrap().minor(), 750);
        assert_eq!("-0".parse::<Money>().unwrap(), Money::ZERO);
    }

    #[test]
    fn money_out_of_range_is_an_error_not_a_panic() {
        assert_eq!("10000000000000".parse::<Money>(), Err(MoneyError::TooLarge));
        assert_eq!("-10000000000000.00".parse::<Money>(), Err(MoneyError::TooLarge));
        assert_eq!("1000000000000000000000000000".parse::<Money>(), Err(MoneyError::TooLarge));
        assert_eq!("9999999999999.99".parse::<Money>().unwrap(), Money::MAX);
        assert_eq!("0000000000000001.00".parse::<Money>().unwrap().minor(), 100);
        assert_eq!(Money::from_decimal(Decimal::MAX), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse_stored("92233720368547758.07").unwrap().minor(), i64::MAX);
        assert_eq!(Money::parse_stored("92233720368547758.08"), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse_stored("1_000"), Err(MoneyError::NotANumber));
    }
}
