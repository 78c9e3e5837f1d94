//! The HTTP API against a real server on 127.0.0.1:0.

use hotline_suite::TestServer;
use serde_json::{json, Value};

struct Server {
    base: String,
    /// An admin token with personal data: every route is open to it.
    token: String,
    inner: TestServer,
}

async fn start() -> Server {
    start_with(|_| {}).await
}

async fn start_with(adjust: impl FnOnce(&mut hotline::config::Config) + Send + 'static) -> Server {
    let inner = TestServer::start_with(adjust).await;
    let token = inner.token("admin", true, None).await;
    Server {
        base: inner.base.clone(),
        token,
        inner,
    }
}

impl Server {
    /// A client that sends the admin token on every request.
    fn client(&self) -> reqwest::Client {
        TestServer::client(&self.token)
    }

    /// A client that opens a new connection per request. The server may
    /// answer 413 before it has read an oversized body and then close the
    /// connection; a pooled client would race that close with its next
    /// request and fail it.
    fn client_without_reuse(&self) -> reqwest::Client {
        TestServer::client_builder(&self.token)
            .pool_max_idle_per_host(0)
            .build()
            .expect("a client")
    }
}

/// POSTs a JSON body; the status and the JSON answer.
async fn post_json(http: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let r = http
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_else(|e| panic!("{e}")))
}

async fn stop(server: Server) {
    server.inner.stop().await;
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
    let http = server.client_without_reuse();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_refused_with_503_and_nothing_acknowledged_is_lost() {
    let server = start_with(|c| c.server.max_in_flight = 2).await;
    // A shed request is answered before its body is read, so the server may
    // close that connection: no connection is reused.
    let http = server.client_without_reuse();
    let requests = (0..48).map(|i| {
        let http = http.clone();
        let url = format!("{}/tickets", server.base);
        async move {
            let body = json!({ "text": format!("第{i}件：楼下饭店油烟直排，呛得没法开窗，希望尽快处理"), "external_id": format!("load-{i}") });
            let r = http.post(url).json(&body).send().await.unwrap_or_else(|e| panic!("{e}"));
            let status = r.status().as_u16();
            let retry_after = r.headers().get("retry-after").is_some();
            let body: Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
            (i, status, retry_after, body)
        }
    });
    let results = futures_join_all(requests).await;
    let accepted: Vec<&(usize, u16, bool, Value)> = results.iter().filter(|r| r.1 == 201).collect();
    let shed: Vec<&(usize, u16, bool, Value)> = results.iter().filter(|r| r.1 == 503).collect();
    assert_eq!(
        accepted.len() + shed.len(),
        48,
        "only 201 or 503: {:?}",
        results.iter().map(|r| r.1).collect::<Vec<_>>()
    );
    assert!(
        !shed.is_empty(),
        "48 requests at once against 2 slots shed some"
    );
    assert!(shed
        .iter()
        .all(|r| r.2 && r.3["error"]["code"] == "overloaded"));
    for (_, _, _, body) in accepted {
        let id = body["id"].as_str().unwrap_or_default();
        let r = http
            .get(format!("{}/tickets/{id}", server.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "an acknowledged ticket is stored");
    }
    stop(server).await;
}

/// Runs the futures concurrently on the runtime and returns their outputs in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap_or_else(|e| panic!("{e}")));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_are_refused_cleanly_and_odd_text_is_kept() {
    let server = start().await;
    let http = server.client_without_reuse();
    let url = format!("{}/tickets", server.base);
    let post_raw = |body: Vec<u8>| {
        http.post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // 10 MB body: refused by the body limit. The server may answer 413 and
    // close the connection before the client has sent everything, which the
    // client then sees as a reset; either way nothing is stored and the
    // server carries on (checked at the end).
    match post_raw(vec![b' '; 10 << 20]).await {
        Ok(big) => assert_eq!(big.status(), 413),
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }
    // A ticket id that is not UTF-8 once decoded, or a route that does not
    // exist: the API's JSON error, never a bare text or an empty body.
    for (path, status, field) in [
        ("/tickets/%FF", 400, Some("id")),
        ("/tokens/%FF", 400, Some("id")),
        ("/nowhere", 404, None),
    ] {
        let request = if path.starts_with("/tokens") {
            http.delete(format!("{}{path}", server.base))
        } else {
            http.get(format!("{}{path}", server.base))
        };
        let r = request.send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), status, "{path}");
        let body: Value = r.json().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(body["error"]["field"].as_str(), field, "{path}: {body}");
    }
    // Deeply nested JSON: a clear 4xx, not a stack overflow.
    let nested = format!(
        "{{\"text\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let r = post_raw(nested.into_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.status().is_client_error(), "{}", r.status());
    // Invalid UTF-8 inside a string.
    let mut bad = b"{\"text\":\"".to_vec();
    bad.extend_from_slice(&[0xff, 0xfe, 0xe4, 0xb8]);
    bad.extend_from_slice(b"\"}");
    let r = post_raw(bad).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(r.status().is_client_error(), "{}", r.status());
    // Just over the 256 KiB body limit (or, with a larger limit, over
    // max_text_chars); either way a 4xx. The server answers before the
    // body has arrived and closes the connection, so on a loaded machine
    // the client may see the close before the answer (CI saw five in a
    // row with a 600 KB body): a body just over the limit mostly fits the
    // socket buffers, and the client asks again, briefly apart, until
    // the answer comes.
    let mut answer = None;
    for _ in 0..20 {
        match http
            .post(&url)
            .json(&json!({ "text": "电".repeat(90_000) }))
            .send()
            .await
        {
            Ok(r) => {
                answer = Some(r.status());
                break;
            }
            Err(e) if e.is_request() || e.is_body() => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    let status = answer.unwrap_or_else(|| panic!("no answer to an oversized body in 20 tries"));
    assert!(status.is_client_error(), "{status}");
    // Control characters and right-to-left marks are kept and routed, not
    // fatal; a long ticket (routed off the runtime's threads) is stored and
    // routed too.
    let odd = "\u{202e}小区没有\u{0007}电动车充电桩\u{200f}，大家只能飞线充电\u{0000}";
    let long = "小区楼道里每天都有人飞线充电，电动自行车停满了楼道。".repeat(300);
    for text in [odd, long.as_str()] {
        let (status, body) = post_json(&http, &url, json!({ "text": text })).await;
        assert_eq!(status, 201);
        assert_eq!(body["topic"]["slug"], "ebike_charging");
    }
    // The server is still healthy afterwards.
    let health = http
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(health.status(), 200);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_learns_the_configured_assessment_month() {
    // The dashboard names assessment months from this value; a city that
    // assesses from the 21st must not see periods cut on the 19th.
    let server = start_with(|c| c.store.rates.assessment_month_start_day = 21).await;
    let topics: Value = server
        .client()
        .get(format!("{}/topics", server.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(topics["assessment_month_start_day"], 21);
    // Everything else the dashboard names comes from here too, written once
    // on the server: the gazetteer's districts, kinds and statuses.
    let names = |field: &str| -> Vec<String> {
        topics[field]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                v.as_str()
                    .or(v["name"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let districts = names("districts");
    assert_eq!(districts.len(), 16, "{topics}");
    assert!(districts.contains(&"朝阳区".to_owned()), "{topics}");
    assert_eq!(
        names("kinds"),
        ["咨询", "求助", "投诉", "举报", "建议"],
        "{topics}"
    );
    assert_eq!(names("statuses").len(), 8, "{topics}");
    assert_eq!(topics["statuses"][0]["value"], "received", "{topics}");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_suggests_a_topic_for_short_and_long_texts_and_stores_nothing() {
    let server = start().await;
    let http = server.client();
    let url = format!("{}/classify", server.base);
    let short = "朝阳区某小区楼道里有人飞线充电，很危险";
    // Long enough to be routed off the runtime's threads.
    let long = short.repeat(200);
    for text in [short, long.as_str()] {
        let (status, body) = post_json(&http, &url, json!({ "text": text })).await;
        assert_eq!(status, 200);
        assert_eq!(body["routing"]["topic"], "ebike_charging", "{body}");
        assert_eq!(body["district"]["district"], "朝阳区", "{body}");
        assert_eq!(body["street"], Value::Null, "{body}");
    }
    // The street, with its district, from the text, or from the address
    // first, as a submission would file it.
    for (payload, street, district) in [
        (
            json!({ "text": "望京街道某小区楼道里有人飞线充电，很危险" }),
            "望京街道",
            "朝阳区",
        ),
        (
            json!({
                "text": "楼道里有人飞线充电，很危险",
                "address": "北京市海淀区中关村街道某小区3号楼",
            }),
            "中关村街道",
            "海淀区",
        ),
    ] {
        let (status, body) = post_json(&http, &url, payload).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["street"]["street"], street, "{body}");
        assert_eq!(body["street"]["district"], district, "{body}");
        assert_eq!(body["district"]["district"], district, "{body}");
    }
    assert_eq!(server.inner.state.store.ticket_count(), 0);
    stop(server).await;
}

/// One ticket's journal record damaged under a running server: a search and
/// an export leave that hit out and say how many they left out, instead of
/// failing whole (issue 15, item 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_hit_is_left_out_of_search_and_export_and_counted() {
    let server = start().await;
    let http = server.client();
    let base = &server.base;
    for text in [
        "朝阳区望京小区没有电动车充电桩，大家只能飞线充电",
        "海淀区某小区的电动车充电桩坏了一个月没人修",
        "西城区楼下的电动车充电桩收费太贵了",
    ] {
        let (status, body) = post_json(
            &http,
            &format!("{base}/tickets"),
            json!({ "text": text, "received_at": "2024-03-02 09:00:00" }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    server.inner.commit().await;
    let search = |http: reqwest::Client, url: String| async move {
        let r = http.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap_or_else(|e| panic!("{e}"))
    };
    let page = search(http.clone(), format!("{base}/search?q=充电桩")).await;
    assert_eq!(page["hits"].as_array().map(Vec::len), Some(3), "{page}");
    assert_eq!(page["skipped_unreadable"], 0);

    // The first ticket's record starts the journal; the server reads records
    // by offset from the same file, so it sees the flipped byte.
    let journal = server.inner.state.store.dir().join("journal.log");
    let mut bytes = std::fs::read(&journal).unwrap_or_else(|e| panic!("{e}"));
    bytes[60] ^= 0x20;
    std::fs::write(&journal, &bytes).unwrap_or_else(|e| panic!("{e}"));

    let page = search(http.clone(), format!("{base}/search?q=充电桩")).await;
    assert_eq!(page["hits"].as_array().map(Vec::len), Some(2), "{page}");
    assert_eq!(page["skipped_unreadable"], 1, "{page}");
    let r = http
        .get(format!("{base}/export/search?q=充电桩"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("x-hotline-skipped-unreadable")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let csv = r.text().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!csv.contains("望京"), "{csv}");
    assert!(
        csv.contains("海淀区某小区") && csv.contains("西城区楼下"),
        "{csv}"
    );
    stop(server).await;
}

/// Issue 15, defect 15: a page beyond reach is the caller's mistake (400
/// naming the parameter), never an overflow; the index itself answers any
/// offset without panicking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_out_of_reach_is_400_naming_the_parameter() {
    let server = start().await;
    let http = server.client();
    let base = &server.base;
    let (status, _) = post_json(
        &http,
        &format!("{base}/tickets"),
        json!({"text": "朝阳区望京小区充电桩坏了"}),
    )
    .await;
    assert_eq!(status, 201);
    server.inner.commit().await;
    let huge = "18446744073709551615";
    let cases = [
        (format!("{base}/search?q=充电桩&page={huge}"), "page"),
        (format!("{base}/search?q=充电桩&page={huge}0"), "page"),
        (format!("{base}/search?q=充电桩&page=-1"), "page"),
        (format!("{base}/search?q=充电桩&page=0"), "page"),
        (format!("{base}/search?q=充电桩&page=abc"), "page"),
        (
            format!("{base}/search?q=充电桩&page=2&per_page={huge}"),
            "per_page",
        ),
        (format!("{base}/search?q=充电桩&per_page=0"), "per_page"),
        (
            format!("{base}/search?q=充电桩&page=100000&per_page=100"),
            "page",
        ),
        (
            format!("{base}/search?page={huge}&per_page={huge}"),
            "per_page",
        ),
        (format!("{base}/search?page={huge}&per_page=100"), "page"),
        (format!("{base}/export/search?q=充电桩&page={huge}"), "page"),
        (format!("{base}/audit?limit={huge}0"), "limit"),
    ];
    for (url, field) in cases {
        let r = http
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["error"]["field"], field, "{url}: {body}");
    }
    // The deepest page within reach still answers (empty past the hits).
    let r = http
        .get(format!("{base}/search?q=充电桩&page=100&per_page=100"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["hits"].as_array().map(Vec::len), Some(0), "{page}");
    // The store answers any offset and limit without overflow.
    let state = server.inner.state.clone();
    let page = tokio::task::spawn_blocking(move || {
        state.store.search(&hotline_store::IndexQuery {
            offset: usize::MAX,
            limit: usize::MAX,
            ..Default::default()
        })
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((page.total, page.hits.len()), (1, 0));
    stop(server).await;
}

/// The model in use describes itself, and every ticket it routes carries its
/// version: in the ticket, in search hits, in exports, and in the event of
/// an operator's override, so overrides can be counted per model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_routed_ticket_names_the_model_that_routed_it() {
    let server = start().await;
    let http = server.client();
    let base = &server.base;
    let get = |url: String| {
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .json::<Value>()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let model = get(format!("{base}/model")).await;
    let version = model["version"].as_str().unwrap_or_default().to_owned();
    assert!(version.starts_with("m-"), "{model}");
    assert_eq!(model["info"]["version"], version.as_str());
    assert_eq!(
        model["info"]["fingerprint"].as_str().map(str::len),
        Some(64)
    );
    assert_eq!(model["source"], "built-in");
    assert!(model["decision"]["topic_threshold"].is_number(), "{model}");

    let (status, routed) = post_json(
        &http,
        &format!("{base}/tickets"),
        json!({"text": "我们楼的电梯用了二十多年，这个月已经困人三次了", "kind": "投诉"}),
    )
    .await;
    assert_eq!(status, 201, "{routed}");
    assert_eq!(routed["topic"]["source"], "router");
    assert_eq!(routed["topic"]["model"], version.as_str());
    let (status, chosen) = post_json(
        &http,
        &format!("{base}/tickets"),
        json!({"text": "电梯又坏了", "kind": "投诉", "topic": "old_elevators"}),
    )
    .await;
    assert_eq!(status, 201, "{chosen}");
    assert!(chosen["topic"].get("model").is_none(), "{chosen}");
    let id = routed["id"].as_str().unwrap_or_default().to_owned();

    server.inner.commit().await;
    let found = get(format!("{base}/search?q=困人")).await;
    assert_eq!(
        found["hits"][0]["ticket"]["topic"]["model"],
        version.as_str(),
        "{found}"
    );
    assert_eq!(found["hits"][0]["status"], "received", "{found}");
    let csv = http
        .get(format!("{base}/export/search?format=csv&q=困人"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        csv.lines().next().is_some_and(|h| h.contains("路由模型")),
        "{csv}"
    );
    assert!(csv.contains(&version), "{csv}");

    let r = http
        .put(format!("{base}/tickets/{id}/topic"))
        .json(&json!({"topic": "property_management", "reason": "物业不修"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let shown = get(format!("{base}/tickets/{id}")).await;
    let ticket = &shown["ticket"];
    assert_eq!(ticket["topic"]["source"], "operator");
    assert!(ticket["topic"].get("model").is_none(), "{ticket}");
    let change = ticket["events"]
        .as_array()
        .and_then(|events| events.iter().find(|e| e["type"] == "topic_changed"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(change["model"], version.as_str(), "{ticket}");
    stop(server).await;
}

/// A model installed while the server runs is put in use by an admin's
/// reload, without a restart; other roles may not reload, and a model that
/// cannot be read leaves the previous one in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_model_is_loaded_without_a_restart() {
    let server = start().await;
    let http = server.client();
    let base = &server.base;
    let model = |http: reqwest::Client, url: String| async move {
        http.get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json::<Value>()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let before = model(http.clone(), format!("{base}/model")).await;
    assert_eq!(before["source"], "built-in", "{before}");
    let builtin = before["version"].as_str().unwrap_or_default().to_owned();

    // Install the built-in model under another version, as `train
    // --from-store` would install a new one.
    let version = "m-feedfeedfeed";
    let json = hotline::builtin::DEFAULT_MODEL.replace(&builtin, version);
    let registry = hotline::models::ModelRegistry::new(server.inner.state.store.dir());
    registry
        .install(version, &json)
        .unwrap_or_else(|e| panic!("{e:#}"));
    // Nothing changes until a reload.
    let still = model(http.clone(), format!("{base}/model")).await;
    assert_eq!(still["version"], builtin.as_str());

    // Not an operator, nor an admin limited to one district (the model
    // routes every district's tickets); a refusal loads nothing.
    let operator = server.inner.token("operator", false, None).await;
    let limited = server.inner.token("admin", true, Some("朝阳区")).await;
    for token in [&operator, &limited] {
        let refused = TestServer::client(token)
            .post(format!("{base}/model/reload"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refused.status(), 403);
        let still = model(http.clone(), format!("{base}/model")).await;
        assert_eq!(still["version"], builtin.as_str());
    }

    let (status, reloaded) = post_json(&http, &format!("{base}/model/reload"), json!({})).await;
    assert_eq!(status, 200, "{reloaded}");
    assert_eq!(reloaded["version"], version);
    assert_eq!(reloaded["source"], "installed");
    let (status, ticket) = post_json(
        &http,
        &format!("{base}/tickets"),
        json!({"text": "小区电梯用了二十多年，经常困人", "kind": "投诉"}),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["topic"]["model"], version);

    // A damaged installed model: the reload fails, the model in use stays.
    std::fs::write(
        server
            .inner
            .state
            .store
            .dir()
            .join("models")
            .join(format!("{version}.json")),
        "{ not a model",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (status, _) = post_json(&http, &format!("{base}/model/reload"), json!({})).await;
    assert_eq!(status, 500);
    let after = model(http.clone(), format!("{base}/model")).await;
    assert_eq!(after["version"], version);
    stop(server).await;
}

/// Override rates per model and topic come from counted rows: each routed
/// ticket counts once for its model and topic, an operator's change counts
/// as an override of that decision, a district-limited supervisor sees only
/// its district's decisions, and operators may not read them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_rates_per_model_and_topic_respect_district_limits() {
    let server = start().await;
    let http = server.client();
    let base = &server.base;
    let mut ids = Vec::new();
    for (text, district) in [
        ("我们楼的电梯用了二十多年，这个月已经困人三次了", "海淀区"),
        ("单元楼电梯老化，上周又把老人困在里面半小时", "海淀区"),
        ("小区电梯年久失修，经常停在两层之间困人", "朝阳区"),
    ] {
        let (status, t) = post_json(
            &http,
            &format!("{base}/tickets"),
            json!({"text": text, "kind": "投诉", "district": district}),
        )
        .await;
        assert_eq!(status, 201, "{t}");
        assert_eq!(t["topic"]["slug"], "old_elevators", "{t}");
        ids.push(t["id"].as_str().unwrap_or_default().to_owned());
    }
    let r = http
        .put(format!("{base}/tickets/{}/topic", ids[0]))
        .json(&json!({"topic": "property_management"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);

    let read = |http: reqwest::Client| async move {
        let r = http
            .get(format!("{base}/model/overrides"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or_default())
    };
    let (status, all) = read(http.clone()).await;
    assert_eq!(status, 200, "{all}");
    let current = all["current"].as_str().unwrap_or_default();
    let model = &all["models"][0];
    assert_eq!(model["version"], current, "{all}");
    assert_eq!(
        (model["routed"].as_u64(), model["overridden"].as_u64()),
        (Some(3), Some(1)),
        "{all}"
    );
    let lifts = &model["topics"][0];
    assert_eq!(lifts["topic"], "old_elevators", "{all}");
    assert_eq!(lifts["name"], "居民住宅老旧电梯安全监管", "{all}");
    assert!((lifts["rate"].as_f64().unwrap_or_default() - 1.0 / 3.0).abs() < 1e-9);

    let chaoyang = server
        .inner
        .token("supervisor", false, Some("朝阳区"))
        .await;
    let (status, limited) = read(TestServer::client(&chaoyang)).await;
    assert_eq!(status, 200, "{limited}");
    let model = &limited["models"][0];
    assert_eq!(
        (model["routed"].as_u64(), model["overridden"].as_u64()),
        (Some(1), Some(0)),
        "{limited}"
    );

    let operator = server.inner.token("operator", false, None).await;
    let (status, _) = read(TestServer::client(&operator)).await;
    assert_eq!(status, 403);
    stop(server).await;
}

/// An admin retrains the router inside the running server from the topics
/// operators gave, and the new model is installed and used at once; one
/// training at a time; district-limited admins and other roles may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_retrains_the_router_while_the_server_runs() {
    let server = start().await;
    let http = server.client();
    let base = &server.base;
    let before = http
        .get(format!("{base}/model"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json::<Value>()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let builtin = before["version"].as_str().unwrap_or_default().to_owned();
    // Three decisions of the built-in model, for the reroute below.
    let mut decided = Vec::new();
    for text in [
        "公园里的健身器材坏了很久没人修",
        "小区门口烧烤店油烟很大",
        "街心花园的路灯坏了一个月",
    ] {
        let (status, t) = post_json(
            &http,
            &format!("{base}/tickets"),
            json!({"text": text, "kind": "投诉"}),
        )
        .await;
        assert_eq!(status, 201, "{t}");
        decided.push(t["id"].as_str().unwrap_or_default().to_owned());
    }
    for i in 0..12 {
        let (status, t) = post_json(
            &http,
            &format!("{base}/tickets"),
            json!({"text": format!("街心花园第{i}号长椅坏了，龘靐齉家门口的路灯也不亮，请园林部门来修"), "kind": "投诉", "topic": "parks", "district": "海淀区"}),
        )
        .await;
        assert_eq!(status, 201, "{t}");
    }

    let operator = server.inner.token("operator", false, None).await;
    let limited = server.inner.token("admin", false, Some("朝阳区")).await;
    for token in [&operator, &limited] {
        let r = TestServer::client(token)
            .post(format!("{base}/model/train"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 403);
    }
    let (status, refused) =
        post_json(&http, &format!("{base}/model/train?force=maybe"), json!({})).await;
    assert_eq!(
        (status, refused["error"]["field"].as_str()),
        (400, Some("force")),
        "{refused}"
    );
    // While one training runs, another is refused.
    let busy = server.inner.state.training.clone();
    let held = tokio::task::spawn_blocking(move || {
        let _guard = busy.lock();
        std::thread::sleep(std::time::Duration::from_millis(1500));
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, busy) = post_json(&http, &format!("{base}/model/train"), json!({})).await;
    assert_eq!(status, 409, "{busy}");
    held.await.unwrap_or_else(|e| panic!("{e}"));

    let (status, trained) =
        post_json(&http, &format!("{base}/model/train?force=true"), json!({})).await;
    assert_eq!(status, 200, "{trained}");
    assert_eq!(trained["installed"], true, "{trained}");
    assert_eq!(trained["overridden"], 12, "{trained}");
    assert_eq!(
        trained["trained_on"].as_u64().unwrap_or_default()
            + trained["held_out"].as_u64().unwrap_or_default(),
        12,
        "{trained}"
    );
    assert_eq!(trained["current_version"], builtin.as_str());
    let new_version = trained["new_version"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(new_version, builtin, "{trained}");
    // The training size and held-out figures count every district's
    // tickets: a district-limited token sees the model, not them.
    let read_model = |token: String| {
        let url = format!("{base}/model");
        async move {
            TestServer::client(&token)
                .get(url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .json::<Value>()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let city = read_model(server.inner.token("supervisor", false, None).await).await;
    assert!(
        city["info"]["examples"].as_u64().is_some_and(|n| n > 0),
        "{city}"
    );
    assert!(city["info"]["evaluation"].is_array(), "{city}");
    let own = read_model(server.inner.token("supervisor", true, Some("朝阳区")).await).await;
    assert_eq!(own["version"], new_version.as_str(), "{own}");
    assert_eq!(
        own["info"]["fingerprint"], city["info"]["fingerprint"],
        "{own}"
    );
    assert!(
        own["info"].get("examples").is_none() && own["info"].get("evaluation").is_none(),
        "{own}"
    );
    let (status, ticket) = post_json(
        &http,
        &format!("{base}/tickets"),
        json!({"text": "街心花园的长椅坏了", "kind": "投诉"}),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["topic"]["model"], new_version.as_str(), "{ticket}");
    // A word only those tickets hold (a name, in 海淀区) did not enter the
    // model: a 朝阳区 operator routing it gets what a word nobody wrote gets.
    let chaoyang = TestServer::client(&server.inner.token("operator", false, Some("朝阳区")).await);
    let (asked_status, asked) = post_json(
        &chaoyang,
        &format!("{base}/classify"),
        json!({"text": "龘靐齉"}),
    )
    .await;
    let (unknown_status, unknown) = post_json(
        &chaoyang,
        &format!("{base}/classify"),
        json!({"text": "鱻灥厵"}),
    )
    .await;
    assert_eq!(
        (asked_status, unknown_status),
        (200, 200),
        "{asked} / {unknown}"
    );
    assert_eq!(
        asked["routing"]["top"], unknown["routing"]["top"],
        "{asked} / {unknown}"
    );
    assert_eq!(asked["routing"]["deciding_words"], json!([]), "{asked}");

    // The new model applied to history while the server runs.
    let limited_reroute = TestServer::client(&limited)
        .post(format!("{base}/model/reroute"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(limited_reroute.status(), 403);
    let (status, bad) = post_json(
        &http,
        &format!("{base}/model/reroute?topic=nope"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (400, Some("topic")),
        "{bad}"
    );
    let (status, bad) = post_json(
        &http,
        &format!("{base}/model/reroute?from=2024-13-01"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (400, Some("from")),
        "{bad}"
    );
    let (status, started) = post_json(&http, &format!("{base}/model/reroute"), json!({})).await;
    assert_eq!(status, 202, "{started}");
    let job = loop {
        let status = http
            .get(format!("{base}/model/reroute"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json::<Value>()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if status["job"]["running"] == false {
            break status["job"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(job["error"].is_null(), "{job}");
    let summary = &job["summary"];
    assert_eq!(summary["model"], new_version.as_str(), "{job}");
    // The twelve operator topics are left alone; the one new ticket is the new model's own.
    assert_eq!(summary["left_to_people"], 12, "{job}");
    assert_eq!(summary["checked"], 3, "{job}");
    let mut moved = 0;
    for id in &decided {
        let shown = http
            .get(format!("{base}/tickets/{id}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json::<Value>()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let reroutes = shown["ticket"]["events"].as_array().map_or(0, |events| {
            events
                .iter()
                .filter(|e| e["rerouted_by"] == new_version.as_str())
                .count()
        });
        assert!(reroutes <= 1, "{shown}");
        moved += reroutes;
    }
    assert_eq!(summary["changed"], moved, "{job}");
    let store = server.inner.state.store.clone();
    let report = tokio::task::spawn_blocking(move || store.verify())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_ok(), "{report:?}");
    stop(server).await;
}
