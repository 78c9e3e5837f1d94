//! The log cannot be flooded from outside (issue 15, defect 16): requests
//! with methods no route takes (OPTIONS, TRACE) and requests shed under
//! overload write no warning each; shedding is summed up in at most one
//! warning per interval, with a count. Its own process: the test installs
//! the global log subscriber.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = self.0.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_odd_methods_and_shed_requests_do_not_flood_the_log() {
    let logs = Sink(Arc::default());
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .init();

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let state = tokio::task::spawn_blocking(move || {
        let mut config = hotline::config::Config::load(None).unwrap_or_else(|e| panic!("{e}"));
        // One request at a time: a second one is shed at once.
        config.server.max_in_flight = 1;
        hotline::AppState::open(config, &data).unwrap_or_else(|e| panic!("{e:#}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let operator = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            let new = hotline_store::NewToken {
                name: "operator".into(),
                role: hotline_store::Role::Operator,
                pii: false,
                district: None,
            };
            state
                .tokens
                .create(new, hotline_store::Issuer::Local)
                .unwrap_or_else(|e| panic!("{e}"))
                .1
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hotline::server::serve_on(state, listener, async {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}/api/v1");
    let http = reqwest::Client::new();

    // Methods no route takes, without a token.
    for method in ["OPTIONS", "TRACE"] {
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        for path in ["tickets", "search", "tokens"] {
            for _ in 0..40 {
                let r = http
                    .request(method.clone(), format!("{base}/{path}"))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    r.status().is_client_error(),
                    "{method} {path}: {}",
                    r.status()
                );
            }
        }
    }

    // One submission holds the only slot: its body never arrives.
    let mut held = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {operator}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{"
    );
    held.write_all(head.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut shed = 0;
    for _ in 0..200 {
        // The same route as the held one (the limit may be per route).
        let r = http
            .post(format!("{base}/tickets"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        shed += usize::from(r.status() == 503);
    }
    assert!(shed >= 190, "only {shed} of 200 were shed");
    drop(held);

    let _ = stop.send(());
    server
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let logs = logs.0.lock().map(|l| l.clone()).unwrap_or_default();
    let logs = String::from_utf8_lossy(&logs);
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains(" WARN ")).collect();
    assert!(
        warnings.len() <= 2,
        "{} warnings for 240 odd requests and {shed} shed ones:\n{}",
        warnings.len(),
        warnings.join("\n")
    );
    // Shedding is still told, with a count.
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("shed") && w.contains("count=")),
        "{logs}"
    );
}
