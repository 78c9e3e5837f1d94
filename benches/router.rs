//! Segmentation alone vs segmentation + routing, in tickets per second, on
//! the project's own import fixture (repeated), or on a JSONL file named by
//! HOTLINE_BENCH_FILE (fields `text`, optional `title`), e.g. the real
//! messages in ../shared/data/real/messages.jsonl.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hotline_classifier::full_text;
use std::hint::black_box;

// The binary runs on mimalloc; so do its benchmarks, to measure the same thing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A ticket's optional title and its text.
type Ticket = (Option<String>, String);

fn tickets() -> Vec<Ticket> {
    let path = std::env::var("HOTLINE_BENCH_FILE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/import/tickets.jsonl"
        )
        .to_owned()
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows: Vec<Ticket> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let body = v.get("text")?.as_str()?.to_owned();
            Some((
                v.get("title").and_then(|t| t.as_str()).map(str::to_owned),
                body,
            ))
        })
        .take(2000)
        .collect();
    assert!(!rows.is_empty(), "no tickets in {path}");
    rows
}

/// The latency of one ticket's whole analysis (what `POST /classify`
/// computes), per call over five passes, which criterion's means do not show.
fn analysis_latency(analyzer: &hotline_classifier::Analyzer, tickets: &[Ticket]) {
    let mut micros: Vec<f64> = Vec::with_capacity(tickets.len() * 5);
    for _ in 0..5 {
        for (title, text) in tickets {
            let started = std::time::Instant::now();
            black_box(analyzer.analyze(title.as_deref(), text));
            micros.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    micros.sort_by(f64::total_cmp);
    let at = |p: f64| micros[((micros.len() - 1) as f64 * p) as usize];
    println!(
        "analysis latency per ticket ({} calls): p50 {:.0} µs  p99 {:.0} µs  max {:.0} µs",
        micros.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// Segments every ticket: the budget's reference.
fn segment_only(analyzer: &hotline_classifier::Analyzer, tickets: &[Ticket]) {
    for (title, text) in tickets {
        let full = full_text(title.as_deref(), text);
        black_box(analyzer.segmenter().segment(&full));
    }
}

/// Segments and routes every ticket, without district detection: what
/// issue 2 bounds at twice [`segment_only`].
fn segment_then_route(analyzer: &hotline_classifier::Analyzer, tickets: &[Ticket]) {
    for (title, text) in tickets {
        let full = full_text(title.as_deref(), text);
        let seg = analyzer.segmenter().segment(&full);
        black_box(analyzer.router().route(&seg, &full));
    }
}

/// The budget's ratio, routing with segmentation against segmentation
/// alone, measured in alternating passes over the same tickets (which goes
/// first alternates too): criterion measures the two functions one after
/// the other, tens of seconds apart, and on a shared machine the load moves
/// between them by more than the ratio's margin. Prints the median of the
/// rounds' ratios, their range, and the time per ticket of each.
fn paired_ratio(analyzer: &hotline_classifier::Analyzer, tickets: &[Ticket]) {
    let timed = |pass: fn(&hotline_classifier::Analyzer, &[Ticket])| {
        let started = std::time::Instant::now();
        pass(analyzer, tickets);
        started.elapsed().as_secs_f64()
    };
    let rounds = 15;
    let mut ratios = Vec::with_capacity(rounds);
    let (mut alone, mut with_routing) = (0.0, 0.0);
    for round in 0..rounds {
        let (s, r) = if round % 2 == 0 {
            let s = timed(segment_only);
            (s, timed(segment_then_route))
        } else {
            let r = timed(segment_then_route);
            (timed(segment_only), r)
        };
        alone += s;
        with_routing += r;
        ratios.push(r / s);
    }
    ratios.sort_by(f64::total_cmp);
    let per_ticket = |seconds: f64| seconds * 1e6 / (rounds * tickets.len()) as f64;
    println!(
        "segmentation + routing against segmentation alone, {rounds} alternating rounds: \
         median {:.2}x (range {:.2}-{:.2}x); {:.1} µs a ticket against {:.1} µs",
        ratios[rounds / 2],
        ratios[0],
        ratios[rounds - 1],
        per_ticket(with_routing),
        per_ticket(alone)
    );
}

fn bench(c: &mut Criterion) {
    let analyzer = hotline_suite::analyzer();
    let tickets = tickets();
    analysis_latency(&analyzer, &tickets);
    paired_ratio(&analyzer, &tickets);
    let mut group = c.benchmark_group("route");
    group.throughput(Throughput::Elements(tickets.len() as u64));
    group.sample_size(10);
    group.bench_function("segment_only", |b| {
        b.iter(|| segment_only(&analyzer, &tickets))
    });
    group.bench_function("segment_then_route", |b| {
        b.iter(|| segment_then_route(&analyzer, &tickets))
    });
    // The whole analysis of a submitted ticket: segmentation, routing, district.
    group.bench_function("segment_and_route", |b| {
        b.iter(|| {
            for (title, text) in &tickets {
                black_box(analyzer.analyze(title.as_deref(), text));
            }
        })
    });
    // The parts of routing, on texts segmented beforehand.
    let prepared: Vec<(String, hotline_classifier::Segmented)> = tickets
        .iter()
        .map(|(title, text)| {
            let full = full_text(title.as_deref(), text);
            let seg = analyzer.segmenter().segment(&full);
            (full, seg)
        })
        .collect();
    group.bench_function("route_only", |b| {
        b.iter(|| {
            for (full, seg) in &prepared {
                black_box(analyzer.router().route(seg, full));
            }
        })
    });
    group.bench_function("district_only", |b| {
        b.iter(|| {
            for (full, _) in &prepared {
                black_box(analyzer.gazetteer().detect(full));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
