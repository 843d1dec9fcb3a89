//! Penalties on an overdue debt, each with a per-period breakdown.
//!
//! Three methods (formulas from `/work/shared/reference/penalties.md`):
//! * [`contractual`] — a contractual penalty of a fixed percent per day of the debt, with an
//!   optional cap applied to the sum;
//! * [`art_395`] — interest under art. 395 of the Civil Code: key rate per annum, split at every
//!   key-rate change and at every 1 January, divided by 365 or 366 days of the period's year;
//! * [`key_rate_1_300`] — a penalty of 1/300 of the key rate in force on each day.
//!
//! Common rules ([`Overdue`]):
//! * interest runs from the day after `due` through `until` inclusive (art. 191 of the Civil Code);
//! * a payment on day `p` lowers the base from `p + 1`; payments on or before `due` therefore
//!   lower the base from the first overdue day; payments after `until` are ignored (they cannot
//!   affect the period); payments beyond the debt bring the base to zero, not below;
//! * periods whose base is zero are left out of the breakdown;
//! * **rounding:** each period's amount is rounded half-up (half away from zero) to 0.01 ₽, and
//!   the total is the sum of the rounded periods (then capped, for [`contractual`]).

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

use super::key_rates::KeyRates;
use crate::money::Money;

/// Why a penalty cannot be computed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PenaltyError {
    /// The principal is below zero.
    #[error("the principal {0} is negative")]
    NegativePrincipal(Money),
    /// A payment of a negative amount.
    #[error("the payment of {amount} on {date} is negative")]
    NegativePayment {
        /// Date of the payment.
        date: NaiveDate,
        /// Its (negative) amount.
        amount: Money,
    },
    /// A penalty rate or cap fraction below zero.
    #[error("the rate {0} is negative")]
    NegativeRate(Decimal),
    /// The key-rate table has no rate for an overdue day.
    #[error("no key rate is known for {0}")]
    NoKeyRate(NaiveDate),
    /// An amount too large for `Money`/`Decimal`.
    #[error("the amount is too large")]
    Overflow,
}

/// An overdue debt: what is owed, since when, until when, and what was paid.
#[derive(Debug, Clone, Copy)]
pub struct Overdue<'a> {
    /// The debt on the due date.
    pub principal: Money,
    /// The last day to pay without penalty; the penalty starts the next day.
    pub due: NaiveDate,
    /// The last day of the penalty, inclusive (e.g. the day of payment or of the claim).
    pub until: NaiveDate,
    /// Partial payments `(date, amount)`, in any order.
    pub payments: &'a [(NaiveDate, Money)],
}

/// One period of constant base and rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyPeriod {
    /// First day, inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Number of days, `to - from + 1`.
    pub days: i64,
    /// The debt the penalty is charged on.
    pub base: Money,
    /// The rate: percent per day for [`contractual`]; the key rate in percent per annum for
    /// [`art_395`] and [`key_rate_1_300`].
    pub rate: Decimal,
    /// The period's penalty, rounded half-up to kopecks.
    pub amount: Money,
}

/// A computed penalty: the breakdown and the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    /// The periods, in date order.
    pub periods: Vec<PenaltyPeriod>,
    /// The sum of the periods' rounded amounts.
    pub uncapped_total: Money,
    /// The amount due: `uncapped_total`, limited by the cap if one applies.
    pub total: Money,
}

/// A cap on a contractual penalty: at most `fraction` of `of` (e.g. 0.10 of the contract price).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PenaltyCap {
    /// The fraction, e.g. `0.10` for 10 %.
    pub fraction: Decimal,
    /// The amount the fraction is taken of (contract price, debt…).
    pub of: Money,
}

/// A contractual penalty of `percent_per_day` percent of the debt per overdue day
/// (the per-day rate is not divided by 365), optionally capped after summation.
pub fn contractual(debt: &Overdue<'_>, percent_per_day: Decimal, cap: Option<PenaltyCap>) -> Result<Penalty, PenaltyError> {
    if percent_per_day.is_sign_negative() && !percent_per_day.is_zero() {
        return Err(PenaltyError::NegativeRate(percent_per_day));
    }
    let mut periods = Vec::new();
    for (from, to, base) in split(debt, |_, _| Vec::new())? {
        let days = days_between(from, to);
        // base × (percent / 100) × days
        let exact = mul(mul(base.to_decimal(), percent_per_day)?, Decimal::from(days))? / Decimal::ONE_HUNDRED;
        periods.push(PenaltyPeriod { from, to, days, base, rate: percent_per_day, amount: kopecks(exact)? });
    }
    let uncapped_total = sum(&periods)?;
    let total = match cap {
        None => uncapped_total,
        Some(cap) => {
            if cap.fraction.is_sign_negative() && !cap.fraction.is_zero() {
                return Err(PenaltyError::NegativeRate(cap.fraction));
            }
            uncapped_total.min(kopecks(mul(cap.of.to_decimal(), cap.fraction)?)?)
        }
    };
    Ok(Penalty { periods, uncapped_total, total })
}

/// Interest under art. 395 of the Civil Code: `base × key rate / 100 × days / days in year`,
/// the year being that of the period (split at every 1 January and every key-rate change).
pub fn art_395(debt: &Overdue<'_>, rates: &KeyRates) -> Result<Penalty, PenaltyError> {
    let splits = |from: NaiveDate, to: NaiveDate| {
        let mut points: Vec<NaiveDate> = rates.changes_between(from, to).collect();
        points.extend((from.year() + 1..=to.year()).filter_map(|y| NaiveDate::from_ymd_opt(y, 1, 1)));
        points
    };
    let mut periods = Vec::new();
    for (from, to, base) in split(debt, splits)? {
        let rate = rates.rate_on(from).ok_or(PenaltyError::NoKeyRate(from))?;
        let days = days_between(from, to);
        let year_days = Decimal::from(if is_leap(from.year()) { 366 } else { 365 });
        let numerator = mul(mul(base.to_decimal(), rate)?, Decimal::from(days))?;
        let exact = numerator / Decimal::ONE_HUNDRED / year_days;
        periods.push(PenaltyPeriod { from, to, days, base, rate, amount: kopecks(exact)? });
    }
    let total = sum(&periods)?;
    Ok(Penalty { periods, uncapped_total: total, total })
}

/// A penalty of 1/300 of the key rate per day: `base × key rate / 100 / 300 × days`, with the
/// rate in force on each day (split at every key-rate change).
pub fn key_rate_1_300(debt: &Overdue<'_>, rates: &KeyRates) -> Result<Penalty, PenaltyError> {
    let mut periods = Vec::new();
    for (from, to, base) in split(debt, |from, to| rates.changes_between(from, to).collect())? {
        let rate = rates.rate_on(from).ok_or(PenaltyError::NoKeyRate(from))?;
        let days = days_between(from, to);
        let numerator = mul(mul(base.to_decimal(), rate)?, Decimal::from(days))?;
        let exact = numerator / Decimal::from(30_000);
        periods.push(PenaltyPeriod { from, to, days, base, rate, amount: kopecks(exact)? });
    }
    let total = sum(&periods)?;
    Ok(Penalty { periods, uncapped_total: total, total })
}

/// Splits the overdue span into `(from, to, base)` pieces of constant base, also breaking at
/// the dates `extra(first, last)` returns (each a day that starts a new period).
fn split(
    debt: &Overdue<'_>,
    extra: impl Fn(NaiveDate, NaiveDate) -> Vec<NaiveDate>,
) -> Result<Vec<(NaiveDate, NaiveDate, Money)>, PenaltyError> {
    if debt.principal.is_negative() {
        return Err(PenaltyError::NegativePrincipal(debt.principal));
    }
    if let Some(&(date, amount)) = debt.payments.iter().find(|(_, amount)| amount.is_negative()) {
        return Err(PenaltyError::NegativePayment { date, amount });
    }
    let first = next_day(debt.due);
    let last = debt.until;
    if first > last {
        return Ok(Vec::new());
    }
    let mut starts: BTreeSet<NaiveDate> = extra(first, last).into_iter().filter(|d| *d > first && *d <= last).collect();
    starts.extend(debt.payments.iter().map(|(date, _)| next_day(*date)).filter(|d| *d > first && *d <= last));

    let mut pieces = Vec::new();
    let mut from = first;
    for start in starts.into_iter().chain(std::iter::once(next_day(last))) {
        let to = start.pred_opt().expect("a split point is after the first overdue day");
        let base = base_on(debt, from)?;
        if base > Money::ZERO {
            pieces.push((from, to, base));
        }
        from = start;
    }
    Ok(pieces)
}

/// The debt on `day`: the principal less the payments made before `day`, never below zero.
fn base_on(debt: &Overdue<'_>, day: NaiveDate) -> Result<Money, PenaltyError> {
    let mut paid: i64 = 0;
    for (_, amount) in debt.payments.iter().filter(|(date, _)| *date < day) {
        paid = paid.checked_add(amount.minor()).ok_or(PenaltyError::Overflow)?;
    }
    Ok(Money::from_minor(debt.principal.minor().saturating_sub(paid).max(0)))
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().expect("receivable dates are nowhere near NaiveDate::MAX (year 262142)")
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days() + 1
}

fn is_leap(year: i32) -> bool {
    NaiveDate::from_ymd_opt(year, 2, 29).is_some()
}

fn mul(a: Decimal, b: Decimal) -> Result<Decimal, PenaltyError> {
    a.checked_mul(b).ok_or(PenaltyError::Overflow)
}

/// Rounds half-up (half away from zero) to kopecks.
fn kopecks(exact: Decimal) -> Result<Money, PenaltyError> {
    Money::from_decimal(exact.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
        .map_err(|_| PenaltyError::Overflow)
}

fn sum(periods: &[PenaltyPeriod]) -> Result<Money, PenaltyError> {
    periods.iter().try_fold(Money::ZERO, |acc, p| acc.checked_add(p.amount).ok_or(PenaltyError::Overflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn rub(s: &str) -> Money {
        s.parse().expect("valid amount")
    }

    fn dec(s: &str) -> Decimal {
        s.parse().expect("valid decimal")
    }

    fn overdue<'a>(principal: &str, due: NaiveDate, until: NaiveDate, payments: &'a [(NaiveDate, Money)]) -> Overdue<'a> {
        Overdue { principal: rub(principal), due, until, payments }
    }

    /// `(from, to, days, base, rate, amount)` of each period, for compact assertions.
    fn rows(p: &Penalty) -> Vec<(NaiveDate, NaiveDate, i64, Money, Decimal, Money)> {
        p.periods.iter().map(|x| (x.from, x.to, x.days, x.base, x.rate, x.amount)).collect()
    }

    #[test]
    fn contractual_percent_per_day() {
        // 100 000.00 due 31.12.2024, until 31.01.2025, 0.1 %/day:
        // 01.01–31.01.2025 = 31 days; 100 000 × 0.001 = 100.00 per day; 31 × 100.00 = 3 100.00.
        let debt = overdue("100000.00", d(2024, 12, 31), d(2025, 1, 31), &[]);
        let p = contractual(&debt, dec("0.1"), None).expect("computes");
        assert_eq!(rows(&p), vec![(d(2025, 1, 1), d(2025, 1, 31), 31, rub("100000.00"), dec("0.1"), rub("3100.00"))]);
        assert_eq!(p.total, rub("3100.00"));
        assert_eq!(p.uncapped_total, rub("3100.00"));
    }

    #[test]
    fn contractual_cap_applies_after_summation() {
        // Same 3 100.00 as above, capped at 2 % of a 100 000.00 contract = 2 000.00.
        let debt = overdue("100000.00", d(2024, 12, 31), d(2025, 1, 31), &[]);
        let cap = PenaltyCap { fraction: dec("0.02"), of: rub("100000.00") };
        let p = contractual(&debt, dec("0.1"), Some(cap)).expect("computes");
        assert_eq!(p.uncapped_total, rub("3100.00"));
        assert_eq!(p.total, rub("2000.00"));
        assert_eq!(p.periods.len(), 1, "the breakdown stays uncapped");
        // A cap above the sum changes nothing: 10 % of 100 000.00 = 10 000.00 > 3 100.00.
        let cap = PenaltyCap { fraction: dec("0.10"), of: rub("100000.00") };
        assert_eq!(contractual(&debt, dec("0.1"), Some(cap)).expect("computes").total, rub("3100.00"));
    }

    #[test]
    fn contractual_partial_payment_lowers_the_base_from_the_next_day() {
        // 100 000.00 due 31.12.2024, 40 000.00 paid on 10.01.2025, until 31.01.2025, 0.1 %/day:
        // 01.01–10.01 = 10 days × 100 000 × 0.001 (100.00) = 1 000.00 (the payment day still counts);
        // 11.01–31.01 = 21 days × 60 000 × 0.001 (60.00) = 1 260.00; total 2 260.00.
        let payments = [(d(2025, 1, 10), rub("40000.00"))];
        let debt = overdue("100000.00", d(2024, 12, 31), d(2025, 1, 31), &payments);
        let p = contractual(&debt, dec("0.1"), None).expect("computes");
        assert_eq!(
            rows(&p),
            vec![
                (d(2025, 1, 1), d(2025, 1, 10), 10, rub("100000.00"), dec("0.1"), rub("1000.00")),
                (d(2025, 1, 11), d(2025, 1, 31), 21, rub("60000.00"), dec("0.1"), rub("1260.00")),
            ]
        );
        assert_eq!(p.total, rub("2260.00"));
    }

    #[test]
    fn full_payment_and_edge_payments() {
        // Paid in full on 10.01: nothing after it. Payment after `until` is ignored.
        // Payment on the due date lowers the base from the first overdue day:
        // 100 000 − 30 000 = 70 000 × 0.001 = 70.00/day × 10 days (01.01–10.01) = 700.00.
        let payments = [
            (d(2024, 12, 31), rub("30000.00")),
            (d(2025, 1, 10), rub("70000.00")),
            (d(2025, 3, 1), rub("5.00")),
        ];
        let debt = overdue("100000.00", d(2024, 12, 31), d(2025, 1, 31), &payments);
        let p = contractual(&debt, dec("0.1"), None).expect("computes");
        assert_eq!(rows(&p), vec![(d(2025, 1, 1), d(2025, 1, 10), 10, rub("70000.00"), dec("0.1"), rub("700.00"))]);
        assert_eq!(p.total, rub("700.00"));
    }

    #[test]
    fn nothing_is_due_on_or_before_the_due_date() {
        let debt = overdue("100000.00", d(2025, 1, 31), d(2025, 1, 31), &[]);
        let p = contractual(&debt, dec("0.1"), None).expect("computes");
        assert!(p.periods.is_empty());
        assert_eq!(p.total, Money::ZERO);
    }

    #[test]
    fn each_period_is_rounded_half_up() {
        // 1.00 × 0.5 %/day × 1 day = 0.005 → 0.01 half-up (banker's rounding would give 0.00).
        let debt = overdue("1.00", d(2025, 1, 1), d(2025, 1, 2), &[]);
        assert_eq!(contractual(&debt, dec("0.5"), None).expect("computes").total, rub("0.01"));
        // 1.00 × 0.4 %/day × 1 day = 0.004 → 0.00.
        assert_eq!(contractual(&debt, dec("0.4"), None).expect("computes").total, Money::ZERO);
    }

    #[test]
    fn art_395_splits_at_key_rate_changes() {
        // 1 000 000.00 due 01.06.2025, until 10.08.2025; rate 21 %, 20 % from 09.06, 18 % from 28.07:
        // 02.06–08.06:  7 days: 1 000 000 × 0.21 × 7 / 365 = 1 470 000 / 365 = 4 027.3972… → 4 027.40
        // 09.06–27.07: 49 days (22 in June + 27 in July): 1 000 000 × 0.20 × 49 / 365
        //              = 9 800 000 / 365 = 26 849.3150… → 26 849.32
        // 28.07–10.08: 14 days (4 + 10): 1 000 000 × 0.18 × 14 / 365 = 2 520 000 / 365 = 6 904.1095… → 6 904.11
        // total = 4 027.40 + 26 849.32 + 6 904.11 = 37 780.83
        let debt = overdue("1000000.00", d(2025, 6, 1), d(2025, 8, 10), &[]);
        let p = art_395(&debt, KeyRates::builtin()).expect("computes");
        let base = rub("1000000.00");
        assert_eq!(
            rows(&p),
            vec![
                (d(2025, 6, 2), d(2025, 6, 8), 7, base, dec("21"), rub("4027.40")),
                (d(2025, 6, 9), d(2025, 7, 27), 49, base, dec("20"), rub("26849.32")),
                (d(2025, 7, 28), d(2025, 8, 10), 14, base, dec("18"), rub("6904.11")),
            ]
        );
        assert_eq!(p.total, rub("37780.83"));
    }

    #[test]
    fn art_395_splits_at_1_january_into_a_366_day_year() {
        // 500 000.00 due 20.12.2023, until 15.01.2024; key rate 16 % since 18.12.2023:
        // 21.12–31.12.2023: 11 days / 365: 500 000 × 0.16 × 11 / 365 = 880 000 / 365 = 2 410.9589… → 2 410.96
        // 01.01–15.01.2024: 15 days / 366: 500 000 × 0.16 × 15 / 366 = 1 200 000 / 366 = 3 278.6885… → 3 278.69
        // total = 5 689.65
        let debt = overdue("500000.00", d(2023, 12, 20), d(2024, 1, 15), &[]);
        let p = art_395(&debt, KeyRates::builtin()).expect("computes");
        let base = rub("500000.00");
        assert_eq!(
            rows(&p),
            vec![
                (d(2023, 12, 21), d(2023, 12, 31), 11, base, dec("16"), rub("2410.96")),
                (d(2024, 1, 1), d(2024, 1, 15), 15, base, dec("16"), rub("3278.69")),
            ]
        );
        assert_eq!(p.total, rub("5689.65"));
    }

    #[test]
    fn art_395_partial_payment_mid_period() {
        // 1 000 000.00 due 01.06.2025, 400 000.00 paid 04.06.2025, until 08.06.2025, rate 21 %:
        // 02.06–04.06: 3 days × 1 000 000: 1 000 000 × 0.21 × 3 / 365 = 630 000 / 365 = 1 726.0273… → 1 726.03
        // 05.06–08.06: 4 days ×   600 000:   600 000 × 0.21 × 4 / 365 = 504 000 / 365 = 1 380.8219… → 1 380.82
        // total = 3 106.85
        let payments = [(d(2025, 6, 4), rub("400000.00"))];
        let debt = overdue("1000000.00", d(2025, 6, 1), d(2025, 6, 8), &payments);
        let p = art_395(&debt, KeyRates::builtin()).expect("computes");
        assert_eq!(
            rows(&p),
            vec![
                (d(2025, 6, 2), d(2025, 6, 4), 3, rub("1000000.00"), dec("21"), rub("1726.03")),
                (d(2025, 6, 5), d(2025, 6, 8), 4, rub("600000.00"), dec("21"), rub("1380.82")),
            ]
        );
        assert_eq!(p.total, rub("3106.85"));
    }

    #[test]
    fn one_three_hundredth_of_the_key_rate() {
        // 300 000.00 due 20.10.2025, until 31.10.2025; 17 %, 16.5 % from 27.10.2025:
        // 21.10–26.10: 6 days: 300 000 × 0.17 / 300 × 6 = 1 000 × 0.17 × 6 = 1 020.00
        // 27.10–31.10: 5 days: 300 000 × 0.165 / 300 × 5 = 1 000 × 0.165 × 5 = 825.00
        // total = 1 845.00
        let debt = overdue("300000.00", d(2025, 10, 20), d(2025, 10, 31), &[]);
        let p = key_rate_1_300(&debt, KeyRates::builtin()).expect("computes");
        let base = rub("300000.00");
        assert_eq!(
            rows(&p),
            vec![
                (d(2025, 10, 21), d(2025, 10, 26), 6, base, dec("17"), rub("1020.00")),
                (d(2025, 10, 27), d(2025, 10, 31), 5, base, dec("16.5"), rub("825.00")),
            ]
        );
        assert_eq!(p.total, rub("1845.00"));
    }

    #[test]
    fn one_three_hundredth_rounds_per_period() {
        // 123 456.78 due 01.06.2025, until 02.06.2025 (1 day at 21 %):
        // 123 456.78 × 21 / 100 / 300 = 2 592 592.38 / 30 000 = 86.4197… → 86.42
        let debt = overdue("123456.78", d(2025, 6, 1), d(2025, 6, 2), &[]);
        assert_eq!(key_rate_1_300(&debt, KeyRates::builtin()).expect("computes").total, rub("86.42"));
    }

    #[test]
    fn errors() {
        let debt = overdue("-1.00", d(2025, 6, 1), d(2025, 6, 8), &[]);
        assert_eq!(art_395(&debt, KeyRates::builtin()), Err(PenaltyError::NegativePrincipal(rub("-1.00"))));

        let payments = [(d(2025, 6, 3), rub("-5.00"))];
        let debt = overdue("100.00", d(2025, 6, 1), d(2025, 6, 8), &payments);
        assert_eq!(
            contractual(&debt, dec("0.1"), None),
            Err(PenaltyError::NegativePayment { date: d(2025, 6, 3), amount: rub("-5.00") })
        );

        let debt = overdue("100.00", d(2025, 6, 1), d(2025, 6, 8), &[]);
        assert_eq!(contractual(&debt, dec("-0.1"), None), Err(PenaltyError::NegativeRate(dec("-0.1"))));

        // The built-in table starts on 20.12.2021: the first overdue day 11.12.2021 has no rate.
        let debt = overdue("100.00", d(2021, 12, 10), d(2021, 12, 25), &[]);
        let err = key_rate_1_300(&debt, KeyRates::builtin()).expect_err("no rate");
        assert_eq!(err, PenaltyError::NoKeyRate(d(2021, 12, 11)));
        assert_eq!(err.to_string(), "no key rate is known for 2021-12-11");
        assert_eq!(art_395(&debt, KeyRates::builtin()), Err(PenaltyError::NoKeyRate(d(2021, 12, 11))));
    }
}
