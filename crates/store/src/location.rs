//! Ticket locations: where in the journal sled says a ticket is, and reading it from there.

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::journal::JournalReader;
use crate::keys::{key, TICKET, TOKENS};
use crate::model::Ticket;
use crate::record::{decode_tokens, ticket_of_record};

/// Where a ticket is in the journal; sled's value for a ticket id. The
/// journal holds every version of a ticket, so sled points at the record of
/// the latest one instead of keeping a second copy, and at the record that
/// created the ticket, which holds its index words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TicketAt {
    pub(crate) latest: u64,
    pub(crate) created: u64,
}

impl TicketAt {
    pub(crate) fn encode(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&self.latest.to_be_bytes());
        v.extend_from_slice(&self.created.to_be_bytes());
        v
    }

    pub(crate) fn decode(v: &[u8]) -> Option<TicketAt> {
        let latest = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
        let created = u64::from_be_bytes(v.get(8..16)?.try_into().ok()?);
        (v.len() == 16).then_some(TicketAt { latest, created })
    }
}

/// A ticket's value in sled: where it is in the journal or, in a store
/// written by an earlier version, its JSON (its index words' position then
/// under the `k` key).
pub(crate) enum StoredTicket<'a> {
    At(TicketAt),
    Json(&'a [u8]),
}

pub(crate) fn stored_ticket<'a>(k: &[u8], v: &'a [u8]) -> Result<StoredTicket<'a>> {
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

pub(crate) fn ticket_key_name(k: &[u8]) -> String {
    match Uuid::from_slice(&k[1..]) {
        Ok(id) => format!("ticket {id}"),
        Err(_) => String::from_utf8_lossy(k).into_owned(),
    }
}

/// The ticket a sled value stands for.
pub(crate) fn read_ticket(journal: &JournalReader, k: &[u8], v: &[u8]) -> Result<Ticket> {
    match stored_ticket(k, v)? {
        StoredTicket::At(at) => ticket_of_record(&journal.payload_at(at.latest)?, at.latest),
        StoredTicket::Json(json) => serde_json::from_slice(json).map_err(|e| Error::Corrupt {
            key: ticket_key_name(k),
            message: e.to_string(),
        }),
    }
}

/// The journal offset of the record that created a ticket (its index words).
pub(crate) fn created_at(tree: &sled::Tree, k: &[u8], v: &[u8]) -> Result<Option<u64>> {
    Ok(match stored_ticket(k, v)? {
        StoredTicket::At(at) => Some(at.created),
        StoredTicket::Json(_) => tree
            .get(key(TOKENS, &k[1..]))?
            .and_then(|v| v.as_ref().try_into().ok())
            .map(u64::from_be_bytes),
    })
}

/// A ticket's index words, read back from the record that created it.
pub(crate) fn load_tokens(tree: &sled::Tree, journal: &JournalReader, id: Uuid) -> Result<String> {
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

#[cfg(test)]
mod tests {
    //! Reading tickets back from the journal, and stores of the earlier layout.

    use super::*;
    use crate::config::StoreConfig;
    use crate::journal::FIRST_READ;
    use crate::store::{Store, Submitted};
    use crate::testing::{dispatch, found, new_ticket, to_earlier_layout};

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
}
