//! `hotline model show|rollback` (the models installed in the data directory) and `hotline reroute` (the model in use applied to stored decisions).

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;

use super::guard::with_state;
use crate::config::Config;
use crate::engine;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// The model in use: installed (with the versions before it) or built-in.
    Show,
    /// Go back to the model installed before the current one (the built-in
    /// model after the first); a running server loads it on POST /api/v1/model/reload or SIGHUP.
    Rollback,
}

#[derive(Debug, clap::Args)]
pub struct RerouteArgs {
    /// First day of receipt (YYYY-MM-DD).
    #[arg(long)]
    from: Option<chrono::NaiveDate>,
    /// Last day of receipt (YYYY-MM-DD).
    #[arg(long)]
    to: Option<chrono::NaiveDate>,
    /// Only tickets now routed to this topic (slug).
    #[arg(long)]
    topic: Option<String>,
    /// Print the summary as one JSON object (and no progress).
    #[arg(long)]
    json: bool,
}

/// `hotline model show` and `hotline model rollback`.
pub fn model(config: &Config, data_dir: &Path, action: ModelCommand) -> Result<()> {
    let registry = crate::models::ModelRegistry::new(data_dir);
    match action {
        ModelCommand::Show => {
            let installed = registry.installed()?;
            let analyzer = engine::build_analyzer_in(config, data_dir)?;
            let model = analyzer.router().model();
            let source = if !config.router.model.as_os_str().is_empty() {
                format!("the file {}", config.router.model.display())
            } else if installed.is_empty() {
                "built-in".to_owned()
            } else {
                format!("installed in {}", data_dir.join("models").display())
            };
            println!("model {} ({source})", model.version());
            if let Some(info) = model.info() {
                println!(
                    "trained on {} examples, taxonomy {}, fingerprint {}",
                    info.examples, info.taxonomy_year, info.fingerprint
                );
                for e in &info.evaluation {
                    println!(
                        "  {}: {} rows, macro-F1 {:.3}, routed precision {:.3}, recall {:.3}",
                        e.data, e.rows, e.macro_f1, e.routed_precision, e.routed_recall
                    );
                }
            }
            if installed.len() > 1 {
                println!(
                    "installed before it: {}",
                    installed[..installed.len() - 1].join(", ")
                );
            }
        }
        ModelCommand::Rollback => match registry.rollback()? {
            Some(version) => println!("model {version} is current again"),
            None => println!("the built-in model is current again"),
        },
    }
    Ok(())
}

/// `hotline reroute`: through [`crate::reroute::run`], with progress.
pub fn reroute(config: Config, data_dir: &Path, args: RerouteArgs) -> Result<()> {
    let RerouteArgs {
        from,
        to,
        topic,
        json,
    } = args;
    let summary = with_state(config, data_dir, |state| {
        let progress = crate::progress::Progress::new(
            json,
            std::time::Duration::from_secs(5),
            "tickets checked",
        );
        let filter = crate::reroute::RerouteFilter { from, to, topic };
        let summary = crate::reroute::run(state, &filter, |n| progress.set(n));
        progress.finish();
        summary
    })?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "model {}: {} decisions of older models checked, {} changed; {} topics given by people left alone",
            summary.model, summary.checked, summary.changed, summary.left_to_people
        );
        for (movement, n) in &summary.moves {
            println!("  {movement}: {n}");
        }
    }
    Ok(())
}
