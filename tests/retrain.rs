//! Learning from the center's own history: import labelled tickets, add
//! operators' overrides, `train --from-store`, install, roll back.

use std::path::Path;

use clap::Parser;
use hotline::cli::{run, Cli};

const PROBE: &str = "楼下街心花园每晚都有人开着大音响跳广场舞，吵得老人睡不着";

fn hotline(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let mut argv = vec!["hotline", "--data-dir"];
    let dir = dir.display().to_string();
    argv.push(&dir);
    argv.extend_from_slice(args);
    run(Cli::parse_from(argv))
}

/// Submits a ticket as an operator would; its id.
fn submit(state: &hotline::app::AppState, text: &str) -> uuid::Uuid {
    let input: hotline::intake::TicketInput =
        serde_json::from_value(serde_json::json!({"text": text, "kind": "投诉"}))
            .unwrap_or_else(|e| panic!("{e}"));
    let (ticket, _) = hotline::intake::prepare(state, input).unwrap_or_else(|e| panic!("{e:?}"));
    match state.store.submit(vec![ticket]).map(|mut s| s.pop()) {
        Ok(Some(hotline_store::Submitted::Created(t))) => t.id,
        other => panic!("{other:?}"),
    }
}

fn open_state(dir: &Path) -> hotline::app::AppState {
    let config = hotline::config::Config::load(None).unwrap_or_else(|e| panic!("{e:#}"));
    hotline::app::AppState::open(config, dir).unwrap_or_else(|e| panic!("{e:#}"))
}

fn routed(dir: &Path) -> (String, String) {
    let config = hotline::config::Config::load(None).unwrap_or_else(|e| panic!("{e:#}"));
    let analyzer =
        hotline::engine::build_analyzer_in(&config, dir).unwrap_or_else(|e| panic!("{e:#}"));
    let routing = analyzer.analyze(None, PROBE).routing;
    (
        routing.topic,
        analyzer.router().model().version().to_owned(),
    )
}

#[test]
fn a_model_trained_from_the_store_learns_the_centers_labels_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/import/history_labelled.csv"
    );
    let report = dir.path().join("rejects.tsv");
    hotline(
        &data,
        &["import", fixture, "--report", &report.display().to_string()],
    )
    .unwrap_or_else(|e| panic!("{e:#}"));

    let (before, builtin_version) = routed(&data);
    assert_ne!(
        before, "parks",
        "the built-in model already knows this; the test proves nothing"
    );

    // Operators correct three router decisions on tickets like the probe.
    let state = open_state(&data);
    let mut overridden = Vec::new();
    for text in [
        "街心花园里的音响从早放到晚，请管一管",
        "晚上街心花园跳舞的音响太大声了",
        "街心花园有人用音响放歌，吵得没法休息",
    ] {
        let ticket = submit(&state, text);
        let changed = state
            .store
            .set_topic(
                ticket,
                "parks",
                "市园林绿化局",
                Some("街心花园归园林管".into()),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        overridden.push(changed.id);
    }
    // Each override counts against the model and topic it corrected.
    let rows = state
        .store
        .router_decisions()
        .unwrap_or_else(|e| panic!("{e}"));
    let report = hotline::overrides::OverrideReport::from_rows(&rows, |_| true);
    let total = report.total(&builtin_version);
    assert_eq!((total.routed, total.overridden), (3, 3), "{report:?}");
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);
    hotline(&data, &["eval", "--from-store"]).unwrap_or_else(|e| panic!("{e:#}"));

    hotline(&data, &["train", "--from-store"]).unwrap_or_else(|e| panic!("{e:#}"));
    let installed = hotline::models::ModelRegistry::new(&data)
        .installed()
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(installed.len(), 1, "{installed:?}");
    let (after, new_version) = routed(&data);
    assert_eq!(after, "parks");
    assert_eq!(new_version, installed[0]);
    assert_ne!(new_version, builtin_version);

    // New tickets record the installed model's version.
    let state = open_state(&data);
    let id = submit(&state, PROBE);
    let ticket = state
        .store
        .get(id)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no ticket"));
    assert_eq!(ticket.topic.model.as_deref(), Some(new_version.as_str()));
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);

    hotline(&data, &["model", "rollback"]).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(routed(&data), (before, builtin_version));
    // Nothing to go back to after the built-in model.
    assert!(hotline(&data, &["model", "rollback"]).is_err());
}
