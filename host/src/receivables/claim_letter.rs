//! The claim letter (претензия о погашении задолженности): its data and its text.
//!
//! A [`ClaimLetter`] holds finished figures (debts, penalty breakdowns, totals) computed
//! elsewhere (see `receivables::penalties`); this module only words and lays them out.
//! The wording lives here once, as a renderer-neutral list of blocks, and both print forms
//! draw that same list:
//! * [`html::to_html`] — one self-contained HTML page for preview and browser printing;
//! * [`pdf::to_pdf`] — an A4 PDF with an embedded (subsetted) font, ready to sign and send.
//!
//! [`words`] formats amounts (in figures and in words), dates and rates the Russian way.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::money::Money;

pub mod html;
pub mod pdf;
pub mod words;

use words::{NBSP, amount, date_long, date_short, percent, plural, rubles, rubles_in_words};

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
    /// The last day to pay.
    pub pay_by: NaiveDate,
    /// The deadline in calendar days, for the text («в течение 10 календарных дней»).
    pub deadline_days: u32,
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
    /// Full or short legal name, e.g. «ООО «Ромашка»».
    pub name: String,
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
// The letter's text as renderer-neutral blocks, drawn by both `html` and `pdf`.
// ---------------------------------------------------------------------------------------------

/// A run of text, bold or not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    text: String,
    bold: bool,
}

/// A line or paragraph made of spans.
type Spans = Vec<Span>;

fn plain(text: impl Into<String>) -> Span {
    Span { text: tie(&text.into()), bold: false }
}

fn bold(text: impl Into<String>) -> Span {
    Span { text: tie(&text.into()), bold: true }
}

/// Russian typographic ties: no line break after «№», after a one-letter word («в», «с», «и»)
/// or a short abbreviation («г.», «ул.», «д.», «п.», «ст.»), nor before a dash. The spaces
/// become NO-BREAK SPACEs; the text is otherwise unchanged.
fn tie(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, word) in words.iter().enumerate() {
        out.push_str(word);
        let Some(next) = words.get(i + 1) else { break };
        let bare = word.rsplit(NBSP).next().unwrap_or(word).trim_start_matches(['(', '«', '"', '„']);
        let letters = bare.trim_end_matches('.');
        let short_abbreviation = bare.ends_with('.')
            && (1..=3).contains(&letters.chars().count())
            && letters.chars().all(|c| c.is_alphabetic() && c.is_lowercase());
        let one_letter = bare.chars().count() == 1 && bare.chars().all(char::is_alphabetic);
        let before_dash = next.starts_with(['—', '–']);
        let glue =
            !word.is_empty() && !next.is_empty() && (bare == "№" || short_abbreviation || one_letter || before_dash);
        out.push(if glue { NBSP } else { ' ' });
    }
    out
}

/// Ends a sentence with a period, unless it already ends with one («… руб.»).
fn end_sentence(spans: &mut Spans) {
    if !spans.last().is_some_and(|s| s.text.ends_with('.')) {
        spans.push(plain("."));
    }
}

/// Horizontal alignment of a table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
    Right,
}

/// A table column: its heading, alignment, and whether its cells may wrap.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    title: &'static str,
    align: Align,
    /// Dates and amounts: never broken across lines.
    nowrap: bool,
}

/// A table cell spanning `span` columns.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cell {
    text: String,
    span: usize,
}

/// A table row; `total` rows are bold.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    cells: Vec<Cell>,
    total: bool,
}

/// A bordered table with a numbered caption; its heading repeats on every page it runs onto.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Table {
    number: usize,
    title: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
}

impl Table {
    /// «Таблица 1. Документы, …».
    fn caption(&self) -> String {
        format!("Таблица{NBSP}{}. {}", self.number, self.title)
    }
}

/// One block of the letter, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    /// The sender's letterhead: the name in bold and the requisites lines, centred, ruled off.
    Letterhead { name: String, lines: Vec<String> },
    /// The outgoing number and date on the left, the addressee's requisites on the right.
    Addressing { left: Vec<Spans>, right: Vec<Spans> },
    /// «ПРЕТЕНЗИЯ» and its subtitle, centred.
    Title { title: &'static str, subtitle: &'static str },
    /// A section heading, bold.
    Heading(String),
    /// A body paragraph: justified, first line indented.
    Para(Spans),
    /// A short paragraph without indent (a table's basis, a cap note).
    Note(Spans),
    /// A bordered table.
    Table(Table),
    /// Payment requisites, one per line, indented.
    Requisites(Vec<Spans>),
    /// The signature: post on the left, a line to sign on, the name on the right.
    Signature { post: Vec<String>, name: String, seal: bool },
}

fn cell(text: impl Into<String>) -> Cell {
    Cell { text: tie(&text.into()), span: 1 }
}

fn spanning(text: impl Into<String>, span: usize) -> Cell {
    Cell { text: tie(&text.into()), span }
}

/// Lower-cases the first letter of a capitalised word («Договор № 1» → «договор № 1»), but not
/// of an abbreviation («ДКП № 1» stays), to put a document's name inside a sentence.
fn in_sentence(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(std::iter::once(second)).chain(chars).collect()
        }
        _ => s.to_owned(),
    }
}

/// «a», «a и b», «a, b и c».
fn enumerate_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} и {last}", init.join(", ")),
    }
}

/// «ИНН 7701234567, КПП 770101001» with whatever is known.
fn tax_ids(p: &Party) -> Option<String> {
    let parts: Vec<String> = [("ИНН", &p.inn), ("КПП", &p.kpp)]
        .into_iter()
        .filter_map(|(label, v)| v.as_deref().filter(|v| !v.trim().is_empty()).map(|v| format!("{label}{NBSP}{v}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn known(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// What the penalties present are called, in the cases the text needs.
struct PenaltyTerms {
    /// Genitive: «Общая сумма неустойки (пени) составляет…», «Расчет неустойки (пени)».
    genitive: &'static str,
    /// Nominative: «…в том числе неустойка (пени) — …».
    nominative: &'static str,
    /// The participle agreeing with it: «начислена неустойка», «начислены проценты».
    accrued: &'static str,
}

/// The penalty blocks to print: those with a calculation or an amount.
fn claimed(letter: &ClaimLetter) -> Vec<&PenaltyBlock> {
    letter.penalties.iter().filter(|p| !p.periods.is_empty() || p.total != Money::ZERO).collect()
}

fn penalty_terms(blocks: &[&PenaltyBlock]) -> PenaltyTerms {
    let penalty = blocks.iter().any(|p| p.kind != PenaltyKind::Art395);
    let interest = blocks.iter().any(|p| p.kind == PenaltyKind::Art395);
    match (penalty, interest) {
        (true, true) => PenaltyTerms {
            genitive: "неустойки (пени) и процентов за пользование чужими денежными средствами",
            nominative: "неустойка (пени) и проценты за пользование чужими денежными средствами",
            accrued: "начислены",
        },
        (false, true) => PenaltyTerms {
            genitive: "процентов за пользование чужими денежными средствами",
            nominative: "проценты за пользование чужими денежными средствами",
            accrued: "начислены",
        },
        _ => PenaltyTerms {
            genitive: "неустойки (пени)", nominative: "неустойка (пени)", accrued: "начислена"
        },
    }
}

/// «в течение 10 календарных дней», «в течение 21 календарного дня».
fn within_days(n: u32) -> String {
    let noun = plural(u64::from(n), ["календарного дня", "календарных дней", "календарных дней"]);
    format!("в течение {n}{NBSP}{noun}")
}

/// The articles of the Civil Code the demand relies on.
fn civil_code_articles(blocks: &[&PenaltyBlock]) -> String {
    let mut articles = vec!["309", "310"];
    if blocks.iter().any(|p| p.kind != PenaltyKind::Art395) {
        articles.push("330");
    }
    if blocks.iter().any(|p| p.kind == PenaltyKind::Art395) {
        articles.push("395");
    }
    format!("ст.{NBSP}{} ГК{NBSP}РФ", articles.join(", "))
}

/// The rate as printed in a penalty table.
fn rate_text(kind: PenaltyKind, rate: Decimal) -> String {
    match kind {
        PenaltyKind::Contractual => format!("{} в{NBSP}день", percent(rate)),
        PenaltyKind::Art395 => format!("{} годовых", percent(rate)),
        PenaltyKind::KeyRate1300 => format!("1/300 от {}", percent(rate)),
    }
}

/// The formula of one period: «100 000,00 × 0,1 % × 10 дн.», «1 000 000,00 × 16 % × 7 / 365»,
/// «300 000,00 × 1/300 × 17 % × 6».
fn formula(kind: PenaltyKind, row: &PenaltyRow) -> String {
    // A no-break space before «×» keeps each factor with its sign; lines break after it.
    let x = format!("{NBSP}× ");
    let base = amount(row.base);
    let rate = percent(row.rate);
    match kind {
        PenaltyKind::Contractual => format!("{base}{x}{rate}{x}{}{NBSP}дн.", row.days),
        PenaltyKind::Art395 => {
            let year_days = if NaiveDate::from_ymd_opt(row.from.year(), 2, 29).is_some() { 366 } else { 365 };
            format!("{base}{x}{rate}{x}{}{NBSP}/ {year_days}", row.days)
        }
        PenaltyKind::KeyRate1300 => format!("{base}{x}1/300{x}{rate}{x}{}", row.days),
    }
}

fn period_text(from: NaiveDate, to: NaiveDate) -> String {
    format!("{}{NBSP}– {}", date_short(from), date_short(to))
}

/// The whole letter as blocks, top to bottom.
fn compose(letter: &ClaimLetter) -> Vec<Block> {
    let creditor = &letter.creditor;
    let debtor = &letter.debtor;
    let mut blocks = Vec::new();

    // Letterhead: the sender's requisites.
    let mut head_lines = Vec::new();
    let mut ids: Vec<String> = tax_ids(creditor).into_iter().collect();
    if let Some(ogrn) = known(&creditor.ogrn) {
        ids.push(format!("ОГРН{NBSP}{ogrn}"));
    }
    if !ids.is_empty() {
        head_lines.push(ids.join(", "));
    }
    if let Some(address) = known(&creditor.address) {
        head_lines.push(tie(address));
    }
    blocks.push(Block::Letterhead { name: tie(creditor.name.trim()), lines: head_lines });

    // Outgoing number and date; the addressee.
    let number = known(&letter.number).unwrap_or("____________");
    let left =
        vec![vec![plain(format!("Исх. №{NBSP}{number}"))], vec![plain(format!("от {}", date_long(letter.date)))]];
    let mut right = vec![vec![bold("Кому: "), bold(debtor.name.trim())]];
    if let (Some(post), Some(name)) = (known(&debtor.head_post), known(&debtor.head_name)) {
        right.push(vec![plain(format!("{post}: {name}"))]);
    }
    if let Some(ids) = tax_ids(debtor) {
        right.push(vec![plain(ids)]);
    }
    if let Some(ogrn) = known(&debtor.ogrn) {
        right.push(vec![plain(format!("ОГРН{NBSP}{ogrn}"))]);
    }
    if let Some(address) = known(&debtor.address) {
        right.push(vec![plain(format!("Адрес: {address}"))]);
    }
    blocks.push(Block::Addressing { left, right });

    blocks.push(Block::Title {
        title: "ПРЕТЕНЗИЯ", subtitle: "о погашении задолженности"
    });

    // The facts.
    let mut contracts: Vec<String> = Vec::new();
    for debt in &letter.debts {
        if let Some(c) = known(&debt.contract)
            && !contracts.iter().any(|seen| seen == c)
        {
            contracts.push(c.to_owned());
        }
    }
    let parties =
        format!("{} (далее{NBSP}— Кредитор) и {} (далее{NBSP}— Должник)", creditor.name.trim(), debtor.name.trim());
    let lowered: Vec<String> = contracts.iter().map(|c| in_sentence(c)).collect();
    let facts = match contracts.len() {
        0 => format!("Между {parties} сложились отношения по передаче товаров (выполнению работ, оказанию услуг)."),
        1 => format!("Между {parties} заключен {} (далее{NBSP}— Договор).", enumerate_and(&lowered)),
        _ => format!("Между {parties} заключены {} (далее{NBSP}— Договоры).", enumerate_and(&lowered)),
    };
    blocks.push(Block::Para(vec![plain(facts)]));
    blocks.push(Block::Para(vec![plain(
        "Кредитор надлежащим образом исполнил свои обязательства, передав Должнику товары \
         (выполнив работы, оказав услуги), что подтверждается документами, указанными в таблице\u{a0}1.",
    )]));
    blocks.push(Block::Para(vec![plain(format!(
        "В соответствии со ст.{NBSP}309, 310 ГК{NBSP}РФ обязательства должны исполняться надлежащим \
         образом в соответствии с условиями обязательства, односторонний отказ от исполнения \
         обязательства не допускается. Однако Должник в установленный срок оплату не произвел \
         либо произвел ее не в полном объеме."
    ))]));

    // Table 1: the documents in debt.
    let with_contracts = !contracts.is_empty();
    let mut columns = vec![
        Column { title: "№", align: Align::Center, nowrap: true },
        Column { title: "Документ", align: Align::Left, nowrap: false },
    ];
    if with_contracts {
        columns.push(Column { title: "Договор", align: Align::Left, nowrap: false });
    }
    columns.extend([
        Column { title: "Дата документа", align: Align::Center, nowrap: true },
        Column { title: "Срок оплаты", align: Align::Center, nowrap: true },
        Column { title: "Сумма", align: Align::Right, nowrap: true },
        Column { title: "Оплачено", align: Align::Right, nowrap: true },
        Column { title: "Долг", align: Align::Right, nowrap: true },
        Column { title: "Дней просрочки", align: Align::Center, nowrap: true },
    ]);
    let mut rows = Vec::new();
    for (i, debt) in letter.debts.iter().enumerate() {
        let mut cells = vec![cell((i + 1).to_string()), cell(debt.document.trim())];
        if with_contracts {
            cells.push(cell(known(&debt.contract).unwrap_or("—")));
        }
        let overdue = if debt.days_overdue > 0 { debt.days_overdue.to_string() } else { "—".to_owned() };
        cells.extend([
            cell(date_short(debt.issued_on)),
            cell(date_short(debt.due_on)),
            cell(amount(debt.amount)),
            cell(amount(debt.paid)),
            cell(amount(debt.open)),
            cell(overdue),
        ]);
        rows.push(Row { cells, total: false });
    }
    // Sums of the printed columns; an overflow (not a real case) leaves the cell blank.
    let sum_text = |f: fn(&DebtLine) -> Money| sum(letter.debts.iter().map(f)).map(amount).unwrap_or_default();
    rows.push(Row {
        cells: vec![
            spanning("Итого", if with_contracts { 5 } else { 4 }),
            cell(sum_text(|d| d.amount)),
            cell(sum_text(|d| d.paid)),
            cell(amount(letter.principal_total)),
            cell(""),
        ],
        total: true,
    });
    blocks.push(Block::Table(Table {
        number: 1,
        title: format!("Документы, по которым имеется задолженность (суммы в{NBSP}рублях)"),
        columns,
        rows,
    }));
    blocks.push(Block::Para(vec![
        plain(format!(
            "Таким образом, по состоянию на {} задолженность Должника перед Кредитором по основному долгу составляет ",
            date_short(letter.as_of)
        )),
        bold(rubles(letter.principal_total)),
        plain(format!(" ({}).", rubles_in_words(letter.principal_total))),
    ]));

    // Penalties, one table per document.
    let penalties = claimed(letter);
    let terms = penalty_terms(&penalties);
    if !penalties.is_empty() {
        blocks.push(Block::Heading(format!("Расчет {}", terms.genitive)));
        let kinds: BTreeSet<u8> = penalties
            .iter()
            .map(|p| match p.kind {
                PenaltyKind::Contractual | PenaltyKind::KeyRate1300 => 0,
                PenaltyKind::Art395 => 1,
            })
            .collect();
        if kinds.contains(&0) {
            blocks.push(Block::Para(vec![plain(format!(
                "Согласно ст.{NBSP}330 ГК{NBSP}РФ неустойкой (штрафом, пеней) признается определенная законом \
                 или договором денежная сумма, которую должник обязан уплатить кредитору в случае \
                 неисполнения или ненадлежащего исполнения обязательства, в частности в случае просрочки \
                 исполнения. По требованию об уплате неустойки кредитор не обязан доказывать причинение ему убытков."
            ))]));
        }
        if kinds.contains(&1) {
            blocks.push(Block::Para(vec![plain(format!(
                "Согласно п.{NBSP}1 ст.{NBSP}395 ГК{NBSP}РФ в случаях неправомерного удержания денежных средств, \
                 уклонения от их возврата, иной просрочки в их уплате подлежат уплате проценты на сумму долга. \
                 Размер процентов определяется ключевой ставкой Банка России, действовавшей в соответствующие периоды."
            ))]));
        }
        blocks.push(Block::Para(vec![plain(format!(
            "За просрочку оплаты Должнику {} {}; расчет по каждому документу по состоянию на {} приведен \
             в таблицах ниже.",
            terms.accrued,
            terms.nominative,
            date_short(letter.as_of)
        ))]));

        for (i, block) in penalties.iter().enumerate() {
            let what = match block.kind {
                PenaltyKind::Contractual => "неустойки".to_owned(),
                PenaltyKind::Art395 => format!("процентов по ст.{NBSP}395 ГК{NBSP}РФ"),
                PenaltyKind::KeyRate1300 => "пени".to_owned(),
            };
            let columns = vec![
                Column { title: "№", align: Align::Center, nowrap: true },
                Column { title: "Период просрочки", align: Align::Center, nowrap: false },
                Column { title: "Дней", align: Align::Center, nowrap: true },
                Column { title: "Сумма долга", align: Align::Right, nowrap: true },
                Column { title: "Ставка", align: Align::Center, nowrap: false },
                Column { title: "Формула расчета", align: Align::Left, nowrap: false },
                Column { title: "Сумма", align: Align::Right, nowrap: true },
            ];
            let mut rows: Vec<Row> = block
                .periods
                .iter()
                .enumerate()
                .map(|(n, row)| Row {
                    cells: vec![
                        cell((n + 1).to_string()),
                        cell(period_text(row.from, row.to)),
                        cell(row.days.to_string()),
                        cell(amount(row.base)),
                        cell(rate_text(block.kind, row.rate)),
                        cell(formula(block.kind, row)),
                        cell(amount(row.amount)),
                    ],
                    total: false,
                })
                .collect();
            let capped = block.total < block.uncapped_total;
            let days: i64 = block.periods.iter().map(|p| p.days).sum();
            rows.push(Row {
                cells: vec![
                    spanning(if capped { "Итого по расчету" } else { "Итого" }, 2),
                    cell(days.to_string()),
                    spanning("", 3),
                    cell(amount(block.uncapped_total)),
                ],
                total: true,
            });
            if capped {
                rows.push(Row {
                    cells: vec![spanning("К уплате с учетом ограничения", 6), cell(amount(block.total))],
                    total: true,
                });
            }
            blocks.push(Block::Table(Table {
                number: i + 2,
                title: format!("Расчет {what} по документу: {}", block.document.trim()),
                columns,
                rows,
            }));
            let mut note = vec![bold("Основание: "), plain(block.basis.trim())];
            end_sentence(&mut note);
            if capped {
                note.push(plain(format!(
                    " Неустойка по расчету составляет {}; с учетом ограничения ее размера к уплате подлежит ",
                    rubles(block.uncapped_total)
                )));
                note.push(bold(rubles(block.total)));
                end_sentence(&mut note);
                if let Some(cap) = known(&block.cap_note) {
                    note.push(plain(format!(" Ограничение: {cap}")));
                    end_sentence(&mut note);
                }
            }
            blocks.push(Block::Note(note));
        }
        blocks.push(Block::Para(vec![
            plain(format!("Общая сумма {} составляет ", terms.genitive)),
            bold(rubles(letter.penalty_total)),
            plain(format!(" ({}).", rubles_in_words(letter.penalty_total))),
        ]));
    }

    // The claim in total.
    let mut total = vec![
        plain("Общая сумма требований Кредитора составляет "),
        bold(rubles(letter.total)),
        plain(format!(" ({})", rubles_in_words(letter.total))),
    ];
    if penalties.is_empty() {
        total.push(plain("."));
    } else {
        total.push(plain(format!(
            ", в том числе основной долг{NBSP}— {}, {}{NBSP}— {}",
            rubles(letter.principal_total),
            terms.nominative,
            rubles(letter.penalty_total)
        )));
        end_sentence(&mut total);
    }
    blocks.push(Block::Para(total));

    // The demand.
    let has_account = known(&creditor.bank_account).is_some();
    let where_to = if has_account {
        "на расчетный счет Кредитора по следующим реквизитам:".to_owned()
    } else if contracts.len() > 1 {
        "по реквизитам, указанным в договорах.".to_owned()
    } else {
        "по реквизитам, указанным в договоре.".to_owned()
    };
    blocks.push(Block::Para(vec![
        plain(format!(
            "На основании изложенного, руководствуясь {}, Кредитор требует {} с даты получения настоящей \
             претензии, но не позднее ",
            civil_code_articles(&penalties),
            within_days(letter.deadline_days)
        )),
        bold(date_long(letter.pay_by)),
        plain(", перечислить задолженность в размере "),
        bold(rubles(letter.total)),
        plain(format!(" {where_to}")),
    ]));
    if has_account {
        let mut lines = vec![vec![plain("Получатель: "), plain(creditor.name.trim())]];
        if let Some(ids) = tax_ids(creditor) {
            lines.push(vec![plain(ids)]);
        }
        let requisites = [
            ("Расчетный счет: ", &creditor.bank_account),
            ("Банк: ", &creditor.bank_name),
            ("БИК: ", &creditor.bank_bic),
            ("Корреспондентский счет: ", &creditor.bank_corr_account),
        ];
        for (label, value) in requisites {
            if let Some(value) = known(value) {
                lines.push(vec![plain(label), plain(value)]);
            }
        }
        let reference = match known(&letter.number) {
            Some(n) => format!("№{NBSP}{n} от {}", date_short(letter.date)),
            None => format!("от {}", date_short(letter.date)),
        };
        lines.push(vec![plain(format!("Назначение платежа: оплата задолженности по претензии {reference}"))]);
        blocks.push(Block::Requisites(lines));
    }

    // The warning.
    let recover = if penalties.is_empty() {
        "суммы задолженности, а также неустойки (процентов), предусмотренных законом или договором,".to_owned()
    } else {
        format!("суммы основного долга, {} по день фактического исполнения обязательства,", terms.genitive)
    };
    blocks.push(Block::Para(vec![plain(format!(
        "В случае неисполнения настоящего требования в указанный срок Кредитор будет вынужден обратиться \
         в арбитражный суд с исковым заявлением о взыскании с Должника {recover} а также судебных расходов, \
         в том числе расходов на уплату государственной пошлины и на оплату услуг представителя."
    ))]));
    blocks.push(Block::Para(vec![plain(format!(
        "Настоящая претензия направляется в порядке досудебного (претензионного) урегулирования спора \
         в соответствии с ч.{NBSP}5 ст.{NBSP}4 АПК{NBSP}РФ."
    ))]));
    if let Some(address) = known(&creditor.address) {
        blocks.push(Block::Para(vec![plain(format!("Ответ на претензию просим направить по адресу: {address}."))]));
    }

    // The signature.
    let post = known(&letter.signer_post).or(known(&creditor.head_post));
    let name = known(&letter.signer_name).or(known(&creditor.head_name));
    let mut post_lines: Vec<String> = post.into_iter().map(tie).collect();
    post_lines.push(tie(creditor.name.trim()));
    blocks.push(Block::Signature {
        post: post_lines,
        name: tie(name.unwrap_or("____________________")),
        seal: letter.seal,
    });
    blocks
}

/// Every text of a block, in order, for tests and for checking the font covers them.
#[cfg(test)]
fn block_texts(block: &Block) -> Vec<String> {
    let spans = |s: &Spans| s.iter().map(|s| s.text.clone()).collect::<String>();
    match block {
        Block::Letterhead { name, lines } => std::iter::once(name.clone()).chain(lines.iter().cloned()).collect(),
        Block::Addressing { left, right } => left.iter().chain(right).map(spans).collect(),
        Block::Title { title, subtitle } => vec![(*title).to_owned(), (*subtitle).to_owned()],
        Block::Heading(text) => vec![text.clone()],
        Block::Para(s) | Block::Note(s) => vec![spans(s)],
        Block::Table(t) => std::iter::once(t.caption())
            .chain(t.columns.iter().map(|c| c.title.to_owned()))
            .chain(t.rows.iter().flat_map(|r| r.cells.iter().map(|c| c.text.clone())))
            .collect(),
        Block::Requisites(lines) => lines.iter().map(spans).collect(),
        Block::Signature { post, name, seal } => {
            post.iter().cloned().chain([name.clone(), if *seal { "М.П.".to_owned() } else { String::new() }]).collect()
        }
    }
}

#[cfg(test)]
mod test_support {
    //! Sample letters shared by the tests of this module and its renderers.

    use super::*;

    pub(super) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    pub(super) fn rub(s: &str) -> Money {
        s.parse().expect("valid amount")
    }

    fn dec(s: &str) -> Decimal {
        s.parse().expect("valid decimal")
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    pub(super) fn creditor() -> Party {
        Party {
            name: "ООО «Торговый дом „Север“»".to_owned(),
            inn: some("7701234567"),
            kpp: some("770101001"),
            ogrn: some("1027700123456"),
            address: some("125009, г. Москва, ул. Тверская, д. 7, офис 12"),
            bank_name: some("ПАО Сбербанк, г. Москва"),
            bank_bic: some("044525225"),
            bank_account: some("40702810938000012345"),
            bank_corr_account: some("30101810400000000225"),
            head_post: some("Генеральный директор"),
            head_name: some("Петров П. П."),
        }
    }

    pub(super) fn debtor() -> Party {
        Party {
            name: "ООО «Ромашка»".to_owned(),
            inn: some("5408123456"),
            kpp: some("540801001"),
            ogrn: some("1155476012345"),
            address: some("630099, г. Новосибирск, Красный проспект, д. 1, оф. 5"),
            head_post: some("Генеральный директор"),
            head_name: some("Иванов И. И."),
            ..Party::default()
        }
    }

    /// A typical letter: four documents, three penalties (one of each kind, the contractual
    /// one capped). Figures are those of `receivables::penalties` for these dates and the
    /// 2025 key rates.
    pub(super) fn typical() -> ClaimLetter {
        let debts = vec![
            DebtLine {
                document: "Реализация товаров и услуг № 0000-000123 от 01.02.2025".to_owned(),
                contract: some("Договор поставки № Д-1 от 10.01.2024"),
                issued_on: d(2025, 2, 1),
                due_on: d(2025, 3, 3),
                amount: rub("1250000.00"),
                paid: rub("250000.00"),
                open: rub("1000000.00"),
                days_overdue: 252,
            },
            DebtLine {
                document: "Акт выполненных работ № 45 от 15.04.2025".to_owned(),
                contract: some("Договор подряда № 7/П от 01.04.2025"),
                issued_on: d(2025, 4, 15),
                due_on: d(2025, 5, 15),
                amount: rub("480000.00"),
                paid: Money::ZERO,
                open: rub("480000.00"),
                days_overdue: 179,
            },
            DebtLine {
                document: "Акт оказанных услуг № 311 от 01.09.2025".to_owned(),
                contract: some("Договор оказания услуг № У-15 от 20.08.2025"),
                issued_on: d(2025, 9, 1),
                due_on: d(2025, 10, 1),
                amount: rub("300000.00"),
                paid: Money::ZERO,
                open: rub("300000.00"),
                days_overdue: 40,
            },
            DebtLine {
                document: "Реализация товаров и услуг № 0000-000140 от 20.10.2025".to_owned(),
                contract: some("Договор поставки № Д-1 от 10.01.2024"),
                issued_on: d(2025, 10, 20),
                due_on: d(2025, 11, 3),
                amount: rub("75500.50"),
                paid: Money::ZERO,
                open: rub("75500.50"),
                days_overdue: 7,
            },
        ];
        let row = |from: NaiveDate, to: NaiveDate, days: i64, base: &str, rate: &str, amount: &str| PenaltyRow {
            from,
            to,
            days,
            base: rub(base),
            rate: dec(rate),
            amount: rub(amount),
        };
        let penalties = vec![
            PenaltyBlock {
                document: "Реализация товаров и услуг № 0000-000123 от 01.02.2025".to_owned(),
                kind: PenaltyKind::Contractual,
                basis: "неустойка 0,1 % от неоплаченной суммы за каждый день просрочки \
                        (п. 6.2 договора поставки № Д-1 от 10.01.2024)"
                    .to_owned(),
                periods: vec![row(d(2025, 3, 4), d(2025, 11, 10), 252, "1000000.00", "0.1", "252000.00")],
                uncapped_total: rub("252000.00"),
                total: rub("125000.00"),
                cap_note: some("не более 10 % от цены договора, п. 6.3 договора"),
            },
            PenaltyBlock {
                document: "Акт выполненных работ № 45 от 15.04.2025".to_owned(),
                kind: PenaltyKind::Art395,
                basis: "проценты за пользование чужими денежными средствами по ст. 395 ГК РФ \
                        (договором неустойка не предусмотрена)"
                    .to_owned(),
                periods: vec![
                    row(d(2025, 5, 16), d(2025, 6, 8), 24, "480000.00", "21", "6627.95"),
                    row(d(2025, 6, 9), d(2025, 7, 27), 49, "480000.00", "20", "12887.67"),
                    row(d(2025, 7, 28), d(2025, 9, 14), 49, "480000.00", "18", "11598.90"),
                    row(d(2025, 9, 15), d(2025, 10, 26), 42, "480000.00", "17", "9389.59"),
                    row(d(2025, 10, 27), d(2025, 11, 10), 15, "480000.00", "16.5", "3254.79"),
                ],
                uncapped_total: rub("43758.90"),
                total: rub("43758.90"),
                cap_note: None,
            },
            PenaltyBlock {
                document: "Акт оказанных услуг № 311 от 01.09.2025".to_owned(),
                kind: PenaltyKind::KeyRate1300,
                basis: "пени в размере 1/300 ключевой ставки Банка России за каждый день просрочки \
                        (п. 7.2 договора оказания услуг № У-15 от 20.08.2025)"
                    .to_owned(),
                periods: vec![
                    row(d(2025, 10, 2), d(2025, 10, 26), 25, "300000.00", "17", "4250.00"),
                    row(d(2025, 10, 27), d(2025, 11, 10), 15, "300000.00", "16.5", "2475.00"),
                ],
                uncapped_total: rub("6725.00"),
                total: rub("6725.00"),
                cap_note: None,
            },
        ];
        ClaimLetter {
            date: d(2025, 11, 10),
            as_of: d(2025, 11, 10),
            number: some("117/25-Ю"),
            creditor: creditor(),
            debtor: debtor(),
            debts,
            penalties,
            principal_total: rub("1855500.50"),
            penalty_total: rub("175483.90"),
            total: rub("2030984.40"),
            pay_by: d(2025, 11, 20),
            deadline_days: 10,
            signer_post: None,
            signer_name: None,
            seal: true,
        }
    }

    /// A long letter: `n` documents with a contractual penalty each, `periods` periods per penalty.
    pub(super) fn long(n: usize, periods: usize) -> ClaimLetter {
        let mut letter = typical();
        letter.debts.clear();
        letter.penalties.clear();
        let mut principal = Money::ZERO;
        let mut penalty_total = Money::ZERO;
        for i in 0..n {
            let issued = d(2025, 1, 1) + chrono::Days::new(i as u64 * 3);
            let due = issued + chrono::Days::new(30);
            let open = Money::from_minor(1_000_000 + i as i64 * 123_456);
            letter.debts.push(DebtLine {
                document: format!("Реализация товаров и услуг № 0000-{:06} от {}", 1000 + i, words::date_short(issued)),
                contract: some(if i % 2 == 0 {
                    "Договор поставки № Д-1 от 10.01.2024"
                } else {
                    "Договор № 2 от 01.12.2024"
                }),
                issued_on: issued,
                due_on: due,
                amount: open,
                paid: Money::ZERO,
                open,
                days_overdue: 100,
            });
            principal = principal.checked_add(open).expect("small sums");
            if i < 3 {
                let mut rows = Vec::new();
                let mut block_total = Money::ZERO;
                for p in 0..periods {
                    let from = due + chrono::Days::new(1 + p as u64 * 10);
                    let amount = Money::from_minor(open.minor() / 100);
                    rows.push(PenaltyRow {
                        from,
                        to: from + chrono::Days::new(9),
                        days: 10,
                        base: open,
                        rate: dec("0.1"),
                        amount,
                    });
                    block_total = block_total.checked_add(amount).expect("small sums");
                }
                letter.penalties.push(PenaltyBlock {
                    document: letter.debts[i].document.clone(),
                    kind: PenaltyKind::Contractual,
                    basis: "неустойка 0,1 % за каждый день просрочки (договор поставки № Д-1 от 10.01.2024)".to_owned(),
                    periods: rows,
                    uncapped_total: block_total,
                    total: block_total,
                    cap_note: None,
                });
                penalty_total = penalty_total.checked_add(block_total).expect("small sums");
            }
        }
        letter.principal_total = principal;
        letter.penalty_total = penalty_total;
        letter.total = principal.checked_add(penalty_total).expect("small sums");
        letter
    }

    /// The smallest letter: one document, no penalties, no bank details, no number.
    pub(super) fn minimal() -> ClaimLetter {
        let mut letter = typical();
        letter.debts.truncate(1);
        letter.debts[0].contract = None;
        letter.penalties.clear();
        letter.principal_total = letter.debts[0].open;
        letter.penalty_total = Money::ZERO;
        letter.total = letter.principal_total;
        letter.number = None;
        letter.creditor.bank_account = None;
        letter.seal = false;
        letter
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    fn text(letter: &ClaimLetter) -> String {
        compose(letter).iter().flat_map(block_texts).collect::<Vec<_>>().join("\n").replace(NBSP, " ")
    }

    #[test]
    fn sample_letters_add_up() {
        assert_eq!(typical().check(), Ok(()));
        assert_eq!(long(80, 30).check(), Ok(()));
        assert_eq!(minimal().check(), Ok(()));
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
            "в течение 10 календарных дней с даты получения настоящей претензии, но не позднее «20» ноября 2025 г.",
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
    fn ties_keep_numbers_abbreviations_and_short_words_with_what_follows() {
        let tied = |s: &str| tie(s).replace(NBSP, "~");
        assert_eq!(tied("договор подряда № 7/П от 01.04.2025"), "договор подряда №~7/П от 01.04.2025");
        assert_eq!(tied("г. Москва, ул. Тверская, д. 7"), "г.~Москва, ул.~Тверская, д.~7");
        assert_eq!(tied("(п. 6.2 договора)"), "(п.~6.2 договора)");
        assert_eq!(tied("товары в срок и с опозданием"), "товары в~срок и~с~опозданием");
        assert_eq!(tied("долг — 5 руб. (пять)"), "долг~— 5 руб.~(пять)");
        assert_eq!(tied("составляет 10. Однако"), "составляет 10. Однако", "a sentence end is no abbreviation");
        assert_eq!(tied("ООО «Ромашка»"), "ООО «Ромашка»");
        assert_eq!(tied("  два  пробела "), "  два  пробела ");
    }

    #[test]
    fn days_and_contract_names_read_as_russian() {
        assert_eq!(within_days(1), "в течение 1\u{a0}календарного дня");
        assert_eq!(within_days(10), "в течение 10\u{a0}календарных дней");
        assert_eq!(within_days(21), "в течение 21\u{a0}календарного дня");
        assert_eq!(within_days(11), "в течение 11\u{a0}календарных дней");
        assert_eq!(in_sentence("Договор № 1"), "договор № 1");
        assert_eq!(in_sentence("ДКП № 1"), "ДКП № 1");
        assert_eq!(enumerate_and(&["а".into(), "б".into(), "в".into()]), "а, б и в");
    }
}
