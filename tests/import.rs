//! Batch import of the shipped fixtures: good rows kept, bad rows reported
//! with their line, re-import adds nothing.

use std::path::PathBuf;

use hotline::import::{run, ImportOptions};
use hotline_ingest::FieldMap;
use hotline_store::{GroupBy, StatsQuery};
use hotline_suite::state_in;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

#[test]
fn fixtures_import_once_and_bad_lines_are_reported() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(&dir.path().join("data"));
    let report = dir.path().join("rejects.tsv");
    let options = ImportOptions {
        files: vec![fixture("tickets.jsonl"), fixture("tickets_zh.csv")],
        format: None,
        map: FieldMap::new(),
        report: report.clone(),
        quiet: true,
    };
    let first = run(&state, &options).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(first.imported, 12 + 8);
    assert_eq!(first.rejected, 3 + 2);
    let lines = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}"));
    for expected in [
        "tickets.jsonl\t4\t",
        "tickets.jsonl\t8\ttext",
        "tickets.jsonl\t12\treceived_at",
        "tickets_zh.csv\t8\ttext",
        "tickets_zh.csv\t10\treceived_at",
    ] {
        assert!(lines.contains(expected), "{expected} missing from\n{lines}");
    }
    let second = run(&state, &options).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!((second.imported, second.duplicates), (0, 20));
    assert_eq!(state.store.ticket_count(), 20);
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
    let total = state
        .store
        .stats(&StatsQuery {
            group_by: GroupBy::Total,
            include_undated: true,
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        total[0].requests + total[0].repeats + total[0].consultations,
        20
    );
}
