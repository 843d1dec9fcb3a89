//! Platform 0.2: a plugin of every world built from the SDK and called by the host
//! through one generic path; module instances with their own settings and secrets;
//! plugins built against the frozen `crm:plugin@0.1.0` running beside `@0.2.0` ones, a
//! version switch and its rollback; each capability refused outside its grant; trying a
//! module with a sample input.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use crm_tests::{TestApp, TestTenant, fixture, guest, guest_manifest, on_both_engines};
use serde_json::{Value, json};

on_both_engines!(
    every_world_has_a_plugin_from_the_sdk_that_the_host_calls,
    two_instances_of_one_plugin_run_with_their_own_settings_and_secrets,
    plugins_built_against_0_1_0_keep_running_beside_0_2_0_ones,
    a_module_switches_from_a_0_1_0_to_a_0_2_0_build_and_rolls_back,
    each_capability_is_refused_outside_its_grant,
    mail_from_a_plugin_is_queued_once_from_the_granted_sender,
    trying_a_module_names_what_is_wrong_with_the_input,
    the_built_in_voice_plugin_calls_through_smsc_once_per_key,
);

/// Every request's form fields, in order.
pub(crate) type Forms = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A fake SMS.RU on loopback: the real `sms/send` and `sms/status` JSON answers, and a
/// record of every request's form (to see which key each instance sent).
pub(crate) struct FakeSmsRu {
    pub(crate) base_url: String,
    pub(crate) host: String,
    pub(crate) seen: Forms,
}

pub(crate) async fn fake_sms_ru(api_id: &'static str) -> FakeSmsRu {
    let seen: Forms = Arc::default();
    let log = seen.clone();
    let handle = move |path: &'static str| {
        let log = log.clone();
        move |body: String| {
            let log = log.clone();
            async move {
                let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                log.lock().unwrap().push(form.clone());
                let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
                if get("api_id") != api_id {
                    return axum::Json(json!({"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"}));
                }
                axum::Json(match path {
                    "send" => {
                        let to = get("to");
                        json!({"status": "OK", "status_code": 100, "sms": {to: {"status": "OK", "status_code": 100, "sms_id": format!("000000-{}", 10_000_000 + form.len())}}, "balance": 10})
                    }
                    _ => {
                        let id = get("sms_id");
                        json!({"status": "OK", "status_code": 100, "sms": {id: {"status": "OK", "status_code": 103, "status_text": "Сообщение доставлено"}}})
                    }
                })
            }
        }
    };
    let app = axum::Router::new()
        .route("/sms/send", axum::routing::post(handle("send")))
        .route("/sms/status", axum::routing::post(handle("status")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeSmsRu { base_url: format!("http://{addr}/"), host: addr.to_string(), seen }
}

impl FakeSmsRu {
    fn keys_seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|f| f.iter().find(|(k, _)| k == "api_id").map(|(_, v)| v.clone()).unwrap_or_default()).collect()
    }
}

/// A fake SMSC.RU on loopback: `sys/send.php` and `sys/status.php` with their `fmt=3` JSON
/// answers. It keeps the messages it took by (phone, id) as SMSC.RU does, refuses a repeated
/// request for the same phone and id (error 9), refuses a number that is not 11 digits
/// starting with 7 (error 7) and a wrong login or password (error 2), and records every
/// request's form. `lose_answers` makes it take the next calls but answer HTTP 502, as if
/// the answer were lost on the way back.
/// Every request to the fake SMSC.RU: the script (`send`, `status`) and its form fields.
pub(crate) type SmscRequests = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;
/// The messages the fake SMSC.RU took: their status code by (phone, id).
pub(crate) type SmscBook = Arc<Mutex<std::collections::BTreeMap<(String, String), i64>>>;

pub(crate) struct FakeSmsc {
    pub(crate) base_url: String,
    pub(crate) host: String,
    pub(crate) seen: SmscRequests,
    /// Status code of each message taken, by (phone, id).
    pub(crate) taken: SmscBook,
    pub(crate) lose_answers: Arc<std::sync::atomic::AtomicUsize>,
}

pub(crate) async fn fake_smsc(login: &'static str, psw: &'static str) -> FakeSmsc {
    use std::sync::atomic::Ordering;
    let seen: SmscRequests = Arc::default();
    let taken: SmscBook = Arc::default();
    let lose_answers = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (log, book, lose) = (seen.clone(), taken.clone(), lose_answers.clone());
    let handle = move |script: &'static str| {
        let (log, book, lose) = (log.clone(), book.clone(), lose.clone());
        move |body: String| {
            let (log, book, lose) = (log.clone(), book.clone(), lose.clone());
            async move {
                use axum::response::IntoResponse;
                let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                log.lock().unwrap().push((script.to_owned(), form.clone()));
                let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
                if get("login") != login || get("psw") != psw {
                    return axum::Json(json!({"error": "authorise error", "error_code": 2})).into_response();
                }
                assert_eq!(get("fmt"), "3", "the plugin asks for JSON answers");
                if script == "status" {
                    let known = book.lock().unwrap().get(&(get("phone"), get("id"))).copied();
                    let status = known.unwrap_or(-3);
                    return axum::Json(json!({"status": status, "last_date": "11.06.2026 10:00:05", "last_timestamp": 1_781_161_205, "err": 0})).into_response();
                }
                let (phone, id) = (get("phones"), get("id"));
                assert_eq!((get("call").as_str(), get("charset").as_str()), ("1", "utf-8"), "{form:?}");
                if phone.len() != 11 || !phone.starts_with('7') {
                    return axum::Json(json!({"error": "invalid number", "error_code": 7})).into_response();
                }
                if book.lock().unwrap().insert((phone, id.clone()), -1).is_some() {
                    return axum::Json(json!({"error": "duplicate request, wait a minute", "error_code": 9})).into_response();
                }
                if lose.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                    return (StatusCode::BAD_GATEWAY, "upstream timed out").into_response();
                }
                axum::Json(json!({"id": id.parse::<i64>().unwrap(), "cnt": 1})).into_response()
            }
        }
    };
    let app = axum::Router::new()
        .route("/sys/send.php", axum::routing::post(handle("send")))
        .route("/sys/status.php", axum::routing::post(handle("status")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeSmsc { base_url: format!("http://{addr}/"), host: addr.to_string(), seen, taken, lose_answers }
}

impl FakeSmsc {
    /// The forms of the calls asked for (`send.php`), in order.
    pub(crate) fn calls(&self) -> Vec<Vec<(String, String)>> {
        self.seen.lock().unwrap().iter().filter(|(s, _)| s == "send").map(|(_, f)| f.clone()).collect()
    }

    /// Every call taken was answered and read out: status 1.
    pub(crate) fn answer_all(&self) {
        self.taken.lock().unwrap().values_mut().for_each(|s| *s = 1);
    }

    /// Enables the built-in voice-smsc plugin as module instance `voice-smsc` against this fake.
    pub(crate) async fn enable(&self, t: &TestTenant, login: &str, psw: &str) {
        t.admin
            .put("/api/v1/modules/voice-smsc", json!({"version": "0.2.0", "settings": {"base_url": self.base_url, "voice": "m"}, "secrets": {"login": login, "psw": psw},
                "grants": {"http_hosts": [self.host], "private_hosts": [self.host]}}))
            .await
            .ok();
    }
}

async fn try_module(t: &TestTenant, id: &str, function: &str, input: Value) -> Value {
    t.admin.post(&format!("/api/v1/modules/{id}/try"), json!({"function": function, "input": input})).await.ok().body
}

/// Uploads a test guest and enables it as module instance `id` with `body`.
async fn upload_and_enable(t: &TestTenant, dir: &str, wasm: &str, id: &str, mut body: Value) {
    let v = t.admin.upload_plugin(&guest_manifest(dir), &guest(wasm)).await.created();
    body["plugin_id"] = v.body["plugin_id"].clone();
    t.admin.put(&format!("/api/v1/modules/{id}"), body).await.ok();
}

async fn every_world_has_a_plugin_from_the_sdk_that_the_host_calls(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;

    // inn-enrichment: the template.
    let companies = json!({"7719402047": {"full_name": "ООО \"МОТОРИКА\"", "status": "active"}}).to_string();
    upload_and_enable(&t, "template", "template", "template", json!({"version": "0.2.0", "settings": {"companies": companies}})).await;
    let r = try_module(&t, "template", "enrichment.lookup", json!({"inn": "7719402047"})).await;
    assert_eq!(r["output"]["full_name"], "ООО \"МОТОРИКА\"", "{r}");
    assert_eq!(r["log"][0]["message"], "lookup 7719402047", "the plugin's log lines come back: {r}");
    assert_eq!(r["run"]["function"], "enrichment.lookup");

    // mail-linker: finds the case, the court, the event and its date.
    upload_and_enable(&t, "test-guests/court-linker", "court_linker", "court-linker", json!({"version": "0.2.0"})).await;
    let email = |subject: &str, body: &str| {
        json!({"message_id": "<1@kad.arbitr.ru>", "from": "noreply@kad.arbitr.ru", "to": ["legal@factor.ru"], "subject": subject,
               "received_at": "2026-11-30T09:15:00+03:00", "text_body": body})
    };
    let r = try_module(&t, "court-linker", "linker.find-cases", json!({"emails": [
        email("Дело № А40-12345/2024", "Арбитражный суд города Москвы назначил судебное заседание по делу A40 - 12345/2024 на 15.12.2026 в 10:00."),
        email("Счёт на оплату", "Во вложении счёт."),
    ]})).await;
    assert_eq!(r["output"], json!([[{"number": "А40-12345/2024", "court": "Арбитражный суд города Москвы", "event": "hearing_scheduled", "event_date": "2026-12-15"}], []]), "{r}");

    // accounting-sync: the built-in 1C plugin against the fake 1C.
    let fake = crm_fake_1c::FakeOneC::start(Arc::new(crm_fake_1c::demo(crm_host::tenancy::access::today_in("Europe/Moscow"))), Default::default()).await.unwrap();
    t.enable_1c(&fake.base_url, &fake.host).await;
    let r = try_module(&t, "accounting-1c", "accounting.fetch-page", json!({"kind": "counterparty", "page_size": 3})).await;
    assert_eq!(r["output"]["entries"].as_array().map(Vec::len), Some(3), "{r}");
    assert_eq!(r["output"]["entries"][0]["kind"], "counterparty");
    assert!(r["output"]["next_cursor"].is_string(), "{r}");

    // fee-rule: 15 % of each payment, at most 1 000 per payment, step by step, on fuel.
    upload_and_enable(&t, "test-guests/percent-fee", "percent_fee", "fee-agency-a", json!({"version": "0.2.0", "settings": {"percent": "15", "cap": "1000.00"}})).await;
    let payments = json!({"payments": [
        {"id": "p1", "debtor_id": "d1", "paid_on": "2026-11-20", "amount": "10000.00", "debt_at_handover": "50000.00", "days_in_registry": 10},
        {"id": "p2", "debtor_id": "d1", "paid_on": "2026-11-25", "amount": "3333.33", "debt_at_handover": "50000.00", "collected_before": "10000.00", "days_in_registry": 15},
    ]});
    let r = try_module(&t, "fee-agency-a", "fees.compute", payments.clone()).await;
    assert_eq!(r["output"][0]["amount"], "1000.00", "{r}");
    assert_eq!(r["output"][0]["steps"], json!([
        {"code": "percent", "label": "15 % от платежа 10000,00 руб.", "base": "10000.00", "rate_percent": "15", "amount": "1500.00"},
        {"code": "cap", "label": "не более 1000,00 руб. за один платёж", "base": null, "rate_percent": null, "amount": "-500.00"},
    ]));
    assert_eq!(r["output"][1]["amount"], "500.00", "15 % of 3 333,33 is 500,00 (half up): {r}");
    let fuel = r["fuel_used"].as_u64().expect("fee rules run on fuel");
    assert!(fuel > 0);
    let again = try_module(&t, "fee-agency-a", "fees.compute", payments).await;
    assert_eq!(again["fuel_used"].as_u64(), Some(fuel), "the same input costs the same fuel");

    // notification-channel: the built-in SMS.RU plugin against a fake SMS.RU.
    let sms = fake_sms_ru("key-a").await;
    t.admin
        .put("/api/v1/modules/sms-ru", json!({"version": "0.2.0", "settings": {"base_url": sms.base_url, "sender": "FACTOR"}, "secrets": {"api_id": "key-a"},
            "grants": {"http_hosts": [sms.host], "private_hosts": [sms.host]}}))
        .await
        .ok();
    let r = try_module(&t, "sms-ru", "channel.send", json!({"messages": [{"key": "n-1", "recipient": "+7 (999) 123-45-67", "text": "Напоминаем об оплате"}]})).await;
    assert_eq!(r["output"][0]["status"], "sent", "{r}");
    let id = r["output"][0]["provider_id"].as_str().unwrap().to_string();
    let form = sms.seen.lock().unwrap()[0].clone();
    assert!(form.contains(&("to".into(), "79991234567".into())) && form.contains(&("from".into(), "FACTOR".into())), "{form:?}");
    let r = try_module(&t, "sms-ru", "channel.status", json!({"provider_ids": [id]})).await;
    assert_eq!(r["output"][0]["status"], "delivered", "{r}");

    // Every call is in the run log under its module instance.
    let runs = t.admin.get("/api/v1/plugin-runs?limit=100").await.ok();
    let mut modules: Vec<&str> = runs.body["items"].as_array().unwrap().iter().map(|r| r["module_id"].as_str().unwrap()).collect();
    modules.sort();
    modules.dedup();
    assert_eq!(modules, vec!["accounting-1c", "court-linker", "fee-agency-a", "sms-ru", "template"]);
}

async fn two_instances_of_one_plugin_run_with_their_own_settings_and_secrets(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let (main, backup) = (fake_sms_ru("key-main").await, fake_sms_ru("key-backup").await);
    for (id, fake, key) in [("sms-main", &main, "key-main"), ("sms-backup", &backup, "key-backup")] {
        let m = t
            .admin
            .put(&format!("/api/v1/modules/{id}"), json!({"plugin_id": "sms-ru", "version": "0.2.0", "settings": {"base_url": fake.base_url},
                "secrets": {"api_id": key}, "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}}))
            .await
            .ok();
        assert_eq!((m.body["id"].as_str(), m.body["plugin_id"].as_str(), m.body["contract"].as_str()), (Some(id), Some("sms-ru"), Some("0.2.0")));
        assert!(!m.text().contains(key), "secrets are never returned");
    }
    let message = json!({"messages": [{"key": "k", "recipient": "89991234567", "text": "Тест"}]});
    assert_eq!(try_module(&t, "sms-main", "channel.send", message.clone()).await["output"][0]["status"], "sent");
    assert_eq!(try_module(&t, "sms-backup", "channel.send", message.clone()).await["output"][0]["status"], "sent");
    assert_eq!(main.keys_seen(), vec!["key-main"], "each instance calls its own server with its own secret");
    assert_eq!(backup.keys_seen(), vec!["key-backup"]);

    let list = t.admin.get("/api/v1/modules?plugin_id=sms-ru").await.ok();
    let ids: Vec<&str> = list.body.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["sms-backup", "sms-main"]);
    let runs = t.admin.get("/api/v1/plugin-runs?module_id=sms-backup").await.ok();
    assert_eq!(runs.body["items"].as_array().unwrap().len(), 1);
    // An instance keeps its plugin; another plugin is another instance.
    let r = t.admin.put("/api/v1/modules/sms-main", json!({"plugin_id": "inn-dadata", "version": "0.2.0"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["plugin_id"]);
    let r = t.admin.put("/api/v1/modules/Bad_Id", json!({"plugin_id": "sms-ru", "version": "0.2.0"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["id"]);
    // Disabled, one stays out of use while the other runs; removed, it is gone.
    t.admin.post_empty("/api/v1/modules/sms-backup/disable").await.ok();
    assert_eq!(try_module(&t, "sms-main", "channel.send", message).await["output"][0]["status"], "sent");
    t.admin.delete("/api/v1/modules/sms-backup").await.expect(StatusCode::NO_CONTENT);
    t.admin.get("/api/v1/modules/sms-backup").await.expect(StatusCode::NOT_FOUND);
    t.admin.get("/api/v1/modules/sms-main").await.ok();

    // A feature names the instance it uses: with two registries enabled, by-ИНН asks which.
    let companies = |name: &str| json!({"7719402047": {"full_name": name}}).to_string();
    t.admin.upload_plugin(&guest_manifest("template"), &guest("template")).await.created();
    for (id, name) in [("registry-a", "ООО \"А\""), ("registry-b", "ООО \"Б\"")] {
        t.admin.put(&format!("/api/v1/modules/{id}"), json!({"plugin_id": "template", "version": "0.2.0", "settings": {"companies": companies(name)}})).await.ok();
    }
    let r = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.expect(StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains("registry-a, registry-b"), "{}", r.text());
    let cp = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047", "module": "registry-b"})).await.created();
    assert_eq!(cp.body["full_name"], "ООО \"Б\"");
}

async fn plugins_built_against_0_1_0_keep_running_beside_0_2_0_ones(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let old_manifest = String::from_utf8(fixture("plugins-0.1.0/template.toml")).unwrap();
    let old = t.admin.upload_plugin(&old_manifest, &fixture("plugins-0.1.0/template.wasm")).await.created();
    assert_eq!((old.body["version"].as_str(), old.body["contract"].as_str()), (Some("0.1.0"), Some("0.1.0")), "the contract is read from the component");
    let new = t.admin.upload_plugin(&guest_manifest("template"), &guest("template")).await.created();
    assert_eq!(new.body["contract"], "0.2.0");
    let registry = t.admin.get("/api/v1/plugins").await.ok();
    let dadata: Vec<&Value> = registry.body.as_array().unwrap().iter().filter(|v| v["plugin_id"] == "inn-dadata").collect();
    assert_eq!(dadata[0]["contract"], "0.2.0", "the built-in plugins are built against the current contract");

    let companies = json!({"7719402047": {"full_name": "ООО \"МОТОРИКА\"", "kpp": "773101001", "status": "active"}}).to_string();
    for (id, version) in [("old-registry", "0.1.0"), ("new-registry", "0.2.0")] {
        let m = t.admin.put(&format!("/api/v1/modules/{id}"), json!({"plugin_id": "template", "version": version, "settings": {"companies": companies}})).await.ok();
        assert_eq!(m.body["contract"], version);
    }
    let old = try_module(&t, "old-registry", "enrichment.lookup", json!({"inn": "7719402047"})).await;
    let new = try_module(&t, "new-registry", "enrichment.lookup", json!({"inn": "7719402047"})).await;
    assert_eq!(old["output"]["full_name"], "ООО \"МОТОРИКА\"", "{old}");
    assert_eq!(old["output"], new["output"], "both contracts give the same answer to the domain");
    assert_eq!(old["log"], new["log"], "the 0.1.0 plugin's log interface works too");
    // A 0.1.0 component declared as another world is still refused by what it exports.
    let wrong = old_manifest.replace("world = \"inn-enrichment\"", "world = \"mail-linker\"").replace("id = \"template\"", "id = \"wrong\"");
    let r = t.admin.upload_plugin(&wrong, &fixture("plugins-0.1.0/template.wasm")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("implements inn-enrichment"), "{}", r.text());
}

async fn a_module_switches_from_a_0_1_0_to_a_0_2_0_build_and_rolls_back(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let fake = crate::plugins::fake_dadata().await;
    let manifest = String::from_utf8(fixture("plugins-0.1.0/inn_dadata.toml")).unwrap();
    t.admin.upload_plugin(&manifest, &fixture("plugins-0.1.0/inn_dadata.wasm")).await.created();
    let config = |version: &str| {
        json!({"version": version, "settings": {"base_url": fake.base_url}, "secrets": {"api_key": crate::plugins::KEY},
               "grants": {"http_hosts": [fake.host], "private_hosts": [fake.host]}})
    };
    let m = t.admin.put("/api/v1/modules/inn-dadata", config("0.1.0")).await.ok();
    assert_eq!(m.body["contract"], "0.1.0");
    let lookup = || try_module(&t, "inn-dadata", "enrichment.lookup", json!({"inn": "7719402047"}));
    let on_old = lookup().await;
    assert_eq!(on_old["output"]["ogrn"], "1157746078984", "{on_old}");
    assert_eq!(on_old["output"]["branch_type"], Value::Null, "0.1.0 cannot tell head office from branch");

    // A switch is a PUT of the whole configuration with the other version; secrets,
    // being write-only, are kept without being sent again.
    let mut switch = config("0.2.0");
    switch.as_object_mut().unwrap().remove("secrets");
    let m = t.admin.put("/api/v1/modules/inn-dadata", switch).await.ok();
    assert_eq!((m.body["contract"].as_str(), m.body["previous_version"].as_str()), (Some("0.2.0"), Some("0.1.0")));
    assert_eq!(m.body["secrets_set"], json!(["api_key"]), "the switch keeps the secrets");
    let on_new = lookup().await;
    assert_eq!(on_new["output"]["branch_type"], "head_office", "{on_new}");
    assert_eq!(on_new["output"]["ogrn"], on_old["output"]["ogrn"]);
    let cp = t.admin.post("/api/v1/counterparties/by-inn", json!({"inn": "7719402047"})).await.created();
    assert_eq!(cp.body["ogrn"], "1157746078984");

    let m = t.admin.post_empty("/api/v1/modules/inn-dadata/rollback").await.ok();
    assert_eq!((m.body["version"].as_str(), m.body["contract"].as_str()), (Some("0.1.0"), Some("0.1.0")));
    assert_eq!(lookup().await["output"], on_old["output"], "the rolled-back build answers as before");
    let audit = t.admin.get("/api/v1/audit?entity_type=module").await.ok();
    assert!(audit.body["items"].as_array().unwrap().len() >= 3, "every switch is audited: {}", audit.text());
}

async fn each_capability_is_refused_outside_its_grant(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    upload_and_enable(&t, "test-guests/hostile", "hostile", "hostile", json!({"version": "0.1.0", "settings": {"url": "http://example.com/"}, "grants": {"http_hosts": []}})).await;
    let failure = |r: &Value| (r["failure"]["plugin_error"]["kind"].as_str().unwrap_or_default().to_string(), r["failure"]["message"].as_str().unwrap_or_default().to_string());
    // HTTP: nothing granted, nothing reachable; a host the manifest never asked for is refused at configuration.
    let (kind, message) = failure(&try_module(&t, "hostile", "enrichment.lookup", json!({"inn": "0000000005"})).await);
    assert_eq!(kind, "access-denied");
    assert!(message.contains("outbound HTTP is not granted"), "{message}");
    // Settings and secrets: only declared keys, secrets only as secrets.
    let (kind, message) = failure(&try_module(&t, "hostile", "enrichment.lookup", json!({"inn": "0000000008"})).await);
    assert_eq!((kind.as_str(), message.contains("`undeclared` is not declared")), ("access-denied", true), "{message}");
    let (kind, message) = failure(&try_module(&t, "hostile", "enrichment.lookup", json!({"inn": "0000000009"})).await);
    assert_eq!((kind.as_str(), message.contains("not declared as a secret")), ("access-denied", true), "{message}");
    // Mail: a plugin whose manifest does not ask for it cannot be granted it.
    let r = t
        .admin
        .put("/api/v1/modules/hostile", json!({"version": "0.1.0", "grants": {"mail": {"from": "debt@factor.ru"}}}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["grants.mail"]);
    // One that asks but is not granted gets access-denied at the call.
    upload_and_enable(&t, "test-guests/mailer", "mailer", "mailer", json!({"version": "0.2.0"})).await;
    let r = try_module(&t, "mailer", "channel.send", json!({"messages": [{"key": "k1", "recipient": "buh@client.ru", "text": "Добрый день"}]})).await;
    let (kind, message) = failure(&r);
    assert_eq!(kind, "access-denied");
    assert!(message.contains("grants.mail.from"), "the refusal says what to grant: {message}");
    let outbox = t.admin.get("/api/v1/mail/outbox").await.ok();
    assert_eq!(outbox.body["items"], json!([]), "nothing queued");
    let r = t.admin.put("/api/v1/modules/mailer", json!({"version": "0.2.0", "grants": {"mail": {"from": "не адрес"}}})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["grants.mail.from"]);
}

async fn mail_from_a_plugin_is_queued_once_from_the_granted_sender(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    upload_and_enable(&t, "test-guests/mailer", "mailer", "mailer", json!({"version": "0.2.0", "grants": {"mail": {"from": "ООО «Фактор» <debt@factor.ru>"}}})).await;
    let send = json!({"messages": [{"key": "notice-42", "recipient": "buh@client.ru", "subject": "Напоминание об оплате", "text": "Срок оплаты — завтра"}]});
    let first = try_module(&t, "mailer", "channel.send", send.clone()).await;
    assert_eq!(first["output"][0]["status"], "queued", "{first}");
    let again = try_module(&t, "mailer", "channel.send", send).await;
    assert_eq!(first["output"][0]["provider_id"], again["output"][0]["provider_id"], "the same key queues once");
    let outbox = t.admin.get("/api/v1/mail/outbox").await.ok();
    let items = outbox.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", outbox.text());
    assert_eq!(items[0]["from"], "ООО «Фактор» <debt@factor.ru>", "the sender is the instance's grant, not the plugin's choice");
    assert_eq!((items[0]["to"].clone(), items[0]["status"].clone(), items[0]["source"].clone()), (json!(["buh@client.ru"]), json!("queued"), json!("module:mailer")));
    let one = t.admin.get(&format!("/api/v1/mail/outbox/{}", items[0]["id"].as_str().unwrap())).await.ok();
    assert_eq!(one.body["subject"], "Напоминание об оплате");
    // A bad address is the plugin's invalid input; nothing is queued.
    let r = try_module(&t, "mailer", "channel.send", json!({"messages": [{"key": "k2", "recipient": "not-an-address", "text": "x"}]})).await;
    assert_eq!(r["failure"]["plugin_error"]["kind"], "invalid-input", "{r}");
    assert_eq!(t.admin.get("/api/v1/mail/outbox").await.ok().body["items"].as_array().unwrap().len(), 1);
    let (manager, _) = t.user("manager").await;
    manager.get("/api/v1/mail/outbox").await.expect(StatusCode::FORBIDDEN);
}

async fn trying_a_module_names_what_is_wrong_with_the_input(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    upload_and_enable(&t, "test-guests/percent-fee", "percent_fee", "fee", json!({"version": "0.2.0", "settings": {"percent": "10"}})).await;
    let listed = t.admin.get("/api/v1/modules/fee/try").await.ok();
    assert_eq!(listed.body[0]["function"], "fees.compute");
    assert!(listed.body[0]["example"]["payments"].is_array());
    // The example input works as it is; the function may be left out when there is one.
    let r = t.admin.post("/api/v1/modules/fee/try", json!({"input": listed.body[0]["example"]})).await.ok();
    assert_eq!(r.body["output"][0]["amount"], "1000.00", "{}", r.text());
    let r = t
        .admin
        .post("/api/v1/modules/fee/try", json!({"input": {"payments": [{"id": "p", "debtor_id": "d", "paid_on": "2026-01-01", "amount": 5, "debt_at_handover": "1", "days_in_registry": 1}]}}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["input.payments[0].amount"]);
    let r = t.admin.post("/api/v1/modules/fee/try", json!({"function": "enrichment.lookup", "input": {}})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["function"]);
    // The plugin's own refusal comes back as a failure with its kind, and is in the run log.
    let r = try_module(&t, "fee", "fees.compute", json!({"payments": [{"id": "p", "debtor_id": "d", "paid_on": "2026-01-01", "amount": "1.005", "debt_at_handover": "1", "days_in_registry": 1}]})).await;
    assert_eq!(r["failure"]["plugin_error"]["kind"], "invalid-input", "{r}");
    assert_eq!(r["run"]["outcome"], "error");
    t.admin.post("/api/v1/modules/nope/try", json!({"input": {}})).await.expect(StatusCode::NOT_FOUND);
    let (manager, _) = t.user("manager").await;
    manager.post("/api/v1/modules/fee/try", json!({"input": {}})).await.expect(StatusCode::FORBIDDEN);
}

#[test]
fn the_published_0_1_0_contract_is_frozen() {
    use sha2::Digest;
    let text = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/0.1.0/plugin.wit")).unwrap();
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&text)),
        "12e9c40acf065394ce8659fcb8bd1e5da6dc2852c4822118ddc3bfb23416fb53",
        "wit/0.1.0 is published and frozen: plugins in the field are built against it. Put changes into a new version directory."
    );
}

/// The built-in voice plugin: registered with the host like sms-ru, against a fake SMSC.RU
/// it asks for a call (`call=1`, the voice, UTF-8, JSON answers) with an id derived from the
/// key; the same key sent again is found at SMSC.RU and not called twice, even when the
/// first answer was lost; a bad number is refused in SMSC.RU's words; the status says
/// delivered once the call was answered; a wrong password is the settings' fault.
async fn the_built_in_voice_plugin_calls_through_smsc_once_per_key(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let registry = t.admin.get("/api/v1/plugins").await.ok();
    let voice: Vec<&Value> = registry.body.as_array().unwrap().iter().filter(|v| v["plugin_id"] == "voice-smsc").collect();
    assert_eq!(voice.len(), 1, "{}", registry.text());
    assert_eq!((voice[0]["world"].as_str(), voice[0]["contract"].as_str()), (Some("notification-channel"), Some("0.2.0")), "{}", voice[0]);
    assert_eq!(voice[0]["builtin"], true, "{}", voice[0]);

    let smsc = fake_smsc("factor", "secret").await;
    smsc.enable(&t, "factor", "secret").await;
    let msg = |key: &str, to: &str| json!({"key": key, "recipient": to, "text": "Здравствуйте! Напоминаем об оплате счёта 0000-000201."});
    let r = try_module(&t, "voice-smsc", "channel.send", json!({"messages": [msg("n-1", "+7 (916) 123-45-67"), msg("n-2", "+7 916 12")]})).await;
    assert_eq!(r["output"][0]["status"], "queued", "{r}");
    let pid = r["output"][0]["provider_id"].as_str().unwrap().to_string();
    assert!(pid.ends_with(":79161234567"), "{pid}");
    assert_eq!(r["output"][1]["status"], "failed", "{r}");
    assert!(r["output"][1]["detail"].as_str().unwrap().contains("invalid number"), "SMSC.RU's words: {r}");
    let calls = smsc.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    for (k, v) in [("phones", "79161234567"), ("call", "1"), ("voice", "m"), ("fmt", "3"), ("charset", "utf-8"), ("login", "factor")] {
        assert!(calls[0].contains(&(k.into(), v.into())), "{k}={v} in {:?}", calls[0]);
    }
    let id = calls[0].iter().find(|(k, _)| k == "id").unwrap().1.clone();
    assert!(id.parse::<u32>().is_ok_and(|n| (1..=2_147_483_647).contains(&n)), "{id}");
    assert!(pid.starts_with(&format!("{id}:")), "{pid}");

    // The same key again: found at SMSC.RU by its id, not called again.
    let again = try_module(&t, "voice-smsc", "channel.send", json!({"messages": [msg("n-1", "+7 (916) 123-45-67")]})).await;
    assert_eq!((again["output"][0]["status"].as_str(), again["output"][0]["provider_id"].as_str()), (Some("queued"), Some(pid.as_str())), "{again}");
    assert_eq!(smsc.calls().len(), 2, "no second call");
    // The answer to a call is lost: the send fails as a whole (the host retries) and the
    // retry finds the call made.
    smsc.lose_answers.store(1, std::sync::atomic::Ordering::SeqCst);
    let lost = try_module(&t, "voice-smsc", "channel.send", json!({"messages": [msg("n-3", "89261234567")]})).await;
    assert_eq!(lost["failure"]["plugin_error"]["kind"], "unavailable", "{lost}");
    assert!(lost.to_string().contains("502"), "{lost}");
    let retried = try_module(&t, "voice-smsc", "channel.send", json!({"messages": [msg("n-3", "89261234567")]})).await;
    assert_eq!(retried["output"][0]["status"], "queued", "{retried}");
    assert_eq!(smsc.calls().len(), 3, "one call for n-3 however often it is sent");

    // Status: waiting, then delivered once answered.
    let r = try_module(&t, "voice-smsc", "channel.status", json!({"provider_ids": [pid]})).await;
    assert_eq!(r["output"][0]["status"], "queued", "{r}");
    smsc.answer_all();
    let r = try_module(&t, "voice-smsc", "channel.status", json!({"provider_ids": [pid]})).await;
    assert_eq!((r["output"][0]["status"].as_str(), r["output"][0]["provider_id"].as_str()), (Some("delivered"), Some(pid.as_str())), "{r}");

    // A wrong password: the module's settings are at fault, nothing is called.
    smsc.enable(&t, "factor", "wrong").await;
    let r = try_module(&t, "voice-smsc", "channel.send", json!({"messages": [msg("n-4", "+79161234500")]})).await;
    assert_eq!(r["failure"]["plugin_error"]["kind"], "misconfigured", "{r}");
    assert!(r.to_string().contains("login or password"), "{r}");
    assert_eq!(smsc.calls().len(), 3);
}
