//! Statistics from the counters: the three rates, timeliness, composite.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::counters::{day_date, Column, CounterKey, Counts};
use crate::model::Kind;

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
}

impl GroupBy {
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
            let (y, m) = if d.day() >= cfg.assessment_month_start_day {
                if d.month() == 12 {
                    (d.year() + 1, 1)
                } else {
                    (d.year(), d.month() + 1)
                }
            } else {
                (d.year(), d.month())
            };
            format!("{y}-{m:02}")
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
