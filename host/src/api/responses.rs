//! The error responses every operation shares, added to the OpenAPI document from what
//! each operation takes rather than repeated on every route: the extractors and layers
//! that answer them (`Caller`, `ApiJson`, `Path`, `Query`, the body limit, the plugin
//! runtime's admission) run before or around every handler alike.
//!
//! | status | added to | why |
//! |---|---|---|
//! | 401 | every operation behind the bearer scheme | `Caller`: no, unknown or revoked token |
//! | 400 | operations with a body or a path parameter | body not JSON / malformed; an id that is not a UUID |
//! | 413 | operations with a body | over the JSON body limit |
//! | 422 | operations with a body, query or path parameters (a text parameter holding U+0000 is refused by name) | a field or parameter of the wrong type, or against the rules |
//! | 404 | operations with a path parameter | no such record in the caller's tenant |
//! | 502, 503 | operations that call a plugin ([`PLUGIN_CALLS`]) | the plugin failed; no plugin slot free in time (with `Retry-After`) |
//!
//! Every problem response, added here or declared by a route, is served as
//! `application/problem+json` with the [`Problem`](super::error::Problem) schema, as
//! `ApiError::into_response` sends it.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Type,
};

/// The media type of every error body (`ApiError::into_response`).
pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";

/// Operations whose handler calls a plugin, by operation id: they may answer 502 (the
/// plugin or the outside service it talks to failed) and 503 (no plugin slot became free
/// within the queue deadline; `Retry-After` says when to try again).
pub const PLUGIN_CALLS: &[&str] = &["create_by_inn", "refresh_from_registry", "try_module"];

/// The [`Modify`] adding the shared error responses; see the module documentation.
pub struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let global_auth = openapi.security.as_ref().is_some_and(|s| !s.is_empty());
        for item in openapi.paths.paths.values_mut() {
            let shared = item.parameters.clone().unwrap_or_default();
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                let params = shared.iter().chain(op.parameters.iter().flatten());
                let (mut in_path, mut in_query) = (false, false);
                for p in params {
                    match p.parameter_in {
                        ParameterIn::Path => in_path = true,
                        ParameterIn::Query => in_query = true,
                        _ => {}
                    }
                }
                let has_body = op.request_body.is_some();
                let authenticated = match &op.security {
                    Some(s) => !s.is_empty(),
                    None => global_auth,
                };
                let calls_plugin = op.operation_id.as_deref().is_some_and(|id| PLUGIN_CALLS.contains(&id));
                let wanted = [
                    (400, has_body || in_path),
                    (401, authenticated),
                    (404, in_path),
                    (413, has_body),
                    (422, has_body || in_query || in_path),
                    (502, calls_plugin),
                    (503, calls_plugin),
                ];
                for (status, applies) in wanted {
                    if applies {
                        add_response(op, status);
                    }
                }
                fix_problem_responses(op);
            }
        }
    }
}

/// What a shared status means, for its description.
fn description(status: u16) -> &'static str {
    match status {
        400 => "Bad request: the body is not JSON (or not the multipart form asked for), or an id in the path is not a UUID",
        401 => "Authentication required: no `Authorization: Bearer` header, or an unknown, revoked or malformed token, or an archived user's",
        403 => "Not allowed for your role",
        404 => "No such record in your tenant",
        409 => "Conflicts with existing data or the record's state",
        413 => "Payload too large",
        422 => "Invalid input: the fields or parameters at fault are listed in `errors`",
        502 => "A plugin or the outside service it talks to failed; nothing was changed",
        503 => "Busy: no plugin slot became free in time; try again after `Retry-After` seconds",
        _ => "Error",
    }
}

fn problem_ref() -> RefOr<utoipa::openapi::schema::Schema> {
    RefOr::Ref(Ref::from_schema_name("Problem"))
}

fn problem_response(status: u16) -> Response {
    let mut b = ResponseBuilder::new()
        .description(description(status))
        .content(PROBLEM_MEDIA_TYPE, ContentBuilder::new().schema(Some(problem_ref())).build());
    if status == 401 {
        b = b.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some("`Bearer`"))
                .build(),
        );
    }
    if status == 503 {
        b = b.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    b.build()
}

fn add_response(op: &mut Operation, status: u16) {
    op.responses.responses.entry(status.to_string()).or_insert_with(|| RefOr::T(problem_response(status)));
}

/// Routes declare error bodies as `body = Problem`, which utoipa files under
/// `application/json`; the server sends them as `application/problem+json`. Each error
/// response also gets the shared description and headers where the route left them out.
fn fix_problem_responses(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else { continue };
        if code < 400 {
            continue;
        }
        let RefOr::T(response) = response else { continue };
        let is_problem = response.content.is_empty()
            || response.content.values().any(|c| matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")));
        if !is_problem {
            continue;
        }
        let shared = problem_response(code);
        response.content = shared.content;
        for (name, header) in shared.headers {
            response.headers.entry(name).or_insert(header);
        }
        if response.description.is_empty() {
            response.description = shared.description;
        }
    }
}
