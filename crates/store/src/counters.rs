//! Pre-aggregated counters per (day, topic, district, kind).
//!
//! A ticket's contribution to the counters is a pure function of the ticket
//! ([`contribution`]). Every write subtracts the old contribution and adds the
//! new one in the same atomic batch as the ticket itself, so replaying an
//! event, re-importing a ticket or overriding a topic can never count twice,
//! and a recount from the tickets must always give the same numbers.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::model::{EventBody, Kind, Satisfaction, Ticket, Urgency};

/// Counter columns, in storage order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    /// New 诉求 (repeats excluded).
    Received,
    /// Linked to an earlier open ticket.
    Repeats,
    Dispatched,
    /// Dispatched, with both times known, so timeliness can be judged.
    DispatchTimed,
    DispatchOnTime,
    Feedback,
    FeedbackTimed,
    FeedbackOnTime,
    ValidCallbacks,
    Contacted,
    Resolved,
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
    /// Dispatch or feedback later than its deadline.
    Overdue,
}

pub const COLUMNS: usize = 15;

/// One row of counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts(pub [i64; COLUMNS]);

impl Counts {
    pub fn get(&self, c: Column) -> i64 {
        self.0[c as usize]
    }

    fn set(&mut self, c: Column, v: bool) {
        self.0[c as usize] = i64::from(v);
    }

    pub fn add(&mut self, other: &Counts) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    pub fn sub(&mut self, other: &Counts) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a -= b;
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Counts> {
        if bytes.len() != COLUMNS * 8 {
            return None;
        }
        let mut c = Counts::default();
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            c.0[i] = i64::from_le_bytes(chunk.try_into().ok()?);
        }
        Some(c)
    }
}

/// Deadlines (hours) by urgency, from the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    pub dispatch_emergency_hours: f64,
    pub dispatch_utilities_hours: f64,
    pub dispatch_general_hours: f64,
    pub dispatch_complex_hours: f64,
    pub feedback_emergency_hours: f64,
    pub feedback_utilities_hours: f64,
    pub feedback_general_hours: f64,
    pub feedback_complex_hours: f64,
    /// An open ticket is "due soon" in the last this share of its allowance
    /// (0.25: the last 15 minutes of a one-hour dispatch, the last 42 hours
    /// of a seven-day feedback).
    #[serde(default = "default_due_soon_fraction")]
    pub due_soon_fraction: f64,
}

fn default_due_soon_fraction() -> f64 {
    0.25
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            dispatch_emergency_hours: 1.0,
            dispatch_utilities_hours: 2.0,
            dispatch_general_hours: 24.0,
            dispatch_complex_hours: 24.0,
            feedback_emergency_hours: 2.0,
            feedback_utilities_hours: 24.0,
            feedback_general_hours: 7.0 * 24.0,
            feedback_complex_hours: 15.0 * 24.0,
            due_soon_fraction: default_due_soon_fraction(),
        }
    }
}

impl Deadlines {
    /// Hours from receipt to dispatch.
    pub fn dispatch(&self, u: Urgency) -> f64 {
        match u {
            Urgency::Emergency => self.dispatch_emergency_hours,
            Urgency::Utilities => self.dispatch_utilities_hours,
            Urgency::General => self.dispatch_general_hours,
            Urgency::Complex => self.dispatch_complex_hours,
        }
    }

    /// Hours from the first dispatch (or receipt) to the department's feedback.
    pub fn feedback(&self, u: Urgency) -> f64 {
        match u {
            Urgency::Emergency => self.feedback_emergency_hours,
            Urgency::Utilities => self.feedback_utilities_hours,
            Urgency::General => self.feedback_general_hours,
            Urgency::Complex => self.feedback_complex_hours,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        let all = [
            self.dispatch_emergency_hours,
            self.dispatch_utilities_hours,
            self.dispatch_general_hours,
            self.dispatch_complex_hours,
            self.feedback_emergency_hours,
            self.feedback_utilities_hours,
            self.feedback_general_hours,
            self.feedback_complex_hours,
        ];
        if !all.iter().all(|h| h.is_finite() && *h > 0.0) {
            return Err("every deadline must be a positive number of hours".to_owned());
        }
        if !(self.due_soon_fraction > 0.0 && self.due_soon_fraction < 1.0) {
            return Err("due_soon_fraction must be between 0 and 1".to_owned());
        }
        Ok(())
    }
}

/// The day an undated ticket is filed under: after every real day.
pub const UNDATED_DAY: u32 = u32::MAX;

/// Days since 1970-01-01.
pub fn day_number(date: NaiveDate) -> u32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (date - epoch)
        .num_days()
        .clamp(0, i64::from(UNDATED_DAY - 1)) as u32
}

pub fn day_date(day: u32) -> Option<NaiveDate> {
    if day == UNDATED_DAY {
        return None;
    }
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_days(chrono::Days::new(u64::from(day)))
}

/// The day number of the first day of `day`'s month: month rows are keyed by it.
pub fn month_start(day: u32) -> u32 {
    match day_date(day) {
        Some(d) => day_number(d.with_day(1).unwrap_or(d)),
        None => day,
    }
}

/// Where a ticket's counts go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterKey {
    pub day: u32,
    pub topic: String,
    pub district: String,
    pub kind: Kind,
    /// The 街道 / 乡镇: kept only in the street view's rows, empty in the
    /// others (whose keys are then laid out as before streets were counted).
    pub street: String,
}

impl CounterKey {
    /// The same counts rolled up to the month (day = the month's first day).
    pub fn month(&self) -> CounterKey {
        CounterKey {
            day: month_start(self.day),
            ..self.clone()
        }
    }

    /// day (big-endian, so keys sort by day) · topic · 0 · district · 0 ·
    /// kind, then the street when there is one.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut key =
            Vec::with_capacity(8 + self.topic.len() + self.district.len() + self.street.len());
        key.extend_from_slice(&self.day.to_be_bytes());
        key.extend_from_slice(self.topic.as_bytes());
        key.push(0);
        key.extend_from_slice(self.district.as_bytes());
        key.push(0);
        key.push(self.kind.code());
        key.extend_from_slice(self.street.as_bytes());
        key
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<CounterKey> {
        let day = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
        let rest = &bytes[4..];
        let mut parts = rest.splitn(3, |b| *b == 0);
        let topic = String::from_utf8(parts.next()?.to_vec()).ok()?;
        let district = String::from_utf8(parts.next()?.to_vec()).ok()?;
        let rest = parts.next()?;
        let kind = Kind::from_code(*rest.first()?)?;
        let street = String::from_utf8(rest[1..].to_vec()).ok()?;
        Some(CounterKey {
            day,
            topic,
            district,
            kind,
            street,
        })
    }
}

fn hours_between(from: NaiveDateTime, to: NaiveDateTime) -> f64 {
    (to - from).num_seconds() as f64 / 3600.0
}

/// What one ticket adds to the counters, and where.
pub fn contribution(ticket: &Ticket, deadlines: &Deadlines) -> (CounterKey, Counts) {
    let key = CounterKey {
        day: ticket.day().map_or(UNDATED_DAY, day_number),
        topic: ticket.topic.slug.clone(),
        district: ticket.district.clone().unwrap_or_default(),
        kind: ticket.kind,
        street: ticket.street.clone().unwrap_or_default(),
    };
    let mut c = Counts::default();
    let repeat = ticket.repeat_of.is_some();
    c.set(Column::Received, !repeat);
    c.set(Column::Repeats, repeat);

    let first_dispatch = ticket.events.iter().find_map(|e| match e.body {
        EventBody::Dispatched { .. } | EventBody::Reassigned { .. } => Some(e.at),
        _ => None,
    });
    let first_feedback = ticket.events.iter().find_map(|e| match e.body {
        EventBody::Feedback { .. } => Some(e.at),
        _ => None,
    });
    let mut overdue = false;
    if let Some(dispatched) = first_dispatch {
        c.set(Column::Dispatched, true);
        if let Some(received) = ticket.received_at {
            let on_time = hours_between(received, dispatched) <= deadlines.dispatch(ticket.urgency);
            c.set(Column::DispatchTimed, true);
            c.set(Column::DispatchOnTime, on_time);
            overdue |= !on_time;
        }
    }
    if let Some(answered) = first_feedback {
        c.set(Column::Feedback, true);
        if let Some(start) = first_dispatch.or(ticket.received_at) {
            let on_time = hours_between(start, answered) <= deadlines.feedback(ticket.urgency);
            c.set(Column::FeedbackTimed, true);
            c.set(Column::FeedbackOnTime, on_time);
            overdue |= !on_time;
        }
    }
    c.set(Column::Overdue, overdue);

    // The latest callback is the one that counts (a re-visit replaces the first).
    let last_callback = ticket.events.iter().rev().find_map(|e| match &e.body {
        EventBody::Callback {
            valid,
            contacted,
            resolved,
            satisfaction,
        } => Some((*valid, *contacted, *resolved, *satisfaction)),
        _ => None,
    });
    if let Some((true, contacted, resolved, satisfaction)) = last_callback {
        c.set(Column::ValidCallbacks, true);
        c.set(Column::Contacted, contacted);
        c.set(Column::Resolved, resolved);
        c.set(
            Column::Satisfied,
            satisfaction == Some(Satisfaction::Satisfied),
        );
        c.set(
            Column::BasicallySatisfied,
            satisfaction == Some(Satisfaction::BasicallySatisfied),
        );
        c.set(
            Column::Unsatisfied,
            satisfaction == Some(Satisfaction::Unsatisfied),
        );
    }
    (key, c)
}

#[cfg(test)]
mod tests {
    //! Counter keys and rows read back as written, and what one ticket
    //! contributes to the counters.

    use chrono::{Duration, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::model::Event;
    use crate::testing::ticket;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn a_counter_key_reads_back_and_rolls_up_to_its_month() {
        let key = CounterKey {
            day: day_number(date(2024, 3, 19)),
            topic: "noise".into(),
            district: "朝阳区".into(),
            kind: Kind::Complaint,
            street: String::new(),
        };
        assert_eq!(CounterKey::decode(&key.encode()), Some(key.clone()));
        // A street view's key: the street follows the kind.
        let with_street = CounterKey {
            street: "望京街道".into(),
            ..key.clone()
        };
        assert_eq!(
            CounterKey::decode(&with_street.encode()),
            Some(with_street.clone())
        );
        assert_eq!(
            with_street.encode(),
            [key.encode(), "望京街道".as_bytes().to_vec()].concat()
        );
        assert_eq!(day_date(key.day), Some(date(2024, 3, 19)));
        assert_eq!(day_date(key.month().day), Some(date(2024, 3, 1)));
        assert_eq!(day_date(UNDATED_DAY), None);
        assert_eq!(month_start(UNDATED_DAY), UNDATED_DAY);
        // Keys sort by day first, so a range of days is a range of keys.
        let next_day = CounterKey {
            day: key.day + 1,
            topic: "a".into(),
            ..key.clone()
        };
        assert!(key.encode() < next_day.encode());
    }

    #[test]
    fn counts_read_back_and_a_wrong_length_is_refused() {
        let mut counts = Counts::default();
        counts.0[3] = -2;
        counts.0[COLUMNS - 1] = 7;
        assert_eq!(Counts::decode(&counts.encode()), Some(counts));
        assert_eq!(Counts::decode(&[0; 7]), None);
    }

    #[test]
    fn a_repeat_counts_as_a_repeat_not_as_a_new_request() {
        let mut t = ticket("楼道里飞线充电很危险");
        let (key, c) = contribution(&t, &Deadlines::default());
        assert_eq!(key.day, day_number(date(2024, 5, 6)));
        assert_eq!((c.get(Column::Received), c.get(Column::Repeats)), (1, 0));
        t.repeat_of = Some(Uuid::now_v7());
        let (_, c) = contribution(&t, &Deadlines::default());
        assert_eq!((c.get(Column::Received), c.get(Column::Repeats)), (0, 1));
    }

    #[test]
    fn a_dispatch_past_its_deadline_is_late_and_overdue() {
        let mut t = ticket("楼道里飞线充电很危险");
        let received = t.received_at.unwrap_or_default();
        // A general ticket is dispatched within 24 hours.
        for (hours, on_time) in [(23, 1), (25, 0)] {
            t.events = vec![Event {
                id: Uuid::now_v7(),
                at: received + Duration::hours(hours),
                recorded_at: Utc::now(),
                body: EventBody::Dispatched {
                    department: "街道".into(),
                },
            }];
            let (_, c) = contribution(&t, &Deadlines::default());
            assert_eq!(c.get(Column::Dispatched), 1);
            assert_eq!(c.get(Column::DispatchTimed), 1);
            assert_eq!(c.get(Column::DispatchOnTime), on_time, "{hours} h");
            assert_eq!(c.get(Column::Overdue), 1 - on_time, "{hours} h");
        }
    }
}
