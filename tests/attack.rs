//! An attacker on the newer surfaces: a hot-spot cluster's address read without `pii`, and the reroute run's city-wide counts read by a district-limited admin.

use std::collections::BTreeMap;

use hotline::reroute::{RerouteJob, RerouteSummary};
use hotline_suite::TestServer;
use serde_json::{json, Value};

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Submits a ticket and returns its id.
async fn submit(http: &reqwest::Client, base: &str, ticket: Value) -> String {
    let r = http
        .post(format!("{base}/tickets"))
        .json(&ticket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap_or_default().to_owned()
}

/// Three neighbours complain about one barbecue, and the place they give
/// names the first caller and his mobile. A reader without `pii` sees that
/// address masked in the first caller's ticket; the hot-spot cluster built
/// from it must not show it in clear either, to an operator, a supervisor or
/// a district-limited one; a reader with `pii` sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hotspot_clusters_address_is_masked_like_the_tickets_without_pii() {
    let server = TestServer::start().await;
    let base = &server.base;
    let operator = TestServer::client(&server.token("operator", false, None).await);
    let address = "北京市朝阳区望京花园张建国家（13912345678）楼下";
    let mut first = String::new();
    for (i, (name, phone, tail)) in [
        ("张建国", "13912345678", ""),
        ("李秀英", "13800001111", "，请尽快处理"),
        ("王德胜", "13800002222", "，已经好几天了"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = submit(
            &operator,
            base,
            json!({
                "text": format!("望京花园楼下烧烤店油烟直排，熏得家里没法开窗{tail}"),
                "kind": "投诉",
                "district": "朝阳区",
                "address": address,
                "caller_name": name,
                "caller_phone": phone,
                "received_at": format!("2024-06-30 {:02}:00:00", 8 + i),
            }),
        )
        .await;
        if i == 0 {
            first = id;
        }
    }
    server.commit().await;
    server
        .state
        .clock
        .set(chrono::NaiveDate::from_ymd_opt(2024, 6, 30).and_then(|d| d.and_hms_opt(18, 0, 0)));

    // With pii: the cluster is there, and its place holds the number.
    let admin = TestServer::client(&server.token("admin", true, None).await);
    let (status, body) = get(&admin, format!("{base}/hotspots")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["clusters"][0]["callers"], 3, "{body}");
    let clear = body["clusters"][0]["address"].as_str().unwrap_or_default();
    assert!(
        clear.contains("13912345678") && clear.contains("张建国"),
        "{body}"
    );

    // The first caller's ticket, as a supervisor without pii reads it.
    let supervisor = TestServer::client(&server.token("supervisor", false, None).await);
    let (status, shown) = get(&supervisor, format!("{base}/tickets/{first}")).await;
    assert_eq!(status, 200, "{shown}");
    let masked = shown["ticket"]["address"].as_str().unwrap_or_default();
    assert!(
        !masked.contains("13912345678") && !masked.contains("建国"),
        "{shown}"
    );

    let limited = TestServer::client(&server.token("supervisor", false, Some("朝阳区")).await);
    for (who, http) in [
        ("operator", &operator),
        ("supervisor", &supervisor),
        ("朝阳区 supervisor", &limited),
    ] {
        let (status, body) = get(http, format!("{base}/hotspots")).await;
        assert_eq!(status, 200, "{who}: {body}");
        let clusters = body["clusters"].as_array().cloned().unwrap_or_default();
        assert_eq!(clusters.len(), 1, "{who}: {body}");
        let place = clusters[0]["address"].as_str().unwrap_or_default();
        assert!(place.starts_with("望京花园"), "{who}: {body}");
        for secret in ["1234", "建国"] {
            assert!(!place.contains(secret), "{who} reads {secret} in {place}");
        }
        let all = body.to_string();
        for secret in ["13912345678", "张建国", "李秀英", "13800001111"] {
            assert!(!all.contains(secret), "{who} reads {secret}: {all}");
        }
    }
    server.stop().await;
}

/// A finished reroute run's summary counts the whole city's tickets, topic
/// move by topic move. A district-limited admin may not start one (403), and
/// must not read one either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_limited_admin_cannot_read_the_citys_reroute_run() {
    let server = TestServer::start().await;
    let base = &server.base;
    // What a run over the city leaves behind when it has finished.
    let run = RerouteJob {
        running: false,
        started_at: "2024-06-30T09:00:00".into(),
        finished_at: Some("2024-06-30T09:05:00".into()),
        checked: 40,
        summary: Some(RerouteSummary {
            model: "m-attack".into(),
            checked: 40,
            changed: 7,
            left_to_people: 3,
            moves: BTreeMap::from([("parks → kitchen_fumes".to_owned(), 7)]),
        }),
        error: None,
    };
    *server
        .state
        .reroute
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(run);

    let admin = TestServer::client(&server.token("admin", true, None).await);
    let (status, body) = get(&admin, format!("{base}/model/reroute")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["summary"]["changed"], 7, "{body}");

    for pii in [true, false] {
        let limited = TestServer::client(&server.token("admin", pii, Some("海淀区")).await);
        let (status, body) = get(&limited, format!("{base}/model/reroute")).await;
        assert_eq!(status, 403, "pii {pii}: {body}");
        let all = body.to_string();
        assert!(
            !all.contains("kitchen_fumes") && body["job"].is_null(),
            "pii {pii}: {all}"
        );
    }
    server.stop().await;
}
