//! Store settings (`StoreConfig`), from the configuration, and their validation.

use serde::{Deserialize, Serialize};

use crate::counters::Deadlines;
use crate::error::Result;
use crate::stats::RateConfig;

/// Store settings, from the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub deadlines: Deadlines,
    pub rates: RateConfig,
    /// A ticket from the same caller (phone) in the same district, on the
    /// same topic or with the same text, within this many days of an open
    /// one is a repeat.
    pub repeat_window_days: u32,
    /// The index commits after this many changes ...
    pub index_commit_docs: usize,
    /// ... or this long after the first uncommitted change.
    pub index_commit_ms: u64,
    /// Set by `hotline import`, not by configuration: index commits once a
    /// second and defers segment merges.
    #[serde(skip)]
    pub bulk_load: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            deadlines: Deadlines::default(),
            rates: RateConfig::default(),
            repeat_window_days: 30,
            index_commit_docs: 20_000,
            index_commit_ms: 500,
            bulk_load: false,
        }
    }
}

impl StoreConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.deadlines.validate()?;
        self.rates.validate()?;
        if self.index_commit_ms == 0 || self.index_commit_ms > 1000 {
            return Err(
                "index_commit_ms must be within 1..=1000 (a ticket is searchable within a second)"
                    .into(),
            );
        }
        if self.index_commit_docs == 0 {
            return Err("index_commit_docs must be positive".into());
        }
        Ok(())
    }
}
