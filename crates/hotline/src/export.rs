//! Statistics and search results as files: CSV (UTF-8 with a byte-order
//! mark, so Excel reads the Chinese right) or XLSX, with Chinese headers.
//! Pure: tables in, bytes out; masking is done before, by the caller.

use anyhow::{Context, Result};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hotline_classifier::Taxonomy;
use hotline_store::{GroupBy, SearchHit, StatsRow, Status};

/// The file format asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: Option<&str>) -> Option<Format> {
        match s.map(str::trim).unwrap_or("csv") {
            "csv" | "" => Some(Format::Csv),
            "xlsx" | "excel" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A rate within [0, 1]; empty when there is nothing to divide by.
    Rate(Option<f64>),
}

/// A sheet: headers and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub sheet: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// A text that a spreadsheet could read as a formula is prefixed with an
/// apostrophe: callers' texts are not to run in Excel. That is a text whose
/// first visible character is =, +, -, @ or their full-width forms (some
/// spreadsheets fold them), or that starts with a tab or a line break;
/// spaces and invisible characters before it do not hide it.
fn defuse(s: &str) -> std::borrow::Cow<'_, str> {
    if matches!(s.chars().next(), Some('\t' | '\r' | '\n')) {
        return format!("'{s}").into();
    }
    let first_visible = s
        .chars()
        .find(|c| !c.is_whitespace() && !crate::pii::is_invisible(*c));
    match first_visible {
        Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠') => format!("'{s}").into(),
        _ => s.into(),
    }
}

fn rate_text(r: Option<f64>) -> String {
    r.map_or_else(String::new, |r| format!("{:.1}%", r * 100.0))
}

/// UTF-8 with a byte-order mark, comma-separated, CRLF line ends.
pub fn to_csv(table: &Table) -> Result<Vec<u8>> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        w.write_record(&table.headers)?;
        for row in &table.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(s) => defuse(s).into_owned(),
                    Cell::Int(n) => n.to_string(),
                    Cell::Rate(r) => rate_text(*r),
                })
                .collect();
            w.write_record(&cells)?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// Excel's limit on a cell's text.
const XLSX_MAX_CHARS: usize = 32_767;

pub fn to_xlsx(table: &Table) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut book = Workbook::new();
    let bold = XFormat::new().set_bold();
    let percent = XFormat::new().set_num_format("0.0%");
    let sheet = book.add_worksheet();
    sheet.set_name(table.sheet)?;
    for (col, h) in table.headers.iter().enumerate() {
        let col = u16::try_from(col).context("too many columns")?;
        sheet.write_string_with_format(0, col, *h, &bold)?;
    }
    for (i, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(i + 1).context("too many rows")?;
        for (col, cell) in row.iter().enumerate() {
            let col = u16::try_from(col).context("too many columns")?;
            match cell {
                Cell::Text(s) => {
                    let s: String = s.chars().take(XLSX_MAX_CHARS).collect();
                    sheet.write_string(r, col, s)?;
                }
                Cell::Int(n) => {
                    sheet.write_number(r, col, *n as f64)?;
                }
                Cell::Rate(Some(v)) => {
                    sheet.write_number_with_format(r, col, *v, &percent)?;
                }
                Cell::Rate(None) => {}
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.set_autofit_max_width(400).autofit();
    Ok(book.save_to_buffer()?)
}

pub fn render(table: &Table, format: Format) -> Result<Vec<u8>> {
    match format {
        Format::Csv => to_csv(table),
        Format::Xlsx => to_xlsx(table),
    }
}

/// The file as a download: content type and `Content-Disposition: attachment`.
pub fn attachment(bytes: Vec<u8>, format: Format, stem: &str) -> Response {
    let ascii: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}.{ext}\"",
        ext = format.extension()
    );
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

fn group_header(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Topic => "专题",
        GroupBy::District => "区",
        GroupBy::Kind => "诉求类型",
        GroupBy::Day => "日期",
        GroupBy::Week => "周",
        GroupBy::Month => "月份",
        GroupBy::AssessmentMonth => "考核月",
        GroupBy::Total => "合计",
        GroupBy::Department => "承办单位",
        GroupBy::Street => "街乡镇",
    }
}

fn kind_zh(key: &str) -> String {
    hotline_store::Kind::parse(key).map_or_else(|| key.to_owned(), |k| k.zh().to_owned())
}

fn topic_name(taxonomy: &Taxonomy, slug: &str) -> String {
    match taxonomy.get(slug) {
        Some(t) => t.name.clone(),
        None if slug == hotline_classifier::OTHER => "其他".to_owned(),
        None => slug.to_owned(),
    }
}

/// The statistics as a sheet, one row per group.
pub fn stats_table(rows: &[StatsRow], by: GroupBy, taxonomy: &Taxonomy) -> Table {
    let mut headers = vec![group_header(by)];
    if by == GroupBy::Topic {
        headers.push("专题名称");
    }
    headers.extend([
        "诉求量",
        "咨询量",
        "重复诉求",
        "已派单",
        "有效回访",
        "已联系",
        "已解决",
        "满意",
        "基本满意",
        "不满意",
        "超期",
        "响应率",
        "解决率",
        "满意率",
        "派单及时率",
        "反馈及时率",
        "综合得分",
    ]);
    let rows = rows
        .iter()
        .map(|r| {
            let mut row = Vec::with_capacity(headers.len());
            match by {
                GroupBy::Topic => {
                    row.push(Cell::Text(r.key.clone()));
                    row.push(Cell::Text(topic_name(taxonomy, &r.key)));
                }
                GroupBy::Kind => row.push(Cell::Text(kind_zh(&r.key))),
                GroupBy::District if r.key == "unknown" => row.push(Cell::Text("未识别".into())),
                GroupBy::Total => row.push(Cell::Text("合计".into())),
                _ => row.push(Cell::Text(r.key.clone())),
            }
            row.extend([
                Cell::Int(r.requests),
                Cell::Int(r.consultations),
                Cell::Int(r.repeats),
                Cell::Int(r.dispatched),
                Cell::Int(r.valid_callbacks),
                Cell::Int(r.contacted),
                Cell::Int(r.resolved),
                Cell::Int(r.satisfied),
                Cell::Int(r.basically_satisfied),
                Cell::Int(r.unsatisfied),
                Cell::Int(r.overdue),
                Cell::Rate(r.response_rate),
                Cell::Rate(r.resolution_rate),
                Cell::Rate(r.satisfaction_rate),
                Cell::Rate(r.dispatch_on_time_rate),
                Cell::Rate(r.feedback_on_time_rate),
                Cell::Rate(r.composite),
            ]);
            row
        })
        .collect();
    Table {
        sheet: "统计",
        headers,
        rows,
    }
}

/// Search results as a sheet, one row per ticket (already masked when they must be).
pub fn search_table(hits: &[SearchHit], taxonomy: &Taxonomy) -> Table {
    let headers = vec![
        "工单编号",
        "外部编号",
        "受理时间",
        "区",
        "诉求类型",
        "专题",
        "专题名称",
        "承办部门",
        "状态",
        "标题",
        "诉求内容",
        "来电人",
        "联系电话",
        "地址",
        "重复于",
        "路由模型",
    ];
    let text = |s: &Option<String>| Cell::Text(s.clone().unwrap_or_default());
    let rows = hits
        .iter()
        .map(|hit| {
            let t = &hit.ticket;
            vec![
                Cell::Text(t.id.to_string()),
                text(&t.external_id),
                Cell::Text(
                    t.received_at
                        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default(),
                ),
                text(&t.district),
                Cell::Text(t.kind.zh().to_owned()),
                Cell::Text(t.topic.slug.clone()),
                Cell::Text(topic_name(taxonomy, &t.topic.slug)),
                Cell::Text(t.department.clone()),
                Cell::Text(Status::zh(t.status()).to_owned()),
                text(&t.title),
                Cell::Text(t.text.clone()),
                text(&t.caller_name),
                text(&t.caller_phone),
                text(&t.address),
                Cell::Text(t.repeat_of.map(|id| id.to_string()).unwrap_or_default()),
                text(&t.topic.model),
            ]
        })
        .collect();
    Table {
        sheet: "工单",
        headers,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            sheet: "统计",
            headers: vec!["专题", "诉求量", "解决率"],
            rows: vec![
                vec![
                    Cell::Text("电动车充电".into()),
                    Cell::Int(12),
                    Cell::Rate(Some(0.875)),
                ],
                vec![
                    Cell::Text("=HYPERLINK(\"x\")".into()),
                    Cell::Int(0),
                    Cell::Rate(None),
                ],
            ],
        }
    }

    #[test]
    fn csv_has_a_bom_and_chinese_headers() {
        let bytes = to_csv(&table()).unwrap_or_default();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap_or_default();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "专题,诉求量,解决率");
        assert_eq!(lines[1], "电动车充电,12,87.5%");
        // A formula is defused.
        assert!(lines[2].starts_with("\"'=HYPERLINK"), "{}", lines[2]);
    }

    #[test]
    fn formulas_behind_spaces_invisible_characters_or_in_full_width_are_defused() {
        for text in [
            "=1+1",
            " =1+1",
            "\u{200B}=1+1",
            "\n=1+1",
            "＝1+1",
            "＋cmd",
            "－1",
            "＠SUM(A1)",
            "\u{3000}@SUM(A1)",
        ] {
            assert!(defuse(text).starts_with('\''), "{text:?}");
        }
        for text in ["楼下饭店油烟太大", "1-2楼漏水", "电话：138****5678"] {
            assert_eq!(defuse(text), text);
        }
    }

    #[test]
    fn xlsx_is_a_zip() {
        let bytes = to_xlsx(&table()).unwrap_or_default();
        assert!(bytes.starts_with(b"PK"));
    }

    #[test]
    fn formats() {
        assert_eq!(Format::parse(None), Some(Format::Csv));
        assert_eq!(Format::parse(Some("xlsx")), Some(Format::Xlsx));
        assert_eq!(Format::parse(Some("pdf")), None);
    }
}
