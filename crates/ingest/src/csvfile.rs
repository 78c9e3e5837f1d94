//! CSV with a header row, read record by record.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use csv::ByteRecord;

use crate::fields::{self, Resolver, N, TARGET_FIELDS};
use crate::row::{self, Raw};
use crate::{Error, FieldMap, ImportRow, RowError};

/// Most bytes read for one record. A larger record (typically an unclosed
/// quote swallowing the rest of the file) ends the reading with an error
/// instead of filling memory.
pub(crate) const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// Counts the bytes read since the last record and fails past a cap.
#[derive(Debug)]
struct CappedRead<R> {
    inner: R,
    since_record: Arc<AtomicU64>,
    cap: u64,
}

impl<R: Read> Read for CappedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self
            .since_record
            .fetch_add(n as u64, Ordering::Relaxed)
            .saturating_add(n as u64);
        if total > self.cap {
            return Err(io::Error::other(format!(
                "a record is longer than {} bytes (an unclosed quote?)",
                self.cap
            )));
        }
        Ok(n)
    }
}

#[derive(Debug)]
pub(crate) struct CsvSource {
    reader: csv::Reader<CappedRead<File>>,
    since_record: Arc<AtomicU64>,
    columns: [Option<usize>; N],
    record: ByteRecord,
    done: bool,
}

impl CsvSource {
    /// Reads the header and resolves the columns.
    pub(crate) fn open(
        path: &Path,
        file: File,
        map: &FieldMap,
        resolver: &Resolver,
    ) -> Result<(Self, Vec<String>), Error> {
        Self::open_capped(path, file, map, resolver, MAX_RECORD_BYTES)
    }

    fn open_capped(
        path: &Path,
        file: File,
        map: &FieldMap,
        resolver: &Resolver,
        cap: u64,
    ) -> Result<(Self, Vec<String>), Error> {
        let since_record = Arc::new(AtomicU64::new(0));
        let capped = CappedRead {
            inner: file,
            since_record: Arc::clone(&since_record),
            cap,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(usize::try_from((cap / 4).clamp(1024, 64 * 1024)).unwrap_or(8192))
            .from_reader(capped);
        let format_error = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        let mut header = ByteRecord::new();
        match reader.read_byte_record(&mut header) {
            Ok(true) => {}
            Ok(false) => return Err(format_error("the file is empty: no header row".into())),
            Err(e) => return Err(format_error(format!("cannot read the header row: {e}"))),
        }
        let mut headers = Vec::with_capacity(header.len());
        for (i, field) in header.iter().enumerate() {
            let field = if i == 0 {
                field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
            } else {
                field
            };
            match std::str::from_utf8(field) {
                Ok(h) => headers.push(h.trim().to_string()),
                Err(_) => {
                    return Err(format_error(format!(
                        "header column {} is not UTF-8; only UTF-8 CSV is supported (re-save the file as UTF-8)",
                        i + 1
                    )))
                }
            }
        }
        let columns = fields::resolve_header(path, &headers, map, resolver)?;
        let names = columns
            .iter()
            .map(|c| c.map(|i| headers[i].clone()).unwrap_or_default())
            .collect();
        since_record.store(0, Ordering::Relaxed);
        Ok((
            Self {
                reader,
                since_record,
                columns,
                record: ByteRecord::new(),
                done: false,
            },
            names,
        ))
    }

    pub(crate) fn next_row(&mut self) -> Option<Result<ImportRow, RowError>> {
        loop {
            if self.done {
                return None;
            }
            let read = self.reader.read_byte_record(&mut self.record);
            self.since_record.store(0, Ordering::Relaxed);
            match read {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    let line = self.reader.position().line();
                    return Some(Err(RowError {
                        line,
                        field: None,
                        reason: format!("cannot read further: {e}"),
                    }));
                }
            }
            let line = self
                .record
                .position()
                .map_or_else(|| self.reader.position().line(), csv::Position::line);
            if self
                .record
                .iter()
                .all(|f| f.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            return Some(self.convert(line));
        }
    }

    fn convert(&self, line: u64) -> Result<ImportRow, RowError> {
        let mut values = row::empty_values();
        for (t, column) in self.columns.iter().enumerate() {
            let Some(bytes) = column.and_then(|i| self.record.get(i)) else {
                continue;
            };
            if bytes.is_empty() {
                continue;
            }
            match std::str::from_utf8(bytes) {
                Ok(s) => values[t] = Some(Raw::Text(s.to_string())),
                Err(e) => {
                    return Err(RowError {
                        line,
                        field: Some(TARGET_FIELDS[t].to_string()),
                        reason: format!(
                            "invalid UTF-8 at byte {} (only UTF-8 CSV is supported)",
                            e.valid_up_to() + 1
                        ),
                    })
                }
            }
        }
        row::build_row(line, values, false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;

    #[test]
    fn unclosed_quote_stops_with_an_error_not_a_huge_record() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "id,text").unwrap();
        writeln!(f, "1,fine").unwrap();
        writeln!(f, "2,\"never closed").unwrap();
        for _ in 0..2000 {
            writeln!(f, "3,more text that ends up inside the open quote").unwrap();
        }
        let file = File::open(f.path()).unwrap();
        let map = FieldMap::new();
        let (mut src, _) =
            CsvSource::open_capped(f.path(), file, &map, &Resolver::new(&map), 16 * 1024).unwrap();
        let first = src.next_row().unwrap().unwrap();
        assert_eq!((first.line, first.text.as_str()), (2, "fine"));
        let err = src.next_row().unwrap().unwrap_err();
        assert!(err.reason.contains("longer than"), "{err}");
        assert!(src.next_row().is_none());
    }
}
