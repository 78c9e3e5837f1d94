//! The engine as the server and the commands share it: one analyzer (jieba
//! loaded once), one store, the configuration; a cheap `Clone` handle.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use hotline_classifier::Analyzer;
use hotline_store::{AuditLog, PersonalKey, Store, TokenStore};

use crate::config::Config;
use crate::engine;

#[derive(Clone)]
pub struct AppState {
    /// The analyzer in use; replaced whole when a new model is loaded
    /// (`POST /api/v1/model/reload`, SIGHUP), so a request keeps the one it
    /// started with.
    analyzer: Arc<std::sync::RwLock<(Arc<Analyzer>, &'static str)>>,
    pub store: Store,
    pub config: Arc<Config>,
    /// API tokens (their own tree in the store).
    pub tokens: TokenStore,
    /// Who saw personal data, who searched or exported what.
    pub audit: AuditLog,
    /// The store's secret for the keyed hashes under which personal
    /// identifiers are indexed (see [`crate::intake::index_words`]).
    pub personal: PersonalKey,
    /// One permit per core for routing a ticket (the CPU-heavy part of a
    /// request): requests take turns in arrival order instead of all slowing
    /// down together when a burst arrives, which keeps the latency tail short.
    pub analysis_permits: Arc<tokio::sync::Semaphore>,
    /// Each token's share of the requests in flight (`server.max_in_flight_per_token`).
    pub intake: Arc<crate::limits::TokenShares>,
    /// Each token's quota of phone-bearing submissions without `pii`
    /// (`server.phone_submissions_per_minute`).
    pub phone_quota: Arc<crate::phone_quota::PhoneQuota>,
    /// Held while a model is trained in the server (`POST /api/v1/model/train`):
    /// one training at a time, a second is refused rather than queued.
    pub training: Arc<std::sync::Mutex<()>>,
    /// The latest reroute run in the server (`POST /api/v1/model/reroute`).
    pub reroute: Arc<std::sync::Mutex<Option<crate::reroute::RerouteJob>>>,
    /// "Now" for deadlines and hot spots: Beijing time, or fixed by a test.
    pub clock: crate::clock::Clock,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Loads the analyzer and opens the store in `data_dir`.
    pub fn open(config: Config, data_dir: &Path) -> Result<AppState> {
        let analyzer = engine::build_analyzer_in(&config, data_dir)?;
        let store = Store::open(data_dir, config.store.clone())
            .with_context(|| format!("opening the store in {}", data_dir.display()))?;
        // The store is shut down on this path too: a token or audit tree
        // that cannot be opened must not leave the writer and the index
        // without their final flush (as the CLI's `with_state` guard does).
        AppState::new(Arc::new(analyzer), store.clone(), Arc::new(config)).inspect_err(|_| {
            if let Err(closing) = store.shutdown() {
                tracing::warn!(error = %closing, "store shutdown after a failed open");
            }
        })
    }

    /// The engine over an open store (opens the token and audit trees).
    pub fn new(analyzer: Arc<Analyzer>, store: Store, config: Arc<Config>) -> Result<AppState> {
        let tokens = TokenStore::open(&store).context("opening the token tree")?;
        let audit = AuditLog::open(&store).context("opening the audit tree")?;
        let personal = PersonalKey::open(&store).context("opening the personal data key")?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(AppState {
            intake: crate::limits::TokenShares::new(config.server.max_in_flight_per_token),
            phone_quota: Arc::new(crate::phone_quota::PhoneQuota::new(
                config.server.phone_submissions_per_minute,
            )),
            analyzer: Arc::new(std::sync::RwLock::new((
                analyzer,
                engine::model_source(&config, store.dir())?,
            ))),
            store,
            config,
            tokens,
            audit,
            personal,
            analysis_permits: Arc::new(tokio::sync::Semaphore::new(cores)),
            training: Arc::default(),
            reroute: Arc::default(),
            clock: crate::clock::Clock::system(),
        })
    }

    /// The analyzer in use now.
    pub fn analyzer(&self) -> Arc<Analyzer> {
        self.loaded().0
    }

    /// The analyzer in use and where its model came from (see
    /// [`engine::model_source`]).
    pub fn loaded(&self) -> (Arc<Analyzer>, &'static str) {
        match self.analyzer.read() {
            Ok(current) => (Arc::clone(&current.0), current.1),
            // A panic while swapping cannot leave a half-written pair.
            Err(poisoned) => {
                let current = poisoned.into_inner();
                (Arc::clone(&current.0), current.1)
            }
        }
    }

    /// Builds the analyzer for the data directory again (the model installed
    /// there now, see [`crate::models`]) and puts it in use; requests
    /// already running finish with the old one. Blocking: about 0.1 s.
    pub fn reload_analyzer(&self) -> Result<Arc<Analyzer>> {
        let fresh = Arc::new(engine::build_analyzer_in(&self.config, self.store.dir())?);
        let loaded = (
            Arc::clone(&fresh),
            engine::model_source(&self.config, self.store.dir())?,
        );
        match self.analyzer.write() {
            Ok(mut current) => *current = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        tracing::info!(version = fresh.router().model().version(), "model loaded");
        Ok(fresh)
    }

    /// The lead department of a topic slug, if the slug is this year's.
    pub fn department(&self, slug: &str) -> Option<String> {
        self.analyzer()
            .taxonomy()
            .get(slug)
            .map(|t| t.department.clone())
    }
}
