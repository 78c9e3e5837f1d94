//! What needs no resource: health, the API document, and the names the dashboard shows (topics, districts, kinds, statuses).

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use hotline_classifier::Topic;
use hotline_store::{Kind, Status};
use serde::Serialize;

use crate::app::AppState;

pub(super) async fn health() -> impl IntoResponse {
    Json(Health { status: "ok" })
}

pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::openapi::text(),
    )
}

/// This year's topics, the districts of the gazetteer, the kinds and
/// statuses with their Chinese names, and the day the assessment month
/// starts on: everything the dashboard names, from the one place each is
/// written.
pub(super) async fn topics(State(state): State<AppState>) -> impl IntoResponse {
    let analyzer = state.analyzer();
    let taxonomy = analyzer.taxonomy();
    Json(Names {
        year: taxonomy.year,
        topics: taxonomy.topics(),
        districts: analyzer.gazetteer().districts(),
        kinds: Kind::ALL
            .iter()
            .map(|k| Named {
                value: k.as_str(),
                name: k.zh(),
            })
            .collect(),
        statuses: Status::ALL
            .iter()
            .map(|s| Named {
                value: s.as_str(),
                name: s.zh(),
            })
            .collect(),
        assessment_month_start_day: state.config.store.rates.assessment_month_start_day,
    })
    .into_response()
}

/// `GET /health`.
#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
}

/// `GET /topics`: the names the dashboard shows.
#[derive(Debug, Serialize)]
struct Names<'a> {
    year: u16,
    topics: &'a [Topic],
    districts: &'a [String],
    kinds: Vec<Named>,
    statuses: Vec<Named>,
    assessment_month_start_day: u32,
}

/// A value of the API and its Chinese name.
#[derive(Debug, Serialize)]
struct Named {
    value: &'static str,
    name: &'static str,
}
