//! Counter views: the sled rows (three views, day and month grain) a ticket's counts go to.

use crate::counters::CounterKey;
use crate::keys::{COUNTER, MONTH_COUNTER};
use crate::model::Kind;

/// The counters are kept three times, each at day and month grain: in full
/// (topic × district × kind) and rolled up by topic and by district (kind
/// folded into consultation / request). A query reads the smallest view that
/// answers it, so the rows it reads are bounded by the range and the view
/// (at most 14 topics × 2 per day or month), not by the tickets stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum View {
    Full = 0,
    ByTopic = 1,
    ByDistrict = 2,
}

pub(crate) const VIEWS: [View; 3] = [View::Full, View::ByTopic, View::ByDistrict];
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
