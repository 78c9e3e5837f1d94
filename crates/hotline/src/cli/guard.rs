//! Opening the store for one command, and shutting it down on every path: success, error, early return, panic.
//!
//! A command that returned with `?` between opening the store and calling
//! `Store::shutdown` used to skip it: the writer and index threads not
//! joined, the index not committed, sled not flushed. Every command now
//! opens the store through [`with_store`] or [`with_state`], or hands an
//! open store to [`shut_down_after`].

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use hotline_store::Store;

use crate::app::AppState;
use crate::config::Config;

/// Runs `f` on `store`, then shuts the store down whatever `f` did: returned
/// a value, an error, or panicked (the panic goes on after the shutdown).
/// `f`'s error is the one returned; a shutdown error after it is printed on
/// standard error, so neither hides the other. A shutdown error after a
/// success is the error returned.
pub fn shut_down_after<T>(store: &Store, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
    let outcome = catch_unwind(AssertUnwindSafe(|| f(store)));
    let closed = store.shutdown().context("shutting the store down");
    match (outcome, closed) {
        (Ok(Ok(value)), Ok(())) => Ok(value),
        (Ok(Ok(_)), Err(closing)) => Err(closing),
        (Ok(Err(e)), Ok(())) => Err(e),
        (Ok(Err(e)), Err(closing)) => {
            eprintln!("error: {closing:#}");
            Err(e)
        }
        (Err(panic), closed) => {
            if let Err(closing) = closed {
                eprintln!("error: {closing:#}");
            }
            resume_unwind(panic)
        }
    }
}

/// Opens the store in `data_dir` alone (no analyzer: counting and reading
/// route nothing), runs `f` on it and shuts it down ([`shut_down_after`]).
pub fn with_store<T>(
    config: &Config,
    data_dir: &Path,
    f: impl FnOnce(&Store) -> Result<T>,
) -> Result<T> {
    let store = Store::open(data_dir, config.store.clone())
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    shut_down_after(&store, f)
}

/// Loads the analyzer and opens the store in `data_dir` as
/// [`AppState::open`] does, runs `f` on the engine and shuts the store down
/// ([`shut_down_after`]), also when opening the token and audit trees fails.
pub fn with_state<T>(
    config: Config,
    data_dir: &Path,
    f: impl FnOnce(&AppState) -> Result<T>,
) -> Result<T> {
    let analyzer = crate::engine::build_analyzer_in(&config, data_dir)?;
    let store = Store::open(data_dir, config.store.clone())
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    shut_down_after(&store, |store| {
        let state = AppState::new(Arc::new(analyzer), store.clone(), Arc::new(config))?;
        f(&state)
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use hotline_store::{
        Error, Kind, NewTicket, StoreConfig, TopicAssignment, TopicSource, Urgency,
    };

    use super::*;

    fn ticket() -> NewTicket {
        NewTicket {
            external_id: Some("guard-1".into()),
            received_at: None,
            channel: "phone".into(),
            kind: Kind::Complaint,
            urgency: Urgency::General,
            title: None,
            text: "楼道灯坏了".into(),
            caller_name: None,
            caller_phone: None,
            address: None,
            district: None,
            street: None,
            topic: TopicAssignment {
                slug: "other".into(),
                source: TopicSource::Router,
                confidence: None,
                model: None,
            },
            department: "d".into(),
            deciding_words: Vec::new(),
            index_tokens: "楼道 灯".into(),
            history: Vec::new(),
        }
    }

    fn open(dir: &Path) -> Store {
        Store::open(dir, StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A shut-down store refuses writes: its writer is gone.
    fn is_shut_down(store: &Store) -> bool {
        matches!(store.submit(vec![ticket()]), Err(Error::Closed))
    }

    #[test]
    fn the_store_is_shut_down_after_success_error_and_panic() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));

        let store = open(&tmp.path().join("ok"));
        let ran = Cell::new(false);
        let value = shut_down_after(&store, |s| {
            ran.set(true);
            assert!(!is_shut_down(s), "open while the command runs");
            Ok(7)
        });
        assert_eq!(value.ok(), Some(7));
        assert!(ran.get());
        assert!(is_shut_down(&store));

        let store = open(&tmp.path().join("err"));
        let failed: Result<()> = shut_down_after(&store, |_| anyhow::bail!("the command failed"));
        let message = format!(
            "{:#}",
            failed.err().unwrap_or_else(|| anyhow::anyhow!("Ok"))
        );
        assert_eq!(
            message, "the command failed",
            "the command's error, not hidden"
        );
        assert!(is_shut_down(&store));

        let store = open(&tmp.path().join("panic"));
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            shut_down_after(&store, |_| -> Result<()> { panic!("the command panicked") })
        }));
        assert!(panicked.is_err(), "the panic goes on");
        assert!(is_shut_down(&store));
    }

    #[test]
    fn a_store_already_shut_down_is_no_error() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        // `serve` shuts the store down itself before the guard does.
        let value = shut_down_after(&store, |s| {
            s.shutdown()?;
            Ok("served")
        });
        assert_eq!(value.ok(), Some("served"));
    }
}
