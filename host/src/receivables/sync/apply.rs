//! Writing one page from the accounting plugin: every record checked like any other
//! input (rejected with its reason when bad), matched by the accounting system's id,
//! written only when new or changed, and its client marked for settlement.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use serde_json::json;

use crate::audit::{self, Actor, ActorKind, AuditAction};
use crate::counterparties::CounterpartyId;
use crate::counterparties::model::{CounterpartyInput, CounterpartyKind};
use crate::dates;
use crate::db::Conn;
use crate::jobs::runner::JobError;
use crate::money::Money;
use crate::plugins::worlds::accounting::{
    Contract as AccountingContract, Counterparty as AccountingCounterparty, EntityKind, Entry as AccountingEntry, Payment as AccountingPayment,
    Rejected as AccountingRejected, SalesDocument as AccountingSalesDocument,
};
use crate::receivables::calendar;
use crate::receivables::model::{ContractId, NamedAllocation, PaymentId, SalesDocumentId};
use crate::receivables::store::{self, ContractRow, DocRow, NewCard, PaymentRow, RefRow};
use crate::tenancy::TenantId;
use crate::validation::json_problems;

use super::report::{ClientRef, Progress, entity_one};

/// What every page of one sync shares.
pub struct Context {
    pub tenant: TenantId,
    /// Today in the tenant's time zone.
    pub today: NaiveDate,
    /// `<plugin> <version>`, for the audit log.
    pub plugin: String,
    /// Records a transaction takes before it commits.
    pub commit_records: usize,
}

impl Context {
    fn actor(&self) -> Actor {
        Actor { kind: ActorKind::Plugin, id: None, label: format!("{} (синхронизация с учётной системой)", self.plugin), request_id: None }
    }
}

/// The synced catalogs documents and payments refer to, read once per phase rather than
/// per page: cards by the accounting system's id (with the client's name and ИНН as the
/// accounting system has them, for notes), contracts, and the cards' own deferrals.
#[derive(Debug, Default)]
pub struct Catalogs {
    cards: HashMap<String, CounterpartyId>,
    clients: HashMap<String, (String, Option<String>)>,
    contracts: HashMap<String, ContractRef>,
    deferral: HashMap<CounterpartyId, i32>,
}

/// What a document or payment needs of its contract.
#[derive(Debug, Clone, Copy)]
struct ContractRef {
    id: ContractId,
    counterparty_id: CounterpartyId,
    deferral_days: Option<i32>,
}

impl Catalogs {
    pub async fn load(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Catalogs> {
        let refs = store::all_refs(c, tenant).await?;
        Ok(Catalogs {
            cards: refs.iter().map(|r| (r.0.clone(), r.1)).collect(),
            clients: refs.into_iter().map(|(ext, _, name, inn)| (ext, (name, inn))).collect(),
            contracts: store::all_contract_refs(c, tenant)
                .await?
                .into_iter()
                .map(|(ext, id, counterparty_id, deferral_days)| (ext, ContractRef { id, counterparty_id, deferral_days }))
                .collect(),
            deferral: store::all_card_deferrals(c, tenant).await?.into_iter().collect(),
        })
    }
}

impl Catalogs {
    /// The client `external_id` as a note names it.
    fn client(&self, external_id: &str) -> ClientRef {
        let known = self.clients.get(external_id);
        ClientRef { external_id: clip(external_id, 100), name: known.map(|k| k.0.clone()), inn: known.and_then(|k| k.1.clone()) }
    }
}

/// Why a record of a client is not taken.
enum Refused {
    /// Its counterparty is not among the synced ones (rejected by this sync, or missing).
    NoCounterparty { id: String, counterparty: String },
    /// Anything else, with the record's id when known.
    Other { id: Option<String>, reason: String },
}

/// Records a refusal: under its counterparty's rejection when this sync rejected that
/// counterparty, else as a note naming the client.
fn refuse(progress: &mut Progress, kind: EntityKind, refused: Refused, client: impl Fn(&str) -> Option<ClientRef>, counterparty_of: Option<&str>) {
    match refused {
        Refused::NoCounterparty { id, counterparty } => {
            if !progress.reject_with_counterparty(kind, &id, &counterparty) {
                let reason = format!(
                    "its counterparty `{}` is not among the synced counterparties (it is missing in the accounting system, or was rejected by an earlier sync)",
                    clip(&counterparty, 40)
                );
                progress.reject_of(kind, Some(&id), Some(ClientRef { external_id: clip(&counterparty, 100), name: None, inn: None }), reason);
            }
        }
        Refused::Other { id, reason } => progress.reject_of(kind, id.as_deref(), counterparty_of.and_then(client), reason),
    }
}

/// The only currency receivables are kept in.
pub const CURRENCY: &str = "RUB";

/// Writes one page of `kind`.
pub async fn page(
    c: &mut Conn<'_>,
    ctx: &Context,
    catalogs: &Catalogs,
    kind: EntityKind,
    entries: Vec<AccountingEntry>,
    rejected: Vec<AccountingRejected>,
    progress: &mut Progress,
) -> Result<(), JobError> {
    let counts = progress.counts(kind);
    counts.pages += 1;
    counts.received += (entries.len() + rejected.len()) as u64;
    for r in rejected {
        let reason = clip(&r.reason, 500);
        let id = r.external_id.as_deref().map(|s| clip(s, 100));
        let client = r.counterparty_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|cp| {
            if kind == EntityKind::Counterparty {
                ClientRef { external_id: clip(cp, 100), name: None, inn: None }
            } else {
                catalogs.client(cp)
            }
        });
        progress.reject_of(kind, id.as_deref(), client, format!("the plugin could not read it: {reason}"));
    }
    let mut seen = HashSet::new();
    let (mut cps, mut contracts, mut docs, mut pays) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for e in entries {
        let got = match &e {
            AccountingEntry::Counterparty(_) => EntityKind::Counterparty,
            AccountingEntry::Contract(_) => EntityKind::Contract,
            AccountingEntry::SalesDocument(_) => EntityKind::SalesDocument,
            AccountingEntry::Payment(_) => EntityKind::Payment,
        };
        let (id, e) = match normalise(e) {
            Ok(v) => v,
            Err((id, reason)) => {
                progress.reject(kind, id.as_deref(), reason);
                continue;
            }
        };
        if got != kind {
            progress.reject(kind, Some(&clip(&id, 100)), format!("the plugin returned a {} when asked for {}", entity_one(got), super::report::entity_name(kind)));
            continue;
        }
        if !seen.insert(id.clone()) {
            progress.reject(kind, Some(&clip(&id, 100)), "the same record came twice in one page; the first was taken".into());
            continue;
        }
        match e {
            AccountingEntry::Counterparty(x) => cps.push(x),
            AccountingEntry::Contract(x) => contracts.push(x),
            AccountingEntry::SalesDocument(x) => docs.push(x),
            AccountingEntry::Payment(x) => pays.push(x),
        }
    }
    match kind {
        EntityKind::Counterparty => counterparties(c, ctx, cps, progress).await,
        EntityKind::Contract => self::contracts(c, ctx, catalogs, contracts, progress).await,
        EntityKind::SalesDocument => documents(c, ctx, catalogs, docs, progress).await,
        EntityKind::Payment => payments(c, ctx, catalogs, pays, progress).await,
    }
}

// ---------------------------------------------------------------------------------
// Field checks. Each returns the reason a value is refused.

/// Makes a record ready for its checks, once, before any of them (the duplicate check
/// of the page included): its text must not hold U+0000 (reported by field, as the
/// contract names it), and its own id and the ids it refers to are trimmed, so `" X1"`
/// and `"X1"` are one record. Returns its id with the record.
fn normalise(mut e: AccountingEntry) -> Result<(String, AccountingEntry), (Option<String>, String)> {
    let as_json = serde_json::to_value(&e).unwrap_or_default();
    if let Some(p) = json_problems(&as_json, None).into_iter().next() {
        let id = as_json.get("external_id").and_then(|v| v.as_str()).map(|s| clip(s.trim(), 100));
        return Err((id, format!("{} {}", p.field.replace('_', "-"), p.message)));
    }
    fn trim(s: &mut String) {
        let t = s.trim();
        if t.len() != s.len() {
            *s = t.to_string();
        }
    }
    fn trim_opt(s: &mut Option<String>) {
        if let Some(v) = s {
            trim(v);
        }
        if s.as_deref() == Some("") {
            *s = None;
        }
    }
    let ext = match &mut e {
        AccountingEntry::Counterparty(x) => &mut x.external_id,
        AccountingEntry::Contract(x) => {
            trim(&mut x.counterparty_id);
            &mut x.external_id
        }
        AccountingEntry::SalesDocument(x) => {
            trim(&mut x.counterparty_id);
            trim_opt(&mut x.contract_id);
            trim_opt(&mut x.legal_entity_id);
            &mut x.external_id
        }
        AccountingEntry::Payment(x) => {
            trim(&mut x.counterparty_id);
            trim_opt(&mut x.contract_id);
            x.allocations.iter_mut().for_each(|a| trim(&mut a.document_id));
            &mut x.external_id
        }
    };
    *ext = external_id("external-id", ext).map_err(|reason| (None, reason))?;
    let id = ext.clone();
    Ok((id, e))
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

fn external_id(field: &str, s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("{field} is empty"));
    }
    if t.chars().count() > 100 || t.chars().any(char::is_control) {
        return Err(format!("{field} `{}` is not an accounting id (at most 100 printable characters)", clip(t, 40)));
    }
    Ok(t.to_string())
}

fn text(field: &str, s: &str, max: usize) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("{field} is empty"));
    }
    if t.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    Ok(t.to_string())
}

fn date(field: &str, s: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let d = dates::parse(s).map_err(|e| format!("{field} {}", dates::message(s, e)))?;
    let earliest = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or(d);
    if d < earliest || d > today + chrono::Days::new(366) {
        return Err(format!("{field} {d} is not a plausible date (before 1990 or more than a year ahead)"));
    }
    Ok(d)
}

fn amount(field: &str, s: &str, positive: bool) -> Result<Money, String> {
    let m: Money = s.parse().map_err(|e| format!("{field} `{}` {e}", clip(s, 40)))?;
    if m.is_negative() || (positive && m == Money::ZERO) {
        return Err(format!("{field} {m} must be {}", if positive { "above zero" } else { "zero or more" }));
    }
    Ok(m)
}

// ---------------------------------------------------------------------------------
// Counterparties

struct CpIn {
    ext: String,
    input: CounterpartyInput,
    deleted: bool,
    /// The responsible user the accounting system names, with their name.
    manager: Option<(String, String)>,
}

fn check_counterparty(x: AccountingCounterparty) -> Result<CpIn, (Option<String>, ClientRef, String)> {
    let ext = x.external_id.clone();
    let client = ClientRef {
        external_id: clip(&ext, 100),
        name: Some(clip(x.name.trim(), 200)).filter(|n| !n.is_empty()),
        inn: x.inn.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| clip(s, 20)),
    };
    let fail = |e: String| (Some(ext.clone()), client.clone(), e);
    let name = text("name", &x.name, 1000).map_err(fail)?;
    let inn = x.inn.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let kind = match inn.as_deref().map(str::len) {
        Some(12) => CounterpartyKind::SoleProprietor,
        _ => CounterpartyKind::LegalEntity,
    };
    let mut input = CounterpartyInput {
        kind,
        inn,
        kpp: x.kpp,
        ogrn: None,
        full_name: name,
        short_name: None,
        legal_address: None,
        postal_address: None,
        bank_name: None,
        bank_bic: None,
        bank_account: None,
        bank_corr_account: None,
        segment: None,
        responsible_id: None,
        payment_deferral_days: 0,
        tags: vec![],
    };
    input.normalize_and_validate().map_err(|e| fail(e.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")))?;
    let manager = manager_of(x.manager.as_ref());
    Ok(CpIn { ext, input, deleted: x.deleted, manager })
}

/// A responsible user as the accounting system names them: `(id, name)`.
fn manager_of(p: Option<&crate::plugins::worlds::accounting::Person>) -> Option<(String, String)> {
    let p = p?;
    let id = external_id("manager.external-id", &p.external_id).ok()?;
    Some((id, clip(p.name.trim(), 200)))
}

async fn counterparties(c: &mut Conn<'_>, ctx: &Context, items: Vec<AccountingCounterparty>, progress: &mut Progress) -> Result<(), JobError> {
    let kind = EntityKind::Counterparty;
    let mut valid = Vec::new();
    for x in items {
        match check_counterparty(x) {
            Ok(v) => valid.push(v),
            Err((id, client, reason)) => progress.reject_of(kind, id.as_deref(), Some(client), reason),
        }
    }
    let ids: Vec<&str> = valid.iter().map(|v| v.ext.as_str()).collect();
    let existing = store::refs(c, ctx.tenant, &ids).await?;
    let inns: Vec<&str> = valid.iter().filter(|v| !existing.contains_key(&v.ext)).filter_map(|v| v.input.inn.as_deref()).collect();
    let mut by_inn: HashMap<String, Vec<(CounterpartyId, String)>> = HashMap::new();
    for (id, inn, kpp) in store::cards_by_inn(c, ctx.tenant, &inns).await? {
        by_inn.entry(inn).or_default().push((id, kpp.unwrap_or_default()));
    }
    let now = Utc::now();
    let managers: Vec<(String, String)> = valid.iter().filter_map(|v| v.manager.clone()).collect();
    store::upsert_accounting_managers(c, ctx.tenant, &managers, now).await?;
    let (mut cards, mut refs, mut audits) = (Vec::new(), Vec::new(), Vec::new());
    for v in valid {
        let CpIn { ext, input, deleted, manager } = v;
        let manager_ref = manager.map(|m| m.0);
        if let Some(old) = existing.get(&ext) {
            let changed = old.name != input.full_name || old.inn != input.inn || old.kpp != input.kpp || old.deleted != deleted || old.manager_ref != manager_ref;
            if !changed {
                progress.counts(kind).skipped += 1;
                continue;
            }
            if old.created_card && old.name != input.full_name {
                rename_if_untouched(c, ctx, old.counterparty_id, &old.name, &input.full_name).await?;
            }
            refs.push(RefRow {
                external_id: ext,
                counterparty_id: old.counterparty_id,
                name: input.full_name,
                inn: input.inn,
                kpp: input.kpp,
                deleted,
                created_card: old.created_card,
                manager_ref,
            });
            progress.counts(kind).updated += 1;
            continue;
        }
        if deleted {
            // Marked for deletion in 1C and never synced: nothing to keep.
            progress.counts(kind).skipped += 1;
            continue;
        }
        // An existing live card with the same ИНН and КПП (or the only one with this ИНН
        // when 1C has no КПП) is linked instead of creating a duplicate.
        let kpp = input.kpp.clone().unwrap_or_default();
        let matched = input.inn.as_ref().and_then(|inn| {
            let found = by_inn.get(inn)?;
            found.iter().find(|(_, k)| *k == kpp).or_else(|| (kpp.is_empty() && found.len() == 1).then(|| &found[0])).map(|(id, _)| *id)
        });
        let (card, created_card) = match matched {
            Some(id) => (id, false),
            None => {
                let id = CounterpartyId::new();
                if let Some(inn) = &input.inn {
                    by_inn.entry(inn.clone()).or_default().push((id, kpp));
                }
                let search_key = crate::api::pagination::search_key(&[Some(&input.full_name), None, input.inn.as_deref()]);
                audits.push((id.0, None, json!({"kind": input.kind, "inn": input.inn, "kpp": input.kpp, "full_name": input.full_name, "payment_deferral_days": 0, "tags": []})));
                cards.push(NewCard { id, kind: input.kind, inn: input.inn.clone(), kpp: input.kpp.clone(), full_name: input.full_name.clone(), search_key });
                (id, true)
            }
        };
        refs.push(RefRow { external_id: ext, counterparty_id: card, name: input.full_name, inn: input.inn, kpp: input.kpp, deleted, created_card, manager_ref });
        progress.counts(kind).created += 1;
    }
    store::insert_cards(c, ctx.tenant, &cards, now).await?;
    audit::record_many(c, ctx.tenant, &ctx.actor(), "counterparty", AuditAction::Create, &audits).await?;
    store::upsert_refs(c, ctx.tenant, &refs, now).await?;
    Ok(())
}

/// Renames a card the sync created after 1C renamed the counterparty, unless a person
/// has renamed the card meanwhile.
async fn rename_if_untouched(c: &mut Conn<'_>, ctx: &Context, id: CounterpartyId, old: &str, new: &str) -> Result<(), JobError> {
    let Some(card) = crate::counterparties::store::get(c, ctx.tenant, id).await? else { return Ok(()) };
    if card.full_name != old || card.manual_fields.iter().any(|f| f == "full_name") {
        return Ok(());
    }
    let key = crate::api::pagination::search_key(&[Some(new), card.short_name.as_deref(), card.inn.as_deref()]);
    store::rename_card(c, ctx.tenant, id, new, &key).await?;
    let after = crate::counterparties::store::get(c, ctx.tenant, id).await?;
    if let Some(after) = after {
        audit::record(c, ctx.tenant, &ctx.actor(), "counterparty", id.0, AuditAction::Update, Some(&card), &after).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Contracts

async fn contracts(c: &mut Conn<'_>, ctx: &Context, cat: &Catalogs, items: Vec<AccountingContract>, progress: &mut Progress) -> Result<(), JobError> {
    let kind = EntityKind::Contract;
    let cp_ids: Vec<&str> = items.iter().map(|x| x.counterparty_id.as_str()).collect();
    let refs: HashMap<String, CounterpartyId> = store::refs(c, ctx.tenant, &cp_ids).await?.into_iter().map(|(k, r)| (k, r.counterparty_id)).collect();
    let managers: Vec<(String, String)> = items.iter().filter_map(|x| manager_of(x.manager.as_ref())).collect();
    store::upsert_accounting_managers(c, ctx.tenant, &managers, Utc::now()).await?;
    let mut valid = Vec::new();
    for x in items {
        let checked = (|| {
            let ext = x.external_id.clone();
            let fail = |e: String| Refused::Other { id: Some(ext.clone()), reason: e };
            let counterparty_id = refs
                .get(&x.counterparty_id)
                .copied()
                .ok_or_else(|| Refused::NoCounterparty { id: ext.clone(), counterparty: x.counterparty_id.clone() })?;
            let number = x.number.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| text("number", s, 200)).transpose().map_err(fail)?;
            let signed_on = x.signed_on.as_deref().map(|s| date("signed-on", s, ctx.today)).transpose().map_err(fail)?;
            let deferral_days = match x.deferral_days {
                Some(d) if d > 3650 => return Err(fail(format!("deferral-days {d} is more than 3650"))),
                Some(d) => Some(i32::try_from(d).unwrap_or(3650)),
                None => None,
            };
            let manager_ref = manager_of(x.manager.as_ref()).map(|m| m.0);
            Ok(ContractRow { id: ContractId::new(), external_id: ext.clone(), counterparty_id, number, signed_on, deferral_days, deleted: x.deleted, manager_ref })
        })();
        match checked {
            Ok(row) => valid.push(row),
            Err(refused) => refuse(progress, kind, refused, |cp| Some(cat.client(cp)), Some(x.counterparty_id.as_str())),
        }
    }
    let ids: Vec<&str> = valid.iter().map(|v| v.external_id.as_str()).collect();
    let existing = store::contracts_by_external(c, ctx.tenant, &ids).await?;
    let (mut rows, mut dirty) = (Vec::new(), Vec::new());
    for mut row in valid {
        match existing.get(&row.external_id) {
            Some(old) => {
                row.id = old.id;
                let before = ContractRow {
                    id: old.id,
                    external_id: old.external_id.clone(),
                    counterparty_id: old.counterparty_id,
                    number: old.number.clone(),
                    signed_on: old.signed_on,
                    deferral_days: old.deferral_days,
                    deleted: old.deleted,
                    manager_ref: old.manager_ref.clone(),
                };
                if before == row {
                    progress.counts(kind).skipped += 1;
                    continue;
                }
                if before.deferral_days != row.deferral_days || before.counterparty_id != row.counterparty_id {
                    dirty.extend([before.counterparty_id, row.counterparty_id]);
                }
                progress.counts(kind).updated += 1;
            }
            None if row.deleted => {
                progress.counts(kind).skipped += 1;
                continue;
            }
            None => progress.counts(kind).created += 1,
        }
        rows.push(row);
    }
    store::upsert_contracts(c, ctx.tenant, &rows, Utc::now()).await?;
    store::mark_dirty(c, ctx.tenant, &dirty).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Sales documents

async fn documents(c: &mut Conn<'_>, ctx: &Context, cat: &Catalogs, items: Vec<AccountingSalesDocument>, progress: &mut Progress) -> Result<(), JobError> {
    let kind = EntityKind::SalesDocument;
    let mut valid = Vec::new();
    for x in items {
        let checked = (|| {
            let ext = x.external_id.clone();
            let fail = |e: String| Refused::Other { id: Some(ext.clone()), reason: e };
            let counterparty_id = cat
                .cards
                .get(&x.counterparty_id)
                .copied()
                .ok_or_else(|| Refused::NoCounterparty { id: ext.clone(), counterparty: x.counterparty_id.clone() })?;
            let number = text("number", &x.number, 100).map_err(fail)?;
            let issued_on = date("issued-on", &x.issued_on, ctx.today).map_err(fail)?;
            let amount = amount("amount", &x.amount, false).map_err(fail)?;
            let currency = x.currency.trim().to_ascii_uppercase();
            if currency != CURRENCY {
                return Err(fail(format!(
                    "currency `{}`: receivables are kept in rubles (RUB); documents in other currencies are not taken",
                    clip(&currency, 10)
                )));
            }
            let legal_entity_ref = x.legal_entity_id.as_deref().map(|s| external_id("legal-entity-id", s)).transpose().map_err(fail)?;
            let mut warning = None;
            let contract = match x.contract_id.as_deref() {
                None => None,
                Some(k) => match cat.contracts.get(k) {
                    Some(k) if k.counterparty_id == counterparty_id => Some(k),
                    Some(_) => {
                        warning = Some(format!("№ {number}: its contract belongs to another counterparty; taken without the contract"));
                        None
                    }
                    None => {
                        warning = Some(format!("№ {number}: contract `{}` is not among the synced contracts; taken without it (the client's own deferral applies)", clip(k, 40)));
                        None
                    }
                },
            };
            let deferral = contract.and_then(|k| k.deferral_days).unwrap_or_else(|| cat.deferral.get(&counterparty_id).copied().unwrap_or(0));
            let due_on = calendar::due_date(issued_on, u32::try_from(deferral).unwrap_or(0));
            let row = DocRow {
                id: SalesDocumentId::new(),
                external_id: ext.clone(),
                counterparty_id,
                contract_id: contract.map(|k| k.id),
                legal_entity_ref,
                number,
                issued_on,
                due_on,
                amount: amount.minor(),
                currency,
                primary_document: x.primary_document.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| clip(s, 100)),
                posted: x.posted,
                deleted: x.deleted,
            };
            Ok((row, warning))
        })();
        match checked {
            Ok((row, warning)) => {
                if let Some(w) = warning {
                    progress.warn(kind, Some(&row.external_id), w);
                }
                valid.push(row);
            }
            Err(refused) => refuse(progress, kind, refused, |cp| Some(cat.client(cp)), Some(x.counterparty_id.as_str())),
        }
    }
    let ids: Vec<&str> = valid.iter().map(|v| v.external_id.as_str()).collect();
    let existing = store::documents_by_external(c, ctx.tenant, &ids).await?;
    let (mut rows, mut dirty) = (Vec::new(), Vec::new());
    for mut row in valid {
        match existing.get(&row.external_id) {
            Some(old) => {
                let same = old.counterparty_id == row.counterparty_id
                    && old.contract_id == row.contract_id
                    && old.legal_entity_ref == row.legal_entity_ref
                    && old.number == row.number
                    && old.issued_on == row.issued_on
                    && old.amount.minor() == row.amount
                    && old.primary_document == row.primary_document
                    // Only rubles are stored, and the currency was checked above.
                    && old.posted == row.posted
                    && old.deleted == row.deleted;
                if same {
                    progress.counts(kind).skipped += 1;
                    continue;
                }
                row.id = old.id;
                dirty.push(old.counterparty_id);
                progress.counts(kind).updated += 1;
            }
            None if row.deleted => {
                progress.counts(kind).skipped += 1;
                continue;
            }
            None => progress.counts(kind).created += 1,
        }
        dirty.push(row.counterparty_id);
        rows.push(row);
    }
    store::upsert_documents(c, ctx.tenant, &rows, Utc::now()).await?;
    store::mark_dirty(c, ctx.tenant, &dirty).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Payments

async fn payments(c: &mut Conn<'_>, ctx: &Context, cat: &Catalogs, items: Vec<AccountingPayment>, progress: &mut Progress) -> Result<(), JobError> {
    let kind = EntityKind::Payment;
    let mut valid = Vec::new();
    for x in items {
        let checked = (|| {
            let ext = x.external_id.clone();
            let fail = |e: String| Refused::Other { id: Some(ext.clone()), reason: e };
            let counterparty_id = cat
                .cards
                .get(&x.counterparty_id)
                .copied()
                .ok_or_else(|| Refused::NoCounterparty { id: ext.clone(), counterparty: x.counterparty_id.clone() })?;
            let number = text("number", &x.number, 100).map_err(fail)?;
            let paid_on = date("paid-on", &x.paid_on, ctx.today).map_err(fail)?;
            let total = amount("amount", &x.amount, true).map_err(fail)?;
            let mut allocations = Vec::new();
            let mut named: i64 = 0;
            for (i, a) in x.allocations.iter().enumerate() {
                let document = external_id(&format!("allocations[{i}].document-id"), &a.document_id).map_err(fail)?;
                let amount = amount(&format!("allocations[{i}].amount"), &a.amount, true).map_err(fail)?;
                named = named.saturating_add(amount.minor());
                allocations.push(NamedAllocation { document, amount });
            }
            if named > total.minor() {
                return Err(fail(format!("№ {number}: its lines name {} in documents, more than the payment's {total}", Money::from_minor(named))));
            }
            let mut warning = None;
            let contract_id = match x.contract_id.as_deref() {
                None => None,
                Some(k) => match cat.contracts.get(k) {
                    Some(k) if k.counterparty_id == counterparty_id => Some(k.id),
                    _ => {
                        warning = Some(format!("№ {number}: contract `{}` is not one of the payer's synced contracts; taken without it", clip(k, 40)));
                        None
                    }
                },
            };
            let row = PaymentRow {
                id: PaymentId::new(),
                external_id: ext.clone(),
                counterparty_id,
                contract_id,
                number,
                paid_on,
                amount: total.minor(),
                allocations,
                posted: x.posted,
                deleted: x.deleted,
                // The settlement works out the advance (usually there is none).
                unapplied: 0,
            };
            Ok((row, warning))
        })();
        match checked {
            Ok((row, warning)) => {
                if let Some(w) = warning {
                    progress.warn(kind, Some(&row.external_id), w);
                }
                valid.push(row);
            }
            Err(refused) => refuse(progress, kind, refused, |cp| Some(cat.client(cp)), Some(x.counterparty_id.as_str())),
        }
    }
    let ids: Vec<&str> = valid.iter().map(|v| v.external_id.as_str()).collect();
    let existing = store::payments_by_external(c, ctx.tenant, &ids).await?;
    let (mut rows, mut dirty) = (Vec::new(), Vec::new());
    for mut row in valid {
        match existing.get(&row.external_id) {
            Some(old) => {
                let same = old.counterparty_id == row.counterparty_id
                    && old.contract_id == row.contract_id
                    && old.number == row.number
                    && old.paid_on == row.paid_on
                    && old.amount.minor() == row.amount
                    && old.allocations.0 == row.allocations
                    && old.posted == row.posted
                    && old.deleted == row.deleted;
                if same {
                    progress.counts(kind).skipped += 1;
                    continue;
                }
                row.id = old.id;
                row.unapplied = old.unapplied.minor();
                dirty.push(old.counterparty_id);
                progress.counts(kind).updated += 1;
            }
            None if row.deleted => {
                progress.counts(kind).skipped += 1;
                continue;
            }
            None => progress.counts(kind).created += 1,
        }
        dirty.push(row.counterparty_id);
        rows.push(row);
    }
    store::upsert_payments(c, ctx.tenant, &rows, Utc::now()).await?;
    store::mark_dirty(c, ctx.tenant, &dirty).await?;
    Ok(())
}
