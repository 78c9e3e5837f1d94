//! Verify (recount the counters from the tickets) and reindex (rebuild the index from sled).

use std::collections::HashMap;
use std::sync::mpsc;

use serde::Serialize;

use crate::counters::{contribution, CounterKey, Counts};
use crate::decisions::{decision, DecisionCounts};
use crate::error::{Error, Result};
use crate::index::{index_doc, IndexMsg};
use crate::keys::{
    read_u64, ASSESSMENT_COUNTER, COUNTER, DECISION, META_JOURNAL, MONTH_COUNTER, TICKET,
};
use crate::location::{load_tokens, read_ticket, ticket_key_name};
use crate::store::Store;
use crate::views::{counter_key, counter_rows};

/// What `verify` found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VerifyReport {
    pub tickets: u64,
    pub counter_rows: u64,
    /// Counter rows that differ from a recount from the tickets.
    pub counter_mismatches: Vec<String>,
    pub indexed_docs: u64,
    pub index_missing: u64,
    pub corrupt_records: Vec<String>,
    /// Open tickets in the deadline queue.
    pub queue_entries: u64,
    /// Queue keys that differ from a recount from the tickets.
    pub queue_mismatches: Vec<String>,
    /// Index files whose checksum does not match their content (a bad disk,
    /// a stray write): `hotline reindex` rebuilds them from the tickets.
    pub damaged_index_files: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.counter_mismatches.is_empty()
            && self.queue_mismatches.is_empty()
            && self.index_missing == 0
            && self.corrupt_records.is_empty()
            && self.damaged_index_files.is_empty()
    }
}

impl Store {
    /// Recounts the counters from the tickets and checks the index holds
    /// every ticket and that its files read back as written.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let mut recount: HashMap<CounterKey, Counts> = HashMap::new();
        let mut decisions: HashMap<Vec<u8>, DecisionCounts> = HashMap::new();
        let mut queue = std::collections::BTreeMap::new();
        let mut district_queue = std::collections::BTreeMap::new();
        let mut addresses = std::collections::BTreeMap::new();
        let mut department_rows: HashMap<Vec<u8>, (CounterKey, Counts)> = HashMap::new();
        for item in self.inner.tree.scan_prefix([TICKET]) {
            let (k, v) = item?;
            match read_ticket(&self.inner.journal, &k, &v) {
                Ok(t) => {
                    report.tickets += 1;
                    let (ck, c) = contribution(&t, &self.inner.config.deadlines);
                    recount.entry(ck).or_default().add(&c);
                    if let Some((dk, c)) = decision(&t) {
                        decisions.entry(dk).or_default().add(c);
                    }
                    if let Some(e) = crate::queue::entry(&t, &self.inner.config.deadlines) {
                        district_queue.insert(e.district_key(), e.value());
                        queue.insert(e.key(), e.value());
                    }
                    if let Some((k, v)) = crate::hotspots::address_entry(&t) {
                        addresses.insert(k, v);
                    }
                    for (k, ck, c) in crate::departments::rows(&t, &self.inner.config.deadlines) {
                        department_rows
                            .entry(k)
                            .or_insert_with(|| (ck, Counts::default()))
                            .1
                            .add(&c);
                    }
                }
                Err(e) => report.corrupt_records.push(e.to_string()),
            }
        }
        let mut expected: HashMap<Vec<u8>, (CounterKey, Counts)> = HashMap::new();
        for (ck, c) in &recount {
            for (space, view, row) in
                counter_rows(ck, self.inner.config.rates.assessment_month_start_day)
            {
                expected
                    .entry(counter_key(space, view, &row))
                    .or_insert_with(|| (row, Counts::default()))
                    .1
                    .add(c);
            }
        }
        expected.extend(department_rows);
        for space in [
            COUNTER,
            MONTH_COUNTER,
            ASSESSMENT_COUNTER,
            crate::departments::DEPT_DAY,
            crate::departments::DEPT_MONTH,
        ] {
            for item in self.inner.tree.scan_prefix([space]) {
                let (k, v) = item?;
                report.counter_rows += 1;
                let (Some(ck), Some(stored)) = (CounterKey::decode(&k[2..]), Counts::decode(&v))
                else {
                    report.corrupt_records.push(format!("counter row {k:?}"));
                    continue;
                };
                let want = expected.remove(k.as_ref()).map(|e| e.1).unwrap_or_default();
                if want != stored {
                    report.counter_mismatches.push(format!(
                        "{ck:?}: stored {:?}, recount {:?}",
                        stored.0, want.0
                    ));
                }
            }
        }
        for (ck, c) in expected.into_values() {
            if !c.is_zero() {
                report
                    .counter_mismatches
                    .push(format!("{ck:?}: missing, recount {:?}", c.0));
            }
        }
        let entries: Vec<crate::queue::Entry> = queue
            .iter()
            .filter_map(|(k, v)| crate::queue::Entry::decode(k, v))
            .collect();
        let buckets = crate::queue_counts::rows(entries.iter());
        (report.queue_entries, report.queue_mismatches) =
            crate::queue::check(&self.inner.tree, crate::queue::QUEUE, queue)?;
        report
            .queue_mismatches
            .extend(crate::queue_counts::check(&self.inner.tree, buckets)?);
        let (_, twin_mismatches) = crate::queue::check(
            &self.inner.tree,
            crate::queue::QUEUE_BY_DISTRICT,
            district_queue,
        )?;
        report.queue_mismatches.extend(twin_mismatches);
        let (_, address_mismatches) =
            crate::queue::check(&self.inner.tree, crate::hotspots::ADDRESS, addresses)?;
        report.queue_mismatches.extend(address_mismatches);
        for item in self.inner.tree.scan_prefix([DECISION]) {
            let (k, v) = item?;
            report.counter_rows += 1;
            let Some(stored) = DecisionCounts::decode(&v) else {
                report.corrupt_records.push(format!("decision row {k:?}"));
                continue;
            };
            let want = decisions.remove(k.as_ref()).unwrap_or_default();
            if want != stored {
                report.counter_mismatches.push(format!(
                    "router decisions {}: stored {stored:?}, recount {want:?}",
                    String::from_utf8_lossy(&k[1..]).replace('\0', " · ")
                ));
            }
        }
        for (k, want) in decisions {
            if !want.is_zero() {
                report.counter_mismatches.push(format!(
                    "router decisions {}: missing, recount {want:?}",
                    String::from_utf8_lossy(&k[1..]).replace('\0', " · ")
                ));
            }
        }
        self.commit_index()?;
        report.indexed_docs = self.inner.index.num_docs();
        report.damaged_index_files = self.inner.index.damaged_files()?;
        if let Some(problem) = crate::personal::key_problem(self)? {
            report.corrupt_records.push(problem);
        }
        report.index_missing = report.tickets.saturating_sub(report.indexed_docs);
        Ok(report)
    }

    /// Rebuilds the search index from sled; returns how many tickets it
    /// holds. A ticket whose journal record cannot be read is left out with a
    /// warning (`hotline verify` lists it) rather than stopping the rebuild
    /// with the index half empty.
    pub fn reindex(&self) -> Result<u64> {
        let (tx, rx) = mpsc::channel();
        self.inner.index.send(IndexMsg::Clear(tx))?;
        rx.recv().map_err(|_| Error::Closed)??;
        // Read after the clear: every change the index was sent before it
        // (and lost to it) is in sled by now, so the scan below sees it.
        let applied = read_u64(&self.inner.tree, META_JOURNAL)?;
        let mut n = 0;
        for item in self.inner.tree.scan_prefix([TICKET]) {
            let (k, v) = item?;
            let read = read_ticket(&self.inner.journal, &k, &v).and_then(|ticket| {
                let tokens = load_tokens(&self.inner.tree, &self.inner.journal, ticket.id)?;
                Ok((ticket, tokens))
            });
            let (ticket, tokens) = match read {
                Ok(read) => read,
                Err(e) if e.is_unreadable() => {
                    tracing::warn!(ticket = %ticket_key_name(&k), error = %e, "reindex skipped a ticket: its record cannot be read");
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.inner.index.send(IndexMsg::Upsert {
                journal_end: applied,
                doc: index_doc(&ticket, Some(tokens)),
                replace: true,
            })?;
            n += 1;
        }
        self.inner.index.send(IndexMsg::UpTo(applied))?;
        self.commit_index()?;
        Ok(n)
    }
}
