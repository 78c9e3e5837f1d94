//! Limits a hostile client cannot exhaust (issue 15, defects 7 and 8),
//! against a real server on loopback with short timeouts.

use std::time::{Duration, Instant};

use hotline_suite::TestServer;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;

/// The address part of `http://127.0.0.1:PORT`.
fn addr(server: &TestServer) -> String {
    server.root.trim_start_matches("http://").to_owned()
}

/// Opens `n` connections that send the headers of a ticket submission and
/// the start of its body, and then nothing: the body never completes.
/// (Plain sockets, on a blocking thread.)
async fn stalled_submissions(addr: &str, token: &str, n: usize) -> Vec<TcpStream> {
    let (addr, token) = (addr.to_owned(), token.to_owned());
    tokio::task::spawn_blocking(move || {
        (0..n)
            .map(|_| {
                let mut s = TcpStream::connect(&addr).unwrap_or_else(|e| panic!("{e}"));
                let head = format!(
                    "POST /api/v1/tickets HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"text\": \""
                );
                s.write_all(head.as_bytes())
                    .unwrap_or_else(|e| panic!("{e}"));
                s
            })
            .collect()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The status each socket is answered with (`none` if it is not before
/// `limit`), counted.
async fn answers(
    sockets: Vec<TcpStream>,
    limit: Duration,
) -> std::collections::BTreeMap<String, usize> {
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + limit;
        let mut counted = std::collections::BTreeMap::<String, usize>::new();
        for mut s in sockets {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10));
            let _ = s.set_read_timeout(Some(left));
            let mut buf = [0u8; 12];
            let status = match s.read_exact(&mut buf) {
                Ok(()) => String::from_utf8_lossy(&buf[9..12]).into_owned(),
                Err(_) => "none".to_owned(),
            };
            *counted.entry(status).or_default() += 1;
        }
        counted
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_of_one_token_leave_intake_open_to_the_others() {
    let server = TestServer::start_with(|c| {
        c.server.body_read_timeout_ms = 3_000;
    })
    .await;
    let hostile = server.token("operator", false, None).await;
    let other = server.token("operator", false, None).await;
    let addr = addr(&server);
    let stalled = stalled_submissions(&addr, &hostile, 300).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let http = TestServer::client(&other);
    for i in 0..5 {
        let started = Instant::now();
        let r = http
            .post(format!("{}/tickets", server.base))
            .json(&json!({"text": format!("第{i}件：楼道灯坏了一个月没人修")}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    // The hostile token's own next submission is refused at once: it holds
    // its whole share.
    let r = TestServer::client(&hostile)
        .post(format!("{}/tickets", server.base))
        .json(&json!({"text": "楼道灯坏了"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));

    // Every stalled submission is answered: refused for the share at once,
    // or 408 once the body deadline passes.
    let answers = answers(stalled, Duration::from_secs(5)).await;
    assert_eq!(
        answers.keys().map(String::as_str).collect::<Vec<_>>(),
        ["408", "429"],
        "{answers:?}"
    );
    server.stop().await;
}

/// Connections to `port` that this process has accepted: sockets it holds
/// a descriptor for whose local port is `port` (connections waiting in the
/// kernel's accept queue have none). Other tests' sockets do not count.
fn accepted_on(port: u16) -> usize {
    let held: std::collections::HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut n = 0;
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // 01: established (not the listening socket).
            if local_port == Some(port)
                && f.get(3) == Some(&"01")
                && f.get(9).is_some_and(|i| held.contains(*i))
            {
                n += 1;
            }
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_beyond_the_cap_neither_hold_descriptors_nor_lock_out_a_fresh_client() {
    let server = TestServer::start_with(|c| {
        c.server.max_connections = 50;
        c.server.header_read_timeout_ms = 600;
    })
    .await;
    let addr = addr(&server);
    let port: u16 = addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a port in {addr}"));
    let connect = addr.clone();
    let idle: Vec<TcpStream> = tokio::task::spawn_blocking(move || {
        (0..200)
            .map(|_| TcpStream::connect(&connect).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // The server holds at most its cap; the rest wait in the kernel's queue.
    let mut most = 0;
    for _ in 0..25 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        most = most.max(accepted_on(port));
    }
    assert!(
        (40..=50).contains(&most),
        "the server held up to {most} connections"
    );

    // A fresh client waits for idle sockets to time out, then is served.
    let started = Instant::now();
    let r = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(idle);

    // A kept-alive connection left idle is closed after the timeout.
    let connect = addr.clone();
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(&connect).unwrap_or_else(|e| panic!("{e}"));
        let request = format!("GET /api/v1/health HTTP/1.1\r\nhost: {connect}\r\n\r\n");
        s.write_all(request.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let started = Instant::now();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        (
            started.elapsed(),
            String::from_utf8_lossy(&answer).into_owned(),
        )
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        closed_after.1.starts_with("HTTP/1.1 200"),
        "{}",
        closed_after.1
    );
    assert!(
        closed_after.0 < Duration::from_secs(3),
        "an idle kept-alive connection stayed open {:?}",
        closed_after.0
    );
    server.stop().await;
}

/// The sustained run of BENCHMARKS.md (opt-in: `cargo test -p hotline-suite
/// --test tests sustained_siege -- --ignored --nocapture`). One client sends
/// tickets at a steady rate (open loop: latency counts from when a request
/// was due); after a quiet phase, a second client holds a thousand slow
/// connections (headers sent a byte a second, reopened when closed) and a
/// third trickles ticket bodies with an operator token on hundreds of
/// connections (a byte a second, reopened when answered). Prints the steady
/// client's p50/p99 and errors before and during.
///
/// HOTLINE_SIEGE_SECS (each phase, default 20), HOTLINE_SIEGE_RATE (steady
/// requests a second, default 100), HOTLINE_SIEGE_SLOW (1000),
/// HOTLINE_SIEGE_TRICKLE (300), HOTLINE_SIEGE_LIMITS=off (for comparison:
/// the per-token share as large as the whole in-flight limit and 10-minute
/// header and body timeouts, as good as no limits).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a sustained run of about a minute; see BENCHMARKS.md"]
async fn sustained_siege() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let secs = env("HOTLINE_SIEGE_SECS", 20);
    let rate = env("HOTLINE_SIEGE_RATE", 100);
    let slow = env("HOTLINE_SIEGE_SLOW", 1000) as usize;
    let trickle = env("HOTLINE_SIEGE_TRICKLE", 300) as usize;

    let limits_off = std::env::var("HOTLINE_SIEGE_LIMITS").is_ok_and(|v| v == "off");
    let server = TestServer::start_with(move |c| {
        if limits_off {
            c.server.max_in_flight_per_token = c.server.max_in_flight;
            c.server.header_read_timeout_ms = 600_000;
            c.server.body_read_timeout_ms = 600_000;
        }
    })
    .await;
    let steady_token = server.token("operator", false, None).await;
    let hostile_token = server.token("operator", false, None).await;
    let addr = addr(&server);
    let base = server.base.clone();
    let config = &server.state.config.server;
    println!(
        "server: max_connections {}, max_in_flight {}, per token {}, header timeout {} ms, body timeout {} ms",
        config.max_connections,
        config.max_in_flight,
        config.max_in_flight_per_token,
        config.header_read_timeout_ms,
        config.body_read_timeout_ms
    );

    // The steady client, on its own thread and runtime.
    let steady = |phase: &'static str| {
        let (base, token) = (base.clone(), steady_token.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            rt.block_on(async move {
                let http = TestServer::client(&token);
                let started = tokio::time::Instant::now();
                let n = secs * rate;
                let mut tasks = Vec::with_capacity(n as usize);
                for i in 0..n {
                    let due = started + Duration::from_micros(i * 1_000_000 / rate);
                    tokio::time::sleep_until(due).await;
                    let http = http.clone();
                    let url = format!("{base}/tickets");
                    tasks.push(tokio::spawn(async move {
                        let body = json!({
                            "text": format!("{phase}第{i}件：朝阳区望京小区楼道灯坏了一个月没人修，晚上很黑"),
                            "external_id": format!("siege-{phase}-{i}"),
                        });
                        let ok = match http.post(url).json(&body).send().await {
                            Ok(r) => r.status().is_success(),
                            Err(_) => false,
                        };
                        (due.elapsed(), ok)
                    }));
                }
                let mut latencies = Vec::with_capacity(tasks.len());
                let mut errors = 0u64;
                for t in tasks {
                    let (latency, ok) = t.await.unwrap_or_else(|e| panic!("{e}"));
                    latencies.push(latency);
                    errors += u64::from(!ok);
                }
                latencies.sort();
                let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
                (latencies.len(), p(0.5), p(0.99), *latencies.last().unwrap_or(&Duration::ZERO), errors)
            })
        })
    };
    let report = |phase: &str, r: (usize, Duration, Duration, Duration, u64)| {
        println!(
            "{phase:>7}: {} requests at {rate}/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, errors {}",
            r.0,
            r.1.as_secs_f64() * 1e3,
            r.2.as_secs_f64() * 1e3,
            r.3.as_secs_f64() * 1e3,
            r.4
        );
    };

    let before = steady("before")
        .join()
        .unwrap_or_else(|_| panic!("steady client"));
    report("before", before);

    // The attackers, on their own thread and runtime.
    let stop = Arc::new(AtomicBool::new(false));
    // Connections opened; closed by the server without an answer; answered
    // 408, 429, 503, anything else.
    let tally: Arc<[AtomicU64; 6]> = Arc::new(Default::default());
    let attackers = {
        let (stop, tally) = (stop.clone(), tally.clone());
        let (addr, token) = (addr.clone(), hostile_token.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            rt.block_on(async move {
                let mut tasks = Vec::new();
                for i in 0..slow + trickle {
                    let (stop, tally) = (stop.clone(), tally.clone());
                    let (addr, token) = (addr.clone(), token.clone());
                    // Slow headers (no token) or a trickled body (the operator's token).
                    let head = if i < slow {
                        format!("GET /api/v1/health HTTP/1.1\r\nhost: {addr}\r\nx-slow: ")
                    } else {
                        format!("POST /api/v1/tickets HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{{\"text\": \"")
                    };
                    tasks.push(tokio::spawn(async move {
                        // Spread the openings over the first second.
                        tokio::time::sleep(Duration::from_micros((i as u64 * 997) % 1_000_000)).await;
                        while !stop.load(Ordering::Relaxed) {
                            let Ok(s) = tokio::net::TcpStream::connect(&addr).await else {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                continue;
                            };
                            tally[0].fetch_add(1, Ordering::Relaxed);
                            let mut pending = head.as_bytes().to_vec();
                            let mut buf = [0u8; 512];
                            loop {
                                if stop.load(Ordering::Relaxed) {
                                    return;
                                }
                                // Whatever is left of the head, then a byte a second.
                                if !pending.is_empty() {
                                    match s.try_write(&pending) {
                                        Ok(n) => drop(pending.drain(..n)),
                                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                                        Err(_) => break,
                                    }
                                } else if s.try_write(b"a").is_err() {
                                    break;
                                }
                                match s.try_read(&mut buf) {
                                    Ok(0) => {
                                        tally[1].fetch_add(1, Ordering::Relaxed);
                                        break;
                                    }
                                    Ok(n) => {
                                        let slot = match buf.get(9..12.min(n)) {
                                            Some(b"408") => 2,
                                            Some(b"429") => 3,
                                            Some(b"503") => 4,
                                            _ => 5,
                                        };
                                        tally[slot].fetch_add(1, Ordering::Relaxed);
                                        break;
                                    }
                                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                                    Err(_) => break,
                                }
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }));
                }
                for t in tasks {
                    let _ = t.await;
                }
            });
        })
    };
    // Let every attacking connection open before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = steady("during")
        .join()
        .unwrap_or_else(|_| panic!("steady client"));
    report("during", during);
    let n = |i: usize| tally[i].load(Ordering::Relaxed);
    println!(
        " attack: {slow} slow-header and {trickle} trickling connections at a time; {} opened in all, {} closed by the server unanswered, answered 408: {}, 429: {}, 503: {}, other: {}",
        n(0), n(1), n(2), n(3), n(4), n(5)
    );
    stop.store(true, Ordering::Relaxed);
    let _ = attackers.join();
    server.stop().await;
}
