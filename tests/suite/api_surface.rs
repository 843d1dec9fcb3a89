use axum::body::Body;
use axum::http::{Request, StatusCode};
use crm_tests::{TestApp, on_both_engines};
use serde_json::json;

on_both_engines!(
    openapi_document_describes_every_route,
    health_and_readiness_probes_answer,
    every_response_carries_a_request_id,
    malformed_bodies_get_problem_documents,
    a_unique_violation_names_the_field_of_its_constraint,
    an_upload_that_is_not_multipart_gets_a_problem_document,
    the_api_docs_page_loads_nothing_from_the_internet,
);

/// Customers run the server on closed networks: the docs page's script comes from the
/// server itself, and no CDN or web font is referenced.
async fn the_api_docs_page_loads_nothing_from_the_internet(app: TestApp) {
    let page = app.anonymous().get("/api/v1/docs").await.ok().text();
    for external in ["src=\"http", "href=\"http", "src='http", "href='http", "@import"] {
        assert!(!page.contains(external), "the docs page references `{external}`");
    }
    assert!(page.contains("src=\"/api/v1/docs/scalar.js\""));
    assert!(page.contains("\"withDefaultFonts\": false"), "Scalar's web fonts are off");
    let script = app.anonymous().get("/api/v1/docs/scalar.js").await.ok();
    assert!(script.headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(script.text().len() > 1_000_000, "the whole bundle is served");
}

/// An upload without a multipart boundary is a 400 problem document (axum's own
/// extractor answered it in plain text, which the OpenAPI document does not list).
async fn an_upload_that_is_not_multipart_gets_a_problem_document(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    for path in ["/api/v1/documents", "/api/v1/plugins"] {
        for content_type in [None, Some("multipart/form-data"), Some("application/json")] {
            let mut req = Request::post(path).header("authorization", format!("Bearer {}", token_of(&t)));
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            let r = t.admin.call(req.body(Body::from("{}")).unwrap()).await.expect(StatusCode::BAD_REQUEST);
            assert_eq!(r.headers["content-type"], "application/problem+json", "{path} {content_type:?}");
            assert_eq!(r.body["type"], "/problems/bad-request");
            assert!(r.body["detail"].as_str().unwrap().contains("multipart/form-data"), "{}", r.text());
        }
    }
}

/// A duplicate the handlers do not check for themselves still answers a 409 naming the
/// field, found from the violated constraint on either engine.
async fn a_unique_violation_names_the_field_of_its_constraint(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let body = |inn: &str| json!({"full_name": "ООО Мы", "inn": inn, "accounting_ref": "0a000000-0b1d-11ef-8a3b-000000000001"});
    t.admin.post("/api/v1/legal-entities", body("7707083893")).await.created();
    let r = t.admin.post("/api/v1/legal-entities", body("7719402047")).await.expect(StatusCode::CONFLICT);
    assert_eq!(r.error_fields(), vec!["accounting_ref"], "{}", r.text());
    assert!(r.body["detail"].as_str().unwrap().contains("accounting_ref"), "{}", r.text());
    // Another tenant may use the same 1C id: uniqueness is per tenant.
    let other = app.tenant("ООО Другой").await;
    other.admin.post("/api/v1/legal-entities", body("7707083893")).await.created();
}

async fn openapi_document_describes_every_route(app: TestApp) {
    let spec = app.anonymous().get("/api/v1/openapi.json").await.ok();
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec.body["paths"].as_object().unwrap();
    for p in ["/api/v1/counterparties", "/api/v1/counterparties/{id}", "/api/v1/deals/{id}/stage", "/api/v1/tasks/{id}/complete", "/api/v1/documents/{id}/content", "/api/v1/audit"] {
        assert!(paths.contains_key(p), "{p} missing from the OpenAPI document");
    }
    assert!(spec.body["components"]["securitySchemes"]["bearer"].is_object());
    let docs = app.anonymous().get("/api/v1/docs").await.ok();
    assert!(docs.text().contains("openapi"));
}

async fn health_and_readiness_probes_answer(app: TestApp) {
    assert_eq!(app.anonymous().get("/healthz").await.ok().text(), "ok");
    assert_eq!(app.anonymous().get("/readyz").await.ok().text(), "ready");
    // An unknown API path is a problem document; any other path is the pages' 404.
    let r = app.anonymous().get("/api/v1/no/such/route").await.expect(StatusCode::NOT_FOUND);
    assert_eq!(r.body["type"], "/problems/not-found");
    let r = app.anonymous().get("/no/such/route").await.expect(StatusCode::NOT_FOUND);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().contains("Не найдено"));
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let r = t.admin.get("/api/v1/me").await.ok();
    assert!(!r.headers["x-request-id"].is_empty());
    let req = Request::get("/healthz").header("x-request-id", "trace-me-42").body(Body::empty()).unwrap();
    let r = app.anonymous().call(req).await;
    assert_eq!(r.headers["x-request-id"], "trace-me-42");
}

async fn malformed_bodies_get_problem_documents(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let req = Request::post("/api/v1/counterparties")
        .header("authorization", format!("Bearer {}", token_of(&t)))
        .header("content-type", "application/json")
        .body(Body::from("{\"kind\": "))
        .unwrap();
    let r = t.admin.call(req).await.expect(StatusCode::BAD_REQUEST);
    assert_eq!(r.body["type"], "/problems/bad-request");
    let req = Request::post("/api/v1/counterparties")
        .header("authorization", format!("Bearer {}", token_of(&t)))
        .header("content-type", "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    let r = t.admin.call(req).await.expect(StatusCode::BAD_REQUEST);
    assert!(r.body["detail"].as_str().unwrap().contains("application/json"));
    let r = t.admin.patch("/api/v1/counterparties/not-a-uuid", json!({})).await;
    assert!(r.status.is_client_error());
    let r = t.admin.get("/api/v1/deals/123").await.expect(StatusCode::BAD_REQUEST);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let r = t.admin.get("/api/v1/deals?limit=abc").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["limit"]);
    let r = t.admin.get("/api/v1/deals?status=bogus").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["status"]);
    let r = t.admin.delete("/api/v1/counterparties").await.expect(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body["type"], "/problems/method-not-allowed");
    let huge = "x".repeat(2 * 1024 * 1024);
    let r = t.admin.post("/api/v1/counterparties", json!({"kind": "legal_entity", "full_name": huge})).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
}

fn token_of(t: &crm_tests::TestTenant) -> String {
    t.admin.token().to_string()
}

/// The route table in `docs/api.md` is the OpenAPI document's: a route added, removed or
/// re-described without the guide fails here. `CRM_UPDATE_DOCS=1` rewrites the table.
#[test]
fn the_api_guide_lists_every_route_as_the_openapi_document_does() {
    let spec = serde_json::to_value(crm_host::api::openapi()).unwrap();
    let mut rows = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let summary = op["summary"].as_str().unwrap_or_default().replace('\n', " ");
            rows.push(format!("| {} | `{}` | {} |", method.to_uppercase(), path.trim_start_matches("/api/v1"), summary.trim()));
        }
    }
    let table = format!("| method | path | purpose |\n|---|---|---|\n{}\n", rows.join("\n"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let start = doc.find("| method | path | purpose |").expect("the route table in docs/api.md");
    let end = start + doc[start..].find("\n\n").expect("the end of the route table") + 1;
    if doc[start..end] != table {
        if std::env::var("CRM_UPDATE_DOCS").is_ok() {
            std::fs::write(path, format!("{}{}{}", &doc[..start], table, &doc[end..])).unwrap();
        } else {
            panic!("docs/api.md's route table differs from the OpenAPI document; run with CRM_UPDATE_DOCS=1 to rewrite it.\nExpected:\n{table}");
        }
    }
}

/// Every `$ref` in the OpenAPI document names a schema it defines.
#[test]
fn the_openapi_document_has_no_dangling_refs() {
    assert_eq!(crm_tests::openapi::dangling_refs(), Vec::<String>::new());
}

/// The error responses the extractors and layers give are documented on every operation
/// they can reach, as problem documents, the way `ApiError` sends them.
#[test]
fn every_operation_documents_the_shared_error_responses() {
    let spec = serde_json::to_value(crm_host::api::openapi()).unwrap();
    let mut missing = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let params: Vec<&str> = op["parameters"].as_array().into_iter().flatten().filter_map(|p| p["in"].as_str()).collect();
            let has_body = op.get("requestBody").is_some();
            let mut wanted = vec!["401"];
            if has_body || params.contains(&"path") {
                wanted.push("400");
            }
            if has_body || params.contains(&"query") {
                wanted.push("422");
            }
            if params.contains(&"path") {
                wanted.push("404");
            }
            for status in wanted {
                if op["responses"].get(status).is_none() {
                    missing.push(format!("{method} {path}: {status}"));
                }
            }
            for (status, r) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = r["content"].as_object().unwrap();
                    assert_eq!(content.keys().collect::<Vec<_>>(), vec!["application/problem+json"], "{method} {path} {status}");
                    assert_eq!(content["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem");
                }
            }
        }
        let busy = &item["post"]["responses"]["503"];
        if path.ends_with("/by-inn") {
            assert!(busy["headers"]["Retry-After"].is_object(), "{path}: 503 without Retry-After");
        }
    }
    assert!(missing.is_empty(), "undocumented shared errors: {missing:#?}");
}

/// A plugin setting's default is whatever JSON its type takes: a string, a number, a
/// boolean (it was documented as an object).
#[test]
fn a_setting_default_is_documented_as_any_json_value() {
    let spec = serde_json::to_value(crm_host::api::openapi()).unwrap();
    let schema = json!({"$ref": "#/components/schemas/SettingDef"});
    for default in [json!("https://api.example"), json!(100), json!(true), json!(null), json!({"a": 1})] {
        let mut errors = Vec::new();
        crm_tests::openapi::validate(&spec, &schema, &json!({"key": "k", "label": "K", "default": default}), "", &mut errors);
        assert!(errors.is_empty(), "{default}: {errors:?}");
    }
}
