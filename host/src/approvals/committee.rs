//! Collegial bodies: the deal's kind decides which body meets (поточная → Финансовый
//! комитет, индивидуальная → Совет директоров; stored per tenant as data). A meeting has
//! its members, each member's vote, the decision (by majority once everyone has voted)
//! and the protocol, rendered from the tenant's `committee_protocol` template.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem};
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::audit::{self, Actor, AuditAction};
use crate::db::{Conn, on_conn};
use crate::deals::DealId;
use crate::id_type;
use crate::money::Money;
use crate::templates::{Sample, TemplateKind, Variable, var};
use crate::tenancy::model::str_enum;
use crate::tenancy::{Action, Caller, TenantId, UserId};
use crate::timeline::{self, EventKind, NewEvent};

id_type!(
    /// A collegial body (Финансовый комитет, Совет директоров).
    BodyId
);
id_type!(
    /// A meeting of a collegial body about one deal.
    MeetingId
);

/// A collegial body and the kind of deal it decides.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Body {
    pub id: BodyId,
    #[schema(example = "Финансовый комитет")]
    pub name: String,
    /// The value of the deal's `deal_kind` parameter this body decides (`flow`, `individual`).
    #[schema(example = "flow")]
    pub deal_kind: String,
    /// Its members, in the protocol's order.
    #[schema(value_type = Vec<String>)]
    pub members: Json<Vec<UserId>>,
    pub updated_at: DateTime<Utc>,
}

/// A body as sent to change it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BodyInput {
    pub name: String,
    pub deal_kind: String,
    pub members: Vec<UserId>,
}

/// A member's vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    For,
    Against,
    Abstain,
}
str_enum!(Vote { For => "for", Against => "against", Abstain => "abstain" });

impl Vote {
    pub fn label(self) -> &'static str {
        match self {
            Vote::For => "за",
            Vote::Against => "против",
            Vote::Abstain => "воздержался",
        }
    }
}

/// Where a meeting stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    Voting,
    Approved,
    Rejected,
}
str_enum!(MeetingStatus { Voting => "voting", Approved => "approved", Rejected => "rejected" });

impl MeetingStatus {
    pub fn label(self) -> &'static str {
        match self {
            MeetingStatus::Voting => "идёт голосование",
            MeetingStatus::Approved => "сделка одобрена",
            MeetingStatus::Rejected => "в сделке отказано",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct MeetingRow {
    pub id: MeetingId,
    pub deal_id: DealId,
    pub body_id: BodyId,
    pub body_name: String,
    pub held_on: NaiveDate,
    pub status: MeetingStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A member's place in a meeting and their vote.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct MemberVote {
    pub user_id: UserId,
    pub full_name: String,
    pub vote: Option<Vote>,
    pub comment: Option<String>,
    pub voted_at: Option<DateTime<Utc>>,
}

/// A meeting with its votes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Meeting {
    #[serde(flatten)]
    pub meeting: MeetingRow,
    pub votes: Vec<MemberVote>,
}

/// Calls a meeting about the deal.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    /// Default: today.
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    #[schema(value_type = Option<String>, format = Date)]
    pub held_on: Option<NaiveDate>,
    /// Default: the body's members.
    #[serde(default)]
    pub members: Option<Vec<UserId>>,
}

/// A member's vote as sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteInput {
    pub vote: Vote,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The bodies every tenant starts with.
pub const DEFAULT_BODIES: &[(&str, &str)] = &[("Финансовый комитет", "flow"), ("Совет директоров", "individual")];

// ---------------------------------------------------------------- store

const BODY_COLS: &str = "id, name, deal_kind, members, updated_at";
const MEETING_COLS: &str = "id, deal_id, body_id, body_name, held_on, status, created_at, decided_at";

pub async fn bodies(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<Body>> {
    let sql = format!("SELECT {BODY_COLS} FROM collegial_bodies WHERE tenant_id = $1 ORDER BY created_at, id");
    on_conn!(c, c => sqlx::query_as::<_, Body>(&sql).bind(tenant).fetch_all(c).await)
}

async fn body(c: &mut Conn<'_>, tenant: TenantId, id: BodyId) -> sqlx::Result<Option<Body>> {
    let sql = format!("SELECT {BODY_COLS} FROM collegial_bodies WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Body>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn seed_bodies(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<()> {
    for (name, kind) in DEFAULT_BODIES {
        let sql = "INSERT INTO collegial_bodies (tenant_id, id, name, deal_kind, members, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)";
        let members: Json<Vec<UserId>> = Json(vec![]);
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(BodyId::new()).bind(*name).bind(*kind).bind(&members).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    }
    Ok(())
}

async fn meeting_row(c: &mut Conn<'_>, tenant: TenantId, id: MeetingId) -> sqlx::Result<Option<MeetingRow>> {
    let sql = format!("SELECT {MEETING_COLS} FROM committee_meetings WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, MeetingRow>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

async fn votes(c: &mut Conn<'_>, tenant: TenantId, id: MeetingId) -> sqlx::Result<Vec<MemberVote>> {
    let sql = "SELECT v.user_id, u.full_name, v.vote, v.comment, v.voted_at FROM committee_votes v \
               JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.user_id WHERE v.tenant_id = $1 AND v.meeting_id = $2 ORDER BY v.position";
    on_conn!(c, c => sqlx::query_as::<_, MemberVote>(sql).bind(tenant).bind(id).fetch_all(c).await)
}

pub async fn meeting(c: &mut Conn<'_>, tenant: TenantId, id: MeetingId) -> sqlx::Result<Option<Meeting>> {
    let Some(m) = meeting_row(c, tenant, id).await? else { return Ok(None) };
    let votes = votes(c, tenant, id).await?;
    Ok(Some(Meeting { meeting: m, votes }))
}

/// The deal's meetings, newest first.
pub async fn meetings_of_deal(c: &mut Conn<'_>, tenant: TenantId, deal: DealId) -> sqlx::Result<Vec<Meeting>> {
    let sql = format!("SELECT {MEETING_COLS} FROM committee_meetings WHERE tenant_id = $1 AND deal_id = $2 ORDER BY id DESC");
    let rows = on_conn!(c, c => sqlx::query_as::<_, MeetingRow>(&sql).bind(tenant).bind(deal).fetch_all(c).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for m in rows {
        let votes = votes(c, tenant, m.id).await?;
        out.push(Meeting { meeting: m, votes });
    }
    Ok(out)
}

/// Whether the deal's latest meeting approved it (what the gate «collegial_decision» asks).
pub async fn approved_for(c: &mut Conn<'_>, tenant: TenantId, deal: DealId) -> sqlx::Result<bool> {
    let sql = "SELECT status FROM committee_meetings WHERE tenant_id = $1 AND deal_id = $2 ORDER BY id DESC LIMIT 1";
    let status: Option<MeetingStatus> = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(deal).fetch_optional(c).await)?;
    Ok(status == Some(MeetingStatus::Approved))
}

// ---------------------------------------------------------------- routes

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_bodies))
        .routes(routes!(update_body))
        .routes(routes!(deal_meetings, call_meeting))
        .routes(routes!(get_meeting))
        .routes(routes!(vote))
        .routes(routes!(protocol))
}

/// The collegial bodies and the deal kind each decides.
#[utoipa::path(get, path = "/collegial-bodies", tag = "approvals", responses((status = 200, body = Vec<Body>)))]
async fn list_bodies(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<Body>>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(bodies(&mut c.conn(), caller.tenant_id).await?))
}

/// Rename a body, change the deal kind it decides or its members (admins).
#[utoipa::path(put, path = "/collegial-bodies/{id}", tag = "approvals", params(("id" = BodyId, Path)), request_body = BodyInput,
    responses((status = 200, body = Body), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_body(State(state): State<AppState>, caller: Caller, Path(id): Path<BodyId>, ApiJson(input): ApiJson<BodyInput>) -> ApiResult<ApiJson<Body>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let before = body(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("collegial body"))?;
    let mut v = crate::validation::Violations::new();
    v.check(!input.name.trim().is_empty(), "name", "must not be empty");
    v.check(!input.deal_kind.trim().is_empty(), "deal_kind", "must not be empty");
    v.finish()?;
    for (i, m) in input.members.iter().enumerate() {
        crate::tenancy::service::ensure_user(&mut c, caller.tenant_id, &format!("members[{i}]"), *m).await?;
    }
    if bodies(&mut c, caller.tenant_id).await?.iter().any(|b| b.id != id && b.deal_kind == input.deal_kind.trim()) {
        return Err(ApiError::Conflict { detail: format!("Another body decides deals of kind `{}`.", input.deal_kind.trim()), field: Some("deal_kind".into()) });
    }
    let members = Json(input.members.clone());
    let sql = "UPDATE collegial_bodies SET name = $3, deal_kind = $4, members = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2";
    on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(id).bind(input.name.trim()).bind(input.deal_kind.trim()).bind(&members).bind(Utc::now())
        .execute(c).await.map(|_| ()))?;
    let after = body(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("collegial body"))?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "collegial_body", id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// The deal's collegial-body meetings, newest first.
#[utoipa::path(get, path = "/deals/{id}/committee-meetings", tag = "approvals", params(("id" = DealId, Path)),
    responses((status = 200, body = Vec<Meeting>), (status = 404, body = Problem)))]
pub(crate) async fn deal_meetings(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>) -> ApiResult<ApiJson<Vec<Meeting>>> {
    let mut conn = state.db.read().await?;
    let mut c = conn.conn();
    crate::deals::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    Ok(ApiJson(meetings_of_deal(&mut c, caller.tenant_id, id).await?))
}

/// Call a meeting of the body for the deal's kind (its `deal_kind` parameter): поточная →
/// Финансовый комитет, индивидуальная → Совет директоров.
#[utoipa::path(post, path = "/deals/{id}/committee-meetings", tag = "approvals", params(("id" = DealId, Path)), request_body = NewMeeting,
    responses((status = 201, body = Meeting), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn call_meeting(State(state): State<AppState>, caller: Caller, Path(id): Path<DealId>, ApiJson(input): ApiJson<NewMeeting>) -> ApiResult<(StatusCode, ApiJson<Meeting>)> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let deal = crate::deals::store::get(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("deal"))?;
    caller.ensure_owns(&[Some(deal.responsible_id)], "deal")?;
    let kind = deal.params.0.get("deal_kind").and_then(|v| v.as_str()).map(str::to_owned);
    let all = bodies(&mut c, caller.tenant_id).await?;
    let Some(body) = kind.as_deref().and_then(|k| all.iter().find(|b| b.deal_kind == k)) else {
        let kinds: Vec<String> = all.iter().map(|b| format!("{} → {}", b.deal_kind, b.name)).collect();
        return Err(ApiError::field("params.deal_kind", format!("Укажите вид сделки: от него зависит коллегиальный орган ({})", kinds.join(", "))));
    };
    if meetings_of_deal(&mut c, caller.tenant_id, id).await?.first().is_some_and(|m| m.meeting.status == MeetingStatus::Voting) {
        return Err(ApiError::Conflict { detail: "По сделке уже идёт голосование.".into(), field: None });
    }
    let members = input.members.clone().unwrap_or_else(|| body.members.0.clone());
    if members.is_empty() {
        return Err(ApiError::field("members", format!("У органа «{}» нет членов: назначьте их (PUT /api/v1/collegial-bodies/{}) или перечислите здесь", body.name, body.id)));
    }
    for (i, m) in members.iter().enumerate() {
        crate::tenancy::service::ensure_user(&mut c, caller.tenant_id, &format!("members[{i}]"), *m).await?;
    }
    let meeting_id = MeetingId::new();
    let now = Utc::now();
    let held_on = input.held_on.unwrap_or_else(|| caller.today());
    let sql = "INSERT INTO committee_meetings (tenant_id, id, deal_id, body_id, body_name, held_on, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(meeting_id).bind(id).bind(body.id).bind(&body.name).bind(held_on).bind(MeetingStatus::Voting)
        .bind(caller.user_id).bind(now).execute(c).await.map(|_| ()))?;
    let mut seen = Vec::new();
    for m in members {
        if seen.contains(&m) {
            continue;
        }
        let sql = "INSERT INTO committee_votes (tenant_id, meeting_id, user_id, position) VALUES ($1, $2, $3, $4)";
        on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(meeting_id).bind(m).bind(seen.len() as i32 + 1).execute(c).await.map(|_| ()))?;
        seen.push(m);
    }
    timeline::record(&mut c, caller.tenant_id, NewEvent {
        kind: EventKind::Committee,
        entity_type: "deal",
        entity_id: id.0,
        counterparty_id: Some(deal.counterparty_id),
        deal_id: Some(id),
        summary: format!("Сделка вынесена на заседание: {} ({})", body.name, held_on.format("%d.%m.%Y")),
        actor_id: Some(caller.user_id),
        occurred_at: now,
    })
    .await?;
    let m = meeting(&mut c, caller.tenant_id, meeting_id).await?.ok_or(ApiError::NotFound("meeting"))?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "committee_meeting", meeting_id.0, AuditAction::Create, None, &m).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(m)))
}

/// A meeting with each member's vote.
#[utoipa::path(get, path = "/committee-meetings/{id}", tag = "approvals", params(("id" = MeetingId, Path)),
    responses((status = 200, body = Meeting), (status = 404, body = Problem)))]
pub(crate) async fn get_meeting(State(state): State<AppState>, caller: Caller, Path(id): Path<MeetingId>) -> ApiResult<ApiJson<Meeting>> {
    let mut c = state.db.read().await?;
    Ok(ApiJson(meeting(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("meeting"))?))
}

/// Cast the caller's vote (members only). When every member has voted, the meeting decides
/// by majority: more «за» than «против» approves the deal.
#[utoipa::path(post, path = "/committee-meetings/{id}/votes", tag = "approvals", params(("id" = MeetingId, Path)), request_body = VoteInput,
    responses((status = 200, body = Meeting), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn vote(State(state): State<AppState>, caller: Caller, Path(id): Path<MeetingId>, ApiJson(input): ApiJson<VoteInput>) -> ApiResult<ApiJson<Meeting>> {
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let m = meeting(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("meeting"))?;
    let Some(mine) = m.votes.iter().find(|v| v.user_id == caller.user_id) else {
        return Err(ApiError::Forbidden(format!("Вы не член органа «{}» на этом заседании.", m.meeting.body_name)));
    };
    if m.meeting.status != MeetingStatus::Voting || mine.vote.is_some() {
        return Err(ApiError::Conflict { detail: "Голос уже учтён или голосование завершено.".into(), field: None });
    }
    let now = Utc::now();
    let comment = input.comment.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let sql = "UPDATE committee_votes SET vote = $4, comment = $5, voted_at = $6 WHERE tenant_id = $1 AND meeting_id = $2 AND user_id = $3";
    on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(id).bind(caller.user_id).bind(input.vote).bind(comment).bind(now).execute(c).await.map(|_| ()))?;
    let after = meeting(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("meeting"))?;
    if after.votes.iter().all(|v| v.vote.is_some()) {
        let count = |x: Vote| after.votes.iter().filter(|v| v.vote == Some(x)).count();
        let status = if count(Vote::For) > count(Vote::Against) { MeetingStatus::Approved } else { MeetingStatus::Rejected };
        let sql = "UPDATE committee_meetings SET status = $3, decided_at = $4 WHERE tenant_id = $1 AND id = $2";
        on_conn!(&mut c, c => sqlx::query(sql).bind(caller.tenant_id).bind(id).bind(status).bind(now).execute(c).await.map(|_| ()))?;
        if let Some(deal) = crate::deals::store::get(&mut c, caller.tenant_id, m.meeting.deal_id).await? {
            timeline::record(&mut c, caller.tenant_id, NewEvent {
                kind: EventKind::Committee,
                entity_type: "deal",
                entity_id: deal.id.0,
                counterparty_id: Some(deal.counterparty_id),
                deal_id: Some(deal.id),
                summary: format!("{}: {}", m.meeting.body_name, status.label()),
                actor_id: Some(caller.user_id),
                occurred_at: now,
            })
            .await?;
        }
    }
    let after = meeting(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("meeting"))?;
    audit::record(&mut c, caller.tenant_id, &Actor::from(&caller), "committee_meeting", id.0, AuditAction::Update, Some(&m), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProtocolParams {
    /// `pdf` (default) or `html`.
    pub format: Option<String>,
}

/// The meeting's protocol from the tenant's `committee_protocol` template (PDF, or HTML).
#[utoipa::path(get, path = "/committee-meetings/{id}/protocol", tag = "approvals", params(("id" = MeetingId, Path), ProtocolParams),
    responses((status = 200, description = "The protocol: PDF, or HTML with `format=html`", content(("application/pdf"), ("text/html"))),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn protocol(State(state): State<AppState>, caller: Caller, Path(id): Path<MeetingId>, Query(p): Query<ProtocolParams>) -> ApiResult<Response> {
    let format = crate::templates::routes::document_format(p.format.as_deref(), "the protocol")?;
    let data = {
        let mut conn = state.db.read().await?;
        let mut c = conn.conn();
        let m = meeting(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("meeting"))?;
        let deal = crate::deals::store::get(&mut c, caller.tenant_id, m.meeting.deal_id).await?.ok_or(ApiError::NotFound("meeting"))?;
        let client = crate::counterparties::store::names(&mut c, caller.tenant_id, &[deal.counterparty_id]).await?.into_iter().next().map(|x| x.1).unwrap_or_default();
        let number = meetings_of_deal(&mut c, caller.tenant_id, deal.id).await?.len();
        protocol_data(&m, &deal, &client, number)
    };
    let bytes = crate::templates::routes::tenant_document(&state, caller.tenant_id, &PROTOCOL, crate::templates::engine::context(&data), format).await?;
    Ok(crate::templates::routes::document_response(format, "protokol", bytes))
}

#[derive(Serialize)]
struct ProtocolDeal {
    title: String,
    client: String,
    factoring_type: Option<String>,
    limit: Option<Money>,
}

#[derive(Serialize)]
struct ProtocolMember {
    name: String,
    vote: Option<&'static str>,
    comment: Option<String>,
}

#[derive(Serialize)]
struct ProtocolData {
    number: String,
    body: String,
    held_on: NaiveDate,
    deal: ProtocolDeal,
    members: Vec<ProtocolMember>,
    votes_for: usize,
    votes_against: usize,
    votes_abstain: usize,
    decision: String,
}

pub(crate) fn factoring_type_label(key: &str) -> &str {
    match key {
        "with_recourse" => "с регрессом",
        "without_recourse" => "без регресса",
        "agency" => "агентский",
        "non_agency" => "неагентский",
        other => other,
    }
}

fn protocol_data(m: &Meeting, deal: &crate::deals::Deal, client: &str, number: usize) -> ProtocolData {
    let count = |x: Vote| m.votes.iter().filter(|v| v.vote == Some(x)).count();
    let decision = match m.meeting.status {
        MeetingStatus::Voting => "Голосование не завершено.".to_string(),
        MeetingStatus::Approved => format!("Одобрить сделку «{}».", deal.title),
        MeetingStatus::Rejected => format!("Отказать в сделке «{}».", deal.title),
    };
    ProtocolData {
        number: number.to_string(),
        body: m.meeting.body_name.clone(),
        held_on: m.meeting.held_on,
        deal: ProtocolDeal {
            title: deal.title.clone(),
            client: client.to_string(),
            factoring_type: deal.params.0.get("factoring_type").and_then(|v| v.as_str()).map(|k| factoring_type_label(k).to_string()),
            limit: deal.params.0.get("limit").and_then(|v| v.as_str()).and_then(|s| s.parse().ok()),
        },
        members: m.votes.iter().map(|v| ProtocolMember { name: v.full_name.clone(), vote: v.vote.map(Vote::label), comment: v.comment.clone() }).collect(),
        votes_for: count(Vote::For),
        votes_against: count(Vote::Against),
        votes_abstain: count(Vote::Abstain),
        decision,
    }
}

/// The protocol of a collegial body's meeting.
pub const PROTOCOL: TemplateKind = TemplateKind {
    key: "committee_protocol",
    title: "Протокол заседания коллегиального органа",
    description: "The protocol of a collegial body's meeting about a deal (GET /committee-meetings/{id}/protocol): the body, the date, \
                  the deal, each member's vote and the decision.",
    default_source: include_str!("../../assets/templates/committee_protocol.xml.j2"),
    variables: VARIABLES,
    samples,
};

/// The variables of the protocol's template.
pub const VARIABLES: &[Variable] = &[
    var!("number", Text, "the protocol's number (the meeting's number on the deal)"),
    var!("body", Text, "the body's name, e.g. Финансовый комитет"),
    var!("held_on", Date, "the meeting's date"),
    var!("deal", Object, "the deal"),
    var!("deal.title", Text, "its title"),
    var!("deal.client", Text, "the client's name"),
    var!("deal.factoring_type", Text?, "the factoring type in Russian (с регрессом, без регресса, агентский, неагентский)"),
    var!("deal.limit", Money?, "the deal's limit"),
    var!("members", List, "the members in order"),
    var!("members[].name", Text, "the member's full name"),
    var!("members[].vote", Text?, "за, против or воздержался; absent: has not voted"),
    var!("members[].comment", Text?, "the member's comment"),
    var!("votes_for", Integer, "votes «за»"),
    var!("votes_against", Integer, "votes «против»"),
    var!("votes_abstain", Integer, "abstentions"),
    var!("decision", Text, "the decision as one sentence"),
];

fn samples() -> Vec<Sample> {
    let data = serde_json::json!({
        "number": "1",
        "body": "Финансовый комитет",
        "held_on": "2026-03-12",
        "deal": {"title": "Факторинг для ООО «Моторика»", "client": "ООО «Моторика»", "factoring_type": "с регрессом", "limit": "5000000.00"},
        "members": [
            {"name": "Иванов Иван Иванович", "vote": "за", "comment": null},
            {"name": "Петрова Анна Сергеевна", "vote": "за", "comment": "При условии поручительства"},
            {"name": "Сидоров Пётр Ильич", "vote": "против", "comment": null}
        ],
        "votes_for": 2, "votes_against": 1, "votes_abstain": 0,
        "decision": "Одобрить сделку «Факторинг для ООО «Моторика»»."
    });
    vec![Sample { key: "typical", title: "Сделка одобрена большинством", data }]
}
