//! Tenant, user and token operations shared by the API and the admin CLI: validation,
//! the write, and its audit entry, in the caller's transaction.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Actor, AuditAction};
use crate::db::Conn;
use crate::validation::{Invalid, Violations};

use super::model::{ApiToken, Department, IssuedToken, Role, Tenant, TenantId, TokenId, User, UserId};
use super::store;

/// Why a tenant, user or token operation failed. The HTTP layer maps it to a status.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// No such user or token in the tenant.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Conflicts with what is stored; `field` names the input it is about.
    #[error("{detail}")]
    Conflict { detail: String, field: &'static str },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

type Result<T> = std::result::Result<T, TenancyError>;

pub struct CreatedTenant {
    pub tenant: Tenant,
    pub admin: User,
    pub token: IssuedToken,
}

pub fn validate_time_zone(v: &mut Violations, field: &str, tz: &str) {
    if tz.parse::<chrono_tz::Tz>().is_err() {
        v.add(field, format!("`{tz}` is not an IANA time zone such as Europe/Moscow"));
    }
}

fn validate_email(v: &mut Violations, email: &str) {
    let e = email.trim();
    let ok = match e.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !e.contains(char::is_whitespace),
        None => false,
    };
    v.check(ok, "email", "is not an e-mail address");
}

/// Creates a tenant, its first admin and that admin's first token, and seeds the
/// default factoring pipeline so deals can be opened at once.
pub async fn create_tenant(
    c: &mut Conn<'_>,
    actor: &Actor,
    name: &str,
    time_zone: &str,
    admin_email: &str,
    admin_name: &str,
) -> Result<CreatedTenant> {
    let mut v = Violations::new();
    v.check(!name.trim().is_empty(), "name", "must not be empty");
    validate_time_zone(&mut v, "time_zone", time_zone);
    v.finish()?;
    let tenant = store::insert_tenant(c, name.trim(), time_zone).await?;
    let input = UserInput {
        email: admin_email.into(),
        full_name: admin_name.into(),
        role: Role::Admin,
        departments: vec![],
    };
    let admin = create_user(c, tenant.id, actor, &input).await?;
    let token = issue_token(c, tenant.id, actor, admin.id, "initial admin token").await?;
    crate::deals::pipelines::seed_default(c, tenant.id, actor).await?;
    install_defaults(c, tenant.id, actor, 0).await?;
    store::set_defaults_version(c, tenant.id, 0, DEFAULTS_VERSION).await?;
    Ok(CreatedTenant { tenant, admin, token })
}

/// The version of the defaults this host ships to every tenant. A version adds what a
/// tenant created by an older host lacks; none re-creates what a tenant removed.
///
/// 1. stop reasons, approval routes and collegial bodies (factoring, issue 16);
/// 2. the «Изменение условий финансирования» pipeline;
/// 3. the default reminder rule (it plans nothing until the tenant schedules
///    `reminders.plan`).
pub const DEFAULTS_VERSION: i32 = 3;

/// Installs the defaults of every version after `from`.
async fn install_defaults(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, from: i32) -> sqlx::Result<()> {
    if from < 1 {
        crate::deals::factoring::seed_stop_reasons(c, tenant).await?;
        crate::approvals::seed_defaults(c, tenant).await?;
    }
    if from < 2 {
        crate::deals::pipelines::seed(c, tenant, actor, &crate::deals::pipelines::default_change_of_terms()).await?;
    }
    if from < 3 {
        crate::reminders::seed_defaults(c, tenant).await?;
    }
    Ok(())
}

/// Gives every tenant created by an older host the defaults it lacks, once: at start-up,
/// each tenant in its own transaction that first claims the upgrade, so a second host
/// process starting at the same time skips the tenants the first one took. Returns how
/// many tenants were upgraded.
pub async fn install_missing_defaults(db: &crate::db::Db) -> sqlx::Result<usize> {
    let behind = {
        let mut c = db.read().await?;
        store::tenants_behind(&mut c.conn(), DEFAULTS_VERSION).await?
    };
    let actor = Actor::system("host upgrade");
    let mut upgraded = 0;
    for (tenant, version) in behind {
        let mut tx = db.begin().await?;
        if !store::set_defaults_version(&mut tx.conn(), tenant, version, DEFAULTS_VERSION).await? {
            continue; // another host process took it
        }
        install_defaults(&mut tx.conn(), tenant, &actor, version).await?;
        tx.commit().await?;
        tracing::info!(tenant = %tenant.0, from = version, to = DEFAULTS_VERSION, "installed the tenant's missing defaults");
        upgraded += 1;
    }
    Ok(upgraded)
}

/// A user as created or replaced through the API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    #[schema(example = "ivanova@factor.example")]
    pub email: String,
    #[schema(example = "Иванова Мария Петровна")]
    pub full_name: String,
    pub role: Role,
    /// Department roles (legal, security, credit, risk) used by approval routes.
    #[serde(default)]
    pub departments: Vec<Department>,
}

impl UserInput {
    fn validate(&self) -> std::result::Result<(), Invalid> {
        let mut v = Violations::new();
        validate_email(&mut v, &self.email);
        v.check(!self.full_name.trim().is_empty(), "full_name", "must not be empty");
        v.finish()
    }
}

fn dedup(mut d: Vec<Department>) -> Vec<Department> {
    let mut out = Vec::new();
    for x in d.drain(..) {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

pub async fn create_user(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, input: &UserInput) -> Result<User> {
    input.validate()?;
    if store::email_taken(c, tenant, &input.email, None).await? {
        return Err(TenancyError::Conflict { detail: "A user with this e-mail already exists.".into(), field: "email" });
    }
    let departments = dedup(input.departments.clone());
    let user = store::insert_user(
        c,
        tenant,
        &store::NewUser { email: &input.email, full_name: input.full_name.trim(), role: input.role, departments: &departments },
    )
    .await?;
    audit::record(c, tenant, actor, "user", user.id.0, AuditAction::Create, None, &user).await?;
    Ok(user)
}

/// A user's current fields, as a patch applies to them.
pub fn user_input(u: &User) -> UserInput {
    UserInput { email: u.email.clone(), full_name: u.full_name.clone(), role: u.role, departments: u.departments.0.clone() }
}

/// Replaces a user's fields with `input` (the API applies a merge patch to
/// [`user_input`] first).
pub async fn update_user(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, id: UserId, input: &UserInput) -> Result<User> {
    let before = store::get_user(c, tenant, id).await?.ok_or(TenancyError::NotFound("user"))?;
    input.validate()?;
    if before.role == Role::Admin && input.role != Role::Admin && before.archived_at.is_none() {
        ensure_another_admin(c, tenant, id).await?;
    }
    if store::email_taken(c, tenant, &input.email, Some(id)).await? {
        return Err(TenancyError::Conflict { detail: "A user with this e-mail already exists.".into(), field: "email" });
    }
    let mut next = before.clone();
    next.email = input.email.trim().to_lowercase();
    next.full_name = input.full_name.trim().into();
    next.role = input.role;
    next.departments = sqlx::types::Json(dedup(input.departments.clone()));
    let after = store::update_user(c, tenant, &next).await?;
    audit::record(c, tenant, actor, "user", id.0, AuditAction::Update, Some(&before), &after).await?;
    Ok(after)
}

/// Archives (deactivates) a user: their tokens stop working at once.
pub async fn set_user_archived(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, id: UserId, archived: bool) -> Result<User> {
    let before = store::get_user(c, tenant, id).await?.ok_or(TenancyError::NotFound("user"))?;
    if archived && before.role == Role::Admin && before.archived_at.is_none() {
        ensure_another_admin(c, tenant, id).await?;
    }
    let mut next = before.clone();
    next.archived_at = if archived { before.archived_at.or(Some(chrono::Utc::now())) } else { None };
    let after = store::update_user(c, tenant, &next).await?;
    let action = if archived { AuditAction::Archive } else { AuditAction::Restore };
    audit::record(c, tenant, actor, "user", id.0, action, Some(&before), &after).await?;
    Ok(after)
}

/// A tenant must keep at least one active admin.
async fn ensure_another_admin(c: &mut Conn<'_>, tenant: TenantId, leaving: UserId) -> Result<()> {
    if store::count_active_admins(c, tenant, leaving).await? == 0 {
        return Err(TenancyError::Conflict { detail: "This is the tenant's last active admin; make another user admin first.".into(), field: "role" });
    }
    Ok(())
}

pub async fn issue_token(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, user: UserId, name: &str) -> Result<IssuedToken> {
    if name.trim().is_empty() {
        return Err(Invalid::field("name", "must not be empty").into());
    }
    if !store::user_is_active(c, tenant, user).await? {
        return Err(TenancyError::NotFound("user"));
    }
    let issued = store::issue_token(c, tenant, user, name.trim()).await?;
    audit::record(c, tenant, actor, "api_token", issued.info.id.0, AuditAction::Create, None, &issued.info).await?;
    Ok(issued)
}

pub async fn revoke_token(c: &mut Conn<'_>, tenant: TenantId, actor: &Actor, id: TokenId) -> Result<ApiToken> {
    let before = store::get_token(c, tenant, id).await?.ok_or(TenancyError::NotFound("token"))?;
    let after = store::revoke_token(c, tenant, id).await?.ok_or(TenancyError::NotFound("token"))?;
    audit::record(c, tenant, actor, "api_token", id.0, AuditAction::Archive, Some(&before), &after).await?;
    Ok(after)
}

/// Ids in request bodies that name a user must name an active user of the caller's tenant.
pub async fn ensure_user(c: &mut Conn<'_>, tenant: TenantId, field: &str, id: UserId) -> std::result::Result<(), crate::validation::CheckError> {
    if store::user_is_active(c, tenant, id).await? {
        Ok(())
    } else {
        Err(Invalid::field(field, "no active user with this id in your tenant").into())
    }
}
