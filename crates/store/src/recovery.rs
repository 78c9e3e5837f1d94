//! Opening a store: sled, its lock wait and the snapshots a kill tore; replay of the journal into sled; the index's catch-up.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use crate::batch::{apply, Applied, CounterCache};
use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::generation::{journal_path, remove_other_journals};
use crate::index::{index_doc, CommitPolicy, IndexMsg, IndexedUpTo, SearchIndex};
use crate::journal::{record_start, Journal, JournalReader};
use crate::keys::{
    read_u64, META_JOURNAL, META_JOURNAL_GENERATION, META_SALVAGE, META_SEQ, TICKET,
};
use crate::location::{load_tokens, read_ticket, ticket_key_name};
use crate::record::decode_entry;
use crate::store::{Inner, Store};
use crate::writer::Writer;

impl Store {
    /// Opens the store in `dir` (created if missing), replays the journal into
    /// sled and brings the index up to date.
    pub fn open(dir: &Path, config: StoreConfig) -> Result<Store> {
        config.validate().map_err(|m| Error::invalid("config", m))?;
        let io = Error::io_at(dir);
        let created = !dir.exists();
        std::fs::create_dir_all(dir).map_err(io)?;
        // Callers' personal data is in the journal, sled and the index in
        // clear: a data directory made here is its owner's alone; one that
        // existed (perhaps shared on purpose) is not changed, only warned of.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if created {
                // A file system without modes (some mounts) refuses: said, not fatal.
                if let Err(e) =
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                {
                    tracing::warn!(dir = %dir.display(), error = %e, "data directory not made private");
                }
            } else if std::fs::metadata(dir).map_err(io)?.permissions().mode() & 0o077 != 0 {
                tracing::warn!(dir = %dir.display(), "data directory readable by others: its files hold callers' personal data (chmod 700)");
            }
        }
        refuse_lost_sled(dir)?;
        let db = open_sled(&dir.join("sled"))?;
        let tree = db.open_tree("hotline")?;
        // Before anything is written: sled must not have lost a token's
        // revocation or an audit entry that was answered as done.
        let watermark = Arc::new(crate::watermark::Watermark::open(&db, dir)?);

        if let Some(g) = tree.get(META_SALVAGE)? {
            return Err(Error::Conflict(format!(
                "a salvage of the store in {} was interrupted while rebuilding from {}; run `hotline salvage` again",
                dir.display(),
                journal_path(dir, u64::from_be_bytes(g.as_ref().try_into().unwrap_or([0; 8]))).display()
            )));
        }
        let applied = read_u64(&tree, META_JOURNAL)?;
        let generation =
            if tree.get(META_JOURNAL)?.is_none() && tree.get(META_JOURNAL_GENERATION)?.is_none() {
                let generation = journal_of_new_sled(dir)?;
                tree.insert(META_JOURNAL_GENERATION, &generation.to_be_bytes())?;
                tree.flush()?;
                generation
            } else {
                read_u64(&tree, META_JOURNAL_GENERATION)?
            };
        remove_other_journals(dir, generation, applied)?;
        let journal_path = journal_path(dir, generation);
        let (journal, pending) = Journal::open(&journal_path, applied)?;
        let journal_reader = JournalReader::open(&journal_path)?;
        crate::decisions::count_once(&tree, &journal_reader)?;
        crate::views::count_at_open(
            &tree,
            &journal_reader,
            &config.deadlines,
            config.rates.assessment_month_start_day,
        )?;
        if !pending.is_empty() {
            tracing::info!(entries = pending.len(), "replaying journal into sled");
            let mut entries = Vec::with_capacity(pending.len());
            for (end, payload) in &pending {
                entries.push(decode_entry(payload, record_start(*end, payload.len()))?);
            }
            let refs: Vec<Applied<'_>> = entries
                .iter()
                .zip(&pending)
                .map(|(entry, (end, p))| Applied {
                    entry,
                    record_start: record_start(*end, p.len()),
                    // Any of them may have reached sled before the crash.
                    fresh: false,
                })
                .collect();
            let end = pending.last().map_or(applied, |p| p.0);
            apply(
                &tree,
                &journal_reader,
                &config.deadlines,
                config.rates.assessment_month_start_day,
                &refs,
                end,
                &mut CounterCache::default(),
            )?;
        }

        if tree.get(crate::queue::META_QUEUE_CONFIG)?.as_deref()
            != Some(crate::queue::config_stamp(&config.deadlines).as_slice())
        {
            let tickets = tree.scan_prefix([TICKET]).map(|item| {
                let (k, v) = item?;
                read_ticket(&journal_reader, &k, &v)
            });
            let open = crate::queue::rebuild(&tree, tickets, &config.deadlines)?;
            tracing::info!(open, "deadline queue and address keys rebuilt");
        }

        let policy = CommitPolicy {
            max_docs: config.index_commit_docs,
            max_delay: Duration::from_millis(config.index_commit_ms),
            bulk: config.bulk_load,
        };
        let stored_words: crate::index::StoredWords = {
            let (tree, journal) = (tree.clone(), journal_reader.clone());
            Box::new(move |id: &str| {
                let id = Uuid::parse_str(id).map_err(|e| Error::Corrupt {
                    key: format!("index id {id}"),
                    message: e.to_string(),
                })?;
                load_tokens(&tree, &journal, id)
            })
        };
        let index_dir = dir.join("index");
        // The index is derived from the tickets: one that cannot be opened
        // is refused naming the way to rebuild it, not dropped in silence.
        let (index, indexed, owner) =
            SearchIndex::open(&index_dir, policy, stored_words, generation).map_err(|e| {
                // Only what says the files are damaged gets the advice; a
                // full disk, a permission or a held lock is another matter.
                let damaged = matches!(
                    &e,
                    Error::Index(
                        tantivy::TantivyError::DataCorruption(_)
                            | tantivy::TantivyError::IncompatibleIndex(_)
                            | tantivy::TantivyError::OpenReadError(_)
                    )
                );
                if !damaged {
                    return e;
                }
                Error::Corrupt {
                    key: index_dir.display().to_string(),
                    message: format!(
                        "the search index cannot be opened ({e}). No ticket is lost, they are in the journal: move the directory aside (`mv {0} {0}.damaged`) and open the store again, which rebuilds the index from them",
                        index_dir.display()
                    ),
                }
            })?;
        let journal_end = journal.len();
        match indexed {
            // Every change after the index's last commit is in the journal,
            // in order: index them again.
            IndexedUpTo::Journal(from) if from < journal_end => {
                let mut n = 0u64;
                for record in journal_reader.records(from, journal_end) {
                    let (start, end, payload) = record?;
                    let entry = decode_entry(&payload, start)?;
                    index.send(IndexMsg::Upsert {
                        journal_end: end,
                        doc: index_doc(&entry.ticket, entry.tokens),
                        replace: true,
                    })?;
                    n += 1;
                }
                tracing::info!(changes = n, from, "index caught up from the journal");
                index.commit()?;
            }
            IndexedUpTo::Journal(_) => {}
            // A new index, or one written by an earlier version: every ticket
            // changed after the sequence number it holds.
            IndexedUpTo::Seq(seq) => {
                let mut n = 0u64;
                for item in tree.scan_prefix([TICKET]) {
                    let (k, v) = item?;
                    let read = read_ticket(&journal_reader, &k, &v).and_then(|ticket| {
                        if ticket.seq <= seq {
                            return Ok(None);
                        }
                        let tokens = load_tokens(&tree, &journal_reader, ticket.id)?;
                        Ok(Some((ticket, tokens)))
                    });
                    let (ticket, tokens) = match read {
                        Ok(Some(read)) => read,
                        Ok(None) => continue,
                        // Like `reindex`: one unreadable record (which `get`
                        // and `verify` report) does not keep the rest out.
                        Err(e) if e.is_unreadable() => {
                            tracing::warn!(ticket = %ticket_key_name(&k), error = %e, "index catch-up skipped a ticket: its record cannot be read");
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    index.send(IndexMsg::Upsert {
                        journal_end,
                        doc: index_doc(&ticket, Some(tokens)),
                        replace: true,
                    })?;
                    n += 1;
                }
                index.send(IndexMsg::UpTo(journal_end))?;
                if n > 0 {
                    tracing::info!(tickets = n, from_seq = seq, "index caught up from sled");
                }
                index.commit()?;
            }
        }
        let last_seq = read_u64(&tree, META_SEQ)?;

        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            tree: tree.clone(),
            db: db.clone(),
            journal,
            reader: journal_reader.clone(),
            deadlines: config.deadlines.clone(),
            assessment_start_day: config.rates.assessment_month_start_day,
            window_days: config.repeat_window_days,
            next_seq: last_seq + 1,
            index: index.sender(),
            counters: CounterCache::default(),
            repeat_facts: HashMap::new(),
        };
        let writer_thread = std::thread::Builder::new()
            .name("hotline-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(io)?;
        Ok(Store {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                tree,
                db,
                index,
                journal: journal_reader,
                config,
                watermark,
                requests: Mutex::new(Some(tx)),
                threads: Mutex::new(vec![writer_thread, owner.handle]),
            }),
        })
    }
}

/// A journal with records but no sled directory beside it: sled was lost
/// (deleted, or a backup restored without it). Opening would make a new
/// sled, replay the tickets, and drop without a word the tokens and the
/// audit log, which only sled holds, and the journals of a compaction's
/// generation, which a new sled does not name: refused, naming both.
fn refuse_lost_sled(dir: &Path) -> Result<()> {
    let sled = dir.join("sled");
    if sled.exists() {
        return Ok(());
    }
    match crate::generation::non_empty_journals(dir)?.first() {
        None => Ok(()),
        Some((journal, len)) => Err(Error::Corrupt {
            key: sled.display().to_string(),
            message: format!(
                "missing, while the journal {} holds {len} bytes of tickets: the API tokens and the audit log were only there. Restore it from a backup (with the `watermark` file of the same backup); to rebuild the tickets from the journal alone, knowing that tokens and audit log are lost, create it empty (`mkdir {}`) and open the store again",
                journal.display(),
                sled.display()
            ),
        }),
    }
}

/// The journal generation a new sled reads: the one journal file in the
/// directory (a sled made empty by hand after a loss must find the
/// compacted journal, not remove it as another generation's), 0 when there
/// is none; refused when there are several, since sled no longer says
/// which one is live.
fn journal_of_new_sled(dir: &Path) -> Result<u64> {
    // Empty files hold nothing to rebuild (an interrupted compaction of an
    // empty store leaves one): the generation is one of the others.
    let files = crate::generation::non_empty_journals(dir)?;
    match files.as_slice() {
        [] => Ok(0),
        [(one, _)] => Ok(crate::generation::generation_of(one).unwrap_or(0)),
        several => Err(Error::Conflict(format!(
            "sled in {} is new but there are several journals ({}): keep the one to rebuild from and move the others away",
            dir.display(),
            several
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Opens sled, waiting up to two seconds for its file lock: a store closed
/// a moment ago in this process releases it from sled's own threads.
pub(crate) fn open_sled(path: &Path) -> Result<sled::Db> {
    remove_torn_snapshots(path)?;
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .flush_every_ms(Some(1000))
            // sled's default cache is 1 GB; tickets are read rarely and by id.
            .cache_capacity(128 << 20)
            .open()
        {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::Other
                    && e.to_string().contains("could not acquire lock") =>
            {
                if started.elapsed() > Duration::from_secs(2) {
                    return Err(Error::Conflict(format!(
                        "{} is in use by another hotline process",
                        path.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

/// Removes the torn snapshot files a process killed while writing one
/// left behind (`snap.<lsn>.generating`).
///
/// sled 0.34 writes a snapshot (during its open, after taking its lock) to
/// such a file, fsyncs it and renames it. It lists these files among its
/// snapshots and reads the highest name, so one torn by a kill makes every
/// later open fail as corrupt (sled issue #1527), although the snapshot
/// before it and the log are intact. A complete one (killed between the
/// fsync and the rename) is valid and may already be the snapshot sled
/// recovered from: it is left alone, as is every file sled did not name.
/// Only files failing sled's own check (a length and a CRC32 at the end)
/// are removed, and only while holding sled's lock on `db`, so that no
/// sled, in this process or another, is writing one.
fn remove_torn_snapshots(path: &Path) -> Result<()> {
    let lock_file = path.join("db");
    let db = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_file)
    {
        Ok(db) => db,
        // No database yet: nothing of sled's to clean.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io_at(&lock_file)(e)),
    };
    // sled's lock is an exclusive flock on `db`, held for the life of its
    // `Db`. If another holds it, sled's own open below says so.
    match db.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(()),
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io_at(&lock_file)(e)),
    }
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(path).map_err(Error::io_at(path))? {
        let entry = entry.map_err(Error::io_at(path))?;
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| is_unfinished_snapshot_name(n)) else {
            continue;
        };
        let file = entry.path();
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io_at(&file)(e)),
        };
        if is_complete_snapshot(&bytes) {
            continue;
        }
        match std::fs::remove_file(&file) {
            Ok(()) => removed.push(name.to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io_at(&file)(e)),
        }
    }
    if !removed.is_empty() {
        tracing::warn!(
            files = %removed.join(", "),
            "removed sled snapshots torn by an interrupted process"
        );
    }
    // Dropping `db` releases the lock for sled's open.
    Ok(())
}

/// The name sled gives a snapshot it is writing: `snap.`, the log sequence
/// number in 16 upper-case hex digits, `.generating`.
fn is_unfinished_snapshot_name(name: &str) -> bool {
    name.strip_prefix("snap.")
        .and_then(|rest| rest.strip_suffix(".generating"))
        .is_some_and(|lsn| lsn.len() == 16 && lsn.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// sled's own check of a snapshot file: the content, its length (8 bytes)
/// and the CRC32 of the content (4 bytes, little-endian) at the end.
fn is_complete_snapshot(bytes: &[u8]) -> bool {
    if bytes.len() <= 12 {
        return false;
    }
    let (content, tail) = bytes.split_at(bytes.len() - 12);
    let mut crc = [0; 4];
    crc.copy_from_slice(&tail[8..]);
    crc32fast::hash(content) == u32::from_le_bytes(crc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot file as sled writes it: content, length, CRC32.
    fn snapshot_bytes(content: &[u8]) -> Vec<u8> {
        let mut bytes = content.to_vec();
        bytes.extend_from_slice(&(content.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(content).to_le_bytes());
        bytes
    }

    #[test]
    fn only_torn_snapshots_sled_named_are_removed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sled = dir.path();
        let complete = snapshot_bytes(&[7; 300]);
        let files: &[(&str, Vec<u8>)] = &[
            ("db", Vec::new()),
            ("snap.0000000000001000", complete.clone()),
            // Killed between the fsync and the rename: valid, maybe in use.
            ("snap.0000000000002000.generating", complete.clone()),
            // Killed while writing: cut short, then not even its length.
            ("snap.0000000000003000.generating", complete[..150].to_vec()),
            ("snap.0000000000004000.generating", complete[..5].to_vec()),
            // Not names sled writes: not sled's to judge.
            ("snap.backup.generating", complete[..150].to_vec()),
            (
                "snap.00000000000050000.generating",
                complete[..150].to_vec(),
            ),
        ];
        for (name, bytes) in files {
            std::fs::write(sled.join(name), bytes).unwrap_or_else(|e| panic!("{e}"));
        }
        remove_torn_snapshots(sled).unwrap_or_else(|e| panic!("{e}"));
        let mut left: Vec<String> = std::fs::read_dir(sled)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|e| {
                e.unwrap_or_else(|e| panic!("{e}"))
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "db",
                "snap.0000000000001000",
                "snap.0000000000002000.generating",
                "snap.00000000000050000.generating",
                "snap.backup.generating",
            ]
        );
    }

    #[test]
    fn a_locked_database_is_left_to_sled() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sled = dir.path();
        let db = std::fs::File::create(sled.join("db")).unwrap_or_else(|e| panic!("{e}"));
        db.lock().unwrap_or_else(|e| panic!("{e}"));
        let torn = sled.join("snap.0000000000003000.generating");
        std::fs::write(&torn, [1, 2, 3]).unwrap_or_else(|e| panic!("{e}"));
        remove_torn_snapshots(sled).unwrap_or_else(|e| panic!("{e}"));
        assert!(torn.exists());
        drop(db);
        remove_torn_snapshots(sled).unwrap_or_else(|e| panic!("{e}"));
        assert!(!torn.exists());
    }

    #[test]
    fn a_torn_snapshot_that_is_a_directory_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("db"), b"").unwrap_or_else(|e| panic!("{e}"));
        let odd = dir.path().join("snap.0000000000003000.generating");
        std::fs::create_dir(&odd).unwrap_or_else(|e| panic!("{e}"));
        let refused = match remove_torn_snapshots(dir.path()) {
            Ok(()) => panic!("a directory was taken for a snapshot"),
            Err(e) => e.to_string(),
        };
        assert!(
            refused.contains("snap.0000000000003000.generating"),
            "{refused}"
        );
        assert!(odd.exists());
    }
}
