//! Tickets: submit, show, override the topic, add an event, and classify a text without storing it.

use axum::extract::rejection::JsonRejection;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hotline_classifier::{DistrictMatch, Routing, StreetMatch};
use hotline_store::{NewEvent, Status, Submitted, Ticket, TopicAssignment};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::params::parse_id;
use super::present::{check_ticket_district, present};
use super::ApiResult;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::intake::{prepare, TicketInput};

pub(super) async fn submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<TicketInput>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(mut input) = body?;
    // A token limited to a district takes calls for its district: a ticket
    // for another is refused, one without a district is its district's.
    if let Some(own) = &caller.token.district {
        let given = crate::intake::district_field(&state, input.district.as_deref())
            .map_err(|message| ApiError::invalid("district", message))?;
        if given.as_ref().is_some_and(|d| d != own) {
            return Err(ApiError::forbidden(format!(
                "this token is limited to {own}"
            )));
        }
        input.district = Some(own.clone());
    }
    // A token that sees phones masked could learn them from repeat links,
    // one guessed digit string per submission, or from the answer to a
    // duplicate external id (which may hold a phone, shown masked): its
    // submissions with a phone or an external id are rationed
    // (crate::phone_quota).
    let probes = input
        .caller_phone
        .as_deref()
        .and_then(hotline_store::caller_key)
        .is_some()
        || input
            .external_id
            .as_deref()
            .is_some_and(|id| !id.trim().is_empty());
    if !caller.pii() && probes {
        state
            .phone_quota
            .take(caller.token.quota_holder())
            .map_err(|wait| {
                // A token that keeps hitting the quota may be guessing phones:
                // a line an administrator can find, at most one a minute.
                static OVER: crate::throttle::Throttle = crate::throttle::Throttle::per_seconds(60);
                if let Some(count) = OVER.hit() {
                    tracing::warn!(token = %caller.token.id, count, "phone quota exceeded");
                }
                ApiError::quota(
                    format!(
                        "this token may submit {} tickets with a caller's phone or an external id \
                     a minute (server.phone_submissions_per_minute); retry in {} s",
                        state.config.server.phone_submissions_per_minute,
                        wait.as_secs_f64().ceil()
                    ),
                    wait,
                )
            })?;
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
    crate::intake::check_backdate(&state, ticket.received_at)?;
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
            let status = t.status();
            let accepted = Accepted {
                id: t.id,
                topic: t.topic,
                department: t.department,
                routing: analysis.routing,
                district: t.district,
                repeat_of: t.repeat_of,
                status,
            };
            Ok((StatusCode::CREATED, Json(accepted)).into_response())
        }
        Some(Submitted::Duplicate(id)) => {
            // The external id is the city's: a district-limited token learns
            // the ticket's id only when it may read that ticket, or any
            // token could list another district's tickets by numbering.
            if caller.token.district.is_some() {
                let store = state.store.clone();
                let existing = tokio::task::spawn_blocking(move || store.get(id)).await??;
                if existing.is_none_or(|t| caller.check_ticket(&t).is_err()) {
                    return Err(ApiError::conflict(
                        "this external_id is already a ticket this token may not read",
                    ));
                }
            }
            Ok((
                StatusCode::OK,
                Json(Duplicate {
                    id,
                    duplicate: true,
                }),
            )
                .into_response())
        }
        None => Err(ApiError::internal("nothing stored")),
    }
}

pub(super) async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<impl IntoResponse> {
    let Path(id) = id?;
    let id = parse_id(&id)?;
    let (ticket, status) = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let ticket = state
            .store
            .get(id)?
            .ok_or_else(|| ApiError::ticket_not_found(id))?;
        caller.check_ticket(&ticket)?;
        let status = ticket.status();
        Ok((present(&state, &caller, ticket)?, status))
    })
    .await??;
    Ok(Json(TicketView { ticket, status }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TopicChange {
    topic: String,
    reason: Option<String>,
}

pub(super) async fn set_topic(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<TopicChange>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let Path(id) = id?;
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
    Ok(Json(TopicChanged { ticket }))
}

pub(super) async fn add_event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<NewEvent>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let Path(id) = id?;
    let id = parse_id(&id)?;
    let Json(event) = body?;
    let name = event.body.name();
    let token = caller.token.id;
    let (ticket, status) = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        check_ticket_district(&state, &caller, id)?;
        if let Some(department) = event.body.department() {
            // Against the ticket's caller too (马建华办公室 for 马建华's
            // ticket), but only for a token that sees the caller: to one that
            // does not, a refusal would say which guessed name is right.
            let known = if caller.pii() {
                state
                    .store
                    .get(id)?
                    .map(|ticket| crate::pii::Known::of(&ticket))
                    .unwrap_or_default()
            } else {
                crate::pii::Known::default()
            };
            if let Some(message) = crate::pii::identifier_in_label(department, &known) {
                return Err(ApiError::invalid("department", message));
            }
        }
        let ticket = state.store.add_event(id, event)?;
        let status = ticket.status();
        Ok((present(&state, &caller, ticket)?, status))
    })
    .await??;
    tracing::info!(ticket = %id, event = name, token = %token, "event recorded");
    Ok((StatusCode::CREATED, Json(TicketView { ticket, status })))
}

#[derive(Debug, Deserialize)]
pub(super) struct ClassifyInput {
    text: String,
    title: Option<String>,
    /// Where the district and street are looked for first, as on submit.
    address: Option<String>,
}

/// Tickets up to this size (title and text, bytes) are routed on the
/// request's own task: about 150 µs at most, on the order of what handing
/// the text to another thread and back costs (a typical ticket of 1,000
/// bytes takes 50 µs). Longer ones go to the blocking pool, so that no
/// runtime thread is held for milliseconds.
pub(super) const INLINE_ANALYSIS_BYTES: usize = 3_000;

pub(super) fn routes_inline(title: Option<&str>, text: &str) -> bool {
    title.map_or(0, str::len) + text.len() <= INLINE_ANALYSIS_BYTES
}

/// A turn at routing a text (see `AppState::analysis_permits`).
pub(super) async fn analysis_permit(
    state: &AppState,
) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    state
        .analysis_permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::internal("the server is shutting down"))
}

/// The router's suggestion while the operator types; nothing is stored.
pub(super) async fn classify(
    State(state): State<AppState>,
    body: Result<Json<ClassifyInput>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let Json(input) = body?;
    if input.text.chars().count() > state.config.server.max_text_chars {
        return Err(ApiError::invalid("text", "text too long"));
    }
    let _permit = analysis_permit(&state).await?;
    let inline = routes_inline(input.title.as_deref(), &input.text);
    let analyze = move || {
        state.analyzer().analyze_at(
            input.title.as_deref(),
            &input.text,
            input.address.as_deref(),
        )
    };
    let analysis = if inline {
        analyze()
    } else {
        tokio::task::spawn_blocking(analyze).await?
    };
    Ok(Json(Suggestion {
        routing: analysis.routing,
        district: analysis.district,
        street: analysis.street,
    }))
}

/// `POST /tickets`: the ticket stored, as routed.
#[derive(Debug, Serialize)]
struct Accepted {
    id: Uuid,
    topic: TopicAssignment,
    department: String,
    routing: Routing,
    district: Option<String>,
    repeat_of: Option<Uuid>,
    status: Status,
}

/// `POST /tickets` again with a stored external id: nothing new stored.
#[derive(Debug, Serialize)]
struct Duplicate {
    id: Uuid,
    duplicate: bool,
}

/// A ticket as the caller may see it, with its status.
#[derive(Debug, Serialize)]
struct TicketView {
    ticket: Ticket,
    status: Status,
}

/// `PUT /tickets/{id}/topic`: the ticket after the override.
#[derive(Debug, Serialize)]
struct TopicChanged {
    ticket: Ticket,
}

/// `POST /classify`: the router's suggestion, and the place the ticket
/// would be filed under (the street agrees with the district, as on submit).
#[derive(Debug, Serialize)]
struct Suggestion {
    routing: Routing,
    district: Option<DistrictMatch>,
    street: Option<StreetMatch>,
}
