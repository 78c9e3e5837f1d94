//! XLSX through calamine: the first worksheet, header in its first non-empty
//! row. Cells are streamed from the sheet XML and only the resolved columns
//! are kept, so memory grows with rows x mapped fields, not with the width of
//! the sheet.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use calamine::{DataRef, Reader as _, SheetType, Xlsx};

use crate::fields::{self, Resolver, N};
use crate::row::{self, Raw};
use crate::value;
use crate::{Error, FieldMap, ImportRow, RowError};

/// Largest declared sheet accepted (rows, columns).
pub(crate) const MAX_ROWS: u64 = 2_000_000;
pub(crate) const MAX_COLUMNS: u64 = 200;

#[derive(Debug)]
struct XRow {
    row: u32,
    /// (target, value) for the filled target fields only.
    values: Vec<(usize, Raw)>,
}

#[derive(Debug)]
pub(crate) struct XlsxSource {
    rows: std::vec::IntoIter<XRow>,
    is_1904: bool,
    trailing_error: Option<RowError>,
}

impl XlsxSource {
    pub(crate) fn open(
        path: &Path,
        file: File,
        map: &FieldMap,
        resolver: &Resolver,
    ) -> Result<(Self, Vec<String>), Error> {
        // calamine may panic on some malformed workbooks (for instance on an
        // inverted dimension in a debug build); report that as a bad file.
        match panic::catch_unwind(AssertUnwindSafe(|| load(path, file, map, resolver))) {
            Ok(result) => result,
            Err(_) => Err(Error::Format {
                path: path.to_path_buf(),
                message: "the workbook is malformed (the XLSX reader failed)".to_string(),
            }),
        }
    }

    pub(crate) fn next_row(&mut self) -> Option<Result<ImportRow, RowError>> {
        match self.rows.next() {
            Some(r) => {
                let mut values = row::empty_values();
                for (t, raw) in r.values {
                    values[t] = Some(raw);
                }
                Some(row::build_row(u64::from(r.row) + 1, values, self.is_1904))
            }
            None => self.trailing_error.take().map(Err),
        }
    }
}

fn load(
    path: &Path,
    file: File,
    map: &FieldMap,
    resolver: &Resolver,
) -> Result<(XlsxSource, Vec<String>), Error> {
    let bad = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let mut workbook: Xlsx<BufReader<File>> = Xlsx::new(BufReader::new(file))
        .map_err(|e| bad(format!("cannot open the workbook: {e}")))?;
    let is_1904 = workbook.has_1904_epoch();
    let sheet = workbook
        .sheets_metadata()
        .iter()
        .find(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .ok_or_else(|| bad("the workbook has no worksheet".to_string()))?;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(|e| bad(format!("cannot read sheet '{sheet}': {e}")))?;

    let dims = cells.dimensions();
    let height = u64::from(dims.end.0).saturating_sub(u64::from(dims.start.0)) + 1;
    let width = u64::from(dims.end.1).saturating_sub(u64::from(dims.start.1)) + 1;
    if height > MAX_ROWS || width > MAX_COLUMNS {
        return Err(bad(format!(
            "sheet '{sheet}' declares {height} rows x {width} columns; at most {MAX_ROWS} rows x {MAX_COLUMNS} columns are read"
        )));
    }

    let mut header_row: Option<u32> = None;
    let mut header_cells: Vec<(u32, String)> = Vec::new();
    // Column -> targets it feeds; set once the header row is complete.
    let mut targets: Option<HashMap<u32, Vec<usize>>> = None;
    let mut names: Vec<String> = vec![String::new(); N];
    let mut rows: BTreeMap<u32, Vec<(usize, Raw)>> = BTreeMap::new();
    let mut trailing_error = None;

    loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(e) => {
                let last = rows.keys().next_back().copied().or(header_row).unwrap_or(0);
                trailing_error = Some(RowError {
                    line: u64::from(last) + 2,
                    field: None,
                    reason: format!("cannot read the sheet past this row: {e}"),
                });
                break;
            }
        };
        let (r, c) = cell.get_position();
        let raw = to_raw(cell.get_value());
        if targets.is_none() {
            match header_row {
                None if raw.is_none() => continue,
                None => header_row = Some(r),
                Some(h) if r == h => {}
                Some(h) if r < h => continue,
                Some(_) => {
                    let (map_, names_) = finish_header(path, &header_cells, map, resolver)?;
                    targets = Some(map_);
                    names = names_;
                }
            }
            if targets.is_none() {
                if let Some(raw) = raw {
                    header_cells.push((c, header_text(&raw)));
                }
                continue;
            }
        }
        let (Some(targets), Some(h)) = (&targets, header_row) else {
            continue;
        };
        if r <= h {
            continue;
        }
        let Some(raw) = raw else { continue };
        // An error cell counts only in a column that is read.
        if matches!(raw, Raw::Error(_)) && !targets.contains_key(&c) {
            continue;
        }
        if rows.len() as u64 >= MAX_ROWS && !rows.contains_key(&r) {
            return Err(bad(format!(
                "sheet '{sheet}' has more than {MAX_ROWS} rows"
            )));
        }
        let values = rows.entry(r).or_default();
        if let Some(ts) = targets.get(&c) {
            for &t in ts {
                values.push((t, raw.clone()));
            }
        }
    }
    if targets.is_none() {
        if header_row.is_none() {
            return Err(bad(format!("sheet '{sheet}' is empty: no header row")));
        }
        let (_, names_) = finish_header(path, &header_cells, map, resolver)?;
        names = names_;
    }
    let rows: Vec<XRow> = rows
        .into_iter()
        .map(|(row, values)| XRow { row, values })
        .collect();
    Ok((
        XlsxSource {
            rows: rows.into_iter(),
            is_1904,
            trailing_error,
        },
        names,
    ))
}

type HeaderMap = HashMap<u32, Vec<usize>>;

fn finish_header(
    path: &Path,
    cells: &[(u32, String)],
    map: &FieldMap,
    resolver: &Resolver,
) -> Result<(HeaderMap, Vec<String>), Error> {
    let headers: Vec<String> = cells.iter().map(|(_, h)| h.trim().to_string()).collect();
    let columns = fields::resolve_header(path, &headers, map, resolver)?;
    let mut targets: HeaderMap = HashMap::new();
    let mut names = vec![String::new(); N];
    for (t, column) in columns.iter().enumerate() {
        if let Some(i) = *column {
            targets.entry(cells[i].0).or_default().push(t);
            names[t].clone_from(&headers[i]);
        }
    }
    Ok((targets, names))
}

fn header_text(raw: &Raw) -> String {
    match raw {
        Raw::Text(s) => s.clone(),
        Raw::Num(v) => value::format_number(*v),
        Raw::Bool(b) => b.to_string(),
        Raw::DateTime(d) => d.to_string(),
        Raw::Nested(k) => (*k).to_string(),
        Raw::Error(e) => e.clone(),
    }
}

fn to_raw(v: &DataRef<'_>) -> Option<Raw> {
    Some(match v {
        DataRef::Empty => return None,
        DataRef::Error(e) => Raw::Error(e.to_string()),
        DataRef::Int(i) => Raw::Num(*i as f64),
        DataRef::Float(f) => Raw::Num(*f),
        DataRef::String(s) => Raw::Text(s.clone()),
        DataRef::SharedString(s) => Raw::Text((*s).to_string()),
        DataRef::Bool(b) => Raw::Bool(*b),
        DataRef::DateTime(d) => {
            if !d.is_datetime() {
                return Some(Raw::Num(d.as_f64()));
            }
            let (y, mo, da, h, mi, s, ms) = d.to_ymd_hms_milli();
            match chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(da))
                .and_then(|date| {
                    date.and_hms_milli_opt(u32::from(h), u32::from(mi), u32::from(s), u32::from(ms))
                }) {
                Some(dt) => Raw::DateTime(dt),
                None => Raw::Num(d.as_f64()),
            }
        }
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Raw::Text(s.clone()),
    })
}
