//! Claim letters kept on the client: a letter generated with `?save=true` is stored as a
//! document on the counterparty (kind `claim_letter`) with a timeline entry, and a row
//! that keeps its figures and, once someone records it, the day it was sent — where the
//! claims cases of a later issue start.

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::{ApiJson, apply_patch};
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};
use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::documents::DocumentId;
use crate::id_type;
use crate::legal_entities::LegalEntityId;
use crate::money::Money;
use crate::tenancy::{Caller, TenantId, UserId};
use crate::timeline::{self, EventKind, NewEvent};

use super::model::DeadlineMode;

id_type!(
    /// A stored claim letter.
    ClaimLetterId
);

/// A claim letter stored on a client.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct StoredLetter {
    pub id: ClaimLetterId,
    pub counterparty_id: CounterpartyId,
    /// The file (`GET /documents/{id}/content`).
    pub document_id: DocumentId,
    /// Our legal entity that claims.
    pub legal_entity_id: LegalEntityId,
    /// The outgoing number.
    pub number: Option<String>,
    pub letter_date: NaiveDate,
    /// The day the debts and penalties were computed for.
    pub as_of: NaiveDate,
    pub principal: Money,
    pub penalty: Money,
    pub total: Money,
    pub deadline_days: i32,
    pub deadline_mode: DeadlineMode,
    /// The last day to pay, when the letter names one (`by_date`).
    pub pay_by: Option<NaiveDate>,
    /// The day it was sent to the debtor, once recorded.
    pub sent_on: Option<NaiveDate>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What can be changed on a stored letter (a JSON merge patch).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LetterUpdate {
    /// The day the letter was sent; `null` clears it.
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    pub sent_on: Option<NaiveDate>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_letters)).routes(routes!(get_letter, update_letter))
}

const COLS: &str = "id, counterparty_id, document_id, legal_entity_id, number, letter_date, as_of, principal, penalty, total, deadline_days, \
    deadline_mode, pay_by, sent_on, created_by, created_at, updated_at";

async fn get(c: &mut Conn<'_>, tenant: TenantId, id: ClaimLetterId) -> sqlx::Result<Option<StoredLetter>> {
    let sql = format!("SELECT {COLS} FROM claim_letters WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, StoredLetter>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

/// Stores a generated letter on its client: the file as a document, the row, a timeline
/// entry and the audit log, in one transaction.
pub async fn store_letter(
    state: &AppState,
    caller: &Caller,
    built: &super::claim::Letter,
    bytes: Vec<u8>,
    content_type: &str,
    file_name: &str,
) -> ApiResult<StoredLetter> {
    let letter = &built.letter;
    let cp = &built.counterparty;
    let size = bytes.len();
    let chunks = futures::stream::iter([Ok::<bytes::Bytes, std::convert::Infallible>(bytes::Bytes::from(bytes))]);
    let staged = state.blobs.stage(chunks, u64::MAX).await.map_err(|e| ApiError::Internal(anyhow::anyhow!("staging the claim letter: {e}")))?;
    let result: ApiResult<(StoredLetter, crate::db::Tx)> = async {
        let mut tx = state.db.begin().await?;
        let mut c = tx.conn();
        let links = crate::links::Links { counterparty_id: Some(cp.id), ..Default::default() };
        let doc = crate::documents::store::insert(
            &mut c,
            caller.tenant_id,
            caller.user_id,
            &crate::documents::store::NewDocument {
                kind: "claim_letter",
                file_name,
                content_type,
                size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
                sha256: &staged.sha256,
                links,
            },
        )
        .await?;
        let now = Utc::now();
        let id = ClaimLetterId::new();
        let sql = format!(
            "INSERT INTO claim_letters (tenant_id, id, counterparty_id, document_id, legal_entity_id, number, letter_date, as_of, principal, penalty, total, \
             deadline_days, deadline_mode, pay_by, sent_on, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15, $16, $16) RETURNING {COLS}"
        );
        let stored = on_conn!(&mut c, c => sqlx::query_as::<_, StoredLetter>(&sql)
            .bind(caller.tenant_id).bind(id).bind(cp.id).bind(doc.id).bind(built.creditor_id).bind(&letter.number).bind(letter.date).bind(letter.as_of)
            .bind(letter.principal_total).bind(letter.penalty_total).bind(letter.total).bind(i32::try_from(letter.deadline_days).unwrap_or(365))
            .bind(letter.deadline_mode).bind(letter.pay_by).bind(caller.user_id).bind(now)
            .fetch_one(c).await)?;
        let number = letter.number.as_deref().map_or(String::new(), |n| format!(" № {n}"));
        timeline::record(&mut c, caller.tenant_id, NewEvent {
            kind: EventKind::DocumentAttached,
            entity_type: "document",
            entity_id: doc.id.0,
            counterparty_id: Some(cp.id),
            deal_id: None,
            summary: format!(
                "Сформирована претензия{number} от {} на {}",
                crate::templates::format::date_short(letter.date),
                crate::templates::format::rubles(letter.total)
            ),
            actor_id: Some(caller.user_id),
            occurred_at: now,
        })
        .await?;
        audit::record(&mut c, caller.tenant_id, &Actor::from(caller), "document", doc.id.0, AuditAction::Create, None::<&crate::documents::Document>, &doc).await?;
        audit::record(&mut c, caller.tenant_id, &Actor::from(caller), "claim_letter", id.0, AuditAction::Create, None::<&StoredLetter>, &stored).await?;
        Ok((stored, tx))
    }
    .await;
    match result {
        Ok((stored, tx)) => {
            state.blobs.commit(caller.tenant_id, staged).await.map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("storing the claim letter")))?;
            // The row becomes visible only now that its content is in place.
            tx.commit().await?;
            Ok(stored)
        }
        Err(e) => {
            state.blobs.discard(staged).await;
            Err(e)
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LetterFilter {
    pub counterparty_id: Option<CounterpartyId>,
}

/// Claim letters stored on clients (`?save=true`), newest first.
#[utoipa::path(get, path = "/claim-letters", tag = "receivables", params(LetterFilter, PageParams), responses((status = 200, body = Page<StoredLetter>)))]
async fn list_letters(State(state): State<AppState>, caller: Caller, Query(f): Query<LetterFilter>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<Page<StoredLetter>>> {
    let limit = page.limit()?;
    let after = page.after()?;
    let sql = format!("SELECT {COLS} FROM claim_letters WHERE tenant_id = $1 AND ($2 IS NULL OR counterparty_id = $2) AND id < $3 ORDER BY id DESC LIMIT $4");
    let mut c = state.db.read().await?;
    let rows = on_conn!(&mut c.conn(), c => sqlx::query_as::<_, StoredLetter>(&sql)
        .bind(caller.tenant_id).bind(f.counterparty_id).bind(after).bind(i64::from(limit) + 1).fetch_all(c).await)?;
    Ok(ApiJson(Page::from_rows(rows, limit, |r| r.id.0)))
}

/// A stored claim letter.
#[utoipa::path(get, path = "/claim-letters/{id}", tag = "receivables", params(("id" = ClaimLetterId, Path)),
    responses((status = 200, body = StoredLetter), (status = 404, body = Problem)))]
async fn get_letter(State(state): State<AppState>, caller: Caller, Path(id): Path<ClaimLetterId>) -> ApiResult<ApiJson<StoredLetter>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(get(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("claim letter"))?))
}

/// Record the day a stored claim letter was sent (a JSON merge patch of `sent_on`); the
/// client's timeline shows it. Managers only for their own clients.
#[utoipa::path(patch, path = "/claim-letters/{id}", tag = "receivables", params(("id" = ClaimLetterId, Path)),
    request_body(content = LetterUpdate, content_type = "application/merge-patch+json"),
    responses((status = 200, body = StoredLetter), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_letter(State(state): State<AppState>, caller: Caller, Path(id): Path<ClaimLetterId>, ApiJson(patch): ApiJson<serde_json::Value>) -> ApiResult<ApiJson<StoredLetter>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("claim letter"))?;
    let cp = crate::counterparties::store::get(&mut c, caller.tenant_id, before.counterparty_id).await?.ok_or(ApiError::NotFound("counterparty"))?;
    caller.ensure_owns(&[cp.responsible_id], "counterparty")?;
    let update: LetterUpdate = apply_patch(&LetterUpdate { sent_on: before.sent_on }, &patch)?;
    if let Some(sent) = update.sent_on {
        if sent < before.letter_date {
            return Err(ApiError::field("sent_on", format!("{sent} is before the letter's date {}", before.letter_date)));
        }
        if sent > caller.today() {
            return Err(ApiError::field("sent_on", format!("{sent} is in the future; record the day the letter was sent")));
        }
    }
    if update.sent_on == before.sent_on {
        return Ok(ApiJson(before));
    }
    let sql = format!("UPDATE claim_letters SET sent_on = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING {COLS}");
    let after = on_conn!(&mut c, c => sqlx::query_as::<_, StoredLetter>(&sql).bind(caller.tenant_id).bind(id).bind(update.sent_on).bind(Utc::now()).fetch_one(c).await)?;
    let number = after.number.as_deref().map_or(String::new(), |n| format!(" № {n}"));
    let summary = match after.sent_on {
        Some(sent) => format!("Претензия{number} от {} отправлена {}", crate::templates::format::date_short(after.letter_date), crate::templates::format::date_short(sent)),
        None => format!("Отметка об отправке претензии{number} от {} снята", crate::templates::format::date_short(after.letter_date)),
    };
    timeline::record(&mut c, caller.tenant_id, NewEvent {
        kind: EventKind::DocumentAttached,
        entity_type: "document",
        entity_id: after.document_id.0,
        counterparty_id: Some(after.counterparty_id),
        deal_id: None,
        summary,
        actor_id: Some(caller.user_id),
        occurred_at: Utc::now(),
    })
    .await?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "claim_letter", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}
