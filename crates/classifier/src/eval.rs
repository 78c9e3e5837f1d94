//! Labelled data files and the evaluation report of `hotline eval`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyzer::Analyzer;
use crate::error::{Error, Result};
use crate::model::Example;
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
    pub per_topic: BTreeMap<String, TopicScore>,
    /// confusion[true][predicted] = count, over the taxonomy's slugs.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// Over rows whose labelled district is not null; absent when no row has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district_accuracy: Option<f64>,
    /// Rows whose topic is not in the taxonomy (counted as errors).
    pub unknown_topics: usize,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

pub fn evaluate(analyzer: &Analyzer, rows: &[LabelledRow]) -> EvalReport {
    let slugs: Vec<String> = analyzer
        .taxonomy()
        .topics()
        .iter()
        .map(|t| t.slug.clone())
        .collect();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = slugs
        .iter()
        .map(|s| (s.clone(), slugs.iter().map(|p| (p.clone(), 0)).collect()))
        .collect();
    let (mut correct, mut unknown) = (0, 0);
    let (mut routed, mut routed_right, mut topical, mut topical_found) = (0, 0, 0, 0);
    let (mut district_rows, mut district_right) = (0, 0);
    for row in rows {
        let analysis = analyzer.analyze(row.title.as_deref(), &row.text);
        let predicted = &analysis.routing.topic;
        if predicted == &row.topic {
            correct += 1;
        }
        match confusion.get_mut(&row.topic) {
            Some(line) => *line.entry(predicted.clone()).or_default() += 1,
            None => unknown += 1,
        }
        if predicted != OTHER {
            routed += 1;
            routed_right += usize::from(predicted == &row.topic);
        }
        if row.topic != OTHER {
            topical += 1;
            topical_found += usize::from(predicted == &row.topic);
        }
        if let Some(Some(expected)) = &row.district {
            district_rows += 1;
            let found = analysis.district.as_ref().map(|d| d.district.as_str());
            district_right += usize::from(found == Some(expected.as_str()));
        }
    }
    let mut per_topic = BTreeMap::new();
    for slug in &slugs {
        let tp = confusion[slug][slug];
        let support: usize = confusion[slug].values().sum();
        let predicted: usize = confusion.values().map(|line| line[slug]).sum();
        let precision = ratio(tp, predicted);
        let recall = ratio(tp, support);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        per_topic.insert(
            slug.clone(),
            TopicScore {
                precision,
                recall,
                f1,
                support,
            },
        );
    }
    let scored: Vec<&TopicScore> = per_topic.values().filter(|s| s.support > 0).collect();
    let macro_f1 = if scored.is_empty() {
        0.0
    } else {
        scored.iter().map(|s| s.f1).sum::<f64>() / scored.len() as f64
    };
    EvalReport {
        rows: rows.len(),
        accuracy: ratio(correct, rows.len()),
        macro_f1,
        routed_precision: ratio(routed_right, routed),
        routed_recall: ratio(topical_found, topical),
        per_topic,
        confusion,
        district_accuracy: (district_rows > 0).then(|| ratio(district_right, district_rows)),
        unknown_topics: unknown,
    }
}
