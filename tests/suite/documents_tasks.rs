use axum::http::StatusCode;
use crm_tests::{TestApp, on_both_engines};
use serde_json::json;

on_both_engines!(
    task_that_needs_a_file_cannot_close_without_one,
    tasks_have_checklists_assignees_and_filters,
    documents_upload_download_and_search,
    upload_without_a_link_or_with_a_bad_one_stores_nothing,
    a_task_on_an_archived_deal_can_still_be_closed,
    an_explicit_name_wins_whatever_the_part_order,
);

async fn a_task_on_an_archived_deal_can_still_be_closed(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let deal = t.admin.post("/api/v1/deals", json!({"title": "Сделка", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"]})).await.created();
    let did = deal.body["id"].as_str().unwrap();
    let task = t.admin.post("/api/v1/tasks", json!({"title": "Закрыть", "deal_id": did})).await.created();
    t.admin.post_empty(&format!("/api/v1/deals/{did}/archive")).await.ok();
    let done = t.admin.post_empty(&format!("/api/v1/tasks/{}/complete", task.body["id"].as_str().unwrap())).await.ok();
    assert_eq!(done.body["status"], "done");
    // Moving a task onto an archived deal is still refused.
    let other = t.admin.post("/api/v1/tasks", json!({"title": "Другая"})).await.created();
    let r = t.admin.patch(&format!("/api/v1/tasks/{}", other.body["id"].as_str().unwrap()), json!({"deal_id": did})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["deal_id"]);
}

async fn an_explicit_name_wins_whatever_the_part_order(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    // The harness sends text parts before the file part.
    let doc = t
        .admin
        .upload("scan0001.pdf", b"x", &[("name", "Договор.pdf".into()), ("kind", "contract".into()), ("counterparty_id", cp["id"].as_str().unwrap().into())])
        .await
        .created();
    assert_eq!(doc.body["file_name"], "Договор.pdf");
}

async fn task_that_needs_a_file_cannot_close_without_one(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Должник").await;
    let task = t
        .admin
        .post("/api/v1/tasks", json!({"title": "Приложить заключение юриста", "requires_file": true, "counterparty_id": cp["id"]}))
        .await
        .created();
    let id = task.body["id"].as_str().unwrap();
    let r = t.admin.post_empty(&format!("/api/v1/tasks/{id}/complete")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["status"]);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("needs an attached file"), "{}", r.text());
    // The same rule through PATCH.
    t.admin.patch(&format!("/api/v1/tasks/{id}"), json!({"status": "done"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.admin.get(&format!("/api/v1/tasks/{id}")).await.ok().body["status"], "open");
    t.admin.upload("заключение.pdf", b"%PDF-1.4 conclusion", &[("kind", "conclusion".into()), ("task_id", id.into())]).await.created();
    let done = t.admin.post_empty(&format!("/api/v1/tasks/{id}/complete")).await.ok();
    assert_eq!(done.body["status"], "done");
    assert!(done.body["completed_at"].is_string());
    // A task without the flag closes freely; cancel and reopen work.
    let free = t.admin.post("/api/v1/tasks", json!({"title": "Позвонить", "counterparty_id": cp["id"]})).await.created();
    let fid = free.body["id"].as_str().unwrap();
    t.admin.post_empty(&format!("/api/v1/tasks/{fid}/cancel")).await.ok();
    let reopened = t.admin.post_empty(&format!("/api/v1/tasks/{fid}/reopen")).await.ok();
    assert_eq!(reopened.body["status"], "open");
    assert!(reopened.body["completed_at"].is_null());
}

async fn tasks_have_checklists_assignees_and_filters(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (manager, manager_id) = t.user("manager").await;
    let task = t
        .admin
        .post(
            "/api/v1/tasks",
            json!({"title": "Сбор документов", "assignee_id": manager_id, "due_at": "2020-01-01T09:00:00Z",
                   "checklist": [{"text": "Устав"}, {"text": "Баланс", "done": true}]}),
        )
        .await
        .created();
    assert_eq!(task.body["checklist"], json!([{"text": "Устав", "done": false}, {"text": "Баланс", "done": true}]));
    let id = task.body["id"].as_str().unwrap();
    let overdue = manager.get(&format!("/api/v1/tasks?assignee_id={manager_id}&overdue=true")).await.ok();
    assert_eq!(overdue.body["items"][0]["id"], id);
    let ticked = manager.patch(&format!("/api/v1/tasks/{id}"), json!({"checklist": [{"text": "Устав", "done": true}, {"text": "Баланс", "done": true}]})).await.ok();
    assert_eq!(ticked.body["checklist"][0]["done"], true);
    let r = t.admin.post("/api/v1/tasks", json!({"title": "X", "checklist": [{"text": " "}]})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["checklist[0].text"]);
    let r = t.admin.post("/api/v1/tasks", json!({"title": "X", "assignee_id": uuid::Uuid::now_v7()})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["assignee_id"]);
}

async fn documents_upload_download_and_search(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let content = b"%PDF-1.4 \xd0\x94\xd0\xbe\xd0\xb3\xd0\xbe\xd0\xb2\xd0\xbe\xd1\x80 binary \x00\x01\x02";
    let doc = t
        .admin
        .upload("Договор факторинга №1.pdf", content, &[("kind", "contract".into()), ("counterparty_id", cp["id"].as_str().unwrap().into())])
        .await
        .created();
    assert_eq!(doc.body["size_bytes"], content.len());
    assert_eq!(doc.body["file_name"], "Договор факторинга №1.pdf");
    assert_eq!(doc.body["content_type"], "application/pdf");
    let id = doc.body["id"].as_str().unwrap();
    let dl = t.admin.get(&format!("/api/v1/documents/{id}/content")).await.ok();
    assert_eq!(dl.bytes, content.to_vec());
    let cd = dl.headers["content-disposition"].to_str().unwrap();
    assert!(cd.contains("filename*=UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80"), "{cd}");
    // The same content again is stored once on disk.
    t.admin.upload("копия.pdf", content, &[("kind", "contract".into()), ("counterparty_id", cp["id"].as_str().unwrap().into())]).await.created();
    let found = t.admin.get("/api/v1/documents?q=%D0%B4%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80").await.ok(); // "договор"
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    let by_kind = t.admin.get("/api/v1/documents?kind=contract").await.ok();
    assert_eq!(by_kind.body["items"].as_array().unwrap().len(), 2);
    let renamed = t.admin.patch(&format!("/api/v1/documents/{id}"), json!({"kind": "signed_contract"})).await.ok();
    assert_eq!(renamed.body["kind"], "signed_contract");
}

async fn upload_without_a_link_or_with_a_bad_one_stores_nothing(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let r = t.admin.upload("a.pdf", b"x", &[("kind", "contract".into())]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["counterparty_id"]);
    let r = t.admin.upload("a.pdf", b"x", &[("kind", "contract".into()), ("deal_id", uuid::Uuid::now_v7().to_string())]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["deal_id"]);
    let r = t.admin.upload("a.pdf", b"x", &[("counterparty_id", "not-an-id".into())]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["counterparty_id"]);
    let all = t.admin.get("/api/v1/documents?include_archived=true").await.ok();
    assert!(all.body["items"].as_array().unwrap().is_empty());
    // No orphaned content is left behind either.
    let blobs = app.state.blobs.root().to_path_buf();
    let stored: Vec<_> = walk(&blobs).into_iter().filter(|p| !p.starts_with(blobs.join("tmp"))).collect();
    assert!(stored.is_empty(), "{stored:?}");
    assert!(walk(&blobs.join("tmp")).is_empty());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
    }
    out
}
