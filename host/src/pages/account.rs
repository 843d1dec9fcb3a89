//! The user's profile: who they are, and changing their own password.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::AppState;
use crate::audit::Actor;
use crate::tenancy::service::TenancyError;

use super::auth::Viewer;
use super::render::{PageResult, page};

pub fn router() -> Router<AppState> {
    Router::new().route("/account", get(account)).route("/account/password", post(change_password))
}

async fn account(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    show(&state, &viewer, false, vec![]).await
}

async fn show(state: &AppState, viewer: &Viewer, done: bool, errors: Vec<String>) -> PageResult<Response> {
    let user = crate::tenancy::routes::me(State(state.clone()), viewer.caller()).await?.0;
    page(viewer, "account.html", "Профиль", "account", serde_json::json!({ "user": user, "done": done, "errors": errors }))
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn change_password(State(state): State<AppState>, viewer: Viewer, axum::Form(form): axum::Form<PasswordForm>) -> PageResult<Response> {
    let c = &viewer.session.caller;
    let result = crate::tenancy::sign_in::change_own_password(
        &state.db,
        c.tenant_id,
        &Actor::from(c),
        c.user_id,
        &form.current_password,
        &form.new_password,
        Some(viewer.session.id),
    )
    .await;
    match result {
        Ok(()) => show(&state, &viewer, true, vec![]).await,
        Err(TenancyError::Invalid(inv)) => {
            let errors = inv
                .0
                .iter()
                .map(|f| match f.field.as_str() {
                    "current_password" => "Текущий пароль указан неверно.".to_string(),
                    _ => format!("Новый пароль не подходит: не короче {} символов, без пробелов в начале и в конце.", crate::tenancy::password::MIN_LENGTH),
                })
                .collect();
            show(&state, &viewer, false, errors).await
        }
        Err(e) => Err(crate::api::error::ApiError::from(e).into()),
    }
}
