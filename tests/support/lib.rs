//! Shared helpers for the integration tests: one trained analyzer per test
//! binary, temporary stores, tickets.

use std::sync::{Arc, OnceLock};

use hotline::config::Config;
use hotline::AppState;
use hotline_classifier::Analyzer;
use hotline_store::Store;

/// The default analyzer, trained once per test process.
pub fn analyzer() -> Arc<Analyzer> {
    static ANALYZER: OnceLock<Arc<Analyzer>> = OnceLock::new();
    ANALYZER
        .get_or_init(|| {
            let config = Config::load(None).expect("built-in config");
            Arc::new(hotline::engine::build_analyzer(&config).expect("built-in analyzer"))
        })
        .clone()
}

/// An engine over a fresh store in `dir`.
pub fn state_in(dir: &std::path::Path) -> AppState {
    state_with(dir, |_| {})
}

/// An engine over a fresh store in `dir`, with the configuration adjusted
/// first (as `hotline import` sets its bulk-load options).
pub fn state_with(dir: &std::path::Path, adjust: impl FnOnce(&mut Config)) -> AppState {
    let mut config = Config::load(None).expect("built-in config");
    adjust(&mut config);
    let store = Store::open(dir, config.store.clone()).expect("store opens");
    AppState::new(analyzer(), store, Arc::new(config)).expect("token and audit trees open")
}

/// A new API token of `role` ("operator", "supervisor" or "admin"), with or
/// without personal data, limited to `district` when given; returns its secret.
pub fn token(state: &AppState, role: &str, pii: bool, district: Option<&str>) -> String {
    let new = hotline_store::NewToken {
        name: format!("test-{role}"),
        role: hotline_store::Role::parse(role).expect("a role"),
        pii,
        district: district.map(str::to_owned),
    };
    state.tokens.create(new).expect("token created").1
}
