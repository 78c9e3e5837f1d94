//! Building the process-wide analyzer from the configuration.

use anyhow::{Context, Result};
use hotline_classifier::{
    fingerprint, parse_labelled, Analyzer, AnalyzerSources, Example, TrainParams,
};

use crate::builtin;
use crate::config::Config;
use crate::models::ModelRegistry;
use std::path::Path;

/// The built-in training corpus, as examples.
pub fn builtin_examples() -> Result<Vec<Example>> {
    let mut examples = Vec::new();
    for (name, text) in builtin::CORPUS {
        let rows = parse_labelled(&format!("training/corpus/{name}"), text)?;
        examples.extend(rows.iter().map(|r| r.example()));
    }
    Ok(examples)
}

/// Reads every configured source and runs `f` with them borrowed.
pub fn with_sources<T>(
    config: &Config,
    f: impl FnOnce(&AnalyzerSources<'_>) -> Result<T>,
) -> Result<T> {
    let taxonomy = config.taxonomy_text()?;
    let domain_dict = Config::read_or_builtin(&config.segmenter.domain_dict, builtin::DOMAIN_DICT)?;
    let stopwords = Config::read_or_builtin(&config.segmenter.stopwords, builtin::STOPWORDS)?;
    let gazetteer = Config::read_or_builtin(&config.gazetteer.path, builtin::GAZETTEER)?;
    let streets = Config::read_or_builtin(&config.gazetteer.streets, builtin::STREETS)?;
    f(&AnalyzerSources {
        taxonomy: &taxonomy,
        domain_dict: &domain_dict,
        stopwords: &stopwords,
        gazetteer: &gazetteer,
        streets: &streets,
        hmm: config.segmenter.hmm,
    })
}

/// The analyzer for a data directory: the model installed there (`hotline
/// train --install`, see [`ModelRegistry`]) unless `router.model` names a
/// file, otherwise as [`build_analyzer`].
pub fn build_analyzer_in(config: &Config, data_dir: &Path) -> Result<Analyzer> {
    if config.router.model.as_os_str().is_empty() {
        if let Some((version, json)) = ModelRegistry::new(data_dir).current()? {
            let decision = config.router.decision.clone();
            return with_sources(config, |sources| {
                Analyzer::with_model(sources, &json, decision)
                    .with_context(|| format!("the installed model {version} (`hotline model rollback` goes back to the one before)"))
            });
        }
    }
    build_analyzer(config)
}

/// Where [`build_analyzer_in`] takes the model from: `file` (`router.model`),
/// `installed` (the data directory's registry) or `built-in`.
pub fn model_source(config: &Config, data_dir: &Path) -> Result<&'static str> {
    Ok(if !config.router.model.as_os_str().is_empty() {
        "file"
    } else if ModelRegistry::new(data_dir).installed()?.is_empty() {
        "built-in"
    } else {
        "installed"
    })
}

/// The analyzer the configuration asks for: a saved model when one is
/// configured, otherwise the prebuilt default model (training/model/default.json,
/// compiled in) when it was trained on exactly these sources, the built-in
/// corpus and the default parameters. Only a configuration that changes the
/// taxonomy or the dictionaries pays for training at start.
pub fn build_analyzer(config: &Config) -> Result<Analyzer> {
    let decision = config.router.decision.clone();
    with_sources(config, |sources| {
        if !config.router.model.as_os_str().is_empty() {
            let path = &config.router.model;
            let json = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read model {}", path.display()))?;
            return Analyzer::with_model(sources, &json, decision)
                .with_context(|| format!("model {}", path.display()));
        }
        let examples = builtin_examples()?;
        let params = TrainParams::default();
        let wanted = fingerprint(sources, &examples, &params);
        if let Ok(analyzer) =
            Analyzer::with_model(sources, builtin::DEFAULT_MODEL, decision.clone())
        {
            let model = analyzer.router().model();
            if model.info().is_some_and(|info| info.fingerprint == wanted) {
                tracing::debug!(version = model.version(), "prebuilt model loaded");
                return Ok(analyzer);
            }
        }
        tracing::info!(
            "the configured taxonomy or dictionaries differ from the prebuilt model's: training from the built-in corpus (save it with `hotline train --builtin` and set router.model)"
        );
        let started = std::time::Instant::now();
        let analyzer = Analyzer::train(sources, &examples, &params, decision)
            .context("training the built-in model")?;
        tracing::info!(
            examples = examples.len(),
            ms = started.elapsed().as_millis() as u64,
            "model trained"
        );
        Ok(analyzer)
    })
}
