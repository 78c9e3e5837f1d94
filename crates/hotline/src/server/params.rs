//! Reading request parameters: ids, counts, days, filters and districts.

use chrono::NaiveDate;
use uuid::Uuid;

use super::ApiResult;
use crate::app::AppState;
use crate::error::ApiError;

pub(super) fn parse_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::invalid("id", format!("'{id}' is not a ticket id")))
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

pub(super) fn parse_day(field: &str, s: &Option<String>) -> ApiResult<Option<NaiveDate>> {
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
pub(super) fn district_param(state: &AppState, s: Option<String>) -> Option<String> {
    filter(s).map(|d| match state.analyzer().gazetteer().canonical(&d) {
        Some(known) => known.to_owned(),
        None => d,
    })
}
