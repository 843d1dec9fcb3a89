//! The payer rating: 1 to 5 stars from how late a client pays against each document's
//! own due date (its individual deferral), weighted by amount, over a trailing window.
//!
//! The formula (also in `docs/receivables.md`):
//! * **Pieces.** Every payment applied to a document and made within the window
//!   (`as_of − window_days` … `as_of`) is a piece: its amount, and its delay
//!   `max(0, paid_on − due_on)` in days. Every document still owed past its due date is
//!   a piece too, whenever it fell due: the open amount, with delay `as_of − due_on`.
//!   Documents not yet due and unpaid say nothing yet and are left out.
//! * **Weighted delay** `D = Σ amount × delay / Σ amount`.
//! * **Stars:** D ≤ 1 day → ★★★★★; ≤ 7 → ★★★★; ≤ 30 → ★★★; ≤ 90 → ★★; more → ★.
//!   No pieces → not rated.
//! * Also shown: the on-time share `Σ amount[delay = 0] / Σ amount`.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use utoipa::ToSchema;

use crate::money::Money;

/// Upper bounds of the weighted delay (days) for 5, 4, 3 and 2 stars.
pub const THRESHOLDS: [(u8, i64); 4] = [(5, 1), (4, 7), (3, 30), (2, 90)];

/// One document's history as the rating reads it.
#[derive(Debug, Clone)]
pub struct DocHistory {
    pub number: String,
    pub due_on: NaiveDate,
    pub amount: Money,
    pub open: Money,
    /// Payments applied to it: `(date, amount)`.
    pub payments: Vec<(NaiveDate, Money)>,
}

/// What a piece is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PieceKind {
    /// A payment applied to the document.
    Paid,
    /// Still owed after the due date.
    Overdue,
}

/// One input of the rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Piece {
    pub document: String,
    pub due_on: NaiveDate,
    pub kind: PieceKind,
    /// The payment date (`paid`) or the rating date (`overdue`).
    pub on: NaiveDate,
    pub amount: Money,
    pub delay_days: i64,
}

/// A computed rating with everything behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rating {
    /// 1–5; `None` when there is nothing to judge yet.
    pub stars: Option<u8>,
    /// Amount-weighted average delay in days, to 0.1.
    #[schema(value_type = String)]
    pub weighted_delay_days: Decimal,
    /// Share of the amount paid on time, 0–1, to 0.001.
    #[schema(value_type = String)]
    pub on_time_share: Decimal,
    /// Σ amount of the pieces.
    pub rated_amount: Money,
    /// Documents with at least one piece.
    pub documents: i64,
    pub window_from: NaiveDate,
    pub as_of: NaiveDate,
    pub pieces: Vec<Piece>,
}

/// Stars for a weighted delay.
pub fn stars_for(weighted_delay_days: Decimal) -> u8 {
    THRESHOLDS
        .iter()
        .find(|(_, max)| weighted_delay_days <= Decimal::from(*max))
        .map_or(1, |(stars, _)| *stars)
}

/// Rates a client from its documents' histories as of `as_of`.
pub fn rate(docs: &[DocHistory], as_of: NaiveDate, window_days: u32) -> Rating {
    let window_from = as_of - chrono::Days::new(u64::from(window_days));
    let mut pieces = Vec::new();
    let mut documents = 0;
    for doc in docs {
        let before = pieces.len();
        for &(on, amount) in &doc.payments {
            if on >= window_from && on <= as_of && amount > Money::ZERO {
                let delay = (on - doc.due_on).num_days().max(0);
                pieces.push(Piece { document: doc.number.clone(), due_on: doc.due_on, kind: PieceKind::Paid, on, amount, delay_days: delay });
            }
        }
        if doc.open > Money::ZERO && doc.due_on < as_of {
            let delay = (as_of - doc.due_on).num_days();
            pieces.push(Piece { document: doc.number.clone(), due_on: doc.due_on, kind: PieceKind::Overdue, on: as_of, amount: doc.open, delay_days: delay });
        }
        if pieces.len() > before {
            documents += 1;
        }
    }
    let total: i128 = pieces.iter().map(|p| i128::from(p.amount.minor())).sum();
    let weighted: i128 = pieces.iter().map(|p| i128::from(p.amount.minor()) * i128::from(p.delay_days)).sum();
    let on_time: i128 = pieces.iter().filter(|p| p.delay_days == 0).map(|p| i128::from(p.amount.minor())).sum();
    let (delay, share) = if total == 0 {
        (Decimal::new(0, 1), Decimal::new(0, 3))
    } else {
        (ratio(weighted, total, 1), ratio(on_time, total, 3))
    };
    Rating {
        stars: (total > 0).then(|| stars_for(delay)),
        weighted_delay_days: delay,
        on_time_share: share,
        rated_amount: Money::from_minor(i64::try_from(total).unwrap_or(i64::MAX)),
        documents,
        window_from,
        as_of,
        pieces,
    }
}

/// `a / b` rounded half-up to `dp` places; both fit a Decimal (kopeck sums × days).
fn ratio(a: i128, b: i128, dp: u32) -> Decimal {
    match (Decimal::try_from_i128_with_scale(a, 0), Decimal::try_from_i128_with_scale(b, 0)) {
        (Ok(a), Ok(b)) => {
            let mut r = (a / b).round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
            r.rescale(dp);
            r
        }
        _ => Decimal::ZERO,
    }
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

    fn doc(number: &str, due: NaiveDate, amount: &str, open: &str, payments: &[(NaiveDate, &str)]) -> DocHistory {
        DocHistory {
            number: number.into(),
            due_on: due,
            amount: rub(amount),
            open: rub(open),
            payments: payments.iter().map(|(on, a)| (*on, rub(a))).collect(),
        }
    }

    #[test]
    fn on_time_payer_gets_five_stars() {
        let docs = [doc("1", d(2026, 10, 1), "1000.00", "0", &[(d(2026, 9, 30), "1000.00")]), doc("2", d(2026, 11, 1), "500.00", "0", &[(d(2026, 11, 2), "500.00")])];
        let r = rate(&docs, d(2026, 11, 22), 365);
        // Σ a×delay = 1000×0 + 500×1 = 500; Σ a = 1500; D = 0.333… → 0.3 → 5 stars.
        assert_eq!(r.weighted_delay_days, Decimal::new(3, 1));
        assert_eq!(r.stars, Some(5));
        assert_eq!(r.on_time_share, Decimal::new(667, 3));
        assert_eq!(r.documents, 2);
    }

    #[test]
    fn weighting_is_by_amount() {
        // A small document 100 days late, a big one on time:
        // (100 × 100 + 9 900 × 0) / 10 000 = 1.0 day → 5 stars (≤ 1).
        let docs = [
            doc("small", d(2026, 6, 1), "100.00", "0", &[(d(2026, 9, 9), "100.00")]),
            doc("big", d(2026, 6, 1), "9900.00", "0", &[(d(2026, 6, 1), "9900.00")]),
        ];
        let r = rate(&docs, d(2026, 11, 22), 365);
        assert_eq!(r.weighted_delay_days, Decimal::new(10, 1));
        assert_eq!(r.stars, Some(5));
        // The same with the amounts swapped: (9 900 × 100) / 10 000 = 99 days → 1 star.
        let docs = [
            doc("small", d(2026, 6, 1), "100.00", "0", &[(d(2026, 6, 1), "100.00")]),
            doc("big", d(2026, 6, 1), "9900.00", "0", &[(d(2026, 9, 9), "9900.00")]),
        ];
        let r = rate(&docs, d(2026, 11, 22), 365);
        assert_eq!(r.weighted_delay_days, Decimal::new(990, 1));
        assert_eq!(r.stars, Some(1));
    }

    #[test]
    fn what_is_still_owed_counts_as_late_until_today_whenever_it_fell_due() {
        // Due 2 years ago, half paid on time (outside the window), half still open:
        // only the open half counts: 730 days late → 1 star.
        let docs = [doc("old", d(2024, 11, 22), "2000.00", "1000.00", &[(d(2024, 11, 22), "1000.00")])];
        let r = rate(&docs, d(2026, 11, 22), 365);
        assert_eq!(r.pieces.len(), 1);
        assert_eq!(r.pieces[0].kind, PieceKind::Overdue);
        assert_eq!(r.pieces[0].delay_days, 730);
        assert_eq!(r.stars, Some(1));
    }

    #[test]
    fn thresholds_between_stars() {
        for (delay, stars) in [(0, 5), (1, 5), (2, 4), (7, 4), (8, 3), (30, 3), (31, 2), (90, 2), (91, 1)] {
            assert_eq!(stars_for(Decimal::from(delay)), stars, "{delay} days");
        }
        assert_eq!(stars_for(Decimal::new(71, 1)), 3, "7.1 days is past 4 stars");
    }

    #[test]
    fn nothing_to_judge_is_not_rated() {
        // Not yet due and unpaid; and a payment outside the window.
        let docs = [doc("future", d(2026, 12, 20), "100.00", "100.00", &[]), doc("ancient", d(2020, 1, 1), "100.00", "0", &[(d(2020, 1, 1), "100.00")])];
        let r = rate(&docs, d(2026, 11, 22), 365);
        assert_eq!(r.stars, None);
        assert!(r.pieces.is_empty());
        assert_eq!(r.window_from, d(2025, 11, 22));
    }
}
