//! `hotline import` as an operator runs it (issue 15, defect 14): an import
//! that rejects every row fails, and says when the file looks like GBK; its
//! most verbose log holds no caller's data.

use std::path::Path;
use std::process::{Command, Output};

fn import(data: &Path, file: &Path, report: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("--data-dir")
        .arg(data)
        .arg("import")
        .arg(file)
        .arg("--report")
        .arg(report)
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

#[test]
fn an_import_that_rejects_every_row_fails_and_names_a_gbk_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let report = dir.path().join("rejects.tsv");

    let empty_texts = dir.path().join("empty.csv");
    std::fs::write(&empty_texts, "id,text\n1,\n2,\n").unwrap_or_else(|e| panic!("{e}"));
    let out = import(&data, &empty_texts, &report);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("every row"), "{}", text(&out));
    assert!(!text(&out).contains("GBK"), "{}", text(&out));

    // 噪音扰民，晚上十点后还在施工 in GBK, under an ASCII header.
    let gbk_text: &[u8] = &[
        212, 235, 210, 244, 200, 197, 195, 241, 163, 172, 205, 237, 201, 207, 202, 174, 181, 227,
        186, 243, 187, 185, 212, 218, 202, 169, 185, 164,
    ];
    let mut gbk = b"id,text\r\n".to_vec();
    for id in 1..=3 {
        gbk.extend_from_slice(format!("{id},").as_bytes());
        gbk.extend_from_slice(gbk_text);
        gbk.extend_from_slice(b"\r\n");
    }
    let gbk_file = dir.path().join("gbk.csv");
    std::fs::write(&gbk_file, &gbk).unwrap_or_else(|e| panic!("{e}"));
    let out = import(&data, &gbk_file, &report);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("GBK"), "{}", text(&out));
    let rejects = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rejects.lines().count(), 4, "{rejects}");
    assert!(rejects.contains("gbk.csv\t4\ttext"), "{rejects}");

    // One good row among bad ones is an import that worked.
    let mixed = dir.path().join("mixed.csv");
    std::fs::write(&mixed, "id,text\n1,\n2,楼道灯坏了\n").unwrap_or_else(|e| panic!("{e}"));
    let out = import(&data, &mixed, &report);
    assert!(out.status.success(), "{}", text(&out));
}

/// `HOTLINE_LOG=trace` shows our own spans and events at every level, but
/// no other crate's below DEBUG: at TRACE, sled printed the batches it
/// applies, callers' phones among their bytes.
#[test]
fn a_trace_log_holds_no_callers_data() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rows = dir.path().join("rows.jsonl");
    std::fs::write(
        &rows,
        "{\"external_id\":\"t1\",\"text\":\"楼下饭店油烟太大\",\"caller_name\":\"王小明\",\"caller_phone\":\"13812345678\",\"received_at\":\"2024-03-01 08:00:00\"}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .env("HOTLINE_LOG", "trace")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("import")
        .arg(&rows)
        .arg("--report")
        .arg(dir.path().join("rejects.tsv"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", text(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("DEBUG") || log.contains("TRACE"),
        "the log is verbose: {log}"
    );
    // The phone as text, and as the bytes sled would print ([49, 51, 56, …]).
    let bytes = "13812345678"
        .bytes()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    for secret in ["13812345678", "王小明", bytes.as_str()] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    for line in log.lines().filter(|l| l.contains("TRACE")) {
        let target = line.split("TRACE").nth(1).unwrap_or_default();
        let target = target.trim_start_matches(|c: char| !c.is_alphanumeric());
        assert!(
            target.starts_with("hotline"),
            "another crate's trace: {line}"
        );
    }
}
