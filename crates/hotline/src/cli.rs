//! The command line: argument parsing and the commands' output.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use hotline_classifier::{evaluate, parse_labelled, Analysis, Analyzer, EvalReport, TrainParams};

use crate::config::Config;
use crate::engine;

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
        /// Labelled files; the shipped corpus is data/corpus/*.jsonl.
        #[arg(long, required = true, num_args = 1..)]
        data: Vec<PathBuf>,
        /// Where to write the model (set router.model to use it).
        #[arg(long, default_value = "model.json")]
        out: PathBuf,
    },
    /// Score the router on a labelled JSONL file.
    Eval {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cli: Cli) -> Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Classify {
            input: Some(path), ..
        } => classify_file(&config, &path)?,
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
            let analyzer = engine::build_analyzer(&config)?;
            let analysis = analyzer.analyze(title.as_deref(), &text);
            if json {
                println!("{}", serde_json::to_string_pretty(&analysis)?);
            } else {
                print_analysis(&analysis);
            }
        }
        Command::Train { data, out } => {
            let mut examples = Vec::new();
            for path in &data {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let rows = parse_labelled(&path.display().to_string(), &text)?;
                examples.extend(rows.iter().map(|r| r.example()));
            }
            let decision = config.router.decision.clone();
            let analyzer = engine::with_sources(&config, |sources| {
                Ok(Analyzer::train(
                    sources,
                    &examples,
                    &TrainParams::default(),
                    decision,
                )?)
            })?;
            std::fs::write(&out, analyzer.router().model().to_json())
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "trained on {} examples; model written to {}",
                examples.len(),
                out.display()
            );
        }
        Command::Eval { data, json } => {
            let text = std::fs::read_to_string(&data)
                .with_context(|| format!("cannot read {}", data.display()))?;
            let rows = parse_labelled(&data.display().to_string(), &text)?;
            let analyzer = engine::build_analyzer(&config)?;
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

/// Routes a JSONL file line by line; a bad line is reported on standard
/// error with its number and skipped, the rest are routed.
fn classify_file(config: &Config, path: &std::path::Path) -> Result<()> {
    use std::io::{BufRead, Write};
    #[derive(serde::Deserialize)]
    struct Line {
        #[serde(default)]
        id: Option<serde_json::Value>,
        #[serde(default)]
        title: Option<String>,
        text: String,
    }
    let analyzer = engine::build_analyzer(config)?;
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
