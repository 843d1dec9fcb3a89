//! The Bank of Russia key rate (ключевая ставка), percent per annum, as a step function of dates.
//!
//! [`KeyRates`] is built from any list of `(effective from, rate)` entries, so the table can be
//! loaded at run time (a database table, a file, the CBR feed) later; [`KeyRates::builtin`]
//! is the table compiled into the binary (effective dates 2021-12-20 … 2025-12-22, copied from
//! `/work/shared/reference/penalties.md`; re-verify against cbr.ru before production use).
//!
//! A rate applies from its effective date until the day before the next entry. The last entry
//! is assumed to stay in force indefinitely — for dates after the last known change the answer
//! is only as current as the table. Dates before the first entry have no rate.

use std::sync::OnceLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Built-in table: (year, month, day, rate in hundredths of a percent).
const BUILTIN: &[(i32, u32, u32, i64)] = &[
    (2021, 12, 20, 850),
    (2022, 2, 14, 950),
    (2022, 2, 28, 2000),
    (2022, 4, 11, 1700),
    (2022, 5, 4, 1400),
    (2022, 5, 27, 1100),
    (2022, 6, 14, 950),
    (2022, 7, 25, 800),
    (2022, 9, 19, 750),
    (2023, 7, 24, 850),
    (2023, 8, 15, 1200),
    (2023, 9, 18, 1300),
    (2023, 10, 30, 1500),
    (2023, 12, 18, 1600),
    (2024, 7, 29, 1800),
    (2024, 9, 16, 1900),
    (2024, 10, 28, 2100),
    (2025, 6, 9, 2000),
    (2025, 7, 28, 1800),
    (2025, 9, 15, 1700),
    (2025, 10, 27, 1650),
    (2025, 12, 22, 1600),
];

/// Why a list of key-rate entries is not a usable table.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyRatesError {
    /// Two entries share an effective date.
    #[error("two key rates take effect on {0}")]
    DuplicateDate(NaiveDate),
    /// A rate below zero.
    #[error("the key rate effective {0} is negative")]
    NegativeRate(NaiveDate),
}

/// A key-rate table: rates in percent per annum by effective date, sorted ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRates {
    entries: Vec<(NaiveDate, Decimal)>,
}

impl KeyRates {
    /// A table from `(effective from, percent per annum)` entries in any order.
    pub fn new(entries: &[(NaiveDate, Decimal)]) -> Result<KeyRates, KeyRatesError> {
        let mut entries = entries.to_vec();
        entries.sort_by_key(|(date, _)| *date);
        for pair in entries.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(KeyRatesError::DuplicateDate(pair[0].0));
            }
        }
        if let Some((date, _)) = entries.iter().find(|(_, rate)| rate.is_sign_negative() && !rate.is_zero()) {
            return Err(KeyRatesError::NegativeRate(*date));
        }
        Ok(KeyRates { entries })
    }

    /// The table compiled into the binary (2021-12-20 … 2025-12-22).
    pub fn builtin() -> &'static KeyRates {
        static TABLE: OnceLock<KeyRates> = OnceLock::new();
        TABLE.get_or_init(|| {
            let entries: Vec<(NaiveDate, Decimal)> = BUILTIN
                .iter()
                .map(|&(y, m, d, hundredths)| {
                    let date = NaiveDate::from_ymd_opt(y, m, d).expect("the built-in table holds valid dates");
                    (date, Decimal::new(hundredths, 2))
                })
                .collect();
            KeyRates::new(&entries).expect("the built-in table is sorted, unique and non-negative")
        })
    }

    /// The entries, sorted by effective date.
    pub fn entries(&self) -> &[(NaiveDate, Decimal)] {
        &self.entries
    }

    /// The rate (percent per annum) in force on `date`, or `None` before the first entry.
    pub fn rate_on(&self, date: NaiveDate) -> Option<Decimal> {
        let after = self.entries.partition_point(|(from, _)| *from <= date);
        after.checked_sub(1).map(|i| self.entries[i].1)
    }

    /// Dates in `(from, to]` on which the rate changes, ascending: the points where a
    /// period starting at `from` must be split.
    pub fn changes_between(&self, from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        self.entries.iter().map(|(date, _)| *date).filter(move |date| *date > from && *date <= to)
    }
}

/// The rate (percent per annum) of the built-in table in force on `date`.
pub fn rate_on(date: NaiveDate) -> Option<Decimal> {
    KeyRates::builtin().rate_on(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn pct(s: &str) -> Decimal {
        s.parse().expect("valid decimal")
    }

    #[test]
    fn builtin_table_answers_by_effective_date() {
        assert_eq!(rate_on(d(2021, 12, 19)), None);
        assert_eq!(rate_on(d(2021, 12, 20)), Some(pct("8.50")));
        assert_eq!(rate_on(d(2022, 2, 27)), Some(pct("9.50")));
        assert_eq!(rate_on(d(2022, 2, 28)), Some(pct("20")));
        assert_eq!(rate_on(d(2024, 10, 27)), Some(pct("19")));
        assert_eq!(rate_on(d(2024, 10, 28)), Some(pct("21")));
        assert_eq!(rate_on(d(2025, 6, 8)), Some(pct("21")));
        assert_eq!(rate_on(d(2025, 6, 9)), Some(pct("20")));
        assert_eq!(rate_on(d(2025, 10, 27)), Some(pct("16.5")));
        // The last entry stays in force.
        assert_eq!(rate_on(d(2026, 11, 22)), Some(pct("16")));
        assert_eq!(KeyRates::builtin().entries().len(), 22);
    }

    #[test]
    fn changes_between_is_half_open_at_the_start() {
        let changes: Vec<_> = KeyRates::builtin().changes_between(d(2025, 6, 1), d(2025, 8, 10)).collect();
        assert_eq!(changes, vec![d(2025, 6, 9), d(2025, 7, 28)]);
        // A change on the start day itself is not a split point.
        assert_eq!(KeyRates::builtin().changes_between(d(2025, 6, 9), d(2025, 7, 27)).count(), 0);
    }

    #[test]
    fn a_runtime_table_is_sorted_and_validated() {
        let t = KeyRates::new(&[(d(2030, 1, 1), pct("5")), (d(2029, 1, 1), pct("6"))]).expect("valid");
        assert_eq!(t.rate_on(d(2029, 6, 1)), Some(pct("6")));
        assert_eq!(t.rate_on(d(2030, 6, 1)), Some(pct("5")));
        assert_eq!(
            KeyRates::new(&[(d(2030, 1, 1), pct("5")), (d(2030, 1, 1), pct("6"))]),
            Err(KeyRatesError::DuplicateDate(d(2030, 1, 1)))
        );
        assert_eq!(KeyRates::new(&[(d(2030, 1, 1), pct("-1"))]), Err(KeyRatesError::NegativeRate(d(2030, 1, 1))));
    }
}
