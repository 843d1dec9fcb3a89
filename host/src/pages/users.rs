//! Users and their rights, for admins: the tenant's users with their role, department
//! roles (the services that approve deals) and the legal entities an approver serves; a new
//! user with a first password; role, departments, scope, password and deactivation of one
//! user — all through the API's handlers, so the same checks and audit apply.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::json::ApiJson;
use crate::approvals::model::{ApproverScope, department_label};
use crate::legal_entities::LegalEntityId;
use crate::tenancy::model::{Department, Role, User, UserId};
use crate::tenancy::service::UserInput;
use crate::tenancy::{Action, Caller};

use super::{Fields, refusal_of};
use super::auth::Viewer;
use super::clients::params;
use super::render::{PageResult, page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list).post(create))
        .route("/admin/users/{id}", get(edit).post(save))
        .route("/admin/users/{id}/scope", post(save_scope))
        .route("/admin/users/{id}/password", post(set_password))
        .route("/admin/users/{id}/archive", post(archive))
        .route("/admin/users/{id}/restore", post(restore))
}

const DEPARTMENTS: [Department; 4] = [Department::Legal, Department::Security, Department::Credit, Department::Risk];
const ROLES: [Role; 3] = [Role::Admin, Role::Head, Role::Manager];

fn admin_only(viewer: &Viewer) -> PageResult<Caller> {
    viewer.session.caller.ensure(Action::ManageUsers)?;
    Ok(viewer.caller())
}

/// What a user form chose.
trait UserFields {
    fn role(&self) -> Result<Role, ApiError>;
    fn departments(&self) -> Result<Vec<Department>, ApiError>;
}

impl UserFields for Fields {
    fn role(&self) -> Result<Role, ApiError> {
        serde_json::from_value(serde_json::Value::String(self.one("role"))).map_err(|_| ApiError::field("role", "выберите роль"))
    }
    fn departments(&self) -> Result<Vec<Department>, ApiError> {
        self.all("departments").into_iter().map(|d| serde_json::from_value(serde_json::Value::String(d)).map_err(|_| ApiError::field("departments", "неизвестная служба"))).collect()
    }
}

fn department_options(chosen: &[Department]) -> Vec<serde_json::Value> {
    DEPARTMENTS.iter().map(|d| serde_json::json!({ "key": d, "label": department_label(*d), "checked": chosen.contains(d) })).collect()
}

fn role_options(chosen: Option<Role>) -> Vec<serde_json::Value> {
    ROLES.iter().map(|r| serde_json::json!({ "key": r, "label": super::render::role_label(r.as_str()), "selected": Some(*r) == chosen })).collect()
}


async fn all_users(state: &AppState, caller: &Caller) -> PageResult<Vec<User>> {
    let page = crate::tenancy::routes::list_users(State(state.clone()), caller.clone(), Query(params(&[("include_archived", "true".into())])?), Query(params(&[("limit", "500".into())])?)).await?;
    Ok(page.0.items)
}

async fn list_page(state: &AppState, viewer: &Viewer, refusal: Vec<String>, status: StatusCode) -> PageResult<Response> {
    let caller = admin_only(viewer)?;
    let users = all_users(state, &caller).await?;
    let rows: Vec<_> = users
        .iter()
        .map(|u| {
            serde_json::json!({ "id": u.id, "full_name": u.full_name, "email": u.email, "role": super::render::role_label(u.role.as_str()),
                "departments": u.departments.0.iter().map(|d| department_label(*d)).collect::<Vec<_>>(), "archived": u.archived_at.is_some() })
        })
        .collect();
    let mut res = page(
        viewer,
        "users.html",
        "Пользователи",
        "users",
        serde_json::json!({ "users": rows, "roles": role_options(Some(Role::Manager)), "departments": department_options(&[]), "refusal": refusal }),
    )?;
    *res.status_mut() = status;
    Ok(res)
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    list_page(&state, &viewer, vec![], StatusCode::OK).await
}

/// Creates a user, and sets their first password when one is given.
async fn create(State(state): State<AppState>, viewer: Viewer, body: String) -> PageResult<Response> {
    let caller = admin_only(&viewer)?;
    let f = Fields::parse(&body);
    let result = async {
        let input = UserInput { email: f.one("email"), full_name: f.one("full_name"), role: f.role()?, departments: f.departments()? };
        let (_, ApiJson(user)) = crate::tenancy::routes::create_user(State(state.clone()), caller.clone(), ApiJson(input)).await?;
        let password = f.raw("password");
        if !password.is_empty() {
            let input = crate::tenancy::routes::PasswordInput { password };
            crate::tenancy::routes::set_user_password(State(state.clone()), caller.clone(), Path(user.id), ApiJson(input)).await?;
        }
        Ok::<_, ApiError>(user)
    }
    .await;
    match result {
        Ok(user) => Ok(Redirect::to(&format!("/admin/users/{}", user.id)).into_response()),
        Err(e) => list_page(&state, &viewer, refusal_of(e)?, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

async fn edit_page(state: &AppState, viewer: &Viewer, id: UserId, refusal: Vec<String>, status: StatusCode) -> PageResult<Response> {
    let caller = admin_only(viewer)?;
    let user = crate::tenancy::routes::get_user(State(state.clone()), caller.clone(), Path(id)).await?.0;
    let scopes = crate::approvals::routes::list_scopes(State(state.clone()), caller.clone()).await?.0;
    let served: Vec<LegalEntityId> = scopes.into_iter().find(|s| s.user_id == id).map(|s| s.legal_entity_ids).unwrap_or_default();
    let entities = crate::legal_entities::routes::list_entities(State(state.clone()), caller.clone(), Query(params(&[])?)).await?.0;
    let entities: Vec<_> = entities
        .iter()
        .map(|e| serde_json::json!({ "id": e.id, "name": e.short_name.clone().unwrap_or_else(|| e.full_name.clone()), "checked": served.contains(&e.id) }))
        .collect();
    let mut res = page(
        viewer,
        "user.html",
        &user.full_name,
        "users",
        serde_json::json!({ "user": user, "roles": role_options(Some(user.role)), "departments": department_options(&user.departments.0),
            "entities": entities, "refusal": refusal }),
    )?;
    *res.status_mut() = status;
    Ok(res)
}

async fn edit(State(state): State<AppState>, viewer: Viewer, Path(id): Path<UserId>) -> PageResult<Response> {
    edit_page(&state, &viewer, id, vec![], StatusCode::OK).await
}

async fn after(state: &AppState, viewer: &Viewer, id: UserId, result: Result<(), ApiError>) -> PageResult<Response> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/users/{id}")).into_response()),
        Err(e) => edit_page(state, viewer, id, refusal_of(e)?, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// Changes a user's name, e-mail, role and departments.
async fn save(State(state): State<AppState>, viewer: Viewer, Path(id): Path<UserId>, body: String) -> PageResult<Response> {
    let caller = admin_only(&viewer)?;
    let f = Fields::parse(&body);
    let result = async {
        let patch = serde_json::json!({ "email": f.one("email"), "full_name": f.one("full_name"), "role": f.role()?, "departments": f.departments()? });
        crate::tenancy::routes::update_user(State(state.clone()), caller.clone(), Path(id), ApiJson(patch)).await.map(drop)
    }
    .await;
    after(&state, &viewer, id, result).await
}

/// Sets which of our legal entities an approver serves (none ticked: every one).
async fn save_scope(State(state): State<AppState>, viewer: Viewer, Path(id): Path<UserId>, body: String) -> PageResult<Response> {
    let caller = admin_only(&viewer)?;
    let f = Fields::parse(&body);
    let ids: Result<Vec<LegalEntityId>, ApiError> =
        f.all("legal_entity_ids").iter().map(|s| s.parse::<uuid::Uuid>().map(LegalEntityId).map_err(|_| ApiError::field("legal_entity_ids", "неизвестное юрлицо"))).collect();
    let result = match ids {
        Ok(legal_entity_ids) => crate::approvals::routes::set_scope(State(state.clone()), caller, Path(id), ApiJson(ApproverScope { legal_entity_ids })).await.map(drop),
        Err(e) => Err(e),
    };
    after(&state, &viewer, id, result).await
}

/// Sets a user's password (their sessions end).
async fn set_password(State(state): State<AppState>, viewer: Viewer, Path(id): Path<UserId>, body: String) -> PageResult<Response> {
    let caller = admin_only(&viewer)?;
    let input = crate::tenancy::routes::PasswordInput { password: Fields::parse(&body).raw("password") };
    let result = crate::tenancy::routes::set_user_password(State(state.clone()), caller, Path(id), ApiJson(input)).await.map(drop);
    after(&state, &viewer, id, result).await
}

async fn archive(State(state): State<AppState>, viewer: Viewer, Path(id): Path<UserId>) -> PageResult<Response> {
    let caller = admin_only(&viewer)?;
    let result = crate::tenancy::routes::archive_user(State(state.clone()), caller, Path(id)).await.map(drop);
    after(&state, &viewer, id, result).await
}

async fn restore(State(state): State<AppState>, viewer: Viewer, Path(id): Path<UserId>) -> PageResult<Response> {
    let caller = admin_only(&viewer)?;
    let result = crate::tenancy::routes::restore_user(State(state.clone()), caller, Path(id)).await.map(drop);
    after(&state, &viewer, id, result).await
}
