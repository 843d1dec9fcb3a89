//! A fake 1С:Предприятие base serving the standard OData interface on loopback.
//!
//! It stands in for a real 1C infobase (1С:Бухгалтерия 3.0 field names, configuration
//! `bp30`) for the test suite, the sync benchmark and newcomers trying the product. What
//! it serves, field by field, is `docs/1c-odata-format.md`; the plugin that talks to it
//! is written from the same document.
//!
//! - [`EntitySet`]: the entity sets the sync reads.
//! - [`Source`]: the records of each set in `Ref_Key` order, addressable by index, so a
//!   huge generated base needs no storage. Two implementations: [`Dataset`] (records in
//!   memory, editable between two syncs) and [`generate::Generated`] (every record a pure
//!   function of seed, set and index).
//! - [`FakeOneC`]: the HTTP server (`GET <base_url><EntitySet>?$format=json&…`), with
//!   Basic authentication, `$select`, `$filter` ([`filter`]), `$orderby=Ref_Key`, `$top`,
//!   `$skip`, `$inlinecount=allpages`, `$metadata`, and fault injection ([`Failure`]).
//! - [`generate::demo`]: a small realistic base for a walk-through.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use crm_fake_1c::{FakeOneC, Options, generate};
//!
//! let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date");
//! let fake = FakeOneC::start(Arc::new(generate::demo(today)), Options::default()).await?;
//! println!("1C is at {} (user odata, password secret)", fake.base_url);
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::NaiveDateTime;

pub mod dataset;
pub mod filter;
pub mod generate;
pub mod inn;
mod json;
mod server;

pub use dataset::Dataset;
pub use filter::{Filter, FilterError};
pub use generate::{Generated, demo};
pub use server::{Failure, FakeOneC, LoggedRequest, Options};

/// The empty reference, as 1C writes an unfilled `_Key` field.
pub const EMPTY_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// The empty date, as 1C writes an unfilled date field.
pub const EMPTY_DATE: &str = "0001-01-01T00:00:00";

/// The entity sets the sync reads (bp30 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntitySet {
    /// `Catalog_Контрагенты`: counterparties.
    Counterparties,
    /// `Catalog_ДоговорыКонтрагентов`: contracts.
    Contracts,
    /// `Document_РеализацияТоваровУслуг`: sales (shipments, invoices).
    Sales,
    /// `Document_ПоступлениеНаРасчетныйСчет`: incoming bank payments.
    Payments,
    /// `Catalog_Валюты`: currencies.
    Currencies,
    /// `Catalog_Партнеры` (УТ 11): partners, with their main manager.
    Partners,
    /// `Catalog_Пользователи`: the base's users (managers).
    Users,
}

impl EntitySet {
    /// All sets, in the order the service document lists them.
    pub const ALL: [EntitySet; 7] = [
        EntitySet::Counterparties,
        EntitySet::Contracts,
        EntitySet::Sales,
        EntitySet::Payments,
        EntitySet::Currencies,
        EntitySet::Partners,
        EntitySet::Users,
    ];

    /// The entity set's name in URLs and `odata.metadata`.
    pub fn name(self) -> &'static str {
        match self {
            EntitySet::Counterparties => "Catalog_Контрагенты",
            EntitySet::Contracts => "Catalog_ДоговорыКонтрагентов",
            EntitySet::Sales => "Document_РеализацияТоваровУслуг",
            EntitySet::Payments => "Document_ПоступлениеНаРасчетныйСчет",
            EntitySet::Currencies => "Catalog_Валюты",
            EntitySet::Partners => "Catalog_Партнеры",
            EntitySet::Users => "Catalog_Пользователи",
        }
    }

    /// The set named `name` (exactly, as in a decoded URL path).
    pub fn from_name(name: &str) -> Option<EntitySet> {
        EntitySet::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The bp30 properties of the set's records, in the order they are written: what a
    /// [`Generated`] record has, and what `$select`/`$filter` accept even on an empty
    /// [`Dataset`] set.
    pub fn properties(self) -> &'static [&'static str] {
        match self {
            EntitySet::Counterparties => generate::COUNTERPARTY_FIELDS,
            EntitySet::Contracts => generate::CONTRACT_FIELDS,
            EntitySet::Sales => generate::SALE_FIELDS,
            EntitySet::Payments => generate::PAYMENT_FIELDS,
            EntitySet::Currencies => generate::CURRENCY_FIELDS,
            EntitySet::Partners => generate::PARTNER_FIELDS,
            EntitySet::Users => generate::USER_FIELDS,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for EntitySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One property's value as a `$filter` sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// Missing, `null`, or not comparable (a tabular part).
    Null,
    /// `Edm.Boolean`.
    Bool(bool),
    /// `Edm.Double` and the integer types.
    Number(f64),
    /// `Edm.String`, and GUIDs and dates as the text 1C writes.
    Text(Cow<'a, str>),
    /// `Edm.DateTime`, for sources that keep dates as dates.
    DateTime(NaiveDateTime),
}

impl Scalar<'_> {
    /// How `self` compares with `other`; `None` when they are of incomparable kinds (a
    /// number and a text) or one is null and the other is not. A date compares with a
    /// text as the text `YYYY-MM-DDTHH:MM:SS`, which orders like the date.
    pub fn compare(&self, other: &Scalar<'_>) -> Option<Ordering> {
        match (self, other) {
            (Scalar::Null, Scalar::Null) => Some(Ordering::Equal),
            (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
            (Scalar::Number(a), Scalar::Number(b)) => a.partial_cmp(b),
            (Scalar::Text(a), Scalar::Text(b)) => Some(a.as_ref().cmp(b.as_ref())),
            (Scalar::DateTime(a), Scalar::DateTime(b)) => Some(a.cmp(b)),
            (Scalar::Text(a), Scalar::DateTime(b)) => Some(a.as_bytes().cmp(&json::datetime_text(b)[..])),
            (Scalar::DateTime(a), Scalar::Text(b)) => Some(json::datetime_text(a)[..].cmp(b.as_bytes())),
            _ => None,
        }
    }
}

/// Which properties a response carries (`$select`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Select {
    names: Option<Vec<String>>,
}

impl Select {
    /// Every property (no `$select`, or `$select=*`).
    pub fn all() -> Select {
        Select { names: None }
    }

    /// Only these properties.
    pub fn only<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Select {
        Select { names: Some(names.into_iter().map(Into::into).collect()) }
    }

    /// Parses a `$select` value: comma-separated names, `*` or empty for all.
    pub fn parse(text: &str) -> Select {
        let names: Vec<String> = text.split(',').map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect();
        if names.is_empty() || names.iter().any(|n| n == "*") { Select::all() } else { Select { names: Some(names) } }
    }

    /// Whether the property `name` is written.
    pub fn includes(&self, name: &str) -> bool {
        match &self.names {
            None => true,
            Some(names) => names.iter().any(|n| n == name),
        }
    }

    /// The selected names; `None` for all.
    pub fn names(&self) -> Option<&[String]> {
        self.names.as_deref()
    }
}

/// The records of each entity set, in `Ref_Key` order, addressable by index.
///
/// The server pages through a source by index, evaluates `$filter` through
/// [`Source::value`] and writes each record's JSON straight into the response buffer,
/// so an implementation need not store records at all.
pub trait Source: Send + Sync {
    /// How many records `set` has.
    fn len(&self, set: EntitySet) -> usize;

    /// Whether `name` is a property of `set` (else `$select`/`$filter` naming it is an
    /// error, code 9).
    fn has_property(&self, set: EntitySet, name: &str) -> bool;

    /// Record `index`'s property `name` as a filter compares it ([`Scalar::Null`] when
    /// the record lacks it).
    fn value(&self, set: EntitySet, index: usize, name: &str) -> Scalar<'_>;

    /// Appends record `index` of `set` as one JSON object, with only the properties
    /// `select` includes.
    fn write_record(&self, set: EntitySet, index: usize, select: &Select, out: &mut Vec<u8>);

    /// Appends the records `indexes` as JSON objects separated by commas (what goes
    /// between the brackets of `"value": […]`). Override to hoist per-page work out of
    /// the loop.
    fn write_records(&self, set: EntitySet, indexes: &[usize], select: &Select, out: &mut Vec<u8>) {
        for (n, &i) in indexes.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            self.write_record(set, i, select, out);
        }
    }

    /// Whether record `index` passes `filter`.
    fn matches(&self, set: EntitySet, index: usize, filter: &Filter) -> bool {
        filter.matches(|name| self.value(set, index, name))
    }

    /// The index of the record whose `Ref_Key` is `ref_key` (a binary search by default,
    /// records being in `Ref_Key` order).
    fn position(&self, set: EntitySet, ref_key: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len(set));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.value(set, mid, "Ref_Key").compare(&Scalar::Text(Cow::Borrowed(ref_key)))? {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}
