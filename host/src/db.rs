//! Storage: one API over the two engines the product runs on.
//!
//! SQLite is the embedded default (one file, no set-up); PostgreSQL is the production
//! engine. Store functions are written once: they take a [`Conn`] and run the same SQL
//! (numbered `$n` placeholders work on both) through [`on_conn!`], which expands the
//! body once per engine so sqlx's types resolve for each.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection, Transaction};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A connection pool on one of the two engines.
///
/// SQLite allows one writer at a time, so writes go through a one-connection pool
/// (transactions queue in the pool instead of failing with `SQLITE_BUSY`), while reads
/// use a pool of their own over the same WAL-mode file.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite { read: sqlx::SqlitePool, write: sqlx::SqlitePool },
    Postgres(sqlx::PgPool),
}

/// Options for opening a database.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// `sqlite://path/to/file.db` or `postgres://…`.
    pub url: String,
    /// Maximum pooled connections (reads, for SQLite).
    pub max_connections: u32,
    /// PostgreSQL only: the schema to use (tests give each case its own).
    pub pg_schema: Option<String>,
}

impl Db {
    /// Opens the database named by `opts.url` and applies pending migrations.
    pub async fn connect(opts: &DbOptions) -> anyhow::Result<Db> {
        let db = if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
            let mut connect = PgConnectOptions::from_str(&opts.url)
                .context("DATABASE_URL is not a valid PostgreSQL URL")?;
            if let Some(schema) = &opts.pg_schema {
                connect = connect.options([("search_path", schema.as_str())]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                // No ping per checkout: a broken connection fails one query, while a
                // ping is a round trip on every request (measured by the card bench).
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {}", redact_url(&opts.url)))?;
            POSTGRES_MIGRATIONS
                .run(&pool)
                .await
                .context("applying PostgreSQL migrations")?;
            Db::Postgres(pool)
        } else {
            let path = opts
                .url
                .strip_prefix("sqlite://")
                .or_else(|| opts.url.strip_prefix("sqlite:"))
                .context("DATABASE_URL must start with sqlite:// or postgres://")?;
            if let Some(dir) = std::path::Path::new(path).parent()
                && !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating database directory {}", dir.display()))?;
                }
            let connect = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-32768")
                // LIKE behaves as on PostgreSQL: search keys are lower-cased by the host.
                .pragma("case_sensitive_like", "ON");
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(connect.clone())
                .await
                .with_context(|| format!("cannot open SQLite database {path}"))?;
            SQLITE_MIGRATIONS
                .run(&write)
                .await
                .context("applying SQLite migrations")?;
            // Fresh statistics for the query planner (bounded work, SQLite's advice).
            sqlx::query("PRAGMA analysis_limit = 1000").execute(&write).await?;
            sqlx::query("PRAGMA optimize = 0x10002").execute(&write).await?;
            let read = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect.read_only(true))
                .await
                .with_context(|| format!("cannot open SQLite database {path}"))?;
            Db::Sqlite { read, write }
        };
        Ok(db)
    }

    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite { .. } => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Starts a read-write transaction. Handlers own transactions: they begin, call
    /// store functions with [`Tx::conn`], and commit.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            // IMMEDIATE: take the write lock at the start. This process has one writer
            // anyway; another process on the same file (`crm admin …` beside the server)
            // then waits its turn instead of failing when a transaction that read first
            // finds the file changed under it (SQLITE_BUSY_SNAPSHOT).
            //
            // Started on a task of its own: sqlx answers a custom BEGIN and then checks
            // the connection, and a caller dropped in between (a client gone, a job
            // cancelled) would return the writer to the pool inside a transaction no one
            // owns, failing every later write. On its own task the start always
            // completes, and a transaction nobody waits for any more is rolled back.
            Db::Sqlite { write, .. } => {
                let write = write.clone();
                let started = tokio::spawn(async move { write.begin_with("BEGIN IMMEDIATE").await });
                Tx::Sqlite(started.await.map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))??)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Starts a read-only transaction: one consistent snapshot for a read of several
    /// statements (a report page and its totals). On SQLite it runs on the read pool, so
    /// it neither waits for the writer nor holds it up. Dropping it ends it.
    pub async fn snapshot(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { read, .. } => Tx::Sqlite(read.begin().await?),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
                Tx::Postgres(tx)
            }
        })
    }

    /// Takes a connection for reads outside a transaction.
    pub async fn read(&self) -> Result<ReadConn, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { read, .. } => ReadConn::Sqlite(read.acquire().await?),
            Db::Postgres(pool) => ReadConn::Postgres(pool.acquire().await?),
        })
    }

    /// Checks the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let mut c = self.read().await?;
        let conn = &mut c.conn();
        on_conn!(conn, c => sqlx::query("SELECT 1").execute(c).await.map(|_| ()))
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// An open transaction on either engine.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(tx) => Conn::Sqlite(tx),
            Tx::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// A pooled connection for reads.
pub enum ReadConn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl ReadConn {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            ReadConn::Sqlite(c) => Conn::Sqlite(c),
            ReadConn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// A borrowed connection (inside a transaction or not) on either engine.
pub enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    pub fn engine(&self) -> Engine {
        match self {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }
}

/// Runs `$body` with `$c` bound to the engine's concrete connection. The body is
/// expanded once per engine, so the same query text and binds serve both.
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => {
                let $c: &mut ::sqlx::SqliteConnection = &mut **$c;
                $body
            }
            $crate::db::Conn::Postgres($c) => {
                let $c: &mut ::sqlx::PgConnection = &mut **$c;
                $body
            }
        }
    };
}
pub use on_conn;

/// Implements sqlx `Type`/`Encode`/`Decode` for a Rust enum stored as text, on both
/// engines, through its `as_str` and `FromStr`.
#[macro_export]
macro_rules! text_enum_sql {
    ($t:ty) => {
        impl<DB: ::sqlx::Database> ::sqlx::Type<DB> for $t
        where
            String: ::sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as ::sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as ::sqlx::Type<DB>>::compatible(ty)
            }
        }
        impl<'q, DB: ::sqlx::Database> ::sqlx::Encode<'q, DB> for $t
        where
            &'q str: ::sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as ::sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                let s: &'q str = self.as_str();
                <&'q str as ::sqlx::Encode<'q, DB>>::encode_by_ref(&s, buf)
            }
        }
        impl<'r, DB: ::sqlx::Database> ::sqlx::Decode<'r, DB> for $t
        where
            String: ::sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as ::sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, ::sqlx::error::BoxDynError> {
                let s = <String as ::sqlx::Decode<'r, DB>>::decode(value)?;
                s.parse::<$t>().map_err(|e| e.to_string().into())
            }
        }
    };
}
pub use text_enum_sql;

/// Defines a `Copy` UUID id newtype usable in paths, JSON, OpenAPI and SQL on both engines.
#[macro_export]
macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize, ::sqlx::Type, ::utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub ::uuid::Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7), so ids sort by creation.
            pub fn new() -> Self {
                Self(::uuid::Uuid::now_v7())
            }
        }
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
        impl From<$name> for ::uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = ::uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}
pub use id_type;

/// Hides the password in a database URL before it is logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &creds[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// True when the error is a unique-constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A request or job dropped while its write transaction was starting (a client gone,
    /// a job cancelled) must leave the SQLite writer as it found it: the next write
    /// starts normally instead of failing "begin_with at non-zero transaction depth".
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_transaction_cancelled_while_it_starts_leaves_the_writer_usable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("crm.db").display());
        let db = Db::connect(&DbOptions { url, max_connections: 2, pg_schema: None }).await.unwrap();
        for i in 0..300u64 {
            // Cancelled at every point of its start, from before the BEGIN is sent to
            // after it has been answered.
            let mut starting = Box::pin(db.begin());
            for _ in 0..i % 7 {
                if futures::poll!(starting.as_mut()).is_ready() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(i % 11 * 20));
            }
            drop(starting);
            let tx = tokio::time::timeout(Duration::from_secs(10), db.begin())
                .await
                .expect("the writer is free again")
                .unwrap_or_else(|e| panic!("round {i}: {e}"));
            tx.commit().await.unwrap();
        }
    }
}

/// A value bound to a dynamically built statement ([`Where`]).
#[derive(Debug, Clone)]
pub enum Arg {
    Uuid(uuid::Uuid),
    Text(String),
    Int(i64),
    Bool(bool),
    Time(chrono::DateTime<chrono::Utc>),
}

/// The WHERE clause of a list with optional filters, holding only the filters given (so
/// both engines can use the index of the one that is set, which `($n IS NULL OR col =
/// $n)` prevents), and the values to bind in order. Bind with [`bind_args!`].
#[derive(Debug, Default)]
pub struct Where {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl Where {
    /// Starts with `first` (e.g. `t.tenant_id = $1`) and its value.
    pub fn new(first: &str, value: Arg) -> Where {
        let mut w = Where::default();
        w.and(first, value);
        w
    }

    /// The next placeholder's number.
    pub fn next(&self) -> usize {
        self.args.len() + 1
    }

    /// Adds `AND <condition>` whose `$?` is the next placeholder, bound to `value`.
    pub fn and(&mut self, condition: &str, value: Arg) -> &mut Where {
        let n = self.next();
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(&condition.replace("$?", &format!("${n}")));
        self.args.push(value);
        self
    }

    /// Adds the condition only when there is a value.
    pub fn and_opt<T>(&mut self, condition: &str, value: Option<T>, arg: impl FnOnce(T) -> Arg) -> &mut Where {
        if let Some(v) = value {
            self.and(condition, arg(v));
        }
        self
    }

    /// Adds a condition without a value.
    pub fn and_sql(&mut self, condition: &str) -> &mut Where {
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(condition);
        self
    }
}

/// Binds a [`Where`]'s values (then any more with `.bind`) to a query, inside `on_conn!`.
#[macro_export]
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::db::Arg::Uuid(v) => q.bind(*v),
                $crate::db::Arg::Text(v) => q.bind(v.as_str()),
                $crate::db::Arg::Int(v) => q.bind(*v),
                $crate::db::Arg::Bool(v) => q.bind(*v),
                $crate::db::Arg::Time(v) => q.bind(*v),
            };
        }
        q
    }};
}
pub use bind_args;

// ---------------------------------------------------------------------------------
// Lookups by a list of keys, bound once (the 1C sync, the lead import).

/// A key list bound once: PostgreSQL takes the array, SQLite a JSON array for `json_each`.
pub fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// The keys of a lookup by key list (see [`in_list`]).
pub enum Keys {
    Ids(Vec<uuid::Uuid>),
    Texts(Vec<String>),
}

impl Keys {
    pub fn ids<I: Copy + Into<uuid::Uuid>>(ids: &[I]) -> Keys {
        Keys::Ids(ids.iter().map(|&i| i.into()).collect())
    }

    pub fn texts<S: AsRef<str>>(texts: &[S]) -> Keys {
        Keys::Texts(texts.iter().map(|t| t.as_ref().to_string()).collect())
    }

    pub fn json(&self) -> String {
        match self {
            Keys::Ids(k) => json_list(k),
            Keys::Texts(k) => json_list(k),
        }
    }
}

/// Runs `sql` (`$1` the tenant, `$2` the key list of its [`in_list`]) and returns its rows.
pub async fn fetch_keyed<T>(c: &mut Conn<'_>, sql: &str, tenant: impl Into<uuid::Uuid>, keys: Keys) -> sqlx::Result<Vec<T>>
where
    T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
{
    let tenant: uuid::Uuid = tenant.into();
    match (c, keys) {
        (Conn::Postgres(c), Keys::Ids(k)) => sqlx::query_as(sql).persistent(false).bind(tenant).bind(k).fetch_all(&mut **c).await,
        (Conn::Postgres(c), Keys::Texts(k)) => sqlx::query_as(sql).persistent(false).bind(tenant).bind(k).fetch_all(&mut **c).await,
        (Conn::Sqlite(c), k) => sqlx::query_as(sql).bind(tenant).bind(k.json()).fetch_all(&mut **c).await,
    }
}

/// Runs the write `sql` (`$1` the tenant, `$2` the key list of its [`in_list`]).
pub async fn execute_keyed(c: &mut Conn<'_>, sql: &str, tenant: impl Into<uuid::Uuid>, keys: Keys) -> sqlx::Result<()> {
    let tenant: uuid::Uuid = tenant.into();
    match (c, keys) {
        (Conn::Postgres(c), Keys::Ids(k)) => sqlx::query(sql).persistent(false).bind(tenant).bind(k).execute(&mut **c).await.map(|_| ()),
        (Conn::Postgres(c), Keys::Texts(k)) => sqlx::query(sql).persistent(false).bind(tenant).bind(k).execute(&mut **c).await.map(|_| ()),
        (Conn::Sqlite(c), k) => sqlx::query(sql).bind(tenant).bind(k.json()).execute(&mut **c).await.map(|_| ()),
    }
}

/// SQL matching `col` against the key list bound as parameter `$n`. On PostgreSQL these
/// lookups run as unnamed statements (`persistent(false)`), planned for each call: the
/// sync grows the tables they read, and a plan cached while a table was small (one row
/// per tenant, as far as the planner knew) scans the whole tenant once it is large.
pub fn in_list(c: &Conn<'_>, col: &str, n: usize, cast: &str) -> String {
    match c {
        Conn::Postgres(_) => format!("{col} = ANY(${n}::{cast}[])"),
        Conn::Sqlite(_) if cast == "uuid" => format!("{col} IN (SELECT unhex(replace(value, '-', '')) FROM json_each(${n}))"),
        Conn::Sqlite(_) => format!("{col} IN (SELECT value FROM json_each(${n}))"),
    }
}

/// `($1, $2, …), ($n+1, …)` (PostgreSQL) or `(?, ?, …), …` (SQLite, where sqlx looks each
/// `$n` up by name, slow for thousands) for a multi-row `VALUES` of `rows` × `cols`.
pub fn values_list(engine: Engine, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            match engine {
                Engine::Sqlite => s.push('?'),
                Engine::Postgres => {
                    s.push('$');
                    s.push_str(&(r * cols + c + 1).to_string());
                }
            }
        }
        s.push(')');
    }
    s
}
