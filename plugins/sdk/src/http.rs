//! Outbound HTTP through the host.
//!
//! Only hosts the tenant's admin allowed are reachable (the manifest's
//! `capabilities.http` asks for them), with time and size limits set by the host;
//! redirects are followed only within the allow-list. A request elsewhere fails with
//! [`Error::AccessDenied`]; connection errors, timeouts and oversized bodies fail with
//! [`Error::Unavailable`]. Pass these errors on unchanged.
//!
//! ```no_run
//! use crm_plugin_sdk::{http, Error};
//! use serde_json::json;
//!
//! fn call() -> Result<(), Error> {
//!     // A full request.
//!     let response = http::fetch(&http::Request::new("GET", "https://api.example.ru/v1/ping")
//!         .header("Accept", "text/plain")
//!         .timeout_ms(5_000))?;
//!     let _text = response.text();
//!
//!     // JSON in, status and body bytes out.
//!     let (status, body) = http::post_json(
//!         "https://api.example.ru/v1/find",
//!         &[("Authorization", "Token …")],
//!         &json!({ "query": "7719402047" }),
//!     )?;
//!     # let _ = (status, body);
//!     Ok(())
//! }
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::notification_channel::crm::plugin::http as wit;
use crate::Error;

/// An HTTP request: `method`, absolute `url`, `headers`, optional `body` and
/// `timeout_ms` (capped by the host). The host sets `Host` from the URL.
///
/// Build one with [`Request::new`] and the builder methods, or as a struct literal.
pub use wit::Request;

/// An HTTP response: `status`, `headers` and the whole `body`.
pub use wit::Response;

/// Sends a request and returns the response, whatever its status.
pub fn fetch(request: &Request) -> Result<Response, Error> {
    wit::fetch(request)
}

/// Sends a `GET` with the given headers.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Response, Error> {
    let mut request = Request::new("GET", url);
    for &(name, value) in headers {
        request = request.header(name, value);
    }
    fetch(&request)
}

/// Sends a `POST` with `body` serialized as JSON and returns the status and the
/// response body, whatever the status.
///
/// Adds `Content-Type: application/json` and `Accept: application/json` unless
/// `headers` has them already.
pub fn post_json<B: Serialize + ?Sized>(
    url: &str,
    headers: &[(&str, &str)],
    body: &B,
) -> Result<(u16, Vec<u8>), Error> {
    let body = serde_json::to_vec(body)
        .map_err(|e| Error::Internal(format!("cannot serialize the request body: {e}")))?;
    let mut request = Request::new("POST", url).body(body);
    for &(name, value) in headers {
        request = request.header(name, value);
    }
    for (name, value) in [
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ] {
        if !request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            request = request.header(name, value);
        }
    }
    let response = fetch(&request)?;
    Ok((response.status, response.body))
}

impl Request {
    /// A request with no headers, no body and the host's default time limit.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout_ms: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// Sets the time limit in milliseconds (the host caps it).
    pub fn timeout_ms(mut self, timeout_ms: u32) -> Request {
        self.timeout_ms = Some(timeout_ms);
        self
    }
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced by `�`).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`; [`Error::Unavailable`] saying what is wrong
    /// when it does not parse.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::Unavailable(format!("the response body is not the expected JSON: {e}"))
        })
    }
}
