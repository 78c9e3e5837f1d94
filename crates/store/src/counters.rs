//! Pre-aggregated counters per (day, topic, district, kind).
//!
//! A ticket's contribution to the counters is a pure function of the ticket
//! ([`contribution`]). Every write subtracts the old contribution and adds the
//! new one in the same atomic batch as the ticket itself, so replaying an
//! event, re-importing a ticket or overriding a topic can never count twice,
//! and a recount from the tickets must always give the same numbers.

use std::collections::BTreeMap;

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

/// Deadlines (hours) by urgency, from the configuration, with optional
/// overrides by kind (`[store.deadlines.kinds."咨询"]`).
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
    /// Overrides by kind, keyed by its name (咨询 求助 投诉 举报 建议, or
    /// consultation, help, complaint, report, suggestion): a deadline set
    /// there replaces the urgency's for tickets of that kind; the others
    /// keep the urgency's. Left out of the serialised form when empty, so
    /// the stamps of a configuration without overrides read as before.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kinds: BTreeMap<String, KindDeadlines>,
}

/// One kind's overrides: any of the eight deadlines, in hours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindDeadlines {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_emergency_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_utilities_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_general_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_complex_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_emergency_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_utilities_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_general_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_complex_hours: Option<f64>,
}

impl KindDeadlines {
    fn dispatch(&self, u: Urgency) -> Option<f64> {
        match u {
            Urgency::Emergency => self.dispatch_emergency_hours,
            Urgency::Utilities => self.dispatch_utilities_hours,
            Urgency::General => self.dispatch_general_hours,
            Urgency::Complex => self.dispatch_complex_hours,
        }
    }

    fn feedback(&self, u: Urgency) -> Option<f64> {
        match u {
            Urgency::Emergency => self.feedback_emergency_hours,
            Urgency::Utilities => self.feedback_utilities_hours,
            Urgency::General => self.feedback_general_hours,
            Urgency::Complex => self.feedback_complex_hours,
        }
    }

    /// Each set deadline with its key.
    fn named(&self) -> [(&'static str, Option<f64>); 8] {
        [
            ("dispatch_emergency_hours", self.dispatch_emergency_hours),
            ("dispatch_utilities_hours", self.dispatch_utilities_hours),
            ("dispatch_general_hours", self.dispatch_general_hours),
            ("dispatch_complex_hours", self.dispatch_complex_hours),
            ("feedback_emergency_hours", self.feedback_emergency_hours),
            ("feedback_utilities_hours", self.feedback_utilities_hours),
            ("feedback_general_hours", self.feedback_general_hours),
            ("feedback_complex_hours", self.feedback_complex_hours),
        ]
    }
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
            kinds: BTreeMap::new(),
        }
    }
}

impl Deadlines {
    /// The overrides for `kind`, if configured (validation has checked that
    /// every key names a kind, and no kind twice).
    fn for_kind(&self, kind: Kind) -> Option<&KindDeadlines> {
        if self.kinds.is_empty() {
            return None;
        }
        self.kinds
            .iter()
            .find(|(name, _)| Kind::parse(name) == Some(kind))
            .map(|(_, k)| k)
    }

    /// Hours from receipt to dispatch for a ticket of this urgency and kind.
    pub fn dispatch(&self, u: Urgency, kind: Kind) -> f64 {
        if let Some(h) = self.for_kind(kind).and_then(|k| k.dispatch(u)) {
            return h;
        }
        match u {
            Urgency::Emergency => self.dispatch_emergency_hours,
            Urgency::Utilities => self.dispatch_utilities_hours,
            Urgency::General => self.dispatch_general_hours,
            Urgency::Complex => self.dispatch_complex_hours,
        }
    }

    /// Hours from the first dispatch (or receipt) to the department's
    /// feedback, for a ticket of this urgency and kind.
    pub fn feedback(&self, u: Urgency, kind: Kind) -> f64 {
        if let Some(h) = self.for_kind(kind).and_then(|k| k.feedback(u)) {
            return h;
        }
        match u {
            Urgency::Emergency => self.feedback_emergency_hours,
            Urgency::Utilities => self.feedback_utilities_hours,
            Urgency::General => self.feedback_general_hours,
            Urgency::Complex => self.feedback_complex_hours,
        }
    }

    /// Checks every deadline; an error names the key (under `deadlines.`).
    pub fn validate(&self) -> Result<(), String> {
        let positive = |h: f64| h.is_finite() && h > 0.0;
        let all = [
            ("dispatch_emergency_hours", self.dispatch_emergency_hours),
            ("dispatch_utilities_hours", self.dispatch_utilities_hours),
            ("dispatch_general_hours", self.dispatch_general_hours),
            ("dispatch_complex_hours", self.dispatch_complex_hours),
            ("feedback_emergency_hours", self.feedback_emergency_hours),
            ("feedback_utilities_hours", self.feedback_utilities_hours),
            ("feedback_general_hours", self.feedback_general_hours),
            ("feedback_complex_hours", self.feedback_complex_hours),
        ];
        if let Some((name, h)) = all.iter().find(|(_, h)| !positive(*h)) {
            return Err(format!(
                "deadlines.{name} must be a positive number of hours, got {h}"
            ));
        }
        if !(self.due_soon_fraction > 0.0 && self.due_soon_fraction < 1.0) {
            return Err("deadlines.due_soon_fraction must be between 0 and 1".to_owned());
        }
        let mut seen: BTreeMap<Kind, &str> = BTreeMap::new();
        for (name, k) in &self.kinds {
            let Some(kind) = Kind::parse(name) else {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.zh()).collect();
                return Err(format!(
                    "deadlines.kinds.{name}: not a kind (one of {}, or their English names)",
                    names.join(" ")
                ));
            };
            if let Some(other) = seen.insert(kind, name) {
                return Err(format!(
                    "deadlines.kinds.{name} and deadlines.kinds.{other} name the same kind"
                ));
            }
            let set = k.named();
            if set.iter().all(|(_, h)| h.is_none()) {
                return Err(format!(
                    "deadlines.kinds.{name} sets no deadline (e.g. feedback_general_hours = 24)"
                ));
            }
            if let Some((key, Some(h))) = set.iter().find(|(_, h)| h.is_some_and(|h| !positive(h)))
            {
                return Err(format!(
                    "deadlines.kinds.{name}.{key} must be a positive number of hours, got {h}"
                ));
            }
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

/// The first day of the assessment month `date` falls in, for assessment
/// months starting on `start_day` (1..=28, validated in `RateConfig`).
pub fn assessment_month_start(date: NaiveDate, start_day: u32) -> NaiveDate {
    let this_month = date.with_day(start_day).unwrap_or(date);
    if date.day() >= start_day {
        this_month
    } else {
        this_month
            .checked_sub_months(chrono::Months::new(1))
            .unwrap_or(this_month)
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

    /// The same counts rolled up to the assessment month (day = its first day).
    pub fn assessment_month(&self, start_day: u32) -> CounterKey {
        let day = day_date(self.day).map_or(self.day, |d| {
            day_number(assessment_month_start(d, start_day))
        });
        CounterKey {
            day,
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
            let on_time = hours_between(received, dispatched)
                <= deadlines.dispatch(ticket.urgency, ticket.kind);
            c.set(Column::DispatchTimed, true);
            c.set(Column::DispatchOnTime, on_time);
            overdue |= !on_time;
        }
    }
    if let Some(answered) = first_feedback {
        c.set(Column::Feedback, true);
        if let Some(start) = first_dispatch.or(ticket.received_at) {
            let on_time =
                hours_between(start, answered) <= deadlines.feedback(ticket.urgency, ticket.kind);
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
pub(crate) mod tests {
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

    /// 咨询 answered within a day; every other kind keeps its urgency's.
    pub(crate) fn consultations_within_a_day() -> Deadlines {
        let mut d = Deadlines::default();
        d.kinds.insert(
            "咨询".into(),
            KindDeadlines {
                feedback_general_hours: Some(24.0),
                ..KindDeadlines::default()
            },
        );
        d
    }

    #[test]
    fn a_kind_override_changes_that_kinds_deadlines_and_no_other() {
        let d = consultations_within_a_day();
        assert_eq!(d.validate(), Ok(()));
        assert_eq!(d.feedback(Urgency::General, Kind::Consultation), 24.0);
        assert_eq!(d.feedback(Urgency::General, Kind::Complaint), 168.0);
        // Deadlines it does not set stay the urgency's, for that kind too.
        assert_eq!(d.dispatch(Urgency::General, Kind::Consultation), 24.0);
        assert_eq!(d.feedback(Urgency::Emergency, Kind::Consultation), 2.0);
        // Without overrides, every kind has its urgency's deadline.
        for kind in Kind::ALL {
            assert_eq!(Deadlines::default().feedback(Urgency::General, kind), 168.0);
        }

        // Same urgency, same times: fed back 30 hours after dispatch.
        let mut t = ticket("想咨询一下公积金提取需要什么材料");
        let received = t.received_at.unwrap_or_default();
        t.events = [
            (
                1,
                EventBody::Dispatched {
                    department: "住房公积金管理中心".into(),
                },
            ),
            (
                31,
                EventBody::Feedback {
                    resolved: true,
                    note: None,
                },
            ),
        ]
        .into_iter()
        .map(|(h, body)| Event {
            id: Uuid::now_v7(),
            at: received + Duration::hours(h),
            recorded_at: Utc::now(),
            body,
        })
        .collect();
        let on_time = |t: &Ticket, d: &Deadlines| {
            let (_, c) = contribution(t, d);
            (c.get(Column::FeedbackOnTime), c.get(Column::Overdue))
        };
        t.kind = Kind::Complaint;
        assert_eq!(on_time(&t, &d), (1, 0));
        t.kind = Kind::Consultation;
        assert_eq!(on_time(&t, &d), (0, 1), "a consultation is late after 24 h");
        assert_eq!(
            on_time(&t, &Deadlines::default()),
            (1, 0),
            "unchanged without overrides"
        );
        // The department rows count it the same way.
        let [(_, _, day), _] = crate::departments::rows(&t, &d);
        assert_eq!(day.get(Column::FeedbackOnTime), 0);
    }

    #[test]
    fn kind_overrides_are_validated_naming_the_key() {
        let with = |name: &str, k: KindDeadlines| {
            let mut d = Deadlines::default();
            d.kinds.insert(name.into(), k);
            d.validate().err().unwrap_or_default()
        };
        let day = KindDeadlines {
            feedback_general_hours: Some(24.0),
            ..KindDeadlines::default()
        };
        assert_eq!(with("consultation", day.clone()), "");
        assert!(with("咨讯", day.clone()).starts_with("deadlines.kinds.咨讯: not a kind"));
        assert_eq!(
            with("咨询", KindDeadlines::default()),
            "deadlines.kinds.咨询 sets no deadline (e.g. feedback_general_hours = 24)"
        );
        assert_eq!(
            with(
                "投诉",
                KindDeadlines {
                    dispatch_emergency_hours: Some(0.0),
                    ..KindDeadlines::default()
                }
            ),
            "deadlines.kinds.投诉.dispatch_emergency_hours must be a positive number of hours, got 0"
        );
        let mut twice = consultations_within_a_day();
        twice.kinds.insert("consultation".into(), day);
        assert_eq!(
            twice.validate(),
            Err("deadlines.kinds.咨询 and deadlines.kinds.consultation name the same kind".into())
        );
        let zero = Deadlines {
            feedback_utilities_hours: -1.0,
            ..Deadlines::default()
        };
        assert_eq!(
            zero.validate(),
            Err(
                "deadlines.feedback_utilities_hours must be a positive number of hours, got -1"
                    .into()
            )
        );
        // No overrides: the serialised form (the stamps stored in sled) is as before.
        let json = serde_json::to_string(&Deadlines::default()).unwrap_or_default();
        assert!(!json.contains("kinds"), "{json}");
    }
}
