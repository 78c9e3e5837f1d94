//! Files as a careless operator or an attacker hands them over (issue 15,
//! defects 9 and 14): CRLF line ends, an unclosed quote, spreadsheet error
//! cells, workbooks that expand far beyond their size.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use hotline_readers::{FieldMap, ImportRow, Reader, RowError};

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn read_all(path: &Path) -> (Vec<ImportRow>, Vec<RowError>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for item in Reader::open(path, None, &FieldMap::new()).unwrap() {
        match item {
            Ok(r) => good.push(r),
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}

fn lines_of(good: &[ImportRow]) -> Vec<u64> {
    good.iter().map(|r| r.line).collect()
}

fn error_lines(bad: &[RowError]) -> Vec<u64> {
    bad.iter().map(|e| e.line).collect()
}

#[test]
fn crlf_files_report_the_lines_an_editor_shows() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "id,text,received_at\r\n\
               1,路灯坏了,2024-01-01\r\n\
               2,,2024-01-01\r\n\
               3,日期不对,2024-13-45\r\n\
               \r\n\
               4,\"两行\r\n的文字\",2024-01-02\r\n\
               5,,2024-01-01\r\n";
    let (good, bad) = read_all(&write_file(dir.path(), "crlf.csv", csv.as_bytes()));
    assert_eq!(lines_of(&good), [2, 6], "{good:?}");
    assert_eq!(good[1].text, "两行\n的文字");
    assert_eq!(error_lines(&bad), [3, 4, 8], "{bad:?}");

    let jsonl = "{\"text\": \"路灯坏了\"}\r\n{\"title\": \"没有内容\"}\r\n\r\n{\"text\": \"噪音\", \"received_at\": \"2019-13-45\"}\r\n";
    let (good, bad) = read_all(&write_file(dir.path(), "crlf.jsonl", jsonl.as_bytes()));
    assert_eq!(lines_of(&good), [1]);
    assert_eq!(error_lines(&bad), [2, 4], "{bad:?}");
}

#[test]
fn an_unclosed_quote_is_a_reject_naming_its_line_and_the_rows_after_it_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    // The quote opened on line 3 is closed by the opening quote of line 5,
    // which a lenient reader would take as one record of lines 3 to 5.
    let csv = "id,text\n1,第一行\n2,\"没有闭合\n3,第三行\n4,\"第四行\"\n";
    let (good, bad) = read_all(&write_file(dir.path(), "quote.csv", csv.as_bytes()));
    assert_eq!(lines_of(&good), [2, 4, 5], "{good:?} {bad:?}");
    assert_eq!(good[2].text, "第四行");
    assert_eq!(error_lines(&bad), [3], "{bad:?}");
    assert!(bad[0].reason.contains("quote"), "{}", bad[0]);

    // Never closed: the quote runs to the end of the file.
    let csv = "id,text\n1,第一行\n2,\"没有闭合\n3,第三行\n";
    let (good, bad) = read_all(&write_file(dir.path(), "eof.csv", csv.as_bytes()));
    assert_eq!(lines_of(&good), [2, 4], "{good:?} {bad:?}");
    assert_eq!(error_lines(&bad), [3], "{bad:?}");
    assert!(bad[0].reason.contains("quote"), "{}", bad[0]);

    // A quoted field over several lines, with escaped quotes, is one record.
    let csv = "id,text\n1,\"他说：\"\"灯坏了\"\"\n第二行, 还有逗号\"\n2,下一行\n";
    let (good, bad) = read_all(&write_file(dir.path(), "multi.csv", csv.as_bytes()));
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(lines_of(&good), [2, 4]);
    assert_eq!(good[0].text, "他说：\"灯坏了\"\n第二行, 还有逗号");
}

/// A workbook written by hand: `sheet` is the worksheet's XML, written to
/// the zip entry through `write` (so a large sheet is never held whole).
pub fn handmade_xlsx(path: &Path, write: impl FnOnce(&mut dyn Write)) {
    use zip::write::SimpleFileOptions;
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    write(&mut zip);
    zip.finish().unwrap();
}

const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

fn inline(cell: &str, text: &str) -> String {
    format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

#[test]
fn an_error_cell_in_a_date_column_is_a_reject_naming_row_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("errors.xlsx");
    handmade_xlsx(&path, |w| {
        let mut xml = String::from(SHEET_HEAD);
        xml.push_str("<sheetData>");
        xml.push_str(&format!(
            r#"<row r="1">{}{}{}</row>"#,
            inline("A1", "id"),
            inline("B1", "text"),
            inline("C1", "received_at")
        ));
        for (r, error) in [(2, "#N/A"), (3, "#VALUE!")] {
            xml.push_str(&format!(
                r#"<row r="{r}">{}{}<c r="C{r}" t="e"><v>{error}</v></c></row>"#,
                inline(&format!("A{r}"), &r.to_string()),
                inline(&format!("B{r}"), "路灯坏了一周"),
            ));
        }
        xml.push_str(&format!(
            r#"<row r="4">{}{}{}</row>"#,
            inline("A4", "4"),
            inline("B4", "噪音扰民"),
            inline("C4", "2024-03-01 08:00:00")
        ));
        xml.push_str("</sheetData></worksheet>");
        w.write_all(xml.as_bytes()).unwrap();
    });
    let (good, bad) = read_all(&path);
    assert_eq!(lines_of(&good), [4], "{good:?}");
    assert!(good[0].received_at.is_some());
    assert_eq!(error_lines(&bad), [2, 3], "{bad:?}");
    for (e, shown) in bad.iter().zip(["#N/A", "#VALUE!"]) {
        assert_eq!(e.field.as_deref(), Some("received_at"), "{e}");
        assert!(e.reason.contains(shown), "{e}");
    }
}
