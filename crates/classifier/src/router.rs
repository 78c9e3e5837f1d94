//! The routing decision: which topic (or `other`), how sure, and the words that decided it.

use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::segment::Segmented;
use crate::taxonomy::{Taxonomy, OTHER};

/// Decision settings, from the `[router]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// The most likely topic is assigned when its probability reaches this,
    /// even if `other` is more likely: a real letter is mostly about other
    /// things, and one paragraph on fumes still makes it a fumes ticket.
    pub topic_threshold: f32,
    /// A decision whose calibrated confidence is below this is flagged for
    /// an operator's review (`needs_review`).
    pub min_confidence: f32,
    /// Added to the `other` logit before the decision (0: none).
    pub other_bias: f32,
    /// How many deciding words to report.
    pub explain_words: usize,
    /// Maps the decision's raw probability to a calibrated confidence.
    pub calibration: Calibration,
}

/// Neutral settings for a router built without a configuration. The values
/// in use are `config/default.toml`'s `[router]`, fitted to the shipped
/// model (threshold, review line, calibration); they are not repeated here.
impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            topic_threshold: 0.2,
            min_confidence: 0.6,
            other_bias: 0.0,
            explain_words: 5,
            calibration: Calibration::default(),
        }
    }
}

/// Platt scaling of the decision's raw probability, one pair for each kind
/// of decision: confidence = σ(slope · logit(raw) + intercept). For a
/// topic, raw is its probability; for `other`, one minus the best topic's.
/// The identity (slope 1, intercept 0) by default; `hotline calibrate`
/// fits them on labelled real messages that the model was not trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Calibration {
    pub topic_slope: f32,
    pub topic_intercept: f32,
    pub other_slope: f32,
    pub other_intercept: f32,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            topic_slope: 1.0,
            topic_intercept: 0.0,
            other_slope: 1.0,
            other_intercept: 0.0,
        }
    }
}

/// The log-odds of a probability, kept finite.
pub fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

impl Calibration {
    /// The calibrated confidence of a decision whose raw probability is `raw`.
    pub fn confidence(&self, routed: bool, raw: f32) -> f32 {
        let (slope, intercept) = if routed {
            (self.topic_slope, self.topic_intercept)
        } else {
            (self.other_slope, self.other_intercept)
        };
        1.0 / (1.0 + (-(slope * logit(raw) + intercept)).exp())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredTopic {
    pub topic: String,
    pub name: String,
    pub score: f32,
}

/// The router's answer for one ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    /// Always one of the taxonomy's slugs (or `other`).
    pub topic: String,
    pub name: String,
    pub department: String,
    /// Calibrated probability that `topic` is right.
    pub confidence: f32,
    /// The decision's raw probability before calibration (for a topic, its
    /// probability; for `other`, one minus the best topic's).
    #[serde(skip)]
    pub raw_confidence: f32,
    /// True when the decision's confidence is below `min_confidence`: an
    /// operator should look, whichever way it went.
    pub needs_review: bool,
    /// The three most likely topics, best first, with their probabilities.
    pub top: Vec<ScoredTopic>,
    /// Words of the ticket that pushed the decision, strongest first.
    pub deciding_words: Vec<String>,
}

/// A trained model bound to its taxonomy and decision settings.
#[derive(Debug, Clone)]
pub struct Router {
    taxonomy: Taxonomy,
    model: Model,
    config: RouterConfig,
}

impl Router {
    pub fn new(taxonomy: Taxonomy, model: Model, config: RouterConfig) -> Self {
        Router {
            taxonomy,
            model,
            config,
        }
    }

    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// Routes a text that was segmented once by the shared segmenter.
    pub fn route(&self, seg: &Segmented, text: &str) -> Routing {
        let other = self.taxonomy.other_index();
        let vector = self.model.vectorize(seg, text);
        let mut probs = self.model.probabilities_of(&vector);
        if self.config.other_bias != 0.0 {
            probs[other] *= self.config.other_bias.exp();
            let sum: f32 = probs.iter().sum();
            probs.iter_mut().for_each(|p| *p /= sum);
        }
        let mut ranked: Vec<usize> = (0..probs.len()).collect();
        ranked.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
        let best_topic = ranked
            .iter()
            .copied()
            .find(|&c| c != other)
            .unwrap_or(other);
        let routed = best_topic != other && probs[best_topic] >= self.config.topic_threshold;
        let chosen = if routed { best_topic } else { other };
        let raw = if routed {
            probs[best_topic]
        } else {
            1.0 - probs[best_topic]
        };
        let confidence = self.config.calibration.confidence(routed, raw);
        let topics = self.taxonomy.topics();
        let top = ranked
            .iter()
            .take(3)
            .map(|&c| ScoredTopic {
                topic: topics[c].slug.clone(),
                name: topics[c].name.clone(),
                score: probs[c],
            })
            .collect();
        let deciding_words = if seg.tokens.is_empty() {
            Vec::new()
        } else {
            self.model
                .explain_vector(&vector, chosen, self.config.explain_words)
        };
        let topic = &topics[chosen];
        debug_assert!(topic.slug == OTHER || chosen != other);
        Routing {
            topic: topic.slug.clone(),
            name: topic.name.clone(),
            department: topic.department.clone(),
            confidence,
            raw_confidence: raw,
            needs_review: confidence < self.config.min_confidence,
            top,
            deciding_words,
        }
    }
}
