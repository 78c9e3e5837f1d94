//! One clock (issue 15, defect 5): the engine's times are Beijing time
//! (UTC+8, as imports' times are read), whatever the machine's time zone.
//! `hotline serve` runs under TZ=Asia/Shanghai and under TZ=UTC; in both, a
//! ticket's default receipt and an event's default time are now in Beijing,
//! so the event does not land before the receipt.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serde_json::{json, Value};

fn hotline(data: &Path, tz: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.env("TZ", tz).arg("--data-dir").arg(data);
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn time(v: &Value) -> NaiveDateTime {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// What the server records for a ticket and an event given no time, with
/// `TZ` set to `tz`.
async fn default_times(tz: &str) -> (NaiveDateTime, NaiveDateTime) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let created = hotline(&data, tz)
        .args(["token", "create", "--role", "operator"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let mut child = hotline(&data, tz)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status() == 200 {
                break;
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
    let call = |r: reqwest::RequestBuilder| async {
        let r = r
            .bearer_auth(&token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
        (status, body)
    };
    let (status, body) = call(
        http.post(format!("{base}/tickets"))
            .json(&json!({"text": "小区楼道里有人飞线给电动车充电，很危险", "district": "朝阳区"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    let (status, body) = call(
        http.post(format!("{base}/tickets/{id}/events"))
            .json(&json!({"type": "dispatched", "department": "朝阳区城管委"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let ticket = &body["ticket"];
    let times = (
        time(&ticket["received_at"]),
        time(&ticket["events"][0]["at"]),
    );
    let _ = child.kill();
    let _ = child.wait();
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_times_are_beijing_time_whatever_the_machine_zone() {
    for tz in ["Asia/Shanghai", "UTC"] {
        let (received, dispatched) = default_times(tz).await;
        let beijing = (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc();
        let off = |t: NaiveDateTime| (beijing - t).num_seconds().abs();
        assert!(
            off(received) < 120,
            "TZ={tz}: received {received}, Beijing now {beijing}"
        );
        assert!(
            off(dispatched) < 120,
            "TZ={tz}: dispatched {dispatched}, Beijing now {beijing}"
        );
        assert!(
            dispatched >= received,
            "TZ={tz}: dispatched {dispatched} before receipt {received}"
        );
    }
}
