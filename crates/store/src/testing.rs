//! Unit-test helpers: tickets built by hand (no trained router), events, word searches.

use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use crate::index::IndexQuery;
use crate::model::{EventBody, Kind, NewTicket, Ticket, TopicAssignment, TopicSource, Urgency};
use crate::store::{NewEvent, Store, Submitted};
use crate::writer::accepted;

/// Stamps `store`'s queue and address keys as laid out by layout `version`
/// (an older store, whose keys the next opening rebuilds).
pub(crate) fn stamp_queue_layout(store: &Store, version: u8) {
    let mut old = format!("v{version} ").into_bytes();
    old.extend(serde_json::to_vec(&store.inner.config.deadlines).unwrap_or_default());
    store
        .inner
        .tree
        .insert(crate::keys::META_QUEUE_CONFIG, old)
        .unwrap_or_else(|e| panic!("{e}"));
}

pub(crate) fn new_ticket(text: &str, words: &str) -> NewTicket {
    NewTicket {
        external_id: Some(format!("ext-{text}")),
        received_at: NaiveDate::from_ymd_opt(2024, 5, 6).and_then(|d| d.and_hms_opt(9, 0, 0)),
        channel: "phone".into(),
        kind: Kind::Complaint,
        urgency: Urgency::default(),
        title: None,
        text: text.into(),
        caller_name: None,
        caller_phone: None,
        address: None,
        district: Some("朝阳区".into()),
        street: None,
        topic: TopicAssignment {
            slug: "other".into(),
            source: TopicSource::Router,
            confidence: Some(0.5),
            model: None,
        },
        department: "区政府".into(),
        deciding_words: vec![],
        index_tokens: words.into(),
        history: vec![],
    }
}

pub(crate) fn dispatch(store: &Store, id: Uuid) {
    store
        .add_event(
            id,
            NewEvent {
                id: None,
                at: None,
                body: EventBody::Dispatched {
                    department: "街道".into(),
                },
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
}

pub(crate) fn found(store: &Store, word: &str, status: Option<&str>) -> usize {
    let query = IndexQuery {
        words: vec![word.into()],
        status: status.map(Into::into),
        limit: 10,
        ..Default::default()
    };
    store.search(&query).map_or(0, |page| page.hits.len())
}

/// A ticket as the writer makes it of [`new_ticket`], without a store:
/// received 2024-05-06 09:00, general urgency, no events.
pub(crate) fn ticket(text: &str) -> Ticket {
    accepted(new_ticket(text, ""), Uuid::now_v7(), Utc::now(), 1, None).0
}

/// Submits a ticket made by [`new_ticket`]; panics unless it is created.
pub(crate) fn create(store: &Store, text: &str, words: &str) -> Ticket {
    submit_one(store, new_ticket(text, words))
}

/// Submits one ticket; panics unless it is created.
pub(crate) fn submit_one(store: &Store, new: NewTicket) -> Ticket {
    let created = store.submit(vec![new]).unwrap_or_else(|e| panic!("{e}"));
    let Some(Submitted::Created(ticket)) = created.into_iter().next() else {
        panic!("not created");
    };
    *ticket
}
