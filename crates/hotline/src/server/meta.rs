//! What needs no resource: health, the API document, and the names the dashboard shows (topics, districts, kinds, statuses).

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::app::AppState;

pub(super) async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("../openapi.json"),
    )
}

/// This year's topics, the districts of the gazetteer, the kinds and
/// statuses with their Chinese names, and the day the assessment month
/// starts on: everything the dashboard names, from the one place each is
/// written.
pub(super) async fn topics(State(state): State<AppState>) -> impl IntoResponse {
    let analyzer = state.analyzer();
    let taxonomy = analyzer.taxonomy();
    let kinds: Vec<_> = hotline_store::Kind::ALL
        .iter()
        .map(|k| json!({ "value": k.as_str(), "name": k.zh() }))
        .collect();
    let statuses: Vec<_> = hotline_store::Status::ALL
        .iter()
        .map(|s| json!({ "value": s.as_str(), "name": s.zh() }))
        .collect();
    Json(json!({
        "year": taxonomy.year,
        "topics": taxonomy.topics(),
        "districts": analyzer.gazetteer().districts(),
        "kinds": kinds,
        "statuses": statuses,
        "assessment_month_start_day": state.config.store.rates.assessment_month_start_day,
    }))
}
