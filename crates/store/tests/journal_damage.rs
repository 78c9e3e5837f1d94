//! A damaged journal: told apart from a torn append, refused on open without
//! a byte changed, reported by the read-only check, repaired by salvage; and
//! a fault-injection run (flipped, zeroed and cut bytes at many seeds) in
//! which the store never serves a wrong or missing acknowledged ticket.
//!
//! HOTLINE_FAULT_SEEDS sets the number of seeds of the fault-injection run
//! (default 200; the long run uses thousands).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hotline_store::{
    DamageKind, EventBody, IndexQuery, Kind, NewEvent, NewTicket, Store, StoreConfig, Submitted,
    Ticket, TopicAssignment, TopicSource, Urgency,
};
use uuid::Uuid;

fn config() -> StoreConfig {
    StoreConfig::default()
}

fn new_ticket(i: usize) -> NewTicket {
    NewTicket {
        external_id: Some(format!("ext-{i}")),
        received_at: None,
        channel: "phone".into(),
        kind: Kind::Complaint,
        urgency: Urgency::General,
        title: None,
        text: format!("第{i}号来电 小区水管破裂 漏水严重 已经三天 编号{i:05}"),
        caller_name: None,
        caller_phone: None,
        address: None,
        district: Some("朝阳区".into()),
        street: None,
        topic: TopicAssignment {
            slug: "water".into(),
            source: TopicSource::Router,
            confidence: Some(0.9),
            model: None,
        },
        department: "水务局".into(),
        deciding_words: Vec::new(),
        index_tokens: format!("小区 水管 破裂 漏水 w{i}"),
        history: Vec::new(),
    }
}

/// The journal's length, which is also where the next record starts.
fn journal_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("journal.log")).map_or(0, |m| m.len())
}

/// One operation at a time, each appending exactly one record (no
/// repeats: every text and caller differs), so every operation boundary is a
/// record boundary.
struct Recorder {
    store: Option<Store>,
    dir: PathBuf,
    /// Every ticket as acknowledged, now.
    model: BTreeMap<Uuid, Ticket>,
    /// The journal's length after each operation, with the model then.
    boundaries: Vec<(u64, BTreeMap<Uuid, Ticket>)>,
    next: usize,
}

impl Recorder {
    fn close(&mut self) {
        if let Some(store) = self.store.take() {
            store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        }
    }

    fn step(&mut self) {
        let i = self.next;
        self.next += 1;
        let ids: Vec<Uuid> = self.model.keys().copied().collect();
        let store = self.store.as_ref().unwrap_or_else(|| panic!("closed"));
        if i % 3 == 2 && !ids.is_empty() {
            let id = ids[(i * 7) % ids.len()];
            let t = store
                .add_event(
                    id,
                    NewEvent {
                        id: None,
                        at: None,
                        body: EventBody::Contacted {
                            note: Some(format!("第{i}次联系")),
                        },
                    },
                )
                .unwrap_or_else(|e| panic!("{e}"));
            self.model.insert(id, t);
        } else {
            match store.submit(vec![new_ticket(i)]) {
                Ok(mut s) => match s.pop() {
                    Some(Submitted::Created(t)) => {
                        self.model.insert(t.id, *t);
                    }
                    other => panic!("not created: {other:?}"),
                },
                Err(e) => panic!("{e}"),
            }
        }
        self.boundaries
            .push((journal_len(&self.dir), self.model.clone()));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{e}")) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// A store as a crash leaves it: sled (and the index) have applied the
/// journal up to `applied`, and the journal holds `pending` more
/// acknowledged records after it, which sled lost with its last second.
struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    applied: u64,
    /// (journal length, every acknowledged ticket then), one per operation.
    boundaries: Vec<(u64, BTreeMap<Uuid, Ticket>)>,
}

impl Fixture {
    fn new(applied_ops: usize, pending_ops: usize) -> Fixture {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let live = tmp.path().join("live");
        let store = Store::open(&live, config()).unwrap_or_else(|e| panic!("{e}"));
        let mut r = Recorder {
            store: Some(store),
            dir: live.clone(),
            model: BTreeMap::new(),
            boundaries: Vec::new(),
            next: 0,
        };
        for _ in 0..applied_ops {
            r.step();
        }
        r.close();
        let snapshot = tmp.path().join("snapshot");
        copy_dir(&live.join("sled"), &snapshot.join("sled"));
        copy_dir(&live.join("index"), &snapshot.join("index"));
        let applied = journal_len(&live);
        r.store = Some(Store::open(&live, config()).unwrap_or_else(|e| panic!("{e}")));
        for _ in 0..pending_ops {
            r.step();
        }
        r.close();
        std::fs::copy(live.join("journal.log"), snapshot.join("journal.log"))
            .unwrap_or_else(|e| panic!("{e}"));
        Fixture {
            dir: snapshot,
            applied,
            boundaries: r.boundaries,
            _tmp: tmp,
        }
    }

    /// A fresh copy of the crashed store to damage.
    fn copy(&self, to: &Path) -> PathBuf {
        let dir = to.join("store");
        copy_dir(&self.dir, &dir);
        dir
    }

    fn len(&self) -> u64 {
        self.boundaries.last().map_or(0, |b| b.0)
    }

    /// Every acknowledged ticket when the journal was `len` bytes long.
    fn model_at(&self, len: u64) -> Option<&BTreeMap<Uuid, Ticket>> {
        self.boundaries.iter().find(|b| b.0 == len).map(|b| &b.1)
    }

    /// The record boundaries past the applied offset, in order.
    fn pending_boundaries(&self) -> Vec<u64> {
        let mut b: Vec<u64> = self.boundaries.iter().map(|b| b.0).collect();
        b.retain(|&o| o >= self.applied);
        b
    }
}

/// A ticket created by an operation sled has applied and never changed
/// after: its record's start and end, and its id.
fn unchanged_creation(fx: &Fixture) -> (u64, u64, Uuid) {
    let last = &fx.boundaries[fx.boundaries.len() - 1].1;
    for (k, (end, model)) in fx.boundaries.iter().enumerate() {
        if *end > fx.applied {
            break;
        }
        let (start, before) = match k {
            0 => (0, None),
            _ => (fx.boundaries[k - 1].0, Some(&fx.boundaries[k - 1].1)),
        };
        let created = model
            .keys()
            .find(|id| before.is_none_or(|b| !b.contains_key(*id)));
        if let Some(id) = created {
            if last.get(id) == model.get(id) {
                return (start, *end, *id);
            }
        }
    }
    panic!("no ticket is left unchanged")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{e}"))
}

fn flip(path: &Path, at: u64, mask: u8) {
    let mut bytes = read(path);
    bytes[at as usize] ^= mask;
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{e}"));
}

fn open_err(dir: &Path) -> String {
    match Store::open(dir, config()) {
        Ok(store) => {
            let _ = store.shutdown();
            panic!("the store opened")
        }
        Err(e) => e.to_string(),
    }
}

/// Every ticket the store holds equals the model, and it holds no other.
fn assert_serves(store: &Store, model: &BTreeMap<Uuid, Ticket>) {
    for (id, want) in model {
        let got = store.get(*id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(got.as_ref(), Some(want), "ticket {id}");
    }
    assert_eq!(store.ticket_count(), model.len());
}

/// (a) One flipped byte in a record in the middle of the part sled has not
/// applied: the opening refuses, naming the file and the record's offset,
/// and changes nothing; with the byte put back everything is there.
#[test]
fn a_flipped_byte_before_valid_records_is_refused_not_cut() {
    let fx = Fixture::new(6, 8);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = fx.copy(tmp.path());
    let journal = dir.join("journal.log");
    let pending = fx.pending_boundaries();
    let record = pending[3];
    let at = record + 40;
    flip(&journal, at, 0x20);
    let before = read(&journal);

    let message = open_err(&dir);
    assert!(
        message.contains(&journal.display().to_string()),
        "{message}"
    );
    assert!(message.contains(&format!("at byte {record}")), "{message}");
    assert!(message.contains("readable records follow"), "{message}");
    assert_eq!(read(&journal), before, "the refused journal was changed");

    flip(&journal, at, 0x20);
    let store = Store::open(&dir, config()).unwrap_or_else(|e| panic!("{e}"));
    assert_serves(&store, &fx.boundaries[fx.boundaries.len() - 1].1);
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// The last record complete but failing its checksum is damage, not a torn
/// append (an interrupted append ends early or in zeros): refused too.
#[test]
fn a_flipped_byte_in_the_last_record_is_refused() {
    let fx = Fixture::new(3, 3);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = fx.copy(tmp.path());
    let journal = dir.join("journal.log");
    let last = fx.pending_boundaries()[2];
    flip(&journal, last + 30, 0x01);
    let before = read(&journal);
    let message = open_err(&dir);
    assert!(message.contains(&format!("at byte {last}")), "{message}");
    assert_eq!(read(&journal), before);
    // Its length field damaged so that it seems to run past the end: its
    // checksum still matches what is there, so this is damage too.
    flip(&journal, last + 30, 0x01);
    flip(&journal, last + 2, 0x01);
    let message = open_err(&dir);
    assert!(message.contains(&format!("at byte {last}")), "{message}");
}

/// (b) The read-only check never writes, and reports the damage; a torn
/// tail is reported too, and left for the opening to cut.
#[test]
fn the_journal_check_reports_damage_and_writes_nothing() {
    let fx = Fixture::new(4, 4);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = fx.copy(tmp.path());
    let journal = dir.join("journal.log");
    let record = fx.boundaries[1].0;
    flip(&journal, record + 50, 0x10);
    let before = read(&journal);
    let check = Store::check_journal(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(!check.is_ok());
    assert_eq!(check.damage.len(), 1, "{check:?}");
    assert_eq!(check.damage[0].offset, record);
    assert_eq!(check.damage[0].kind, DamageKind::Corrupt);
    assert_eq!(check.bytes, fx.len());
    assert_eq!(read(&journal), before, "the check changed the journal");

    let dir = fx.copy(&tmp.path().join("torn"));
    let journal = dir.join("journal.log");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &[200, 1, 0, 0, 1, 2, 3, 4, b'{']))
        .unwrap_or_else(|e| panic!("{e}"));
    let before = read(&journal);
    let check = Store::check_journal(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check.damage.len(), 1, "{check:?}");
    assert_eq!(check.damage[0].kind, DamageKind::TornTail);
    assert_eq!(check.damage[0].offset, fx.len());
    assert_eq!(read(&journal), before, "the check changed the journal");
}

/// (c) A torn tail (an append cut short, or followed by zeros) still opens,
/// and only the tail is cut.
#[test]
fn a_torn_tail_is_cut_and_only_it() {
    let fx = Fixture::new(3, 5);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let full = fx.len();
    let last_start = fx.pending_boundaries()[4];
    for (name, damage) in [("short", 0u8), ("zeros", 1), ("extra", 2)] {
        let dir = fx.copy(&tmp.path().join(name));
        let journal = dir.join("journal.log");
        let mut bytes = read(&journal);
        let expected_len = match damage {
            // The last record's append stopped halfway.
            0 => {
                bytes.truncate((last_start + (full - last_start) / 2) as usize);
                last_start
            }
            // Its second half never reached the disk: zeros.
            1 => {
                let half = (last_start + (full - last_start) / 2) as usize;
                bytes[half..].fill(0);
                last_start
            }
            // A record header and a few bytes after the last record.
            _ => {
                bytes.extend_from_slice(&[100, 0, 0, 0, 9, 9, 9, 9, b'{', b'"']);
                full
            }
        };
        std::fs::write(&journal, bytes).unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&dir, config()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(journal_len(&dir), expected_len, "{name}");
        let model = fx
            .model_at(expected_len)
            .unwrap_or_else(|| panic!("{name}"));
        assert_serves(&store, model);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A damaged end that sled has applied was acknowledged: the read-only
/// check must not call it an interrupted append (which opening would cut
/// and which was never acknowledged). Opening reads only past sled's
/// offset, so it cuts nothing; the damage is found when the record is read.
#[test]
fn an_acknowledged_damaged_end_is_not_called_an_interrupted_append() {
    let fx = Fixture::new(6, 0);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = fx.copy(tmp.path());
    let journal = dir.join("journal.log");
    let mut bytes = read(&journal);
    let len = bytes.len();
    bytes[len - 20..].fill(0);
    std::fs::write(&journal, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let check = Store::check_journal(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(!check.damage.is_empty(), "{check:?}");
    for d in &check.damage {
        assert_eq!(d.kind, DamageKind::Corrupt, "{d:?}");
        assert!(d.message.contains("acknowledged"), "{}", d.message);
    }
    let store = Store::open(&dir, config()).unwrap_or_else(|e| panic!("{e}"));
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    assert_eq!(read(&journal), bytes);
}

/// (d) A journal shorter than sled has applied is refused, naming the file
/// and both lengths, and nothing is appended where sled still points.
#[test]
fn a_journal_shorter_than_sled_applied_is_refused() {
    let fx = Fixture::new(6, 0);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = fx.copy(tmp.path());
    let journal = dir.join("journal.log");
    let cut = fx.boundaries[3].0;
    let mut bytes = read(&journal);
    bytes.truncate(cut as usize);
    std::fs::write(&journal, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let message = open_err(&dir);
    assert!(
        message.contains(&journal.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&format!("ends at byte {cut}"))
            && message.contains(&format!("applied it up to byte {}", fx.applied)),
        "{message}"
    );
    assert_eq!(read(&journal), bytes);
    // A missing journal is refused too, and not created empty.
    std::fs::remove_file(&journal).unwrap_or_else(|e| panic!("{e}"));
    let message = open_err(&dir);
    assert!(message.contains("missing"), "{message}");
    assert!(!journal.exists());
}

/// (e) Salvage keeps every readable record, keeps the damaged bytes aside,
/// and reports exactly what was lost: the stretch, its size, and the ticket
/// whose latest version sled had placed there.
#[test]
fn salvage_keeps_every_readable_record_and_reports_the_lost_one() {
    let fx = Fixture::new(9, 6);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = fx.copy(tmp.path());
    let journal = dir.join("journal.log");
    let final_model = fx.boundaries[fx.boundaries.len() - 1].1.clone();

    // One damaged record sled has applied: the one that created a ticket
    // never changed after; and one it has not applied yet (the third
    // pending operation, an event).
    let (applied_start, applied_end, lost_id) = unchanged_creation(&fx);
    let pending = fx.pending_boundaries();
    let (pending_start, pending_end) = (pending[2], pending[3]);
    flip(&journal, applied_start + 60, 0x08);
    flip(&journal, pending_start + 60, 0x08);
    let damaged = read(&journal);

    let report = Store::salvage(&dir, config()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.nothing_to_do);
    let copy = report
        .damaged_copy
        .clone()
        .unwrap_or_else(|| panic!("no copy"));
    assert_eq!(
        read(Path::new(&copy)),
        damaged,
        "the damaged bytes are kept"
    );
    assert_eq!(report.lost.len(), 2, "{report:#?}");
    assert_eq!(report.lost[0].offset, applied_start);
    assert_eq!(report.lost[0].bytes, applied_end - applied_start);
    assert_eq!(report.lost[0].tickets, vec![lost_id]);
    assert_eq!(report.lost[1].offset, pending_start);
    assert_eq!(report.lost[1].bytes, pending_end - pending_start);
    assert_eq!(report.tickets_lost, vec![lost_id]);
    assert_eq!(report.records_kept, fx.boundaries.len() as u64 - 2);
    assert_eq!(
        report.bytes_kept,
        fx.len() - (applied_end - applied_start) - (pending_end - pending_start)
    );

    // What is served: every acknowledged ticket, but the lost one, and the
    // one whose event the lost pending record held as it was before that
    // event (unless a later event, whose record holds the whole ticket, came).
    let event_op = fx.boundaries.len() - 6 + 2;
    let (before, after) = (&fx.boundaries[event_op - 1].1, &fx.boundaries[event_op].1);
    let changed = *after
        .keys()
        .find(|id| before.get(*id) != after.get(*id))
        .unwrap_or_else(|| panic!("operation {event_op} changes a ticket"));
    let mut expected = final_model.clone();
    expected.remove(&lost_id);
    if final_model[&changed] == after[&changed] {
        expected.insert(changed, before[&changed].clone());
    }
    let store = Store::open(&dir, config()).unwrap_or_else(|e| panic!("{e}"));
    assert_serves(&store, &expected);
    assert_eq!(store.get(lost_id).unwrap_or_else(|e| panic!("{e}")), None);
    let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.indexed_docs, report.tickets);
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    let check = Store::check_journal(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(check.is_ok(), "{check:?}");
    // A second run finds nothing to do.
    let again = Store::salvage(&dir, config()).unwrap_or_else(|e| panic!("{e}"));
    assert!(again.nothing_to_do, "{again:?}");
}

/// Search skips a hit whose record cannot be read, and counts it.
#[test]
fn search_skips_and_counts_an_unreadable_hit() {
    let fx = Fixture::new(6, 0);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = fx.copy(tmp.path());
    let (start, _, _) = unchanged_creation(&fx);
    flip(&dir.join("journal.log"), start + 70, 0x04);
    let store = Store::open(&dir, config()).unwrap_or_else(|e| panic!("{e}"));
    let page = store
        .search(&IndexQuery {
            words: vec!["水管".into()],
            limit: 100,
            ..IndexQuery::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.skipped_unreadable, 1);
    assert_eq!(page.hits.len() + 1, page.total);
    assert!(!store.verify().unwrap_or_else(|e| panic!("{e}")).is_ok());
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// splitmix64: a seed's faults are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Flip,
    Truncate,
    Zero,
}

#[derive(Debug, Default)]
struct Outcomes {
    unchanged: usize,
    refused: usize,
    intact: usize,
    unreadable_reads: usize,
    torn_cut: usize,
}

/// (f) Flip, zero or cut bytes of the journal at random places (half of
/// them in the part sled has not applied). After each, the store either
/// refuses to open, naming the journal, or serves every acknowledged ticket
/// exactly, or answers a read of one with an error naming the journal (and
/// the read-only check reports it). Only damage that an interrupted append
/// also leaves (the file cut, or zeroed to its end, past sled's applied
/// offset) may be cut, and then the store serves exactly what was
/// acknowledged before the cut. Nothing is ever served wrong or missing.
#[test]
fn random_journal_damage_is_refused_or_served_exactly() {
    let seeds: u64 = std::env::var("HOTLINE_FAULT_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let fx = Fixture::new(12, 12);
    let original = read(&fx.dir.join("journal.log"));
    let len = original.len() as u64;
    let mut outcomes: BTreeMap<&str, Outcomes> = BTreeMap::new();
    let started = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for seed in 0..seeds {
        let mut rng = Rng(seed);
        let fault = [Fault::Flip, Fault::Truncate, Fault::Zero][(seed % 3) as usize];
        let pending_only = rng.below(2) == 0;
        let place = |rng: &mut Rng| {
            if pending_only {
                fx.applied + rng.below(len - fx.applied)
            } else {
                rng.below(len)
            }
        };
        let mut bytes = original.clone();
        let mut first = len;
        let mut reaches_end = false;
        match fault {
            Fault::Flip => {
                for _ in 0..=rng.below(3) {
                    let at = place(&mut rng);
                    bytes[at as usize] ^= 1 + rng.below(255) as u8;
                    first = first.min(at);
                }
            }
            Fault::Truncate => {
                first = place(&mut rng);
                bytes.truncate(first as usize);
                reaches_end = true;
            }
            Fault::Zero => {
                let at = place(&mut rng);
                let end = if rng.below(4) == 0 {
                    len
                } else {
                    (at + 1 + rng.below(64)).min(len)
                };
                bytes[at as usize..end as usize].fill(0);
                first = at;
                reaches_end = end == len;
            }
        }
        let name = match fault {
            Fault::Flip => "flip",
            Fault::Truncate => "truncate",
            Fault::Zero => "zero",
        };
        let o = outcomes.entry(name).or_default();
        if bytes == original {
            o.unchanged += 1;
            continue;
        }
        let case = format!(
            "seed {seed}: {fault:?} from byte {first} (applied {}, length {len})",
            fx.applied
        );
        // Damage an interrupted append can also leave: it cannot be told apart.
        let torn_like = reaches_end && first >= fx.applied;

        let dir = fx.copy(&tmp.path().join(seed.to_string()));
        let journal = dir.join("journal.log");
        std::fs::write(&journal, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let journal_name = journal.display().to_string();

        let check = Store::check_journal(&dir).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(read(&journal), bytes, "{case}: the check wrote");
        if !torn_like {
            assert!(!check.is_ok(), "{case}: the check saw nothing");
        }

        match Store::open(&dir, config()) {
            Err(e) => {
                let message = e.to_string();
                assert!(message.contains(&journal_name), "{case}: {message}");
                assert!(message.contains("at byte"), "{case}: {message}");
                assert_eq!(
                    read(&journal),
                    bytes,
                    "{case}: a refused journal was changed"
                );
                o.refused += 1;
            }
            Ok(store) => {
                assert!(
                    !(fault == Fault::Flip && first >= fx.applied),
                    "{case}: a flipped byte past the applied offset was not refused"
                );
                let now = journal_len(&dir);
                let cut = now < bytes.len() as u64;
                if cut {
                    assert!(torn_like, "{case}: cut to {now}, but not a torn append");
                }
                assert!(now >= fx.applied, "{case}");
                let model = if now == len {
                    fx.model_at(len)
                } else {
                    assert!(now <= first, "{case}: cut at {now}, after the damage");
                    fx.model_at(now)
                }
                .unwrap_or_else(|| panic!("{case}: {now} is not a record boundary"));
                let mut unreadable = 0;
                for (id, want) in model {
                    match store.get(*id) {
                        Ok(Some(got)) => assert_eq!(&got, want, "{case}: ticket {id} served wrong"),
                        Ok(None) => panic!("{case}: ticket {id} silently missing"),
                        Err(e) => {
                            let message = e.to_string();
                            assert!(e.is_unreadable(), "{case}: {message}");
                            assert!(message.contains(&journal_name), "{case}: {message}");
                            unreadable += 1;
                        }
                    }
                }
                assert_eq!(store.ticket_count(), model.len(), "{case}: other tickets");
                if unreadable > 0 {
                    let report = store.verify().unwrap_or_else(|e| panic!("{case}: {e}"));
                    assert!(!report.is_ok(), "{case}: verify missed {unreadable}");
                    store
                        .search(&IndexQuery {
                            words: vec!["水管".into()],
                            limit: 100,
                            ..IndexQuery::default()
                        })
                        .unwrap_or_else(|e| panic!("{case}: search failed whole: {e}"));
                    o.unreadable_reads += 1;
                } else if cut {
                    o.torn_cut += 1;
                } else {
                    o.intact += 1;
                }
                store.shutdown().unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
    eprintln!(
        "{seeds} seeds in {:.1} s over a {len}-byte journal (applied {}):",
        started.elapsed().as_secs_f64(),
        fx.applied
    );
    for (name, o) in &outcomes {
        eprintln!(
            "  {name}: refused {}, opened serving every ticket exactly {}, opened with reads of damaged tickets failing (verify reports them) {}, torn-like end cut and the rest served exactly {}, bytes unchanged {}",
            o.refused, o.intact, o.unreadable_reads, o.torn_cut, o.unchanged
        );
    }
}
