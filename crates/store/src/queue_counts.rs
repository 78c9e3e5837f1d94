//! The deadline queue's counts by state and by department without walking every open ticket: open tickets counted per allowance, deadline hour and department.
//!
//! A ticket's state at `now` depends on its deadline and on its allowance
//! (due soon is the last `due_soon_fraction` of it), and moves only one
//! way as the deadline lies further ahead: overdue, due soon, on time. So
//! sled keeps, beside each `q` key, a count row `b` · allowance · deadline
//! hour · department, written in the ticket's batch like every counter. A
//! row whose hour starts and ends in the same state at `now` counts whole
//! in that state; only the hours where a state changes for some allowance
//! (the hour of `now`, and for each allowance the hour where due soon
//! begins) are walked key by key. There are as many allowances as
//! (stage, urgency, kind) deadlines configured, at most forty and usually a
//! handful, so a count reads the rows (allowances × hours × departments
//! holding open tickets) and a few hours of keys, not every open ticket.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;

use crate::batch::CountRow;
use crate::error::Result;
pub(crate) use crate::keys::QUEUE_BUCKET;
use crate::queue::{bound, peek, secs, state_of, Entry, StateCounts};

const HOUR: i64 = 3600;

/// Open tickets in one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OpenCount(pub(crate) i64);

impl CountRow for OpenCount {
    fn add(&mut self, other: &Self) {
        self.0 += other.0;
    }
    fn is_zero(&self) -> bool {
        self.0 == 0
    }
    fn encode(&self) -> Vec<u8> {
        self.0.to_be_bytes().to_vec()
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(OpenCount(i64::from_be_bytes(bytes.try_into().ok()?)))
    }
}

fn flip(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn unflip(b: &[u8]) -> Option<i64> {
    Some((u64::from_be_bytes(b.try_into().ok()?) ^ (1 << 63)) as i64)
}

/// `b` · allowance (seconds) · deadline hour · department.
fn bucket_key(entry: &Entry) -> Vec<u8> {
    let mut k = Vec::with_capacity(17 + entry.department.len());
    k.push(QUEUE_BUCKET);
    k.extend_from_slice(&flip(entry.allowance_secs));
    k.extend_from_slice(&flip(secs(entry.deadline).div_euclid(HOUR)));
    k.extend_from_slice(entry.department.as_bytes());
    k
}

fn decode_bucket(k: &[u8]) -> Option<(i64, i64, &str)> {
    if k.len() < 17 || k[0] != QUEUE_BUCKET {
        return None;
    }
    Some((
        unflip(&k[1..9])?,
        unflip(&k[9..17])?,
        std::str::from_utf8(&k[17..]).ok()?,
    ))
}

/// A ticket's change in the buckets: its old entry out, its new one in.
pub(crate) fn deltas(
    before: Option<&Entry>,
    after: Option<&Entry>,
    out: &mut HashMap<Vec<u8>, OpenCount>,
) {
    if before == after {
        return;
    }
    for (e, n) in [(before, -1), (after, 1)] {
        if let Some(e) = e {
            out.entry(bucket_key(e)).or_default().0 += n;
        }
    }
}

/// The bucket rows of these entries (a rebuild, `verify`'s recount).
pub(crate) fn rows<'a>(entries: impl Iterator<Item = &'a Entry>) -> HashMap<Vec<u8>, OpenCount> {
    let mut out = HashMap::new();
    for e in entries {
        deltas(None, Some(e), &mut out);
    }
    out
}

fn add(counts: &mut StateCounts, state: crate::queue::DeadlineState, n: u64) {
    use crate::queue::DeadlineState::*;
    match state {
        OnTime => counts.on_time += n,
        DueSoon => counts.due_soon += n,
        Overdue => counts.overdue += n,
    }
}

/// The open tickets at `now` by state, in all and by department (of
/// `department` only, when given): exact, as a walk of every key would
/// count them.
pub(crate) fn counts(
    tree: &sled::Tree,
    department: Option<&str>,
    now: NaiveDateTime,
    due_soon_fraction: f64,
) -> Result<(StateCounts, HashMap<String, StateCounts>)> {
    let now = secs(now);
    let mut total = StateCounts::default();
    let mut by_department: HashMap<String, StateCounts> = HashMap::new();
    // (allowance, hour) whose hour holds a change of state: walked below.
    let mut split: BTreeSet<(i64, i64)> = BTreeSet::new();
    for item in tree.scan_prefix([QUEUE_BUCKET]) {
        let (k, v) = item?;
        let (Some((allowance, hour, dept)), Some(OpenCount(n))) =
            (decode_bucket(&k), OpenCount::decode(&v))
        else {
            tracing::warn!("a deadline bucket cannot be decoded; `hotline verify` names it");
            continue;
        };
        if department.is_some_and(|d| d != dept) || n <= 0 {
            continue;
        }
        let first = state_of(hour * HOUR - now, allowance, due_soon_fraction);
        let last = state_of(hour * HOUR + HOUR - 1 - now, allowance, due_soon_fraction);
        if first != last {
            split.insert((allowance, hour));
            continue;
        }
        add(&mut total, first, n as u64);
        add(
            by_department.entry(dept.to_owned()).or_default(),
            first,
            n as u64,
        );
    }
    let hours: BTreeSet<i64> = split.iter().map(|(_, h)| *h).collect();
    for hour in hours {
        let from = crate::queue::time_of(hour * HOUR);
        let to = crate::queue::time_of(hour * HOUR + HOUR);
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        for item in tree.range(bound(from)..bound(to)) {
            let (k, v) = item?;
            let Some(p) = peek(&k, &v) else {
                continue;
            };
            if !split.contains(&(p.allowance_secs, hour))
                || department.is_some_and(|d| d != p.department)
            {
                continue;
            }
            let state = state_of(p.deadline - now, p.allowance_secs, due_soon_fraction);
            add(&mut total, state, 1);
            add(
                by_department.entry(p.department.to_owned()).or_default(),
                state,
                1,
            );
        }
    }
    by_department.retain(|_, c| c.total() > 0);
    Ok((total, by_department))
}

/// `verify`: the stored bucket rows against a recount from the entries.
pub(crate) fn check(
    tree: &sled::Tree,
    mut expected: HashMap<Vec<u8>, OpenCount>,
) -> Result<Vec<String>> {
    let name = |k: &[u8]| match decode_bucket(k) {
        Some((allowance, hour, dept)) => {
            format!("deadline bucket (allowance {allowance} s, hour {hour}, {dept:?})")
        }
        None => format!("deadline bucket {k:?}"),
    };
    let mut mismatches = Vec::new();
    for item in tree.scan_prefix([QUEUE_BUCKET]) {
        let (k, v) = item?;
        let stored = OpenCount::decode(&v);
        let want = expected.remove(k.as_ref()).unwrap_or_default();
        if stored != Some(want) {
            mismatches.push(format!(
                "{}: stored {:?}, recount {}",
                name(&k),
                stored.map(|c| c.0),
                want.0
            ));
        }
    }
    for (k, want) in expected {
        if !want.is_zero() {
            mismatches.push(format!("{}: missing, recount {}", name(&k), want.0));
        }
    }
    Ok(mismatches)
}

#[cfg(test)]
mod tests {
    //! The counts from the buckets against a brute-force count of every
    //! open ticket, under fixed clocks on and around every boundary.

    use chrono::{Duration, NaiveDate};

    use super::*;
    use crate::counters::tests::consultations_within_a_day;
    use crate::model::{EventBody, Kind, Urgency};
    use crate::queue::{entry, DeadlineState, QueueQuery};
    use crate::testing::{new_ticket, submit_one};
    use crate::{NewEvent, Store, StoreConfig};

    fn base() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 5, 6)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default()
    }

    /// Every open ticket's state at `now`, from the tickets themselves.
    fn brute(
        store: &Store,
        department: Option<&str>,
        now: NaiveDateTime,
    ) -> (StateCounts, Vec<(String, StateCounts)>) {
        let deadlines = &store.config().deadlines;
        let mut total = StateCounts::default();
        let mut by: HashMap<String, StateCounts> = HashMap::new();
        for t in store.tickets() {
            let t = t.unwrap_or_else(|e| panic!("{e}"));
            let Some(e) = entry(&t, deadlines) else {
                continue;
            };
            if department.is_some_and(|d| d != e.department) {
                continue;
            }
            let state = state_of(
                secs(e.deadline) - secs(now),
                e.allowance_secs,
                deadlines.due_soon_fraction,
            );
            add(&mut total, state, 1);
            add(by.entry(e.department.clone()).or_default(), state, 1);
        }
        let mut by: Vec<_> = by.into_iter().collect();
        by.sort_by(|a, b| a.0.cmp(&b.0));
        (total, by)
    }

    #[test]
    fn the_counts_from_the_buckets_equal_a_count_of_every_ticket() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = StoreConfig {
            deadlines: consultations_within_a_day(),
            ..StoreConfig::default()
        };
        let store = Store::open(dir.path(), config).unwrap_or_else(|e| panic!("{e}"));
        let urgencies = [
            Urgency::Emergency,
            Urgency::Utilities,
            Urgency::General,
            Urgency::Complex,
        ];
        for i in 0..80i64 {
            let mut new = new_ticket(&format!("t{i}"), "");
            new.kind = if i % 2 == 0 {
                Kind::Consultation
            } else {
                Kind::Complaint
            };
            new.urgency = urgencies[(i as usize / 2) % 4];
            let received = base() + Duration::seconds(i * 37 * 60 + i * 7);
            new.received_at = Some(received);
            let t = submit_one(&store, new);
            let mut events = Vec::new();
            if i % 3 != 0 {
                let department = if i % 3 == 1 { "甲" } else { "乙" };
                events.push((
                    13,
                    EventBody::Dispatched {
                        department: department.into(),
                    },
                ));
            }
            if i % 5 == 0 {
                events.push((
                    50,
                    EventBody::Feedback {
                        resolved: true,
                        note: None,
                    },
                ));
            }
            for (minutes, body) in events {
                let event = NewEvent {
                    id: None,
                    at: Some(received + Duration::minutes(minutes)),
                    body,
                };
                store
                    .add_event(t.id, event)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        // Clocks on, just before and just after every deadline and every
        // start of due soon, and across the whole span.
        let deadlines = store.config().deadlines.clone();
        let mut nows: BTreeSet<NaiveDateTime> =
            (0..60).map(|h| base() + Duration::hours(h * 7)).collect();
        for t in store.tickets() {
            let t = t.unwrap_or_else(|e| panic!("{e}"));
            if let Some(e) = entry(&t, &deadlines) {
                let window = (e.allowance_secs as f64 * deadlines.due_soon_fraction) as i64;
                for edge in [e.deadline, e.deadline - Duration::seconds(window)] {
                    for s in [-1, 0, 1] {
                        nows.insert(edge + Duration::seconds(s));
                    }
                }
            }
        }
        let mut states = BTreeSet::new();
        for now in nows {
            for department in [None, Some("甲"), Some("区政府")] {
                let q = QueueQuery {
                    department: department.map(Into::into),
                    page: 1,
                    per_page: 3,
                    ..QueueQuery::default()
                };
                let page = store.queue(&q, now).unwrap_or_else(|e| panic!("{e}"));
                let (total, by) = brute(&store, department, now);
                assert_eq!(page.counts, total, "{now} {department:?}");
                let mut got: Vec<_> = page
                    .by_department
                    .iter()
                    .map(|d| (d.department.clone(), d.counts))
                    .collect();
                got.sort_by(|a, b| a.0.cmp(&b.0));
                assert_eq!(got, by, "{now} {department:?}");
                assert_eq!(page.total, total.total());
                assert_eq!(page.items.len() as u64, total.total().min(3));
                for (state, n) in [
                    (DeadlineState::OnTime, total.on_time),
                    (DeadlineState::DueSoon, total.due_soon),
                    (DeadlineState::Overdue, total.overdue),
                ] {
                    if n > 0 {
                        states.insert(state);
                    }
                    let q = QueueQuery {
                        state: Some(state),
                        ..q.clone()
                    };
                    let page = store.queue(&q, now).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(page.total, n, "{now} {state:?}");
                    assert!(page.items.iter().all(|i| i.state == state));
                    assert_eq!(page.items.len() as u64, n.min(3));
                }
            }
        }
        assert_eq!(states.len(), 3, "every state was met");
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_ok(), "{report:?}");
        // A bucket out of step is found by `verify`.
        let (k, _) = store
            .inner
            .tree
            .scan_prefix([QUEUE_BUCKET])
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("a bucket"));
        store
            .inner
            .tree
            .insert(k, OpenCount(99).encode())
            .unwrap_or_else(|e| panic!("{e}"));
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            report
                .queue_mismatches
                .iter()
                .any(|m| m.contains("deadline bucket")),
            "{report:?}"
        );
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Opt-in figures: the queue's first page with its counts at `n` open
    /// tickets, counted from the buckets, beside the same counted by the
    /// walk over every open key (what every query did before), one store.
    /// `HOTLINE_QUEUE_OPEN=100000 cargo test -p hotline-store --lib -- --ignored queue_counts --nocapture`
    #[test]
    #[ignore]
    fn queue_counts_at_scale() {
        let n: i64 = std::env::var("HOTLINE_QUEUE_OPEN")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let now = base() + Duration::days(20);
        let urgencies = [
            Urgency::Emergency,
            Urgency::Utilities,
            Urgency::General,
            Urgency::General,
            Urgency::General,
            Urgency::Complex,
        ];
        let started = std::time::Instant::now();
        let mut batch = Vec::new();
        for i in 0..n {
            let mut new = new_ticket(&format!("t{i}"), "");
            new.kind = Kind::ALL[(i % 5) as usize];
            new.urgency = urgencies[(i % 6) as usize];
            let received = now - Duration::seconds((i * 7919) % (20 * 86_400));
            new.received_at = Some(received);
            new.department = format!("部门{}", i % 12);
            if i % 5 < 3 {
                new.history = vec![(
                    received + Duration::minutes(30),
                    EventBody::Dispatched {
                        department: format!("部门{}", (i / 5) % 12),
                    },
                )];
            }
            batch.push(new);
            if batch.len() == 2_000 {
                store
                    .submit(std::mem::take(&mut batch))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        store.submit(batch).unwrap_or_else(|e| panic!("{e}"));
        let load = started.elapsed().as_secs_f64();
        let page = QueueQuery {
            page: 1,
            per_page: 20,
            ..QueueQuery::default()
        };
        // The walk: the same counts, every key read (a bound past every deadline).
        let walked = QueueQuery {
            due_within: Some(Duration::days(36_500)),
            ..page.clone()
        };
        let time = |q: &QueueQuery| {
            let mut ms: Vec<f64> = (0..21)
                .map(|_| {
                    let t = std::time::Instant::now();
                    let p = store.queue(q, now).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(p.counts.total(), n as u64);
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .skip(1)
                .collect();
            ms.sort_by(f64::total_cmp);
            (ms[ms.len() / 2], ms[ms.len() * 95 / 100])
        };
        let fast = store.queue(&page, now).unwrap_or_else(|e| panic!("{e}"));
        let slow = store.queue(&walked, now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fast.counts, slow.counts);
        let (walk50, walk95) = time(&walked);
        let (fast50, fast95) = time(&page);
        let buckets = store.inner.tree.scan_prefix([QUEUE_BUCKET]).count();
        println!(
            "{n} open ({load:.1} s to load), {buckets} buckets, counts {:?}: walk p50 {walk50:.2} ms p95 {walk95:.2} ms; buckets p50 {fast50:.2} ms p95 {fast95:.2} ms; ratio p50 {:.1}x p95 {:.1}x",
            fast.counts,
            walk50 / fast50,
            walk95 / fast95
        );
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    }
}
