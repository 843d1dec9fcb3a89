//! Generated bases: [`Generated`], any size, every record a pure function of (seed,
//! set, index) so nothing is stored; and [`demo`], a small realistic base.

use std::borrow::Cow;

use base64::Engine as _;
use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use crate::json::{self, Obj};
use crate::{EMPTY_GUID, EntitySet, Scalar, Select, Source};

mod demo;

pub use demo::demo;

/// `Catalog_Контрагенты` properties, in the order written.
pub const COUNTERPARTY_FIELDS: &[&str] = &[
    "Ref_Key",
    "DataVersion",
    "DeletionMark",
    "Parent_Key",
    "IsFolder",
    "Code",
    "Description",
    "НаименованиеПолное",
    "ИНН",
    "КПП",
    "ЮридическоеФизическоеЛицо",
];

/// `Catalog_ДоговорыКонтрагентов` properties, in the order written.
pub const CONTRACT_FIELDS: &[&str] = &[
    "Ref_Key",
    "DataVersion",
    "DeletionMark",
    "Parent_Key",
    "IsFolder",
    "Owner_Key",
    "Code",
    "Description",
    "Номер",
    "Дата",
    "Организация_Key",
    "ВидДоговора",
    "ВалютаВзаиморасчетов_Key",
    "УстановленСрокОплаты",
    "СрокОплаты",
];

/// `Document_РеализацияТоваровУслуг` properties, in the order written (the tabular part
/// `Товары` is not served).
pub const SALE_FIELDS: &[&str] = &[
    "Ref_Key",
    "DataVersion",
    "Number",
    "Date",
    "Posted",
    "DeletionMark",
    "ВидОперации",
    "Организация_Key",
    "Контрагент_Key",
    "ДоговорКонтрагента_Key",
    "ВалютаДокумента_Key",
    "СуммаДокумента",
];

/// `Document_ПоступлениеНаРасчетныйСчет` properties, in the order written.
pub const PAYMENT_FIELDS: &[&str] = &[
    "Ref_Key",
    "DataVersion",
    "Number",
    "Date",
    "Posted",
    "DeletionMark",
    "ВидОперации",
    "Организация_Key",
    "Контрагент_Key",
    "ДоговорКонтрагента_Key",
    "ВалютаДокумента_Key",
    "СуммаДокумента",
    "НазначениеПлатежа",
    "РасшифровкаПлатежа",
];

/// `Catalog_Партнеры` properties (УТ 11), in the order written.
pub const PARTNER_FIELDS: &[&str] = &["Ref_Key", "DataVersion", "DeletionMark", "Description", "ОсновнойМенеджер_Key"];

/// `Catalog_Пользователи` properties, in the order written.
pub const USER_FIELDS: &[&str] = &["Ref_Key", "DataVersion", "DeletionMark", "Description"];

/// `Catalog_Валюты` properties, in the order written.
pub const CURRENCY_FIELDS: &[&str] = &["Ref_Key", "DataVersion", "DeletionMark", "Code", "Description", "НаименованиеПолное"];

/// The two organisations (own legal entities) every generated document belongs to.
pub const ORGANISATIONS: [&str; 2] = ["5e0f6a10-1c3b-11ef-8a3e-00155d010a01", "5e0f6a10-1c3b-11ef-8a3e-00155d010a02"];

/// `Сделка_Type` of a payment line naming a sales document.
pub const SALE_TYPE: &str = "StandardODATA.Document_РеализацияТоваровУслуг";

/// `Сделка_Type` of a payment line naming nothing.
pub const UNDEFINED_TYPE: &str = "StandardODATA.Undefined";

/// The contractual deferrals (`СрокОплаты`, days) contracts get.
pub const DEFERRALS: [u32; 5] = [0, 14, 30, 45, 60];

/// How many days back the first sales document is dated (the last is dated today).
pub const SALES_SPAN_DAYS: u64 = 1095;

/// A base of any size that stores nothing: every record is a pure function of
/// (`seed`, set, index), and `Ref_Key`s sort in index order.
///
/// - Counterparty *c*: a valid, unique ИНН (unique below 72 million counterparties),
///   every 10th (*c* % 10 = 9) a sole proprietor with a 12-digit ИНН and no КПП.
/// - Contract *c*: the one contract of counterparty *c*, deferral from [`DEFERRALS`].
/// - Sales document *i*: a pseudo-random counterparty, dated evenly over the last
///   [`SALES_SPAN_DAYS`] days (monotone in *i*), 1 000.00 … 500 000.00 RUB; every 997th
///   unposted, every 1009th marked for deletion.
/// - Payment *j*: pays document *j* mod `sales`, around its due date (a 30 %
///   prepayment when that would be after `today`; else 90 % pay in full, 10 % half);
///   every third names its document; every 50th is `ПрочееПоступление`.
/// - Currencies: RUB and USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub counterparties: usize,
    pub sales: usize,
    pub payments: usize,
    pub seed: u64,
    /// No date in the base is after this one.
    pub today: NaiveDate,
}

/// A generated counterparty, as numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterparty {
    pub index: usize,
    /// An individual entrepreneur (12-digit ИНН, no КПП).
    pub sole_proprietor: bool,
    pub inn: String,
    /// Empty for a sole proprietor.
    pub kpp: String,
}

/// A generated contract, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// Also its counterparty's index.
    pub index: usize,
    pub date: NaiveDate,
    pub deferral_days: u32,
    /// Index into [`ORGANISATIONS`].
    pub organisation: usize,
}

/// A generated sales document, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sale {
    pub index: usize,
    /// The counterparty's (and its contract's) index.
    pub counterparty: usize,
    pub date: NaiveDateTime,
    pub amount_kopecks: i64,
    pub posted: bool,
    pub deleted: bool,
    /// Index into [`ORGANISATIONS`].
    pub organisation: usize,
}

/// A generated incoming payment, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payment {
    pub index: usize,
    /// The sales document it pays.
    pub document: usize,
    /// That document's date.
    pub document_date: NaiveDateTime,
    /// The counterparty's (and its contract's) index.
    pub counterparty: usize,
    pub date: NaiveDateTime,
    pub amount_kopecks: i64,
    /// A 30 % payment dated at the document's date (the due date had not come yet).
    pub prepayment: bool,
    /// The line names the document (`ПоДокументу`); else `Автоматически`.
    pub names_document: bool,
    /// `ОплатаПокупателя`; else `ПрочееПоступление`.
    pub customer_payment: bool,
    /// Index into [`ORGANISATIONS`].
    pub organisation: usize,
}

/// The second group of a generated `Ref_Key`, telling the sets apart.
fn tag(set: EntitySet) -> u16 {
    match set {
        EntitySet::Counterparties => 0xca01,
        EntitySet::Contracts => 0xca02,
        EntitySet::Currencies => 0xca03,
        EntitySet::Partners => 0xca04,
        EntitySet::Users => 0xca05,
        EntitySet::Sales => 0xd0c1,
        EntitySet::Payments => 0xd0c2,
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn put_hex(slot: &mut [u8], mut n: u64) {
    for d in slot.iter_mut().rev() {
        *d = HEX[(n & 0xf) as usize];
        n >>= 4;
    }
}

fn padded<const N: usize>(mut n: u64) -> [u8; N] {
    let mut b = [b'0'; N];
    for d in b.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    b
}

const REGIONS: [u64; 8] = [77, 78, 50, 66, 16, 52, 54, 23];

const CURRENCIES: [(&str, &str, &str); 2] = [("643", "руб.", "Российский рубль"), ("840", "USD", "Доллар США")];

fn text(s: &str) -> Scalar<'_> {
    Scalar::Text(Cow::Borrowed(s))
}

fn owned(b: &[u8]) -> Scalar<'static> {
    Scalar::Text(Cow::Owned(String::from_utf8_lossy(b).into_owned()))
}

impl Generated {
    /// A base of these sizes.
    pub fn new(counterparties: usize, sales: usize, payments: usize, seed: u64, today: NaiveDate) -> Generated {
        Generated { counterparties, sales, payments, seed, today }
    }

    /// A cheap hash of (seed, set, index, salt).
    fn mix(&self, set: EntitySet, index: usize, salt: u64) -> u64 {
        splitmix64(splitmix64(self.seed ^ (u64::from(tag(set)) << 48) ^ (salt << 40)) ^ index as u64)
    }

    /// Record `index`'s `Ref_Key` as bytes: the index in the leading 8 hex digits, so
    /// keys sort in index order (below 2³² records); the set's tag next.
    fn key(&self, set: EntitySet, index: usize) -> [u8; 36] {
        let h = self.mix(set, index, 0);
        let mut b = [b'-'; 36];
        put_hex(&mut b[0..8], index as u64);
        put_hex(&mut b[9..13], u64::from(tag(set)));
        b[14] = b'4';
        put_hex(&mut b[15..18], h & 0xfff);
        b[19] = b'8';
        put_hex(&mut b[20..23], (h >> 12) & 0xfff);
        put_hex(&mut b[24..36], splitmix64(h) & 0xffff_ffff_ffff);
        b
    }

    /// Record `index`'s `Ref_Key`.
    pub fn ref_key(&self, set: EntitySet, index: usize) -> String {
        String::from_utf8_lossy(&self.key(set, index)).into_owned()
    }

    /// `DataVersion`: eight bytes in base64, as 1C writes it.
    fn data_version(&self, set: EntitySet, index: usize) -> [u8; 12] {
        let mut b = [0u8; 12];
        let _ = base64::engine::general_purpose::STANDARD.encode_slice(self.mix(set, index, 7).to_be_bytes(), &mut b);
        b
    }

    fn rub(&self) -> [u8; 36] {
        self.key(EntitySet::Currencies, 0)
    }

    fn inn_digits(&self, c: usize) -> ([u8; 12], usize) {
        let (region, serial) = (REGIONS[c % 8], (c / 8) as u64);
        let mut b = [0u8; 12];
        if c % 10 == 9 {
            b = crate::inn::inn12(region * 100_000_000 + 10_000_000 + serial);
            (b, 12)
        } else {
            b[..10].copy_from_slice(&crate::inn::inn10(region * 10_000_000 + 1_000_000 + serial));
            (b, 10)
        }
    }

    fn kpp_digits(&self, c: usize) -> Option<[u8; 9]> {
        (c % 10 != 9).then(|| {
            let mut b = *b"000001001";
            b[0..2].copy_from_slice(&padded::<2>(REGIONS[c % 8]));
            b[2..4].copy_from_slice(&padded::<2>((c / 8 % 40 + 1) as u64));
            b
        })
    }

    /// Counterparty `c`.
    pub fn counterparty(&self, c: usize) -> Counterparty {
        let (inn, n) = self.inn_digits(c);
        Counterparty {
            index: c,
            sole_proprietor: c % 10 == 9,
            inn: String::from_utf8_lossy(&inn[..n]).into_owned(),
            kpp: self.kpp_digits(c).map(|k| String::from_utf8_lossy(&k).into_owned()).unwrap_or_default(),
        }
    }

    /// Contract `c` (counterparty `c`'s).
    pub fn contract(&self, c: usize) -> Contract {
        let h = self.mix(EntitySet::Contracts, c, 1);
        Contract {
            index: c,
            date: self.today.checked_sub_months(Months::new(36)).unwrap_or(self.today),
            deferral_days: DEFERRALS[(h % 5) as usize],
            organisation: ((h >> 8) & 1) as usize,
        }
    }

    /// Sales document `i`.
    pub fn sale(&self, i: usize) -> Sale {
        let counterparty = (self.mix(EntitySet::Sales, i, 1) % self.counterparties.max(1) as u64) as usize;
        let span = SALES_SPAN_DAYS * 86_400;
        let offset = (i as u128 * u128::from(span) / self.sales.max(1) as u128) as u64;
        let (day, second) = (offset / 86_400, offset % 86_400);
        // Office hours: the day's 24 hours squeezed into 09:00…18:00, keeping the order.
        let time = 9 * 3600 + second * 9 / 24;
        let first = self.today.checked_sub_days(Days::new(SALES_SPAN_DAYS - 1)).unwrap_or(self.today);
        let date = first.and_time(NaiveTime::MIN) + TimeDelta::days(day as i64) + TimeDelta::seconds(time as i64);
        Sale {
            index: i,
            counterparty,
            date,
            amount_kopecks: 100_000 + (self.mix(EntitySet::Sales, i, 2) % 49_900_001) as i64,
            posted: !(i + 1).is_multiple_of(997),
            deleted: (i + 1).is_multiple_of(1009),
            organisation: self.contract(counterparty).organisation,
        }
    }

    /// Payment `j`.
    pub fn payment(&self, j: usize) -> Payment {
        let document = j % self.sales.max(1);
        let sale = self.sale(document);
        let contract = self.contract(sale.counterparty);
        let h = self.mix(EntitySet::Payments, j, 1);
        let due = sale.date.date() + TimeDelta::days(i64::from(contract.deferral_days));
        let paid = due + TimeDelta::days((h % 100) as i64 - 10);
        let (date, amount, prepayment) = if paid > self.today {
            (sale.date, (sale.amount_kopecks * 3 + 5) / 10, true)
        } else {
            let amount = if (h >> 8).is_multiple_of(10) { (sale.amount_kopecks + 1) / 2 } else { sale.amount_kopecks };
            (paid.and_time(NaiveTime::MIN) + TimeDelta::minutes(600 + ((h >> 16) % 480) as i64), amount, false)
        };
        Payment {
            index: j,
            document,
            document_date: sale.date,
            counterparty: sale.counterparty,
            date,
            amount_kopecks: amount,
            prepayment,
            names_document: j.is_multiple_of(3),
            customer_payment: !(j + 1).is_multiple_of(50),
            organisation: contract.organisation,
        }
    }

    /// Writes record `i` of `set`; `rub` is the RUB currency's key, computed once per page.
    fn write_one(&self, set: EntitySet, i: usize, mask: u64, rub: &[u8; 36], out: &mut Vec<u8>) {
        let mut o = Obj::begin(out, set.properties(), mask);
        o.ascii("Ref_Key", &self.key(set, i));
        o.ascii_with("DataVersion", || self.data_version(set, i));
        match set {
            EntitySet::Counterparties => {
                let (inn, n) = self.inn_digits(i);
                let sole = i % 10 == 9;
                o.bool("DeletionMark", false);
                o.ascii("Parent_Key", EMPTY_GUID.as_bytes());
                o.bool("IsFolder", false);
                o.ascii("Code", &padded::<9>(i as u64 + 1));
                if sole {
                    o.fmt("Description", format_args!("ИП Клиентов {i}"));
                    o.fmt("НаименованиеПолное", format_args!("Индивидуальный предприниматель Клиентов {i}"));
                } else {
                    o.fmt("Description", format_args!("ООО \"Клиент {i}\""));
                    o.fmt("НаименованиеПолное", format_args!("ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"КЛИЕНТ {i}\""));
                }
                o.ascii("ИНН", &inn[..n]);
                o.ascii("КПП", self.kpp_digits(i).as_ref().map_or(&b""[..], |k| &k[..]));
                o.str("ЮридическоеФизическоеЛицо", if sole { "ФизическоеЛицо" } else { "ЮридическоеЛицо" });
            }
            EntitySet::Contracts => {
                let c = self.contract(i);
                o.bool("DeletionMark", false);
                o.ascii("Parent_Key", EMPTY_GUID.as_bytes());
                o.bool("IsFolder", false);
                o.ascii("Owner_Key", &self.key(EntitySet::Counterparties, i));
                o.ascii("Code", &padded::<9>(i as u64 + 1));
                o.fmt("Description", format_args!("Договор Д-{i}"));
                o.fmt("Номер", format_args!("Д-{i}"));
                o.datetime("Дата", &c.date.and_time(NaiveTime::MIN));
                o.ascii("Организация_Key", ORGANISATIONS[c.organisation].as_bytes());
                o.str("ВидДоговора", "СПокупателем");
                o.ascii("ВалютаВзаиморасчетов_Key", rub);
                o.bool("УстановленСрокОплаты", true);
                o.uint("СрокОплаты", u64::from(c.deferral_days));
            }
            EntitySet::Sales => {
                let s = self.sale(i);
                o.fmt("Number", format_args!("0000-{i:06}"));
                o.datetime("Date", &s.date);
                o.bool("Posted", s.posted);
                o.bool("DeletionMark", s.deleted);
                o.str("ВидОперации", "Товары");
                o.ascii("Организация_Key", ORGANISATIONS[s.organisation].as_bytes());
                o.ascii("Контрагент_Key", &self.key(EntitySet::Counterparties, s.counterparty));
                o.ascii("ДоговорКонтрагента_Key", &self.key(EntitySet::Contracts, s.counterparty));
                o.ascii("ВалютаДокумента_Key", rub);
                o.kopecks("СуммаДокумента", s.amount_kopecks);
            }
            EntitySet::Payments => {
                let p = self.payment(i);
                let doc_date = p.document_date;
                let contract = self.key(EntitySet::Contracts, p.counterparty);
                o.fmt("Number", format_args!("ПП-{i}"));
                o.datetime("Date", &p.date);
                o.bool("Posted", true);
                o.bool("DeletionMark", false);
                o.str("ВидОперации", if p.customer_payment { "ОплатаПокупателя" } else { "ПрочееПоступление" });
                o.ascii("Организация_Key", ORGANISATIONS[p.organisation].as_bytes());
                o.ascii("Контрагент_Key", &self.key(EntitySet::Counterparties, p.counterparty));
                o.ascii("ДоговорКонтрагента_Key", &contract);
                o.ascii("ВалютаДокумента_Key", rub);
                o.kopecks("СуммаДокумента", p.amount_kopecks);
                o.fmt(
                    "НазначениеПлатежа",
                    format_args!(
                        "Оплата по реализации 0000-{:06} от {:02}.{:02}.{}",
                        p.document,
                        doc_date.day(),
                        doc_date.month(),
                        doc_date.year()
                    ),
                );
                o.with("РасшифровкаПлатежа", |out| {
                    out.extend_from_slice("[{\"LineNumber\":\"1\",\"ДоговорКонтрагента_Key\":\"".as_bytes());
                    out.extend_from_slice(&contract);
                    out.extend_from_slice("\",\"СуммаПлатежа\":".as_bytes());
                    json::write_kopecks(out, p.amount_kopecks);
                    if p.names_document {
                        out.extend_from_slice(",\"СпособПогашенияЗадолженности\":\"ПоДокументу\",\"Сделка\":\"".as_bytes());
                        out.extend_from_slice(&self.key(EntitySet::Sales, p.document));
                        out.extend_from_slice("\",\"Сделка_Type\":\"".as_bytes());
                        out.extend_from_slice(SALE_TYPE.as_bytes());
                    } else {
                        out.extend_from_slice(",\"СпособПогашенияЗадолженности\":\"Автоматически\",\"Сделка\":\"".as_bytes());
                        out.extend_from_slice(EMPTY_GUID.as_bytes());
                        out.extend_from_slice("\",\"Сделка_Type\":\"".as_bytes());
                        out.extend_from_slice(UNDEFINED_TYPE.as_bytes());
                    }
                    out.extend_from_slice(b"\"}]");
                });
            }
            EntitySet::Currencies => {
                let (code, short, full) = CURRENCIES[i.min(1)];
                o.bool("DeletionMark", false);
                o.ascii("Code", code.as_bytes());
                o.str("Description", short);
                o.str("НаименованиеПолное", full);
            }
            // A generated base names no managers: it has no partners or users.
            EntitySet::Partners | EntitySet::Users => {}
        }
        o.end();
    }
}

impl Source for Generated {
    fn len(&self, set: EntitySet) -> usize {
        match set {
            EntitySet::Counterparties | EntitySet::Contracts => self.counterparties,
            EntitySet::Sales if self.counterparties == 0 => 0,
            EntitySet::Sales => self.sales,
            EntitySet::Payments if self.sales == 0 || self.counterparties == 0 => 0,
            EntitySet::Payments => self.payments,
            EntitySet::Currencies => CURRENCIES.len(),
            EntitySet::Partners | EntitySet::Users => 0,
        }
    }

    fn has_property(&self, set: EntitySet, name: &str) -> bool {
        set.properties().contains(&name)
    }

    fn value(&self, set: EntitySet, i: usize, name: &str) -> Scalar<'_> {
        match name {
            "Ref_Key" => return owned(&self.key(set, i)),
            "DataVersion" => return owned(&self.data_version(set, i)),
            _ => {}
        }
        match set {
            EntitySet::Counterparties => {
                let sole = i % 10 == 9;
                match name {
                    "DeletionMark" | "IsFolder" => Scalar::Bool(false),
                    "Parent_Key" => text(EMPTY_GUID),
                    "Code" => owned(&padded::<9>(i as u64 + 1)),
                    "Description" if sole => Scalar::Text(format!("ИП Клиентов {i}").into()),
                    "Description" => Scalar::Text(format!("ООО \"Клиент {i}\"").into()),
                    "НаименованиеПолное" if sole => {
                        Scalar::Text(format!("Индивидуальный предприниматель Клиентов {i}").into())
                    }
                    "НаименованиеПолное" => {
                        Scalar::Text(format!("ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"КЛИЕНТ {i}\"").into())
                    }
                    "ИНН" => Scalar::Text(self.counterparty(i).inn.into()),
                    "КПП" => Scalar::Text(self.counterparty(i).kpp.into()),
                    "ЮридическоеФизическоеЛицо" => {
                        text(if sole { "ФизическоеЛицо" } else { "ЮридическоеЛицо" })
                    }
                    _ => Scalar::Null,
                }
            }
            EntitySet::Contracts => {
                let c = self.contract(i);
                match name {
                    "DeletionMark" | "IsFolder" => Scalar::Bool(false),
                    "Parent_Key" => text(EMPTY_GUID),
                    "Owner_Key" => owned(&self.key(EntitySet::Counterparties, i)),
                    "Code" => owned(&padded::<9>(i as u64 + 1)),
                    "Description" => Scalar::Text(format!("Договор Д-{i}").into()),
                    "Номер" => Scalar::Text(format!("Д-{i}").into()),
                    "Дата" => Scalar::DateTime(c.date.and_time(NaiveTime::MIN)),
                    "Организация_Key" => text(ORGANISATIONS[c.organisation]),
                    "ВидДоговора" => text("СПокупателем"),
                    "ВалютаВзаиморасчетов_Key" => owned(&self.rub()),
                    "УстановленСрокОплаты" => Scalar::Bool(true),
                    "СрокОплаты" => Scalar::Number(f64::from(c.deferral_days)),
                    _ => Scalar::Null,
                }
            }
            EntitySet::Sales => {
                let s = self.sale(i);
                match name {
                    "Number" => Scalar::Text(format!("0000-{i:06}").into()),
                    "Date" => Scalar::DateTime(s.date),
                    "Posted" => Scalar::Bool(s.posted),
                    "DeletionMark" => Scalar::Bool(s.deleted),
                    "ВидОперации" => text("Товары"),
                    "Организация_Key" => text(ORGANISATIONS[s.organisation]),
                    "Контрагент_Key" => owned(&self.key(EntitySet::Counterparties, s.counterparty)),
                    "ДоговорКонтрагента_Key" => owned(&self.key(EntitySet::Contracts, s.counterparty)),
                    "ВалютаДокумента_Key" => owned(&self.rub()),
                    "СуммаДокумента" => Scalar::Number(s.amount_kopecks as f64 / 100.0),
                    _ => Scalar::Null,
                }
            }
            EntitySet::Payments => {
                // The operation kind is what every benchmark page filters on: answer it
                // without computing the payment.
                if name == "ВидОперации" {
                    return text(if !(i + 1).is_multiple_of(50) {
                        "ОплатаПокупателя"
                    } else {
                        "ПрочееПоступление"
                    });
                }
                let p = self.payment(i);
                match name {
                    "Number" => Scalar::Text(format!("ПП-{i}").into()),
                    "Date" => Scalar::DateTime(p.date),
                    "Posted" => Scalar::Bool(true),
                    "DeletionMark" => Scalar::Bool(false),
                    "Организация_Key" => text(ORGANISATIONS[p.organisation]),
                    "Контрагент_Key" => owned(&self.key(EntitySet::Counterparties, p.counterparty)),
                    "ДоговорКонтрагента_Key" => owned(&self.key(EntitySet::Contracts, p.counterparty)),
                    "ВалютаДокумента_Key" => owned(&self.rub()),
                    "СуммаДокумента" => Scalar::Number(p.amount_kopecks as f64 / 100.0),
                    "НазначениеПлатежа" => {
                        let d = p.document_date;
                        Scalar::Text(
                            format!("Оплата по реализации 0000-{:06} от {:02}.{:02}.{}", p.document, d.day(), d.month(), d.year()).into(),
                        )
                    }
                    _ => Scalar::Null,
                }
            }
            EntitySet::Currencies => {
                let (code, short, full) = CURRENCIES[i.min(1)];
                match name {
                    "DeletionMark" => Scalar::Bool(false),
                    "Code" => text(code),
                    "Description" => text(short),
                    "НаименованиеПолное" => text(full),
                    _ => Scalar::Null,
                }
            }
            EntitySet::Partners | EntitySet::Users => Scalar::Null,
        }
    }

    fn write_record(&self, set: EntitySet, index: usize, select: &Select, out: &mut Vec<u8>) {
        self.write_one(set, index, json::mask(set.properties(), select), &self.rub(), out);
    }

    fn write_records(&self, set: EntitySet, indexes: &[usize], select: &Select, out: &mut Vec<u8>) {
        let (mask, rub) = (json::mask(set.properties(), select), self.rub());
        for (n, &i) in indexes.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            self.write_one(set, i, mask, &rub, out);
        }
    }

    fn position(&self, set: EntitySet, ref_key: &str) -> Option<usize> {
        let index = usize::from_str_radix(ref_key.get(0..8)?, 16).ok()?;
        (index < self.len(set) && ref_key.as_bytes().eq_ignore_ascii_case(&self.key(set, index))).then_some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    fn g() -> Generated {
        Generated::new(1000, 20_000, 25_000, 42, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap())
    }

    fn record(src: &dyn Source, set: EntitySet, i: usize) -> serde_json::Value {
        let mut out = Vec::new();
        src.write_record(set, i, &Select::all(), &mut out);
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{set} {i}: {e}: {}", String::from_utf8_lossy(&out)))
    }

    #[test]
    fn every_inn_is_valid_and_unique_and_sole_proprietors_have_twelve_digits_and_no_kpp() {
        let g = g();
        let mut seen = std::collections::HashSet::new();
        for c in 0..g.counterparties {
            let cp = g.counterparty(c);
            assert!(crate::inn::is_valid(&cp.inn), "{c}: {}", cp.inn);
            assert!(seen.insert(cp.inn.clone()), "duplicate ИНН {}", cp.inn);
            if cp.sole_proprietor {
                assert_eq!((cp.inn.len(), cp.kpp.as_str()), (12, ""));
            } else {
                assert_eq!(cp.inn.len(), 10);
                assert!(cp.kpp.len() == 9 && cp.kpp.ends_with("01001") && cp.kpp[..2] == cp.inn[..2], "{}", cp.kpp);
            }
        }
        // A sample far out in a large base.
        let big = Generated::new(5_000_000, 0, 0, 1, g.today);
        for c in (0..5_000_000).step_by(99_991) {
            assert!(crate::inn::is_valid(&big.counterparty(c).inn));
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn ref_keys_sort_in_index_order_and_differ_across_sets() {
        let g = g();
        for set in EntitySet::ALL {
            let keys: Vec<String> = (0..g.len(set).min(3000)).map(|i| g.ref_key(set, i)).collect();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{set}");
            assert!(keys.iter().all(|k| uuid::Uuid::parse_str(k).is_ok()));
            for (i, k) in keys.iter().enumerate().step_by(97) {
                assert_eq!(g.position(set, k), Some(i));
                assert_eq!(g.value(set, i, "Ref_Key"), Scalar::Text(k.clone().into()));
            }
        }
        assert_ne!(g.ref_key(EntitySet::Sales, 5), g.ref_key(EntitySet::Payments, 5));
        assert_ne!(g.ref_key(EntitySet::Counterparties, 5), g.ref_key(EntitySet::Contracts, 5));
        assert_eq!(g.position(EntitySet::Sales, &g.ref_key(EntitySet::Payments, 5)), None);
    }

    #[test]
    fn documents_reference_existing_counterparties_contracts_and_documents() {
        let g = g();
        for i in (0..g.sales).step_by(7) {
            let r = record(&g, EntitySet::Sales, i);
            let cp = g.position(EntitySet::Counterparties, r["Контрагент_Key"].as_str().unwrap()).expect("counterparty exists");
            let contract = g.position(EntitySet::Contracts, r["ДоговорКонтрагента_Key"].as_str().unwrap()).expect("contract");
            assert_eq!(cp, contract);
            assert_eq!(record(&g, EntitySet::Contracts, contract)["Owner_Key"], r["Контрагент_Key"]);
            assert_eq!(g.position(EntitySet::Currencies, r["ВалютаДокумента_Key"].as_str().unwrap()), Some(0));
            let amount = r["СуммаДокумента"].as_f64().unwrap();
            assert!((1000.0..=500_000.0).contains(&amount), "{amount}");
        }
        for j in (0..g.payments).step_by(11) {
            let r = record(&g, EntitySet::Payments, j);
            let line = &r["РасшифровкаПлатежа"][0];
            assert_eq!(line["LineNumber"], "1");
            assert_eq!(line["СуммаПлатежа"], r["СуммаДокумента"]);
            let p = g.payment(j);
            if p.names_document {
                assert_eq!(line["СпособПогашенияЗадолженности"], "ПоДокументу");
                assert_eq!(line["Сделка_Type"], SALE_TYPE);
                let doc = g.position(EntitySet::Sales, line["Сделка"].as_str().unwrap()).expect("the document exists");
                assert_eq!(doc, j % g.sales);
                assert_eq!(record(&g, EntitySet::Sales, doc)["Контрагент_Key"], r["Контрагент_Key"]);
            } else {
                assert_eq!(line["Сделка"], EMPTY_GUID);
                assert_eq!(line["Сделка_Type"], UNDEFINED_TYPE);
            }
            assert!(g.position(EntitySet::Counterparties, r["Контрагент_Key"].as_str().unwrap()).is_some());
        }
    }

    #[test]
    fn no_date_is_after_today_and_sales_dates_are_monotone() {
        let g = g();
        let end = g.today.and_hms_opt(23, 59, 59).unwrap();
        let mut last = NaiveDateTime::MIN;
        for i in 0..g.sales {
            let s = g.sale(i);
            assert!(s.date <= end && s.date >= last, "{i}: {}", s.date);
            last = s.date;
        }
        assert!(g.sale(0).date.date() >= g.today - TimeDelta::days(1095));
        assert_eq!(g.sale(g.sales - 1).date.date(), g.today);
        let (mut prepaid, mut half, mut other) = (0, 0, 0);
        for j in 0..g.payments {
            let p = g.payment(j);
            assert!(p.date <= end, "{j}: {}", p.date);
            let doc = g.sale(p.document);
            if p.prepayment {
                prepaid += 1;
                assert_eq!((p.date, p.amount_kopecks), (doc.date, (doc.amount_kopecks * 3 + 5) / 10));
            } else if p.amount_kopecks != doc.amount_kopecks {
                half += 1;
            }
            if !p.customer_payment {
                other += 1;
            }
        }
        assert!(prepaid > 0 && half > 0, "{prepaid} {half}");
        assert_eq!(other, g.payments / 50);
        assert!(g.contract(3).date < g.sale(0).date.date());
    }

    #[test]
    fn unposted_and_deleted_documents_recur_at_their_periods() {
        let g = g();
        assert!(!g.sale(996).posted && g.sale(995).posted && !g.sale(1993).posted);
        assert!(g.sale(1008).deleted && !g.sale(1007).deleted);
    }

    #[test]
    fn written_records_agree_with_filter_values() {
        let g = g();
        for set in EntitySet::ALL {
            for i in (0..g.len(set)).step_by(331) {
                let r = record(&g, set, i);
                for name in set.properties() {
                    let v = g.value(set, i, name);
                    let expected = match &r[*name] {
                        serde_json::Value::String(s) => Scalar::Text(s.clone().into()),
                        serde_json::Value::Bool(b) => Scalar::Bool(*b),
                        serde_json::Value::Number(n) => Scalar::Number(n.as_f64().unwrap()),
                        _ => Scalar::Null,
                    };
                    assert_eq!(v.compare(&expected), Some(std::cmp::Ordering::Equal), "{set} {i} {name}: {v:?} vs {expected:?}");
                }
            }
        }
    }

    #[test]
    fn selected_properties_only_are_written() {
        let g = g();
        let select = Select::parse("Ref_Key,СуммаДокумента,Date");
        let mut out = Vec::new();
        g.write_record(EntitySet::Sales, 3, &select, &mut out);
        let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3);
        assert!(String::from_utf8(out).unwrap().starts_with("{\"Ref_Key\":\""));
    }

    #[test]
    fn a_dataset_built_from_a_generated_base_serves_the_same_records() {
        let g = Generated::new(50, 300, 400, 9, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        let ds = Dataset::from_source(&g);
        for set in EntitySet::ALL {
            assert_eq!(ds.len(set), g.len(set));
            for i in 0..g.len(set) {
                assert_eq!(record(&ds, set, i), record(&g, set, i), "{set} {i}");
            }
        }
    }
}
