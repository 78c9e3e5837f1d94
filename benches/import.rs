//! End-to-end import throughput and peak memory, beside jieba-only
//! segmentation of the same rows in the same run (the ratio is the figure).
//!
//! HOTLINE_BENCH_FILE: a JSONL file of tickets (default: the project's import
//! fixture); it is repeated with distinct ids up to HOTLINE_BENCH_N rows
//! (default 100,000). Real messages:
//!   HOTLINE_BENCH_FILE=../shared/data/real/messages.jsonl cargo bench --bench import
//! Fields read: `text`, `title`, `time`/`received_at` (as the importer maps them).

use std::io::Write;
use std::time::Instant;

use hotline::import::{run, ImportOptions};
use hotline_readers::FieldMap;

// The binary runs on mimalloc; so do its benchmarks, to measure the same thing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Texts per second when `work` is applied to each, split over `threads`.
fn rate_on_all_cores(texts: &[String], threads: usize, work: impl Fn(&str) + Sync) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for chunk in texts.chunks(texts.len().div_ceil(threads)) {
            let work = &work;
            s.spawn(move || chunk.iter().for_each(|t| work(t)));
        }
    });
    texts.len() as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: run small then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let source = std::env::var("HOTLINE_BENCH_FILE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/import/tickets.jsonl"
        )
        .to_owned()
    });
    let n: usize = std::env::var("HOTLINE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_000 } else { 100_000 });
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&source)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| {
            v.get("text")
                .and_then(|t| t.as_str())
                .is_some_and(|t| !t.trim().is_empty())
        })
        .collect();
    assert!(!rows.is_empty(), "no usable rows in {source}");

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("bench.jsonl");
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(&file).unwrap_or_else(|e| panic!("{e}")));
    let mut texts = Vec::with_capacity(n);
    for i in 0..n {
        let mut row = rows[i % rows.len()].clone();
        if let Some(obj) = row.as_object_mut() {
            let received = obj
                .remove("time")
                .or_else(|| obj.remove("received_at"))
                .unwrap_or(serde_json::Value::Null);
            obj.insert("received_at".into(), received);
            obj.insert("external_id".into(), format!("bench-{i}").into());
            for k in [
                "id",
                "src",
                "src_id",
                "src_label",
                "topic",
                "district",
                "difficulty",
            ] {
                obj.remove(k);
            }
            let title = obj.get("title").and_then(|t| t.as_str()).unwrap_or("");
            let text = obj.get("text").and_then(|t| t.as_str()).unwrap_or("");
            texts.push(hotline_classifier::full_text(Some(title), text));
        }
        serde_json::to_writer(&mut out, &row).unwrap_or_else(|e| panic!("{e}"));
        out.write_all(b"\n").unwrap_or_else(|e| panic!("{e}"));
    }
    out.flush().unwrap_or_else(|e| panic!("{e}"));
    drop(out);

    // The options `hotline import` opens the store with.
    let state = hotline_suite::state_with(&dir.path().join("data"), hotline::import::bulk_config);
    let analyzer = state.analyzer().clone();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());

    // Segmentation alone, then the workers' whole analysis (segmentation,
    // routing, district): what the import would reach if reading, storing and
    // indexing cost nothing. All cores, same texts.
    let segment_rate = rate_on_all_cores(&texts, threads, |t| {
        std::hint::black_box(analyzer.segmenter().segment(t));
    });
    let analysis_rate = rate_on_all_cores(&texts, threads, |t| {
        std::hint::black_box(analyzer.analyze(None, t));
    });

    let options = ImportOptions {
        limits: Default::default(),
        files: vec![file],
        format: None,
        map: FieldMap::new(),
        report: dir.path().join("rejects.tsv"),
        quiet: true,
        progress_every: std::time::Duration::from_secs(5),
    };
    let started = Instant::now();
    let summary = run(&state, &options).unwrap_or_else(|e| panic!("{e:#}"));
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let import_rate = summary.imported as f64 / started.elapsed().as_secs_f64();

    println!("rows {n} from {source} on {threads} threads");
    println!("segmentation only     {segment_rate:>10.0} tickets/s");
    println!(
        "analysis only         {analysis_rate:>10.0} tickets/s  ({:.1} % of segmentation)",
        100.0 * analysis_rate / segment_rate
    );
    println!("full import (durable) {import_rate:>10.0} tickets/s  (imported {}, repeats {}, rejected {})", summary.imported, summary.repeats, summary.rejected);
    println!(
        "import / segmentation {:>10.1} %",
        100.0 * import_rate / segment_rate
    );
    println!("peak RSS              {:>10.0} MB", peak_rss_mb());
    assert_eq!(summary.imported as usize, n, "every row is imported");
}
