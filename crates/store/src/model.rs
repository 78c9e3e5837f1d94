//! Tickets and their lifecycle events.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The engine's clock: every time a ticket holds (its receipt, its events'
/// times, the times of imported rows as written) is Beijing time, UTC+8
/// (China keeps no daylight saving time), stored without a zone, whatever
/// the machine's time zone. Only the moments the store records for itself
/// (`accepted_at`, `recorded_at`, tokens, the audit log) are UTC.
pub fn beijing_now() -> NaiveDateTime {
    beijing_time(Utc::now())
}

/// A moment as Beijing time (see [`beijing_now`]).
pub fn beijing_time(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc() + chrono::Duration::hours(8)
}

/// The earliest time a ticket's receipt or event may carry: anything before
/// is a typo or some tool's empty date (1900-01-01), not a call.
pub fn earliest_time() -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

/// How far past now (Beijing time) a reported time may be: other systems'
/// clocks drift a little; more is a mistake.
pub const FUTURE_SKEW_MINUTES: i64 = 10;

/// Checks a reported time (Beijing time): not before [`earliest_time`], not
/// more than [`FUTURE_SKEW_MINUTES`] past now, and not before `not_before`
/// (an event's ticket's receipt) when given. The message says which.
pub fn check_time(at: NaiveDateTime, not_before: Option<NaiveDateTime>) -> Result<(), String> {
    let fmt = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    if at < earliest_time() {
        return Err(format!("{} is before {}", fmt(at), fmt(earliest_time())));
    }
    let latest = beijing_now() + chrono::Duration::minutes(FUTURE_SKEW_MINUTES);
    if at > latest {
        return Err(format!(
            "{} is in the future (now in Beijing: {})",
            fmt(at),
            fmt(beijing_now())
        ));
    }
    if let Some(receipt) = not_before.filter(|r| at < *r) {
        return Err(format!(
            "{} is before the ticket's receipt ({})",
            fmt(at),
            fmt(receipt)
        ));
    }
    Ok(())
}

/// What the caller wants (诉求类型). Consultations are reported apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Consultation,
    Help,
    Complaint,
    Report,
    Suggestion,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Consultation,
        Kind::Help,
        Kind::Complaint,
        Kind::Report,
        Kind::Suggestion,
    ];

    /// Accepts the English names and the Chinese ones (咨询 求助 投诉 举报 建议).
    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.trim();
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s) || k.zh() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Consultation => "consultation",
            Kind::Help => "help",
            Kind::Complaint => "complaint",
            Kind::Report => "report",
            Kind::Suggestion => "suggestion",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Kind::Consultation => "咨询",
            Kind::Help => "求助",
            Kind::Complaint => "投诉",
            Kind::Report => "举报",
            Kind::Suggestion => "建议",
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.get(code as usize).copied()
    }
}

/// How fast a ticket must be dispatched and answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Danger to people or property.
    Emergency,
    /// Water, power, gas or heating.
    Utilities,
    #[default]
    General,
    /// Needs several departments or long work.
    Complex,
}

impl Urgency {
    pub fn parse(s: &str) -> Option<Urgency> {
        match s.trim() {
            "emergency" | "紧急" => Some(Urgency::Emergency),
            "utilities" | "水电气热" => Some(Urgency::Utilities),
            "general" | "一般" | "普通" => Some(Urgency::General),
            "complex" | "复杂" | "疑难" => Some(Urgency::Complex),
            _ => None,
        }
    }
}

/// The caller's verdict at the callback (回访).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
}

impl Satisfaction {
    pub fn parse(s: &str) -> Option<Satisfaction> {
        match s.trim() {
            "satisfied" | "满意" => Some(Satisfaction::Satisfied),
            "basically_satisfied" | "基本满意" => Some(Satisfaction::BasicallySatisfied),
            "unsatisfied" | "不满意" => Some(Satisfaction::Unsatisfied),
            _ => None,
        }
    }
}

/// Who set a ticket's topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicSource {
    Router,
    Operator,
    Imported,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicAssignment {
    pub slug: String,
    pub source: TopicSource,
    /// The router's confidence when the router set it.
    pub confidence: Option<f32>,
    /// The version of the model that set it (`m-…`), when the router did:
    /// how a supervisor tells which model's decisions an override corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl TopicAssignment {
    /// The router's decision, with the version of the model that made it.
    pub fn routed(slug: impl Into<String>, confidence: f32, model: impl Into<String>) -> Self {
        TopicAssignment {
            slug: slug.into(),
            source: TopicSource::Router,
            confidence: Some(confidence),
            model: Some(model.into()),
        }
    }

    /// A topic chosen by a person or read from an imported file.
    pub fn given(slug: impl Into<String>, source: TopicSource) -> Self {
        TopicAssignment {
            slug: slug.into(),
            source,
            confidence: None,
            model: None,
        }
    }
}

/// One step of a ticket's life. Events are appended, never changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Dispatched {
        department: String,
    },
    /// 退单: the department sent it back.
    Returned {
        department: Option<String>,
        reason: String,
    },
    /// 改派: sent to another department.
    Reassigned {
        department: String,
        reason: Option<String>,
    },
    /// The department contacted the caller (the response).
    Contacted {
        note: Option<String>,
    },
    /// The department reported back.
    Feedback {
        resolved: bool,
        note: Option<String>,
    },
    /// The hotline called the caller back.
    Callback {
        valid: bool,
        contacted: bool,
        resolved: bool,
        satisfaction: Option<Satisfaction>,
    },
    Closed {
        note: Option<String>,
    },
    /// An operator changed the topic (kept as a training label).
    TopicChanged {
        from: String,
        to: String,
        reason: Option<String>,
        /// The model whose decision this corrects, when the router had set
        /// the topic: overrides counted per model version show drift.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        /// Set when no person changed it: the newer model that re-routed the
        /// ticket (`hotline reroute`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rerouted_by: Option<String>,
    },
}

/// The most events one ticket takes from departments and operators, its
/// closing apart: a ticket's life is tens of them (dispatch, return,
/// reassignment, contacts, feedback, callbacks). Every event writes the
/// whole ticket to the journal again, so without a bound one client could
/// make the journal grow with the square of its requests. (A reroute's
/// `topic_changed`, one per model installed, is not counted against it.)
pub const MAX_EVENTS_PER_TICKET: usize = 200;

/// The longest department name and the longest note or reason of an event,
/// in characters: a department is a name, a note a few sentences.
pub const MAX_DEPARTMENT_CHARS: usize = 100;
pub const MAX_NOTE_CHARS: usize = 2000;

impl EventBody {
    /// The event's texts within their bounds, or the field that is not
    /// (an event written by the API, an import or a test alike).
    pub fn check_lengths(&self) -> std::result::Result<(), (&'static str, String)> {
        let (departments, notes): (Vec<&String>, Vec<(&'static str, &String)>) = match self {
            EventBody::Dispatched { department } => (vec![department], vec![]),
            EventBody::Returned { department, reason } => {
                (department.iter().collect(), vec![("reason", reason)])
            }
            EventBody::Reassigned { department, reason } => (
                vec![department],
                reason.iter().map(|r| ("reason", r)).collect(),
            ),
            EventBody::Contacted { note }
            | EventBody::Feedback { note, .. }
            | EventBody::Closed { note } => (vec![], note.iter().map(|n| ("note", n)).collect()),
            EventBody::Callback { .. } => (vec![], vec![]),
            EventBody::TopicChanged { reason, .. } => {
                (vec![], reason.iter().map(|r| ("reason", r)).collect())
            }
        };
        for d in departments {
            let n = d.chars().count();
            if n > MAX_DEPARTMENT_CHARS {
                return Err((
                    "department",
                    format!("{n} characters, longer than {MAX_DEPARTMENT_CHARS}"),
                ));
            }
        }
        for (field, text) in notes {
            let n = text.chars().count();
            if n > MAX_NOTE_CHARS {
                return Err((
                    field,
                    format!("{n} characters, longer than {MAX_NOTE_CHARS}"),
                ));
            }
        }
        Ok(())
    }

    /// The department the event names, if any.
    pub fn department(&self) -> Option<&str> {
        match self {
            EventBody::Dispatched { department } | EventBody::Reassigned { department, .. } => {
                Some(department)
            }
            EventBody::Returned { department, .. } => department.as_deref(),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            EventBody::Dispatched { .. } => "dispatched",
            EventBody::Returned { .. } => "returned",
            EventBody::Reassigned { .. } => "reassigned",
            EventBody::Contacted { .. } => "contacted",
            EventBody::Feedback { .. } => "feedback",
            EventBody::Callback { .. } => "callback",
            EventBody::Closed { .. } => "closed",
            EventBody::TopicChanged { .. } => "topic_changed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Idempotency key: an event submitted twice with the same id is stored once.
    pub id: Uuid,
    /// When it happened (Beijing time, see [`beijing_now`]), as reported.
    pub at: NaiveDateTime,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// A ticket as submitted, after routing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    pub external_id: Option<String>,
    /// Beijing time it was received (see [`beijing_now`]); None for
    /// historical tickets without a date.
    pub received_at: Option<NaiveDateTime>,
    pub channel: String,
    pub kind: Kind,
    pub urgency: Urgency,
    pub title: Option<String>,
    pub text: String,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub address: Option<String>,
    pub district: Option<String>,
    /// The 街道 / 乡镇 (canonical full name, in `district`), when known.
    /// Absent from records written before streets were kept: None.
    #[serde(default)]
    pub street: Option<String>,
    pub topic: TopicAssignment,
    pub department: String,
    pub deciding_words: Vec<String>,
    /// The ticket's words, segmented once, joined by spaces: what the index reads.
    pub index_tokens: String,
    /// Outcomes already known (historical imports), appended in order.
    pub history: Vec<(NaiveDateTime, EventBody)>,
}

/// Where a ticket is in its life, derived from its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Received,
    /// Linked to an earlier open ticket: gets its progress, not a dispatch.
    Repeat,
    Dispatched,
    Returned,
    Contacted,
    Answered,
    CalledBack,
    Closed,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Received,
        Status::Repeat,
        Status::Dispatched,
        Status::Returned,
        Status::Contacted,
        Status::Answered,
        Status::CalledBack,
        Status::Closed,
    ];

    /// The status as the dashboard and the exports name it.
    pub fn zh(self) -> &'static str {
        match self {
            Status::Received => "已受理",
            Status::Repeat => "重复件",
            Status::Dispatched => "已派单",
            Status::Returned => "已退单",
            Status::Contacted => "已联系",
            Status::Answered => "已反馈",
            Status::CalledBack => "已回访",
            Status::Closed => "已办结",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Repeat => "repeat",
            Status::Dispatched => "dispatched",
            Status::Returned => "returned",
            Status::Contacted => "contacted",
            Status::Answered => "answered",
            Status::CalledBack => "called_back",
            Status::Closed => "closed",
        }
    }
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: Uuid,
    pub external_id: Option<String>,
    pub received_at: Option<NaiveDateTime>,
    pub accepted_at: DateTime<Utc>,
    pub channel: String,
    pub kind: Kind,
    pub urgency: Urgency,
    pub title: Option<String>,
    pub text: String,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub address: Option<String>,
    pub district: Option<String>,
    /// The 街道 / 乡镇 (canonical full name, in `district`), when known.
    /// Absent from records written before streets were kept: None.
    #[serde(default)]
    pub street: Option<String>,
    pub topic: TopicAssignment,
    pub department: String,
    pub deciding_words: Vec<String>,
    pub repeat_of: Option<Uuid>,
    pub events: Vec<Event>,
    /// Position of the ticket's latest change in the store's history.
    pub seq: u64,
}

impl Ticket {
    pub fn status(&self) -> Status {
        let mut status = if self.repeat_of.is_some() {
            Status::Repeat
        } else {
            Status::Received
        };
        for e in &self.events {
            status = match e.body {
                EventBody::Dispatched { .. } | EventBody::Reassigned { .. } => Status::Dispatched,
                EventBody::Returned { .. } => Status::Returned,
                EventBody::Contacted { .. } => Status::Contacted,
                EventBody::Feedback { .. } => Status::Answered,
                EventBody::Callback { .. } => Status::CalledBack,
                EventBody::Closed { .. } => Status::Closed,
                EventBody::TopicChanged { .. } => status,
            };
        }
        status
    }

    pub fn is_open(&self) -> bool {
        self.status() != Status::Closed
    }

    /// When the ticket counts as having happened: its received time, or for
    /// an undated historical ticket nothing (it is shown apart as undated).
    pub fn day(&self) -> Option<chrono::NaiveDate> {
        self.received_at.map(|t| t.date())
    }
}
