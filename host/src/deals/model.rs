use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::validation::{Invalid, Violations};
use crate::counterparties::CounterpartyId;
use crate::id_type;
use crate::money::Money;
use crate::tenancy::UserId;

use super::params::{FieldDef, validate_params};
use super::pipelines::{PipelineId, StageId, StageKind};

id_type!(
    /// A deal.
    DealId
);

/// A deal: an opportunity with a counterparty moving through a pipeline.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Deal {
    pub id: DealId,
    pub title: String,
    pub pipeline_id: PipelineId,
    pub stage_id: StageId,
    /// Name of the current stage.
    pub stage_name: String,
    /// Whether the current stage is open, won or lost.
    pub stage_kind: StageKind,
    pub counterparty_id: CounterpartyId,
    pub responsible_id: UserId,
    pub amount: Option<Money>,
    /// ISO 4217 code.
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    /// Custom parameters, per the pipeline's field schema.
    #[schema(value_type = Object)]
    pub params: Json<Map<String, Value>>,
    pub stage_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A deal as sent to create it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeal {
    #[schema(example = "Факторинг для ООО «Моторика»")]
    pub title: String,
    pub pipeline_id: PipelineId,
    /// Default: the pipeline's first open stage.
    pub stage_id: Option<StageId>,
    pub counterparty_id: CounterpartyId,
    /// Default: the caller.
    pub responsible_id: Option<UserId>,
    pub amount: Option<Money>,
    /// ISO 4217 code (default `RUB`).
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    pub expected_close_date: Option<NaiveDate>,
    #[serde(default = "empty_object")]
    #[schema(value_type = Object, example = json!({"factoring_type": "with_recourse", "limit": "5000000.00"}))]
    pub params: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// The editable fields of a deal, as a PATCH merges into. The stage changes through
/// `POST /deals/{id}/stage`, which keeps the history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealUpdate {
    pub title: String,
    pub counterparty_id: CounterpartyId,
    pub responsible_id: UserId,
    pub amount: Option<Money>,
    pub currency: String,
    #[serde(default, deserialize_with = "crate::dates::strict_opt")]
    pub expected_close_date: Option<NaiveDate>,
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub params: Value,
}

impl From<&Deal> for DealUpdate {
    fn from(d: &Deal) -> Self {
        DealUpdate {
            title: d.title.clone(),
            counterparty_id: d.counterparty_id,
            responsible_id: d.responsible_id,
            amount: d.amount,
            currency: d.currency.clone(),
            expected_close_date: d.expected_close_date,
            params: Value::Object(d.params.0.clone()),
        }
    }
}

impl DealUpdate {
    /// Checks the fields and returns the params normalised against the schema.
    pub fn validate(&mut self, schema: &[FieldDef]) -> Result<Map<String, Value>, Invalid> {
        self.title = self.title.trim().to_string();
        self.currency = self.currency.trim().to_ascii_uppercase();
        let mut v = Violations::new();
        v.check(!self.title.is_empty(), "title", "must not be empty");
        v.check(
            self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase()),
            "currency",
            "must be a three-letter ISO 4217 code such as RUB",
        );
        if let Some(a) = self.amount {
            v.check(!a.is_negative(), "amount", "must not be negative");
        }
        let params = validate_params(&mut v, schema, &self.params);
        v.finish()?;
        Ok(params)
    }
}

/// One move of a deal between stages.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct StageChange {
    pub id: uuid::Uuid,
    pub from_stage_id: Option<StageId>,
    pub to_stage_id: StageId,
    pub changed_by: UserId,
    pub changed_at: DateTime<Utc>,
    /// Why (a stop reason, as it was named then), for a stage that asks for one.
    pub reason: Option<String>,
    /// The mover's own words about the move.
    pub comment: Option<String>,
}

/// Where to move a deal.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveDeal {
    pub stage_id: StageId,
    /// A reason from `GET /stop-reasons`: required by a stage whose gate asks for one (СТОП).
    #[serde(default)]
    pub reason_id: Option<super::factoring::StopReasonId>,
    /// Free text kept with the move (the details of the reason).
    #[serde(default)]
    pub comment: Option<String>,
}
