//! The import itself: rows read in chunks, each chunk planned against the cards that
//! already exist (one lookup by ИНН per chunk) and written in one transaction. A preview
//! plans without writing. Importing the same rows again finds every card as the rows
//! describe it and changes nothing.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;

use crate::audit::{self, Actor, AuditAction};
use crate::contacts::model::ContactInput;
use crate::counterparties::model::{Counterparty, CounterpartyInput};
use crate::counterparties::{CounterpartyId, store as cards};
use crate::db::Conn;
use crate::tenancy::{TenantId, UserId};

use super::model::{ImportReport, LeadBatchId, LeadMode, LeadSettings, RowError};
use super::rows::{self, Column, Layout, Lead, Manager};
use super::sheet::Table;
use super::store;

/// Rows per transaction.
pub const CHUNK: usize = 500;

/// What an import run knows besides the rows.
pub struct Context {
    pub tenant: TenantId,
    pub actor: Actor,
    /// Who imports: the responsible of rows that name nobody.
    pub user: UserId,
    pub mode: LeadMode,
    pub settings: LeadSettings,
    pub managers: Vec<Manager>,
    pub layout: Layout,
    /// The file's SHA-256 (batches of one list are found again by it).
    pub sha256: String,
    pub import_id: super::model::LeadImportId,
    /// The tenant has a company-registry module: new cards are filled from it, so a row
    /// may leave the name out.
    pub enrich: bool,
}

/// A deal to open once a chunk is written (through the deals service, as a person would).
#[derive(Debug, Clone)]
pub struct DealToOpen {
    pub counterparty_id: CounterpartyId,
    pub title: String,
    pub responsible: UserId,
    pub amount: Option<rust_decimal::Decimal>,
}

/// The result of one chunk.
#[derive(Debug, Default)]
pub struct ChunkOutcome {
    pub deals: Vec<DealToOpen>,
    /// Cards created (the enrichment asks the registry about them).
    pub created: Vec<CounterpartyId>,
}

/// Reads a table's rows against the context: leads, and the rows rejected.
pub fn read_rows(ctx: &Context, table: &Table, report: &mut ImportReport) -> Vec<Lead> {
    let mut leads = Vec::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        report.rows += 1;
        match rows::read(*row, cells, &ctx.layout, &ctx.settings.statuses, &ctx.managers) {
            Ok(lead) => leads.push(lead),
            Err(e) => report.reject(e),
        }
    }
    leads
}

/// Plans (and, when `write`, writes) one chunk of leads in `c`'s transaction.
/// `batches` are the telemarketing batches of this import by responsible.
pub async fn chunk(
    c: &mut Conn<'_>,
    ctx: &Context,
    leads: &[Lead],
    write: bool,
    report: &mut ImportReport,
    batches: &mut BTreeMap<UserId, (LeadBatchId, String, u32)>,
) -> sqlx::Result<ChunkOutcome> {
    let inns: Vec<String> = leads.iter().map(|l| l.inn.clone()).collect();
    let mut known: HashMap<String, Counterparty> = cards::by_inns(c, ctx.tenant, &inns).await?.into_iter().filter_map(|cp| cp.inn.clone().map(|i| (i, cp))).collect();
    let with_contacts: Vec<CounterpartyId> = known.values().map(|cp| cp.id).collect();
    let mut contacts = store::contact_keys(c, ctx.tenant, &with_contacts).await?;
    let pipeline_open = if ctx.mode == LeadMode::Existing { store::with_open_deal(c, ctx.tenant, ctx.settings.pipeline_id, &with_contacts).await? } else { Default::default() };
    let mut out = ChunkOutcome::default();
    // New cards and contacts are written together at the end of the chunk.
    let mut new_cards: Vec<(CounterpartyId, CounterpartyInput)> = Vec::new();
    let mut new_contacts: Vec<ContactInput> = Vec::new();
    let mut batch_items = Vec::new();
    for lead in leads {
        let responsible = lead.responsible.unwrap_or(ctx.user);
        let id = match known.get(&lead.inn).cloned() {
            Some(cp) => {
                let cp = &cp;
                let before = CounterpartyInput::from(cp);
                let mut after = before.clone();
                if lead.responsible.is_some() {
                    after.responsible_id = lead.responsible;
                }
                if lead.segment.is_some() {
                    after.segment = lead.segment.clone();
                }
                let changed = (lead.responsible.is_some() && lead.responsible != cp.responsible_id) || (lead.segment.is_some() && lead.segment != cp.segment);
                if !changed {
                    report.unchanged += 1;
                } else {
                    report.updated += 1;
                    if write {
                        let updated = cards::update(c, ctx.tenant, cp.id, &after).await?;
                        audit::record(c, ctx.tenant, &ctx.actor, "counterparty", cp.id.0, AuditAction::Update, Some(cp), &updated).await?;
                        known.insert(lead.inn.clone(), updated);
                    }
                }
                cp.id
            }
            None => {
                let name = match (&lead.name, ctx.enrich) {
                    (Some(name), _) => name.clone(),
                    // The registry gives the name once the card is written.
                    (None, true) => format!("ИНН {}", lead.inn),
                    (None, false) => {
                        let reason = "новый клиент без наименования: укажите наименование (или подключите модуль сведений о компаниях по ИНН)";
                        report.reject(RowError { row: lead.row, column: Some("Наименование".into()), reason: reason.into() });
                        continue;
                    }
                };
                let mut input = CounterpartyInput {
                    kind: lead.kind,
                    inn: Some(lead.inn.clone()),
                    kpp: None,
                    ogrn: None,
                    full_name: name,
                    short_name: None,
                    legal_address: None,
                    postal_address: None,
                    bank_name: None,
                    bank_bic: None,
                    bank_account: None,
                    bank_corr_account: None,
                    segment: lead.segment.clone(),
                    responsible_id: Some(responsible),
                    payment_deferral_days: 0,
                    tags: vec![],
                };
                if let Err(e) = input.normalize_and_validate() {
                    let reason = e.0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ");
                    report.reject(RowError { row: lead.row, column: None, reason });
                    continue;
                }
                report.created += 1;
                let id = CounterpartyId::new();
                // A later row with the same ИНН finds this card.
                known.insert(lead.inn.clone(), new_card(id, &input));
                new_cards.push((id, input));
                out.created.push(id);
                id
            }
        };
        // The contact person, once per card.
        if lead.contact.is_some() || lead.phone.is_some() || lead.email.is_some() {
            let key = contact_key(lead);
            let have = contacts.entry(id).or_default();
            if !have.contains(&key) {
                have.push(key);
                report.contacts_added += 1;
                {
                    let mut input = ContactInput {
                        counterparty_id: Some(id),
                        full_name: lead.contact.clone().unwrap_or_else(|| "Контакт из списка".into()),
                        position: None,
                        phones: lead.phone.iter().cloned().collect(),
                        emails: lead.email.iter().cloned().collect(),
                        note: Some(format!("Из импорта, строка {}", lead.row)),
                    };
                    if input.normalize_and_validate().is_ok() {
                        new_contacts.push(input);
                    }
                }
            }
        }
        match ctx.mode {
            LeadMode::Existing => {
                let opens = ctx.settings.statuses.get(lead.status).is_some_and(|s| s.opens_deal);
                if opens && !pipeline_open.contains(&id) && !out.deals.iter().any(|d| d.counterparty_id == id) {
                    let name = known.get(&lead.inn).map(|cp| cp.full_name.clone()).unwrap_or_default();
                    out.deals.push(DealToOpen { counterparty_id: id, title: format!("Факторинг: {name}"), responsible, amount: lead.amount });
                }
            }
            LeadMode::Potential => {
                let entry = match batches.get_mut(&responsible) {
                    Some(b) => b,
                    None => {
                        let name = ctx.managers.iter().find(|m| m.id == responsible).map(|m| m.full_name.clone()).unwrap_or_default();
                        let title = format!("Обзвон {} — {name}", Utc::now().format("%d.%m.%Y"));
                        let id = if write { store::batch_for(c, ctx.tenant, &ctx.sha256, ctx.import_id, responsible, &title).await? } else { LeadBatchId::new() };
                        batches.entry(responsible).or_insert((id, title, 0))
                    }
                };
                entry.2 += 1;
                if write {
                    batch_items.push((entry.0, id, lead.row, lead.call_on));
                }
            }
        }
    }
    if write {
        let rows: Vec<(CounterpartyId, &CounterpartyInput)> = new_cards.iter().map(|(id, i)| (*id, i)).collect();
        cards::insert_many(c, ctx.tenant, &rows).await?;
        let audit: Vec<(uuid::Uuid, Option<serde_json::Value>, serde_json::Value)> =
            new_cards.iter().map(|(id, i)| (id.0, None, serde_json::to_value(new_card(*id, i)).unwrap_or_default())).collect();
        audit::record_many(c, ctx.tenant, &ctx.actor, "counterparty", AuditAction::Create, &audit).await?;
        crate::contacts::store::insert_many(c, ctx.tenant, &new_contacts).await?;
        for (batch, cp, row, call_on) in batch_items {
            store::add_batch_item(c, ctx.tenant, batch, cp, row, call_on).await?;
        }
    }
    Ok(out)
}

fn contact_key(lead: &Lead) -> String {
    format!(
        "{}|{}|{}",
        lead.contact.as_deref().unwrap_or("").to_lowercase(),
        lead.phone.as_deref().map(digits).unwrap_or_default(),
        lead.email.as_deref().unwrap_or("").to_lowercase()
    )
}

pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The card as it is written (and as a preview pretends to have written it).
fn new_card(id: CounterpartyId, i: &CounterpartyInput) -> Counterparty {
    let now = Utc::now();
    Counterparty {
        id,
        kind: i.kind,
        inn: i.inn.clone(),
        kpp: None,
        ogrn: None,
        full_name: i.full_name.clone(),
        short_name: None,
        legal_address: None,
        postal_address: None,
        bank_name: None,
        bank_bic: None,
        bank_account: None,
        bank_corr_account: None,
        segment: i.segment.clone(),
        responsible_id: i.responsible_id,
        payment_deferral_days: 0,
        tags: sqlx::types::Json(vec![]),
        registry_status: None,
        head_name: None,
        head_post: None,
        okved: None,
        registered_on: None,
        liquidated_on: None,
        registry_checked_at: None,
        manual_fields: sqlx::types::Json(vec![]),
        created_at: now,
        updated_at: now,
        archived_at: None,
    }
}

/// Whether the table has the columns the import needs.
pub fn check_layout(layout: &Layout) -> Result<(), String> {
    if !layout.has(Column::Inn) {
        return Err("В таблице нет столбца «ИНН».".into());
    }
    Ok(())
}
