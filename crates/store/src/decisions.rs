//! The router's decisions and the operators' overrides of them, counted per model version, topic and district.
//!
//! Like the statistics counters, a ticket's part in these counts is a pure
//! function of the ticket ([`decision`]); the batch takes the old part out
//! and puts the new one in, so `verify` can recount them and a supervisor
//! reads override rates without a scan of the tickets.

use serde::Serialize;

use crate::error::Result;
use crate::journal::JournalReader;
use crate::keys::{key, DECISION, META_DECISIONS};
use crate::model::{EventBody, Ticket, TopicSource};
use crate::recount::Recount;

/// The router's decisions of one model, for one topic, in one district
/// (`None`: no district recognised), and how many an operator changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionRow {
    pub model: String,
    pub topic: String,
    pub district: Option<String>,
    pub routed: u64,
    pub overridden: u64,
}

/// Routed and overridden, as signed deltas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DecisionCounts {
    pub(crate) routed: i64,
    pub(crate) overridden: i64,
}

impl DecisionCounts {
    pub(crate) fn add(&mut self, other: DecisionCounts) {
        self.routed += other.routed;
        self.overridden += other.overridden;
    }

    pub(crate) fn sub(&mut self, other: DecisionCounts) {
        self.routed -= other.routed;
        self.overridden -= other.overridden;
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.routed == 0 && self.overridden == 0
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = self.routed.to_le_bytes().to_vec();
        v.extend_from_slice(&self.overridden.to_le_bytes());
        v
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<DecisionCounts> {
        let routed = i64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
        let overridden = i64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?);
        (bytes.len() == 16).then_some(DecisionCounts { routed, overridden })
    }
}

/// The router decision a ticket holds, under its sled key, if any.
///
/// A ticket the router routed counts for the model and topic it chose; one
/// an operator changed counts as overridden for the model and topic of the
/// decision the first change corrected (a re-route by a newer model is no
/// override). A topic a person gave from the start (at intake or in an
/// imported file) is no router decision; nor is one of a model too old to
/// record its version.
pub(crate) fn decision(ticket: &Ticket) -> Option<(Vec<u8>, DecisionCounts)> {
    let (model, topic, overridden) = match ticket.topic.source {
        TopicSource::Router => (ticket.topic.model.as_deref()?, &ticket.topic.slug, false),
        TopicSource::Operator => ticket.events.iter().find_map(|e| match &e.body {
            EventBody::TopicChanged {
                from,
                model: Some(model),
                rerouted_by: None,
                ..
            } => Some((model.as_str(), from, true)),
            _ => None,
        })?,
        TopicSource::Imported => return None,
    };
    let counts = DecisionCounts {
        routed: 1,
        overridden: i64::from(overridden),
    };
    Some((
        decision_key(model, topic, ticket.district.as_deref()),
        counts,
    ))
}

/// DECISION · model · 0 · topic · 0 · district (empty when none).
fn decision_key(model: &str, topic: &str, district: Option<&str>) -> Vec<u8> {
    let mut rest = Vec::with_capacity(model.len() + topic.len() + 16);
    rest.extend_from_slice(model.as_bytes());
    rest.push(0);
    rest.extend_from_slice(topic.as_bytes());
    rest.push(0);
    rest.extend_from_slice(district.unwrap_or("").as_bytes());
    key(DECISION, &rest)
}

fn decode_row(k: &[u8], v: &[u8]) -> Option<DecisionRow> {
    let mut parts = k.get(1..)?.split(|b| *b == 0);
    let model = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let topic = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let district = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let counts = DecisionCounts::decode(v)?;
    Some(DecisionRow {
        model,
        topic,
        district: (!district.is_empty()).then_some(district),
        routed: u64::try_from(counts.routed).ok()?,
        overridden: u64::try_from(counts.overridden).ok()?,
    })
}

/// Every stored row; `Err(key)` for a row that does not decode.
pub(crate) fn read_rows(tree: &sled::Tree) -> Result<Vec<Result<DecisionRow, String>>> {
    let mut rows = Vec::new();
    for item in tree.scan_prefix([DECISION]) {
        let (k, v) = item?;
        rows.push(decode_row(&k, &v).ok_or_else(|| format!("decision row {k:?}")));
    }
    Ok(rows)
}

/// Counts the decisions of a store written before they were counted, once
/// (see `recount`).
pub(crate) fn count_once(tree: &sled::Tree, journal: &JournalReader) -> Result<bool> {
    Recount {
        what: "router decisions",
        prefixes: &[&[DECISION][..]],
        marks: &[(META_DECISIONS, &[1u8][..])],
    }
    .run(tree, journal, decision)
}

#[cfg(test)]
mod tests {
    //! What counts as a router decision and an override, and the row codec.
    use super::*;
    use crate::model::{Event, TopicAssignment};
    use crate::testing::ticket;

    fn with_events(mut t: Ticket, events: Vec<EventBody>) -> Ticket {
        t.events = events
            .into_iter()
            .map(|body| Event {
                id: uuid::Uuid::nil(),
                at: chrono::NaiveDateTime::default(),
                recorded_at: chrono::DateTime::default(),
                body,
            })
            .collect();
        t
    }

    fn counted(t: &Ticket) -> Option<(DecisionRow, DecisionCounts)> {
        let (k, c) = decision(t)?;
        let row = decode_row(&k, &c.encode())?;
        Some((row, c))
    }

    #[test]
    fn overrides_count_against_the_model_and_topic_they_correct() {
        let mut routed = ticket("t");
        routed.topic = TopicAssignment::routed("parks", 0.9, "m-a");
        routed.district = Some("朝阳区".into());
        let (row, c) = counted(&routed).expect("a router decision");
        assert_eq!(
            (
                row.model.as_str(),
                row.topic.as_str(),
                row.district.as_deref()
            ),
            ("m-a", "parks", Some("朝阳区"))
        );
        assert_eq!((c.routed, c.overridden), (1, 0));

        let mut overridden = with_events(
            ticket("t"),
            vec![
                EventBody::TopicChanged {
                    from: "parks".into(),
                    to: "other".into(),
                    reason: None,
                    model: Some("m-b".into()),
                    rerouted_by: Some("m-b".into()),
                },
                EventBody::TopicChanged {
                    from: "other".into(),
                    to: "dogs".into(),
                    reason: None,
                    model: Some("m-b".into()),
                    rerouted_by: None,
                },
            ],
        );
        overridden.topic = TopicAssignment::given("dogs", TopicSource::Operator);
        overridden.district = None;
        let (row, c) = counted(&overridden).expect("an override");
        // The re-route is skipped: the operator corrected m-b's `other`.
        assert_eq!((row.model.as_str(), row.topic.as_str()), ("m-b", "other"));
        assert_eq!(row.district, None);
        assert_eq!((c.routed, c.overridden), (1, 1));

        let mut given = ticket("t");
        given.topic = TopicAssignment::given("dogs", TopicSource::Operator);
        assert!(decision(&given).is_none(), "an operator's own choice");
        given.topic = TopicAssignment::given("dogs", TopicSource::Imported);
        assert!(decision(&given).is_none(), "an imported topic");
        given.topic = TopicAssignment {
            model: None,
            ..TopicAssignment::routed("dogs", 0.5, "m")
        };
        assert!(decision(&given).is_none(), "an unversioned model");
    }

    #[test]
    fn a_row_that_does_not_decode_is_none() {
        let k = decision_key("m", "t", None);
        assert!(decode_row(&k, &[0; 15]).is_none());
        assert!(decode_row(
            &k,
            &DecisionCounts {
                routed: -1,
                overridden: 0
            }
            .encode()
        )
        .is_none());
        assert!(decode_row(&[DECISION, b'm'], &[0; 16]).is_none());
    }

    fn totals(store: &crate::Store) -> Vec<(String, String, u64, u64)> {
        let mut rows: Vec<_> = store
            .router_decisions()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|r| (r.model, r.topic, r.routed, r.overridden))
            .collect();
        rows.sort();
        rows
    }

    /// Submitting, overriding and re-routing move the counts in the same
    /// batch as the ticket, `verify` agrees with a recount, and a store
    /// written before decisions were counted has them counted once at open.
    #[test]
    fn decisions_follow_every_change_and_older_stores_are_counted_once() {
        use crate::testing::{create, new_ticket};
        use crate::{Store, StoreConfig, Submitted};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut ids = Vec::new();
        for (i, topic) in ["parks", "parks", "dogs"].iter().enumerate() {
            let mut new = new_ticket(&format!("t{i}"), "");
            new.topic = TopicAssignment::routed(*topic, 0.9, "m-a");
            let Some(Submitted::Created(t)) = store
                .submit(vec![new])
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .next()
            else {
                panic!("not created");
            };
            ids.push(t.id);
        }
        // No model version (an operator's choice at intake): not counted.
        create(&store, "given", "");
        store
            .set_topic(ids[0], "dogs", "区政府", None)
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .reroute(
                ids[2],
                TopicAssignment::routed("other", 0.7, "m-b"),
                "区政府",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let want = vec![
            ("m-a".to_owned(), "parks".to_owned(), 2, 1),
            ("m-b".to_owned(), "other".to_owned(), 1, 0),
        ];
        assert_eq!(totals(&store), want);
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_ok(), "{report:?}");

        // As a store of the previous version: no rows, no mark.
        let mut batch = sled::Batch::default();
        for item in store.inner.tree.scan_prefix([DECISION]) {
            batch.remove(item.unwrap_or_else(|e| panic!("{e}")).0);
        }
        batch.remove(META_DECISIONS);
        store
            .inner
            .tree
            .apply_batch(batch)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!store.verify().unwrap_or_else(|e| panic!("{e}")).is_ok());
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        for _ in 0..2 {
            let store =
                Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(totals(&store), want, "counted once, not again");
            let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
            assert!(report.is_ok(), "{report:?}");
            store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
