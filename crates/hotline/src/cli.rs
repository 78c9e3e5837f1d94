//! The command line: argument parsing and the commands' output.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use hotline_classifier::{
    evaluate, fit_calibration, parse_labelled, Analysis, Analyzer, EvalReport, ModelEvaluation,
    TrainParams,
};

use crate::app::AppState;
use crate::config::Config;
use crate::engine;

mod guard;

pub use guard::{shut_down_after, with_state, with_store};

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
    Classify {
        /// The ticket's text; read from standard input when absent.
        text: Option<String>,
        /// An optional title, read before the text.
        #[arg(long)]
        title: Option<String>,
        /// Print one JSON object instead of a readable summary.
        #[arg(long)]
        json: bool,
        /// Route every line of a JSONL file (fields `text`, optional `title`
        /// and `id`) and print one JSON result per line.
        #[arg(long, value_name = "FILE", conflicts_with = "text")]
        input: Option<PathBuf>,
    },
    /// Train a router model from labelled JSONL files (fields `text`, `topic`, optional `title`).
    Train {
        /// Labelled files to train on.
        #[arg(long, num_args = 1.., required_unless_present_any = ["builtin", "from_store"])]
        data: Vec<PathBuf>,
        /// Train on the built-in corpus (training/corpus/*.jsonl) too, before any --data.
        #[arg(long)]
        builtin: bool,
        /// Labelled files to measure the new model on (never trained on); the
        /// figures are printed and saved in the model file.
        #[arg(long, num_args = 1..)]
        eval: Vec<PathBuf>,
        /// Where to write the model (set router.model to use it); model.json
        /// unless --from-store installs it. The prebuilt default is rebuilt
        /// with `--builtin --out training/model/default.json`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Learn from this data directory too: the topics of imported tickets
        /// (a topic column: 问题分类, 专题, 所属专题…) and operators' overrides,
        /// on top of the built-in corpus. One ticket in five is held out; the
        /// new model is compared with the one in use on it and on --eval, and
        /// installed only when it is not worse. The store must not be open
        /// in a running server.
        #[arg(long)]
        from_store: bool,
        /// With --from-store: install even when the new model is worse.
        #[arg(long, requires = "from_store")]
        force: bool,
    },
    /// The router models installed in the data directory.
    Model {
        #[command(subcommand)]
        action: ModelCommand,
    },
    /// Run the HTTP API and the dashboard until Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
        /// Fill an empty store with the demo tickets and print three new demo
        /// tokens (admin with personal data, supervisor, operator).
        #[arg(long)]
        demo: bool,
    },
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
    Import {
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
    },
    /// Rates and counts per topic, district or period.
    Stats {
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// topic, district, kind, day, week, month, assessment_month, total or
        /// department (the department holding each ticket).
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
    },
    /// The deadline queue: open tickets by time left (dispatch and feedback
    /// deadlines), with counts by state and department.
    Queue {
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
    },
    /// Hot spots: district × topic bursts against their last eight weeks,
    /// and clusters of near-identical complaints at one address.
    Hotspots {
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
    },
    /// Full-text search.
    Search {
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
    },
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
    Reroute {
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
    },
    /// Rewrite the journal with one record per ticket (its latest version),
    /// dropping the older versions; the server must be stopped.
    Compact {
        #[arg(long)]
        json: bool,
    },
    /// Score the router on a labelled JSONL file, or (--from-store) count how
    /// often operators overrode it, per model version and topic.
    Eval {
        #[arg(
            long,
            required_unless_present = "from_store",
            conflicts_with = "from_store"
        )]
        data: Option<PathBuf>,
        /// Read the data directory's tickets instead of a labelled file.
        #[arg(long)]
        from_store: bool,
        #[arg(long)]
        json: bool,
    },
    /// Fit `[router.calibration]` on labelled real messages the model was not trained on; prints the TOML lines
    Calibrate {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// The model in use: installed (with the versions before it) or built-in.
    Show,
    /// Go back to the model installed before the current one (the built-in
    /// model after the first); a running server loads it on POST /api/v1/model/reload or SIGHUP.
    Rollback,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only now: it is stored hashed).
    Create {
        /// operator, supervisor or admin.
        #[arg(long)]
        role: String,
        /// May see callers' personal data unmasked (reads are audited).
        #[arg(long)]
        pii: bool,
        /// Limit the token to one district (朝阳区, or a short form: 朝阳).
        #[arg(long)]
        district: Option<String>,
        /// A name for the token (whose it is); the role by default.
        #[arg(long)]
        name: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token for good.
    Revoke { id: uuid::Uuid },
}

pub fn run(cli: Cli) -> Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| config.data.dir.clone());
    match cli.command {
        Command::Serve { listen, demo } => {
            let listen = listen.unwrap_or_else(|| config.server.listen.clone());
            // The server stops the store itself; the guard covers the paths
            // that never reach it, such as an address that cannot be bound.
            with_state(config, &data_dir, |state| {
                if demo {
                    load_demo(state)?;
                    let tokens = crate::demo::tokens(state)?;
                    print_demo_tokens(&tokens, &listen);
                }
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(crate::server::serve(state.clone(), &listen))
            })?;
        }
        Command::Demo => with_state(config, &data_dir, load_demo)?,
        Command::Token { action } => token_command(&config, &data_dir, action)?,
        Command::Import {
            files,
            format,
            map,
            report,
            json,
            progress_every,
        } => {
            let progress_every = Duration::try_from_secs_f64(progress_every)
                .map_err(|_| anyhow::anyhow!("--progress-every takes a number of seconds"))?;
            let mut field_map = hotline_readers::FieldMap::new();
            for pair in &map {
                field_map
                    .parse_pair(pair)
                    .with_context(|| format!("--map {pair}"))?;
            }
            let mut config = config;
            crate::import::bulk_config(&mut config);
            let summary = with_state(config, &data_dir, |state| {
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
        }
        Command::Stats {
            from,
            to,
            by,
            topic,
            district,
            undated,
            json,
        } => {
            let group_by = hotline_store::GroupBy::parse(&by)
                .with_context(|| format!("--by {by}: use topic, district, kind, day, week, month, assessment_month, total or department"))?;
            if group_by == hotline_store::GroupBy::Department && topic.is_some() {
                bail!("--by department is not split by topic: drop --topic");
            }
            // Counting routes nothing: the store alone, no analyzer to load.
            let rows = with_store(&config, &data_dir, |store| {
                let district = match district {
                    Some(d) => Some(known_district_in(&config, d)?),
                    None => None,
                };
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
        }
        Command::Queue {
            department,
            topic,
            district,
            street,
            state,
            due_within,
            page,
            per_page,
            json,
        } => {
            let query = hotline_store::QueueQuery {
                department,
                topic,
                district: match district {
                    Some(d) => Some(known_district_in(&config, d)?),
                    None => None,
                },
                street,
                state: state
                    .map(|s| crate::dispatch::parse_state(&s))
                    .transpose()
                    .map_err(|m| anyhow::anyhow!("--state {m}"))?,
                due_within: due_within
                    .map(|s| crate::dispatch::parse_due_within(&s))
                    .transpose()
                    .map_err(|m| anyhow::anyhow!("--due-within {m}"))?,
                page: page.max(1),
                per_page: per_page.clamp(1, 10_000),
            };
            let page = with_store(&config, &data_dir, |store| {
                Ok(store.queue(&query, hotline_store::beijing_now())?)
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else {
                crate::dispatch::print_queue(&page);
            }
        }
        Command::Hotspots {
            date,
            days,
            district,
            topic,
            json,
        } => {
            if !(1..=14).contains(&days) {
                bail!("--days {days}: use 1 to 14");
            }
            let query = crate::hotspots::HotspotQuery {
                date: date.unwrap_or_else(|| hotline_store::beijing_now().date()),
                days,
                district: match district {
                    Some(d) => Some(known_district_in(&config, d)?),
                    None => None,
                },
                topic,
            };
            let found = with_store(&config, &data_dir, |store| {
                Ok(crate::hotspots::detect(store, &query)?)
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else {
                crate::hotspots::print(&found);
            }
        }
        Command::Search {
            query,
            topic,
            district,
            kind,
            status,
            from,
            to,
            page,
            json,
        } => {
            with_state(config, &data_dir, |state| {
                let district = district.map(|d| known_district(state, d));
                let view = crate::server::SearchParamsView {
                    q: &query,
                    topic: topic.as_deref(),
                    district: district.as_deref(),
                    kind: kind.as_deref(),
                    status: status.as_deref(),
                    from,
                    to,
                    page: page.max(1),
                    per_page: 20,
                    personal: true,
                };
                let result = crate::server::run_search(state, &view)
                    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
                if json {
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
                        println!(
                            "  {}",
                            hit.snippet.replace("<mark>", "【").replace("</mark>", "】")
                        );
                    }
                }
                Ok(())
            })?;
        }
        Command::Show { id } => {
            let ticket = with_store(&config, &data_dir, |store| Ok(store.get(id)?))?
                .with_context(|| format!("ticket {id} not found"))?;
            println!("{}", serde_json::to_string_pretty(&ticket)?);
        }
        Command::Verify { json } => {
            // The journal first, reading only: opening the store would cut a
            // torn tail, and refuses a damaged journal.
            let check = hotline_store::Store::check_journal(&data_dir)
                .with_context(|| format!("checking the journal in {}", data_dir.display()))?;
            if !check.is_ok() {
                if json {
                    println!("{}", serde_json::to_string_pretty(&check)?);
                } else {
                    print_journal_check(&check);
                }
                let torn_only = check.missing_bytes == 0
                    && !check.salvage_interrupted
                    && check
                        .damage
                        .iter()
                        .all(|d| d.kind == hotline_store::DamageKind::TornTail);
                if torn_only {
                    bail!(
                        "the journal {} ends in an interrupted append (never acknowledged), which opening the store cuts; nothing was changed",
                        check.path
                    );
                }
                bail!(
                    "the journal {} is damaged; nothing was changed (see `hotline salvage`)",
                    check.path
                );
            }
            let report = with_store(&config, &data_dir, |store| Ok(store.verify()?))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "journal {} bytes, {} records; tickets {}, counter rows {}, open in the deadline queue {}, indexed {}",
                    check.bytes,
                    check.records,
                    report.tickets,
                    report.counter_rows,
                    report.queue_entries,
                    report.indexed_docs
                );
                for m in report.counter_mismatches.iter().take(20) {
                    println!("counter mismatch: {m}");
                }
                for m in report.queue_mismatches.iter().take(20) {
                    println!("deadline queue mismatch: {m}");
                }
                for c in report.corrupt_records.iter().take(20) {
                    println!("corrupt: {c}");
                }
                if report.index_missing > 0 {
                    println!(
                        "{} tickets missing from the index: run `hotline reindex`",
                        report.index_missing
                    );
                }
            }
            if !report.is_ok() {
                bail!("the store is inconsistent");
            }
            if !json {
                println!("ok: every journal record reads, counters and the deadline queue equal a recount and every ticket is indexed");
            }
        }
        Command::Salvage { json } => {
            let report = hotline_store::Store::salvage(&data_dir, config.store.clone())
                .with_context(|| format!("salvaging the store in {}", data_dir.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_salvage(&report);
            }
        }
        Command::Compact { json } => {
            let progress = crate::progress::Progress::new(
                json,
                std::time::Duration::from_secs(5),
                "tickets rewritten",
            );
            let report =
                hotline_store::Store::compact(&data_dir, config.store.clone(), |n| progress.set(n))
                    .with_context(|| format!("compacting the store in {}", data_dir.display()))?;
            progress.finish();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "compacted {} tickets: journal {} → {} bytes",
                    report.tickets, report.journal_bytes_before, report.journal_bytes_after
                );
            }
        }
        Command::Reroute {
            from,
            to,
            topic,
            json,
        } => {
            let summary = with_state(config, &data_dir, |state| {
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
        }
        Command::Reindex => {
            let n = with_state(config, &data_dir, |state| Ok(state.store.reindex()?))?;
            println!("reindexed {n} tickets");
        }
        Command::Classify {
            input: Some(path), ..
        } => classify_file(&config, &data_dir, &path)?,
        Command::Classify {
            text,
            title,
            json,
            input: None,
        } => {
            let text = match text {
                Some(text) => text,
                None => {
                    if std::io::stdin().is_terminal() {
                        eprintln!(
                            "reading the ticket's text from standard input (end with Ctrl-D)"
                        );
                    }
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .context("reading standard input")?;
                    text
                }
            };
            if text.trim().is_empty() {
                bail!("the ticket's text is empty");
            }
            let analyzer = engine::build_analyzer_in(&config, &data_dir)?;
            let analysis = analyzer.analyze(title.as_deref(), &text);
            if json {
                println!("{}", serde_json::to_string_pretty(&analysis)?);
            } else {
                print_analysis(&analysis);
            }
        }
        Command::Train {
            data,
            builtin,
            eval,
            out,
            from_store,
            force,
        } => {
            let mut extra = Vec::new();
            for path in &data {
                extra.extend(read_labelled(path)?.iter().map(|r| r.example()));
            }
            let mut eval_sets = Vec::new();
            for path in &eval {
                eval_sets.push((path.display().to_string(), read_labelled(path)?));
            }
            if from_store {
                train_from_store(
                    &config,
                    &data_dir,
                    &extra,
                    &eval_sets,
                    out.as_deref(),
                    force,
                )?;
            } else {
                let mut examples = if builtin {
                    engine::builtin_examples()?
                } else {
                    Vec::new()
                };
                examples.extend(extra);
                let out = out.unwrap_or_else(|| PathBuf::from("model.json"));
                train_to_file(&config, &examples, &eval_sets, &out)?;
            }
        }
        Command::Model { action } => {
            let registry = crate::models::ModelRegistry::new(&data_dir);
            match action {
                ModelCommand::Show => {
                    let installed = registry.installed()?;
                    let analyzer = engine::build_analyzer_in(&config, &data_dir)?;
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
        }
        Command::Calibrate { data } => {
            let rows = read_labelled(&data)?;
            let mut analyzer_config = config.clone();
            // Fitted from the raw probabilities: any calibration configured now is set aside.
            analyzer_config.router.decision.calibration = Default::default();
            let analyzer = engine::build_analyzer_in(&analyzer_config, &data_dir)?;
            let fitted = fit_calibration(&analyzer, &rows);
            println!("# fitted on {} rows of {}", rows.len(), data.display());
            println!("[router.calibration]");
            println!("topic_slope = {:.3}", fitted.topic_slope);
            println!("topic_intercept = {:.3}", fitted.topic_intercept);
            println!("other_slope = {:.3}", fitted.other_slope);
            println!("other_intercept = {:.3}", fitted.other_intercept);
        }
        Command::Eval {
            data: None, json, ..
        } => {
            let rows = with_store(&config, &data_dir, |store| Ok(store.router_decisions()?))?;
            let report = crate::overrides::OverrideReport::from_rows(&rows, |_| true);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_overrides(&report);
            }
        }
        Command::Eval {
            data: Some(data),
            json,
            ..
        } => {
            let rows = read_labelled(&data)?;
            let analyzer = engine::build_analyzer_in(&config, &data_dir)?;
            let report = evaluate(&analyzer, &rows);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_report(&report);
            }
        }
    }
    Ok(())
}

/// Trains on `examples`, measures on `eval_sets` and writes the model file.
fn train_to_file(
    config: &Config,
    examples: &[hotline_classifier::Example],
    eval_sets: &[(String, Vec<hotline_classifier::LabelledRow>)],
    out: &std::path::Path,
) -> Result<()> {
    let decision = config.router.decision.clone();
    let mut analyzer = engine::with_sources(config, |sources| {
        Ok(Analyzer::train(
            sources,
            examples,
            &TrainParams::default(),
            decision,
        )?)
    })?;
    let mut evaluations = Vec::new();
    for (name, rows) in eval_sets {
        let report = evaluate(&analyzer, rows);
        println!("{name}:");
        print_report(&report);
        evaluations.push(ModelEvaluation {
            data: name.clone(),
            rows: report.rows,
            macro_f1: report.macro_f1,
            routed_precision: report.routed_precision,
            routed_recall: report.routed_recall,
            expected_calibration_error: report.expected_calibration_error,
        });
    }
    let model = analyzer.model_mut();
    if let Some(mut info) = model.info().cloned() {
        info.evaluation = evaluations;
        model.set_info(info);
    }
    std::fs::write(out, model.to_json())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "trained on {} examples; model {} written to {}",
        examples.len(),
        model.version(),
        out.display()
    );
    Ok(())
}

/// `hotline train --from-store`: learn from the store's labelled tickets,
/// compare, install when not worse.
fn train_from_store(
    config: &Config,
    data_dir: &std::path::Path,
    extra: &[hotline_classifier::Example],
    eval_sets: &[(String, Vec<hotline_classifier::LabelledRow>)],
    out: Option<&std::path::Path>,
    force: bool,
) -> Result<()> {
    let store = hotline_store::Store::open(data_dir, config.store.clone()).with_context(|| {
        format!(
            "opening the store in {} (a running `hotline serve` holds it: stop it first)",
            data_dir.display()
        )
    })?;
    let labels = shut_down_after(&store, crate::retrain::store_labels)?;
    println!(
        "labelled tickets in the store: {} imported with a topic, {} overridden by operators; {} to train on, {} held out",
        labels.imported,
        labels.overridden,
        labels.train.len(),
        labels.held_out.len()
    );
    let (analyzer, comparison) =
        crate::retrain::train_and_compare(config, data_dir, &labels, extra, eval_sets)?;
    crate::retrain::print_comparison(&comparison);
    if let Some(out) = out {
        std::fs::write(out, analyzer.router().model().to_json())
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!(
            "\nmodel {} written to {}",
            comparison.new_version,
            out.display()
        );
    }
    if !comparison.not_worse() && !force {
        bail!(
            "the new model {} is worse than {} on at least one set: not installed (--force installs it anyway)",
            comparison.new_version,
            comparison.current_version
        );
    }
    crate::retrain::install(data_dir, &analyzer)?;
    println!(
        "\nmodel {} installed in {} (`hotline model rollback` goes back to {}); a running server loads it on POST /api/v1/model/reload or SIGHUP",
        comparison.new_version,
        data_dir.join("models").display(),
        comparison.current_version
    );
    Ok(())
}

fn print_overrides(report: &crate::overrides::OverrideReport) {
    if report.by_model.is_empty() {
        println!("no router decisions with a model version in this store");
        return;
    }
    for (model, topics) in &report.by_model {
        let total = report.total(model);
        println!(
            "model {model}: {} decisions, {} overridden ({:.1} %)",
            total.routed,
            total.overridden,
            100.0 * total.rate()
        );
        println!(
            "  {:<22} {:>9} {:>11} {:>7}",
            "topic", "routed", "overridden", "rate"
        );
        for (topic, c) in topics {
            println!(
                "  {topic:<22} {:>9} {:>11} {:>6.1}%",
                c.routed,
                c.overridden,
                100.0 * c.rate()
            );
        }
    }
}

/// A labelled JSONL file, errors naming the file and line.
fn read_labelled(path: &std::path::Path) -> Result<Vec<hotline_classifier::LabelledRow>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(parse_labelled(&path.display().to_string(), &text)?)
}

fn print_journal_check(check: &hotline_store::JournalCheck) {
    println!(
        "journal {}: {} bytes, {} readable records, sled has applied {} bytes",
        check.path, check.bytes, check.records, check.applied
    );
    if check.missing_bytes > 0 {
        println!(
            "missing: the journal ends {} bytes before what sled has applied",
            check.missing_bytes
        );
    }
    for d in &check.damage {
        println!(
            "damaged at byte {} ({} bytes): {}",
            d.offset, d.bytes, d.message
        );
    }
    if check.salvage_interrupted {
        println!("a salvage was interrupted: run `hotline salvage` again");
    }
}

fn print_salvage(r: &hotline_store::SalvageReport) {
    if r.nothing_to_do {
        println!(
            "the journal {} is intact ({} records): nothing to salvage",
            r.journal, r.records_kept
        );
        return;
    }
    if r.resumed {
        println!("finished an interrupted salvage (its first run listed what was lost)");
    }
    if let Some(copy) = &r.damaged_copy {
        println!("the damaged journal's bytes are kept in {copy}");
    }
    println!(
        "kept {} records ({} bytes) in {}; tickets {} -> {}",
        r.records_kept, r.bytes_kept, r.journal, r.tickets_before, r.tickets_after
    );
    for l in &r.lost {
        println!(
            "lost {} bytes at byte {}: {}{}",
            l.bytes,
            l.offset,
            l.message,
            if l.tickets.is_empty() {
                String::new()
            } else {
                format!(
                    " (latest version of {})",
                    l.tickets
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    for id in &r.tickets_lost {
        println!("ticket lost: {id}");
    }
    for id in &r.tickets_rolled_back {
        println!("ticket rolled back to an earlier version: {id}");
    }
    for id in &r.tickets_without_index_words {
        println!("ticket kept without its index words: {id}");
    }
}

/// Loads the demo tickets when the store is empty, saying what it did.
fn load_demo(state: &AppState) -> Result<()> {
    use crate::demo::Outcome;
    match crate::demo::populate(state)? {
        Outcome::Loaded { created, skipped } => eprintln!(
            "demo: {created} tickets generated (12 months to 2024-12-31){}",
            if skipped > 0 {
                format!(", {skipped} already there")
            } else {
                String::new()
            }
        ),
        Outcome::AlreadyLoaded { tickets } => {
            eprintln!("demo: the store already holds the demo ({tickets} tickets)")
        }
        Outcome::NotEmpty { tickets } => eprintln!(
            "demo: the store in {} already holds {tickets} other tickets; no demo tickets added (use --data-dir with an empty directory)",
            state.store.dir().display()
        ),
    }
    Ok(())
}

fn print_demo_tokens(tokens: &[(hotline_store::TokenRecord, String)], listen: &str) {
    eprintln!("demo tokens (shown once; every start with --demo revokes the previous ones):");
    for (record, secret) in tokens {
        let pii = if record.pii {
            "sees personal data"
        } else {
            "personal data masked"
        };
        eprintln!("  {:<11} {:<21} {secret}", record.role.as_str(), pii);
    }
    let host = listen.replace("0.0.0.0", "127.0.0.1");
    let admin = tokens
        .iter()
        .find(|(r, _)| r.role == hotline_store::Role::Admin)
        .map_or("hl_…", |(_, s)| s.as_str());
    eprintln!("sign in: open http://{host}/ and paste a token, or");
    eprintln!("  curl -H 'Authorization: Bearer {admin}' http://{host}/api/v1/me");
}

/// `hotline token …`: opens the store only (no model to build).
fn token_command(config: &Config, data_dir: &std::path::Path, action: TokenCommand) -> Result<()> {
    let store = hotline_store::Store::open(data_dir, config.store.clone()).with_context(|| {
        format!(
            "opening the store in {} (a running `hotline serve` holds it: stop it, or use /api/v1/tokens with an admin token)",
            data_dir.display()
        )
    })?;
    shut_down_after(&store, |store| token_action(config, store, action))
}

fn token_action(config: &Config, store: &hotline_store::Store, action: TokenCommand) -> Result<()> {
    use hotline_store::{AuditAction, AuditEntry, AuditLog, Issuer, TokenStore};
    let tokens = TokenStore::open(store)?;
    let audit = AuditLog::open(store)?;
    match action {
        TokenCommand::Create {
            role,
            pii,
            district,
            name,
        } => {
            let gazetteer_text =
                Config::read_or_builtin(&config.gazetteer.path, crate::builtin::GAZETTEER)?;
            let gazetteer =
                hotline_classifier::Gazetteer::from_toml_str("gazetteer", &gazetteer_text)?;
            let new = crate::auth::new_token(&role, pii, district, name, &gazetteer)
                .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.unwrap_or_default(), e.message))?;
            let (record, secret) = tokens.create(new, Issuer::Local)?;
            audit.record(&[AuditEntry::new(
                None,
                "command line",
                AuditAction::TokenCreated,
                crate::auth::describe_token(&record),
            )
            .in_district(record.district.as_deref())])?;
            eprintln!(
                "created {} token {} ({}{}); it is shown only now:",
                record.role,
                record.id,
                if record.pii {
                    "sees personal data"
                } else {
                    "personal data masked"
                },
                record
                    .district
                    .as_deref()
                    .map(|d| format!(", {d} only"))
                    .unwrap_or_default()
            );
            println!("{secret}");
        }
        TokenCommand::List { json } => {
            let list = tokens.list(Issuer::Local)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<36}  {:<20} {:<10} {:<4} {:<8} {:<16} status",
                    "id", "name", "role", "pii", "district", "created"
                );
                for t in &list {
                    println!(
                        "{:<36}  {:<20} {:<10} {:<4} {:<8} {:<16} {}",
                        t.id,
                        t.name,
                        t.role.as_str(),
                        if t.pii { "yes" } else { "no" },
                        t.district.as_deref().unwrap_or("all"),
                        t.created_at.format("%Y-%m-%d %H:%M"),
                        if t.revoked { "revoked" } else { "active" }
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            let record = tokens
                .revoke(id, Issuer::Local)?
                .with_context(|| format!("no token {id}"))?;
            audit.record(&[AuditEntry::new(
                None,
                "command line",
                AuditAction::TokenRevoked,
                crate::auth::describe_token(&record),
            )
            .in_district(record.district.as_deref())])?;
            println!("revoked {} ({})", record.id, record.name);
        }
    }
    Ok(())
}

/// Routes a JSONL file line by line; a bad line is reported on standard
/// error with its number and skipped, the rest are routed.
fn classify_file(
    config: &Config,
    data_dir: &std::path::Path,
    path: &std::path::Path,
) -> Result<()> {
    use std::io::{BufRead, Write};
    #[derive(serde::Deserialize)]
    struct Line {
        #[serde(default)]
        id: Option<serde_json::Value>,
        #[serde(default)]
        title: Option<String>,
        text: String,
    }
    let analyzer = engine::build_analyzer_in(config, data_dir)?;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line =
            line.with_context(|| format!("{}:{}: cannot read line", path.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: Line = match serde_json::from_str(&line) {
            Ok(row) => row,
            Err(e) => {
                eprintln!("{}:{}: skipped: {e}", path.display(), i + 1);
                continue;
            }
        };
        let a = analyzer.analyze(row.title.as_deref(), &row.text);
        let result = serde_json::json!({
            "line": i + 1,
            "id": row.id,
            "topic": a.routing.topic,
            "confidence": a.routing.confidence,
            "needs_review": a.routing.needs_review,
            "top": a.routing.top,
            "deciding_words": a.routing.deciding_words,
            "district": a.district.map(|d| d.district),
        });
        writeln!(out, "{result}")?;
    }
    out.flush()?;
    Ok(())
}

fn print_analysis(a: &Analysis) {
    let r = &a.routing;
    println!("{}  {}", r.topic, r.name);
    println!("  department   {}", r.department);
    let review = if r.needs_review {
        "  (uncertain: please review)"
    } else {
        ""
    };
    println!("  confidence   {:.2}{review}", r.confidence);
    println!(
        "  deciding     {}",
        if r.deciding_words.is_empty() {
            "—".to_owned()
        } else {
            r.deciding_words.join("、")
        }
    );
    let top: Vec<String> = r
        .top
        .iter()
        .map(|t| format!("{} {:.2}", t.topic, t.score))
        .collect();
    println!("  top 3        {}", top.join(" · "));
    match &a.district {
        Some(d) => println!("  district     {} (from “{}”)", d.district, d.matched),
        None => println!("  district     —"),
    }
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

fn print_report(r: &EvalReport) {
    println!(
        "rows {}   accuracy {:.3}   macro-F1 {:.3}",
        r.rows, r.accuracy, r.macro_f1
    );
    println!(
        "routed precision {:.3}   routed recall {:.3}",
        r.routed_precision, r.routed_recall
    );
    if let Some(d) = r.district_accuracy {
        println!("district accuracy {d:.3}");
    }
    println!(
        "expected calibration error {:.3}   flagged for review {} ({} of them right)",
        r.expected_calibration_error, r.needs_review, r.needs_review_correct
    );
    if let Some(sure) = &r.sure_rows {
        println!(
            "rows both labellers were sure of: {}   macro-F1 {:.3}   routed precision {:.3}   routed recall {:.3}",
            sure.rows, sure.macro_f1, sure.routed_precision, sure.routed_recall
        );
    }
    println!(
        "\n{:<12} {:>6} {:>11} {:>9}",
        "confidence", "rows", "mean conf.", "accuracy"
    );
    for bin in &r.reliability {
        println!(
            "{:<12} {:>6} {:>11.3} {:>9.3}",
            format!("{:.1}-{:.1}", bin.low, bin.low + 0.1),
            bin.count,
            bin.mean_confidence,
            bin.accuracy
        );
    }
    if r.unknown_topics > 0 {
        println!(
            "rows with a topic outside the taxonomy: {}",
            r.unknown_topics
        );
    }
    println!(
        "\n{:<22} {:>9} {:>9} {:>9} {:>8}",
        "topic", "precision", "recall", "F1", "support"
    );
    for (slug, s) in &r.per_topic {
        println!(
            "{slug:<22} {:>9.3} {:>9.3} {:>9.3} {:>8}",
            s.precision, s.recall, s.f1, s.support
        );
    }
    println!("\nconfusion (rows: true topic, columns: predicted, in the order above)");
    for (slug, line) in &r.confusion {
        let cells: Vec<String> = line
            .values()
            .map(|n| {
                if *n == 0 {
                    "  .".to_owned()
                } else {
                    format!("{n:>3}")
                }
            })
            .collect();
        println!("{slug:<22} {}", cells.join(""));
    }
}

/// A `--district` filter: a short form reads as the district it names
/// (朝阳 → 朝阳区); an unknown name is kept as given.
/// A district filter as the gazetteer spells it, without loading the
/// analyzer (stats opens the store alone).
fn known_district_in(config: &Config, district: String) -> Result<String> {
    let text = Config::read_or_builtin(&config.gazetteer.path, crate::builtin::GAZETTEER)?;
    let gazetteer = hotline_classifier::Gazetteer::from_toml_str("gazetteer", &text)?;
    Ok(match gazetteer.canonical(&district) {
        Some(known) => known.to_owned(),
        None => district,
    })
}

fn known_district(state: &AppState, district: String) -> String {
    match state.analyzer().gazetteer().canonical(&district) {
        Some(known) => known.to_owned(),
        None => district,
    }
}
