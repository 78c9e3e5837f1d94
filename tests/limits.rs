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

/// Open descriptors of this process (the test and its server share it).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_beyond_the_cap_neither_hold_descriptors_nor_lock_out_a_fresh_client() {
    let server = TestServer::start_with(|c| {
        c.server.max_connections = 50;
        c.server.header_read_timeout_ms = 600;
    })
    .await;
    let addr = addr(&server);
    let before = open_fds();
    let connect = addr.clone();
    let idle: Vec<TcpStream> = tokio::task::spawn_blocking(move || {
        (0..200)
            .map(|_| TcpStream::connect(&connect).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    // 200 client sockets are ours; the server holds at most its cap.
    let server_side = open_fds().saturating_sub(before + 200);
    assert!(
        server_side <= 50 + 5,
        "the server holds {server_side} sockets"
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
