//! XLSX memory is bounded (issue 15, defect 9): a workbook that expands far
//! beyond its size is refused at open, naming the file, without expanding
//! it in memory; a large sheet within the caps is read row by row, not
//! buffered whole. One test per binary would be cleaner for the peak
//! measure; the tests here run one after the other (a lock), so the peak of
//! one is not the other's.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use hotline_readers::{Error, FieldMap, Limits, Reader};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// This process's peak resident memory (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

const MB: u64 = 1024 * 1024;

/// A workbook of `rows` rows, each with an id and a text of `text_bytes`
/// bytes (inline strings), written through deflate without ever holding
/// the sheet: highly repetitive, so the file is a small fraction of it.
fn big_workbook(path: &Path, rows: u64, text_bytes: usize, dimension: &str) {
    use zip::write::SimpleFileOptions;
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    for (name, text) in [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ] {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    write!(zip, r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>text</t></is></c></row>"#).unwrap();
    // 路灯坏了 is 12 bytes.
    let text = "路灯坏了".repeat(text_bytes / 12);
    for r in 2..rows + 2 {
        write!(
            zip,
            r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}" t="inlineStr"><is><t>{text}</t></is></c></row>"#
        )
        .unwrap();
    }
    zip.write_all(b"</sheetData></worksheet>").unwrap();
    zip.finish().unwrap();
}

#[test]
fn a_workbook_that_expands_past_the_cap_is_refused_at_open_without_expanding_it() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xlsx");
    // About 400 MB of sheet XML in a file of a few MB.
    big_workbook(&path, 100_000, 4_000, "A1:B2");
    let file_size = std::fs::metadata(&path).unwrap().len();
    assert!(file_size < 20 * MB, "{file_size}");
    let before = peak_rss();
    let limits = Limits {
        xlsx_max_uncompressed_bytes: 64 * MB,
        ..Limits::default()
    };
    let err = Reader::open_with_limits(&path, None, &FieldMap::new(), limits).unwrap_err();
    let grown = peak_rss().saturating_sub(before);
    match &err {
        Error::Format { path: p, message } => {
            assert_eq!(p, &path);
            assert!(message.contains("uncompressed"), "{message}");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("bomb.xlsx"), "{err}");
    assert!(grown < 48 * MB, "refusing took {} MB", grown / MB);
}

#[test]
fn a_sheet_with_more_cells_than_the_cap_is_refused_at_open() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cells.xlsx");
    // 30,000 rows of two cells whose dimension claims two rows.
    big_workbook(&path, 30_000, 12, "A1:B2");
    let limits = Limits {
        xlsx_max_cells: 50_000,
        ..Limits::default()
    };
    let err = Reader::open_with_limits(&path, None, &FieldMap::new(), limits).unwrap_err();
    assert!(err.to_string().contains("cells.xlsx"), "{err}");
    assert!(err.to_string().contains("cells"), "{err}");
    // Within the cap, every row is read.
    let rows = Reader::open(&path, None, &FieldMap::new()).unwrap().count();
    assert_eq!(rows, 30_000);
}

#[test]
fn a_large_sheet_within_the_caps_is_read_row_by_row() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.xlsx");
    // 120 MB of text in 40,000 rows, under a dimension that lies.
    big_workbook(&path, 40_000, 3_000, "A1:B2");
    let before = peak_rss();
    let mut rows = 0u64;
    let mut last = 0;
    for row in Reader::open(&path, None, &FieldMap::new()).unwrap() {
        let row = row.unwrap();
        assert!(row.line > last);
        last = row.line;
        rows += 1;
    }
    let grown = peak_rss().saturating_sub(before);
    assert_eq!(rows, 40_000);
    assert!(
        grown < 60 * MB,
        "reading 120 MB of rows raised the peak by {} MB",
        grown / MB
    );
}
