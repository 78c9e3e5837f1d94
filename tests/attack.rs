//! An attacker on the newer surfaces: hot-spot clusters' addresses without `pii`, the reroute run's city-wide counts, statistics and exports by street, department and assessment month under a district limit, and repeat links as an oracle for masked phones.

use std::collections::BTreeMap;

use hotline::reroute::{RerouteJob, RerouteSummary};
use hotline_suite::TestServer;
use serde_json::{json, Value};

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_text(http: &reqwest::Client, url: String) -> (u16, String) {
    let r = http.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
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

/// Two 朝阳 tickets and one 海淀 ticket, each dispatched to a department of
/// its district. A supervisor limited to 海淀 groups by department, by
/// street and by assessment month, and exports by street and by department:
/// nothing of 朝阳's departments, streets or counts comes through; asking
/// for 朝阳 is 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_and_exports_by_street_department_and_assessment_month_keep_to_the_district() {
    let server = TestServer::start().await;
    let base = &server.base;
    let operator = TestServer::client(&server.token("operator", false, None).await);
    for (text, district, street, department, day) in [
        (
            "小区门口烧烤店油烟直排，熏得没法开窗",
            "朝阳区",
            "望京",
            "朝阳区生态环境局",
            "2024-05-20",
        ),
        (
            "楼下饭馆半夜排风扇噪音太大睡不着",
            "朝阳区",
            "望京",
            "朝阳区生态环境局",
            "2024-05-21",
        ),
        (
            "小区路灯坏了一个月没人修，晚上很黑",
            "海淀区",
            "中关村街道",
            "海淀区城市管理委员会",
            "2024-05-22",
        ),
    ] {
        let id = submit(
            &operator,
            base,
            json!({
                "text": text,
                "kind": "投诉",
                "district": district,
                "street": street,
                "received_at": format!("{day} 09:00:00"),
            }),
        )
        .await;
        let r = operator
            .post(format!("{base}/tickets/{id}/events"))
            .json(&json!({"type": "dispatched", "department": department, "at": format!("{day}T10:00:00")}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 201);
    }
    let everyone = TestServer::client(&server.token("supervisor", false, None).await);
    let (_, all) = get(&everyone, format!("{base}/stats?by=department")).await;
    assert_eq!(all["rows"].as_array().map(Vec::len), Some(2), "{all}");

    let haidian = TestServer::client(&server.token("supervisor", false, Some("海淀区")).await);
    let keys = |body: &Value| -> Vec<String> {
        body["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["key"].as_str().map(str::to_owned))
            .collect()
    };
    let requests = |body: &Value| -> i64 {
        body["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["requests"].as_i64().unwrap_or(-100))
            .sum()
    };
    let (status, body) = get(&haidian, format!("{base}/stats?by=department")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["海淀区城市管理委员会"], "{body}");
    assert_eq!(requests(&body), 1, "{body}");
    let (status, body) = get(&haidian, format!("{base}/stats?by=street")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["海淀区中关村街道"], "{body}");
    for range in ["", "&from=2024-05-19&to=2024-06-18"] {
        let (status, body) =
            get(&haidian, format!("{base}/stats?by=assessment_month{range}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys(&body), ["2024-06"], "{range}: {body}");
        assert_eq!(requests(&body), 1, "{range}: {body}");
    }
    for by in ["street", "department"] {
        let (status, csv) =
            get_text(&haidian, format!("{base}/export/stats?format=csv&by={by}")).await;
        assert_eq!(status, 200, "{by}: {csv}");
        assert!(csv.contains("海淀区"), "{by}: {csv}");
        assert!(!csv.contains("朝阳"), "{by}: {csv}");
    }
    for query in [
        "stats?by=department&district=朝阳区",
        "stats?by=street&district=朝阳",
        "stats?by=assessment_month&district=朝阳区",
        "export/stats?format=csv&by=street&district=朝阳区",
        "export/stats?format=xlsx&by=department&district=朝阳",
    ] {
        let (status, body) = get_text(&haidian, format!("{base}/{query}")).await;
        assert_eq!(status, 403, "{query}: {body}");
    }
    server.stop().await;
}

/// Posts a ticket; its status, Retry-After and body.
async fn post(http: &reqwest::Client, base: &str, ticket: &Value) -> (u16, Option<u64>, Value) {
    let r = http
        .post(format!("{base}/tickets"))
        .json(ticket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

/// A caller's ticket is open; an operator without `pii` sees its phone as
/// 139****5678 and submits the same complaint with guessed phones, because
/// a right guess comes back as a repeat of it. With the shipped limits the
/// guesses are rationed per token (so the 10,000 take a day, each one a
/// ticket of that token), a right guess past the quota tells nothing, and a
/// ticket cannot be dated back to reach old callers. Tickets without a
/// phone, and tokens that see phones anyway, are not rationed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_links_are_no_fast_oracle_for_masked_phones() {
    let shipped = hotline::config::Config::load(None).expect("built-in config");
    let (backdate, per_minute) = (
        shipped.server.max_backdate_days,
        shipped.server.phone_submissions_per_minute,
    );
    assert_eq!((backdate, per_minute), (7, 6), "the documented defaults");
    let server = TestServer::start_with(move |c| {
        c.server.max_backdate_days = backdate;
        c.server.phone_submissions_per_minute = per_minute;
    })
    .await;
    let base = &server.base;
    let taker = TestServer::client(&server.token("operator", true, None).await);
    let prober = TestServer::client(&server.token("operator", false, None).await);
    let text = "望京西园三区楼下饭馆油烟直排，家里窗户都不敢开，请尽快处理";
    let ticket = |phone: &str| json!({"text": text, "kind": "投诉", "district": "朝阳区", "caller_phone": phone});
    let (status, _, victim) = post(&taker, base, &ticket("13912345678")).await;
    assert_eq!(status, 201, "{victim}");

    // Wrong guesses use up the quota; every one was stored.
    for guess in 0..per_minute {
        let (status, _, body) = post(&prober, base, &ticket(&format!("139123400{guess:02}"))).await;
        assert_eq!(status, 201, "guess {guess}: {body}");
        assert!(body["repeat_of"].is_null(), "{body}");
    }
    // The right guess past the quota: refused, saying when to retry, and
    // nothing of the victim's ticket.
    let (status, retry, body) = post(&prober, base, &ticket("13912345678")).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded", "{body}");
    let retry = retry.expect("a Retry-After");
    assert!(
        (5..=10).contains(&retry),
        "one guess comes back every 10 s: {retry}"
    );
    assert!(
        !body
            .to_string()
            .contains(victim["id"].as_str().unwrap_or("?")),
        "{body}"
    );
    // Nor can an external id be guessed instead: a duplicate answers with
    // the ticket it names, so submissions carrying one are rationed too.
    let (status, _, body) = post(
        &prober,
        base,
        &json!({"text": text, "district": "朝阳区", "external_id": "BJ12345-13912345678"}),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    // A ticket without a phone is not rationed, nor are tokens with pii.
    let (status, _, body) = post(&prober, base, &json!({"text": text, "district": "朝阳区"})).await;
    assert_eq!(status, 201, "{body}");
    for guess in 0..per_minute + 2 {
        let (status, _, body) = post(&taker, base, &ticket(&format!("1380000{guess:04}"))).await;
        assert_eq!(status, 201, "pii guess {guess}: {body}");
    }
    // The oracle itself is real: a second token's right first guess is a repeat.
    let other = TestServer::client(&server.token("operator", false, None).await);
    let (status, _, body) = post(&other, base, &ticket("139 1234 5678")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["repeat_of"], victim["id"], "{body}");

    // An admin without pii cannot multiply the quota by minting operators:
    // the tokens it mints draw on its own.
    let minter_secret = server.token("admin", false, None).await;
    let minter = TestServer::client(&minter_secret);
    let mut minted = Vec::new();
    for i in 0..3 {
        let r = minter
            .post(format!("{base}/tokens"))
            .json(&json!({"name": format!("op{i}"), "role": "operator", "pii": false}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 201);
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let secret = body["token"].as_str().unwrap_or_default().to_owned();
        assert!(secret.starts_with("hl_"), "{body}");
        minted.push(TestServer::client(&secret));
    }
    let mut accepted = 0;
    for (i, op) in minted.iter().chain([&minter]).enumerate() {
        for g in 0..per_minute {
            let (status, _, body) = post(op, base, &ticket(&format!("1370000{i}{g:03}"))).await;
            match status {
                201 => accepted += 1,
                429 => {}
                _ => panic!("{status}: {body}"),
            }
        }
    }
    assert_eq!(
        accepted, per_minute,
        "an admin's minted tokens share its quota"
    );

    // A receipt more than max_backdate_days ago is refused, naming the field;
    // a weekend's backlog is taken.
    let now = hotline_store::beijing_now();
    let at = |days: i64| {
        (now - chrono::Duration::days(days))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let (status, _, body) = post(
        &taker,
        base,
        &json!({"text": text, "district": "朝阳区", "received_at": at(i64::from(backdate) + 1)}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "received_at", "{body}");
    let (status, _, body) = post(
        &taker,
        base,
        &json!({"text": text, "district": "朝阳区", "received_at": at(2)}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    server.stop().await;
}
