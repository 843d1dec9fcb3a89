//! Exact money: a decimal with at most two fractional digits, stored as integer minor
//! units (kopecks) on both engines so sums in SQL stay exact, shown in JSON as a string.

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
    #[error("is not a decimal number (use a string like \"1500000.00\")")]
    NotANumber,
    #[error("has more than two decimal places")]
    TooPrecise,
    #[error("is too large")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

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
        let minor = (d * Decimal::ONE_HUNDRED).trunc();
        i64::try_from(minor).map(Money).map_err(|_| MoneyError::TooLarge)
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
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = Decimal::from_str_exact(s.trim()).map_err(|_| MoneyError::NotANumber)?;
        Money::from_decimal(d)
    }
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
        for s in ["0.00", "0.10", "1500000.00", "-12.34", "92233720368547758.07"] {
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
        assert_eq!("1.500".parse::<Money>().unwrap().minor(), 150);
    }
}
