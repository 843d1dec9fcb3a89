//! Migration 0006 on a database that has run the 1C sync under the old closed job kind:
//! jobs keep their history under the new name, and each tenant's daily sync time becomes
//! its `receivables.sync` schedule, remembering the last daily run so the upgrade does
//! not run that day's sync a second time.

use chrono::{DateTime, Duration, Utc};
use crm_host::db::{Db, DbOptions};
use crm_host::jobs::{service, store};
use crm_host::receivables::SYNC_JOB;
use crm_host::tenancy::TenantId;
use uuid::Uuid;

/// Copies the migrations before 0006 into a directory of their own.
fn migrations_before_0006(engine: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(engine);
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0006" {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    dir
}

/// The rows a host before 0006 left: three tenants with a daily time of 07:30, none
/// (on demand only) and the default (no settings row).
struct Old {
    custom: Uuid,
    off: Uuid,
    default: Uuid,
    job: Uuid,
    last_daily: DateTime<Utc>,
}

macro_rules! seed_old_rows {
    ($pool:expr) => {{
        let pool = $pool;
        let old = Old { custom: Uuid::now_v7(), off: Uuid::now_v7(), default: Uuid::now_v7(), job: Uuid::now_v7(), last_daily: Utc::now() - Duration::hours(2) };
        for (id, name) in [(old.custom, "Свой час"), (old.off, "По запросу"), (old.default, "По умолчанию")] {
            sqlx::query("INSERT INTO tenants (id, name, time_zone, created_at) VALUES ($1, $2, 'Europe/Moscow', $3)")
                .bind(id).bind(name).bind(Utc::now()).execute(pool).await.unwrap();
        }
        for (tenant, at) in [(old.custom, Some("07:30")), (old.off, None)] {
            sqlx::query("INSERT INTO receivables_settings (tenant_id, aging_buckets, sync_daily_at, sync_page_size, rating_window_days, claim_deadline_days, updated_at) \
                         VALUES ($1, $2, $3, 250, 365, 30, $4)")
                .bind(tenant).bind(sqlx::types::Json(vec![15, 45])).bind(at).bind(Utc::now()).execute(pool).await.unwrap();
        }
        // A finished manual sync and two days of daily ones, for two of the tenants.
        let jobs = [
            (old.custom, old.job, None, Utc::now() - Duration::days(3)),
            (old.custom, Uuid::now_v7(), Some("daily:2026-01-01"), old.last_daily - Duration::days(1)),
            (old.custom, Uuid::now_v7(), Some("daily:2026-01-02"), old.last_daily),
            (old.default, Uuid::now_v7(), Some("daily:2026-01-02"), old.last_daily),
        ];
        for (tenant, id, key, at) in jobs {
            sqlx::query("INSERT INTO jobs (tenant_id, id, kind, status, params, state, progress, attempts, dedupe_key, run_after, created_at, started_at, finished_at, updated_at) \
                         VALUES ($1, $2, 'receivables_sync', 'succeeded', $3, $4, $5, 1, $6, $7, $7, $7, $7, $7)")
                .bind(tenant).bind(id).bind(sqlx::types::Json(serde_json::json!({"full": false})))
                .bind(sqlx::types::Json(serde_json::json!({}))).bind(sqlx::types::Json(serde_json::json!({"phase": "done"})))
                .bind(key).bind(at).execute(pool).await.unwrap();
        }
        old
    }};
}

async fn check_after_migration(db: Db, old: Old) {
    let registry = crm_host::job_kinds().unwrap();
    let spec = registry.get(&SYNC_JOB).unwrap().clone();
    let mut read = db.read().await.unwrap();
    let mut c = read.conn();
    // Every job is there, under the new name, and still filters by it.
    let jobs = store::list(&mut c, TenantId(old.custom), Some(&SYNC_JOB), None, Uuid::max(), 100).await.unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j.kind == SYNC_JOB && j.status == crm_host::jobs::JobStatus::Succeeded));
    let manual = store::get(&mut c, TenantId(old.custom), crm_host::jobs::JobId(old.job)).await.unwrap().unwrap();
    assert_eq!(manual.progress.0["phase"], "done");
    // The daily times are the sync's schedules; the last daily run is the last slot.
    let custom = service::schedule(&mut c, &spec, TenantId(old.custom), "Europe/Moscow").await.unwrap();
    assert_eq!((custom.enabled, custom.custom, custom.daily_at.as_deref()), (true, true, Some("07:30")), "{custom:?}");
    assert_eq!(custom.last_slot_at.map(|t| t.timestamp_micros()), Some(old.last_daily.timestamp_micros()));
    let off = service::schedule(&mut c, &spec, TenantId(old.off), "Europe/Moscow").await.unwrap();
    assert!(!off.enabled && off.next_run_at.is_none(), "{off:?}");
    let default = service::schedule(&mut c, &spec, TenantId(old.default), "Europe/Moscow").await.unwrap();
    assert_eq!((default.enabled, default.custom, default.daily_at.as_deref()), (true, false, Some("06:00")), "{default:?}");
    assert_eq!(default.last_slot_at.map(|t| t.timestamp_micros()), Some(old.last_daily.timestamp_micros()));
    // The rest of the settings are kept.
    let s = crm_host::receivables::store::settings(&mut c, TenantId(old.custom)).await.unwrap();
    assert_eq!((s.aging_buckets.0, s.sync_page_size), (vec![15, 45], 250));
    drop(read);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_sync_jobs_and_daily_times_survive_the_jobs_migration_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crm.db").display());
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("crm.db")).create_if_missing(true).foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let before = migrations_before_0006("sqlite");
    sqlx::migrate::Migrator::new(before.path()).await.unwrap().run(&pool).await.unwrap();
    let old = seed_old_rows!(&pool);
    pool.close().await;
    let db = Db::connect(&DbOptions { url, max_connections: 2, pg_schema: None }).await.expect("0006 applies");
    check_after_migration(db, old).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_sync_jobs_and_daily_times_survive_the_jobs_migration_on_postgres() {
    let Some(schema) = crm_tests::PgSchema::create().await else { return };
    let pool = sqlx::PgPool::connect(&schema.url_with_search_path()).await.unwrap();
    let before = migrations_before_0006("postgres");
    sqlx::migrate::Migrator::new(before.path()).await.unwrap().run(&pool).await.unwrap();
    let old = seed_old_rows!(&pool);
    pool.close().await;
    let db = Db::connect(&DbOptions { url: schema.url.clone(), max_connections: 2, pg_schema: Some(schema.schema.clone()) }).await.expect("0006 applies");
    check_after_migration(db, old).await;
}
