//! Turning a ticket's Chinese text into a routing decision.
//!
//! This crate is pure computation: it never touches the file system, the
//! network or a clock. Callers hand it the text of its configuration files
//! (taxonomy, dictionaries, gazetteer, corpus) and it hands back values, so
//! the same inputs always give the same routing.

mod analyzer;
mod bootstrap;
mod district;
mod error;
mod eval;
mod features;
mod lbfgs;
mod model;
mod provenance;
mod router;
mod segment;
mod street;
mod taxonomy;
mod weights;

/// A set of words (place names to ignore, stopwords): Fx-hashed, as it is
/// probed for every word of every ticket.
pub type WordSet = rustc_hash::FxHashSet<String>;

pub use analyzer::{full_text, prepare, Analysis, Analyzer, AnalyzerSources};
pub use bootstrap::{Change, Delta, Interval, Intervals, RESAMPLES};
pub use district::{DistrictMatch, Gazetteer, MatchKind};
pub use error::{Error, Result};
pub use eval::{
    compare, evaluate, fit_calibration, parse_labelled, Comparison, EvalReport, LabelledRow,
    ReliabilityBin, TopicScore,
};
pub use model::{Example, Model, TrainParams};
pub use provenance::{fingerprint, version_of, ModelEvaluation, ModelInfo};
pub use router::{logit, Calibration, Router, RouterConfig, Routing, ScoredTopic};
pub use segment::{Segmented, Segmenter, Token};
pub use street::{Located, StreetMatch, STREET_SUFFIXES};
pub use taxonomy::{Taxonomy, Topic, OTHER};
