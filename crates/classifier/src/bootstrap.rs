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
    let mut rng = StdRng::seed_from_u64(SEED);
    let draws: Vec<Headline> = (0..RESAMPLES)
        .map(|_| {
            let draw = (0..outcomes.len()).map(|_| &outcomes[rng.random_range(0..outcomes.len())]);
            Tally::of(topics, other, draw).headline()
        })
        .collect();
    let level = 0.95;
    let interval = |figure: fn(&Headline) -> f64| {
        let mut values: Vec<f64> = draws.iter().map(figure).collect();
        values.sort_by(f64::total_cmp);
        let tail = (1.0 - level) / 2.0;
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Interval {
            low: at(tail),
            high: at(1.0 - tail),
        }
    };
    Some(Intervals {
        level,
        resamples: RESAMPLES,
        macro_f1: interval(|h| h.macro_f1),
        routed_precision: interval(|h| h.routed_precision),
        routed_recall: interval(|h| h.routed_recall),
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
