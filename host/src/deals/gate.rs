//! Stage gates: before a deal enters a stage, what the stage's gate requires (fields,
//! documents of given kinds) is checked, and every missing item is named in Russian, as
//! the manager sees it. Moving back, to a lost stage, or within the same position needs
//! nothing.

use crate::db::{Conn, on_conn};
use crate::tenancy::TenantId;
use crate::validation::FieldError;

use super::model::Deal;
use super::params::FieldDef;
use super::pipelines::{CORE_GATE_FIELDS, Stage, StageKind};

/// The items `to`'s gate requires that `deal` lacks, each as a field error: the field is
/// `gate.fields.<key>` or `gate.documents[<i>]`, the message says what to add.
pub async fn missing(c: &mut Conn<'_>, tenant: TenantId, deal: &Deal, from: Option<&Stage>, to: &Stage, schema: &[FieldDef]) -> sqlx::Result<Vec<FieldError>> {
    let forward = from.is_none_or(|f| to.position > f.position);
    if !forward || to.kind == StageKind::Lost {
        return Ok(vec![]);
    }
    let gate = &to.gate.0;
    let mut out = Vec::new();
    for key in &gate.fields {
        let filled = match key.as_str() {
            "amount" => deal.amount.is_some(),
            "expected_close_date" => deal.expected_close_date.is_some(),
            k => deal.params.0.get(k).is_some_and(|v| !v.is_null() && v.as_str() != Some("")),
        };
        if !filled {
            let label = schema
                .iter()
                .find(|f| &f.key == key)
                .map(|f| f.label.as_str())
                .or_else(|| CORE_GATE_FIELDS.iter().find(|(k, _)| k == key).map(|(_, l)| *l))
                .unwrap_or(key);
            out.push(FieldError::new(format!("gate.fields.{key}"), format!("Для этапа «{}» заполните поле «{label}»", to.name)));
        }
    }
    if !gate.documents.is_empty() {
        let sql = "SELECT DISTINCT kind FROM documents WHERE tenant_id = $1 AND deal_id = $2 AND archived_at IS NULL";
        let kinds: Vec<String> = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(deal.id).fetch_all(c).await)?;
        for (i, kind) in gate.documents.iter().enumerate() {
            let attached = kinds.iter().any(|k| k.trim().to_lowercase() == kind.trim().to_lowercase());
            if !attached {
                out.push(FieldError::new(format!("gate.documents[{i}]"), format!("Для этапа «{}» приложите документ «{kind}»", to.name)));
            }
        }
    }
    Ok(out)
}
