//! The fsynced append-only journal of every accepted change, and how damage to it is told apart from a torn append.
//!
//! sled 0.34's flush does not fsync on Linux (sled issue #1452), so sled alone
//! cannot promise that an acknowledged ticket survives a power cut. Every
//! change is therefore appended here and `fdatasync`ed (one sync per group of
//! changes) before it is applied to sled and acknowledged. sled records the
//! journal offset it has applied in the same atomic batch as the change; on
//! open, whatever the journal holds past that offset is applied again.
//!
//! Record layout: payload length (u32 LE, never 0) · CRC-32 of the payload
//! (u32 LE) · payload. An append interrupted by a crash was never
//! acknowledged, and leaves a *torn tail*: the file ends inside the last
//! record, or its last record is followed by zeros. Only that is cut off on
//! open. Anything else that fails its checksum is *damage*: a bad record with
//! readable records after it, a complete last record that fails its checksum,
//! a last record whose checksum matches the bytes to the end of the file (its
//! length was damaged), or a journal shorter than sled has applied. Opening
//! refuses all of them, naming the file and the offset, and changes nothing;
//! `Store::salvage` keeps every readable record and says what was lost.
//!
//! The journal is also where a ticket's index words live: sled keeps only the
//! offset of the record that created the ticket, and [`JournalReader`] reads
//! the words back when the ticket is re-indexed. So the journal is never cut
//! short below the last applied offset.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};

/// Largest record accepted on replay; anything bigger is a corrupt length.
const MAX_RECORD: u32 = 64 << 20;

/// The first byte of every payload: the store's record format version (see
/// record.rs). The search for the next readable record after a damaged one
/// only checks the CRC of candidates that start with it, so a stretch of
/// garbage does not cost a checksum of up to `MAX_RECORD` bytes per byte.
pub(crate) const RECORD_VERSION: u8 = 1;

/// A journal record: the offset just past it, and its payload.
pub type Record = (u64, Vec<u8>);

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
    /// Set when a failed append's bytes could not be cut off: no append is
    /// taken after it, since it would land behind them.
    broken: Option<String>,
}

/// What is wrong with a stretch of a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DamageKind {
    /// An interrupted append at the very end: never acknowledged.
    TornTail,
    /// Bytes that were once a readable record, or records, are not.
    Corrupt,
}

/// A stretch of a journal that holds no readable record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    pub kind: DamageKind,
    /// Where the first unreadable record starts.
    pub offset: u64,
    /// How many bytes up to the next readable record (or the end).
    pub bytes: u64,
    pub message: String,
}

/// What a walk over a journal's records found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scanned {
    /// The file's length.
    pub len: u64,
    /// Readable records.
    pub records: u64,
    pub damage: Vec<Damage>,
}

/// Why the record at an offset cannot be read.
#[derive(Debug, Clone, Copy)]
enum Bad {
    /// Fewer than 8 bytes left for its header.
    ShortHeader,
    /// A length of 0 (never written) or above `MAX_RECORD`.
    Length(u32),
    /// The payload would run past the end of the file.
    PastEnd {
        crc: u32,
    },
    Checksum,
}

impl Bad {
    fn describe(self) -> String {
        match self {
            Bad::ShortHeader => "an incomplete record header".into(),
            Bad::Length(n) => format!("an impossible record length {n}"),
            Bad::PastEnd { .. } => "a record that runs past the end of the file".into(),
            Bad::Checksum => "a record that fails its checksum".into(),
        }
    }
}

/// Reads at `offset` until `buf` is full or the file ends; how much was read.
fn read_some_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Checks a record header against the file's length: the payload's length and CRC.
fn check_header(header: &[u8], at: u64, len: u64) -> std::result::Result<(u32, u32), Bad> {
    if header.len() < 8 || len - at < 8 {
        return Err(Bad::ShortHeader);
    }
    let n = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if n == 0 || n > MAX_RECORD {
        return Err(Bad::Length(n));
    }
    if 8 + u64::from(n) > len - at {
        return Err(Bad::PastEnd { crc });
    }
    Ok((n, crc))
}

/// The payload of the record at `at` of a file `len` bytes long.
fn record_at(file: &File, at: u64, len: u64) -> std::io::Result<std::result::Result<Vec<u8>, Bad>> {
    let mut header = [0u8; 8];
    let got = read_some_at(file, &mut header, at)?;
    let (n, crc) = match check_header(&header[..got], at, len) {
        Ok(h) => h,
        Err(bad) => return Ok(Err(bad)),
    };
    let mut payload = vec![0u8; n as usize];
    file.read_exact_at(&mut payload, at + 8)?;
    Ok(if crc32fast::hash(&payload) == crc {
        Ok(payload)
    } else {
        Err(Bad::Checksum)
    })
}

/// The first offset after `from` where a readable record starts, if any:
/// a record that fails its checksum has a length nobody can trust, so the
/// next one is looked for byte by byte (a false match needs a CRC-32 collision).
fn next_readable(file: &File, from: u64, len: u64) -> std::io::Result<Option<u64>> {
    const WINDOW: usize = 1 << 20;
    let mut buf = vec![0u8; WINDOW + 8];
    let mut base = from;
    while base + 8 <= len {
        let got = read_some_at(file, &mut buf, base)?;
        let last = got.saturating_sub(7).min(WINDOW);
        for i in 0..last {
            let at = base + i as u64;
            let version = buf.get(i + 8).copied().unwrap_or(RECORD_VERSION);
            if version == RECORD_VERSION
                && check_header(&buf[i..i + 8], at, len).is_ok()
                && record_at(file, at, len)?.is_ok()
            {
                return Ok(Some(at));
            }
        }
        base += WINDOW as u64;
    }
    Ok(None)
}

/// Whether an unreadable last record, starting at `at`, is what an
/// interrupted append leaves: the file ends inside it (and its checksum does
/// not match what is there, which would mean only its length was damaged),
/// or it ends in zeros that start after the byte before it (a record never
/// ends in a zero byte: its payload ends with its JSON).
fn is_torn(file: &File, at: u64, len: u64, bad: Bad) -> std::io::Result<bool> {
    let io_len = usize::try_from(len - at).unwrap_or(usize::MAX);
    match bad {
        Bad::ShortHeader => Ok(true),
        Bad::PastEnd { crc } => {
            let mut rest = vec![0u8; io_len.saturating_sub(8)];
            file.read_exact_at(&mut rest, at + 8)?;
            Ok(crc32fast::hash(&rest) != crc)
        }
        Bad::Length(_) | Bad::Checksum => {
            // The zeros at the end must be more than chance, and must not
            // reach back into the record before this one.
            let tail_len = io_len.min(1 << 20);
            let mut tail = vec![0u8; tail_len];
            file.read_exact_at(&mut tail, len - tail_len as u64)?;
            let zeros = tail.iter().rev().take_while(|b| **b == 0).count();
            if zeros < 8 {
                return Ok(false);
            }
            if zeros == io_len && at > 0 {
                let mut before = [0u8; 1];
                file.read_exact_at(&mut before, at - 1)?;
                return Ok(before[0] != 0);
            }
            Ok(true)
        }
    }
}

/// Walks the records of the journal at `path` from `from` (a record boundary)
/// to its end, without writing: calls `each` with every readable record's
/// offset and payload, and lists the damage, resuming after each damaged
/// stretch at the next readable record.
pub(crate) fn scan(
    path: &Path,
    file: &File,
    from: u64,
    mut each: impl FnMut(u64, Vec<u8>) -> Result<()>,
) -> Result<Scanned> {
    let io = Error::io_at(path);
    let len = file.metadata().map_err(io)?.len();
    let mut out = Scanned {
        len,
        ..Scanned::default()
    };
    let mut at = from.min(len);
    let mut reader = BufReader::with_capacity(1 << 20, file);
    reader.seek(SeekFrom::Start(at)).map_err(io)?;
    while at < len {
        let mut header = [0u8; 8];
        let got = read_full(&mut reader, &mut header).map_err(io)?;
        let bad = match check_header(&header[..got], at, len) {
            Ok((n, crc)) => {
                let mut payload = vec![0u8; n as usize];
                reader.read_exact(&mut payload).map_err(io)?;
                if crc32fast::hash(&payload) == crc {
                    let start = at;
                    at += 8 + u64::from(n);
                    out.records += 1;
                    each(start, payload)?;
                    continue;
                }
                Bad::Checksum
            }
            Err(bad) => bad,
        };
        match next_readable(file, at + 1, len).map_err(io)? {
            Some(next) => {
                out.damage.push(Damage {
                    kind: DamageKind::Corrupt,
                    offset: at,
                    bytes: next - at,
                    message: format!(
                        "{}, and readable records follow at byte {next}",
                        bad.describe()
                    ),
                });
                at = next;
                reader.seek(SeekFrom::Start(at)).map_err(io)?;
            }
            None => {
                let torn = is_torn(file, at, len, bad).map_err(io)?;
                out.damage.push(Damage {
                    kind: if torn {
                        DamageKind::TornTail
                    } else {
                        DamageKind::Corrupt
                    },
                    offset: at,
                    bytes: len - at,
                    message: if torn {
                        format!("{} at the end: an interrupted append", bad.describe())
                    } else {
                        format!(
                            "{} at the end, which an interrupted append does not leave",
                            bad.describe()
                        )
                    },
                });
                break;
            }
        }
    }
    Ok(out)
}

/// Reads until `buf` is full or the reader ends; how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The error that refuses a damaged journal.
pub(crate) fn damaged(path: &Path, offset: u64, message: impl Into<String>) -> Error {
    Error::Damaged {
        path: path.display().to_string(),
        offset,
        message: message.into(),
    }
}

impl Journal {
    /// Opens (or creates) the journal and returns the records stored after
    /// `applied` (the offset sled has applied), each with the offset just
    /// past it. A torn tail is cut off. A journal shorter than `applied`, or
    /// damaged past it, is refused and left as it is.
    pub fn open(path: &Path, applied: u64) -> Result<(Journal, Vec<Record>)> {
        let io = Error::io_at(path);
        if applied > 0 && !path.exists() {
            return Err(damaged(
                path,
                0,
                format!("the journal is missing, but sled has applied it up to byte {applied}; nothing was changed: run `hotline salvage`"),
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        if file_len < applied {
            return Err(damaged(
                path,
                file_len,
                format!("the journal ends at byte {file_len}, but sled has applied it up to byte {applied} ({} bytes are gone); nothing was changed: run `hotline salvage`", applied - file_len),
            ));
        }
        let mut records = Vec::new();
        let scanned = scan(path, &file, applied, |start, payload| {
            records.push((start + 8 + payload.len() as u64, payload));
            Ok(())
        })?;
        let mut good_end = file_len;
        if let Some(d) = scanned.damage.first() {
            if d.kind == DamageKind::Corrupt {
                return Err(damaged(
                    path,
                    d.offset,
                    format!("{}; nothing was changed: run `hotline salvage`", d.message),
                ));
            }
            good_end = d.offset;
        }
        if good_end < file_len {
            tracing::warn!(
                file = %path.display(),
                kept = good_end,
                dropped = file_len - good_end,
                "journal tail was torn; truncated"
            );
            file.set_len(good_end).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        Ok((
            Journal {
                path: path.to_owned(),
                file,
                len: good_end,
                broken: None,
            },
            records,
        ))
    }

    /// Appends records and makes them durable. Returns the offset past each.
    pub fn append(&mut self, payloads: &[Vec<u8>]) -> Result<Vec<u64>> {
        let io = Error::io_at(&self.path);
        let mut buf = Vec::with_capacity(payloads.iter().map(|p| p.len() + 8).sum());
        let mut ends = Vec::with_capacity(payloads.len());
        let mut end = self.len;
        for p in payloads {
            buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
            buf.extend_from_slice(&crc32fast::hash(p).to_le_bytes());
            buf.extend_from_slice(p);
            end += 8 + p.len() as u64;
            ends.push(end);
        }
        if let Some(why) = &self.broken {
            return Err(io(std::io::Error::other(format!(
                "no append is taken after a failed one that could not be cut off ({why}); restart, and the opening checks the journal"
            ))));
        }
        if let Err(e) = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data())
        {
            let error = io(e);
            self.cut_back();
            return Err(error);
        }
        self.len = end;
        Ok(ends)
    }

    /// After a failed append (a full disk writes part of a buffer, a failed
    /// sync leaves it unknown), the file is cut back to its last
    /// acknowledged byte: the next append must start where the offsets
    /// sled stores say, not behind the failed one's bytes.
    fn cut_back(&mut self) {
        if let Err(e) = self
            .file
            .set_len(self.len)
            .and_then(|()| self.file.sync_data())
        {
            tracing::error!(file = %self.path.display(), error = %e, "journal not cut back after a failed append; appends refused");
            self.broken = Some(e.to_string());
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }
}

/// Reads single records by offset, from any thread, beside the appender:
/// a record is read only after its append was synced and its offset stored.
#[derive(Debug, Clone)]
pub struct JournalReader {
    path: Arc<PathBuf>,
    file: Arc<File>,
}

impl JournalReader {
    pub fn open(path: &Path) -> Result<JournalReader> {
        let file = File::open(path).map_err(Error::io_at(path))?;
        Ok(JournalReader {
            path: Arc::new(path.to_owned()),
            file: Arc::new(file),
        })
    }

    /// The payload of the record that starts at `offset`, checked against its
    /// CRC; a record that cannot be read is `Error::Damaged`, naming the file.
    pub fn payload_at(&self, offset: u64) -> Result<Vec<u8>> {
        let bad = |message: String| damaged(&self.path, offset, message);
        let io = Error::io_at(&self.path);
        // Most records are a few kilobytes: one read takes the header and
        // the payload together, and only a longer record needs a second.
        let mut buf = vec![0u8; FIRST_READ];
        let got = read_some_at(&self.file, &mut buf, offset).map_err(io)?;
        if got < 8 {
            return Err(bad(
                "the record's header is past the end of the journal".into()
            ));
        }
        let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
        if len == 0 || len > MAX_RECORD {
            return Err(bad(format!("an impossible record length {len}")));
        }
        let end = 8 + len as usize;
        if end > got {
            buf.resize(end, 0);
            let more =
                read_some_at(&self.file, &mut buf[got..], offset + got as u64).map_err(io)?;
            if got + more < end {
                return Err(bad("the record runs past the end of the journal".into()));
            }
        }
        buf.truncate(end);
        buf.drain(..8);
        if crc32fast::hash(&buf) != crc {
            return Err(bad("the record fails its checksum".into()));
        }
        Ok(buf)
    }

    /// The records between two record boundaries, in order, each as (its
    /// offset, the offset past it, its payload). A record that cannot be
    /// read whole is given as an error, and ends the sequence.
    pub fn records(&self, from: u64, to: u64) -> impl Iterator<Item = Result<PlacedRecord>> + '_ {
        let mut at = from;
        std::iter::from_fn(move || {
            if at >= to {
                return None;
            }
            let start = at;
            match self.payload_at(start) {
                Ok(payload) => {
                    at = start + 8 + payload.len() as u64;
                    Some(Ok((start, at, payload)))
                }
                Err(e) => {
                    at = to;
                    Some(Err(e))
                }
            }
        })
    }
}

/// A record read in sequence: its offset, the offset past it, its payload.
pub type PlacedRecord = (u64, u64, Vec<u8>);

/// How much of a record is read at first: most tickets' records fit.
pub(crate) const FIRST_READ: usize = 8 << 10;

/// The offset a record starts at, from the offset just past it.
pub fn record_start(end: u64, payload_len: usize) -> u64 {
    end - 8 - payload_len as u64
}

#[cfg(test)]
mod tests {
    //! Appending, reopening past the applied offset, reading records back,
    //! and cutting a torn tail.

    use super::*;

    fn journal_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("journal.log")
    }

    /// A journal in a new directory, holding `payloads`.
    fn journal_of(payloads: &[&[u8]]) -> Result<(tempfile::TempDir, PathBuf)> {
        let dir = tempfile::tempdir().map_err(Error::io_at(Path::new("tmp")))?;
        let path = journal_path(&dir);
        let (mut journal, _) = Journal::open(&path, 0)?;
        journal.append(&payloads.iter().map(|p| p.to_vec()).collect::<Vec<_>>())?;
        Ok((dir, path))
    }

    /// What a full disk leaves: part of an append written, then the error.
    /// The bytes are cut off, and the next append starts where the last
    /// acknowledged record ends, so every record reads back.
    #[test]
    fn a_failed_appends_bytes_are_cut_before_the_next_append() -> Result<()> {
        let dir = tempfile::tempdir().map_err(Error::io_at(Path::new("tmp")))?;
        let path = journal_path(&dir);
        let (mut journal, _) = Journal::open(&path, 0)?;
        let first = journal.append(&[b"one".to_vec()])?;
        // The part of a record a failed write left behind.
        journal
            .file
            .write_all(&[7, 0, 0, 0, 1, 2])
            .map_err(Error::io_at(&path))?;
        journal.cut_back();
        assert!(journal.broken.is_none());
        let second = journal.append(&[b"two".to_vec()])?;
        assert_eq!(second, vec![first[0] + 11]);
        let reader = JournalReader::open(&path)?;
        assert_eq!(reader.payload_at(first[0])?, b"two");
        drop(journal);
        let (_, pending) = Journal::open(&path, 0)?;
        assert_eq!(pending.len(), 2);
        Ok(())
    }

    #[test]
    fn records_past_the_applied_offset_are_returned_on_open() -> Result<()> {
        let dir = tempfile::tempdir().map_err(Error::io_at(Path::new("tmp")))?;
        let path = journal_path(&dir);
        let (mut journal, pending) = Journal::open(&path, 0)?;
        assert!(pending.is_empty());
        let ends = journal.append(&[b"one".to_vec(), b"two".to_vec()])?;
        // Each record: length and CRC (8 bytes), then the payload.
        assert_eq!(ends, vec![11, 22]);
        assert_eq!(record_start(ends[1], 3), 11);
        drop(journal);

        let (journal, pending) = Journal::open(&path, ends[0])?;
        assert_eq!(pending, vec![(22, b"two".to_vec())]);
        assert_eq!(journal.len(), 22);
        let reader = JournalReader::open(&path)?;
        assert_eq!(reader.payload_at(11)?, b"two");
        let all = reader.records(0, 22).collect::<Result<Vec<_>>>()?;
        assert_eq!(
            all,
            vec![(0, 11, b"one".to_vec()), (11, 22, b"two".to_vec())]
        );
        Ok(())
    }

    #[test]
    fn a_torn_tail_is_cut_and_the_records_before_it_kept() -> Result<()> {
        let (_dir, path) = journal_of(&[b"one", b"two"])?;
        // An append that stopped inside its second record.
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(Error::io_at(&path))?;
        file.set_len(20).map_err(Error::io_at(&path))?;
        drop(file);

        let (journal, pending) = Journal::open(&path, 0)?;
        assert_eq!(pending, vec![(11, b"one".to_vec())]);
        assert_eq!(journal.len(), 11);
        let len = std::fs::metadata(&path).map_err(Error::io_at(&path))?.len();
        assert_eq!(len, 11);
        Ok(())
    }

    #[test]
    fn a_record_failing_its_checksum_is_damage_naming_the_file() -> Result<()> {
        let (_dir, path) = journal_of(&[b"one"])?;
        let mut bytes = std::fs::read(&path).map_err(Error::io_at(&path))?;
        bytes[9] ^= 0x01;
        std::fs::write(&path, &bytes).map_err(Error::io_at(&path))?;

        let read = JournalReader::open(&path)?.payload_at(0);
        assert!(
            matches!(&read, Err(Error::Damaged { path: p, offset: 0, .. }) if *p == path.display().to_string()),
            "{read:?}"
        );
        // A complete last record that fails its checksum is not a torn append.
        let refused = Journal::open(&path, 0).err();
        assert!(
            matches!(refused, Some(Error::Damaged { offset: 0, .. })),
            "{refused:?}"
        );
        Ok(())
    }
}
