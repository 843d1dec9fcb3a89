//! [`demo`]: a small, realistic base for a newcomer's walk-through.

use base64::Engine as _;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ORGANISATIONS, SALE_TYPE, UNDEFINED_TYPE, splitmix64};
use crate::{Dataset, EMPTY_DATE, EMPTY_GUID, EntitySet};

/// How a client pays.
#[derive(Debug, Clone, Copy)]
enum Pays {
    /// On the due date or up to three days early.
    OnTime,
    /// `lo..=hi` days after the due date; the last document is `open` days overdue today
    /// (and, `open` < `lo`, still unpaid).
    Late { lo: i64, hi: i64, open: i64 },
    /// On time until `stopped` days ago, nothing since; its last document is `last` days old.
    Stopped { stopped: i64, last: i64 },
    /// In full, one to five days before the shipment.
    Prepays,
    /// On time, except one document paid half, the payment naming it.
    Partial,
}

struct Client {
    short: &'static str,
    full: &'static str,
    region: u64,
    /// `None`: the contract sets no payment term (`УстановленСрокОплаты` false).
    deferral: Option<i64>,
    pays: Pays,
}

const fn c(short: &'static str, full: &'static str, region: u64, deferral: Option<i64>, pays: Pays) -> Client {
    Client { short, full, region, deferral, pays }
}

const LATE_1_30: Pays = Pays::Late { lo: 20, hi: 35, open: 12 };
const LATE_31_60: Pays = Pays::Late { lo: 55, hi: 70, open: 45 };
const LATE_61_90: Pays = Pays::Late { lo: 85, hi: 100, open: 75 };
const LATE_91_180: Pays = Pays::Late { lo: 150, hi: 170, open: 120 };
const OVER_180: Pays = Pays::Stopped { stopped: 260, last: 215 };

/// Index of the client whose ИНН has a wrong check digit.
const BAD_INN: usize = 7;
/// Index of the client whose contract is the nameless «Основной договор» without number
/// and date.
const BASIC_CONTRACT: usize = 4;

const CLIENTS: [Client; 25] = [
    c("ООО \"Северная Звезда\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"СЕВЕРНАЯ ЗВЕЗДА\"", 78, Some(30), Pays::OnTime),
    c("АО \"Уралтехснаб\"", "АКЦИОНЕРНОЕ ОБЩЕСТВО \"УРАЛТЕХСНАБ\"", 66, Some(45), Pays::OnTime),
    c("ООО \"Торговый дом Волга\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ТОРГОВЫЙ ДОМ ВОЛГА\"", 52, Some(14), Pays::OnTime),
    c("ООО \"СтройМаркет\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"СТРОЙМАРКЕТ\"", 77, None, Pays::OnTime),
    c("ИП Смирнов Андрей Викторович", "Индивидуальный предприниматель Смирнов Андрей Викторович", 50, Some(0), Pays::OnTime),
    c("ООО \"Альфа-Логистик\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"АЛЬФА-ЛОГИСТИК\"", 77, Some(30), Pays::OnTime),
    c("АО \"Балтпромсервис\"", "АКЦИОНЕРНОЕ ОБЩЕСТВО \"БАЛТПРОМСЕРВИС\"", 78, Some(60), Pays::OnTime),
    c("ООО \"Вектор Плюс\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ВЕКТОР ПЛЮС\"", 16, Some(30), Pays::OnTime),
    c("ООО \"Ромашка\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"РОМАШКА\"", 50, Some(14), LATE_1_30),
    c("ООО \"ТехноПарк\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ТЕХНОПАРК\"", 54, Some(30), LATE_1_30),
    c("ИП Кузнецова Ольга Сергеевна", "Индивидуальный предприниматель Кузнецова Ольга Сергеевна", 63, Some(0), LATE_1_30),
    c("ООО \"Сибирский лес\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"СИБИРСКИЙ ЛЕС\"", 24, Some(45), LATE_1_30),
    c("ООО \"ГрандОфис\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ГРАНДОФИС\"", 77, Some(30), LATE_31_60),
    c("АО \"Энергокомплект\"", "АКЦИОНЕРНОЕ ОБЩЕСТВО \"ЭНЕРГОКОМПЛЕКТ\"", 74, Some(45), LATE_31_60),
    c("ООО \"Меридиан\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"МЕРИДИАН\"", 61, Some(14), LATE_31_60),
    c("ООО \"Кубань-Агро\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"КУБАНЬ-АГРО\"", 23, Some(30), LATE_61_90),
    c("ООО \"Профмонтаж\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ПРОФМОНТАЖ\"", 36, Some(14), LATE_61_90),
    c("ООО \"Невские окна\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"НЕВСКИЕ ОКНА\"", 78, Some(30), LATE_91_180),
    c("ИП Волков Дмитрий Игоревич", "Индивидуальный предприниматель Волков Дмитрий Игоревич", 47, Some(0), LATE_91_180),
    c("ООО \"Атлант\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"АТЛАНТ\"", 77, Some(30), OVER_180),
    c("ООО \"Магистраль-Строй\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"МАГИСТРАЛЬ-СТРОЙ\"", 34, Some(45), OVER_180),
    c("АО \"ФармаЛайн\"", "АКЦИОНЕРНОЕ ОБЩЕСТВО \"ФАРМАЛАЙН\"", 77, Some(0), Pays::Prepays),
    c("ООО \"Интерком\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ИНТЕРКОМ\"", 59, Some(0), Pays::Prepays),
    c("ООО \"Дельта Трейд\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ДЕЛЬТА ТРЕЙД\"", 55, Some(30), Pays::Partial),
    c("ООО \"Глобал Импорт\"", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ГЛОБАЛ ИМПОРТ\"", 39, Some(30), Pays::OnTime),
];

/// Sales documents per client; 25 × 8 = 200, plus the four special ones.
const DOCS_PER_CLIENT: i64 = 8;
/// The oldest documents are about 14 months old.
const HISTORY_DAYS: i64 = 425;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        splitmix64(self.0)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

fn key(kind: &str, n: usize) -> String {
    const NAMESPACE: Uuid = Uuid::from_u128(0x1c0da7a0_0000_4000_8000_00000000de30);
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{n}").as_bytes()).to_string()
}

fn data_version(key: &str) -> String {
    let h = splitmix64(key.bytes().fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b)));
    base64::engine::general_purpose::STANDARD.encode(h.to_be_bytes())
}

fn dt(d: NaiveDateTime) -> String {
    d.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn amount(kopecks: i64) -> Value {
    json!(kopecks as f64 / 100.0)
}

struct Doc {
    client: usize,
    date: NaiveDateTime,
    kopecks: i64,
}

struct Pay {
    client: usize,
    date: NaiveDateTime,
    kopecks: i64,
    /// The index in `docs` of the document the payment names, if it names one.
    names: Option<usize>,
}

/// A small, realistic base dated relative to `today`: 25 clients (ООО, АО, ИП, valid
/// generated ИНН/КПП), one contract each with various deferrals, 204 sales documents
/// over the last 14 months and their payments.
///
/// As of `today`, by design:
/// - 8 clients pay on time (up to three days early); two prepay (ФармаЛайн, Интерком);
/// - Ромашка, ТехноПарк, ИП Кузнецова, Сибирский лес owe 1–30 days overdue;
///   ГрандОфис, Энергокомплект, Меридиан 31–60; Кубань-Агро, Профмонтаж 61–90;
///   Невские окна, ИП Волков 91–180; Атлант and Магистраль-Строй stopped paying eight
///   months ago and are over 180 days overdue;
/// - Дельта Трейд paid one document half, the payment naming that document
///   (`ПоДокументу`); every fourth other payment names its document too, the rest are
///   `Автоматически`;
/// - СтройМаркет's contract sets no payment term (`УстановленСрокОплаты` false); ИП
///   Смирнов's is the nameless «Основной договор» with no number and the empty date.
///
/// Deliberate defects, each something the sync must reject or skip:
/// - ООО "Вектор Плюс" has an ИНН with a wrong check digit;
/// - one sales document (Северная Звезда) has a negative amount, −12 500.00;
/// - one payment names a counterparty that does not exist (and no contract);
/// - one sales document (Уралтехснаб) is marked for deletion (and unposted);
/// - one sales document (Торговый дом Волга, dated yesterday) is not posted;
/// - one incoming payment is `ПрочееПоступление` (a supplier's refund), not a customer's
///   payment, so `$filter=ВидОперации eq 'ОплатаПокупателя'` leaves it out;
/// - one sales document (Глобал Импорт) is in US dollars.
pub fn demo(today: NaiveDate) -> Dataset {
    let mut rng = Rng(0x0de3_0001);
    let at =
        |days_ago: i64, minutes: i64| (today - TimeDelta::days(days_ago)).and_time(NaiveTime::MIN) + TimeDelta::minutes(9 * 60 + minutes);
    let rub = key("currency", 0);
    let usd = key("currency", 1);
    let org = |client: usize| ORGANISATIONS[usize::from(client % 6 == 5)];

    // Counterparties and contracts.
    let mut counterparties = Vec::new();
    let mut contracts = Vec::new();
    for (n, cl) in CLIENTS.iter().enumerate() {
        let sole = cl.short.starts_with("ИП ");
        let (inn, kpp) = if sole {
            let inn = crate::inn::inn12(cl.region * 100_000_000 + rng.next() % 100_000_000);
            (String::from_utf8_lossy(&inn).into_owned(), String::new())
        } else {
            let inn = crate::inn::inn10(cl.region * 10_000_000 + rng.next() % 10_000_000);
            (String::from_utf8_lossy(&inn).into_owned(), format!("{:02}{:02}01001", cl.region, rng.range(1, 45)))
        };
        let inn = if n == BAD_INN {
            // The last digit off by one: a typo 1C itself would have warned about.
            let mut b = inn.into_bytes();
            let last = b.len() - 1;
            b[last] = b'0' + (b[last] - b'0' + 1) % 10;
            String::from_utf8_lossy(&b).into_owned()
        } else {
            inn
        };
        let cp = key("counterparty", n);
        counterparties.push(json!({
            "Ref_Key": cp,
            "DataVersion": data_version(&cp),
            "DeletionMark": false,
            "Parent_Key": EMPTY_GUID,
            "IsFolder": false,
            "Code": format!("{:09}", n + 1),
            "Description": cl.short,
            "НаименованиеПолное": cl.full,
            "ИНН": inn,
            "КПП": kpp,
            "ЮридическоеФизическоеЛицо": if sole { "ФизическоеЛицо" } else { "ЮридическоеЛицо" },
        }));
        let contract = key("contract", n);
        let signed = today - TimeDelta::days(rng.range(HISTORY_DAYS + 10, 1500));
        let number = format!("ДП-{:02}/{:03}", signed.year() % 100, n + 1);
        let (description, number, date) = if n == BASIC_CONTRACT {
            ("Основной договор".to_owned(), String::new(), EMPTY_DATE.to_owned())
        } else {
            (format!("Договор поставки № {number} от {}", signed.format("%d.%m.%Y")), number, dt(signed.and_time(NaiveTime::MIN)))
        };
        contracts.push(json!({
            "Ref_Key": contract,
            "DataVersion": data_version(&contract),
            "DeletionMark": false,
            "Parent_Key": EMPTY_GUID,
            "IsFolder": false,
            "Owner_Key": cp,
            "Code": format!("{:09}", n + 1),
            "Description": description,
            "Номер": number,
            "Дата": date,
            "Организация_Key": org(n),
            "ВидДоговора": "СПокупателем",
            "ВалютаВзаиморасчетов_Key": rub,
            "УстановленСрокОплаты": cl.deferral.is_some(),
            "СрокОплаты": cl.deferral.unwrap_or(0),
        }));
    }

    // Sales documents: eight per client, the newest placed so that the client's ageing
    // lands where its profile says, the oldest about 14 months back.
    let mut docs: Vec<Doc> = Vec::new();
    let mut pays: Vec<Pay> = Vec::new();
    for (n, cl) in CLIENTS.iter().enumerate() {
        let deferral = cl.deferral.unwrap_or(0);
        let newest = match cl.pays {
            Pays::Late { open, .. } => deferral + open,
            Pays::Stopped { last, .. } => last,
            _ => rng.range(1, 20),
        };
        let step = (HISTORY_DAYS - newest) / (DOCS_PER_CLIENT - 1);
        let first_doc = docs.len();
        for m in 0..DOCS_PER_CLIENT {
            let jitter = if m == 0 { 0 } else { rng.range(0, step / 4) };
            let age = newest + m * step + jitter;
            let kopecks = rng.range(1_500_000, 90_000_000);
            docs.push(Doc { client: n, date: at(age, rng.range(0, 480)), kopecks });
        }
        // Payments for them.
        let partial = first_doc + 1; // Дельта Трейд's half-paid document: its second newest.
        for (d, doc) in docs.iter().enumerate().skip(first_doc) {
            let (date, kopecks) = (doc.date, doc.kopecks);
            let due = date.date() + TimeDelta::days(deferral);
            let paid_on = match cl.pays {
                Pays::OnTime | Pays::Partial => due - TimeDelta::days(rng.range(0, 3)),
                Pays::Late { lo, hi, .. } => due + TimeDelta::days(rng.range(lo, hi)),
                Pays::Stopped { stopped, .. } if date.date() < today - TimeDelta::days(stopped) => due + TimeDelta::days(rng.range(0, 10)),
                Pays::Stopped { .. } => continue,
                Pays::Prepays => date.date() - TimeDelta::days(rng.range(1, 5)),
            };
            // Only a prepayment comes before the shipment.
            let paid_on = if matches!(cl.pays, Pays::Prepays) { paid_on } else { paid_on.max(date.date()) };
            if paid_on > today {
                continue;
            }
            let half = matches!(cl.pays, Pays::Partial) && d == partial;
            let names = (half || pays.len() % 4 == 3).then_some(d);
            let kopecks = if half { kopecks / 2 } else { kopecks };
            pays.push(Pay { client: n, date: paid_on.and_time(NaiveTime::MIN) + TimeDelta::minutes(rng.range(600, 1020)), kopecks, names });
        }
    }

    // Numbers follow the dates, as 1C numbers documents when they are entered.
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by_key(|&d| docs[d].date);
    let mut number_of = vec![0usize; docs.len()];
    for (num, &d) in order.iter().enumerate() {
        number_of[d] = num + 1;
    }

    let client_keys = |n: usize| (key("counterparty", n), key("contract", n));
    let sale = |d: usize, number: usize, doc: &Doc, posted: bool, deleted: bool, currency: &str| {
        let (cp, contract) = client_keys(doc.client);
        let k = key("sale", d);
        json!({
            "Ref_Key": k,
            "DataVersion": data_version(&k),
            "Number": format!("0000-{number:06}"),
            "Date": dt(doc.date),
            "Posted": posted,
            "DeletionMark": deleted,
            "ВидОперации": "Товары",
            "Организация_Key": org(doc.client),
            "Контрагент_Key": cp,
            "ДоговорКонтрагента_Key": contract,
            "ВалютаДокумента_Key": currency,
            "СуммаДокумента": amount(doc.kopecks),
        })
    };
    let mut sales: Vec<Value> = docs.iter().enumerate().map(|(d, doc)| sale(d, number_of[d], doc, true, false, &rub)).collect();
    // The deliberate defects among sales documents.
    let specials = [
        (Doc { client: 0, date: at(20, 30), kopecks: -1_250_000 }, true, false, &rub), // negative amount
        (Doc { client: 1, date: at(40, 90), kopecks: 4_815_000 }, false, true, &rub),  // marked for deletion
        (Doc { client: 2, date: at(1, 200), kopecks: 2_730_050 }, false, false, &rub), // not posted
        (Doc { client: 24, date: at(25, 60), kopecks: 1_200_050 }, true, false, &usd), // in US dollars
    ];
    for (n, (doc, posted, deleted, currency)) in specials.iter().enumerate() {
        sales.push(sale(docs.len() + n, docs.len() + n + 1, doc, *posted, *deleted, currency));
    }

    pays.sort_by_key(|p| p.date);
    let mut payments: Vec<Value> = Vec::new();
    let payment =
        |j: usize, client: Option<usize>, date: NaiveDateTime, kopecks: i64, names: Option<usize>, kind: &str, purpose: String| {
            let (cp, contract) = match client {
                Some(n) => client_keys(n),
                // A counterparty that is not in the catalog (deleted outright in 1C).
                None => (key("counterparty", 999), EMPTY_GUID.to_owned()),
            };
            let k = key("payment", j);
            let (way, deal, deal_type) = match names {
                Some(d) => ("ПоДокументу", key("sale", d), SALE_TYPE),
                None => ("Автоматически", EMPTY_GUID.to_owned(), UNDEFINED_TYPE),
            };
            json!({
                "Ref_Key": k,
                "DataVersion": data_version(&k),
                "Number": format!("0000-{:06}", j + 1),
                "Date": dt(date),
                "Posted": true,
                "DeletionMark": false,
                "ВидОперации": kind,
                "Организация_Key": client.map_or(ORGANISATIONS[0], org),
                "Контрагент_Key": cp,
                "ДоговорКонтрагента_Key": contract,
                "ВалютаДокумента_Key": rub,
                "СуммаДокумента": amount(kopecks),
                "НазначениеПлатежа": purpose,
                "РасшифровкаПлатежа": [{
                    "LineNumber": "1",
                    "ДоговорКонтрагента_Key": contract,
                    "СуммаПлатежа": amount(kopecks),
                    "СпособПогашенияЗадолженности": way,
                    "Сделка": deal,
                    "Сделка_Type": deal_type,
                }],
            })
        };
    for (j, p) in pays.iter().enumerate() {
        let purpose = match p.names {
            Some(d) => format!("Оплата по реализации № 0000-{:06} от {}. В т.ч. НДС (20%)", number_of[d], docs[d].date.format("%d.%m.%Y")),
            None => "Оплата по договору поставки. В т.ч. НДС (20%)".to_owned(),
        };
        payments.push(payment(j, Some(p.client), p.date, p.kopecks, p.names, "ОплатаПокупателя", purpose));
    }
    let j = payments.len();
    payments.push(payment(j, None, at(9, 120), 500_000, None, "ОплатаПокупателя", "Оплата по счету № 118. Без НДС".into()));
    payments.push(payment(
        j + 1,
        Some(5),
        at(33, 45),
        1_830_000,
        None,
        "ПрочееПоступление",
        "Возврат излишне перечисленных средств".into(),
    ));

    let currencies = vec![
        json!({"Ref_Key": rub, "DataVersion": data_version(&rub), "DeletionMark": false, "Code": "643", "Description": "руб.", "НаименованиеПолное": "Российский рубль"}),
        json!({"Ref_Key": usd, "DataVersion": data_version(&usd), "DeletionMark": false, "Code": "840", "Description": "USD", "НаименованиеПолное": "Доллар США"}),
    ];

    Dataset::new()
        .with(EntitySet::Counterparties, counterparties)
        .with(EntitySet::Contracts, contracts)
        .with(EntitySet::Sales, sales)
        .with(EntitySet::Payments, payments)
        .with(EntitySet::Currencies, currencies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;
    use std::collections::HashMap;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
    }

    fn date(v: &Value) -> NaiveDate {
        NaiveDateTime::parse_from_str(v.as_str().unwrap(), "%Y-%m-%dT%H:%M:%S").unwrap().date()
    }

    fn kop(v: &Value) -> i64 {
        (v.as_f64().unwrap() * 100.0).round() as i64
    }

    /// Days the oldest unpaid part of each client's debt is overdue today, payments
    /// applied to the oldest documents first (as 1C's «Автоматически» does).
    fn ageing(ds: &Dataset, today: NaiveDate) -> HashMap<String, i64> {
        let deferral: HashMap<&str, i64> = ds
            .records(EntitySet::Contracts)
            .iter()
            .map(|c| (c["Owner_Key"].as_str().unwrap(), c["СрокОплаты"].as_i64().unwrap()))
            .collect();
        let mut out = HashMap::new();
        for cp in ds.records(EntitySet::Counterparties) {
            let key = cp["Ref_Key"].as_str().unwrap();
            let mut docs: Vec<(NaiveDate, i64)> = ds
                .records(EntitySet::Sales)
                .iter()
                .filter(|d| d["Контрагент_Key"] == key && d["Posted"] == true && kop(&d["СуммаДокумента"]) > 0)
                .map(|d| (date(&d["Date"]) + TimeDelta::days(deferral[key]), kop(&d["СуммаДокумента"])))
                .collect();
            docs.sort();
            let mut paid: i64 = ds
                .records(EntitySet::Payments)
                .iter()
                .filter(|p| p["Контрагент_Key"] == key && p["ВидОперации"] == "ОплатаПокупателя")
                .map(|p| kop(&p["СуммаДокумента"]))
                .sum();
            let mut oldest = 0;
            for (due, k) in docs {
                if paid >= k {
                    paid -= k;
                } else {
                    paid = 0;
                    oldest = (today - due).num_days().max(0);
                    break;
                }
            }
            out.insert(cp["Description"].as_str().unwrap().to_owned(), oldest);
        }
        out
    }

    #[test]
    fn the_demo_has_clients_in_every_ageing_bucket() {
        let ds = demo(today());
        let ageing = ageing(&ds, today());
        let in_bucket = |lo: i64, hi: i64| ageing.values().filter(|&&d| d >= lo && d <= hi).count();
        assert!(in_bucket(0, 0) >= 8, "{ageing:?}");
        for (lo, hi) in [(1, 30), (31, 60), (61, 90), (91, 180), (181, i64::MAX)] {
            assert!(in_bucket(lo, hi) >= 2, "bucket {lo}..{hi}: {ageing:?}");
        }
        assert!(ageing["ООО \"Атлант\""] > 180, "{ageing:?}");
        assert_eq!(ageing["АО \"ФармаЛайн\""], 0, "{ageing:?}");
    }

    #[test]
    fn the_demo_is_about_the_promised_size_and_within_fourteen_months() {
        let ds = demo(today());
        assert_eq!(ds.len(EntitySet::Counterparties), 25);
        assert_eq!(ds.len(EntitySet::Contracts), 25);
        assert_eq!(ds.len(EntitySet::Sales), 204);
        assert!(ds.len(EntitySet::Payments) > 120, "{}", ds.len(EntitySet::Payments));
        for set in [EntitySet::Sales, EntitySet::Payments] {
            for r in ds.records(set) {
                let d = date(&r["Date"]);
                assert!(d <= today() && d >= today() - TimeDelta::days(440), "{set} {d}");
            }
        }
    }

    #[test]
    fn the_demo_contains_each_deliberate_defect_once() {
        let ds = demo(today());
        let bad_inn: Vec<_> = ds
            .records(EntitySet::Counterparties)
            .iter()
            .filter(|c| !crate::inn::is_valid(c["ИНН"].as_str().unwrap()))
            .map(|c| c["Description"].as_str().unwrap())
            .collect();
        assert_eq!(bad_inn, ["ООО \"Вектор Плюс\""]);
        let sales = ds.records(EntitySet::Sales);
        assert_eq!(sales.iter().filter(|s| s["СуммаДокумента"].as_f64().unwrap() < 0.0).count(), 1);
        assert_eq!(sales.iter().filter(|s| s["DeletionMark"] == true).count(), 1);
        assert_eq!(sales.iter().filter(|s| s["Posted"] == false && s["DeletionMark"] == false).count(), 1);
        let payments = ds.records(EntitySet::Payments);
        let orphans = payments.iter().filter(|p| ds.get(EntitySet::Counterparties, p["Контрагент_Key"].as_str().unwrap()).is_none());
        assert_eq!(orphans.count(), 1);
        assert_eq!(payments.iter().filter(|p| p["ВидОперации"] != "ОплатаПокупателя").count(), 1);
        // The partial payment names its document and pays half of it.
        let halves: Vec<_> = payments
            .iter()
            .filter(|p| {
                let line = &p["РасшифровкаПлатежа"][0];
                line["СпособПогашенияЗадолженности"] == "ПоДокументу"
                    && ds
                        .get(EntitySet::Sales, line["Сделка"].as_str().unwrap())
                        .is_some_and(|s| kop(&s["СуммаДокумента"]) / 2 == kop(&line["СуммаПлатежа"]))
            })
            .collect();
        assert_eq!(halves.len(), 1);
        // Every document a payment names exists and belongs to the payer.
        for p in payments {
            let line = &p["РасшифровкаПлатежа"][0];
            if line["Сделка_Type"] == SALE_TYPE {
                let s = ds.get(EntitySet::Sales, line["Сделка"].as_str().unwrap()).expect("named document exists");
                assert_eq!(s["Контрагент_Key"], p["Контрагент_Key"]);
            }
        }
    }

    #[test]
    fn the_demo_is_the_same_for_the_same_day() {
        assert_eq!(demo(today()), demo(today()));
    }
}
