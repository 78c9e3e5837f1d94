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
// it is (`location::TicketAt`).

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

#[cfg(test)]
mod tests {
    //! The record codec: its byte layout, and entries read back as written.

    use super::*;
    use crate::testing::ticket;

    /// The layout journals on disk hold: it must not change by accident.
    #[test]
    fn a_record_is_laid_out_byte_for_byte() {
        let record = encode_record(7, 0x0102_0304_0506_0708, Some(b"ab c"), b"{}");
        let mut want = vec![1u8];
        want.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
        want.extend_from_slice(&[4, 0, 0, 0]);
        want.extend_from_slice(b"ab c{}");
        assert_eq!(record, want);
        let without_words = encode_record(7, 0, None, b"{}");
        assert_eq!(&without_words[17..21], &[0xff; 4]);
        assert_eq!(&without_words[21..], b"{}");
    }

    #[test]
    fn an_entry_reads_back_as_written() -> Result<()> {
        let created = JournalEntry {
            seq: 42,
            ticket: ticket("楼道里飞线充电很危险"),
            tokens: Some("楼道 飞线充电 危险".into()),
            text_hash: Some(99),
            text_hash_taken: Some(true),
        };
        let payload = encode_entry(&created)?;
        let back = decode_entry(&payload, 0)?;
        assert_eq!(back.seq, 42);
        assert_eq!(back.ticket, created.ticket);
        assert_eq!(back.tokens, created.tokens);
        assert_eq!(back.text_hash, Some(99));
        // Not journaled: replay looks in sled.
        assert_eq!(back.text_hash_taken, None);
        assert_eq!(decode_tokens(&payload, 0)?, created.tokens);
        assert_eq!(ticket_of_record(&payload, 0)?, created.ticket);

        let changed = JournalEntry {
            tokens: None,
            text_hash: None,
            text_hash_taken: None,
            ..created
        };
        let back = decode_entry(&encode_entry(&changed)?, 0)?;
        assert_eq!((back.tokens, back.text_hash), (None, None));
        Ok(())
    }

    /// Records written before tickets kept a street have no `street` in
    /// their JSON (the layout around it is unchanged): they read as None,
    /// and a street written now reads back.
    #[test]
    fn a_record_written_before_streets_reads_without_one() -> Result<()> {
        let mut t = ticket("楼道里飞线充电很危险");
        t.street = Some("望京街道".into());
        let mut json: serde_json::Value = serde_json::to_value(&t).map_err(|e| Error::Corrupt {
            key: String::new(),
            message: e.to_string(),
        })?;
        assert_eq!(json["street"], "望京街道");
        let with = encode_record(3, 0, None, json.to_string().as_bytes());
        assert_eq!(
            ticket_of_record(&with, 0)?.street.as_deref(),
            Some("望京街道")
        );
        if let Some(fields) = json.as_object_mut() {
            fields.remove("street");
        }
        let older = encode_record(3, 0, Some(b"w"), json.to_string().as_bytes());
        let back = decode_entry(&older, 0)?;
        assert_eq!(back.ticket.street, None);
        assert_eq!(back.ticket.text, t.text);
        Ok(())
    }

    #[test]
    fn a_short_or_unknown_record_is_corrupt_naming_its_offset() {
        let payload = encode_record(1, 0, Some(b"abc"), b"{}");
        for bad in [&payload[..10], &payload[..22], &[2u8, 0, 0][..]] {
            let error = record_parts(bad, 512).err().map(|e| e.to_string());
            assert!(
                error.as_deref().is_some_and(|e| e.contains("journal@512")),
                "{error:?}"
            );
        }
    }
}
