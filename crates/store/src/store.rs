//! The store handle (`Store`) and its API: requests to the writer, reads, search, stats, shutdown.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::index::{IndexMsg, IndexQuery, SearchIndex};
use crate::journal::JournalReader;
use crate::keys::{key, EXTERNAL, TICKET};
use crate::location::read_ticket;
use crate::model::{EventBody, NewTicket, Ticket, TopicAssignment, TopicSource};
use crate::queue::{QueuePage, QueueQuery};
use crate::snippet::{snippet, Fragment};
use crate::stats::{aggregate, plan, read_rows, StatsQuery, StatsRow};
use crate::writer::Request;

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
    /// When it happened (Beijing time); defaults to now in Beijing. Read
    /// with a `T` or a space between date and time, as a ticket's
    /// `received_at` is.
    #[serde(default, deserialize_with = "beijing_time")]
    pub at: Option<NaiveDateTime>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// An optional Beijing time written `2026-12-04T14:50:00` or
/// `2026-12-04 14:50:00` (seconds and their fractions optional).
fn beijing_time<'de, D>(deserializer: D) -> std::result::Result<Option<NaiveDateTime>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let text = text.trim();
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .map(Some)
    .ok_or_else(|| {
        serde::de::Error::custom(format!(
            "cannot read time '{text}' (write 2026-12-04 14:50:00)"
        ))
    })
}

/// A cheap handle to the store; clone it freely.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) tree: sled::Tree,
    pub(crate) db: sled::Db,
    pub(crate) index: SearchIndex,
    pub(crate) journal: JournalReader,
    pub(crate) config: StoreConfig,
    /// The lock and mark of every token and audit change (`watermark`).
    pub(crate) watermark: Arc<crate::watermark::Watermark>,
    pub(crate) requests: Mutex<Option<Sender<Request>>>,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A search result, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub ticket: Ticket,
    /// Where the ticket is in its life, derived here once (the dashboard
    /// shows it rather than deriving it again).
    pub status: crate::model::Status,
    pub score: f32,
    /// An excerpt of the text around the query's words, in fragments of
    /// plain text, the query's words marked.
    pub snippet: Vec<Fragment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    /// Hits left out because their ticket's journal record cannot be read
    /// (`hotline verify` lists them, `hotline salvage` repairs the journal).
    pub skipped_unreadable: usize,
}

impl Store {
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
                status: ticket.status(),
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

    /// The router's decisions and the operators' overrides of them, per
    /// model version, topic and district: a few hundred rows, never a scan
    /// of the tickets.
    pub fn router_decisions(&self) -> Result<Vec<crate::DecisionRow>> {
        crate::decisions::read_rows(&self.inner.tree)?
            .into_iter()
            .map(|row| {
                row.map_err(|key| Error::Corrupt {
                    key,
                    message: "not a router-decision row".to_owned(),
                })
            })
            .collect()
    }

    /// Statistics over the counters. Reads only the days asked for.
    pub fn stats(&self, q: &StatsQuery) -> Result<Vec<StatsRow>> {
        let plan = plan(q, self.inner.config.rates.assessment_month_start_day);
        let rows = read_rows(&self.inner.tree, &plan)?;
        Ok(aggregate(rows.into_iter(), q, &self.inner.config.rates))
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
