//! Stage gates: before a deal enters a stage, what the stage's gate requires (fields,
//! documents of given kinds — some only for a factoring type —, finished approval routes,
//! the collegial body's decision, checklist items) is checked, and every missing item is
//! named in Russian, as the manager sees it. Moving back, to a lost stage, or within the
//! same position needs nothing (a reason for СТОП is asked by the move itself).

use crate::db::{Conn, on_conn};
use crate::tenancy::TenantId;
use crate::validation::FieldError;

use super::model::Deal;
use super::params::FieldDef;
use super::pipelines::{CORE_GATE_FIELDS, Pipeline, Stage, StageKind};

fn same_kind(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// The items the gates on the way to `to` require that `deal` lacks, each as a field
/// error: the field is `gate.fields.<key>`, `gate.documents[<i>]`,
/// `gate.documents_when[<i>][<j>]`, `gate.approvals[<i>]`, `gate.collegial_decision` or
/// `gate.checklist[<i>]`; the message says what to do. A move that jumps forward over
/// stages passes every gate it jumps over, not only the last one, so no stage's
/// requirement is skipped; an item two gates ask for is named once.
pub async fn missing(c: &mut Conn<'_>, tenant: TenantId, deal: &Deal, from: Option<&Stage>, to: &Stage, pipeline: &Pipeline) -> sqlx::Result<Vec<FieldError>> {
    let forward = from.is_none_or(|f| to.position > f.position);
    if !forward || to.kind == StageKind::Lost {
        return Ok(vec![]);
    }
    let after = from.map_or(i32::MIN, |f| f.position);
    let crossed = pipeline.stages.iter().filter(|s| s.position > after && s.position < to.position && s.kind != StageKind::Lost);
    let mut out: Vec<FieldError> = Vec::new();
    for stage in crossed.chain(std::iter::once(to)) {
        for e in required(c, tenant, deal, stage, &pipeline.field_schema).await? {
            // «Для этапа «X» приложите документ «ГДФО»»: the same demand of a later gate is dropped.
            let demand = |e: &FieldError| e.message.split_once("» ").map(|(_, rest)| rest.to_string()).unwrap_or_else(|| e.message.clone());
            if !out.iter().any(|o| o.field == e.field && demand(o) == demand(&e)) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

/// Everything `to`'s gate requires that `deal` lacks, whatever the direction (the deal
/// page shows what the next stage needs).
pub async fn required(c: &mut Conn<'_>, tenant: TenantId, deal: &Deal, to: &Stage, schema: &[FieldDef]) -> sqlx::Result<Vec<FieldError>> {
    let gate = &to.gate.0;
    let stage = &to.name;
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
            out.push(FieldError::new(format!("gate.fields.{key}"), format!("Для этапа «{stage}» заполните поле «{label}»")));
        }
    }
    let conditional: Vec<(usize, &super::pipelines::ConditionalDocuments)> = gate
        .documents_when
        .iter()
        .enumerate()
        .filter(|(_, w)| deal.params.0.get(&w.field).and_then(|v| v.as_str()) == Some(w.equals.as_str()))
        .collect();
    if !gate.documents.is_empty() || !conditional.is_empty() {
        let sql = "SELECT DISTINCT kind FROM documents WHERE tenant_id = $1 AND deal_id = $2 AND archived_at IS NULL";
        let kinds: Vec<String> = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(deal.id).fetch_all(c).await)?;
        for (i, kind) in gate.documents.iter().enumerate() {
            if !kinds.iter().any(|k| same_kind(k, kind)) {
                out.push(FieldError::new(format!("gate.documents[{i}]"), format!("Для этапа «{stage}» приложите документ «{kind}»")));
            }
        }
        for (i, w) in conditional {
            for (j, kind) in w.documents.iter().enumerate() {
                if !kinds.iter().any(|k| same_kind(k, kind)) {
                    out.push(FieldError::new(
                        format!("gate.documents_when[{i}][{j}]"),
                        format!("Для этапа «{stage}» при условии «{}» = «{}» приложите документ «{kind}»", label_of(schema, &w.field), w.equals),
                    ));
                }
            }
        }
    }
    if !gate.approvals.is_empty() {
        let runs = crate::approvals::store::latest_runs_of_deal(c, tenant, deal.id).await?;
        let names = crate::approvals::store::route_names(c, tenant).await?;
        for (i, subject) in gate.approvals.iter().enumerate() {
            let latest = runs.iter().find(|r| &r.subject == subject);
            if latest.is_none_or(|r| r.status != crate::approvals::model::RunStatus::Approved) {
                let name = names.iter().find(|(s, _)| s == subject).map(|(_, n)| n.as_str()).unwrap_or(subject);
                let state = match latest {
                    None => "не начато".to_string(),
                    Some(r) => r.status.label().to_string(),
                };
                out.push(FieldError::new(format!("gate.approvals[{i}]"), format!("Для этапа «{stage}» завершите согласование «{name}» (сейчас: {state})")));
            }
        }
    }
    if gate.collegial_decision && !crate::approvals::committee::approved_for(c, tenant, deal.id).await? {
        out.push(FieldError::new("gate.collegial_decision", format!("Для этапа «{stage}» нужно положительное решение коллегиального органа")));
    }
    if !gate.checklist.is_empty() {
        let done = super::factoring::done_items(c, tenant, deal.id).await?;
        for (i, item) in gate.checklist.iter().enumerate() {
            if !done.contains(&item.key) {
                out.push(FieldError::new(format!("gate.checklist[{i}]"), format!("Для этапа «{stage}» отметьте пункт «{}»", item.label)));
            }
        }
    }
    Ok(out)
}

fn label_of<'a>(schema: &'a [FieldDef], key: &'a str) -> &'a str {
    schema.iter().find(|f| f.key == key).map(|f| f.label.as_str()).unwrap_or(key)
}
