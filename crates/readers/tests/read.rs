//! End-to-end tests of `Reader` on JSONL, CSV and XLSX files made at test time.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use hotline_readers::{Error, FieldMap, Format, ImportRow, Reader, RowError, TARGET_FIELDS};

fn dt(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    path
}

fn read_all(path: &Path, map: &FieldMap) -> (Vec<ImportRow>, Vec<RowError>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for item in Reader::open(path, None, map).unwrap() {
        match item {
            Ok(r) => good.push(r),
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}

fn map_of(pairs: &[&str]) -> FieldMap {
    let mut map = FieldMap::new();
    for p in pairs {
        map.parse_pair(p).unwrap();
    }
    map
}

fn field(e: &RowError) -> Option<&str> {
    e.field.as_deref()
}

#[test]
fn jsonl_keeps_good_lines_and_reports_each_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = Vec::new();
    data.extend_from_slice(
        "{\"external_id\": 12345, \"received_at\": \"2019/11/10 18:59:24\", \"title\": \"小区路灯不亮\", \"text\": \"朝阳区某小区路灯坏了一周\", \"kind\": \"投诉\", \"district\": \"朝阳区\", \"resolved\": true}\n"
            .as_bytes(),
    ); // 1 good
    data.extend_from_slice(b"\n"); // 2 blank
    data.extend_from_slice(b"{\"text\": \"unterminated\"\n"); // 3 bad JSON
    data.extend_from_slice(b"{\"text\": \"\xff\xfe bad bytes\"}\n"); // 4 invalid UTF-8
    data.extend_from_slice("{\"title\": \"没有内容\"}\n".as_bytes()); // 5 missing text
    data.extend_from_slice(
        "{\"text\": \"噪音扰民\", \"received_at\": \"2019-13-45\"}\n".as_bytes(),
    ); // 6 unreadable date
    data.extend_from_slice("{\"text\": \"噪音扰民\", \"kind\": \"抱怨\"}\n".as_bytes()); // 7 bad kind
    data.extend_from_slice(
        "{\"text\": \"  供暖不热 \\u0000 \", \"received_at\": null, \"kind\": \"Complaint\"}\n"
            .as_bytes(),
    ); // 8 good, undated
    data.extend_from_slice(b"[1, 2]\n"); // 9 not an object
    data.extend_from_slice(b"{\"text\": \"   \"}\n"); // 10 blank text
    data.extend_from_slice(b"{\"text\": \"ok\", \"title\": {\"a\": 1}}\n"); // 11 nested
    data.extend_from_slice(b"{\"text\": \"crlf line\", \"contacted\": \"\xe6\x98\xaf\"}\r\n"); // 12 good
    data.extend_from_slice(b"{\"text\": \"x\", \"caller_phone\": \"none\"}\n"); // 13 phone
    data.extend_from_slice(
        "{\"text\": \"老旧小区加装电梯\", \"received_at\": \"1899-12-31\"}".as_bytes(),
    ); // 14 out of range, no final newline
    let path = write_file(dir.path(), "t.jsonl", &data);

    let (good, bad) = read_all(&path, &FieldMap::new());
    let good_lines: Vec<u64> = good.iter().map(|r| r.line).collect();
    assert_eq!(good_lines, vec![1, 8, 12]);

    let first = &good[0];
    assert_eq!(first.external_id.as_deref(), Some("12345"));
    assert_eq!(first.received_at, Some(dt("2019-11-10 18:59:24")));
    assert_eq!(first.title.as_deref(), Some("小区路灯不亮"));
    assert_eq!(first.kind.as_deref(), Some("投诉"));
    assert_eq!(first.district.as_deref(), Some("朝阳区"));
    assert_eq!(first.resolved, Some(true));
    assert_eq!(good[1].text, "供暖不热");
    assert_eq!(good[1].received_at, None);
    assert_eq!(good[1].kind.as_deref(), Some("投诉"));
    assert_eq!(good[2].text, "crlf line");
    assert_eq!(good[2].contacted, Some(true));

    let summary: Vec<(u64, Option<&str>)> = bad.iter().map(|e| (e.line, field(e))).collect();
    assert_eq!(
        summary,
        vec![
            (3, None),
            (4, None),
            (5, Some("text")),
            (6, Some("received_at")),
            (7, Some("kind")),
            (9, None),
            (10, Some("text")),
            (11, Some("title")),
            (13, Some("caller_phone")),
            (14, Some("received_at")),
        ]
    );
    assert!(bad[0].reason.starts_with("invalid JSON"), "{}", bad[0]);
    assert!(bad[1].reason.contains("UTF-8"), "{}", bad[1]);
    assert_eq!(bad[2].to_string(), "line 5, field text: missing text");
    assert_eq!(
        bad[3].to_string(),
        "line 6, field received_at: cannot read date '2019-13-45'"
    );
    assert!(bad[4].reason.contains("抱怨"), "{}", bad[4]);
    assert!(bad[5].reason.contains("object"), "{}", bad[5]);
    assert!(bad[9].reason.contains("out of range"), "{}", bad[9]);
}

#[test]
fn jsonl_real_export_shapes_with_map() {
    // Keys as in the real message dump: id, src, src_id, time, title, text, src_label.
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"id": "m1", "src": "demo", "src_id": "1", "time": "2019/11/10 18:59:24", "title": "路面坑洼", "text": "西城区某路段路面坑洼", "src_label": "城乡建设"}"#,
        r#"{"id": "m2", "src": "demo", "src_id": "2", "time": "2019/2/28 11:25:05", "title": "噪音", "text": "夜间施工噪音", "src_label": null}"#,
        r#"{"id": "m3", "src": "demo", "src_id": "3", "time": "2019/2/8 1:25:05", "title": "停水", "text": "小区停水两天", "src_label": null}"#,
        r#"{"id": "m4", "src": "demo", "src_id": "4", "time": "2019-08-22", "title": "公交", "text": "公交车晚点严重", "src_label": null}"#,
        r#"{"id": "m5", "src": "demo", "src_id": "5", "time": null, "title": "供暖", "text": "暖气不热", "src_label": null}"#,
        r#"{"id": "m6", "src": "demo", "src_id": "6", "time": "2019-08-22 00:00:00", "title": "垃圾", "text": "垃圾清运不及时", "src_label": null}"#,
        r#"{"id": "m7", "src": "demo", "src_id": "7", "time": "2020年8月27日 10:05", "title": "绿化", "text": "树木遮挡路灯", "src_label": null}"#,
    ];
    let path = write_file(dir.path(), "real.ndjson", lines.join("\n").as_bytes());
    let map = map_of(&["external_id=id", "received_at=time"]);
    let (good, bad) = read_all(&path, &map);
    assert!(bad.is_empty(), "{bad:?}");
    let got: Vec<(Option<&str>, Option<NaiveDateTime>)> = good
        .iter()
        .map(|r| (r.external_id.as_deref(), r.received_at))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("m1"), Some(dt("2019-11-10 18:59:24"))),
            (Some("m2"), Some(dt("2019-02-28 11:25:05"))),
            (Some("m3"), Some(dt("2019-02-08 01:25:05"))),
            (Some("m4"), Some(dt("2019-08-22 00:00:00"))),
            (Some("m5"), None),
            (Some("m6"), Some(dt("2019-08-22 00:00:00"))),
            (Some("m7"), Some(dt("2020-08-27 10:05:00"))),
        ]
    );
    assert_eq!(good[0].title.as_deref(), Some("路面坑洼"));
    // Without the map, `id` and `time` are not recognised.
    let (plain, _) = read_all(&path, &FieldMap::new());
    assert!(plain
        .iter()
        .all(|r| r.external_id.is_none() && r.received_at.is_none()));
}

#[test]
fn csv_with_english_headers_reads_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let header = TARGET_FIELDS.join(",");
    let row = [
        "BJ-001",
        "2020-08-27T10:00:00+08:00",
        "楼道灯不亮",
        "\"东城区某小区3号楼楼道灯坏了,\n晚上很黑\"",
        "电话",
        "求助",
        "一般",
        "王先生",
        "138-0000-0000",
        "东城区某街道某小区3号楼",
        "东城区",
        "street-lighting",
        "东城区城管委",
        "2020-08-27 11:00",
        "已联系",
        "未解决",
        "2020/8/28 09:30:00",
        "20200829",
        "有效",
        "比较满意",
        "2020年8月30日",
        "东华门街道",
    ];
    let body = format!(
        "\u{feff}{header}\n{}\n,,,,\nBJ-002,,,only text\n",
        row.join(",")
    );
    let path = write_file(dir.path(), "en.csv", body.as_bytes());
    let reader = Reader::open(&path, None, &FieldMap::new()).unwrap();
    assert_eq!(reader.format(), Format::Csv);
    assert_eq!(reader.column("external_id"), Some("external_id"));
    assert_eq!(reader.columns().len(), TARGET_FIELDS.len());
    let rows: Vec<_> = reader.collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let r = rows[0].as_ref().unwrap();
    assert_eq!(r.line, 2);
    assert_eq!(r.external_id.as_deref(), Some("BJ-001"));
    assert_eq!(r.received_at, Some(dt("2020-08-27 10:00:00")));
    assert_eq!(r.text, "东城区某小区3号楼楼道灯坏了,\n晚上很黑");
    assert_eq!(r.channel.as_deref(), Some("电话"));
    assert_eq!(r.kind.as_deref(), Some("求助"));
    assert_eq!(r.urgency.as_deref(), Some("general"));
    assert_eq!(r.caller_name.as_deref(), Some("王先生"));
    assert_eq!(r.caller_phone.as_deref(), Some("138-0000-0000"));
    assert_eq!(r.address.as_deref(), Some("东城区某街道某小区3号楼"));
    assert_eq!(r.district.as_deref(), Some("东城区"));
    assert_eq!(r.topic.as_deref(), Some("street-lighting"));
    assert_eq!(r.department.as_deref(), Some("东城区城管委"));
    assert_eq!(r.dispatched_at, Some(dt("2020-08-27 11:00:00")));
    assert_eq!(r.contacted, Some(true));
    assert_eq!(r.resolved, Some(false));
    assert_eq!(r.feedback_at, Some(dt("2020-08-28 09:30:00")));
    assert_eq!(r.callback_at, Some(dt("2020-08-29 00:00:00")));
    assert_eq!(r.callback_valid, Some(true));
    assert_eq!(r.satisfaction.as_deref(), Some("基本满意"));
    assert_eq!(r.closed_at, Some(dt("2020-08-30 00:00:00")));
    assert_eq!(r.street.as_deref(), Some("东华门街道"));
    // The quoted text spans lines 2-3, the blank record is line 4.
    let second = rows[1].as_ref().unwrap();
    assert_eq!((second.line, second.text.as_str()), (5, "only text"));
    assert_eq!(second.received_at, None);
}

#[test]
fn csv_with_chinese_headers() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(
        "工单编号, 受理时间 ,标题,诉求内容,所属区,地址,诉求类型,是否联系,是否解决,满意度,备注\n"
            .as_bytes(),
    );
    body.extend_from_slice(
        "2020082700001,2020/8/27 9:15:00,噪音扰民,海淀区某工地夜间施工噪音大,海淀区,海淀区某路,投诉,是,是,满意,\n"
            .as_bytes(),
    ); // 2
    body.extend_from_slice("2020082700002,2020-08-27,,咨询社保卡办理地点\n".as_bytes()); // 3 ragged
    body.extend_from_slice("2020082700003,2020-08-27,,".as_bytes());
    body.extend_from_slice(b"\xc4\xfa\xba\xc3\n"); // 4: GBK bytes in the text column
    body.extend_from_slice("2020082700004,2020-08-27,,停车难,,,,,,很好\n".as_bytes()); // 5 bad satisfaction
    body.extend_from_slice("2020082700005,明天,,停车难\n".as_bytes()); // 6 bad date
    body.extend_from_slice("2020082700006,,,,朝阳区\n".as_bytes()); // 7 no text
    body.extend_from_slice(
        "2020082700007,2020年8月28日,,小区垃圾分类,丰台区,,建议,否,否,不满意\n".as_bytes(),
    ); // 8
    let path = write_file(dir.path(), "zh.csv", &body);
    let reader = Reader::open(&path, None, &FieldMap::new()).unwrap();
    assert_eq!(reader.column("received_at"), Some("受理时间"));
    assert_eq!(reader.column("text"), Some("诉求内容"));
    assert_eq!(reader.column("channel"), None);
    let (good, bad): (Vec<_>, Vec<_>) = reader.partition(Result::is_ok);
    let good: Vec<ImportRow> = good.into_iter().map(Result::unwrap).collect();
    let bad: Vec<RowError> = bad.into_iter().map(Result::unwrap_err).collect();

    assert_eq!(
        good.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![2, 3, 8]
    );
    let r = &good[0];
    assert_eq!(r.external_id.as_deref(), Some("2020082700001"));
    assert_eq!(r.received_at, Some(dt("2020-08-27 09:15:00")));
    assert_eq!(r.title.as_deref(), Some("噪音扰民"));
    assert_eq!(r.district.as_deref(), Some("海淀区"));
    assert_eq!(r.address.as_deref(), Some("海淀区某路"));
    assert_eq!(r.kind.as_deref(), Some("投诉"));
    assert_eq!(r.contacted, Some(true));
    assert_eq!(r.resolved, Some(true));
    assert_eq!(r.satisfaction.as_deref(), Some("满意"));
    assert_eq!(good[1].title, None);
    assert_eq!(good[1].kind, None);
    assert_eq!(good[2].satisfaction.as_deref(), Some("不满意"));
    assert_eq!(good[2].kind.as_deref(), Some("建议"));

    let summary: Vec<(u64, Option<&str>)> = bad.iter().map(|e| (e.line, field(e))).collect();
    assert_eq!(
        summary,
        vec![
            (4, Some("text")),
            (5, Some("satisfaction")),
            (6, Some("received_at")),
            (7, Some("text")),
        ]
    );
    assert!(bad[0].reason.contains("UTF-8"));
    assert_eq!(
        bad[2].to_string(),
        "line 6, field received_at: cannot read date '明天'"
    );
}

#[test]
fn map_overrides_win_over_names_and_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let body = "ID,time,text,content,内容\nA1,2019/2/28 11:25:05,wrong,right,also wrong\n";
    let path = write_file(dir.path(), "m.csv", body.as_bytes());
    // `id` matches the header `ID` ignoring case.
    let map = map_of(&["external_id=id", "received_at=time", "text = content"]);
    let reader = Reader::open(&path, None, &map).unwrap();
    assert_eq!(reader.column("external_id"), Some("ID"));
    assert_eq!(reader.column("text"), Some("content"));
    let rows: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(rows[0].external_id.as_deref(), Some("A1"));
    assert_eq!(rows[0].received_at, Some(dt("2019-02-28 11:25:05")));
    assert_eq!(rows[0].text, "right");

    // A mapped source is not used for another target by alias: 标题 feeds text only.
    let body = "标题,诉求标题\n正文在这里,真正的标题\n";
    let path = write_file(dir.path(), "m2.csv", body.as_bytes());
    let map = map_of(&["text=标题"]);
    let rows: Vec<_> = Reader::open(&path, None, &map)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows[0].text, "正文在这里");
    assert_eq!(rows[0].title.as_deref(), Some("真正的标题"));
}

#[test]
fn bad_map_specs() {
    let mut map = FieldMap::new();
    let err = map.parse_pair("colour=颜色").unwrap_err();
    assert!(matches!(err, Error::Map(_)));
    let msg = err.to_string();
    assert!(msg.contains("colour"), "{msg}");
    for t in TARGET_FIELDS {
        assert!(msg.contains(t), "{msg} lacks {t}");
    }
    assert!(matches!(map.parse_pair("text"), Err(Error::Map(_))));
    assert!(matches!(map.parse_pair("text= "), Err(Error::Map(_))));
    assert!(map.is_empty());
    map.parse_pair("Received_At=when").unwrap();
    assert_eq!(map.get("received_at"), Some("when"));

    // A mapped source column that is not in the header.
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "x.csv",
        "text,time\nhello,2020-01-01\n".as_bytes(),
    );
    let err = Reader::open(&path, None, &map).unwrap_err();
    match &err {
        Error::Format { message, .. } => assert!(message.contains("'when'"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn csv_without_text_column_lists_headers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "no_text.csv",
        "工单编号,受理时间,备注\n1,2020-01-01,x\n".as_bytes(),
    );
    let err = Reader::open(&path, None, &FieldMap::new()).unwrap_err();
    let Error::Format { message, .. } = &err else {
        panic!("{err:?}")
    };
    for h in ["工单编号", "受理时间", "备注"] {
        assert!(message.contains(h), "{message}");
    }
    assert!(err.to_string().contains("no_text.csv"));

    let empty = write_file(dir.path(), "empty.csv", b"");
    assert!(matches!(
        Reader::open(&empty, None, &FieldMap::new()),
        Err(Error::Format { .. })
    ));
    let gbk_header = write_file(dir.path(), "gbk.csv", b"\xc4\xda\xc8\xdd\n1\n");
    assert!(matches!(
        Reader::open(&gbk_header, None, &FieldMap::new()),
        Err(Error::Format { .. })
    ));
}

#[test]
fn open_errors_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    assert!(matches!(
        Reader::open(&missing, None, &FieldMap::new()),
        Err(Error::Io { .. })
    ));
    let odd = write_file(dir.path(), "tickets.txt", b"text\nhello\n");
    assert!(matches!(
        Reader::open(&odd, None, &FieldMap::new()),
        Err(Error::Format { .. })
    ));
    let rows: Vec<_> = Reader::open(&odd, Some(Format::Csv), &FieldMap::new())
        .unwrap()
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        Format::from_path(Path::new("a/B.JSONL")),
        Some(Format::Jsonl)
    );
    assert_eq!(
        Format::from_path(Path::new("a.ndjson")),
        Some(Format::Jsonl)
    );
    assert_eq!(Format::from_path(Path::new("a.json")), Some(Format::Jsonl));
    assert_eq!(Format::from_path(Path::new("a.csv")), Some(Format::Csv));
    assert_eq!(Format::from_path(Path::new("a.xlsx")), Some(Format::Xlsx));
    assert_eq!(Format::from_path(Path::new("a.xls")), None);
    assert_eq!("CSV".parse::<Format>().unwrap(), Format::Csv);
    assert!("tsv".parse::<Format>().is_err());
}

#[test]
fn csv_with_ten_thousand_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::new();
    let headers: Vec<String> = (0..9_999).map(|i| format!("c{i}")).collect();
    body.push_str(&headers.join(","));
    body.push_str(",诉求内容\n");
    let cells = vec!["v"; 9_999].join(",");
    for i in 0..200 {
        body.push_str(&cells);
        body.push_str(&format!(",第{i}条\n"));
    }
    let path = write_file(dir.path(), "wide.csv", body.as_bytes());
    let start = std::time::Instant::now();
    let rows: Vec<_> = Reader::open(&path, None, &FieldMap::new())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 200);
    assert_eq!(rows[199].text, "第199条");
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());

    // Without a text column the error lists the first headers, not all 10,000.
    let body = format!("{}\n", headers.join(","));
    let path = write_file(dir.path(), "wide_no_text.csv", body.as_bytes());
    let err = Reader::open(&path, None, &FieldMap::new()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("'c0'") && msg.contains("9949 more"), "{msg}");
    assert!(msg.len() < 2_000);
}

#[test]
fn text_length_limit() {
    let dir = tempfile::tempdir().unwrap();
    let at_limit = "啊".repeat(100_000); // 300 KB of one character
    let over = "啊".repeat(100_001);
    let megabyte = "x".repeat(1 << 20); // a 1 MB line of one character
    let body = format!(
        "{{\"text\": \"{at_limit}\"}}\n{{\"text\": \"{over}\"}}\n{{\"text\": \"{megabyte}\"}}\n{{\"text\": \"next\"}}\n{{\"text\": \"short\", \"title\": \"{megabyte}\"}}\n"
    );
    let path = write_file(dir.path(), "long.jsonl", body.as_bytes());
    let rows: Vec<_> = Reader::open(&path, None, &FieldMap::new())
        .unwrap()
        .collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].as_ref().unwrap().text.chars().count(), 100_000);
    let e = rows[1].as_ref().unwrap_err();
    assert_eq!((e.line, field(e)), (2, Some("text")));
    assert!(e.reason.starts_with("text too long"), "{e}");
    let e = rows[2].as_ref().unwrap_err();
    assert_eq!((e.line, field(e)), (3, Some("text")));
    assert_eq!(rows[3].as_ref().unwrap().text, "next");
    // A 1 MB title is refused too: the short fields have their own limits.
    let e = rows[4].as_ref().unwrap_err();
    assert_eq!((e.line, field(e)), (5, Some("title")), "{e}");

    // Same limit in CSV.
    let body = format!("text\n{at_limit}\n{over}\n");
    let path = write_file(dir.path(), "long.csv", body.as_bytes());
    let rows: Vec<_> = Reader::open(&path, None, &FieldMap::new())
        .unwrap()
        .collect();
    assert!(rows[0].is_ok());
    assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
}

mod xlsx {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};

    #[test]
    fn chinese_headers_dates_and_a_bad_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.xlsx");
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let headers = [
            "工单编号",
            "受理时间",
            "标题",
            "诉求内容",
            "区县",
            "是否解决",
            "联系电话",
            "回访时间",
        ];
        for (c, h) in headers.iter().enumerate() {
            ws.write_string(0, u16::try_from(c).unwrap(), *h).unwrap();
        }
        let date_format = XFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        // Row 2: a real date cell, numeric id and phone, boolean cell.
        ws.write_number(1, 0, 2_020_082_700_001.0).unwrap();
        let when = ExcelDateTime::from_ymd(2020, 8, 27)
            .unwrap()
            .and_hms(10, 5, 0)
            .unwrap();
        ws.write_datetime_with_format(1, 1, &when, &date_format)
            .unwrap();
        ws.write_string(1, 2, "供暖不热").unwrap();
        ws.write_string(1, 3, "通州区某小区暖气温度不达标").unwrap();
        ws.write_string(1, 4, "通州区").unwrap();
        ws.write_boolean(1, 5, true).unwrap();
        ws.write_number(1, 6, 13_800_000_000.0).unwrap();
        ws.write_number(1, 7, 44_072.5).unwrap(); // serial 2020-08-29 12:00
                                                  // Row 3: a text date that cannot be read -> bad row.
        ws.write_string(2, 0, "B2").unwrap();
        ws.write_string(2, 1, "上周五").unwrap();
        ws.write_string(2, 3, "路灯不亮").unwrap();
        // Row 4: empty. Row 5: a string date, a yes/no in Chinese.
        ws.write_string(4, 0, "B3").unwrap();
        ws.write_string(4, 1, "2019/2/28 11:25:05").unwrap();
        ws.write_string(4, 3, "  小区门口积水  ").unwrap();
        ws.write_string(4, 5, "否").unwrap();
        // Row 6: no text.
        ws.write_string(5, 0, "B4").unwrap();
        wb.save(&path).unwrap();

        let reader = Reader::open(&path, None, &FieldMap::new()).unwrap();
        assert_eq!(reader.format(), Format::Xlsx);
        assert_eq!(reader.column("district"), Some("区县"));
        let rows: Vec<_> = reader.collect();
        assert_eq!(rows.len(), 4, "{rows:?}");
        let r = rows[0].as_ref().unwrap();
        assert_eq!(r.line, 2);
        assert_eq!(r.external_id.as_deref(), Some("2020082700001"));
        assert_eq!(r.received_at, Some(dt("2020-08-27 10:05:00")));
        assert_eq!(r.title.as_deref(), Some("供暖不热"));
        assert_eq!(r.district.as_deref(), Some("通州区"));
        assert_eq!(r.resolved, Some(true));
        assert_eq!(r.caller_phone.as_deref(), Some("13800000000"));
        assert_eq!(r.callback_at, Some(dt("2020-08-29 12:00:00")));
        let e = rows[1].as_ref().unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3, field received_at: cannot read date '上周五'"
        );
        let r = rows[2].as_ref().unwrap();
        assert_eq!(r.line, 5);
        assert_eq!(r.text, "小区门口积水");
        assert_eq!(r.received_at, Some(dt("2019-02-28 11:25:05")));
        assert_eq!(r.resolved, Some(false));
        let e = rows[3].as_ref().unwrap_err();
        assert_eq!((e.line, field(e)), (6, Some("text")));
    }

    #[test]
    fn header_not_in_first_row_and_map() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offset.xlsx");
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(2, 1, "id").unwrap();
        ws.write_string(2, 2, "正文").unwrap();
        ws.write_string(3, 1, "X-1").unwrap();
        ws.write_string(3, 2, "公园厕所缺纸").unwrap();
        wb.save(&path).unwrap();
        let map = map_of(&["text=正文", "external_id=id"]);
        let rows: Vec<_> = Reader::open(&path, None, &map)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 4);
        assert_eq!(rows[0].external_id.as_deref(), Some("X-1"));
        // Without the map there is no text column.
        assert!(matches!(
            Reader::open(&path, None, &FieldMap::new()),
            Err(Error::Format { .. })
        ));
    }

    #[test]
    fn too_wide_sheet_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.xlsx");
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "text").unwrap();
        ws.write_string(1, 0, "hello").unwrap();
        ws.write_string(1, 250, "far away").unwrap();
        wb.save(&path).unwrap();
        let err = Reader::open(&path, None, &FieldMap::new()).unwrap_err();
        assert!(err.to_string().contains("columns"), "{err}");
    }

    #[test]
    fn not_a_workbook() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "fake.xlsx", b"text\nhello\n");
        assert!(matches!(
            Reader::open(&path, None, &FieldMap::new()),
            Err(Error::Format { .. })
        ));
        let path = dir.path().join("empty.xlsx");
        let mut wb = Workbook::new();
        wb.add_worksheet();
        wb.save(&path).unwrap();
        assert!(matches!(
            Reader::open(&path, None, &FieldMap::new()),
            Err(Error::Format { .. })
        ));
    }
}

#[test]
fn reader_is_send_and_bom_is_skipped() {
    fn assert_send<T: Send>() {}
    assert_send::<Reader>();
    assert_send::<Error>();
    assert_send::<RowError>();

    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "bom.jsonl",
        "\u{feff}{\"text\": \"第一行\", \"诉求类型\": \"建议\", \"紧急程度\": \"水电气热\"}\n"
            .as_bytes(),
    );
    let rows: Vec<_> = Reader::open(&path, None, &FieldMap::new())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows[0].text, "第一行");
    assert_eq!(rows[0].kind.as_deref(), Some("建议"));
    assert_eq!(rows[0].urgency.as_deref(), Some("utilities"));
}
