//! `hotline verify` and `hotline salvage` on a damaged journal, as an
//! operator runs them: verify reads only (the journal's bytes are the same
//! after it) and exits non-zero; salvage keeps the damaged bytes aside,
//! says what was lost, and leaves a store that verify passes.

use std::path::Path;
use std::process::{Command, Output};

use hotline_store::{
    Kind, NewTicket, Store, StoreConfig, Submitted, TopicAssignment, TopicSource, Urgency,
};

fn hotline(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ticket(i: usize) -> NewTicket {
    NewTicket {
        external_id: Some(format!("cli-{i}")),
        received_at: None,
        channel: "phone".into(),
        kind: Kind::Complaint,
        urgency: Urgency::General,
        title: None,
        text: format!("第{i}号 楼道灯坏了很久没人修 编号{i:04}"),
        caller_name: None,
        caller_phone: None,
        address: None,
        district: None,
        street: None,
        topic: TopicAssignment {
            slug: "other".into(),
            source: TopicSource::Router,
            confidence: None,
            model: None,
        },
        department: "d".into(),
        deciding_words: Vec::new(),
        index_tokens: format!("楼道 灯 w{i}"),
        history: Vec::new(),
    }
}

#[test]
fn verify_only_reads_and_salvage_repairs() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = tmp.path().join("data");
    let store = Store::open(&data, StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut ends = Vec::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        match store.submit(vec![ticket(i)]).map(|mut s| s.pop()) {
            Ok(Some(Submitted::Created(t))) => ids.push(t.id),
            other => panic!("{other:?}"),
        }
        ends.push(std::fs::metadata(data.join("journal.log")).map_or(0, |m| m.len()));
    }
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    let journal = data.join("journal.log");
    let mut bytes = std::fs::read(&journal).unwrap_or_else(|e| panic!("{e}"));
    // The third ticket's record.
    bytes[ends[1] as usize + 50] ^= 0x40;
    std::fs::write(&journal, &bytes).unwrap_or_else(|e| panic!("{e}"));

    let verify = hotline(&data, &["verify"]);
    assert!(!verify.status.success(), "{}", text(&verify));
    let out = text(&verify);
    assert!(
        out.contains(&format!("damaged at byte {}", ends[1])),
        "{out}"
    );
    assert!(out.contains(&journal.display().to_string()), "{out}");
    assert_eq!(
        std::fs::read(&journal).unwrap_or_else(|e| panic!("{e}")),
        bytes,
        "verify changed the journal"
    );

    let salvage = hotline(&data, &["salvage"]);
    let out = text(&salvage);
    assert!(salvage.status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "lost {} bytes at byte {}",
            ends[2] - ends[1],
            ends[1]
        )),
        "{out}"
    );
    assert!(out.contains(&format!("ticket lost: {}", ids[2])), "{out}");
    assert!(out.contains("kept 4 records"), "{out}");

    let verify = hotline(&data, &["verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    let kept: Vec<_> = std::fs::read_dir(&data)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".damaged-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read(kept[0].path()).unwrap_or_else(|e| panic!("{e}")),
        bytes
    );
}

/// A search index deleted: verify says so, exits non-zero and leaves it
/// missing (it said "ok" after opening the store had rebuilt it); reindex
/// rebuilds it, and verify then passes.
#[test]
fn verify_names_a_missing_index_and_does_not_rebuild_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let store = Store::open(&data, StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..3 {
        match store.submit(vec![ticket(i)]).map(|mut s| s.pop()) {
            Ok(Some(Submitted::Created(_))) => {}
            other => panic!("not created: {other:?}"),
        }
    }
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    std::fs::remove_dir_all(data.join("index")).unwrap_or_else(|e| panic!("{e}"));

    let verify = hotline(&data, &["verify"]);
    assert!(!verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("index"), "{}", text(&verify));
    assert!(!data.join("index").exists(), "verify rebuilt the index");

    let reindex = hotline(&data, &["reindex"]);
    assert!(reindex.status.success(), "{}", text(&reindex));
    let verify = hotline(&data, &["verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
}
