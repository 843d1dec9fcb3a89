//! Pipelines (ordered stages, each open / won / lost with a win probability) and
//! their custom field schemas, configured per tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::validation::{Invalid, Violations};
use crate::audit::{self, Actor, AuditAction};
use crate::db::{Conn, on_conn};
use crate::id_type;
use crate::tenancy::TenantId;
use crate::tenancy::model::str_enum;

use super::params::{self, FieldDef};

id_type!(
    /// A deal pipeline.
    PipelineId
);
id_type!(
    /// A stage of a pipeline.
    StageId
);

/// Whether deals at a stage are still in play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Open,
    Won,
    Lost,
}
str_enum!(StageKind { Open => "open", Won => "won", Lost => "lost" });

/// What a pipeline is for: winning new business, or changing the terms of a deal already
/// made (`POST /deals/{id}/change-terms` opens the new deal in a `change_of_terms` pipeline).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PipelinePurpose {
    #[default]
    NewBusiness,
    ChangeOfTerms,
}
str_enum!(PipelinePurpose { NewBusiness => "new_business", ChangeOfTerms => "change_of_terms" });

/// What a deal must have before it may enter a stage (moving back needs nothing).
/// Stored per stage as data; a refused move names every missing item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageGate {
    /// Deal fields that must be filled: keys of the pipeline's field schema, or `amount`
    /// and `expected_close_date`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Kinds of documents that must be attached to the deal (`Анкета клиента`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<String>,
    /// Documents required only when a deal parameter has a given value (say, the buyer's
    /// financial statements when `factoring_type` is `without_recourse`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents_when: Vec<ConditionalDocuments>,
    /// Approval subjects (`application`, `draft_decision`) whose latest route run must
    /// have finished approved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<String>,
    /// Checklist items of the deal that must be marked done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<ChecklistDef>,
    /// The collegial body for the deal's kind must have decided for the deal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub collegial_decision: bool,
    /// Entering the stage needs a reason from the tenant's list (СТОП); checked in
    /// either direction.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reason_required: bool,
}

/// Documents a gate requires when the deal's parameter `field` equals `equals`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionalDocuments {
    #[schema(example = "factoring_type")]
    pub field: String,
    #[schema(example = "without_recourse")]
    pub equals: String,
    #[schema(example = json!(["Бухгалтерская отчётность покупателя"]))]
    pub documents: Vec<String>,
}

/// A checklist item of a deal: its key (marked through `PUT /deals/{id}/checklist/{key}`)
/// and what users see.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistDef {
    #[schema(example = "dossier")]
    pub key: String,
    #[schema(example = "Досье клиента сформировано")]
    pub label: String,
}

/// The deal's own fields a gate may require besides the custom ones, with their labels.
pub const CORE_GATE_FIELDS: &[(&str, &str)] = &[("amount", "Сумма сделки"), ("expected_close_date", "Ожидаемая дата закрытия")];

/// A stage of a pipeline.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Stage {
    pub id: StageId,
    pub pipeline_id: PipelineId,
    pub name: String,
    /// Order within the pipeline, from 1.
    pub position: i32,
    pub kind: StageKind,
    /// Probability (0–100 %) that a deal at this stage is won, for weighted forecasts.
    pub win_probability: i32,
    /// What a deal needs to enter this stage.
    #[schema(value_type = StageGate)]
    pub gate: Json<StageGate>,
}

/// A pipeline with its stages in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Pipeline {
    pub id: PipelineId,
    pub name: String,
    pub purpose: PipelinePurpose,
    /// Custom deal parameters of this pipeline.
    pub field_schema: Vec<FieldDef>,
    pub stages: Vec<Stage>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
struct PipelineRow {
    id: PipelineId,
    name: String,
    purpose: PipelinePurpose,
    field_schema: Json<Vec<FieldDef>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    archived_at: Option<DateTime<Utc>>,
}

/// A stage as sent to create or change it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    #[schema(example = "Переговоры")]
    pub name: String,
    pub kind: StageKind,
    #[schema(example = 20)]
    pub win_probability: i32,
    /// Where to put the stage (1 = first); default: last.
    pub position: Option<i32>,
    /// What a deal needs to enter the stage (default: nothing).
    #[serde(default)]
    pub gate: StageGate,
}

impl StageInput {
    pub fn validate(&self, v: &mut Violations, prefix: &str) {
        v.check(!self.name.trim().is_empty(), &format!("{prefix}name"), "must not be empty");
        v.check((0..=100).contains(&self.win_probability), &format!("{prefix}win_probability"), "must be between 0 and 100");
        if let Some(p) = self.position {
            v.check(p >= 1, &format!("{prefix}position"), "must be 1 or more");
        }
        for (i, d) in self.gate.documents.iter().enumerate() {
            v.check(!d.trim().is_empty(), &format!("{prefix}gate.documents[{i}]"), "must not be empty");
        }
        for (i, w) in self.gate.documents_when.iter().enumerate() {
            v.check(!w.equals.trim().is_empty(), &format!("{prefix}gate.documents_when[{i}].equals"), "must not be empty");
            v.check(!w.documents.is_empty() && w.documents.iter().all(|d| !d.trim().is_empty()), &format!("{prefix}gate.documents_when[{i}].documents"), "must name one or more document kinds");
        }
        for (i, a) in self.gate.approvals.iter().enumerate() {
            v.check(!a.trim().is_empty(), &format!("{prefix}gate.approvals[{i}]"), "must not be empty");
        }
        for (i, c) in self.gate.checklist.iter().enumerate() {
            let key_ok = !c.key.is_empty() && c.key.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            v.check(key_ok, &format!("{prefix}gate.checklist[{i}].key"), "must be snake_case: a–z, 0–9, _");
            v.check(!c.label.trim().is_empty(), &format!("{prefix}gate.checklist[{i}].label"), "must not be empty");
        }
    }

    /// Gate fields must name a field of the pipeline (or a core deal field).
    pub fn validate_gate_fields(&self, v: &mut Violations, prefix: &str, schema: &[FieldDef]) {
        for (i, f) in self.gate.fields.iter().enumerate() {
            let known = schema.iter().any(|d| &d.key == f) || CORE_GATE_FIELDS.iter().any(|(k, _)| k == f);
            v.check(known, &format!("{prefix}gate.fields[{i}]"), "is not a field of the pipeline (nor amount or expected_close_date)");
        }
        for (i, w) in self.gate.documents_when.iter().enumerate() {
            let known = schema.iter().any(|d| d.key == w.field);
            v.check(known, &format!("{prefix}gate.documents_when[{i}].field"), "is not a field of the pipeline");
        }
    }
}

/// A pipeline as sent to create it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineInput {
    #[schema(example = "Факторинг")]
    pub name: String,
    /// Default: `new_business`.
    #[serde(default)]
    pub purpose: PipelinePurpose,
    #[serde(default)]
    pub field_schema: Vec<FieldDef>,
    pub stages: Vec<StageInput>,
}

impl PipelineInput {
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut v = Violations::new();
        v.check(!self.name.trim().is_empty(), "name", "must not be empty");
        params::validate_schema(&mut v, &self.field_schema);
        v.check(
            self.stages.iter().any(|s| s.kind == StageKind::Open),
            "stages",
            "a pipeline needs at least one open stage for new deals",
        );
        for (i, s) in self.stages.iter().enumerate() {
            s.validate(&mut v, &format!("stages[{i}]."));
            s.validate_gate_fields(&mut v, &format!("stages[{i}]."), &self.field_schema);
        }
        v.finish()
    }
}

/// The name and field schema, as a PATCH merges into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineUpdate {
    pub name: String,
    pub purpose: PipelinePurpose,
    pub field_schema: Vec<FieldDef>,
}

const STAGE_COLS: &str = "id, pipeline_id, name, position, kind, win_probability, gate";
const PIPELINE_COLS: &str = "id, name, purpose, field_schema, created_at, updated_at, archived_at";

async fn stages_of(c: &mut Conn<'_>, tenant: TenantId, id: PipelineId) -> sqlx::Result<Vec<Stage>> {
    let sql = format!("SELECT {STAGE_COLS} FROM stages WHERE tenant_id = $1 AND pipeline_id = $2 ORDER BY position, id");
    on_conn!(c, c => sqlx::query_as::<_, Stage>(&sql).bind(tenant).bind(id).fetch_all(c).await)
}

async fn assemble(c: &mut Conn<'_>, tenant: TenantId, row: PipelineRow) -> sqlx::Result<Pipeline> {
    let stages = stages_of(c, tenant, row.id).await?;
    Ok(Pipeline {
        id: row.id,
        name: row.name,
        purpose: row.purpose,
        field_schema: row.field_schema.0,
        stages,
        created_at: row.created_at,
        updated_at: row.updated_at,
        archived_at: row.archived_at,
    })
}

pub async fn get(c: &mut Conn<'_>, tenant: TenantId, id: PipelineId) -> sqlx::Result<Option<Pipeline>> {
    let sql = format!("SELECT {PIPELINE_COLS} FROM pipelines WHERE tenant_id = $1 AND id = $2");
    let row = on_conn!(c, c => sqlx::query_as::<_, PipelineRow>(&sql).bind(tenant).bind(id).fetch_optional(c).await)?;
    match row {
        Some(r) => Ok(Some(assemble(c, tenant, r).await?)),
        None => Ok(None),
    }
}

pub async fn list(c: &mut Conn<'_>, tenant: TenantId, include_archived: bool) -> sqlx::Result<Vec<Pipeline>> {
    let sql = format!("SELECT {PIPELINE_COLS} FROM pipelines WHERE tenant_id = $1 AND ($2 OR archived_at IS NULL) ORDER BY id LIMIT 1000");
    let rows = on_conn!(c, c => sqlx::query_as::<_, PipelineRow>(&sql).bind(tenant).bind(include_archived).fetch_all(c).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(assemble(c, tenant, r).await?);
    }
    Ok(out)
}

pub async fn get_stage(c: &mut Conn<'_>, tenant: TenantId, id: StageId) -> sqlx::Result<Option<Stage>> {
    let sql = format!("SELECT {STAGE_COLS} FROM stages WHERE tenant_id = $1 AND id = $2");
    on_conn!(c, c => sqlx::query_as::<_, Stage>(&sql).bind(tenant).bind(id).fetch_optional(c).await)
}

pub async fn insert(c: &mut Conn<'_>, tenant: TenantId, input: &PipelineInput) -> sqlx::Result<Pipeline> {
    let id = PipelineId::new();
    let now = Utc::now();
    let schema = Json(input.field_schema.clone());
    let sql = "INSERT INTO pipelines (tenant_id, id, name, purpose, field_schema, created_at, updated_at) VALUES ($1, $2, $3, $6, $4, $5, $5)";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(input.name.trim()).bind(&schema).bind(now).bind(input.purpose).execute(c).await.map(|_| ()))?;
    for (i, s) in input.stages.iter().enumerate() {
        insert_stage_at(c, tenant, id, s, i as i32 + 1).await?;
    }
    get(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

async fn insert_stage_at(c: &mut Conn<'_>, tenant: TenantId, pipeline: PipelineId, s: &StageInput, position: i32) -> sqlx::Result<Stage> {
    let sql = format!(
        "INSERT INTO stages (tenant_id, id, pipeline_id, name, position, kind, win_probability, gate, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {STAGE_COLS}"
    );
    let gate = Json(s.gate.clone());
    on_conn!(c, c => sqlx::query_as::<_, Stage>(&sql)
        .bind(tenant).bind(StageId::new()).bind(pipeline).bind(s.name.trim()).bind(position).bind(s.kind).bind(s.win_probability).bind(&gate).bind(Utc::now())
        .fetch_one(c).await)
}

/// Renumbers the pipeline's stages 1..n in the given order.
async fn renumber(c: &mut Conn<'_>, tenant: TenantId, order: &[StageId]) -> sqlx::Result<()> {
    for (i, id) in order.iter().enumerate() {
        let sql = "UPDATE stages SET position = $3 WHERE tenant_id = $1 AND id = $2";
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(*id).bind(i as i32 + 1).execute(c).await.map(|_| ()))?;
    }
    Ok(())
}

/// Adds a stage at `input.position` (default last), shifting later stages.
pub async fn add_stage(c: &mut Conn<'_>, tenant: TenantId, pipeline: &Pipeline, input: &StageInput) -> sqlx::Result<Stage> {
    let stage = insert_stage_at(c, tenant, pipeline.id, input, pipeline.stages.len() as i32 + 1).await?;
    let mut order: Vec<StageId> = pipeline.stages.iter().map(|s| s.id).collect();
    let at = input.position.map(|p| (p as usize - 1).min(order.len())).unwrap_or(order.len());
    order.insert(at, stage.id);
    renumber(c, tenant, &order).await?;
    get_stage(c, tenant, stage.id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Changes a stage's name, kind, probability and (optionally) position.
pub async fn update_stage(c: &mut Conn<'_>, tenant: TenantId, pipeline: &Pipeline, id: StageId, input: &StageInput) -> sqlx::Result<Stage> {
    let sql = "UPDATE stages SET name = $3, kind = $4, win_probability = $5, gate = $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2";
    let gate = Json(input.gate.clone());
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(input.name.trim()).bind(input.kind).bind(input.win_probability).bind(&gate).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    if let Some(p) = input.position {
        let mut order: Vec<StageId> = pipeline.stages.iter().map(|s| s.id).filter(|s| *s != id).collect();
        order.insert((p as usize - 1).min(order.len()), id);
        renumber(c, tenant, &order).await?;
    }
    get_stage(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn update(c: &mut Conn<'_>, tenant: TenantId, id: PipelineId, u: &PipelineUpdate) -> sqlx::Result<Pipeline> {
    let schema = Json(u.field_schema.clone());
    let sql = "UPDATE pipelines SET name = $3, field_schema = $4, updated_at = $5, purpose = $6 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(u.name.trim()).bind(&schema).bind(Utc::now()).bind(u.purpose).execute(c).await.map(|_| ()))?;
    get(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

pub async fn set_archived(c: &mut Conn<'_>, tenant: TenantId, id: PipelineId, at: Option<DateTime<Utc>>) -> sqlx::Result<Pipeline> {
    let sql = "UPDATE pipelines SET archived_at = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(at).bind(Utc::now()).execute(c).await.map(|_| ()))?;
    get(c, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// The factoring pipeline every new tenant starts with (stage names are what the
/// tenant's managers see, so they are in Russian): the 10 stages of issue 16 (nine in
/// play and СТОП), with their gates as data.
pub fn default_factoring() -> PipelineInput {
    let stage = |name: &str, kind, p| StageInput { name: name.into(), kind, win_probability: p, position: None, gate: StageGate::default() };
    let strings = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let gated = |name: &str, p, fields: &[&str], documents: &[&str]| StageInput {
        gate: StageGate { fields: strings(fields), documents: strings(documents), ..StageGate::default() },
        ..stage(name, StageKind::Open, p)
    };
    let check = |key: &str, label: &str| ChecklistDef { key: key.into(), label: label.into() };
    let field = |key: &str, label: &str, t, options: &[&str]| FieldDef {
        key: key.into(),
        label: label.into(),
        field_type: t,
        required: false,
        options: options.iter().map(|s| s.to_string()).collect(),
    };
    use params::FieldType as T;
    let signed = ["ГДФО", "ДС", "Уведомление"];
    let mut services = gated("На службах", 50, &[], &["Анкета клиента", "Бухгалтерская отчётность"]);
    services.gate.documents_when = vec![ConditionalDocuments {
        field: "factoring_type".into(),
        equals: "without_recourse".into(),
        documents: strings(&["Бухгалтерская отчётность покупателя"]),
    }];
    let mut committee = gated("Коллегиальный орган", 60, &["deal_kind"], &[]);
    committee.gate.approvals = strings(&["application", "draft_decision"]);
    let mut awaiting = stage("Ожидание финансирования", StageKind::Open, 70);
    awaiting.gate.collegial_decision = true;
    let mut financing = gated("Финансирование в ОД", 85, &[], &signed);
    financing.gate.checklist = vec![check("dossier", "Досье клиента сформировано"), check("conditions_precedent", "Отлагательные условия проверены")];
    let mut financed = gated("Профинансировано", 100, &["payout_date", "payout_amount"], &signed);
    financed.kind = StageKind::Won;
    financed.gate.checklist = vec![
        check("dossier", "Досье клиента сформировано"),
        check("conditions_precedent", "Отлагательные условия проверены"),
        check("operations_entry", "Сделка заведена в операционную систему"),
        check("limit_unblocked", "Лимит разблокирован"),
    ];
    let mut stop = stage("СТОП", StageKind::Lost, 0);
    stop.gate.reason_required = true;
    PipelineInput {
        name: "Факторинг".into(),
        purpose: PipelinePurpose::NewBusiness,
        field_schema: vec![
            field("factoring_type", "Вид факторинга", T::Enum, &["with_recourse", "without_recourse", "agency", "non_agency"]),
            field("deal_kind", "Вид сделки (поточная / индивидуальная)", T::Enum, &["flow", "individual"]),
            field("limit", "Лимит", T::Money, &[]),
            field("term_days", "Срок, дней", T::Integer, &[]),
            field("deferral_days", "Отсрочка, дней", T::Integer, &[]),
            field("suppliers", "Поставщики", T::String, &[]),
            field("buyers", "Покупатели (дебиторы)", T::String, &[]),
            field("payout_date", "Дата выплаты", T::Date, &[]),
            field("payout_amount", "Сумма выплаты", T::Money, &[]),
        ],
        stages: vec![
            stage("Горячий лид", StageKind::Open, 10),
            stage("Переговоры", StageKind::Open, 20),
            gated("Коммерческое предложение", 30, &["factoring_type", "limit"], &[]),
            gated("Сбор документов", 40, &["term_days", "deferral_days"], &[]),
            services,
            committee,
            awaiting,
            financing,
            financed,
            stop,
        ],
    }
}

/// The pipeline a returning client's new terms go through: the factoring pipeline's
/// parameters and gates from «Сбор документов» on (the first three stages are skipped:
/// the client, the terms and the offer are known from the deal being changed).
pub fn default_change_of_terms() -> PipelineInput {
    let mut p = default_factoring();
    p.name = "Изменение условий финансирования".into();
    p.purpose = PipelinePurpose::ChangeOfTerms;
    let start = p.stages.iter().position(|s| s.name == "Сбор документов").unwrap_or(0);
    p.stages.drain(..start);
    p
}

pub async fn seed(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, input: &PipelineInput) -> sqlx::Result<Pipeline> {
    let p = insert(c, tenant, input).await?;
    audit::record(c, tenant, actor, "pipeline", p.id.0, AuditAction::Create, None, &p).await?;
    Ok(p)
}

pub async fn seed_default(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor) -> sqlx::Result<Pipeline> {
    seed(c, tenant, actor, &default_factoring()).await
}
