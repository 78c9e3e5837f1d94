//! `hotline queue` (the deadline queue) and `hotline hotspots` (bursts and address clusters).

use std::path::Path;

use anyhow::{bail, Result};

use super::district_filter;
use super::guard::with_store;
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    #[arg(long)]
    department: Option<String>,
    #[arg(long)]
    topic: Option<String>,
    #[arg(long)]
    district: Option<String>,
    #[arg(long)]
    street: Option<String>,
    /// on_time, due_soon or overdue.
    #[arg(long)]
    state: Option<String>,
    /// Only deadlines within this long (hours, or 90m, 12h, 3d); overdue included.
    #[arg(long, value_name = "DURATION")]
    due_within: Option<String>,
    #[arg(long, default_value_t = 1)]
    page: usize,
    #[arg(long, default_value_t = 50)]
    per_page: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct HotspotsArgs {
    /// The window's last day (YYYY-MM-DD); today (Beijing) by default.
    #[arg(long)]
    date: Option<chrono::NaiveDate>,
    /// The window's length in days (1 to 14).
    #[arg(long, default_value_t = 3)]
    days: i64,
    #[arg(long)]
    district: Option<String>,
    #[arg(long)]
    topic: Option<String>,
    #[arg(long)]
    json: bool,
}

/// `hotline queue`: one page of the deadline queue, with its counts.
pub fn queue(config: &Config, data_dir: &Path, args: QueueArgs) -> Result<()> {
    let query = hotline_store::QueueQuery {
        department: args.department,
        topic: args.topic,
        district: district_filter(config, args.district)?,
        street: args.street,
        state: args
            .state
            .map(|s| crate::dispatch::parse_state(&s))
            .transpose()
            .map_err(|m| anyhow::anyhow!("--state {m}"))?,
        due_within: args
            .due_within
            .map(|s| crate::dispatch::parse_due_within(&s))
            .transpose()
            .map_err(|m| anyhow::anyhow!("--due-within {m}"))?,
        page: args.page.max(1),
        per_page: args.per_page.clamp(1, 10_000),
    };
    let page = with_store(config, data_dir, |store| {
        Ok(store.queue(&query, hotline_store::beijing_now())?)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
    } else {
        crate::dispatch::print_queue(&page);
    }
    Ok(())
}

/// `hotline hotspots`: the detector over the window ending on `--date`.
pub fn hotspots(config: &Config, data_dir: &Path, args: HotspotsArgs) -> Result<()> {
    let days = args.days;
    if !(1..=14).contains(&days) {
        bail!("--days {days}: use 1 to 14");
    }
    let query = crate::hotspots::HotspotQuery {
        date: args
            .date
            .unwrap_or_else(|| hotline_store::beijing_now().date()),
        days,
        district: district_filter(config, args.district)?,
        topic: args.topic,
    };
    let found = with_store(config, data_dir, |store| {
        Ok(crate::hotspots::detect(store, &query)?)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        crate::hotspots::print(&found);
    }
    Ok(())
}
