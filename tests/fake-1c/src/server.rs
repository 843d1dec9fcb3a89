//! [`FakeOneC`]: the HTTP server speaking 1C's standard OData interface.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::json;
use crate::{EntitySet, Filter, Select, Source};

/// The `$metadata` document served: verbatim excerpts of a real УТ 11 base's metadata
/// (it describes `Catalog_Контрагенты` and `Document_РеализацияТоваровУслуг` only).
pub const METADATA_XML: &str = include_str!("../fixtures/1c-ut11-metadata-excerpt.edmx.xml");

/// The text of 1C's internal error (code `-1`), as a real base answers it.
pub const INTERNAL_ERROR: &str = "Произошла внутренняя ошибка OData сервиса. Обратитесь к администратору.";

/// `odata.error` codes. Only `-1` is sourced; the others are SYNTHETIC (see the format
/// document).
pub mod codes {
    /// Internal error (HTTP 500), also used for injected failures.
    pub const INTERNAL: &str = "-1";
    /// An unknown entity set or record (HTTP 404).
    pub const NOT_FOUND: &str = "6";
    /// An unknown property in `$select` or `$filter` (HTTP 400).
    pub const UNKNOWN_PROPERTY: &str = "9";
    /// A malformed or unsupported query option (HTTP 400).
    pub const BAD_QUERY: &str = "14";
}

/// The infobase name and the one user the server accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The publication name in the URL (`/<infobase>/odata/standard.odata/`).
    pub infobase: String,
    /// The 1C user name (HTTP Basic).
    pub user: String,
    /// Its password.
    pub password: String,
}

impl Default for Options {
    /// `demo` / `odata` / `secret`.
    fn default() -> Options {
        Options { infobase: "demo".into(), user: "odata".into(), password: "secret".into() }
    }
}

/// A fault to inject: the next `times` list requests to `set` (only those with
/// `$skip` = `at_skip`, when given) answer HTTP `status` with 1C's internal-error body
/// (code `-1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub set: EntitySet,
    pub at_skip: Option<usize>,
    pub status: u16,
    pub times: usize,
}

impl Failure {
    /// The next list request to `set`, whatever its `$skip`, answers `status`.
    pub fn once(set: EntitySet, status: u16) -> Failure {
        Failure { set, at_skip: None, status, times: 1 }
    }
}

/// One request the server answered (after authentication), for tests to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The entity set, for a list or element request.
    pub set: Option<EntitySet>,
    /// The decoded path.
    pub path: String,
    /// The decoded query options, in order.
    pub options: Vec<(String, String)>,
    /// The HTTP status answered.
    pub status: u16,
}

impl LoggedRequest {
    /// The (last) value of query option `name` (`"$filter"`, say).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A running fake 1C base. Dropping it stops the server.
pub struct FakeOneC {
    /// `http://127.0.0.1:PORT/<infobase>/odata/standard.odata/`
    pub base_url: String,
    /// `127.0.0.1:PORT`, as a plugin's network grant names it.
    pub host: String,
    /// The bound address.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

const LOG_CAPACITY: usize = 10_000;
const SCAN_CACHE_CAPACITY: usize = 256;

struct Shared {
    opts: Options,
    base_url: String,
    /// The decoded path prefix, `/<infobase>/odata/standard.odata`.
    base_path: String,
    current: RwLock<Arc<Current>>,
    failures: Mutex<Vec<Failure>>,
    requests: AtomicU64,
    requests_per_set: [AtomicU64; 7],
    /// Milliseconds each list request to a set waits before it is answered.
    latency_ms: [AtomicU64; 7],
    log: Mutex<VecDeque<LoggedRequest>>,
    /// Sets this base does not publish (answered as unknown, left out of the service
    /// document), as when an admin did not tick them in 1C's OData settings.
    unpublished: Mutex<std::collections::HashSet<EntitySet>>,
}

/// A source and what has been learnt scanning it; replaced as a whole.
struct Current {
    source: Arc<dyn Source>,
    /// Per (set, `$filter` text): the matching indexes found so far and where the scan
    /// stopped, so paging through a filtered set with growing `$skip` scans each record
    /// once in all rather than `skip` records per page.
    scans: Mutex<HashMap<ScanKey, Arc<Mutex<Scan>>>>,
}

/// A set and a `$filter` text.
type ScanKey = (EntitySet, String);

struct Scan {
    matches: Vec<u32>,
    next: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeOneC {
    /// Serves `source` on a free loopback port (127.0.0.1:0) from a spawned task.
    pub async fn start(source: Arc<dyn Source>, opts: Options) -> anyhow::Result<FakeOneC> {
        FakeOneC::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), source, opts).await
    }

    /// Serves `source` on `addr`.
    pub async fn start_on(addr: SocketAddr, source: Arc<dyn Source>, opts: Options) -> anyhow::Result<FakeOneC> {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let ip = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
        let host =
            if addr.is_ipv6() && !addr.ip().is_unspecified() { format!("[{ip}]:{}", addr.port()) } else { format!("{ip}:{}", addr.port()) };
        let base_url = format!("http://{host}/{}/odata/standard.odata/", encode_segment(&opts.infobase));
        let shared = Arc::new(Shared {
            base_path: format!("/{}/odata/standard.odata", opts.infobase),
            opts,
            base_url: base_url.clone(),
            current: RwLock::new(Arc::new(Current::new(source))),
            failures: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            latency_ms: Default::default(),
            requests_per_set: Default::default(),
            log: Mutex::new(VecDeque::new()),
            unpublished: Mutex::new(Default::default()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                eprintln!("fake 1C server stopped: {e}");
            }
        });
        Ok(FakeOneC { base_url, host, addr, shared, shutdown: Some(tx), task })
    }

    /// The accepted infobase and credentials.
    pub fn options(&self) -> &Options {
        &self.shared.opts
    }

    /// How many list requests (`GET <base_url><EntitySet>`) arrived with valid
    /// credentials and a known set, whatever they were answered (errors and injected
    /// failures count).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// [`requests`](FakeOneC::requests) to one set.
    pub fn requests_to(&self, set: EntitySet) -> u64 {
        self.shared.requests_per_set[set.index()].load(Ordering::Relaxed)
    }

    /// The last (up to 10 000) authenticated requests, oldest first.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).iter().cloned().collect()
    }

    /// Serves `source` from now on (requests in flight finish on the old one).
    pub fn replace_source(&self, source: Arc<dyn Source>) {
        *self.shared.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(Current::new(source));
    }

    /// The source being served.
    pub fn source(&self) -> Arc<dyn Source> {
        self.shared.current().source.clone()
    }

    /// Queues a fault (see [`Failure`]); faults are matched in the order queued.
    pub fn fail(&self, failure: Failure) {
        lock(&self.shared.failures).push(failure);
    }

    /// Makes every list request to `set` wait `latency` before it is answered (a slow
    /// 1C); zero answers at once again.
    pub fn set_latency(&self, set: EntitySet, latency: std::time::Duration) {
        self.shared.latency_ms[set.index()].store(u64::try_from(latency.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// [`set_latency`](FakeOneC::set_latency) for every set.
    pub fn set_latency_all(&self, latency: std::time::Duration) {
        for set in EntitySet::ALL {
            self.set_latency(set, latency);
        }
    }

    /// Stops publishing `set`: requests for it are answered as for an entity set the base
    /// does not have (HTTP 404, code 6), as a real base answers when the set is not
    /// ticked in its standard OData interface settings.
    pub fn unpublish(&self, set: EntitySet) {
        lock(&self.shared.unpublished).insert(set);
    }

    /// Publishes `set` again.
    pub fn publish(&self, set: EntitySet) {
        lock(&self.shared.unpublished).remove(&set);
    }

    /// Drops every queued fault.
    pub fn clear_failures(&self) {
        lock(&self.shared.failures).clear();
    }

    /// The body to paste into the CRM's module settings for the `accounting-1c` plugin.
    pub fn settings_json(&self) -> serde_json::Value {
        serde_json::json!({
            "version": "0.2.0",
            "settings": {"base_url": self.base_url, "username": self.shared.opts.user},
            "secrets": {"password": self.shared.opts.password},
            "grants": {"http_hosts": [self.host], "private_hosts": [self.host]},
        })
    }

    /// [`settings_json`](FakeOneC::settings_json) as one line, in the order a person reads
    /// it (`version`, `settings`, `secrets`, `grants`).
    pub fn settings_body(&self) -> String {
        let s = |v: &str| serde_json::Value::from(v).to_string();
        format!(
            "{{\"version\":\"0.2.0\",\"settings\":{{\"base_url\":{},\"username\":{}}},\"secrets\":{{\"password\":{}}},\
             \"grants\":{{\"http_hosts\":[{host}],\"private_hosts\":[{host}]}}}}",
            s(&self.base_url),
            s(&self.shared.opts.user),
            s(&self.shared.opts.password),
            host = s(&self.host),
        )
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Keep-alive connections would hold a graceful shutdown open: don't wait long.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.task).await;
        self.task.abort();
    }
}

impl Drop for FakeOneC {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

impl Current {
    fn new(source: Arc<dyn Source>) -> Current {
        Current { source, scans: Mutex::new(HashMap::new()) }
    }

    /// The indexes of page [skip, skip + top) of `set` (filtered), and the total count
    /// when `count`.
    fn page(&self, set: EntitySet, filter: Option<&(String, Filter)>, skip: usize, top: Option<usize>, count: bool) -> (Vec<usize>, usize) {
        let len = self.source.len(set);
        let Some((text, filter)) = filter else {
            let start = skip.min(len);
            let end = top.map_or(len, |t| start.saturating_add(t).min(len));
            return ((start..end).collect(), len);
        };
        let scan = {
            let mut scans = lock(&self.scans);
            if scans.len() >= SCAN_CACHE_CAPACITY {
                scans.clear();
            }
            scans.entry((set, text.clone())).or_insert_with(|| Arc::new(Mutex::new(Scan { matches: Vec::new(), next: 0 }))).clone()
        };
        let mut scan = lock(&scan);
        let want = if count { usize::MAX } else { skip.saturating_add(top.unwrap_or(usize::MAX)) };
        while scan.matches.len() < want && scan.next < len {
            let i = scan.next;
            if self.source.matches(set, i, filter) {
                scan.matches.push(i as u32);
            }
            scan.next += 1;
        }
        let n = scan.matches.len();
        let start = skip.min(n);
        let end = top.map_or(n, |t| start.saturating_add(t).min(n));
        (scan.matches[start..end].iter().map(|&i| i as usize).collect(), n)
    }
}

impl Shared {
    fn current(&self) -> Arc<Current> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
        let Some((scheme, encoded)) = value.trim().split_once(' ') else { return false };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
        let Ok(decoded) = String::from_utf8(decoded) else { return false };
        decoded.split_once(':').is_some_and(|(u, p)| u == self.opts.user && p == self.opts.password)
    }

    /// The status of an injected failure for this request, if one is due.
    fn take_failure(&self, set: EntitySet, skip: usize) -> Option<u16> {
        let mut failures = lock(&self.failures);
        let i = failures.iter().position(|f| f.set == set && f.times > 0 && f.at_skip.is_none_or(|s| s == skip))?;
        let status = failures[i].status;
        failures[i].times -= 1;
        if failures[i].times == 0 {
            failures.remove(i);
        }
        Some(status)
    }

    fn log(&self, entry: LoggedRequest) {
        let mut log = lock(&self.log);
        if log.len() >= LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }
}

/// An error answered as `{"odata.error": …}`.
struct ODataError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ODataError {
    fn bad_query(message: impl Into<String>) -> ODataError {
        ODataError { status: StatusCode::BAD_REQUEST, code: codes::BAD_QUERY, message: message.into() }
    }

    fn unknown_property(set: EntitySet, name: &str) -> ODataError {
        ODataError {
            status: StatusCode::BAD_REQUEST,
            code: codes::UNKNOWN_PROPERTY,
            message: format!("Не найдено свойство \"{name}\" у сущности \"StandardODATA.{set}\""),
        }
    }

    fn not_found(message: String) -> ODataError {
        ODataError { status: StatusCode::NOT_FOUND, code: codes::NOT_FOUND, message }
    }
}

impl IntoResponse for ODataError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"odata.error": {"code": self.code, "message": {"lang": "ru", "value": self.message}}});
        json_response(self.status, body.to_string().into_bytes())
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=utf-8"));
    r
}

fn xml_response(body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml;charset=utf-8"));
    r
}

async fn handle(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if !shared.authorized(&headers) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"1C\""));
        return r;
    }
    let path = percent_decode(uri.path()).unwrap_or_else(|| uri.path().to_owned());
    let options: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let mut set = None;
    let response = if method != Method::GET && method != Method::HEAD {
        let mut r = ODataError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: codes::BAD_QUERY,
            message: format!("Метод {method} не поддерживается (this fake serves reads only)"),
        }
        .into_response();
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        r
    } else {
        route(&shared, &path, &options, &mut set).unwrap_or_else(IntoResponse::into_response)
    };
    if let Some(s) = set {
        let ms = shared.latency_ms[s.index()].load(Ordering::Relaxed);
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }
    shared.log(LoggedRequest { set, path, options, status: response.status().as_u16() });
    response
}

fn route(shared: &Shared, path: &str, options: &[(String, String)], logged_set: &mut Option<EntitySet>) -> Result<Response, ODataError> {
    let Some(rest) = path.strip_prefix(shared.base_path.as_str()) else {
        return Ok((StatusCode::NOT_FOUND, "not a 1C OData publication").into_response());
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return service_document(shared, options);
    }
    if rest == "$metadata" {
        return Ok(xml_response(METADATA_XML.to_owned()));
    }
    if rest.contains('/') {
        return Err(ODataError::not_found(format!("Обнаружены лишние сегменты в запросе к контейнеру сущностей: {rest}")));
    }
    let (name, key) = match rest.split_once('(') {
        Some((name, key)) => {
            (name, Some(key.strip_suffix(')').ok_or_else(|| ODataError::bad_query(format!("Ошибка разбора ключа: {rest}")))?))
        }
        None => (rest, None),
    };
    let set = EntitySet::from_name(name)
        .filter(|s| !lock(&shared.unpublished).contains(s))
        .ok_or_else(|| ODataError::not_found(format!("Не найдена сущность \"{name}\"")))?;
    *logged_set = Some(set);
    let current = shared.current();
    match key {
        None => {
            shared.requests.fetch_add(1, Ordering::Relaxed);
            shared.requests_per_set[set.index()].fetch_add(1, Ordering::Relaxed);
            list(shared, &current, set, options)
        }
        Some(key) => element(shared, &current, set, key, options),
    }
}

/// The query options of a list or element request.
struct Query {
    select: Select,
    filter: Option<(String, Filter)>,
    top: Option<usize>,
    skip: usize,
    count: bool,
}

fn parse_query(source: &dyn Source, set: EntitySet, options: &[(String, String)]) -> Result<Query, ODataError> {
    let mut q = Query { select: Select::all(), filter: None, top: None, skip: 0, count: false };
    let mut format = None;
    for (k, v) in options {
        match k.as_str() {
            "$format" => format = Some(v.as_str()),
            "$select" => q.select = Select::parse(v),
            "$filter" => {
                let f = Filter::parse(v).map_err(|e| ODataError::bad_query(format!("Ошибка разбора параметра $filter: {e}")))?;
                q.filter = Some((v.clone(), f));
            }
            "$orderby" => {
                let words: Vec<&str> = v.split_whitespace().collect();
                if !matches!(words.as_slice(), ["Ref_Key"] | ["Ref_Key", "asc"]) {
                    return Err(ODataError::bad_query(format!(
                        "Неподдерживаемое значение $orderby: {v} (this fake orders by Ref_Key only)"
                    )));
                }
            }
            "$top" => q.top = Some(number(k, v)?),
            "$skip" => q.skip = number(k, v)?,
            "$inlinecount" => {
                q.count = match v.as_str() {
                    "allpages" => true,
                    "none" => false,
                    _ => return Err(ODataError::bad_query(format!("Неверное значение параметра $inlinecount: {v}"))),
                }
            }
            _ if k.starts_with('$') => {
                return Err(ODataError::bad_query(format!("Параметр {k} не поддерживается (not implemented by this fake)")));
            }
            _ => {}
        }
    }
    match format {
        Some(f) if f == "json" || f.starts_with("application/json") => {}
        Some(f) => return Err(ODataError::bad_query(format!("Неподдерживаемый формат: {f} (this fake serves $format=json only)"))),
        None => return Err(ODataError::bad_query("Не указан параметр $format (this fake serves $format=json only)")),
    }
    if let Some(names) = q.select.names()
        && let Some(bad) = names.iter().find(|n| !source.has_property(set, n))
    {
        return Err(ODataError::unknown_property(set, bad));
    }
    if let Some((_, f)) = &q.filter
        && let Some(bad) = f.properties().into_iter().find(|n| !source.has_property(set, n))
    {
        return Err(ODataError::unknown_property(set, bad));
    }
    Ok(q)
}

fn number(name: &str, v: &str) -> Result<usize, ODataError> {
    v.trim().parse().map_err(|_| ODataError::bad_query(format!("Неверное значение параметра {name}: {v}")))
}

fn list(shared: &Shared, current: &Current, set: EntitySet, options: &[(String, String)]) -> Result<Response, ODataError> {
    let source = current.source.as_ref();
    let q = parse_query(source, set, options)?;
    if let Some(status) = shared.take_failure(set, q.skip) {
        return Err(ODataError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: codes::INTERNAL,
            message: INTERNAL_ERROR.into(),
        });
    }
    let (indexes, count) = current.page(set, q.filter.as_ref(), q.skip, q.top, q.count);
    let mut out = Vec::with_capacity(128 + indexes.len() * 512);
    out.extend_from_slice(b"{\"odata.metadata\":");
    json::write_fmt_str(&mut out, format_args!("{}$metadata#{}", shared.base_url, set.name()));
    if q.count {
        out.extend_from_slice(b",\"odata.count\":\"");
        json::write_u64(&mut out, count as u64);
        out.push(b'"');
    }
    out.extend_from_slice(b",\"value\":[");
    source.write_records(set, &indexes, &q.select, &mut out);
    out.extend_from_slice(b"]}");
    Ok(json_response(StatusCode::OK, out))
}

fn element(shared: &Shared, current: &Current, set: EntitySet, key: &str, options: &[(String, String)]) -> Result<Response, ODataError> {
    let source = current.source.as_ref();
    let q = parse_query(source, set, options)?;
    let key = key.strip_prefix("Ref_Key=").unwrap_or(key);
    let guid = key
        .strip_prefix("guid'")
        .and_then(|k| k.strip_suffix('\''))
        .ok_or_else(|| ODataError::bad_query(format!("Ошибка разбора ключа: {key}")))?;
    let index = source
        .position(set, &guid.to_ascii_lowercase())
        .or_else(|| source.position(set, guid))
        .ok_or_else(|| ODataError::not_found(format!("Не найден объект {set}(guid'{guid}')")))?;
    let mut record = Vec::new();
    source.write_record(set, index, &q.select, &mut record);
    let mut out = Vec::with_capacity(record.len() + 128);
    out.extend_from_slice(b"{\"odata.metadata\":");
    json::write_fmt_str(&mut out, format_args!("{}$metadata#{}/@Element", shared.base_url, set.name()));
    if record.len() > 2 {
        out.push(b',');
    }
    out.extend_from_slice(record.get(1..).unwrap_or(b"}"));
    Ok(json_response(StatusCode::OK, out))
}

fn service_document(shared: &Shared, options: &[(String, String)]) -> Result<Response, ODataError> {
    let json = options.iter().any(|(k, v)| k == "$format" && (v == "json" || v.starts_with("application/json")));
    if json {
        let unpublished = lock(&shared.unpublished).clone();
        let sets: Vec<_> =
            EntitySet::ALL.iter().filter(|s| !unpublished.contains(s)).map(|s| serde_json::json!({"name": s.name(), "url": s.name()})).collect();
        let body = serde_json::json!({"odata.metadata": format!("{}$metadata", shared.base_url), "value": sets});
        return Ok(json_response(StatusCode::OK, body.to_string().into_bytes()));
    }
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<service xmlns=\"http://www.w3.org/2007/app\" \
         xmlns:atom=\"http://www.w3.org/2005/Atom\" xml:base=\"{}\"><workspace><atom:title>Default</atom:title>",
        shared.base_url
    );
    let unpublished = lock(&shared.unpublished).clone();
    for s in EntitySet::ALL.into_iter().filter(|s| !unpublished.contains(s)) {
        xml.push_str(&format!("<collection href=\"{0}\"><atom:title>{0}</atom:title></collection>", s.name()));
    }
    xml.push_str("</workspace></service>");
    Ok(xml_response(xml))
}

/// Decodes `%XX` escapes (UTF-8); `None` when malformed.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes a path segment (everything but unreserved ASCII).
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_decode_and_encode_as_utf8() {
        assert_eq!(percent_decode("/demo/Catalog_%D0%92%D0%B0%D0%BB%D1%8E%D1%82%D1%8B").as_deref(), Some("/demo/Catalog_Валюты"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(encode_segment("бух"), "%D0%B1%D1%83%D1%85");
        assert_eq!(encode_segment("demo-1"), "demo-1");
    }

    #[test]
    fn filtered_paging_scans_each_record_once_however_far_it_skips() {
        use std::sync::atomic::AtomicUsize;
        struct Counting(crate::Generated, AtomicUsize);
        impl Source for Counting {
            fn len(&self, set: EntitySet) -> usize {
                self.0.len(set)
            }
            fn has_property(&self, set: EntitySet, name: &str) -> bool {
                self.0.has_property(set, name)
            }
            fn value(&self, set: EntitySet, index: usize, name: &str) -> crate::Scalar<'_> {
                self.1.fetch_add(1, Ordering::Relaxed);
                self.0.value(set, index, name)
            }
            fn write_record(&self, set: EntitySet, index: usize, select: &Select, out: &mut Vec<u8>) {
                self.0.write_record(set, index, select, out)
            }
        }
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
        let src = Arc::new(Counting(crate::Generated::new(10, 100, 10_000, 1, today), AtomicUsize::new(0)));
        let current = Current::new(src.clone());
        let text = "ВидОперации eq 'ОплатаПокупателя'".to_owned();
        let f = (text.clone(), Filter::parse(&text).expect("filter"));
        let mut seen = 0;
        for page in 0.. {
            let (idx, _) = current.page(EntitySet::Payments, Some(&f), page * 100, Some(100), false);
            seen += idx.len();
            if idx.len() < 100 {
                break;
            }
        }
        assert_eq!(seen, 10_000 - 10_000 / 50);
        assert_eq!(src.1.load(Ordering::Relaxed), 10_000);
        let (idx, n) = current.page(EntitySet::Payments, Some(&f), 0, Some(3), true);
        assert_eq!((idx, n), (vec![0, 1, 2], 9_800));
        assert_eq!(src.1.load(Ordering::Relaxed), 10_000);
    }
}
