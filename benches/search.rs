//! Search latency over a large store, through the code behind
//! `GET /api/v1/search` (the query segmented as tickets are, filters, the
//! all-words-then-any-word fallback, snippets): p50/p95/p99 over a mix of
//! queries with and without filters.
//!
//!   HOTLINE_BENCH_DATA=DIR cargo bench --bench search
//!
//! DIR is a data directory filled by `hotline import` (BENCHMARKS.md imports
//! 1 M tickets of real text). Without it, the project's import fixture is
//! imported into a temporary directory: a quick run that checks the bench.

use std::time::Instant;

use chrono::NaiveDate;
use hotline::search::{run_search, SearchParamsView};

// The binary runs on mimalloc; so do its benchmarks, to measure the same thing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const QUERIES: [&str; 10] = [
    "物业费上涨",
    "电动车 充电",
    "油烟",
    "停车位",
    "电梯 维修",
    "快递 驿站",
    "噪音 扰民",
    "房子 漏水",
    "学校门口 拥堵",
    "预付卡 退费",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = match std::env::var("HOTLINE_BENCH_DATA") {
        Ok(dir) => std::path::PathBuf::from(dir),
        Err(_) => {
            let data = temp.path().join("data");
            let state = hotline_suite::state_with(&data, hotline::import::bulk_config);
            let options = hotline::import::ImportOptions {
                limits: Default::default(),
                files: vec![concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/import/tickets.jsonl"
                )
                .into()],
                format: None,
                map: hotline_readers::FieldMap::new(),
                report: temp.path().join("rejects.tsv"),
                quiet: true,
                progress_every: std::time::Duration::from_secs(5),
            };
            hotline::import::run(&state, &options).unwrap_or_else(|e| panic!("{e:#}"));
            state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
            data
        }
    };
    let opened = Instant::now();
    let state = hotline_suite::state_in(&dir);
    let open_secs = opened.elapsed().as_secs_f64();
    let tickets = state.store.ticket_count();
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    // (label, topic, district, status, from, to)
    type Filter = (
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<NaiveDate>,
        Option<NaiveDate>,
    );
    let filters: [Filter; 5] = [
        ("no filter", None, None, None, None, None),
        ("topic", Some("property_management"), None, None, None, None),
        ("district", None, Some("朝阳区"), None, None, None),
        ("dates", None, None, None, day(2020, 1, 1), day(2022, 1, 1)),
        (
            "topic+status+dates",
            Some("other"),
            None,
            Some("received"),
            day(2019, 1, 1),
            day(2024, 1, 1),
        ),
    ];
    let rounds = 10;
    let mut all = Vec::new();
    println!(
        "{tickets} tickets in {} (opened in {open_secs:.1} s)",
        dir.display()
    );
    for (label, topic, district, status, from, to) in filters {
        let mut times = Vec::new();
        let mut hits = 0usize;
        for round in 0..=rounds {
            for q in QUERIES {
                let view = SearchParamsView {
                    q,
                    topic,
                    district,
                    kind: None,
                    status,
                    from,
                    to,
                    page: 1,
                    per_page: 20,
                    personal: false,
                };
                let started = Instant::now();
                let page = run_search(&state, &view).unwrap_or_else(|e| panic!("{}", e.message));
                let ms = started.elapsed().as_secs_f64() * 1e3;
                // Round 0 warms the caches and is not counted.
                if round > 0 {
                    times.push(ms);
                    hits += page.total;
                }
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{label:<20} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  (mean matches {:.0})",
            percentile(&times, 0.50),
            percentile(&times, 0.95),
            percentile(&times, 0.99),
            hits as f64 / times.len() as f64
        );
        all.extend(times);
    }
    all.sort_by(f64::total_cmp);
    println!(
        "{:<20} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  ({} searches)",
        "all",
        percentile(&all, 0.50),
        percentile(&all, 0.95),
        percentile(&all, 0.99),
        all.len()
    );
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}
