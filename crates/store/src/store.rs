//! The store: one writer thread; the journal holds the tickets and makes them
//! durable, sled finds them and keeps the counters, the index follows both.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::counters::{contribution, day_number, CounterKey, Counts, Deadlines, UNDATED_DAY};
use crate::error::{Error, Result};
use crate::index::{CommitPolicy, IndexDoc, IndexMsg, IndexQuery, IndexedUpTo, SearchIndex};
use crate::journal::{
    record_start, scan, Damage, DamageKind, Journal, JournalReader, RECORD_VERSION,
};
use crate::model::{Event, EventBody, Kind, NewTicket, Ticket, TopicAssignment, TopicSource};
use crate::queue::{QueuePage, QueueQuery};
use crate::snippet::snippet;
use crate::stats::{aggregate, GroupBy, RateConfig, StatsQuery, StatsRow};

#[path = "departments.rs"]
pub(crate) mod departments;
#[path = "hotspots.rs"]
pub(crate) mod hotspots;

/// Store settings, from the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub deadlines: Deadlines,
    pub rates: RateConfig,
    /// A ticket from the same caller (phone) in the same district, on the
    /// same topic or with the same text, within this many days of an open
    /// one is a repeat.
    pub repeat_window_days: u32,
    /// The index commits after this many changes ...
    pub index_commit_docs: usize,
    /// ... or this long after the first uncommitted change.
    pub index_commit_ms: u64,
    /// Set by `hotline import`, not by configuration: index commits once a
    /// second and defers segment merges.
    #[serde(skip)]
    pub bulk_load: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            deadlines: Deadlines::default(),
            rates: RateConfig::default(),
            repeat_window_days: 30,
            index_commit_docs: 20_000,
            index_commit_ms: 500,
            bulk_load: false,
        }
    }
}

impl StoreConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.deadlines.validate()?;
        self.rates.validate()?;
        if self.index_commit_ms == 0 || self.index_commit_ms > 1000 {
            return Err(
                "index_commit_ms must be within 1..=1000 (a ticket is searchable within a second)"
                    .into(),
            );
        }
        if self.index_commit_docs == 0 {
            return Err("index_commit_docs must be positive".into());
        }
        Ok(())
    }
}

/// The outcome of submitting one ticket.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    Created(Box<Ticket>),
    /// Its external id was already stored: nothing was added.
    Duplicate(Uuid),
}

/// A lifecycle event as submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Idempotency key; a resubmitted event with the same id is ignored.
    pub id: Option<Uuid>,
    /// When it happened (Beijing time); defaults to now in Beijing.
    pub at: Option<NaiveDateTime>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// Called by the writer thread with the outcome of a submission.
type OnStored = Box<dyn FnOnce(Result<Vec<Submitted>>) + Send>;

enum Request {
    Create(Vec<NewTicket>, OnStored),
    Event(Uuid, NewEvent, Sender<Result<Ticket>>),
    SetTopic {
        id: Uuid,
        topic: String,
        department: String,
        reason: Option<String>,
        reply: Sender<Result<Ticket>>,
    },
    Reroute {
        id: Uuid,
        routed: TopicAssignment,
        department: String,
        reply: Sender<Result<Option<Ticket>>>,
    },
    Shutdown(Sender<Result<()>>),
}

/// A cheap handle to the store; clone it freely.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

struct Inner {
    dir: PathBuf,
    tree: sled::Tree,
    db: sled::Db,
    index: SearchIndex,
    journal: JournalReader,
    config: StoreConfig,
    requests: Mutex<Option<Sender<Request>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// One change: the full resulting ticket, so replaying it is idempotent.
#[derive(Debug, Clone)]
struct JournalEntry {
    seq: u64,
    ticket: Ticket,
    /// The index words, on creation only.
    tokens: Option<String>,
    /// Normalised text hash (repeat detection), on creation only.
    text_hash: Option<u64>,
    /// Whether sled already maps `text_hash` to an earlier ticket, when the
    /// writer knows (it looked while checking for a repeat); None on replay.
    /// Not journaled.
    text_hash_taken: Option<bool>,
}

// Journal record: version (`journal::RECORD_VERSION`, 1) · seq · text hash
// (0 = none) · tokens length (u32::MAX = none) · tokens · the ticket's JSON.
// The record is the one copy of that version of the ticket: sled keeps where
// it is ([`TicketAt`]).

fn encode_entry(entry: &JournalEntry) -> Result<Vec<u8>> {
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

fn encode_record(seq: u64, text_hash: u64, tokens: Option<&[u8]>, json: &[u8]) -> Vec<u8> {
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
struct RecordParts<'a> {
    seq: u64,
    text_hash: u64,
    tokens: Option<&'a [u8]>,
    json: &'a [u8],
}

fn record_parts(payload: &[u8], at: u64) -> Result<RecordParts<'_>> {
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
fn decode_tokens(payload: &[u8], at: u64) -> Result<Option<String>> {
    Ok(record_parts(payload, at)?
        .tokens
        .map(|t| String::from_utf8_lossy(t).into_owned()))
}

/// The ticket of a record, without copying its index words.
fn ticket_of_record(payload: &[u8], at: u64) -> Result<Ticket> {
    let json = record_parts(payload, at)?.json;
    serde_json::from_slice(json).map_err(|e| Error::Corrupt {
        key: format!("journal@{at}"),
        message: e.to_string(),
    })
}

fn decode_entry(payload: &[u8], at: u64) -> Result<JournalEntry> {
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

/// Where a ticket is in the journal; sled's value for a ticket id. The
/// journal holds every version of a ticket, so sled points at the record of
/// the latest one instead of keeping a second copy, and at the record that
/// created the ticket, which holds its index words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TicketAt {
    latest: u64,
    created: u64,
}

impl TicketAt {
    fn encode(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&self.latest.to_be_bytes());
        v.extend_from_slice(&self.created.to_be_bytes());
        v
    }

    fn decode(v: &[u8]) -> Option<TicketAt> {
        let latest = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
        let created = u64::from_be_bytes(v.get(8..16)?.try_into().ok()?);
        (v.len() == 16).then_some(TicketAt { latest, created })
    }
}

/// A ticket's value in sled: where it is in the journal or, in a store
/// written by an earlier version, its JSON (its index words' position then
/// under the `k` key).
enum StoredTicket<'a> {
    At(TicketAt),
    Json(&'a [u8]),
}

fn stored_ticket<'a>(k: &[u8], v: &'a [u8]) -> Result<StoredTicket<'a>> {
    if v.first() == Some(&b'{') {
        return Ok(StoredTicket::Json(v));
    }
    TicketAt::decode(v)
        .map(StoredTicket::At)
        .ok_or_else(|| Error::Corrupt {
            key: ticket_key_name(k),
            message: "neither a journal position nor a ticket".into(),
        })
}

fn ticket_key_name(k: &[u8]) -> String {
    match Uuid::from_slice(&k[1..]) {
        Ok(id) => format!("ticket {id}"),
        Err(_) => String::from_utf8_lossy(k).into_owned(),
    }
}

/// The ticket a sled value stands for.
fn read_ticket(journal: &JournalReader, k: &[u8], v: &[u8]) -> Result<Ticket> {
    match stored_ticket(k, v)? {
        StoredTicket::At(at) => ticket_of_record(&journal.payload_at(at.latest)?, at.latest),
        StoredTicket::Json(json) => serde_json::from_slice(json).map_err(|e| Error::Corrupt {
            key: ticket_key_name(k),
            message: e.to_string(),
        }),
    }
}

/// The journal offset of the record that created a ticket (its index words).
fn created_at(tree: &sled::Tree, k: &[u8], v: &[u8]) -> Result<Option<u64>> {
    Ok(match stored_ticket(k, v)? {
        StoredTicket::At(at) => Some(at.created),
        StoredTicket::Json(_) => tree
            .get(key(TOKENS, &k[1..]))?
            .and_then(|v| v.as_ref().try_into().ok())
            .map(u64::from_be_bytes),
    })
}

// Key spaces of the one sled tree (one tree, so a batch is atomic across all);
// metadata keys start with b'm'.
/// Ticket id → [`TicketAt`].
const TICKET: u8 = b't';
/// Stores written by earlier versions only: ticket id → journal offset (u64
/// BE) of the record that created it. Now part of [`TicketAt`].
const TOKENS: u8 = b'k';
/// Counter rows per day; each key is space · view · day · topic · district · kind.
const COUNTER: u8 = b'c';
/// The same counters rolled up per month, so a long range reads few rows.
const MONTH_COUNTER: u8 = b'n';
const EXTERNAL: u8 = b'x';
/// Callers' phones (as [`caller_key`] writes them) · id: repeat detection.
const PHONE: u8 = b'p';
const TEXT_HASH: u8 = b'h';
const META_JOURNAL: &[u8] = b"mjournal_offset";
const META_SEQ: &[u8] = b"mlast_seq";
/// Which journal file is live: 0 (`journal.log`) until the first compaction.
const META_JOURNAL_GENERATION: &[u8] = b"mjournal_generation";
/// Set while `Store::salvage` rebuilds the tickets' keys: the generation of
/// the journal it rebuilds them from (complete and fsynced before this is set).
const META_SALVAGE: &[u8] = b"msalvage_generation";

/// The journal file of a generation.
fn journal_path(dir: &Path, generation: u64) -> PathBuf {
    if generation == 0 {
        dir.join("journal.log")
    } else {
        dir.join(format!("journal.{generation}.log"))
    }
}

/// Removes the journal files of other generations than the live one: the
/// new file of a compaction that stopped before sled switched to it, or the
/// old file of one that stopped after. Neither holds anything sled points at.
fn remove_other_journals(dir: &Path, generation: u64) -> Result<()> {
    let io = Error::io_at(dir);
    let live = journal_path(dir, generation);
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let is_journal = name == "journal.log"
            || name
                .strip_prefix("journal.")
                .and_then(|n| n.strip_suffix(".log"))
                .is_some_and(|g| g.parse::<u64>().is_ok());
        if is_journal && path != live {
            tracing::info!(file = %path.display(), "removing the journal of an interrupted compaction");
            std::fs::remove_file(&path).map_err(io)?;
        }
    }
    Ok(())
}

/// fsyncs a directory (a file created or removed in it) or a file.
fn sync_path(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(Error::io_at(path))
}

/// fsyncs every file and directory under sled's directory: sled 0.34's
/// flush writes but does not fsync (see journal.rs), and a compaction must
/// know that sled's switch to the new journal is on disk before it deletes
/// the old one.
fn sync_tree(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(Error::io_at(dir))? {
        let path = entry.map_err(Error::io_at(dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            sync_path(&path)?;
        }
    }
    sync_path(dir)
}

/// A ticket's one record after compaction: its latest version, with the
/// index words of the record that created it.
fn compacted_record(
    tree: &sled::Tree,
    journal: &JournalReader,
    k: &[u8],
    v: &[u8],
) -> Result<Vec<u8>> {
    match stored_ticket(k, v)? {
        StoredTicket::At(at) => {
            let latest = journal.payload_at(at.latest)?;
            if at.created == at.latest {
                return Ok(latest);
            }
            let created = journal.payload_at(at.created)?;
            let latest_parts = record_parts(&latest, at.latest)?;
            let created_parts = record_parts(&created, at.created)?;
            Ok(encode_record(
                latest_parts.seq,
                created_parts.text_hash,
                created_parts.tokens,
                latest_parts.json,
            ))
        }
        StoredTicket::Json(_) => {
            let ticket = read_ticket(journal, k, v)?;
            let tokens = load_tokens(tree, journal, ticket.id)?;
            encode_entry(&JournalEntry {
                seq: ticket.seq,
                ticket,
                tokens: Some(tokens),
                text_hash: None,
                text_hash_taken: None,
            })
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CompactReport {
    pub tickets: u64,
    pub journal_bytes_before: u64,
    pub journal_bytes_after: u64,
}

/// What `Store::check_journal` found, without writing anything.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JournalCheck {
    /// The live journal file.
    pub path: String,
    pub bytes: u64,
    /// How far sled says it has applied the journal.
    pub applied: u64,
    pub records: u64,
    /// Stretches holding no readable record, in file order.
    pub damage: Vec<Damage>,
    /// How many bytes sled has applied past the journal's end (0 when it is
    /// as long as it should be).
    pub missing_bytes: u64,
    /// A `hotline salvage` was interrupted and must be run again.
    pub salvage_interrupted: bool,
}

impl JournalCheck {
    pub fn is_ok(&self) -> bool {
        self.damage.is_empty() && self.missing_bytes == 0 && !self.salvage_interrupted
    }
}

/// A stretch of the damaged journal that `Store::salvage` could not keep.
#[derive(Debug, Clone, Serialize)]
pub struct LostStretch {
    pub kind: DamageKind,
    pub offset: u64,
    pub bytes: u64,
    pub message: String,
    /// Tickets whose latest version sled placed in this stretch. Records
    /// sled had not applied yet name no ticket.
    pub tickets: Vec<Uuid>,
}

/// What `Store::salvage` did, and exactly what was lost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SalvageReport {
    /// Nothing was wrong, so nothing was changed.
    pub nothing_to_do: bool,
    /// This run finished a salvage that had been interrupted; that run's
    /// report said what was lost.
    pub resumed: bool,
    /// Where the damaged journal's original bytes are kept.
    pub damaged_copy: Option<String>,
    /// The journal written with every readable record.
    pub journal: String,
    pub bytes_before: u64,
    pub applied_before: u64,
    pub records_kept: u64,
    pub bytes_kept: u64,
    pub lost: Vec<LostStretch>,
    pub tickets_before: u64,
    pub tickets_after: u64,
    /// Tickets of which no version could be read: gone.
    pub tickets_lost: Vec<Uuid>,
    /// Tickets whose latest version was lost: an earlier one is kept.
    pub tickets_rolled_back: Vec<Uuid>,
    /// Tickets whose creating record (their index words) was lost: kept,
    /// but not found by word search until re-submitted.
    pub tickets_without_index_words: Vec<Uuid>,
}

/// The counters are kept three times, each at day and month grain: in full
/// (topic × district × kind) and rolled up by topic and by district (kind
/// folded into consultation / request). A query reads the smallest view that
/// answers it, so the rows it reads are bounded by the range and the view
/// (at most 14 topics × 2 per day or month), not by the tickets stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum View {
    Full = 0,
    ByTopic = 1,
    ByDistrict = 2,
}

const VIEWS: [View; 3] = [View::Full, View::ByTopic, View::ByDistrict];
/// Stands for "every topic" or "every district" in a rolled-up row.
const ALL: &str = "*";
/// Marks a range that runs to the end of a view (past the undated rows).
const UNDATED_DAY_END: u32 = 0;

fn view_of(view: View, ck: &CounterKey) -> CounterKey {
    let class = if ck.kind == Kind::Consultation {
        Kind::Consultation
    } else {
        Kind::Complaint
    };
    match view {
        View::Full => ck.clone(),
        View::ByTopic => CounterKey {
            district: ALL.to_owned(),
            kind: class,
            ..ck.clone()
        },
        View::ByDistrict => CounterKey {
            topic: ALL.to_owned(),
            kind: class,
            ..ck.clone()
        },
    }
}

fn counter_key(space: u8, view: View, ck: &CounterKey) -> Vec<u8> {
    let mut k = vec![space, view as u8];
    k.extend_from_slice(&ck.encode());
    k
}

/// Every stored row a ticket's counts go to: three views, day and month grain.
fn counter_rows(ck: &CounterKey) -> impl Iterator<Item = (u8, View, CounterKey)> + '_ {
    VIEWS.into_iter().flat_map(move |view| {
        let row = view_of(view, ck);
        let month = row.month();
        [(COUNTER, view, row), (MONTH_COUNTER, view, month)]
    })
}

fn key(space: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(space);
    k.extend_from_slice(rest);
    k
}

fn indexed_key(space: u8, value: &str, id: Uuid) -> Vec<u8> {
    let mut k = key(space, value.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

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
fn text_hash(text: &str) -> Option<u64> {
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

fn read_u64(tree: &sled::Tree, k: &[u8]) -> Result<u64> {
    Ok(tree
        .get(k)?
        .and_then(|v| v.as_ref().try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0))
}

fn index_doc(ticket: &Ticket, tokens: Option<String>) -> IndexDoc {
    IndexDoc {
        id: ticket.id.to_string(),
        tokens,
        topic: ticket.topic.slug.clone(),
        district: ticket.district.clone().unwrap_or_default(),
        kind: ticket.kind.as_str().to_owned(),
        status: ticket.status().as_str().to_owned(),
        received: ticket.received_at.map(|t| t.and_utc().timestamp()),
    }
}

/// A search result, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub ticket: Ticket,
    pub score: f32,
    /// An excerpt of the text around the query's words, HTML-escaped, words in `<mark>`.
    pub snippet: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    /// Hits left out because their ticket's journal record cannot be read
    /// (`hotline verify` lists them, `hotline salvage` repairs the journal).
    pub skipped_unreadable: usize,
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VerifyReport {
    pub tickets: u64,
    pub counter_rows: u64,
    /// Counter rows that differ from a recount from the tickets.
    pub counter_mismatches: Vec<String>,
    pub indexed_docs: u64,
    pub index_missing: u64,
    pub corrupt_records: Vec<String>,
    /// Open tickets in the deadline queue.
    pub queue_entries: u64,
    /// Queue keys that differ from a recount from the tickets.
    pub queue_mismatches: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.counter_mismatches.is_empty()
            && self.queue_mismatches.is_empty()
            && self.index_missing == 0
            && self.corrupt_records.is_empty()
    }
}

impl Store {
    /// Opens the store in `dir` (created if missing), replays the journal into
    /// sled and brings the index up to date.
    pub fn open(dir: &Path, config: StoreConfig) -> Result<Store> {
        config.validate().map_err(|m| Error::invalid("config", m))?;
        let io = Error::io_at(dir);
        std::fs::create_dir_all(dir).map_err(io)?;
        let db = open_sled(&dir.join("sled"))?;
        let tree = db.open_tree("hotline")?;

        if let Some(g) = tree.get(META_SALVAGE)? {
            return Err(Error::Conflict(format!(
                "a salvage of the store in {} was interrupted while rebuilding from {}; run `hotline salvage` again",
                dir.display(),
                journal_path(dir, u64::from_be_bytes(g.as_ref().try_into().unwrap_or([0; 8]))).display()
            )));
        }
        let applied = read_u64(&tree, META_JOURNAL)?;
        let generation = read_u64(&tree, META_JOURNAL_GENERATION)?;
        remove_other_journals(dir, generation)?;
        let journal_path = journal_path(dir, generation);
        let (journal, pending) = Journal::open(&journal_path, applied)?;
        let journal_reader = JournalReader::open(&journal_path)?;
        if !pending.is_empty() {
            tracing::info!(entries = pending.len(), "replaying journal into sled");
            let mut entries = Vec::with_capacity(pending.len());
            for (end, payload) in &pending {
                entries.push(decode_entry(payload, record_start(*end, payload.len()))?);
            }
            let refs: Vec<Applied<'_>> = entries
                .iter()
                .zip(&pending)
                .map(|(entry, (end, p))| Applied {
                    entry,
                    record_start: record_start(*end, p.len()),
                    // Any of them may have reached sled before the crash.
                    fresh: false,
                })
                .collect();
            let end = pending.last().map_or(applied, |p| p.0);
            apply(
                &tree,
                &journal_reader,
                &config.deadlines,
                &refs,
                end,
                &mut CounterCache::default(),
            )?;
        }

        if tree.get(crate::queue::META_QUEUE_CONFIG)?.as_deref()
            != Some(crate::queue::config_stamp(&config.deadlines).as_slice())
        {
            let tickets = tree.scan_prefix([TICKET]).map(|item| {
                let (k, v) = item?;
                read_ticket(&journal_reader, &k, &v)
            });
            let open = crate::queue::rebuild(&tree, tickets, &config.deadlines)?;
            tracing::info!(open, "deadline queue and address keys rebuilt");
        }

        let policy = CommitPolicy {
            max_docs: config.index_commit_docs,
            max_delay: Duration::from_millis(config.index_commit_ms),
            bulk: config.bulk_load,
        };
        let stored_words: crate::index::StoredWords = {
            let (tree, journal) = (tree.clone(), journal_reader.clone());
            Box::new(move |id: &str| {
                let id = Uuid::parse_str(id).map_err(|e| Error::Corrupt {
                    key: format!("index id {id}"),
                    message: e.to_string(),
                })?;
                load_tokens(&tree, &journal, id)
            })
        };
        let (index, indexed, owner) =
            SearchIndex::open(&dir.join("index"), policy, stored_words, generation)?;
        let journal_end = journal.len();
        match indexed {
            // Every change after the index's last commit is in the journal,
            // in order: index them again.
            IndexedUpTo::Journal(from) if from < journal_end => {
                let mut n = 0u64;
                for record in journal_reader.records(from, journal_end) {
                    let (start, end, payload) = record?;
                    let entry = decode_entry(&payload, start)?;
                    index.send(IndexMsg::Upsert {
                        journal_end: end,
                        doc: index_doc(&entry.ticket, entry.tokens),
                        replace: true,
                    })?;
                    n += 1;
                }
                tracing::info!(changes = n, from, "index caught up from the journal");
                index.commit()?;
            }
            IndexedUpTo::Journal(_) => {}
            // A new index, or one written by an earlier version: every ticket
            // changed after the sequence number it holds.
            IndexedUpTo::Seq(seq) => {
                let mut n = 0u64;
                for item in tree.scan_prefix([TICKET]) {
                    let (k, v) = item?;
                    let read = read_ticket(&journal_reader, &k, &v).and_then(|ticket| {
                        if ticket.seq <= seq {
                            return Ok(None);
                        }
                        let tokens = load_tokens(&tree, &journal_reader, ticket.id)?;
                        Ok(Some((ticket, tokens)))
                    });
                    let (ticket, tokens) = match read {
                        Ok(Some(read)) => read,
                        Ok(None) => continue,
                        // Like `reindex`: one unreadable record (which `get`
                        // and `verify` report) does not keep the rest out.
                        Err(e) if e.is_unreadable() => {
                            tracing::warn!(ticket = %ticket_key_name(&k), error = %e, "index catch-up skipped a ticket: its record cannot be read");
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    index.send(IndexMsg::Upsert {
                        journal_end,
                        doc: index_doc(&ticket, Some(tokens)),
                        replace: true,
                    })?;
                    n += 1;
                }
                index.send(IndexMsg::UpTo(journal_end))?;
                if n > 0 {
                    tracing::info!(tickets = n, from_seq = seq, "index caught up from sled");
                }
                index.commit()?;
            }
        }
        let last_seq = read_u64(&tree, META_SEQ)?;

        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            tree: tree.clone(),
            db: db.clone(),
            journal,
            reader: journal_reader.clone(),
            deadlines: config.deadlines.clone(),
            window_days: config.repeat_window_days,
            next_seq: last_seq + 1,
            index: index.sender(),
            counters: CounterCache::default(),
            repeat_facts: HashMap::new(),
        };
        let writer_thread = std::thread::Builder::new()
            .name("hotline-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(io)?;
        Ok(Store {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                tree,
                db,
                index,
                journal: journal_reader,
                config,
                requests: Mutex::new(Some(tx)),
                threads: Mutex::new(vec![writer_thread, owner.handle]),
            }),
        })
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    fn send(&self, request: Request) -> Result<()> {
        let guard = self.inner.requests.lock().map_err(|_| Error::Closed)?;
        let sender = guard.as_ref().ok_or(Error::Closed)?;
        sender.send(request).map_err(|_| Error::Closed)
    }

    fn request<T>(&self, make: impl FnOnce(Sender<Result<T>>) -> Request) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        self.send(make(tx))?;
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// Stores tickets durably (journal fsynced) and returns what became of each.
    /// Blocking: call from a blocking thread, not from async code.
    pub fn submit(&self, tickets: Vec<NewTicket>) -> Result<Vec<Submitted>> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let (tx, rx) = mpsc::channel();
        self.submit_then(tickets, move |outcome| {
            let _ = tx.send(outcome);
        })?;
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// Like [`Store::submit`] without waiting: `on_stored` is called on the
    /// writer thread once the tickets are durable (or were refused). For
    /// async callers, which need no thread parked per submission; it must
    /// return at once (send on a channel), since the writer waits for it.
    pub fn submit_then(
        &self,
        tickets: Vec<NewTicket>,
        on_stored: impl FnOnce(Result<Vec<Submitted>>) + Send + 'static,
    ) -> Result<()> {
        self.send(Request::Create(tickets, Box::new(on_stored)))
    }

    pub fn add_event(&self, id: Uuid, event: NewEvent) -> Result<Ticket> {
        self.request(|tx| Request::Event(id, event, tx))
    }

    /// An operator's topic override: recorded as an event, counts moved.
    pub fn set_topic(
        &self,
        id: Uuid,
        topic: &str,
        department: &str,
        reason: Option<String>,
    ) -> Result<Ticket> {
        self.request(|reply| Request::SetTopic {
            id,
            topic: topic.to_owned(),
            department: department.to_owned(),
            reason,
            reply,
        })
    }

    /// A newer model's decision for a ticket the router had routed: the
    /// topic, department and counters move in one atomic batch with a
    /// `topic_changed` event naming both models. Returns `None`, changing
    /// nothing, when the ticket's topic is no longer the router's (an
    /// operator overrode it meanwhile) or already this model's decision, so
    /// a reroute run again after a kill records each change once.
    pub fn reroute(
        &self,
        id: Uuid,
        routed: TopicAssignment,
        department: &str,
    ) -> Result<Option<Ticket>> {
        if routed.source != TopicSource::Router || routed.model.is_none() {
            return Err(Error::Invalid {
                field: "topic",
                message: "a reroute is the router's decision with its model version".into(),
            });
        }
        self.request(|reply| Request::Reroute {
            id,
            routed,
            department: department.to_owned(),
            reply,
        })
    }

    pub fn get(&self, id: Uuid) -> Result<Option<Ticket>> {
        let k = key(TICKET, id.as_bytes());
        self.inner
            .tree
            .get(&k)?
            .map(|v| read_ticket(&self.inner.journal, &k, &v))
            .transpose()
    }

    pub fn find_external(&self, external_id: &str) -> Result<Option<Uuid>> {
        Ok(self
            .inner
            .tree
            .get(key(EXTERNAL, external_id.as_bytes()))?
            .and_then(|v| Uuid::from_slice(&v).ok()))
    }

    /// No ticket stored yet; cheap, unlike counting them.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self
            .inner
            .tree
            .scan_prefix([TICKET])
            .next()
            .transpose()?
            .is_none())
    }

    pub fn ticket_count(&self) -> usize {
        self.inner.tree.scan_prefix([TICKET]).count()
    }

    /// Every ticket, in id (that is, acceptance time) order.
    pub fn tickets(&self) -> impl Iterator<Item = Result<Ticket>> + '_ {
        self.inner.tree.scan_prefix([TICKET]).map(|item| {
            let (k, v) = item?;
            read_ticket(&self.inner.journal, &k, &v)
        })
    }

    /// Full-text search with filters; `query.words` must come from the same
    /// segmenter that segmented the tickets.
    pub fn search(&self, query: &IndexQuery) -> Result<SearchPage> {
        let (total, ids) = self.inner.index.search(query)?;
        let mut hits = Vec::with_capacity(ids.len());
        let mut skipped_unreadable = 0;
        for (id, score) in ids {
            let Ok(uuid) = Uuid::parse_str(&id) else {
                continue;
            };
            let ticket = match self.get(uuid) {
                Ok(Some(ticket)) => ticket,
                Ok(None) => continue,
                Err(e) if e.is_unreadable() => {
                    tracing::warn!(ticket = %uuid, error = %e, "search hit skipped: its record cannot be read");
                    skipped_unreadable += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let snippet = snippet(&ticket.text, &query.words, 60);
            hits.push(SearchHit {
                ticket,
                score,
                snippet,
            });
        }
        Ok(SearchPage {
            total,
            hits,
            skipped_unreadable,
        })
    }

    /// The deadline queue at `now` (Beijing time): open tickets by time
    /// left, read from the queue keys alone (see `queue.rs`).
    pub fn queue(&self, q: &QueueQuery, now: NaiveDateTime) -> Result<QueuePage> {
        crate::queue::query(
            &self.inner.tree,
            q,
            now,
            self.inner.config.deadlines.due_soon_fraction,
        )
    }

    /// Makes everything accepted so far searchable now.
    pub fn commit_index(&self) -> Result<()> {
        self.inner.index.commit()
    }

    /// Statistics over the counters. Reads only the days asked for.
    pub fn stats(&self, q: &StatsQuery) -> Result<Vec<StatsRow>> {
        let tree = &self.inner.tree;
        let first = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
        let from = q.from.unwrap_or(first).max(first);
        let to = q.to.unwrap_or(last);
        let needs_topic = q.group_by == GroupBy::Topic || q.topic.is_some();
        let needs_district = q.group_by == GroupBy::District || q.district.is_some();
        let (day_space, month_space) = if q.group_by == GroupBy::Department {
            (departments::DEPT_DAY, departments::DEPT_MONTH)
        } else {
            (COUNTER, MONTH_COUNTER)
        };
        // Department rows have one view (view byte 0, like the full view).
        let view = if matches!(q.group_by, GroupBy::Department | GroupBy::Kind)
            || (needs_topic && needs_district)
        {
            View::Full
        } else if needs_district {
            View::ByDistrict
        } else {
            View::ByTopic
        };
        let mut rows = Vec::new();
        let mut read_days = |space: u8, lo: u32, hi_exclusive: u32| -> Result<()> {
            let start = [&[space, view as u8][..], &lo.to_be_bytes()].concat();
            let end = match hi_exclusive {
                UNDATED_DAY_END => vec![space, view as u8 + 1],
                hi => [&[space, view as u8][..], &hi.to_be_bytes()].concat(),
            };
            for item in tree.range(start..end) {
                let (k, v) = item?;
                if let (Some(ck), Some(c)) = (CounterKey::decode(&k[2..]), Counts::decode(&v)) {
                    rows.push((ck, c));
                }
            }
            Ok(())
        };
        let mut read = |space: u8, lo: NaiveDate, hi: NaiveDate| -> Result<()> {
            if lo > hi {
                return Ok(());
            }
            read_days(space, day_number(lo), day_number(hi) + 1)
        };
        // Whole months come from month rows, the ragged ends from day rows:
        // the rows read depend on the range, not on how many tickets there are.
        let by_month_ok = !matches!(
            q.group_by,
            GroupBy::Day | GroupBy::Week | GroupBy::AssessmentMonth
        );
        let month_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let full_from = if from.day() == 1 {
            from
        } else {
            month_of(from)
                .checked_add_months(Months::new(1))
                .unwrap_or(last)
        };
        let next_after_to = to.succ_opt().unwrap_or(last);
        let full_to_exclusive = if next_after_to.day() == 1 {
            next_after_to
        } else {
            month_of(to)
        };
        if by_month_ok && full_from < full_to_exclusive {
            let last_full_month = full_to_exclusive.pred_opt().map_or(full_from, month_of);
            read(day_space, from, full_from.pred_opt().unwrap_or(from))?;
            read(month_space, full_from, last_full_month)?;
            read(day_space, full_to_exclusive, to)?;
        } else {
            read(day_space, from, to)?;
        }
        if q.include_undated {
            read_days(day_space, UNDATED_DAY, UNDATED_DAY_END)?;
        }
        Ok(aggregate(rows.into_iter(), q, &self.inner.config.rates))
    }

    /// Recounts the counters from the tickets and checks the index holds every ticket.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let mut recount: HashMap<CounterKey, Counts> = HashMap::new();
        let mut queue = std::collections::BTreeMap::new();
        let mut addresses = std::collections::BTreeMap::new();
        let mut department_rows: HashMap<Vec<u8>, (CounterKey, Counts)> = HashMap::new();
        for item in self.inner.tree.scan_prefix([TICKET]) {
            let (k, v) = item?;
            match read_ticket(&self.inner.journal, &k, &v) {
                Ok(t) => {
                    report.tickets += 1;
                    let (ck, c) = contribution(&t, &self.inner.config.deadlines);
                    recount.entry(ck).or_default().add(&c);
                    if let Some(e) = crate::queue::entry(&t, &self.inner.config.deadlines) {
                        queue.insert(e.key(), e.value());
                    }
                    if let Some((k, v)) = hotspots::address_entry(&t) {
                        addresses.insert(k, v);
                    }
                    for (k, ck, c) in departments::rows(&t, &self.inner.config.deadlines) {
                        department_rows
                            .entry(k)
                            .or_insert_with(|| (ck, Counts::default()))
                            .1
                            .add(&c);
                    }
                }
                Err(e) => report.corrupt_records.push(e.to_string()),
            }
        }
        let mut expected: HashMap<Vec<u8>, (CounterKey, Counts)> = HashMap::new();
        for (ck, c) in &recount {
            for (space, view, row) in counter_rows(ck) {
                expected
                    .entry(counter_key(space, view, &row))
                    .or_insert_with(|| (row, Counts::default()))
                    .1
                    .add(c);
            }
        }
        expected.extend(department_rows);
        for space in [
            COUNTER,
            MONTH_COUNTER,
            departments::DEPT_DAY,
            departments::DEPT_MONTH,
        ] {
            for item in self.inner.tree.scan_prefix([space]) {
                let (k, v) = item?;
                report.counter_rows += 1;
                let (Some(ck), Some(stored)) = (CounterKey::decode(&k[2..]), Counts::decode(&v))
                else {
                    report.corrupt_records.push(format!("counter row {k:?}"));
                    continue;
                };
                let want = expected.remove(k.as_ref()).map(|e| e.1).unwrap_or_default();
                if want != stored {
                    report.counter_mismatches.push(format!(
                        "{ck:?}: stored {:?}, recount {:?}",
                        stored.0, want.0
                    ));
                }
            }
        }
        for (ck, c) in expected.into_values() {
            if !c.is_zero() {
                report
                    .counter_mismatches
                    .push(format!("{ck:?}: missing, recount {:?}", c.0));
            }
        }
        (report.queue_entries, report.queue_mismatches) =
            crate::queue::check(&self.inner.tree, crate::queue::QUEUE, queue)?;
        let (_, address_mismatches) =
            crate::queue::check(&self.inner.tree, hotspots::ADDRESS, addresses)?;
        report.queue_mismatches.extend(address_mismatches);
        self.commit_index()?;
        report.indexed_docs = self.inner.index.num_docs();
        report.index_missing = report.tickets.saturating_sub(report.indexed_docs);
        Ok(report)
    }

    /// Rebuilds the search index from sled; returns how many tickets it
    /// holds. A ticket whose journal record cannot be read is left out with a
    /// warning (`hotline verify` lists it) rather than stopping the rebuild
    /// with the index half empty.
    pub fn reindex(&self) -> Result<u64> {
        let (tx, rx) = mpsc::channel();
        self.inner.index.send(IndexMsg::Clear(tx))?;
        rx.recv().map_err(|_| Error::Closed)??;
        // Read after the clear: every change the index was sent before it
        // (and lost to it) is in sled by now, so the scan below sees it.
        let applied = read_u64(&self.inner.tree, META_JOURNAL)?;
        let mut n = 0;
        for item in self.inner.tree.scan_prefix([TICKET]) {
            let (k, v) = item?;
            let read = read_ticket(&self.inner.journal, &k, &v).and_then(|ticket| {
                let tokens = load_tokens(&self.inner.tree, &self.inner.journal, ticket.id)?;
                Ok((ticket, tokens))
            });
            let (ticket, tokens) = match read {
                Ok(read) => read,
                Err(e) if e.is_unreadable() => {
                    tracing::warn!(ticket = %ticket_key_name(&k), error = %e, "reindex skipped a ticket: its record cannot be read");
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.inner.index.send(IndexMsg::Upsert {
                journal_end: applied,
                doc: index_doc(&ticket, Some(tokens)),
                replace: true,
            })?;
            n += 1;
        }
        self.inner.index.send(IndexMsg::UpTo(applied))?;
        self.commit_index()?;
        Ok(n)
    }

    /// Rewrites the journal with one record per ticket, its latest version
    /// with its index words, dropping the versions nothing reads any more
    /// (every event and topic change wrote a whole new version). Offline:
    /// sled's lock keeps a server or an import out meanwhile.
    ///
    /// Safe to interrupt at any point. The new journal is a new file, made
    /// durable before one atomic sled batch moves every ticket's position and
    /// the live generation to it; sled's files are fsynced before the old
    /// journal is deleted. Until then the old journal is live; after it, an
    /// opening removes whichever file is not (see `remove_other_journals`),
    /// and an index not yet told of the new generation is caught up from sled.
    ///
    /// `progress` is called with the number of tickets rewritten so far.
    pub fn compact(
        dir: &Path,
        config: StoreConfig,
        mut progress: impl FnMut(u64),
    ) -> Result<CompactReport> {
        // Opening replays into sled whatever the journal holds past it and
        // brings the index up to date; shutting down commits both.
        let store = Store::open(dir, config)?;
        store.commit_index()?;
        store.shutdown()?;
        drop(store);

        let db = open_sled(&dir.join("sled"))?;
        let tree = db.open_tree("hotline")?;
        let generation = read_u64(&tree, META_JOURNAL_GENERATION)?;
        let old_path = journal_path(dir, generation);
        let old = JournalReader::open(&old_path)?;
        let old_len = std::fs::metadata(&old_path)
            .map_err(Error::io_at(&old_path))?
            .len();
        let applied = read_u64(&tree, META_JOURNAL)?;
        if applied != old_len {
            return Err(Error::Conflict(format!(
                "the journal reaches {old_len} but sled has applied it up to {applied}; open the store once and retry"
            )));
        }
        let new_path = journal_path(dir, generation + 1);
        if new_path.exists() {
            std::fs::remove_file(&new_path).map_err(Error::io_at(&new_path))?;
        }
        let (mut journal, _) = Journal::open(&new_path, 0)?;
        sync_path(dir)?;

        const GROUP: usize = 4096;
        let mut report = CompactReport {
            journal_bytes_before: old_len,
            ..CompactReport::default()
        };
        // Appends a group of records and points each ticket at its new one.
        let write_group = |journal: &mut Journal,
                           keys: &mut Vec<sled::IVec>,
                           payloads: &mut Vec<Vec<u8>>,
                           batch: &mut sled::Batch|
         -> Result<()> {
            let ends = journal.append(payloads)?;
            for ((k, payload), end) in keys.drain(..).zip(payloads.drain(..)).zip(ends) {
                let start = record_start(end, payload.len());
                let at = TicketAt {
                    latest: start,
                    created: start,
                };
                batch.insert(k, at.encode());
            }
            Ok(())
        };
        let mut batch = sled::Batch::default();
        let mut keys: Vec<sled::IVec> = Vec::with_capacity(GROUP);
        let mut payloads: Vec<Vec<u8>> = Vec::with_capacity(GROUP);
        for item in tree.scan_prefix([TICKET]) {
            let (k, v) = item?;
            payloads.push(compacted_record(&tree, &old, &k, &v)?);
            if matches!(stored_ticket(&k, &v)?, StoredTicket::Json(_)) {
                batch.remove(key(TOKENS, &k[1..]));
            }
            keys.push(k);
            report.tickets += 1;
            if payloads.len() == GROUP {
                write_group(&mut journal, &mut keys, &mut payloads, &mut batch)?;
                progress(report.tickets);
            }
        }
        write_group(&mut journal, &mut keys, &mut payloads, &mut batch)?;
        progress(report.tickets);
        let new_end = journal.len();
        drop(journal);

        batch.insert(META_JOURNAL, new_end.to_be_bytes().to_vec());
        batch.insert(
            META_JOURNAL_GENERATION,
            (generation + 1).to_be_bytes().to_vec(),
        );
        tree.apply_batch(batch)?;
        db.flush()?;
        sync_tree(&dir.join("sled"))?;
        // The switch is on disk: the old journal is dead from here on.
        crate::index::rebase(&dir.join("index"), new_end, generation + 1)?;
        drop(tree);
        drop(db);
        std::fs::remove_file(&old_path).map_err(Error::io_at(&old_path))?;
        sync_path(dir)?;
        report.journal_bytes_after = new_end;
        tracing::info!(
            tickets = report.tickets,
            before = report.journal_bytes_before,
            after = report.journal_bytes_after,
            generation = generation + 1,
            "journal compacted"
        );
        Ok(report)
    }

    /// Reads the live journal whole and checks it against sled's applied
    /// offset, writing nothing (the journal is only read; sled is opened to
    /// read two keys). Offline: sled's lock keeps a server out meanwhile.
    pub fn check_journal(dir: &Path) -> Result<JournalCheck> {
        let sled_dir = dir.join("sled");
        if !sled_dir.is_dir() {
            return Err(Error::invalid(
                "data dir",
                format!("{} holds no store", dir.display()),
            ));
        }
        let (applied, generation, salvage) = {
            let db = open_sled(&sled_dir)?;
            let tree = db.open_tree("hotline")?;
            (
                read_u64(&tree, META_JOURNAL)?,
                read_u64(&tree, META_JOURNAL_GENERATION)?,
                tree.get(META_SALVAGE)?.is_some(),
            )
        };
        let path = journal_path(dir, generation);
        let mut check = JournalCheck {
            path: path.display().to_string(),
            applied,
            salvage_interrupted: salvage,
            ..JournalCheck::default()
        };
        match std::fs::File::open(&path) {
            Ok(file) => {
                let scanned = scan(&path, &file, 0, |_, _| Ok(()))?;
                check.bytes = scanned.len;
                check.records = scanned.records;
                check.damage = scanned.damage;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io_at(&path)(e)),
        }
        check.missing_bytes = applied.saturating_sub(check.bytes);
        Ok(check)
    }

    /// Repairs a damaged journal, offline: keeps the damaged file's bytes
    /// aside (`journal.log.damaged-<time>`), writes every readable record to
    /// the next generation's journal, rebuilds the tickets' keys and counters
    /// in sled from it (tokens and the audit log are kept), drops the search
    /// index (the opening at the end rebuilds it), and reports each lost
    /// stretch with the tickets sled placed there.
    ///
    /// Safe to interrupt: until the new journal is complete nothing else has
    /// changed; after that a key in sled names it, the store refuses to open,
    /// and running salvage again finishes the rebuild from it.
    pub fn salvage(dir: &Path, config: StoreConfig) -> Result<SalvageReport> {
        config.validate().map_err(|m| Error::invalid("config", m))?;
        let sled_dir = dir.join("sled");
        if !sled_dir.is_dir() {
            return Err(Error::invalid(
                "data dir",
                format!("{} holds no store", dir.display()),
            ));
        }
        let db = open_sled(&sled_dir)?;
        let tree = db.open_tree("hotline")?;
        let applied = read_u64(&tree, META_JOURNAL)?;
        let generation = read_u64(&tree, META_JOURNAL_GENERATION)?;
        let mut report = SalvageReport {
            applied_before: applied,
            ..SalvageReport::default()
        };
        let (source, lost_positions) = match tree.get(META_SALVAGE)? {
            Some(g) => {
                let g = u64::from_be_bytes(g.as_ref().try_into().unwrap_or([0; 8]));
                report.resumed = true;
                tracing::info!(generation = g, "resuming an interrupted salvage");
                (g, Vec::new())
            }
            None => {
                let old_path = journal_path(dir, generation);
                // Where sled places each ticket, before it is rebuilt.
                let mut positions: Vec<(Uuid, TicketAt)> = Vec::new();
                for item in tree.scan_prefix([TICKET]) {
                    let (k, v) = item?;
                    let id = Uuid::from_slice(&k[1..]).map_err(|e| Error::Corrupt {
                        key: ticket_key_name(&k),
                        message: e.to_string(),
                    })?;
                    match stored_ticket(&k, &v)? {
                        StoredTicket::At(at) => positions.push((id, at)),
                        StoredTicket::Json(_) => {
                            return Err(Error::Conflict(format!(
                                "ticket {id} is still kept in sled in the layout of an earlier version; salvage rebuilds sled from the journal and would drop that copy, so it does not handle such a store"
                            )))
                        }
                    }
                }
                report.tickets_before = positions.len() as u64;
                let old_file = match std::fs::File::open(&old_path) {
                    Ok(f) => Some(f),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(Error::io_at(&old_path)(e)),
                };
                let check = match &old_file {
                    Some(f) => scan(&old_path, f, 0, |_, _| Ok(()))?,
                    None => Default::default(),
                };
                report.bytes_before = check.len;
                if check.damage.is_empty() && check.len >= applied {
                    report.nothing_to_do = true;
                    report.journal = old_path.display().to_string();
                    report.records_kept = check.records;
                    report.bytes_kept = check.len;
                    report.tickets_after = report.tickets_before;
                    return Ok(report);
                }
                // The original bytes first, before anything changes.
                if old_file.is_some() {
                    let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3f");
                    let name = format!(
                        "{}.damaged-{stamp}",
                        old_path
                            .file_name()
                            .and_then(|n| n.to_str())
                            .unwrap_or("journal.log")
                    );
                    let copy = dir.join(name);
                    if std::fs::hard_link(&old_path, &copy).is_err() {
                        std::fs::copy(&old_path, &copy).map_err(Error::io_at(&copy))?;
                        sync_path(&copy)?;
                    }
                    sync_path(dir)?;
                    report.damaged_copy = Some(copy.display().to_string());
                }
                // Every readable record that decodes, in order, into the next generation.
                let new_path = journal_path(dir, generation + 1);
                if new_path.exists() {
                    std::fs::remove_file(&new_path).map_err(Error::io_at(&new_path))?;
                }
                let (mut journal, _) = Journal::open(&new_path, 0)?;
                sync_path(dir)?;
                let mut kept: Vec<u64> = Vec::new();
                let mut undecodable: Vec<LostStretch> = Vec::new();
                let mut group: Vec<Vec<u8>> = Vec::new();
                let scanned = match &old_file {
                    Some(f) => scan(&old_path, f, 0, |start, payload| {
                        match decode_entry(&payload, start) {
                            Ok(_) => {
                                kept.push(start);
                                group.push(payload);
                                if group.len() == 4096 {
                                    journal.append(&group)?;
                                    group.clear();
                                }
                            }
                            Err(e) => undecodable.push(LostStretch {
                                kind: DamageKind::Corrupt,
                                offset: start,
                                bytes: 8 + payload.len() as u64,
                                message: format!("a record that does not decode: {e}"),
                                tickets: Vec::new(),
                            }),
                        }
                        Ok(())
                    })?,
                    None => Default::default(),
                };
                if !group.is_empty() {
                    journal.append(&group)?;
                }
                drop(journal);
                let mut lost: Vec<LostStretch> = scanned
                    .damage
                    .into_iter()
                    .map(|d| LostStretch {
                        kind: d.kind,
                        offset: d.offset,
                        bytes: d.bytes,
                        message: d.message,
                        tickets: Vec::new(),
                    })
                    .chain(undecodable)
                    .collect();
                if applied > scanned.len {
                    lost.push(LostStretch {
                        kind: DamageKind::Corrupt,
                        offset: scanned.len,
                        bytes: applied - scanned.len,
                        message: format!(
                            "the journal ends at byte {}, but sled had applied it up to byte {applied}",
                            scanned.len
                        ),
                        tickets: Vec::new(),
                    });
                }
                lost.sort_by_key(|l| l.offset);
                let readable = |offset: u64| kept.binary_search(&offset).is_ok();
                let mut lost_positions = Vec::new();
                for (id, at) in &positions {
                    if !readable(at.latest) {
                        if let Some(l) = lost
                            .iter_mut()
                            .find(|l| at.latest >= l.offset && at.latest < l.offset + l.bytes)
                        {
                            l.tickets.push(*id);
                        }
                        lost_positions.push((*id, true));
                    } else if !readable(at.created) {
                        lost_positions.push((*id, false));
                    }
                }
                report.lost = lost;
                // The new journal is complete and durable: from here on, sled
                // names it until the rebuild is done.
                tree.insert(META_SALVAGE, (generation + 1).to_be_bytes().to_vec())?;
                db.flush()?;
                sync_tree(&sled_dir)?;
                (generation + 1, lost_positions)
            }
        };

        // Rebuild the tickets' keys, counters and offsets from the new journal.
        let new_path = journal_path(dir, source);
        let old_seq = read_u64(&tree, META_SEQ)?;
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in tree.iter() {
            let (k, _) = item?;
            if k.as_ref() != META_SALVAGE {
                batch.remove(k);
                n += 1;
                if n % 10_000 == 0 {
                    tree.apply_batch(std::mem::take(&mut batch))?;
                }
            }
        }
        tree.apply_batch(batch)?;
        let reader = JournalReader::open(&new_path)?;
        let file = std::fs::File::open(&new_path).map_err(Error::io_at(&new_path))?;
        let mut counters = CounterCache::default();
        let mut group: Vec<(u64, JournalEntry)> = Vec::new();
        let apply_group = |group: &mut Vec<(u64, JournalEntry)>,
                           counters: &mut CounterCache,
                           end: u64|
         -> Result<()> {
            let refs: Vec<Applied<'_>> = group
                .iter()
                .map(|(start, entry)| Applied {
                    entry,
                    record_start: *start,
                    fresh: false,
                })
                .collect();
            apply(&tree, &reader, &config.deadlines, &refs, end, counters)?;
            group.clear();
            Ok(())
        };
        let mut end = 0;
        let rebuilt = scan(&new_path, &file, 0, |start, payload| {
            end = start + 8 + payload.len() as u64;
            group.push((start, decode_entry(&payload, start)?));
            if group.len() == 4096 {
                apply_group(&mut group, &mut counters, end)?;
            }
            Ok(())
        })?;
        if let Some(d) = rebuilt.damage.first() {
            return Err(crate::journal::damaged(
                &new_path,
                d.offset,
                d.message.clone(),
            ));
        }
        apply_group(&mut group, &mut counters, end)?;
        report.records_kept = rebuilt.records;
        report.bytes_kept = rebuilt.len;
        report.journal = new_path.display().to_string();
        // The index is derived: the opening below builds it again from sled.
        let index_dir = dir.join("index");
        if index_dir.exists() {
            std::fs::remove_dir_all(&index_dir).map_err(Error::io_at(&index_dir))?;
        }
        let mut last = sled::Batch::default();
        last.insert(META_JOURNAL, rebuilt.len.to_be_bytes().to_vec());
        last.insert(META_JOURNAL_GENERATION, source.to_be_bytes().to_vec());
        last.insert(
            META_SEQ,
            old_seq
                .max(read_u64(&tree, META_SEQ)?)
                .to_be_bytes()
                .to_vec(),
        );
        last.remove(META_SALVAGE);
        tree.apply_batch(last)?;
        db.flush()?;
        sync_tree(&sled_dir)?;
        drop(reader);
        drop(tree);
        drop(db);
        remove_other_journals(dir, source)?;
        sync_path(dir)?;

        let store = Store::open(dir, config)?;
        report.tickets_after = store.ticket_count() as u64;
        for (id, latest_lost) in lost_positions {
            let present = store.inner.tree.contains_key(key(TICKET, id.as_bytes()))?;
            match (latest_lost, present) {
                (true, false) => report.tickets_lost.push(id),
                (true, true) => report.tickets_rolled_back.push(id),
                (false, true) => report.tickets_without_index_words.push(id),
                (false, false) => {}
            }
        }
        store.shutdown()?;
        tracing::warn!(
            kept = report.records_kept,
            lost_stretches = report.lost.len(),
            tickets_lost = report.tickets_lost.len(),
            rolled_back = report.tickets_rolled_back.len(),
            "journal salvaged"
        );
        Ok(report)
    }

    /// Stops the writer, commits the index and flushes sled. Later calls fail with `Closed`.
    pub fn shutdown(&self) -> Result<()> {
        let sender = self
            .inner
            .requests
            .lock()
            .map_err(|_| Error::Closed)?
            .take();
        if let Some(sender) = sender {
            let (tx, rx) = mpsc::channel();
            if sender.send(Request::Shutdown(tx)).is_ok() {
                rx.recv().map_err(|_| Error::Closed)??;
            }
            let threads: Vec<JoinHandle<()>> = self
                .inner
                .threads
                .lock()
                .map_err(|_| Error::Closed)?
                .drain(..)
                .collect();
            let mut threads = threads.into_iter();
            if let Some(writer) = threads.next() {
                let _ = writer.join();
            }
            // The indexer commits and releases the index lock, so the store
            // can be opened again at once.
            let (tx, rx) = mpsc::channel();
            if self.inner.index.send(IndexMsg::Stop(tx)).is_ok() {
                if let Ok(result) = rx.recv() {
                    result?;
                }
            }
            for indexer in threads {
                let _ = indexer.join();
            }
        }
        self.inner.db.flush()?;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The sled database, for the trees of tokens.rs and audit.rs (not the tickets' tree).
    pub(crate) fn db(&self) -> &sled::Db {
        &self.inner.db
    }
}

/// Opens sled, waiting up to two seconds for its file lock: a store closed
/// a moment ago in this process releases it from sled's own threads.
fn open_sled(path: &Path) -> Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .flush_every_ms(Some(1000))
            // sled's default cache is 1 GB; tickets are read rarely and by id.
            .cache_capacity(128 << 20)
            .open()
        {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::Other
                    && e.to_string().contains("could not acquire lock") =>
            {
                if started.elapsed() > Duration::from_secs(2) {
                    return Err(Error::Conflict(format!(
                        "{} is in use by another hotline process",
                        path.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

/// A ticket's index words, read back from the record that created it.
fn load_tokens(tree: &sled::Tree, journal: &JournalReader, id: Uuid) -> Result<String> {
    let k = key(TICKET, id.as_bytes());
    let Some(v) = tree.get(&k)? else {
        return Ok(String::new());
    };
    let Some(offset) = created_at(tree, &k, &v)? else {
        return Ok(String::new());
    };
    let payload = journal.payload_at(offset)?;
    Ok(decode_tokens(&payload, offset)?.unwrap_or_default())
}

/// The writer's copy of the counter rows it has read or written. The writer
/// is the only one that changes them, so the copy stays exact, and most
/// read-modify-writes of a row skip sled's read. Bounded: when full it
/// starts afresh.
#[derive(Default)]
struct CounterCache {
    rows: HashMap<Vec<u8>, Counts>,
}

const COUNTER_CACHE_ROWS: usize = 100_000;

/// What repeat detection needs of an earlier ticket, kept by the writer for
/// the tickets it has written lately, so that a repeat does not read and
/// decode the whole earlier ticket. Exact for the same reason as the counter
/// cache: only the writer changes tickets.
#[derive(Debug, Clone)]
struct RepeatFacts {
    open: bool,
    /// Received time, or acceptance time when undated.
    at: NaiveDateTime,
    topic: String,
    /// The first ticket of its chain of repeats.
    root: Uuid,
    /// Who called ([`caller_key`]); a repeat needs the same caller.
    caller: Option<String>,
    /// A repeat never crosses districts (each district answers for its own).
    district: Option<String>,
}

impl RepeatFacts {
    fn of(t: &Ticket) -> RepeatFacts {
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

const REPEAT_FACTS_TICKETS: usize = 200_000;

/// One journal entry on its way into sled.
struct Applied<'a> {
    entry: &'a JournalEntry,
    record_start: u64,
    /// Created by this very commit, so not in sled yet: no need to look.
    fresh: bool,
}

/// Applies journal entries to sled in one atomic batch: tickets, counters
/// (old contribution out, new in), lookup keys and the journal offset.
fn apply(
    tree: &sled::Tree,
    journal: &JournalReader,
    deadlines: &Deadlines,
    entries: &[Applied<'_>],
    journal_end: u64,
    counters: &mut CounterCache,
) -> Result<()> {
    let mut batch = sled::Batch::default();
    // The version of each ticket this batch has reached, and where its index words are.
    let mut latest: HashMap<Uuid, (&Ticket, Option<u64>)> = HashMap::with_capacity(entries.len());
    let mut deltas: HashMap<CounterKey, Counts> = HashMap::with_capacity(entries.len());
    let mut department_deltas: HashMap<Vec<u8>, Counts> = HashMap::new();
    let mut last_seq = read_u64(tree, META_SEQ)?;
    for applied in entries {
        let entry = applied.entry;
        let t = &entry.ticket;
        let id = t.id;
        let k = key(TICKET, id.as_bytes());
        let old: Option<(Cow<'_, Ticket>, Option<u64>)> = match latest.get(&id) {
            Some((old, created)) => Some((Cow::Borrowed(*old), *created)),
            None if applied.fresh => None,
            None => match tree.get(&k)? {
                Some(v) => {
                    if matches!(stored_ticket(&k, &v)?, StoredTicket::Json(_)) {
                        // Written by an earlier version: its words' position moves into the value.
                        batch.remove(key(TOKENS, id.as_bytes()));
                    }
                    Some((
                        Cow::Owned(read_ticket(journal, &k, &v)?),
                        created_at(tree, &k, &v)?,
                    ))
                }
                None => None,
            },
        };
        if let Some((old, _)) = &old {
            if old.seq >= entry.seq {
                continue; // already applied (replay after a crash)
            }
            let (ck, c) = contribution(old, deadlines);
            deltas.entry(ck).or_default().sub(&c);
            for (k, _, c) in departments::rows(old, deadlines) {
                department_deltas.entry(k).or_default().sub(&c);
            }
        } else {
            if let Some(ext) = &t.external_id {
                batch.insert(key(EXTERNAL, ext.as_bytes()), id.as_bytes().to_vec());
            }
            if let Some(caller) = t.caller_phone.as_deref().and_then(caller_key) {
                batch.insert(indexed_key(PHONE, &caller, id), vec![]);
            }
            if let Some(h) = entry.text_hash {
                let hk = key(TEXT_HASH, &h.to_be_bytes());
                let taken = match entry.text_hash_taken {
                    Some(taken) => taken,
                    None => tree.get(&hk)?.is_some(),
                };
                if !taken {
                    batch.insert(hk, id.as_bytes().to_vec());
                }
            }
        }
        let (ck, c) = contribution(t, deadlines);
        deltas.entry(ck).or_default().add(&c);
        for (k, _, c) in departments::rows(t, deadlines) {
            department_deltas.entry(k).or_default().add(&c);
        }
        let before = old.as_ref().map(|(o, _)| o.as_ref());
        crate::queue::update(&mut batch, before, t, deadlines);
        hotspots::update(&mut batch, before, t);
        let created = match &old {
            _ if entry.tokens.is_some() => Some(applied.record_start),
            Some((_, created)) => *created,
            None => None,
        };
        let at = TicketAt {
            latest: applied.record_start,
            // Without words anywhere (not expected), the latest record, which has none.
            created: created.unwrap_or(applied.record_start),
        };
        batch.insert(k, at.encode());
        last_seq = last_seq.max(entry.seq);
        latest.insert(id, (t, created));
    }
    // Every derived row's delta is summed first: two tickets of one month (or
    // one topic) must not both read-modify-write the same row within a batch.
    let mut row_deltas: HashMap<Vec<u8>, Counts> = HashMap::with_capacity(deltas.len() * 6);
    for (ck, delta) in &deltas {
        for (space, view, row) in counter_rows(ck) {
            row_deltas
                .entry(counter_key(space, view, &row))
                .or_default()
                .add(delta);
        }
    }
    for (k, delta) in department_deltas {
        row_deltas.entry(k).or_default().add(&delta);
    }
    let mut written = Vec::with_capacity(row_deltas.len());
    for (k, delta) in row_deltas {
        if delta.is_zero() {
            continue;
        }
        let mut current = match counters.rows.get(&k) {
            Some(cached) => *cached,
            None => tree
                .get(&k)?
                .and_then(|v| Counts::decode(&v))
                .unwrap_or_default(),
        };
        current.add(&delta);
        if current.is_zero() {
            batch.remove(k.as_slice());
        } else {
            batch.insert(k.as_slice(), current.encode());
        }
        written.push((k, current));
    }
    batch.insert(META_JOURNAL, journal_end.to_be_bytes().to_vec());
    batch.insert(META_SEQ, last_seq.to_be_bytes().to_vec());
    if let Err(e) = tree.apply_batch(batch) {
        // Whether any of it reached sled is unknown: trust sled again.
        counters.rows.clear();
        return Err(e.into());
    }
    if counters.rows.len() + written.len() > COUNTER_CACHE_ROWS {
        counters.rows.clear();
    }
    counters.rows.extend(written);
    Ok(())
}

/// The single writer: decides (duplicates, repeats), journals, applies, indexes.
struct Writer {
    tree: sled::Tree,
    db: sled::Db,
    journal: Journal,
    reader: JournalReader,
    deadlines: Deadlines,
    window_days: u32,
    next_seq: u64,
    index: Sender<IndexMsg>,
    counters: CounterCache,
    repeat_facts: HashMap<Uuid, RepeatFacts>,
}

/// Decisions taken in the current group but not yet in sled.
#[derive(Default)]
struct Pending {
    /// The group's changes, in order; each holds the ticket as it left it.
    entries: Vec<JournalEntry>,
    /// Where in `entries` each changed ticket's latest version is: the
    /// tickets stay in their entries rather than being copied here.
    latest: HashMap<Uuid, usize>,
    /// Tickets the group asked for but did not change (a replayed event).
    unchanged: HashMap<Uuid, Ticket>,
    external: HashMap<String, Uuid>,
    /// By [`caller_key`].
    by_phone: HashMap<String, Vec<Uuid>>,
    by_hash: HashMap<u64, Uuid>,
}

impl Pending {
    fn ticket(&self, id: &Uuid) -> Option<&Ticket> {
        match self.latest.get(id) {
            Some(&i) => self.entries.get(i).map(|e| &e.ticket),
            None => self.unchanged.get(id),
        }
    }

    fn push(&mut self, entry: JournalEntry) {
        self.latest.insert(entry.ticket.id, self.entries.len());
        self.entries.push(entry);
    }
}

type Reply = Box<dyn FnOnce(&Result<()>, &Pending)>;

impl Writer {
    fn run(mut self, rx: Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut group = vec![first];
            // Group commit: everything already waiting shares one fsync.
            while group.len() < 256 {
                match rx.try_recv() {
                    Ok(r) => group.push(r),
                    Err(_) => break,
                }
            }
            let mut shutdown = None;
            let mut pending = Pending::default();
            let mut replies: Vec<Reply> = Vec::new();
            for request in group {
                match request {
                    Request::Shutdown(reply) => shutdown = Some(reply),
                    Request::Create(tickets, reply) => {
                        let outcome = self.create(tickets, &mut pending);
                        replies.push(Box::new(move |result, pending| {
                            reply(match (result, outcome) {
                                (Ok(()), Ok(out)) => Ok(out
                                    .into_iter()
                                    .map(|s| match s {
                                        Ok(id) => pending
                                            .ticket(&id)
                                            .map_or(Submitted::Duplicate(id), |t| {
                                                Submitted::Created(Box::new(t.clone()))
                                            }),
                                        Err(id) => Submitted::Duplicate(id),
                                    })
                                    .collect()),
                                (Err(e), _) => Err(Error::Conflict(format!("not stored: {e}"))),
                                (_, Err(e)) => Err(e),
                            });
                        }));
                    }
                    Request::Event(id, event, reply) => {
                        let outcome = self.event(id, event, &mut pending);
                        replies.push(Self::ticket_reply(outcome, reply));
                    }
                    Request::SetTopic {
                        id,
                        topic,
                        department,
                        reason,
                        reply,
                    } => {
                        let outcome = self.set_topic(id, topic, department, reason, &mut pending);
                        replies.push(Self::ticket_reply(outcome, reply));
                    }
                    Request::Reroute {
                        id,
                        routed,
                        department,
                        reply,
                    } => {
                        let outcome = self.reroute(id, routed, department, &mut pending);
                        replies.push(Box::new(move |result, pending| {
                            let _ = reply.send(match (result, outcome) {
                                (Ok(()), Ok(Some(id))) => {
                                    pending.ticket(&id).cloned().ok_or(Error::Closed).map(Some)
                                }
                                (Ok(()), Ok(None)) => Ok(None),
                                (Err(e), _) => Err(Error::Conflict(format!("not stored: {e}"))),
                                (_, Err(e)) => Err(e),
                            });
                        }));
                    }
                }
            }
            let result = self.commit(&mut pending.entries);
            for reply in replies {
                reply(&result, &pending);
            }
            if let Some(reply) = shutdown {
                let _ = reply.send(self.db.flush().map(|_| ()).map_err(Error::from));
                return;
            }
        }
    }

    fn ticket_reply(outcome: Result<Uuid>, reply: Sender<Result<Ticket>>) -> Reply {
        Box::new(move |result, pending| {
            let _ = reply.send(match (result, outcome) {
                (Ok(()), Ok(id)) => pending.ticket(&id).cloned().ok_or(Error::Closed),
                (Err(e), _) => Err(Error::Conflict(format!("not stored: {e}"))),
                (_, Err(e)) => Err(e),
            });
        })
    }

    /// Journal (fsync), then sled, then the index.
    fn commit(&mut self, entries: &mut [JournalEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let payloads = entries
            .iter()
            .map(encode_entry)
            .collect::<Result<Vec<_>>>()?;
        let ends = self.journal.append(&payloads)?;
        let end = ends.last().copied().unwrap_or(self.journal.len());
        let applied: Vec<Applied<'_>> = entries
            .iter()
            .zip(&payloads)
            .zip(&ends)
            .map(|((entry, p), end)| Applied {
                entry,
                record_start: record_start(*end, p.len()),
                fresh: entry.tokens.is_some(),
            })
            .collect();
        apply(
            &self.tree,
            &self.reader,
            &self.deadlines,
            &applied,
            end,
            &mut self.counters,
        )?;
        drop(applied);
        if self.repeat_facts.len() + entries.len() > REPEAT_FACTS_TICKETS {
            self.repeat_facts.clear();
        }
        for e in entries.iter() {
            self.repeat_facts
                .insert(e.ticket.id, RepeatFacts::of(&e.ticket));
        }
        for (e, end) in entries.iter_mut().zip(ends) {
            let created = e.tokens.is_some();
            // A changed ticket's words are read back by the indexer thread.
            let tokens = e.tokens.take();
            let _ = self.index.send(IndexMsg::Upsert {
                journal_end: end,
                doc: index_doc(&e.ticket, tokens),
                replace: !created,
            });
        }
        Ok(())
    }

    fn load(&self, id: Uuid, pending: &Pending) -> Result<Option<Ticket>> {
        if let Some(t) = pending.ticket(&id) {
            return Ok(Some(t.clone()));
        }
        let k = key(TICKET, id.as_bytes());
        self.tree
            .get(&k)?
            .map(|v| read_ticket(&self.reader, &k, &v))
            .transpose()
    }

    fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Ok(id) for a new ticket, Err(existing id) for a duplicate external id.
    fn create(
        &mut self,
        tickets: Vec<NewTicket>,
        pending: &mut Pending,
    ) -> Result<Vec<Result<Uuid, Uuid>>> {
        let mut out = Vec::with_capacity(tickets.len());
        pending.entries.reserve(tickets.len());
        pending.latest.reserve(tickets.len());
        pending.external.reserve(tickets.len());
        pending.by_hash.reserve(tickets.len());
        for new in tickets {
            if let Some(ext) = &new.external_id {
                let existing = match pending.external.get(ext) {
                    Some(id) => Some(*id),
                    None => self
                        .tree
                        .get(key(EXTERNAL, ext.as_bytes()))?
                        .and_then(|v| Uuid::from_slice(&v).ok()),
                };
                if let Some(id) = existing {
                    out.push(Err(id));
                    continue;
                }
            }
            let id = Uuid::now_v7();
            let now = Utc::now();
            let hash = text_hash(&new.text);
            let (repeat_of, hash_taken) = self.find_repeat(&new, hash, pending)?;
            let seq = self.seq();
            let events = new
                .history
                .iter()
                .map(|(at, body)| Event {
                    id: Uuid::now_v7(),
                    at: *at,
                    recorded_at: now,
                    body: body.clone(),
                })
                .collect();
            let ticket = Ticket {
                id,
                external_id: new.external_id,
                received_at: new.received_at,
                accepted_at: now,
                channel: new.channel,
                kind: new.kind,
                urgency: new.urgency,
                title: new.title,
                text: new.text,
                caller_name: new.caller_name,
                caller_phone: new.caller_phone,
                address: new.address,
                district: new.district,
                topic: new.topic,
                department: new.department,
                deciding_words: new.deciding_words,
                repeat_of,
                events,
                seq,
            };
            if let Some(ext) = &ticket.external_id {
                pending.external.insert(ext.clone(), id);
            }
            if let Some(caller) = ticket.caller_phone.as_deref().and_then(caller_key) {
                pending.by_phone.entry(caller).or_default().push(id);
            }
            if let Some(h) = hash {
                pending.by_hash.entry(h).or_insert(id);
            }
            pending.push(JournalEntry {
                seq,
                ticket,
                tokens: Some(new.index_tokens),
                text_hash: hash,
                text_hash_taken: Some(hash_taken),
            });
            out.push(Ok(id));
        }
        Ok(out)
    }

    /// The earlier open ticket this one repeats, if any (its root, when it
    /// is a repeat itself), and whether an earlier ticket has the same text hash.
    ///
    /// A repeat is the same complaint by the same caller with no new facts
    /// (接诉即办条例 第十一条): the same phone ([`caller_key`]), the same
    /// district, an open ticket within the window, and the same topic or
    /// the same text. The same words from another caller, from an unknown
    /// one or from another district are a 诉求 of their own, and so is a
    /// neighbour's call from the same address.
    fn find_repeat(
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

    fn repeat_facts_of(&self, id: Uuid, pending: &Pending) -> Result<Option<RepeatFacts>> {
        if let Some(t) = pending.ticket(&id) {
            return Ok(Some(RepeatFacts::of(t)));
        }
        if let Some(f) = self.repeat_facts.get(&id) {
            return Ok(Some(f.clone()));
        }
        Ok(self.load(id, pending)?.as_ref().map(RepeatFacts::of))
    }

    fn event(&mut self, id: Uuid, event: NewEvent, pending: &mut Pending) -> Result<Uuid> {
        let mut ticket = self
            .load(id, pending)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        if let Some(eid) = event.id {
            if ticket.events.iter().any(|e| e.id == eid) {
                if !pending.latest.contains_key(&id) {
                    pending.unchanged.insert(id, ticket);
                }
                return Ok(id); // already recorded: replaying it changes nothing
            }
        }
        if matches!(event.body, EventBody::TopicChanged { .. }) {
            return Err(Error::invalid(
                "type",
                "use the topic endpoint to change a ticket's topic",
            ));
        }
        if !ticket.is_open() {
            return Err(Error::Conflict(format!("ticket {id} is closed")));
        }
        let now = Utc::now();
        // An event before the ticket was received, before 2000 or in the
        // future would count as on time (or skew every deadline): refused.
        let at = event.at.unwrap_or_else(|| crate::beijing_time(now));
        crate::check_time(at, ticket.received_at).map_err(|m| Error::invalid("at", m))?;
        ticket.events.push(Event {
            id: event.id.unwrap_or_else(Uuid::now_v7),
            at,
            recorded_at: now,
            body: event.body,
        });
        self.record_change(ticket, pending);
        Ok(id)
    }

    /// A changed ticket gets the next sequence number and a journal entry.
    fn record_change(&mut self, mut ticket: Ticket, pending: &mut Pending) {
        ticket.seq = self.seq();
        pending.unchanged.remove(&ticket.id);
        pending.push(JournalEntry {
            seq: ticket.seq,
            ticket,
            tokens: None,
            text_hash: None,
            text_hash_taken: None,
        });
    }

    fn set_topic(
        &mut self,
        id: Uuid,
        topic: String,
        department: String,
        reason: Option<String>,
        pending: &mut Pending,
    ) -> Result<Uuid> {
        let mut ticket = self
            .load(id, pending)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        if ticket.topic.slug == topic && ticket.topic.source == TopicSource::Operator {
            if !pending.latest.contains_key(&id) {
                pending.unchanged.insert(id, ticket);
            }
            return Ok(id);
        }
        let now = Utc::now();
        ticket.events.push(Event {
            id: Uuid::now_v7(),
            at: crate::beijing_time(now),
            recorded_at: now,
            body: EventBody::TopicChanged {
                from: ticket.topic.slug.clone(),
                to: topic.clone(),
                reason,
                model: match ticket.topic.source {
                    TopicSource::Router => ticket.topic.model.clone(),
                    _ => None,
                },
                rerouted_by: None,
            },
        });
        ticket.topic = TopicAssignment::given(topic, TopicSource::Operator);
        ticket.department = department;
        self.record_change(ticket, pending);
        Ok(id)
    }

    /// See [`Store::reroute`]; `Ok(None)` when nothing changes.
    fn reroute(
        &mut self,
        id: Uuid,
        routed: TopicAssignment,
        department: String,
        pending: &mut Pending,
    ) -> Result<Option<Uuid>> {
        let mut ticket = self
            .load(id, pending)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        let current = &ticket.topic;
        if current.source != TopicSource::Router
            || current.model == routed.model
            || current.slug == routed.slug
        {
            if !pending.latest.contains_key(&id) {
                pending.unchanged.insert(id, ticket);
            }
            return Ok(None);
        }
        let now = Utc::now();
        ticket.events.push(Event {
            id: Uuid::now_v7(),
            at: crate::beijing_time(now),
            recorded_at: now,
            body: EventBody::TopicChanged {
                from: current.slug.clone(),
                to: routed.slug.clone(),
                reason: None,
                model: current.model.clone(),
                rerouted_by: routed.model.clone(),
            },
        });
        ticket.topic = routed;
        ticket.department = department;
        self.record_change(ticket, pending);
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::FIRST_READ;
    use crate::model::{TopicSource, Urgency};

    fn new_ticket(text: &str, words: &str) -> NewTicket {
        NewTicket {
            external_id: Some(format!("ext-{text}")),
            received_at: NaiveDate::from_ymd_opt(2024, 5, 6).and_then(|d| d.and_hms_opt(9, 0, 0)),
            channel: "phone".into(),
            kind: Kind::Complaint,
            urgency: Urgency::default(),
            title: None,
            text: text.into(),
            caller_name: None,
            caller_phone: None,
            address: None,
            district: Some("朝阳区".into()),
            topic: TopicAssignment {
                slug: "other".into(),
                source: TopicSource::Router,
                confidence: Some(0.5),
                model: None,
            },
            department: "区政府".into(),
            deciding_words: vec![],
            index_tokens: words.into(),
            history: vec![],
        }
    }

    /// Rewrites a ticket's sled entry the way earlier versions stored it:
    /// its JSON, and its words' position under `k`. Returns where it was.
    fn to_earlier_layout(store: &Store, id: Uuid) -> TicketAt {
        let tree = &store.inner.tree;
        let k = key(TICKET, id.as_bytes());
        let v = tree
            .get(&k)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no ticket"));
        let at = TicketAt::decode(&v).unwrap_or_else(|| panic!("not a position"));
        let ticket = read_ticket(&store.inner.journal, &k, &v).unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_vec(&ticket).unwrap_or_else(|e| panic!("{e}"));
        tree.insert(&k, json).unwrap_or_else(|e| panic!("{e}"));
        tree.insert(
            key(TOKENS, id.as_bytes()),
            at.created.to_be_bytes().to_vec(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        at
    }

    fn dispatch(store: &Store, id: Uuid) {
        store
            .add_event(
                id,
                NewEvent {
                    id: None,
                    at: None,
                    body: EventBody::Dispatched {
                        department: "街道".into(),
                    },
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn found(store: &Store, word: &str, status: Option<&str>) -> usize {
        let query = IndexQuery {
            words: vec![word.into()],
            status: status.map(Into::into),
            limit: 10,
            ..Default::default()
        };
        store.search(&query).map_or(0, |page| page.hits.len())
    }

    /// A ticket's record may be longer than the first read of the journal
    /// takes: it reads back whole, after a reopen too.
    #[test]
    fn a_long_ticket_reads_back_whole_from_the_journal() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = "楼道里有人飞线充电，电动自行车停满了楼道。".repeat(1_000);
        assert!(text.len() > 2 * FIRST_READ);
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let created = store
            .submit(vec![new_ticket(&text, "楼道 飞线充电 充电")])
            .unwrap_or_else(|e| panic!("{e}"));
        let Some(Submitted::Created(ticket)) = created.into_iter().next() else {
            panic!("not created");
        };
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let read = store.get(ticket.id).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.map(|t| t.text), Some(text));
        assert_eq!(found(&store, "飞线充电", None), 1);
    }

    /// A store written before sled pointed into the journal kept each
    /// ticket's JSON in sled and its words' position under `k`: it still
    /// reads, searches and takes events, and a changed ticket moves over.
    #[test]
    fn a_store_of_the_earlier_layout_still_works_and_moves_over() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let created = store
            .submit(vec![new_ticket(
                "楼道里飞线充电很危险",
                "楼道 飞线充电 飞线 充电 危险",
            )])
            .unwrap_or_else(|e| panic!("{e}"));
        let Some(Submitted::Created(ticket)) = created.into_iter().next() else {
            panic!("not created");
        };
        let id = ticket.id;
        let k = key(TICKET, id.as_bytes());
        let at = to_earlier_layout(&store, id);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);

        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            store
                .get(id)
                .unwrap_or_else(|e| panic!("{e}"))
                .map(|t| t.text),
            Some(ticket.text.clone())
        );
        assert_eq!(found(&store, "充电", None), 1);
        dispatch(&store, id);
        let v = store
            .inner
            .tree
            .get(&k)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("gone"));
        let moved = TicketAt::decode(&v).unwrap_or_else(|| panic!("not moved over"));
        assert_eq!(moved.created, at.created);
        assert!(moved.latest > at.latest);
        assert!(store
            .inner
            .tree
            .get(key(TOKENS, id.as_bytes()))
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none());
        store.commit_index().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found(&store, "飞线", Some("dispatched")), 1);
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(store.reindex().unwrap_or_else(|e| panic!("{e}")), 1);
        assert_eq!(found(&store, "危险", Some("dispatched")), 1);
    }

    /// Every state an interrupted compaction can leave opens to the same
    /// tickets and search: a new journal sled never switched to, an old one
    /// not yet deleted, and an index still naming the old generation. A
    /// ticket still in the earlier layout (its JSON in sled) is compacted
    /// too, and moves to the new one.
    #[test]
    fn an_interrupted_compaction_leaves_a_working_store() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut ids = Vec::new();
        for (text, words) in [
            ("楼道里飞线充电很危险", "楼道 飞线充电 飞线 充电 危险"),
            ("公园厕所没人打扫", "公园 厕所 打扫"),
        ] {
            let created = store
                .submit(vec![new_ticket(text, words)])
                .unwrap_or_else(|e| panic!("{e}"));
            let Some(Submitted::Created(ticket)) = created.into_iter().next() else {
                panic!("not created");
            };
            dispatch(&store, ticket.id);
            ids.push(ticket.id);
        }
        // The second ticket as earlier versions stored it.
        to_earlier_layout(&store, ids[1]);
        let before: Vec<Option<Ticket>> = ids
            .iter()
            .map(|id| store.get(*id).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);

        // A compaction that stopped while writing its new journal.
        std::fs::write(dir.path().join("journal.1.log"), b"half a record")
            .unwrap_or_else(|e| panic!("{e}"));
        let report = Store::compact(dir.path(), StoreConfig::default(), |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.tickets, 2);
        assert!(report.journal_bytes_after < report.journal_bytes_before);
        let payload = crate::index::committed_payload(&dir.path().join("index"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            payload.as_deref(),
            Some(format!("journal {} gen 1", report.journal_bytes_after).as_str())
        );

        // One that stopped after sled's switch: the old journal is still
        // there, and the index still names it.
        std::fs::write(dir.path().join("journal.log"), b"the old journal")
            .unwrap_or_else(|e| panic!("{e}"));
        crate::index::rebase(&dir.path().join("index"), 1 << 40, 0)
            .unwrap_or_else(|e| panic!("{e}"));

        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!dir.path().join("journal.log").exists());
        assert!(dir.path().join("journal.1.log").exists());
        let after: Vec<Option<Ticket>> = ids
            .iter()
            .map(|id| store.get(*id).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert_eq!(
            serde_json::to_value(&after).ok(),
            serde_json::to_value(&before).ok()
        );
        assert!(store
            .inner
            .tree
            .get(key(TOKENS, ids[1].as_bytes()))
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none());
        assert_eq!(found(&store, "飞线", Some("dispatched")), 1);
        assert_eq!(found(&store, "厕所", Some("dispatched")), 1);
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_ok(), "{report:?}");
        // Caught up from sled, the index names the live journal again.
        dispatch(&store, ids[0]);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let payload = crate::index::committed_payload(&dir.path().join("index"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        let live_len = std::fs::metadata(dir.path().join("journal.1.log"))
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(payload, format!("journal {live_len} gen 1"));
    }

    /// A salvage stopped after its new journal was complete and sled was
    /// marked, with sled's tickets half cleared: the store refuses to open,
    /// naming the new journal, and salvage run again finishes from it.
    #[test]
    fn an_interrupted_salvage_is_refused_and_finished_by_running_it_again() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut tickets = Vec::new();
        for (text, words) in [
            ("楼道里飞线充电很危险", "楼道 飞线充电 危险"),
            ("公园厕所没人打扫", "公园 厕所 打扫"),
            ("小区门口占道经营", "小区 门口 占道 经营"),
        ] {
            let created = store
                .submit(vec![new_ticket(text, words)])
                .unwrap_or_else(|e| panic!("{e}"));
            let Some(Submitted::Created(ticket)) = created.into_iter().next() else {
                panic!("not created");
            };
            tickets.push(*ticket);
        }
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let old = dir.path().join("journal.log");
        let mut bytes = std::fs::read(&old).unwrap_or_else(|e| panic!("{e}"));
        let second = 8 + u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
        bytes[second as usize + 40] ^= 0x02;
        std::fs::write(&old, &bytes).unwrap_or_else(|e| panic!("{e}"));

        // What a first run leaves when stopped in its rebuild.
        let new = journal_path(dir.path(), 1);
        let (mut journal, _) = Journal::open(&new, 0).unwrap_or_else(|e| panic!("{e}"));
        let file = std::fs::File::open(&old).unwrap_or_else(|e| panic!("{e}"));
        let mut readable = Vec::new();
        scan(&old, &file, 0, |_, payload| {
            readable.push(payload);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(readable.len(), 2);
        journal.append(&readable).unwrap_or_else(|e| panic!("{e}"));
        drop(journal);
        {
            let db = open_sled(&dir.path().join("sled")).unwrap_or_else(|e| panic!("{e}"));
            let tree = db.open_tree("hotline").unwrap_or_else(|e| panic!("{e}"));
            tree.insert(META_SALVAGE, 1u64.to_be_bytes().to_vec())
                .unwrap_or_else(|e| panic!("{e}"));
            tree.remove(key(TICKET, tickets[0].id.as_bytes()))
                .unwrap_or_else(|e| panic!("{e}"));
            db.flush().unwrap_or_else(|e| panic!("{e}"));
        }

        let refused = Store::open(dir.path(), StoreConfig::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("interrupted"), "{refused}");
        assert!(refused.contains(&new.display().to_string()), "{refused}");

        let report =
            Store::salvage(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.resumed, "{report:?}");
        assert_eq!(report.records_kept, 2);
        assert_eq!(report.tickets_after, 2);
        assert!(!old.exists());
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        for (i, t) in tickets.iter().enumerate() {
            let got = store.get(t.id).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(got.as_ref(), (i != 1).then_some(t), "ticket {i}");
        }
        let verified = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(verified.is_ok(), "{verified:?}");
        assert_eq!(verified.indexed_docs, 2);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    }
}
