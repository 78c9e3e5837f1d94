//! `hotline stats`, `search` and `show`: reading the store's counters, index and tickets.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::guard::{with_state, with_store};
use super::{district_filter, known_district};
use crate::config::Config;
use hotline_store::Fragment;

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    from: Option<chrono::NaiveDate>,
    /// Last day (YYYY-MM-DD).
    #[arg(long)]
    to: Option<chrono::NaiveDate>,
    /// topic, district, street, kind, day, week, month, assessment_month,
    /// total or department (the department holding each ticket).
    #[arg(long, default_value = "topic")]
    by: String,
    #[arg(long)]
    topic: Option<String>,
    #[arg(long)]
    district: Option<String>,
    /// Include undated historical tickets.
    #[arg(long)]
    undated: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    query: String,
    #[arg(long)]
    topic: Option<String>,
    #[arg(long)]
    district: Option<String>,
    #[arg(long)]
    kind: Option<String>,
    #[arg(long)]
    status: Option<String>,
    #[arg(long)]
    from: Option<chrono::NaiveDate>,
    #[arg(long)]
    to: Option<chrono::NaiveDate>,
    #[arg(long, default_value_t = 1)]
    page: usize,
    #[arg(long)]
    json: bool,
}

/// `hotline stats`: counting routes nothing, so the store alone is opened.
pub fn stats(config: &Config, data_dir: &Path, args: StatsArgs) -> Result<()> {
    let StatsArgs {
        from,
        to,
        by,
        topic,
        district,
        undated,
        json,
    } = args;
    let group_by = hotline_store::GroupBy::parse(&by)
        .with_context(|| format!("--by {by}: use {}", hotline_store::GroupBy::NAMES))?;
    if group_by == hotline_store::GroupBy::Department && topic.is_some() {
        bail!("--by department is not split by topic: drop --topic");
    }
    let rows = with_store(config, data_dir, |store| {
        let district = district_filter(config, district)?;
        Ok(store.stats(&hotline_store::StatsQuery {
            from,
            to,
            group_by,
            topic,
            district,
            include_undated: undated,
        })?)
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_stats(&rows);
    }
    Ok(())
}

/// `hotline search`: the server's search, as a reader with `pii` (the command line).
pub fn search(config: Config, data_dir: &Path, args: SearchArgs) -> Result<()> {
    with_state(config, data_dir, |state| {
        let district = args.district.map(|d| known_district(state, d));
        let view = crate::search::SearchParamsView {
            q: &args.query,
            topic: args.topic.as_deref(),
            district: district.as_deref(),
            kind: args.kind.as_deref(),
            status: args.status.as_deref(),
            from: args.from,
            to: args.to,
            page: args.page.max(1),
            per_page: 20,
            personal: true,
        };
        let result = crate::search::run_search(state, &view)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&result)?);
        } else {
            println!("{} tickets match", result.total);
            for hit in &result.hits {
                let t = &hit.ticket;
                let day = t
                    .received_at
                    .map_or("undated".to_owned(), |d| d.format("%Y-%m-%d").to_string());
                println!(
                    "\n{}  {}  {}  {}  score {:.2}",
                    t.id,
                    day,
                    t.topic.slug,
                    t.district.as_deref().unwrap_or("—"),
                    hit.score
                );
                println!("  {}", brackets(&hit.snippet));
            }
        }
        Ok(())
    })
}

/// A snippet for a terminal: the marked fragments in 【】.
fn brackets(snippet: &[Fragment]) -> String {
    snippet
        .iter()
        .map(|f| {
            if f.mark {
                format!("【{}】", f.text)
            } else {
                f.text.clone()
            }
        })
        .collect()
}

/// `hotline show`: one ticket with its events, as JSON.
pub fn show(config: &Config, data_dir: &Path, id: uuid::Uuid) -> Result<()> {
    let ticket = with_store(config, data_dir, |store| Ok(store.get(id)?))?
        .with_context(|| format!("ticket {id} not found"))?;
    println!("{}", serde_json::to_string_pretty(&ticket)?);
    Ok(())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn print_stats(rows: &[hotline_store::StatsRow]) {
    println!(
        "{:<22} {:>8} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "",
        "诉求",
        "咨询",
        "重复",
        "回访",
        "响应率",
        "解决率",
        "满意率",
        "派单及时",
        "反馈及时",
        "综合"
    );
    for r in rows {
        println!(
            "{:<22} {:>8} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9} {:>10} {:>10} {:>9}",
            r.key,
            r.requests,
            r.consultations,
            r.repeats,
            r.valid_callbacks,
            pct(r.response_rate),
            pct(r.resolution_rate),
            pct(r.satisfaction_rate),
            pct(r.dispatch_on_time_rate),
            pct(r.feedback_on_time_rate),
            pct(r.composite)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_shows_the_marked_words_in_brackets() {
        let snippet = [
            Fragment::plain("…小区<没有>"),
            Fragment::marked("充电桩"),
            Fragment::plain("，飞线"),
        ];
        assert_eq!(brackets(&snippet), "…小区<没有>【充电桩】，飞线");
    }
}
