//! Batch import of the shipped fixtures: good rows kept, bad rows reported
//! with their line, re-import adds nothing.

use std::path::PathBuf;

use hotline::import::{run, ImportOptions};
use hotline_readers::FieldMap;
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
        limits: Default::default(),
        files: vec![
            fixture("tickets.jsonl"),
            fixture("tickets_zh.csv"),
            fixture("tickets_zh.xlsx"),
        ],
        format: None,
        map: FieldMap::new(),
        report: report.clone(),
        quiet: true,
        progress_every: std::time::Duration::from_secs(5),
    };
    let first = run(&state, &options).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(first.imported, 12 + 8 + 8);
    assert_eq!(first.rejected, 3 + 2 + 2);
    let lines = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}"));
    for expected in [
        "tickets.jsonl\t4\t",
        "tickets.jsonl\t8\ttext",
        "tickets.jsonl\t12\treceived_at",
        "tickets_zh.csv\t8\ttext",
        "tickets_zh.csv\t10\treceived_at",
        "tickets_zh.xlsx\t7\ttext",
        "tickets_zh.xlsx\t9\treceived_at",
    ] {
        assert!(lines.contains(expected), "{expected} missing from\n{lines}");
    }
    let second = run(&state, &options).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!((second.imported, second.duplicates), (0, 28));
    assert_eq!(state.store.ticket_count(), 28);
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
        28
    );
}

#[test]
fn an_interrupted_import_run_again_loses_nothing_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let options = |files: Vec<PathBuf>| ImportOptions {
        limits: Default::default(),
        files,
        format: None,
        map: FieldMap::new(),
        report: dir.path().join("rejects.tsv"),
        quiet: true,
        progress_every: std::time::Duration::from_secs(5),
    };
    // The first run stops part-way: it only got the first half of the file.
    let full = std::fs::read_to_string(fixture("tickets.jsonl")).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = full.lines().collect();
    let half = dir.path().join("half.jsonl");
    std::fs::write(&half, lines[..lines.len() / 2].join("\n")).unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(&data);
    let partial = run(&state, &options(vec![half])).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(partial.imported > 0 && partial.imported < 12);
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);
    // Run again on the whole file, as an operator would after the interruption.
    let state = state_in(&data);
    let resumed =
        run(&state, &options(vec![fixture("tickets.jsonl")])).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(resumed.duplicates, partial.imported);
    assert_eq!(partial.imported + resumed.imported, 12);
    assert_eq!(state.store.ticket_count(), 12);
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
}

/// Into an empty store the import does not look rows up before analysing
/// them; a row repeated within the file (or in a second file of the same
/// run) is still stored once.
#[test]
fn rows_repeated_within_a_first_import_are_stored_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(&dir.path().join("data"));
    let file = dir.path().join("twice.jsonl");
    let row = |id: &str, text: &str| format!(r#"{{"external_id":"{id}","text":"{text}"}}"#);
    let lines = [
        row("A-1", "小区门口的电动自行车充电桩坏了"),
        row("A-2", "公园厕所无人打扫"),
        row("A-1", "小区门口的电动自行车充电桩坏了"),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap_or_else(|e| panic!("{e}"));
    let options = ImportOptions {
        limits: Default::default(),
        files: vec![file.clone(), file],
        format: None,
        map: FieldMap::new(),
        report: dir.path().join("rejects.tsv"),
        quiet: true,
        progress_every: std::time::Duration::from_secs(5),
    };
    let summary = run(&state, &options).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!((summary.imported, summary.duplicates), (2, 4));
    assert_eq!(state.store.ticket_count(), 2);
}
