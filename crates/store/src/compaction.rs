//! Offline compaction of the journal (`Store::compact`): one record per ticket in a new generation.

use std::path::Path;

use serde::Serialize;

use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::generation::{journal_path, sync_path, sync_tree};
use crate::journal::{record_start, Journal, JournalReader};
use crate::keys::{read_u64, META_JOURNAL, META_JOURNAL_GENERATION, TICKET};
use crate::location::{ticket_at, TicketAt};
use crate::record::{encode_record, record_parts};
use crate::recovery::open_sled;
use crate::store::Store;

/// A ticket's one record after compaction: its latest version, with the
/// index words of the record that created it.
pub(crate) fn compacted_record(journal: &JournalReader, k: &[u8], v: &[u8]) -> Result<Vec<u8>> {
    let at = ticket_at(k, v)?;
    let latest = journal.payload_at(at.latest)?;
    if at.created == at.latest {
        return Ok(latest);
    }
    let created = journal.payload_at(at.created)?;
    let latest_parts = record_parts(&latest, at.latest)?;
    let created_parts = record_parts(&created, at.created)?;
    Ok(encode_record(
        latest_parts.seq,
        created_parts.text_hash,
        created_parts.tokens,
        latest_parts.json,
    ))
}

/// What a compaction did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CompactReport {
    pub tickets: u64,
    pub journal_bytes_before: u64,
    pub journal_bytes_after: u64,
}

impl Store {
    /// Rewrites the journal with one record per ticket, its latest version
    /// with its index words, dropping the versions nothing reads any more
    /// (every event and topic change wrote a whole new version). Offline:
    /// sled's lock keeps a server or an import out meanwhile.
    ///
    /// Safe to interrupt at any point. The new journal is a new file, made
    /// durable before one atomic sled batch moves every ticket's position and
    /// the live generation to it; sled's files are fsynced before the old
    /// journal is deleted. Until then the old journal is live; after it, an
    /// opening removes whichever file is not (see `remove_other_journals`),
    /// and an index not yet told of the new generation is caught up from sled.
    ///
    /// `progress` is called with the number of tickets rewritten so far.
    pub fn compact(
        dir: &Path,
        config: StoreConfig,
        mut progress: impl FnMut(u64),
    ) -> Result<CompactReport> {
        // Opening replays into sled whatever the journal holds past it and
        // brings the index up to date; shutting down commits both.
        let store = Store::open(dir, config)?;
        store.commit_index()?;
        store.shutdown()?;
        drop(store);

        let db = open_sled(&dir.join("sled"))?;
        let tree = db.open_tree("hotline")?;
        let generation = read_u64(&tree, META_JOURNAL_GENERATION)?;
        let old_path = journal_path(dir, generation);
        let old = JournalReader::open(&old_path)?;
        let old_len = std::fs::metadata(&old_path)
            .map_err(Error::io_at(&old_path))?
            .len();
        let applied = read_u64(&tree, META_JOURNAL)?;
        if applied != old_len {
            return Err(Error::Conflict(format!(
                "the journal reaches {old_len} but sled has applied it up to {applied}; open the store once and retry"
            )));
        }
        let new_path = journal_path(dir, generation + 1);
        if new_path.exists() {
            std::fs::remove_file(&new_path).map_err(Error::io_at(&new_path))?;
        }
        let (mut journal, _) = Journal::open(&new_path, 0)?;
        sync_path(dir)?;

        const GROUP: usize = 4096;
        let mut report = CompactReport {
            journal_bytes_before: old_len,
            ..CompactReport::default()
        };
        // Appends a group of records and points each ticket at its new one.
        let write_group = |journal: &mut Journal,
                           keys: &mut Vec<sled::IVec>,
                           payloads: &mut Vec<Vec<u8>>,
                           batch: &mut sled::Batch|
         -> Result<()> {
            let ends = journal.append(payloads)?;
            for ((k, payload), end) in keys.drain(..).zip(payloads.drain(..)).zip(ends) {
                let start = record_start(end, payload.len());
                let at = TicketAt {
                    latest: start,
                    created: start,
                };
                batch.insert(k, at.encode());
            }
            Ok(())
        };
        let mut batch = sled::Batch::default();
        let mut keys: Vec<sled::IVec> = Vec::with_capacity(GROUP);
        let mut payloads: Vec<Vec<u8>> = Vec::with_capacity(GROUP);
        for item in tree.scan_prefix([TICKET]) {
            let (k, v) = item?;
            payloads.push(compacted_record(&old, &k, &v)?);
            keys.push(k);
            report.tickets += 1;
            if payloads.len() == GROUP {
                write_group(&mut journal, &mut keys, &mut payloads, &mut batch)?;
                progress(report.tickets);
            }
        }
        write_group(&mut journal, &mut keys, &mut payloads, &mut batch)?;
        progress(report.tickets);
        let new_end = journal.len();
        drop(journal);

        batch.insert(META_JOURNAL, new_end.to_be_bytes().to_vec());
        batch.insert(
            META_JOURNAL_GENERATION,
            (generation + 1).to_be_bytes().to_vec(),
        );
        tree.apply_batch(batch)?;
        db.flush()?;
        sync_tree(&dir.join("sled"))?;
        // The switch is on disk: the old journal is dead from here on.
        crate::index::rebase(&dir.join("index"), new_end, generation + 1)?;
        drop(tree);
        drop(db);
        std::fs::remove_file(&old_path).map_err(Error::io_at(&old_path))?;
        sync_path(dir)?;
        report.journal_bytes_after = new_end;
        tracing::info!(
            tickets = report.tickets,
            before = report.journal_bytes_before,
            after = report.journal_bytes_after,
            generation = generation + 1,
            "journal compacted"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    //! Compaction stopped at any point leaves a working store.

    use super::*;
    use crate::model::Ticket;
    use crate::testing::{create, dispatch, found};

    /// Every state an interrupted compaction can leave opens to the same
    /// tickets and search: a new journal sled never switched to, an old one
    /// not yet deleted, and an index still naming the old generation.
    #[test]
    fn an_interrupted_compaction_leaves_a_working_store() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut ids = Vec::new();
        for (text, words) in [
            ("楼道里飞线充电很危险", "楼道 飞线充电 飞线 充电 危险"),
            ("公园厕所没人打扫", "公园 厕所 打扫"),
        ] {
            let ticket = create(&store, text, words);
            dispatch(&store, ticket.id);
            ids.push(ticket.id);
        }
        let before: Vec<Option<Ticket>> = ids
            .iter()
            .map(|id| store.get(*id).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);

        // A compaction that stopped while writing its new journal.
        std::fs::write(dir.path().join("journal.1.log"), b"half a record")
            .unwrap_or_else(|e| panic!("{e}"));
        let report = Store::compact(dir.path(), StoreConfig::default(), |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.tickets, 2);
        assert!(report.journal_bytes_after < report.journal_bytes_before);
        let payload = crate::index::committed_payload(&dir.path().join("index"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            payload.as_deref(),
            Some(format!("journal {} gen 1", report.journal_bytes_after).as_str())
        );

        // One that stopped after sled's switch: the old journal is still
        // there, and the index still names it.
        std::fs::write(dir.path().join("journal.log"), b"the old journal")
            .unwrap_or_else(|e| panic!("{e}"));
        crate::index::rebase(&dir.path().join("index"), 1 << 40, 0)
            .unwrap_or_else(|e| panic!("{e}"));

        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!dir.path().join("journal.log").exists());
        assert!(dir.path().join("journal.1.log").exists());
        let after: Vec<Option<Ticket>> = ids
            .iter()
            .map(|id| store.get(*id).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert_eq!(
            serde_json::to_value(&after).ok(),
            serde_json::to_value(&before).ok()
        );
        assert_eq!(found(&store, "飞线", Some("dispatched")), 1);
        assert_eq!(found(&store, "厕所", Some("dispatched")), 1);
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_ok(), "{report:?}");
        // Caught up from sled, the index names the live journal again.
        dispatch(&store, ids[0]);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let payload = crate::index::committed_payload(&dir.path().join("index"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        let live_len = std::fs::metadata(dir.path().join("journal.1.log"))
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(payload, format!("journal {live_len} gen 1"));
    }
}
