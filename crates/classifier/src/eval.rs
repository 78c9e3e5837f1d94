//! Labelled data files and the evaluation report of `hotline eval`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyzer::Analyzer;
use crate::error::{Error, Result};
use crate::model::Example;
use crate::router::Calibration;
use crate::taxonomy::OTHER;

/// One labelled line: `text` and `topic` are required, `title` and `district`
/// are used when present, anything else is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledRow {
    #[serde(default)]
    pub title: Option<String>,
    pub text: String,
    pub topic: String,
    /// Present as a key (even null) only in files that label districts.
    #[serde(default, deserialize_with = "present")]
    pub district: Option<Option<String>>,
    /// How sure the labellers were (`high` when both readers were sure), when the file says.
    #[serde(default)]
    pub confidence: Option<String>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl LabelledRow {
    pub fn example(&self) -> Example {
        Example {
            text: crate::full_text(self.title.as_deref(), &self.text),
            topic: self.topic.clone(),
            private: false,
        }
    }
}

/// Parses a JSONL file of labelled rows; an error names the file and line.
/// Blank lines are skipped.
pub fn parse_labelled(source_name: &str, text: &str) -> Result<Vec<LabelledRow>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: LabelledRow = serde_json::from_str(line).map_err(|e| Error::Example {
            source_name: source_name.to_owned(),
            line: i + 1,
            message: e.to_string(),
        })?;
        if row.text.trim().is_empty() {
            return Err(Error::Example {
                source_name: source_name.to_owned(),
                line: i + 1,
                message: "field `text` is empty".into(),
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TopicScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub rows: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Of the tickets sent to a topic, the share whose true topic it is.
    pub routed_precision: f64,
    /// Of the tickets whose true topic is not `other`, the share sent to it.
    pub routed_recall: f64,
    /// How well the router ranks, whatever its threshold: the rows ordered
    /// by their most likely topic's probability (never `other`), the mean
    /// over the topical rows of the precision at each row whose most likely
    /// topic is its label (average precision; 1 when every topical row
    /// outranks every other one and has its topic first). A change that only
    /// moves the threshold or the calibration leaves it where it was; one
    /// that ranks better raises it.
    pub ranking_average_precision: f64,
    /// 95 % bootstrap intervals of the three figures above: on a few hundred
    /// rows, a topic with five of them moves macro-F1 by several points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intervals: Option<crate::bootstrap::Intervals>,
    pub per_topic: BTreeMap<String, TopicScore>,
    /// confusion[true][predicted] = count, over the taxonomy's slugs.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// Over rows whose labelled district is not null; absent when no row has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district_accuracy: Option<f64>,
    /// Rows whose topic is not in the taxonomy (counted as errors).
    pub unknown_topics: usize,
    /// Expected calibration error of the decision's confidence: the
    /// count-weighted gap between confidence and accuracy over ten bins.
    pub expected_calibration_error: f64,
    /// Confidence bins of width 0.1 that hold rows, lowest first.
    pub reliability: Vec<ReliabilityBin>,
    /// Rows the router flagged for an operator's review, and how many of those it got right.
    pub needs_review: usize,
    pub needs_review_correct: usize,
    /// The same figures over the rows whose labellers were both sure
    /// (`"confidence": "high"`), when the file marks them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sure_rows: Option<Box<EvalReport>>,
}

/// One bin of the reliability table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin's confidences (the bin is [low, low + 0.1), the last one closed).
    pub low: f64,
    pub count: usize,
    pub mean_confidence: f64,
    pub accuracy: f64,
}

const CALIBRATION_BINS: usize = 10;

/// The reliability table and expected calibration error of (confidence, right) pairs.
fn calibration(decisions: &[(f32, bool)]) -> (Vec<ReliabilityBin>, f64) {
    let mut bins = vec![(0usize, 0.0f64, 0usize); CALIBRATION_BINS];
    for &(confidence, right) in decisions {
        let slot =
            ((f64::from(confidence) * CALIBRATION_BINS as f64) as usize).min(CALIBRATION_BINS - 1);
        bins[slot].0 += 1;
        bins[slot].1 += f64::from(confidence);
        bins[slot].2 += usize::from(right);
    }
    let total = decisions.len().max(1) as f64;
    let mut ece = 0.0;
    let mut table = Vec::new();
    for (i, &(count, confidence_sum, right)) in bins.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let mean_confidence = confidence_sum / count as f64;
        let accuracy = right as f64 / count as f64;
        ece += count as f64 / total * (mean_confidence - accuracy).abs();
        table.push(ReliabilityBin {
            low: i as f64 / CALIBRATION_BINS as f64,
            count,
            mean_confidence,
            accuracy,
        });
    }
    (table, ece)
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

pub fn evaluate(analyzer: &Analyzer, rows: &[LabelledRow]) -> EvalReport {
    let mut report = evaluate_rows(analyzer, rows);
    let sure: Vec<LabelledRow> = rows
        .iter()
        .filter(|r| r.confidence.as_deref() == Some("high"))
        .cloned()
        .collect();
    if !sure.is_empty() && sure.len() < rows.len() {
        report.sure_rows = Some(Box::new(evaluate_rows(analyzer, &sure)));
    }
    report
}

/// Each row as this analyzer decides it, with the taxonomy's slugs and the
/// index of `other` among them.
fn outcomes_of(analyzer: &Analyzer, rows: &[LabelledRow]) -> (Vec<String>, usize, Vec<Outcome>) {
    let slugs: Vec<String> = analyzer
        .taxonomy()
        .topics()
        .iter()
        .map(|t| t.slug.clone())
        .collect();
    let index: BTreeMap<&str, usize> = slugs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let other = index.get(OTHER).copied().unwrap_or(0);
    let outcomes: Vec<Outcome> = rows
        .iter()
        .map(|row| {
            let analysis = analyzer.analyze(row.title.as_deref(), &row.text);
            let district_right = match &row.district {
                Some(Some(expected)) => Some(
                    analysis.district.as_ref().map(|d| d.district.as_str())
                        == Some(expected.as_str()),
                ),
                _ => None,
            };
            Outcome {
                gold: index.get(row.topic.as_str()).copied(),
                gold_is_other: row.topic == OTHER,
                predicted: index
                    .get(analysis.routing.topic.as_str())
                    .copied()
                    .unwrap_or(other),
                confidence: analysis.routing.confidence,
                needs_review: analysis.routing.needs_review,
                best_topic: best_topic(&analysis.routing, &index, other),
                district_right,
            }
        })
        .collect();
    (slugs, other, outcomes)
}

/// Two routers scored on the same rows, and the change from the first to
/// the second with paired bootstrap intervals (the same draws for both): a
/// change whose interval holds 0 may be noise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub baseline: EvalReport,
    pub candidate: EvalReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<crate::bootstrap::Change>,
}

/// Scores `baseline` and `candidate` on the same rows; both must route to
/// the same year's topics.
pub fn compare(
    baseline: &Analyzer,
    candidate: &Analyzer,
    rows: &[LabelledRow],
) -> Result<Comparison> {
    let (slugs, other, before) = outcomes_of(baseline, rows);
    let (candidate_slugs, _, after) = outcomes_of(candidate, rows);
    if slugs != candidate_slugs {
        return Err(Error::Model(
            "the two routers compared route to different topic lists".into(),
        ));
    }
    Ok(Comparison {
        baseline: report_of(&slugs, other, &before),
        candidate: report_of(&slugs, other, &after),
        change: crate::bootstrap::paired(slugs.len(), other, &before, &after),
    })
}

fn evaluate_rows(analyzer: &Analyzer, rows: &[LabelledRow]) -> EvalReport {
    let (slugs, other, outcomes) = outcomes_of(analyzer, rows);
    report_of(&slugs, other, &outcomes)
}

/// The most likely topic that is not `other` among a routing's three best
/// (at most one of them is `other`), as an index, with its probability.
fn best_topic(
    routing: &crate::router::Routing,
    index: &BTreeMap<&str, usize>,
    other: usize,
) -> (usize, f32) {
    routing
        .top
        .iter()
        .filter_map(|t| index.get(t.topic.as_str()).map(|&i| (i, t.score)))
        .find(|&(i, _)| i != other)
        .unwrap_or((other, 0.0))
}

/// Average precision of the ranking by the best topic's probability (see
/// [`EvalReport::ranking_average_precision`]); ties keep the file's order.
fn ranking_average_precision(outcomes: &[Outcome]) -> f64 {
    let topical = outcomes
        .iter()
        .filter(|o| o.gold.is_some() && !o.gold_is_other)
        .count();
    let mut ranked: Vec<&Outcome> = outcomes.iter().collect();
    ranked.sort_by(|a, b| b.best_topic.1.total_cmp(&a.best_topic.1));
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (rank, o) in ranked.iter().enumerate() {
        if !o.gold_is_other && o.gold == Some(o.best_topic.0) {
            hits += 1;
            sum += hits as f64 / (rank + 1) as f64;
        }
    }
    if topical == 0 {
        0.0
    } else {
        sum / topical as f64
    }
}

/// The report of these outcomes.
fn report_of(slugs: &[String], other: usize, outcomes: &[Outcome]) -> EvalReport {
    let tally = Tally::of(slugs.len(), other, outcomes);
    let per_topic: BTreeMap<String, TopicScore> =
        slugs.iter().cloned().zip(tally.scores()).collect();
    let confusion = slugs
        .iter()
        .zip(&tally.confusion)
        .map(|(gold, line)| {
            let line = slugs.iter().cloned().zip(line.iter().copied()).collect();
            (gold.clone(), line)
        })
        .collect();
    let decisions: Vec<(f32, bool)> = outcomes.iter().map(|o| (o.confidence, o.right())).collect();
    let (reliability, expected_calibration_error) = calibration(&decisions);
    let district: Vec<bool> = outcomes.iter().filter_map(|o| o.district_right).collect();
    let headline = tally.headline();
    EvalReport {
        rows: outcomes.len(),
        accuracy: ratio(tally.correct, outcomes.len()),
        macro_f1: headline.macro_f1,
        routed_precision: headline.routed_precision,
        routed_recall: headline.routed_recall,
        ranking_average_precision: ranking_average_precision(outcomes),
        intervals: crate::bootstrap::intervals(slugs.len(), other, outcomes),
        per_topic,
        confusion,
        district_accuracy: (!district.is_empty())
            .then(|| ratio(district.iter().filter(|r| **r).count(), district.len())),
        unknown_topics: outcomes.iter().filter(|o| o.gold.is_none()).count(),
        expected_calibration_error,
        reliability,
        needs_review: outcomes.iter().filter(|o| o.needs_review).count(),
        needs_review_correct: outcomes
            .iter()
            .filter(|o| o.needs_review && o.right())
            .count(),
        sure_rows: None,
    }
}

/// One labelled row as the router decided it, topics as indices into the
/// taxonomy's slugs: what every figure of a report is counted from, so that
/// a bootstrap resample is counted exactly like the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Outcome {
    /// The labelled topic; None when it is not in the taxonomy (an error).
    pub gold: Option<usize>,
    /// The labelled topic is `other`.
    pub gold_is_other: bool,
    pub predicted: usize,
    pub confidence: f32,
    pub needs_review: bool,
    /// The most likely topic other than `other`, and its probability,
    /// whether or not it was routed to.
    pub best_topic: (usize, f32),
    /// Whether the district found is the labelled one, when the row labels one.
    pub district_right: Option<bool>,
}

impl Outcome {
    pub fn right(&self) -> bool {
        self.gold == Some(self.predicted)
    }
}

/// A report's three headline figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Headline {
    pub macro_f1: f64,
    pub routed_precision: f64,
    pub routed_recall: f64,
}

/// Counts over some outcomes: the confusion matrix and the routed rows.
pub(crate) struct Tally {
    /// confusion[true][predicted], over the taxonomy's slugs.
    confusion: Vec<Vec<usize>>,
    correct: usize,
    routed: usize,
    routed_right: usize,
    topical: usize,
    topical_found: usize,
}

impl Tally {
    pub fn of<'a>(
        topics: usize,
        other: usize,
        outcomes: impl IntoIterator<Item = &'a Outcome>,
    ) -> Tally {
        let mut t = Tally {
            confusion: vec![vec![0; topics]; topics],
            correct: 0,
            routed: 0,
            routed_right: 0,
            topical: 0,
            topical_found: 0,
        };
        for o in outcomes {
            let right = o.right();
            t.correct += usize::from(right);
            if let Some(gold) = o.gold {
                t.confusion[gold][o.predicted] += 1;
            }
            if o.predicted != other {
                t.routed += 1;
                t.routed_right += usize::from(right);
            }
            if !o.gold_is_other {
                t.topical += 1;
                t.topical_found += usize::from(right);
            }
        }
        t
    }

    /// Precision, recall, F1 and support of each topic, in the slugs' order.
    pub fn scores(&self) -> Vec<TopicScore> {
        (0..self.confusion.len())
            .map(|k| {
                let tp = self.confusion[k][k];
                let support: usize = self.confusion[k].iter().sum();
                let predicted: usize = self.confusion.iter().map(|line| line[k]).sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                TopicScore {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect()
    }

    /// Macro-F1 over the topics with rows, routed precision and recall.
    pub fn headline(&self) -> Headline {
        let scores = self.scores();
        let scored: Vec<&TopicScore> = scores.iter().filter(|s| s.support > 0).collect();
        let macro_f1 = if scored.is_empty() {
            0.0
        } else {
            scored.iter().map(|s| s.f1).sum::<f64>() / scored.len() as f64
        };
        Headline {
            macro_f1,
            routed_precision: ratio(self.routed_right, self.routed),
            routed_recall: ratio(self.topical_found, self.topical),
        }
    }
}

/// Fits the router's calibration on labelled rows the model was not trained
/// on: for topic decisions and for `other` decisions apart, a logistic
/// regression of "the decision was right" on the logit of its raw
/// probability (Platt scaling), by Newton's method with a small ridge so
/// that a group with few or only right rows stays finite.
pub fn fit_calibration(analyzer: &Analyzer, rows: &[LabelledRow]) -> Calibration {
    let mut topic = Vec::new();
    let mut other = Vec::new();
    for row in rows {
        let routing = analyzer.analyze(row.title.as_deref(), &row.text).routing;
        let point = (
            f64::from(crate::router::logit(routing.raw_confidence)),
            routing.topic == row.topic,
        );
        if routing.topic == OTHER {
            other.push(point);
        } else {
            topic.push(point);
        }
    }
    let (topic_slope, topic_intercept) = platt(&topic);
    let (other_slope, other_intercept) = platt(&other);
    Calibration {
        topic_slope,
        topic_intercept,
        other_slope,
        other_intercept,
    }
}

fn platt(points: &[(f64, bool)]) -> (f32, f32) {
    const RIDGE: f64 = 1e-2;
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..100 {
        // Gradient and Hessian of the log-loss plus RIDGE/2 · ((a-1)² + b²).
        let (mut ga, mut gb) = (RIDGE * (a - 1.0), RIDGE * b);
        let (mut haa, mut hab, mut hbb) = (RIDGE, 0.0, RIDGE);
        for &(x, right) in points {
            let p = 1.0 / (1.0 + (-(a * x + b)).exp());
            let e = p - f64::from(u8::from(right));
            ga += e * x;
            gb += e;
            let w = p * (1.0 - p);
            haa += w * x * x;
            hab += w * x;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() + db.abs() < 1e-9 {
            break;
        }
    }
    (a as f32, b as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row labelled `gold` (0 is `other`) whose most likely topic is
    /// `best` at probability `p`, routed when `p` reaches 0.5.
    fn ranked(gold: usize, best: usize, p: f32) -> Outcome {
        Outcome {
            gold: Some(gold),
            gold_is_other: gold == 0,
            predicted: if p >= 0.5 { best } else { 0 },
            confidence: 0.9,
            needs_review: false,
            best_topic: (best, p),
            district_right: None,
        }
    }

    #[test]
    fn ranking_average_precision_reads_the_ranking_not_the_threshold() {
        // Two topical rows above every `other`: a perfect ranking.
        let perfect = [ranked(1, 1, 0.9), ranked(2, 2, 0.4), ranked(0, 1, 0.3)];
        assert!((ranking_average_precision(&perfect) - 1.0).abs() < 1e-9);
        // The same ranking routed at another threshold: unchanged.
        let routed_all: Vec<Outcome> = perfect
            .iter()
            .map(|o| Outcome {
                predicted: o.best_topic.0,
                ..*o
            })
            .collect();
        assert_eq!(
            ranking_average_precision(&routed_all),
            ranking_average_precision(&perfect)
        );
        // An `other` row ranked first: precision 1/2 and 2/3 at the hits.
        let worse = [ranked(0, 1, 0.95), ranked(1, 1, 0.9), ranked(2, 2, 0.4)];
        let expected = (0.5 + 2.0 / 3.0) / 2.0;
        assert!((ranking_average_precision(&worse) - expected).abs() < 1e-9);
        // A topical row whose best topic is the wrong one never counts as a hit.
        let wrong_topic = [ranked(1, 2, 0.9), ranked(2, 2, 0.8)];
        assert!((ranking_average_precision(&wrong_topic) - 0.25).abs() < 1e-9);
        assert_eq!(ranking_average_precision(&[]), 0.0);
    }

    #[test]
    fn calibration_error_is_the_gap_between_confidence_and_accuracy() {
        // Ten decisions at 0.95, half of them right: a gap of 0.45.
        let overconfident: Vec<(f32, bool)> = (0..10).map(|i| (0.95, i % 2 == 0)).collect();
        let (table, ece) = calibration(&overconfident);
        assert_eq!(table.len(), 1);
        assert_eq!(table[0].count, 10);
        assert!((ece - 0.45).abs() < 1e-6, "{ece}");
        // Calibrated bins: 0.25 right one time in four, 0.75 three times in four.
        let mut calibrated: Vec<(f32, bool)> = (0..4).map(|i| (0.25, i == 0)).collect();
        calibrated.extend((0..4).map(|i| (0.75, i != 0)));
        let (table, ece) = calibration(&calibrated);
        assert_eq!(table.len(), 2);
        assert!(ece < 1e-6, "{ece}");
        // A confidence of exactly 1.0 lands in the last bin, not past it.
        let (table, _) = calibration(&[(1.0, true)]);
        assert_eq!(table[0].low, 0.9);
    }

    #[test]
    fn platt_scaling_recovers_a_known_slope_and_intercept() {
        // At each logit x, right in round(100 · σ(2x + 1)) of 100 decisions.
        let mut points = Vec::new();
        for step in -20..=20 {
            let x = f64::from(step) / 5.0;
            let p = 1.0 / (1.0 + (-(2.0 * x + 1.0)).exp());
            let right = (p * 100.0).round() as usize;
            points.extend((0..100).map(|i| (x, i < right)));
        }
        let (slope, intercept) = platt(&points);
        assert!((slope - 2.0).abs() < 0.1, "{slope}");
        assert!((intercept - 1.0).abs() < 0.1, "{intercept}");
        // All right: finite, thanks to the ridge, and confident.
        let (slope, intercept) = platt(&[(0.5, true); 50]);
        assert!(slope.is_finite() && intercept.is_finite());
        assert!(1.0 / (1.0 + (-(slope * 0.5 + intercept)).exp()) > 0.9);
    }
}
