//! Audit log: every create, update and archive records who, when, what, and each
//! changed field's value before and after. Written in the same transaction as the change.

pub mod routes;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{Conn, on_conn};
use crate::tenancy::model::str_enum;
use crate::tenancy::{Caller, TenantId};

/// What happened to the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Create,
    Update,
    Archive,
    Restore,
    /// Removed for good (configuration such as a module instance; CRM records are archived).
    Delete,
    /// A job was cancelled (or asked to stop).
    Cancel,
}
str_enum!(AuditAction { Create => "create", Update => "update", Archive => "archive", Restore => "restore", Delete => "delete", Cancel => "cancel" });

/// Who made the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A user through the API.
    User,
    /// The admin CLI or the host itself.
    System,
    /// A plugin acting for the tenant.
    Plugin,
}
str_enum!(ActorKind { User => "user", System => "system", Plugin => "plugin" });

/// The author of a change, as the audit log shows it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
    pub label: String,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn system(label: &str) -> Actor {
        Actor { kind: ActorKind::System, id: None, label: label.into(), request_id: None }
    }
}

impl From<&Caller> for Actor {
    fn from(c: &Caller) -> Actor {
        Actor { kind: ActorKind::User, id: Some(c.user_id.0), label: c.name.clone(), request_id: c.request_id.clone() }
    }
}

/// One field's value before and after.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// An audit log entry.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: Uuid,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub action: AuditAction,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    pub request_id: Option<String>,
    #[schema(value_type = Vec<FieldChange>)]
    pub changes: Json<Vec<FieldChange>>,
    pub at: DateTime<Utc>,
}

/// Fields that change on every write and say nothing by themselves.
const NOISE: &[&str] = &["updated_at", "created_at"];

/// The field-level difference between two API representations of an entity.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !NOISE.contains(&k.as_str()))
        .filter_map(|k| {
            let bv = b.get(k).cloned().unwrap_or(Value::Null);
            let av = a.get(k).cloned().unwrap_or(Value::Null);
            (bv != av).then(|| FieldChange { field: k.clone(), before: bv, after: av })
        })
        .collect()
}

/// Records a change. `before` is `None` for a create; an update that changed nothing
/// records nothing.
#[allow(clippy::too_many_arguments)] // one call writes one complete entry
pub async fn record<T: Serialize>(
    c: &mut Conn<'_>,
    tenant: TenantId,
    actor: &Actor,
    entity_type: &str,
    entity_id: Uuid,
    action: AuditAction,
    before: Option<&T>,
    after: &T,
) -> sqlx::Result<()> {
    let to_value = |v: &T| serde_json::to_value(v).unwrap_or(Value::Null);
    let after_v = to_value(after);
    let before_v = before.map(to_value).unwrap_or_else(|| Value::Object(Default::default()));
    let changes = diff(&before_v, &after_v);
    if changes.is_empty() && action == AuditAction::Update {
        return Ok(());
    }
    let sql = "INSERT INTO audit_log (tenant_id, id, entity_type, entity_id, action, actor_kind, actor_id, actor_label, request_id, changes, at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    let changes = Json(changes);
    on_conn!(c, c => sqlx::query(sql)
        .bind(tenant).bind(Uuid::now_v7()).bind(entity_type).bind(entity_id).bind(action)
        .bind(actor.kind).bind(actor.id).bind(&actor.label).bind(&actor.request_id).bind(&changes).bind(Utc::now())
        .execute(c).await.map(|_| ()))?;
    Ok(())
}

/// Records that something was removed for good, with what it was.
pub async fn record_delete<T: Serialize>(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, entity_type: &str, entity_id: Uuid, before: &T) -> sqlx::Result<()> {
    let before = serde_json::to_value(before).unwrap_or(Value::Null);
    record(c, tenant, actor, entity_type, entity_id, AuditAction::Delete, Some(&before), &Value::Object(Default::default())).await
}

/// Records many changes of one kind by one actor at once (bulk work such as a sync
/// creating thousands of cards): `(entity id, before, after)` as API representations.
pub async fn record_many(
    c: &mut Conn<'_>,
    tenant: TenantId,
    actor: &Actor,
    entity_type: &str,
    action: AuditAction,
    items: &[(Uuid, Option<Value>, Value)],
) -> sqlx::Result<()> {
    let empty = Value::Object(Default::default());
    let rows: Vec<(Uuid, Json<Vec<FieldChange>>)> = items
        .iter()
        .map(|(id, before, after)| (*id, Json(diff(before.as_ref().unwrap_or(&empty), after))))
        .filter(|(_, changes)| !(changes.is_empty() && action == AuditAction::Update))
        .collect();
    let now = Utc::now();
    for chunk in rows.chunks(1000) {
        match c {
            Conn::Postgres(c) => {
                // One array per column: a 1 000-row VALUES list would be 11 000 parameters to plan.
                let sql = "INSERT INTO audit_log (tenant_id, id, entity_type, entity_id, action, actor_kind, actor_id, actor_label, request_id, changes, at) \
                           SELECT $1, u.id, $2, u.entity_id, $3, $4, $5, $6, $7, u.changes::jsonb, $8 \
                           FROM UNNEST($9::uuid[], $10::uuid[], $11::text[]) AS u(id, entity_id, changes)";
                sqlx::query(sql)
                    .bind(tenant)
                    .bind(entity_type)
                    .bind(action)
                    .bind(actor.kind)
                    .bind(actor.id)
                    .bind(&actor.label)
                    .bind(&actor.request_id)
                    .bind(now)
                    .bind(chunk.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|(id, _)| *id).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|(_, ch)| serde_json::to_string(&ch.0).unwrap_or_else(|_| "[]".into())).collect::<Vec<_>>())
                    .execute(&mut **c)
                    .await?;
            }
            Conn::Sqlite(c) => {
                // Positional `?`: sqlx looks `$n` up by name on SQLite, slow for thousands.
                let one = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
                let sql = format!(
                    "INSERT INTO audit_log (tenant_id, id, entity_type, entity_id, action, actor_kind, actor_id, actor_label, request_id, changes, at) VALUES {}",
                    vec![one; chunk.len()].join(", ")
                );
                let mut q = sqlx::query(&sql);
                for (id, changes) in chunk {
                    q = q.bind(tenant).bind(Uuid::now_v7()).bind(entity_type).bind(*id).bind(action)
                        .bind(actor.kind).bind(actor.id).bind(&actor.label).bind(&actor.request_id).bind(changes).bind(now);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

pub async fn list(
    c: &mut Conn<'_>,
    tenant: TenantId,
    entity_type: Option<&str>,
    entity_id: Option<Uuid>,
    after: Uuid,
    limit: u32,
) -> sqlx::Result<Vec<AuditEntry>> {
    let sql = "SELECT id, entity_type, entity_id, action, actor_kind, actor_id, actor_label, request_id, changes, at \
               FROM audit_log WHERE tenant_id = $1 AND ($2 IS NULL OR entity_type = $2) AND ($3 IS NULL OR entity_id = $3) AND id < $4 \
               ORDER BY id DESC LIMIT $5";
    on_conn!(c, c => sqlx::query_as::<_, AuditEntry>(sql)
        .bind(tenant).bind(entity_type).bind(entity_id).bind(after).bind(i64::from(limit) + 1)
        .fetch_all(c).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_only_changed_fields_with_before_and_after() {
        let before = json!({"name": "A", "inn": "7719402047", "updated_at": "x", "tags": ["a"]});
        let after = json!({"name": "B", "inn": "7719402047", "updated_at": "y", "tags": ["a", "b"]});
        let d = diff(&before, &after);
        assert_eq!(
            d,
            vec![
                FieldChange { field: "name".into(), before: json!("A"), after: json!("B") },
                FieldChange { field: "tags".into(), before: json!(["a"]), after: json!(["a", "b"]) },
            ]
        );
    }
}
