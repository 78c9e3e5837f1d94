//! The HTTP API against a real server on 127.0.0.1:0.

use serde_json::{json, Value};

struct Server {
    base: String,
    /// An admin token with personal data: every route is open to it.
    token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow_free::Result>,
    _dir: tempfile::TempDir,
}

mod anyhow_free {
    pub type Result = std::result::Result<(), String>;
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().to_owned();
    let (state, token) = tokio::task::spawn_blocking(move || {
        let state = hotline_suite::state_in(&path);
        let token = hotline_suite::token(&state, "admin", true, None);
        (state, token)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!(
        "http://{}/api/v1",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        hotline::server::serve_on(state, listener, async {
            let _ = rx.await;
        })
        .await
        .map_err(|e| e.to_string())
    });
    Server {
        base,
        token,
        shutdown: Some(tx),
        task,
        _dir: dir,
    }
}

impl Server {
    /// A client that sends the admin token on every request.
    fn client(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {}", self.token)
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        headers.insert(reqwest::header::AUTHORIZATION, value);
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

async fn stop(mut server: Server) {
    if let Some(tx) = server.shutdown.take() {
        let _ = tx.send(());
    }
    let result = (&mut server.task).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_search_events_stats() {
    let server = start().await;
    let http = server.client();
    let base = &server.base;

    let created = http
        .post(format!("{base}/tickets"))
        .json(&json!({
            "text": "朝阳区望京小区没有电动车充电桩，大家只能飞线充电",
            "kind": "投诉",
            "caller_phone": "13812345678",
            "received_at": "2024-03-02 09:00:00",
        }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body["topic"]["slug"], "ebike_charging");
    assert_eq!(body["department"], "市城市管理委");
    assert_eq!(body["district"], "朝阳区");
    assert!(body["routing"]["deciding_words"]
        .as_array()
        .is_some_and(|w| !w.is_empty()));
    let id = body["id"].as_str().unwrap_or_default().to_owned();

    // Searchable within a second of the answer.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let found: Value = http
        .get(format!("{base}/search"))
        .query(&[("q", "充电桩"), ("district", "朝阳区")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["hits"][0]["ticket"]["id"], id.as_str());

    for event in [
        json!({"type": "dispatched", "department": "市城市管理委", "at": "2024-03-02T10:00:00"}),
        json!({"type": "contacted", "at": "2024-03-02T15:00:00"}),
        json!({"type": "feedback", "resolved": true, "at": "2024-03-04T10:00:00"}),
        json!({"type": "callback", "valid": true, "contacted": true, "resolved": true, "satisfaction": "basically_satisfied", "at": "2024-03-05T10:00:00"}),
    ] {
        let r = http
            .post(format!("{base}/tickets/{id}/events"))
            .json(&event)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 201, "{event}");
    }
    let stats: Value = http
        .get(format!("{base}/stats"))
        .query(&[
            ("from", "2024-03-01"),
            ("to", "2024-03-31"),
            ("by", "topic"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let row = &stats["rows"][0];
    assert_eq!(row["key"], "ebike_charging");
    assert_eq!(row["valid_callbacks"], 1);
    assert_eq!(row["resolution_rate"], 1.0);
    assert!((row["satisfaction_rate"].as_f64().unwrap_or_default() - 0.9).abs() < 1e-9);

    // Override, then the ticket shows the new topic and the event.
    let r = http
        .put(format!("{base}/tickets/{id}/topic"))
        .json(&json!({"topic": "property_management", "reason": "物业拆了充电桩"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let shown: Value = http
        .get(format!("{base}/tickets/{id}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shown["ticket"]["topic"]["slug"], "property_management");
    assert_eq!(shown["ticket"]["events"].as_array().map(Vec::len), Some(5));
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_mistakes_are_4xx_with_a_field() {
    let server = start().await;
    let http = server.client();
    let base = &server.base;
    let cases: Vec<(reqwest::RequestBuilder, u16, Option<&str>)> = vec![
        (
            http.post(format!("{base}/tickets"))
                .json(&json!({"text": "   "})),
            422,
            Some("text"),
        ),
        (
            http.post(format!("{base}/tickets"))
                .json(&json!({"text": "充电桩坏了", "kind": "闲聊"})),
            422,
            Some("kind"),
        ),
        (
            http.post(format!("{base}/tickets"))
                .json(&json!({"text": "充电桩坏了", "received_at": "昨天"})),
            422,
            Some("received_at"),
        ),
        (
            http.post(format!("{base}/tickets"))
                .json(&json!({"text": "充电桩坏了", "colour": "red"})),
            422,
            None,
        ),
        (
            http.post(format!("{base}/tickets"))
                .header("content-type", "application/json")
                .body("{not json"),
            400,
            None,
        ),
        (
            http.post(format!("{base}/tickets"))
                .header("content-type", "application/json")
                .body(vec![b'"'; 300_000]),
            413,
            None,
        ),
        (
            http.get(format!("{base}/tickets/not-a-uuid")),
            422,
            Some("id"),
        ),
        (
            http.get(format!("{base}/tickets/{}", uuid::Uuid::now_v7())),
            404,
            None,
        ),
        (http.get(format!("{base}/stats?by=year")), 422, Some("by")),
        (
            http.get(format!("{base}/search?q=x&from=2024-13-01")),
            422,
            Some("from"),
        ),
    ];
    for (request, status, field) in cases {
        let r = request.send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), status);
        if status != 413 && status != 400 {
            let body: Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{body}"
            );
            if let Some(field) = field {
                assert_eq!(body["error"]["field"], field, "{body}");
            }
        }
    }
    let topics: Value = http
        .get(format!("{base}/topics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(topics["topics"].as_array().map(Vec::len), Some(14));
    let spec: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec["openapi"], "3.0.3");
    stop(server).await;
}
