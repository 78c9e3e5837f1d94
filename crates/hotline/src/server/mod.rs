//! The HTTP API under /api/v1: the router, the server loop with its connection cap, and shutdown.
//!
//! The handlers live in one file per resource. They never block: a typical
//! ticket is routed on the request's own task (a long one on tokio's blocking
//! pool), a submission waits for the writer on a channel, and the other store
//! calls run on the blocking pool.

mod admin;
mod meta;
mod model;
mod params;
mod present;
mod routes;
mod search;
mod stats;
mod tickets;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{middleware, Router};

use crate::app::AppState;
use crate::auth;
use crate::error::ApiError;

pub(crate) use params::{filter, parse_count};
pub use routes::{Route, ROUTES};

type ApiResult<T> = Result<T, ApiError>;

/// The application's routes, ready to serve: the API under /api/v1 (every
/// route of [`ROUTES`], behind [`auth::require_token`], which reads it)
/// and the dashboard's static files.
pub fn app(state: AppState) -> Router {
    let limit = state.config.server.max_body_bytes;
    let in_flight = state.config.server.max_in_flight;
    ROUTES
        .iter()
        .fold(Router::new(), |router, r| {
            router.route(r.path, r.method_router())
        })
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
        // Whatever no route takes answers in the API's error format too.
        .fallback(no_route)
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

/// A path no route serves: 404 in the API's error format.
async fn no_route() -> ApiError {
    ApiError::not_found("no such route")
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
    // Its Retry-After (a second) is set where every error becomes a response.
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "overloaded",
        message: "the server is at capacity; retry in a second".into(),
        field: None,
        retry_after_secs: None,
    }
    .into_response()
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
