//! The cross-tenant probe, generated from the route list (the OpenAPI document built
//! from the same router): every route that takes an id is called by tenant B with
//! tenant A's ids and must answer 404; every create route is called by B with A's ids
//! in its body and must refuse; afterwards everything either tenant can read is
//! byte-for-byte what it was. A route added later is probed without anyone remembering
//! — and a new create route fails this test until it is classified below.

use std::collections::BTreeMap;

use axum::http::Method;
use crm_tests::{Client, TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(another_tenants_ids_are_404_on_every_route_and_change_nothing);

/// Ids of one of everything in a tenant, by the collection segment that names them.
struct Seed {
    ids: BTreeMap<&'static str, String>,
    admin_id: String,
}

async fn seed(app: &TestApp, t: &TestTenant, fake: &crm_fake_1c::FakeOneC) -> Seed {
    let (_, manager_id) = t.user("manager").await;
    let s = |v: &Value| v.as_str().unwrap().to_string();
    let cp = t.counterparty("ООО Клиент").await;
    let cp_id = cp["id"].as_str().unwrap().to_string();
    let contact = t.admin.post("/api/v1/contacts", json!({"counterparty_id": cp_id, "full_name": "Иванов"})).await.created().body;
    let rel = t
        .admin
        .post("/api/v1/relationships", json!({"kind": "employee_of", "from": {"type": "contact", "id": contact["id"]}, "to": {"type": "counterparty", "id": cp_id}}))
        .await
        .created()
        .body;
    let deal = t.admin.post("/api/v1/deals", json!({"title": "Сделка", "pipeline_id": t.pipeline_id(), "counterparty_id": cp_id})).await.created().body;
    let interaction = t.admin.post("/api/v1/interactions", json!({"kind": "call", "subject": "Звонок", "deal_id": deal["id"]})).await.created().body;
    let task = t.admin.post("/api/v1/tasks", json!({"title": "Задача", "deal_id": deal["id"], "assignee_id": manager_id})).await.created().body;
    let doc = t.admin.upload("файл.pdf", b"content", &[("kind", "contract".into()), ("task_id", task["id"].as_str().unwrap().into())]).await.created().body;
    // Our legal entity, as the demo base's organisation (claim letters need it).
    let entity = t
        .admin
        .post("/api/v1/legal-entities", json!({"full_name": "ООО Мы", "inn": "7707083893", "accounting_ref": crm_fake_1c::generate::ORGANISATIONS[0]}))
        .await
        .created()
        .body;
    // A plugin only this tenant has, enabled.
    let echo_manifest = crm_tests::guest_manifest("test-guests/echo").replace("id = \"echo\"", &format!("id = \"echo-{}\"", &t.id.simple().to_string()[24..]));
    let plugin = t.admin.upload_plugin(&echo_manifest, &crm_tests::guest("echo")).await.created().body;
    let plugin_id = s(&plugin["plugin_id"]);
    t.admin.put(&format!("/api/v1/modules/{plugin_id}"), json!({"version": "0.1.0"})).await.ok();
    // Receivables synced from the (same) fake 1C base: the other tenant has records with
    // the very same 1C ids, which must not matter.
    t.enable_1c(&fake.base_url, &fake.host).await;
    let job = t.admin.post("/api/v1/receivables/sync", json!({})).await.expect(axum::http::StatusCode::ACCEPTED).body;
    app.run_jobs().await;
    let first = |path: &str| {
        let path = path.to_string();
        async move { s(&t.admin.get(&path).await.ok().body["items"][0]["id"]) }
    };
    // A claim letter kept on the client that owes most (the demo base has overdue debts).
    let debtor = s(&t.admin.get(&format!("/api/v1/receivables/aging?limit=1&legal_entity_id={}", s(&entity["id"]))).await.ok().body["items"][0]["counterparty_id"]);
    let letter = t
        .admin
        .get(&format!("/api/v1/counterparties/{debtor}/claim-letter?save=true&legal_entity_id={}", s(&entity["id"])))
        .await
        .expect(axum::http::StatusCode::CREATED)
        .body;
    // A 1C manager only this tenant's base named.
    let manager_ref = format!("probe-manager-{}", t.id.simple());
    {
        let mut tx = app.state.db.begin().await.unwrap();
        let managers = [(manager_ref.clone(), "Менеджер из 1С".to_string())];
        crm_host::receivables::store::upsert_accounting_managers(&mut tx.conn(), crm_host::tenancy::TenantId(t.id), &managers, chrono::Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
    }
    let contract = first("/api/v1/contracts").await;
    let document = first("/api/v1/sales-documents").await;
    let payment = first("/api/v1/payments").await;
    // A message in the tenant's outbox.
    let mail = crm_host::mail::OutgoingEmail {
        source: "module:probe".into(),
        idempotency_key: None,
        from: "noreply@example.ru".into(),
        reply_to: None,
        to: vec!["debtor@example.ru".into()],
        cc: vec![],
        subject: "Напоминание".into(),
        text: "Текст".into(),
        html: None,
        attachments: vec![],
    };
    let mail_id = crm_host::mail::outbox::queue(&app.state.db, crm_host::tenancy::TenantId(t.id), &mail).await.unwrap();
    // Factoring: a stop reason, a buyer, a run through the services, a delegation, a meeting.
    let deal_id = s(&deal["id"]);
    let reason = s(&t.admin.get("/api/v1/stop-reasons").await.ok().body[0]["id"]);
    let party = t.admin.post(&format!("/api/v1/deals/{deal_id}/parties"), json!({"counterparty_id": cp_id, "role": "buyer", "limit": "100.00"})).await.created().body;
    let route = s(&t.admin.get("/api/v1/approval-routes").await.ok().body[0]["id"]);
    let run = t.admin.post(&format!("/api/v1/deals/{deal_id}/approvals"), json!({"subject": "application"})).await.created().body;
    let today = chrono::Utc::now().date_naive();
    let delegation = t
        .admin
        .post("/api/v1/approval-delegations", json!({"from_user_id": t.admin_id, "to_user_id": manager_id, "starts_on": today, "ends_on": today}))
        .await
        .created()
        .body;
    let body = t.admin.get("/api/v1/collegial-bodies").await.ok().body[0].clone();
    t.admin.put(&format!("/api/v1/collegial-bodies/{}", s(&body["id"])), json!({"name": body["name"], "deal_kind": body["deal_kind"], "members": [t.admin_id]})).await.ok();
    t.admin.patch(&format!("/api/v1/deals/{deal_id}"), json!({"params": {"deal_kind": body["deal_kind"]}})).await.ok();
    let meeting = t.admin.post(&format!("/api/v1/deals/{deal_id}/committee-meetings"), json!({})).await.created().body;
    // A bank's list imported: the import and its telemarketing batch.
    let admin_email = t.admin_email().await;
    let list = format!("ИНН;Наименование;Ответственный\n7707083893;ПАО Сбербанк;{admin_email}\n");
    let import = t.admin.multipart("/api/v1/lead-imports", &[("mode", "potential".into())], ("file", "list.csv", list.as_bytes())).await.expect(axum::http::StatusCode::ACCEPTED).body;
    app.run_jobs().await;
    let batch = t.admin.get("/api/v1/lead-batches").await.ok().body[0].clone();
    let batch_client = s(&t.admin.get(&format!("/api/v1/lead-batches/{}", s(&batch["id"]))).await.ok().body["items"][0]["counterparty_id"]);
    // The default reminder rule every tenant starts with.
    let reminder_rule = s(&t.admin.get("/api/v1/reminder-rules").await.ok().body[0]["id"]);
    // And its default debt-control rules.
    let control_rule = s(&t.admin.get("/api/v1/reminders/control-rules").await.ok().body[0]["id"]);
    let tokens = t.admin.get("/api/v1/tokens").await.ok().body;
    let token = tokens.as_array().unwrap().iter().find(|x| x["user_id"] == json!(manager_id)).unwrap()["id"].clone();
    let ids = BTreeMap::from([
        ("users", manager_id.to_string()),
        ("tokens", s(&token)),
        ("counterparties", cp_id.clone()),
        ("contacts", s(&contact["id"])),
        ("relationships", s(&rel["id"])),
        ("pipelines", t.pipeline_id()),
        ("stage", t.stage(1)),
        ("deals", s(&deal["id"])),
        ("interactions", s(&interaction["id"])),
        ("tasks", s(&task["id"])),
        ("documents", s(&doc["id"])),
        ("legal-entities", s(&entity["id"])),
        ("plugins", plugin_id.clone()),
        ("modules", plugin_id),
        ("contracts", contract),
        ("sales-documents", document),
        ("payments", payment),
        ("jobs", s(&job["id"])),
        ("outbox", mail_id.to_string()),
        ("claim-letters", s(&letter["id"])),
        ("stop-reasons", reason),
        ("{party_id}", s(&party["id"])),
        // Not a record: a checklist item's key, the same in every tenant's pipeline.
        ("checklist", "dossier".to_string()),
        ("approval-routes", route),
        ("approvals", s(&run["id"])),
        ("approval-steps", s(&run["steps"][0]["id"])),
        ("approval-delegations", s(&delegation["id"])),
        ("collegial-bodies", s(&body["id"])),
        ("committee-meetings", s(&meeting["id"])),
        ("approval-scopes", manager_id.to_string()),
        ("lead-imports", s(&import["id"])),
        ("reminder-rules", reminder_rule),
        ("control-rules", control_rule),
        ("lead-batches", s(&batch["id"])),
        ("{counterparty_id}", batch_client),
        ("{user_id}", manager_id.to_string()),
        // Not a record: a month, the same for every tenant.
        ("{month}", "2026-12".to_string()),
        ("{external_id}", manager_ref),
        // Job kinds are names every tenant shares, not records (see TENANT_NEUTRAL).
        ("kind", "receivables.sync".to_string()),
        // Not a record: every tenant has a template of each kind (see SHARED_KEYS).
        ("templates", "claim_letter".to_string()),
    ]);
    Seed { ids, admin_id: t.admin_id.to_string() }
}

/// Path parameters that name something every tenant has alike (a job kind), not a
/// tenant's record: routes keyed only by them answer each tenant about its own data.
const TENANT_NEUTRAL: &[&str] = &["{kind}"];
/// Collection segments whose path parameter names something every tenant has — a document
/// kind — rather than a record: tenant B reaches its own, and must never see A's.
const SHARED_KEYS: &[&str] = &["templates"];

/// What only tenant A's claim-letter template says.
const A_MARKER: &str = "ТРЕБОВАНИЕ ТЕНАНТА А";

fn shared_key(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    segs.iter().enumerate().any(|(i, s)| s.starts_with('{') && i > 0 && SHARED_KEYS.contains(&segs[i - 1]))
}

struct Op {
    method: Method,
    path: String,
    id: String,
    has_body: bool,
}

fn operations() -> Vec<Op> {
    let spec = serde_json::to_value(crm_host::api::openapi()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else { continue };
            ops.push(Op {
                method: m,
                path: path.clone(),
                id: op["operationId"].as_str().unwrap_or_default().to_string(),
                has_body: op.get("requestBody").is_some(),
            });
        }
    }
    assert!(ops.len() > 40, "the route list looks too short: {}", ops.len());
    ops
}

/// Substitutes the tenant's ids into a path template; `Err` names a parameter the seed lacks.
fn fill(path: &str, seed: &Seed) -> Result<String, String> {
    let segs: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        if s.starts_with('{') {
            let key = match *s {
                "{id}" | "{key}" => segs[i - 1],
                "{stage_id}" => "stage",
                "{kind}" => "kind",
                other => other,
            };
            out.push(seed.ids.get(key).cloned().ok_or_else(|| format!("{path}: the probe seeds nothing for {s} after /{}", segs[i - 1]))?);
        } else {
            out.push(s.to_string());
        }
    }
    Ok(out.join("/"))
}

/// Valid bodies for routes whose body is checked before the target is looked up.
fn probe_body(op: &Op, a: &Seed) -> Option<Value> {
    if !op.has_body {
        return None;
    }
    Some(match op.id.as_str() {
        "update_user" => json!({"email": "probe@example.test", "full_name": "Probe", "role": "manager"}),
        "set_user_password" => json!({"password": "probe-password-1"}),
        "add_stage" | "update_stage" => json!({"name": "Probe", "kind": "open", "win_probability": 1}),
        "move_deal" => json!({"stage_id": a.ids["stage"]}),
        "update_reason" => json!({"name": "Probe"}),
        "add_party" => json!({"counterparty_id": a.ids["counterparties"], "role": "buyer"}),
        "mark_checklist" => json!({"done": true}),
        "replace_route" => json!({"subject": "probe", "name": "Probe", "groups": [[{"name": "P", "department": "risk", "quorum": "any", "sla_days": 1}]]}),
        "start_run" => json!({"subject": "application"}),
        "decide_step" => json!({"decision": "approve"}),
        "update_body" => json!({"name": "Probe", "deal_kind": "probe", "members": []}),
        "vote" => json!({"vote": "for"}),
        "set_scope" => json!({"legal_entity_ids": []}),
        "put_norms" => json!([{"stage_id": a.ids["stage"], "norm_days": 1}]),
        "put_plan" => json!({"amount": "1.00"}),
        "configure_module" => json!({"version": "0.1.0"}),
        "try_module" => json!({"input": {"inn": "7719402047"}}),
        "update_reminder_rule" => json!({"name": "Probe", "steps": [{"offset": {"kind": "due_day"}, "channel": "task", "template": "reminder_task"}]}),
        "put_dispute" => json!({"disputed": false}),
        "update_control_rule" => json!({"name": "Probe", "min_debt": "1.00", "control_days": 1}),
        "create_promise" => json!({"amount": "1.00", "promised_on": "2099-12-31", "document_ids": [a.ids["sales-documents"]]}),
        "refresh_from_registry" => json!({"overwrite": true}),
        // PATCH bodies are merge patches: `{}` is valid and the target is loaded first.
        _ => json!({}),
    })
}

enum CreateProbe {
    Json(Value),
    Upload(Vec<(&'static str, String)>),
    /// The route's body names nothing of another tenant.
    NoReferences,
}

/// Create routes, each with a body naming tenant A's records.
fn create_probe(op_id: &str, a: &Seed) -> Option<CreateProbe> {
    let id = |k: &str| a.ids[k].clone();
    Some(match op_id {
        "create_user" | "create_pipeline" | "create_entity" | "upload_plugin" => CreateProbe::NoReferences,
        // Policy as data: a stop reason's name, a route's steps by department role.
        "create_reason" | "create_route" => CreateProbe::NoReferences,
        "create_delegation" => CreateProbe::Json(json!({"from_user_id": id("users"), "to_user_id": a.admin_id, "starts_on": "2026-01-01", "ends_on": "2026-01-02"})),
        // `{"full": …}`: nothing of another tenant to name.
        "start_sync" => CreateProbe::NoReferences,
        // The caller's own password: the body names no record at all.
        "change_my_password" => CreateProbe::NoReferences,
        // The ИНН is data, not a reference; the body names no other tenant's record.
        "create_by_inn" => CreateProbe::NoReferences,
        // A spreadsheet names managers by e-mail or name, resolved among the caller's own
        // users only (another tenant's e-mail is an "unknown manager" row): no ids at all.
        "start_import" | "preview_import" => CreateProbe::NoReferences,
        // A rule's scope may name our legal entity: another tenant's is refused.
        "create_reminder_rule" => CreateProbe::Json(json!({"name": "Probe", "scope": {"legal_entity_id": id("legal-entities")},
            "steps": [{"offset": {"kind": "due_day"}, "channel": "task", "template": "reminder_task"}]})),
        // The day to plan: the caller's own tenant, no ids at all.
        "run_reminder_plan" => CreateProbe::NoReferences,
        "test_settings" => CreateProbe::NoReferences,
        // A debt-control rule is figures only: no ids at all.
        "create_control_rule" => CreateProbe::NoReferences,
        "create_token" => CreateProbe::Json(json!({"user_id": id("users"), "name": "probe"})),
        "create_counterparty" => CreateProbe::Json(json!({"kind": "legal_entity", "full_name": "Probe", "responsible_id": a.admin_id})),
        "create_contact" => CreateProbe::Json(json!({"counterparty_id": id("counterparties"), "full_name": "Probe"})),
        "create_relationship" => CreateProbe::Json(json!({"kind": "related", "from": {"type": "counterparty", "id": id("counterparties")}, "to": {"type": "contact", "id": id("contacts")}})),
        "create_deal" => CreateProbe::Json(json!({"title": "Probe", "pipeline_id": id("pipelines"), "counterparty_id": id("counterparties")})),
        "create_interaction" => CreateProbe::Json(json!({"kind": "call", "subject": "Probe", "deal_id": id("deals")})),
        "create_task" => CreateProbe::Json(json!({"title": "Probe", "deal_id": id("deals")})),
        "assign_responsible" => CreateProbe::Json(json!({"responsible_id": a.admin_id, "filter": {"ids": [id("counterparties")]}})),
        // A key-rate decision or a confirmation of the tenant's own table: no references.
        "add_key_rate" | "confirm_key_rates" => CreateProbe::NoReferences,
        "upload_document" => CreateProbe::Upload(vec![("kind", "probe".into()), ("task_id", id("tasks"))]),
        _ => return None,
    })
}

/// Everything a tenant can read through the API.
async fn snapshot(client: &Client, ops: &[Op], seed: &Seed) -> BTreeMap<String, (u16, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for op in ops.iter().filter(|o| o.method == Method::GET) {
        let url = fill(&op.path, seed).expect("seeded");
        let r = client.get(&url).await;
        out.insert(url, (r.status.as_u16(), r.bytes));
    }
    out
}

async fn another_tenants_ids_are_404_on_every_route_and_change_nothing(app: TestApp) {
    let a = app.tenant("Тенант А").await;
    let b = app.tenant("Тенант Б").await;
    let fake = crm_fake_1c::FakeOneC::start(std::sync::Arc::new(crm_fake_1c::demo(crm_host::tenancy::access::today_in("Europe/Moscow"))), Default::default())
        .await
        .unwrap();
    let seed_a = seed(&app, &a, &fake).await;
    let seed_b = seed(&app, &b, &fake).await;
    // Tenant A's own claim-letter template.
    let default = a.admin.get("/api/v1/templates/claim_letter/default").await.ok().body["source"].as_str().unwrap().to_string();
    let own = default.replace("<title>ПРЕТЕНЗИЯ</title>", &format!("<title>{A_MARKER}</title>"));
    a.admin.put("/api/v1/templates/claim_letter", json!({"source": own})).await.ok();
    let ops = operations();
    let mut failures = Vec::new();
    for op in &ops {
        if let Err(e) = fill(&op.path, &seed_a) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let a_before = snapshot(&a.admin, &ops, &seed_a).await;
    let b_before = snapshot(&b.admin, &ops, &seed_b).await;

    let mut probed = 0;
    let neutral = |path: &str| path.split('/').filter(|s| s.starts_with('{')).all(|s| TENANT_NEUTRAL.contains(&s));
    for op in ops.iter().filter(|o| o.path.contains('{') && !neutral(&o.path)) {
        let url = fill(&op.path, &seed_a).expect("seeded");
        let r = b.admin.send(op.method.clone(), &url, probe_body(op, &seed_a)).await;
        probed += 1;
        if shared_key(&op.path) {
            // B gets its own template of the kind (or a refusal of the probe body), never A's.
            if r.status.is_server_error() || r.text().contains(A_MARKER) {
                failures.push(format!("{} {} ({}) → {} shows tenant A's template: {}", op.method, op.path, op.id, r.status, r.text()));
            }
            continue;
        }
        if r.status.as_u16() != 404 || r.body["type"] != "/problems/not-found" {
            failures.push(format!("{} {} ({}) → {} {}", op.method, op.path, op.id, r.status, r.text()));
        }
    }
    for op in ops.iter().filter(|o| o.method == Method::POST && !o.path.contains('{')) {
        let r = match create_probe(&op.id, &seed_a) {
            None => {
                failures.push(format!("POST {} ({}) is not classified in create_probe: add a body naming another tenant's records", op.path, op.id));
                continue;
            }
            Some(CreateProbe::NoReferences) => continue,
            Some(CreateProbe::Json(body)) => b.admin.post(&op.path, body).await,
            Some(CreateProbe::Upload(fields)) => b.admin.upload("probe.pdf", b"probe", &fields).await,
        };
        probed += 1;
        if !matches!(r.status.as_u16(), 404 | 422) {
            failures.push(format!("POST {} ({}) with another tenant's ids → {} {}", op.path, op.id, r.status, r.text()));
        }
    }
    assert!(failures.is_empty(), "cross-tenant probe failures:\n{}", failures.join("\n"));
    assert!(probed > 40, "probed only {probed} routes");

    let a_after = snapshot(&a.admin, &ops, &seed_a).await;
    let b_after = snapshot(&b.admin, &ops, &seed_b).await;
    for (before, after, who) in [(&a_before, &a_after, "A"), (&b_before, &b_after, "B")] {
        for (url, (status, bytes)) in before {
            let (s2, b2) = &after[url];
            assert_eq!(
                (status, String::from_utf8_lossy(bytes)),
                (s2, String::from_utf8_lossy(b2)),
                "tenant {who}'s {url} changed during the probe"
            );
        }
    }
}
