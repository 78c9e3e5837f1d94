//! An fsynced append-only journal of every accepted change.
//!
//! sled 0.34's flush does not fsync on Linux (sled issue #1452), so sled alone
//! cannot promise that an acknowledged ticket survives a power cut. Every
//! change is therefore appended here and `fdatasync`ed (one sync per group of
//! changes) before it is applied to sled and acknowledged. sled records the
//! journal offset it has applied in the same atomic batch as the change; on
//! open, whatever the journal holds past that offset is applied again.
//!
//! Record layout: payload length (u32 LE) · CRC-32 of the payload (u32 LE) ·
//! payload. A torn or corrupt record can only be at the tail (a crash during
//! an append that was never acknowledged); it is cut off on open.
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

use crate::error::{Error, Result};

/// Largest record accepted on replay; anything bigger is a corrupt length.
const MAX_RECORD: u32 = 64 << 20;

/// A journal record: the offset just past it, and its payload.
pub type Record = (u64, Vec<u8>);

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Journal {
    /// Opens (or creates) the journal and returns the records stored after
    /// `from_offset`, each with the offset just past it. A damaged tail is
    /// truncated.
    pub fn open(path: &Path, from_offset: u64) -> Result<(Journal, Vec<Record>)> {
        let io = Error::io_at(path);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut records = Vec::new();
        let mut good_end = from_offset.min(file_len);
        file.seek(SeekFrom::Start(good_end)).map_err(io)?;
        let mut reader = BufReader::new(&mut file);
        loop {
            let mut header = [0u8; 8];
            if reader.read_exact(&mut header).is_err() {
                break;
            }
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            if len > MAX_RECORD {
                break;
            }
            let mut payload = vec![0u8; len as usize];
            if reader.read_exact(&mut payload).is_err() || crc32fast::hash(&payload) != crc {
                break;
            }
            good_end += 8 + u64::from(len);
            records.push((good_end, payload));
        }
        drop(reader);
        if good_end < file_len {
            tracing::warn!(
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
        self.file.write_all(&buf).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.len = end;
        Ok(ends)
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

    /// The payload of the record that starts at `offset`, checked against its CRC.
    pub fn payload_at(&self, offset: u64) -> Result<Vec<u8>> {
        let corrupt = |message: String| Error::Corrupt {
            key: format!("journal@{offset}"),
            message,
        };
        let io = Error::io_at(&self.path);
        // Most records are a few kilobytes: one read takes the header and
        // the payload together, and only a longer record needs a second.
        let mut buf = vec![0u8; FIRST_READ];
        let got = read_some_at(&self.file, &mut buf, offset).map_err(io)?;
        if got < 8 {
            return Err(corrupt("short record header".into()));
        }
        let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
        if len > MAX_RECORD {
            return Err(corrupt(format!("record length {len} is too large")));
        }
        let end = 8 + len as usize;
        if end > got {
            buf.resize(end, 0);
            self.file
                .read_exact_at(&mut buf[got..], offset + got as u64)
                .map_err(io)?;
        }
        buf.truncate(end);
        buf.drain(..8);
        if crc32fast::hash(&buf) != crc {
            return Err(corrupt("checksum mismatch".into()));
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

/// The offset a record starts at, from the offset just past it.
pub fn record_start(end: u64, payload_len: usize) -> u64 {
    end - 8 - payload_len as u64
}
