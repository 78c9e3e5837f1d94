//! The tantivy search index, owned by one thread.
//!
//! Documents carry the ticket's words as segmented once at submission,
//! joined by spaces; a whitespace tokenizer splits them again at full speed
//! (no second jieba pass, no pre-tokenized serialisation). Only the id is
//! stored: texts live in the journal.

use std::ops::Bound;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::district_statistics::DistrictStatistics;
use crate::error::{Error, Result};
use crate::model::Ticket;

const TOKENIZER: &str = "hotline_words";

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    body: Field,
    topic: Field,
    district: Field,
    kind: Field,
    status: Field,
    received: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let body_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        body: b.add_text_field("body", body_options),
        topic: b.add_text_field("topic", STRING | FAST),
        district: b.add_text_field("district", STRING | FAST),
        kind: b.add_text_field("kind", STRING | FAST),
        status: b.add_text_field("status", STRING | FAST),
        received: b.add_i64_field("received", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// What the index knows of a ticket.
#[derive(Debug, Clone)]
pub struct IndexDoc {
    pub id: String,
    /// The words to index; None: the ticket's stored words, read back by the
    /// indexer thread (off the writer's path).
    pub tokens: Option<String>,
    pub topic: String,
    pub district: String,
    pub kind: String,
    pub status: String,
    /// Received time as seconds since the epoch (local); None when undated.
    pub received: Option<i64>,
}

pub(crate) enum IndexMsg {
    Upsert {
        /// The journal offset just past the change this document reflects.
        journal_end: u64,
        doc: IndexDoc,
        /// The ticket may already be indexed: delete the old document first.
        /// False for new tickets, which saves tantivy a delete per document.
        replace: bool,
    },
    /// Every change before this journal offset has been sent.
    UpTo(u64),
    /// Commit now and answer when searchable.
    Commit(Sender<Result<()>>),
    /// Delete every document (before a rebuild).
    Clear(Sender<Result<()>>),
    /// Commit, release the writer's lock and stop.
    Stop(Sender<Result<()>>),
}

/// Filters and paging of a search; `words` are the query's segmented words.
#[derive(Debug, Clone, Default)]
pub struct IndexQuery {
    pub words: Vec<String>,
    /// Keyed hashes of personal identifiers ([`PersonalKey::term`](crate::PersonalKey::term)),
    /// only in a search for a reader allowed to see personal data: a ticket
    /// indexed under any of them matches as if it held the words.
    pub personal: Vec<String>,
    pub topic: Option<String>,
    pub district: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Every word must appear (true), or any of them (false).
    pub all_words: bool,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Clone)]
pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    sender: Sender<IndexMsg>,
}

#[derive(Debug)]
pub(crate) struct IndexOwner {
    pub handle: JoinHandle<()>,
}

/// Batching of commits.
#[derive(Debug, Clone, Copy)]
pub struct CommitPolicy {
    pub max_docs: usize,
    pub max_delay: Duration,
    /// A bulk load (`hotline import`, which holds the store's lock, so no
    /// one searches meanwhile): commits by count only, one indexing thread,
    /// and no segment merges while it runs (the next normal opening merges
    /// in the background), so the CPU goes to new tickets.
    pub bulk: bool,
}

/// How far the committed index reaches, from its commit payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexedUpTo {
    /// Every journal record before this offset.
    Journal(u64),
    /// Every ticket change up to this sequence number: an index written by
    /// an earlier version, or (0) a new one.
    Seq(u64),
}

impl IndexedUpTo {
    const PREFIX: &'static str = "journal ";
    const GENERATION: &'static str = " gen ";

    /// How far an index committed with `payload` reaches in the journal of
    /// `generation`. Offsets into another generation's journal (a compaction
    /// stopped before it told the index) mean nothing here: such an index
    /// is caught up from sled, like a new one.
    fn parse(payload: Option<&str>, generation: u64) -> IndexedUpTo {
        let Some(payload) = payload else {
            return IndexedUpTo::Seq(0);
        };
        match payload.strip_prefix(Self::PREFIX) {
            Some(rest) => {
                let (end, written_for) = match rest.split_once(Self::GENERATION) {
                    Some((end, g)) => (end, g.parse::<u64>().ok()),
                    None => (rest, Some(0)),
                };
                match end.parse() {
                    Ok(end) if written_for == Some(generation) => IndexedUpTo::Journal(end),
                    _ => IndexedUpTo::Seq(0),
                }
            }
            None => IndexedUpTo::Seq(payload.parse().unwrap_or(0)),
        }
    }

    /// Generation 0 (never compacted) keeps the payload earlier versions wrote.
    fn payload(journal_end: u64, generation: u64) -> String {
        if generation == 0 {
            format!("{}{journal_end}", Self::PREFIX)
        } else {
            format!(
                "{}{journal_end}{}{generation}",
                Self::PREFIX,
                Self::GENERATION
            )
        }
    }
}

/// Marks a complete index as reaching `journal_end` of the journal of
/// `generation`, without touching its documents: after a compaction, which
/// moves every record but changes no ticket.
pub(crate) fn rebase(dir: &Path, journal_end: u64, generation: u64) -> Result<()> {
    let (schema, _) = schema();
    let directory =
        tantivy::directory::MmapDirectory::open(dir).map_err(|e| Error::Index(e.into()))?;
    let index = Index::open_or_create(directory, schema)?;
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload(&IndexedUpTo::payload(journal_end, generation));
    prepared.commit()?;
    writer.wait_merging_threads()?;
    Ok(())
}

#[cfg(test)]
pub(crate) fn committed_payload(dir: &Path) -> Result<Option<String>> {
    let directory =
        tantivy::directory::MmapDirectory::open(dir).map_err(|e| Error::Index(e.into()))?;
    Ok(Index::open(directory)?.load_metas()?.payload)
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens or creates the index; returns it, how far it reaches (from the
    /// commit payload), and its owner thread.
    pub(crate) fn open(
        dir: &Path,
        policy: CommitPolicy,
        stored_words: StoredWords,
        generation: u64,
    ) -> Result<(SearchIndex, IndexedUpTo, IndexOwner)> {
        std::fs::create_dir_all(dir).map_err(Error::io_at(dir))?;
        let (schema, fields) = schema();
        let directory =
            tantivy::directory::MmapDirectory::open(dir).map_err(|e| Error::Index(e.into()))?;
        let index = Index::open_or_create(directory, schema)?;
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::from(WhitespaceTokenizer::default()),
        );
        let indexed = IndexedUpTo::parse(index.load_metas()?.payload.as_deref(), generation);
        let committed_end = match indexed {
            IndexedUpTo::Journal(end) => end,
            IndexedUpTo::Seq(_) => 0,
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let (sender, receiver) = mpsc::channel();
        let owner_reader: IndexReader = Clone::clone(&reader);
        let (opened_tx, opened_rx) = mpsc::sync_channel::<Result<()>>(1);
        let handle = std::thread::Builder::new()
            .name("hotline-indexer".into())
            .spawn(move || {
                if !policy.bulk {
                    lower_priority();
                }
                let writer = match open_writer(&index, policy.bulk) {
                    Ok(writer) => writer,
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                // A process killed inside a commit leaves files that no commit
                // lists (a delete file of the next opstamp); catching up would
                // write the same name again and fail. Drop them first.
                if let Err(e) = writer.garbage_collect_files().wait() {
                    let _ = opened_tx.send(Err(e.into()));
                    return;
                }
                let _ = opened_tx.send(Ok(()));
                run_indexer(
                    writer,
                    owner_reader,
                    fields,
                    receiver,
                    policy,
                    Committed {
                        journal_end: committed_end,
                        generation,
                    },
                    stored_words,
                )
            })
            .map_err(|e| Error::Io {
                path: "indexer thread".into(),
                source: e,
            })?;
        opened_rx.recv().map_err(|_| Error::Closed)??;
        Ok((
            SearchIndex {
                reader,
                fields,
                sender,
            },
            indexed,
            IndexOwner { handle },
        ))
    }

    pub(crate) fn send(&self, msg: IndexMsg) -> Result<()> {
        self.sender.send(msg).map_err(|_| Error::Closed)
    }

    pub(crate) fn sender(&self) -> Sender<IndexMsg> {
        self.sender.clone()
    }

    /// Commits everything sent so far and waits until it is searchable.
    pub fn commit(&self) -> Result<()> {
        let (tx, rx) = mpsc::channel();
        self.send(IndexMsg::Commit(tx))?;
        rx.recv().map_err(|_| Error::Closed)?
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The index files whose content no longer matches the checksum
    /// written with them, by name, sorted.
    pub fn damaged_files(&self) -> Result<Vec<String>> {
        let damaged = self.reader.searcher().index().validate_checksum()?;
        let mut names: Vec<String> = damaged
            .iter()
            .map(|p| format!("index/{}", p.display()))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Ids of the matching tickets, best first, and the total count.
    pub fn search(&self, q: &IndexQuery) -> Result<(usize, Vec<(String, f32)>)> {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let body_term = |w: &str| -> Box<dyn Query> {
            let term = Term::from_field_text(f.body, w);
            Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
        };
        if !q.words.is_empty() || !q.personal.is_empty() {
            let occur = if q.all_words {
                Occur::Must
            } else {
                Occur::Should
            };
            let words: Vec<(Occur, Box<dyn Query>)> =
                q.words.iter().map(|w| (occur, body_term(w))).collect();
            let mut either: Vec<(Occur, Box<dyn Query>)> = q
                .personal
                .iter()
                .map(|t| (Occur::Should, body_term(t)))
                .collect();
            if !words.is_empty() {
                either.push((Occur::Should, Box::new(BooleanQuery::new(words))));
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
        }
        for (field, value) in [
            (f.topic, &q.topic),
            (f.district, &q.district),
            (f.kind, &q.kind),
            (f.status, &q.status),
        ] {
            if let Some(v) = value {
                let term = Term::from_field_text(field, v);
                clauses.push((
                    Occur::Must,
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                ));
            }
        }
        if q.from.is_some() || q.to.is_some() {
            let lower = q.from.map_or(Bound::Unbounded, |v| {
                Bound::Included(Term::from_field_i64(f.received, v))
            });
            let upper = q.to.map_or(Bound::Unbounded, |v| {
                Bound::Excluded(Term::from_field_i64(f.received, v))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        let query: Box<dyn Query> = if clauses.is_empty() {
            Box::new(tantivy::query::AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, 1000);
        // Past the last document there is no hit: count only, so that no
        // offset, however large, reaches the collector (it adds the offset
        // to the limit and sizes its heap by the sum).
        if u64::try_from(q.offset).map_or(true, |o| o >= searcher.num_docs()) {
            return Ok((searcher.search(&query, &Count)?, Vec::new()));
        }
        let collector = (
            TopDocs::with_limit(limit)
                .and_offset(q.offset)
                .order_by_score(),
            Count,
        );
        // A search filtered to a district is scored by that district's
        // statistics alone: counted over the index, they would let the
        // order of its hits tell how the other districts write.
        let (top, total) = match &q.district {
            Some(district) => {
                let term = Term::from_field_text(f.district, district);
                let statistics = DistrictStatistics::new(&searcher, term)?;
                searcher.search_with_statistics_provider(&query, &collector, &statistics)?
            }
            None => searcher.search(&query, &collector)?,
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = doc.get_first(f.id).and_then(|v| v.as_str()) {
                hits.push((id.to_owned(), score));
            }
        }
        Ok((total, hits))
    }
}

fn open_writer(index: &Index, bulk: bool) -> Result<IndexWriter> {
    if bulk {
        // One indexing thread with a large arena: the import's workers and
        // writer need the other core, and fewer, larger segments cost less
        // to build than many small ones.
        let writer = index.writer_with_num_threads(1, 160_000_000)?;
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        Ok(writer)
    } else {
        // One indexing thread here too: a second one halves neither the
        // work nor the wait (documents arrive a few thousand a second) but
        // doubles the segments each commit writes and the merges after.
        Ok(index.writer_with_num_threads(1, 96_000_000)?)
    }
}

/// Indexing is background work: a ticket must be searchable within a
/// second, not at once. The threads tantivy starts from the indexer thread,
/// for indexing and for merging segments, inherit its priority (nice 9 on
/// Linux), so that their bursts wait for the requests being answered rather
/// than the requests for them. Not being allowed to is no reason to stop.
fn lower_priority() {
    use thread_priority::{set_current_thread_priority, ThreadPriority, ThreadPriorityValue};
    let Ok(value) = ThreadPriorityValue::try_from(25u8) else {
        return;
    };
    if let Err(e) = set_current_thread_priority(ThreadPriority::Crossplatform(value)) {
        tracing::debug!(error = ?e, "index threads keep the normal priority");
    }
}

/// How far the last commit reached, in which journal generation.
struct Committed {
    journal_end: u64,
    generation: u64,
}

/// Reads a ticket's stored index words, by ticket id.
pub(crate) type StoredWords = Box<dyn Fn(&str) -> Result<String> + Send>;

fn run_indexer(
    mut writer: IndexWriter,
    reader: IndexReader,
    f: Fields,
    receiver: Receiver<IndexMsg>,
    policy: CommitPolicy,
    committed: Committed,
    stored_words: StoredWords,
) {
    let Committed {
        journal_end: mut committed_end,
        generation,
    } = committed;
    let mut pending = 0usize;
    let mut last_end = committed_end;
    let mut first_pending: Option<Instant> = None;
    // When a failed commit may be tried again.
    let mut retry_at: Option<Instant> = None;
    let commit = |writer: &mut IndexWriter, last_end: u64| -> Result<()> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&IndexedUpTo::payload(last_end, generation));
        prepared.commit()?;
        reader.reload()?;
        Ok(())
    };
    loop {
        let timeout = match first_pending {
            Some(t) if !policy.bulk => policy.max_delay.saturating_sub(t.elapsed()),
            _ => Duration::from_secs(3600),
        };
        match receiver.recv_timeout(timeout) {
            Ok(IndexMsg::Upsert {
                journal_end,
                doc,
                replace,
            }) => {
                let tokens = match doc.tokens {
                    Some(tokens) => tokens,
                    None => match stored_words(&doc.id) {
                        Ok(tokens) => tokens,
                        Err(e) => {
                            // The old document stays (with its old status);
                            // `hotline verify` and `reindex` repair it.
                            tracing::error!(ticket = %doc.id, error = %e, "index words unreadable; ticket not re-indexed");
                            continue;
                        }
                    },
                };
                if replace {
                    writer.delete_term(Term::from_field_text(f.id, &doc.id));
                }
                let mut d = doc!(
                    f.id => doc.id,
                    f.body => tokens,
                    f.topic => doc.topic,
                    f.district => doc.district,
                    f.kind => doc.kind,
                    f.status => doc.status,
                );
                if let Some(r) = doc.received {
                    d.add_i64(f.received, r);
                }
                if let Err(e) = writer.add_document(d) {
                    tracing::error!(error = %e, "index add failed");
                }
                last_end = last_end.max(journal_end);
                pending += 1;
                first_pending.get_or_insert_with(Instant::now);
            }
            Ok(IndexMsg::UpTo(journal_end)) => {
                last_end = last_end.max(journal_end);
                continue;
            }
            Ok(IndexMsg::Commit(reply)) => {
                let result = if pending > 0 || last_end != committed_end {
                    commit(&mut writer, last_end)
                } else {
                    Ok(())
                };
                if result.is_ok() {
                    committed_end = last_end;
                    pending = 0;
                    first_pending = None;
                }
                let _ = reply.send(result);
                continue;
            }
            Ok(IndexMsg::Clear(reply)) => {
                let result = writer
                    .delete_all_documents()
                    .map(|_| ())
                    .map_err(Error::from)
                    .and_then(|()| {
                        last_end = 0;
                        commit(&mut writer, 0)
                    });
                committed_end = 0;
                pending = 0;
                first_pending = None;
                let _ = reply.send(result);
                continue;
            }
            Ok(IndexMsg::Stop(reply)) => {
                let result = if pending > 0 || last_end != committed_end {
                    commit(&mut writer, last_end)
                } else {
                    Ok(())
                };
                let _ = writer.wait_merging_threads();
                let _ = reply.send(result);
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if pending > 0 || last_end != committed_end {
                    if let Err(e) = commit(&mut writer, last_end) {
                        tracing::error!(error = %e, "final index commit failed");
                    }
                }
                let _ = writer.wait_merging_threads();
                return;
            }
        }
        let due = first_pending.is_some_and(|t| !policy.bulk && t.elapsed() >= policy.max_delay)
            || pending >= policy.max_docs;
        if due && pending > 0 && retry_at.is_none_or(|t| Instant::now() >= t) {
            match commit(&mut writer, last_end) {
                Ok(()) => {
                    committed_end = last_end;
                    pending = 0;
                    first_pending = None;
                    retry_at = None;
                }
                Err(e) => {
                    // Retried after a pause, whatever made it due: a full
                    // disk made this a loop of thousands of tries a second,
                    // each logged.
                    let pause = policy.max_delay.max(Duration::from_secs(1));
                    first_pending = Some(Instant::now());
                    retry_at = Some(Instant::now() + pause);
                    tracing::error!(error = %e, "index commit failed; will retry");
                }
            }
        }
    }
}

pub(crate) fn index_doc(ticket: &Ticket, tokens: Option<String>) -> IndexDoc {
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
