//! What a model was trained from: the fingerprint of its inputs, the version
//! derived from it, and the figures measured when it was built.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analyzer::AnalyzerSources;
use crate::model::{Example, TrainParams};

/// The identity card of a trained model, saved with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Short id derived from the fingerprint: the same inputs always give the
    /// same version, different inputs a different one.
    pub version: String,
    /// SHA-256 (hex) of the configuration texts, the examples in order and
    /// the parameters: a model matches its data when this is equal.
    pub fingerprint: String,
    pub taxonomy_year: u16,
    pub examples: usize,
    pub params: TrainParams,
    /// Figures on labelled data the model was not trained on, when measured
    /// (`hotline train --eval FILE`).
    #[serde(default)]
    pub evaluation: Vec<ModelEvaluation>,
}

/// A model's figures on one labelled file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEvaluation {
    /// The file as named on the command line.
    pub data: String,
    pub rows: usize,
    pub macro_f1: f64,
    pub routed_precision: f64,
    pub routed_recall: f64,
    pub expected_calibration_error: f64,
}

impl ModelInfo {
    /// The identity of a model trained on these inputs.
    pub fn new(
        sources: &AnalyzerSources<'_>,
        taxonomy_year: u16,
        examples: &[Example],
        params: &TrainParams,
    ) -> ModelInfo {
        let fingerprint = fingerprint(sources, examples, params);
        ModelInfo {
            version: version_of(&fingerprint),
            fingerprint,
            taxonomy_year,
            examples: examples.len(),
            params: params.clone(),
            evaluation: Vec::new(),
        }
    }
}

/// The version shown to people: `m-` and the fingerprint's first twelve hex digits.
pub fn version_of(fingerprint: &str) -> String {
    format!("m-{}", &fingerprint[..fingerprint.len().min(12)])
}

/// SHA-256 over everything that decides a model's weights. Each part is
/// length-prefixed, so moving text from one field to the next changes it.
pub fn fingerprint(
    sources: &AnalyzerSources<'_>,
    examples: &[Example],
    params: &TrainParams,
) -> String {
    let mut hash = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    part(b"hotline model v1");
    part(sources.taxonomy.as_bytes());
    part(sources.domain_dict.as_bytes());
    part(sources.stopwords.as_bytes());
    part(sources.gazetteer.as_bytes());
    part(&[u8::from(sources.hmm)]);
    // serde_json prints floats in their shortest exact form: stable across machines.
    part(serde_json::to_string(params).unwrap_or_default().as_bytes());
    part(&(examples.len() as u64).to_le_bytes());
    for example in examples {
        // Marked only when private, so that the models built before the
        // mark existed keep their versions; no topic's slug starts with NUL.
        if example.private {
            part(b"\0private");
        }
        part(example.topic.as_bytes());
        part(example.text.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(taxonomy: &str) -> AnalyzerSources<'_> {
        AnalyzerSources {
            taxonomy,
            domain_dict: "电梯 5 n",
            stopwords: "的",
            gazetteer: "",
            streets: "",
            hmm: false,
        }
    }

    fn example(text: &str, topic: &str) -> Example {
        Example {
            text: text.to_owned(),
            topic: topic.to_owned(),
            private: false,
        }
    }

    #[test]
    fn every_input_moves_the_fingerprint() {
        let params = TrainParams::default();
        let examples = vec![
            example("电梯坏了", "old_elevators"),
            example("路灯", "other"),
        ];
        let base = fingerprint(&sources("a"), &examples, &params);
        assert_eq!(base, fingerprint(&sources("a"), &examples, &params));
        assert_eq!(base.len(), 64);
        assert_ne!(base, fingerprint(&sources("b"), &examples, &params));
        let relabelled = vec![example("电梯坏了", "other"), example("路灯", "other")];
        assert_ne!(base, fingerprint(&sources("a"), &relabelled, &params));
        let reordered = vec![examples[1].clone(), examples[0].clone()];
        assert_ne!(base, fingerprint(&sources("a"), &reordered, &params));
        // Text moved from one example to the next is a different corpus.
        let shifted = vec![
            example("电梯坏", "old_elevators"),
            example("了路灯", "other"),
        ];
        assert_ne!(base, fingerprint(&sources("a"), &shifted, &params));
        let private = vec![
            Example {
                private: true,
                ..examples[0].clone()
            },
            examples[1].clone(),
        ];
        assert_ne!(base, fingerprint(&sources("a"), &private, &params));
        let stronger = TrainParams {
            l2: 1e-4,
            ..TrainParams::default()
        };
        assert_ne!(base, fingerprint(&sources("a"), &examples, &stronger));
        assert!(version_of(&base).starts_with("m-"));
        assert_eq!(version_of(&base).len(), 14);
    }
}
