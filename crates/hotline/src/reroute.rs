//! Applying the model in use to stored tickets the router decided, so that
//! history is counted by today's routing (`hotline reroute`).

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::NaiveDate;
use hotline_store::{TopicAssignment, TopicSource};
use serde::Serialize;

use crate::app::AppState;

/// Which tickets to look at.
#[derive(Debug, Clone, Default)]
pub struct RerouteFilter {
    /// First and last day of receipt; undated tickets only without bounds.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only tickets now routed to this topic.
    pub topic: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RerouteSummary {
    pub model: String,
    /// Router decisions in the filter that an older model made.
    pub checked: u64,
    pub changed: u64,
    /// Topics given by a person (operator, imported file) are never touched.
    pub left_to_people: u64,
    /// "from → to": count.
    pub moves: BTreeMap<String, u64>,
}

/// A run inside the server (`POST /api/v1/model/reroute`), as
/// `GET /api/v1/model/reroute` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RerouteJob {
    pub running: bool,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Decisions of older models checked so far.
    pub checked: u64,
    /// The run's summary once it has finished.
    pub summary: Option<RerouteSummary>,
    /// Why it stopped, when it failed (the changes made before stay).
    pub error: Option<String>,
}

/// Routes every matching router-decided ticket with the current model and
/// records each change (see `Store::reroute`). Safe to run again after a
/// kill: tickets already changed carry the current model and are skipped,
/// and the store refuses a second change for the same model.
pub fn run(
    state: &AppState,
    filter: &RerouteFilter,
    mut progress: impl FnMut(u64),
) -> Result<RerouteSummary> {
    let analyzer = state.analyzer();
    let version = analyzer.router().model().version().to_owned();
    let mut summary = RerouteSummary {
        model: version.clone(),
        ..RerouteSummary::default()
    };
    for ticket in state.store.tickets() {
        let ticket = ticket?;
        let day = ticket.received_at.map(|t| t.date());
        let in_range = match (filter.from, filter.to, day) {
            (None, None, _) => true,
            (_, _, None) => false,
            (from, to, Some(day)) => from.is_none_or(|f| day >= f) && to.is_none_or(|t| day <= t),
        };
        if !in_range
            || filter
                .topic
                .as_ref()
                .is_some_and(|t| *t != ticket.topic.slug)
        {
            continue;
        }
        if ticket.topic.source != TopicSource::Router {
            summary.left_to_people += 1;
            continue;
        }
        if ticket.topic.model.as_deref() == Some(version.as_str()) {
            continue;
        }
        summary.checked += 1;
        progress(summary.checked);
        let routing = analyzer
            .analyze(ticket.title.as_deref(), &ticket.text)
            .routing;
        if routing.topic == ticket.topic.slug {
            continue;
        }
        let department = state.department(&routing.topic).unwrap_or_default();
        let routed = TopicAssignment::routed(routing.topic.clone(), routing.confidence, &version);
        if state
            .store
            .reroute(ticket.id, routed, &department)?
            .is_some()
        {
            summary.changed += 1;
            *summary
                .moves
                .entry(format!("{} → {}", ticket.topic.slug, routing.topic))
                .or_default() += 1;
            tracing::debug!(ticket = %ticket.id, "ticket rerouted");
        }
    }
    Ok(summary)
}
