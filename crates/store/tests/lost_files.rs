//! A file of the data directory lost or changed (the sled directory,
//! `personal.key`): opening refuses and names it instead of quietly making a
//! new one or reading a wrong one, `verify` names it, and the way on that the
//! refusal names works.

use std::path::Path;

use hotline_store::{
    Kind, NewTicket, PersonalKey, Store, StoreConfig, Submitted, TopicAssignment, TopicSource,
    Urgency,
};

fn new_ticket(i: usize) -> NewTicket {
    NewTicket {
        external_id: Some(format!("ext-{i}")),
        received_at: None,
        channel: "phone".into(),
        kind: Kind::Complaint,
        urgency: Urgency::General,
        title: None,
        text: format!("第{i}号来电 小区水管破裂 漏水严重 编号{i:05}"),
        caller_name: Some(format!("王小{i}")),
        caller_phone: None,
        address: None,
        district: Some("朝阳区".into()),
        street: None,
        topic: TopicAssignment {
            slug: "other".into(),
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

/// A store in `dir` holding `n` tickets, shut down.
fn fill(dir: &Path, n: usize) {
    let store = Store::open(dir, StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    PersonalKey::open(&store).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..n {
        match store.submit(vec![new_ticket(i)]).map(|mut s| s.pop()) {
            Ok(Some(Submitted::Created(_))) => {}
            other => panic!("not created: {other:?}"),
        }
    }
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

fn journals(dir: &Path) -> Vec<(String, u64)> {
    let mut found: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name.starts_with("journal") && name.ends_with(".log"))
                .then(|| (name, e.metadata().map(|m| m.len()).unwrap_or(0)))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_lost_sled_directory_is_refused_and_an_empty_one_rebuilds_from_the_compacted_journal() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fill(dir.path(), 6);
    // After a compaction the live journal is another generation's file,
    // which only sled names.
    Store::compact(dir.path(), StoreConfig::default(), |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let before = journals(dir.path());
    assert_eq!(before.len(), 1, "{before:?}");
    assert_ne!(before[0].0, "journal.log", "{before:?}");

    std::fs::remove_dir_all(dir.path().join("sled")).unwrap_or_else(|e| panic!("{e}"));
    let refused = match Store::open(dir.path(), StoreConfig::default()) {
        Ok(_) => panic!("a store without its sled directory opened"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("sled"), "{refused}");
    assert!(refused.contains("missing"), "{refused}");
    assert!(refused.contains("audit log"), "{refused}");
    assert!(refused.contains(&before[0].0), "{refused}");
    // Nothing was changed: no sled made, the journal as it was.
    assert!(!dir.path().join("sled").exists());
    assert_eq!(journals(dir.path()), before);

    // The way on the refusal names: an empty sled, the tickets rebuilt
    // from the compacted journal, which stays.
    std::fs::create_dir(dir.path().join("sled")).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.ticket_count(), 6);
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    assert_eq!(journals(dir.path()), before);
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.ticket_count(), 6);
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_lost_personal_key_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fill(dir.path(), 3);
    let key_file = dir.path().join("personal.key");
    std::fs::remove_file(&key_file).unwrap_or_else(|e| panic!("{e}"));

    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let refused = match PersonalKey::open(&store) {
        Ok(_) => panic!("a new key replaced the lost one"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("personal.key"), "{refused}");
    assert!(refused.contains("missing"), "{refused}");
    assert!(refused.contains("3 tickets"), "{refused}");
    assert!(!key_file.exists(), "a key file was written");
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);

    // A store without tickets makes its key on first use, as before.
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(empty.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    PersonalKey::open(&store).unwrap_or_else(|e| panic!("{e}"));
    assert!(empty.path().join("personal.key").exists());
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_changed_personal_key_is_refused_and_verify_names_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fill(dir.path(), 2);
    let key_file = dir.path().join("personal.key");
    let good = std::fs::read(&key_file).unwrap_or_else(|e| panic!("{e}"));
    let mut changed = good.clone();
    changed[5] ^= 0x01;
    std::fs::write(&key_file, &changed).unwrap_or_else(|e| panic!("{e}"));

    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let refused = match PersonalKey::open(&store) {
        Ok(_) => panic!("a changed key was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("personal.key"), "{refused}");
    assert!(refused.contains("not the key"), "{refused}");
    let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.is_ok(), "{report:?}");
    assert!(
        report
            .corrupt_records
            .iter()
            .any(|r| r.contains("personal.key")),
        "{report:?}"
    );
    // Deleted, or cut short: verify names it too.
    for bad in [None, Some(&good[..31])] {
        match bad {
            None => std::fs::remove_file(&key_file).unwrap_or_else(|e| panic!("{e}")),
            Some(bytes) => std::fs::write(&key_file, bytes).unwrap_or_else(|e| panic!("{e}")),
        }
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            report
                .corrupt_records
                .iter()
                .any(|r| r.contains("personal.key")),
            "{bad:?}: {report:?}"
        );
    }
    // The right key back: accepted, and verify is satisfied.
    std::fs::write(&key_file, &good).unwrap_or_else(|e| panic!("{e}"));
    PersonalKey::open(&store).unwrap_or_else(|e| panic!("{e}"));
    assert!(store.verify().unwrap_or_else(|e| panic!("{e}")).is_ok());
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// Callers' personal data is in the files in clear: a data directory the
/// store makes is its owner's alone; one that existed is left as it was
/// (it may be shared on purpose; the opening warns).
#[cfg(unix)]
#[test]
fn the_data_directory_it_makes_is_its_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{e}"))
            .permissions()
            .mode()
            & 0o777
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    fill(&data, 1);
    assert_eq!(mode(&data), 0o700);
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o750))
        .unwrap_or_else(|e| panic!("{e}"));
    fill(&shared, 1);
    assert_eq!(mode(&shared), 0o750);
}

/// An index whose files cannot be opened (its meta.json garbled) stops the
/// store, naming the directory and the way on; moving it aside rebuilds it
/// from the tickets, every one searchable again.
#[test]
fn an_index_that_cannot_be_opened_is_refused_with_the_way_to_rebuild_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fill(dir.path(), 4);
    let index = dir.path().join("index");
    std::fs::write(index.join("meta.json"), "{garbage").unwrap_or_else(|e| panic!("{e}"));
    let refused = match Store::open(dir.path(), StoreConfig::default()) {
        Ok(_) => panic!("a store with a garbled index opened"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("index"), "{refused}");
    assert!(refused.contains("mv "), "{refused}");
    std::fs::rename(&index, dir.path().join("index.damaged")).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    store.commit_index().unwrap_or_else(|e| panic!("{e}"));
    let query = hotline_store::IndexQuery {
        words: vec!["漏水".into()],
        personal: Vec::new(),
        topic: None,
        district: None,
        kind: None,
        status: None,
        from: None,
        to: None,
        all_words: true,
        offset: 0,
        limit: 10,
    };
    let page = store.search(&query).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.total, 4);
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// After a compaction the live journal is lost and the file of the
/// generation before it is back (a restore of the wrong file, a disk that
/// lost the newer one): it holds every ticket. Opening and salvage refuse,
/// naming it, and neither removes it (both once deleted it as a leftover of
/// an interrupted compaction, and salvage then rebuilt an empty store).
#[test]
fn a_lost_live_journal_beside_an_older_generation_removes_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fill(dir.path(), 6);
    let older = dir.path().join("journal.log");
    let kept = dir.path().join("journal.before-compaction");
    std::fs::copy(&older, &kept).unwrap_or_else(|e| panic!("{e}"));
    Store::compact(dir.path(), StoreConfig::default(), |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let live = journals(dir.path());
    assert_eq!(live.len(), 1, "{live:?}");
    std::fs::remove_file(dir.path().join(&live[0].0)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&kept, &older).unwrap_or_else(|e| panic!("{e}"));
    let present = journals(dir.path());
    assert_eq!(present.len(), 1, "{present:?}");

    let refused = match Store::open(dir.path(), StoreConfig::default()) {
        Ok(_) => panic!("a store without its live journal opened"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("journal.log"), "{refused}");
    assert!(refused.contains(&live[0].0), "{refused}");
    assert_eq!(journals(dir.path()), present, "opening removed a journal");

    let refused = match Store::salvage(dir.path(), StoreConfig::default()) {
        Ok(report) => panic!("salvage rebuilt without the live journal: {report:?}"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("journal.log"), "{refused}");
    assert_eq!(journals(dir.path()), present, "salvage removed a journal");
}

/// The same with the live journal there but emptied or cut short: the
/// older generation's file is still all that holds the tickets.
#[test]
fn a_cut_live_journal_beside_an_older_generation_removes_nothing() {
    for keep in [0u64, 100] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        fill(dir.path(), 6);
        let older = dir.path().join("journal.log");
        let kept = dir.path().join("journal.before-compaction");
        std::fs::copy(&older, &kept).unwrap_or_else(|e| panic!("{e}"));
        Store::compact(dir.path(), StoreConfig::default(), |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let live = journals(dir.path());
        let live_path = dir.path().join(&live[0].0);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&live_path)
            .and_then(|f| f.set_len(keep))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::rename(&kept, &older).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(journals(dir.path()).len(), 2);
        let older_len = std::fs::metadata(&older).map(|m| m.len()).unwrap_or(0);

        let refused = match Store::open(dir.path(), StoreConfig::default()) {
            Ok(_) => panic!("a store with its live journal cut to {keep} bytes opened"),
            Err(e) => e.to_string(),
        };
        assert!(refused.contains("journal.log"), "{refused}");
        assert!(Store::salvage(dir.path(), StoreConfig::default()).is_err());
        assert_eq!(
            std::fs::metadata(&older).map(|m| m.len()).unwrap_or(0),
            older_len,
            "the older generation's journal was removed"
        );
    }
}

/// sled's snapshot files in `dir`'s sled directory, sorted.
fn snapshots(dir: &Path) -> Vec<String> {
    let mut found: Vec<_> = std::fs::read_dir(dir.join("sled"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("snap."))
        .collect();
    found.sort();
    found
}

/// Bytes a torn write could leave: no length, no checksum at their end.
fn torn_bytes() -> Vec<u8> {
    (0..4096u32).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn a_snapshot_torn_by_a_kill_does_not_make_the_store_unopenable() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fill(dir.path(), 5);
    // sled writes a snapshot while opening when its log moved on since the
    // last one: after a second opening there is a complete one.
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    let before = snapshots(dir.path());
    assert!(
        !before.is_empty() && before.iter().all(|n| !n.ends_with(".generating")),
        "{before:?}"
    );
    // A process killed while sled wrote its next snapshot: the torn file
    // under the name sled writes it to before renaming it, at a later log
    // position than the complete one (it sorts last, as a new one would).
    let torn = dir
        .path()
        .join("sled")
        .join("snap.7FFFFFFFFFFFFFFF.generating");
    std::fs::write(&torn, torn_bytes()).unwrap_or_else(|e| panic!("{e}"));

    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.ticket_count(), 5);
    let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.tickets, 5);
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    assert!(!torn.exists(), "the torn snapshot was left");
}

#[test]
fn a_damaged_complete_snapshot_is_still_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fill(dir.path(), 3);
    // The same bytes under a complete snapshot's name: sled renamed it, so
    // it is the snapshot of record, and damage to it is damage.
    let damaged = dir.path().join("sled").join("snap.7FFFFFFFFFFFFFFF");
    std::fs::write(&damaged, torn_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let before = snapshots(dir.path());

    let refused = match Store::open(dir.path(), StoreConfig::default()) {
        Ok(_) => panic!("a store with a damaged snapshot opened"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("damaged"), "{refused}");
    // Reported, not repaired: the damaged file is where it was.
    assert_eq!(snapshots(dir.path()), before);
    assert_eq!(
        std::fs::read(&damaged).unwrap_or_else(|e| panic!("{e}")),
        torn_bytes()
    );
}

#[test]
fn a_snapshot_being_written_by_a_live_store_is_left_alone() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fill(dir.path(), 2);
    let live = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    // A torn snapshot beside a store that is open: only a holder of sled's
    // lock may judge sled's files, and the live store holds it.
    let writing = dir
        .path()
        .join("sled")
        .join("snap.7FFFFFFFFFFFFFFF.generating");
    std::fs::write(&writing, torn_bytes()).unwrap_or_else(|e| panic!("{e}"));

    let refused = match Store::open(dir.path(), StoreConfig::default()) {
        Ok(_) => panic!("a second store opened beside a live one"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("in use"), "{refused}");
    assert!(writing.exists(), "a live store's snapshot was removed");
    std::fs::remove_file(&writing).unwrap_or_else(|e| panic!("{e}"));
    live.shutdown().unwrap_or_else(|e| panic!("{e}"));
}
