//! What the hot-spot detector reads from the store: daily counts per place
//! and topic (the counters' full view, so the cost follows the days read,
//! not the tickets stored), and the recent tickets of each address.
//!
//! Addresses: sled keeps one key per ticket with an address, `w` · day of
//! receipt · normalised address · 0 · id, whose value is a 64-bit
//! hash of the caller (never the number itself; 0 for an unknown caller).
//! Like the queue keys, it is a pure function of the ticket, written in the
//! ticket's batch and recounted by `verify`. A query for the last days
//! reads only those days' keys.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use uuid::Uuid;

use crate::counters::{day_number, Column, CounterKey, Counts};
use crate::error::Result;
pub(crate) use crate::keys::ADDRESS;
use crate::keys::{key, COUNTER, TICKET};
use crate::location::read_ticket;
use crate::model::Ticket;
use crate::repeats::caller_key;
use crate::store::Store;
use crate::views::{counter_key, View};

/// Received tickets of one topic in one district on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceDay {
    pub day: NaiveDate,
    pub topic: String,
    pub district: String,
    /// New 诉求 and consultations, repeats excluded: one caller calling
    /// again is not a burst.
    pub received: i64,
}

/// The recent tickets of one address, from at least `min_callers` callers.
#[derive(Debug, Clone)]
pub struct AddressGroup {
    pub address: String,
    pub tickets: Vec<Ticket>,
}

/// The address as a place: full-width letters and digits folded, spaces and
/// punctuation dropped, 北京市 and the district's name dropped from the
/// front, and everything after the first 号 (号楼, 号院: the building)
/// dropped, so that `北京市朝阳区望京西园三区312号楼2单元` and
/// `望京西园三区 312号楼` are one address. None when fewer than four
/// characters remain (no place to recognise).
pub fn normalise_address(address: &str, district: Option<&str>) -> Option<String> {
    normalise(address, district, false)
}

/// [`normalise_address`] of an address already masked for a reader without
/// `pii`: each `*` stays where the mask hid a character, so the place shown
/// holds nothing the masked address does not.
pub fn normalise_masked_address(address: &str, district: Option<&str>) -> Option<String> {
    normalise(address, district, true)
}

fn normalise(address: &str, district: Option<&str>, keep_masks: bool) -> Option<String> {
    let mut s: String = address
        .chars()
        .filter_map(|c| match c {
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                char::from_u32(c as u32 - 0xFEE0).map(|c| c.to_ascii_uppercase())
            }
            c if c.is_alphanumeric() => Some(c.to_ascii_uppercase()),
            '*' if keep_masks => Some('*'),
            _ => None,
        })
        .collect();
    for prefix in ["北京市", "北京"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_owned();
        }
    }
    if let Some(d) = district {
        let short = d.trim_end_matches('区');
        for prefix in [d, short] {
            if !prefix.is_empty() {
                if let Some(rest) = s.strip_prefix(prefix) {
                    s = rest.to_owned();
                    break;
                }
            }
        }
    }
    if let Some(i) = s.find('号') {
        let end = i + '号'.len_utf8();
        let keep = match s[end..].chars().next() {
            Some(c @ ('楼' | '院')) => end + c.len_utf8(),
            _ => end,
        };
        s.truncate(keep);
    }
    (s.chars().count() >= 4).then_some(s)
}

fn caller_hash(ticket: &Ticket) -> u64 {
    let Some(key) = ticket.caller_phone.as_deref().and_then(caller_key) else {
        return 0;
    };
    // FNV-1a: stable, and only compared with other tickets' hashes.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h.max(1)
}

/// The ticket's address key and value, if it has a dated receipt and an address.
pub(crate) fn address_entry(ticket: &Ticket) -> Option<(Vec<u8>, Vec<u8>)> {
    let day = ticket.day()?;
    let address = normalise_address(ticket.address.as_deref()?, ticket.district.as_deref())?;
    let mut k = Vec::with_capacity(22 + address.len());
    k.push(ADDRESS);
    k.extend_from_slice(&day_number(day).to_be_bytes());
    k.extend_from_slice(address.as_bytes());
    k.push(0);
    k.extend_from_slice(ticket.id.as_bytes());
    Some((k, caller_hash(ticket).to_be_bytes().to_vec()))
}

/// Moves a ticket's address key from its old version to its new one.
pub(crate) fn update(batch: &mut sled::Batch, old: Option<&Ticket>, new: &Ticket) {
    let before = old.and_then(address_entry);
    let after = address_entry(new);
    if before == after {
        return;
    }
    if let Some((k, _)) = before {
        batch.remove(k);
    }
    if let Some((k, v)) = after {
        batch.insert(k, v);
    }
}

fn decode(k: &[u8]) -> Option<(String, Uuid)> {
    let rest = k.get(5..)?;
    let split = rest.len().checked_sub(17)?;
    if rest.get(split) != Some(&0) {
        return None;
    }
    let address = String::from_utf8(rest[..split].to_vec()).ok()?;
    let id = Uuid::from_slice(&rest[split + 1..]).ok()?;
    Some((address, id))
}

impl Store {
    /// Received tickets per day, topic and district from `from` to `to`
    /// (inclusive), read from the day counters' full view.
    pub fn place_topic_days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<PlaceDay>> {
        let first = CounterKey {
            day: day_number(from),
            topic: String::new(),
            district: String::new(),
            kind: crate::model::Kind::Consultation,
            street: String::new(),
        };
        let start = counter_key(COUNTER, View::Full, &first);
        let end = [
            &[COUNTER, View::Full as u8][..],
            &(day_number(to) + 1).to_be_bytes(),
        ]
        .concat();
        let mut sums: BTreeMap<(u32, String, String), i64> = BTreeMap::new();
        for item in self.inner.tree.range(start..end) {
            let (k, v) = item?;
            let (Some(ck), Some(c)) = (CounterKey::decode(&k[2..]), Counts::decode(&v)) else {
                continue;
            };
            *sums.entry((ck.day, ck.topic, ck.district)).or_default() += c.get(Column::Received);
        }
        Ok(sums
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .filter_map(|((day, topic, district), received)| {
                Some(PlaceDay {
                    day: crate::counters::day_date(day)?,
                    topic,
                    district,
                    received,
                })
            })
            .collect())
    }

    /// The tickets received from `from` to `to` at each address that
    /// `min_callers` different known callers named, oldest first. Reads the
    /// address keys of those days, then only the tickets of such addresses.
    pub fn address_groups(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        min_callers: usize,
    ) -> Result<Vec<AddressGroup>> {
        let start = [&[ADDRESS][..], &day_number(from).to_be_bytes()].concat();
        let end = [&[ADDRESS][..], &(day_number(to) + 1).to_be_bytes()].concat();
        let mut by_address: HashMap<String, (Vec<Uuid>, HashSet<u64>)> = HashMap::new();
        for item in self.inner.tree.range(start..end) {
            let (k, v) = item?;
            let Some((address, id)) = decode(&k) else {
                continue;
            };
            let caller = v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0);
            let entry = by_address.entry(address).or_default();
            entry.0.push(id);
            if caller != 0 {
                entry.1.insert(caller);
            }
        }
        let mut groups = Vec::new();
        for (address, (ids, callers)) in by_address {
            if callers.len() < min_callers {
                continue;
            }
            let mut tickets = Vec::with_capacity(ids.len());
            for id in ids {
                let k = key(TICKET, id.as_bytes());
                let Some(v) = self.inner.tree.get(&k)? else {
                    continue;
                };
                match read_ticket(&self.inner.journal, &k, &v) {
                    Ok(t) => tickets.push(t),
                    Err(e) if e.is_unreadable() => continue,
                    Err(e) => return Err(e),
                }
            }
            tickets.sort_by_key(|t| (t.received_at, t.id));
            groups.push(AddressGroup { address, tickets });
        }
        groups.sort_by(|a, b| a.address.cmp(&b.address));
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::{normalise_address, normalise_masked_address};

    #[test]
    fn addresses_are_one_place_however_written() {
        let a = normalise_address("北京市朝阳区望京西园三区312号楼2单元501", Some("朝阳区"));
        assert_eq!(a.as_deref(), Some("望京西园三区312号楼"));
        assert_eq!(
            normalise_address("望京西园三区 ３１２号楼", Some("朝阳区")),
            a
        );
        assert_eq!(
            normalise_address("朝阳望京西园三区312号楼3单元", Some("朝阳区")),
            a
        );
        assert_ne!(normalise_address("望京西园三区313号楼", Some("朝阳区")), a);
        assert_eq!(normalise_address("小区", None), None);
    }

    #[test]
    fn a_masked_address_keeps_its_masks_where_a_key_drops_them() {
        let masked = "北京市朝阳区望京花园张**家（139****5678）楼下";
        assert_eq!(
            normalise_masked_address(masked, Some("朝阳区")).as_deref(),
            Some("望京花园张**家139****5678楼下")
        );
        assert_eq!(
            normalise_address(masked, Some("朝阳区")).as_deref(),
            Some("望京花园张家1395678楼下")
        );
    }
}
