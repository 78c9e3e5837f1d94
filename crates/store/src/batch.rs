//! The atomic sled batch: applies journal entries to tickets, counters, lookup keys and the offset.

use std::borrow::Cow;
use std::collections::HashMap;

use uuid::Uuid;

use crate::counters::{contribution, CounterKey, Counts, Deadlines};
use crate::decisions::{decision, DecisionCounts};
use crate::error::Result;
use crate::journal::JournalReader;
use crate::keys::{
    indexed_key, key, read_u64, EXTERNAL, META_JOURNAL, META_SEQ, PHONE, TEXT_HASH, TICKET,
};
use crate::location::{read_ticket, ticket_at, TicketAt};
use crate::model::Ticket;
use crate::queue_counts::OpenCount;
use crate::record::JournalEntry;
use crate::repeats::caller_key;
use crate::views::{counter_key, counter_rows};

/// The writer's copy of the counter rows it has read or written. The writer
/// is the only one that changes them, so the copy stays exact, and most
/// read-modify-writes of a row skip sled's read. Bounded: when full it
/// starts afresh.
#[derive(Default)]
pub(crate) struct CounterCache {
    pub(crate) rows: HashMap<Vec<u8>, Counts>,
    /// The same for the router-decision rows (a few hundred at most).
    pub(crate) decisions: HashMap<Vec<u8>, DecisionCounts>,
    /// The same for the deadline buckets (`queue_counts`).
    pub(crate) buckets: HashMap<Vec<u8>, OpenCount>,
}

pub(crate) const COUNTER_CACHE_ROWS: usize = 100_000;

/// A row of summed counts that a batch adds deltas to.
pub(crate) trait CountRow: Copy + Default {
    fn add(&mut self, other: &Self);
    fn is_zero(&self) -> bool;
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Option<Self>;
}

impl CountRow for Counts {
    fn add(&mut self, other: &Self) {
        Counts::add(self, other);
    }
    fn is_zero(&self) -> bool {
        Counts::is_zero(self)
    }
    fn encode(&self) -> Vec<u8> {
        Counts::encode(self)
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Counts::decode(bytes)
    }
}

impl CountRow for DecisionCounts {
    fn add(&mut self, other: &Self) {
        DecisionCounts::add(self, *other);
    }
    fn is_zero(&self) -> bool {
        DecisionCounts::is_zero(self)
    }
    fn encode(&self) -> Vec<u8> {
        DecisionCounts::encode(self)
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        DecisionCounts::decode(bytes)
    }
}

/// Adds each delta to its stored row (read from the writer's cache, else
/// sled) in `batch`; a row that comes to zero is removed. Returns the rows
/// as written, for the cache once the batch is applied.
fn add_rows<R: CountRow>(
    tree: &sled::Tree,
    batch: &mut sled::Batch,
    cache: &HashMap<Vec<u8>, R>,
    deltas: HashMap<Vec<u8>, R>,
) -> Result<Vec<(Vec<u8>, R)>> {
    let mut written = Vec::with_capacity(deltas.len());
    for (k, delta) in deltas {
        if delta.is_zero() {
            continue;
        }
        let mut current = match cache.get(&k) {
            Some(cached) => *cached,
            None => tree
                .get(&k)?
                .and_then(|v| R::decode(&v))
                .unwrap_or_default(),
        };
        current.add(&delta);
        if current.is_zero() {
            batch.remove(k.as_slice());
        } else {
            batch.insert(k.as_slice(), current.encode());
        }
        written.push((k, current));
    }
    Ok(written)
}

/// One journal entry on its way into sled.
pub(crate) struct Applied<'a> {
    pub(crate) entry: &'a JournalEntry,
    pub(crate) record_start: u64,
    /// Created by this very commit, so not in sled yet: no need to look.
    pub(crate) fresh: bool,
}

/// Applies journal entries to sled in one atomic batch: tickets, counters
/// (old contribution out, new in), lookup keys and the journal offset.
pub(crate) fn apply(
    tree: &sled::Tree,
    journal: &JournalReader,
    deadlines: &Deadlines,
    assessment_start_day: u32,
    entries: &[Applied<'_>],
    journal_end: u64,
    counters: &mut CounterCache,
) -> Result<()> {
    let mut batch = sled::Batch::default();
    // The version of each ticket this batch has reached, and where its index words are.
    let mut latest: HashMap<Uuid, (&Ticket, Option<u64>)> = HashMap::with_capacity(entries.len());
    let mut deltas: HashMap<CounterKey, Counts> = HashMap::with_capacity(entries.len());
    let mut decision_deltas: HashMap<Vec<u8>, DecisionCounts> = HashMap::new();
    let mut department_deltas: HashMap<Vec<u8>, Counts> = HashMap::new();
    let mut bucket_deltas: HashMap<Vec<u8>, OpenCount> = HashMap::new();
    let mut last_seq = read_u64(tree, META_SEQ)?;
    for applied in entries {
        let entry = applied.entry;
        let t = &entry.ticket;
        let id = t.id;
        let k = key(TICKET, id.as_bytes());
        let old: Option<(Cow<'_, Ticket>, Option<u64>)> = match latest.get(&id) {
            Some((old, created)) => Some((Cow::Borrowed(*old), *created)),
            None if applied.fresh => None,
            None => match tree.get(&k)? {
                Some(v) => Some((
                    Cow::Owned(read_ticket(journal, &k, &v)?),
                    Some(ticket_at(&k, &v)?.created),
                )),
                None => None,
            },
        };
        if let Some((old, _)) = &old {
            if old.seq >= entry.seq {
                continue; // already applied (replay after a crash)
            }
            let (ck, c) = contribution(old, deadlines);
            deltas.entry(ck).or_default().sub(&c);
            if let Some((dk, c)) = decision(old) {
                decision_deltas.entry(dk).or_default().sub(c);
            }
            for (k, _, c) in crate::departments::rows(old, deadlines) {
                department_deltas.entry(k).or_default().sub(&c);
            }
        } else {
            if let Some(ext) = &t.external_id {
                batch.insert(key(EXTERNAL, ext.as_bytes()), id.as_bytes().to_vec());
            }
            if let Some(caller) = t.caller_phone.as_deref().and_then(caller_key) {
                batch.insert(indexed_key(PHONE, &caller, id), vec![]);
            }
            if let Some(h) = entry.text_hash {
                let hk = key(TEXT_HASH, &h.to_be_bytes());
                let taken = match entry.text_hash_taken {
                    Some(taken) => taken,
                    None => tree.get(&hk)?.is_some(),
                };
                if !taken {
                    batch.insert(hk, id.as_bytes().to_vec());
                }
            }
        }
        let (ck, c) = contribution(t, deadlines);
        deltas.entry(ck).or_default().add(&c);
        if let Some((dk, c)) = decision(t) {
            decision_deltas.entry(dk).or_default().add(c);
        }
        for (k, _, c) in crate::departments::rows(t, deadlines) {
            department_deltas.entry(k).or_default().add(&c);
        }
        let before = old.as_ref().map(|(o, _)| o.as_ref());
        crate::queue::update(&mut batch, &mut bucket_deltas, before, t, deadlines);
        crate::hotspots::update(&mut batch, before, t);
        let created = match &old {
            _ if entry.tokens.is_some() => Some(applied.record_start),
            Some((_, created)) => *created,
            None => None,
        };
        let at = TicketAt {
            latest: applied.record_start,
            // Without words anywhere (not expected), the latest record, which has none.
            created: created.unwrap_or(applied.record_start),
        };
        batch.insert(k, at.encode());
        last_seq = last_seq.max(entry.seq);
        latest.insert(id, (t, created));
    }
    // Every derived row's delta is summed first: two tickets of one month (or
    // one topic) must not both read-modify-write the same row within a batch.
    let mut row_deltas: HashMap<Vec<u8>, Counts> = HashMap::with_capacity(deltas.len() * 8);
    for (ck, delta) in &deltas {
        for (space, view, row) in counter_rows(ck, assessment_start_day) {
            row_deltas
                .entry(counter_key(space, view, &row))
                .or_default()
                .add(delta);
        }
    }
    for (k, delta) in department_deltas {
        row_deltas.entry(k).or_default().add(&delta);
    }
    let written = add_rows(tree, &mut batch, &counters.rows, row_deltas)?;
    let decisions_written = add_rows(tree, &mut batch, &counters.decisions, decision_deltas)?;
    let buckets_written = add_rows(tree, &mut batch, &counters.buckets, bucket_deltas)?;
    batch.insert(META_JOURNAL, journal_end.to_be_bytes().to_vec());
    batch.insert(META_SEQ, last_seq.to_be_bytes().to_vec());
    if let Err(e) = tree.apply_batch(batch) {
        // Whether any of it reached sled is unknown: trust sled again.
        counters.rows.clear();
        counters.decisions.clear();
        counters.buckets.clear();
        return Err(e.into());
    }
    if counters.rows.len() + written.len() > COUNTER_CACHE_ROWS {
        counters.rows.clear();
    }
    counters.rows.extend(written);
    if counters.decisions.len() + decisions_written.len() > COUNTER_CACHE_ROWS {
        counters.decisions.clear();
    }
    counters.decisions.extend(decisions_written);
    if counters.buckets.len() + buckets_written.len() > COUNTER_CACHE_ROWS {
        counters.buckets.clear();
    }
    counters.buckets.extend(buckets_written);
    Ok(())
}
