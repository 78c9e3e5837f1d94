//! JSON Lines: one object per line, read line by line.

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use serde_json::Value;

use crate::fields::{Best, Resolver};
use crate::row::{self, Raw};
use crate::{ImportRow, RowError};

/// Longest line read; a longer one is skipped (and reported) without being
/// held in memory.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct JsonlSource {
    reader: BufReader<File>,
    resolver: Resolver,
    line: u64,
    buf: Vec<u8>,
    done: bool,
    max_line: usize,
}

impl JsonlSource {
    pub(crate) fn new(file: File, resolver: Resolver) -> Self {
        Self {
            reader: BufReader::with_capacity(64 * 1024, file),
            resolver,
            line: 0,
            buf: Vec::new(),
            done: false,
            max_line: MAX_LINE_BYTES,
        }
    }

    fn error(&self, reason: String) -> RowError {
        RowError {
            line: self.line,
            field: None,
            reason,
        }
    }

    pub(crate) fn next_row(&mut self) -> Option<Result<ImportRow, RowError>> {
        loop {
            if self.done {
                return None;
            }
            let read = read_line_capped(&mut self.reader, &mut self.buf, self.max_line);
            let too_long = match read {
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Ok(Some(too_long)) => too_long,
                Err(e) => {
                    self.done = true;
                    self.line += 1;
                    return Some(Err(self.error(format!("cannot read the file: {e}"))));
                }
            };
            self.line += 1;
            if too_long {
                return Some(Err(
                    self.error(format!("line longer than {} bytes", self.max_line))
                ));
            }
            let mut bytes: &[u8] = &self.buf;
            if self.line == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    return Some(Err(
                        self.error(format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1))
                    ))
                }
            };
            let value: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => return Some(Err(self.error(format!("invalid JSON: {e}")))),
            };
            let Value::Object(object) = value else {
                return Some(Err(self.error(format!(
                    "expected a JSON object, found {}",
                    json_kind(&value)
                ))));
            };
            let mut best: Best<&Value> = Best::new();
            for (key, value) in &object {
                best.offer(&self.resolver, key, &value);
            }
            let mut values = row::empty_values();
            for (slot, out) in best.slots.iter().zip(values.iter_mut()) {
                if let Some((_, v)) = slot {
                    *out = to_raw(v);
                }
            }
            return Some(row::build_row(self.line, values, false));
        }
    }

    #[cfg(test)]
    pub(crate) fn set_max_line(&mut self, max: usize) {
        self.max_line = max;
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn to_raw(v: &Value) -> Option<Raw> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(Raw::Bool(*b)),
        Value::Number(n) => Some(Raw::Text(n.to_string())),
        Value::String(s) => Some(Raw::Text(s.clone())),
        Value::Array(_) => Some(Raw::Nested("an array")),
        Value::Object(_) => Some(Raw::Nested("an object")),
    }
}

/// Reads one line (without its `\n` or `\r\n`) into `buf`, keeping at most
/// `cap` bytes. `Ok(None)` at end of file; `Ok(Some(true))` when the line was
/// longer than `cap` (its bytes are discarded).
pub(crate) fn read_line_capped<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let (found_newline, used) = {
            let available = match reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, found, used) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], true, i + 1),
                None => (available, false, available.len()),
            };
            if !too_long {
                if buf.len() + chunk.len() > cap {
                    too_long = true;
                    buf.clear();
                    buf.shrink_to(64 * 1024);
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            (found, used)
        };
        reader.consume(used);
        if found_newline {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(too_long))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::FieldMap;
    use std::io::Write;

    #[test]
    fn capped_lines() {
        let data = b"abc\r\n\nxxxxxxxxxx\nlast";
        let mut r = io::BufReader::with_capacity(3, &data[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line_capped(&mut r, &mut buf, 5).unwrap(), Some(false));
        assert_eq!(buf, b"abc");
        assert_eq!(read_line_capped(&mut r, &mut buf, 5).unwrap(), Some(false));
        assert_eq!(buf, b"");
        assert_eq!(read_line_capped(&mut r, &mut buf, 5).unwrap(), Some(true));
        assert_eq!(read_line_capped(&mut r, &mut buf, 5).unwrap(), Some(false));
        assert_eq!(buf, b"last");
        assert_eq!(read_line_capped(&mut r, &mut buf, 5).unwrap(), None);
    }

    #[test]
    fn overlong_line_is_one_row_error() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "{{\"text\": \"{}\"}}", "x".repeat(5000)).unwrap();
        writeln!(f, "{{\"text\": \"short\"}}").unwrap();
        let file = File::open(f.path()).unwrap();
        let mut src = JsonlSource::new(file, Resolver::new(&FieldMap::new()));
        src.set_max_line(1000);
        let first = src.next_row().unwrap().unwrap_err();
        assert_eq!(first.line, 1);
        assert!(first.reason.contains("line longer"), "{first}");
        let second = src.next_row().unwrap().unwrap();
        assert_eq!((second.line, second.text.as_str()), (2, "short"));
        assert!(src.next_row().is_none());
    }
}
