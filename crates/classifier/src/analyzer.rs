//! `Analyzer`: the segmenter, the router and the gazetteer together, one segmentation per ticket (`Analysis`).

use serde::Serialize;

use crate::district::{DistrictMatch, Gazetteer};
use crate::error::Result;
use crate::model::{Example, Model, TrainParams};
use crate::provenance::ModelInfo;
use crate::router::{Router, RouterConfig, Routing};
use crate::segment::{Segmented, Segmenter};
use crate::street::StreetMatch;
use crate::taxonomy::Taxonomy;

/// Everything the engine learns from a ticket's words, computed once.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// Title and text as one string, the form that was segmented.
    #[serde(skip)]
    pub full_text: String,
    #[serde(skip)]
    pub segmented: Segmented,
    pub routing: Routing,
    pub district: Option<DistrictMatch>,
    /// The 街道 / 乡镇, in agreement with `district` (see `street.rs`).
    pub street: Option<StreetMatch>,
}

/// The configuration texts an analyzer is built from.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzerSources<'a> {
    pub taxonomy: &'a str,
    pub domain_dict: &'a str,
    pub stopwords: &'a str,
    pub gazetteer: &'a str,
    /// The street gazetteer (街道 / 乡镇); empty for none. Not part of a
    /// model's fingerprint: streets neither segment nor route.
    pub streets: &'a str,
    pub hmm: bool,
}

/// Segmenter, router and gazetteer together: one per process, shared.
#[derive(Debug)]
pub struct Analyzer {
    segmenter: Segmenter,
    router: Router,
    gazetteer: Gazetteer,
}

/// Parses the configuration texts and prepares a segmenter that knows the
/// longer place names. Two-character names are left to jieba's dictionary:
/// forcing them in splits ordinary words (上地 in 坐上地铁). Seed words are not
/// added either: many are phrases (电动车充电) that would swallow real words.
pub fn prepare(sources: &AnalyzerSources<'_>) -> Result<(Taxonomy, Segmenter, Gazetteer)> {
    let taxonomy = Taxonomy::from_toml_str("taxonomy", sources.taxonomy)?;
    let mut gazetteer = Gazetteer::from_toml_str("gazetteer", sources.gazetteer)?;
    if !sources.streets.trim().is_empty() {
        gazetteer = gazetteer.with_streets("street gazetteer", sources.streets)?;
    }
    let mut segmenter = Segmenter::new(sources.domain_dict, sources.stopwords, sources.hmm)?;
    segmenter.add_words(gazetteer.names().filter(|n| n.chars().count() >= 3));
    Ok((taxonomy, segmenter, gazetteer))
}

/// Place names do not sway routing: a topic is not more likely in 朝阳 than in 海淀.
/// Nor do the names of administrative units on their own (市, 县, 镇 …),
/// which an anonymised place (A市, K7县) leaves behind after segmentation.
fn ignored_words(gazetteer: &Gazetteer) -> crate::WordSet {
    const UNITS: [&str; 8] = ["省", "市", "县", "区", "镇", "乡", "村", "州"];
    gazetteer
        .names()
        .map(str::to_owned)
        .chain(UNITS.iter().map(|u| (*u).to_owned()))
        .collect()
}

impl Analyzer {
    /// Builds an analyzer, training its model on `examples`.
    pub fn train(
        sources: &AnalyzerSources<'_>,
        examples: &[Example],
        params: &TrainParams,
        config: RouterConfig,
    ) -> Result<Self> {
        let (taxonomy, segmenter, gazetteer) = prepare(sources)?;
        let ignore = ignored_words(&gazetteer);
        let mut model = Model::train(&taxonomy, &segmenter, examples, &ignore, params)?;
        model.set_info(ModelInfo::new(sources, taxonomy.year, examples, params));
        let router = Router::new(taxonomy, model, config);
        Ok(Analyzer {
            segmenter,
            router,
            gazetteer,
        })
    }

    /// Builds an analyzer around a model saved by `Model::to_json`.
    pub fn with_model(
        sources: &AnalyzerSources<'_>,
        model_json: &str,
        config: RouterConfig,
    ) -> Result<Self> {
        let (taxonomy, segmenter, gazetteer) = prepare(sources)?;
        let model = Model::from_json(model_json, &taxonomy)?;
        let router = Router::new(taxonomy, model, config);
        Ok(Analyzer {
            segmenter,
            router,
            gazetteer,
        })
    }

    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The model, to attach what was measured of it before saving.
    pub fn model_mut(&mut self) -> &mut Model {
        self.router.model_mut()
    }

    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    pub fn taxonomy(&self) -> &Taxonomy {
        self.router.taxonomy()
    }

    /// Segments the ticket once and routes it.
    pub fn analyze(&self, title: Option<&str>, text: &str) -> Analysis {
        self.analyze_at(title, text, None)
    }

    /// The same, with the ticket's address: its district and street are
    /// looked for in the address first, then in the text.
    pub fn analyze_at(&self, title: Option<&str>, text: &str, address: Option<&str>) -> Analysis {
        let full_text = full_text(title, text);
        let segmented = self.segmenter.segment(&full_text);
        let routing = self.router.route(&segmented, &full_text);
        let (district, street) = self.gazetteer.detect_place(address, &full_text);
        Analysis {
            full_text,
            segmented,
            routing,
            district,
            street,
        }
    }
}

/// What is analysed of a ticket: the title, when there is one, read before
/// the text, as a supervisor would.
pub fn full_text(title: Option<&str>, text: &str) -> String {
    match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(title) => format!("{title}\n{text}"),
        None => text.to_owned(),
    }
}
