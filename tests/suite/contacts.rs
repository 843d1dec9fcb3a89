use axum::http::StatusCode;
use crm_tests::{TestApp, on_both_engines};
use serde_json::json;

on_both_engines!(contacts_belong_to_counterparties_and_are_searchable, relationships_link_people_and_companies);

async fn contacts_belong_to_counterparties_and_are_searchable(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let cp = t.counterparty("ООО Клиент").await;
    let id = cp["id"].as_str().unwrap();
    let c = t
        .admin
        .post(
            "/api/v1/contacts",
            json!({"counterparty_id": id, "full_name": "Чех Илья Игоревич", "position": "Генеральный директор",
                   "phones": ["+7 911 241-03-09"], "emails": ["Info@Motorica.org"]}),
        )
        .await
        .created();
    assert_eq!(c.body["emails"], json!(["info@motorica.org"]));
    let cid = c.body["id"].as_str().unwrap();
    let found = t.admin.get("/api/v1/contacts?q=%D1%87%D0%B5%D1%85").await.ok(); // "чех"
    assert_eq!(found.body["items"][0]["id"], cid);
    let by_cp = t.admin.get(&format!("/api/v1/contacts?counterparty_id={id}")).await.ok();
    assert_eq!(by_cp.body["items"].as_array().unwrap().len(), 1);
    let r = t.admin.post("/api/v1/contacts", json!({"full_name": "X", "phones": ["call me"], "emails": ["nope"]})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["phones[0]", "emails[0]"]);
    let r = t.admin.post("/api/v1/contacts", json!({"full_name": "X", "counterparty_id": uuid::Uuid::now_v7()})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["counterparty_id"]);
    let updated = t.admin.patch(&format!("/api/v1/contacts/{cid}"), json!({"position": "Директор"})).await.ok();
    assert_eq!(updated.body["position"], "Директор");
    t.admin.post_empty(&format!("/api/v1/contacts/{cid}/archive")).await.ok();
    let card = t.admin.get(&format!("/api/v1/counterparties/{id}")).await.ok();
    assert!(card.body["contacts"].as_array().unwrap().is_empty());
}

async fn relationships_link_people_and_companies(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let parent = t.counterparty("Холдинг").await;
    let child = t.counterparty("Дочка").await;
    let person = t.admin.post("/api/v1/contacts", json!({"full_name": "Петров"})).await.created().body;
    let holding = t
        .admin
        .post("/api/v1/relationships", json!({"kind": "holding", "from": {"type": "counterparty", "id": child["id"]}, "to": {"type": "counterparty", "id": parent["id"]}}))
        .await
        .created();
    t.admin
        .post("/api/v1/relationships", json!({"kind": "employee_of", "from": {"type": "contact", "id": person["id"]}, "to": {"type": "counterparty", "id": child["id"]}}))
        .await
        .created();
    let of_child = t.admin.get(&format!("/api/v1/counterparties/{}/relationships", child["id"].as_str().unwrap())).await.ok();
    assert_eq!(of_child.body.as_array().unwrap().len(), 2);
    let of_person = t.admin.get(&format!("/api/v1/contacts/{}/relationships", person["id"].as_str().unwrap())).await.ok();
    assert_eq!(of_person.body[0]["kind"], "employee_of");
    let r = t
        .admin
        .post("/api/v1/relationships", json!({"kind": "employee_of", "from": {"type": "counterparty", "id": child["id"]}, "to": {"type": "counterparty", "id": parent["id"]}}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["kind"]);
    t.admin.post_empty(&format!("/api/v1/relationships/{}/archive", holding.body["id"].as_str().unwrap())).await.ok();
    let of_parent = t.admin.get(&format!("/api/v1/counterparties/{}/relationships", parent["id"].as_str().unwrap())).await.ok();
    assert!(of_parent.body.as_array().unwrap().is_empty());
}
