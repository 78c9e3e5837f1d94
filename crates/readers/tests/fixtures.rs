//! Checks the workspace's committed import fixtures (tests/fixtures/import)
//! against what their README says.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use hotline_readers::{FieldMap, Reader};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(name)
}

fn split(name: &str) -> (Vec<u64>, Vec<(u64, Option<String>)>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for item in Reader::open(&fixture(name), None, &FieldMap::new()).unwrap() {
        match item {
            Ok(r) => good.push(r.line),
            Err(e) => bad.push((e.line, e.field)),
        }
    }
    (good, bad)
}

#[test]
fn tickets_jsonl_matches_readme() {
    let (good, bad) = split("tickets.jsonl");
    assert_eq!(good, vec![1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15]);
    assert_eq!(
        bad,
        vec![
            (4, None),
            (8, Some("text".to_string())),
            (12, Some("received_at".to_string())),
        ]
    );
}

#[test]
fn tickets_zh_csv_matches_readme() {
    let (good, bad) = split("tickets_zh.csv");
    assert_eq!(good, vec![2, 3, 4, 6, 7, 9, 11, 12]);
    assert_eq!(
        bad,
        vec![
            (8, Some("text".to_string())),
            (10, Some("received_at".to_string())),
        ]
    );
}
