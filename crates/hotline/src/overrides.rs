//! How often operators override the router, per model version and topic:
//! the first place a supervisor sees that routing has drifted.

use std::collections::BTreeMap;

use hotline_store::{EventBody, Ticket, TopicSource};
use serde::Serialize;

/// The router's decisions of one model for one topic, and how many an
/// operator changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OverrideCount {
    pub routed: u64,
    pub overridden: u64,
}

impl OverrideCount {
    pub fn rate(&self) -> f64 {
        if self.routed == 0 {
            0.0
        } else {
            self.overridden as f64 / self.routed as f64
        }
    }
}

/// model version → topic the router chose → counts. Tickets whose topic a
/// person gave from the start (at intake or from an imported file) are not
/// router decisions and are left out; so are decisions of models too old to
/// record their version (`unversioned`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OverrideReport {
    pub by_model: BTreeMap<String, BTreeMap<String, OverrideCount>>,
}

impl OverrideReport {
    /// Counts one stored ticket.
    pub fn add(&mut self, ticket: &Ticket) {
        let decision = match ticket.topic.source {
            TopicSource::Router => ticket
                .topic
                .model
                .as_ref()
                .map(|model| (model.clone(), ticket.topic.slug.clone(), false)),
            // The first change names the model whose decision it corrected.
            TopicSource::Operator => ticket.events.iter().find_map(|e| match &e.body {
                EventBody::TopicChanged {
                    from,
                    model: Some(model),
                    rerouted_by: None,
                    ..
                } => Some((model.clone(), from.clone(), true)),
                _ => None,
            }),
            TopicSource::Imported => None,
        };
        if let Some((model, topic, overridden)) = decision {
            let count = self
                .by_model
                .entry(model)
                .or_default()
                .entry(topic)
                .or_default();
            count.routed += 1;
            count.overridden += u64::from(overridden);
        }
    }

    /// All topics of one model together.
    pub fn total(&self, model: &str) -> OverrideCount {
        let mut total = OverrideCount::default();
        for count in self
            .by_model
            .get(model)
            .into_iter()
            .flat_map(|t| t.values())
        {
            total.routed += count.routed;
            total.overridden += count.overridden;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_store::{Event, TopicAssignment};

    fn ticket(topic: TopicAssignment, events: Vec<EventBody>) -> Ticket {
        Ticket {
            id: uuid::Uuid::nil(),
            external_id: None,
            received_at: None,
            accepted_at: chrono::DateTime::default(),
            channel: "phone".into(),
            kind: hotline_store::Kind::Complaint,
            urgency: hotline_store::Urgency::default(),
            title: None,
            text: "t".into(),
            caller_name: None,
            caller_phone: None,
            address: None,
            district: None,
            topic,
            department: "d".into(),
            deciding_words: Vec::new(),
            repeat_of: None,
            events: events
                .into_iter()
                .map(|body| Event {
                    id: uuid::Uuid::nil(),
                    at: chrono::NaiveDateTime::default(),
                    recorded_at: chrono::DateTime::default(),
                    body,
                })
                .collect(),
            seq: 0,
        }
    }

    #[test]
    fn overrides_count_against_the_model_and_topic_they_correct() {
        let mut report = OverrideReport::default();
        report.add(&ticket(
            TopicAssignment::routed("parks", 0.9, "m-a"),
            vec![],
        ));
        report.add(&ticket(
            TopicAssignment::routed("parks", 0.8, "m-a"),
            vec![],
        ));
        report.add(&ticket(
            TopicAssignment::given("dogs", TopicSource::Operator),
            vec![EventBody::TopicChanged {
                from: "parks".into(),
                to: "dogs".into(),
                reason: None,
                model: Some("m-a".into()),
                rerouted_by: None,
            }],
        ));
        // An operator's own choice at intake is no router decision.
        report.add(&ticket(
            TopicAssignment::given("dogs", TopicSource::Operator),
            vec![],
        ));
        report.add(&ticket(
            TopicAssignment::given("dogs", TopicSource::Imported),
            vec![],
        ));
        report.add(&ticket(
            TopicAssignment::routed("other", 0.7, "m-b"),
            vec![],
        ));
        let parks = &report.by_model["m-a"]["parks"];
        assert_eq!((parks.routed, parks.overridden), (3, 1));
        assert!((parks.rate() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(report.total("m-a").routed, 3);
        assert_eq!(
            report.total("m-b"),
            OverrideCount {
                routed: 1,
                overridden: 0
            }
        );
        assert!(!report.by_model["m-a"].contains_key("dogs"));
    }
}
