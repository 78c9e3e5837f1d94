//! `hotline serve` killed with SIGKILL under load, again and again: every
//! ticket that got a 201 must be there after the restarts, once, searchable
//! and counted once (counters equal a recount, the index holds every ticket).
//!
//! HOTLINE_KILLS sets the number of kills (default 20; the long run uses more).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn hotline(data: &Path, config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.arg("--data-dir").arg(data).arg("--config").arg(config);
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn wait_healthy(http: &reqwest::Client, base: &str, child: &mut Child) {
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited while starting: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_tickets_survive_repeated_kills() {
    let kills: usize = std::env::var("HOTLINE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let model = dir.path().join("model.json");
    let config = dir.path().join("hotline.toml");
    // Train once, so that every restart loads the model instead of training.
    std::fs::write(&config, "").unwrap_or_else(|e| panic!("{e}"));
    let corpus: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/corpus"))
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
    let trained = hotline(&data, &config)
        .arg("train")
        .arg("--out")
        .arg(&model)
        .arg("--data")
        .args(&corpus)
        .output();
    assert!(
        trained.as_ref().is_ok_and(|o| o.status.success()),
        "train: {trained:?}"
    );
    std::fs::write(
        &config,
        format!("[router]\nmodel = {:?}\n", model.display().to_string()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let created = hotline(&data, &config)
        .args(["token", "create", "--role", "operator"])
        .output();
    let created = created.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8_lossy(&created.stdout).trim().to_owned();

    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    for round in 0..kills {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}/api/v1");
        let mut child = hotline(&data, &config)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = child.stderr.take();
        std::thread::spawn(move || {
            // Drain the server's log so it never blocks on a full pipe.
            if let Some(s) = stderr {
                for _ in BufReader::new(s).lines() {}
            }
        });
        wait_healthy(&http, &base, &mut child).await;
        let mut writers = Vec::new();
        for w in 0..4 {
            let http = http.clone();
            let base = base.clone();
            let acked = acked.clone();
            writers.push(tokio::spawn(async move {
                for n in 0.. {
                    let external_id = format!("k{round}-{w}-{n}");
                    let body = serde_json::json!({
                        "text": format!("第{round}轮第{n}件：小区楼道里有人飞线给电动车充电，很危险"),
                        "external_id": external_id,
                        "caller_phone": format!("1380000{w}{:03}", n % 1000),
                    });
                    match http.post(format!("{base}/tickets")).json(&body).send().await {
                        Ok(r) if r.status() == 201 => acked.lock().unwrap_or_else(|e| e.into_inner()).push(external_id),
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        Err(_) => return, // the server died mid-request: not acknowledged
                    }
                }
            }));
        }
        // Kill at a pseudo-random moment between 0.2 and 0.8 s of load.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(200 + seed % 600)).await;
        child.kill().unwrap_or_else(|e| panic!("{e}")); // SIGKILL
        let _ = child.wait();
        for w in writers {
            let _ = w.await;
        }
    }

    let acked = acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        acked.len() > kills,
        "some tickets were acknowledged ({})",
        acked.len()
    );
    let store = hotline_store::Store::open(&data, hotline_store::StoreConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));
    for id in &acked {
        assert!(
            store
                .find_external(id)
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some(),
            "acknowledged {id} was lost"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for t in store.tickets() {
        let t = t.unwrap_or_else(|e| panic!("{e}"));
        let ext = t.external_id.unwrap_or_default();
        assert!(seen.insert(ext.clone()), "{ext} stored twice");
    }
    let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(
        report.indexed_docs, report.tickets,
        "every ticket is searchable"
    );
    eprintln!(
        "{kills} kills: {} acknowledged, {} stored, all present once",
        acked.len(),
        report.tickets
    );
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}
