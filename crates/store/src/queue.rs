//! The deadline queue: every open ticket that still owes a dispatch or a
//! department's feedback, keyed by that deadline.
//!
//! Sled keeps one key per such ticket, `q` · deadline (seconds, Beijing
//! time, order-preserving) · id, whose value holds what the queue filters
//! and shows (stage, urgency, kind, topic, district, street, department), so
//! a query walks the open tickets in deadline order without reading one
//! ticket from the journal, and its cost follows the number of open tickets,
//! not of all tickets. The key is a pure function of the ticket
//! ([`entry`]): the writer removes the old version's key and inserts the new
//! one in the same atomic batch as the ticket (`store::apply`), and
//! `hotline verify` compares the keys with a recount.
//!
//! Each key has a twin under `r` · district, with the same value, so that a
//! query for one district walks that district's open tickets only: its cost
//! (and so its time, which any district-limited token can measure) owes
//! nothing to the other districts' backlog.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::batch::CountRow;
use crate::counters::Deadlines;
use crate::model::{EventBody, Kind, Ticket, Urgency};
use crate::queue_counts::{OpenCount, QUEUE_BUCKET};

// The deadline settings the keys were computed with (JSON) are kept under
// META_QUEUE_CONFIG: when the configuration changes, the keys are rebuilt
// at the next opening.
pub(crate) use crate::keys::{META_QUEUE_CONFIG, QUEUE, QUEUE_BY_DISTRICT};
const VALUE_VERSION: u8 = 1;

/// Which deadline a ticket is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Received, not yet dispatched: the dispatch deadline runs from receipt.
    Dispatch,
    /// Dispatched (or reassigned, or returned), no feedback yet: the
    /// feedback deadline runs from the first dispatch.
    Feedback,
}

/// How a ticket stands against its deadline at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    /// More than `due_soon_fraction` of its allowance left.
    OnTime,
    /// Not past the deadline, but within the last `due_soon_fraction` of it.
    DueSoon,
    /// Past the deadline.
    Overdue,
}

impl DeadlineState {
    pub const ALL: [DeadlineState; 3] = [
        DeadlineState::OnTime,
        DeadlineState::DueSoon,
        DeadlineState::Overdue,
    ];

    pub fn parse(s: &str) -> Option<DeadlineState> {
        match s.trim() {
            "on_time" | "正常" => Some(DeadlineState::OnTime),
            "due_soon" | "临期" | "即将超期" => Some(DeadlineState::DueSoon),
            "overdue" | "超期" => Some(DeadlineState::Overdue),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineState::OnTime => "on_time",
            DeadlineState::DueSoon => "due_soon",
            DeadlineState::Overdue => "overdue",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            DeadlineState::OnTime => "正常",
            DeadlineState::DueSoon => "临期",
            DeadlineState::Overdue => "超期",
        }
    }
}

/// One open ticket in the queue, as sled keeps it (no text, no caller: the
/// queue holds nothing personal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub id: Uuid,
    pub deadline: NaiveDateTime,
    pub stage: Stage,
    pub received_at: NaiveDateTime,
    /// The whole allowance of the stage, in seconds (due soon is a share of it).
    pub allowance_secs: i64,
    pub urgency: Urgency,
    pub kind: Kind,
    pub topic: String,
    pub district: String,
    pub street: String,
    /// The department that holds the ticket now: the lead department before
    /// a dispatch, the one named by the latest dispatch or 改派 after it,
    /// empty when it was sent back (退单) and awaits another.
    pub department: String,
}

fn urgency_code(u: Urgency) -> u8 {
    match u {
        Urgency::Emergency => 0,
        Urgency::Utilities => 1,
        Urgency::General => 2,
        Urgency::Complex => 3,
    }
}

fn urgency_of(code: u8) -> Option<Urgency> {
    [
        Urgency::Emergency,
        Urgency::Utilities,
        Urgency::General,
        Urgency::Complex,
    ]
    .get(code as usize)
    .copied()
}

pub(crate) fn secs(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

pub(crate) fn time_of(secs: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.naive_utc())
}

/// The ticket's place in the queue, if it owes a deadline: None for a closed
/// ticket, a repeat (it follows the ticket it repeats), an undated one (no
/// clock to run), and one whose department has given its feedback (or that
/// was called back): from there on the hotline, not a department, holds it.
pub(crate) fn entry(ticket: &Ticket, deadlines: &Deadlines) -> Option<Entry> {
    let received = ticket.received_at?;
    if ticket.repeat_of.is_some() {
        return None;
    }
    let mut first_dispatch = None;
    let mut department = None;
    for e in &ticket.events {
        match &e.body {
            EventBody::Dispatched { department: d }
            | EventBody::Reassigned { department: d, .. } => {
                first_dispatch.get_or_insert(e.at);
                department = Some(d.clone());
            }
            EventBody::Returned { .. } => department = Some(String::new()),
            EventBody::Feedback { .. } | EventBody::Callback { .. } | EventBody::Closed { .. } => {
                return None
            }
            EventBody::Contacted { .. } | EventBody::TopicChanged { .. } => {}
        }
    }
    let (stage, start, hours) = match first_dispatch {
        None => (
            Stage::Dispatch,
            received,
            deadlines.dispatch(ticket.urgency, ticket.kind),
        ),
        Some(at) => (
            Stage::Feedback,
            at,
            deadlines.feedback(ticket.urgency, ticket.kind),
        ),
    };
    let allowance_secs = (hours * 3600.0).round() as i64;
    Some(Entry {
        id: ticket.id,
        deadline: start + Duration::seconds(allowance_secs),
        stage,
        received_at: received,
        allowance_secs,
        urgency: ticket.urgency,
        kind: ticket.kind,
        topic: ticket.topic.slug.clone(),
        district: ticket.district.clone().unwrap_or_default(),
        street: ticket.street.clone().unwrap_or_default(),
        department: department.unwrap_or_else(|| ticket.department.clone()),
    })
}

/// `q` · deadline (seconds with the sign bit flipped, big-endian, so keys
/// sort by deadline) · id.
fn key_of(deadline: NaiveDateTime, id: Uuid) -> Vec<u8> {
    let mut k = Vec::with_capacity(25);
    k.push(QUEUE);
    k.extend_from_slice(&((secs(deadline) as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// The first key at or after `t`.
pub(crate) fn bound(t: NaiveDateTime) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(QUEUE);
    k.extend_from_slice(&((secs(t) as u64) ^ (1 << 63)).to_be_bytes());
    k
}

/// `r` · the district's length (u16) and bytes: where its twin keys start.
fn district_prefix(district: &str) -> Vec<u8> {
    crate::keys::district_prefix(QUEUE_BY_DISTRICT, district)
}

/// A district's twin of a queue key: its prefix, then the key without `q`.
fn district_key(district: &str, key: &[u8]) -> Vec<u8> {
    let mut k = district_prefix(district);
    k.extend_from_slice(&key[1..]);
    k
}

/// The queue key a district's twin stands for (on the stack: the walk's
/// loop does not allocate).
fn primary_of(twin: &[u8]) -> Option<[u8; 25]> {
    let at = twin.len().checked_sub(24)?;
    let mut k = [QUEUE; 25];
    k[1..].copy_from_slice(&twin[at..]);
    Some(k)
}

fn put_str(v: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let len = bytes.len().min(u16::MAX as usize);
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.extend_from_slice(&bytes[..len]);
}

fn take<'a>(v: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if v.len() < n {
        return None;
    }
    let (head, rest) = v.split_at(n);
    *v = rest;
    Some(head)
}

fn take_str(v: &mut &[u8]) -> Option<String> {
    let len = u16::from_be_bytes(take(v, 2)?.try_into().ok()?) as usize;
    String::from_utf8(take(v, len)?.to_vec()).ok()
}

fn take_str_ref<'a>(v: &mut &'a [u8]) -> Option<&'a str> {
    let len = u16::from_be_bytes(take(v, 2)?.try_into().ok()?) as usize;
    std::str::from_utf8(take(v, len)?).ok()
}

/// What the query filters and counts on, read in place (no allocation):
/// a query touches every open key, so this is its inner loop.
pub(crate) struct Peek<'a> {
    pub(crate) deadline: i64,
    pub(crate) allowance_secs: i64,
    topic: &'a str,
    district: &'a str,
    street: &'a str,
    pub(crate) department: &'a str,
}

pub(crate) fn peek<'a>(k: &[u8], v: &'a [u8]) -> Option<Peek<'a>> {
    if k.len() != 25 {
        return None;
    }
    let deadline = (u64::from_be_bytes(k[1..9].try_into().ok()?) ^ (1 << 63)) as i64;
    let mut v = v;
    if take(&mut v, 4)?[0] != VALUE_VERSION {
        return None;
    }
    take(&mut v, 8)?;
    let allowance_secs = take_i64(&mut v)?;
    Some(Peek {
        deadline,
        allowance_secs,
        topic: take_str_ref(&mut v)?,
        district: take_str_ref(&mut v)?,
        street: take_str_ref(&mut v)?,
        department: take_str_ref(&mut v)?,
    })
}

pub(crate) fn state_of(left: i64, allowance_secs: i64, due_soon_fraction: f64) -> DeadlineState {
    if left < 0 {
        DeadlineState::Overdue
    } else if (left as f64) <= allowance_secs as f64 * due_soon_fraction {
        DeadlineState::DueSoon
    } else {
        DeadlineState::OnTime
    }
}

fn take_i64(v: &mut &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(take(v, 8)?.try_into().ok()?))
}

impl Entry {
    pub fn key(&self) -> Vec<u8> {
        key_of(self.deadline, self.id)
    }

    /// The twin key under the ticket's district (`r`).
    pub fn district_key(&self) -> Vec<u8> {
        district_key(&self.district, &self.key())
    }

    pub fn value(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(64 + self.topic.len() + self.department.len());
        v.push(VALUE_VERSION);
        v.push(match self.stage {
            Stage::Dispatch => 0,
            Stage::Feedback => 1,
        });
        v.push(urgency_code(self.urgency));
        v.push(self.kind.code());
        v.extend_from_slice(&secs(self.received_at).to_be_bytes());
        v.extend_from_slice(&self.allowance_secs.to_be_bytes());
        for s in [&self.topic, &self.district, &self.street, &self.department] {
            put_str(&mut v, s);
        }
        v
    }

    pub fn decode(k: &[u8], v: &[u8]) -> Option<Entry> {
        if k.len() != 25 || k[0] != QUEUE {
            return None;
        }
        let deadline = time_of((u64::from_be_bytes(k[1..9].try_into().ok()?) ^ (1 << 63)) as i64)?;
        let id = Uuid::from_slice(&k[9..]).ok()?;
        let mut v = v;
        let head = take(&mut v, 4)?;
        if head[0] != VALUE_VERSION {
            return None;
        }
        let stage = match head[1] {
            0 => Stage::Dispatch,
            1 => Stage::Feedback,
            _ => return None,
        };
        let urgency = urgency_of(head[2])?;
        let kind = Kind::from_code(head[3])?;
        let received_at = time_of(take_i64(&mut v)?)?;
        let allowance_secs = take_i64(&mut v)?;
        let topic = take_str(&mut v)?;
        let district = take_str(&mut v)?;
        let street = take_str(&mut v)?;
        let department = take_str(&mut v)?;
        Some(Entry {
            id,
            deadline,
            stage,
            received_at,
            allowance_secs,
            urgency,
            kind,
            topic,
            district,
            street,
            department,
        })
    }
}

/// The sled changes that move a ticket's queue key from its old version to
/// its new one (either may be absent), and its deadline bucket's deltas
/// (`queue_counts`). Called by the writer's batch.
pub(crate) fn update(
    batch: &mut sled::Batch,
    buckets: &mut HashMap<Vec<u8>, OpenCount>,
    old: Option<&Ticket>,
    new: &Ticket,
    deadlines: &Deadlines,
) {
    let before = old.and_then(|t| entry(t, deadlines));
    let after = entry(new, deadlines);
    if before == after {
        return;
    }
    crate::queue_counts::deltas(before.as_ref(), after.as_ref(), buckets);
    if let Some(b) = &before {
        batch.remove(b.key());
        batch.remove(b.district_key());
    }
    if let Some(a) = &after {
        let value = a.value();
        batch.insert(a.district_key(), value.clone());
        batch.insert(a.key(), value);
    }
}

/// What the derived keys (queue, addresses) follow: their layout's version
/// and the deadlines, as stored under [`META_QUEUE_CONFIG`].
pub(crate) fn config_stamp(deadlines: &Deadlines) -> Vec<u8> {
    // v2: with the deadline buckets (`queue_counts`); v3: with the keys'
    // twins by district (`r`); v4: the address keys under their district.
    let mut stamp = b"v4 ".to_vec();
    stamp.extend(serde_json::to_vec(deadlines).unwrap_or_default());
    stamp
}

/// Rebuilds every queue key (and the address keys) from the tickets (a
/// store written before the queue existed, or whose deadlines changed): one
/// pass over the tickets, after the journal's replay, before the writer
/// starts. The department counters, which follow the deadlines too, are
/// counted again with the other counters (`views::count_at_open`).
pub(crate) fn rebuild(
    tree: &sled::Tree,
    tickets: impl Iterator<Item = crate::Result<Ticket>>,
    deadlines: &Deadlines,
) -> crate::Result<u64> {
    let mut batch = sled::Batch::default();
    let mut n = 0u64;
    let mut entries = Vec::new();
    for space in [
        QUEUE,
        QUEUE_BY_DISTRICT,
        crate::hotspots::ADDRESS,
        QUEUE_BUCKET,
    ] {
        for item in tree.scan_prefix([space]) {
            let (k, _) = item?;
            batch.remove(k);
        }
    }
    for t in tickets {
        let t = match t {
            Ok(t) => t,
            // `verify` names unreadable records; the queue does without them.
            Err(e) if e.is_unreadable() => continue,
            Err(e) => return Err(e),
        };
        if let Some(e) = entry(&t, deadlines) {
            let value = e.value();
            batch.insert(e.district_key(), value.clone());
            batch.insert(e.key(), value);
            entries.push(e);
            n += 1;
        }
        if let Some((k, v)) = crate::hotspots::address_entry(&t) {
            batch.insert(k, v);
        }
    }
    for (k, c) in crate::queue_counts::rows(entries.iter()) {
        if !c.is_zero() {
            batch.insert(k, c.encode());
        }
    }
    batch.insert(META_QUEUE_CONFIG, config_stamp(deadlines));
    tree.apply_batch(batch)?;
    // Handed to the OS now, as the counters' recount is: a process killed
    // soon after this opening need not rebuild the queue again.
    tree.flush()?;
    Ok(n)
}

/// A queue query: filters, the moment it is asked at, a page.
#[derive(Debug, Clone, Default)]
pub struct QueueQuery {
    pub department: Option<String>,
    pub topic: Option<String>,
    pub district: Option<String>,
    pub street: Option<String>,
    pub state: Option<DeadlineState>,
    /// Only tickets whose deadline is at most this far ahead (overdue ones included).
    pub due_within: Option<Duration>,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
}

/// One open ticket as the queue shows it.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub id: Uuid,
    pub stage: Stage,
    pub state: DeadlineState,
    pub deadline: NaiveDateTime,
    /// Seconds until the deadline; negative once it is past.
    pub seconds_left: i64,
    pub received_at: NaiveDateTime,
    pub urgency: Urgency,
    pub kind: Kind,
    pub topic: String,
    pub district: Option<String>,
    pub street: Option<String>,
    /// Empty when a department sent it back (退单) and it awaits another.
    pub department: String,
}

/// Counts by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub on_time: u64,
    pub due_soon: u64,
    pub overdue: u64,
}

impl StateCounts {
    fn add(&mut self, s: DeadlineState) {
        match s {
            DeadlineState::OnTime => self.on_time += 1,
            DeadlineState::DueSoon => self.due_soon += 1,
            DeadlineState::Overdue => self.overdue += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.on_time + self.due_soon + self.overdue
    }
}

/// The backlog of one department.
#[derive(Debug, Clone, Serialize)]
pub struct DepartmentBacklog {
    pub department: String,
    #[serde(flatten)]
    pub counts: StateCounts,
}

/// The answer to a [`QueueQuery`].
#[derive(Debug, Clone, Serialize)]
pub struct QueuePage {
    pub now: NaiveDateTime,
    /// Tickets matching every filter (the state filter too).
    pub total: u64,
    /// Tickets matching the filters other than the state, by state.
    pub counts: StateCounts,
    /// The same, by department, largest overdue first.
    pub by_department: Vec<DepartmentBacklog>,
    /// The page, by time left (most overdue first).
    pub items: Vec<QueueItem>,
    /// How many keys the query walked: its cost, for the tests that check a
    /// district's query owes nothing to the other districts. Not shown.
    #[serde(skip)]
    pub keys_read: u64,
}

/// Walks the queue keys in deadline order: as far as `due_within` reaches,
/// or only up to `now` for overdue tickets. Filters on the values, never
/// reading a ticket.
pub(crate) fn query(
    tree: &sled::Tree,
    q: &QueueQuery,
    now: NaiveDateTime,
    due_soon_fraction: f64,
) -> crate::Result<QueuePage> {
    let end = match q.due_within {
        Some(d) => bound(now + d + Duration::seconds(1)),
        None => vec![QUEUE + 1],
    };
    let skip = q.page.saturating_sub(1).saturating_mul(q.per_page);
    let mut counts = StateCounts::default();
    let mut total = 0u64;
    let mut items = Vec::with_capacity(q.per_page.min(1000));
    let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    let now_secs = secs(now);
    let mut departments: HashMap<String, StateCounts> = HashMap::new();
    // Unless a filter only the keys hold narrows the query (topic, district,
    // street, a bound on the deadline), the counts come from the deadline
    // buckets (`queue_counts`) and the walk stops once the page is full.
    let counted =
        q.topic.is_none() && q.district.is_none() && q.street.is_none() && q.due_within.is_none();
    if counted {
        (counts, departments) =
            crate::queue_counts::counts(tree, q.department.as_deref(), now, due_soon_fraction)?;
    }
    // One district's query walks its own twin keys, in the same deadline
    // order; the city's walks the `q` keys.
    let walk = match &q.district {
        Some(district) => {
            let prefix = district_prefix(district);
            let mut to = prefix.clone();
            match &end[1..] {
                // No deadline bound: to the end of the district's keys.
                [] => to.extend_from_slice(&[0xff; 25]),
                deadline => to.extend_from_slice(deadline),
            }
            tree.range(prefix..to)
        }
        None => tree.range(vec![QUEUE]..end),
    };
    let mut keys_read = 0u64;
    for item in walk {
        if counted && items.len() >= q.per_page {
            break;
        }
        let (stored, v) = item?;
        keys_read += 1;
        let primary;
        let k: &[u8] = match q.district {
            Some(_) => match primary_of(&stored) {
                Some(key) => {
                    primary = key;
                    &primary
                }
                None => {
                    tracing::warn!(
                        "a district queue key cannot be decoded; `hotline verify` names it"
                    );
                    continue;
                }
            },
            None => &stored,
        };
        let Some(p) = peek(k, &v) else {
            tracing::warn!("a deadline queue key cannot be decoded; `hotline verify` names it");
            continue;
        };
        if !(matches(&q.department, p.department)
            && matches(&q.topic, p.topic)
            && matches(&q.district, p.district)
            && matches(&q.street, p.street))
        {
            continue;
        }
        let state = state_of(p.deadline - now_secs, p.allowance_secs, due_soon_fraction);
        if !counted {
            counts.add(state);
            match departments.get_mut(p.department) {
                Some(c) => c.add(state),
                None => {
                    let mut c = StateCounts::default();
                    c.add(state);
                    departments.insert(p.department.to_owned(), c);
                }
            }
        }
        if q.state.is_some_and(|s| s != state) {
            continue;
        }
        total += 1;
        if total as usize > skip && items.len() < q.per_page {
            let Some(e) = Entry::decode(k, &v) else {
                continue;
            };
            let nonempty = |s: String| (!s.is_empty()).then_some(s);
            items.push(QueueItem {
                id: e.id,
                stage: e.stage,
                state,
                seconds_left: (e.deadline - now).num_seconds(),
                deadline: e.deadline,
                received_at: e.received_at,
                urgency: e.urgency,
                kind: e.kind,
                topic: e.topic,
                district: nonempty(e.district),
                street: nonempty(e.street),
                department: e.department,
            });
        }
    }
    if counted {
        total = match q.state {
            None => counts.total(),
            Some(DeadlineState::OnTime) => counts.on_time,
            Some(DeadlineState::DueSoon) => counts.due_soon,
            Some(DeadlineState::Overdue) => counts.overdue,
        };
    }
    let mut by_department: Vec<DepartmentBacklog> = departments
        .into_iter()
        .map(|(department, counts)| DepartmentBacklog { department, counts })
        .collect();
    by_department.sort_by(|a, b| {
        (b.counts.overdue, b.counts.due_soon, b.counts.total())
            .cmp(&(a.counts.overdue, a.counts.due_soon, a.counts.total()))
            .then_with(|| a.department.cmp(&b.department))
    });
    Ok(QueuePage {
        now,
        total,
        counts,
        by_department,
        items,
        keys_read,
    })
}

/// `verify`: the stored keys of `space` (the queue, the address keys)
/// against a recount from the tickets.
pub(crate) fn check(
    tree: &sled::Tree,
    space: u8,
    mut expected: BTreeMap<Vec<u8>, Vec<u8>>,
) -> crate::Result<(u64, Vec<String>)> {
    let what = match space {
        QUEUE => "queue",
        QUEUE_BY_DISTRICT => "district queue",
        _ => "address",
    };
    let name = |k: &[u8]| match k
        .len()
        .checked_sub(16)
        .and_then(|i| Uuid::from_slice(&k[i..]).ok())
    {
        Some(id) => id.to_string(),
        None => format!("{k:?}"),
    };
    let mut found = 0;
    let mut mismatches = Vec::new();
    for item in tree.scan_prefix([space]) {
        let (k, v) = item?;
        found += 1;
        match expected.remove(k.as_ref()) {
            Some(want) if want == v.as_ref() => {}
            Some(_) => {
                mismatches.push(format!("{what} key of {} differs from a recount", name(&k)))
            }
            None => mismatches.push(format!(
                "{what} key of {} does not follow from the ticket",
                name(&k)
            )),
        }
    }
    for k in expected.into_keys() {
        mismatches.push(format!("{what} key of ticket {} is missing", name(&k)));
    }
    Ok((found, mismatches))
}

#[cfg(test)]
mod tests;
