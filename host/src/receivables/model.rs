//! Receivables records: contracts, sales documents, payments, the debt summary of a
//! client, and the tenant's receivables settings.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::validation::{Invalid, Violations};
use crate::counterparties::CounterpartyId;
use crate::id_type;
use crate::money::Money;
use crate::tenancy::model::str_enum;

id_type!(
    /// A contract with a counterparty.
    ContractId
);
id_type!(
    /// A sales document (shipment / invoice).
    SalesDocumentId
);
id_type!(
    /// An incoming payment.
    PaymentId
);

/// How a contract charges for late payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyKind {
    /// No penalty is claimed.
    None,
    /// A contractual penalty (неустойка): `penalty_rate` percent of the debt per day,
    /// optionally capped at `penalty_cap_percent` of the document's amount.
    Contractual,
    /// Interest under art. 395 of the Civil Code (the key rate per annum): what the law
    /// gives when the contract sets no penalty. The default.
    #[serde(rename = "art_395")]
    Art395,
    /// 1/300 of the key rate per day.
    #[serde(rename = "key_rate_1_300")]
    KeyRate1300,
}
str_enum!(PenaltyKind { None => "none", Contractual => "contractual", Art395 => "art_395", KeyRate1300 => "key_rate_1_300" });

/// A contract, as synced from the accounting system, with the penalty terms kept in the CRM.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Contract {
    pub id: ContractId,
    pub counterparty_id: CounterpartyId,
    /// The accounting system's id.
    pub external_id: String,
    pub number: Option<String>,
    pub signed_on: Option<NaiveDate>,
    /// Payment deferral in calendar days; `null`: the counterparty's own deferral applies.
    pub deferral_days: Option<i32>,
    /// Marked for deletion in the accounting system.
    pub deleted: bool,
    pub penalty_kind: PenaltyKind,
    /// Percent of the debt per day, for `contractual` (e.g. `"0.1"`).
    #[schema(value_type = Option<String>, example = "0.1")]
    pub penalty_rate: Option<String>,
    /// For `contractual`: at most this percent of the document's amount (e.g. `"10"`).
    #[schema(value_type = Option<String>, example = "10")]
    pub penalty_cap_percent: Option<String>,
    /// The accounting system's user responsible for the contract, when it names one
    /// (see `GET /receivables/managers`).
    pub manager_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Penalty terms of a contract (a JSON merge patch of these three fields).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PenaltyTerms {
    pub penalty_kind: PenaltyKind,
    #[schema(value_type = Option<String>, example = "0.1")]
    pub penalty_rate: Option<String>,
    #[schema(value_type = Option<String>, example = "10")]
    pub penalty_cap_percent: Option<String>,
}

impl PenaltyTerms {
    /// Checks the terms fit the kind; rates are exact decimals, written as strings.
    pub fn validate(&mut self) -> Result<(), Invalid> {
        let mut v = Violations::new();
        let mut decimal = |field: &str, s: &mut Option<String>, max: Decimal| {
            if let Some(text) = s {
                let t = text.trim().replace(',', ".");
                match t.parse::<Decimal>() {
                    Ok(x) if x > Decimal::ZERO && x <= max => *text = x.normalize().to_string(),
                    Ok(_) => v.add(field, format!("must be above 0 and at most {max}")),
                    Err(_) => v.add(field, "must be a decimal number written as a string, e.g. \"0.1\""),
                }
            }
        };
        decimal("penalty_rate", &mut self.penalty_rate, Decimal::from(100));
        decimal("penalty_cap_percent", &mut self.penalty_cap_percent, Decimal::from(1000));
        match self.penalty_kind {
            PenaltyKind::Contractual => v.check(self.penalty_rate.is_some(), "penalty_rate", "a contractual penalty needs its rate in percent per day"),
            _ => {
                v.check(self.penalty_rate.is_none(), "penalty_rate", "only a contractual penalty has a rate (send null)");
                v.check(self.penalty_cap_percent.is_none(), "penalty_cap_percent", "only a contractual penalty has a cap (send null)");
            }
        }
        v.finish()
    }
}

impl From<&Contract> for PenaltyTerms {
    fn from(c: &Contract) -> Self {
        PenaltyTerms { penalty_kind: c.penalty_kind, penalty_rate: c.penalty_rate.clone(), penalty_cap_percent: c.penalty_cap_percent.clone() }
    }
}

/// A shipment or invoice, with what is still owed on it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct SalesDocument {
    pub id: SalesDocumentId,
    pub counterparty_id: CounterpartyId,
    pub contract_id: Option<ContractId>,
    pub external_id: String,
    /// The accounting system's id of our legal entity that sold.
    pub legal_entity_ref: Option<String>,
    pub number: String,
    pub issued_on: NaiveDate,
    /// Issue date + deferral, moved to the next working day (art. 193 of the Civil Code).
    pub due_on: NaiveDate,
    pub amount: Money,
    pub currency: String,
    /// The primary document a court expects (`УПД`, `ТОРГ-12`, `Акт`, …), as the
    /// accounting system says; `null` when it does not.
    pub primary_document: Option<String>,
    pub posted: bool,
    pub deleted: bool,
    /// Still owed after payments are allocated (as of the last settlement).
    pub open_amount: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SalesDocument {
    /// Counts as a debt: posted and not deleted.
    pub fn is_live(&self) -> bool {
        self.posted && !self.deleted
    }
}

/// A payment line naming the document it pays, as the accounting system said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NamedAllocation {
    /// The document's accounting id.
    pub document: String,
    pub amount: Money,
}

/// An incoming payment.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Payment {
    pub id: PaymentId,
    pub counterparty_id: CounterpartyId,
    pub contract_id: Option<ContractId>,
    pub external_id: String,
    pub number: String,
    pub paid_on: NaiveDate,
    pub amount: Money,
    #[schema(value_type = Vec<NamedAllocation>)]
    pub allocations: Json<Vec<NamedAllocation>>,
    pub posted: bool,
    pub deleted: bool,
    /// What no document took: an advance.
    pub unapplied: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    pub fn is_live(&self) -> bool {
        self.posted && !self.deleted
    }
}

/// How bad a client's overdue debt is; the pages show anything but `none` in red.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Nothing overdue.
    None,
    /// Overdue up to 30 days.
    Overdue,
    /// 31–90 days.
    Serious,
    /// More than 90 days.
    Critical,
}

impl Severity {
    pub fn for_days(days_overdue: i64) -> Severity {
        match days_overdue {
            i64::MIN..=0 => Severity::None,
            1..=30 => Severity::Overdue,
            31..=90 => Severity::Serious,
            _ => Severity::Critical,
        }
    }
}

/// What a client owes, as of today in the tenant's time zone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DebtSummary {
    pub as_of: NaiveDate,
    /// Everything still owed.
    pub total: Money,
    /// Owed past the due date.
    pub overdue: Money,
    pub open_documents: i64,
    pub overdue_documents: i64,
    /// Due date of the oldest overdue document.
    pub oldest_overdue_due_on: Option<NaiveDate>,
    /// Days the oldest overdue document is late (0 when nothing is overdue).
    pub days_overdue: i64,
    /// Payments no document took (an advance), not netted against `total`.
    pub advance: Money,
    pub severity: Severity,
    /// A line for the card, in Russian, when something is overdue (shown in red).
    pub warning: Option<String>,
}

/// The raw sums a summary is built from (one SQL row).
#[derive(Debug, Default, Clone, sqlx::FromRow)]
pub struct DebtSums {
    pub total: Option<i64>,
    pub overdue: Option<i64>,
    pub open_documents: Option<i64>,
    pub overdue_documents: Option<i64>,
    pub oldest_overdue_due_on: Option<NaiveDate>,
    pub advance: Option<i64>,
}

impl DebtSummary {
    pub fn from_sums(s: &DebtSums, as_of: NaiveDate) -> DebtSummary {
        let days_overdue = s.oldest_overdue_due_on.map_or(0, |d| (as_of - d).num_days().max(0));
        let overdue = Money::from_minor(s.overdue.unwrap_or(0));
        let severity = if overdue > Money::ZERO { Severity::for_days(days_overdue) } else { Severity::None };
        let warning = (severity != Severity::None).then(|| {
            format!(
                "Просроченная задолженность {} по {} док., старейшая просрочка {} дн.",
                crate::receivables::claim_letter::words::rubles(overdue),
                s.overdue_documents.unwrap_or(0),
                days_overdue
            )
        });
        DebtSummary {
            as_of,
            total: Money::from_minor(s.total.unwrap_or(0)),
            overdue,
            open_documents: s.open_documents.unwrap_or(0),
            overdue_documents: s.overdue_documents.unwrap_or(0),
            oldest_overdue_due_on: s.oldest_overdue_due_on,
            days_overdue,
            advance: Money::from_minor(s.advance.unwrap_or(0)),
            severity,
            warning,
        }
    }
}

/// A client's stored rating, as the card shows it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct RatingBrief {
    /// 1–5; `null` when there is nothing to judge yet.
    pub stars: Option<i32>,
    #[schema(value_type = String)]
    pub weighted_delay_days: String,
    #[schema(value_type = String)]
    pub on_time_share: String,
    pub as_of: NaiveDate,
}

/// How a claim letter words its deadline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineMode {
    /// «в течение N календарных дней с даты получения настоящей претензии», no date (the
    /// day the debtor receives the letter is not known when it is written).
    #[default]
    FromReceipt,
    /// «в срок до <дата>»: N calendar days from the letter's date, moved off a day off.
    ByDate,
}
str_enum!(DeadlineMode { FromReceipt => "from_receipt", ByDate => "by_date" });

/// The tenant's receivables settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Upper bounds, in days overdue, of the aging buckets after "not due": `[30, 60, 90,
    /// 180]` gives not due, 1–30, 31–60, 61–90, 91–180, over 180.
    #[schema(value_type = Vec<i32>, example = json!([30, 60, 90, 180]))]
    pub aging_buckets: Json<Vec<i32>>,
    /// Local time (`HH:MM`, the tenant's time zone) of the daily sync from the accounting
    /// system; `null`: only on demand, or a cron schedule set with
    /// `PUT /job-schedules/receivables.sync`. This is that job schedule, read and set here.
    #[schema(example = "06:30")]
    #[sqlx(skip)]
    pub sync_daily_at: Option<String>,
    /// Records per page asked of the accounting plugin.
    pub sync_page_size: i32,
    /// The payer rating looks back this many days.
    pub rating_window_days: i32,
    /// Claim letters demand payment within this many calendar days.
    pub claim_deadline_days: i32,
    /// How claim letters word the deadline: `from_receipt` («в течение N календарных дней
    /// с даты получения настоящей претензии», no date) or `by_date` (a date N calendar
    /// days after the letter's, moved off a day off, and said to be counted that way).
    #[serde(default)]
    pub claim_deadline_mode: DeadlineMode,
    /// The accounting-sync module instance the sync uses (`accounting-1c`); `null`: the
    /// only one enabled.
    #[serde(default)]
    pub accounting_module: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            aging_buckets: Json(vec![30, 60, 90, 180]),
            sync_daily_at: Some("06:00".into()),
            sync_page_size: 1000,
            rating_window_days: 365,
            claim_deadline_days: 30,
            claim_deadline_mode: DeadlineMode::FromReceipt,
            accounting_module: None,
        }
    }
}

impl Settings {
    pub fn validate(&mut self) -> Result<(), Invalid> {
        let mut v = Violations::new();
        let b = &self.aging_buckets.0;
        v.check(!b.is_empty() && b.len() <= 10, "aging_buckets", "give 1 to 10 bucket bounds, e.g. [30, 60, 90, 180]");
        v.check(b.iter().all(|&x| (1..=3650).contains(&x)), "aging_buckets", "each bound is a number of days between 1 and 3650");
        v.check(b.windows(2).all(|w| w[0] < w[1]), "aging_buckets", "bounds must increase");
        if let Some(t) = &mut self.sync_daily_at {
            *t = t.trim().to_string();
            match chrono::NaiveTime::parse_from_str(t, "%H:%M") {
                Ok(time) => *t = time.format("%H:%M").to_string(),
                Err(_) => v.add("sync_daily_at", "must be a local time HH:MM, e.g. \"06:30\" (or null for on demand only)"),
            }
        }
        v.check((10..=5000).contains(&self.sync_page_size), "sync_page_size", "must be between 10 and 5000");
        v.check((30..=3650).contains(&self.rating_window_days), "rating_window_days", "must be between 30 and 3650 days");
        v.check((1..=365).contains(&self.claim_deadline_days), "claim_deadline_days", "must be between 1 and 365 days");
        v.finish()
    }
}
