//! Streaming readers for historical hotline ticket files (JSONL, CSV, XLSX).
//!
//! [`Reader::open`] resolves which source column feeds each target field
//! (user `--map` overrides, then the English field name, then the Chinese
//! column names of real 12345 exports) and then yields one validated
//! [`ImportRow`] per record. A bad record becomes a [`RowError`] naming its
//! line and field; reading goes on with the next record. Only problems that
//! make the whole file unreadable are an [`Error`].
//!
//! JSONL and CSV are read record by record in bounded memory. XLSX is
//! checked at open against [`Limits`] (uncompressed bytes, cells: a workbook
//! past them is refused before anything is read) and then streamed row by
//! row; memory holds its shared strings, not its rows.
//!
//! ```no_run
//! use hotline_readers::{FieldMap, Reader};
//! # fn main() -> Result<(), hotline_readers::Error> {
//! let mut map = FieldMap::new();
//! map.parse_pair("external_id=id")?;
//! for row in Reader::open("tickets.jsonl".as_ref(), None, &map)? {
//!     match row {
//!         Ok(row) => println!("{:?} {}", row.external_id, row.text),
//!         Err(e) => eprintln!("{e}"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod csvfile;
mod fields;
mod jsonl;
mod row;
mod value;
mod xlsx;

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDateTime;
use serde::Serialize;

pub use fields::{FieldMap, TARGET_FIELDS};
pub use row::{max_chars, MAX_TEXT_CHARS};
pub use value::{
    canonical_kind, canonical_satisfaction, canonical_urgency, parse_bool, parse_datetime,
};

/// Whether bytes that are not UTF-8 read as Chinese text in GBK / GB18030,
/// the encoding Excel and many Chinese systems save "CSV" in: every byte
/// decodes and some Chinese characters come out. `sample` may be cut in the
/// middle of a character at its end.
pub fn looks_like_gbk(sample: &[u8]) -> bool {
    if std::str::from_utf8(sample).is_ok() {
        return false;
    }
    (0..4).any(|cut| {
        let Some(part) = sample.get(..sample.len().saturating_sub(cut)) else {
            return false;
        };
        let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(part);
        !had_errors && text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    })
}

/// Caps on what a workbook may expand to. A zip-compressed XLSX can be a
/// thousandth of its contents; past these it is refused at open, naming the
/// file, without being expanded in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes all the parts of a workbook may decompress to.
    pub xlsx_max_uncompressed_bytes: u64,
    /// Most cells (and shared strings) a workbook may hold.
    pub xlsx_max_cells: u64,
}

impl Default for Limits {
    /// 512 MiB and 20 million cells: a real export of 100,000 tickets
    /// (texts of a few hundred characters, twenty columns) is about 150 MB
    /// uncompressed and 2 million cells.
    fn default() -> Self {
        Limits {
            xlsx_max_uncompressed_bytes: 512 * 1024 * 1024,
            xlsx_max_cells: 20_000_000,
        }
    }
}

/// The kind of a ticket file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line (`.jsonl`, `.ndjson`, `.json`).
    Jsonl,
    /// Comma-separated, UTF-8, with a header row (`.csv`).
    Csv,
    /// Excel workbook; the first worksheet is read (`.xlsx`).
    Xlsx,
}

impl Format {
    /// The format implied by the file's extension (case-insensitive).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// `jsonl`, `csv` or `xlsx`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Reads `jsonl` (also `ndjson`, `json`), `csv` or `xlsx`, in any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" | "json" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(Error::UnknownFormat(other.to_string())),
        }
    }
}

/// One validated ticket from a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRow {
    /// 1-based line number (JSONL; CSV counting the header as line 1) or
    /// spreadsheet row number.
    pub line: u64,
    pub external_id: Option<String>,
    /// Local (Beijing) time; `None` = undated.
    pub received_at: Option<NaiveDateTime>,
    pub title: Option<String>,
    /// Never empty; at most [`MAX_TEXT_CHARS`] characters.
    pub text: String,
    pub channel: Option<String>,
    /// One of 咨询 求助 投诉 举报 建议.
    pub kind: Option<String>,
    /// One of emergency, utilities, general, complex.
    pub urgency: Option<String>,
    pub caller_name: Option<String>,
    /// As given (trimmed); contains at least one digit.
    pub caller_phone: Option<String>,
    pub address: Option<String>,
    pub district: Option<String>,
    /// Historical routing slug, as given (trimmed).
    pub topic: Option<String>,
    pub department: Option<String>,
    pub dispatched_at: Option<NaiveDateTime>,
    pub contacted: Option<bool>,
    pub resolved: Option<bool>,
    pub feedback_at: Option<NaiveDateTime>,
    pub callback_at: Option<NaiveDateTime>,
    pub callback_valid: Option<bool>,
    /// One of 满意 基本满意 不满意.
    pub satisfaction: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    /// The 街道 / 乡镇, as given (trimmed); the engine checks it against its gazetteer.
    pub street: Option<String>,
}

/// A record that could not be imported. Reading goes on after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line number (or spreadsheet row) of the record.
    pub line: u64,
    /// The target field at fault, when there is one.
    pub field: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}, field {field}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

impl std::error::Error for RowError {}

/// A problem that stops a file from being read at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file cannot be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a usable ticket file (no header, no text column,
    /// a `--map` source missing from the header, a broken workbook...).
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
    /// A bad `--map TARGET=SOURCE`.
    #[error("bad --map: {0}")]
    Map(String),
    /// A format name that is not `jsonl`, `csv` or `xlsx`.
    #[error("unknown file format '{0}' (expected jsonl, csv or xlsx)")]
    UnknownFormat(String),
}

#[derive(Debug)]
enum Source {
    Jsonl(jsonl::JsonlSource),
    Csv(Box<csvfile::CsvSource>),
    Xlsx(xlsx::XlsxSource),
}

/// Reads a ticket file one validated row at a time.
///
/// Iterating yields `Ok(ImportRow)` for each good record and `Err(RowError)`
/// for each bad one, in file order; blank lines and blank records are
/// skipped. An I/O error in the middle of the file is reported as a last
/// `RowError` and ends the iteration.
#[derive(Debug)]
pub struct Reader {
    path: PathBuf,
    format: Format,
    columns: Vec<String>,
    source: Source,
}

impl Reader {
    /// Opens `path`. `format` `None` takes it from the extension.
    ///
    /// For CSV and XLSX the header is read and resolved here; for JSONL the
    /// keys are resolved on each line by the same rules.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened; [`Error::Format`] when
    /// the format is unknown, the header is missing or not UTF-8, no column
    /// feeds `text` (the message lists the headers seen), a `--map` source is
    /// not in the header, or the workbook is broken or too large.
    pub fn open(path: &Path, format: Option<Format>, map: &FieldMap) -> Result<Reader, Error> {
        Self::open_with_limits(path, format, map, Limits::default())
    }

    /// [`Reader::open`] with caps other than the default [`Limits`].
    ///
    /// # Errors
    /// As [`Reader::open`]; also [`Error::Format`] for a workbook that
    /// decompresses past `limits.xlsx_max_uncompressed_bytes` or holds more
    /// than `limits.xlsx_max_cells` cells.
    pub fn open_with_limits(
        path: &Path,
        format: Option<Format>,
        map: &FieldMap,
        limits: Limits,
    ) -> Result<Reader, Error> {
        let format = match format.or_else(|| Format::from_path(path)) {
            Some(f) => f,
            None => {
                return Err(Error::Format {
                    path: path.to_path_buf(),
                    message: "cannot tell the format from the file name; expected .jsonl, .ndjson, .json, .csv or .xlsx".to_string(),
                })
            }
        };
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(Error::Format {
                path: path.to_path_buf(),
                message: "is a directory".to_string(),
            });
        }
        let resolver = fields::Resolver::new(map);
        let (source, columns) = match format {
            Format::Jsonl => {
                let columns = (0..fields::N)
                    .map(|t| map.source(t).unwrap_or_default().to_string())
                    .collect();
                (
                    Source::Jsonl(jsonl::JsonlSource::new(file, resolver)),
                    columns,
                )
            }
            Format::Csv => {
                let (src, columns) = csvfile::CsvSource::open(path, file, map, &resolver)?;
                (Source::Csv(Box::new(src)), columns)
            }
            Format::Xlsx => {
                let (src, columns) = xlsx::XlsxSource::open(path, file, map, limits)?;
                (Source::Xlsx(src), columns)
            }
        };
        Ok(Reader {
            path: path.to_path_buf(),
            format,
            columns,
            source,
        })
    }

    /// The source column feeding each target, in [`TARGET_FIELDS`] order;
    /// empty when none does. For JSONL, where keys are resolved per line,
    /// only `--map` sources are shown.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The source column feeding `target`, if any (see [`Reader::columns`]).
    pub fn column(&self, target: &str) -> Option<&str> {
        let i = TARGET_FIELDS.iter().position(|t| *t == target)?;
        Some(self.columns[i].as_str()).filter(|c| !c.is_empty())
    }

    /// The format being read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Iterator for Reader {
    type Item = Result<ImportRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Source::Jsonl(s) => s.next_row(),
            Source::Csv(s) => s.next_row(),
            Source::Xlsx(s) => s.next_row(),
        }
    }
}
