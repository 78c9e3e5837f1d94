//! The command line: the commands (clap) and `run`, which hands each to its one function.
//!
//! Each command's flags and code live in the file of its family; a command
//! that opens the store does it through [`guard`], which shuts the store down
//! on every path.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::app::AppState;
use crate::config::Config;

mod guard;
mod import;
mod maintenance;
mod model;
mod query;
mod queue;
mod routing;
mod serve;
mod tokens;

pub use guard::{shut_down_after, with_state, with_store};
pub use model::ModelCommand;
pub use tokens::TokenCommand;

#[derive(Debug, Parser)]
#[command(
    name = "hotline",
    version,
    about = "Routes 12345 hotline tickets to the year's governance topics, stores and searches them, and measures how they are handled."
)]
pub struct Cli {
    /// Configuration file overriding config/default.toml (only the keys it sets).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (overrides data.dir); created when missing.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Route one ticket's text (from the argument, or standard input).
    Classify(routing::ClassifyArgs),
    /// Train a router model from labelled JSONL files (fields `text`, `topic`, optional `title`).
    Train(routing::TrainArgs),
    /// The router models installed in the data directory.
    Model {
        #[command(subcommand)]
        action: ModelCommand,
    },
    /// Run the HTTP API and the dashboard until Ctrl-C or SIGTERM.
    Serve(serve::ServeArgs),
    /// Only generate the demo tickets into an empty store (see `serve --demo`).
    Demo,
    /// API tokens: create (the secret is printed once), list, revoke. The
    /// server must be stopped (it holds the store); while it runs, use the
    /// API's /api/v1/tokens with an admin token.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Import historical tickets (JSONL, CSV or XLSX), idempotent by external id.
    Import(import::ImportArgs),
    /// Rates and counts per topic, district or period.
    Stats(query::StatsArgs),
    /// The deadline queue: open tickets by time left (dispatch and feedback
    /// deadlines), with counts by state and department.
    Queue(queue::QueueArgs),
    /// Hot spots: district × topic bursts against their last eight weeks,
    /// and clusters of near-identical complaints at one address.
    Hotspots(queue::HotspotsArgs),
    /// Full-text search.
    Search(query::SearchArgs),
    /// One ticket with its events.
    Show { id: uuid::Uuid },
    /// Check the journal record by record against sled (reading only), then
    /// that the counters equal a recount and the index holds every ticket.
    /// Exits non-zero on any finding; never repairs anything.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Repair a damaged journal (the server must be stopped): keep its bytes
    /// aside, keep every readable record, rebuild sled and the index from
    /// them, and report exactly what was lost.
    Salvage {
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the search index from the store.
    Reindex,
    /// Apply the model in use to stored tickets the router decided (never to
    /// topics a person gave): each change is an event naming both models, and
    /// the counters move with it. Run it again after an interruption: it goes
    /// on where it stopped. The server must be stopped.
    Reroute(model::RerouteArgs),
    /// Rewrite the journal with one record per ticket (its latest version),
    /// dropping the older versions; the server must be stopped.
    Compact {
        #[arg(long)]
        json: bool,
    },
    /// Score the router on a labelled JSONL file, or (--from-store) count how
    /// often operators overrode it, per model version and topic.
    Eval(routing::EvalArgs),
    /// Fit `[router.calibration]` on labelled real messages the model was not trained on; prints the TOML lines
    Calibrate {
        #[arg(long)]
        data: PathBuf,
    },
}

/// Runs one command: the configuration is loaded, the data directory chosen,
/// and the command's own function does the rest.
pub fn run(cli: Cli) -> Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| config.data.dir.clone());
    let dir = data_dir.as_path();
    match cli.command {
        Command::Serve(args) => serve::serve(config, dir, args),
        Command::Demo => serve::demo(config, dir),
        Command::Token { action } => tokens::token(&config, dir, action),
        Command::Import(args) => import::import(config, dir, args),
        Command::Stats(args) => query::stats(&config, dir, args),
        Command::Queue(args) => queue::queue(&config, dir, args),
        Command::Hotspots(args) => queue::hotspots(&config, dir, args),
        Command::Search(args) => query::search(config, dir, args),
        Command::Show { id } => query::show(&config, dir, id),
        Command::Verify { json } => maintenance::verify(&config, dir, json),
        Command::Salvage { json } => maintenance::salvage(&config, dir, json),
        Command::Compact { json } => maintenance::compact(&config, dir, json),
        Command::Reindex => maintenance::reindex(config, dir),
        Command::Reroute(args) => model::reroute(config, dir, args),
        Command::Model { action } => model::model(&config, dir, action),
        Command::Classify(args) => routing::classify(&config, dir, args),
        Command::Train(args) => routing::train(&config, dir, args),
        Command::Calibrate { data } => routing::calibrate(&config, dir, &data),
        Command::Eval(args) => routing::eval(&config, dir, args),
    }
}

/// A `--district` filter as the gazetteer spells it (朝阳 → 朝阳区; an
/// unknown name is kept as given), without loading the analyzer: the
/// commands that read the store alone use it.
fn known_district_in(config: &Config, district: String) -> Result<String> {
    let text = Config::read_or_builtin(&config.gazetteer.path, crate::builtin::GAZETTEER)?;
    let gazetteer = hotline_classifier::Gazetteer::from_toml_str("gazetteer", &text)?;
    Ok(match gazetteer.canonical(&district) {
        Some(known) => known.to_owned(),
        None => district,
    })
}

/// [`known_district_in`] for a command that has loaded the analyzer.
fn known_district(state: &AppState, district: String) -> String {
    match state.analyzer().gazetteer().canonical(&district) {
        Some(known) => known.to_owned(),
        None => district,
    }
}

/// An optional `--district` filter through [`known_district_in`].
fn district_filter(config: &Config, district: Option<String>) -> Result<Option<String>> {
    district.map(|d| known_district_in(config, d)).transpose()
}
