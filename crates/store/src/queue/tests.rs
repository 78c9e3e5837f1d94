//! Deadlines by kind in the queue, under a fixed clock; the district twins of an older store.

use super::*;
use crate::counters::tests::consultations_within_a_day;
use crate::testing::{new_ticket, stamp_queue_layout, submit_one};
use crate::{NewEvent, Store, StoreConfig};
use chrono::NaiveDate;

fn at(day: u32, hour: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 5, day)
        .and_then(|d| d.and_hms_opt(hour, 0, 0))
        .unwrap_or_default()
}

/// A consultation and a complaint, both general, received 05-06 09:00
/// and dispatched at 10:00: (their deadlines, their states) at `now`.
fn both(deadlines: Deadlines, now: NaiveDateTime) -> Vec<(Kind, NaiveDateTime, DeadlineState)> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = StoreConfig {
        deadlines,
        ..StoreConfig::default()
    };
    let store = Store::open(dir.path(), config).unwrap_or_else(|e| panic!("{e}"));
    for kind in [Kind::Consultation, Kind::Complaint] {
        let mut new = new_ticket(kind.as_str(), "");
        new.kind = kind;
        let t = submit_one(&store, new);
        let dispatched = NewEvent {
            id: None,
            at: Some(at(6, 10)),
            body: EventBody::Dispatched {
                department: "街道".into(),
            },
        };
        store
            .add_event(t.id, dispatched)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let q = QueueQuery {
        page: 1,
        per_page: 10,
        ..QueueQuery::default()
    };
    let page = store.queue(&q, now).unwrap_or_else(|e| panic!("{e}"));
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    page.items
        .into_iter()
        .map(|i| (i.kind, i.deadline, i.state))
        .collect()
}

#[test]
fn a_consultation_and_a_complaint_of_one_urgency_get_their_kinds_deadlines() {
    use DeadlineState::*;
    let week = at(13, 10);
    // 20 hours after the dispatch: 4 of the consultation's 24 hours left.
    assert_eq!(
        both(consultations_within_a_day(), at(7, 6)),
        vec![
            (Kind::Consultation, at(7, 10), DueSoon),
            (Kind::Complaint, week, OnTime),
        ]
    );
    assert_eq!(
        both(consultations_within_a_day(), at(7, 11)),
        vec![
            (Kind::Consultation, at(7, 10), Overdue),
            (Kind::Complaint, week, OnTime),
        ]
    );
    // Without overrides both have the week of a general feedback.
    let same = both(Deadlines::default(), at(7, 11));
    assert_eq!(
        same.iter().map(|(_, d, s)| (*d, *s)).collect::<Vec<_>>(),
        vec![(week, OnTime), (week, OnTime)]
    );
}

/// A store whose queue keys were laid out before the district twins
/// (stamp "v2 ", no `r` keys) gets them at its next opening, before any
/// query; `verify` then finds a twin removed, added under another
/// district, or changed.
#[test]
fn the_district_twins_are_built_for_an_older_store_and_checked_by_verify() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut ids = Vec::new();
    for (text, district) in [
        ("楼下饭店油烟", "朝阳区"),
        ("小区电梯困人", "朝阳区"),
        ("快递不送上门", "海淀区"),
    ] {
        let mut new = new_ticket(text, "");
        new.district = Some(district.into());
        ids.push(submit_one(&store, new).id);
    }
    let twins = |store: &Store| store.inner.tree.scan_prefix([QUEUE_BY_DISTRICT]).count();
    assert_eq!(twins(&store), 3);
    // As an older version left it.
    let tree = store.inner.tree.clone();
    for item in tree.scan_prefix([QUEUE_BY_DISTRICT]) {
        let (k, _) = item.unwrap_or_else(|e| panic!("{e}"));
        tree.remove(k).unwrap_or_else(|e| panic!("{e}"));
    }
    stamp_queue_layout(&store, 2);
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop((store, tree));
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(twins(&store), 3);
    let q = QueueQuery {
        district: Some("朝阳区".into()),
        page: 1,
        per_page: 10,
        ..QueueQuery::default()
    };
    let page = store.queue(&q, at(6, 10)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((page.total, page.keys_read), (2, 2));
    assert!(store.verify().unwrap_or_else(|e| panic!("{e}")).is_ok());
    // Damage: one twin removed, one copied under another district, one changed.
    let tree = store.inner.tree.clone();
    let all: Vec<(sled::IVec, sled::IVec)> = tree
        .scan_prefix([QUEUE_BY_DISTRICT])
        .map(|i| i.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    tree.remove(&all[0].0).unwrap_or_else(|e| panic!("{e}"));
    let stray = district_key("西城区", &primary_of(&all[1].0).unwrap_or_default());
    tree.insert(stray, all[1].1.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut changed = all[2].1.to_vec();
    changed[1] ^= 1;
    tree.insert(&all[2].0, changed)
        .unwrap_or_else(|e| panic!("{e}"));
    let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
    let found = report.queue_mismatches.join("\n");
    for expected in ["is missing", "does not follow", "differs"] {
        assert!(
            found.contains("district queue key") && found.contains(expected),
            "{expected}: {found}"
        );
    }
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}
