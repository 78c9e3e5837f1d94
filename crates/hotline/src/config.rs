//! The configuration file: parsed strictly, validated once.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hotline_classifier::RouterConfig;
use hotline_store::StoreConfig;
use serde::Deserialize;

use crate::builtin;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub taxonomy: TaxonomySection,
    pub segmenter: SegmenterSection,
    pub gazetteer: GazetteerSection,
    pub router: RouterSection,
    pub data: DataSection,
    pub store: StoreConfig,
    pub server: ServerSection,
    pub export: ExportSection,
    pub import: ImportSection,
    pub demo: DemoSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSection {
    /// Most bytes an XLSX file may decompress to.
    pub xlsx_max_uncompressed_bytes: u64,
    /// Most cells an XLSX file may hold.
    pub xlsx_max_cells: u64,
}

impl ImportSection {
    /// The readers' caps.
    pub fn limits(&self) -> hotline_readers::Limits {
        hotline_readers::Limits {
            xlsx_max_uncompressed_bytes: self.xlsx_max_uncompressed_bytes,
            xlsx_max_cells: self.xlsx_max_cells,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportSection {
    /// Most rows a search export holds (all pages up to it).
    pub max_rows: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSection {
    /// How many tickets `--demo` generates into an empty store.
    pub tickets: usize,
    /// The generator's seed: the same seed gives the same tickets.
    pub seed: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub listen: String,
    pub max_body_bytes: usize,
    pub max_text_chars: usize,
    pub max_in_flight: usize,
    /// Most of `max_in_flight` that the requests with a body (submissions,
    /// events, classification...) of one token may hold at once.
    pub max_in_flight_per_token: usize,
    /// The whole body of a request must arrive within this, or 408.
    pub body_read_timeout_ms: u64,
    /// A request's headers must arrive within this; a kept-alive connection
    /// waits this long for its next request.
    pub header_read_timeout_ms: u64,
    /// Connections open at once (lowered to fit the open-file limit).
    pub max_connections: usize,
    /// The deepest search result paging may reach (page × per_page).
    pub max_result_depth: usize,
    /// How many days before now a submitted ticket's `received_at` may lie
    /// (older tickets come in through `hotline import`).
    pub max_backdate_days: u32,
    /// Submissions carrying a caller's phone, per minute, of one token
    /// without `pii` (0: no limit); see [`crate::phone_quota`].
    pub phone_submissions_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomySection {
    pub year: u16,
    pub topics_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmenterSection {
    pub domain_dict: PathBuf,
    pub stopwords: PathBuf,
    pub hmm: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GazetteerSection {
    pub path: PathBuf,
    /// The 街道 / 乡镇 list; empty for the built-in one.
    #[serde(default)]
    pub streets: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSection {
    #[serde(flatten)]
    pub decision: RouterConfig,
    pub model: PathBuf,
}

/// Merges `overlay` into `base`, table by table, so a user file may set only
/// the keys it changes.
fn merge(base: &mut toml::Value, overlay: toml::Value) {
    match (base, overlay) {
        (toml::Value::Table(base), toml::Value::Table(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

impl Config {
    /// The built-in defaults, overlaid with `path` when given.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let mut value: toml::Value =
            toml::from_str(builtin::DEFAULT_CONFIG).context("built-in config/default.toml")?;
        if let Some(path) = path {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let overlay: toml::Value = toml::from_str(&text)
                .with_context(|| format!("{}: not valid TOML", path.display()))?;
            merge(&mut value, overlay);
        }
        let where_ = path.map_or_else(
            || "built-in defaults".to_owned(),
            |p| p.display().to_string(),
        );
        let config: Config = value
            .try_into()
            .with_context(|| format!("{where_}: invalid configuration"))?;
        config
            .validate()
            .with_context(|| format!("{where_}: invalid configuration"))?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let r = &self.router.decision;
        if !(0.0..=1.0).contains(&r.min_confidence) {
            bail!(
                "router.min_confidence must be within [0, 1], got {}",
                r.min_confidence
            );
        }
        if !(r.topic_threshold > 0.0 && r.topic_threshold <= 1.0) {
            bail!(
                "router.topic_threshold must be within (0, 1], got {}",
                r.topic_threshold
            );
        }
        let c = &r.calibration;
        if [
            c.topic_slope,
            c.topic_intercept,
            c.other_slope,
            c.other_intercept,
        ]
        .iter()
        .any(|v| !v.is_finite() || v.abs() > 100.0)
        {
            bail!("router.calibration: every slope and intercept must be a finite number within [-100, 100]");
        }
        if !r.other_bias.is_finite() || r.other_bias.abs() > 20.0 {
            bail!(
                "router.other_bias must be a finite number within [-20, 20], got {}",
                r.other_bias
            );
        }
        if r.explain_words == 0 || r.explain_words > 50 {
            bail!(
                "router.explain_words must be within 1..=50, got {}",
                r.explain_words
            );
        }
        self.store
            .validate()
            .map_err(|m| anyhow::anyhow!("store: {m}"))?;
        if self.server.max_in_flight == 0 {
            bail!("server.max_in_flight must be positive");
        }
        if self.server.max_in_flight_per_token == 0
            || self.server.max_in_flight_per_token > self.server.max_in_flight
        {
            bail!(
                "server.max_in_flight_per_token must be within 1..=server.max_in_flight ({}), got {}",
                self.server.max_in_flight,
                self.server.max_in_flight_per_token
            );
        }
        if !(100..=600_000).contains(&self.server.body_read_timeout_ms) {
            bail!(
                "server.body_read_timeout_ms must be within 100..=600000, got {}",
                self.server.body_read_timeout_ms
            );
        }
        if !(100..=600_000).contains(&self.server.header_read_timeout_ms) {
            bail!(
                "server.header_read_timeout_ms must be within 100..=600000, got {}",
                self.server.header_read_timeout_ms
            );
        }
        if !(16..=1_000_000).contains(&self.server.max_connections) {
            bail!(
                "server.max_connections must be within 16..=1000000, got {}",
                self.server.max_connections
            );
        }
        if !(1..=36_500).contains(&self.server.max_backdate_days) {
            bail!(
                "server.max_backdate_days must be within 1..=36500, got {}",
                self.server.max_backdate_days
            );
        }
        if self.server.phone_submissions_per_minute > 1_000_000 {
            bail!(
                "server.phone_submissions_per_minute must be within 0..=1000000, got {}",
                self.server.phone_submissions_per_minute
            );
        }
        if !(100..=1_000_000).contains(&self.server.max_result_depth) {
            bail!(
                "server.max_result_depth must be within 100..=1000000, got {}",
                self.server.max_result_depth
            );
        }
        if self.server.max_body_bytes < 1024 || self.server.max_text_chars == 0 {
            bail!("server.max_body_bytes must be at least 1024 and server.max_text_chars positive");
        }
        if !(1..=100_000).contains(&self.export.max_rows) {
            bail!(
                "export.max_rows must be within 1..=100000, got {}",
                self.export.max_rows
            );
        }
        if !(1 << 20..=1 << 40).contains(&self.import.xlsx_max_uncompressed_bytes) {
            bail!(
                "import.xlsx_max_uncompressed_bytes must be within 1 MiB and 1 TiB, got {}",
                self.import.xlsx_max_uncompressed_bytes
            );
        }
        if !(1_000..=2_000_000_000).contains(&self.import.xlsx_max_cells) {
            bail!(
                "import.xlsx_max_cells must be within 1000..=2000000000, got {}",
                self.import.xlsx_max_cells
            );
        }
        if !(1..=100_000).contains(&self.demo.tickets) {
            bail!(
                "demo.tickets must be within 1..=100000, got {}",
                self.demo.tickets
            );
        }
        Ok(())
    }

    /// Reads a configured file, or returns the built-in text when the path is empty.
    pub fn read_or_builtin(
        path: &Path,
        builtin: &'static str,
    ) -> Result<std::borrow::Cow<'static, str>> {
        if path.as_os_str().is_empty() {
            return Ok(builtin.into());
        }
        std::fs::read_to_string(path)
            .map(Into::into)
            .with_context(|| format!("cannot read {}", path.display()))
    }

    pub fn taxonomy_text(&self) -> Result<std::borrow::Cow<'static, str>> {
        let year = self.taxonomy.year;
        if self.taxonomy.topics_dir.as_os_str().is_empty() {
            return match builtin::TOPICS.iter().find(|(y, _)| *y == year) {
                Some((_, text)) => Ok((*text).into()),
                None => bail!("no built-in topic list for {year}: set taxonomy.topics_dir to a directory with {year}.toml"),
            };
        }
        let path = self.taxonomy.topics_dir.join(format!("{year}.toml"));
        Ok(std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .into())
    }
}

#[cfg(test)]
mod tests {
    //! Deadlines by kind as a configuration file writes them, and the
    //! errors that name the key.

    use super::*;
    use hotline_store::{Kind, Urgency};

    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("hotline.toml");
        std::fs::write(&path, text)?;
        Config::load(Some(&path))
    }

    #[test]
    fn deadlines_by_kind_are_read_and_checked_naming_the_key() {
        let config = load("[store.deadlines.kinds.\"咨询\"]\nfeedback_general_hours = 24\n")
            .unwrap_or_else(|e| panic!("{e:#}"));
        let d = &config.store.deadlines;
        assert_eq!(d.feedback(Urgency::General, Kind::Consultation), 24.0);
        assert_eq!(d.feedback(Urgency::General, Kind::Complaint), 168.0);
        assert!(Config::load(None)
            .unwrap_or_else(|e| panic!("{e:#}"))
            .store
            .deadlines
            .kinds
            .is_empty());
        for (text, says) in [
            (
                "[store.deadlines.kinds.\"咨讯\"]\nfeedback_general_hours = 24\n",
                "store: deadlines.kinds.咨讯: not a kind",
            ),
            (
                "[store.deadlines.kinds.\"投诉\"]\nfeedback_general_hours = 0\n",
                "store: deadlines.kinds.投诉.feedback_general_hours must be a positive number of hours",
            ),
            (
                "[store.deadlines.kinds.\"投诉\"]\nfeedback_general_hour = 24\n",
                "unknown field `feedback_general_hour`",
            ),
        ] {
            let error = format!("{:#}", load(text).err().unwrap_or_else(|| panic!("{text}")));
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
