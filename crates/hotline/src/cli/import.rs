//! `hotline import`: its flags, the bulk-load store, and the summary it prints.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::guard::with_state;
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// File format; by default from the extension.
    #[arg(long)]
    format: Option<hotline_readers::Format>,
    /// Read a field from another column: TARGET=SOURCE (e.g. external_id=id).
    #[arg(long = "map", value_name = "TARGET=SOURCE")]
    map: Vec<String>,
    /// Where rejected rows are listed with their line and reason.
    #[arg(long, default_value = "hotline-import-rejects.tsv")]
    report: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// Seconds between progress lines when standard error is not a
    /// terminal (a log file); every row counted in one is durable.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    progress_every: f64,
}

/// `hotline import`: the files through [`crate::import::run`], then the summary.
pub fn import(mut config: Config, data_dir: &Path, args: ImportArgs) -> Result<()> {
    let ImportArgs {
        files,
        format,
        map,
        report,
        json,
        progress_every,
    } = args;
    let progress_every = Duration::try_from_secs_f64(progress_every)
        .map_err(|_| anyhow::anyhow!("--progress-every takes a number of seconds"))?;
    let mut field_map = hotline_readers::FieldMap::new();
    for pair in &map {
        field_map
            .parse_pair(pair)
            .with_context(|| format!("--map {pair}"))?;
    }
    crate::import::bulk_config(&mut config);
    let summary = with_state(config, data_dir, |state| {
        let options = crate::import::ImportOptions {
            limits: state.config.import.limits(),
            files,
            format,
            map: field_map,
            report,
            quiet: json,
            progress_every,
        };
        crate::import::run(state, &options)
    })?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "imported {} (repeats {}), duplicates skipped {}, rejected {} in {:.1} s — {:.0} tickets/s",
            summary.imported, summary.repeats, summary.duplicates, summary.rejected, summary.seconds, summary.tickets_per_second
        );
        for (reason, n) in &summary.rejected_by_reason {
            println!("  rejected {n}: {reason}");
        }
        if let Some(report) = &summary.report {
            println!("rejected rows are listed in {}", report.display());
        }
        if summary.failure().is_none() {
            for file in &summary.gbk_files {
                println!(
                    "{} looks like GBK/GB18030, not UTF-8: its rejected rows may read once it is re-saved as UTF-8",
                    file.display()
                );
            }
        }
    }
    if let Some(failure) = summary.failure() {
        anyhow::bail!("{failure}");
    }
    Ok(())
}
