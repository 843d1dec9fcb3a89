//! Factoring deals end to end (issue 16, parts 1–5): the 10-stage pipeline with its gates
//! as data, СТОП with a reason, suppliers and buyers, approval routes through the services
//! (parallel groups, rejection, send-back and resubmission, conclusions, delegation, SLA
//! escalation), the collegial body by the deal's kind, and the financing checklists.

use axum::http::StatusCode;
use crm_tests::{Client, TestApp, TestTenant, on_both_engines};
use serde_json::{Value, json};
use uuid::Uuid;

on_both_engines!(
    a_deal_goes_from_hot_lead_to_financed_through_every_gate,
    each_gate_refusal_names_every_missing_item,
    stop_needs_a_reason_from_the_list_kept_in_the_history,
    a_rejection_in_a_parallel_group_ends_the_route_at_once,
    a_send_back_and_resubmission_skips_no_step,
    an_approval_without_the_conclusion_file_is_refused_naming_its_kind,
    a_step_past_its_sla_is_escalated_to_the_head_once,
    quorum_all_waits_for_every_approver_and_a_delegate_decides_for_one_away,
    the_collegial_body_is_chosen_by_the_deal_kind,
    routes_gates_and_stop_reasons_are_data_editable_per_tenant,
    the_deal_page_starts_routes_marks_the_checklist_and_calls_the_meeting,
    approvers_decide_only_for_the_legal_entities_they_serve,
    a_step_may_apply_only_to_a_factoring_type,
    parallel_approvals_at_the_same_moment_start_the_next_group,
    a_change_of_terms_copies_the_deal_and_audits_every_changed_term,
    a_jump_over_stages_passes_every_gate_on_the_way,
    the_credit_application_has_the_section_of_the_deals_factoring_type,
    tenants_of_an_older_host_get_the_missing_defaults_once,
    suppliers_buyers_and_stand_ins_are_managed_from_the_pages,
);

/// A user holding a department role (legal, security, credit, risk), with a token.
async fn approver(app: &TestApp, t: &TestTenant, department: &str) -> (Client, Uuid) {
    let email = format!("{department}-{}@example.test", Uuid::new_v4().simple());
    let user = t
        .admin
        .post("/api/v1/users", json!({"email": email, "full_name": format!("Сотрудник {department}"), "role": "manager", "departments": [department]}))
        .await
        .created();
    let id: Uuid = user.body["id"].as_str().unwrap().parse().unwrap();
    let token = t.admin.post("/api/v1/tokens", json!({"user_id": id, "name": "test"})).await.created();
    (app.client(token.body["token"].as_str().unwrap()), id)
}

struct Services {
    legal: Client,
    security: Client,
    credit: Client,
    risk: Client,
}

async fn services(app: &TestApp, t: &TestTenant) -> Services {
    Services {
        legal: approver(app, t, "legal").await.0,
        security: approver(app, t, "security").await.0,
        credit: approver(app, t, "credit").await.0,
        risk: approver(app, t, "risk").await.0,
    }
}

async fn deal(t: &TestTenant, params: Value) -> String {
    let cp = t.counterparty("ООО Клиент").await;
    let d = t
        .admin
        .post("/api/v1/deals", json!({"title": "Факторинг 5 млн", "pipeline_id": t.pipeline_id(), "counterparty_id": cp["id"], "params": params}))
        .await
        .created()
        .body;
    d["id"].as_str().unwrap().to_string()
}

async fn attach(t: &TestTenant, deal: &str, kind: &str) -> String {
    t.admin.upload(&format!("{kind}.pdf"), b"%PDF-1.4", &[("kind", kind.into()), ("deal_id", deal.into())]).await.created().body["id"].as_str().unwrap().to_string()
}

async fn move_to(t: &TestTenant, deal: &str, stage: usize) -> crm_tests::Resp {
    t.admin.post(&format!("/api/v1/deals/{deal}/stage"), json!({"stage_id": t.stage(stage)})).await
}

fn fields(r: &crm_tests::Resp) -> Vec<String> {
    r.error_fields()
}

fn messages(r: &crm_tests::Resp) -> Vec<String> {
    r.body["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_string()).collect()
}

/// The step of `run` named `name` (its id).
fn step(run: &Value, name: &str) -> String {
    run["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no step {name}: {run}"))["id"].as_str().unwrap().to_string()
}

fn status_of(run: &Value, name: &str) -> String {
    run["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["status"].as_str().unwrap().to_string()
}

async fn decide(who: &Client, step: &str, body: Value) -> crm_tests::Resp {
    who.post(&format!("/api/v1/approval-steps/{step}/decision"), body).await
}

async fn start(t: &TestTenant, deal: &str, subject: &str) -> Value {
    t.admin.post(&format!("/api/v1/deals/{deal}/approvals"), json!({"subject": subject})).await.created().body
}

fn full_params() -> Value {
    json!({"factoring_type": "without_recourse", "deal_kind": "flow", "limit": "5000000.00", "term_days": 90, "deferral_days": 60})
}

/// Runs the default «Заявка в КО» route to approval, each service with its conclusion.
async fn approve_application(t: &TestTenant, s: &Services, deal: &str) {
    let run = start(t, deal, "application").await;
    for (who, name, kind) in [
        (&s.legal, "Юридическая служба", "Заключение юридической службы"),
        (&s.security, "Служба безопасности", "Заключение СБ"),
        (&s.credit, "Кредитный отдел", "Заключение кредитного отдела"),
        (&s.risk, "Риск-менеджмент", "Заключение риск-менеджмента"),
    ] {
        attach(t, deal, kind).await;
        decide(who, &step(&run, name), json!({"decision": "approve"})).await.ok();
    }
    let after = t.admin.get(&format!("/api/v1/approvals/{}", run["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(after["status"], "approved", "{after}");
}

async fn approve_draft_decision(t: &TestTenant, s: &Services, deal: &str) {
    let run = start(t, deal, "draft_decision").await;
    for (who, name) in [(&s.legal, "Юридическая служба"), (&s.security, "Служба безопасности"), (&s.credit, "Кредитный отдел"), (&s.risk, "Риск-менеджмент")] {
        decide(who, &step(&run, name), json!({"decision": "approve"})).await.ok();
    }
    let after = t.admin.get(&format!("/api/v1/approvals/{}", run["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(after["status"], "approved");
}

async fn committee_members(app: &TestApp, t: &TestTenant, kind: &str, n: usize) -> Vec<Client> {
    let bodies = t.admin.get("/api/v1/collegial-bodies").await.ok().body;
    let body = bodies.as_array().unwrap().iter().find(|b| b["deal_kind"] == kind).unwrap().clone();
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..n {
        let (c, id) = approver(app, t, "credit").await;
        clients.push(c);
        ids.push(id);
    }
    t.admin
        .put(&format!("/api/v1/collegial-bodies/{}", body["id"].as_str().unwrap()), json!({"name": body["name"], "deal_kind": kind, "members": ids}))
        .await
        .ok();
    clients
}

async fn a_deal_goes_from_hot_lead_to_financed_through_every_gate(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let s = services(&app, &t).await;
    let id = deal(&t, json!({})).await;
    move_to(&t, &id, 1).await.ok();
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": full_params()})).await.ok();
    // Suppliers and buyers as linked counterparties with their limits.
    let buyer = t.counterparty("ООО Покупатель").await;
    let d = t.admin.get(&format!("/api/v1/deals/{id}")).await.ok().body;
    t.admin.post(&format!("/api/v1/deals/{id}/parties"), json!({"counterparty_id": d["counterparty_id"], "role": "supplier"})).await.created();
    let p = t.admin.post(&format!("/api/v1/deals/{id}/parties"), json!({"counterparty_id": buyer["id"], "role": "buyer", "limit": "3000000"})).await.created().body;
    assert_eq!(p["limit"], "3000000.00");
    let r = t.admin.post(&format!("/api/v1/deals/{id}/parties"), json!({"counterparty_id": buyer["id"], "role": "buyer"})).await.expect(StatusCode::CONFLICT);
    assert_eq!(r.error_fields(), vec!["counterparty_id"]);
    let parties = t.admin.get(&format!("/api/v1/deals/{id}/parties")).await.ok().body;
    assert_eq!(parties.as_array().unwrap().len(), 2);
    move_to(&t, &id, 2).await.ok();
    move_to(&t, &id, 3).await.ok();
    for kind in ["Анкета клиента", "Бухгалтерская отчётность", "Бухгалтерская отчётность покупателя"] {
        attach(&t, &id, kind).await;
    }
    move_to(&t, &id, 4).await.ok();
    approve_application(&t, &s, &id).await;
    approve_draft_decision(&t, &s, &id).await;
    move_to(&t, &id, 5).await.ok();
    // Moving back is allowed (and in the timeline); forward again passes the same gate.
    move_to(&t, &id, 4).await.ok();
    let timeline = t.admin.get(&format!("/api/v1/deals/{id}/timeline")).await.ok().text();
    assert!(timeline.contains("возврат на предыдущий этап"), "{timeline}");
    move_to(&t, &id, 5).await.ok();
    let members = committee_members(&app, &t, "flow", 3).await;
    let m = t.admin.post(&format!("/api/v1/deals/{id}/committee-meetings"), json!({})).await.created().body;
    let mid = m["id"].as_str().unwrap();
    for (c, vote) in members.iter().zip(["for", "for", "against"]) {
        c.post(&format!("/api/v1/committee-meetings/{mid}/votes"), json!({"vote": vote})).await.ok();
    }
    move_to(&t, &id, 6).await.ok();
    for kind in ["ГДФО", "ДС", "Уведомление"] {
        attach(&t, &id, kind).await;
    }
    for key in ["dossier", "conditions_precedent"] {
        t.admin.put(&format!("/api/v1/deals/{id}/checklist/{key}"), json!({"done": true})).await.ok();
    }
    move_to(&t, &id, 7).await.ok();
    for key in ["operations_entry", "limit_unblocked"] {
        t.admin.put(&format!("/api/v1/deals/{id}/checklist/{key}"), json!({"done": true, "comment": "Сделано"})).await.ok();
    }
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": {"payout_date": "2026-03-20", "payout_amount": "4500000.00"}})).await.ok();
    let financed = move_to(&t, &id, 8).await.ok().body;
    assert_eq!(financed["stage_name"], "Профинансировано");
    assert_eq!(financed["stage_kind"], "won");
    let history = t.admin.get(&format!("/api/v1/deals/{id}/stage-history")).await.ok().body;
    assert_eq!(history.as_array().unwrap().len(), 11, "created, 8 moves forward, one back and forward again");
    let checklist = t.admin.get(&format!("/api/v1/deals/{id}/checklist")).await.ok().body;
    assert!(checklist.as_array().unwrap().iter().all(|i| i["done"] == true));
}

async fn each_gate_refusal_names_every_missing_item(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let s = services(&app, &t).await;
    let id = deal(&t, json!({})).await;
    move_to(&t, &id, 1).await.ok();
    let r = move_to(&t, &id, 2).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["gate.fields.factoring_type", "gate.fields.limit"]);
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": {"factoring_type": "without_recourse", "limit": "5000000.00"}})).await.ok();
    move_to(&t, &id, 2).await.ok();
    let r = move_to(&t, &id, 3).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["gate.fields.term_days", "gate.fields.deferral_days"]);
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": {"term_days": 90, "deferral_days": 60}})).await.ok();
    move_to(&t, &id, 3).await.ok();
    // Без регресса also needs the buyer's financial statements.
    let r = move_to(&t, &id, 4).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["gate.documents[0]", "gate.documents[1]", "gate.documents_when[0][0]"]);
    assert!(messages(&r)[2].contains("приложите документ «Бухгалтерская отчётность покупателя»"), "{:?}", messages(&r));
    for kind in ["Анкета клиента", "Бухгалтерская отчётность", "Бухгалтерская отчётность покупателя"] {
        attach(&t, &id, kind).await;
    }
    move_to(&t, &id, 4).await.ok();
    // Approvals that must be complete, and the deal's kind.
    let r = move_to(&t, &id, 5).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["gate.fields.deal_kind", "gate.approvals[0]", "gate.approvals[1]"]);
    assert_eq!(messages(&r)[1], "Для этапа «Коллегиальный орган» завершите согласование «Заявка в кредитный комитет» (сейчас: не начато)");
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": {"deal_kind": "individual"}})).await.ok();
    approve_application(&t, &s, &id).await;
    let r = move_to(&t, &id, 5).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["gate.approvals[1]"]);
    approve_draft_decision(&t, &s, &id).await;
    move_to(&t, &id, 5).await.ok();
    // The collegial body's decision.
    let r = move_to(&t, &id, 6).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["gate.collegial_decision"]);
    let members = committee_members(&app, &t, "individual", 1).await;
    let m = t.admin.post(&format!("/api/v1/deals/{id}/committee-meetings"), json!({})).await.created().body;
    members[0].post(&format!("/api/v1/committee-meetings/{}/votes", m["id"].as_str().unwrap()), json!({"vote": "for"})).await.ok();
    move_to(&t, &id, 6).await.ok();
    // Financing: signed documents and checklists; then the payout.
    let r = move_to(&t, &id, 7).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["gate.documents[0]", "gate.documents[1]", "gate.documents[2]", "gate.checklist[0]", "gate.checklist[1]"]);
    assert_eq!(messages(&r)[3], "Для этапа «Финансирование в ОД» отметьте пункт «Досье клиента сформировано»");
    attach(&t, &id, "ГДФО").await;
    t.admin.put(&format!("/api/v1/deals/{id}/checklist/dossier"), json!({"done": true})).await.ok();
    // Jumping to Профинансировано passes Финансирование в ОД's gate on the way; what both ask is named once.
    let r = move_to(&t, &id, 8).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        fields(&r),
        vec!["gate.documents[1]", "gate.documents[2]", "gate.checklist[1]", "gate.fields.payout_date", "gate.fields.payout_amount", "gate.checklist[2]", "gate.checklist[3]"]
    );
    assert!(messages(&r)[0].starts_with("Для этапа «Финансирование в ОД»"), "{:?}", messages(&r));
    // An unknown checklist item is named.
    let r = t.admin.put(&format!("/api/v1/deals/{id}/checklist/colour"), json!({"done": true})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["key"]);
    // The deal page shows what the next stage needs.
    let mut page = t.signed_in(&app.router, t.admin_id, &t.admin_email().await).await;
    let html = page.get(&format!("/deals/{id}")).await.expect(StatusCode::OK).body;
    assert!(html.contains("Для этапа «Финансирование в ОД» приложите документ «ДС»"), "{html}");
}

async fn stop_needs_a_reason_from_the_list_kept_in_the_history(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let id = deal(&t, json!({})).await;
    let r = move_to(&t, &id, 9).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["reason_id"]);
    assert!(messages(&r)[0].starts_with("Укажите причину перевода на этап «СТОП» из списка: «Клиент отказался»"), "{:?}", messages(&r));
    let reasons = t.admin.get("/api/v1/stop-reasons").await.ok().body;
    let reason = reasons[0]["id"].as_str().unwrap();
    let moved = t
        .admin
        .post(&format!("/api/v1/deals/{id}/stage"), json!({"stage_id": t.stage(9), "reason_id": reason, "comment": "Ушёл к конкуренту"}))
        .await
        .ok()
        .body;
    assert_eq!(moved["stage_name"], "СТОП");
    let history = t.admin.get(&format!("/api/v1/deals/{id}/stage-history")).await.ok().body;
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], "Клиент отказался");
    assert_eq!(last["comment"], "Ушёл к конкуренту");
    let mut page = t.signed_in(&app.router, t.admin_id, &t.admin_email().await).await;
    let html = page.get(&format!("/deals/{id}")).await.expect(StatusCode::OK).body;
    assert!(html.contains("Причина: Клиент отказался") && html.contains("Ушёл к конкуренту"), "{html}");
    // Another tenant's reason is no reason here.
    let other = app.tenant("ООО Другой").await;
    let foreign = other.admin.get("/api/v1/stop-reasons").await.ok().body[1]["id"].clone();
    let id2 = deal(&t, json!({})).await;
    let r = t.admin.post(&format!("/api/v1/deals/{id2}/stage"), json!({"stage_id": t.stage(9), "reason_id": foreign})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["reason_id"]);
}

async fn a_rejection_in_a_parallel_group_ends_the_route_at_once(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let s = services(&app, &t).await;
    let id = deal(&t, full_params()).await;
    let run = start(&t, &id, "application").await;
    assert_eq!(status_of(&run, "Юридическая служба"), "active");
    assert_eq!(status_of(&run, "Служба безопасности"), "active", "the first group runs in parallel");
    assert_eq!(status_of(&run, "Кредитный отдел"), "pending");
    // Both services see it in their inbox.
    assert_eq!(s.legal.get("/api/v1/approval-inbox").await.ok().body.as_array().unwrap().len(), 1);
    let r = decide(&s.security, &step(&run, "Служба безопасности"), json!({"decision": "reject"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["remark"]);
    let after = decide(&s.security, &step(&run, "Служба безопасности"), json!({"decision": "reject", "remark": "Негативная информация о бенефициаре"})).await.ok().body;
    assert_eq!(after["status"], "rejected");
    assert_eq!(status_of(&after, "Служба безопасности"), "rejected");
    assert_eq!(status_of(&after, "Юридическая служба"), "cancelled", "the parallel step is cancelled, not left waiting");
    assert_eq!(status_of(&after, "Кредитный отдел"), "cancelled");
    assert_eq!(status_of(&after, "Риск-менеджмент"), "cancelled");
    assert!(s.legal.get("/api/v1/approval-inbox").await.ok().body.as_array().unwrap().is_empty());
    let r = decide(&s.legal, &step(&run, "Юридическая служба"), json!({"decision": "approve"})).await.expect(StatusCode::CONFLICT);
    assert!(r.text().contains("не ждёт решения"));
    // The manager is told to put the deal on STOP.
    let tasks = t.admin.get(&format!("/api/v1/tasks?deal_id={id}")).await.ok().body;
    let task = &tasks["items"][0];
    assert!(task["title"].as_str().unwrap().starts_with("Поставить сделку на СТОП"), "{task}");
    assert_eq!(task["assignee_id"], json!(t.admin_id));
    assert!(task["description"].as_str().unwrap().contains("Негативная информация о бенефициаре"));
    // The history keeps who rejected, when, and why.
    let history = after["history"].as_array().unwrap();
    let reject = history.iter().find(|e| e["action"] == "reject").unwrap();
    assert_eq!(reject["remark"], "Негативная информация о бенефициаре");
    // A new run may start after a rejection.
    start(&t, &id, "application").await;
}

async fn a_send_back_and_resubmission_skips_no_step(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let s = services(&app, &t).await;
    // A sequential route, configured as data.
    let routes = t.admin.get("/api/v1/approval-routes").await.ok().body;
    let app_route = routes.as_array().unwrap().iter().find(|r| r["subject"] == "application").unwrap()["id"].as_str().unwrap().to_string();
    let step_def = |name: &str, dep: &str| json!({"name": name, "department": dep, "quorum": "any", "sla_days": 1});
    t.admin
        .put(
            &format!("/api/v1/approval-routes/{app_route}"),
            json!({"subject": "application", "name": "Заявка в КО", "groups": [[step_def("Юристы", "legal")], [step_def("СБ", "security")], [step_def("Кредит", "credit")], [step_def("Риски", "risk")]]}),
        )
        .await
        .ok();
    let id = deal(&t, full_params()).await;
    let run = start(&t, &id, "application").await;
    let run_id = run["id"].as_str().unwrap().to_string();
    decide(&s.legal, &step(&run, "Юристы"), json!({"decision": "approve"})).await.ok();
    let after = decide(&s.security, &step(&run, "СБ"), json!({"decision": "return", "remark": "Нет выписки ЕГРЮЛ"})).await.ok().body;
    assert_eq!(after["status"], "returned");
    assert_eq!(status_of(&after, "Кредит"), "pending");
    let tasks = t.admin.get(&format!("/api/v1/tasks?deal_id={id}")).await.ok().body;
    let task = &tasks["items"][0];
    assert!(task["title"].as_str().unwrap().starts_with("Доработать с учетом замечания службы"), "{task}");
    assert!(task["description"].as_str().unwrap().contains("Нет выписки ЕГРЮЛ"));
    assert!(s.credit.get("/api/v1/approval-inbox").await.ok().body.as_array().unwrap().is_empty());
    // Resubmitted: it restarts at the returning step; the approved one stays approved.
    let again = t.admin.post(&format!("/api/v1/approvals/{run_id}/resubmit"), json!({"remark": "Выписку приложили"})).await.ok().body;
    assert_eq!(again["status"], "in_progress");
    assert_eq!(status_of(&again, "Юристы"), "approved");
    assert_eq!(status_of(&again, "СБ"), "active");
    assert_eq!(status_of(&again, "Кредит"), "pending");
    assert_eq!(s.security.get("/api/v1/approval-inbox").await.ok().body.as_array().unwrap().len(), 1);
    decide(&s.security, &step(&run, "СБ"), json!({"decision": "approve"})).await.ok();
    let r = t.admin.get(&format!("/api/v1/approvals/{run_id}")).await.ok().body;
    assert_eq!(r["status"], "in_progress", "later steps are not skipped");
    assert_eq!(status_of(&r, "Кредит"), "active");
    decide(&s.credit, &step(&run, "Кредит"), json!({"decision": "approve"})).await.ok();
    let r = t.admin.get(&format!("/api/v1/approvals/{run_id}")).await.ok().body;
    assert_eq!(r["status"], "in_progress");
    decide(&s.risk, &step(&run, "Риски"), json!({"decision": "approve"})).await.ok();
    let r = t.admin.get(&format!("/api/v1/approvals/{run_id}")).await.ok().body;
    assert_eq!(r["status"], "approved");
    let actions: Vec<&str> = r["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["start", "approve", "return", "resubmit", "approve", "approve", "approve"]);
    // The printable history page.
    let mut page = t.signed_in(&app.router, t.admin_id, &t.admin_email().await).await;
    let html = page.get(&format!("/approvals/{run_id}")).await.expect(StatusCode::OK).body;
    assert!(html.contains("Нет выписки ЕГРЮЛ") && html.contains("Возвращено на доработку") && html.contains("Отправлено повторно"), "{html}");
}

async fn an_approval_without_the_conclusion_file_is_refused_naming_its_kind(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let s = services(&app, &t).await;
    let id = deal(&t, full_params()).await;
    let run = start(&t, &id, "application").await;
    let sb = step(&run, "Служба безопасности");
    let r = decide(&s.security, &sb, json!({"decision": "approve"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["document_id"]);
    assert_eq!(messages(&r), vec!["Для согласования приложите к сделке документ «Заключение СБ»"]);
    // A document of another kind named explicitly is refused too.
    let other = attach(&t, &id, "Анкета клиента").await;
    let r = decide(&s.security, &sb, json!({"decision": "approve", "document_id": other})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r)[0].contains("нужен документ «Заключение СБ»"));
    // Someone without the role cannot decide.
    decide(&s.legal, &sb, json!({"decision": "approve"})).await.expect(StatusCode::FORBIDDEN);
    let conclusion = attach(&t, &id, "Заключение СБ").await;
    let after = decide(&s.security, &sb, json!({"decision": "approve"})).await.ok().body;
    assert_eq!(status_of(&after, "Служба безопасности"), "approved");
    let approve = after["history"].as_array().unwrap().iter().find(|e| e["action"] == "approve").unwrap().clone();
    assert_eq!(approve["document_id"], json!(conclusion));
    // Approving twice is refused.
    decide(&s.security, &sb, json!({"decision": "approve"})).await.expect(StatusCode::CONFLICT);
}

async fn a_step_past_its_sla_is_escalated_to_the_head_once(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (head, head_id) = t.user("head").await;
    let id = deal(&t, full_params()).await;
    let run = start(&t, &id, "application").await;
    let due: chrono::DateTime<chrono::Utc> = run["steps"][0]["due_at"].as_str().unwrap().parse().unwrap();
    // Two working days: at least two calendar days ahead.
    assert!(due > chrono::Utc::now() + chrono::Duration::days(2));
    let escalate = |now: chrono::DateTime<chrono::Utc>| {
        let app = &app;
        let t = &t;
        async move {
            let mut tx = app.state.db.begin().await.unwrap();
            crm_host::jobs::service::enqueue(&mut tx.conn(), &app.state.jobs, crm_host::tenancy::TenantId(t.id), &crm_host::approvals::ESCALATE_JOB, json!({"now": now.to_rfc3339()}), None)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            app.run_jobs().await;
        }
    };
    // Before the SLA runs out nothing happens.
    escalate(chrono::Utc::now()).await;
    assert!(head.get(&format!("/api/v1/tasks?assignee_id={head_id}")).await.ok().body["items"].as_array().unwrap().is_empty());
    escalate(due + chrono::Duration::hours(1)).await;
    let tasks = head.get(&format!("/api/v1/tasks?assignee_id={head_id}")).await.ok().body;
    let titles: Vec<&str> = tasks["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 2, "both parallel steps are overdue: {titles:?}");
    assert!(titles.iter().all(|t| t.starts_with("Просрочено согласование")));
    // The head of a department gets only its own steps; the general head the rest.
    let security_head = t
        .admin
        .post("/api/v1/users", json!({"email": "sb-head@example.test", "full_name": "Начальник СБ", "role": "head", "departments": ["security"]}))
        .await
        .created()
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = start(&t, &deal(&t, full_params()).await, "application").await;
    let due2: chrono::DateTime<chrono::Utc> = other["steps"][0]["due_at"].as_str().unwrap().parse().unwrap();
    escalate(due2 + chrono::Duration::hours(1)).await;
    let sb_tasks = t.admin.get(&format!("/api/v1/tasks?assignee_id={security_head}")).await.ok().body;
    let sb_titles: Vec<&str> = sb_tasks["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(sb_titles.len(), 1, "{sb_titles:?}");
    assert!(sb_titles[0].contains("Служба безопасности"), "{sb_titles:?}");
    let general = head.get(&format!("/api/v1/tasks?assignee_id={head_id}")).await.ok().body;
    let general: Vec<&str> = general["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(general.len(), 3, "the legal step of the second deal, not its security step: {general:?}");
    let r = t.admin.get(&format!("/api/v1/approvals/{}", run["id"].as_str().unwrap())).await.ok().body;
    assert!(r["steps"][0]["escalated_at"].is_string());
    assert_eq!(r["history"].as_array().unwrap().iter().filter(|e| e["action"] == "escalate").count(), 2);
    // Once: the next round escalates nothing more.
    escalate(due2 + chrono::Duration::hours(2)).await;
    assert_eq!(head.get(&format!("/api/v1/tasks?assignee_id={head_id}")).await.ok().body["items"].as_array().unwrap().len(), 3);
}

async fn quorum_all_waits_for_every_approver_and_a_delegate_decides_for_one_away(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (legal1, legal1_id) = approver(&app, &t, "legal").await;
    let (_legal2, legal2_id) = approver(&app, &t, "legal").await;
    let (deputy, deputy_id) = t.user("manager").await;
    let routes = t.admin.get("/api/v1/approval-routes").await.ok().body;
    let app_route = routes.as_array().unwrap().iter().find(|r| r["subject"] == "application").unwrap()["id"].as_str().unwrap().to_string();
    t.admin
        .put(
            &format!("/api/v1/approval-routes/{app_route}"),
            json!({"subject": "application", "name": "Заявка в КО", "groups": [[{"name": "Юристы", "department": "legal", "quorum": "all", "sla_days": 3}]]}),
        )
        .await
        .ok();
    let id = deal(&t, full_params()).await;
    let run = start(&t, &id, "application").await;
    assert_eq!(run["steps"][0]["required"], 2);
    decide(&legal1, &step(&run, "Юристы"), json!({"decision": "approve"})).await.ok();
    let r = t.admin.get(&format!("/api/v1/approvals/{}", run["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(r["status"], "in_progress", "one of two is not all");
    // The second lawyer is away: the deputy decides for them.
    decide(&deputy, &step(&run, "Юристы"), json!({"decision": "approve"})).await.expect(StatusCode::FORBIDDEN);
    let today = chrono::Utc::now().date_naive();
    t.admin
        .post("/api/v1/approval-delegations", json!({"from_user_id": legal2_id, "to_user_id": deputy_id, "starts_on": today.pred_opt().unwrap(), "ends_on": today.succ_opt().unwrap()}))
        .await
        .created();
    assert_eq!(deputy.get("/api/v1/approval-inbox").await.ok().body[0]["on_behalf_of"], json!(legal2_id));
    let after = decide(&deputy, &step(&run, "Юристы"), json!({"decision": "approve"})).await.ok().body;
    assert_eq!(after["status"], "approved");
    let last = after["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["user_id"], json!(deputy_id));
    assert_eq!(last["on_behalf_of"], json!(legal2_id));
    let _ = legal1_id;
}

async fn the_collegial_body_is_chosen_by_the_deal_kind(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let flow_members = committee_members(&app, &t, "flow", 1).await;
    let board_members = committee_members(&app, &t, "individual", 2).await;
    // Without the deal's kind there is no body to ask.
    let none = deal(&t, json!({})).await;
    let r = t.admin.post(&format!("/api/v1/deals/{none}/committee-meetings"), json!({})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["params.deal_kind"]);
    let flow = deal(&t, json!({"deal_kind": "flow"})).await;
    let m = t.admin.post(&format!("/api/v1/deals/{flow}/committee-meetings"), json!({})).await.created().body;
    assert_eq!(m["body_name"], "Финансовый комитет");
    assert_eq!(m["votes"].as_array().unwrap().len(), 1);
    let individual = deal(&t, json!({"deal_kind": "individual", "factoring_type": "agency", "limit": "7000000.00"})).await;
    let m = t.admin.post(&format!("/api/v1/deals/{individual}/committee-meetings"), json!({"held_on": "2026-03-12"})).await.created().body;
    assert_eq!(m["body_name"], "Совет директоров");
    let mid = m["id"].as_str().unwrap();
    // Only members vote, once each; a tie is no approval.
    flow_members[0].post(&format!("/api/v1/committee-meetings/{mid}/votes"), json!({"vote": "for"})).await.expect(StatusCode::FORBIDDEN);
    board_members[0].post(&format!("/api/v1/committee-meetings/{mid}/votes"), json!({"vote": "for"})).await.ok();
    board_members[0].post(&format!("/api/v1/committee-meetings/{mid}/votes"), json!({"vote": "against"})).await.expect(StatusCode::CONFLICT);
    let decided = board_members[1].post(&format!("/api/v1/committee-meetings/{mid}/votes"), json!({"vote": "against", "comment": "Высокий риск"})).await.ok().body;
    assert_eq!(decided["status"], "rejected");
    // The protocol from the template.
    let html = t.admin.get(&format!("/api/v1/committee-meetings/{mid}/protocol?format=html")).await.ok().text();
    for text in ["Совет директоров", "марта", "Высокий риск", "Отказать", "против"] {
        assert!(html.contains(text), "the protocol lacks {text}: {html}");
    }
    assert!(html.contains("агентский"));
    let pdf = t.admin.get(&format!("/api/v1/committee-meetings/{mid}/protocol")).await.ok();
    assert!(pdf.bytes.starts_with(b"%PDF"));
    // A rejected meeting does not open the gate; a new meeting may approve.
    let r = t.admin.post(&format!("/api/v1/deals/{individual}/committee-meetings"), json!({})).await.created().body;
    assert_eq!(r["status"], "voting");
}

async fn routes_gates_and_stop_reasons_are_data_editable_per_tenant(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let other = app.tenant("ООО Другой").await;
    // Stop reasons: add, rename, archive.
    let r = t.admin.post("/api/v1/stop-reasons", json!({"name": "Санкционные риски"})).await.created().body;
    assert_eq!(r["position"], 7);
    t.admin.put(&format!("/api/v1/stop-reasons/{}", r["id"].as_str().unwrap()), json!({"name": "Санкции", "archived": true})).await.ok();
    let listed = t.admin.get("/api/v1/stop-reasons").await.ok().body;
    assert!(!listed.as_array().unwrap().iter().any(|x| x["name"] == "Санкции"));
    assert_eq!(other.admin.get("/api/v1/stop-reasons").await.ok().body.as_array().unwrap().len(), 6);
    // A bad route names each problem.
    let r = t
        .admin
        .post("/api/v1/approval-routes", json!({"subject": "Limit Change", "name": "", "groups": [[], [{"name": "X", "department": "risk", "quorum": "n", "sla_days": 99}]]}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["subject", "name", "groups[0]", "groups[1][0].sla_days", "groups[1][0].quorum_n"]);
    let created = t
        .admin
        .post("/api/v1/approval-routes", json!({"subject": "limit_change", "name": "Изменение лимита", "groups": [[{"name": "Риски", "department": "risk", "quorum": "n", "quorum_n": 2, "sla_days": 1, "document_kind": "Заключение рисков"}]]}))
        .await
        .created()
        .body;
    assert_eq!(created["groups"][0][0]["quorum_n"], 2);
    t.admin.post("/api/v1/approval-routes", json!({"subject": "limit_change", "name": "Дубль", "groups": [[{"name": "Р", "department": "risk", "quorum": "any", "sla_days": 1}]]})).await.expect(StatusCode::CONFLICT);
    assert_eq!(other.admin.get("/api/v1/approval-routes").await.ok().body.as_array().unwrap().len(), 2);
    // A gate asking for an approval and a checklist item, configured on a stage.
    let stage = &t.pipeline["stages"][1];
    t.admin
        .put(
            &format!("/api/v1/pipelines/{}/stages/{}", t.pipeline_id(), stage["id"].as_str().unwrap()),
            json!({"name": "Переговоры", "kind": "open", "win_probability": 20, "gate": {"approvals": ["limit_change"], "checklist": [{"key": "call", "label": "Звонок клиенту"}]}}),
        )
        .await
        .ok();
    let id = deal(&t, json!({})).await;
    let r = move_to(&t, &id, 1).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["gate.approvals[0]", "gate.checklist[0]"]);
    assert_eq!(messages(&r)[1], "Для этапа «Переговоры» отметьте пункт «Звонок клиенту»");
    // Managers may not change policy.
    let (manager, _) = t.user("manager").await;
    manager.post("/api/v1/stop-reasons", json!({"name": "X"})).await.expect(StatusCode::FORBIDDEN);
}

/// The manager drives the deal's approvals, checklist and meeting from the deal page.
async fn the_deal_page_starts_routes_marks_the_checklist_and_calls_the_meeting(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let s = services(&app, &t).await;
    let id = deal(&t, full_params()).await;
    let mut page = t.signed_in(&app.router, t.admin_id, &t.admin_email().await).await;
    let html = page.get(&format!("/deals/{id}")).await.expect(StatusCode::OK).body;
    assert!(html.contains("Отправить «Заявка в кредитный комитет» на согласование"), "{html}");
    // The draft decision before the application: refused on the page, in Russian.
    let r = page.post_form(&format!("/deals/{id}/approvals/start"), &[("subject", "draft_decision")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Сначала завершите согласование «Заявка в кредитный комитет»"), "{}", r.body);
    page.post_form(&format!("/deals/{id}/approvals/start"), &[("subject", "application")]).await.expect(StatusCode::SEE_OTHER);
    let runs = t.admin.get(&format!("/api/v1/deals/{id}/approvals")).await.ok().body;
    let run = runs[0].clone();
    decide(&s.security, &step(&run, "Служба безопасности"), json!({"decision": "return", "remark": "Нужна выписка"})).await.ok();
    page.post_form(&format!("/deals/{id}/approvals/resubmit"), &[("run_id", run["id"].as_str().unwrap()), ("remark", "Приложили")]).await.expect(StatusCode::SEE_OTHER);
    let again = t.admin.get(&format!("/api/v1/approvals/{}", run["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(again["status"], "in_progress");
    page.post_form(&format!("/deals/{id}/checklist"), &[("key", "dossier"), ("done", "true")]).await.expect(StatusCode::SEE_OTHER);
    let checklist = t.admin.get(&format!("/api/v1/deals/{id}/checklist")).await.ok().body;
    assert_eq!(checklist[0]["done"], true);
    let r = page.post_form(&format!("/deals/{id}/committee"), &[]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("нет членов"), "{}", r.body);
    // The admin is a member and votes from the page.
    let bodies = t.admin.get("/api/v1/collegial-bodies").await.ok().body;
    let flow = bodies.as_array().unwrap().iter().find(|b| b["deal_kind"] == "flow").unwrap().clone();
    t.admin.put(&format!("/api/v1/collegial-bodies/{}", flow["id"].as_str().unwrap()), json!({"name": flow["name"], "deal_kind": "flow", "members": [t.admin_id]})).await.ok();
    page.post_form(&format!("/deals/{id}/committee"), &[]).await.expect(StatusCode::SEE_OTHER);
    let m = t.admin.get(&format!("/api/v1/deals/{id}/committee-meetings")).await.ok().body[0].clone();
    page.post_form(&format!("/deals/{id}/committee/vote"), &[("meeting_id", m["id"].as_str().unwrap()), ("vote", "for")]).await.expect(StatusCode::SEE_OTHER);
    let m = t.admin.get(&format!("/api/v1/committee-meetings/{}", m["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(m["status"], "approved");
    let protocol = page.get(&format!("/committee-meetings/{}/protocol", m["id"].as_str().unwrap())).await.expect(StatusCode::OK).body;
    assert!(protocol.contains("Финансовый комитет"));
}

/// An application for one of our legal entities waits only for the approvers serving it.
async fn approvers_decide_only_for_the_legal_entities_they_serve(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let entity = |name: &str, inn: &str| {
        let body = json!({"full_name": name, "inn": inn});
        let admin = t.admin.clone();
        async move { admin.post("/api/v1/legal-entities", body).await.created().body["id"].as_str().unwrap().to_string() }
    };
    let north = entity("ООО Север", "7707083893").await;
    let south = entity("ООО Юг", "7719402047").await;
    let (sb_north, sb_north_id) = approver(&app, &t, "security").await;
    let (sb_south, sb_south_id) = approver(&app, &t, "security").await;
    let (sb_any, _) = approver(&app, &t, "security").await;
    t.admin.put(&format!("/api/v1/approval-scopes/{sb_north_id}"), json!({"legal_entity_ids": [north]})).await.ok();
    let r = t.admin.put(&format!("/api/v1/approval-scopes/{sb_south_id}"), json!({"legal_entity_ids": [south, uuid::Uuid::now_v7()]})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["legal_entity_ids[1]"]);
    t.admin.put(&format!("/api/v1/approval-scopes/{sb_south_id}"), json!({"legal_entity_ids": [south]})).await.ok();
    let scopes = t.admin.get("/api/v1/approval-scopes").await.ok().body;
    assert_eq!(scopes.as_array().unwrap().len(), 2);
    let routes = t.admin.get("/api/v1/approval-routes").await.ok().body;
    let app_route = routes.as_array().unwrap().iter().find(|r| r["subject"] == "application").unwrap()["id"].as_str().unwrap().to_string();
    t.admin
        .put(&format!("/api/v1/approval-routes/{app_route}"), json!({"subject": "application", "name": "Заявка в КО", "groups": [[{"name": "СБ", "department": "security", "quorum": "all", "sla_days": 2}]]}))
        .await
        .ok();
    let id = deal(&t, full_params()).await;
    let run = t.admin.post(&format!("/api/v1/deals/{id}/approvals"), json!({"subject": "application", "legal_entity_id": north})).await.created().body;
    assert_eq!(run["legal_entity_id"], json!(north));
    assert_eq!(run["steps"][0]["required"], 2, "all who serve «Север»: its own approver and the one serving every entity");
    assert!(sb_south.get("/api/v1/approval-inbox").await.ok().body.as_array().unwrap().is_empty());
    decide(&sb_south, &step(&run, "СБ"), json!({"decision": "approve"})).await.expect(StatusCode::FORBIDDEN);
    decide(&sb_north, &step(&run, "СБ"), json!({"decision": "approve"})).await.ok();
    let after = decide(&sb_any, &step(&run, "СБ"), json!({"decision": "approve"})).await.ok().body;
    assert_eq!(after["status"], "approved");
}

/// The application's route depends on the factoring type: a step with a condition joins
/// only the deals that meet it.
async fn a_step_may_apply_only_to_a_factoring_type(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let routes = t.admin.get("/api/v1/approval-routes").await.ok().body;
    let app_route = routes.as_array().unwrap().iter().find(|r| r["subject"] == "application").unwrap()["id"].as_str().unwrap().to_string();
    let debtors = json!({"name": "Анализ дебиторов", "department": "risk", "quorum": "any", "sla_days": 2,
                         "when": {"field": "factoring_type", "equals": "without_recourse"}});
    t.admin
        .put(
            &format!("/api/v1/approval-routes/{app_route}"),
            json!({"subject": "application", "name": "Заявка в КО", "groups": [
                [{"name": "СБ", "department": "security", "quorum": "any", "sla_days": 2}],
                [debtors.clone()],
                [{"name": "Кредит", "department": "credit", "quorum": "any", "sla_days": 2}]]}),
        )
        .await
        .ok();
    let with = deal(&t, json!({"factoring_type": "with_recourse"})).await;
    let run = start(&t, &with, "application").await;
    let names: Vec<&str> = run["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["СБ", "Кредит"]);
    assert_eq!(run["steps"][1]["group_index"], 1, "no gap where the step was left out");
    let without = deal(&t, json!({"factoring_type": "without_recourse"})).await;
    let run = start(&t, &without, "application").await;
    let names: Vec<&str> = run["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["СБ", "Анализ дебиторов", "Кредит"]);
    // A route none of whose steps applies is refused.
    t.admin
        .put(&format!("/api/v1/approval-routes/{app_route}"), json!({"subject": "application", "name": "Заявка в КО", "groups": [[debtors]]}))
        .await
        .ok();
    let agency = deal(&t, json!({"factoring_type": "agency"})).await;
    let r = t.admin.post(&format!("/api/v1/deals/{agency}/approvals"), json!({"subject": "application"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["subject"]);
}

/// The two services of a parallel group approving at the same moment: the run still moves
/// on to the next group (each decision sees the other's).
async fn parallel_approvals_at_the_same_moment_start_the_next_group(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let s = services(&app, &t).await;
    let id = deal(&t, full_params()).await;
    attach(&t, &id, "Заключение юридической службы").await;
    attach(&t, &id, "Заключение СБ").await;
    let run = start(&t, &id, "application").await;
    let (legal, security) = (step(&run, "Юридическая служба"), step(&run, "Служба безопасности"));
    let approve = json!({"decision": "approve"});
    let (a, b) = tokio::join!(decide(&s.legal, &legal, approve.clone()), decide(&s.security, &security, approve.clone()));
    a.ok();
    b.ok();
    let r = t.admin.get(&format!("/api/v1/approvals/{}", run["id"].as_str().unwrap())).await.ok().body;
    assert_eq!(status_of(&r, "Юридическая служба"), "approved");
    assert_eq!(status_of(&r, "Служба безопасности"), "approved");
    assert_eq!(status_of(&r, "Кредитный отдел"), "active", "{r}");
}

/// The tenant's change-of-terms pipeline.
fn change_pipeline(pipelines: &Value) -> &Value {
    pipelines.as_array().unwrap().iter().find(|p| p["purpose"] == "change_of_terms").expect("a change-of-terms pipeline")
}

async fn a_change_of_terms_copies_the_deal_and_audits_every_changed_term(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let id = deal(&t, full_params()).await;
    let d = t.admin.get(&format!("/api/v1/deals/{id}")).await.ok().body;
    let buyer = t.counterparty("ООО Покупатель").await;
    let second = t.counterparty("ООО Второй покупатель").await;
    t.admin.post(&format!("/api/v1/deals/{id}/parties"), json!({"counterparty_id": d["counterparty_id"], "role": "supplier"})).await.created();
    t.admin.post(&format!("/api/v1/deals/{id}/parties"), json!({"counterparty_id": buyer["id"], "role": "buyer", "limit": "3000000"})).await.created();
    // The new deal: all parameters and parties, in the second pipeline, at «Сбор документов».
    let copy = t.admin.post(&format!("/api/v1/deals/{id}/change-terms"), json!({})).await.created().body;
    let cid = copy["id"].as_str().unwrap().to_string();
    let pipelines = t.admin.get("/api/v1/pipelines").await.ok().body;
    let change = change_pipeline(&pipelines);
    assert_eq!(change["name"], "Изменение условий финансирования");
    assert_eq!(change["stages"][0]["name"], "Сбор документов", "the first three stages are skipped");
    assert_eq!(copy["pipeline_id"], change["id"]);
    assert_eq!(copy["stage_name"], "Сбор документов");
    assert_eq!(copy["title"], "Изменение условий: Факторинг 5 млн");
    assert_eq!(copy["counterparty_id"], d["counterparty_id"]);
    assert_eq!(copy["params"], d["params"]);
    let parties = t.admin.get(&format!("/api/v1/deals/{cid}/parties")).await.ok().body;
    let limits: Vec<(String, Value)> = parties.as_array().unwrap().iter().map(|p| (p["role"].as_str().unwrap().to_string(), p["limit"].clone())).collect();
    assert_eq!(limits, vec![("supplier".to_string(), Value::Null), ("buyer".to_string(), json!("3000000.00"))]);
    // Nothing changed yet.
    let before = t.admin.get(&format!("/api/v1/deals/{cid}/terms-changes")).await.ok().body;
    assert_eq!(before["origin_deal_id"], id.as_str());
    assert!(before["terms"].as_array().unwrap().iter().all(|x| x["changed"] == false), "{before}");
    assert_eq!(before["history"], json!([]));
    // New terms: a higher limit, a longer term, the buyer's limit up, a second buyer.
    t.admin.patch(&format!("/api/v1/deals/{cid}"), json!({"params": {"limit": "7000000.00", "term_days": 120}})).await.ok();
    let party = parties.as_array().unwrap().iter().find(|p| p["role"] == "buyer").unwrap()["id"].as_str().unwrap().to_string();
    let r = t.admin.put(&format!("/api/v1/deals/{cid}/parties/{party}"), json!({"limit": "-1"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["limit"]);
    t.admin.put(&format!("/api/v1/deals/{cid}/parties/{party}"), json!({"limit": "4000000"})).await.ok();
    t.admin.post(&format!("/api/v1/deals/{cid}/parties"), json!({"counterparty_id": second["id"], "role": "buyer", "limit": "1000000"})).await.created();
    // The original changing later does not move the baseline.
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": {"limit": "6000000.00"}})).await.ok();
    let after = t.admin.get(&format!("/api/v1/deals/{cid}/terms-changes")).await.ok().body;
    let mut changed: Vec<(String, Value, Value)> = after["terms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["changed"] == true)
        .map(|x| (x["label"].as_str().unwrap().to_string(), x["original"].clone(), x["current"].clone()))
        .collect();
    changed.sort_by(|a, b| a.0.cmp(&b.0));
    let name = |cp: &Value| cp["short_name"].as_str().or(cp["full_name"].as_str()).unwrap().to_string();
    let mut expected = vec![
        ("Лимит".to_string(), json!("5000000.00"), json!("7000000.00")),
        ("Срок, дней".to_string(), json!(90), json!(120)),
        (format!("Покупатель (дебитор): {}", name(&buyer)), json!({"limit": "3000000.00"}), json!({"limit": "4000000.00"})),
        (format!("Покупатель (дебитор): {}", name(&second)), Value::Null, json!({"limit": "1000000.00"})),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(changed, expected, "{after}");
    assert_eq!(changed.len(), 4, "{after}");
    // Every edit, with who made it, oldest first.
    let history: Vec<(String, String)> = after["history"].as_array().unwrap().iter().map(|e| (e["key"].as_str().unwrap().to_string(), e["by"].as_str().unwrap().to_string())).collect();
    assert_eq!(history.len(), 4, "{after}");
    assert_eq!(history[0].0, "params.limit");
    assert_eq!(history[1].0, "params.term_days");
    assert!(history[2].0.starts_with("parties.buyer."));
    assert!(history.iter().all(|(_, by)| !by.is_empty()));
    // The original's timeline tells; the original itself is not a change of terms.
    let timeline = t.admin.get(&format!("/api/v1/deals/{id}/timeline")).await.ok().text();
    assert!(timeline.contains("открыто изменение условий"), "{timeline}");
    t.admin.get(&format!("/api/v1/deals/{id}/terms-changes")).await.expect(StatusCode::NOT_FOUND);
    // The deal page shows the comparison and offers the change on the original.
    let mut page = t.signed_in(&app.router, t.admin_id, &t.admin_email().await).await;
    let html = page.get(&format!("/deals/{cid}")).await.expect(StatusCode::OK).body;
    assert!(html.contains("Изменение условий по сделке"), "{html}");
    assert!(html.contains("7\u{a0}000\u{a0}000,00"), "{html}");
    let html = page.get(&format!("/deals/{id}")).await.expect(StatusCode::OK).body;
    assert!(html.contains("Изменить условия"), "{html}");
    // Without a change-of-terms pipeline the error says what to do.
    t.admin.post(&format!("/api/v1/pipelines/{}/archive", change["id"].as_str().unwrap()), json!({})).await.ok();
    let r = t.admin.post(&format!("/api/v1/deals/{id}/change-terms"), json!({})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["pipeline_id"]);
}

async fn a_jump_over_stages_passes_every_gate_on_the_way(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let id = deal(&t, json!({})).await;
    // From Горячий лид straight to Сбор документов: КП's gate is not skipped.
    let r = move_to(&t, &id, 3).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), vec!["gate.fields.factoring_type", "gate.fields.limit", "gate.fields.term_days", "gate.fields.deferral_days"]);
    assert!(messages(&r)[0].starts_with("Для этапа «Коммерческое предложение»"), "{:?}", messages(&r));
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": full_params()})).await.ok();
    move_to(&t, &id, 3).await.ok();
    // To СТОП (lost) needs only the reason; back needs nothing.
    move_to(&t, &id, 0).await.ok();
}

async fn the_credit_application_has_the_section_of_the_deals_factoring_type(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let id = deal(&t, full_params()).await;
    let buyer = t.counterparty("ООО Покупатель").await;
    t.admin.post(&format!("/api/v1/deals/{id}/parties"), json!({"counterparty_id": buyer["id"], "role": "buyer", "limit": "3000000"})).await.created();
    attach(&t, &id, "Анкета клиента").await;
    let html = t.admin.get(&format!("/api/v1/deals/{id}/credit-application?format=html")).await.ok().text().replace('\u{a0}', " ");
    assert!(html.contains("Факторинг без права регресса"), "{html}");
    assert!(html.contains("без регресса"), "{html}");
    assert!(html.contains("3 000 000,00"), "{html}");
    assert!(html.contains("Анкета клиента"), "{html}");
    t.admin.patch(&format!("/api/v1/deals/{id}"), json!({"params": {"factoring_type": "agency"}})).await.ok();
    let html = t.admin.get(&format!("/api/v1/deals/{id}/credit-application?format=html")).await.ok().text();
    assert!(html.contains("Агентский факторинг"), "{html}");
    assert!(!html.contains("без права регресса"), "{html}");
    let pdf = t.admin.get(&format!("/api/v1/deals/{id}/credit-application")).await.ok();
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF"));
    let r = t.admin.get(&format!("/api/v1/deals/{id}/credit-application?format=docx")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["format"]);
}

async fn tenants_of_an_older_host_get_the_missing_defaults_once(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let pipelines = t.admin.get("/api/v1/pipelines").await.ok().body;
    let change: Uuid = change_pipeline(&pipelines)["id"].as_str().unwrap().parse().unwrap();
    // As a tenant made before the change-of-terms pipeline shipped (version 1), and one made
    // before the factoring defaults (version 0).
    let old = crm_host::tenancy::TenantId::new();
    {
        let mut tx = app.state.db.begin().await.unwrap();
        let c = &mut tx.conn();
        crm_host::on_conn!(c, c => sqlx::query("DELETE FROM stages WHERE tenant_id = $1 AND pipeline_id = $2").bind(t.id).bind(change).execute(c).await.map(drop)).unwrap();
        crm_host::on_conn!(c, c => sqlx::query("DELETE FROM pipelines WHERE tenant_id = $1 AND id = $2").bind(t.id).bind(change).execute(c).await.map(drop)).unwrap();
        crm_host::on_conn!(c, c => sqlx::query("DELETE FROM reminder_rules WHERE tenant_id = $1").bind(t.id).execute(c).await.map(drop)).unwrap();
        crm_host::on_conn!(c, c => sqlx::query("UPDATE tenants SET defaults_version = 1 WHERE id = $1").bind(t.id).execute(c).await.map(drop)).unwrap();
        crm_host::on_conn!(c, c => sqlx::query("INSERT INTO tenants (id, name, time_zone, created_at) VALUES ($1, 'Старый', 'Europe/Moscow', $2)").bind(old).bind(chrono::Utc::now()).execute(c).await.map(drop)).unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(crm_host::tenancy::service::install_missing_defaults(&app.state.db).await.unwrap(), 2);
    let pipelines = t.admin.get("/api/v1/pipelines").await.ok().body;
    assert_eq!(pipelines.as_array().unwrap().iter().filter(|p| p["purpose"] == "change_of_terms").count(), 1);
    let count = |sql: &'static str, tenant: Uuid| {
        let db = app.state.db.clone();
        async move {
            let mut conn = db.read().await.unwrap();
            let c = &mut conn.conn();
            let n: i64 = crm_host::on_conn!(c, c => sqlx::query_scalar(sql).bind(tenant).fetch_one(c).await).unwrap();
            n
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM stop_reasons WHERE tenant_id = $1", old.0).await, 6);
    assert!(count("SELECT COUNT(*) FROM approval_routes WHERE tenant_id = $1", old.0).await >= 2);
    assert_eq!(count("SELECT COUNT(*) FROM pipelines WHERE tenant_id = $1 AND purpose = 'change_of_terms'", old.0).await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM reminder_rules WHERE tenant_id = $1", old.0).await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM reminder_rules WHERE tenant_id = $1", t.id).await, 1);
    // Once: a second start installs nothing more.
    assert_eq!(crm_host::tenancy::service::install_missing_defaults(&app.state.db).await.unwrap(), 0);
    assert_eq!(count("SELECT COUNT(*) FROM stop_reasons WHERE tenant_id = $1", old.0).await, 6);
    assert_eq!(count("SELECT COUNT(*) FROM pipelines WHERE tenant_id = $1", t.id).await, 2);
}

async fn suppliers_buyers_and_stand_ins_are_managed_from_the_pages(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let id = deal(&t, full_params()).await;
    let buyer = t.counterparty("ООО Покупатель").await;
    let inn = buyer["inn"].as_str().expect("the test counterparty has an ИНН").to_string();
    let mut page = t.signed_in(&app.router, t.admin_id, &t.admin_email().await).await;
    // A buyer linked by its ИНН with a limit typed the Russian way.
    page.post_form(&format!("/deals/{id}/parties"), &[("role", "buyer"), ("inn", &inn), ("limit", "3 000 000,50")]).await.expect(StatusCode::SEE_OTHER);
    let parties = t.admin.get(&format!("/api/v1/deals/{id}/parties")).await.ok().body;
    assert_eq!(parties[0]["limit"], "3000000.50");
    let party = parties[0]["id"].as_str().unwrap().to_string();
    // An unknown ИНН and a limit that is no amount are named on the page.
    let r = page.post_form(&format!("/deals/{id}/parties"), &[("role", "buyer"), ("inn", "7707083893"), ("limit", "")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Клиента с ИНН «7707083893» нет в базе"), "{}", r.body);
    let r = page.post_form(&format!("/deals/{id}/parties/{party}"), &[("limit", "три миллиона")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("не сумма"), "{}", r.body);
    page.post_form(&format!("/deals/{id}/parties/{party}"), &[("limit", "4000000")]).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(t.admin.get(&format!("/api/v1/deals/{id}/parties")).await.ok().body[0]["limit"], "4000000.00");
    page.post_form(&format!("/deals/{id}/parties/{party}"), &[("action", "remove")]).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(t.admin.get(&format!("/api/v1/deals/{id}/parties")).await.ok().body, json!([]));
    // A stand-in while the admin is away, set and ended from the approvals page.
    let (_, deputy) = approver(&app, &t, "risk").await;
    let html = page.get("/approvals").await.expect(StatusCode::OK).body;
    assert!(html.contains("Замещение на время отсутствия"), "{html}");
    let r = page
        .post_form("/approvals/delegations", &[("to_user_id", &deputy.to_string()), ("starts_on", "2026-12-10"), ("ends_on", "2026-12-01")])
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Замещение не сохранено"), "{}", r.body);
    page.post_form("/approvals/delegations", &[("to_user_id", &deputy.to_string()), ("starts_on", "2026-12-10"), ("ends_on", "2026-12-20")]).await.expect(StatusCode::SEE_OTHER);
    let delegations = t.admin.get("/api/v1/approval-delegations").await.ok().body;
    assert_eq!(delegations[0]["to_user_id"], deputy.to_string());
    let html = page.get("/approvals").await.expect(StatusCode::OK).body;
    assert!(html.contains("10.12.2026") && html.contains("20.12.2026"), "{html}");
    page.post_form(&format!("/approvals/delegations/{}/end", delegations[0]["id"].as_str().unwrap()), &[]).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(t.admin.get("/api/v1/approval-delegations").await.ok().body, json!([]));
}
