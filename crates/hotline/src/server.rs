//! The HTTP API under /api/v1. Handlers never block: a typical ticket is
//! routed on the request's own task (a long one on tokio's blocking pool), a
//! submission waits for the writer on a channel, and the other store calls
//! run on the blocking pool.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{middleware, Extension, Json, Router};
use chrono::NaiveDate;
use hotline_store::{AuditAction, GroupBy, NewEvent, SearchHit, StatsQuery, Submitted, Ticket};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::app::{prepare, AppState, TicketInput};
use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::export::{self, Format};
use crate::pii;
use crate::search::{self, SearchParamsView, MAX_PER_PAGE};

type ApiResult<T> = Result<T, ApiError>;

/// The application's routes, ready to serve: the API under /api/v1 (every
/// route behind [`auth::require_token`], which reads [`auth::PERMISSIONS`])
/// and the dashboard's static files.
pub fn app(state: AppState) -> Router {
    let limit = state.config.server.max_body_bytes;
    let in_flight = state.config.server.max_in_flight;
    Router::new()
        .route("/api/v1/tickets", post(submit))
        .route("/api/v1/tickets/{id}", get(show))
        .route("/api/v1/tickets/{id}/topic", put(set_topic))
        .route("/api/v1/tickets/{id}/events", post(add_event))
        .route("/api/v1/classify", post(classify))
        .route("/api/v1/search", get(search))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/queue", get(crate::dispatch::queue))
        .route("/api/v1/hotspots", get(crate::dispatch::hotspots))
        .route("/api/v1/export/stats", get(export_stats))
        .route("/api/v1/export/search", get(export_search))
        .route("/api/v1/topics", get(topics))
        .route("/api/v1/model", get(model))
        .route("/api/v1/model/reload", post(reload_model))
        .route("/api/v1/model/overrides", get(model_overrides))
        .route("/api/v1/model/train", post(train_model))
        .route(
            "/api/v1/model/reroute",
            post(start_reroute).get(reroute_status),
        )
        .route("/api/v1/me", get(me))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(openapi))
        // Inner to the token check: a body is read only for a known token.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::limits::read_body,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .merge(crate::assets::routes())
        // `Router::layer` wraps each route on its own: the global layer
        // shares one semaphore between them, so the limit is the server's,
        // not each route's.
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(in_flight)),
        )
        .with_state(state)
}

/// Past `server.max_in_flight` requests the server sheds load at once.
async fn overloaded(_: tower::BoxError) -> axum::response::Response {
    // Every shed request writing a warning would flood the log exactly
    // when the server is busiest: one line per interval, with a count.
    static SHED: crate::throttle::Throttle = crate::throttle::Throttle::per_seconds(10);
    match SHED.hit() {
        Some(count) => tracing::warn!(
            count,
            interval_seconds = SHED.interval_seconds(),
            "overloaded: requests shed"
        ),
        None => tracing::debug!("overloaded: request shed"),
    }
    let mut response = ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "overloaded",
        message: "the server is at capacity; retry in a second".into(),
        field: None,
    }
    .into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    response
}

/// Serves until Ctrl-C or SIGTERM, then stops the store cleanly.
pub async fn serve(state: AppState, listen: &str) -> anyhow::Result<()> {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|e| anyhow::anyhow!("--listen {listen}: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    #[cfg(unix)]
    tokio::spawn(reload_on_hangup(state.clone()));
    serve_on(state, listener, shutdown_signal()).await
}

/// `kill -HUP` loads the installed model again, as `POST /api/v1/model/reload`.
#[cfg(unix)]
async fn reload_on_hangup(state: AppState) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: reload the model with POST /api/v1/model/reload");
        return;
    };
    while hangups.recv().await.is_some() {
        let reloaded = state.clone();
        match tokio::task::spawn_blocking(move || reloaded.reload_analyzer()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "model reload on sighup failed; the previous model stays")
            }
            Err(e) => tracing::error!(error = %e, "model reload task failed"),
        }
    }
}

/// Serves `listener` until `shutdown` completes, then lets every open
/// connection finish its request and stops the store cleanly.
///
/// Each connection is served by hyper's HTTP/1 server with a header-read
/// timeout (`server.header_read_timeout_ms`, which is also how long a
/// kept-alive connection may sit idle) and takes one of
/// `server.max_connections` places: at the cap, no new connection is
/// accepted (it waits in the kernel's queue) until one closes.
pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let config = state.config.server.clone();
    let cap = connection_cap(config.max_connections);
    tracing::info!(addr = %listener.local_addr()?, max_connections = cap, "listening");
    let store = state.store.clone();
    let router = app(state);
    let places = Arc::new(tokio::sync::Semaphore::new(cap));
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(config.header_read_timeout_ms))
        .keep_alive(true);
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        let place = tokio::select! {
            () = &mut shutdown => break,
            place = Arc::clone(&places).acquire_owned() => place?,
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it
                    // was accepted: wait a little rather than spin.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            let _place = place;
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended");
                    }
                    return;
                }
                _ = closing.changed() => {}
            }
            // Finish the request in progress, then close.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    drop(closing_tx);
    // Every connection gives its place back once its last answer is out;
    // an idle or stalled one within the header or body timeout.
    let _all = places
        .acquire_many(u32::try_from(cap).unwrap_or(u32::MAX))
        .await;
    tokio::task::spawn_blocking(move || store.shutdown()).await??;
    tracing::info!("stopped");
    Ok(())
}

/// Descriptors kept for the store, the index and the journal, whatever the
/// connections use.
const FD_RESERVE: u64 = 256;

/// Raises the soft open-file limit to the hard one, and returns the
/// connection cap: `configured`, lowered when the limit leaves fewer than
/// that many descriptors after [`FD_RESERVE`].
fn connection_cap(configured: usize) -> usize {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum || (limit.current.is_some() && limit.maximum.is_none()) {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => limit = raised,
                Err(e) => tracing::debug!(error = %e, "the open-file limit stays"),
            }
        }
        if let Some(soft) = limit.current {
            let room = usize::try_from(soft.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
            if room < configured {
                let cap = room.max(16);
                tracing::warn!(
                    open_file_limit = soft,
                    configured,
                    max_connections = cap,
                    "the open-file limit is low: fewer connections are accepted"
                );
                return cap;
            }
        }
    }
    configured
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

/// The width of search snippets, in characters (as the store cuts them).
const SNIPPET_WIDTH: usize = 60;

/// A ticket as the caller may see it: masked for a token without `pii`;
/// for one with it, shown whole and the read written to the audit log when
/// the ticket holds personal data (no audit entry, no data). Blocking.
fn present(state: &AppState, caller: &Caller, mut ticket: Ticket) -> ApiResult<Ticket> {
    hide_foreign_link(state, caller, &mut ticket)?;
    if !caller.pii() {
        pii::mask_ticket(&mut ticket);
    } else if pii::has_personal_data(&ticket) {
        state.audit.record(&[caller
            .audit(AuditAction::ReadPii, ticket.id.to_string())
            .in_district(ticket.district.as_deref())])?;
    }
    Ok(ticket)
}

/// A repeat link names another ticket: a district-limited reader sees it
/// only when it may read that ticket (links made by earlier versions could
/// cross districts). Blocking.
fn hide_foreign_link(state: &AppState, caller: &Caller, ticket: &mut Ticket) -> ApiResult<()> {
    let (Some(_), Some(linked)) = (&caller.token.district, ticket.repeat_of) else {
        return Ok(());
    };
    let visible = match state.store.get(linked) {
        Ok(found) => found.is_some_and(|t| caller.check_ticket(&t).is_ok()),
        Err(e) if e.is_unreadable() => false,
        Err(e) => return Err(e.into()),
    };
    if !visible {
        ticket.repeat_of = None;
    }
    Ok(())
}

/// Search hits as the caller may see them (see [`present`]). Blocking.
fn present_hits(
    state: &AppState,
    caller: &Caller,
    hits: &mut [SearchHit],
    words: &[String],
) -> ApiResult<()> {
    for hit in hits.iter_mut() {
        hide_foreign_link(state, caller, &mut hit.ticket)?;
    }
    if caller.pii() {
        let reads: Vec<_> = hits
            .iter()
            .filter(|h| pii::has_personal_data(&h.ticket))
            .map(|h| {
                caller
                    .audit(AuditAction::ReadPii, h.ticket.id.to_string())
                    .in_district(h.ticket.district.as_deref())
            })
            .collect();
        state.audit.record(&reads)?;
    } else {
        for hit in hits {
            pii::mask_hit(hit, words, SNIPPET_WIDTH);
        }
    }
    Ok(())
}

/// For a district-limited token, the ticket must be of its district. Blocking.
fn check_ticket_district(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<()> {
    if caller.token.district.is_some() {
        let ticket = state
            .store
            .get(id)?
            .ok_or_else(|| ApiError::not_found(format!("ticket {id} not found")))?;
        caller.check_ticket(&ticket)?;
    }
    Ok(())
}

async fn submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<TicketInput>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let Json(mut input) = body?;
    // A token limited to a district takes calls for its district: a ticket
    // for another is refused, one without a district is its district's.
    if let Some(own) = &caller.token.district {
        let given = crate::app::district_field(&state, input.district.as_deref())
            .map_err(|message| ApiError::invalid("district", message))?;
        if given.as_ref().is_some_and(|d| d != own) {
            return Err(ApiError::forbidden(format!(
                "this token is limited to {own}"
            )));
        }
        input.district = Some(own.clone());
    }
    let permit = analysis_permit(&state).await?;
    let prepared = if routes_inline(input.title.as_deref(), &input.text) {
        prepare(&state, input)
    } else {
        let state = state.clone();
        tokio::task::spawn_blocking(move || prepare(&state, input)).await?
    };
    // Waiting for the store's group commit takes no CPU: let the next
    // request route meanwhile.
    drop(permit);
    let (ticket, analysis) = prepared?;
    // The writer answers on a channel: no thread waits for the fsync.
    let (stored_tx, stored_rx) = tokio::sync::oneshot::channel();
    state.store.submit_then(vec![ticket], move |outcome| {
        let _ = stored_tx.send(outcome);
    })?;
    let mut submitted = stored_rx
        .await
        .map_err(|_| ApiError::from(hotline_store::Error::Closed))??;
    match submitted.pop() {
        Some(Submitted::Created(t)) => {
            tracing::info!(ticket = %t.id, topic = %t.topic.slug, token = %caller.token.id, "ticket accepted");
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
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_id(&id)?;
    let (ticket, status) = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let ticket = state
            .store
            .get(id)?
            .ok_or_else(|| ApiError::not_found(format!("ticket {id} not found")))?;
        caller.check_ticket(&ticket)?;
        let status = ticket.status();
        Ok((present(&state, &caller, ticket)?, status))
    })
    .await??;
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
    Extension(caller): Extension<Caller>,
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
    let token = caller.token.id;
    let ticket = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        check_ticket_district(&state, &caller, id)?;
        let ticket = state
            .store
            .set_topic(id, &change.topic, &department, change.reason)?;
        present(&state, &caller, ticket)
    })
    .await??;
    tracing::info!(ticket = %id, topic = %ticket.topic.slug, token = %token, "topic overridden");
    Ok(Json(json!({ "ticket": ticket })))
}

async fn add_event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Result<Json<NewEvent>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_id(&id)?;
    let Json(event) = body?;
    let name = event.body.name();
    let token = caller.token.id;
    let (ticket, status) = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        check_ticket_district(&state, &caller, id)?;
        let ticket = state.store.add_event(id, event)?;
        let status = ticket.status();
        Ok((present(&state, &caller, ticket)?, status))
    })
    .await??;
    tracing::info!(ticket = %id, event = name, token = %token, "event recorded");
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

/// Tickets up to this size (title and text, bytes) are routed on the
/// request's own task: about 150 µs at most, on the order of what handing
/// the text to another thread and back costs (a typical ticket of 1,000
/// bytes takes 50 µs). Longer ones go to the blocking pool, so that no
/// runtime thread is held for milliseconds.
const INLINE_ANALYSIS_BYTES: usize = 3_000;

fn routes_inline(title: Option<&str>, text: &str) -> bool {
    title.map_or(0, str::len) + text.len() <= INLINE_ANALYSIS_BYTES
}

/// A turn at routing a text (see `AppState::analysis_permits`).
async fn analysis_permit(state: &AppState) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    state
        .analysis_permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::internal("the server is shutting down"))
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
    let _permit = analysis_permit(&state).await?;
    let analysis = if routes_inline(input.title.as_deref(), &input.text) {
        state
            .analyzer()
            .analyze(input.title.as_deref(), &input.text)
    } else {
        tokio::task::spawn_blocking(move || {
            state
                .analyzer()
                .analyze(input.title.as_deref(), &input.text)
        })
        .await?
    };
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
    /// Read as text so that a value out of range is named in the answer.
    page: Option<String>,
    per_page: Option<String>,
    /// Only for exports: csv (default) or xlsx.
    format: Option<String>,
}

/// A positive whole number from a query parameter, at most `max`; anything
/// else is a 400 naming the parameter.
pub(crate) fn parse_count(
    field: &str,
    s: Option<&str>,
    default: usize,
    max: usize,
) -> ApiResult<usize> {
    let Some(v) = s.map(str::trim) else {
        return Ok(default);
    };
    match v.parse::<u64>() {
        Ok(n) if n >= 1 && n <= max as u64 => Ok(n as usize),
        _ => Err(ApiError::bad_param(
            field,
            format!("'{v}' is not a whole number from 1 to {max}"),
        )),
    }
}

fn parse_day(field: &str, s: &Option<String>) -> ApiResult<Option<NaiveDate>> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::invalid(field, format!("'{v}' is not a date (YYYY-MM-DD)"))),
    }
}

/// An optional filter: empty means none.
pub(crate) fn filter(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A district filter: a short form reads as the district it names (朝阳 →
/// 朝阳区); anything the gazetteer does not know is kept as asked (it
/// matches what was stored under that spelling before districts were
/// checked, and nothing else).
fn district_param(state: &AppState, s: Option<String>) -> Option<String> {
    filter(s).map(|d| match state.analyzer().gazetteer().canonical(&d) {
        Some(known) => known.to_owned(),
        None => d,
    })
}

/// Search parameters owned, checked against the caller's district.
#[derive(Debug, Clone)]
struct SearchRequest {
    q: String,
    topic: Option<String>,
    district: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    page: usize,
    per_page: usize,
    personal: bool,
}

impl SearchRequest {
    fn new(p: SearchParams, caller: &Caller, state: &AppState) -> ApiResult<SearchRequest> {
        Ok(SearchRequest {
            from: parse_day("from", &p.from)?,
            to: parse_day("to", &p.to)?,
            district: caller.district_filter(district_param(state, p.district))?,
            q: p.q.unwrap_or_default(),
            topic: filter(p.topic),
            kind: filter(p.kind),
            status: filter(p.status),
            page: parse_count("page", p.page.as_deref(), 1, usize::MAX)?,
            per_page: parse_count("per_page", p.per_page.as_deref(), 20, MAX_PER_PAGE)?,
            personal: caller.pii(),
        })
    }

    fn view(&self) -> SearchParamsView<'_> {
        SearchParamsView {
            q: &self.q,
            topic: self.topic.as_deref(),
            district: self.district.as_deref(),
            kind: self.kind.as_deref(),
            status: self.status.as_deref(),
            from: self.from,
            to: self.to,
            page: self.page,
            per_page: self.per_page,
            personal: self.personal,
        }
    }

    /// For the audit log: the filters of a search or an export (the query
    /// goes in its own field, masked for readers without `pii`).
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("topic", &self.topic),
            ("district", &self.district),
            ("kind", &self.kind),
            ("status", &self.status),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={v}"));
            }
        }
        if let Some(d) = self.from {
            parts.push(format!("from={d}"));
        }
        if let Some(d) = self.to {
            parts.push(format!("to={d}"));
        }
        parts.join(" ")
    }
}

async fn search(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    if p.format.is_some() {
        return Err(ApiError::invalid(
            "format",
            "format is for /api/v1/export/search",
        ));
    }
    let request = SearchRequest::new(p, &caller, &state)?;
    let page = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        state.audit.record(&[caller
            .audit(
                AuditAction::Search,
                format!("search {}", request.describe()).trim_end(),
            )
            .in_district(request.district.as_deref())
            .with_query(&request.q)])?;
        let query = search::index_query(&state, &request.view())?;
        let (mut page, query) = search::search_with_fallback(&state, query)?;
        present_hits(&state, &caller, &mut page.hits, &query.words)?;
        Ok(page)
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
    /// Only for exports: csv (default) or xlsx.
    format: Option<String>,
}

impl StatsParams {
    fn query(self, caller: &Caller, state: &AppState) -> ApiResult<StatsQuery> {
        let group_by = match self.by.as_deref() {
            None => GroupBy::Topic,
            Some(b) => GroupBy::parse(b).ok_or_else(|| {
                ApiError::invalid(
                    "by",
                    format!(
                        "'{b}': use topic, district, kind, day, week, month, assessment_month, total or department"
                    ),
                )
            })?,
        };
        if group_by == GroupBy::Department && filter(self.topic.clone()).is_some() {
            return Err(ApiError::bad_param(
                "topic",
                "department rows are not split by topic: drop topic, or group by topic",
            ));
        }
        Ok(StatsQuery {
            from: parse_day("from", &self.from)?,
            to: parse_day("to", &self.to)?,
            group_by,
            topic: filter(self.topic),
            district: caller.district_filter(district_param(state, self.district))?,
            include_undated: self.undated.unwrap_or(false),
        })
    }
}

async fn stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    if p.format.is_some() {
        return Err(ApiError::invalid(
            "format",
            "format is for /api/v1/export/stats",
        ));
    }
    let query = p.query(&caller, &state)?;
    let group_by = query.group_by;
    let rows = tokio::task::spawn_blocking(move || state.store.stats(&query)).await??;
    Ok(Json(json!({ "by": group_by, "rows": rows })))
}

fn export_format(format: Option<&str>) -> ApiResult<Format> {
    Format::parse(format).ok_or_else(|| ApiError::invalid("format", "use csv or xlsx"))
}

fn render(table: &export::Table, format: Format) -> ApiResult<Vec<u8>> {
    export::render(table, format).map_err(|e| {
        tracing::error!(error = %e, "export failed");
        ApiError::internal("the export could not be written")
    })
}

/// `GET /api/v1/export/stats`: the statistics of `/stats` as a file.
async fn export_stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(p) = params?;
    let format = export_format(p.format.as_deref())?;
    let by = p.by.clone().unwrap_or_else(|| "topic".to_owned());
    let query = p.query(&caller, &state)?;
    let stem = format!(
        "hotline-stats-{by}-{}-{}",
        query.from.map_or("all".to_owned(), |d| d.to_string()),
        query.to.map_or("all".to_owned(), |d| d.to_string()),
    );
    let token = caller.token.id;
    let bytes = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let rows = state.store.stats(&query)?;
        let table = export::stats_table(&rows, query.group_by, state.analyzer().taxonomy());
        let bytes = render(&table, format)?;
        let mut target = format!("stats.{} by={by} rows={}", format.extension(), rows.len());
        for (k, v) in [("from", query.from), ("to", query.to)] {
            if let Some(d) = v {
                target.push_str(&format!(" {k}={d}"));
            }
        }
        for (k, v) in [("topic", &query.topic), ("district", &query.district)] {
            if let Some(v) = v {
                target.push_str(&format!(" {k}={v}"));
            }
        }
        state.audit.record(&[caller
            .audit(AuditAction::Export, target)
            .in_district(query.district.as_deref())])?;
        Ok(bytes)
    })
    .await??;
    tracing::info!(token = %token, kind = "stats", format = format.extension(), "export");
    Ok(export::attachment(bytes, format, &stem))
}

/// `GET /api/v1/export/search`: every page of a search (up to
/// `export.max_rows`) as a file, masked unless the token has `pii`.
async fn export_search(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(p) = params?;
    let format = export_format(p.format.as_deref())?;
    let request = SearchRequest::new(p, &caller, &state)?;
    let token = caller.token.id;
    let (bytes, rows, skipped) = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let (mut hits, skipped) =
            search::all_hits(&state, &request.view(), state.config.export.max_rows)?;
        for hit in &mut hits {
            hide_foreign_link(&state, &caller, &mut hit.ticket)?;
        }
        if !caller.pii() {
            for hit in &mut hits {
                pii::mask_ticket(&mut hit.ticket);
            }
        }
        let table = export::search_table(&hits, state.analyzer().taxonomy());
        let bytes = render(&table, format)?;
        let target = format!(
            "search.{} rows={}{} {}",
            format.extension(),
            hits.len(),
            if caller.pii() {
                " with personal data"
            } else {
                " masked"
            },
            request.describe()
        );
        state.audit.record(&[caller
            .audit(AuditAction::Export, target.trim_end())
            .in_district(request.district.as_deref())
            .with_query(&request.q)])?;
        Ok((bytes, hits.len(), skipped))
    })
    .await??;
    tracing::info!(token = %token, kind = "search", format = format.extension(), rows, skipped_unreadable = skipped, "export");
    let stem = format!(
        "hotline-search-{}",
        hotline_store::beijing_now().format("%Y%m%d-%H%M%S")
    );
    let mut response = export::attachment(bytes, format, &stem);
    if skipped > 0 {
        // The file holds every readable hit; the header says how many were not.
        response.headers_mut().insert(
            "x-hotline-skipped-unreadable",
            axum::http::HeaderValue::from(skipped),
        );
    }
    Ok(response)
}

/// This year's topics, the districts of the gazetteer, the kinds and
/// statuses with their Chinese names, and the day the assessment month
/// starts on: everything the dashboard names, from the one place each is
/// written.
async fn topics(State(state): State<AppState>) -> impl IntoResponse {
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

/// The router model in use: its version (recorded on every ticket it
/// routes), what it was trained on, its figures, and the decision settings.
async fn model(State(state): State<AppState>) -> impl IntoResponse {
    Json(model_view(&state))
}

/// Loads the model installed in the data directory now (after `hotline
/// train --from-store` or `hotline model rollback`), without a restart;
/// requests already running finish with the old one. SIGHUP does the same.
async fn reload_model(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<impl IntoResponse> {
    let reloaded = state.clone();
    tokio::task::spawn_blocking(move || reloaded.reload_analyzer())
        .await?
        .map_err(|e| {
            tracing::error!(error = %format!("{e:#}"), "model reload failed");
            ApiError::internal("the model could not be loaded; the previous one stays in use")
        })?;
    tracing::info!(token = %caller.token.id, "model reloaded by request");
    Ok(Json(model_view(&state)))
}

#[derive(Debug, Deserialize)]
struct TrainParams {
    force: Option<String>,
}

/// One labelled set, scored by the model in use and by the new one.
#[derive(Debug, Serialize)]
struct SetComparison {
    data: String,
    rows: usize,
    current_macro_f1: f64,
    new_macro_f1: f64,
    current_routed_precision: f64,
    new_routed_precision: f64,
    current_routed_recall: f64,
    new_routed_recall: f64,
}

#[derive(Debug, Serialize)]
struct TrainingView {
    /// Installed and put in use: not worse than the current model on every
    /// set, or `force=true`.
    installed: bool,
    current_version: String,
    new_version: String,
    imported: usize,
    overridden: usize,
    trained_on: usize,
    held_out: usize,
    sets: Vec<SetComparison>,
}

/// `hotline train --from-store` inside the running server: learns from the
/// store it holds (imported topics and operators' overrides), compares with
/// the model in use on a held-out split, and installs and loads the new
/// model only when it is not worse (`force=true`: anyway). It runs on a
/// blocking thread, one at a time (a second is refused, 409), so the request
/// path keeps serving; tickets keep flowing in while it reads them. A
/// district-limited token may not retrain the city's router.
async fn train_model(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<TrainParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    let force = match p.force.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(ApiError::bad_param(
                "force",
                format!("'{v}' is not true or false"),
            ))
        }
    };
    if caller.token.district.is_some() {
        return Err(ApiError::forbidden(
            "a token limited to a district cannot retrain the router of the whole city",
        ));
    }
    let token = caller.token.id;
    let view = tokio::task::spawn_blocking(move || -> ApiResult<TrainingView> {
        let _one = match state.training.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                return Err(ApiError::conflict(
                    "a model is being trained already; try again when it is done",
                ))
            }
        };
        let failed = |e: anyhow::Error| {
            tracing::error!(error = %format!("{e:#}"), "training in the server failed");
            ApiError::internal("the training failed; the model in use stays")
        };
        let labels = crate::retrain::store_labels(&state.store).map_err(failed)?;
        let (analyzer, comparison) =
            crate::retrain::train_and_compare(&state.config, state.store.dir(), &labels, &[], &[])
                .map_err(failed)?;
        let installed = force || comparison.not_worse();
        if installed {
            crate::retrain::install(state.store.dir(), &analyzer).map_err(failed)?;
            state.reload_analyzer().map_err(failed)?;
        }
        tracing::info!(
            token = %token,
            version = %comparison.new_version,
            installed,
            "model trained in the server"
        );
        Ok(TrainingView {
            installed,
            current_version: comparison.current_version.clone(),
            new_version: comparison.new_version.clone(),
            imported: labels.imported,
            overridden: labels.overridden,
            trained_on: labels.train.len(),
            held_out: labels.held_out.len(),
            sets: comparison
                .sets
                .iter()
                .map(|(data, current, new)| SetComparison {
                    data: data.clone(),
                    rows: new.rows,
                    current_macro_f1: current.macro_f1,
                    new_macro_f1: new.macro_f1,
                    current_routed_precision: current.routed_precision,
                    new_routed_precision: new.routed_precision,
                    current_routed_recall: current.routed_recall,
                    new_routed_recall: new.routed_recall,
                })
                .collect(),
        })
    })
    .await??;
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
struct RerouteParams {
    from: Option<String>,
    to: Option<String>,
    topic: Option<String>,
}

fn lock_job(state: &AppState) -> std::sync::MutexGuard<'_, Option<crate::reroute::RerouteJob>> {
    state
        .reroute
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `hotline reroute` inside the running server: the model in use applied to
/// the stored decisions of older models, each change one writer request
/// beside the day's traffic (an operator's override made meanwhile is never
/// undone: the writer checks each ticket again). Starts a background run and
/// answers 202 at once; one run at a time (409); `GET` shows its progress.
/// Not for a district-limited token: it changes the whole city's history.
async fn start_reroute(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<RerouteParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    if caller.token.district.is_some() {
        return Err(ApiError::forbidden(
            "a token limited to a district cannot reroute the whole city's history",
        ));
    }
    let day = |name: &'static str, v: Option<String>| -> ApiResult<Option<chrono::NaiveDate>> {
        v.map(|v| {
            chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                .map_err(|_| ApiError::bad_param(name, format!("'{v}' is not a date (YYYY-MM-DD)")))
        })
        .transpose()
    };
    let from = day("from", p.from)?;
    let to = day("to", p.to)?;
    if let Some(topic) = &p.topic {
        if state.analyzer().taxonomy().get(topic).is_none() {
            return Err(ApiError::bad_param(
                "topic",
                format!("'{topic}' is not a topic of this year"),
            ));
        }
    }
    let filter = crate::reroute::RerouteFilter {
        from,
        to,
        topic: p.topic,
    };
    let job = {
        let mut current = lock_job(&state);
        if current.as_ref().is_some_and(|j| j.running) {
            return Err(ApiError::conflict(
                "a reroute is running already; GET shows its progress",
            ));
        }
        let job = crate::reroute::RerouteJob {
            running: true,
            started_at: state.clock.now().format("%Y-%m-%dT%H:%M:%S").to_string(),
            ..Default::default()
        };
        *current = Some(job.clone());
        job
    };
    tracing::info!(token = %caller.token.id, "reroute started in the server");
    let worker = state.clone();
    tokio::task::spawn_blocking(move || {
        let outcome = crate::reroute::run(&worker, &filter, |n| {
            if let Some(job) = lock_job(&worker).as_mut() {
                job.checked = n;
            }
        });
        let mut current = lock_job(&worker);
        if let Some(job) = current.as_mut() {
            job.running = false;
            job.finished_at = Some(worker.clock.now().format("%Y-%m-%dT%H:%M:%S").to_string());
            match outcome {
                Ok(summary) => {
                    tracing::info!(
                        changed = summary.changed,
                        checked = summary.checked,
                        "reroute in the server finished"
                    );
                    job.checked = summary.checked;
                    job.summary = Some(summary);
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "reroute in the server failed");
                    job.error = Some("the reroute stopped on a store error; the changes made stay, and a new run goes on where it stopped".into());
                }
            }
        }
    });
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// The latest reroute run in this server: running, how far, what it changed.
async fn reroute_status(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let job = lock_job(&state).clone();
    Ok(Json(json!({ "job": job })))
}

/// One model's decisions and overrides, all topics and per topic.
#[derive(Debug, Serialize)]
struct ModelOverrides {
    version: String,
    routed: u64,
    overridden: u64,
    rate: f64,
    topics: Vec<TopicOverrides>,
}

#[derive(Debug, Serialize)]
struct TopicOverrides {
    topic: String,
    name: String,
    routed: u64,
    overridden: u64,
    rate: f64,
}

#[derive(Debug, Serialize)]
struct OverridesView {
    /// The version in use, listed first when it has decisions.
    current: String,
    models: Vec<ModelOverrides>,
}

/// How often operators override the router, per model version and topic:
/// read from counted rows, so it costs the same at any number of tickets. A
/// district-limited token sees the decisions of its district only.
async fn model_overrides(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<impl IntoResponse> {
    let store = state.store.clone();
    let rows = tokio::task::spawn_blocking(move || store.router_decisions()).await??;
    let own = caller.token.district.as_deref();
    let report = crate::overrides::OverrideReport::from_rows(&rows, |district| {
        own.is_none_or(|own| district == Some(own))
    });
    let (analyzer, _) = state.loaded();
    let current = analyzer.router().model().version().to_owned();
    let taxonomy = analyzer.taxonomy();
    let mut models: Vec<ModelOverrides> = report
        .by_model
        .iter()
        .map(|(version, topics)| {
            let total = report.total(version);
            ModelOverrides {
                version: version.clone(),
                routed: total.routed,
                overridden: total.overridden,
                rate: total.rate(),
                topics: topics
                    .iter()
                    .map(|(slug, c)| TopicOverrides {
                        topic: slug.clone(),
                        name: taxonomy
                            .get(slug)
                            .map_or_else(|| slug.clone(), |t| t.name.clone()),
                        routed: c.routed,
                        overridden: c.overridden,
                        rate: c.rate(),
                    })
                    .collect(),
            }
        })
        .collect();
    models.sort_by_key(|m| m.version != current);
    Ok(Json(OverridesView { current, models }))
}

fn model_view(state: &AppState) -> serde_json::Value {
    let (analyzer, source) = state.loaded();
    let router = analyzer.router();
    let config = router.config();
    json!({
        "version": router.model().version(),
        "info": router.model().info(),
        "source": source,
        "decision": {
            "topic_threshold": config.topic_threshold,
            "min_confidence": config.min_confidence,
            "other_bias": config.other_bias,
            "calibration": config.calibration,
        },
    })
}

/// Who the token is: the dashboard shows the tabs its role may use.
async fn me(Extension(caller): Extension<Caller>) -> impl IntoResponse {
    let t = &caller.token;
    Json(json!({
        "name": t.name,
        "role": t.role,
        "pii": t.pii,
        "district": t.district,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    limit: Option<String>,
}

/// The newest audit entries the caller may read, newest first (default
/// 100, at most 1000): its district's only when it is limited to one, with
/// personal data masked when it has no `pii`.
async fn audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    let limit = match p.limit.as_deref().map(str::trim) {
        None => 100,
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| ApiError::bad_param("limit", format!("'{v}' is not a whole number")))?
            .clamp(1, 1000) as usize,
    };
    let entries = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let entries = state.audit.recent_where(limit, |e| caller.may_read(e))?;
        Ok(entries
            .into_iter()
            .map(|e| caller.audit_view(e))
            .collect::<Vec<_>>())
    })
    .await??;
    Ok(Json(json!({ "entries": entries })))
}

/// The tokens within the caller's limits.
async fn list_tokens(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<impl IntoResponse> {
    let tokens = tokio::task::spawn_blocking(move || state.tokens.list(caller.issuer())).await??;
    Ok(Json(json!({ "tokens": tokens })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    role: String,
    #[serde(default)]
    pii: bool,
    district: Option<String>,
    name: Option<String>,
}

/// Creates a token; its secret is in this answer only.
async fn create_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<TokenInput>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let Json(input) = body?;
    let new = auth::new_token(
        &input.role,
        input.pii,
        input.district,
        input.name,
        state.analyzer().gazetteer(),
    )?;
    let (record, secret) = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let (record, secret) = state.tokens.create(new, caller.issuer())?;
        state.audit.record(&[caller
            .audit(AuditAction::TokenCreated, auth::describe_token(&record))
            .in_district(record.district.as_deref())])?;
        Ok((record, secret))
    })
    .await??;
    tracing::info!(token = %record.id, role = %record.role, "token created");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": secret, "record": record })),
    ))
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::invalid("id", format!("'{id}' is not a token id")))?;
    let record = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let record = state
            .tokens
            .revoke(id, caller.issuer())?
            .ok_or_else(|| ApiError::not_found(format!("token {id} not found")))?;
        state.audit.record(&[caller
            .audit(AuditAction::TokenRevoked, auth::describe_token(&record))
            .in_district(record.district.as_deref())])?;
        Ok(record)
    })
    .await??;
    tracing::info!(token = %record.id, "token revoked");
    Ok(Json(json!({ "record": record })))
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
