//! `hotline classify`, `train`, `eval` and `calibrate`: the router on texts, labelled files and the store's decisions.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hotline_classifier::{
    compare, evaluate, fit_calibration, parse_labelled, Analysis, Analyzer, Comparison, EvalReport,
    ModelEvaluation, TrainParams,
};

use super::guard::{shut_down_after, with_store};
use crate::config::Config;
use crate::engine;

#[derive(Debug, clap::Args)]
pub struct ClassifyArgs {
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
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
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
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    #[arg(
        long,
        required_unless_present = "from_store",
        conflicts_with = "from_store"
    )]
    data: Option<PathBuf>,
    /// Read the data directory's tickets instead of a labelled file.
    #[arg(long)]
    from_store: bool,
    /// Compare with the router this configuration file sets up (another
    /// model, calibration or threshold; read like --config): both are
    /// scored on the same rows, and the change is given with paired 95 %
    /// bootstrap intervals.
    #[arg(long, value_name = "CONFIG", requires = "data")]
    baseline: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// `hotline classify`: one text (argument or standard input), or a JSONL file.
pub fn classify(config: &Config, data_dir: &Path, args: ClassifyArgs) -> Result<()> {
    if let Some(path) = &args.input {
        return classify_file(config, data_dir, path);
    }
    let text = match args.text {
        Some(text) => text,
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!("reading the ticket's text from standard input (end with Ctrl-D)");
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
    let analyzer = engine::build_analyzer_in(config, data_dir)?;
    let analysis = analyzer.analyze(args.title.as_deref(), &text);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&analysis)?);
    } else {
        print_analysis(&analysis);
    }
    Ok(())
}

/// `hotline train`: to a file, or (`--from-store`) compared and installed.
pub fn train(config: &Config, data_dir: &Path, args: TrainArgs) -> Result<()> {
    let mut extra = Vec::new();
    for path in &args.data {
        extra.extend(read_labelled(path)?.iter().map(|r| r.example()));
    }
    let mut eval_sets = Vec::new();
    for path in &args.eval {
        eval_sets.push((path.display().to_string(), read_labelled(path)?));
    }
    if args.from_store {
        train_from_store(
            config,
            data_dir,
            &extra,
            &eval_sets,
            args.out.as_deref(),
            args.force,
        )
    } else {
        let mut examples = if args.builtin {
            engine::builtin_examples()?
        } else {
            Vec::new()
        };
        examples.extend(extra);
        let out = args.out.unwrap_or_else(|| PathBuf::from("model.json"));
        train_to_file(config, &examples, &eval_sets, &out)
    }
}

/// `hotline calibrate`: fits `[router.calibration]` and prints its TOML lines.
pub fn calibrate(config: &Config, data_dir: &Path, data: &Path) -> Result<()> {
    let rows = read_labelled(data)?;
    let mut analyzer_config = config.clone();
    // Fitted from the raw probabilities: any calibration configured now is set aside.
    analyzer_config.router.decision.calibration = Default::default();
    let analyzer = engine::build_analyzer_in(&analyzer_config, data_dir)?;
    let fitted = fit_calibration(&analyzer, &rows);
    println!("# fitted on {} rows of {}", rows.len(), data.display());
    println!("[router.calibration]");
    println!("topic_slope = {:.3}", fitted.topic_slope);
    println!("topic_intercept = {:.3}", fitted.topic_intercept);
    println!("other_slope = {:.3}", fitted.other_slope);
    println!("other_intercept = {:.3}", fitted.other_intercept);
    Ok(())
}

/// `hotline eval`: scores on a labelled file, or (`--from-store`) the
/// operators' override rates per model version and topic.
pub fn eval(config: &Config, data_dir: &Path, args: EvalArgs) -> Result<()> {
    let Some(data) = args.data else {
        let rows = with_store(config, data_dir, |store| Ok(store.router_decisions()?))?;
        let report = crate::overrides::OverrideReport::from_rows(&rows, |_| true);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_overrides(&report);
        }
        return Ok(());
    };
    let rows = read_labelled(&data)?;
    let analyzer = engine::build_analyzer_in(config, data_dir)?;
    if let Some(path) = &args.baseline {
        let baseline = engine::build_analyzer_in(&Config::load(Some(path))?, data_dir)?;
        let comparison = compare(&baseline, &analyzer, &rows)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&comparison)?);
        } else {
            print_comparison(&comparison, path);
        }
        return Ok(());
    }
    let report = evaluate(&analyzer, &rows);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
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

fn print_comparison(c: &Comparison, baseline: &Path) {
    let line = |name: &str, r: &EvalReport| {
        println!(
            "{name:<10} macro-F1 {:.3}   routed precision {:.3}   routed recall {:.3}   ranking AP {:.3}   ECE {:.3}",
            r.macro_f1, r.routed_precision, r.routed_recall, r.ranking_average_precision, r.expected_calibration_error
        );
    };
    println!("baseline: {}", baseline.display());
    line("baseline", &c.baseline);
    line("candidate", &c.candidate);
    if let Some(change) = &c.change {
        let delta = |d: &hotline_classifier::Delta| {
            format!("{:+.3} ({:+.3} to {:+.3})", d.value, d.low, d.high)
        };
        println!(
            "change, with {:.0} % paired bootstrap intervals ({} resamples): macro-F1 {}   routed precision {}   routed recall {}",
            change.level * 100.0,
            change.resamples,
            delta(&change.macro_f1),
            delta(&change.routed_precision),
            delta(&change.routed_recall)
        );
    }
    println!("\ncandidate in full:");
    print_report(&c.candidate);
}

fn print_report(r: &EvalReport) {
    println!(
        "rows {}   accuracy {:.3}   macro-F1 {:.3}",
        r.rows, r.accuracy, r.macro_f1
    );
    println!(
        "routed precision {:.3}   routed recall {:.3}   ranking average precision {:.3}",
        r.routed_precision, r.routed_recall, r.ranking_average_precision
    );
    if let Some(i) = &r.intervals {
        let range = |i: &hotline_classifier::Interval| format!("{:.3}–{:.3}", i.low, i.high);
        println!(
            "{:.0} % bootstrap intervals ({} resamples): macro-F1 {}   routed precision {}   routed recall {}",
            i.level * 100.0,
            i.resamples,
            range(&i.macro_f1),
            range(&i.routed_precision),
            range(&i.routed_recall)
        );
    }
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
