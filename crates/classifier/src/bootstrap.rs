//! Bootstrap intervals of an evaluation's headline figures: how far a figure measured on a few hundred rows may be from the same figure on all such messages.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::eval::{Headline, Outcome, Tally};

/// Resamples per interval: enough for the 2.5 % and 97.5 % quantiles to
/// settle to about a point of macro-F1, and a fraction of a second even on
/// thousands of rows (each resample only counts, it routes nothing again).
pub const RESAMPLES: usize = 1000;

/// The same file gives the same interval: a fixed seed, not the clock.
const SEED: u64 = 12345;

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// Percentile bootstrap intervals of macro-F1, routed precision and routed
/// recall: the rows are drawn again with replacement [`RESAMPLES`] times
/// and each figure counted on every draw exactly as on the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intervals {
    /// The share of draws each interval holds (0.95).
    pub level: f64,
    pub resamples: usize,
    pub macro_f1: Interval,
    pub routed_precision: Interval,
    pub routed_recall: Interval,
}

/// The intervals of these outcomes (None without any).
pub(crate) fn intervals(topics: usize, other: usize, outcomes: &[Outcome]) -> Option<Intervals> {
    if outcomes.is_empty() {
        return None;
    }
    let heads: Vec<Headline> = draws(outcomes.len())
        .map(|draw| Tally::of(topics, other, draw.iter().map(|&i| &outcomes[i])).headline())
        .collect();
    let interval =
        |figure: fn(&Headline) -> f64| percentile_interval(heads.iter().map(figure).collect());
    Some(Intervals {
        level: LEVEL,
        resamples: RESAMPLES,
        macro_f1: interval(|h| h.macro_f1),
        routed_precision: interval(|h| h.routed_precision),
        routed_recall: interval(|h| h.routed_recall),
    })
}

/// A change of one figure from a baseline to a candidate: its value on
/// the file and the interval of the paired draws.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delta {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// The change of the three headline figures, candidate minus baseline,
/// each draw taking the same rows for both routers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub level: f64,
    pub resamples: usize,
    pub macro_f1: Delta,
    pub routed_precision: Delta,
    pub routed_recall: Delta,
}

const LEVEL: f64 = 0.95;

/// The rows drawn again with replacement, [`RESAMPLES`] times, always the
/// same draws for the same number of rows.
fn draws(rows: usize) -> impl Iterator<Item = Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(SEED);
    (0..RESAMPLES).map(move |_| (0..rows).map(|_| rng.random_range(0..rows)).collect())
}

/// The [`LEVEL`] percentile interval of some values.
fn percentile_interval(mut values: Vec<f64>) -> Interval {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - LEVEL) / 2.0;
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Interval {
        low: at(tail),
        high: at(1.0 - tail),
    }
}

/// The paired change from `baseline` to `candidate`, the outcomes of the
/// same rows in the same order (None without any).
pub(crate) fn paired(
    topics: usize,
    other: usize,
    baseline: &[Outcome],
    candidate: &[Outcome],
) -> Option<Change> {
    if baseline.is_empty() || baseline.len() != candidate.len() {
        return None;
    }
    let changes: Vec<(f64, f64, f64)> = draws(baseline.len())
        .map(|draw| {
            let before = Tally::of(topics, other, draw.iter().map(|&i| &baseline[i])).headline();
            let after = Tally::of(topics, other, draw.iter().map(|&i| &candidate[i])).headline();
            (
                after.macro_f1 - before.macro_f1,
                after.routed_precision - before.routed_precision,
                after.routed_recall - before.routed_recall,
            )
        })
        .collect();
    let before = Tally::of(topics, other, baseline).headline();
    let after = Tally::of(topics, other, candidate).headline();
    let delta = |value: f64, figure: fn(&(f64, f64, f64)) -> f64| {
        let Interval { low, high } = percentile_interval(changes.iter().map(figure).collect());
        Delta { value, low, high }
    };
    Some(Change {
        level: LEVEL,
        resamples: RESAMPLES,
        macro_f1: delta(after.macro_f1 - before.macro_f1, |c| c.0),
        routed_precision: delta(after.routed_precision - before.routed_precision, |c| c.1),
        routed_recall: delta(after.routed_recall - before.routed_recall, |c| c.2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three topics, 0 = other; `n` rows of each kind below.
    fn outcomes(n: usize) -> Vec<Outcome> {
        let row = |gold: usize, predicted: usize| Outcome {
            gold: Some(gold),
            gold_is_other: gold == 0,
            predicted,
            confidence: 0.9,
            needs_review: false,
            best_topic: (predicted, 0.9),
            district_right: None,
        };
        let mut rows = Vec::new();
        for _ in 0..n {
            rows.extend([
                row(0, 0),
                row(0, 0),
                row(0, 1),
                row(1, 1),
                row(1, 1),
                row(1, 0),
                row(2, 2),
                row(2, 2),
                row(2, 1),
            ]);
        }
        rows
    }

    #[test]
    fn intervals_hold_the_figure_and_narrow_with_more_rows() {
        let small = outcomes(5);
        let point = Tally::of(3, 0, &small).headline();
        let few = intervals(3, 0, &small).expect("intervals");
        for (i, p) in [
            (few.macro_f1, point.macro_f1),
            (few.routed_precision, point.routed_precision),
            (few.routed_recall, point.routed_recall),
        ] {
            assert!(i.low <= p && p <= i.high, "{i:?} {p}");
            assert!(i.high - i.low > 0.05, "45 rows leave room: {i:?}");
        }
        // The same rows sixteen times over: the same figures, a quarter of
        // the width (the width shrinks as the square root of the rows).
        let many = intervals(3, 0, &outcomes(80)).expect("intervals");
        let width = |i: Interval| i.high - i.low;
        assert!(
            width(many.macro_f1) < width(few.macro_f1) / 2.5,
            "{many:?} {few:?}"
        );
        // Deterministic: the same file, the same interval.
        assert_eq!(intervals(3, 0, &small), Some(few));
    }

    #[test]
    fn a_paired_change_is_zero_against_itself_and_sees_a_fixed_error() {
        let rows = outcomes(10);
        let same = paired(3, 0, &rows, &rows).expect("a change");
        assert_eq!(
            same.macro_f1,
            Delta {
                value: 0.0,
                low: 0.0,
                high: 0.0
            }
        );
        // The candidate fixes every wrongly routed `other` row (gold 0,
        // predicted 1): precision rises on every draw that holds one.
        let fixed: Vec<Outcome> = rows
            .iter()
            .map(|o| match (o.gold, o.predicted) {
                (Some(0), 1) => Outcome { predicted: 0, ..*o },
                _ => *o,
            })
            .collect();
        let change = paired(3, 0, &rows, &fixed).expect("a change");
        let d = change.routed_precision;
        assert!(
            d.value > 0.0 && d.low > 0.0 && d.low <= d.value && d.value <= d.high,
            "{d:?}"
        );
        assert_eq!(change.routed_recall.value, 0.0);
        // Outcomes of different rows cannot be paired.
        assert_eq!(paired(3, 0, &rows, &fixed[1..]), None);
    }

    #[test]
    fn a_perfect_router_has_no_spread_and_no_rows_no_interval() {
        let perfect: Vec<Outcome> = outcomes(3)
            .into_iter()
            .map(|o| Outcome {
                predicted: o.gold.unwrap_or(0),
                ..o
            })
            .collect();
        let i = intervals(3, 0, &perfect).expect("intervals");
        assert_eq!(
            i.macro_f1,
            Interval {
                low: 1.0,
                high: 1.0
            }
        );
        assert_eq!(
            i.routed_precision,
            Interval {
                low: 1.0,
                high: 1.0
            }
        );
        assert_eq!(intervals(3, 0, &[]), None);
    }
}
