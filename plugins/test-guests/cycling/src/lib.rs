//! A misbehaving `accounting-sync` plugin for the host's job tests: every page is empty
//! and its `next_cursor` goes round the setting `cursors` (`a,b` by default) for ever:
//! no cursor → `a`, `a` → `b`, `b` → `a`, … A host that only compares a cursor with the
//! one before it reads these pages forever.

use crm_plugin_sdk::accounting::{EntityKind, Page};
use crm_plugin_sdk::{AccountingSync, Error, config};

struct Cycling;

impl AccountingSync for Cycling {
    fn fetch_page(_kind: EntityKind, _since: Option<String>, cursor: Option<String>, _page_size: u32) -> Result<Page, Error> {
        let ring = config::get_str("cursors")?.unwrap_or_else(|| "a,b".to_owned());
        let ring: Vec<&str> = ring.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
        if ring.is_empty() {
            return Err(Error::InvalidInput("setting `cursors` names no cursor".to_owned()));
        }
        let next = match cursor.as_deref().and_then(|c| ring.iter().position(|r| *r == c)) {
            Some(i) => ring[(i + 1) % ring.len()],
            None => ring[0],
        };
        Ok(Page { entries: Vec::new(), rejected: Vec::new(), next_cursor: Some(next.to_owned()) })
    }
}

crm_plugin_sdk::export_accounting_sync!(Cycling);
