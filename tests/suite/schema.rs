//! The schema is ready to be distributed by tenant (Citus): every tenant table's
//! primary key, unique constraints/indexes and foreign keys include `tenant_id`.

use crm_host::db::Engine;
use crm_tests::{TestApp, on_both_engines};

on_both_engines!(every_tenant_key_includes_tenant_id);

async fn every_tenant_key_includes_tenant_id(app: TestApp) {
    let mut conn = app.state.db.read().await.unwrap();
    let mut c = conn.conn();
    let problems = match app.engine {
        Engine::Sqlite => sqlite_problems(&mut c).await,
        Engine::Postgres => postgres_problems(&mut c).await,
    };
    assert!(problems.is_empty(), "keys without tenant_id:\n{}", problems.join("\n"));
}

async fn sqlite_problems(c: &mut crm_host::db::Conn<'_>) -> Vec<String> {
    let crm_host::db::Conn::Sqlite(c) = c else { unreachable!() };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'tenant_id')",
    )
    .fetch_all(&mut **c)
    .await
    .unwrap();
    assert!(tables.len() >= 14, "expected the tenant tables, found {tables:?}");
    let mut problems = Vec::new();
    for t in tables {
        let pk: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{t}') WHERE pk > 0")).fetch_all(&mut **c).await.unwrap();
        if !pk.iter().any(|n| n == "tenant_id") {
            problems.push(format!("{t}: primary key {pk:?}"));
        }
        let uniques: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM pragma_index_list('{t}') WHERE \"unique\" = 1")).fetch_all(&mut **c).await.unwrap();
        for idx in uniques {
            let cols: Vec<Option<String>> = sqlx::query_scalar(&format!("SELECT name FROM pragma_index_info('{idx}')")).fetch_all(&mut **c).await.unwrap();
            if !cols.iter().any(|n| n.as_deref() == Some("tenant_id")) {
                problems.push(format!("{t}: unique index {idx} on {cols:?}"));
            }
        }
        let fks: Vec<(i64, String, String)> = sqlx::query_as(&format!("SELECT id, \"from\", \"table\" FROM pragma_foreign_key_list('{t}')")).fetch_all(&mut **c).await.unwrap();
        let mut ids: Vec<i64> = fks.iter().map(|f| f.0).collect();
        ids.dedup();
        for id in ids {
            let cols: Vec<&String> = fks.iter().filter(|f| f.0 == id).map(|f| &f.1).collect();
            if !cols.iter().any(|c| *c == "tenant_id") {
                problems.push(format!("{t}: foreign key {cols:?}"));
            }
        }
    }
    problems
}

async fn postgres_problems(c: &mut crm_host::db::Conn<'_>) -> Vec<String> {
    let crm_host::db::Conn::Postgres(c) = c else { unreachable!() };
    // Constraints (p = primary, u = unique, f = foreign) and unique indexes of tables
    // with a tenant_id column, in the current schema, that do not cover tenant_id.
    let rows: Vec<(String, String)> = sqlx::query_as(
        "WITH t AS (
             SELECT c.oid, c.relname, a.attnum AS tenant_att FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
             WHERE c.relkind = 'r')
         SELECT t.relname::text, 'constraint ' || con.conname::text FROM t
         JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype IN ('p', 'u', 'f')
         WHERE NOT (t.tenant_att = ANY (con.conkey))
         UNION ALL
         SELECT t.relname::text, 'unique index ' || ic.relname::text FROM t
         JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique
         JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE NOT (t.tenant_att = ANY (i.indkey::int2[]))",
    )
    .fetch_all(&mut **c)
    .await
    .unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'tenant_id'",
    )
    .fetch_one(&mut **c)
    .await
    .unwrap();
    assert!(tables >= 14, "expected the tenant tables, found {tables}");
    rows.into_iter().map(|(t, what)| format!("{t}: {what}")).collect()
}
