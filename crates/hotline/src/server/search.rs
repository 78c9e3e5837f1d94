//! Search and its export: parameters checked against the caller's district, hits presented, every search audited.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::NaiveDate;
use hotline_store::AuditAction;
use serde::Deserialize;

use super::params::{district_param, filter, parse_count, parse_day};
use super::present::{export_format, hide_foreign_link, present_hits, render};
use super::ApiResult;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::export;
use crate::pii;
use crate::search::{self, SearchParamsView, MAX_PER_PAGE};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchParams {
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

/// Search parameters owned, checked against the caller's district.
#[derive(Debug, Clone)]
pub(super) struct SearchRequest {
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

pub(super) async fn search(
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

/// `GET /api/v1/export/search`: every page of a search (up to
/// `export.max_rows`) as a file, masked unless the token has `pii`.
pub(super) async fn export_search(
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
