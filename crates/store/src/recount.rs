//! Count rows recounted from the stored tickets at open: once for a store written before they existed, again when what they follow changed.
//!
//! Each derived family of rows (the counter views and department rows, the
//! router decisions) says what it was counted with in META marks. At open,
//! before the journal is replayed (the replay takes each replayed ticket's
//! old counts out, so they must be counted the way the replay counts them),
//! a family whose marks do not all hold is rebuilt from every readable
//! ticket: its old rows removed, the new ones and the marks written in one
//! atomic batch, so an interrupted rebuild leaves the marks unset and runs
//! again at the next opening. Marks that hold cost one read each.

use std::collections::HashMap;

use crate::batch::CountRow;
use crate::error::Result;
use crate::journal::JournalReader;
use crate::keys::TICKET;
use crate::location::read_ticket;
use crate::model::Ticket;

/// One family of count rows: where its rows live and the marks saying
/// what they were counted with.
pub(crate) struct Recount<'a> {
    /// For the log.
    pub(crate) what: &'static str,
    /// Every stored row of the family starts with one of these.
    pub(crate) prefixes: &'a [&'a [u8]],
    /// META key → the value it holds once the rows are current.
    pub(crate) marks: &'a [(&'a [u8], &'a [u8])],
}

impl Recount<'_> {
    /// Whether every mark holds its value.
    pub(crate) fn is_current(&self, tree: &sled::Tree) -> Result<bool> {
        for (k, want) in self.marks {
            if tree.get(k)?.as_deref() != Some(*want) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Rebuilds the rows from the tickets unless they are current: `rows_of`
    /// gives each ticket's rows (key, counts), summed here. Returns whether
    /// it rebuilt. Unreadable tickets are left out (`verify` names them).
    pub(crate) fn run<R, I, F>(
        &self,
        tree: &sled::Tree,
        journal: &JournalReader,
        mut rows_of: F,
    ) -> Result<bool>
    where
        R: CountRow,
        I: IntoIterator<Item = (Vec<u8>, R)>,
        F: FnMut(&Ticket) -> I,
    {
        if self.is_current(tree)? {
            return Ok(false);
        }
        let mut batch = sled::Batch::default();
        for prefix in self.prefixes {
            for item in tree.scan_prefix(prefix) {
                batch.remove(item?.0);
            }
        }
        let mut rows: HashMap<Vec<u8>, R> = HashMap::new();
        let mut tickets = 0u64;
        for item in tree.scan_prefix([TICKET]) {
            let (k, v) = item?;
            let Ok(t) = read_ticket(journal, &k, &v) else {
                continue;
            };
            tickets += 1;
            for (key, c) in rows_of(&t) {
                rows.entry(key).or_default().add(&c);
            }
        }
        let n = rows.len();
        for (k, c) in rows {
            if !c.is_zero() {
                batch.insert(k, c.encode());
            }
        }
        for (k, v) in self.marks {
            batch.insert(*k, *v);
        }
        tree.apply_batch(batch)?;
        // Handed to the OS now rather than at sled's next background flush
        // (sled's flush does not fsync, sled #1452): a process killed soon
        // after this opening need not count every row again.
        tree.flush()?;
        tracing::info!(
            what = self.what,
            rows = n,
            tickets,
            "counted again from the stored tickets"
        );
        Ok(true)
    }
}
