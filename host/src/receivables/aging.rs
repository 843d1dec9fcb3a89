//! "Owed to us" (Дебиторская задолженность): what each client owes by aging bucket —
//! not yet due, then by days overdue (1–30, 31–60, 61–90, 91–180, over 180 by
//! default; the bounds are tenant settings) — with totals over everything filtered.
//!
//! One SQL statement: open items (what is still owed per document) grouped by client
//! with a conditional sum per bucket, the totals as window sums over the groups, sorted
//! and cut to the page. It reads only `open_items`, never the whole document history.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::counterparties::CounterpartyId;
use crate::db::{Conn, on_conn};
use crate::legal_entities::LegalEntityId;
use crate::money::Money;
use crate::tenancy::{TenantId, UserId};

use super::model::Severity;

/// How the report is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgingSort {
    /// Largest debt first (the default).
    #[default]
    Total,
    /// Largest overdue part first.
    Overdue,
    /// Longest overdue first.
    Days,
    /// By name.
    Name,
}

/// Filters of "Owed to us".
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgingParams {
    /// Only documents sold by this legal entity of ours (matched by its `accounting_ref`).
    pub legal_entity_id: Option<LegalEntityId>,
    /// Only clients of this segment.
    pub segment: Option<String>,
    /// Only clients of this responsible manager.
    pub responsible_id: Option<UserId>,
    /// The day the ages are counted to (default: today in the tenant's time zone).
    pub as_of: Option<NaiveDate>,
    #[serde(default)]
    pub sort: AgingSort,
}

/// One bucket of the report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bucket {
    /// `not_due`, `1_30`, …, `over_180`.
    pub key: String,
    /// Column title for people (Russian).
    pub label: String,
    /// Days overdue, inclusive; `null` = open-ended.
    pub from_days: Option<i32>,
    pub to_days: Option<i32>,
}

/// The buckets for the bounds `[30, 60, 90, 180]`-style.
pub fn buckets(bounds: &[i32]) -> Vec<Bucket> {
    let mut out = vec![Bucket { key: "not_due".into(), label: "Срок не наступил".into(), from_days: None, to_days: Some(0) }];
    let mut from = 1;
    for &to in bounds {
        out.push(Bucket { key: format!("{from}_{to}"), label: format!("{from}–{to} дн."), from_days: Some(from), to_days: Some(to) });
        from = to + 1;
    }
    let last = from - 1;
    out.push(Bucket { key: format!("over_{last}"), label: format!("Свыше {last} дн."), from_days: Some(from), to_days: None });
    out
}

/// One client's line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgingRow {
    pub counterparty_id: CounterpartyId,
    pub full_name: String,
    pub inn: Option<String>,
    pub segment: Option<String>,
    pub responsible_id: Option<UserId>,
    pub total: Money,
    pub overdue: Money,
    /// One amount per bucket, in the order of `buckets`.
    pub buckets: Vec<Money>,
    pub open_documents: i64,
    /// Days the oldest overdue document is late.
    pub days_overdue: i64,
    pub severity: Severity,
    /// The payer rating, 1–5.
    pub rating_stars: Option<i32>,
}

/// Sums over every client the filters let through.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AgingTotals {
    pub counterparties: i64,
    pub open_documents: i64,
    pub total: Money,
    pub overdue: Money,
    pub buckets: Vec<Money>,
}

/// The report page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgingReport {
    pub as_of: NaiveDate,
    pub buckets: Vec<Bucket>,
    pub totals: AgingTotals,
    pub items: Vec<AgingRow>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Resolved filters for the query.
pub struct Query<'a> {
    pub as_of: NaiveDate,
    pub bounds: &'a [i32],
    pub legal_entity_ref: Option<&'a str>,
    pub segment: Option<&'a str>,
    pub responsible_id: Option<UserId>,
    pub sort: AgingSort,
    pub offset: i64,
    /// `None`: every row (exports).
    pub limit: Option<i64>,
}

/// Runs the report.
pub async fn report(c: &mut Conn<'_>, tenant: TenantId, q: &Query<'_>) -> sqlx::Result<AgingReport> {
    let n = q.bounds.len() + 2; // not due, one per bound, over the last
    // Bucket k (1..n-1) holds due dates in [as_of − bound_k, as_of − bound_{k-1} − 1].
    let lows: Vec<NaiveDate> = q.bounds.iter().map(|&b| q.as_of - chrono::Days::new(u64::try_from(b).unwrap_or(0))).collect();
    // Parameters: $1 tenant, $2 as_of, $3 legal entity ref, $4 segment, $5 responsible,
    // $6 limit, $7 offset, $8.. the bucket lower dates.
    // Sums are cast to BIGINT: PostgreSQL's SUM of BIGINT is NUMERIC.
    let mut cols = vec!["CAST(SUM(CASE WHEN d.due_on >= $2 THEN d.open_amount ELSE 0 END) AS BIGINT) AS b0".to_string()];
    for k in 0..q.bounds.len() {
        let upper = if k == 0 { "$2".to_string() } else { format!("${}", 8 + k - 1) };
        cols.push(format!("CAST(SUM(CASE WHEN d.due_on < {upper} AND d.due_on >= ${} THEN d.open_amount ELSE 0 END) AS BIGINT) AS b{}", 8 + k, k + 1));
    }
    let last = if q.bounds.is_empty() { "$2".to_string() } else { format!("${}", 8 + q.bounds.len() - 1) };
    cols.push(format!("CAST(SUM(CASE WHEN d.due_on < {last} THEN d.open_amount ELSE 0 END) AS BIGINT) AS b{}", n - 1));
    let bucket_totals: Vec<String> = (0..n).map(|k| format!("CAST(SUM(f.b{k}) OVER () AS BIGINT) AS t{k}")).collect();
    let order = |t: &str| match q.sort {
        AgingSort::Total => format!("{t}.total DESC, {t}.cp"),
        AgingSort::Overdue => format!("({t}.total - {t}.b0) DESC, {t}.total DESC, {t}.cp"),
        AgingSort::Days => format!("CASE WHEN {t}.oldest IS NULL THEN 1 ELSE 0 END, {t}.oldest, {t}.total DESC, {t}.cp"),
        AgingSort::Name => format!("{t}.name, {t}.cp"),
    };
    let bucket_cols: Vec<String> = (0..n).map(|k| format!("p.b{k}")).collect();
    // Clients' names and ratings are joined for the page only, unless a filter or the sort
    // needs them for every client (the filters' parameters are referenced either way).
    let (join, filter) = if q.segment.is_some() || q.responsible_id.is_some() || q.sort == AgingSort::Name {
        (
            ", c.full_name AS name FROM g JOIN counterparties c ON c.tenant_id = $1 AND c.id = g.cp",
            "($4 IS NULL OR c.segment = $4) AND ($5 IS NULL OR c.responsible_id = $5)",
        )
    } else {
        (" FROM g", "$4 IS NULL AND $5 IS NULL")
    };
    let sql = format!(
        "WITH g AS (SELECT d.counterparty_id AS cp, CAST(SUM(d.open_amount) AS BIGINT) AS total, COUNT(*) AS docs, \
                MIN(CASE WHEN d.due_on < $2 THEN d.due_on END) AS oldest, {cols} \
            FROM open_items d WHERE d.tenant_id = $1 AND ($3 IS NULL OR d.legal_entity_ref = $3) \
            GROUP BY d.counterparty_id), \
         f AS (SELECT g.*{join} WHERE {filter}), \
         p AS (SELECT f.*, COUNT(*) OVER () AS t_rows, CAST(SUM(f.total) OVER () AS BIGINT) AS t_total, \
                CAST(SUM(f.docs) OVER () AS BIGINT) AS t_docs, {bucket_totals} \
            FROM f ORDER BY {order_f} LIMIT $6 OFFSET $7) \
         SELECT p.cp, c.full_name, c.inn, c.segment, c.responsible_id, r.stars, p.total, p.docs, p.oldest, {bucket_cols}, \
                p.t_rows, p.t_total, p.t_docs, {page_totals} \
         FROM p JOIN counterparties c ON c.tenant_id = $1 AND c.id = p.cp \
         LEFT JOIN payer_ratings r ON r.tenant_id = $1 AND r.counterparty_id = p.cp \
         ORDER BY {order_p}",
        cols = cols.join(", "),
        bucket_cols = bucket_cols.join(", "),
        bucket_totals = bucket_totals.join(", "),
        page_totals = (0..n).map(|k| format!("p.t{k}")).collect::<Vec<_>>().join(", "),
        order_f = order("f"),
        order_p = order("p"),
    );
    let limit = q.limit.unwrap_or(i64::MAX);
    let fetch = limit.saturating_add(1);
    let rows = on_conn!(c, c => {
        // Planned for the parameters of each call (an unnamed statement): a cached generic
        // plan for this report was once 600 times slower on PostgreSQL.
        let mut query = sqlx::query(&sql)
            .persistent(false)
            .bind(tenant).bind(q.as_of).bind(q.legal_entity_ref).bind(q.segment).bind(q.responsible_id).bind(fetch).bind(q.offset);
        for d in &lows {
            query = query.bind(*d);
        }
        query.fetch_all(c).await.map(|rows| rows.into_iter().map(AnyRow::from).collect::<Vec<AnyRow>>())
    })?;
    let mut totals = AgingTotals { buckets: vec![Money::ZERO; n], ..Default::default() };
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let get = |name: &str| -> sqlx::Result<i64> { get_i64(row, name) };
        if items.is_empty() {
            totals.counterparties = get("t_rows")?;
            totals.total = Money::from_minor(get("t_total")?);
            totals.open_documents = get("t_docs")?;
            for (k, b) in totals.buckets.iter_mut().enumerate() {
                *b = Money::from_minor(get(&format!("t{k}"))?);
            }
            totals.overdue = Money::from_minor(totals.total.minor() - totals.buckets[0].minor());
        }
        let total = get("total")?;
        let buckets: Vec<Money> = (0..n).map(|k| get(&format!("b{k}")).map(Money::from_minor)).collect::<sqlx::Result<_>>()?;
        let oldest: Option<NaiveDate> = get_col(row, "oldest")?;
        let days_overdue = oldest.map_or(0, |d| (q.as_of - d).num_days());
        items.push(AgingRow {
            counterparty_id: get_col(row, "cp")?,
            full_name: get_col(row, "full_name")?,
            inn: get_col(row, "inn")?,
            segment: get_col(row, "segment")?,
            responsible_id: get_col(row, "responsible_id")?,
            total: Money::from_minor(total),
            overdue: Money::from_minor(total - buckets[0].minor()),
            buckets,
            open_documents: get("docs")?,
            days_overdue,
            severity: Severity::for_days(days_overdue),
            rating_stars: get_col(row, "stars")?,
        });
    }
    let more = items.len() as i64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(AgingReport {
        as_of: q.as_of,
        buckets: buckets(q.bounds),
        totals,
        next_cursor: more.then(|| (q.offset + limit).to_string()),
        items,
    })
}

/// A column of either engine's row.
fn get_col<T>(row: &AnyRow, name: &str) -> sqlx::Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    use sqlx::Row as _;
    match row {
        AnyRow::Sqlite(r) => r.try_get(name),
        AnyRow::Postgres(r) => r.try_get(name),
    }
}

/// A sum or count (NULL when there is nothing to sum).
fn get_i64(row: &AnyRow, name: &str) -> sqlx::Result<i64> {
    get_col::<Option<i64>>(row, name).map(|v| v.unwrap_or(0))
}

/// A row of either engine.
pub enum AnyRow {
    Sqlite(sqlx::sqlite::SqliteRow),
    Postgres(sqlx::postgres::PgRow),
}

impl From<sqlx::sqlite::SqliteRow> for AnyRow {
    fn from(r: sqlx::sqlite::SqliteRow) -> Self {
        AnyRow::Sqlite(r)
    }
}

impl From<sqlx::postgres::PgRow> for AnyRow {
    fn from(r: sqlx::postgres::PgRow) -> Self {
        AnyRow::Postgres(r)
    }
}
