//! A real headless Chromium for page tests, driven over the DevTools protocol
//! (chromiumoxide). Chromium is Debian's `chromium` package (or `CRM_CHROMIUM`); without
//! one the browser tests are skipped with a loud banner, except under `CI=true`, where
//! that is a failure (`.ci/run` installs it).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use crate::TestApp;

static SKIP_BANNER: Once = Once::new();

/// Browsers one at a time: each test launches its own (its own profile and cookies), and
/// two at once would only fight over the cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn chromium_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CRM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn under_ci() -> bool {
    std::env::var("CI").map(|v| v == "true" || v == "1").unwrap_or(false)
}

/// The app served on a loopback socket, and a browser pointed at it.
pub struct BrowserTest {
    pub page: Page,
    pub base: String,
    browser: Browser,
    handler: JoinHandle<()>,
    server: JoinHandle<()>,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl BrowserTest {
    /// Serves `app` on 127.0.0.1 and launches Chromium at 1366×768; `None` (after the
    /// banner) when there is no browser outside CI.
    pub async fn start(app: &TestApp) -> Option<BrowserTest> {
        let Some(exe) = chromium_path() else {
            if under_ci() {
                panic!("no Chromium found (/usr/bin/chromium or CRM_CHROMIUM) under CI: the browser tests must run in CI");
            }
            SKIP_BANNER.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n{bar}\n!! No Chromium found (/usr/bin/chromium, or set CRM_CHROMIUM).\n!! The BROWSER tests of the pages are SKIPPED.\n!! Install it with `apt-get install chromium` to run them.\n{bar}\n",
                    bar = "!".repeat(78)
                );
            });
            return None;
        };
        let turn = ONE_AT_A_TIME.lock().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let router = app.router.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let profile = tempfile::tempdir().expect("profile dir");
        let config = BrowserConfig::builder()
            .chrome_executable(exe)
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(1366, 768)
            .viewport(Viewport { width: 1366, height: 768, device_scale_factor: Some(1.0), emulating_mobile: false, is_landscape: true, has_touch: false })
            .args(["disable-gpu", "disable-quic", "no-first-run", "disable-component-update", "disable-sync", "lang=ru-RU"])
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(Duration::from_secs(30))
            .build()
            .expect("browser config");
        let (browser, mut handler) = Browser::launch(config).await.expect("launching Chromium");
        let handler = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                if event.is_err() {
                    break;
                }
            }
        });
        let page = browser.new_page("about:blank").await.expect("new page");
        Some(BrowserTest { page, base, browser, handler, server, _profile: profile, _turn: turn })
    }

    /// Opens a path of the app and waits for it to load.
    pub async fn open(&self, path: &str) {
        self.page.goto(format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("opening {path}: {e}"));
        self.wait_for("document.readyState === 'complete'").await;
    }

    /// The path (and query) the browser shows.
    pub async fn path(&self) -> String {
        self.eval("location.pathname + location.search").await
    }

    /// Types into a field, as a user does: clicks it, clears it, and enters the text as
    /// keyboard input (`Input.insertText`, which takes Cyrillic as a Russian layout would).
    pub async fn fill(&self, selector: &str, text: &str) {
        let el = self.page.find_element(selector).await.unwrap_or_else(|e| panic!("no {selector}: {e}"));
        el.click().await.unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
        let sel = serde_json::to_string(selector).unwrap_or_default();
        self.eval::<bool>(&format!("(() => {{ const e = document.querySelector({sel}); e.focus(); e.select && e.select(); return true; }})()")).await;
        self.page
            .execute(chromiumoxide::cdp::browser_protocol::input::InsertTextParams::new(text))
            .await
            .unwrap_or_else(|e| panic!("typing into {selector}: {e}"));
    }

    /// Clicks an element.
    pub async fn click(&self, selector: &str) {
        let el = self.page.find_element(selector).await.unwrap_or_else(|e| panic!("no {selector}: {e}"));
        el.scroll_into_view().await.ok();
        el.click().await.unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
    }

    /// Clicks something that loads a new page, and waits for it.
    pub async fn click_and_wait(&self, selector: &str) {
        let before: String = self.eval("String(performance.timeOrigin)").await;
        self.click(selector).await;
        self.wait_for(&format!("String(performance.timeOrigin) !== '{before}' && document.readyState === 'complete'")).await;
    }

    /// Chooses an option of a select by its value (firing `change`).
    pub async fn select(&self, selector: &str, value: &str) {
        let js = format!(
            "(() => {{ const s = document.querySelector({sel}); s.value = {val}; s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value; }})()",
            sel = serde_json::to_string(selector).unwrap_or_default(),
            val = serde_json::to_string(value).unwrap_or_default()
        );
        let chosen: String = self.eval(&js).await;
        assert_eq!(chosen, value, "{selector} has no option {value}");
    }

    /// Puts a file into a file input, as the file chooser does.
    pub async fn choose_file(&self, selector: &str, file: &Path) {
        let el = self.page.find_element(selector).await.unwrap_or_else(|e| panic!("no {selector}: {e}"));
        let params = SetFileInputFilesParams::builder().files(vec![file.display().to_string()]).node_id(el.node_id).build().expect("params");
        self.page.execute(params).await.unwrap_or_else(|e| panic!("choosing a file for {selector}: {e}"));
    }

    /// Evaluates a JavaScript expression (promises are awaited) and reads its value.
    pub async fn eval<T: DeserializeOwned>(&self, js: &str) -> T {
        let r = self.page.evaluate(js).await.unwrap_or_else(|e| panic!("evaluating {js}: {e}"));
        r.into_value().unwrap_or_else(|e| panic!("reading the value of {js}: {e}"))
    }

    /// The text of the first element matching `selector` ("" when there is none).
    pub async fn text(&self, selector: &str) -> String {
        let sel = serde_json::to_string(selector).unwrap_or_default();
        self.eval(&format!("(document.querySelector({sel}) || {{innerText: ''}}).innerText")).await
    }

    /// Waits up to 15 s for a JavaScript condition to hold.
    pub async fn wait_for(&self, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let ok = match self.page.evaluate(format!("Boolean({condition})")).await {
                Ok(r) => r.into_value::<bool>().unwrap_or(false),
                Err(_) => false,
            };
            if ok {
                return;
            }
            if Instant::now() > deadline {
                let html: String = self.eval("document.body ? document.body.innerText.slice(0, 3000) : ''").await;
                panic!("waited 15 s for `{condition}`; the page says:\n{html}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A screenshot of the whole page, kept under `target/pages/` and, with
    /// `CRM_UPDATE_DOCS=1`, written to `docs/pages/` for the pages guide.
    pub async fn screenshot(&self, name: &str) {
        let png = self
            .page
            .screenshot(ScreenshotParams::builder().full_page(true).build())
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut dirs = vec![root.join("target").join("pages")];
        if std::env::var("CRM_UPDATE_DOCS").is_ok_and(|v| v == "1") {
            dirs.push(root.join("docs").join("pages"));
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir).expect("screenshot dir");
            std::fs::write(dir.join(format!("{name}.png")), &png).expect("writing a screenshot");
        }
    }

    /// Signs in through the form, as a user does, and lands on `next`.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.open("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click_and_wait("button[type=submit]").await;
        let at = self.path().await;
        assert!(!at.starts_with("/login"), "still on the sign-in page: {}", self.text("#login-error").await);
    }

    pub async fn finish(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.handler.abort();
        self.server.abort();
    }
}
