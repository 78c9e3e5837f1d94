//! The single writer thread: its requests, group commit (one fsync per group), new tickets.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::batch::{apply, Applied, CounterCache};
use crate::counters::Deadlines;
use crate::error::{Error, Result};
use crate::index::{index_doc, IndexMsg};
use crate::journal::{record_start, Journal, JournalReader};
use crate::keys::{key, EXTERNAL, TICKET};
use crate::location::read_ticket;
use crate::model::{Event, NewTicket, Ticket, TopicAssignment};
use crate::record::{encode_entry, JournalEntry};
use crate::repeats::{caller_key, text_hash, RepeatFacts, REPEAT_FACTS_TICKETS};
use crate::store::{NewEvent, Submitted};

/// Called by the writer thread with the outcome of a submission.
pub(crate) type OnStored = Box<dyn FnOnce(Result<Vec<Submitted>>) + Send>;

pub(crate) enum Request {
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

/// The single writer: decides (duplicates, repeats), journals, applies, indexes.
pub(crate) struct Writer {
    pub(crate) tree: sled::Tree,
    pub(crate) db: sled::Db,
    pub(crate) journal: Journal,
    pub(crate) reader: JournalReader,
    pub(crate) deadlines: Deadlines,
    /// Where the ranking views' assessment months start (`RateConfig`).
    pub(crate) assessment_start_day: u32,
    pub(crate) window_days: u32,
    pub(crate) next_seq: u64,
    pub(crate) index: Sender<IndexMsg>,
    pub(crate) counters: CounterCache,
    pub(crate) repeat_facts: HashMap<Uuid, RepeatFacts>,
}

/// Decisions taken in the current group but not yet in sled.
#[derive(Default)]
pub(crate) struct Pending {
    /// The group's changes, in order; each holds the ticket as it left it.
    pub(crate) entries: Vec<JournalEntry>,
    /// Where in `entries` each changed ticket's latest version is: the
    /// tickets stay in their entries rather than being copied here.
    pub(crate) latest: HashMap<Uuid, usize>,
    /// Tickets the group asked for but did not change (a replayed event).
    pub(crate) unchanged: HashMap<Uuid, Ticket>,
    pub(crate) external: HashMap<String, Uuid>,
    /// By [`caller_key`].
    pub(crate) by_phone: HashMap<String, Vec<Uuid>>,
    pub(crate) by_hash: HashMap<u64, Uuid>,
}

impl Pending {
    pub(crate) fn ticket(&self, id: &Uuid) -> Option<&Ticket> {
        match self.latest.get(id) {
            Some(&i) => self.entries.get(i).map(|e| &e.ticket),
            None => self.unchanged.get(id),
        }
    }

    pub(crate) fn push(&mut self, entry: JournalEntry) {
        self.latest.insert(entry.ticket.id, self.entries.len());
        self.entries.push(entry);
    }
}

pub(crate) type Reply = Box<dyn FnOnce(&Result<()>, &Pending)>;

impl Writer {
    pub(crate) fn run(mut self, rx: Receiver<Request>) {
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
                                (Err(e), _) => Err(Error::NotStored(e.to_string())),
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
                                (Err(e), _) => Err(Error::NotStored(e.to_string())),
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

    pub(crate) fn ticket_reply(outcome: Result<Uuid>, reply: Sender<Result<Ticket>>) -> Reply {
        Box::new(move |result, pending| {
            let _ = reply.send(match (result, outcome) {
                (Ok(()), Ok(id)) => pending.ticket(&id).cloned().ok_or(Error::Closed),
                (Err(e), _) => Err(Error::NotStored(e.to_string())),
                (_, Err(e)) => Err(e),
            });
        })
    }

    /// Journal (fsync), then sled, then the index.
    pub(crate) fn commit(&mut self, entries: &mut [JournalEntry]) -> Result<()> {
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
            self.assessment_start_day,
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

    pub(crate) fn load(&self, id: Uuid, pending: &Pending) -> Result<Option<Ticket>> {
        if let Some(t) = pending.ticket(&id) {
            return Ok(Some(t.clone()));
        }
        let k = key(TICKET, id.as_bytes());
        self.tree
            .get(&k)?
            .map(|v| read_ticket(&self.reader, &k, &v))
            .transpose()
    }

    pub(crate) fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Ok(id) for a new ticket, Err(existing id) for a duplicate external id.
    pub(crate) fn create(
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
            let (ticket, tokens) = accepted(new, id, now, seq, repeat_of);
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
                tokens: Some(tokens),
                text_hash: hash,
                text_hash_taken: Some(hash_taken),
            });
            out.push(Ok(id));
        }
        Ok(out)
    }
}

/// A submitted ticket as the store keeps it, with its index words: the
/// store's id, acceptance time and sequence number, the ticket it repeats,
/// and its history as events recorded now.
pub(crate) fn accepted(
    new: NewTicket,
    id: Uuid,
    now: DateTime<Utc>,
    seq: u64,
    repeat_of: Option<Uuid>,
) -> (Ticket, String) {
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
        street: new.street,
        topic: new.topic,
        department: new.department,
        deciding_words: new.deciding_words,
        repeat_of,
        events,
        seq,
    };
    (ticket, new.index_tokens)
}
