//! The tenants' own templates, one row per tenant and kind; every query is scoped by tenant.

use chrono::{DateTime, Utc};

use crate::db::{Conn, on_conn};
use crate::tenancy::{TenantId, UserId};

use super::TemplateKind;

/// A tenant's version of a kind's template.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredTemplate {
    pub kind: String,
    pub source: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
    /// The name of the user who stored it (when the user still exists).
    pub updated_by_name: Option<String>,
}

const COLS: &str = "t.kind, t.source, t.updated_at, t.updated_by, u.full_name AS updated_by_name";
const FROM: &str = "FROM templates t LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.updated_by";

/// The tenant's version of `kind`, if it replaced the default.
pub async fn get(c: &mut Conn<'_>, tenant: TenantId, kind: &str) -> sqlx::Result<Option<StoredTemplate>> {
    let sql = format!("SELECT {COLS} {FROM} WHERE t.tenant_id = $1 AND t.kind = $2");
    on_conn!(c, c => sqlx::query_as::<_, StoredTemplate>(&sql).bind(tenant).bind(kind).fetch_optional(c).await)
}

/// Every template the tenant replaced.
pub async fn list(c: &mut Conn<'_>, tenant: TenantId) -> sqlx::Result<Vec<StoredTemplate>> {
    let sql = format!("SELECT {COLS} {FROM} WHERE t.tenant_id = $1 ORDER BY t.kind");
    on_conn!(c, c => sqlx::query_as::<_, StoredTemplate>(&sql).bind(tenant).fetch_all(c).await)
}

/// Stores the tenant's version of `kind` (replacing an earlier one).
pub async fn put(c: &mut Conn<'_>, tenant: TenantId, kind: &str, source: &str, by: UserId) -> sqlx::Result<()> {
    let sql = "INSERT INTO templates (tenant_id, kind, source, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (tenant_id, kind) DO UPDATE SET source = EXCLUDED.source, updated_at = EXCLUDED.updated_at, \
               updated_by = EXCLUDED.updated_by";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(kind).bind(source).bind(Utc::now()).bind(by).execute(c).await.map(|_| ()))
}

/// Removes the tenant's version of `kind`, so the default applies again. `false` when there was none.
pub async fn delete(c: &mut Conn<'_>, tenant: TenantId, kind: &str) -> sqlx::Result<bool> {
    let sql = "DELETE FROM templates WHERE tenant_id = $1 AND kind = $2";
    on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(kind).execute(c).await.map(|r| r.rows_affected() > 0))
}

/// The template text the tenant's documents of `kind` are made from: its own, or the default.
pub async fn source(c: &mut Conn<'_>, tenant: TenantId, kind: &TemplateKind) -> sqlx::Result<(String, bool)> {
    let sql = "SELECT source FROM templates WHERE tenant_id = $1 AND kind = $2";
    let own: Option<String> = on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).bind(kind.key).fetch_optional(c).await)?;
    Ok(match own {
        Some(source) => (source, true),
        None => (kind.default_source.to_owned(), false),
    })
}
