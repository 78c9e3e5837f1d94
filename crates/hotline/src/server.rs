//! The HTTP API under /api/v1. Handlers never block: routing and every store
//! call run on tokio's blocking pool.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::NaiveDate;
use hotline_store::{GroupBy, IndexQuery, NewEvent, StatsQuery, Submitted};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::app::{prepare, AppState, TicketInput};
use crate::error::ApiError;

type ApiResult<T> = Result<T, ApiError>;

/// The application's routes, ready to serve.
pub fn app(state: AppState) -> Router {
    let limit = state.config.server.max_body_bytes;
    Router::new()
        .route("/api/v1/tickets", post(submit))
        .route("/api/v1/tickets/{id}", get(show))
        .route("/api/v1/tickets/{id}/topic", put(set_topic))
        .route("/api/v1/tickets/{id}/events", post(add_event))
        .route("/api/v1/classify", post(classify))
        .route("/api/v1/search", get(search))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/topics", get(topics))
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(openapi))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves until Ctrl-C or SIGTERM, then stops the store cleanly.
pub async fn serve(state: AppState, listen: &str) -> anyhow::Result<()> {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|e| anyhow::anyhow!("--listen {listen}: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(state, listener, shutdown_signal()).await
}

pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let store = state.store.clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    tokio::task::spawn_blocking(move || store.shutdown()).await??;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}

fn parse_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::invalid("id", format!("'{id}' is not a ticket id")))
}

async fn submit(
    State(state): State<AppState>,
    body: Result<Json<TicketInput>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let Json(input) = body?;
    let result = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let (ticket, analysis) = prepare(&state, input)?;
        let submitted = state.store.submit(vec![ticket])?;
        Ok((submitted, analysis))
    })
    .await??;
    let (mut submitted, analysis) = result;
    match submitted.pop() {
        Some(Submitted::Created(t)) => {
            tracing::info!(ticket = %t.id, topic = %t.topic.slug, "ticket accepted");
            Ok((
                StatusCode::CREATED,
                Json(json!({
                    "id": t.id,
                    "topic": t.topic,
                    "department": t.department,
                    "routing": analysis.routing,
                    "district": t.district,
                    "repeat_of": t.repeat_of,
                    "status": t.status(),
                })),
            ))
        }
        Some(Submitted::Duplicate(id)) => {
            Ok((StatusCode::OK, Json(json!({ "id": id, "duplicate": true }))))
        }
        None => Err(ApiError::internal("nothing stored")),
    }
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_id(&id)?;
    let ticket = tokio::task::spawn_blocking(move || state.store.get(id)).await??;
    let ticket = ticket.ok_or_else(|| ApiError::not_found(format!("ticket {id} not found")))?;
    let status = ticket.status();
    Ok(Json(json!({ "ticket": ticket, "status": status })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicChange {
    topic: String,
    reason: Option<String>,
}

async fn set_topic(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<TopicChange>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_id(&id)?;
    let Json(change) = body?;
    let department = state.department(&change.topic).ok_or_else(|| {
        ApiError::invalid(
            "topic",
            format!("'{}' is not one of this year's topics", change.topic),
        )
    })?;
    let ticket = tokio::task::spawn_blocking(move || {
        state
            .store
            .set_topic(id, &change.topic, &department, change.reason)
    })
    .await??;
    tracing::info!(ticket = %id, topic = %ticket.topic.slug, "topic overridden");
    Ok(Json(json!({ "ticket": ticket })))
}

async fn add_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<NewEvent>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_id(&id)?;
    let Json(event) = body?;
    let name = event.body.name();
    let ticket = tokio::task::spawn_blocking(move || state.store.add_event(id, event)).await??;
    tracing::info!(ticket = %id, event = name, "event recorded");
    let status = ticket.status();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "ticket": ticket, "status": status })),
    ))
}

#[derive(Debug, Deserialize)]
struct ClassifyInput {
    text: String,
    title: Option<String>,
}

/// The router's suggestion while the operator types; nothing is stored.
async fn classify(
    State(state): State<AppState>,
    body: Result<Json<ClassifyInput>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let Json(input) = body?;
    if input.text.chars().count() > state.config.server.max_text_chars {
        return Err(ApiError::invalid("text", "text too long"));
    }
    let analysis = tokio::task::spawn_blocking(move || {
        state.analyzer.analyze(input.title.as_deref(), &input.text)
    })
    .await?;
    Ok(Json(
        json!({ "routing": analysis.routing, "district": analysis.district }),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    q: Option<String>,
    topic: Option<String>,
    district: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
}

fn parse_day(field: &str, s: &Option<String>) -> ApiResult<Option<NaiveDate>> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::invalid(field, format!("'{v}' is not a date (YYYY-MM-DD)"))),
    }
}

/// Segments the query as tickets were segmented, and builds the index query.
pub fn index_query(state: &AppState, p: &SearchParamsView<'_>) -> ApiResult<IndexQuery> {
    let seg = state.analyzer.segmenter().segment(p.q);
    let mut words: Vec<String> = seg.content_words().map(str::to_owned).collect();
    if words.is_empty() {
        words = seg.tokens.iter().map(|t| t.word.clone()).collect();
    }
    words.dedup();
    let kind = match p.kind {
        Some(k) => Some(
            hotline_store::Kind::parse(k)
                .ok_or_else(|| ApiError::invalid("kind", format!("unknown kind '{k}'")))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let ts = |d: Option<NaiveDate>| {
        d.and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp())
    };
    let per_page = p.per_page.clamp(1, 100);
    Ok(IndexQuery {
        words,
        topic: p.topic.map(str::to_owned),
        district: p.district.map(str::to_owned),
        kind,
        status: p.status.map(str::to_owned),
        from: ts(p.from),
        to: ts(p.to.and_then(|d| d.succ_opt())),
        all_words: true,
        offset: p.page.saturating_sub(1) * per_page,
        limit: per_page,
    })
}

/// Search parameters, parsed, shared by the HTTP API and the CLI.
#[derive(Debug, Clone, Copy)]
pub struct SearchParamsView<'a> {
    pub q: &'a str,
    pub topic: Option<&'a str>,
    pub district: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub status: Option<&'a str>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page: usize,
    pub per_page: usize,
}

/// Runs a search; when every word is required and nothing matches, falls back
/// to any word, so a long query still finds the closest tickets.
pub fn run_search(
    state: &AppState,
    view: &SearchParamsView<'_>,
) -> ApiResult<hotline_store::SearchPage> {
    let mut query = index_query(state, view)?;
    let page = state.store.search(&query)?;
    if page.total == 0 && query.words.len() > 1 {
        query.all_words = false;
        return Ok(state.store.search(&query)?);
    }
    Ok(page)
}

async fn search(
    State(state): State<AppState>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    let from = parse_day("from", &p.from)?;
    let to = parse_day("to", &p.to)?;
    let page = tokio::task::spawn_blocking(move || {
        let view = SearchParamsView {
            q: p.q.as_deref().unwrap_or(""),
            topic: p.topic.as_deref(),
            district: p.district.as_deref(),
            kind: p.kind.as_deref(),
            status: p.status.as_deref(),
            from,
            to,
            page: p.page.unwrap_or(1).max(1),
            per_page: p.per_page.unwrap_or(20),
        };
        run_search(&state, &view)
    })
    .await??;
    Ok(Json(page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsParams {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    topic: Option<String>,
    district: Option<String>,
    undated: Option<bool>,
}

async fn stats(
    State(state): State<AppState>,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    let group_by = match p.by.as_deref() {
        None => GroupBy::Topic,
        Some(b) => GroupBy::parse(b).ok_or_else(|| {
            ApiError::invalid(
                "by",
                format!(
                    "'{b}': use topic, district, kind, day, week, month, assessment_month or total"
                ),
            )
        })?,
    };
    let query = StatsQuery {
        from: parse_day("from", &p.from)?,
        to: parse_day("to", &p.to)?,
        group_by,
        topic: p.topic,
        district: p.district,
        include_undated: p.undated.unwrap_or(false),
    };
    let rows = tokio::task::spawn_blocking(move || state.store.stats(&query)).await??;
    Ok(Json(json!({ "by": group_by, "rows": rows })))
}

async fn topics(State(state): State<AppState>) -> impl IntoResponse {
    let taxonomy = state.analyzer.taxonomy();
    Json(json!({ "year": taxonomy.year, "topics": taxonomy.topics() }))
}

async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}
