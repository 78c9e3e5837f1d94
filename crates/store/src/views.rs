//! Counter views: the sled rows (four views, day and month grain) a ticket's counts go to.

use crate::counters::CounterKey;
use crate::error::Result;
use crate::journal::JournalReader;
use crate::keys::{COUNTER, META_STREETS, MONTH_COUNTER, TICKET};
use crate::location::read_ticket;
use crate::model::Kind;

/// The counters are kept four times, each at day and month grain: in full
/// (topic × district × kind), rolled up by topic and by district (kind
/// folded into consultation / request), and by street (topic × district ×
/// street, kind folded likewise). A query reads the smallest view that
/// answers it, so the rows it reads are bounded by the range and the view
/// (at most 14 topics × 2 per day or month; for streets, 14 topics × 344
/// streets × 2), not by the tickets stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum View {
    Full = 0,
    ByTopic = 1,
    ByDistrict = 2,
    ByStreet = 3,
}

pub(crate) const VIEWS: [View; 4] = [View::Full, View::ByTopic, View::ByDistrict, View::ByStreet];
/// Stands for "every topic" or "every district" in a rolled-up row.
pub(crate) const ALL: &str = "*";
/// Marks a range that runs to the end of a view (past the undated rows).
pub(crate) const UNDATED_DAY_END: u32 = 0;

pub(crate) fn view_of(view: View, ck: &CounterKey) -> CounterKey {
    let class = if ck.kind == Kind::Consultation {
        Kind::Consultation
    } else {
        Kind::Complaint
    };
    match view {
        View::Full => CounterKey {
            street: String::new(),
            ..ck.clone()
        },
        View::ByTopic => CounterKey {
            district: ALL.to_owned(),
            kind: class,
            street: String::new(),
            ..ck.clone()
        },
        View::ByDistrict => CounterKey {
            topic: ALL.to_owned(),
            kind: class,
            street: String::new(),
            ..ck.clone()
        },
        View::ByStreet => CounterKey {
            kind: class,
            ..ck.clone()
        },
    }
}

pub(crate) fn counter_key(space: u8, view: View, ck: &CounterKey) -> Vec<u8> {
    let mut k = vec![space, view as u8];
    k.extend_from_slice(&ck.encode());
    k
}

/// Every stored row a ticket's counts go to: three views, day and month grain.
pub(crate) fn counter_rows(ck: &CounterKey) -> impl Iterator<Item = (u8, View, CounterKey)> + '_ {
    VIEWS.into_iter().flat_map(move |view| {
        let row = view_of(view, ck);
        let month = row.month();
        [(COUNTER, view, row), (MONTH_COUNTER, view, month)]
    })
}

/// Counts the street view of a store written before streets were counted,
/// once: its rows rebuilt from the tickets, with the mark that they are
/// counted, in one batch. Runs at open, before the journal is replayed (the
/// replay takes each replayed ticket's old counts out, street view included,
/// so they must be in). Tickets stored before have no street: they count
/// under none.
pub(crate) fn count_streets_once(
    tree: &sled::Tree,
    journal: &JournalReader,
    deadlines: &crate::counters::Deadlines,
) -> Result<()> {
    if tree.get(META_STREETS)?.is_some() {
        return Ok(());
    }
    let mut batch = sled::Batch::default();
    for space in [COUNTER, MONTH_COUNTER] {
        for item in tree.scan_prefix([space, View::ByStreet as u8]) {
            batch.remove(item?.0);
        }
    }
    let mut rows: std::collections::HashMap<Vec<u8>, crate::counters::Counts> =
        std::collections::HashMap::new();
    for item in tree.scan_prefix([TICKET]) {
        let (k, v) = item?;
        // `verify` names unreadable records; the counts do without them.
        let Ok(t) = read_ticket(journal, &k, &v) else {
            continue;
        };
        let (ck, c) = crate::counters::contribution(&t, deadlines);
        let row = view_of(View::ByStreet, &ck);
        let month = row.month();
        for (space, row) in [(COUNTER, row), (MONTH_COUNTER, month)] {
            rows.entry(counter_key(space, View::ByStreet, &row))
                .or_default()
                .add(&c);
        }
    }
    let n = rows.len();
    for (k, c) in rows {
        if !c.is_zero() {
            batch.insert(k, c.encode());
        }
    }
    batch.insert(META_STREETS, vec![1]);
    tree.apply_batch(batch)?;
    tracing::info!(rows = n, "street counters counted from the stored tickets");
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The street view: counted with every change, recounted by `verify`,
    //! and counted once at open for a store written before it existed.

    use super::*;
    use crate::testing::new_ticket;
    use crate::{GroupBy, StatsQuery, Store, StoreConfig, Submitted};

    fn by_street(store: &Store) -> Vec<(String, i64)> {
        let q = StatsQuery {
            group_by: GroupBy::Street,
            ..StatsQuery::default()
        };
        store
            .stats(&q)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|r| (r.key, r.requests))
            .collect()
    }

    #[test]
    fn streets_are_counted_and_older_stores_are_counted_once() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        for (i, street) in [Some("望京街道"), Some("望京街道"), Some("将台地区"), None]
            .into_iter()
            .enumerate()
        {
            let mut new = new_ticket(&format!("t{i}"), "");
            new.street = street.map(Into::into);
            let created = store.submit(vec![new]).unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(created.first(), Some(Submitted::Created(_))));
        }
        let want = vec![
            ("unknown".to_owned(), 1),
            ("朝阳区将台地区".to_owned(), 1),
            ("朝阳区望京街道".to_owned(), 2),
        ];
        assert_eq!(by_street(&store), want);
        // The other views are not split by street.
        let by_district = store
            .stats(&StatsQuery {
                group_by: GroupBy::District,
                ..StatsQuery::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(by_district.len(), 1);
        assert_eq!(by_district[0].requests, 4);
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_ok(), "{report:?}");

        // As a store of the previous version: no street rows, no mark.
        let mut batch = sled::Batch::default();
        for space in [COUNTER, MONTH_COUNTER] {
            for item in store.inner.tree.scan_prefix([space, View::ByStreet as u8]) {
                batch.remove(item.unwrap_or_else(|e| panic!("{e}")).0);
            }
        }
        batch.remove(META_STREETS);
        store
            .inner
            .tree
            .apply_batch(batch)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(by_street(&store), vec![]);
        assert!(!store.verify().unwrap_or_else(|e| panic!("{e}")).is_ok());
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        for _ in 0..2 {
            let store =
                Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(by_street(&store), want, "counted once, not again");
            let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
            assert!(report.is_ok(), "{report:?}");
            store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
