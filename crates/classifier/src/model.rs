//! A multinomial logistic regression over tf-idf word and bigram features.
//!
//! Chosen because it is small, fast, deterministic, gives probabilities that
//! can be calibrated, and explains itself: a decision is the sum of per-word
//! contributions, so the words that decided it can be shown to the operator.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{for_each_term, Vocabulary};
use crate::provenance::ModelInfo;
use crate::segment::{Segmented, Segmenter};
use crate::taxonomy::Taxonomy;
use crate::weights::Weights;

/// One labelled ticket for training or evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    pub topic: String,
    /// A caller's ticket (retraining from the store): its words weigh on the
    /// features the other examples bring, and never become features of
    /// their own. Otherwise a word of one ticket (a neighbour's name)
    /// would enter the model, and routing any text holding it, which every
    /// token may do, would tell that some ticket in the city has it.
    #[serde(default)]
    pub private: bool,
}

/// A training text as `fit` reads it.
struct TrainingText {
    text: String,
    class: usize,
    private: bool,
}

/// Training knobs; the defaults are what the shipped model is built with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Upper bound on L-BFGS iterations; training normally converges before.
    pub max_iterations: usize,
    /// L2 penalty on the weights, against the mean log-loss.
    pub l2: f32,
    /// Additive smoothing of the complement naive Bayes head.
    pub nb_smoothing: f32,
    /// Share of the complement naive Bayes head in the log-space average of the two heads.
    pub nb_share: f32,
    /// Bigrams seen in fewer training documents are dropped (noise, typos of one example).
    pub min_bigram_df: u32,
    /// Folds used to fit the temperature that calibrates confidences (0 = no calibration).
    pub calibration_folds: usize,
    /// How many more times a word of a message's title counts (0 in models
    /// written before format 3, which read titles like any line).
    #[serde(default)]
    pub title_repeat: u32,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            max_iterations: 1000,
            // With the corpus of stop 27 (610 more real-shaped letters),
            // 1e-5 left written work orders (dev.jsonl) at macro-F1 0.936,
            // next to their floor of 0.93; 3e-6 keeps them at 0.966, with
            // real messages' tune split at 0.853 against 0.863 (recall
            // 0.908 against 0.884). 1e-4 loses recall.
            l2: 3e-6,
            // The head counts L2-normalised tf-idf mass, under one per
            // document, and smoothing is added for each of ~49,000
            // features: at 1.0 it outweighed the corpus's own counts and
            // the head's weights were mostly smoothing. At 0.1 the ranking's
            // average precision on labelled real messages rose on every
            // split (tune 0.919 → 0.927, holdout 0.888 → 0.903, holdout2
            // 0.871 → 0.874; written work orders 0.985 → 0.997); 0.03 and
            // 0.01 were no better (docs/labelling.md, stop 29).
            nb_smoothing: 0.1,
            nb_share: 0.5,
            min_bigram_df: 2,
            // Confidences are calibrated on real messages instead
            // (`[router.calibration]`): folds of the written corpus were
            // confident where real letters are not.
            calibration_folds: 0,
            // A title word counting four times: on labelled real messages
            // (tune and holdout splits) 2 to 5 extra counts were all
            // better than none (+0.01 to +0.03 macro-F1) and 3 best.
            title_repeat: 3,
        }
    }
}

/// A trained router model. Serializes to JSON for `hotline train --out`.
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) classes: Vec<String>,
    pub(crate) vocab: Vocabulary,
    /// Feature × class, padded for scoring.
    pub(crate) weights: Weights,
    pub(crate) bias: Vec<f32>,
    /// Softmax temperature fitted on held-out folds.
    pub(crate) temperature: f32,
    /// What it was trained from; absent in files of format 1.
    pub(crate) info: Option<ModelInfo>,
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: u32,
    classes: Vec<String>,
    /// (term, is_bigram, idf) in feature order.
    features: Vec<(String, bool, f32)>,
    weights: Vec<f32>,
    bias: Vec<f32>,
    temperature: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    info: Option<ModelInfo>,
    /// Absent before format 3: titles were not emphasised.
    #[serde(default)]
    title_repeat: u32,
}

/// Format 2 added `info`, format 3 `title_repeat` (which changes the
/// vectors, so an older binary must refuse the file); older files still load.
const MODEL_FORMAT: u32 = 3;

/// The most times a title's words may count in a model file; the trainer
/// writes 3.
const MAX_TITLE_REPEAT: u32 = 100;

/// The range of idf values a model file may hold (the trainer writes 1 to
/// ln(n + 1) + 1, under 20 for any corpus that fits in memory).
const MIN_IDF: f32 = 1e-3;
const MAX_IDF: f32 = 1e4;

/// A document ready for training: its vector and its class.
struct Doc {
    vector: Vec<(u32, f32)>,
    class: usize,
}

fn softmax_in_place(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

impl Model {
    /// Trains a model on labelled examples plus the taxonomy's seed words,
    /// which enter as one-word pseudo-documents: a prior that a word alone
    /// points at its topic, which real examples then refine.
    pub fn train(
        taxonomy: &Taxonomy,
        segmenter: &Segmenter,
        examples: &[Example],
        ignore: &crate::WordSet,
        params: &TrainParams,
    ) -> Result<Model> {
        let classes: Vec<String> = taxonomy.topics().iter().map(|t| t.slug.clone()).collect();
        let mut texts: Vec<TrainingText> = Vec::with_capacity(examples.len());
        for (i, ex) in examples.iter().enumerate() {
            let class = taxonomy.index_of(&ex.topic).ok_or_else(|| {
                Error::Model(format!(
                    "example #{}: topic '{}' is not in the {} taxonomy",
                    i + 1,
                    ex.topic,
                    taxonomy.year
                ))
            })?;
            texts.push(TrainingText {
                text: ex.text.clone(),
                class,
                private: ex.private,
            });
        }
        for (class, topic) in taxonomy.topics().iter().enumerate() {
            for seed in &topic.seeds {
                texts.push(TrainingText {
                    text: seed.clone(),
                    class,
                    private: false,
                });
            }
        }
        let mut present = vec![false; classes.len()];
        for t in &texts {
            present[t.class] = true;
        }
        if let Some(missing) = present.iter().position(|p| !p) {
            return Err(Error::Model(format!(
                "no training example for topic '{}'",
                classes[missing]
            )));
        }
        let segmented: Vec<Segmented> = texts.iter().map(|t| segmenter.segment(&t.text)).collect();
        let labels: Vec<usize> = texts.iter().map(|t| t.class).collect();
        let all: Vec<usize> = (0..texts.len()).collect();

        let temperature = if params.calibration_folds >= 2 {
            fit_temperature(&classes, &texts, &segmented, &labels, ignore, params)
        } else {
            1.0
        };
        let mut model = fit(&classes, &texts, &segmented, &labels, &all, ignore, params);
        model.temperature = temperature;
        Ok(model)
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Class probabilities for a text, in class order.
    pub fn probabilities(&self, seg: &Segmented, text: &str) -> Vec<f32> {
        self.probabilities_of(&self.vocab.vectorize(seg, text))
    }

    /// The feature vector of a text, to be shared by scoring and explaining.
    pub(crate) fn vectorize(&self, seg: &Segmented, text: &str) -> Vec<(u32, f32)> {
        self.vocab.vectorize(seg, text)
    }

    pub(crate) fn probabilities_of(&self, vector: &[(u32, f32)]) -> Vec<f32> {
        let mut scores = self.raw_scores(vector);
        for s in &mut scores {
            *s /= self.temperature;
        }
        softmax_in_place(&mut scores);
        scores
    }

    fn raw_scores(&self, vector: &[(u32, f32)]) -> Vec<f32> {
        self.weights.scores(&self.bias, vector)
    }

    /// The words of `text` that pushed it most towards `class`, strongest first.
    ///
    /// Bigram evidence is credited to the words that contain it, so the
    /// operator sees 充电桩 rather than 充电 and 电桩; bigrams are shown on
    /// their own only when no word speaks for the class (typos, unknown words).
    pub fn explain(&self, seg: &Segmented, text: &str, class: usize, most: usize) -> Vec<String> {
        self.explain_vector(&self.vocab.vectorize(seg, text), class, most)
    }

    pub(crate) fn explain_vector(
        &self,
        vector: &[(u32, f32)],
        class: usize,
        most: usize,
    ) -> Vec<String> {
        let k = self.classes.len();
        let contribution = |f: u32, v: f32| {
            let own = self.weights.get(f, class);
            let all = self.weights.row_sum(f);
            // Against the mean of the other classes: what makes this class win, not merely score.
            let others = (all - own) / (k - 1).max(1) as f32;
            v * (own - others)
        };
        // The vector is sorted by feature: a word's bigrams are found by binary search.
        let value_of = |f: u32| {
            vector
                .binary_search_by_key(&f, |&(i, _)| i)
                .ok()
                .map(|p| vector[p].1)
        };
        let mut scored: Vec<(f32, u32)> = vector
            .iter()
            .filter(|(f, _)| !self.vocab.is_bigram[*f as usize])
            .map(|&(f, v)| {
                let inside: f32 = self
                    .vocab
                    .inner_bigrams(f)
                    .iter()
                    .filter_map(|&b| value_of(b).map(|bv| contribution(b, bv)))
                    .sum();
                (contribution(f, v) + inside, f)
            })
            .filter(|&(c, _)| c > 0.0)
            .collect();
        if scored.is_empty() {
            // No word speaks for the class (typos, unknown words): show the bigrams.
            scored = vector
                .iter()
                .map(|&(f, v)| (contribution(f, v), f))
                .filter(|&(c, _)| c > 0.0)
                .collect();
        }
        let order = |a: &(f32, u32), b: &(f32, u32)| {
            b.0.total_cmp(&a.0).then_with(|| {
                self.vocab.surface[a.1 as usize].cmp(&self.vocab.surface[b.1 as usize])
            })
        };
        // Only the strongest few are shown: pick them, then sort just those.
        if most > 0 && scored.len() > most {
            scored.select_nth_unstable_by(most - 1, order);
            scored.truncate(most);
        }
        scored.sort_by(order);
        scored
            .into_iter()
            .take(most)
            .map(|(_, f)| self.vocab.surface[f as usize].clone())
            .collect()
    }

    /// What the model was trained from, when it says (format 2 files and
    /// models trained through [`crate::Analyzer::train`]).
    pub fn info(&self) -> Option<&ModelInfo> {
        self.info.as_ref()
    }

    /// The version to record on what this model decides; `unversioned` for
    /// an old file that does not carry one.
    pub fn version(&self) -> &str {
        self.info
            .as_ref()
            .map_or("unversioned", |i| i.version.as_str())
    }

    pub fn set_info(&mut self, info: ModelInfo) {
        self.info = Some(info);
    }

    pub fn to_json(&self) -> String {
        let file = ModelFile {
            format: MODEL_FORMAT,
            classes: self.classes.clone(),
            features: (0..self.vocab.len())
                .map(|i| {
                    (
                        self.vocab.surface[i].clone(),
                        self.vocab.is_bigram[i],
                        self.vocab.idf[i],
                    )
                })
                .collect(),
            weights: self.weights.to_rows(),
            bias: self.bias.clone(),
            temperature: self.temperature,
            info: self.info.clone(),
            title_repeat: self.vocab.title_repeat,
        };
        serde_json::to_string(&file).unwrap_or_default()
    }

    pub fn from_json(text: &str, taxonomy: &Taxonomy) -> Result<Model> {
        let file: ModelFile =
            serde_json::from_str(text).map_err(|e| Error::Model(e.to_string()))?;
        if !(1..=MODEL_FORMAT).contains(&file.format) {
            return Err(Error::Model(format!(
                "format {} is not supported (expected 1 to {MODEL_FORMAT})",
                file.format
            )));
        }
        let expected: Vec<&str> = taxonomy.topics().iter().map(|t| t.slug.as_str()).collect();
        if file
            .classes
            .iter()
            .map(String::as_str)
            .ne(expected.iter().copied())
        {
            return Err(Error::Model(format!(
                "its topics {:?} differ from the {} taxonomy {:?}; retrain with `hotline train`",
                file.classes, taxonomy.year, expected
            )));
        }
        let k = file.classes.len();
        if file.weights.len() != file.features.len() * k || file.bias.len() != k {
            return Err(Error::Model("weight matrix has the wrong shape".to_owned()));
        }
        // Values `hotline train` never writes, which would load and then
        // fail every ticket: a NaN confidence is never below the review
        // line, and a title repeated billions of times exhausts memory.
        if !(file.temperature.is_finite() && file.temperature > 0.0) {
            return Err(Error::Model(format!(
                "temperature {} is not a positive number",
                file.temperature
            )));
        }
        if file.title_repeat > MAX_TITLE_REPEAT {
            return Err(Error::Model(format!(
                "title_repeat {} is above {MAX_TITLE_REPEAT}",
                file.title_repeat
            )));
        }
        let finite = file
            .weights
            .iter()
            .chain(&file.bias)
            .chain(file.features.iter().map(|f| &f.2))
            .all(|v| v.is_finite());
        if !finite {
            return Err(Error::Model(
                "a weight, bias or idf is not a finite number".to_owned(),
            ));
        }
        // The trainer writes idf values from 1 to ln(n + 1) + 1. Far outside
        // that, a text's vector overflows to NaN or rounds to nothing, and
        // the vector's exactness (idf times a power of two) no longer holds.
        if let Some((index, (term, _, idf))) = file
            .features
            .iter()
            .enumerate()
            .find(|(_, f)| !(MIN_IDF..=MAX_IDF).contains(&f.2))
        {
            return Err(Error::Model(format!(
                "feature #{index} ({term:?}) has idf {idf}, outside {MIN_IDF} to {MAX_IDF}"
            )));
        }
        let mut vocab = Vocabulary::default();
        vocab.title_repeat = file.title_repeat;
        for (index, (term, bigram, idf)) in file.features.iter().enumerate() {
            if !vocab.push(term, *bigram, *idf) {
                return Err(Error::Model(format!(
                    "feature #{index} ({term:?}) is already a feature: the file is damaged or was not written by `hotline train`"
                )));
            }
        }
        vocab.finish();
        Ok(Model {
            classes: file.classes,
            vocab,
            weights: Weights::from_rows(&file.weights, k),
            bias: file.bias,
            temperature: file.temperature,
            info: file.info,
        })
    }
}

/// Fits a model on the documents at `subset`.
fn fit(
    classes: &[String],
    texts: &[TrainingText],
    segmented: &[Segmented],
    labels: &[usize],
    subset: &[usize],
    ignore: &crate::WordSet,
    params: &TrainParams,
) -> Model {
    // Document frequencies; BTreeMap keeps feature order independent of hashing.
    let mut word_df: BTreeMap<&str, u32> = BTreeMap::new();
    let mut bigram_df: BTreeMap<&str, u32> = BTreeMap::new();
    // Which terms become features is decided by the examples that are not
    // private alone, words and bigrams apart (a ticket's two-letter name is
    // no word because two public letters happen to stand side by side), and
    // bigrams' threshold counted over them alone (a ticket must not lift a
    // bigram seen once in the corpus over it). Private examples only add to
    // the counts that weigh the features: the vocabulary is the one the
    // public examples give on their own.
    let mut public_words: HashSet<&str> = HashSet::new();
    let mut public_bigram_df: BTreeMap<&str, u32> = BTreeMap::new();
    for &d in subset {
        let mut words = HashSet::new();
        let mut bigrams = HashSet::new();
        for_each_term(
            &segmented[d],
            &texts[d].text,
            Some(ignore),
            |t, bigram, _| {
                if bigram.is_some() {
                    bigrams.insert(t);
                } else {
                    words.insert(t);
                }
            },
        );
        if !texts[d].private {
            public_words.extend(words.iter().copied());
            for b in &bigrams {
                *public_bigram_df.entry(b).or_default() += 1;
            }
        }
        for w in words {
            *word_df.entry(w).or_default() += 1;
        }
        for b in bigrams {
            *bigram_df.entry(b).or_default() += 1;
        }
    }
    let n = subset.len() as f32;
    let idf = |df: u32| ((n + 1.0) / (df as f32 + 1.0)).ln() + 1.0;
    let mut vocab = Vocabulary::default();
    vocab.title_repeat = params.title_repeat;
    for (w, df) in word_df.iter().filter(|(w, _)| public_words.contains(*w)) {
        // Each word once (a map's keys): `push` refuses only a repeat.
        let _ = vocab.push(w, false, idf(*df));
    }
    for (b, df) in &bigram_df {
        if public_bigram_df.get(b).copied().unwrap_or(0) >= params.min_bigram_df {
            let _ = vocab.push(b, true, idf(*df));
        }
    }
    vocab.finish();
    let docs: Vec<Doc> = subset
        .iter()
        .map(|&d| Doc {
            vector: vocab.vectorize(&segmented[d], &texts[d].text),
            class: labels[d],
        })
        .collect();
    let k = classes.len();
    let features = vocab.len();
    let (weights, bias) = fit_logistic(&docs, features, k, params);
    let complement = fit_complement_nb(&docs, features, k, params.nb_smoothing);
    // The two heads are averaged in log space, which is again one linear
    // model: one matrix to score and an explanation that is exact.
    let mix = params.nb_share;
    let weights: Vec<f32> = weights
        .iter()
        .zip(&complement)
        .map(|(lr, nb)| (1.0 - mix) * lr + mix * nb)
        .collect();
    let bias = bias.iter().map(|b| (1.0 - mix) * b).collect();
    Model {
        classes: classes.to_vec(),
        weights: Weights::from_rows(&weights, k),
        vocab,
        bias,
        temperature: 1.0,
        info: None,
    }
}

/// Multinomial logistic regression trained to convergence: full-batch
/// L-BFGS on the mean log-loss plus `l2 / 2 · |W|²` (the bias is not
/// penalised). Stopping early, as the earlier AdaGrad loop did, leaves the
/// weights small, and on a long letter every score then stays near its
/// intercept, where `other` wins.
fn fit_logistic(
    docs: &[Doc],
    features: usize,
    k: usize,
    params: &TrainParams,
) -> (Vec<f32>, Vec<f32>) {
    let n = docs.len().max(1) as f64;
    let l2 = f64::from(params.l2);
    let mut x = vec![0.0f64; features * k + k];
    let stop = crate::lbfgs::Stop {
        max_iterations: params.max_iterations,
        gradient_tolerance: 1e-6,
        relative_decrease: 1e-10,
    };
    let mut scores = vec![0.0f64; k];
    crate::lbfgs::minimize(&mut x, 10, stop, |x, gradient| {
        let (w, b) = x.split_at(features * k);
        gradient.iter_mut().for_each(|g| *g = 0.0);
        let mut loss = 0.0;
        for doc in docs {
            scores.copy_from_slice(b);
            for &(f, v) in &doc.vector {
                let row = &w[f as usize * k..(f as usize + 1) * k];
                for (s, wi) in scores.iter_mut().zip(row) {
                    *s += f64::from(v) * wi;
                }
            }
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            loss += sum.ln() + max - scores[doc.class];
            for (c, s) in scores.iter_mut().enumerate() {
                *s = (*s - max).exp() / sum - if c == doc.class { 1.0 } else { 0.0 };
            }
            let (gw, gb) = gradient.split_at_mut(features * k);
            for &(f, v) in &doc.vector {
                let row = &mut gw[f as usize * k..(f as usize + 1) * k];
                for (g, s) in row.iter_mut().zip(&scores) {
                    *g += f64::from(v) * s;
                }
            }
            for (g, s) in gb.iter_mut().zip(&scores) {
                *g += s;
            }
        }
        gradient.iter_mut().for_each(|g| *g /= n);
        loss /= n;
        let (gw, _) = gradient.split_at_mut(features * k);
        for (g, wi) in gw.iter_mut().zip(w) {
            *g += l2 * wi;
        }
        loss + 0.5 * l2 * w.iter().map(|wi| wi * wi).sum::<f64>()
    });
    let (w, b) = x.split_at(features * k);
    (
        w.iter().map(|&v| v as f32).collect(),
        b.iter().map(|&v| v as f32).collect(),
    )
}

/// Complement naive Bayes on the same tf-idf vectors (Rennie et al. 2003):
/// a class's weight for a feature is minus the log of how often the feature
/// occurs in the *other* classes. It credits a word that one topic owns
/// even when that topic has few examples, which the logistic head,
/// regularised, is slow to do.
fn fit_complement_nb(docs: &[Doc], features: usize, k: usize, smoothing: f32) -> Vec<f32> {
    let mut per_class = vec![0.0f64; features * k];
    let mut total = vec![0.0f64; features];
    for doc in docs {
        for &(f, v) in &doc.vector {
            per_class[f as usize * k + doc.class] += f64::from(v);
            total[f as usize] += f64::from(v);
        }
    }
    let alpha = f64::from(smoothing);
    let mut complement_sum = vec![0.0f64; k];
    for f in 0..features {
        for c in 0..k {
            complement_sum[c] += total[f] - per_class[f * k + c] + alpha;
        }
    }
    let mut weights = vec![0.0f32; features * k];
    for f in 0..features {
        for c in 0..k {
            let complement = total[f] - per_class[f * k + c] + alpha;
            weights[f * k + c] = -(complement / complement_sum[c]).ln() as f32;
        }
    }
    weights
}

/// Finds the softmax temperature that minimises the log-loss of out-of-fold
/// predictions, so that a confidence of 0.8 means right about 80 % of the time
/// on texts the model has not seen.
fn fit_temperature(
    classes: &[String],
    texts: &[TrainingText],
    segmented: &[Segmented],
    labels: &[usize],
    ignore: &crate::WordSet,
    params: &TrainParams,
) -> f32 {
    let folds = params.calibration_folds;
    let mut held_out: Vec<(Vec<f32>, usize)> = Vec::new();
    for fold in 0..folds {
        let train: Vec<usize> = (0..texts.len()).filter(|i| i % folds != fold).collect();
        let model = fit(classes, texts, segmented, labels, &train, ignore, params);
        for i in (0..texts.len()).filter(|i| i % folds == fold) {
            let vector = model.vocab.vectorize(&segmented[i], &texts[i].text);
            held_out.push((model.raw_scores(&vector), labels[i]));
        }
    }
    let log_loss = |t: f32| -> f32 {
        held_out
            .iter()
            .map(|(scores, label)| {
                let mut p: Vec<f32> = scores.iter().map(|s| s / t).collect();
                softmax_in_place(&mut p);
                -(p[*label].max(1e-9)).ln()
            })
            .sum()
    };
    let mut best = (1.0, log_loss(1.0));
    let mut t = 0.3;
    while t <= 4.0 {
        let loss = log_loss(t);
        if loss < best.1 {
            best = (t, loss);
        }
        t += 0.05;
    }
    best.0
}
