//! The claim letter (претензия о погашении задолженности): its data and its template.
//!
//! A [`ClaimLetter`] holds finished figures (debts, penalty breakdowns, totals) computed
//! elsewhere (see `receivables::claim`, `receivables::penalties`). Its wording and layout live
//! in the tenant's template of kind [`TEMPLATE`] (`claim_letter`; the shipped Russian default is
//! `host/assets/templates/claim_letter.xml.j2`), rendered by the one document renderer of
//! `crate::templates` as HTML or PDF. [`ClaimLetter::context`] is what the template gets; its
//! variables are documented in [`VARIABLES`] (and by `GET /api/v1/templates/claim_letter`).

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::money::Money;
use crate::templates::{Sample, TemplateKind, Variable, var};

pub mod names;
pub mod samples;

pub use super::model::DeadlineMode;

/// The Russian formatting helpers, where the claim letter used to keep them.
pub use crate::templates::format as words;

/// A claim letter demanding payment of overdue debts and penalties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLetter {
    /// Date of the letter.
    pub date: NaiveDate,
    /// The date the debts and penalties are computed for («по состоянию на»); usually `date`.
    pub as_of: NaiveDate,
    /// Outgoing number (исх. №); `None` leaves a blank to fill in by hand.
    pub number: Option<String>,
    /// Our legal entity: the sender and the payee.
    pub creditor: Party,
    /// The counterparty that owes.
    pub debtor: Party,
    /// One row per document in debt, in the order to print.
    pub debts: Vec<DebtLine>,
    /// One block per document that has a penalty; may be empty (no penalty section then).
    /// Blocks without periods and with a zero total (no penalty claimed) are not printed.
    pub penalties: Vec<PenaltyBlock>,
    /// The principal owed: the sum of [`DebtLine::open`].
    pub principal_total: Money,
    /// The penalties owed: the sum of [`PenaltyBlock::total`].
    pub penalty_total: Money,
    /// The whole claim: `principal_total + penalty_total`.
    pub total: Money,
    /// The last day to pay, printed in [`DeadlineMode::ByDate`]; `None` in
    /// [`DeadlineMode::FromReceipt`], where the deadline runs from the day the debtor
    /// receives the letter.
    pub pay_by: Option<NaiveDate>,
    /// The deadline in calendar days, for the text («в течение 10 календарных дней»).
    pub deadline_days: u32,
    /// How the deadline is worded.
    pub deadline_mode: DeadlineMode,
    /// Some penalty still grows by the day (principal owed and no cap reached): only then
    /// does the letter claim penalties «по день фактического исполнения обязательства».
    pub penalties_grow: bool,
    /// A warning that the key rate may have changed since the table was last confirmed,
    /// when a key-rate penalty runs past that day.
    pub key_rate_note: Option<String>,
    /// Post of the person signing (e.g. «Генеральный директор»); defaults to the creditor's head.
    pub signer_post: Option<String>,
    /// Name of the person signing (e.g. «Петров П. П.»); defaults to the creditor's head.
    pub signer_name: Option<String>,
    /// Print «М.П.» (place of the seal) under the signature.
    pub seal: bool,
}

/// A party's requisites as printed on the letter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    /// The short name with its legal form, e.g. «ООО «Ромашка»».
    pub name: String,
    /// The name as it reads after «Между … и …» (the instrumental case); `None`: `name`
    /// (an organisation's abbreviated name does not decline).
    pub name_instrumental: Option<String>,
    /// ИНН (taxpayer number).
    pub inn: Option<String>,
    /// КПП (tax registration reason code).
    pub kpp: Option<String>,
    /// ОГРН / ОГРНИП (state registration number).
    pub ogrn: Option<String>,
    /// Legal or postal address.
    pub address: Option<String>,
    /// Bank name, e.g. «ПАО Сбербанк».
    pub bank_name: Option<String>,
    /// БИК of the bank.
    pub bank_bic: Option<String>,
    /// Settlement account (расчетный счет); without it the letter points to the contract's requisites.
    pub bank_account: Option<String>,
    /// Correspondent account of the bank.
    pub bank_corr_account: Option<String>,
    /// Post of the head, e.g. «Генеральный директор».
    pub head_post: Option<String>,
    /// Name of the head, e.g. «Иванов И. И.».
    pub head_name: Option<String>,
}

/// One document in debt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtLine {
    /// The document, e.g. «Реализация товаров и услуг № 0000-000123 от 01.02.2025».
    pub document: String,
    /// The contract it belongs to, e.g. «Договор № Д-1 от 10.01.2024».
    pub contract: Option<String>,
    /// Date of the document.
    pub issued_on: NaiveDate,
    /// The last day to pay it.
    pub due_on: NaiveDate,
    /// The document's amount.
    pub amount: Money,
    /// Paid so far.
    pub paid: Money,
    /// Still owed.
    pub open: Money,
    /// Days overdue on the letter's date (zero or less prints as a dash).
    pub days_overdue: i64,
}

/// How a penalty is charged; decides the wording, the rate and the formula printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PenaltyKind {
    /// A contractual penalty (неустойка, пени) of a percent per day (art. 330 of the Civil Code).
    Contractual,
    /// Interest under art. 395 of the Civil Code at the key rate per annum.
    Art395,
    /// A penalty of 1/300 of the key rate per day (art. 330 of the Civil Code, by law or contract).
    KeyRate1300,
}

/// The penalty on one document, with its per-period calculation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyBlock {
    /// The document the penalty is charged on.
    pub document: String,
    /// How it is charged.
    pub kind: PenaltyKind,
    /// The basis in words, e.g. «неустойка 0,1 % за каждый день просрочки (п. 6.2 договора № Д-1 от 10.01.2024)».
    pub basis: String,
    /// The calculation, one row per period of constant base and rate.
    pub periods: Vec<PenaltyRow>,
    /// The sum of the periods.
    pub uncapped_total: Money,
    /// The amount claimed: below `uncapped_total` when a cap applied.
    pub total: Money,
    /// The cap, in words, printed when it applied, e.g. «не более 10 % от цены договора».
    pub cap_note: Option<String>,
}

/// One period of the penalty calculation (as `receivables::penalties::PenaltyPeriod`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyRow {
    /// First day, inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Number of days.
    pub days: i64,
    /// The debt the penalty is charged on.
    pub base: Money,
    /// Percent per day for [`PenaltyKind::Contractual`]; the key rate in percent per annum otherwise.
    pub rate: Decimal,
    /// The period's amount.
    pub amount: Money,
}

/// Why a letter's figures do not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimLetterError {
    /// `principal_total` is not the sum of the debts' open amounts.
    #[error("the principal total {stated} is not the sum of the open amounts {computed}")]
    PrincipalMismatch {
        /// The stated total.
        stated: Money,
        /// The sum of the lines.
        computed: Money,
    },
    /// `penalty_total` is not the sum of the blocks' totals.
    #[error("the penalty total {stated} is not the sum of the penalty blocks {computed}")]
    PenaltyMismatch {
        /// The stated total.
        stated: Money,
        /// The sum of the blocks.
        computed: Money,
    },
    /// `total` is not principal plus penalties.
    #[error("the total {stated} is not principal plus penalties {computed}")]
    TotalMismatch {
        /// The stated total.
        stated: Money,
        /// Principal plus penalties.
        computed: Money,
    },
    /// A sum does not fit in [`Money`].
    #[error("a sum is too large")]
    Overflow,
}

impl ClaimLetter {
    /// Checks that the totals are the sums of their parts, so the letter does not contradict
    /// itself. The renderers print the figures as given; call this before rendering.
    pub fn check(&self) -> Result<(), ClaimLetterError> {
        let principal = sum(self.debts.iter().map(|d| d.open))?;
        if principal != self.principal_total {
            return Err(ClaimLetterError::PrincipalMismatch { stated: self.principal_total, computed: principal });
        }
        let penalties = sum(self.penalties.iter().map(|p| p.total))?;
        if penalties != self.penalty_total {
            return Err(ClaimLetterError::PenaltyMismatch { stated: self.penalty_total, computed: penalties });
        }
        let total = principal.checked_add(penalties).ok_or(ClaimLetterError::Overflow)?;
        if total != self.total {
            return Err(ClaimLetterError::TotalMismatch { stated: self.total, computed: total });
        }
        Ok(())
    }
}

fn sum(mut amounts: impl Iterator<Item = Money>) -> Result<Money, ClaimLetterError> {
    amounts.try_fold(Money::ZERO, |acc, m| acc.checked_add(m).ok_or(ClaimLetterError::Overflow))
}


// ---------------------------------------------------------------------------------------------
// The template kind: what the template gets.
// ---------------------------------------------------------------------------------------------

/// The claim letter as a document kind: listed, documented, stored per tenant and previewed
/// by `crate::templates`.
pub const TEMPLATE: TemplateKind = TemplateKind {
    key: "claim_letter",
    title: "Претензия о погашении задолженности",
    description: "The claim letter demanding a client's overdue debts and penalties (GET /counterparties/{id}/claim-letter): \
                  both parties' requisites, the documents in debt, the penalty per document period by period, the legal \
                  basis, the demand with its deadline and the payment details.",
    default_source: include_str!("../../assets/templates/claim_letter.xml.j2"),
    variables: VARIABLES,
    samples: samples::all,
};

/// The variables of the claim letter's template.
pub const VARIABLES: &[Variable] = &[
    var!("date", Date, "the letter's date"),
    var!("as_of", Date, "the date the debts and penalties are computed for («по состоянию на»); usually `date`"),
    var!("number", Text?, "the outgoing number (исх. №); absent: a blank is printed to fill in by hand"),
    var!("creditor", Object, "our legal entity: the sender and the payee"),
    var!("creditor.name", Text, "its short name with its legal form, e.g. ООО «Север»"),
    var!("creditor.name_instrumental", Text, "the name as it reads after «Между … и …» (instrumental case), e.g. ООО «Север»"),
    var!("creditor.inn", Text?, "ИНН"),
    var!("creditor.kpp", Text?, "КПП"),
    var!("creditor.ogrn", Text?, "ОГРН / ОГРНИП"),
    var!("creditor.address", Text?, "legal address"),
    var!("creditor.bank_name", Text?, "bank name"),
    var!("creditor.bank_bic", Text?, "БИК of the bank"),
    var!("creditor.bank_account", Text?, "settlement account (расчетный счет); absent: the letter points to the contract's requisites"),
    var!("creditor.bank_corr_account", Text?, "correspondent account of the bank"),
    var!("creditor.head_post", Text?, "post of its head, e.g. Генеральный директор"),
    var!("creditor.head_name", Text?, "name of its head, e.g. Петров П. П."),
    var!("debtor", Object, "the counterparty that owes (the same fields as `creditor`)"),
    var!("debtor.name", Text, "its short name with its legal form (ООО «Ромашка», ИП Бета Борис Борисович)"),
    var!("debtor.name_instrumental", Text, "the name after «Между … и …»: ООО «Ромашка», индивидуальным предпринимателем Бетой Борисом Борисовичем"),
    var!("debtor.inn", Text?, "ИНН"),
    var!("debtor.kpp", Text?, "КПП"),
    var!("debtor.ogrn", Text?, "ОГРН / ОГРНИП"),
    var!("debtor.address", Text?, "legal (or else postal) address"),
    var!("debtor.bank_name", Text?, "bank name"),
    var!("debtor.bank_bic", Text?, "БИК of the bank"),
    var!("debtor.bank_account", Text?, "settlement account"),
    var!("debtor.bank_corr_account", Text?, "correspondent account"),
    var!("debtor.head_post", Text?, "post of its head"),
    var!("debtor.head_name", Text?, "name of its head"),
    var!("debts", List, "one item per document claimed (owed, or paid late when the letter claims its penalty), in the order to print"),
    var!("debts[].document", Text, "the primary document, e.g. УПД № 123 от 01.02.2025 (else the accounting system's name: Реализация товаров и услуг № …)"),
    var!("debts[].contract", Text?, "its contract, e.g. Договор № Д-1 от 10.01.2024"),
    var!("debts[].issued_on", Date, "date of the document"),
    var!("debts[].due_on", Date, "the last day to pay it"),
    var!("debts[].amount", Money, "the document's amount"),
    var!("debts[].paid", Money, "paid so far"),
    var!("debts[].open", Money, "still owed"),
    var!("debts[].paid_off", Boolean, "paid in full (late): claimed for its penalty only"),
    var!("debts[].days_overdue", Integer, "days overdue on the letter's date, or until it was paid (0 or less: not overdue)"),
    var!("contracts", List, "the distinct contracts of the debts (texts), in order of first appearance"),
    var!("penalties", List, "one item per document with a penalty claimed (a calculation or an amount)"),
    var!("penalties[].document", Text, "the document the penalty is charged on"),
    var!("penalties[].kind", Text, "how it is charged: contractual (%/day, art. 330 ГК РФ), art_395 (key rate per annum), key_rate_1_300 (1/300 of the key rate per day)"),
    var!("penalties[].basis", Text, "the basis in words, e.g. неустойка 0,1 % за каждый день просрочки (п. 6.2 договора …)"),
    var!("penalties[].periods", List, "the calculation: one item per period of constant base and rate"),
    var!("penalties[].periods[].from", Date, "first day, inclusive"),
    var!("penalties[].periods[].to", Date, "last day, inclusive"),
    var!("penalties[].periods[].days", Integer, "number of days"),
    var!("penalties[].periods[].base", Money, "the debt the penalty is charged on"),
    var!("penalties[].periods[].rate", Decimal, "percent per day (contractual), or the key rate in percent per annum"),
    var!("penalties[].periods[].amount", Money, "the period's amount"),
    var!("penalties[].periods[].year_days", Integer, "days in the period's year (365 or 366), the divisor of art. 395"),
    var!("penalties[].days", Integer, "the days of all periods"),
    var!("penalties[].uncapped_total", Money, "the sum of the periods"),
    var!("penalties[].total", Money, "the amount claimed: below `uncapped_total` when a cap applied"),
    var!("penalties[].capped", Boolean, "a cap applied (`total` < `uncapped_total`)"),
    var!("penalties[].cap_note", Text?, "the cap in words, e.g. не более 10 % от цены договора"),
    var!("penalty_kinds", List, "the kinds present among `penalties` (contractual, art_395, key_rate_1_300)"),
    var!("principal_total", Money, "the principal owed: the sum of the debts' `open`"),
    var!("penalty_total", Money, "the penalties owed: the sum of the penalties' `total`"),
    var!("total", Money, "the whole claim: principal plus penalties"),
    var!("pay_by", Date?, "the last day to pay, in the by_date mode (absent in from_receipt: the deadline runs from receipt)"),
    var!("deadline_days", Integer, "the deadline in calendar days"),
    var!("deadline_mode", Text, "from_receipt (N days from receipt of the letter, no date) or by_date (a date N days after the letter's)"),
    var!("principal_paid", Boolean, "the principal is paid (late): the letter claims penalties only"),
    var!("penalties_grow", Boolean, "a penalty still grows by the day (principal owed, no cap reached): claim it until actual payment"),
    var!("key_rate_note", Text?, "a warning that the key rate may have changed since the table was last confirmed"),
    var!("signer_post", Text?, "post of the person signing; absent: the creditor's head"),
    var!("signer_name", Text?, "name of the person signing; absent: the creditor's head"),
    var!("seal", Boolean, "print «М.П.» (place of the seal) under the signature"),
];

/// What the template gets (see [`VARIABLES`]): texts trimmed, empty ones absent.
#[derive(Debug, Serialize)]
struct Context {
    date: NaiveDate,
    as_of: NaiveDate,
    number: Option<String>,
    creditor: PartyContext,
    debtor: PartyContext,
    debts: Vec<DebtContext>,
    contracts: Vec<String>,
    penalties: Vec<PenaltyContext>,
    penalty_kinds: Vec<&'static str>,
    principal_total: Money,
    penalty_total: Money,
    total: Money,
    pay_by: Option<NaiveDate>,
    deadline_days: u32,
    deadline_mode: &'static str,
    principal_paid: bool,
    penalties_grow: bool,
    key_rate_note: Option<String>,
    signer_post: Option<String>,
    signer_name: Option<String>,
    seal: bool,
}

#[derive(Debug, Serialize)]
struct PartyContext {
    name: String,
    name_instrumental: String,
    inn: Option<String>,
    kpp: Option<String>,
    ogrn: Option<String>,
    address: Option<String>,
    bank_name: Option<String>,
    bank_bic: Option<String>,
    bank_account: Option<String>,
    bank_corr_account: Option<String>,
    head_post: Option<String>,
    head_name: Option<String>,
}

#[derive(Debug, Serialize)]
struct DebtContext {
    document: String,
    paid_off: bool,
    contract: Option<String>,
    issued_on: NaiveDate,
    due_on: NaiveDate,
    amount: Money,
    paid: Money,
    open: Money,
    days_overdue: i64,
}

#[derive(Debug, Serialize)]
struct PenaltyContext {
    document: String,
    kind: &'static str,
    basis: String,
    periods: Vec<PeriodContext>,
    days: i64,
    uncapped_total: Money,
    total: Money,
    capped: bool,
    cap_note: Option<String>,
}

#[derive(Debug, Serialize)]
struct PeriodContext {
    from: NaiveDate,
    to: NaiveDate,
    days: i64,
    base: Money,
    rate: String,
    amount: Money,
    year_days: u32,
}

fn known(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

impl PenaltyKind {
    /// The kind as templates see it.
    pub fn key(self) -> &'static str {
        match self {
            PenaltyKind::Contractual => "contractual",
            PenaltyKind::Art395 => "art_395",
            PenaltyKind::KeyRate1300 => "key_rate_1_300",
        }
    }
}

impl From<&Party> for PartyContext {
    fn from(p: &Party) -> PartyContext {
        PartyContext {
            name: p.name.trim().to_owned(),
            name_instrumental: known(&p.name_instrumental).unwrap_or_else(|| p.name.trim().to_owned()),
            inn: known(&p.inn),
            kpp: known(&p.kpp),
            ogrn: known(&p.ogrn),
            address: known(&p.address),
            bank_name: known(&p.bank_name),
            bank_bic: known(&p.bank_bic),
            bank_account: known(&p.bank_account),
            bank_corr_account: known(&p.bank_corr_account),
            head_post: known(&p.head_post),
            head_name: known(&p.head_name),
        }
    }
}

impl ClaimLetter {
    /// The data the template gets, as MiniJinja values.
    pub fn context(&self) -> minijinja::Value {
        crate::templates::engine::context(&self.data())
    }

    /// The data the template gets, as JSON (sample data for previews).
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self.data()).unwrap_or_default()
    }

    fn data(&self) -> Context {
        let mut contracts: Vec<String> = Vec::new();
        for contract in self.debts.iter().filter_map(|d| known(&d.contract)) {
            if !contracts.contains(&contract) {
                contracts.push(contract);
            }
        }
        // Blocks without a calculation and with nothing to pay are not claimed.
        let claimed: Vec<&PenaltyBlock> =
            self.penalties.iter().filter(|p| !p.periods.is_empty() || p.total != Money::ZERO).collect();
        let penalty_kinds = [PenaltyKind::Contractual, PenaltyKind::Art395, PenaltyKind::KeyRate1300]
            .into_iter()
            .filter(|k| claimed.iter().any(|p| p.kind == *k))
            .map(PenaltyKind::key)
            .collect();
        Context {
            date: self.date,
            as_of: self.as_of,
            number: known(&self.number),
            creditor: PartyContext::from(&self.creditor),
            debtor: PartyContext::from(&self.debtor),
            debts: self
                .debts
                .iter()
                .map(|d| DebtContext {
                    document: d.document.trim().to_owned(),
                    paid_off: d.open == Money::ZERO,
                    contract: known(&d.contract),
                    issued_on: d.issued_on,
                    due_on: d.due_on,
                    amount: d.amount,
                    paid: d.paid,
                    open: d.open,
                    days_overdue: d.days_overdue,
                })
                .collect(),
            contracts,
            penalties: claimed
                .iter()
                .map(|p| PenaltyContext {
                    document: p.document.trim().to_owned(),
                    kind: p.kind.key(),
                    basis: p.basis.trim().to_owned(),
                    periods: p
                        .periods
                        .iter()
                        .map(|r| PeriodContext {
                            from: r.from,
                            to: r.to,
                            days: r.days,
                            base: r.base,
                            rate: r.rate.to_string(),
                            amount: r.amount,
                            year_days: if NaiveDate::from_ymd_opt(r.from.year(), 2, 29).is_some() { 366 } else { 365 },
                        })
                        .collect(),
                    days: p.periods.iter().map(|r| r.days).sum(),
                    uncapped_total: p.uncapped_total,
                    total: p.total,
                    capped: p.total < p.uncapped_total,
                    cap_note: known(&p.cap_note),
                })
                .collect(),
            penalty_kinds,
            principal_total: self.principal_total,
            penalty_total: self.penalty_total,
            total: self.total,
            pay_by: self.pay_by,
            deadline_days: self.deadline_days,
            deadline_mode: self.deadline_mode.as_str(),
            principal_paid: !self.debts.is_empty() && self.principal_total == Money::ZERO,
            penalties_grow: self.penalties_grow,
            key_rate_note: known(&self.key_rate_note),
            signer_post: known(&self.signer_post),
            signer_name: known(&self.signer_name),
            seal: self.seal,
        }
    }
}

/// The samples of [`TEMPLATE`], as the template gets them.
fn sample(key: &'static str, title: &'static str, letter: ClaimLetter) -> Sample {
    Sample { key, title, data: letter.json() }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;
    use crate::templates::format::NBSP;
    use crate::templates::markup::Document;
    use crate::templates::pdf::testing::{assert_inside_margins, page_count, page_texts};
    use crate::templates::{engine, html, pdf};

    /// The letter as the shipped template lays it out.
    fn doc(letter: &ClaimLetter) -> Document {
        engine::document(&TEMPLATE, TEMPLATE.default_source, letter.context()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every text of the letter, no-break spaces shown as plain ones.
    fn text(letter: &ClaimLetter) -> String {
        doc(letter).texts().join("\n").replace(NBSP, " ")
    }

    /// The HTML page with no-break spaces shown as plain ones, for readable assertions.
    fn page(letter: &ClaimLetter) -> String {
        html::to_html(&doc(letter)).replace(NBSP, " ")
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn rub(s: &str) -> Money {
        s.parse().expect("valid amount")
    }

    #[test]
    fn sample_letters_add_up() {
        assert_eq!(typical().check(), Ok(()));
        assert_eq!(long(80, 30).check(), Ok(()));
        assert_eq!(minimal().check(), Ok(()));
        assert_eq!(one_contract().check(), Ok(()));
    }

    #[test]
    fn check_finds_totals_that_do_not_add_up() {
        let mut letter = typical();
        letter.principal_total = rub("1.00");
        assert!(matches!(letter.check(), Err(ClaimLetterError::PrincipalMismatch { .. })));
        let mut letter = typical();
        letter.penalty_total = rub("1.00");
        assert!(matches!(letter.check(), Err(ClaimLetterError::PenaltyMismatch { .. })));
        let mut letter = typical();
        letter.total = rub("1.00");
        assert!(matches!(letter.check(), Err(ClaimLetterError::TotalMismatch { .. })));
    }

    #[test]
    fn typical_letter_states_facts_figures_basis_and_demand() {
        let t = text(&typical());
        for expected in [
            "ПРЕТЕНЗИЯ",
            "о погашении задолженности",
            "Исх. № 117/25-Ю",
            "от «10» ноября 2025 г.",
            "Кому: ООО «Ромашка»",
            "ИНН 5408123456, КПП 540801001",
            "заключены договор поставки № Д-1 от 10.01.2024, договор подряда № 7/П от 01.04.2025 и \
             договор оказания услуг № У-15 от 20.08.2025 (далее — Договоры)",
            "по основному долгу составляет 1 855 500,50 руб. (один миллион восемьсот пятьдесят пять тысяч \
             пятьсот рублей 50 копеек)",
            "Расчет неустойки (пени) и процентов за пользование чужими денежными средствами",
            "1 000 000,00 × 0,1 % × 252 дн.",
            "480 000,00 × 21 % × 24 / 365",
            "300 000,00 × 1/300 × 17 % × 25",
            "К уплате с учетом ограничения",
            "Неустойка по расчету составляет 252 000,00 руб.; с учетом ограничения ее размера к уплате подлежит \
             125 000,00 руб. Ограничение: не более 10 % от цены договора, п. 6.3 договора.",
            "Общая сумма неустойки (пени) и процентов за пользование чужими денежными средствами составляет \
             175 483,90 руб.",
            "Общая сумма требований Кредитора составляет 2 030 984,40 руб. (два миллиона тридцать тысяч \
             девятьсот восемьдесят четыре рубля 40 копеек), в том числе основной долг — 1 855 500,50 руб.",
            "руководствуясь ст. 309, 310, 330, 395 ГК РФ",
            "За просрочку оплаты Должнику начислены неустойка (пени) и проценты за пользование чужими денежными \
             средствами; расчет по каждому документу по состоянию на 10.11.2025 приведен в таблицах ниже.",
            "в течение 10 календарных дней с даты получения настоящей претензии перечислить задолженность",
            "Расчетный счет: 40702810938000012345",
            "БИК: 044525225",
            "Корреспондентский счет: 30101810400000000225",
            "ч. 5 ст. 4 АПК РФ",
            "Генеральный директор",
            "Петров П. П.",
            "М.П.",
        ] {
            assert!(t.contains(expected), "missing «{expected}» in\n{t}");
        }
    }

    #[test]
    fn sections_without_data_are_left_out() {
        let t = text(&minimal());
        assert!(!t.contains("Расчет"), "no penalty section:\n{t}");
        assert!(!t.contains("Договор"), "no contract column:\n{t}");
        assert!(!t.contains("330") && !t.contains("395"), "only art. 309, 310:\n{t}");
        assert!(t.contains("руководствуясь ст. 309, 310 ГК РФ"));
        assert!(t.contains("по реквизитам, указанным в договоре."));
        assert!(!t.contains("Расчетный счет"));
        assert!(t.contains("Исх. № ____________"));
        assert!(!t.contains("М.П."));
        assert!(t.contains("сложились отношения по передаче товаров"));
    }

    #[test]
    fn blocks_without_a_penalty_are_not_printed() {
        let mut letter = minimal();
        letter.penalties.push(PenaltyBlock {
            document: letter.debts[0].document.clone(),
            kind: PenaltyKind::Contractual,
            basis: "неустойка договором не предусмотрена".to_owned(),
            periods: Vec::new(),
            uncapped_total: Money::ZERO,
            total: Money::ZERO,
            cap_note: None,
        });
        assert_eq!(letter.check(), Ok(()));
        let t = text(&letter);
        assert!(!t.contains("Расчет") && !t.contains("330"), "{t}");
    }

    #[test]
    fn figures_are_stated_as_of_the_calculation_date() {
        let mut letter = typical();
        letter.as_of = d(2025, 11, 7);
        let t = text(&letter);
        assert!(t.contains("по состоянию на 07.11.2025 задолженность Должника"), "{t}");
        assert!(t.contains("от «10» ноября 2025 г."), "{t}");
    }

    #[test]
    fn one_kind_of_penalty_names_only_its_article() {
        let mut letter = typical();
        letter.penalties.retain(|p| p.kind == PenaltyKind::Art395);
        letter.penalty_total = letter.penalties[0].total;
        letter.total = letter.principal_total.checked_add(letter.penalty_total).expect("small");
        let t = text(&letter);
        assert!(t.contains("руководствуясь ст. 309, 310, 395 ГК РФ"), "{t}");
        assert!(t.contains("Расчет процентов за пользование чужими денежными средствами"), "{t}");
        assert!(!t.contains("неустойкой (штрафом, пеней)"), "{t}");
    }

    #[test]
    fn days_and_contract_names_read_as_russian() {
        for (days, words) in [(1, "1\u{a0}календарного дня"), (10, "10\u{a0}календарных дней"), (21, "21\u{a0}календарного дня"), (11, "11\u{a0}календарных дней")] {
            let mut letter = typical();
            letter.deadline_days = days;
            let texts = doc(&letter).texts().join("\n");
            assert!(texts.contains(&format!("течение {words} с\u{a0}даты")), "{days}: {texts}");
        }
        let t = text(&one_contract());
        assert!(t.contains("заключен договор поставки № Д-1 от 10.01.2024 (далее — Договор)."), "{t}");
        assert!(t.contains("по реквизитам, указанным в договоре."), "{t}");
        let mut letter = typical();
        letter.creditor.bank_account = None;
        assert!(text(&letter).contains("по реквизитам, указанным в договорах."));
    }

    /// The deadline runs from the day the debtor receives the letter, which nobody knows
    /// when it is written: no date contradicts it. Or, as the tenant chooses, a date counted
    /// from the letter's own date, and said to be counted so.
    #[test]
    fn the_deadline_runs_from_receipt_with_no_date_or_is_a_date_counted_from_the_letter() {
        let t = text(&typical());
        assert!(t.contains("требует в течение 10 календарных дней с даты получения настоящей претензии перечислить задолженность"), "{t}");
        assert!(!t.contains("не позднее"), "no contradictory fixed date: {t}");
        let mut letter = typical();
        letter.deadline_mode = DeadlineMode::ByDate;
        letter.pay_by = Some(d(2025, 11, 20));
        let t = text(&letter);
        assert!(t.contains("требует не позднее «20» ноября 2025 г. (10 календарных дней с даты настоящей претензии) перечислить задолженность"), "{t}");
        assert!(!t.contains("получения"), "{t}");
        letter.deadline_days = 1;
        assert!(text(&letter).contains("(1 календарный день с даты настоящей претензии)"));
    }

    #[test]
    fn the_parties_are_named_as_they_read_after_between() {
        let mut letter = typical();
        letter.debtor.name = "ИП Бета Борис Борисович".into();
        letter.debtor.name_instrumental = Some(names::instrumental("ИП Бета Борис Борисович", true));
        let t = text(&letter);
        assert!(t.contains("Между ООО «Торговый дом „Север“» (далее — Кредитор) и индивидуальным предпринимателем Бетой Борисом Борисовичем (далее — Должник)"), "{t}");
        assert!(t.contains("Кому: ИП Бета Борис Борисович"), "{t}");
    }

    /// A letter may claim penalties alone, for debts paid late in full: it says the
    /// principal is paid and does not claim it.
    #[test]
    fn a_letter_for_penalties_only_says_the_principal_was_paid_late() {
        let mut letter = typical();
        letter.debts.truncate(1);
        letter.debts[0].paid = letter.debts[0].amount;
        letter.debts[0].open = Money::ZERO;
        letter.penalties.truncate(1);
        letter.principal_total = Money::ZERO;
        letter.penalty_total = letter.penalties[0].total;
        letter.total = letter.penalty_total;
        letter.penalties_grow = false;
        assert_eq!(letter.check(), Ok(()));
        let t = text(&letter);
        for expected in [
            "Однако Должник произвел оплату с нарушением установленного срока.",
            "Документы, оплаченные с просрочкой",
            "Основной долг оплачен Должником с просрочкой; по состоянию на 10.11.2025 задолженности по основному долгу нет",
            "перечислить сумму неустойки (пени) в размере 125 000,00 руб.",
        ] {
            assert!(t.contains(expected), "missing «{expected}» in\n{t}");
        }
        assert!(!t.contains("суммы основного долга"), "{t}");
        assert!(!t.contains("фактического исполнения"), "{t}");
    }

    /// «по день фактического исполнения» only while a penalty can still grow.
    #[test]
    fn a_penalty_that_cannot_grow_is_not_claimed_until_actual_payment() {
        assert!(text(&typical()).contains("по день фактического исполнения обязательства"));
        let mut letter = typical();
        letter.penalties_grow = false;
        let t = text(&letter);
        assert!(!t.contains("фактического исполнения"), "{t}");
        assert!(t.contains("о взыскании с Должника суммы основного долга, неустойки (пени) и процентов"), "{t}");
    }

    #[test]
    fn a_stale_key_rate_is_flagged_in_the_letter() {
        let mut letter = typical();
        assert!(!text(&letter).contains("Внимание"));
        letter.key_rate_note = Some("таблица ключевых ставок подтверждена по 22.12.2025".into());
        let t = text(&letter);
        assert!(t.contains("Внимание: таблица ключевых ставок подтверждена по 22.12.2025."), "{t}");
    }

    /// A table's caption and heading go to the next page with its first row (and the total
    /// rows after it) rather than stand alone at the bottom of a page.
    #[test]
    fn a_table_heading_never_stands_alone_at_the_bottom_of_a_page() {
        let mut seen_break = false;
        for n in 1..40 {
            let mut letter = long(n, 1);
            for p in &mut letter.penalties {
                p.periods.truncate(1);
                p.uncapped_total = p.periods[0].amount;
                p.total = p.periods[0].amount;
            }
            letter.penalty_total = letter.penalties.iter().fold(Money::ZERO, |a, p| a.checked_add(p.total).expect("small"));
            letter.total = letter.principal_total.checked_add(letter.penalty_total).expect("small");
            let pages = page_texts(&doc(&letter));
            seen_break |= pages.len() > 1;
            for (k, texts) in pages.iter().enumerate().take(pages.len().saturating_sub(1)) {
                let last = texts.last().map(String::as_str).unwrap_or_default();
                assert!(!matches!(last, "Сумма" | "просрочки" | "расчета"), "{n} documents: page {} ends with a table's heading: {texts:?}", k + 1);
            }
        }
        assert!(seen_break, "the sweep crosses a page end");
    }

    #[test]
    fn the_signer_can_be_someone_other_than_the_head() {
        let mut letter = typical();
        letter.signer_post = Some("Представитель по доверенности № 5 от 01.01.2025".into());
        letter.signer_name = Some("Сидоров С. С.".into());
        let t = text(&letter);
        assert!(t.contains("Представитель по доверенности № 5 от 01.01.2025\nООО «Торговый дом „Север“»\nСидоров С. С."), "{t}");
        assert!(!t.contains("Петров"));
    }

    /// Outlines of today's letters as the claim letter printed them before it moved onto
    /// templates (`tests/fixtures/claim_letter/*.txt`, written by the old `compose()`, then
    /// rewritten with `CRM_UPDATE_FIXTURES=1` when the wording changed on purpose: issue 11's
    /// deadline without a contradictory date, names after «Между … и»).
    fn golden_cases() -> Vec<(&'static str, ClaimLetter)> {
        let mut cases = vec![("typical", typical()), ("minimal", minimal()), ("long", long(12, 3))];
        let mut l = minimal();
        l.penalties.push(PenaltyBlock {
            document: l.debts[0].document.clone(),
            kind: PenaltyKind::Contractual,
            basis: "неустойка договором не предусмотрена".to_owned(),
            periods: Vec::new(),
            uncapped_total: Money::ZERO,
            total: Money::ZERO,
            cap_note: None,
        });
        cases.push(("unclaimed_block", l));
        let mut l = typical();
        l.as_of = d(2025, 11, 7);
        cases.push(("as_of_before_date", l));
        for (name, kind) in [("art395_only", PenaltyKind::Art395), ("keyrate_only", PenaltyKind::KeyRate1300), ("contractual_only", PenaltyKind::Contractual)] {
            let mut l = typical();
            l.penalties.retain(|p| p.kind == kind);
            l.penalty_total = l.penalties[0].total;
            l.total = l.principal_total.checked_add(l.penalty_total).expect("small");
            if kind == PenaltyKind::Contractual {
                l.signer_post = Some("Представитель по доверенности № 5 от 01.01.2025".into());
                l.signer_name = Some("Сидоров С. С.".into());
            }
            cases.push((name, l));
        }
        let mut l = typical();
        for debt in &mut l.debts {
            debt.contract = Some("Договор поставки № Д-1 от 10.01.2024".into());
        }
        l.creditor.bank_account = None;
        l.number = None;
        cases.push(("one_contract_no_account", l));
        let mut l = typical();
        l.creditor.bank_account = None;
        l.creditor.address = None;
        l.debtor.kpp = None;
        l.debtor.head_name = None;
        cases.push(("contracts_no_account", l));
        let mut l = minimal();
        l.creditor.bank_account = Some("40702810938000012345".into());
        l.debts[0].days_overdue = 0;
        cases.push(("minimal_with_account", l));
        cases
    }

    /// The letter's content did not change when it moved onto the template: the same blocks,
    /// runs, cells and words as before, character for character; the renderer may only have
    /// tied more words (a space become a no-break space, `~` in the outline), never fewer.
    #[test]
    fn the_template_prints_the_letter_as_it_was_printed_before() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/claim_letter");
        for (name, letter) in golden_cases() {
            let after = doc(&letter).outline();
            // A deliberate change of the wording rewrites the fixtures (review the diff).
            if std::env::var_os("CRM_UPDATE_FIXTURES").is_some() {
                std::fs::write(dir.join(format!("{name}.txt")), &after).expect("writes the fixture");
            }
            let before = std::fs::read_to_string(dir.join(format!("{name}.txt"))).expect("fixture");
            let (b, a): (Vec<char>, Vec<char>) = (before.chars().collect(), after.chars().collect());
            let plain = |s: &str| s.replace('~', " ");
            if plain(&before) != plain(&after) {
                let line = before.lines().zip(after.lines()).find(|(b, a)| plain(b) != plain(a));
                panic!("{name}: the letter changed:\n{line:?}\n--- before\n{before}\n--- after\n{after}");
            }
            for (i, (x, y)) in b.iter().zip(&a).enumerate() {
                assert!(!(*x == '~' && *y == ' '), "{name}: a tie was lost at {i}: …{}…", a[i.saturating_sub(30)..(i + 30).min(a.len())].iter().collect::<String>());
            }
        }
    }

    #[test]
    fn hostile_data_cannot_inject_markup() {
        let mut letter = typical();
        letter.debtor.name = r#"<script>alert("x")</script> ООО "Рога & Копыта""#.to_owned();
        letter.creditor.name = "</title><img src=x onerror=alert(1)>".to_owned();
        letter.debts[0].document = "<b>Документ</b> & \"кавычки\" 'апостроф'".to_owned();
        letter.penalties[0].basis = "</p><iframe src=//evil>".to_owned();
        letter.number = Some("1\"><svg onload=alert(1)>".to_owned());
        let html = html::to_html(&doc(&letter));
        for forbidden in ["<script", "<img", "<iframe", "<svg", "</title><", "<b>Документ"] {
            assert!(!html.contains(forbidden), "«{forbidden}» leaked into the page");
        }
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; ООО &quot;Рога &amp; Копыта&quot;"));
        assert!(html.contains("&lt;b&gt;Документ&lt;/b&gt; &amp; &quot;кавычки&quot; &#39;апостроф&#39;"));
        assert_eq!(html.matches("<title>").count(), 1);
        let pdf = pdf::to_pdf(&doc(&letter)).expect("the PDF renders the same data as text");
        assert!(pdf.starts_with(b"%PDF-"));
    }

    #[test]
    fn page_is_a_self_contained_printable_html5_document() {
        let html = html::to_html(&doc(&typical()));
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"ru\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<title>Претензия № 117/25-Ю от 10.11.2025 — ООО «Ромашка»</title>"));
        assert!(html.trim_end().ends_with("</html>"));
        for outside in ["http://", "https://", "<link", "<script", "src="] {
            assert!(!html.contains(outside), "the page refers to the outside: «{outside}»");
        }
    }

    #[test]
    fn page_has_every_section_and_amount() {
        let html = page(&typical());
        for expected in [
            "<h1>ПРЕТЕНЗИЯ</h1>",
            "о погашении задолженности",
            "ООО «Торговый дом „Север“»",
            "ИНН 7701234567, КПП 770101001, ОГРН 1027700123456",
            "Исх. № 117/25-Ю",
            "от «10» ноября 2025 г.",
            "<b>Кому: </b><b>ООО «Ромашка»</b>",
            "Генеральный директор: Иванов И. И.",
            "Адрес: 630099, г. Новосибирск",
            "Таблица 1. Документы, по которым имеется задолженность",
            "<th>Дней просрочки</th>",
            "Реализация товаров и услуг № 0000-000123 от 01.02.2025",
            "<td class=\"r nw\">1 250 000,00</td><td class=\"r nw\">250 000,00</td><td class=\"r nw\">1 000 000,00</td>",
            "<td class=\"l\" colspan=\"5\">Итого</td><td class=\"r nw\">2 105 500,50</td><td class=\"r nw\">250 000,00</td>\
             <td class=\"r nw\">1 855 500,50</td>",
            "<b>1 855 500,50 руб.</b> (один миллион восемьсот пятьдесят пять тысяч пятьсот рублей 50 копеек)",
            "<h2>Расчет неустойки (пени) и процентов за пользование чужими денежными средствами</h2>",
            "Таблица 2. Расчет неустойки по документу: Реализация товаров и услуг № 0000-000123",
            "Таблица 3. Расчет процентов по ст. 395 ГК РФ по документу: Акт выполненных работ № 45",
            "Таблица 4. Расчет пени по документу: Акт оказанных услуг № 311",
            "04.03.2025 – 10.11.2025",
            "1 000 000,00 × 0,1 % × 252 дн.",
            "480 000,00 × 16,5 % × 15 / 365",
            "300 000,00 × 1/300 × 16,5 % × 15",
            "<td class=\"r nw\">252 000,00</td>",
            "Итого по расчету",
            "К уплате с учетом ограничения</td><td class=\"r nw\">125 000,00</td>",
            "<td class=\"r nw\">43 758,90</td>",
            "<td class=\"r nw\">6 725,00</td>",
            "<b>175 483,90 руб.</b> (сто семьдесят пять тысяч четыреста восемьдесят три рубля 90 копеек)",
            "<b>2 030 984,40 руб.</b> (два миллиона тридцать тысяч девятьсот восемьдесят четыре рубля 40 копеек)",
            "руководствуясь ст. 309, 310, 330, 395 ГК РФ",
            "с даты получения настоящей претензии перечислить",
            "Расчетный счет: 40702810938000012345",
            "Банк: ПАО Сбербанк, г. Москва",
            "Назначение платежа: оплата задолженности по претензии № 117/25-Ю от 10.11.2025",
            "в арбитражный суд",
            "ч. 5 ст. 4 АПК РФ",
            "Генеральный директор<br>ООО «Торговый дом „Север“»",
            "<div class=\"who\">Петров П. П.</div>",
            "М.П.",
        ] {
            assert!(html.contains(expected), "missing «{expected}»");
        }
    }

    #[test]
    fn page_without_penalties_or_bank_details_leaves_those_sections_out() {
        let html = page(&minimal());
        assert!(!html.contains("<h2>"), "no penalty section");
        assert!(!html.contains("Таблица 2"));
        assert!(!html.contains("<th>Договор</th>"));
        assert!(html.contains("по реквизитам, указанным в договоре."));
        assert!(!html.contains("class=\"requisites\""));
        assert!(!html.contains("М.П."));
    }

    /// Writes sample letters (PDF and HTML) for a person to look at:
    /// `CLAIM_LETTER_PREVIEW=/some/dir cargo test write_previews -- --ignored`
    /// (default: `claim-letter-preview` in the temporary directory).
    #[test]
    #[ignore = "writes files for a manual look"]
    fn write_previews() {
        let dir = std::env::var_os("CLAIM_LETTER_PREVIEW")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("claim-letter-preview"));
        std::fs::create_dir_all(&dir).expect("preview directory");
        for (name, letter) in [("typical", typical()), ("long", long(80, 40)), ("minimal", minimal()), ("one_contract", one_contract())] {
            let d = doc(&letter);
            std::fs::write(dir.join(format!("{name}.pdf")), pdf::to_pdf(&d).expect("renders")).expect("writes the PDF");
            std::fs::write(dir.join(format!("{name}.html")), html::to_html(&d)).expect("writes the HTML");
        }
        eprintln!("previews in {}", dir.display());
    }

    #[test]
    fn pdf_is_a_complete_small_file_with_the_font_embedded() {
        let pdf = pdf::to_pdf(&doc(&typical())).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(String::from_utf8_lossy(&pdf[pdf.len().saturating_sub(16)..]).trim_end().ends_with("%%EOF"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/FontFile2") && text.contains("+LiberationSerif") && text.contains("/ToUnicode"));
        assert!(pdf.len() < 120_000, "a typical letter is small: {} bytes", pdf.len());
    }

    #[test]
    fn the_font_has_every_character_the_letter_uses() {
        let mut letter = typical();
        letter.penalties[0].kind = PenaltyKind::KeyRate1300;
        for letter in [letter, minimal(), one_contract()] {
            assert_eq!(pdf::missing_glyphs(&doc(&letter)).expect("fonts"), Vec::<char>::new());
        }
    }

    #[test]
    fn a_long_letter_renders_well_inside_the_instruction_budget() {
        let (used, budget) = engine::fuel_used(&TEMPLATE, TEMPLATE.default_source, long(80, 40).context());
        eprintln!("80 documents, 3 × 40 periods: {used} of {budget} instructions");
        assert!(used * 5 < budget, "{used} of {budget}: a long letter must leave room for bigger ones");
    }

    #[test]
    fn a_letter_with_eighty_documents_runs_onto_more_pages_with_the_heading_repeated() {
        let d = doc(&long(80, 40));
        let pages = page_texts(&d);
        assert!(pages.len() > 2, "{} pages", pages.len());
        let headings = pages.iter().filter(|texts| texts.iter().any(|t| t == "просрочки" || t == "Дней")).count();
        assert!(headings >= 3, "the heading is repeated on the pages a table runs onto: {headings}");
        let continued = pages.iter().flatten().filter(|t| t.starts_with("Продолжение")).count();
        assert!(continued >= 2, "continued tables are marked: {continued}");
        let pdf = pdf::to_pdf(&d).expect("renders");
        assert_eq!(page_count(&pdf), pages.len());
    }

    #[test]
    fn nothing_runs_off_the_page() {
        assert_inside_margins(&doc(&typical()));
        assert_inside_margins(&doc(&long(80, 40)));
        assert_inside_margins(&doc(&minimal()));
        let mut hostile = typical();
        hostile.debtor.name = "ООО «".to_owned() + &"Оченьдлинноеназваниебезпробелов".repeat(6) + "»";
        hostile.debts[0].document = "Документ№".to_owned() + &"0".repeat(120);
        hostile.debts[0].contract = Some("Д".repeat(200));
        hostile.penalties[1].basis = "x".repeat(500);
        hostile.creditor.address = Some("а ".repeat(400));
        hostile.principal_total = Money::from_minor(i64::MAX);
        assert_inside_margins(&doc(&hostile));
    }

    #[test]
    fn the_signature_and_payment_details_never_start_a_page_alone() {
        // Lengthen the letter row by row so that its end falls at every point of a page.
        let mut page_counts = std::collections::BTreeSet::new();
        for extra in 0..40 {
            let mut letter = minimal();
            let row = letter.debts[0].clone();
            letter.debts.extend(std::iter::repeat_n(row, extra));
            letter.creditor.bank_account = (extra % 2 == 0).then(|| "40702810938000012345".to_owned());
            let pages = page_texts(&doc(&letter));
            page_counts.insert(pages.len());
            let last = pages.last().expect("a page");
            assert!(
                last.iter().any(|t| t.starts_with("Ответ") || t.starts_with("претензию") || t.contains("адресу")),
                "{extra}: the signature page has no text of the letter: {last:?}"
            );
            for texts in &pages {
                if let Some(at) = texts.iter().position(|t| t.starts_with("Получатель")) {
                    assert!(at > 0 && texts[..at].iter().any(|t| t.contains("реквизитам")), "{extra}: {texts:?}");
                }
            }
        }
        assert!(page_counts.len() >= 2, "the sweep crosses a page end: {page_counts:?}");
    }

    #[test]
    fn a_total_row_never_starts_a_page() {
        for n in 20..60 {
            for (k, texts) in page_texts(&doc(&long(n, 2))).iter().enumerate().skip(1) {
                // «Итого» right after a heading's last title («просрочки», «Сумма») means it was
                // carried over alone.
                for (at, _) in texts.iter().enumerate().filter(|(_, t)| t.starts_with("Итого")) {
                    let after_heading = at > 0 && matches!(texts[at - 1].as_str(), "просрочки" | "Сумма");
                    assert!(!after_heading, "{n} documents, page {}: «Итого» right under the heading", k + 1);
                }
            }
        }
    }
}
