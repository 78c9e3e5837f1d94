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
    // Tests replay 2024's tickets through the API and submit many callers'
    // phones a second: the two fences against probing for masked phones
    // (server.max_backdate_days, server.phone_submissions_per_minute) are
    // open unless a test sets them, as tests/attack.rs does with the shipped
    // values.
    config.server.max_backdate_days = 36_500;
    config.server.phone_submissions_per_minute = 0;
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
    state
        .tokens
        .create(new, hotline_store::Issuer::Local)
        .expect("token created")
        .1
}

/// A real server on 127.0.0.1:0 over a fresh data directory.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub root: String,
    /// `{root}/api/v1`
    pub base: String,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts a server with the configuration adjusted first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config) + Send + 'static) -> TestServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        TestServer::start_in(dir, adjust).await
    }

    /// Starts a server over a data directory prepared beforehand (it is
    /// removed when the server is dropped).
    pub async fn start_in(
        dir: tempfile::TempDir,
        adjust: impl FnOnce(&mut Config) + Send + 'static,
    ) -> TestServer {
        let path = dir.path().to_owned();
        let state = tokio::task::spawn_blocking(move || state_with(&path, adjust))
            .await
            .expect("the store opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let root = format!("http://{}", listener.local_addr().expect("a local address"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        let task = tokio::spawn(async move {
            hotline::server::serve_on(serving, listener, async {
                let _ = rx.await;
            })
            .await
            .map_err(|e| e.to_string())
        });
        TestServer {
            base: format!("{root}/api/v1"),
            root,
            state,
            shutdown: Some(tx),
            task,
            _dir: dir,
        }
    }

    /// A new token (created in the store, as `hotline token create` does).
    pub async fn token(&self, role: &str, pii: bool, district: Option<&str>) -> String {
        let state = self.state.clone();
        let role = role.to_owned();
        let district = district.map(str::to_owned);
        tokio::task::spawn_blocking(move || token(&state, &role, pii, district.as_deref()))
            .await
            .expect("token task")
    }

    /// A client that sends `token` on every request.
    pub fn client(token: &str) -> reqwest::Client {
        Self::client_builder(token).build().expect("a client")
    }

    /// A client builder that sends `token` on every request.
    pub fn client_builder(token: &str) -> reqwest::ClientBuilder {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {token}").parse().expect("a header value");
        headers.insert(reqwest::header::AUTHORIZATION, value);
        reqwest::Client::builder().default_headers(headers)
    }

    /// Makes everything submitted so far searchable now.
    pub async fn commit(&self) {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || state.store.commit_index())
            .await
            .expect("commit task")
            .expect("index commit");
    }

    /// Stops the server the way Ctrl-C does and checks it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let result = (&mut self.task).await.expect("server task");
        assert_eq!(result, Ok(()), "the server stops cleanly");
    }
}
