//! A browser-like client of the pages for HTTP-level tests: keeps the session cookie,
//! sends forms with the CSRF token the last page carried, and does not follow redirects
//! (tests look at them).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A page response.
#[derive(Debug)]
pub struct PageResp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl PageResp {
    /// Where a redirect points.
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: StatusCode) -> PageResp {
        assert_eq!(self.status, status, "unexpected status; body: {}", &self.body[..self.body.len().min(3000)]);
        self
    }

    /// The CSRF token the page carries (`data-csrf` on the body, or a `_csrf` field).
    pub fn csrf(&self) -> Option<String> {
        for marker in ["data-csrf=\"", "name=\"_csrf\" value=\""] {
            if let Some(i) = self.body.find(marker) {
                let rest = &self.body[i + marker.len()..];
                return rest.split('"').next().map(str::to_owned);
            }
        }
        None
    }
}

/// One browser: a cookie jar of one session.
#[derive(Clone)]
pub struct PageClient {
    router: Router,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl PageClient {
    pub fn new(router: Router) -> PageClient {
        PageClient { router, cookie: None, csrf: None }
    }

    pub async fn send(&mut self, req: Request<Body>) -> PageResp {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        if let Some(set) = headers.get(header::SET_COOKIE).and_then(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or_default().to_string();
            self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
        let bytes = res.into_body().collect().await.expect("body").to_bytes().to_vec();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        let r = PageResp { status, headers, body };
        if let Some(t) = r.csrf() {
            self.csrf = Some(t);
        }
        r
    }

    fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, "crm.test");
        if let Some(c) = &self.cookie {
            b = b.header(header::COOKIE, c.clone());
        }
        b
    }

    pub async fn get(&mut self, path: &str) -> PageResp {
        let req = self.request(Method::GET, path).body(Body::empty()).expect("request");
        self.send(req).await
    }

    /// Posts a form as a browser does; the CSRF token of the last page is added unless
    /// `pairs` carries one.
    pub async fn post_form(&mut self, path: &str, pairs: &[(&str, &str)]) -> PageResp {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        if !pairs.iter().any(|(k, _)| *k == "_csrf")
            && let Some(t) = &self.csrf
        {
            ser.append_pair("_csrf", t);
        }
        for (k, v) in pairs {
            ser.append_pair(k, v);
        }
        let req = self
            .request(Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(ser.finish()))
            .expect("request");
        self.send(req).await
    }

    /// Signs in with the form; panics unless it redirects (a session cookie set).
    pub async fn sign_in(&mut self, email: &str, password: &str) {
        let r = self.post_form("/login", &[("email", email), ("password", password), ("next", "/tasks")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "sign-in failed: {}", &r.body[..r.body.len().min(2000)]);
        assert!(self.cookie.is_some(), "no session cookie after sign-in");
        let page = self.get("/tasks").await;
        assert_eq!(page.status, StatusCode::OK);
    }
}
