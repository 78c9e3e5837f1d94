//! Statistics from the counters: which rows a query reads, and their rates, timeliness, composite.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::counters::{
    assessment_month_start, day_date, day_number, Column, CounterKey, Counts, UNDATED_DAY,
};
use crate::error::Result;
use crate::keys::{ASSESSMENT_COUNTER, COUNTER, MONTH_COUNTER};
use crate::model::Kind;
use crate::views::{View, UNDATED_DAY_END};

/// How rates are weighted, from the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    /// Weight of 基本满意 in the satisfaction rate.
    pub basic_satisfied_weight: f64,
    pub composite_response: f64,
    pub composite_resolution: f64,
    pub composite_satisfaction: f64,
    /// The assessment month runs from this day to the day before it next month.
    pub assessment_month_start_day: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            basic_satisfied_weight: 0.9,
            composite_response: 0.1,
            composite_resolution: 0.5,
            composite_satisfaction: 0.4,
            assessment_month_start_day: 19,
        }
    }
}

impl RateConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.basic_satisfied_weight) {
            return Err("basic_satisfied_weight must be within [0, 1]".into());
        }
        let w = [
            self.composite_response,
            self.composite_resolution,
            self.composite_satisfaction,
        ];
        if w.iter().any(|x| !(0.0..=1.0).contains(x)) || (w.iter().sum::<f64>() - 1.0).abs() > 1e-6
        {
            return Err("composite weights must be within [0, 1] and add up to 1".into());
        }
        if !(1..=28).contains(&self.assessment_month_start_day) {
            return Err("assessment_month_start_day must be within 1..=28".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    #[default]
    Topic,
    District,
    Kind,
    Day,
    Week,
    Month,
    AssessmentMonth,
    /// Everything in one row.
    Total,
    /// The department that holds each ticket (its latest dispatch or 改派,
    /// or its lead department before any): no topic filter.
    Department,
    /// The 街道 / 乡镇, named with its district (朝阳区望京街道), since two
    /// districts may have a street of the same name; "unknown" for tickets
    /// without one.
    Street,
}

impl GroupBy {
    /// Every name [`GroupBy::parse`] reads, for the messages that list them.
    pub const NAMES: &'static str =
        "topic, district, street, kind, day, week, month, assessment_month, total or department";

    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "topic" => GroupBy::Topic,
            "district" => GroupBy::District,
            "kind" => GroupBy::Kind,
            "day" => GroupBy::Day,
            "week" => GroupBy::Week,
            "month" => GroupBy::Month,
            "assessment_month" => GroupBy::AssessmentMonth,
            "total" => GroupBy::Total,
            "department" => GroupBy::Department,
            "street" => GroupBy::Street,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    /// First day included; None = from the beginning.
    pub from: Option<NaiveDate>,
    /// Last day included; None = to the end.
    pub to: Option<NaiveDate>,
    pub group_by: GroupBy,
    pub topic: Option<String>,
    pub district: Option<String>,
    /// Count undated historical tickets too (in a group of their own when grouping by time).
    pub include_undated: bool,
}

/// One row of statistics. Rates are over 诉求 (consultations are counted apart)
/// and over valid callbacks; None when there is nothing to divide by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    pub key: String,
    /// New 诉求 (not consultations, not repeats).
    pub requests: i64,
    pub consultations: i64,
    pub repeats: i64,
    pub dispatched: i64,
    pub valid_callbacks: i64,
    pub contacted: i64,
    pub resolved: i64,
    pub satisfied: i64,
    pub basically_satisfied: i64,
    pub unsatisfied: i64,
    pub overdue: i64,
    pub response_rate: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub dispatch_on_time_rate: Option<f64>,
    pub feedback_on_time_rate: Option<f64>,
    pub composite: Option<f64>,
}

fn rate(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl StatsRow {
    fn from_counts(
        key: String,
        requests: &Counts,
        consultations: &Counts,
        cfg: &RateConfig,
    ) -> StatsRow {
        let c = requests;
        let valid = c.get(Column::ValidCallbacks);
        let response = rate(c.get(Column::Contacted), valid);
        let resolution = rate(c.get(Column::Resolved), valid);
        let satisfaction = (valid > 0).then(|| {
            (c.get(Column::Satisfied) as f64
                + cfg.basic_satisfied_weight * c.get(Column::BasicallySatisfied) as f64)
                / valid as f64
        });
        let composite = match (response, resolution, satisfaction) {
            (Some(a), Some(b), Some(s)) => Some(
                cfg.composite_response * a
                    + cfg.composite_resolution * b
                    + cfg.composite_satisfaction * s,
            ),
            _ => None,
        };
        StatsRow {
            key,
            requests: c.get(Column::Received),
            consultations: consultations.get(Column::Received) + consultations.get(Column::Repeats),
            repeats: c.get(Column::Repeats),
            dispatched: c.get(Column::Dispatched),
            valid_callbacks: valid,
            contacted: c.get(Column::Contacted),
            resolved: c.get(Column::Resolved),
            satisfied: c.get(Column::Satisfied),
            basically_satisfied: c.get(Column::BasicallySatisfied),
            unsatisfied: c.get(Column::Unsatisfied),
            overdue: c.get(Column::Overdue),
            response_rate: response,
            resolution_rate: resolution,
            satisfaction_rate: satisfaction,
            dispatch_on_time_rate: rate(
                c.get(Column::DispatchOnTime),
                c.get(Column::DispatchTimed),
            ),
            feedback_on_time_rate: rate(
                c.get(Column::FeedbackOnTime),
                c.get(Column::FeedbackTimed),
            ),
            composite,
        }
    }
}

/// The group a counter row falls in.
pub(crate) fn group_key(key: &CounterKey, by: GroupBy, cfg: &RateConfig) -> String {
    let date = day_date(key.day);
    match (by, date) {
        // Department rows hold the department where the topic would be.
        (GroupBy::Topic | GroupBy::Department, _) => key.topic.clone(),
        (GroupBy::District, _) => {
            if key.district.is_empty() {
                "unknown".into()
            } else {
                key.district.clone()
            }
        }
        (GroupBy::Street, _) => {
            if key.street.is_empty() {
                "unknown".into()
            } else {
                format!("{}{}", key.district, key.street)
            }
        }
        (GroupBy::Kind, _) => key.kind.as_str().to_owned(),
        (GroupBy::Total, _) => "total".into(),
        (_, None) => "undated".into(),
        (GroupBy::Day, Some(d)) => d.format("%Y-%m-%d").to_string(),
        (GroupBy::Week, Some(d)) => {
            let w = d.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        (GroupBy::Month, Some(d)) => d.format("%Y-%m").to_string(),
        (GroupBy::AssessmentMonth, Some(d)) => {
            // Named after the month it ends in: 19 March .. 18 April is "2024-04".
            let start = assessment_month_start(d, cfg.assessment_month_start_day);
            let ends_in = start.checked_add_months(Months::new(1)).unwrap_or(start);
            ends_in.format("%Y-%m").to_string()
        }
    }
}

/// Sums counter rows into groups and computes their rates.
pub(crate) fn aggregate(
    rows: impl Iterator<Item = (CounterKey, Counts)>,
    q: &StatsQuery,
    cfg: &RateConfig,
) -> Vec<StatsRow> {
    let mut groups: BTreeMap<String, (Counts, Counts)> = BTreeMap::new();
    for (key, counts) in rows {
        if q.topic.as_ref().is_some_and(|t| *t != key.topic)
            || q.district.as_ref().is_some_and(|d| *d != key.district)
        {
            continue;
        }
        let slot = groups.entry(group_key(&key, q.group_by, cfg)).or_default();
        if key.kind == Kind::Consultation {
            slot.1.add(&counts);
        } else {
            slot.0.add(&counts);
        }
    }
    groups
        .into_iter()
        .map(|(k, (req, cons))| StatsRow::from_counts(k, &req, &cons, cfg))
        .collect()
}

/// The counter rows a query reads: one view, and stretches of its day or
/// month rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowPlan {
    pub(crate) view: View,
    /// (key space, first day, day past the last or `UNDATED_DAY_END`), in
    /// the order they are read.
    pub(crate) stretches: Vec<(u8, u32, u32)>,
}

/// Which rows answer `q`: the smallest view that holds its groups and
/// filters; whole months from month rows (calendar months, or for the
/// ranking views assessment months starting on `assessment_start_day`,
/// whichever leaves fewer days), the ragged ends from day rows, so the rows
/// read depend on the range, not on how many tickets there are.
pub(crate) fn plan(q: &StatsQuery, assessment_start_day: u32) -> RowPlan {
    let first = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
    let from = q.from.unwrap_or(first).max(first);
    let to = q.to.unwrap_or(last);
    let needs_topic = q.group_by == GroupBy::Topic || q.topic.is_some();
    let needs_district = q.group_by == GroupBy::District || q.district.is_some();
    // Department rows are their own key spaces, with one view (view byte 0,
    // like the full view).
    let (day_space, month_space) = if q.group_by == GroupBy::Department {
        (crate::departments::DEPT_DAY, crate::departments::DEPT_MONTH)
    } else {
        (COUNTER, MONTH_COUNTER)
    };
    let view = if q.group_by == GroupBy::Street && q.topic.is_some() {
        View::ByTopicAndStreet
    } else if q.group_by == GroupBy::Street {
        View::ByStreet
    } else if matches!(q.group_by, GroupBy::Department | GroupBy::Kind)
        || (needs_topic && needs_district)
    {
        View::Full
    } else if needs_district {
        View::ByDistrict
    } else {
        View::ByTopic
    };
    // Day, week and assessment-month groups cut across calendar months;
    // day, week and month groups across assessment months.
    let calendar = if matches!(
        q.group_by,
        GroupBy::Day | GroupBy::Week | GroupBy::AssessmentMonth
    ) {
        None
    } else {
        whole_periods(from, to, |d| d.with_day(1).unwrap_or(d)).map(|whole| (month_space, whole))
    };
    let assessment = if view.has_assessment_months()
        && !matches!(q.group_by, GroupBy::Day | GroupBy::Week | GroupBy::Month)
    {
        whole_periods(from, to, |d| {
            assessment_month_start(d, assessment_start_day)
        })
        .map(|whole| (ASSESSMENT_COUNTER, whole))
    } else {
        None
    };
    // The fewer days left to day rows; calendar months on a tie.
    let chosen = [calendar, assessment]
        .into_iter()
        .flatten()
        .min_by_key(|(_, whole)| whole.ragged_days);
    let mut stretches = Vec::new();
    let mut read = |space: u8, lo: NaiveDate, hi: NaiveDate| {
        if lo <= hi {
            stretches.push((space, day_number(lo), day_number(hi) + 1));
        }
    };
    match chosen {
        Some((space, whole)) => {
            read(day_space, from, whole.first.pred_opt().unwrap_or(from));
            read(space, whole.first, whole.last_start);
            read(day_space, whole.end, to);
        }
        None => read(day_space, from, to),
    }
    if q.include_undated {
        stretches.push((day_space, UNDATED_DAY, UNDATED_DAY_END));
    }
    RowPlan { view, stretches }
}

/// The whole periods (calendar or assessment months) inside a range.
#[derive(Debug, Clone, Copy)]
struct WholePeriods {
    /// The first whole period's first day.
    first: NaiveDate,
    /// The last whole period's first day (month rows are keyed by it).
    last_start: NaiveDate,
    /// The day after the last whole period.
    end: NaiveDate,
    /// Days of the range outside them, read from day rows.
    ragged_days: i64,
}

/// The whole periods in `from..=to`, for periods one month long starting
/// on the day `start_of` gives; `None` when there is none.
fn whole_periods(
    from: NaiveDate,
    to: NaiveDate,
    start_of: impl Fn(NaiveDate) -> NaiveDate,
) -> Option<WholePeriods> {
    let next = |d: NaiveDate| d.checked_add_months(Months::new(1));
    let first = if start_of(from) == from {
        from
    } else {
        next(start_of(from))?
    };
    let after_to = to.succ_opt()?;
    let end = if start_of(after_to) == after_to {
        after_to
    } else {
        start_of(to)
    };
    if first >= end {
        return None;
    }
    Some(WholePeriods {
        first,
        last_start: start_of(end.pred_opt()?),
        end,
        ragged_days: (first - from).num_days() + (to - end).num_days() + 1,
    })
}

/// The counter rows a plan names, in its order.
pub(crate) fn read_rows(tree: &sled::Tree, plan: &RowPlan) -> Result<Vec<(CounterKey, Counts)>> {
    let view = plan.view as u8;
    let mut rows = Vec::new();
    for &(space, lo, hi_exclusive) in &plan.stretches {
        let start = [&[space, view][..], &lo.to_be_bytes()].concat();
        let end = match hi_exclusive {
            UNDATED_DAY_END => vec![space, view + 1],
            hi => [&[space, view][..], &hi.to_be_bytes()].concat(),
        };
        for item in tree.range(start..end) {
            let (k, v) = item?;
            if let (Some(ck), Some(c)) = (CounterKey::decode(&k[2..]), Counts::decode(&v)) {
                rows.push((ck, c));
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    //! Which counter rows a statistics query reads, and how rows group.

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn every_listed_grouping_parses_and_nothing_else_does() {
        let names: Vec<&str> = GroupBy::NAMES
            .split([',', ' '])
            .filter(|w| !w.is_empty() && *w != "or")
            .collect();
        assert_eq!(names.len(), 10, "{names:?}");
        for name in &names {
            assert!(
                GroupBy::parse(name).is_some(),
                "{name} is listed but not read"
            );
        }
        assert!(GroupBy::parse("street_name").is_none());
    }

    fn day(y: i32, m: u32, d: u32) -> u32 {
        day_number(date(y, m, d))
    }

    fn query(from: NaiveDate, to: NaiveDate, group_by: GroupBy) -> StatsQuery {
        StatsQuery {
            from: Some(from),
            to: Some(to),
            group_by,
            ..StatsQuery::default()
        }
    }

    #[test]
    fn whole_months_come_from_month_rows_and_the_ends_from_day_rows() {
        let plan = plan(
            &query(date(2024, 1, 15), date(2024, 4, 10), GroupBy::Total),
            19,
        );
        assert_eq!(
            plan.stretches,
            vec![
                (COUNTER, day(2024, 1, 15), day(2024, 2, 1)),
                (MONTH_COUNTER, day(2024, 2, 1), day(2024, 3, 2)),
                (COUNTER, day(2024, 4, 1), day(2024, 4, 11)),
            ]
        );
        let whole = plan_of(date(2024, 2, 1), date(2024, 3, 31), GroupBy::Month);
        assert_eq!(
            whole,
            vec![(MONTH_COUNTER, day(2024, 2, 1), day(2024, 3, 2))]
        );
        let within = plan_of(date(2024, 3, 3), date(2024, 3, 20), GroupBy::Total);
        assert_eq!(within, vec![(COUNTER, day(2024, 3, 3), day(2024, 3, 21))]);
    }

    fn plan_of(from: NaiveDate, to: NaiveDate, group_by: GroupBy) -> Vec<(u8, u32, u32)> {
        plan(&query(from, to, group_by), 19).stretches
    }

    /// Day, week and assessment-month groups cut across calendar months.
    #[test]
    fn groups_finer_than_a_month_read_day_rows_only() {
        for by in [GroupBy::Day, GroupBy::Week, GroupBy::AssessmentMonth] {
            assert_eq!(
                plan_of(date(2024, 1, 15), date(2024, 4, 10), by),
                vec![(COUNTER, day(2024, 1, 15), day(2024, 4, 11))],
                "{by:?}"
            );
        }
    }

    #[test]
    fn the_smallest_view_that_answers_is_read() {
        let view = |group_by: GroupBy, topic: Option<&str>, district: Option<&str>| {
            plan(
                &StatsQuery {
                    group_by,
                    topic: topic.map(Into::into),
                    district: district.map(Into::into),
                    ..StatsQuery::default()
                },
                19,
            )
            .view
        };
        assert_eq!(view(GroupBy::Total, None, None), View::ByTopic);
        assert_eq!(view(GroupBy::Topic, None, None), View::ByTopic);
        assert_eq!(view(GroupBy::District, None, None), View::ByDistrict);
        assert_eq!(view(GroupBy::Month, None, Some("朝阳区")), View::ByDistrict);
        assert_eq!(view(GroupBy::Kind, None, None), View::Full);
        assert_eq!(view(GroupBy::District, Some("noise"), None), View::Full);
        assert_eq!(view(GroupBy::Street, None, None), View::ByStreet);
        assert_eq!(view(GroupBy::Street, None, Some("朝阳区")), View::ByStreet);
        assert_eq!(
            view(GroupBy::Street, Some("noise"), Some("朝阳区")),
            View::ByTopicAndStreet
        );
    }

    fn ranking(from: NaiveDate, to: NaiveDate, group_by: GroupBy, topic: Option<&str>) -> RowPlan {
        let q = StatsQuery {
            topic: topic.map(Into::into),
            ..query(from, to, group_by)
        };
        plan(&q, 19)
    }

    /// Districts and streets are ranked by assessment month (the 19th to
    /// the 18th): those come from assessment-month rows, not a month of days.
    #[test]
    fn rankings_by_assessment_month_read_assessment_month_rows() {
        let may = (date(2024, 5, 19), date(2024, 6, 18));
        let one_district = StatsQuery {
            district: Some("朝阳区".into()),
            ..query(may.0, may.1, GroupBy::AssessmentMonth)
        };
        for (group_by, p) in [
            (
                GroupBy::Street,
                ranking(may.0, may.1, GroupBy::Street, None),
            ),
            (
                GroupBy::District,
                ranking(may.0, may.1, GroupBy::District, None),
            ),
            (GroupBy::AssessmentMonth, plan(&one_district, 19)),
        ] {
            assert!(p.view.has_assessment_months(), "{group_by:?}");
            assert_eq!(
                p.stretches,
                vec![(ASSESSMENT_COUNTER, day(2024, 5, 19), day(2024, 5, 20))],
                "{group_by:?}"
            );
        }
        // Two assessment months and two ragged days.
        assert_eq!(
            ranking(date(2024, 4, 18), date(2024, 6, 19), GroupBy::Street, None).stretches,
            vec![
                (COUNTER, day(2024, 4, 18), day(2024, 4, 19)),
                (ASSESSMENT_COUNTER, day(2024, 4, 19), day(2024, 5, 20)),
                (COUNTER, day(2024, 6, 19), day(2024, 6, 20)),
            ]
        );
        // A calendar month leaves fewer days from calendar month rows.
        assert_eq!(
            ranking(date(2024, 5, 1), date(2024, 5, 31), GroupBy::Street, None).stretches,
            vec![(MONTH_COUNTER, day(2024, 5, 1), day(2024, 5, 2))]
        );
        // Calendar-month groups cut across assessment months, and the
        // street view filtered by topic has no assessment months.
        for p in [
            ranking(may.0, may.1, GroupBy::Month, None),
            ranking(may.0, may.1, GroupBy::Street, Some("noise")),
        ] {
            assert_eq!(
                p.stretches,
                vec![(COUNTER, day(2024, 5, 19), day(2024, 6, 19))]
            );
        }
        // Assessment months starting on the 1st are calendar months.
        let q = query(
            date(2024, 5, 1),
            date(2024, 5, 31),
            GroupBy::AssessmentMonth,
        );
        assert_eq!(
            plan(
                &StatsQuery {
                    district: Some("朝阳区".into()),
                    ..q
                },
                1
            )
            .stretches,
            vec![(ASSESSMENT_COUNTER, day(2024, 5, 1), day(2024, 5, 2))]
        );
    }

    #[test]
    fn undated_tickets_are_read_last_when_asked_for() {
        let mut q = query(date(2024, 3, 3), date(2024, 3, 20), GroupBy::Total);
        assert_eq!(plan(&q, 19).stretches.len(), 1);
        q.include_undated = true;
        assert_eq!(
            plan(&q, 19).stretches.last(),
            Some(&(COUNTER, UNDATED_DAY, UNDATED_DAY_END))
        );
    }

    #[test]
    fn an_assessment_month_is_named_after_the_month_it_ends_in() {
        let cfg = RateConfig::default();
        let name = |day: u32| {
            let key = CounterKey {
                day,
                topic: "noise".into(),
                district: String::new(),
                kind: Kind::Complaint,
                street: String::new(),
            };
            group_key(&key, GroupBy::AssessmentMonth, &cfg)
        };
        assert_eq!(cfg.assessment_month_start_day, 19);
        assert_eq!(name(day(2024, 3, 18)), "2024-03");
        assert_eq!(name(day(2024, 3, 19)), "2024-04");
        assert_eq!(name(day(2024, 12, 25)), "2025-01");
        assert_eq!(name(UNDATED_DAY), "undated");
    }

    #[test]
    fn consultations_are_counted_apart_and_filters_drop_other_rows() {
        let row = |topic: &str, kind: Kind| {
            let mut counts = Counts::default();
            counts.0[Column::Received as usize] = 1;
            let key = CounterKey {
                day: day(2024, 3, 3),
                topic: topic.into(),
                district: "朝阳区".into(),
                kind,
                street: String::new(),
            };
            (key, counts)
        };
        let rows = vec![
            row("noise", Kind::Complaint),
            row("noise", Kind::Help),
            row("noise", Kind::Consultation),
            row("parking", Kind::Complaint),
        ];
        let q = StatsQuery {
            topic: Some("noise".into()),
            ..StatsQuery::default()
        };
        let stats = aggregate(rows.into_iter(), &q, &RateConfig::default());
        assert_eq!(stats.len(), 1);
        assert_eq!((stats[0].requests, stats[0].consultations), (2, 1));
    }
}
