//! HTTP load on loopback, 64 connections for a fixed time each phase:
//!
//! - `submit`: tickets as fast as the server answers (closed loop: each
//!   connection sends its next request when the last is answered), which
//!   gives the peak throughput;
//! - `rate`: tickets at a fixed offered rate (HOTLINE_LOAD_RATE, default
//!   5,000/s) spread over the connections (open loop), which gives the
//!   latency at that throughput. Latency runs from the moment a request was
//!   due, not when it was sent, so a stalled server is not flattered by the
//!   requests it delayed (coordinated omission);
//! - `mixed`: closed loop, 70 % submit, 20 % search, 10 % stats;
//! - `classify`: `POST /classify` (the suggestion an operator sees while
//!   typing; nothing stored) at the offered rate, open loop.
//!
//! Reports throughput, p50/p95/p99 latency and how many requests were shed
//! (503). Every acknowledged ticket is durable (journal fsynced before the
//! 201). The server runs on its own runtime (as `hotline serve` does) and the
//! process on mimalloc, like the binary; the client shares the 2 cores.
//!
//!   cargo bench --bench load   HOTLINE_LOAD_SECS (default 10), HOTLINE_LOAD_CONNECTIONS (64),
//!                              HOTLINE_LOAD_RATE (5000), HOTLINE_LOAD_PHASES (submit,rate,mixed,classify),
//!                              HOTLINE_BENCH_FILE (tickets to send; default: the import fixture)

use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use hotline_suite::TestServer;

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    /// (tenth of a second since the start the request was due, latency µs).
    timeline: Vec<(u64, u64)>,
    ok: u64,
    shed: u64,
    other: u64,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// What a phase sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Traffic {
    /// `POST /tickets` only.
    Submit,
    /// 70 % submit, 20 % search, 10 % stats.
    Mixed,
    /// `POST /classify` only: the suggestion an operator sees while typing.
    Classify,
}

/// One phase of load: its name, what it sends, and its offered rate (None:
/// as fast as answered).
struct Phase {
    name: &'static str,
    traffic: Traffic,
    rate: Option<f64>,
}

async fn phase(
    Phase {
        name,
        traffic,
        rate,
    }: Phase,
    base: &str,
    tokens: &[String],
    texts: Arc<Vec<String>>,
    connections: usize,
    secs: u64,
) {
    // Clients are built and connected before the clock starts: building one
    // loads the TLS roots, and 64 of them would put the open-loop schedule
    // behind before the first ticket.
    let mut clients = Vec::with_capacity(connections);
    for c in 0..connections {
        let http = TestServer::client(&tokens[c % tokens.len()]);
        let _ = http.get(format!("{base}/health")).send().await;
        clients.push(http);
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    let url = |path: &str| {
        reqwest::Url::parse(&format!("{base}{path}")).unwrap_or_else(|e| panic!("{e}"))
    };
    let (tickets_url, classify_url, search_url, stats_url) = (
        url("/tickets"),
        url("/classify"),
        url("/search?q=%E5%B0%8F%E5%8C%BA+%E7%89%A9%E4%B8%9A&per_page=10"),
        url("/stats?by=topic"),
    );
    for (c, http) in clients.into_iter().enumerate() {
        let (tickets_url, classify_url, search_url, stats_url) = (
            tickets_url.clone(),
            classify_url.clone(),
            search_url.clone(),
            stats_url.clone(),
        );
        let texts = texts.clone();
        let name = name.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n = 0usize;
            loop {
                // Open loop: request k of connection c is due at
                // (k * connections + c) / rate after the start.
                let due = match rate {
                    Some(rate) => {
                        let due =
                            started + Duration::from_secs_f64((n * connections + c) as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                if due >= deadline {
                    break;
                }
                n += 1;
                let pick = (c * 7919 + n * 104_729) % 100;
                // The texts are JSON-quoted once, up front: the client's
                // work per request stays small beside the server's.
                let text = &texts[(c + n * connections) % texts.len()];
                let request = match traffic {
                    Traffic::Classify => http
                        .post(classify_url.clone())
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(format!(r#"{{"text":{text}}}"#)),
                    Traffic::Mixed if pick >= 90 => http.get(stats_url.clone()),
                    Traffic::Mixed if pick >= 70 => http.get(search_url.clone()),
                    Traffic::Submit | Traffic::Mixed => {
                        let body = format!(r#"{{"text":{text},"external_id":"{name}-{c}-{n}"}}"#);
                        http.post(tickets_url.clone())
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(body)
                    }
                };
                let t = due;
                match request.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        match status {
                            200 | 201 => {
                                tally.ok += 1;
                                let latency = t.elapsed().as_micros() as u64;
                                tally.latencies_us.push(latency);
                                let at = t.duration_since(started).as_millis() as u64 / 100;
                                tally.timeline.push((at, latency));
                            }
                            503 => tally.shed += 1,
                            _ => tally.other += 1,
                        }
                    }
                    Err(_) => tally.other += 1,
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await.unwrap_or_default();
        all.latencies_us.extend(t.latencies_us);
        all.timeline.extend(t.timeline);
        all.ok += t.ok;
        all.shed += t.shed;
        all.other += t.other;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if name == "warmup" {
        return;
    }
    all.latencies_us.sort_unstable();
    // HOTLINE_LOAD_TIMELINE=1: the worst latency of each tenth of a second,
    // to tell a steady queue from stalls.
    if std::env::var_os("HOTLINE_LOAD_TIMELINE").is_some() {
        let mut worst: std::collections::BTreeMap<u64, u64> = Default::default();
        for (at, latency) in &all.timeline {
            let w = worst.entry(*at).or_default();
            *w = (*w).max(*latency);
        }
        let line: Vec<String> = worst
            .values()
            .map(|us| format!("{:.0}", *us as f64 / 1000.0))
            .collect();
        println!("{name} worst ms per 0.1 s: {}", line.join(" "));
    }
    println!(
        "{name:<8} {connections} connections {secs}s{}: {:>8.0} req/s ok  p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms  (ok {}, shed 503 {}, other {})",
        rate.map_or(String::new(), |r| format!(" at {r:.0}/s offered")),
        all.ok as f64 / elapsed,
        percentile(&all.latencies_us, 0.50),
        percentile(&all.latencies_us, 0.95),
        percentile(&all.latencies_us, 0.99),
        all.ok,
        all.shed,
        all.other
    );
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let secs: u64 = std::env::var("HOTLINE_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 10 });
    let connections: usize = std::env::var("HOTLINE_LOAD_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let source = std::env::var("HOTLINE_BENCH_FILE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/import/tickets.jsonl"
        )
        .to_owned()
    });
    let texts: Vec<String> = std::fs::read_to_string(&source)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            v.get("text")
                .and_then(|t| t.as_str())
                .map(|t| t.chars().take(2000).collect::<String>())
        })
        .filter(|t| !t.trim().is_empty())
        .map(|t| serde_json::to_string(&t).unwrap_or_else(|e| panic!("{e}")))
        .take(5000)
        .collect();
    let rate: f64 = std::env::var("HOTLINE_LOAD_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000.0);
    let runtime = |threads: usize, name: &str| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(name)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server_runtime = runtime(cores, "server");
    // Named, so that a profile tells the client's threads from the server's.
    let client_runtime = runtime(cores, "load-client");
    let server = server_runtime.block_on(TestServer::start());
    // One token per connection, as each operator has their own: one token
    // may hold only `server.max_in_flight_per_token` (32) requests with a
    // body at once, and 64 connections on one token were half refused (429).
    let tokens: Vec<String> = (0..connections)
        .map(|_| server_runtime.block_on(server.token("admin", false, None)))
        .collect();
    let texts = Arc::new(texts);
    let base = server.base.clone();
    client_runtime.block_on(async {
        let phases = [
            Phase {
                name: "submit",
                traffic: Traffic::Submit,
                rate: None,
            },
            Phase {
                name: "rate",
                traffic: Traffic::Submit,
                rate: Some(rate),
            },
            Phase {
                name: "mixed",
                traffic: Traffic::Mixed,
                rate: None,
            },
            Phase {
                name: "classify",
                traffic: Traffic::Classify,
                rate: Some(rate),
            },
        ];
        // HOTLINE_LOAD_PHASES picks some (e.g. "rate"); each phase's
        // backlog (the index catching up) weighs on the next.
        let only = std::env::var("HOTLINE_LOAD_PHASES").unwrap_or_default();
        // Two seconds of submissions first, not reported: the first requests
        // of a fresh process page in the binary and the dictionaries, fill
        // caches and start the blocking threads.
        phase(
            Phase {
                name: "warmup",
                traffic: Traffic::Submit,
                rate: Some(rate / 2.0),
            },
            &base,
            &tokens,
            texts.clone(),
            connections,
            2,
        )
        .await;
        for p in phases {
            if only.is_empty() || only.split(',').any(|o| o.trim() == p.name) {
                phase(p, &base, &tokens, texts.clone(), connections, secs).await;
            }
        }
    });
    server_runtime.block_on(server.stop());
}
