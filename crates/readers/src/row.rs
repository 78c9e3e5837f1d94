//! Turning the raw values of one record into a validated [`ImportRow`].

use chrono::NaiveDateTime;

use crate::fields::{self, N, TARGET_FIELDS};
use crate::value::{self, DateValue};
use crate::{ImportRow, RowError};

/// Longest accepted ticket text, in characters.
pub const MAX_TEXT_CHARS: usize = 100_000;

/// The longest value of each short field, in characters (an external id's
/// is the application's, the same for its API: `intake::MAX_EXTERNAL_ID_CHARS`).
const SHORT_FIELDS: [(usize, usize); 6] = [
    (fields::TITLE, 500),
    (fields::CHANNEL, 50),
    (fields::CALLER_NAME, 100),
    (fields::CALLER_PHONE, 50),
    (fields::ADDRESS, 500),
    (fields::DEPARTMENT, 100),
];

/// The longest value of the short field named `field` (a name of
/// [`TARGET_FIELDS`](crate::TARGET_FIELDS)), in characters; None for a field
/// without such a bound. The API bounds an operator's fields by the same
/// table.
pub fn max_chars(field: &str) -> Option<usize> {
    SHORT_FIELDS
        .iter()
        .find(|(index, _)| TARGET_FIELDS[*index] == field)
        .map(|(_, max)| *max)
}

/// A value as read from a file, before validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    Text(String),
    Bool(bool),
    /// A spreadsheet number (for dates: an Excel serial or `yyyymmdd`).
    Num(f64),
    /// A spreadsheet date cell.
    DateTime(NaiveDateTime),
    /// A JSON array or object: not a usable value.
    Nested(&'static str),
    /// A spreadsheet error cell (`#N/A`, `#VALUE!`...): the value is lost.
    Error(String),
}

impl Raw {
    fn to_text(&self) -> String {
        match self {
            Raw::Text(s) => s.clone(),
            Raw::Bool(b) => b.to_string(),
            Raw::Num(v) => value::format_number(*v),
            Raw::DateTime(d) => d.format("%Y-%m-%d %H:%M:%S").to_string(),
            Raw::Nested(kind) => (*kind).to_string(),
            Raw::Error(e) => e.clone(),
        }
    }
}

/// Raw values per target field, in [`TARGET_FIELDS`] order.
pub(crate) type Values = [Option<Raw>; N];

pub(crate) fn empty_values() -> Values {
    std::array::from_fn(|_| None)
}

struct Ctx {
    line: u64,
    is_1904: bool,
}

impl Ctx {
    fn err(&self, field: usize, reason: String) -> RowError {
        RowError {
            line: self.line,
            field: Some(TARGET_FIELDS[field].to_string()),
            reason,
        }
    }

    fn error_cell(&self, field: usize, error: &str) -> RowError {
        self.err(
            field,
            format!(
                "the cell holds the spreadsheet error {}",
                value::shorten(error)
            ),
        )
    }

    fn string(&self, values: &mut Values, field: usize) -> Result<Option<String>, RowError> {
        match values[field].take() {
            None => Ok(None),
            Some(Raw::Error(e)) => Err(self.error_cell(field, &e)),
            Some(Raw::Nested(kind)) => Err(self.err(
                field,
                format!("expected a string, number or boolean, found {kind}"),
            )),
            Some(raw) => Ok(value::clean(&raw.to_text())),
        }
    }

    fn enumerated(
        &self,
        values: &mut Values,
        field: usize,
        canon: fn(&str) -> Option<&'static str>,
        what: &str,
        expected: &str,
    ) -> Result<Option<String>, RowError> {
        let Some(s) = self.string(values, field)? else {
            return Ok(None);
        };
        match canon(&s) {
            Some(c) => Ok(Some(c.to_string())),
            None => Err(self.err(
                field,
                format!(
                    "unknown {what} '{}' (expected {expected})",
                    value::shorten(&s)
                ),
            )),
        }
    }

    fn boolean(&self, values: &mut Values, field: usize) -> Result<Option<bool>, RowError> {
        if let Some(Raw::Bool(b)) = values[field] {
            return Ok(Some(b));
        }
        let Some(s) = self.string(values, field)? else {
            return Ok(None);
        };
        match value::parse_bool(&s) {
            Some(b) => Ok(Some(b)),
            None => Err(self.err(
                field,
                format!("cannot read yes/no value '{}'", value::shorten(&s)),
            )),
        }
    }

    fn date(&self, values: &mut Values, field: usize) -> Result<Option<NaiveDateTime>, RowError> {
        let (result, shown) = match values[field].take() {
            None => return Ok(None),
            Some(Raw::DateTime(d)) => (value::check_range(d), None),
            Some(Raw::Num(v)) => {
                let text = value::format_number(v);
                let yyyymmdd = v.fract() == 0.0 && (19_000_101.0..=29_991_231.0).contains(&v);
                let parsed = if yyyymmdd {
                    value::read_datetime(&text)
                } else {
                    match value::from_excel_serial(v, self.is_1904) {
                        Some(d) => value::check_range(d),
                        None => DateValue::Unreadable,
                    }
                };
                (parsed, Some(text))
            }
            Some(Raw::Bool(b)) => (DateValue::Unreadable, Some(b.to_string())),
            Some(Raw::Nested(kind)) => (DateValue::Unreadable, Some(kind.to_string())),
            Some(Raw::Error(e)) => return Err(self.error_cell(field, &e)),
            Some(Raw::Text(s)) => {
                let cleaned = value::clean(&s).unwrap_or_default();
                (value::read_datetime(&cleaned), Some(cleaned))
            }
        };
        match result {
            DateValue::Absent => Ok(None),
            DateValue::Date(d) => Ok(Some(d)),
            DateValue::OutOfRange(d) => Err(self.err(
                field,
                format!(
                    "date {} is out of range (years 1990 to 2100)",
                    d.format("%Y-%m-%d")
                ),
            )),
            DateValue::Unreadable => Err(self.err(
                field,
                format!(
                    "cannot read date '{}'",
                    value::shorten(shown.as_deref().unwrap_or_default())
                ),
            )),
        }
    }
}

/// Validates one record. `line` is its 1-based line (or spreadsheet row).
pub(crate) fn build_row(line: u64, mut v: Values, is_1904: bool) -> Result<ImportRow, RowError> {
    use fields::*;
    let c = Ctx { line, is_1904 };
    let text = match c.string(&mut v, TEXT)? {
        None => return Err(c.err(TEXT, "missing text".to_string())),
        Some(t) => t,
    };
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(c.err(
            TEXT,
            format!("text too long ({chars} characters; the limit is {MAX_TEXT_CHARS})"),
        ));
    }
    // The short fields are names, numbers and places: a value far longer
    // than any is a shifted column or an attack, refused before it reaches
    // the journal (a 14 MB name cost 40 MB of journal and 810 MB of memory).
    for (field, max) in SHORT_FIELDS {
        if let Some(Raw::Text(value)) = &v[field] {
            let n = value.chars().count();
            if n > max {
                return Err(c.err(field, format!("{n} characters; the limit is {max}")));
            }
        }
    }
    let caller_phone = c.string(&mut v, CALLER_PHONE)?;
    if let Some(phone) = &caller_phone {
        if !phone.chars().any(|ch| ch.is_ascii_digit()) {
            return Err(c.err(
                CALLER_PHONE,
                format!("phone number has no digit: '{}'", value::shorten(phone)),
            ));
        }
    }
    Ok(ImportRow {
        line,
        external_id: c.string(&mut v, EXTERNAL_ID)?,
        received_at: c.date(&mut v, RECEIVED_AT)?,
        title: c.string(&mut v, TITLE)?,
        text,
        channel: c.string(&mut v, CHANNEL)?,
        kind: c.enumerated(
            &mut v,
            KIND,
            value::canonical_kind,
            "kind",
            "咨询, 求助, 投诉, 举报 or 建议",
        )?,
        urgency: c.enumerated(
            &mut v,
            URGENCY,
            value::canonical_urgency,
            "urgency",
            "emergency, utilities, general or complex",
        )?,
        caller_name: c.string(&mut v, CALLER_NAME)?,
        caller_phone,
        address: c.string(&mut v, ADDRESS)?,
        district: c.string(&mut v, DISTRICT)?,
        topic: c.string(&mut v, TOPIC)?,
        department: c.string(&mut v, DEPARTMENT)?,
        dispatched_at: c.date(&mut v, DISPATCHED_AT)?,
        contacted: c.boolean(&mut v, CONTACTED)?,
        resolved: c.boolean(&mut v, RESOLVED)?,
        feedback_at: c.date(&mut v, FEEDBACK_AT)?,
        callback_at: c.date(&mut v, CALLBACK_AT)?,
        callback_valid: c.boolean(&mut v, CALLBACK_VALID)?,
        satisfaction: c.enumerated(
            &mut v,
            SATISFACTION,
            value::canonical_satisfaction,
            "satisfaction",
            "满意, 基本满意 or 不满意",
        )?,
        closed_at: c.date(&mut v, CLOSED_AT)?,
        street: c.string(&mut v, STREET)?,
    })
}
