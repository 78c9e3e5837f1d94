//! Counter views: the sled rows (five views; day, month and assessment-month grain) a ticket's counts go to, and their recount at open.

use crate::counters::{contribution, CounterKey, Counts, Deadlines};
use crate::error::Result;
use crate::journal::JournalReader;
use crate::keys::{
    ASSESSMENT_COUNTER, COUNTER, DEPT_DAY, DEPT_MONTH, META_COUNTER_DEADLINES, META_STREETS,
    MONTH_COUNTER,
};
use crate::model::Kind;
use crate::recount::Recount;

/// The counters are kept five times, each at day and month grain: in full
/// (topic × district × kind), rolled up by topic and by district (kind
/// folded into consultation / request), by street (district × street, kind
/// folded likewise) and by topic and street (for a street ranking filtered
/// by topic). A query reads the smallest view that answers it, so the rows
/// it reads are bounded by the range and the view (at most 14 topics × 2
/// per day or month; 344 streets × 2 by street), not by the tickets stored.
///
/// The two ranking views, by district and by street, are also kept per
/// assessment month (the 19th to the 18th, `assessment_month_start_day`):
/// Beijing ranks districts and streets by it, and an assessment month cuts
/// across two calendar months, so without them it would read a month of
/// day rows (up to 31 × 344 × 2 for the streets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum View {
    Full = 0,
    ByTopic = 1,
    ByDistrict = 2,
    ByTopicAndStreet = 3,
    ByStreet = 4,
}

pub(crate) const VIEWS: [View; 5] = [
    View::Full,
    View::ByTopic,
    View::ByDistrict,
    View::ByTopicAndStreet,
    View::ByStreet,
];
/// Stands for "every topic" or "every district" in a rolled-up row.
pub(crate) const ALL: &str = "*";
/// Marks a range that runs to the end of a view (past the undated rows).
pub(crate) const UNDATED_DAY_END: u32 = 0;

impl View {
    /// Whether the view is also kept per assessment month.
    pub(crate) fn has_assessment_months(self) -> bool {
        matches!(self, View::ByDistrict | View::ByStreet)
    }
}

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
        View::ByTopicAndStreet => CounterKey {
            kind: class,
            ..ck.clone()
        },
        View::ByStreet => CounterKey {
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

/// Every stored row a ticket's counts go to: five views at day and month
/// grain, and the ranking views at assessment-month grain (assessment
/// months starting on `assessment_start_day`).
pub(crate) fn counter_rows(
    ck: &CounterKey,
    assessment_start_day: u32,
) -> impl Iterator<Item = (u8, View, CounterKey)> + '_ {
    VIEWS.into_iter().flat_map(move |view| {
        let row = view_of(view, ck);
        let month = row.month();
        let assessment = view.has_assessment_months().then(|| {
            (
                ASSESSMENT_COUNTER,
                view,
                row.assessment_month(assessment_start_day),
            )
        });
        [(COUNTER, view, row), (MONTH_COUNTER, view, month)]
            .into_iter()
            .chain(assessment)
    })
}

/// What the views' layout mark (`META_STREETS`) holds once the rows are
/// laid out as `counter_rows` writes them: the layout's version (2: the
/// street view without the topic, and assessment months) and the day the
/// assessment months start on, so a store opened with another start day
/// counts its rows again.
pub(crate) fn layout_stamp(assessment_start_day: u32) -> Vec<u8> {
    vec![2, u8::try_from(assessment_start_day).unwrap_or(u8::MAX)]
}

/// What the counter rows (the four views and the department rows) follow:
/// the deadlines, which decide on-time and late, as stored under
/// `META_COUNTER_DEADLINES`. `due_soon_fraction` only moves the queue's
/// states, so it is left out: changing it recounts nothing.
pub(crate) fn deadlines_stamp(deadlines: &Deadlines) -> Vec<u8> {
    let counted = Deadlines {
        due_soon_fraction: 0.25,
        ..deadlines.clone()
    };
    let mut stamp = b"v1 ".to_vec();
    stamp.extend(serde_json::to_vec(&counted).unwrap_or_default());
    stamp
}

/// Counts every counter row again from the tickets, at open, when they were
/// counted with other deadlines than the configuration's (or before the
/// deadlines were recorded), or are laid out otherwise than `counter_rows`
/// writes them (a store written before a view existed, or with assessment
/// months starting on another day). Returns whether it did.
pub(crate) fn count_at_open(
    tree: &sled::Tree,
    journal: &JournalReader,
    deadlines: &Deadlines,
    assessment_start_day: u32,
) -> Result<bool> {
    let stamp = deadlines_stamp(deadlines);
    let layout = layout_stamp(assessment_start_day);
    let recount = Recount {
        what: "counters",
        prefixes: &[
            &[COUNTER][..],
            &[MONTH_COUNTER],
            &[ASSESSMENT_COUNTER],
            &[DEPT_DAY],
            &[DEPT_MONTH],
        ],
        marks: &[
            (META_STREETS, layout.as_slice()),
            (META_COUNTER_DEADLINES, stamp.as_slice()),
        ],
    };
    recount.run(tree, journal, |t| {
        let (ck, c) = contribution(t, deadlines);
        let mut rows: Vec<(Vec<u8>, Counts)> = counter_rows(&ck, assessment_start_day)
            .map(|(space, view, row)| (counter_key(space, view, &row), c))
            .collect();
        rows.extend(
            crate::departments::rows(t, deadlines)
                .into_iter()
                .map(|(k, _, c)| (k, c)),
        );
        rows
    })
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

        // As a store of a version before streets: no street rows, no
        // assessment months, no mark.
        let mut batch = sled::Batch::default();
        for (space, view) in [
            (COUNTER, View::ByTopicAndStreet),
            (COUNTER, View::ByStreet),
            (MONTH_COUNTER, View::ByTopicAndStreet),
            (MONTH_COUNTER, View::ByStreet),
        ] {
            for item in store.inner.tree.scan_prefix([space, view as u8]) {
                batch.remove(item.unwrap_or_else(|e| panic!("{e}")).0);
            }
        }
        for item in store.inner.tree.scan_prefix([ASSESSMENT_COUNTER]) {
            batch.remove(item.unwrap_or_else(|e| panic!("{e}")).0);
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

    /// Whatever rows a query reads (day, calendar-month or assessment-month
    /// rows, of whichever view), it gets what the full view's day rows say.
    #[test]
    fn every_grain_and_view_agrees_with_the_day_rows() {
        use crate::stats::{aggregate, read_rows, RowPlan};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap_or_default();
        let tickets: Vec<_> = (0..300u64)
            .map(|i| {
                let mut new = new_ticket(&format!("g{i}"), "");
                let day = start + chrono::Days::new(i * 7 % 150);
                new.received_at = day.and_hms_opt(9, 0, 0);
                new.kind = Kind::ALL[(i % 5) as usize];
                new.district = Some(["朝阳区", "海淀区"][(i % 2) as usize].into());
                new.street =
                    [Some("望京街道"), Some("学院路街道"), None][(i % 3) as usize].map(Into::into);
                new.topic.slug = ["noise", "other", "dogs"][(i % 3) as usize].into();
                new
            })
            .collect();
        store.submit(tickets).unwrap_or_else(|e| panic!("{e}"));
        // Compares every query with the day rows; returns how many.
        let compare = |store: &Store| {
            let cfg = &store.inner.config.rates;
            let mut compared = 0;
            let date = |m: u32, d: u32| chrono::NaiveDate::from_ymd_opt(2024, m, d);
            let ranges = [
                (date(5, 19), date(6, 18)),
                (date(4, 19), date(7, 18)),
                (date(4, 10), date(7, 25)),
                (date(5, 1), date(5, 31)),
                (date(3, 1), date(7, 31)),
                (date(6, 2), date(6, 9)),
                (None, None),
            ];
            for (from, to) in ranges {
                for group_by in [
                    GroupBy::Street,
                    GroupBy::District,
                    GroupBy::AssessmentMonth,
                    GroupBy::Month,
                    GroupBy::Total,
                ] {
                    for (topic, district) in
                        [(None, None), (Some("dogs"), None), (None, Some("海淀区"))]
                    {
                        let q = StatsQuery {
                            from,
                            to,
                            group_by,
                            topic: topic.map(Into::into),
                            district: district.map(Into::into),
                            ..StatsQuery::default()
                        };
                        let got = store.stats(&q).unwrap_or_else(|e| panic!("{e}"));
                        // The full view's day rows, read day by day; streets
                        // are only in the street views, so those read their own.
                        let view = if group_by == GroupBy::Street {
                            View::ByTopicAndStreet
                        } else {
                            View::Full
                        };
                        let lo = from.map_or(0, crate::counters::day_number);
                        let hi = to.map_or(crate::counters::UNDATED_DAY, |d| {
                            crate::counters::day_number(d) + 1
                        });
                        let days = RowPlan {
                            view,
                            stretches: vec![(COUNTER, lo, hi)],
                        };
                        let rows =
                            read_rows(&store.inner.tree, &days).unwrap_or_else(|e| panic!("{e}"));
                        let want = aggregate(rows.into_iter(), &q, cfg);
                        assert_eq!(got, want, "{q:?}");
                        assert!(!got.is_empty() || topic.is_some(), "{q:?}");
                        compared += 1;
                    }
                }
            }
            compared
        };
        assert_eq!(compare(&store), 7 * 5 * 3);
        // A damaged or altered assessment-month row is found by `verify`,
        // not trusted: a ranking read from it would silently be wrong.
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_ok(), "{report:?}");
        let tree = &store.inner.tree;
        let (key, value) = tree
            .scan_prefix([ASSESSMENT_COUNTER, View::ByStreet as u8])
            .next()
            .unwrap_or_else(|| panic!("no assessment-month street row"))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut altered = Counts::decode(&value).unwrap_or_else(|| panic!("undecodable row"));
        altered.0[0] += 1;
        tree.insert(&key, altered.encode())
            .unwrap_or_else(|e| panic!("{e}"));
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.counter_mismatches.len(), 1, "{report:?}");
        tree.insert(&key, value).unwrap_or_else(|e| panic!("{e}"));
        assert!(store.verify().unwrap_or_else(|e| panic!("{e}")).is_ok());
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        // Assessment months from the 1st: the rows are counted again for them.
        let mut config = StoreConfig::default();
        config.rates.assessment_month_start_day = 1;
        let store = Store::open(dir.path(), config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(compare(&store), 7 * 5 * 3);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    }

    fn at(day: u32, hour: u32) -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2024, 5, day)
            .and_then(|d| d.and_hms_opt(hour, 0, 0))
            .unwrap_or_default()
    }

    fn total_and_department(store: &Store) -> Vec<(String, i64, Option<f64>)> {
        [GroupBy::Total, GroupBy::Department]
            .into_iter()
            .flat_map(|group_by| {
                let q = StatsQuery {
                    group_by,
                    ..StatsQuery::default()
                };
                store.stats(&q).unwrap_or_else(|e| panic!("{e}"))
            })
            .map(|r| (r.key, r.overdue, r.feedback_on_time_rate))
            .collect()
    }

    #[test]
    fn on_time_figures_are_counted_again_when_the_deadlines_change_and_only_then() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        // Received 05-06 09:00, dispatched at 10:00, fed back 3 and 30 hours later.
        for (text, answered) in [("a", at(6, 13)), ("b", at(7, 16))] {
            let t = crate::testing::create(&store, text, "");
            for (when, body) in [
                (
                    at(6, 10),
                    crate::EventBody::Dispatched {
                        department: "街道".into(),
                    },
                ),
                (
                    answered,
                    crate::EventBody::Feedback {
                        resolved: true,
                        note: None,
                    },
                ),
            ] {
                let event = crate::NewEvent {
                    id: None,
                    at: Some(when),
                    body,
                };
                store
                    .add_event(t.id, event)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let loose = vec![
            ("total".to_owned(), 0, Some(1.0)),
            ("街道".to_owned(), 0, Some(1.0)),
        ];
        let tight = vec![
            ("total".to_owned(), 1, Some(0.5)),
            ("街道".to_owned(), 1, Some(0.5)),
        ];
        assert_eq!(total_and_department(&store), loose);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop(store);

        let config = |feedback_general_hours: f64| StoreConfig {
            deadlines: crate::Deadlines {
                feedback_general_hours,
                ..crate::Deadlines::default()
            },
            ..StoreConfig::default()
        };
        // A row no recount would write: it survives an opening that does
        // not count again, and goes with one that does.
        let planted = counter_key(
            COUNTER,
            View::Full,
            &CounterKey {
                day: 1,
                topic: "planted".into(),
                district: String::new(),
                kind: Kind::Help,
                street: String::new(),
            },
        );
        let plant = |store: &Store| {
            let mut row = crate::Counts::default();
            row.0[0] = 1;
            let row = row.encode();
            store
                .inner
                .tree
                .insert(planted.as_slice(), row)
                .unwrap_or_else(|e| panic!("{e}"));
        };
        let kept = |store: &Store| {
            store
                .inner
                .tree
                .get(planted.as_slice())
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some()
        };
        for (hours, due_soon_fraction, want, recounted) in [
            (24.0, 0.25, &tight, true),
            (24.0, 0.25, &tight, false),
            // Only the share that makes an open ticket due soon: no recount.
            (24.0, 0.5, &tight, false),
            (168.0, 0.5, &loose, true),
        ] {
            let mut c = config(hours);
            c.deadlines.due_soon_fraction = due_soon_fraction;
            let store = Store::open(dir.path(), c).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&total_and_department(&store), want, "{hours} h");
            assert_eq!(kept(&store), !recounted, "{hours} h");
            let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(report.is_ok(), recounted, "{report:?}");
            plant(&store);
            store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
