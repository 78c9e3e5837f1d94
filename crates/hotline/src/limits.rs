//! Limits a hostile client cannot exhaust: a deadline for a request's whole
//! body, and each token's share of the requests in flight. (The global
//! in-flight limit is a layer in [`crate::server::app`]; the connection cap
//! and the header-read timeout are in [`crate::server::serve_on`].)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// How many requests with a body each token has in flight, each at most
/// `max` (`server.max_in_flight_per_token`).
#[derive(Debug)]
pub struct TokenShares {
    max: usize,
    held: Mutex<HashMap<Uuid, usize>>,
}

/// One request's place in its token's share; given back when dropped.
#[derive(Debug)]
pub struct ShareGuard {
    shares: Arc<TokenShares>,
    token: Uuid,
}

impl TokenShares {
    pub fn new(max: usize) -> Arc<TokenShares> {
        Arc::new(TokenShares {
            max,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more request of `token`, unless it holds its share.
    pub fn try_acquire(self: &Arc<Self>, token: Uuid) -> Option<ShareGuard> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let n = held.entry(token).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(ShareGuard {
            shares: Arc::clone(self),
            token,
        })
    }

    /// Requests of `token` in flight.
    pub fn held(&self, token: Uuid) -> usize {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.get(&token).copied().unwrap_or(0)
    }
}

impl Drop for ShareGuard {
    fn drop(&mut self) {
        let mut held = self
            .shares
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.token);
            }
        }
    }
}

/// For a request with a body (POST, PUT, PATCH) of an authenticated token:
/// takes a place in the token's share (429 when it holds all of it), then
/// reads the whole body within `server.body_read_timeout_ms` (408 past it)
/// and at most `server.max_body_bytes` (413), and only then hands the
/// request on. The place is held until the answer, so a token's stalled or
/// trickled bodies use up its own share, not everyone's. Runs after
/// [`crate::auth::require_token`]: an unauthenticated body is never read.
pub async fn read_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH
    ) {
        return next.run(request).await;
    }
    let token = request.extensions().get::<Caller>().map(|c| c.token.id);
    let _place = match token {
        Some(token) => match state.intake.try_acquire(token) {
            Some(place) => Some(place),
            None => {
                tracing::debug!(token = %token, "token holds its share of requests: refused");
                return ApiError::too_many(format!(
                    "this token already has {} requests in progress; retry in a second",
                    state.config.server.max_in_flight_per_token
                ))
                .into_response();
            }
        },
        None => None,
    };
    let server = &state.config.server;
    let limit = server.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit).into_response();
    }
    let (parts, body) = request.into_parts();
    let deadline = Duration::from_millis(server.body_read_timeout_ms);
    let bytes = match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let inner = e.into_inner();
            if inner
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return too_large(limit).into_response();
            }
            tracing::debug!(error = %inner, "request body unreadable");
            return ApiError::bad_request("the request body could not be read").into_response();
        }
        Err(_) => {
            tracing::debug!(token = ?token, "request body not complete in time");
            return ApiError::body_timeout(format!(
                "the request body did not arrive within {} ms",
                server.body_read_timeout_ms
            ))
            .into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn too_large(limit: usize) -> ApiError {
    ApiError::too_large(format!("the request body is larger than {limit} bytes"))
}
