use axum::extract::State;
use crate::api::extract::{Path, Query};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ApiResult, Problem, Violations};
use crate::api::json::ApiJson;
use crate::api::pagination::{Page, PageParams};
use crate::audit::{self, Actor, AuditAction};

use super::access::{Action, Caller};
use super::model::{ApiToken, IssuedToken, Tenant, TokenId, User, UserId};
use super::service::{self, TenancyError, UserInput};
use super::store;

/// The HTTP face of tenant, user and token errors.
impl From<TenancyError> for ApiError {
    fn from(e: TenancyError) -> Self {
        match e {
            TenancyError::NotFound(what) => ApiError::NotFound(what),
            TenancyError::Invalid(i) => i.into(),
            TenancyError::Conflict { detail, field } => ApiError::Conflict { detail, field: Some(field.into()) },
            TenancyError::Db(e) => e.into(),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_tenant, update_tenant))
        .routes(routes!(me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(archive_user))
        .routes(routes!(restore_user))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(set_user_password))
        .routes(routes!(change_my_password))
}

/// The caller's tenant.
#[utoipa::path(get, path = "/tenant", tag = "tenancy", responses((status = 200, body = Tenant)))]
async fn get_tenant(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Tenant>> {
    let mut c = state.db.read().await?;
    let t = store::get_tenant(&mut c.conn(), caller.tenant_id).await?.ok_or(ApiError::NotFound("tenant"))?;
    Ok(ApiJson(t))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantUpdate {
    #[schema(example = "ООО «Факторинг Плюс»")]
    pub name: Option<String>,
    #[schema(example = "Europe/Moscow")]
    pub time_zone: Option<String>,
}

/// Change the tenant's name or time zone (admins).
#[utoipa::path(patch, path = "/tenant", tag = "tenancy", request_body = TenantUpdate,
    responses((status = 200, body = Tenant), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn update_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<TenantUpdate>,
) -> ApiResult<ApiJson<Tenant>> {
    caller.ensure(Action::Configure)?;
    let mut tx = state.db.begin().await?;
    let before = store::get_tenant(&mut tx.conn(), caller.tenant_id).await?.ok_or(ApiError::NotFound("tenant"))?;
    let name = input.name.unwrap_or_else(|| before.name.clone());
    let tz = input.time_zone.unwrap_or_else(|| before.time_zone.clone());
    let mut v = Violations::new();
    v.check(!name.trim().is_empty(), "name", "must not be empty");
    service::validate_time_zone(&mut v, "time_zone", &tz);
    v.finish()?;
    let after = store::update_tenant(&mut tx.conn(), caller.tenant_id, name.trim(), &tz).await?;
    audit::record(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), "tenant", caller.tenant_id.0, AuditAction::Update, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(ApiJson(after))
}

/// Who am I: the user behind the token.
#[utoipa::path(get, path = "/me", tag = "tenancy", responses((status = 200, body = User)))]
pub(crate) async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<User>> {
    let mut c = state.db.read().await?;
    let u = store::get_user(&mut c.conn(), caller.tenant_id, caller.user_id).await?.ok_or(ApiError::NotFound("user"))?;
    Ok(ApiJson(u))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Include archived (deactivated) users.
    #[serde(default)]
    pub include_archived: bool,
}

/// List users (every role may list them, to pick assignees).
#[utoipa::path(get, path = "/users", tag = "tenancy", params(UserFilter, PageParams),
    responses((status = 200, body = Page<User>)))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    Query(filter): Query<UserFilter>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<Page<User>>> {
    let limit = page.limit()?;
    let mut c = state.db.read().await?;
    let rows = store::list_users(&mut c.conn(), caller.tenant_id, page.after()?, limit, filter.include_archived).await?;
    Ok(ApiJson(Page::from_rows(rows, limit, |u| u.id.0)))
}

/// Create a user (admins).
#[utoipa::path(post, path = "/users", tag = "tenancy", request_body = UserInput,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult<(StatusCode, ApiJson<User>)> {
    caller.ensure(Action::ManageUsers)?;
    let mut tx = state.db.begin().await?;
    let user = service::create_user(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(user)))
}

/// Read a user.
#[utoipa::path(get, path = "/users/{id}", tag = "tenancy", params(("id" = UserId, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem)))]
pub(crate) async fn get_user(State(state): State<AppState>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<ApiJson<User>> {
    let mut c = state.db.read().await?;
    let u = store::get_user(&mut c.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("user"))?;
    Ok(ApiJson(u))
}

/// Change a user's e-mail, name, role or departments (admins; JSON merge patch).
#[utoipa::path(patch, path = "/users/{id}", tag = "tenancy", params(("id" = UserId, Path)),
    request_body(content = UserInput, content_type = "application/merge-patch+json", description = "Fields to change"),
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Another user has this e-mail, or this is the tenant's last active admin", body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<UserId>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<User>> {
    caller.ensure(Action::ManageUsers)?;
    let mut tx = state.db.begin().await?;
    let mut c = tx.conn();
    let current = store::get_user(&mut c, caller.tenant_id, id).await?.ok_or(ApiError::NotFound("user"))?;
    let input: UserInput = crate::api::json::apply_patch(&service::user_input(&current), &patch)?;
    let user = service::update_user(&mut c, caller.tenant_id, &Actor::from(&caller), id, &input).await?;
    tx.commit().await?;
    Ok(ApiJson(user))
}

/// Deactivate a user (admins): their tokens stop working at once.
#[utoipa::path(post, path = "/users/{id}/archive", tag = "tenancy", params(("id" = UserId, Path)),
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The tenant's last active admin", body = Problem)))]
pub(crate) async fn archive_user(State(state): State<AppState>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<ApiJson<User>> {
    set_archived(state, caller, id, true).await
}

/// Reactivate an archived user (admins).
#[utoipa::path(post, path = "/users/{id}/restore", tag = "tenancy", params(("id" = UserId, Path)),
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(crate) async fn restore_user(State(state): State<AppState>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<ApiJson<User>> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(state: AppState, caller: Caller, id: UserId, archived: bool) -> ApiResult<ApiJson<User>> {
    caller.ensure(Action::ManageUsers)?;
    if archived && id == caller.user_id {
        return Err(ApiError::BadRequest("You cannot archive yourself; ask another admin.".into()));
    }
    let mut tx = state.db.begin().await?;
    let user = service::set_user_archived(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), id, archived).await?;
    tx.commit().await?;
    Ok(ApiJson(user))
}

/// API tokens: admins see all, others their own.
#[utoipa::path(get, path = "/tokens", tag = "tenancy", responses((status = 200, body = Vec<ApiToken>)))]
async fn list_tokens(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<ApiToken>>> {
    let only = if caller.role.allows(Action::ManageUsers) { None } else { Some(caller.user_id) };
    let mut c = state.db.read().await?;
    Ok(ApiJson(store::list_tokens(&mut c.conn(), caller.tenant_id, only).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Whose token (admins only; default: yourself).
    pub user_id: Option<UserId>,
    /// A label to recognise the token by.
    #[schema(example = "1C integration")]
    pub name: String,
}

/// Issue a token; the secret is in the response once and never again.
#[utoipa::path(post, path = "/tokens", tag = "tenancy", request_body = TokenRequest,
    responses((status = 201, body = IssuedToken), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, ApiJson<IssuedToken>)> {
    let user = input.user_id.unwrap_or(caller.user_id);
    if user != caller.user_id {
        caller.ensure(Action::ManageUsers)?;
    }
    let mut tx = state.db.begin().await?;
    let issued = service::issue_token(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), user, &input.name).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(issued)))
}

/// Revoke a token (admins: any; others: their own).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tenancy", params(("id" = TokenId, Path)),
    responses((status = 200, body = ApiToken), (status = 404, body = Problem)))]
async fn revoke_token(State(state): State<AppState>, caller: Caller, Path(id): Path<TokenId>) -> ApiResult<ApiJson<ApiToken>> {
    let mut tx = state.db.begin().await?;
    let token = store::get_token(&mut tx.conn(), caller.tenant_id, id).await?.ok_or(ApiError::NotFound("token"))?;
    if token.user_id != caller.user_id {
        caller.ensure(Action::ManageUsers)?;
    }
    let revoked = service::revoke_token(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), id).await?;
    tx.commit().await?;
    Ok(ApiJson(revoked))
}


/// A password an admin sets for a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    /// At least 10 characters, no leading or trailing spaces. Never returned.
    pub password: String,
}

/// Set or reset a user's password for the web pages (admins). The user's open browser
/// sessions end; API tokens are not affected.
#[utoipa::path(put, path = "/users/{id}/password", tag = "tenancy", params(("id" = UserId, Path)), request_body = PasswordInput,
    responses((status = 204, description = "Password set"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(crate) async fn set_user_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<UserId>,
    ApiJson(input): ApiJson<PasswordInput>,
) -> ApiResult<StatusCode> {
    caller.ensure(Action::ManageUsers)?;
    super::password::check_policy("password", &input.password)?;
    let phc = super::password::hash_blocking(input.password).await;
    let mut tx = state.db.begin().await?;
    super::sign_in::set_password(&mut tx.conn(), caller.tenant_id, &Actor::from(&caller), id, &phc).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's own password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 10 characters, no leading or trailing spaces.
    pub new_password: String,
}

/// Change your own password (proving the current one). Your browser sessions end.
#[utoipa::path(post, path = "/me/password", tag = "tenancy", request_body = PasswordChange,
    responses((status = 204, description = "Password changed"), (status = 422, body = Problem)))]
async fn change_my_password(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<PasswordChange>) -> ApiResult<StatusCode> {
    super::sign_in::change_own_password(&state.db, caller.tenant_id, &Actor::from(&caller), caller.user_id, &input.current_password, &input.new_password, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
