//! Statistics and their export.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hotline_store::{AuditAction, GroupBy, StatsQuery, StatsRow};
use serde::{Deserialize, Serialize};

use super::params::{district_param, filter, parse_day};
use super::present::{export_format, render};
use super::ApiResult;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::export;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatsParams {
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
            Some(b) => GroupBy::parse(b)
                .ok_or_else(|| ApiError::invalid("by", format!("'{b}': use {}", GroupBy::NAMES)))?,
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

pub(super) async fn stats(
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
    Ok(Json(StatsView { by: group_by, rows }))
}

/// `GET /api/v1/export/stats`: the statistics of `/stats` as a file.
pub(super) async fn export_stats(
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

/// `GET /stats`: the rows, grouped as asked.
#[derive(Debug, Serialize)]
struct StatsView {
    by: GroupBy,
    rows: Vec<StatsRow>,
}
