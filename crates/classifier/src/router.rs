use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::segment::Segmented;
use crate::taxonomy::{Taxonomy, OTHER};

/// Decision settings, from the `[router]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// Below this probability a topic is not assigned: the ticket goes to
    /// `other` and is flagged for an operator's review.
    pub min_confidence: f32,
    /// Added to the `other` logit. Real traffic is mostly `other`, far more
    /// than any training corpus, so the prior is raised to match.
    pub other_bias: f32,
    /// How many deciding words to report.
    pub explain_words: usize,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            min_confidence: 0.5,
            other_bias: 0.0,
            explain_words: 5,
        }
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
    /// True when the best topic was too uncertain and `other` was chosen instead.
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
        let best = ranked[0];
        let topics = self.taxonomy.topics();
        let abstain = best != other && probs[best] < self.config.min_confidence;
        let chosen = if abstain { other } else { best };
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
                .explain_vector(&vector, best, self.config.explain_words)
        };
        let topic = &topics[chosen];
        debug_assert!(topic.slug == OTHER || chosen != other);
        Routing {
            topic: topic.slug.clone(),
            name: topic.name.clone(),
            department: topic.department.clone(),
            confidence: if abstain {
                1.0 - probs[best]
            } else {
                probs[chosen]
            },
            needs_review: abstain,
            top,
            deciding_words,
        }
    }
}
