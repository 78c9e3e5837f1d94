//! XLSX through calamine: the first worksheet, header in its first non-empty
//! row.
//!
//! Memory is bounded whatever the file claims. Before calamine opens it,
//! every part of the workbook is decompressed once into nothing, counting:
//! more than [`Limits::xlsx_max_uncompressed_bytes`] in all (declared or
//! actual: a zip entry's declared size may lie), or more than
//! [`Limits::xlsx_max_cells`] cells in the worksheets or shared strings, and
//! the file is refused, naming it, before anything is imported. The sheet is
//! then streamed: a thread owns the workbook, reads cells with calamine's
//! cell reader and hands finished rows (only the resolved columns) through
//! a bounded channel, so memory grows with the shared strings (within the
//! cap), not with the number of rows.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};

use calamine::{DataRef, Reader as _, SheetType, Xlsx};

use crate::fields::{self, Resolver, N};
use crate::row::{self, Raw};
use crate::value;
use crate::{Error, FieldMap, ImportRow, Limits, RowError};

/// Largest declared sheet accepted (rows, columns).
pub(crate) const MAX_ROWS: u64 = 2_000_000;
pub(crate) const MAX_COLUMNS: u64 = 200;

/// Rows read ahead of the importer.
const ROWS_AHEAD: usize = 256;

#[derive(Debug)]
struct XRow {
    row: u32,
    /// (target, value) for the filled target fields only.
    values: Vec<(usize, Raw)>,
}

#[derive(Debug)]
pub(crate) struct XlsxSource {
    rows: Receiver<Result<XRow, RowError>>,
    is_1904: bool,
    done: bool,
}

/// What the reading thread answers once the header is read.
type Opened = Result<(Vec<String>, bool), Error>;

impl XlsxSource {
    pub(crate) fn open(
        path: &Path,
        file: File,
        map: &FieldMap,
        limits: Limits,
    ) -> Result<(Self, Vec<String>), Error> {
        check_expansion(path, &file, limits)?;
        let (opened_tx, opened_rx) = mpsc::channel::<Opened>();
        let (rows_tx, rows_rx) = mpsc::sync_channel(ROWS_AHEAD);
        let (path_, map) = (path.to_path_buf(), map.clone());
        let spawned = std::thread::Builder::new()
            .name("xlsx-reader".into())
            .spawn(move || {
                // calamine may panic on some malformed workbooks (for
                // instance on an inverted dimension in a debug build); the
                // channels then close, and that is reported as a bad file.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                    read_sheet(&path_, file, &map, limits, &opened_tx, &rows_tx);
                }));
            });
        let malformed = || Error::Format {
            path: path.to_path_buf(),
            message: "the workbook is malformed (the XLSX reader failed)".to_string(),
        };
        if let Err(e) = spawned {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: e,
            });
        }
        let (names, is_1904) = opened_rx.recv().map_err(|_| malformed())??;
        Ok((
            XlsxSource {
                rows: rows_rx,
                is_1904,
                done: false,
            },
            names,
        ))
    }

    pub(crate) fn next_row(&mut self) -> Option<Result<ImportRow, RowError>> {
        if self.done {
            return None;
        }
        match self.rows.recv() {
            Ok(Ok(r)) => {
                let mut values = row::empty_values();
                for (t, raw) in r.values {
                    values[t] = Some(raw);
                }
                Some(row::build_row(u64::from(r.row) + 1, values, self.is_1904))
            }
            Ok(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Err(_) => {
                self.done = true;
                None
            }
        }
    }
}

/// Decompresses every part of the workbook into nothing, counting its bytes
/// and the cells of its worksheets and shared strings; refuses the file
/// past either cap. Memory: one 64 KiB buffer.
fn check_expansion(path: &Path, file: &File, limits: Limits) -> Result<(), Error> {
    let bad = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let refuse_bytes = |what: &str| {
        bad(format!(
            "the workbook {what} more than {} bytes uncompressed (import.xlsx_max_uncompressed_bytes); refused without reading it (save fewer rows per file, or as CSV)",
            limits.xlsx_max_uncompressed_bytes
        ))
    };
    let mut zip = match zip::ZipArchive::new(file) {
        Ok(zip) => zip,
        // calamine says what is wrong with a file that is no zip.
        Err(_) => return Ok(()),
    };
    let mut declared: u64 = 0;
    for i in 0..zip.len() {
        if let Ok(entry) = zip.by_index_raw(i) {
            declared = declared.saturating_add(entry.size());
        }
    }
    if declared > limits.xlsx_max_uncompressed_bytes {
        return Err(refuse_bytes("declares"));
    }
    let mut total: u64 = 0;
    let mut cells: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let counts_cells = name.contains("worksheets/") || name.ends_with("sharedStrings.xml");
        let mut counter = CellCounter::default();
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                // A damaged entry: calamine reports it when it reads it.
                Err(_) => break,
            };
            total += n as u64;
            if total > limits.xlsx_max_uncompressed_bytes {
                return Err(refuse_bytes("expands to"));
            }
            if counts_cells {
                cells += counter.feed(&buf[..n]);
                if cells > limits.xlsx_max_cells {
                    return Err(bad(format!(
                        "the workbook has more than {} cells (import.xlsx_max_cells); refused without reading it",
                        limits.xlsx_max_cells
                    )));
                }
            }
            if counter.unique_count > limits.xlsx_max_cells {
                return Err(bad(format!(
                    "the workbook declares {} shared strings, more than {} (import.xlsx_max_cells); refused without reading it",
                    counter.unique_count, limits.xlsx_max_cells
                )));
            }
        }
    }
    Ok(())
}

/// Counts `<c ` / `<c>` (a cell) and `<si>` / `<si ` (a shared string)
/// across chunk boundaries, and reads the `uniqueCount` a shared string
/// table declares (calamine reserves that many strings at once).
#[derive(Debug, Default)]
struct CellCounter {
    /// The bytes of a possible tag start carried over from the last chunk.
    carry: Vec<u8>,
    unique_count: u64,
    seen_head: bool,
}

impl CellCounter {
    fn feed(&mut self, chunk: &[u8]) -> u64 {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(chunk);
        if !self.seen_head {
            if let Some(at) = find(&data, b"uniqueCount=\"") {
                let digits: Vec<u8> = data[at + 13..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .copied()
                    .collect();
                self.unique_count = std::str::from_utf8(&digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(u64::MAX);
                self.seen_head = true;
            } else if find(&data, b"<si").is_some() || data.len() > 4096 {
                self.seen_head = true;
            }
        }
        let mut count = 0;
        let mut i = 0;
        while let Some(at) = data[i..].iter().position(|&b| b == b'<') {
            let start = i + at;
            let rest = &data[start + 1..];
            if rest.len() < 3 {
                self.carry = data[start..].to_vec();
                return count;
            }
            let is_cell = rest[0] == b'c' && matches!(rest[1], b' ' | b'>' | b'/');
            let is_string = rest[0] == b's' && rest[1] == b'i' && matches!(rest[2], b' ' | b'>');
            count += u64::from(is_cell || is_string);
            i = start + 1;
        }
        count
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The reading thread: opens the workbook, reads the header row, answers
/// `opened`, then sends each finished row (and at most one last error) to
/// `rows` until the sheet ends or the receiver is dropped.
fn read_sheet(
    path: &Path,
    file: File,
    map: &FieldMap,
    limits: Limits,
    opened: &mpsc::Sender<Opened>,
    rows: &SyncSender<Result<XRow, RowError>>,
) {
    let bad = |message: String| Error::Format {
        path: path.to_path_buf(),
        message,
    };
    let resolver = Resolver::new(map);
    let mut workbook: Xlsx<BufReader<File>> = match Xlsx::new(BufReader::new(file)) {
        Ok(w) => w,
        Err(e) => {
            let _ = opened.send(Err(bad(format!("cannot open the workbook: {e}"))));
            return;
        }
    };
    let is_1904 = workbook.has_1904_epoch();
    let Some(sheet) = workbook
        .sheets_metadata()
        .iter()
        .find(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
    else {
        let _ = opened.send(Err(bad("the workbook has no worksheet".to_string())));
        return;
    };
    let mut cells = match workbook.worksheet_cells_reader(&sheet) {
        Ok(c) => c,
        Err(e) => {
            let _ = opened.send(Err(bad(format!("cannot read sheet '{sheet}': {e}"))));
            return;
        }
    };

    let dims = cells.dimensions();
    let height = u64::from(dims.end.0).saturating_sub(u64::from(dims.start.0)) + 1;
    let width = u64::from(dims.end.1).saturating_sub(u64::from(dims.start.1)) + 1;
    if height > MAX_ROWS || width > MAX_COLUMNS {
        let _ = opened.send(Err(bad(format!(
            "sheet '{sheet}' declares {height} rows x {width} columns; at most {MAX_ROWS} rows x {MAX_COLUMNS} columns are read"
        ))));
        return;
    }

    let mut header_row: Option<u32> = None;
    let mut header_cells: Vec<(u32, String)> = Vec::new();
    // Column -> targets it feeds; set once the header row is complete.
    let mut targets: Option<HeaderMap> = None;
    // The row being assembled.
    let mut current: Option<XRow> = None;
    let mut rows_sent: u64 = 0;
    let mut cells_read: u64 = 0;
    // Sends a finished row; false once the importer stopped listening.
    let send = |row: Option<XRow>, rows_sent: &mut u64| -> bool {
        match row {
            Some(row) => {
                *rows_sent += 1;
                rows.send(Ok(row)).is_ok()
            }
            None => true,
        }
    };

    loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(e) => {
                if targets.is_none() {
                    let _ = opened.send(Err(bad(format!("cannot read sheet '{sheet}': {e}"))));
                    return;
                }
                let last = current.as_ref().map(|r| r.row).or(header_row).unwrap_or(0);
                if !send(current.take(), &mut rows_sent) {
                    return;
                }
                let _ = rows.send(Err(RowError {
                    line: u64::from(last) + 2,
                    field: None,
                    reason: format!("cannot read the sheet past this row: {e}"),
                }));
                return;
            }
        };
        cells_read += 1;
        let (r, c) = cell.get_position();
        if cells_read > limits.xlsx_max_cells {
            let reason = format!(
                "the sheet has more than {} cells (import.xlsx_max_cells); reading stopped",
                limits.xlsx_max_cells
            );
            if targets.is_none() {
                let _ = opened.send(Err(bad(reason)));
            } else {
                let _ = rows.send(Err(RowError {
                    line: u64::from(r) + 1,
                    field: None,
                    reason,
                }));
            }
            return;
        }
        let raw = to_raw(cell.get_value());
        if targets.is_none() {
            match header_row {
                None if raw.is_none() => continue,
                None => header_row = Some(r),
                Some(h) if r == h => {}
                Some(h) if r < h => continue,
                Some(_) => match finish_header(path, &header_cells, map, &resolver) {
                    Ok((map_, names)) => {
                        targets = Some(map_);
                        if opened.send(Ok((names, is_1904))).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                },
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
        if current.as_ref().is_some_and(|row| row.row != r) && !send(current.take(), &mut rows_sent)
        {
            return;
        }
        if rows_sent >= MAX_ROWS {
            let _ = rows.send(Err(RowError {
                line: u64::from(r) + 1,
                field: None,
                reason: format!("more than {MAX_ROWS} rows in sheet '{sheet}'; reading stopped"),
            }));
            return;
        }
        let row = current.get_or_insert_with(|| XRow {
            row: r,
            values: Vec::new(),
        });
        if let Some(ts) = targets.get(&c) {
            for &t in ts {
                row.values.push((t, raw.clone()));
            }
        }
    }
    if targets.is_none() {
        if header_row.is_none() {
            let _ = opened.send(Err(bad(format!("sheet '{sheet}' is empty: no header row"))));
            return;
        }
        let answer =
            finish_header(path, &header_cells, map, &resolver).map(|(_, names)| (names, is_1904));
        let _ = opened.send(answer);
        return;
    }
    send(current.take(), &mut rows_sent);
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
