//! The pages' stylesheet and script, compiled into the binary (no CDN, no build step).

use axum::Router;
use axum::http::header;
use axum::routing::get;

use crate::AppState;

const CSS: &str = include_str!("../../assets/pages/app.css");
const JS: &str = include_str!("../../assets/pages/app.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/app.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], CSS) }))
        .route("/assets/app.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], JS) }))
}
