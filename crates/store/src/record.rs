//! The journal record codec: a ticket version with its index words and text hash, as one payload.

use crate::error::{Error, Result};
use crate::journal::RECORD_VERSION;
use crate::model::Ticket;

/// One change: the full resulting ticket, so replaying it is idempotent.
#[derive(Debug, Clone)]
pub(crate) struct JournalEntry {
    pub(crate) seq: u64,
    pub(crate) ticket: Ticket,
    /// The index words, on creation only.
    pub(crate) tokens: Option<String>,
    /// Normalised text hash (repeat detection), on creation only.
    pub(crate) text_hash: Option<u64>,
    /// Whether sled already maps `text_hash` to an earlier ticket, when the
    /// writer knows (it looked while checking for a repeat); None on replay.
    /// Not journaled.
    pub(crate) text_hash_taken: Option<bool>,
}

// Journal record: version (`journal::RECORD_VERSION`, 1) · seq · text hash
// (0 = none) · tokens length (u32::MAX = none) · tokens · the ticket's JSON.
// The record is the one copy of that version of the ticket: sled keeps where
// it is ([`TicketAt`]).

pub(crate) fn encode_entry(entry: &JournalEntry) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(&entry.ticket).map_err(|e| Error::Corrupt {
        key: entry.ticket.id.to_string(),
        message: e.to_string(),
    })?;
    Ok(encode_record(
        entry.seq,
        entry.text_hash.unwrap_or(0),
        entry.tokens.as_deref().map(str::as_bytes),
        &json,
    ))
}

pub(crate) fn encode_record(
    seq: u64,
    text_hash: u64,
    tokens: Option<&[u8]>,
    json: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(25 + tokens.map_or(0, <[u8]>::len) + json.len());
    out.push(RECORD_VERSION);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&text_hash.to_le_bytes());
    out.extend_from_slice(&tokens.map_or(u32::MAX, |t| t.len() as u32).to_le_bytes());
    out.extend_from_slice(tokens.unwrap_or_default());
    out.extend_from_slice(json);
    out
}

/// The parts of a record, borrowed from its payload.
pub(crate) struct RecordParts<'a> {
    pub(crate) seq: u64,
    pub(crate) text_hash: u64,
    pub(crate) tokens: Option<&'a [u8]>,
    pub(crate) json: &'a [u8],
}

pub(crate) fn record_parts(payload: &[u8], at: u64) -> Result<RecordParts<'_>> {
    let corrupt = |message: &str| Error::Corrupt {
        key: format!("journal@{at}"),
        message: message.to_owned(),
    };
    let u64_at = |i: usize| -> Result<u64> {
        Ok(u64::from_le_bytes(
            payload
                .get(i..i + 8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| corrupt("short record"))?,
        ))
    };
    if payload.first() != Some(&RECORD_VERSION) {
        return Err(corrupt("unknown record version"));
    }
    let len = u32::from_le_bytes(
        payload
            .get(17..21)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupt("short record"))?,
    );
    let (tokens, json) = if len == u32::MAX {
        (None, &payload[21..])
    } else {
        let end = 21 + len as usize;
        let tokens = payload
            .get(21..end)
            .ok_or_else(|| corrupt("short record"))?;
        (Some(tokens), &payload[end..])
    };
    Ok(RecordParts {
        seq: u64_at(1)?,
        text_hash: u64_at(9)?,
        tokens,
        json,
    })
}

/// The index words of a record, without decoding its ticket.
pub(crate) fn decode_tokens(payload: &[u8], at: u64) -> Result<Option<String>> {
    Ok(record_parts(payload, at)?
        .tokens
        .map(|t| String::from_utf8_lossy(t).into_owned()))
}

/// The ticket of a record, without copying its index words.
pub(crate) fn ticket_of_record(payload: &[u8], at: u64) -> Result<Ticket> {
    let json = record_parts(payload, at)?.json;
    serde_json::from_slice(json).map_err(|e| Error::Corrupt {
        key: format!("journal@{at}"),
        message: e.to_string(),
    })
}

pub(crate) fn decode_entry(payload: &[u8], at: u64) -> Result<JournalEntry> {
    let parts = record_parts(payload, at)?;
    let ticket: Ticket = serde_json::from_slice(parts.json).map_err(|e| Error::Corrupt {
        key: format!("journal@{at}"),
        message: e.to_string(),
    })?;
    Ok(JournalEntry {
        seq: parts.seq,
        ticket,
        tokens: parts
            .tokens
            .map(|t| String::from_utf8_lossy(t).into_owned()),
        text_hash: (parts.text_hash != 0).then_some(parts.text_hash),
        text_hash_taken: None,
    })
}
