//! An `accounting-sync` plugin for the host's tests: each kind is one page holding
//! exactly the records of the setting `records` (JSON, fields named as in the contract
//! with `_` for `-`), unchecked and untrimmed, so a test can hand the host what a
//! careless or hostile plugin would: ids with spaces, U+0000, `1_000`, `2025-2-3`,
//! amounts out of any range. A missing text field is empty, a missing flag false.

use crm_plugin_sdk::accounting::{Allocation, Contract, Counterparty, EntityKind, Entry, Page, Payment, SalesDocument};
use crm_plugin_sdk::serde_json::{self, Value};
use crm_plugin_sdk::{AccountingSync, Error, config};

struct Scripted;

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn opt(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn entry(kind: EntityKind, v: &Value) -> Entry {
    match kind {
        EntityKind::Counterparty => Entry::Counterparty(Counterparty {
            external_id: text(v, "external_id"),
            name: text(v, "name"),
            inn: opt(v, "inn"),
            kpp: opt(v, "kpp"),
            manager: None,
            deleted: flag(v, "deleted"),
        }),
        EntityKind::Contract => Entry::Contract(Contract {
            external_id: text(v, "external_id"),
            counterparty_id: text(v, "counterparty_id"),
            number: opt(v, "number"),
            signed_on: opt(v, "signed_on"),
            deferral_days: v.get("deferral_days").and_then(Value::as_u64).and_then(|d| u32::try_from(d).ok()),
            manager: None,
            deleted: flag(v, "deleted"),
        }),
        EntityKind::SalesDocument => Entry::SalesDocument(SalesDocument {
            external_id: text(v, "external_id"),
            number: text(v, "number"),
            issued_on: text(v, "issued_on"),
            counterparty_id: text(v, "counterparty_id"),
            contract_id: opt(v, "contract_id"),
            legal_entity_id: opt(v, "legal_entity_id"),
            amount: text(v, "amount"),
            currency: opt(v, "currency").unwrap_or_else(|| "RUB".to_owned()),
            primary_document: opt(v, "primary_document"),
            posted: v.get("posted").and_then(Value::as_bool).unwrap_or(true),
            deleted: flag(v, "deleted"),
        }),
        EntityKind::Payment => Entry::Payment(Payment {
            external_id: text(v, "external_id"),
            number: text(v, "number"),
            paid_on: text(v, "paid_on"),
            counterparty_id: text(v, "counterparty_id"),
            contract_id: opt(v, "contract_id"),
            amount: text(v, "amount"),
            allocations: v
                .get("allocations")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|x| Allocation { document_id: text(x, "document_id"), amount: text(x, "amount") }).collect())
                .unwrap_or_default(),
            posted: v.get("posted").and_then(Value::as_bool).unwrap_or(true),
            deleted: flag(v, "deleted"),
        }),
    }
}

impl AccountingSync for Scripted {
    fn fetch_page(kind: EntityKind, _since: Option<String>, _cursor: Option<String>, _page_size: u32) -> Result<Page, Error> {
        let records = config::get_str("records")?.unwrap_or_else(|| "{}".to_owned());
        let records: Value = serde_json::from_str(&records).map_err(|e| Error::InvalidInput(format!("setting `records` is not JSON: {e}")))?;
        let key = match kind {
            EntityKind::Counterparty => "counterparty",
            EntityKind::Contract => "contract",
            EntityKind::SalesDocument => "sales_document",
            EntityKind::Payment => "payment",
        };
        let entries = records.get(key).and_then(Value::as_array).map(|list| list.iter().map(|v| entry(kind, v)).collect()).unwrap_or_default();
        Ok(Page { entries, rejected: Vec::new(), next_cursor: None })
    }
}

crm_plugin_sdk::export_accounting_sync!(Scripted);
