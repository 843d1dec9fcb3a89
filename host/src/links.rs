//! Links from a record (interaction, task, document) to what it is about: a
//! counterparty, a deal, a contact, a task or an interaction. Every linked id must name
//! a live record of the caller's tenant; a deal implies its counterparty.

use crate::validation::{CheckError, Invalid, Violations};
use crate::contacts::ContactId;
use crate::counterparties::CounterpartyId;
use crate::db::Conn;
use crate::deals::DealId;
use crate::interactions::InteractionId;
use crate::receivables::model::SalesDocumentId;
use crate::tasks::TaskId;
use crate::tenancy::TenantId;

#[derive(Debug, Default, Clone, Copy)]
pub struct Links {
    pub counterparty_id: Option<CounterpartyId>,
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    pub task_id: Option<TaskId>,
    pub interaction_id: Option<InteractionId>,
    /// A sales document (a debt): the work is about it.
    pub sales_document_id: Option<SalesDocumentId>,
}

/// Checks every link and fills in the counterparty of a linked deal (or contact).
pub async fn resolve(c: &mut Conn<'_>, tenant: TenantId, mut l: Links) -> Result<Links, CheckError> {
    let mut v = Violations::new();
    let missing = "no such record in your tenant (or it is archived)";
    if let Some(id) = l.counterparty_id {
        v.check(crate::counterparties::store::exists(c, tenant, id).await?, "counterparty_id", missing);
    }
    if let Some(id) = l.deal_id {
        match crate::deals::store::get(c, tenant, id).await?.filter(|d| d.archived_at.is_none()) {
            None => v.add("deal_id", missing),
            Some(deal) => match l.counterparty_id {
                None => l.counterparty_id = Some(deal.counterparty_id),
                Some(cp) if cp != deal.counterparty_id => v.add("deal_id", "this deal belongs to another counterparty"),
                Some(_) => {}
            },
        }
    }
    if let Some(id) = l.contact_id {
        match crate::contacts::store::get(c, tenant, id).await?.filter(|x| x.archived_at.is_none()) {
            None => v.add("contact_id", missing),
            Some(contact) => match (l.counterparty_id, contact.counterparty_id) {
                (None, cp) => l.counterparty_id = cp,
                (Some(a), Some(b)) if a != b => v.add("contact_id", "this contact belongs to another counterparty"),
                _ => {}
            },
        }
    }
    if let Some(id) = l.sales_document_id {
        match crate::receivables::store::document_exists(c, tenant, id).await? {
            None => v.add("sales_document_id", "no such sales document in your tenant"),
            Some(cp) => match l.counterparty_id {
                None => l.counterparty_id = Some(cp),
                Some(other) if other != cp => v.add("sales_document_id", "this document is another counterparty's"),
                Some(_) => {}
            },
        }
    }
    if let Some(id) = l.task_id {
        v.check(crate::tasks::store::exists(c, tenant, id).await?, "task_id", missing);
    }
    if let Some(id) = l.interaction_id {
        v.check(crate::interactions::exists(c, tenant, id).await?, "interaction_id", missing);
    }
    v.finish()?;
    Ok(l)
}

/// At least one link must be given.
pub fn require_any(l: &Links, field: &str, what: &str) -> Result<(), Invalid> {
    let any = l.counterparty_id.is_some()
        || l.deal_id.is_some()
        || l.contact_id.is_some()
        || l.task_id.is_some()
        || l.interaction_id.is_some()
        || l.sales_document_id.is_some();
    if any { Ok(()) } else { Err(Invalid::field(field, what)) }
}
