//! The key spaces of the tickets' sled tree, and how their keys are built and read.

use uuid::Uuid;

use crate::error::Result;

// Key spaces of the one sled tree (one tree, so a batch is atomic across all);
// metadata keys start with b'm'.
/// Ticket id → `location::TicketAt`.
pub(crate) const TICKET: u8 = b't';
/// Counter rows per day; each key is space · view · day · topic · district · kind.
pub(crate) const COUNTER: u8 = b'c';
/// The same counters rolled up per month, so a long range reads few rows.
pub(crate) const MONTH_COUNTER: u8 = b'n';
/// The ranking views (by district, by street) rolled up per assessment
/// month (keyed by its first day), so the monthly ranking reads few rows.
pub(crate) const ASSESSMENT_COUNTER: u8 = b'g';
pub(crate) const EXTERNAL: u8 = b'x';
/// Callers' phones (as `repeats::caller_key` writes them) · id: repeat detection.
pub(crate) const PHONE: u8 = b'p';
pub(crate) const TEXT_HASH: u8 = b'h';
/// Router decisions and overrides: model · topic · district → counts (`decisions`).
pub(crate) const DECISION: u8 = b'o';
/// The deadline queue: deadline · id → an open ticket's stage and holder (`queue`).
pub(crate) const QUEUE: u8 = b'q';
/// The same keys by district: district (length-prefixed) · deadline · id,
/// so that a district's queue walks its own open tickets only (`queue`).
pub(crate) const QUEUE_BY_DISTRICT: u8 = b'r';
/// Open tickets per allowance · deadline hour · department (`queue_counts`).
pub(crate) const QUEUE_BUCKET: u8 = b'b';
/// The layout version and deadlines the `q`, `r`, `b` and `w` keys were computed with.
pub(crate) const META_QUEUE_CONFIG: &[u8] = b"mqueue_config";
/// District (length-prefixed) · day · normalised address · id → a hash of
/// the caller (`hotspots`), so that a district's query reads its own keys.
pub(crate) const ADDRESS: u8 = b'w';
/// Counter rows per holding department, per day and per month (`departments`).
pub(crate) const DEPT_DAY: u8 = b'e';
pub(crate) const DEPT_MONTH: u8 = b'f';
/// Set once the decisions of the tickets already stored have been counted.
pub(crate) const META_DECISIONS: &[u8] = b"mdecisions_counted";
/// How the counter views are laid out (`views::layout_stamp`): set once the
/// tickets already stored have been counted into every view and grain.
pub(crate) const META_STREETS: &[u8] = b"mstreets_counted";
/// The deadlines the counter rows (`c`, `n`, `e`, `f`) were counted with
/// (`views::deadlines_stamp`): when the configuration's differ, they are
/// counted again at the next opening.
pub(crate) const META_COUNTER_DEADLINES: &[u8] = b"mcounter_deadlines";
pub(crate) const META_JOURNAL: &[u8] = b"mjournal_offset";
pub(crate) const META_SEQ: &[u8] = b"mlast_seq";
/// Which journal file is live: 0 (`journal.log`) until the first compaction.
pub(crate) const META_JOURNAL_GENERATION: &[u8] = b"mjournal_generation";
/// A keyed hash of a fixed text under `personal.key`: tells a changed or
/// foreign key from the store's own (`personal`).
pub(crate) const META_PERSONAL_KEY_CHECK: &[u8] = b"mpersonal_key_check";
/// Set while `Store::salvage` rebuilds the tickets' keys: the generation of
/// the journal it rebuilds them from (complete and fsynced before this is set).
pub(crate) const META_SALVAGE: &[u8] = b"msalvage_generation";

pub(crate) fn key(space: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(space);
    k.extend_from_slice(rest);
    k
}

/// `space` · the district's length (u16) and bytes: where a district's keys
/// start in the spaces kept by district (`r`, `w`). The length keeps one
/// district's keys apart from those of a longer name it begins.
pub(crate) fn district_prefix(space: u8, district: &str) -> Vec<u8> {
    let bytes = district.as_bytes();
    let len = bytes.len().min(u16::MAX as usize);
    let mut k = Vec::with_capacity(3 + len + 32);
    k.push(space);
    k.extend_from_slice(&(len as u16).to_be_bytes());
    k.extend_from_slice(&bytes[..len]);
    k
}

/// The district a key of a space kept by district begins with, and the
/// rest of the key after it.
pub(crate) fn split_district(k: &[u8]) -> Option<(&str, &[u8])> {
    let len = usize::from(u16::from_be_bytes(k.get(1..3)?.try_into().ok()?));
    let district = std::str::from_utf8(k.get(3..3 + len)?).ok()?;
    Some((district, &k[3 + len..]))
}

/// The first key after every key that starts with `prefix` (None when
/// nothing can follow it).
pub(crate) fn after_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut k = prefix.to_vec();
    while let Some(last) = k.pop() {
        if last < u8::MAX {
            k.push(last + 1);
            return Some(k);
        }
    }
    None
}

pub(crate) fn indexed_key(space: u8, value: &str, id: Uuid) -> Vec<u8> {
    let mut k = key(space, value.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

pub(crate) fn read_u64(tree: &sled::Tree, k: &[u8]) -> Result<u64> {
    Ok(tree
        .get(k)?
        .and_then(|v| v.as_ref().try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0))
}
