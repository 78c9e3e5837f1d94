//! Ticket locations: where in the journal sled says a ticket is, and reading it from there.

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::journal::JournalReader;
use crate::keys::{key, TICKET};
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

/// Where the sled value `v` of the ticket key `k` says the ticket is.
pub(crate) fn ticket_at(k: &[u8], v: &[u8]) -> Result<TicketAt> {
    TicketAt::decode(v).ok_or_else(|| Error::Corrupt {
        key: ticket_key_name(k),
        message: "not a journal position".into(),
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
    let at = ticket_at(k, v)?;
    ticket_of_record(&journal.payload_at(at.latest)?, at.latest)
}

/// A ticket's index words, read back from the record that created it.
pub(crate) fn load_tokens(tree: &sled::Tree, journal: &JournalReader, id: Uuid) -> Result<String> {
    let k = key(TICKET, id.as_bytes());
    let Some(v) = tree.get(&k)? else {
        return Ok(String::new());
    };
    let offset = ticket_at(&k, &v)?.created;
    let payload = journal.payload_at(offset)?;
    Ok(decode_tokens(&payload, offset)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    //! Reading tickets back from the journal.

    use crate::config::StoreConfig;
    use crate::journal::FIRST_READ;
    use crate::store::Store;
    use crate::testing::{create, found};

    /// A ticket's record may be longer than the first read of the journal
    /// takes: it reads back whole, after a reopen too.
    #[test]
    fn a_long_ticket_reads_back_whole_from_the_journal() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = "楼道里有人飞线充电，电动自行车停满了楼道。".repeat(1_000);
        assert!(text.len() > 2 * FIRST_READ);
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let ticket = create(&store, &text, "楼道 飞线充电 充电");
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let read = store.get(ticket.id).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.map(|t| t.text), Some(text));
        assert_eq!(found(&store, "飞线充电", None), 1);
    }
}
