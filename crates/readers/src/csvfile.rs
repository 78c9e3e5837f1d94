//! CSV with a header row, read record by record.
//!
//! The records are split here rather than by the `csv` crate, for two
//! reasons: line numbers must be the lines an editor shows whatever the line
//! ends (`\n` or `\r\n`), and a quote left open must be reported, not allowed
//! to swallow the rows after it. The dialect is the one Excel writes
//! (RFC 4180): fields separated by commas; a field that starts with a quote
//! runs to the next lone quote (`""` inside it is a quote) and may span lines;
//! a quote anywhere else in a field is an ordinary character.
//!
//! A record whose quotes do not close properly (the closing quote is
//! followed by something other than a comma or the end of the line, or no
//! quote closes it before the end of the file, or within
//! [`MAX_RECORD_LINES`] lines or [`MAX_RECORD_BYTES`] bytes) is rejected with
//! its first line, and reading goes on from the line after it: the rows a
//! lenient reader would have swallowed are read as rows.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use crate::fields::{self, Resolver, N, TARGET_FIELDS};
use crate::row::{self, Raw};
use crate::{Error, FieldMap, ImportRow, RowError};

/// Most bytes read for one record. A longer line is read past and rejected
/// (the rows after it are read) instead of filling memory; a longer quoted
/// field is rejected.
pub(crate) const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

/// Most lines one quoted field may span. Real complaint texts have a few
/// dozen line breaks at most; past this the quote is taken as left open.
/// It also bounds the lines read again after a broken record.
pub(crate) const MAX_RECORD_LINES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    Start,
    /// In a field that did not start with a quote.
    Unquoted,
    /// In a quoted field.
    Quoted,
    /// Just after a quote in a quoted field: the field's end, or `""`.
    QuoteInQuoted,
}

/// One record of the file.
#[derive(Debug)]
enum Record {
    /// The record's first line and its fields (raw bytes).
    Fields(u64, Vec<Vec<u8>>),
    /// A record whose quotes do not close properly: its first line and why.
    Broken(u64, String),
}

#[derive(Debug)]
pub(crate) struct CsvSource {
    input: BufReader<File>,
    /// Lines given back after a broken record, read again before the file.
    pending: VecDeque<Vec<u8>>,
    /// The 1-based number of the next line to read.
    next_line: u64,
    columns: [Option<usize>; N],
    /// How many columns the header names.
    width: usize,
    /// The number of a line just read past for being longer than `cap`.
    too_long: Option<u64>,
    cap: usize,
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
        cap: usize,
    ) -> Result<(Self, Vec<String>), Error> {
        let mut source = Self {
            input: BufReader::with_capacity(64 * 1024, file),
            pending: VecDeque::new(),
            next_line: 1,
            columns: [None; N],
            width: 0,
            too_long: None,
            cap,
            done: false,
        };
        let format_error = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        let header = match source.next_record() {
            Ok(Some(Record::Fields(_, fields))) => fields,
            Ok(Some(Record::Broken(_, reason))) => {
                return Err(format_error(format!(
                    "cannot read the header row: {reason}"
                )))
            }
            Ok(None) => return Err(format_error("the file is empty: no header row".into())),
            Err(e) => return Err(format_error(format!("cannot read the header row: {e}"))),
        };
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
                    let hint = if crate::looks_like_gbk(field) {
                        "it looks like GBK/GB18030; "
                    } else {
                        ""
                    };
                    return Err(format_error(format!(
                        "header column {} is not UTF-8 ({hint}only UTF-8 CSV is supported: re-save the file as UTF-8)",
                        i + 1
                    )));
                }
            }
        }
        let columns = fields::resolve_header(path, &headers, map, resolver)?;
        let names = columns
            .iter()
            .map(|c| c.map(|i| headers[i].clone()).unwrap_or_default())
            .collect();
        source.columns = columns;
        source.width = headers.len();
        Ok((source, names))
    }

    /// The next line without its line end, or `None` at the end of the file.
    /// A line longer than the cap is read past and comes back empty, its
    /// number in `too_long`, so that it is reported and the lines after it
    /// are read.
    fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        if let Some(line) = self.pending.pop_front() {
            self.next_line += 1;
            return Ok(Some(line));
        }
        let mut line = Vec::new();
        match crate::jsonl::read_line_capped(&mut self.input, &mut line, self.cap)? {
            None => Ok(None),
            Some(too_long) => {
                self.next_line += 1;
                if too_long {
                    self.too_long = Some(self.next_line - 1);
                }
                Ok(Some(line))
            }
        }
    }

    /// Splits the next record into fields (see the module's description).
    fn next_record(&mut self) -> io::Result<Option<Record>> {
        let Some(first) = self.read_line()? else {
            return Ok(None);
        };
        let start = self.next_line - 1;
        if self.too_long.take().is_some() {
            return Ok(Some(Record::Broken(
                start,
                format!("line longer than {} bytes", self.cap),
            )));
        }
        let mut lines = vec![first];
        let mut bytes = lines[0].len();
        let mut fields = Vec::new();
        let mut field = Vec::new();
        let mut state = State::Start;
        loop {
            let current = lines.len() - 1;
            for &b in &lines[current] {
                state = match (state, b) {
                    (State::Start, b'"') => State::Quoted,
                    (State::Start | State::Unquoted, b',') => {
                        fields.push(std::mem::take(&mut field));
                        State::Start
                    }
                    (State::Start | State::Unquoted, _) => {
                        field.push(b);
                        State::Unquoted
                    }
                    (State::Quoted, b'"') => State::QuoteInQuoted,
                    (State::Quoted, _) => {
                        field.push(b);
                        State::Quoted
                    }
                    (State::QuoteInQuoted, b'"') => {
                        field.push(b'"');
                        State::Quoted
                    }
                    (State::QuoteInQuoted, b',') => {
                        fields.push(std::mem::take(&mut field));
                        State::Start
                    }
                    (State::QuoteInQuoted, other) => {
                        let at = start + current as u64;
                        let shown = char::from(other).escape_default();
                        let reason = if current == 0 {
                            format!("a closing quote is followed by '{shown}' instead of a comma")
                        } else {
                            format!("unclosed quote: the quoted field opened here is closed on line {at}, where the quote is followed by '{shown}'; the lines after this one are read as rows")
                        };
                        return Ok(Some(self.broken(start, lines, reason)));
                    }
                };
            }
            if state != State::Quoted {
                fields.push(field);
                return Ok(Some(Record::Fields(start, fields)));
            }
            // A line break inside a quoted field.
            if lines.len() >= MAX_RECORD_LINES || bytes > self.cap {
                let reason = format!("unclosed quote: the quoted field opened here does not close within {MAX_RECORD_LINES} lines or {} bytes; the lines after this one are read as rows", self.cap);
                return Ok(Some(self.broken(start, lines, reason)));
            }
            match self.read_line()? {
                Some(next) => {
                    if self.too_long.take().is_some() {
                        // The long line stays in the count (read again as
                        // an empty line), so the rows after it keep their numbers.
                        lines.push(next);
                        let reason = format!("a line inside the quoted field opened here is longer than {} bytes; the lines after it are read as rows", self.cap);
                        return Ok(Some(self.broken(start, lines, reason)));
                    }
                    bytes += next.len() + 1;
                    field.push(b'\n');
                    lines.push(next);
                }
                None => {
                    let reason = "unclosed quote: the quoted field opened here runs to the end of the file; the lines after this one are read as rows".to_string();
                    return Ok(Some(self.broken(start, lines, reason)));
                }
            }
        }
    }

    /// Gives back the lines after a broken record's first, to be read again.
    fn broken(&mut self, start: u64, mut lines: Vec<Vec<u8>>, reason: String) -> Record {
        self.next_line = start + 1;
        for line in lines.drain(1..).rev() {
            self.pending.push_front(line);
        }
        Record::Broken(start, reason)
    }

    pub(crate) fn next_row(&mut self) -> Option<Result<ImportRow, RowError>> {
        loop {
            if self.done {
                return None;
            }
            let (line, record) = match self.next_record() {
                Ok(Some(Record::Fields(line, fields))) => (line, fields),
                Ok(Some(Record::Broken(line, reason))) => {
                    return Some(Err(RowError {
                        line,
                        field: None,
                        reason,
                    }))
                }
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(RowError {
                        line: self.next_line,
                        field: None,
                        reason: format!("cannot read further: {e}"),
                    }));
                }
            };
            if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            return Some(self.convert(line, &record));
        }
    }

    fn convert(&self, line: u64, record: &[Vec<u8>]) -> Result<ImportRow, RowError> {
        // More fields than the header names, not just empty ones at the end:
        // an unquoted comma has shifted every field after it, so the row's
        // fields are not the columns they sit under.
        if record.len() > self.width
            && record[self.width..]
                .iter()
                .any(|f| !f.iter().all(u8::is_ascii_whitespace))
        {
            return Err(RowError {
                line,
                field: None,
                reason: format!(
                    "{} fields, but the header names {} columns (a comma inside a field that is not quoted?)",
                    record.len(),
                    self.width
                ),
            });
        }
        let mut values = row::empty_values();
        for (t, column) in self.columns.iter().enumerate() {
            let Some(bytes) = column.and_then(|i| record.get(i)) else {
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
    fn unclosed_quote_is_rejected_within_the_cap_and_the_lines_after_are_rows() {
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
        assert_eq!(err.line, 3);
        assert!(err.reason.contains("does not close within"), "{err}");
        let rest: Vec<_> = std::iter::from_fn(|| src.next_row()).collect();
        assert_eq!(rest.len(), 2000);
        assert!(rest.iter().all(Result::is_ok));
        assert_eq!(rest[0].as_ref().unwrap().line, 4);
    }

    #[test]
    fn a_line_longer_than_the_cap_is_reported_and_the_rows_after_it_are_read() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "external_id,text").unwrap();
        writeln!(f, "1,{}", "x".repeat(40_000)).unwrap();
        writeln!(f, "2,fine").unwrap();
        writeln!(f, "3,\"a quoted field").unwrap();
        writeln!(f, "{}\"", "y".repeat(40_000)).unwrap();
        writeln!(f, "4,also fine").unwrap();
        let file = File::open(f.path()).unwrap();
        let map = FieldMap::new();
        let (mut src, _) =
            CsvSource::open_capped(f.path(), file, &map, &Resolver::new(&map), 16 * 1024).unwrap();
        let err = src.next_row().unwrap().unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.reason.contains("longer than"), "{err}");
        let row = src.next_row().unwrap().unwrap();
        assert_eq!((row.line, row.external_id.as_deref()), (3, Some("2")));
        let err = src.next_row().unwrap().unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        let row = src.next_row().unwrap().unwrap();
        assert_eq!((row.line, row.external_id.as_deref()), (6, Some("4")));
        assert!(src.next_row().is_none());
    }
}
