//! Training a router from the center's own tickets: the labels the store
//! holds (topics read from imported files, operators' overrides), a held-out
//! split, the comparison with the model in use, and the decision to install.

use std::path::Path;

use anyhow::{Context, Result};
use hotline_classifier::{
    evaluate, Analyzer, EvalReport, Example, LabelledRow, ModelEvaluation, TrainParams,
};
use hotline_store::{Store, TopicSource};

use crate::config::Config;
use crate::engine;
use crate::models::ModelRegistry;

/// Labelled tickets from the store, split by ticket id.
#[derive(Debug, Default)]
pub struct StoreLabels {
    pub train: Vec<LabelledRow>,
    pub held_out: Vec<LabelledRow>,
    pub imported: usize,
    pub overridden: usize,
}

/// One ticket in five, chosen by its id (stable across runs), is held out.
fn held_out(id: &uuid::Uuid) -> bool {
    id.as_bytes()[15].is_multiple_of(5)
}

/// Every ticket whose topic a person gave: read from an imported file that
/// had a topic column, or set by an operator over the router. Texts are
/// masked first, so no caller's name or number becomes a model word.
pub fn store_labels(store: &Store) -> Result<StoreLabels> {
    let mut labels = StoreLabels::default();
    for ticket in store.tickets() {
        let mut ticket = ticket.context("reading the store's tickets")?;
        match ticket.topic.source {
            TopicSource::Imported => labels.imported += 1,
            TopicSource::Operator => labels.overridden += 1,
            TopicSource::Router => continue,
        }
        crate::pii::mask_ticket(&mut ticket);
        let row = LabelledRow {
            title: ticket.title.clone(),
            text: ticket.text.clone(),
            topic: ticket.topic.slug.clone(),
            district: None,
            confidence: None,
        };
        if held_out(&ticket.id) {
            labels.held_out.push(row);
        } else {
            labels.train.push(row);
        }
    }
    Ok(labels)
}

/// What a retraining decided, for printing.
#[derive(Debug)]
pub struct Comparison {
    /// (name of the labelled set, current model's report, new model's report).
    pub sets: Vec<(String, EvalReport, EvalReport)>,
    pub current_version: String,
    pub new_version: String,
}

impl Comparison {
    /// Not worse: on every set the new model's macro-F1 is at least the
    /// current one's (sets without rows do not count).
    pub fn not_worse(&self) -> bool {
        self.sets
            .iter()
            .filter(|(_, current, _)| current.rows > 0)
            .all(|(_, current, new)| new.macro_f1 + 1e-9 >= current.macro_f1)
    }
}

/// Trains on the built-in corpus, the store's training split and `extra`,
/// and compares the result with the model in use on the held-out split and
/// on each `eval` file.
pub fn train_and_compare(
    config: &Config,
    data_dir: &Path,
    labels: &StoreLabels,
    extra: &[Example],
    eval: &[(String, Vec<LabelledRow>)],
) -> Result<(Analyzer, Comparison)> {
    let mut examples = engine::builtin_examples()?;
    // Callers' tickets lend no word of their own to the model (see
    // `Example::private`); the built-in corpus and `extra` decide its words.
    examples.extend(labels.train.iter().map(|row| Example {
        private: true,
        ..row.example()
    }));
    examples.extend(extra.iter().cloned());
    let decision = config.router.decision.clone();
    let mut new = engine::with_sources(config, |sources| {
        Ok(Analyzer::train(
            sources,
            &examples,
            &TrainParams::default(),
            decision,
        )?)
    })?;
    let current = engine::build_analyzer_in(config, data_dir)?;
    let mut sets = vec![("held-out store tickets".to_owned(), labels.held_out.clone())];
    sets.extend(eval.iter().cloned());
    let mut compared = Vec::new();
    let mut evaluations = Vec::new();
    for (name, rows) in &sets {
        let before = evaluate(&current, rows);
        let after = evaluate(&new, rows);
        evaluations.push(ModelEvaluation {
            data: name.clone(),
            rows: after.rows,
            macro_f1: after.macro_f1,
            routed_precision: after.routed_precision,
            routed_recall: after.routed_recall,
            expected_calibration_error: after.expected_calibration_error,
        });
        compared.push((name.clone(), before, after));
    }
    let model = new.model_mut();
    if let Some(mut info) = model.info().cloned() {
        info.evaluation = evaluations;
        model.set_info(info);
    }
    let comparison = Comparison {
        sets: compared,
        current_version: current.router().model().version().to_owned(),
        new_version: new.router().model().version().to_owned(),
    };
    Ok((new, comparison))
}

/// Installs the new model in the data directory's registry.
pub fn install(data_dir: &Path, analyzer: &Analyzer) -> Result<()> {
    let model = analyzer.router().model();
    ModelRegistry::new(data_dir).install(model.version(), &model.to_json())
}

/// The comparison as a table: one block per labelled set.
pub fn print_comparison(c: &Comparison) {
    println!(
        "current model {}  →  new model {}",
        c.current_version, c.new_version
    );
    for (name, before, after) in &c.sets {
        println!("\n{name}: {} rows", after.rows);
        if after.rows == 0 {
            continue;
        }
        println!("{:<30} {:>9} {:>9}", "", "current", "new");
        let line = |label: &str, a: f64, b: f64| println!("{label:<30} {a:>9.3} {b:>9.3}");
        line("macro-F1", before.macro_f1, after.macro_f1);
        line(
            "routed precision",
            before.routed_precision,
            after.routed_precision,
        );
        line("routed recall", before.routed_recall, after.routed_recall);
        line(
            "calibration error",
            before.expected_calibration_error,
            after.expected_calibration_error,
        );
        for (slug, b) in &after.per_topic {
            if b.support == 0 {
                continue;
            }
            let a = before.per_topic.get(slug).map_or(0.0, |s| s.f1);
            line(&format!("F1 {slug} ({})", b.support), a, b.f1);
        }
    }
}
