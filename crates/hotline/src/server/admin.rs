//! Administration: who the caller is, the audit log, and API tokens.

use axum::extract::rejection::PathRejection;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use hotline_store::{AuditEntry, Role, TokenRecord};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ApiResult;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::tokens::{self, Actor};

/// Who the token is: the dashboard shows the tabs its role may use.
pub(super) async fn me(Extension(caller): Extension<Caller>) -> impl IntoResponse {
    let t = caller.token;
    Json(Me {
        name: t.name,
        role: t.role,
        pii: t.pii,
        district: t.district,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditParams {
    limit: Option<String>,
}

/// The newest audit entries the caller may read, newest first (default
/// 100, at most 1000): its district's only when it is limited to one, with
/// personal data masked when it has no `pii`.
pub(super) async fn audit(
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
        let mut covered = std::collections::HashMap::new();
        let mut views = Vec::with_capacity(entries.len());
        for e in entries {
            // The command line (no token) is named as such to every reader.
            let actor_covered = match e.token_id {
                None => true,
                Some(id) => match covered.get(&id) {
                    Some(&c) => c,
                    None => {
                        let c = state
                            .tokens
                            .get(id)?
                            .is_some_and(|t| caller.issuer().covers(t.pii, t.district.as_deref()));
                        covered.insert(id, c);
                        c
                    }
                },
            };
            views.push(caller.audit_view(e, actor_covered));
        }
        Ok(views)
    })
    .await??;
    Ok(Json(AuditView { entries }))
}

/// The tokens within the caller's limits.
pub(super) async fn list_tokens(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<impl IntoResponse> {
    let tokens = tokio::task::spawn_blocking(move || state.tokens.list(caller.issuer())).await??;
    Ok(Json(TokenList { tokens }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenInput {
    role: String,
    #[serde(default)]
    pii: bool,
    district: Option<String>,
    name: Option<String>,
}

/// Creates a token; its secret is in this answer only.
pub(super) async fn create_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<TokenInput>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let Json(input) = body?;
    let new = tokens::new_token(
        &input.role,
        input.pii,
        input.district,
        input.name,
        state.analyzer().gazetteer(),
    )?;
    let (record, secret) = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        Ok(tokens::create(
            &state.tokens,
            &state.audit,
            new,
            Actor::Caller(&caller),
        )?)
    })
    .await??;
    tracing::info!(token = %record.id, role = %record.role, "token created");
    Ok((
        StatusCode::CREATED,
        Json(NewTokenView {
            token: secret,
            record,
        }),
    ))
}

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<impl IntoResponse> {
    let Path(id) = id?;
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::invalid("id", format!("'{id}' is not a token id")))?;
    let record = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        tokens::revoke(&state.tokens, &state.audit, id, Actor::Caller(&caller))?
            .ok_or_else(|| ApiError::not_found(format!("token {id} not found")))
    })
    .await??;
    tracing::info!(token = %record.id, "token revoked");
    Ok(Json(Revoked { record }))
}

/// `GET /me`: who the token is.
#[derive(Debug, Serialize)]
struct Me {
    name: String,
    role: Role,
    pii: bool,
    district: Option<String>,
}

/// `GET /audit`: entries, newest first.
#[derive(Debug, Serialize)]
struct AuditView {
    entries: Vec<AuditEntry>,
}

/// `GET /tokens`.
#[derive(Debug, Serialize)]
struct TokenList {
    tokens: Vec<TokenRecord>,
}

/// `POST /tokens`: the secret, shown in this answer only, and the record.
#[derive(Debug, Serialize)]
struct NewTokenView {
    token: String,
    record: TokenRecord,
}

/// `DELETE /tokens/{id}`: the record as revoked.
#[derive(Debug, Serialize)]
struct Revoked {
    record: TokenRecord,
}
