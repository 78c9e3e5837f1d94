//! Configuration and data files compiled into the binary, so that the
//! defaults work from any directory on a fresh machine.

pub const DEFAULT_CONFIG: &str = include_str!("../../../config/default.toml");
pub const DOMAIN_DICT: &str = include_str!("../../../config/dict/domain.txt");
pub const STOPWORDS: &str = include_str!("../../../config/dict/stopwords.txt");
pub const GAZETTEER: &str = include_str!("../../../config/gazetteer/beijing.toml");
pub const STREETS: &str = include_str!("../../../config/gazetteer/beijing_streets.toml");

/// The default router model, trained on the built-in corpus with the
/// default sources (`hotline train --builtin --out training/model/default.json`);
/// a test checks that it still matches them.
pub const DEFAULT_MODEL: &str = include_str!("../../../training/model/default.json");

/// Built-in topic lists by year.
pub const TOPICS: &[(u16, &str)] = &[(2024, include_str!("../../../config/topics/2024.toml"))];

include!(concat!(env!("OUT_DIR"), "/corpus.rs"));
