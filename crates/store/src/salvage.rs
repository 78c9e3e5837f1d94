//! Offline check and repair of a damaged journal: `Store::check_journal` and `Store::salvage`.

use std::path::Path;

use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use crate::batch::{apply, Applied, CounterCache};
use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::generation::{
    journal_path, refuse_lost_live_journal, remove_other_journals, sync_path, sync_tree,
};
use crate::journal::{scan, Damage, DamageKind, Journal, JournalReader};
use crate::keys::{
    key, read_u64, META_JOURNAL, META_JOURNAL_GENERATION, META_SALVAGE, META_SEQ, TICKET,
};
use crate::location::{ticket_at, ticket_key_name, TicketAt};
use crate::record::{decode_entry, JournalEntry};
use crate::recovery::open_sled;
use crate::store::Store;

/// What `Store::check_journal` found, without writing anything.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JournalCheck {
    /// The live journal file.
    pub path: String,
    pub bytes: u64,
    /// How far sled says it has applied the journal.
    pub applied: u64,
    pub records: u64,
    /// Stretches holding no readable record, in file order.
    pub damage: Vec<Damage>,
    /// How many bytes sled has applied past the journal's end (0 when it is
    /// as long as it should be).
    pub missing_bytes: u64,
    /// A `hotline salvage` was interrupted and must be run again.
    pub salvage_interrupted: bool,
}

impl JournalCheck {
    pub fn is_ok(&self) -> bool {
        self.damage.is_empty() && self.missing_bytes == 0 && !self.salvage_interrupted
    }
}

/// A stretch of the damaged journal that `Store::salvage` could not keep.
#[derive(Debug, Clone, Serialize)]
pub struct LostStretch {
    pub kind: DamageKind,
    pub offset: u64,
    pub bytes: u64,
    pub message: String,
    /// Tickets whose latest version sled placed in this stretch. Records
    /// sled had not applied yet name no ticket.
    pub tickets: Vec<Uuid>,
}

/// What `Store::salvage` did, and exactly what was lost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SalvageReport {
    /// Nothing was wrong, so nothing was changed.
    pub nothing_to_do: bool,
    /// This run finished a salvage that had been interrupted; that run's
    /// report said what was lost.
    pub resumed: bool,
    /// Where the damaged journal's original bytes are kept.
    pub damaged_copy: Option<String>,
    /// The journal written with every readable record.
    pub journal: String,
    pub bytes_before: u64,
    pub applied_before: u64,
    pub records_kept: u64,
    pub bytes_kept: u64,
    pub lost: Vec<LostStretch>,
    pub tickets_before: u64,
    pub tickets_after: u64,
    /// Tickets of which no version could be read: gone.
    pub tickets_lost: Vec<Uuid>,
    /// Tickets whose latest version was lost: an earlier one is kept.
    pub tickets_rolled_back: Vec<Uuid>,
    /// Tickets whose creating record (their index words) was lost: kept,
    /// but not found by word search until re-submitted.
    pub tickets_without_index_words: Vec<Uuid>,
}

impl Store {
    /// Reads the live journal whole and checks it against sled's applied
    /// offset, writing nothing (the journal is only read; sled is opened to
    /// read two keys). Offline: sled's lock keeps a server out meanwhile.
    pub fn check_journal(dir: &Path) -> Result<JournalCheck> {
        let sled_dir = dir.join("sled");
        if !sled_dir.is_dir() {
            return Err(Error::invalid(
                "data dir",
                format!("{} holds no store", dir.display()),
            ));
        }
        let (applied, generation, salvage) = {
            let db = open_sled(&sled_dir)?;
            let tree = db.open_tree("hotline")?;
            (
                read_u64(&tree, META_JOURNAL)?,
                read_u64(&tree, META_JOURNAL_GENERATION)?,
                tree.get(META_SALVAGE)?.is_some(),
            )
        };
        let path = journal_path(dir, generation);
        let mut check = JournalCheck {
            path: path.display().to_string(),
            applied,
            salvage_interrupted: salvage,
            ..JournalCheck::default()
        };
        match std::fs::File::open(&path) {
            Ok(file) => {
                let scanned = scan(&path, &file, 0, |_, _| Ok(()))?;
                check.bytes = scanned.len;
                check.records = scanned.records;
                check.damage = scanned.damage;
                // A damaged end that sled has applied was acknowledged: not
                // an interrupted append, and opening does not cut it.
                for d in &mut check.damage {
                    if d.kind == DamageKind::TornTail && d.offset < applied {
                        d.kind = DamageKind::Corrupt;
                        d.message = format!(
                            "{}; but sled has applied the journal up to byte {applied}, past it: it was acknowledged, and opening does not cut it",
                            d.message
                        );
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io_at(&path)(e)),
        }
        check.missing_bytes = applied.saturating_sub(check.bytes);
        Ok(check)
    }

    /// Repairs a damaged journal, offline: keeps the damaged file's bytes
    /// aside (`journal.log.damaged-<time>`), writes every readable record to
    /// the next generation's journal, rebuilds the tickets' keys and counters
    /// in sled from it (tokens and the audit log are kept), drops the search
    /// index (the opening at the end rebuilds it), and reports each lost
    /// stretch with the tickets sled placed there.
    ///
    /// Safe to interrupt: until the new journal is complete nothing else has
    /// changed; after that a key in sled names it, the store refuses to open,
    /// and running salvage again finishes the rebuild from it.
    pub fn salvage(dir: &Path, config: StoreConfig) -> Result<SalvageReport> {
        config.validate().map_err(|m| Error::invalid("config", m))?;
        let sled_dir = dir.join("sled");
        if !sled_dir.is_dir() {
            return Err(Error::invalid(
                "data dir",
                format!("{} holds no store", dir.display()),
            ));
        }
        let db = open_sled(&sled_dir)?;
        let tree = db.open_tree("hotline")?;
        let applied = read_u64(&tree, META_JOURNAL)?;
        let generation = read_u64(&tree, META_JOURNAL_GENERATION)?;
        let mut report = SalvageReport {
            applied_before: applied,
            ..SalvageReport::default()
        };
        let (source, lost_positions) = match tree.get(META_SALVAGE)? {
            Some(g) => {
                let g = u64::from_be_bytes(g.as_ref().try_into().unwrap_or([0; 8]));
                report.resumed = true;
                tracing::info!(generation = g, "resuming an interrupted salvage");
                (g, Vec::new())
            }
            None => {
                // A live journal lost beside another generation's file: a
                // rebuild from nothing would drop that file's tickets.
                refuse_lost_live_journal(dir, generation, applied)?;
                let old_path = journal_path(dir, generation);
                // Where sled places each ticket, before it is rebuilt.
                let mut positions: Vec<(Uuid, TicketAt)> = Vec::new();
                for item in tree.scan_prefix([TICKET]) {
                    let (k, v) = item?;
                    let id = Uuid::from_slice(&k[1..]).map_err(|e| Error::Corrupt {
                        key: ticket_key_name(&k),
                        message: e.to_string(),
                    })?;
                    positions.push((id, ticket_at(&k, &v)?));
                }
                report.tickets_before = positions.len() as u64;
                let old_file = match std::fs::File::open(&old_path) {
                    Ok(f) => Some(f),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(Error::io_at(&old_path)(e)),
                };
                let check = match &old_file {
                    Some(f) => scan(&old_path, f, 0, |_, _| Ok(()))?,
                    None => Default::default(),
                };
                report.bytes_before = check.len;
                if check.damage.is_empty() && check.len >= applied {
                    report.nothing_to_do = true;
                    report.journal = old_path.display().to_string();
                    report.records_kept = check.records;
                    report.bytes_kept = check.len;
                    report.tickets_after = report.tickets_before;
                    return Ok(report);
                }
                // The original bytes first, before anything changes.
                if old_file.is_some() {
                    let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3f");
                    let name = format!(
                        "{}.damaged-{stamp}",
                        old_path
                            .file_name()
                            .and_then(|n| n.to_str())
                            .unwrap_or("journal.log")
                    );
                    let copy = dir.join(name);
                    if std::fs::hard_link(&old_path, &copy).is_err() {
                        std::fs::copy(&old_path, &copy).map_err(Error::io_at(&copy))?;
                        sync_path(&copy)?;
                    }
                    sync_path(dir)?;
                    report.damaged_copy = Some(copy.display().to_string());
                }
                // Every readable record that decodes, in order, into the next generation.
                let new_path = journal_path(dir, generation + 1);
                if new_path.exists() {
                    std::fs::remove_file(&new_path).map_err(Error::io_at(&new_path))?;
                }
                let (mut journal, _) = Journal::open(&new_path, 0)?;
                sync_path(dir)?;
                let mut kept: Vec<u64> = Vec::new();
                let mut undecodable: Vec<LostStretch> = Vec::new();
                let mut group: Vec<Vec<u8>> = Vec::new();
                let scanned = match &old_file {
                    Some(f) => scan(&old_path, f, 0, |start, payload| {
                        match decode_entry(&payload, start) {
                            Ok(_) => {
                                kept.push(start);
                                group.push(payload);
                                if group.len() == 4096 {
                                    journal.append(&group)?;
                                    group.clear();
                                }
                            }
                            Err(e) => undecodable.push(LostStretch {
                                kind: DamageKind::Corrupt,
                                offset: start,
                                bytes: 8 + payload.len() as u64,
                                message: format!("a record that does not decode: {e}"),
                                tickets: Vec::new(),
                            }),
                        }
                        Ok(())
                    })?,
                    None => Default::default(),
                };
                if !group.is_empty() {
                    journal.append(&group)?;
                }
                drop(journal);
                let mut lost: Vec<LostStretch> = scanned
                    .damage
                    .into_iter()
                    .map(|d| LostStretch {
                        kind: d.kind,
                        offset: d.offset,
                        bytes: d.bytes,
                        message: d.message,
                        tickets: Vec::new(),
                    })
                    .chain(undecodable)
                    .collect();
                if applied > scanned.len {
                    lost.push(LostStretch {
                        kind: DamageKind::Corrupt,
                        offset: scanned.len,
                        bytes: applied - scanned.len,
                        message: format!(
                            "the journal ends at byte {}, but sled had applied it up to byte {applied}",
                            scanned.len
                        ),
                        tickets: Vec::new(),
                    });
                }
                lost.sort_by_key(|l| l.offset);
                let readable = |offset: u64| kept.binary_search(&offset).is_ok();
                let mut lost_positions = Vec::new();
                for (id, at) in &positions {
                    if !readable(at.latest) {
                        if let Some(l) = lost
                            .iter_mut()
                            .find(|l| at.latest >= l.offset && at.latest < l.offset + l.bytes)
                        {
                            l.tickets.push(*id);
                        }
                        lost_positions.push((*id, true));
                    } else if !readable(at.created) {
                        lost_positions.push((*id, false));
                    }
                }
                report.lost = lost;
                // The new journal is complete and durable: from here on, sled
                // names it until the rebuild is done.
                tree.insert(META_SALVAGE, (generation + 1).to_be_bytes().to_vec())?;
                db.flush()?;
                sync_tree(&sled_dir)?;
                (generation + 1, lost_positions)
            }
        };

        // Rebuild the tickets' keys, counters and offsets from the new journal.
        let new_path = journal_path(dir, source);
        let old_seq = read_u64(&tree, META_SEQ)?;
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in tree.iter() {
            let (k, _) = item?;
            // The salvage mark, and the check of the store's personal key
            // (the key is the store's own, whatever the journal lost).
            if k.as_ref() != META_SALVAGE && k.as_ref() != crate::keys::META_PERSONAL_KEY_CHECK {
                batch.remove(k);
                n += 1;
                if n % 10_000 == 0 {
                    tree.apply_batch(std::mem::take(&mut batch))?;
                }
            }
        }
        tree.apply_batch(batch)?;
        let reader = JournalReader::open(&new_path)?;
        let file = std::fs::File::open(&new_path).map_err(Error::io_at(&new_path))?;
        let mut counters = CounterCache::default();
        let mut group: Vec<(u64, JournalEntry)> = Vec::new();
        let apply_group = |group: &mut Vec<(u64, JournalEntry)>,
                           counters: &mut CounterCache,
                           end: u64|
         -> Result<()> {
            let refs: Vec<Applied<'_>> = group
                .iter()
                .map(|(start, entry)| Applied {
                    entry,
                    record_start: *start,
                    fresh: false,
                })
                .collect();
            apply(
                &tree,
                &reader,
                &config.deadlines,
                config.rates.assessment_month_start_day,
                &refs,
                end,
                counters,
            )?;
            group.clear();
            Ok(())
        };
        let mut end = 0;
        let rebuilt = scan(&new_path, &file, 0, |start, payload| {
            end = start + 8 + payload.len() as u64;
            group.push((start, decode_entry(&payload, start)?));
            if group.len() == 4096 {
                apply_group(&mut group, &mut counters, end)?;
            }
            Ok(())
        })?;
        if let Some(d) = rebuilt.damage.first() {
            return Err(crate::journal::damaged(
                &new_path,
                d.offset,
                d.message.clone(),
            ));
        }
        apply_group(&mut group, &mut counters, end)?;
        report.records_kept = rebuilt.records;
        report.bytes_kept = rebuilt.len;
        report.journal = new_path.display().to_string();
        // The index is derived: the opening below builds it again from sled.
        let index_dir = dir.join("index");
        if index_dir.exists() {
            std::fs::remove_dir_all(&index_dir).map_err(Error::io_at(&index_dir))?;
        }
        let mut last = sled::Batch::default();
        last.insert(META_JOURNAL, rebuilt.len.to_be_bytes().to_vec());
        last.insert(META_JOURNAL_GENERATION, source.to_be_bytes().to_vec());
        last.insert(
            META_SEQ,
            old_seq
                .max(read_u64(&tree, META_SEQ)?)
                .to_be_bytes()
                .to_vec(),
        );
        last.remove(META_SALVAGE);
        tree.apply_batch(last)?;
        db.flush()?;
        sync_tree(&sled_dir)?;
        drop(reader);
        drop(tree);
        drop(db);
        remove_other_journals(dir, source, 0)?;
        sync_path(dir)?;

        let store = Store::open(dir, config)?;
        report.tickets_after = store.ticket_count() as u64;
        for (id, latest_lost) in lost_positions {
            let present = store.inner.tree.contains_key(key(TICKET, id.as_bytes()))?;
            match (latest_lost, present) {
                (true, false) => report.tickets_lost.push(id),
                (true, true) => report.tickets_rolled_back.push(id),
                (false, true) => report.tickets_without_index_words.push(id),
                (false, false) => {}
            }
        }
        store.shutdown()?;
        tracing::warn!(
            kept = report.records_kept,
            lost_stretches = report.lost.len(),
            tickets_lost = report.tickets_lost.len(),
            rolled_back = report.tickets_rolled_back.len(),
            "journal salvaged"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    //! An interrupted salvage is refused on open and finished by running it again.

    use super::*;
    use crate::keys::key;
    use crate::testing::create;

    /// A salvage stopped after its new journal was complete and sled was
    /// marked, with sled's tickets half cleared: the store refuses to open,
    /// naming the new journal, and salvage run again finishes from it.
    #[test]
    fn an_interrupted_salvage_is_refused_and_finished_by_running_it_again() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut tickets = Vec::new();
        for (text, words) in [
            ("楼道里飞线充电很危险", "楼道 飞线充电 危险"),
            ("公园厕所没人打扫", "公园 厕所 打扫"),
            ("小区门口占道经营", "小区 门口 占道 经营"),
        ] {
            tickets.push(create(&store, text, words));
        }
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let old = dir.path().join("journal.log");
        let mut bytes = std::fs::read(&old).unwrap_or_else(|e| panic!("{e}"));
        let second = 8 + u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
        bytes[second as usize + 40] ^= 0x02;
        std::fs::write(&old, &bytes).unwrap_or_else(|e| panic!("{e}"));

        // What a first run leaves when stopped in its rebuild.
        let new = journal_path(dir.path(), 1);
        let (mut journal, _) = Journal::open(&new, 0).unwrap_or_else(|e| panic!("{e}"));
        let file = std::fs::File::open(&old).unwrap_or_else(|e| panic!("{e}"));
        let mut readable = Vec::new();
        scan(&old, &file, 0, |_, payload| {
            readable.push(payload);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(readable.len(), 2);
        journal.append(&readable).unwrap_or_else(|e| panic!("{e}"));
        drop(journal);
        {
            let db = open_sled(&dir.path().join("sled")).unwrap_or_else(|e| panic!("{e}"));
            let tree = db.open_tree("hotline").unwrap_or_else(|e| panic!("{e}"));
            tree.insert(META_SALVAGE, 1u64.to_be_bytes().to_vec())
                .unwrap_or_else(|e| panic!("{e}"));
            tree.remove(key(TICKET, tickets[0].id.as_bytes()))
                .unwrap_or_else(|e| panic!("{e}"));
            db.flush().unwrap_or_else(|e| panic!("{e}"));
        }

        let refused = Store::open(dir.path(), StoreConfig::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("interrupted"), "{refused}");
        assert!(refused.contains(&new.display().to_string()), "{refused}");

        let report =
            Store::salvage(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.resumed, "{report:?}");
        assert_eq!(report.records_kept, 2);
        assert_eq!(report.tickets_after, 2);
        assert!(!old.exists());
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        for (i, t) in tickets.iter().enumerate() {
            let got = store.get(t.id).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(got.as_ref(), (i != 1).then_some(t), "ticket {i}");
        }
        let verified = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(verified.is_ok(), "{verified:?}");
        assert_eq!(verified.indexed_docs, 2);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    }
}
