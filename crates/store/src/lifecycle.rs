//! The writer's changes to stored tickets: lifecycle events, topic overrides, reroutes.

use chrono::Utc;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Event, EventBody, Ticket, TopicAssignment, TopicSource};
use crate::record::JournalEntry;
use crate::store::NewEvent;
use crate::writer::{Pending, Writer};

/// Refuses an event to a ticket that holds [`MAX_EVENTS_PER_TICKET`] already.
///
/// [`MAX_EVENTS_PER_TICKET`]: crate::model::MAX_EVENTS_PER_TICKET
fn check_room(ticket: &Ticket) -> Result<()> {
    if ticket.events.len() >= crate::model::MAX_EVENTS_PER_TICKET {
        return Err(Error::Conflict(format!(
            "ticket {} holds {} events, the most one ticket may hold",
            ticket.id,
            ticket.events.len()
        )));
    }
    Ok(())
}

impl Writer {
    pub(crate) fn event(
        &mut self,
        id: Uuid,
        event: NewEvent,
        pending: &mut Pending,
    ) -> Result<Uuid> {
        let mut ticket = self
            .load(id, pending)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        if let Some(eid) = event.id {
            if ticket.events.iter().any(|e| e.id == eid) {
                if !pending.latest.contains_key(&id) {
                    pending.unchanged.insert(id, ticket);
                }
                return Ok(id); // already recorded: replaying it changes nothing
            }
        }
        if matches!(event.body, EventBody::TopicChanged { .. }) {
            return Err(Error::invalid(
                "type",
                "use the topic endpoint to change a ticket's topic",
            ));
        }
        if !ticket.is_open() {
            return Err(Error::Conflict(format!("ticket {id} is closed")));
        }
        event
            .body
            .check_lengths()
            .map_err(|(field, m)| Error::invalid(field, m))?;
        // Closing is always taken (a closed ticket takes nothing after it),
        // so a ticket a client filled with events can still be closed.
        if !matches!(event.body, EventBody::Closed { .. }) {
            check_room(&ticket)?;
        }
        let now = Utc::now();
        // An event before the ticket was received, before 2000 or in the
        // future would count as on time (or skew every deadline): refused.
        let at = event.at.unwrap_or_else(|| crate::beijing_time(now));
        crate::check_time(at, ticket.received_at).map_err(|m| Error::invalid("at", m))?;
        ticket.events.push(Event {
            id: event.id.unwrap_or_else(Uuid::now_v7),
            at,
            recorded_at: now,
            body: event.body,
        });
        self.record_change(ticket, pending);
        Ok(id)
    }

    /// A changed ticket gets the next sequence number and a journal entry.
    pub(crate) fn record_change(&mut self, mut ticket: Ticket, pending: &mut Pending) {
        ticket.seq = self.seq();
        pending.unchanged.remove(&ticket.id);
        pending.push(JournalEntry {
            seq: ticket.seq,
            ticket,
            tokens: None,
            text_hash: None,
            text_hash_taken: None,
        });
    }

    pub(crate) fn set_topic(
        &mut self,
        id: Uuid,
        topic: String,
        department: String,
        reason: Option<String>,
        pending: &mut Pending,
    ) -> Result<Uuid> {
        let mut ticket = self
            .load(id, pending)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        if ticket.topic.slug == topic && ticket.topic.source == TopicSource::Operator {
            if !pending.latest.contains_key(&id) {
                pending.unchanged.insert(id, ticket);
            }
            return Ok(id);
        }
        if let Some(r) = &reason {
            let n = r.chars().count();
            if n > crate::model::MAX_NOTE_CHARS {
                return Err(Error::invalid(
                    "reason",
                    format!(
                        "{n} characters, longer than {}",
                        crate::model::MAX_NOTE_CHARS
                    ),
                ));
            }
        }
        check_room(&ticket)?;
        let now = Utc::now();
        ticket.events.push(Event {
            id: Uuid::now_v7(),
            at: crate::beijing_time(now),
            recorded_at: now,
            body: EventBody::TopicChanged {
                from: ticket.topic.slug.clone(),
                to: topic.clone(),
                reason,
                model: match ticket.topic.source {
                    TopicSource::Router => ticket.topic.model.clone(),
                    _ => None,
                },
                rerouted_by: None,
            },
        });
        ticket.topic = TopicAssignment::given(topic, TopicSource::Operator);
        ticket.department = department;
        self.record_change(ticket, pending);
        Ok(id)
    }

    /// See [`crate::Store::reroute`]; `Ok(None)` when nothing changes.
    pub(crate) fn reroute(
        &mut self,
        id: Uuid,
        routed: TopicAssignment,
        department: String,
        pending: &mut Pending,
    ) -> Result<Option<Uuid>> {
        let mut ticket = self
            .load(id, pending)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        let current = &ticket.topic;
        if current.source != TopicSource::Router
            || current.model == routed.model
            || current.slug == routed.slug
        {
            if !pending.latest.contains_key(&id) {
                pending.unchanged.insert(id, ticket);
            }
            return Ok(None);
        }
        let now = Utc::now();
        ticket.events.push(Event {
            id: Uuid::now_v7(),
            at: crate::beijing_time(now),
            recorded_at: now,
            body: EventBody::TopicChanged {
                from: current.slug.clone(),
                to: routed.slug.clone(),
                reason: None,
                model: current.model.clone(),
                rerouted_by: routed.model.clone(),
            },
        });
        ticket.topic = routed;
        ticket.department = department;
        self.record_change(ticket, pending);
        Ok(Some(id))
    }
}
