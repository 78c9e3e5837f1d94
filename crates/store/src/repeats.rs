//! Repeat detection: caller keys, text hashes, the writer's facts of recent tickets, the search.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::keys::{key, PHONE, TEXT_HASH};
use crate::model::{NewTicket, Ticket};
use crate::writer::{Pending, Writer};

/// Who called, for repeat detection: the digits of the caller's phone
/// (full-width ones too), without a leading country code, so that
/// `138-1234-5678`, `13812345678` and `+86 138 1234 5678` are one caller.
/// None when it has fewer than five digits (no caller to recognise).
pub fn caller_key(phone: &str) -> Option<String> {
    let digits: String = phone
        .chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            _ => None,
        })
        .collect();
    let digits = match digits
        .strip_prefix("0086")
        .or_else(|| digits.strip_prefix("86"))
    {
        Some(rest) if rest.len() == 11 && rest.starts_with('1') => rest.to_owned(),
        _ => digits,
    };
    (digits.len() >= 5).then_some(digits)
}

/// FNV-1a over the letters and digits of a text: the same complaint
/// re-typed with other spacing or punctuation hashes the same. Stable across
/// versions, unlike std's hasher.
pub(crate) fn text_hash(text: &str) -> Option<u64> {
    let mut hash: u64 = 0xcbf29ce484222325;
    let mut n = 0;
    for c in text.chars() {
        // CJK first: it is most of the text and the general test is slow for it.
        let keep = matches!(c, '\u{4E00}'..='\u{9FFF}') || c.is_alphanumeric();
        if !keep {
            continue;
        }
        let c = if c.is_ascii_uppercase() {
            c.to_ascii_lowercase()
        } else {
            c
        };
        for b in (c as u32).to_le_bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x100000001b3);
        }
        n += 1;
    }
    (n >= 10).then_some(hash)
}

/// What repeat detection needs of an earlier ticket, kept by the writer for
/// the tickets it has written lately, so that a repeat does not read and
/// decode the whole earlier ticket. Exact for the same reason as the counter
/// cache: only the writer changes tickets.
#[derive(Debug, Clone)]
pub(crate) struct RepeatFacts {
    pub(crate) open: bool,
    /// Received time, or acceptance time when undated.
    pub(crate) at: NaiveDateTime,
    pub(crate) topic: String,
    /// The first ticket of its chain of repeats.
    pub(crate) root: Uuid,
    /// Who called ([`caller_key`]); a repeat needs the same caller.
    pub(crate) caller: Option<String>,
    /// A repeat never crosses districts (each district answers for its own).
    pub(crate) district: Option<String>,
}

impl RepeatFacts {
    pub(crate) fn of(t: &Ticket) -> RepeatFacts {
        RepeatFacts {
            open: t.is_open(),
            at: t
                .received_at
                .unwrap_or_else(|| crate::beijing_time(t.accepted_at)),
            topic: t.topic.slug.clone(),
            root: t.repeat_of.unwrap_or(t.id),
            caller: t.caller_phone.as_deref().and_then(caller_key),
            district: t.district.clone(),
        }
    }
}

pub(crate) const REPEAT_FACTS_TICKETS: usize = 200_000;

impl Writer {
    /// The earlier open ticket this one repeats, if any (its root, when it
    /// is a repeat itself), and whether an earlier ticket has the same text hash.
    ///
    /// A repeat is the same complaint by the same caller with no new facts
    /// (接诉即办条例 第十一条): the same phone ([`caller_key`]), the same
    /// district, an open ticket within the window, and the same topic or
    /// the same text. The same words from another caller, from an unknown
    /// one or from another district are a 诉求 of their own, and so is a
    /// neighbour's call from the same address.
    pub(crate) fn find_repeat(
        &self,
        new: &NewTicket,
        hash: Option<u64>,
        pending: &Pending,
    ) -> Result<(Option<Uuid>, bool)> {
        let mut hash_taken = false;
        let mut by_text = None;
        if let Some(h) = hash {
            by_text = match pending.by_hash.get(&h) {
                Some(id) => Some(*id),
                None => self
                    .tree
                    .get(key(TEXT_HASH, &h.to_be_bytes()))?
                    .and_then(|v| Uuid::from_slice(&v).ok()),
            };
            hash_taken = by_text.is_some();
        }
        let Some(caller) = new.caller_phone.as_deref().and_then(caller_key) else {
            return Ok((None, hash_taken));
        };
        let window = chrono::Duration::days(i64::from(self.window_days));
        let when = new.received_at.unwrap_or_else(crate::beijing_now);
        let same_complaint = |f: &RepeatFacts, same_text: bool| {
            f.open
                && f.at <= when
                && when - f.at <= window
                && f.caller.as_deref() == Some(caller.as_str())
                && f.district == new.district
                && (same_text || f.topic == new.topic.slug)
        };
        // (id, same text): the first ticket with this text, then the
        // caller's latest tickets.
        let mut candidates: Vec<(Uuid, bool)> = by_text.map(|id| (id, true)).into_iter().collect();
        if let Some(ids) = pending.by_phone.get(&caller) {
            candidates.extend(ids.iter().rev().map(|id| (*id, false)));
        }
        // Keys written before phones were normalised hold the phone as given.
        let spellings: Vec<&str> = match new.caller_phone.as_deref().map(str::trim) {
            Some(given) if given != caller => vec![caller.as_str(), given],
            _ => vec![caller.as_str()],
        };
        for spelling in spellings {
            let mut prefix = key(PHONE, spelling.as_bytes());
            prefix.push(0);
            for item in self.tree.scan_prefix(&prefix).rev().take(50) {
                let (k, _) = item?;
                if let Ok(id) = Uuid::from_slice(&k[prefix.len()..]) {
                    candidates.push((id, false));
                }
            }
        }
        let mut seen = HashSet::new();
        for (id, same_text) in candidates {
            if !seen.insert(id) {
                continue;
            }
            let Some(f) = self.repeat_facts_of(id, pending)? else {
                continue;
            };
            if same_complaint(&f, same_text) {
                return Ok((Some(f.root), hash_taken));
            }
        }
        Ok((None, hash_taken))
    }

    pub(crate) fn repeat_facts_of(
        &self,
        id: Uuid,
        pending: &Pending,
    ) -> Result<Option<RepeatFacts>> {
        if let Some(t) = pending.ticket(&id) {
            return Ok(Some(RepeatFacts::of(t)));
        }
        if let Some(f) = self.repeat_facts.get(&id) {
            return Ok(Some(f.clone()));
        }
        Ok(self.load(id, pending)?.as_ref().map(RepeatFacts::of))
    }
}

#[cfg(test)]
mod tests {
    //! Who called and what was said, as repeat detection compares them.

    use super::*;

    #[test]
    fn every_spelling_of_a_phone_is_one_caller() {
        let caller = caller_key("13812345678");
        assert_eq!(caller.as_deref(), Some("13812345678"));
        for spelling in [
            "138-1234-5678",
            "+86 138 1234 5678",
            "0086 13812345678",
            "１３８１２３４５６７８",
        ] {
            assert_eq!(caller_key(spelling), caller, "{spelling}");
        }
        // A landline keeps its digits; too few digits are no caller.
        assert_eq!(caller_key("010-6512-3456").as_deref(), Some("01065123456"));
        assert_eq!(caller_key("1234"), None);
    }

    #[test]
    fn the_same_text_retyped_hashes_the_same() {
        let hash = text_hash("楼道里有人飞线充电，很危险！");
        assert!(hash.is_some());
        assert_eq!(text_hash("楼道里有人 飞线充电 很危险"), hash);
        assert_ne!(text_hash("楼道里有人飞线充电，不危险！"), hash);
        assert_eq!(
            text_hash("Noise at NIGHT again!!"),
            text_hash("noise at night again")
        );
        // Fewer than ten letters and digits: too short to call the same.
        assert_eq!(text_hash("太吵了！"), None);
    }
}
