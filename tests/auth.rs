//! Tokens, roles, district limits, masking of personal data, the audit log,
//! exports and the dashboard's files, against a real server on 127.0.0.1:0.

use std::sync::{Arc, Mutex, OnceLock};

use hotline_suite::TestServer;
use serde_json::{json, Value};

type Server = TestServer;

async fn start() -> Server {
    TestServer::start().await
}

async fn stop(server: Server) {
    server.stop().await;
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_else(|e| panic!("{e}"));
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    send(http.get(url).bearer_auth(token)).await
}

/// The route list is written once (`hotline::server::ROUTES`: the router is
/// built from it and the token check reads it) and described by hand in the
/// OpenAPI document, which a unit test in `server::routes` compares route by
/// route, with parameters and bodies. Here, against a running server: each
/// route is in the document with the same method and reaches a handler, and
/// the document lists nothing the table lacks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_the_permission_table_and_the_api_document_list_the_same_routes() {
    let server = start().await;
    let http = reqwest::Client::new();
    let admin = server.token("admin", true, None).await;
    let (status, spec) = send(http.get(format!("{}/openapi.json", server.base))).await;
    assert_eq!(status, 200);
    let mut documented = std::collections::BTreeSet::new();
    for (path, methods) in spec["paths"].as_object().into_iter().flatten() {
        for method in methods.as_object().into_iter().flatten().map(|(m, _)| m) {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let mut permitted = std::collections::BTreeSet::new();
    for rule in hotline::server::ROUTES {
        permitted.insert((rule.method.to_owned(), rule.path.to_owned()));
    }
    assert_eq!(
        documented.difference(&permitted).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not in the permission table"
    );
    assert_eq!(
        permitted.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "in the permission table but not documented"
    );
    // Every route reaches a handler: its answer is the API's own (JSON, an
    // `error` object when refused), never the router's bare 404 or 405, and
    // an admin with `pii` is never refused by the permission table.
    for (method, path) in &permitted {
        // Harmless arguments: an unknown ticket, an empty body, no force.
        let url = format!(
            "{}{}",
            server.root,
            path.replace("{id}", "00000000-0000-7000-8000-000000000000")
        );
        let request = match method.as_str() {
            "GET" => http.get(&url),
            "POST" => http.post(&url).json(&json!({})),
            "PUT" => http.put(&url).json(&json!({})),
            "DELETE" => http.delete(&url),
            other => panic!("{other} {path}: a method the test does not know"),
        };
        let r = request
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = r.text().await.unwrap_or_default();
        assert_ne!(status, 405, "{method} {path}: not routed");
        assert_ne!(status, 403, "{method} {path}: {body}");
        assert!(
            !body.is_empty()
                && (ct.starts_with("application/json")
                    || ct.starts_with("text/")
                    || ct.contains("sheet")),
            "{method} {path}: {status} with no answer of ours ({ct}): not routed?"
        );
        if status == 404 {
            assert!(
                body.contains("not_found"),
                "{method} {path}: the router's 404, not ours"
            );
        }
    }
    // An admin limited to a district, even with pii, is refused every
    // city-wide route before its handler runs (the reload below would
    // otherwise answer 200), and the refusal names the district.
    let limited = server.token("admin", true, Some("朝阳区")).await;
    let city_wide: Vec<_> = hotline::server::ROUTES
        .iter()
        .filter(|r| r.access.city_wide())
        .collect();
    assert!(
        city_wide
            .iter()
            .any(|r| (r.method, r.path) == ("POST", "/api/v1/model/reload")),
        "reloading the city's router is a city-wide route"
    );
    for rule in city_wide {
        let url = format!("{}{}", server.root, rule.path);
        let request = match rule.method {
            "GET" => http.get(&url),
            "POST" => http.post(&url).json(&json!({})),
            other => panic!("{other} {}: a method the test does not know", rule.path),
        };
        let (status, body) = send(request.bearer_auth(&limited)).await;
        assert_eq!(status, 403, "{} {}: {body}", rule.method, rule.path);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("朝阳区") && m.contains("whole city")),
            "{} {}: {body}",
            rule.method,
            rule.path
        );
    }
    stop(server).await;
}

/// Submits a ticket as `token` and returns its id.
async fn submit(http: &reqwest::Client, base: &str, token: &str, ticket: Value) -> String {
    let (status, body) = send(
        http.post(format!("{base}/tickets"))
            .bearer_auth(token)
            .json(&ticket),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_roles_guard_every_route() {
    let server = start().await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let operator = server.token("operator", false, None).await;
    let supervisor = server.token("supervisor", false, None).await;
    let admin = server.token("admin", true, None).await;

    // No token, a malformed one, an unknown one: 401 in the API's error format.
    for token in [
        None,
        Some("nonsense"),
        Some(&*format!("hl_{}", "A".repeat(43))),
    ] {
        let mut request = http.get(format!("{base}/search?q=x"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let r = request.send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(
            r.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        let body: Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }

    // Open without a token: health, the API description, the dashboard.
    let (status, _) = send(http.get(format!("{base}/health"))).await;
    assert_eq!(status, 200);
    let (status, spec) = send(http.get(format!("{base}/openapi.json"))).await;
    assert_eq!(status, 200);
    assert_eq!(spec["openapi"], "3.0.3");
    // The page and every file of the dashboard (its script modules too),
    // each with the page's security headers.
    let files = hotline::assets::FILES
        .iter()
        .map(|a| (a.path, a.content_type.split(';').next().unwrap_or_default()));
    for (path, content_type) in [("/", "text/html")].into_iter().chain(files) {
        let r = http
            .get(format!("{}{path}", server.root))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(ct.starts_with(content_type), "{path}: {ct}");
        let csp = r
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!r.text().await.unwrap_or_default().is_empty(), "{path}");
    }

    // Wrong role: 403.
    let forbidden = [
        (
            http.post(format!("{base}/tickets"))
                .bearer_auth(&supervisor)
                .json(&json!({"text": "小区电动车充电桩坏了"})),
            "supervisor submits",
        ),
        (
            http.post(format!("{base}/classify"))
                .bearer_auth(&supervisor)
                .json(&json!({"text": "充电桩"})),
            "supervisor classifies",
        ),
        (
            http.get(format!("{base}/stats")).bearer_auth(&operator),
            "operator reads stats",
        ),
        (
            http.get(format!("{base}/export/stats?format=csv"))
                .bearer_auth(&operator),
            "operator exports",
        ),
        (
            http.get(format!("{base}/audit")).bearer_auth(&supervisor),
            "supervisor reads the audit log",
        ),
        (
            http.get(format!("{base}/tokens")).bearer_auth(&operator),
            "operator lists tokens",
        ),
    ];
    for (request, what) in forbidden {
        let (status, body) = send(request).await;
        assert_eq!(status, 403, "{what}: {body}");
        assert_eq!(body["error"]["code"], "forbidden", "{what}: {body}");
    }

    // Allowed.
    let id = submit(
        &http,
        base,
        &operator,
        json!({"text": "朝阳区望京小区没有电动车充电桩，大家只能飞线充电"}),
    )
    .await;
    let (status, _) = get(&http, &format!("{base}/tickets/{id}"), &supervisor).await;
    assert_eq!(status, 200);
    let (status, _) = get(&http, &format!("{base}/stats"), &supervisor).await;
    assert_eq!(status, 200);
    let (status, _) = get(&http, &format!("{base}/search?q=充电桩"), &operator).await;
    assert_eq!(status, 200);
    let (status, _) = get(&http, &format!("{base}/topics"), &operator).await;
    assert_eq!(status, 200);

    // Who am I.
    let (status, me) = get(&http, &format!("{base}/me"), &supervisor).await;
    assert_eq!(status, 200);
    assert_eq!(
        me,
        json!({"name": "test-supervisor", "role": "supervisor", "pii": false, "district": null})
    );

    // Tokens over the API: create (secret shown once), use, list, revoke.
    let (status, created) = send(
        http.post(format!("{base}/tokens"))
            .bearer_auth(&admin)
            .json(&json!({"role": "operator", "name": "夜班", "district": "朝阳区"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["token"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("hl_") && secret.len() == 46, "{secret}");
    let token_id = created["record"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, me) = get(&http, &format!("{base}/me"), &secret).await;
    assert_eq!(status, 200);
    assert_eq!(me["district"], "朝阳区");
    let (status, list) = get(&http, &format!("{base}/tokens"), &admin).await;
    assert_eq!(status, 200);
    let listed = list.to_string();
    assert!(listed.contains(&token_id) && !listed.contains(&secret));
    let (status, body) = send(
        http.post(format!("{base}/tokens"))
            .bearer_auth(&admin)
            .json(&json!({"role": "boss"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (422, json!("role"))
    );
    let (status, _) = send(
        http.delete(format!("{base}/tokens/{token_id}"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = get(&http, &format!("{base}/me"), &secret).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (401, json!("unauthorized"))
    );
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_masked_without_pii_and_reads_are_audited() {
    let server = start().await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let operator = server.token("operator", false, None).await;
    let supervisor = server.token("supervisor", false, None).await;
    let admin = server.token("admin", true, None).await;
    let id = submit(
        &http,
        base,
        &operator,
        json!({
            "text": "王小明反映朝阳区望京小区没有电动车充电桩，大家只能飞线充电，联系电话13812345678",
            "caller_name": "王小明",
            "caller_phone": "13812345678",
            "address": "朝阳区望京西园三区8号楼",
            "received_at": "2024-03-02 09:00:00",
        }),
    )
    .await;
    server.commit().await;

    // A supervisor without pii: masked everywhere.
    let (status, shown) = get(&http, &format!("{base}/tickets/{id}"), &supervisor).await;
    assert_eq!(status, 200);
    let t = &shown["ticket"];
    assert_eq!(t["caller_name"], "王**");
    assert_eq!(t["caller_phone"], "138****5678");
    assert!(
        t["text"]
            .as_str()
            .is_some_and(|s| s.contains("138****5678")),
        "{t}"
    );
    let all = shown.to_string();
    assert!(
        !all.contains("13812345678") && !all.contains("王小明"),
        "{all}"
    );
    for q in ["充电桩", "13812345678", "王小明"] {
        let (status, found) = get(&http, &format!("{base}/search?q={q}"), &supervisor).await;
        assert_eq!(status, 200);
        let all = found.to_string();
        assert!(
            !all.contains("13812345678") && !all.contains("王小明"),
            "{q}: {all}"
        );
        assert!(!all.contains("12345678"), "{q}: {all}");
    }
    let (_, found) = get(&http, &format!("{base}/search?q=充电桩"), &supervisor).await;
    assert_eq!(found["total"], 1, "{found}");
    assert!(
        found["hits"][0]["snippet"]
            .as_array()
            .is_some_and(|s| s.iter().any(|f| f["mark"] == true && f["text"] == "充电桩")),
        "{found}"
    );

    // The audit log holds the searches but no read: nothing unmasked was shown.
    let read_pii = |audit: &Value| -> Vec<Value> {
        audit["entries"]
            .as_array()
            .map(|es| {
                es.iter()
                    .filter(|e| e["action"] == "read_pii")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, audit) = get(&http, &format!("{base}/audit"), &admin).await;
    assert_eq!(read_pii(&audit).len(), 0, "{audit}");

    // An admin with pii sees everything, and the read is audited.
    let (status, shown) = get(&http, &format!("{base}/tickets/{id}"), &admin).await;
    assert_eq!(status, 200);
    assert_eq!(shown["ticket"]["caller_name"], "王小明");
    assert_eq!(shown["ticket"]["caller_phone"], "13812345678");
    assert!(shown["ticket"]["text"]
        .as_str()
        .is_some_and(|s| s.contains("13812345678")));
    let (status, audit) = get(&http, &format!("{base}/audit?limit=10"), &admin).await;
    assert_eq!(status, 200);
    let entries = read_pii(&audit);
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["action"], "read_pii");
    assert_eq!(entries[0]["target"], id.as_str());
    assert_eq!(entries[0]["token_name"], "test-admin");
    assert!(entries[0]["token_id"].is_string());
    assert!(entries[0]["at"].is_string());
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_token_sees_only_its_district() {
    let server = start().await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let admin = server.token("admin", true, None).await;
    let chaoyang = server.token("supervisor", false, Some("朝阳区")).await;
    let ours = submit(
        &http,
        base,
        &admin,
        json!({"text": "朝阳区望京小区没有电动车充电桩，大家只能飞线充电", "received_at": "2024-03-02 09:00:00"}),
    )
    .await;
    let theirs = submit(
        &http,
        base,
        &admin,
        json!({"text": "海淀区学院路小区没有电动车充电桩，楼道里飞线充电", "received_at": "2024-03-03 09:00:00"}),
    )
    .await;
    server.commit().await;

    let (status, found) = get(&http, &format!("{base}/search?q=充电桩"), &chaoyang).await;
    assert_eq!(status, 200);
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["hits"][0]["ticket"]["id"], ours.as_str());
    // Nothing that counts the whole city: a score weighs the words by every
    // district's tickets, and `seq` numbers every district's changes.
    assert_eq!(found["hits"][0]["score"], 0.0, "{found}");
    assert_eq!(found["hits"][0]["ticket"]["seq"], 0, "{found}");
    let (_, city) = get(&http, &format!("{base}/search?q=充电桩"), &admin).await;
    assert!(
        city["hits"][0]["score"].as_f64().is_some_and(|s| s > 0.0),
        "{city}"
    );
    assert!(
        city["hits"][0]["ticket"]["seq"]
            .as_u64()
            .is_some_and(|s| s > 0),
        "{city}"
    );
    let (_, shown) = get(&http, &format!("{base}/tickets/{ours}"), &chaoyang).await;
    assert_eq!(shown["ticket"]["seq"], 0, "{shown}");
    let (status, _) = get(
        &http,
        &format!("{base}/search?q=充电桩&district=海淀区"),
        &chaoyang,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = get(&http, &format!("{base}/tickets/{ours}"), &chaoyang).await;
    assert_eq!(status, 200);
    // Another district's ticket answers as an unknown id does: nothing
    // tells the two apart.
    let (status, body) = get(&http, &format!("{base}/tickets/{theirs}"), &chaoyang).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("not_found"))
    );
    let unknown = "01a00000-0000-7000-8000-000000000000";
    let (_, nobody) = get(&http, &format!("{base}/tickets/{unknown}"), &chaoyang).await;
    assert_eq!(
        body["error"]["message"]
            .as_str()
            .map(|m| m.replace(theirs.as_str(), "ID")),
        nobody["error"]["message"]
            .as_str()
            .map(|m| m.replace(unknown, "ID")),
        "{body} {nobody}"
    );
    // An external id already used by another district's ticket is refused
    // without naming that ticket; one of its own district gives its id.
    let operator = server.token("operator", false, Some("朝阳区")).await;
    for (text, external_id) in [
        ("海淀区学院路小区电梯坏了", "WO-HD-1"),
        ("朝阳区望京小区电梯坏了", "WO-CY-1"),
    ] {
        submit(
            &http,
            base,
            &admin,
            json!({"text": text, "external_id": external_id}),
        )
        .await;
    }
    let probe = |external_id: &'static str| {
        let request = http
            .post(format!("{base}/tickets"))
            .bearer_auth(&operator)
            .json(&json!({"text": "小区电梯坏了", "external_id": external_id}));
        async move { send(request).await }
    };
    let (status, body) = probe("WO-HD-1").await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.get("id").is_none() && !body.to_string().contains("-7"),
        "{body}"
    );
    let (status, body) = probe("WO-CY-1").await;
    assert_eq!(
        (status, body["duplicate"].clone()),
        (200, json!(true)),
        "{body}"
    );

    let (status, stats) = get(&http, &format!("{base}/stats?by=district"), &chaoyang).await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = stats["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["key"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["朝阳区"], "{stats}");
    let (_, all) = get(&http, &format!("{base}/stats?by=district"), &admin).await;
    assert_eq!(all["rows"].as_array().map(Vec::len), Some(2), "{all}");

    let r = http
        .get(format!("{base}/export/search?format=csv&q=充电桩"))
        .bearer_auth(&chaoyang)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 200);
    let csv = r.text().await.unwrap_or_default();
    assert!(csv.contains(&ours) && !csv.contains(&theirs), "{csv}");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_have_a_bom_chinese_headers_and_masks() {
    let server = start().await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let admin = server.token("admin", true, None).await;
    let supervisor = server.token("supervisor", false, None).await;
    for (i, district) in ["朝阳区", "海淀区", "丰台区"].iter().enumerate() {
        submit(
            &http,
            base,
            &admin,
            json!({
                "text": format!("{district}某小区没有电动车充电桩，联系电话1381234567{i}"),
                "caller_name": "王小明",
                "caller_phone": format!("1381234567{i}"),
                "received_at": format!("2024-03-0{} 09:00:00", i + 1),
            }),
        )
        .await;
    }
    server.commit().await;

    let r = http
        .get(format!("{base}/export/search?format=csv&q=充电桩"))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 200);
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/csv"));
    let disposition = header("content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"hotline-search-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let bytes = r.bytes().await.unwrap_or_default();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "no byte-order mark");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with("工单编号,") && lines[0].contains("诉求内容"),
        "{}",
        lines[0]
    );
    assert!(
        text.contains("138****5670") && text.contains("王**"),
        "{text}"
    );
    assert!(
        !text.contains("1381234567") && !text.contains("王小明"),
        "{text}"
    );

    // With pii the export is whole; stats export as XLSX.
    let r = http
        .get(format!("{base}/export/search?format=csv&q=充电桩"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.text().await.unwrap_or_default().contains("13812345671"));
    let r = http
        .get(format!(
            "{base}/export/stats?format=xlsx&by=district&from=2024-03-01&to=2024-03-31"
        ))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 200);
    assert!(r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("spreadsheetml")));
    let bytes = r.bytes().await.unwrap_or_default();
    assert!(bytes.starts_with(b"PK"));
    let r = http
        .get(format!("{base}/export/stats?format=csv&by=topic"))
        .bearer_auth(&supervisor)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = r.text().await.unwrap_or_default();
    assert!(text.starts_with("\u{feff}专题,专题名称,诉求量"), "{text}");
    let (status, body) = get(
        &http,
        &format!("{base}/export/stats?format=pdf"),
        &supervisor,
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (422, json!("format"))
    );

    let (_, audit) = get(&http, &format!("{base}/audit"), &admin).await;
    let exports: Vec<&Value> = audit["entries"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["action"] == "export").collect())
        .unwrap_or_default();
    assert_eq!(exports.len(), 4, "{audit}");
    assert!(exports.iter().any(|e| e["target"]
        .as_str()
        .is_some_and(|t| t.starts_with("search.csv rows=3 masked"))));
    stop(server).await;
}

/// Everything the process logs, from the moment [`capture_logs`] is first called.
fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
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
        let sink = logs.clone();
        // Everything our crates say, and the dependencies' debug output.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,hotline=trace,hotline_store=trace,hotline_classifier=trace",
            ))
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .try_init()
            .unwrap_or_else(|e| panic!("a subscriber was already installed: {e}"));
        logs
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_complaint_text_and_no_personal_data() {
    let logs = capture_logs();
    let server = start().await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let operator = server.token("operator", false, None).await;
    let supervisor = server.token("supervisor", false, None).await;
    let admin = server.token("admin", true, None).await;
    let text = "丰台区卢沟桥某小区楼下烧烤店油烟直排熏得家里没法开窗，联系电话13987654321";
    let (status, _) = send(
        http.post(format!("{base}/classify"))
            .bearer_auth(&operator)
            .json(&json!({"text": text})),
    )
    .await;
    assert_eq!(status, 200);
    let id = submit(
        &http,
        base,
        &operator,
        json!({
            "text": text,
            "caller_name": "赵铁柱",
            "caller_phone": "13987654321",
            "address": "丰台区卢沟桥乡某小区12号楼",
            "received_at": "2024-05-06 10:00:00",
        }),
    )
    .await;
    for event in [
        json!({"type": "dispatched", "department": "丰台区卢沟桥乡", "at": "2024-05-06T11:00:00"}),
        json!({"type": "feedback", "resolved": true, "note": "已联系赵铁柱 13987654321", "at": "2024-05-07T11:00:00"}),
    ] {
        let (status, body) = send(
            http.post(format!("{base}/tickets/{id}/events"))
                .bearer_auth(&operator)
                .json(&event),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, _) = send(
        http.put(format!("{base}/tickets/{id}/topic"))
            .bearer_auth(&operator)
            .json(&json!({"topic": "kitchen_fumes", "reason": "赵铁柱来电说明是油烟"})),
    )
    .await;
    assert_eq!(status, 200);
    server.commit().await;
    for token in [&supervisor, &admin] {
        let (status, _) = get(&http, &format!("{base}/tickets/{id}"), token).await;
        assert_eq!(status, 200);
        let (status, _) = get(&http, &format!("{base}/search?q=油烟 13987654321"), token).await;
        assert_eq!(status, 200);
        let r = http
            .get(format!("{base}/export/search?format=xlsx&q=油烟"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 200);
    }
    let (status, _) = get(&http, &format!("{base}/tickets/{id}"), "hl_wrong").await;
    assert_eq!(status, 401);
    stop(server).await;

    let logs = logs.lock().map(|l| l.clone()).unwrap_or_default();
    let logs = String::from_utf8_lossy(&logs);
    if let Ok(path) = std::env::var("HOTLINE_TEST_LOG_DUMP") {
        let _ = std::fs::write(path, logs.as_bytes());
    }
    assert!(
        logs.contains("ticket accepted") && logs.contains(&id),
        "the capture saw nothing: {logs}"
    );
    for secret in [
        "13987654321",
        "987654321",
        "赵铁柱",
        "油烟直排",
        "卢沟桥某小区",
        "没法开窗",
        &operator,
        &supervisor,
        &admin,
    ] {
        assert!(!logs.contains(secret), "the logs hold {secret:?}");
    }
}
