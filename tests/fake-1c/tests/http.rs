//! The fake 1C server over real HTTP on loopback, driven by reqwest as a plugin would.
#![allow(clippy::unwrap_used)] // tests fail loudly

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use crm_fake_1c::{Dataset, EntitySet, Failure, FakeOneC, Generated, Options, Select, Source, demo};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

struct Client {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `odata.error` code and message.
    fn error(&self) -> (String, String) {
        let v = self.json();
        let e = &v["odata.error"];
        assert_eq!(e["message"]["lang"], "ru", "{v}");
        (e["code"].as_str().unwrap().to_owned(), e["message"]["value"].as_str().unwrap().to_owned())
    }
}

impl Client {
    fn of(fake: &FakeOneC) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: fake.base_url.clone(),
            user: fake.options().user.clone(),
            password: fake.options().password.clone(),
        }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base)).query(query).basic_auth(&self.user, Some(&self.password))).await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let r = req.send().await.expect("request");
        let (status, headers) = (r.status(), r.headers().clone());
        Reply { status, headers, body: r.text().await.expect("body") }
    }

    /// A list request as the plugin sends it.
    async fn list(&self, set: EntitySet, extra: &[(&str, &str)]) -> Reply {
        let mut q = vec![("$format", "json"), ("$orderby", "Ref_Key")];
        q.extend_from_slice(extra);
        self.get(set.name(), &q).await
    }

    /// Every record of `set` matching `filter`, paging with `$skip` as the plugin does.
    async fn read_all(&self, set: EntitySet, select: Option<&str>, filter: Option<&str>, page: usize) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let (top, skip) = (page.to_string(), out.len().to_string());
            let mut q = vec![("$top", top.as_str()), ("$skip", skip.as_str())];
            if let Some(s) = select {
                q.push(("$select", s));
            }
            if let Some(f) = filter {
                q.push(("$filter", f));
            }
            let r = self.list(set, &q).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let v = r.json();
            let items = v["value"].as_array().unwrap().clone();
            let n = items.len();
            out.extend(items);
            if n < page {
                return out;
            }
        }
    }
}

async fn small() -> (FakeOneC, Client, Generated) {
    let g = Generated::new(40, 500, 700, 7, today());
    let fake = FakeOneC::start(Arc::new(g), Options::default()).await.unwrap();
    let client = Client::of(&fake);
    (fake, client, g)
}

#[tokio::test]
async fn every_request_needs_the_right_basic_credentials_else_401_with_a_1c_realm_and_no_body() {
    let (fake, client, _) = small().await;
    let url = format!("{}{}?$format=json", fake.base_url, EntitySet::Counterparties.name());
    let wrong = Client { password: "wrong".into(), ..Client::of(&fake) };
    for reply in [
        client.send(client.http.get(&url)).await,
        wrong.list(EntitySet::Counterparties, &[]).await,
        wrong.get("$metadata", &[]).await,
        client.send(client.http.get(&url).header("Authorization", "Bearer x")).await,
    ] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.headers["www-authenticate"], "Basic realm=\"1C\"");
        assert_eq!(reply.body, "");
    }
    assert_eq!(client.list(EntitySet::Counterparties, &[]).await.status, StatusCode::OK);
    assert_eq!(fake.requests(), 1, "unauthenticated requests are not counted");
}

#[tokio::test]
async fn a_cyrillic_user_name_and_infobase_work() {
    let opts = Options { infobase: "бух".into(), user: "Администратор".into(), password: "пароль".into() };
    let fake = FakeOneC::start(Arc::new(Generated::new(3, 0, 0, 1, today())), opts).await.unwrap();
    assert!(fake.base_url.ends_with("/%D0%B1%D1%83%D1%85/odata/standard.odata/"), "{}", fake.base_url);
    let r = Client::of(&fake).list(EntitySet::Counterparties, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_page_is_odata_json_with_metadata_and_only_the_selected_properties() {
    let (fake, client, g) = small().await;
    let r = client.list(EntitySet::Sales, &[("$select", "Ref_Key,Date,СуммаДокумента"), ("$top", "5")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json;charset=utf-8");
    let v = r.json();
    assert_eq!(v["odata.metadata"], format!("{}$metadata#Document_РеализацияТоваровУслуг", fake.base_url));
    assert!(v.get("odata.count").is_none());
    let items = v["value"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    for (i, item) in items.iter().enumerate() {
        let keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 3, "{item}");
        assert_eq!(item["Ref_Key"], g.ref_key(EntitySet::Sales, i));
        assert!(item["СуммаДокумента"].is_number());
    }
    // No $select: every property, amounts as numbers, LineNumber as a string.
    let r = client.list(EntitySet::Payments, &[("$top", "1")]).await.json();
    let p = &r["value"][0];
    for name in EntitySet::Payments.properties() {
        assert!(p.get(*name).is_some(), "{name} missing from {p}");
    }
    assert_eq!(p["РасшифровкаПлатежа"][0]["LineNumber"], "1");
    assert!(p["РасшифровкаПлатежа"][0]["СуммаПлатежа"].is_number());
}

#[tokio::test]
async fn amounts_are_written_as_1c_writes_doubles() {
    let ds = Dataset::new().with(
        EntitySet::Sales,
        [
            json!({"Ref_Key": "a", "СуммаДокумента": 1500000.0}),
            json!({"Ref_Key": "b", "СуммаДокумента": 1234.5}),
            json!({"Ref_Key": "c", "СуммаДокумента": 99.99}),
        ],
    );
    let fake = FakeOneC::start(Arc::new(ds), Options::default()).await.unwrap();
    let r = Client::of(&fake).list(EntitySet::Sales, &[("$select", "СуммаДокумента")]).await;
    assert!(r.body.ends_with(r#""value":[{"СуммаДокумента":1500000},{"СуммаДокумента":1234.5},{"СуммаДокумента":99.99}]}"#), "{}", r.body);
}

#[tokio::test]
async fn an_unknown_entity_set_is_404_code_6() {
    let (_fake, client, _) = small().await;
    let r = client.get("Catalog_Номенклатура", &[("$format", "json")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (code, message) = r.error();
    assert_eq!(code, "6");
    assert!(message.contains("Catalog_Номенклатура"), "{message}");
    assert_eq!(client.get("Catalog_Контрагенты/Extra", &[("$format", "json")]).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unknown_property_in_select_or_filter_is_400_code_9_naming_it() {
    let (_fake, client, _) = small().await;
    for q in [("$select", "Ref_Key,Договор_Key"), ("$filter", "Договор_Key eq guid'00000000-0000-0000-0000-000000000000'")] {
        let r = client.list(EntitySet::Sales, &[q]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q:?}");
        let (code, message) = r.error();
        assert_eq!(code, "9");
        assert!(message.contains("Договор_Key"), "{message}");
    }
}

#[tokio::test]
async fn malformed_or_unsupported_options_are_400_with_a_message() {
    let (_fake, client, _) = small().await;
    let cases: [&[(&str, &str)]; 7] = [
        &[("$filter", "IsFolder eq")],
        &[("$filter", "Description eq 'open")],
        &[("$orderby", "Date desc")],
        &[("$top", "-1")],
        &[("$skip", "x")],
        &[("$inlinecount", "some")],
        &[("$expand", "Owner")],
    ];
    for q in cases {
        let r = client.list(EntitySet::Counterparties, q).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q:?}: {}", r.body);
        let (code, message) = r.error();
        assert_ne!(code, "-1");
        assert!(!message.is_empty());
    }
    for format in [None, Some("atom"), Some("xml")] {
        let mut q = vec![];
        if let Some(f) = format {
            q.push(("$format", f));
        }
        let r = client.get(EntitySet::Counterparties.name(), &q).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{format:?}");
        assert!(r.error().1.contains("$format"));
    }
    let r = client.list(EntitySet::Counterparties, &[("$filter", "IsFolder eq")]).await;
    assert!(r.error().1.contains("$filter"), "{}", r.body);
}

#[tokio::test]
async fn paging_with_skip_and_top_walks_the_set_in_ref_key_order_and_inlinecount_is_the_total_as_a_string() {
    let (fake, client, g) = small().await;
    let all = client.read_all(EntitySet::Sales, Some("Ref_Key"), None, 64).await;
    assert_eq!(all.len(), 500);
    let keys: Vec<&str> = all.iter().map(|r| r["Ref_Key"].as_str().unwrap()).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(keys[499], g.ref_key(EntitySet::Sales, 499));
    assert_eq!(fake.requests_to(EntitySet::Sales), 8); // 7 full pages and a short one

    let r = client.list(EntitySet::Sales, &[("$top", "10"), ("$skip", "495"), ("$inlinecount", "allpages")]).await.json();
    assert_eq!(r["odata.count"], "500");
    assert_eq!(r["value"].as_array().unwrap().len(), 5);
    let r = client.list(EntitySet::Sales, &[("$skip", "10000"), ("$inlinecount", "allpages")]).await.json();
    assert_eq!((r["odata.count"].as_str(), r["value"].as_array().unwrap().len()), (Some("500"), 0));
    let r = client.list(EntitySet::Sales, &[("$top", "0")]).await.json();
    assert_eq!(r["value"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn filters_select_customer_payments_and_date_windows_across_pages() {
    let (fake, client, g) = small().await;
    let customer = "ВидОперации eq 'ОплатаПокупателя'";
    let paid = client.read_all(EntitySet::Payments, Some("Ref_Key,ВидОперации"), Some(customer), 50).await;
    assert_eq!(paid.len(), 700 - 700 / 50);
    assert!(paid.iter().all(|p| p["ВидОперации"] == "ОплатаПокупателя"));
    let r = client.list(EntitySet::Payments, &[("$filter", customer), ("$top", "1"), ("$inlinecount", "allpages")]).await.json();
    assert_eq!(r["odata.count"], "686");

    let since = g.sale(400).date.date().format("%Y-%m-%dT00:00:00").to_string();
    let window = format!("Date ge datetime'{since}'");
    let recent = client.read_all(EntitySet::Sales, Some("Ref_Key,Date"), Some(&window), 30).await;
    let expected: Vec<usize> = (0..500).filter(|&i| g.sale(i).date.format("%Y-%m-%dT%H:%M:%S").to_string() >= since).collect();
    assert_eq!(recent.len(), expected.len());
    assert_eq!(recent[0]["Ref_Key"], g.ref_key(EntitySet::Sales, expected[0]));

    let both = format!("{customer} and Date ge datetime'{since}' or Number eq 'ПП-3'");
    let r = client.list(EntitySet::Payments, &[("$filter", &both), ("$inlinecount", "allpages")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let key = g.ref_key(EntitySet::Counterparties, 2);
    let by_key = format!("Ref_Key eq guid'{}'", key.to_uppercase());
    let r = client.list(EntitySet::Counterparties, &[("$filter", &by_key)]).await.json();
    assert_eq!(r["value"].as_array().unwrap().len(), 1);
    assert_eq!(r["value"][0]["Ref_Key"], key);
    let log = fake.request_log();
    assert_eq!(log.last().unwrap().option("$filter"), Some(by_key.as_str()));
}

#[tokio::test]
async fn escaped_quotes_in_a_text_literal_reach_the_filter() {
    let ds = Dataset::new().with(
        EntitySet::Counterparties,
        [json!({"Ref_Key": "a", "Description": "ООО 'Ромашка'"}), json!({"Ref_Key": "b", "Description": "ООО Ромашка"})],
    );
    let fake = FakeOneC::start(Arc::new(ds), Options::default()).await.unwrap();
    let r = Client::of(&fake).list(EntitySet::Counterparties, &[("$filter", "Description eq 'ООО ''Ромашка'''")]).await.json();
    assert_eq!(r["value"], json!([{"Ref_Key": "a", "Description": "ООО 'Ромашка'"}]));
}

#[tokio::test]
async fn injected_failures_answer_their_status_with_1c_internal_error_then_the_set_recovers() {
    let (fake, client, _) = small().await;
    fake.fail(Failure { set: EntitySet::Sales, at_skip: Some(100), status: 500, times: 2 });
    fake.fail(Failure::once(EntitySet::Payments, 503));
    let page = async |skip: &str| client.list(EntitySet::Sales, &[("$top", "100"), ("$skip", skip)]).await;
    assert_eq!(page("0").await.status, StatusCode::OK);
    for _ in 0..2 {
        let r = page("100").await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.error(), ("-1".to_owned(), "Произошла внутренняя ошибка OData сервиса. Обратитесь к администратору.".to_owned()));
    }
    assert_eq!(page("100").await.status, StatusCode::OK);
    assert_eq!(client.list(EntitySet::Counterparties, &[]).await.status, StatusCode::OK);
    assert_eq!(client.list(EntitySet::Payments, &[]).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(client.list(EntitySet::Payments, &[]).await.status, StatusCode::OK);
    assert_eq!(fake.requests(), 7, "failed requests count too");
    let statuses: Vec<u16> = fake.request_log().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 500, 500, 200, 200, 503, 200]);
}

#[tokio::test]
async fn a_replaced_source_is_served_from_the_next_request_with_its_own_filter_cache() {
    let mut ds = demo(today());
    let fake = FakeOneC::start(Arc::new(ds.clone()), Options::default()).await.unwrap();
    let client = Client::of(&fake);
    let filter = "IsFolder eq false";
    let before = client.read_all(EntitySet::Counterparties, None, Some(filter), 10).await;
    assert_eq!(before.len(), 25);

    let first = before[0]["Ref_Key"].as_str().unwrap().to_owned();
    assert!(ds.set_field(EntitySet::Counterparties, &first, "Description", "ООО \"Новое имя\""));
    ds.upsert(
        EntitySet::Counterparties,
        json!({"Ref_Key": "ffffffff-0000-0000-0000-000000000001", "IsFolder": false, "Description": "Новый"}),
    );
    ds.upsert(
        EntitySet::Counterparties,
        json!({"Ref_Key": "ffffffff-0000-0000-0000-000000000002", "IsFolder": true, "Description": "Группа"}),
    );
    let last = before[24]["Ref_Key"].as_str().unwrap().to_owned();
    assert!(ds.remove(EntitySet::Counterparties, &last).is_some());
    fake.replace_source(Arc::new(ds));

    let after = client.read_all(EntitySet::Counterparties, None, Some(filter), 10).await;
    assert_eq!(after.len(), 25);
    assert_eq!(after[0]["Description"], "ООО \"Новое имя\"");
    assert_eq!(after[24]["Description"], "Новый");
    assert!(after.iter().all(|c| c["Ref_Key"] != last.as_str()));
}

#[tokio::test]
async fn the_demo_dataset_round_trips_through_the_server() {
    let ds = demo(today());
    let fake = FakeOneC::start(Arc::new(ds.clone()), Options::default()).await.unwrap();
    let client = Client::of(&fake);
    let mut back = Dataset::new();
    for set in EntitySet::ALL {
        back.extend(set, client.read_all(set, None, None, 17).await);
    }
    // Served numbers read back as integers where whole (1C writes `1500000`): compare as
    // served bytes.
    for set in EntitySet::ALL {
        assert_eq!(back.len(set), ds.len(set), "{set}");
        for i in 0..ds.len(set) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            ds.write_record(set, i, &Select::all(), &mut a);
            back.write_record(set, i, &Select::all(), &mut b);
            assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap(), "{set} {i}");
        }
    }
}

#[tokio::test]
async fn metadata_service_root_and_single_records_are_served() {
    let (fake, client, g) = small().await;
    let r = client.get("$metadata", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("application/xml"));
    assert!(r.body.contains("<EntityType Name=\"Catalog_Контрагенты\">"));

    let root = client.get("", &[("$format", "json")]).await.json();
    let names: Vec<&str> = root["value"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), EntitySet::ALL.len());
    assert!(names.contains(&"Document_ПоступлениеНаРасчетныйСчет"));
    assert!(client.get("", &[]).await.body.contains("<collection href=\"Catalog_Валюты\">"));
    // A set the base does not publish is neither listed nor served.
    fake.unpublish(EntitySet::Currencies);
    let root = client.get("", &[("$format", "json")]).await.json();
    assert_eq!(root["value"].as_array().unwrap().len(), EntitySet::ALL.len() - 1);
    assert!(!client.get("", &[]).await.body.contains("Catalog_Валюты"));
    let r = client.get("Catalog_Валюты", &[("$format", "json")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["odata.error"]["code"], "6");
    fake.publish(EntitySet::Currencies);
    assert_eq!(client.get("Catalog_Валюты", &[("$format", "json")]).await.status, StatusCode::OK);

    let key = g.ref_key(EntitySet::Contracts, 7);
    let r = client.get(&format!("Catalog_ДоговорыКонтрагентов(guid'{key}')"), &[("$format", "json"), ("$select", "Ref_Key,Номер")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"odata.metadata": format!("{}$metadata#Catalog_ДоговорыКонтрагентов/@Element", fake.base_url), "Ref_Key": key, "Номер": "Д-7"})
    );
    let missing = client.get("Catalog_ДоговорыКонтрагентов(guid'00000000-0000-0000-0000-000000000000')", &[("$format", "json")]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_settings_body_names_the_base_url_user_secret_and_host_grants() {
    let (fake, _client, _) = small().await;
    let s = fake.settings_json();
    assert_eq!(s["settings"]["base_url"], fake.base_url);
    assert_eq!(s["settings"]["username"], "odata");
    assert_eq!(s["secrets"]["password"], "secret");
    assert_eq!(s["grants"]["http_hosts"], json!([fake.host]));
    assert_eq!(s["grants"]["private_hosts"], json!([fake.host]));
    assert!(fake.base_url.starts_with(&format!("http://{}/demo/odata/standard.odata/", fake.host)));
    let body: Value = serde_json::from_str(&fake.settings_body()).unwrap();
    assert_eq!(body, s);
    assert!(fake.settings_body().starts_with(r#"{"version":"0.2.0","settings":{"base_url":"http://127.0.0.1:"#));
}

const SALES_SELECT: &str =
    "Ref_Key,Number,Date,Posted,DeletionMark,Организация_Key,Контрагент_Key,ДоговорКонтрагента_Key,ВалютаДокумента_Key,СуммаДокумента";
const PAYMENTS_SELECT: &str =
    "Ref_Key,Number,Date,Posted,DeletionMark,Контрагент_Key,ДоговорКонтрагента_Key,СуммаДокумента,РасшифровкаПлатежа";
const CUSTOMER_PAYMENTS: &str = "ВидОперации eq 'ОплатаПокупателя'";

/// Throughput of the generated source with the plugin's `$select` (and, for payments,
/// its `$filter`), 1000 records a page. Run with
/// `cargo test --release -p crm-fake-1c --test http -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run in release"]
async fn generated_sales_serve_at_least_300k_records_per_second() {
    const N: usize = 1_000_000;
    let g = Generated::new(100_000, N, N, 1, today());

    // In-process: filter evaluation, projection and JSON writing.
    let filter = crm_fake_1c::Filter::parse(CUSTOMER_PAYMENTS).unwrap();
    let mut sales_rate = 0.0;
    for (set, select) in [(EntitySet::Sales, SALES_SELECT), (EntitySet::Payments, PAYMENTS_SELECT)] {
        let select = Select::parse(select);
        let started = Instant::now();
        let (mut out, mut bytes, mut records) = (Vec::with_capacity(1 << 20), 0, 0);
        for page in 0..N / 1000 {
            out.clear();
            let idx: Vec<usize> =
                (page * 1000..(page + 1) * 1000).filter(|&i| set != EntitySet::Payments || g.matches(set, i, &filter)).collect();
            g.write_records(set, &idx, &select, &mut out);
            bytes += out.len();
            records += idx.len();
        }
        let rate = records as f64 / started.elapsed().as_secs_f64();
        println!("in-process: {records} {set} in {:.2?}: {rate:.0} records/s, {} MB of JSON", started.elapsed(), bytes >> 20);
        if set == EntitySet::Sales {
            sales_rate = rate;
        }
    }

    // Over HTTP on loopback, as the plugin pages ($skip), the client only reading bytes.
    let fake = FakeOneC::start(Arc::new(g), Options::default()).await.unwrap();
    let client = Client::of(&fake);
    for (set, select, filter, total) in
        [(EntitySet::Sales, SALES_SELECT, None, N), (EntitySet::Payments, PAYMENTS_SELECT, Some(CUSTOMER_PAYMENTS), N - N / 50)]
    {
        let started = Instant::now();
        let mut bytes = 0;
        for skip in (0..total).step_by(1000) {
            let skip = skip.to_string();
            let mut q = vec![("$top", "1000"), ("$skip", skip.as_str()), ("$select", select)];
            if let Some(f) = filter {
                q.push(("$filter", f));
            }
            let r = client.list(set, &q).await;
            assert_eq!(r.status, StatusCode::OK);
            bytes += r.body.len();
        }
        let rate = total as f64 / started.elapsed().as_secs_f64();
        println!("over HTTP: {total} {set} in {:.2?}: {rate:.0} records/s, {} MB", started.elapsed(), bytes >> 20);
    }
    if !cfg!(debug_assertions) {
        assert!(sales_rate >= 300_000.0, "{sales_rate:.0} records/s");
    }
}
