//! Background jobs: kinds registered by their domain, fault isolation (a panic, a
//! cursor that goes round in a circle, a runaway source), cancelling, the worker pool,
//! two host instances over one queue, and schedules (a daily time or cron in the
//! tenant's time zone, caught up once, one job per slot).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use crm_fake_1c::{EntitySet, FakeOneC, Generated, Options};
use crm_host::AppState;
use crm_host::audit::Actor;
use crm_host::jobs::runner::{JobError, JobRun, RunnerOptions};
use crm_host::jobs::{JobKind, JobKindSpec, scheduler, service};
use crm_host::tenancy::TenantId;
use crm_tests::{TestApp, TestTenant, on_both_engines, test_runner};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

on_both_engines!(
    a_panicking_job_fails_alone_and_the_worker_goes_on,
    a_cursor_that_cycles_fails_its_job_while_other_tenants_sync,
    a_job_reads_no_more_pages_than_the_host_allows,
    an_admin_cancels_a_queued_job_at_once,
    a_running_sync_cancelled_through_the_api_stops_within_seconds_while_1c_is_slow,
    a_running_sync_cancelled_on_another_instance_stops_and_keeps_what_it_committed,
    jobs_of_different_tenants_run_at_once_but_one_per_tenant_and_kind,
    two_host_instances_share_the_queue_and_no_job_runs_twice,
    an_unknown_job_kind_is_a_422_naming_it,
    schedules_are_set_by_admins_as_a_daily_time_or_cron_in_the_tenant_zone,
    a_missed_run_is_caught_up_once_not_once_per_missed_slot,
);

const PANICS: JobKind = JobKind::from_static("test.panics");
const TICK: JobKind = JobKind::from_static("test.tick");

fn today() -> chrono::NaiveDate {
    crm_host::tenancy::access::today_in("Europe/Moscow")
}

/// A kind whose handler adds `params.n` to `i64::MAX` (as the money overflow did): it
/// panics for any `n > 0`.
fn panicking_kind() -> JobKindSpec {
    JobKindSpec::new(PANICS, "Задача, которая падает", |_state: AppState, run: JobRun| async move {
        let n = run.job.params.0["n"].as_i64().unwrap_or(0);
        let total = i64::MAX.checked_add(n).unwrap_or_else(|| panic!("attempt to add with overflow: {} + {n}", i64::MAX));
        Ok::<_, JobError>(json!({"total": total}))
    })
}

/// A kind that does nothing but say it ran.
fn tick_kind() -> JobKindSpec {
    JobKindSpec::new(TICK, "Проверочная задача", |_state: AppState, _run: JobRun| async move { Ok::<_, JobError>(json!({"ticked": true})) })
}

/// The workers of one host instance, as `crm serve` runs them.
struct Workers {
    stop: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl Workers {
    /// `workers` at once, with a lease longer than any wait in these tests; schedules are
    /// looked at once, at the start (tests of schedules call the scheduler themselves).
    fn start(state: &AppState, workers: usize) -> Workers {
        let opts = RunnerOptions { workers, lease: Duration::from_secs(30), schedule_every: Duration::from_secs(3600), ..test_runner() };
        let stop = CancellationToken::new();
        let handle = crm_host::jobs::runner::spawn(state.clone(), opts, stop.clone());
        Workers { stop, handle }
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.handle).await.expect("the workers stop").expect("the workers did not panic");
    }
}

/// Polls `GET /jobs/{id}` until the job satisfies `done`, for at most `within`.
async fn wait_job(t: &TestTenant, id: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let j = t.admin.get(&format!("/api/v1/jobs/{id}")).await.ok().body;
        if done(&j) {
            return j;
        }
        assert!(Instant::now() < deadline, "job {id} did not get there within {within:?}: {j}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ended(j: &Value) -> bool {
    !matches!(j["status"].as_str(), Some("queued" | "running"))
}

async fn queue(app: &TestApp, t: &TestTenant, kind: &JobKind, params: Value) -> String {
    let mut tx = app.state.db.begin().await.unwrap();
    let job = service::enqueue(&mut tx.conn(), &app.state.jobs, TenantId(t.id), kind, params, None).await.unwrap();
    tx.commit().await.unwrap();
    job.id.to_string()
}

async fn start_sync(t: &TestTenant, body: Value) -> String {
    let job = t.admin.post("/api/v1/receivables/sync", body).await.expect(StatusCode::ACCEPTED).body;
    job["id"].as_str().unwrap().to_string()
}

async fn fake_1c(counterparties: usize, sales: usize, payments: usize) -> FakeOneC {
    FakeOneC::start(Arc::new(Generated::new(counterparties, sales, payments, 7, today())), Options::default()).await.unwrap()
}

/// A tenant with the 1C module on its own fake base, syncing `page_size` records a page.
async fn tenant_on_1c(app: &TestApp, name: &str, page_size: i64) -> (TestTenant, FakeOneC) {
    let t = app.tenant(name).await;
    let fake = fake_1c(30, 60, 60).await;
    t.enable_1c(&fake.base_url, &fake.host).await;
    let mut s = t.admin.get("/api/v1/receivables/settings").await.ok().body;
    s["sync_page_size"] = json!(page_size);
    t.admin.put("/api/v1/receivables/settings", s).await.ok();
    (t, fake)
}

async fn counterparties(t: &TestTenant) -> usize {
    t.admin.get("/api/v1/counterparties?limit=500").await.ok().body["items"].as_array().unwrap().len()
}

async fn a_panicking_job_fails_alone_and_the_worker_goes_on(app: TestApp) {
    let app = app.with_job_kinds(vec![panicking_kind()]);
    let (a, _fake_a) = tenant_on_1c(&app, "Тенант с паникой", 1000).await;
    let (b, _fake_b) = tenant_on_1c(&app, "Соседний тенант", 1000).await;
    // The poisoned job is first in the queue; the syncs of both tenants come after it.
    let poisoned = queue(&app, &a, &PANICS, json!({"n": 1})).await;
    let sync_a = start_sync(&a, json!({})).await;
    let sync_b = start_sync(&b, json!({})).await;
    // One worker: the same worker that ran the panicking job must go on to the rest.
    let workers = Workers::start(&app.state, 1);
    for (t, id) in [(&a, &sync_a), (&b, &sync_b)] {
        let j = wait_job(t, id, Duration::from_secs(60), ended).await;
        assert_eq!(j["status"], "succeeded", "{j}");
    }
    let p = a.admin.get(&format!("/api/v1/jobs/{poisoned}")).await.ok().body;
    assert_eq!(p["status"], "failed", "{p}");
    assert_eq!(p["attempts"], 1);
    let error = p["error"].as_str().unwrap();
    assert!(error.contains("panicked") && error.contains("attempt to add with overflow"), "the reason is recorded: {error}");
    assert!(error.contains("not retried"), "{error}");
    assert!(p["finished_at"].is_string());
    // Well past any lease, the poisoned job is not claimed (and does not panic) again.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(crm_host::jobs::runner::run_pending(&app.state, test_runner()).await.unwrap().is_empty());
    assert_eq!(a.admin.get(&format!("/api/v1/jobs/{poisoned}")).await.ok().body["attempts"], 1);
    // The worker is still there: a job queued now runs.
    let again = start_sync(&b, json!({"full": true})).await;
    assert_eq!(wait_job(&b, &again, Duration::from_secs(60), ended).await["status"], "succeeded");
    workers.stop().await;
}

/// Uploads the cycling test plugin and enables it as the tenant's accounting module.
async fn enable_cycling(t: &TestTenant, cursors: &str) {
    t.admin.upload_plugin(&crm_tests::guest_manifest("test-guests/cycling"), &crm_tests::guest("cycling")).await.created();
    t.admin.put("/api/v1/modules/cycling", json!({"version": "0.1.0", "settings": {"cursors": cursors}})).await.ok();
}

async fn a_cursor_that_cycles_fails_its_job_while_other_tenants_sync(app: TestApp) {
    let looping = app.tenant("Тенант с зацикленной 1С").await;
    enable_cycling(&looping, "a,b,c").await;
    let (other, _fake) = tenant_on_1c(&app, "Соседний тенант", 10).await;
    let (stuck, fine) = (start_sync(&looping, json!({})).await, start_sync(&other, json!({})).await);
    let workers = Workers::start(&app.state, 2);
    let j = wait_job(&looping, &stuck, Duration::from_secs(30), ended).await;
    assert_eq!(j["status"], "failed", "{j}");
    let error = j["error"].as_str().unwrap();
    assert!(error.contains("a → b → c → a"), "the message names the cycle: {error}");
    assert_eq!(j["attempts"], 1, "a cycle is not retried");
    assert_eq!(wait_job(&other, &fine, Duration::from_secs(60), ended).await["status"], "succeeded");
    workers.stop().await;
    let runs = looping.admin.get("/api/v1/plugin-runs?plugin_id=cycling&limit=500").await.ok().body;
    assert_eq!(runs["items"].as_array().unwrap().len(), 4, "a, b, c, and the page that handed back a: {runs}");
}

async fn a_job_reads_no_more_pages_than_the_host_allows(app: TestApp) {
    let (t, fake) = tenant_on_1c(&app, "ООО Бесконечная база", 10).await;
    let id = start_sync(&t, json!({})).await;
    let opts = RunnerOptions { max_pages: 3, ..test_runner() };
    crm_host::jobs::runner::run_pending(&app.state, opts).await.unwrap();
    let j = t.admin.get(&format!("/api/v1/jobs/{id}")).await.ok().body;
    assert_eq!(j["status"], "failed", "{j}");
    assert!(j["error"].as_str().unwrap().contains("3 pages read, the most one job may read (--job-max-pages"), "{j}");
    assert_eq!(fake.requests_to(EntitySet::Counterparties), 3, "no page past the cap was asked for");
    // With room for every page, the same base syncs.
    let id = start_sync(&t, json!({})).await;
    app.run_jobs().await;
    assert_eq!(t.admin.get(&format!("/api/v1/jobs/{id}")).await.ok().body["status"], "succeeded");
}

async fn an_admin_cancels_a_queued_job_at_once(app: TestApp) {
    let (t, _fake) = tenant_on_1c(&app, "ООО Отмена", 1000).await;
    let id = start_sync(&t, json!({})).await;
    let (manager, _) = t.user("manager").await;
    manager.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await.expect(StatusCode::FORBIDDEN);
    let (head, _) = t.user("head").await;
    head.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await.expect(StatusCode::FORBIDDEN);
    let j = t.admin.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await.ok().body;
    assert_eq!(j["status"], "cancelled", "{j}");
    assert_eq!(j["cancelled_by"], json!(t.admin_id.to_string()));
    assert_eq!(j["cancelled_by_name"], "Администратор");
    assert!(j["finished_at"].is_string() && j["cancel_requested_at"].is_string());
    // Nothing runs it, and cancelling it again, or a job that ended, is a conflict.
    assert!(app.run_jobs().await.is_empty());
    let r = t.admin.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await.expect(StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains("cancelled"), "{}", r.text());
    let audit = t.admin.get(&format!("/api/v1/audit?entity_type=job&entity_id={id}")).await.ok().body;
    let entry = &audit["items"][0];
    assert_eq!((entry["action"].as_str(), entry["actor_label"].as_str()), (Some("cancel"), Some("Администратор")), "{audit}");
    // The tenant may sync again at once.
    start_sync(&t, json!({})).await;
    let done = app.run_jobs().await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].status, crm_host::jobs::JobStatus::Succeeded);
    let listed = t.admin.get("/api/v1/jobs?status=cancelled").await.ok().body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

/// A tenant whose 1C answers the documents' pages only after 10 seconds, on an app whose
/// plugin calls may take that long; the sync is started and has committed its catalogs
/// and is waiting for the first page of documents.
async fn sync_waiting_on_slow_1c(app: &TestApp) -> (TestTenant, FakeOneC, String) {
    let (t, fake) = tenant_on_1c(app, "ООО Медленная 1С", 10).await;
    fake.set_latency(EntitySet::Sales, Duration::from_secs(10));
    let id = start_sync(&t, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.requests_to(EntitySet::Sales) == 0 {
        assert!(Instant::now() < deadline, "the sync never asked 1C for documents");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (t, fake, id)
}

async fn a_running_sync_cancelled_through_the_api_stops_within_seconds_while_1c_is_slow(app: TestApp) {
    let app = app.with_runtime(crm_tests::slow_runtime());
    let workers = Workers::start(&app.state, 2);
    let (t, fake, id) = sync_waiting_on_slow_1c(&app).await;
    let asked = Instant::now();
    let r = t.admin.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await.expect(StatusCode::ACCEPTED);
    assert_eq!(r.body["status"], "running");
    assert!(r.body["cancel_requested_at"].is_string());
    let j = wait_job(&t, &id, Duration::from_secs(5), ended).await;
    assert!(asked.elapsed() < Duration::from_secs(3), "stopped {:?} after the cancel, though 1C takes 10 s to answer", asked.elapsed());
    assert_eq!(j["status"], "cancelled", "{j}");
    assert!(j["error"].as_str().unwrap().contains("Cancelled by Администратор"), "{j}");
    // What it had committed stays: the client cards of the first phase.
    let created = j["progress"]["counterparties"]["created"].as_u64().unwrap();
    assert!(created > 0, "{j}");
    assert_eq!(counterparties(&t).await as u64, created);
    // The tenant syncs again, and this time it finishes.
    fake.set_latency(EntitySet::Sales, Duration::ZERO);
    let again = start_sync(&t, json!({})).await;
    assert_eq!(wait_job(&t, &again, Duration::from_secs(60), ended).await["status"], "succeeded");
    workers.stop().await;
}

async fn a_running_sync_cancelled_on_another_instance_stops_and_keeps_what_it_committed(app: TestApp) {
    let app = app.with_runtime(crm_tests::slow_runtime());
    let workers = Workers::start(&app.state, 2);
    let (t, _fake, id) = sync_waiting_on_slow_1c(&app).await;
    // `crm admin cancel-job` on another machine: the request is in the database only.
    let other = app.second_instance().await;
    let asked = Instant::now();
    {
        let mut tx = other.db.begin().await.unwrap();
        let job = id.parse().unwrap();
        let done = service::cancel(&mut tx.conn(), TenantId(t.id), job, &Actor::system("admin CLI")).await.unwrap();
        assert!(matches!(done, service::Cancelled::Requested(_)), "{done:?}");
        tx.commit().await.unwrap();
    }
    let j = wait_job(&t, &id, Duration::from_secs(8), ended).await;
    assert!(asked.elapsed() < Duration::from_secs(4), "stopped {:?} after the cancel", asked.elapsed());
    assert_eq!(j["status"], "cancelled", "{j}");
    assert!(j["cancelled_by"].is_null());
    assert_eq!(j["cancelled_by_name"], "admin CLI");
    assert!(counterparties(&t).await > 0, "the committed cards stay");
    workers.stop().await;
    other.db.close().await;
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

async fn jobs_of_different_tenants_run_at_once_but_one_per_tenant_and_kind(app: TestApp) {
    let mut tenants = Vec::new();
    for name in ["Первый", "Второй", "Третий"] {
        let (t, fake) = tenant_on_1c(&app, name, 1000).await;
        fake.set_latency_all(Duration::from_millis(400));
        let id = start_sync(&t, json!({})).await;
        // One job per tenant and kind is queued or running at a time.
        let r = t.admin.post("/api/v1/receivables/sync", json!({})).await.expect(StatusCode::CONFLICT);
        assert!(r.body["detail"].as_str().unwrap().contains(&id));
        tenants.push((t, fake, id));
    }
    let workers = Workers::start(&app.state, 3);
    let mut spans = Vec::new();
    for (t, _, id) in &tenants {
        let j = wait_job(t, id, Duration::from_secs(60), ended).await;
        assert_eq!(j["status"], "succeeded", "{j}");
        spans.push((at(&j["started_at"]), at(&j["finished_at"])));
    }
    workers.stop().await;
    let last_start = spans.iter().map(|s| s.0).max().unwrap();
    let first_end = spans.iter().map(|s| s.1).min().unwrap();
    assert!(last_start < first_end, "the three syncs ran at the same time: {spans:?}");
}

async fn two_host_instances_share_the_queue_and_no_job_runs_twice(app: TestApp) {
    // Each run of a job is counted; a job that ran twice would count 2.
    let runs: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let kinds: Vec<JobKindSpec> = ["test.first", "test.second"]
        .into_iter()
        .map(|name| {
            let runs = runs.clone();
            JobKindSpec::new(JobKind::parse(name).unwrap(), "Счётчик", move |_state: AppState, run: JobRun| {
                let runs = runs.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    *runs.lock().unwrap().entry(run.job.id.to_string()).or_default() += 1;
                    Ok::<_, JobError>(json!({}))
                }
            })
        })
        .collect();
    let app = app.with_job_kinds(kinds);
    let mut queued = Vec::new();
    for n in 0..6 {
        let t = app.tenant(&format!("Тенант {n}")).await;
        for kind in ["test.first", "test.second"] {
            queued.push(queue(&app, &t, &JobKind::parse(kind).unwrap(), json!({})).await);
        }
    }
    let second = app.second_instance().await;
    let (one, two) = (Workers::start(&app.state, 2), Workers::start(&second, 2));
    let deadline = Instant::now() + Duration::from_secs(60);
    while runs.lock().unwrap().len() < queued.len() {
        assert!(Instant::now() < deadline, "not every job ran: {:?}", runs.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    one.stop().await;
    two.stop().await;
    second.db.close().await;
    assert!(runs.lock().unwrap().values().all(|&n| n == 1), "a job ran twice: {:?}", runs.lock().unwrap());
    // Every job succeeded at its first attempt, and both instances ran some.
    let mut workers = std::collections::BTreeSet::new();
    let mut c = app.state.db.read().await.unwrap();
    let mut conn = c.conn();
    for tenant in crm_host::tenancy::store::list_tenants(&mut conn).await.unwrap() {
        for j in crm_host::jobs::store::list(&mut conn, tenant.id, None, None, uuid::Uuid::max(), 100).await.unwrap() {
            assert_eq!((j.status, j.attempts), (crm_host::jobs::JobStatus::Succeeded, 1), "{j:?}");
            workers.insert(j.worker.unwrap());
        }
    }
    assert_eq!(workers.len(), 2, "both instances took part: {workers:?}");
}

async fn an_unknown_job_kind_is_a_422_naming_it(app: TestApp) {
    let t = app.tenant("ООО Фактор").await;
    let r = t.admin.get("/api/v1/jobs?kind=receivables.synk").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["kind"]);
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("`receivables.synk`") && message.contains("receivables.sync"), "{message}");
    // The stored kind's old name still filters, as docs/receivables.md shows it.
    t.admin.get("/api/v1/jobs?kind=receivables_sync").await.ok();
    t.admin.get("/api/v1/jobs?kind=receivables.sync&status=cancelled").await.ok();
    let r = t.admin.get("/api/v1/job-schedules/nothing.here").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["kind"]);
    let r = t.admin.put("/api/v1/job-schedules/Bad%20Name", json!({"enabled": false})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("Bad Name"), "{}", r.text());
}

async fn schedules_are_set_by_admins_as_a_daily_time_or_cron_in_the_tenant_zone(app: TestApp) {
    let app = app.with_job_kinds(vec![tick_kind()]);
    let t = app.tenant("ООО Урал").await;
    t.admin.patch("/api/v1/tenant", json!({"time_zone": "Asia/Yekaterinburg"})).await.ok();
    let all = t.admin.get("/api/v1/job-schedules").await.ok().body;
    let sync = all.as_array().unwrap().iter().find(|s| s["kind"] == "receivables.sync").unwrap().clone();
    assert_eq!(sync["title"], "Синхронизация с учётной системой (1С)");
    assert_eq!((sync["daily_at"].as_str(), sync["custom"].as_bool(), sync["enabled"].as_bool()), (Some("06:00"), Some(false), Some(true)), "{sync}");
    assert_eq!(sync["time_zone"], "Asia/Yekaterinburg");
    // 06:00 in Yekaterinburg (UTC+5) is 01:00 UTC.
    assert_eq!(at(&sync["next_run_at"]).format("%H:%M").to_string(), "01:00", "{sync}");
    let tick = all.as_array().unwrap().iter().find(|s| s["kind"] == "test.tick").unwrap();
    assert_eq!((tick["enabled"].as_bool(), tick["next_run_at"].is_null()), (Some(false), true), "no default schedule: on demand only");

    let r = t.admin.put("/api/v1/job-schedules/test.tick", json!({"enabled": true, "cron": "15 7 * * mon-fri"})).await.ok().body;
    assert_eq!((r["cron"].as_str(), r["custom"].as_bool(), r["daily_at"].is_null()), (Some("15 7 * * mon-fri"), Some(true), true), "{r}");
    let next = at(&r["next_run_at"]).with_timezone(&crm_host::jobs::schedule::tenant_zone("Asia/Yekaterinburg"));
    assert_eq!(next.format("%H:%M").to_string(), "07:15");
    assert!(!matches!(chrono::Datelike::weekday(&next), chrono::Weekday::Sat | chrono::Weekday::Sun), "{next}");
    let r = t.admin.put("/api/v1/job-schedules/test.tick", json!({"enabled": true, "daily_at": "7:05"})).await.ok().body;
    assert_eq!((r["daily_at"].as_str(), r["cron"].is_null()), (Some("07:05"), true), "{r}");
    assert_eq!(t.admin.get("/api/v1/job-schedules/test.tick").await.ok().body, r);

    for (body, fields) in [
        (json!({"enabled": true, "daily_at": "07:00", "cron": "0 7 * * *"}), vec!["daily_at", "cron"]),
        (json!({"enabled": true, "cron": "0 7 * *"}), vec!["cron"]),
        (json!({"enabled": true, "cron": "0 0 0 7 * *"}), vec!["cron"]),
        (json!({"enabled": true, "cron": "0 0 30 2 *"}), vec!["cron"]),
        (json!({"enabled": true, "daily_at": "24:00"}), vec!["daily_at"]),
        (json!({"enabled": true}), vec!["daily_at"]),
    ] {
        let bad = t.admin.put("/api/v1/job-schedules/test.tick", body.clone()).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.error_fields(), fields, "{body}: {}", bad.text());
    }
    let off = t.admin.put("/api/v1/job-schedules/receivables.sync", json!({"enabled": false})).await.ok().body;
    assert_eq!((off["enabled"].as_bool(), off["next_run_at"].is_null()), (Some(false), true), "{off}");
    assert!(t.admin.get("/api/v1/receivables/settings").await.ok().body["sync_daily_at"].is_null());
    let back = t.admin.put("/api/v1/job-schedules/receivables.sync", json!({"enabled": true})).await.ok().body;
    assert_eq!((back["daily_at"].as_str(), back["custom"].as_bool()), (Some("06:00"), Some(false)), "back to the default");

    let (manager, _) = t.user("manager").await;
    manager.get("/api/v1/job-schedules").await.ok();
    manager.put("/api/v1/job-schedules/test.tick", json!({"enabled": false})).await.expect(StatusCode::FORBIDDEN);
    let audit = t.admin.get("/api/v1/audit?entity_type=job_schedule").await.ok().body;
    assert_eq!(audit["items"].as_array().unwrap().len(), 4, "{audit}");
}

async fn a_missed_run_is_caught_up_once_not_once_per_missed_slot(app: TestApp) {
    let app = app.with_job_kinds(vec![tick_kind()]);
    let t = app.tenant("ООО Пропуск").await;
    t.admin.put("/api/v1/job-schedules/test.tick", json!({"enabled": true, "daily_at": "03:00"})).await.ok();
    let ticks = |app: &TestApp| {
        let state = app.state.clone();
        let tenant = TenantId(t.id);
        async move {
            let mut c = state.db.read().await.unwrap();
            crm_host::jobs::store::list(&mut c.conn(), tenant, Some(&TICK), None, uuid::Uuid::max(), 100).await.unwrap()
        }
    };
    // A fixed time of day (the next 12:00 in Moscow), so that the hours added below never
    // cross the daily 03:00 whatever the time the suite runs at.
    let moscow = crm_host::jobs::schedule::tenant_zone("Europe/Moscow");
    let local = Utc::now().with_timezone(&moscow);
    let noon = local.date_naive().and_hms_opt(12, 0, 0).unwrap().and_local_timezone(moscow).unwrap().with_timezone(&Utc);
    let now = if noon > Utc::now() { noon } else { noon + chrono::Duration::days(1) };
    // First sight of the schedule: the last 03:00 is queued (as the sync's first daily run is).
    assert_eq!(scheduler::queue_due(&app.state, now).await.unwrap(), 1);
    app.run_jobs().await;
    // The host is down for three days and comes back: one run, for the latest slot only.
    let back = now + chrono::Duration::days(3) + chrono::Duration::hours(1);
    assert_eq!(scheduler::queue_due(&app.state, back).await.unwrap(), 1);
    assert_eq!(scheduler::queue_due(&app.state, back).await.unwrap(), 0);
    let jobs = ticks(&app).await;
    assert_eq!(jobs.len(), 2);
    let zone = crm_host::jobs::schedule::tenant_zone("Europe/Moscow");
    let slot = crm_host::jobs::Schedule::daily("03:00").unwrap().latest_slot(zone, back).unwrap();
    assert_eq!(jobs[0].dedupe_key.as_deref(), Some(crm_host::jobs::schedule::slot_key(slot).as_str()));
    assert_eq!(jobs[0].params.0["slot"], json!(slot));
    app.run_jobs().await;
    assert_eq!(scheduler::queue_due(&app.state, back + chrono::Duration::hours(1)).await.unwrap(), 0, "no slot since");
    // Two instances looking at the next slot at the same moment queue it once.
    let second = app.second_instance().await;
    let next = back + chrono::Duration::days(1);
    let (x, y) = tokio::join!(scheduler::queue_due(&app.state, next), scheduler::queue_due(&second, next));
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    let (x, y) = tokio::join!(scheduler::queue_due(&app.state, next), scheduler::queue_due(&second, next));
    assert_eq!(x.unwrap() + y.unwrap(), 0);
    second.db.close().await;
    assert_eq!(ticks(&app).await.len(), 3);
    let schedule = t.admin.get("/api/v1/job-schedules/test.tick").await.ok().body;
    assert_eq!(at(&schedule["last_slot_at"]), crm_host::jobs::Schedule::daily("03:00").unwrap().latest_slot(zone, next).unwrap());
}
