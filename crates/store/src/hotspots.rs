//! What the hot-spot detector reads from the store: daily counts per place
//! and topic (the counters' full view, so the cost follows the days read,
//! not the tickets stored), and the recent tickets of each address.
//!
//! Addresses: sled keeps one key per ticket with an address, `w` · district
//! (length-prefixed, empty when unknown) · day of receipt · normalised
//! address · 0 · id, whose value is a 64-bit hash of the caller (never the
//! number itself; 0 for an unknown caller). Like the queue keys, it is a
//! pure function of the ticket, written in the ticket's batch and recounted
//! by `verify`. A district's query for the last days reads only its own keys
//! of those days, so a district-limited reader cannot time other districts'
//! addresses; the city's query reads each district's days in turn.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use uuid::Uuid;

use crate::counters::{day_number, Column, CounterKey, Counts};
use crate::error::Result;
pub(crate) use crate::keys::ADDRESS;
use crate::keys::{after_prefix, district_prefix, key, split_district, COUNTER, TICKET};
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

/// The recent tickets of one address of one district, from at least
/// `min_callers` callers.
#[derive(Debug, Clone)]
pub struct AddressGroup {
    /// Empty for tickets without a district.
    pub district: String,
    pub address: String,
    pub tickets: Vec<Ticket>,
}

/// The address groups of a query, and how many address keys it read (the
/// tests' measure that a district reads its own keys only).
#[derive(Debug, Clone, Default)]
pub struct AddressGroups {
    pub groups: Vec<AddressGroup>,
    pub keys_read: u64,
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
    let district = ticket.district.as_deref();
    let address = normalise_address(ticket.address.as_deref()?, district)?;
    let mut k = district_prefix(ADDRESS, district.unwrap_or_default());
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

/// The address and id of an address key (after its district and day).
fn decode(k: &[u8]) -> Option<(&str, Uuid)> {
    let (_, rest) = split_district(k)?;
    let rest = rest.get(4..)?;
    let split = rest.len().checked_sub(17)?;
    if rest.get(split) != Some(&0) {
        return None;
    }
    let address = std::str::from_utf8(&rest[..split]).ok()?;
    let id = Uuid::from_slice(&rest[split + 1..]).ok()?;
    Some((address, id))
}

/// The ids and distinct callers of each district's address.
type Addresses = BTreeMap<(String, String), (Vec<Uuid>, HashSet<u64>)>;

/// Reads one district's address keys in `range` (its days) into `into`.
fn read_days(
    tree: &sled::Tree,
    district: &str,
    range: std::ops::Range<Vec<u8>>,
    into: &mut Addresses,
    keys_read: &mut u64,
) -> Result<()> {
    for item in tree.range(range) {
        let (k, v) = item?;
        *keys_read += 1;
        let Some((address, id)) = decode(&k) else {
            tracing::warn!("address key cannot be decoded; skipped (verify names it)");
            continue;
        };
        let caller = v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0);
        let entry = into
            .entry((district.to_owned(), address.to_owned()))
            .or_default();
        entry.0.push(id);
        if caller != 0 {
            entry.1.insert(caller);
        }
    }
    Ok(())
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

    /// The tickets received from `from` to `to` at each address of
    /// `district` (every district's when None) that `min_callers` different
    /// known callers named, oldest first, by district and address. Reads
    /// the address keys of those days in that district (in each district in
    /// turn, for the city), then only the tickets of such addresses.
    pub fn address_groups(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        min_callers: usize,
        district: Option<&str>,
    ) -> Result<AddressGroups> {
        let days = |prefix: &[u8]| {
            let start = [prefix, &day_number(from).to_be_bytes()].concat();
            let end = [prefix, &(day_number(to) + 1).to_be_bytes()].concat();
            (start, end)
        };
        let mut keys_read = 0u64;
        let mut by_address = Addresses::new();
        match district {
            Some(d) => {
                let (start, end) = days(&district_prefix(ADDRESS, d));
                read_days(
                    &self.inner.tree,
                    d,
                    start..end,
                    &mut by_address,
                    &mut keys_read,
                )?;
            }
            None => {
                // Skip from one district's keys to the next: one seek per
                // district, then only the days asked for.
                let mut cursor = vec![ADDRESS];
                let space_end = vec![ADDRESS + 1];
                while let Some(item) = self.inner.tree.range(cursor..space_end.clone()).next() {
                    let (k, _) = item?;
                    keys_read += 1;
                    let Some((name, _)) = split_district(&k) else {
                        tracing::warn!("address key cannot be decoded; skipped (verify names it)");
                        cursor = k.to_vec();
                        cursor.push(0);
                        continue;
                    };
                    let name = name.to_owned();
                    let prefix = district_prefix(ADDRESS, &name);
                    let (start, end) = days(&prefix);
                    read_days(
                        &self.inner.tree,
                        &name,
                        start..end,
                        &mut by_address,
                        &mut keys_read,
                    )?;
                    match after_prefix(&prefix) {
                        Some(next) => cursor = next,
                        None => break,
                    }
                }
            }
        }
        let mut groups = Vec::new();
        for ((district, address), (ids, callers)) in by_address {
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
                    // A key under another district than its ticket's (a
                    // damaged or stale key, which `verify` names) shows
                    // nothing: the district filter never rests on a key alone.
                    Ok(t) if t.district.as_deref().unwrap_or_default() != district => {
                        tracing::warn!(id = %t.id, "address key under another district than its ticket; skipped (verify names it)");
                    }
                    Ok(t) => tickets.push(t),
                    Err(e) if e.is_unreadable() => continue,
                    Err(e) => return Err(e),
                }
            }
            if tickets.is_empty() {
                continue;
            }
            tickets.sort_by_key(|t| (t.received_at, t.id));
            groups.push(AddressGroup {
                district,
                address,
                tickets,
            });
        }
        Ok(AddressGroups { groups, keys_read })
    }
}

#[cfg(test)]
mod tests {
    use super::{normalise_address, normalise_masked_address, ADDRESS};
    use crate::keys::{district_prefix, split_district};
    use crate::testing::{new_ticket, stamp_queue_layout, submit_one};
    use crate::{Store, StoreConfig};
    use chrono::NaiveDate;

    /// Moves an address key from under its district to under `prefix`.
    fn move_key(tree: &sled::Tree, k: &[u8], v: sled::IVec, prefix: &[u8]) {
        let (_, rest) = split_district(k).unwrap_or_else(|| panic!("{k:?}"));
        tree.remove(k).unwrap_or_else(|e| panic!("{e}"));
        tree.insert([prefix, rest].concat(), v)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// A store whose address keys were laid out before they were kept by
    /// district (stamp "v3 ", `w` · day · address · id) has them moved
    /// under their district at its next opening, before any query: a
    /// district's query then reads its own keys of the window only, and
    /// the same address in two districts is two places.
    #[test]
    fn an_older_stores_address_keys_move_under_their_district() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut n = 0;
        for (district, callers, day) in [
            ("朝阳区", 3, 6),
            ("海淀区", 3, 6),
            ("海淀区", 2, 6),
            ("海淀区", 5, 1),
        ] {
            for _ in 0..callers {
                n += 1;
                let mut new = new_ticket(&format!("学院路小区12号楼电梯坏了{n}"), "");
                new.district = Some(district.into());
                new.address = Some(format!("北京市{district}学院路小区12号楼"));
                new.caller_phone = Some(format!("139{n:08}"));
                new.received_at =
                    NaiveDate::from_ymd_opt(2024, 5, day).and_then(|d| d.and_hms_opt(9, 0, 0));
                submit_one(&store, new);
            }
        }
        // As an older version left them: the day first, no district.
        let tree = store.inner.tree.clone();
        let keys: Vec<(sled::IVec, sled::IVec)> = tree
            .scan_prefix([ADDRESS])
            .map(|i| i.unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert_eq!(keys.len(), 13);
        for (k, v) in keys {
            move_key(&tree, &k, v, &[ADDRESS]);
        }
        stamp_queue_layout(&store, 3);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop((store, tree));

        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let day = |d| NaiveDate::from_ymd_opt(2024, 5, d).unwrap_or_default();
        let haidian = store
            .address_groups(day(4), day(6), 3, Some("海淀区"))
            .unwrap_or_else(|e| panic!("{e}"));
        // Five keys of 海淀's window: not 朝阳's three, not 海淀's day 1.
        assert_eq!(haidian.keys_read, 5);
        let places: Vec<(&str, &str, usize)> = haidian
            .groups
            .iter()
            .map(|g| (g.district.as_str(), g.address.as_str(), g.tickets.len()))
            .collect();
        assert_eq!(places, vec![("海淀区", "学院路小区12号楼", 5)]);
        let city = store
            .address_groups(day(4), day(6), 3, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let places: Vec<(&str, usize)> = city
            .groups
            .iter()
            .map(|g| (g.district.as_str(), g.tickets.len()))
            .collect();
        assert_eq!(places, vec![("朝阳区", 3), ("海淀区", 5)]);
        // One seek per district, then its window's keys.
        assert_eq!(city.keys_read, 2 + 3 + 5);
        assert!(store.verify().unwrap_or_else(|e| panic!("{e}")).is_ok());
        // A key moved under another district is named by verify.
        let tree = store.inner.tree.clone();
        let (k, v) = tree
            .scan_prefix([ADDRESS])
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("no address key"));
        move_key(&tree, &k, v, &district_prefix(ADDRESS, "西城区"));
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        let found = report.queue_mismatches.join("\n");
        for expected in ["is missing", "does not follow"] {
            assert!(found.contains(expected), "{expected}: {found}");
        }
        // Nor does the moved key show its ticket to the district it now
        // sits under, even with every one of 朝阳's keys moved there.
        for item in tree.scan_prefix(district_prefix(ADDRESS, "朝阳区")) {
            let (k, v) = item.unwrap_or_else(|e| panic!("{e}"));
            move_key(&tree, &k, v, &district_prefix(ADDRESS, "西城区"));
        }
        let xicheng = store
            .address_groups(day(4), day(6), 1, Some("西城区"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(xicheng.keys_read, 3);
        assert!(xicheng.groups.is_empty(), "{:?}", xicheng.groups);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    }

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
