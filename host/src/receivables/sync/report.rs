//! A sync's progress while it runs and its report when it ends (the job's `progress`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::plugins::worlds::accounting::EntityKind;

/// Rejections and warnings kept in the report (the counts are always complete).
pub const KEEP_NOTES: usize = 1000;

/// What happened to one kind of record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Pages read.
    pub pages: u64,
    /// Records received from the accounting system (rejected ones included).
    pub received: u64,
    pub created: u64,
    pub updated: u64,
    /// Unchanged since the last sync, or marked for deletion and never synced.
    pub skipped: u64,
    pub rejected: u64,
}

/// A record that was rejected, or taken with a caveat, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Note {
    /// `counterparty`, `contract`, `sales_document` or `payment`.
    pub entity: String,
    /// The accounting system's id, when known.
    pub external_id: Option<String>,
    /// The client the record is of (for a counterparty: itself), as the accounting system
    /// names it, when known: whom to look up in 1C.
    #[serde(default)]
    pub client: Option<ClientRef>,
    pub reason: String,
    /// For a rejected counterparty: its records rejected because it was (they name a
    /// client that was not synced), counted here rather than listed one by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependents: Option<Dependents>,
}

/// A client of the accounting system, as a note names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientRef {
    /// Its accounting id.
    pub external_id: String,
    pub name: Option<String>,
    pub inn: Option<String>,
}

/// Records rejected with their counterparty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Dependents {
    pub contracts: u64,
    pub sales_documents: u64,
    pub payments: u64,
    /// The first of them (up to 20), by accounting id.
    pub external_ids: Vec<String>,
}

/// Dependents kept by id per rejected counterparty.
const KEEP_DEPENDENT_IDS: usize = 20;

fn printable(s: &str) -> String {
    if s.contains('\0') { s.replace('\0', "\u{FFFD}") } else { s.to_owned() }
}

impl Note {
    /// A note as the report keeps it: what the accounting system sent is quoted in it,
    /// so U+0000 (which the job's stored report cannot hold on PostgreSQL) shows as `�`.
    fn new(kind: EntityKind, external_id: Option<&str>, client: Option<ClientRef>, reason: String) -> Note {
        let client = client.map(|c| ClientRef { external_id: printable(&c.external_id), name: c.name.as_deref().map(printable), inn: c.inn.as_deref().map(printable) });
        Note { entity: entity_one(kind).into(), external_id: external_id.map(printable), client, reason: printable(&reason), dependents: None }
    }
}

/// The settlement phase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settlement {
    /// Clients waiting to be settled when it started.
    pub pending: i64,
    pub settled: usize,
    pub documents_changed: usize,
    pub ratings_changed: usize,
}

/// A sync's progress and report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    /// `counterparties`, `contracts`, `sales_documents`, `payments`, `settlement`, `done`.
    pub phase: String,
    /// The plugin and version that read the accounting system.
    pub plugin: String,
    /// Records changed since this time were asked for; `null`: everything.
    pub since: Option<String>,
    pub full: bool,
    pub counterparties: Counts,
    pub contracts: Counts,
    pub sales_documents: Counts,
    pub payments: Counts,
    pub settlement: Settlement,
    /// Clients given the responsible manager 1C names (through the admin's mapping,
    /// `GET /receivables/managers`).
    #[serde(default)]
    pub managers_assigned: u64,
    pub rejected_total: u64,
    /// The first rejections, with reasons.
    pub rejections: Vec<Note>,
    pub warnings_total: u64,
    /// Records taken with a caveat (e.g. a document naming an unknown contract).
    pub warnings: Vec<Note>,
    /// Seconds spent in each phase (summed over the runs of a resumed job).
    pub seconds: BTreeMap<String, f64>,
}

/// The report's name of an entity kind.
pub fn entity_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Counterparty => "counterparties",
        EntityKind::Contract => "contracts",
        EntityKind::SalesDocument => "sales_documents",
        EntityKind::Payment => "payments",
    }
}

/// The singular, as notes name it.
pub fn entity_one(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Counterparty => "counterparty",
        EntityKind::Contract => "contract",
        EntityKind::SalesDocument => "sales_document",
        EntityKind::Payment => "payment",
    }
}

impl Progress {
    pub fn new(plugin: &str, version: &str, since: Option<String>, full: bool) -> Progress {
        Progress { phase: "counterparties".into(), plugin: format!("{plugin} {version}"), since, full, ..Default::default() }
    }

    pub fn counts(&mut self, kind: EntityKind) -> &mut Counts {
        match kind {
            EntityKind::Counterparty => &mut self.counterparties,
            EntityKind::Contract => &mut self.contracts,
            EntityKind::SalesDocument => &mut self.sales_documents,
            EntityKind::Payment => &mut self.payments,
        }
    }

    pub fn reject(&mut self, kind: EntityKind, external_id: Option<&str>, reason: String) {
        self.reject_of(kind, external_id, None, reason);
    }

    /// Rejects a record of `client`.
    pub fn reject_of(&mut self, kind: EntityKind, external_id: Option<&str>, client: Option<ClientRef>, reason: String) {
        self.counts(kind).rejected += 1;
        self.rejected_total += 1;
        if self.rejections.len() < KEEP_NOTES {
            self.rejections.push(Note::new(kind, external_id, client, reason));
        }
    }

    /// The rejection of counterparty `external_id`, when this sync rejected it.
    pub fn rejected_counterparty(&self, external_id: &str) -> Option<&Note> {
        self.rejections.iter().find(|n| n.entity == "counterparty" && n.external_id.as_deref() == Some(external_id))
    }

    /// Rejects a record because its counterparty `counterparty` was rejected: counted
    /// under the counterparty's rejection. False (nothing recorded) when this sync did not
    /// reject that counterparty.
    pub fn reject_with_counterparty(&mut self, kind: EntityKind, external_id: &str, counterparty: &str) -> bool {
        let Some(note) = self.rejections.iter_mut().find(|n| n.entity == "counterparty" && n.external_id.as_deref() == Some(counterparty)) else {
            return false;
        };
        let d = note.dependents.get_or_insert_with(Dependents::default);
        match kind {
            EntityKind::Contract => d.contracts += 1,
            EntityKind::SalesDocument => d.sales_documents += 1,
            EntityKind::Payment => d.payments += 1,
            EntityKind::Counterparty => {}
        }
        if d.external_ids.len() < KEEP_DEPENDENT_IDS {
            d.external_ids.push(printable(external_id));
        }
        self.counts(kind).rejected += 1;
        self.rejected_total += 1;
        true
    }

    pub fn warn(&mut self, kind: EntityKind, external_id: Option<&str>, reason: String) {
        self.warnings_total += 1;
        if self.warnings.len() < KEEP_NOTES {
            self.warnings.push(Note::new(kind, external_id, None, reason));
        }
    }

    /// A warning the plugin gave (its log) about a phase, once per sync.
    pub fn plugin_warning(&mut self, kind: EntityKind, message: &str) {
        let reason = format!("the plugin says: {message}");
        if self.warnings.iter().any(|w| w.reason == reason) {
            return;
        }
        self.warn(kind, None, reason);
    }

    /// Adds `secs` to the time spent in `phase`.
    pub fn took(&mut self, phase: &str, secs: f64) {
        let t = self.seconds.entry(phase.to_string()).or_insert(0.0);
        *t = ((*t + secs) * 1000.0).round() / 1000.0;
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
