//! Sample claim letters: the data of template previews and checks, and of the tests.
//! Figures are those of `receivables::penalties` for these dates and the 2025 key rates.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{ClaimLetter, DebtLine, Party, PenaltyBlock, PenaltyKind, PenaltyRow, sample};
use crate::money::Money;
use crate::templates::Sample;

/// The samples a tenant's template is previewed and checked with, the typical one first.
pub fn all() -> Vec<Sample> {
    vec![
        sample("typical", "Четыре документа по трем договорам, три вида неустойки, ограничение размера", typical()),
        sample("one_contract", "Один договор, проценты по ст. 395 ГК РФ, без банковских реквизитов", one_contract()),
        sample("minimal", "Один документ без договора и неустойки, без номера и реквизитов банка", minimal()),
    ]
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
}

/// Rubles and kopecks as written: `rub(1_250_000, 0)`.
fn rub(rubles: i64, kopecks: i64) -> Money {
    Money::from_minor(rubles * 100 + kopecks)
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

pub(crate) fn creditor() -> Party {
    Party {
        name: "ООО «Торговый дом „Север“»".to_owned(),
        name_instrumental: None,
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

pub(crate) fn debtor() -> Party {
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

fn row(from: NaiveDate, to: NaiveDate, days: i64, base: Money, rate: Decimal, amount: Money) -> PenaltyRow {
    PenaltyRow { from, to, days, base, rate, amount }
}

/// A typical letter: four documents, three penalties (one of each kind, the contractual one
/// capped).
pub(crate) fn typical() -> ClaimLetter {
    let debts = vec![
        DebtLine {
            document: "Реализация товаров и услуг № 0000-000123 от 01.02.2025".to_owned(),
            contract: some("Договор поставки № Д-1 от 10.01.2024"),
            issued_on: d(2025, 2, 1),
            due_on: d(2025, 3, 3),
            amount: rub(1_250_000, 0),
            paid: rub(250_000, 0),
            open: rub(1_000_000, 0),
            days_overdue: 252,
        },
        DebtLine {
            document: "Акт выполненных работ № 45 от 15.04.2025".to_owned(),
            contract: some("Договор подряда № 7/П от 01.04.2025"),
            issued_on: d(2025, 4, 15),
            due_on: d(2025, 5, 15),
            amount: rub(480_000, 0),
            paid: Money::ZERO,
            open: rub(480_000, 0),
            days_overdue: 179,
        },
        DebtLine {
            document: "Акт оказанных услуг № 311 от 01.09.2025".to_owned(),
            contract: some("Договор оказания услуг № У-15 от 20.08.2025"),
            issued_on: d(2025, 9, 1),
            due_on: d(2025, 10, 1),
            amount: rub(300_000, 0),
            paid: Money::ZERO,
            open: rub(300_000, 0),
            days_overdue: 40,
        },
        DebtLine {
            document: "Реализация товаров и услуг № 0000-000140 от 20.10.2025".to_owned(),
            contract: some("Договор поставки № Д-1 от 10.01.2024"),
            issued_on: d(2025, 10, 20),
            due_on: d(2025, 11, 3),
            amount: rub(75_500, 50),
            paid: Money::ZERO,
            open: rub(75_500, 50),
            days_overdue: 7,
        },
    ];
    let penalties = vec![
        PenaltyBlock {
            document: "Реализация товаров и услуг № 0000-000123 от 01.02.2025".to_owned(),
            kind: PenaltyKind::Contractual,
            basis: "неустойка 0,1 % от неоплаченной суммы за каждый день просрочки \
                    (п. 6.2 договора поставки № Д-1 от 10.01.2024)"
                .to_owned(),
            periods: vec![row(d(2025, 3, 4), d(2025, 11, 10), 252, rub(1_000_000, 0), Decimal::new(1, 1), rub(252_000, 0))],
            uncapped_total: rub(252_000, 0),
            total: rub(125_000, 0),
            cap_note: some("не более 10 % от цены договора, п. 6.3 договора"),
        },
        PenaltyBlock {
            document: "Акт выполненных работ № 45 от 15.04.2025".to_owned(),
            kind: PenaltyKind::Art395,
            basis: "проценты за пользование чужими денежными средствами по ст. 395 ГК РФ \
                    (договором неустойка не предусмотрена)"
                .to_owned(),
            periods: vec![
                row(d(2025, 5, 16), d(2025, 6, 8), 24, rub(480_000, 0), Decimal::new(21, 0), rub(6_627, 95)),
                row(d(2025, 6, 9), d(2025, 7, 27), 49, rub(480_000, 0), Decimal::new(20, 0), rub(12_887, 67)),
                row(d(2025, 7, 28), d(2025, 9, 14), 49, rub(480_000, 0), Decimal::new(18, 0), rub(11_598, 90)),
                row(d(2025, 9, 15), d(2025, 10, 26), 42, rub(480_000, 0), Decimal::new(17, 0), rub(9_389, 59)),
                row(d(2025, 10, 27), d(2025, 11, 10), 15, rub(480_000, 0), Decimal::new(165, 1), rub(3_254, 79)),
            ],
            uncapped_total: rub(43_758, 90),
            total: rub(43_758, 90),
            cap_note: None,
        },
        PenaltyBlock {
            document: "Акт оказанных услуг № 311 от 01.09.2025".to_owned(),
            kind: PenaltyKind::KeyRate1300,
            basis: "пени в размере 1/300 ключевой ставки Банка России за каждый день просрочки \
                    (п. 7.2 договора оказания услуг № У-15 от 20.08.2025)"
                .to_owned(),
            periods: vec![
                row(d(2025, 10, 2), d(2025, 10, 26), 25, rub(300_000, 0), Decimal::new(17, 0), rub(4_250, 0)),
                row(d(2025, 10, 27), d(2025, 11, 10), 15, rub(300_000, 0), Decimal::new(165, 1), rub(2_475, 0)),
            ],
            uncapped_total: rub(6_725, 0),
            total: rub(6_725, 0),
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
        principal_total: rub(1_855_500, 50),
        penalty_total: rub(175_483, 90),
        total: rub(2_030_984, 40),
        pay_by: None,
        deadline_days: 10,
        deadline_mode: super::DeadlineMode::FromReceipt,
        penalties_grow: true,
        key_rate_note: None,
        signer_post: None,
        signer_name: None,
        seal: true,
    }
}

/// One contract, interest under art. 395 only, no bank account and no number.
pub(crate) fn one_contract() -> ClaimLetter {
    let mut letter = typical();
    for debt in &mut letter.debts {
        debt.contract = some("Договор поставки № Д-1 от 10.01.2024");
    }
    letter.penalties.retain(|p| p.kind == PenaltyKind::Art395);
    letter.penalty_total = rub(43_758, 90);
    letter.total = rub(1_899_259, 40);
    letter.creditor.bank_account = None;
    letter.number = None;
    letter
}

/// The smallest letter: one document, no penalties, no bank details, no number.
pub(crate) fn minimal() -> ClaimLetter {
    let mut letter = typical();
    letter.debts.truncate(1);
    if let Some(debt) = letter.debts.first_mut() {
        debt.contract = None;
        letter.principal_total = debt.open;
    }
    letter.penalties.clear();
    letter.penalty_total = Money::ZERO;
    letter.total = letter.principal_total;
    letter.penalties_grow = false;
    letter.number = None;
    letter.creditor.bank_account = None;
    letter.seal = false;
    letter
}

/// A long letter: `n` documents with a contractual penalty on the first three, `periods`
/// periods each.
#[cfg(test)]
pub(crate) fn long(n: usize, periods: usize) -> ClaimLetter {
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
            document: format!("Реализация товаров и услуг № 0000-{:06} от {}", 1000 + i, super::words::date_short(issued)),
            contract: some(if i % 2 == 0 { "Договор поставки № Д-1 от 10.01.2024" } else { "Договор № 2 от 01.12.2024" }),
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
                rows.push(row(from, from + chrono::Days::new(9), 10, open, Decimal::new(1, 1), amount));
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
