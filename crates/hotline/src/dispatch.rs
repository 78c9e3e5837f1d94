//! Dispatch and deadlines: the deadline queue of open tickets
//! (`GET /api/v1/queue`, `hotline queue`) and hot spots (`GET /api/v1/hotspots`,
//! detected by [`crate::hotspots`]). The queue lives in the store
//! (`hotline_store::Store::queue`, an index of open tickets by deadline);
//! this module reads the request, applies the caller's district and answers.
//! Queue entries carry no text and no caller, so nothing in them needs masking.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use chrono::Duration;
use hotline_store::{DeadlineState, QueuePage, QueueQuery};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::server::{filter, parse_count};

/// Most queue entries per page.
pub const MAX_PER_PAGE: usize = 200;
/// The deepest page reachable (page × per_page), as for search.
const MAX_DEPTH: usize = 100_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    pub department: Option<String>,
    pub topic: Option<String>,
    pub district: Option<String>,
    pub street: Option<String>,
    /// on_time, due_soon or overdue (正常, 临期, 超期).
    pub state: Option<String>,
    /// Hours (`36`, `1.5`), or with a unit: `90m`, `12h`, `3d`.
    pub due_within: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// `due_within`: a non-negative number of hours, or minutes/hours/days with
/// a unit (`90m`, `12h`, `3d`), at most a year.
pub fn parse_due_within(s: &str) -> Result<Duration, String> {
    let v = s.trim();
    let (number, seconds_per) = match v.char_indices().last() {
        Some((i, 'm')) => (&v[..i], 60.0),
        Some((i, 'h')) => (&v[..i], 3600.0),
        Some((i, 'd')) => (&v[..i], 86_400.0),
        _ => (v, 3600.0),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * seconds_per <= 366.0 * 86_400.0 => {
            Ok(Duration::seconds((n * seconds_per).round() as i64))
        }
        _ => Err(format!(
            "'{v}' is not a duration: hours (24, 1.5) or 90m, 12h, 3d, at most a year"
        )),
    }
}

/// A deadline state as asked for (`on_time`, `due_soon`, `overdue` or the Chinese names).
pub fn parse_state(s: &str) -> Result<DeadlineState, String> {
    DeadlineState::parse(s)
        .ok_or_else(|| format!("'{}': use on_time, due_soon or overdue", s.trim()))
}

/// A street filter as the gazetteer spells it (望京 → 望京街道); a name two
/// districts share (八里庄街道) is kept as it is, and matches both unless a
/// district is asked for. 400 naming `street` for a name the gazetteer does
/// not know, or one outside the district asked for.
fn street_filter(state: &AppState, s: &str, district: Option<&str>) -> Result<String, ApiError> {
    let analyzer = state.analyzer();
    match analyzer.gazetteer().street(s, district) {
        Ok(m) => Ok(m.street),
        Err(_)
            if district.is_none() && analyzer.gazetteer().streets().any(|(n, _)| n == s.trim()) =>
        {
            Ok(s.trim().to_owned())
        }
        Err(m) => Err(ApiError::bad_param("street", m)),
    }
}

impl QueueParams {
    /// The store's query, with the caller's district applied (a token
    /// limited to a district sees only it; asking for another is 403).
    pub fn query(self, caller: &Caller, state: &AppState) -> Result<QueueQuery, ApiError> {
        let district = match filter(self.district) {
            None => None,
            Some(d) => Some(
                state
                    .analyzer()
                    .gazetteer()
                    .canonical(&d)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ApiError::bad_param("district", format!("'{d}' is not a Beijing district"))
                    })?,
            ),
        };
        let topic = filter(self.topic);
        if let Some(t) = &topic {
            if state.department(t).is_none() {
                return Err(ApiError::bad_param(
                    "topic",
                    format!("'{t}' is not a topic slug of this year (see /api/v1/topics)"),
                ));
            }
        }
        let state_filter = match filter(self.state) {
            None => None,
            Some(s) => Some(parse_state(&s).map_err(|m| ApiError::bad_param("state", m))?),
        };
        let due_within = match filter(self.due_within) {
            None => None,
            Some(s) => {
                Some(parse_due_within(&s).map_err(|m| ApiError::bad_param("due_within", m))?)
            }
        };
        let per_page = parse_count("per_page", self.per_page.as_deref(), 50, MAX_PER_PAGE)?;
        let page = parse_count("page", self.page.as_deref(), 1, MAX_DEPTH / per_page)?;
        let street = match filter(self.street) {
            None => None,
            Some(s) => Some(street_filter(state, &s, district.as_deref())?),
        };
        Ok(QueueQuery {
            department: filter(self.department),
            topic,
            district: caller.district_filter(district)?,
            street,
            state: state_filter,
            due_within,
            page,
            per_page,
        })
    }
}

/// `GET /api/v1/queue`: open tickets by time left, with counts by state and
/// by department, as of the engine's clock.
pub async fn queue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<QueueParams>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(p) = params?;
    let query = p.query(&caller, &state)?;
    let now = state.clock.now();
    let page = tokio::task::spawn_blocking(move || state.store.queue(&query, now)).await??;
    Ok(Json(page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotspotParams {
    /// The window's last day (YYYY-MM-DD); today (Beijing) by default.
    pub date: Option<String>,
    /// The window's length in days, 1 to 14 (default 3).
    pub days: Option<String>,
    pub district: Option<String>,
    pub topic: Option<String>,
}

/// `GET /api/v1/hotspots`: bursts of a topic in a district and clusters of
/// near-identical complaints at one address. Ids, counts, topics, districts
/// and addresses only (masked without `pii`): no text, no caller.
pub async fn hotspots(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<HotspotParams>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(p) = params?;
    let date = match filter(p.date) {
        None => state.clock.now().date(),
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_param("date", format!("'{d}' is not a date (YYYY-MM-DD)"))
        })?,
    };
    let days = parse_count("days", p.days.as_deref(), 3, 14)? as i64;
    // The window and the weeks before it are counted by day: both ends must
    // be dates (chrono reads years from -262143 to 262142).
    let span = chrono::Duration::days(days - 1 + crate::hotspots::BASELINE_DAYS);
    if date.checked_sub_signed(span).is_none()
        || date.checked_add_signed(chrono::Duration::days(2)).is_none()
    {
        return Err(ApiError::bad_param(
            "date",
            format!("{date} is too far from any ticket to count days around it"),
        ));
    }
    let common = QueueParams {
        district: p.district,
        topic: p.topic,
        ..QueueParams::default()
    }
    .query(&caller, &state)?;
    let query = crate::hotspots::HotspotQuery {
        date,
        days,
        district: common.district,
        topic: common.topic,
    };
    let found = tokio::task::spawn_blocking(move || crate::hotspots::detect(&state.store, &query))
        .await??;
    // A cluster's address is the callers' free text: masked like theirs.
    Ok(Json(if caller.pii() { found } else { found.masked() }))
}

/// "3 d 4 h", "-2 h 5 m": time left as a person reads it.
pub fn time_left(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{sign}{d}d{h:02}h")
    } else {
        format!("{sign}{h}h{m:02}m")
    }
}

/// The queue as the command line prints it.
pub fn print_queue(page: &QueuePage) {
    let c = &page.counts;
    println!(
        "now {}: {} open with a deadline — overdue {}, due soon {}, on time {}",
        page.now.format("%Y-%m-%d %H:%M"),
        c.total(),
        c.overdue,
        c.due_soon,
        c.on_time
    );
    if !page.by_department.is_empty() {
        println!(
            "\n{:<28} {:>8} {:>8} {:>8}",
            "department", "overdue", "due soon", "on time"
        );
        for d in page.by_department.iter().take(15) {
            let name = if d.department.is_empty() {
                "(returned, awaiting dispatch)"
            } else {
                &d.department
            };
            println!(
                "{:<28} {:>8} {:>8} {:>8}",
                name, d.counts.overdue, d.counts.due_soon, d.counts.on_time
            );
        }
    }
    println!("\n{} match", page.total);
    for item in &page.items {
        println!(
            "{}  {:<9} {:<8} {:>9}  due {}  {:<16} {}  {}",
            item.id,
            item.state.as_str(),
            match item.stage {
                hotline_store::Stage::Dispatch => "dispatch",
                hotline_store::Stage::Feedback => "feedback",
            },
            time_left(item.seconds_left),
            item.deadline.format("%m-%d %H:%M"),
            item.topic,
            item.district.as_deref().unwrap_or("—"),
            item.department
        );
    }
}
