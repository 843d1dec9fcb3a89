//! Outbound HTTP for plugins: allow-listed hosts only, checked against the resolved
//! addresses too (loopback, private and link-local addresses refused unless the admin
//! allowed that exact host), pinned to the vetted addresses (no DNS rebinding between
//! check and connect), with time and size limits and redirects followed only within
//! the allow-list. The `host` header always comes from the URL.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasData, Linker};

use super::PluginState;
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::capabilities::HttpGrant;
use crate::plugins::runtime::CallContext;
use crate::plugins::worlds::PluginError as WitError;

/// An HTTP request as the plugin sends it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: Option<u32>,
}

/// What the plugin gets back.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Limits on one request.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub max_timeout: Duration,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits { max_timeout: Duration::from_secs(10), max_body_bytes: 4 * 1024 * 1024, max_redirects: 3 }
    }
}

/// Addresses a plugin may not reach unless its host is explicitly allowed as private.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 0
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64) // 100.64/10 shared
                || v4.is_multicast()
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00 // unique local
                || (seg0 & 0xffc0) == 0xfe80 // link local
        }
    }
}

fn denied(msg: String) -> WitError {
    WitError::AccessDenied(msg)
}

/// `host` or `host:port` as granted, for a URL.
fn grant_keys(url: &reqwest::Url) -> Option<(String, String)> {
    let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let port = url.port_or_known_default()?;
    Some((host.clone(), format!("{host}:{port}")))
}

/// Checks a URL against the grant; returns the vetted socket addresses to connect to.
async fn vet(url: &reqwest::Url, grants: &HttpGrant) -> Result<(String, Vec<SocketAddr>), WitError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(denied(format!("scheme `{}` is not allowed; use http or https", url.scheme())));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(denied("credentials in the URL are not allowed; send them in a header".into()));
    }
    let (host, host_port) = grant_keys(url).ok_or_else(|| denied("the URL has no host".into()))?;
    let granted = |list: &[String]| list.iter().any(|h| h.eq_ignore_ascii_case(&host) || h.eq_ignore_ascii_case(&host_port));
    if !granted(&grants.hosts) {
        return Err(denied(format!("host `{host_port}` is not in this plugin's granted hosts")));
    }
    let private_ok = granted(&grants.private_hosts);
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| WitError::Unavailable(format!("cannot resolve `{host}`: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(WitError::Unavailable(format!("`{host}` resolves to no address")));
    }
    if !private_ok
        && let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
            return Err(denied(format!(
                "`{host}` resolves to the internal address {} (loopback or a private network): an admin allows it by adding \
                 \"{host_port}\" to the module's grants.private_hosts (beside grants.http_hosts)",
                bad.ip()
            )));
        }
    Ok((host, addrs))
}

/// Performs a plugin's request under the grant and its limits.
pub async fn fetch(req: Request, grants: &HttpGrant) -> Result<Response, WitError> {
    let limits = grants.limits;
    let mut url = reqwest::Url::parse(&req.url).map_err(|e| WitError::InvalidInput(format!("bad URL `{}`: {e}", req.url)))?;
    let method = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| WitError::InvalidInput(format!("bad method `{}`", req.method)))?;
    let timeout = req.timeout_ms.map(|ms| Duration::from_millis(ms.into())).unwrap_or(limits.max_timeout).min(limits.max_timeout);
    let mut redirects = 0;
    loop {
        let (host, addrs) = vet(&url, grants).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve_to_addrs(&host, &addrs)
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| WitError::Internal(format!("HTTP client: {e}")))?;
        let mut rb = client.request(method.clone(), url.clone());
        for (name, value) in &req.headers {
            if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("content-length") {
                continue;
            }
            rb = rb.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &req.body {
            rb = rb.body(body.clone());
        }
        let mut res = rb.send().await.map_err(|e| WitError::Unavailable(describe(&e)))?;
        let status = res.status();
        if status.is_redirection()
            && let Some(loc) = res.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()) {
                redirects += 1;
                if redirects > limits.max_redirects {
                    return Err(WitError::Unavailable(format!("more than {} redirects", limits.max_redirects)));
                }
                url = url.join(loc).map_err(|e| WitError::Unavailable(format!("bad redirect `{loc}`: {e}")))?;
                continue; // the next hop is vetted like the first
            }
        let headers = res
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| WitError::Unavailable(describe(&e)))? {
            if body.len() + chunk.len() > limits.max_body_bytes {
                return Err(WitError::Unavailable(format!("response larger than {} bytes", limits.max_body_bytes)));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(Response { status: status.as_u16(), headers, body });
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        format!("cannot connect: {e}")
    } else {
        e.to_string()
    }
}

/// The http interface's part of a store.
pub struct HttpCtx {
    call: Arc<CallContext>,
}

impl HttpCtx {
    pub fn new(call: Arc<CallContext>) -> HttpCtx {
        HttpCtx { call }
    }

    async fn fetch(&self, req: Request) -> Result<Response, WitError> {
        match &self.call.granted.http {
            Some(grant) => fetch(req, grant).await,
            None => Err(WitError::AccessDenied(format!(
                "outbound HTTP is not granted to module `{}` (no hosts in grants.http_hosts)",
                self.call.module_id
            ))),
        }
    }
}

macro_rules! http_host {
    ($version:ident) => {
        impl $version::crm::plugin::http::Host for HttpCtx {
            async fn fetch(&mut self, r: $version::crm::plugin::http::Request) -> Result<$version::crm::plugin::http::Response, $version::crm::plugin::types::Error> {
                let req = Request { method: r.method, url: r.url, headers: r.headers, body: r.body, timeout_ms: r.timeout_ms };
                HttpCtx::fetch(self, req)
                    .await
                    .map(|res| $version::crm::plugin::http::Response { status: res.status, headers: res.headers, body: res.body })
                    .map_err(Into::into)
            }
        }
    };
}
http_host!(v0_1);
http_host!(v0_2);

struct Http;
impl HasData for Http {
    type Data<'a> = &'a mut HttpCtx;
}

pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    v0_1::crm::plugin::http::add_to_linker::<_, Http>(linker, |s| &mut s.http)?;
    v0_2::crm::plugin::http::add_to_linker::<_, Http>(linker, |s| &mut s.http)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1"] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "213.180.204.3", "2a02:6b8::2:242"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
