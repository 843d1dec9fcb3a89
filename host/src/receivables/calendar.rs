//! The Russian federal production calendar (производственный календарь, 5-day week).
//!
//! Data comes from the `holidays-ru` crate, which ships the official tables (holidays,
//! transferred days off, working Saturdays) per Government decree; version 0.2.2 covers
//! 1993–2027. Our tests pin 2024–2026 against the reference in
//! `/work/shared/reference/ru-production-calendar.md`.
//!
//! **Fallback:** for a year without official data (before 1993 or after the last year the
//! crate knows) a day is working exactly when it is Monday–Friday: no public holidays and
//! no transfers are assumed there. Results for such years are a rough guess and must not be
//! used for legal deadlines; upgrade `holidays-ru` when a new year's decree is published.
//!
//! Regional holidays (Tatarstan, Bashkortostan, …) are not applied: this is the federal calendar.

use chrono::{Datelike, NaiveDate, Weekday};
use holidays_ru::{Federal, Resolved};

/// Whether `date` is a working day of the federal 5-day-week calendar.
///
/// Uses official data where the year has it; otherwise Monday–Friday (see the module docs).
pub fn is_working_day(date: NaiveDate) -> bool {
    // Month (1..=12) and day (1..=31) always fit in u8.
    match holidays_ru::flags_ymd::<Federal>(date.year(), date.month() as u8, date.day() as u8) {
        Some(Resolved::Fact(flags)) => flags.is_working_day(),
        Some(Resolved::Predict(_)) | None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
    }
}

/// The day after `date`.
fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().expect("receivable dates are nowhere near NaiveDate::MAX (year 262142)")
}

/// `date` itself if it is a working day, otherwise the first working day after it.
pub fn next_working_day_on_or_after(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    while !is_working_day(d) {
        d = next_day(d);
    }
    d
}

/// The `n`-th working day strictly after `date`.
///
/// `n == 0` returns `date` unchanged (even when it is not a working day); `n == 1` is the
/// first working day after `date`.
pub fn add_working_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut d = date;
    let mut left = n;
    while left > 0 {
        d = next_day(d);
        if is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// The `n`-th working day strictly before `date` (`n == 0`: `date` itself): "N working days
/// before the due date" of a reminder.
pub fn sub_working_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut d = date;
    let mut left = n;
    while left > 0 {
        d = d.pred_opt().expect("receivable dates are nowhere near NaiveDate::MIN");
        if is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// The payment due date: `issued` plus `deferral_days` calendar days, moved to the next
/// working day when that day is not a working day (art. 193 of the Civil Code).
pub fn due_date(issued: NaiveDate, deferral_days: u32) -> NaiveDate {
    let nominal = issued
        .checked_add_days(chrono::Days::new(u64::from(deferral_days)))
        .expect("a u32 deferral from a real issue date stays far below NaiveDate::MAX");
    next_working_day_on_or_after(nominal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn working_days_in(from: NaiveDate, to: NaiveDate) -> usize {
        from.iter_days().take_while(|x| *x <= to).filter(|x| is_working_day(*x)).count()
    }

    fn assert_off(from: NaiveDate, to: NaiveDate) {
        for x in from.iter_days().take_while(|x| *x <= to) {
            assert!(!is_working_day(x), "{x} must be a day off");
        }
    }

    #[test]
    fn years_2025_and_2026_have_247_working_days() {
        assert_eq!(working_days_in(d(2025, 1, 1), d(2025, 12, 31)), 247);
        assert_eq!(working_days_in(d(2026, 1, 1), d(2026, 12, 31)), 247);
    }

    #[test]
    fn month_totals_2026_match_the_reference() {
        // glavaudit.org per-month 2026 working days, as quoted in the reference.
        let expected = [15, 19, 21, 22, 19, 21, 23, 21, 22, 22, 20, 22];
        for (i, want) in expected.iter().enumerate() {
            let m = u32::try_from(i + 1).expect("month fits");
            let first = d(2026, m, 1);
            let last = if m == 12 { d(2026, 12, 31) } else { d(2026, m + 1, 1).pred_opt().expect("not MIN") };
            assert_eq!(working_days_in(first, last), *want, "month {m}");
        }
    }

    #[test]
    fn saturday_1_november_2025_is_a_working_day() {
        assert_eq!(d(2025, 11, 1).weekday(), Weekday::Sat);
        assert!(is_working_day(d(2025, 11, 1)));
    }

    #[test]
    fn new_years_eve_2025_and_2026_are_days_off() {
        assert!(!is_working_day(d(2025, 12, 31)));
        assert!(!is_working_day(d(2026, 12, 31)));
        // …while the days before them work.
        assert!(is_working_day(d(2025, 12, 30)));
        assert!(is_working_day(d(2026, 12, 30)));
    }

    #[test]
    fn non_working_stretches_of_2026() {
        let stretches = [
            (d(2025, 12, 31), d(2026, 1, 11)),
            (d(2026, 2, 21), d(2026, 2, 23)),
            (d(2026, 3, 7), d(2026, 3, 9)),
            (d(2026, 5, 1), d(2026, 5, 3)),
            (d(2026, 5, 9), d(2026, 5, 11)),
            (d(2026, 6, 12), d(2026, 6, 14)),
            (d(2026, 11, 4), d(2026, 11, 4)),
        ];
        for (from, to) in stretches {
            assert_off(from, to);
            // Each stretch is bounded by working days on both sides.
            assert!(is_working_day(from.pred_opt().expect("not MIN")), "day before {from}");
            assert!(is_working_day(next_day(to)), "day after {to}");
        }
    }

    #[test]
    fn non_working_stretches_of_2025() {
        for (from, to) in [
            (d(2025, 1, 1), d(2025, 1, 8)),
            (d(2025, 2, 22), d(2025, 2, 23)),
            (d(2025, 3, 8), d(2025, 3, 9)),
            (d(2025, 5, 1), d(2025, 5, 4)),
            (d(2025, 5, 8), d(2025, 5, 11)),
            (d(2025, 6, 12), d(2025, 6, 15)),
            (d(2025, 11, 2), d(2025, 11, 4)),
        ] {
            assert_off(from, to);
        }
    }

    #[test]
    fn transfers_of_2024() {
        // Working Saturdays 27.04, 02.11, 28.12; transferred days off 29–30.04, 30–31.12, 10.05.
        for x in [d(2024, 4, 27), d(2024, 11, 2), d(2024, 12, 28)] {
            assert!(is_working_day(x), "{x}");
        }
        for x in [d(2024, 4, 29), d(2024, 4, 30), d(2024, 5, 10), d(2024, 12, 30), d(2024, 12, 31)] {
            assert!(!is_working_day(x), "{x}");
        }
    }

    #[test]
    fn due_date_on_3_january_2026_moves_to_12_january() {
        // 24.12.2025 + 10 calendar days = 03.01.2026 (Sat, inside the New Year stretch).
        assert_eq!(due_date(d(2025, 12, 24), 10), d(2026, 1, 12));
        // A working day stays put; zero deferral on a working day is the issue date.
        assert_eq!(due_date(d(2026, 1, 12), 0), d(2026, 1, 12));
        assert_eq!(due_date(d(2026, 2, 10), 10), d(2026, 2, 20));
        // 20.02.2026 + 1 = 21.02 (Sat) → 24.02 (after 21–23 Feb).
        assert_eq!(due_date(d(2026, 2, 20), 1), d(2026, 2, 24));
    }

    #[test]
    fn next_working_day_and_adding_working_days() {
        assert_eq!(next_working_day_on_or_after(d(2026, 1, 3)), d(2026, 1, 12));
        assert_eq!(next_working_day_on_or_after(d(2026, 1, 12)), d(2026, 1, 12));
        assert_eq!(add_working_days(d(2025, 12, 30), 0), d(2025, 12, 30));
        assert_eq!(add_working_days(d(2026, 1, 3), 0), d(2026, 1, 3));
        assert_eq!(add_working_days(d(2025, 12, 30), 1), d(2026, 1, 12));
        assert_eq!(add_working_days(d(2025, 12, 30), 2), d(2026, 1, 13));
        // Fri 06.03.2026 + 1 working day skips 7–9 Mar.
        assert_eq!(add_working_days(d(2026, 3, 6), 1), d(2026, 3, 10));
        // Fri 31.10.2025 + 1 working day is the working Saturday 01.11.2025.
        assert_eq!(add_working_days(d(2025, 10, 31), 1), d(2025, 11, 1));
        // Tue 12.05.2026 − 1 working day skips the May holidays (9–11) to Fri 08.05.
        assert_eq!(sub_working_days(d(2026, 5, 12), 1), d(2026, 5, 8));
        assert_eq!(sub_working_days(d(2026, 5, 12), 3), d(2026, 5, 6));
        assert_eq!(sub_working_days(d(2026, 5, 12), 0), d(2026, 5, 12));
    }

    #[test]
    fn years_without_data_fall_back_to_monday_to_friday() {
        // 01.01.2100 is a Friday: outside the data it counts as working (no holidays known).
        assert_eq!(d(2100, 1, 1).weekday(), Weekday::Fri);
        assert!(is_working_day(d(2100, 1, 1)));
        assert!(!is_working_day(d(2100, 1, 2)));
        assert!(!is_working_day(d(2100, 1, 3)));
    }
}
#[cfg(test)]
mod speed_probe {
    #[test]
    #[ignore]
    fn probe() {
        let start = std::time::Instant::now();
        let d = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let mut acc = 0i64;
        for i in 0..100_000u32 {
            acc += super::due_date(d + chrono::Days::new(u64::from(i % 1000)), 30).ordinal() as i64;
        }
        eprintln!("100k due dates: {:?} ({acc})", start.elapsed());
    }
    use chrono::Datelike;
}
