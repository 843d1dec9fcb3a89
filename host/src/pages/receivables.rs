//! "Нам должны": what clients owe by aging bucket, a server-drawn SVG chart of the
//! buckets, drill-down to a client's debts, and the XLSX download — the API's report.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use crate::AppState;
use crate::api::extract::Query;
use crate::api::pagination::PageParams;
use crate::money::Money;
use crate::receivables::aging::AgingParams;
use crate::receivables::routes::ExportParams;

use super::Filters;
use super::auth::Viewer;
use super::render::{PageResult, page, rub};

pub fn router() -> Router<AppState> {
    Router::new().route("/receivables", get(aging)).route("/receivables/export", get(export))
}

/// One bar of the chart, laid out by the server.
#[derive(Serialize)]
struct Bar {
    label: String,
    amount: String,
    y: u32,
    width: u32,
    overdue: bool,
}

const CHART_WIDTH: u32 = 460;

fn bars(report: &crate::receivables::aging::AgingReport) -> Vec<Bar> {
    let max = report.totals.buckets.iter().map(|m| m.minor()).max().unwrap_or(0).max(1);
    report
        .buckets
        .iter()
        .zip(&report.totals.buckets)
        .enumerate()
        .map(|(i, (b, amount))| Bar {
            label: b.label.clone(),
            amount: rub(*amount),
            y: 28 * u32::try_from(i).unwrap_or(0),
            width: u32::try_from(i128::from(amount.minor().max(0)) * i128::from(CHART_WIDTH) / i128::from(max)).unwrap_or(0),
            overdue: b.from_days.is_some_and(|d| d > 0),
        })
        .collect()
}

async fn aging(State(state): State<AppState>, viewer: Viewer, RawQuery(raw): RawQuery, Filters(p): Filters<AgingParams>, Filters(pg): Filters<PageParams>) -> PageResult<Response> {
    let report = crate::receivables::routes::aging_report(State(state.clone()), viewer.caller(), Query(p), Query(pg)).await?.0;
    let users = super::clients::users(&state, &viewer).await?;
    let raw = raw.unwrap_or_default();
    let keep: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes()).filter(|(k, v)| k != "cursor" && !v.trim().is_empty()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let query_without_cursor = form_urlencoded::Serializer::new(String::new()).extend_pairs(keep.iter()).finish();
    let next_url = report.next_cursor.as_ref().map(|c| {
        let mut q = form_urlencoded::Serializer::new(query_without_cursor.clone());
        q.append_pair("cursor", c);
        format!("/receivables?{}", q.finish())
    });
    let shown = |k: &str| keep.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let filter = serde_json::json!({ "segment": shown("segment"), "responsible_id": shown("responsible_id"), "sort": shown("sort") });
    let chart_height = 28 * u32::try_from(report.buckets.len()).unwrap_or(0);
    let rows: Vec<_> = report
        .items
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            v["name"] = crate::counterparties::model::display_name(&r.full_name, None).into();
            v["manager"] = r.responsible_id.and_then(|u| users.iter().find(|x| x.id == u)).map(|x| x.full_name.clone()).into();
            v
        })
        .collect();
    page(
        &viewer,
        "aging.html",
        "Нам должны",
        "receivables",
        serde_json::json!({
            "r": report, "rows": rows, "bars": bars(&report), "chart_height": chart_height, "users": users, "filter": filter,
            "export_url": format!("/receivables/export?{query_without_cursor}"), "next_url": next_url,
            "overdue_total": report.totals.overdue > Money::ZERO,
        }),
    )
}

/// The same XLSX as `GET /receivables/aging/export`, with the page's filters.
async fn export(State(state): State<AppState>, viewer: Viewer, Filters(p): Filters<AgingParams>, Filters(e): Filters<ExportParams>) -> PageResult<Response> {
    Ok(crate::receivables::routes::aging_export(State(state), viewer.caller(), Query(p), Query(e)).await?)
}
