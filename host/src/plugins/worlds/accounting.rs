//! World `accounting-sync`: counterparties, contracts, sales documents and payments from
//! an accounting system (1C), one page at a time.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wasmtime::Store;

use super::{Function, Instance, Returned, TryableFunction, wrong_world};
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::manifest::World;
use crate::plugins::runtime::PluginState;

/// What to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Counterparty,
    Contract,
    SalesDocument,
    Payment,
}

/// A person of the accounting system (the user responsible for a client or a contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Person {
    pub external_id: String,
    pub name: String,
}

/// A counterparty in the accounting system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counterparty {
    pub external_id: String,
    pub name: String,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    /// Plugins built against 0.1.0 do not say.
    pub manager: Option<Person>,
    pub deleted: bool,
}

/// A contract with a counterparty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contract {
    pub external_id: String,
    pub counterparty_id: String,
    pub number: Option<String>,
    pub signed_on: Option<String>,
    pub deferral_days: Option<u32>,
    pub manager: Option<Person>,
    pub deleted: bool,
}

/// A shipment or invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SalesDocument {
    pub external_id: String,
    pub number: String,
    pub issued_on: String,
    pub counterparty_id: String,
    pub contract_id: Option<String>,
    pub legal_entity_id: Option<String>,
    /// A decimal string.
    pub amount: String,
    pub currency: String,
    /// The primary document a court expects (`УПД`, `ТОРГ-12`, `Акт`), when the plugin says.
    pub primary_document: Option<String>,
    pub posted: bool,
    pub deleted: bool,
}

/// Part of a payment applied to one document, as the accounting system says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Allocation {
    pub document_id: String,
    pub amount: String,
}

/// An incoming payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Payment {
    pub external_id: String,
    pub number: String,
    pub paid_on: String,
    pub counterparty_id: String,
    pub contract_id: Option<String>,
    pub amount: String,
    pub allocations: Vec<Allocation>,
    pub posted: bool,
    pub deleted: bool,
}

/// One record of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Counterparty(Counterparty),
    Contract(Contract),
    SalesDocument(SalesDocument),
    Payment(Payment),
}

/// A source record the plugin could not map, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rejected {
    pub external_id: Option<String>,
    /// The counterparty the record belongs to, when the plugin says.
    pub counterparty_id: Option<String>,
    pub reason: String,
}

/// One page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub rejected: Vec<Rejected>,
    /// Pass back for the next page; `None` after the last.
    pub next_cursor: Option<String>,
}

/// `accounting.fetch-page`: a page of `kind` changed since `since` (RFC 3339), continuing
/// at `cursor`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchPage {
    pub kind: EntityKind,
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_page_size() -> u32 {
    100
}

/// The records every version has, field by field; the closures fill what only later
/// versions carry.
macro_rules! convert_page {
    ($version:ident, $page:expr, manager: $manager:expr, primary_document: $doc:expr, rejected_counterparty: $rc:expr) => {{
        use $version::accounting_sync::exports::crm::plugin::accounting as a;
        let p = $page;
        Page {
            entries: p
                .entries
                .into_iter()
                .map(|e| match e {
                    a::Entry::Counterparty(c) => Entry::Counterparty(Counterparty {
                        manager: $manager(&c),
                        external_id: c.external_id,
                        name: c.name,
                        inn: c.inn,
                        kpp: c.kpp,
                        deleted: c.deleted,
                    }),
                    a::Entry::Contract(c) => Entry::Contract(Contract {
                        manager: $manager(&c),
                        external_id: c.external_id,
                        counterparty_id: c.counterparty_id,
                        number: c.number,
                        signed_on: c.signed_on,
                        deferral_days: c.deferral_days,
                        deleted: c.deleted,
                    }),
                    a::Entry::SalesDocument(d) => Entry::SalesDocument(SalesDocument {
                        primary_document: $doc(&d),
                        external_id: d.external_id,
                        number: d.number,
                        issued_on: d.issued_on,
                        counterparty_id: d.counterparty_id,
                        contract_id: d.contract_id,
                        legal_entity_id: d.legal_entity_id,
                        amount: d.amount,
                        currency: d.currency,
                        posted: d.posted,
                        deleted: d.deleted,
                    }),
                    a::Entry::Payment(pay) => Entry::Payment(Payment {
                        external_id: pay.external_id,
                        number: pay.number,
                        paid_on: pay.paid_on,
                        counterparty_id: pay.counterparty_id,
                        contract_id: pay.contract_id,
                        amount: pay.amount,
                        allocations: pay.allocations.into_iter().map(|x| Allocation { document_id: x.document_id, amount: x.amount }).collect(),
                        posted: pay.posted,
                        deleted: pay.deleted,
                    }),
                })
                .collect(),
            rejected: p
                .rejected
                .into_iter()
                .map(|r| Rejected { counterparty_id: $rc(&r), external_id: r.external_id, reason: r.reason })
                .collect(),
            next_cursor: p.next_cursor,
        }
    }};
}

fn none<T, U>(_: &T) -> Option<U> {
    None
}

/// `$manager` above is applied to counterparties and contracts alike: one trait for both.
trait Managed {
    fn manager(&self) -> Option<Person>;
}
fn person(p: &Option<v0_2::accounting_sync::exports::crm::plugin::accounting::Person>) -> Option<Person> {
    p.as_ref().map(|p| Person { external_id: p.external_id.clone(), name: p.name.clone() })
}
impl Managed for v0_2::accounting_sync::exports::crm::plugin::accounting::Counterparty {
    fn manager(&self) -> Option<Person> {
        person(&self.manager)
    }
}
impl Managed for v0_2::accounting_sync::exports::crm::plugin::accounting::Contract {
    fn manager(&self) -> Option<Person> {
        person(&self.manager)
    }
}

fn kind_v0_1(k: EntityKind) -> v0_1::accounting_sync::exports::crm::plugin::accounting::EntityKind {
    use v0_1::accounting_sync::exports::crm::plugin::accounting::EntityKind as K;
    match k {
        EntityKind::Counterparty => K::Counterparty,
        EntityKind::Contract => K::Contract,
        EntityKind::SalesDocument => K::SalesDocument,
        EntityKind::Payment => K::Payment,
    }
}

fn kind_v0_2(k: EntityKind) -> v0_2::accounting_sync::exports::crm::plugin::accounting::EntityKind {
    use v0_2::accounting_sync::exports::crm::plugin::accounting::EntityKind as K;
    match k {
        EntityKind::Counterparty => K::Counterparty,
        EntityKind::Contract => K::Contract,
        EntityKind::SalesDocument => K::SalesDocument,
        EntityKind::Payment => K::Payment,
    }
}

impl Function for FetchPage {
    type Output = Page;
    const WORLD: World = World::AccountingSync;
    const NAME: &'static str = "accounting.fetch-page";

    async fn call(self, instance: &Instance, store: &mut Store<PluginState>) -> Returned<Page> {
        let (since, cursor) = (self.since.as_deref(), self.cursor.as_deref());
        Ok(match instance {
            Instance::AccountingSyncV0_1(i) => i
                .crm_plugin_accounting()
                .call_fetch_page(store, kind_v0_1(self.kind), since, cursor, self.page_size)
                .await?
                .map(|p| convert_page!(v0_1, p, manager: none, primary_document: none, rejected_counterparty: none))
                .map_err(Into::into),
            Instance::AccountingSyncV0_2(i) => i
                .crm_plugin_accounting()
                .call_fetch_page(store, kind_v0_2(self.kind), since, cursor, self.page_size)
                .await?
                .map(|p| {
                    convert_page!(v0_2, p,
                        manager: Managed::manager,
                        primary_document: |d: &v0_2::accounting_sync::exports::crm::plugin::accounting::SalesDocument| d.primary_document.clone(),
                        rejected_counterparty: |r: &v0_2::accounting_sync::exports::crm::plugin::accounting::Rejected| r.counterparty_id.clone())
                })
                .map_err(Into::into),
            other => return Err(wrong_world(other, Self::WORLD)),
        })
    }
}

pub(super) fn tryable() -> Vec<TryableFunction> {
    vec![TryableFunction {
        world: World::AccountingSync,
        name: FetchPage::NAME,
        description: "One page of records of one kind (counterparty, contract, sales_document, payment), changed since `since` \
                      (RFC 3339, optional), continuing at `cursor`.",
        example: || serde_json::json!({"kind": "counterparty", "since": null, "cursor": null, "page_size": 10}),
        run: super::run_try::<FetchPage>,
    }]
}
