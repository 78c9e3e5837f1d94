//! The search service for the API, the CLI and exports.
//!
//! A query segmented as tickets were, the index query with its paging limits
//! and personal terms, the fallback to any word, and every page of a search
//! for an export.

use chrono::NaiveDate;
use hotline_store::{IndexQuery, SearchHit, SearchPage};

use crate::app::AppState;
use crate::error::ApiError;
use crate::pii;

type ApiResult<T> = Result<T, ApiError>;

/// Most results per page.
pub const MAX_PER_PAGE: usize = 100;

/// Segments the query as tickets were segmented, and builds the index query.
pub fn index_query(state: &AppState, p: &SearchParamsView<'_>) -> ApiResult<IndexQuery> {
    let seg = state.analyzer().segmenter().segment(p.q);
    let mut words: Vec<String> = seg.content_words().map(str::to_owned).collect();
    if words.is_empty() {
        words = seg.words().map(str::to_owned).collect();
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
    // A status no ticket can have is the caller's mistake, as an unknown
    // kind is: said, rather than answered with no hits. (A topic is not
    // checked: the store holds earlier years' topics too.)
    if let Some(s) = p.status {
        if !hotline_store::Status::ALL.iter().any(|x| x.as_str() == s) {
            let known: Vec<&str> = hotline_store::Status::ALL
                .iter()
                .map(|x| x.as_str())
                .collect();
            return Err(ApiError::invalid(
                "status",
                format!("unknown status '{s}' ({})", known.join(" ")),
            ));
        }
    }
    let ts = |d: Option<NaiveDate>| {
        d.and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp())
    };
    let per_page = p.per_page.clamp(1, MAX_PER_PAGE);
    // Checked: a page beyond reach is the caller's mistake, not an overflow.
    let depth = state.config.server.max_result_depth;
    let offset = p
        .page
        .max(1)
        .checked_sub(1)
        .and_then(|n| n.checked_mul(per_page))
        .filter(|offset| offset.saturating_add(per_page) <= depth)
        .ok_or_else(|| {
            ApiError::bad_param(
                "page",
                format!(
                    "page {} of {per_page} is beyond the first {depth} results (server.max_result_depth); narrow the search",
                    p.page
                ),
            )
        })?;
    let personal = if p.personal {
        personal_terms(state, p.q, &words)
    } else {
        Vec::new()
    };
    Ok(IndexQuery {
        words,
        personal,
        topic: p.topic.map(str::to_owned),
        district: p.district.map(str::to_owned),
        kind,
        status: p.status.map(str::to_owned),
        from: ts(p.from),
        to: ts(p.to.and_then(|d| d.succ_opt())),
        all_words: true,
        offset,
        limit: per_page,
    })
}

/// The index terms under which the tickets holding the personal identifiers
/// of a query are indexed (see [`crate::intake::index_words`]): the query
/// whole (a name, a number however written), each number the masks
/// recognise in it, and each of its words.
fn personal_terms(state: &AppState, q: &str, words: &[String]) -> Vec<String> {
    let known = pii::Known::default();
    let spans = known.spans(q);
    let mut terms: Vec<String> = std::iter::once(q)
        .chain(spans.iter().map(|(_, value)| value.as_str()))
        .chain(words.iter().map(String::as_str))
        .filter_map(|value| state.personal.term(value))
        .collect();
    terms.sort_unstable();
    terms.dedup();
    terms
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
    /// May find tickets by the personal identifiers they hold (a token with
    /// `pii`, or the command line); otherwise the index cannot be asked
    /// about them.
    pub personal: bool,
}

/// Runs a search; when every word is required and nothing matches, falls back
/// to any word, so a long query still finds the closest tickets.
pub fn run_search(state: &AppState, view: &SearchParamsView<'_>) -> ApiResult<SearchPage> {
    let query = index_query(state, view)?;
    Ok(search_with_fallback(state, query)?.0)
}

/// [`run_search`] from an index query; also returns the query that answered.
pub fn search_with_fallback(
    state: &AppState,
    mut query: IndexQuery,
) -> ApiResult<(SearchPage, IndexQuery)> {
    let page = state.store.search(&query)?;
    if page.total == 0 && query.words.len() > 1 {
        query.all_words = false;
        let page = state.store.search(&query)?;
        return Ok((page, query));
    }
    Ok((page, query))
}

/// How many hits one index query asks for (the index's own cap).
const EXPORT_PAGE: usize = 1000;

/// Every hit of a search up to `max` (an export), from the first page on;
/// hits whose record cannot be read are left out and counted. Returns the
/// hits and how many were skipped.
pub fn all_hits(
    state: &AppState,
    view: &SearchParamsView<'_>,
    max: usize,
) -> ApiResult<(Vec<SearchHit>, usize)> {
    let mut query = index_query(state, view)?;
    query.offset = 0;
    query.limit = EXPORT_PAGE;
    let (first, mut query) = search_with_fallback(state, query)?;
    let wanted = first.total.min(max);
    // Hits whose record cannot be read are left out and counted; the
    // next page starts after them.
    let mut skipped = first.skipped_unreadable;
    let mut hits = first.hits;
    while hits.len() + skipped < wanted {
        query.offset = hits.len() + skipped;
        let page = state.store.search(&query)?;
        if page.hits.is_empty() && page.skipped_unreadable == 0 {
            break;
        }
        skipped += page.skipped_unreadable;
        hits.extend(page.hits);
    }
    hits.truncate(max);
    Ok((hits, skipped))
}
