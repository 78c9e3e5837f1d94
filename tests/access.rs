//! Trust under attack (issue 15): a token never grants more than its
//! creator holds, admin views respect the admin's limits, and the search
//! index is no oracle for personal data; against a real server on
//! 127.0.0.1:0.

use hotline_suite::TestServer;
use serde_json::{json, Value};

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_else(|e| panic!("{e}"));
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    send(http.get(url).bearer_auth(token)).await
}

async fn create_token(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    send(
        http.post(format!("{base}/tokens"))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

/// The id of the token whose secret is `secret`, as its holder sees it.
async fn id_of(server: &TestServer, secret: &str) -> String {
    let state = server.state.clone();
    let secret = secret.to_owned();
    tokio::task::spawn_blocking(move || state.tokens.verify(&secret))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|r| r.id.to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_admin_cannot_create_a_token_beyond_its_limits() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let limited = server.token("admin", false, Some("朝阳区")).await;

    for (body, what) in [
        (json!({"role": "admin"}), "an admin of every district"),
        (
            json!({"role": "admin", "pii": true}),
            "an admin of every district with pii",
        ),
        (
            json!({"role": "admin", "district": "朝阳区", "pii": true}),
            "its own district with pii",
        ),
        (
            json!({"role": "supervisor", "district": "朝阳区", "pii": true}),
            "a supervisor with pii",
        ),
        (
            json!({"role": "operator", "district": "海淀区"}),
            "another district",
        ),
        (json!({"role": "operator"}), "an operator of every district"),
    ] {
        let (status, answer) = create_token(&http, base, &limited, body).await;
        assert_eq!(status, 403, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden", "{what}: {answer}");
    }

    // Within its limits: allowed, and the new token holds what was asked.
    let (status, answer) = create_token(
        &http,
        base,
        &limited,
        json!({"role": "admin", "district": "朝阳区", "name": "朝阳副管理员"}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["record"]["district"], "朝阳区");
    assert_eq!(answer["record"]["pii"], false);

    // An admin without pii but with every district cannot grant pii either.
    let no_pii = server.token("admin", false, None).await;
    let (status, answer) = create_token(
        &http,
        base,
        &no_pii,
        json!({"role": "operator", "pii": true}),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = create_token(
        &http,
        base,
        &no_pii,
        json!({"role": "operator", "district": "海淀区"}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");

    // Only the tokens made within the limits exist: the refused ones left nothing.
    let root = server.token("admin", true, None).await;
    let (_, listed) = get(&http, &format!("{base}/tokens"), &root).await;
    let all = listed["tokens"].as_array().cloned().unwrap_or_default();
    assert_eq!(all.len(), 5, "{listed}");
    let granted_pii = all.iter().filter(|t| t["pii"] == true).count();
    assert_eq!(granted_pii, 1, "only the root admin has pii: {listed}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_admin_lists_and_revokes_only_tokens_within_its_limits() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let root = server.token("admin", true, None).await;
    let haidian = server.token("operator", false, Some("海淀区")).await;
    let chaoyang_pii = server.token("supervisor", true, Some("朝阳区")).await;
    let chaoyang = server.token("operator", false, Some("朝阳区")).await;
    let limited = server.token("admin", false, Some("朝阳区")).await;
    let (root_id, haidian_id, chaoyang_pii_id, chaoyang_id, limited_id) = (
        id_of(&server, &root).await,
        id_of(&server, &haidian).await,
        id_of(&server, &chaoyang_pii).await,
        id_of(&server, &chaoyang).await,
        id_of(&server, &limited).await,
    );

    let (status, listed) = get(&http, &format!("{base}/tokens"), &limited).await;
    assert_eq!(status, 200, "{listed}");
    let mut ids: Vec<String> = listed["tokens"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    let mut expected = vec![chaoyang_id.clone(), limited_id.clone()];
    expected.sort();
    assert_eq!(ids, expected, "{listed}");

    // The unlimited admin still lists every token.
    let (_, listed) = get(&http, &format!("{base}/tokens"), &root).await;
    assert_eq!(
        listed["tokens"].as_array().map(Vec::len),
        Some(5),
        "{listed}"
    );

    // A token beyond its limits answers exactly as an unknown id does: a
    // different answer would confirm the id and say which limit hides it.
    let unknown_id = uuid::Uuid::now_v7().to_string();
    let (unknown_status, unknown) = send(
        http.delete(format!("{base}/tokens/{unknown_id}"))
            .bearer_auth(&limited),
    )
    .await;
    assert_eq!(unknown_status, 404, "{unknown}");
    for (id, what) in [
        (&root_id, "an unlimited admin"),
        (&haidian_id, "another district's token"),
        (&chaoyang_pii_id, "a token with pii"),
    ] {
        let (status, answer) = send(
            http.delete(format!("{base}/tokens/{id}"))
                .bearer_auth(&limited),
        )
        .await;
        assert_eq!(status, unknown_status, "{what}: {answer}");
        let as_unknown = answer.to_string().replace(id.as_str(), &unknown_id);
        assert_eq!(as_unknown, unknown.to_string(), "{what}");
    }
    // They still work.
    for token in [&root, &haidian, &chaoyang_pii] {
        let (status, _) = get(&http, &format!("{base}/me"), token).await;
        assert_eq!(status, 200);
    }

    // Within its limits: revoked.
    let (status, answer) = send(
        http.delete(format!("{base}/tokens/{chaoyang_id}"))
            .bearer_auth(&limited),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = get(&http, &format!("{base}/me"), &chaoyang).await;
    assert_eq!(status, 401);
    server.stop().await;
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

const PHONE: &str = "13812345678";
const ID_NUMBER: &str = "110105199003071234";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_limited_to_the_readers_district_and_masked_without_pii() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let base = &server.base;
    let root = server.token("admin", true, None).await;
    let operator = server.token("operator", false, None).await;
    for district in ["朝阳区", "海淀区"] {
        submit(
            &http,
            base,
            &operator,
            json!({
                "text": format!("{district}某小区电动车充电桩坏了，联系电话{PHONE}"),
                "caller_name": "王小明",
                "caller_phone": PHONE,
                "district": district,
            }),
        )
        .await;
    }
    server.commit().await;
    // A search for the caller by name, one for the name among other words,
    // and one for an ordinary word.
    for q in ["王小明", "王小名", "王小明 充电桩", "充电桩"] {
        let (status, _) = get(&http, &format!("{base}/search?q={q}"), &root).await;
        assert_eq!(status, 200, "{q}");
    }
    // Searches and exports for a phone number, in each district and in all.
    for district in ["朝阳区", "海淀区", ""] {
        let (status, _) = get(
            &http,
            &format!("{base}/search?q={PHONE}&district={district}"),
            &root,
        )
        .await;
        assert_eq!(status, 200);
        let r = http
            .get(format!(
                "{base}/export/search?format=csv&q={PHONE}&district={district}"
            ))
            .bearer_auth(&root)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 200);
    }
    let (status, _) = create_token(
        &http,
        base,
        &root,
        json!({"role": "operator", "district": "海淀区", "name": "海淀夜班"}),
    )
    .await;
    assert_eq!(status, 201);

    // The unlimited admin with pii reads everything, in clear.
    let (status, audit) = get(&http, &format!("{base}/audit?limit=1000"), &root).await;
    assert_eq!(status, 200);
    assert!(audit.to_string().contains(PHONE), "{audit}");
    let districts = |audit: &Value| -> Vec<Option<String>> {
        audit["entries"]
            .as_array()
            .map(|es| {
                es.iter()
                    .map(|e| e["district"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(
        districts(&audit).contains(&Some("海淀区".into())),
        "{audit}"
    );

    // An admin limited to 朝阳区, without pii: its district only, masked.
    let limited = server.token("admin", false, Some("朝阳区")).await;
    let (status, audit) = get(&http, &format!("{base}/audit?limit=1000"), &limited).await;
    assert_eq!(status, 200, "{audit}");
    let seen = districts(&audit);
    assert!(!seen.is_empty(), "{audit}");
    assert!(
        seen.iter().all(|d| d.as_deref() == Some("朝阳区")),
        "{audit}"
    );
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .map(|es| es.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert!(actions.contains(&"search"), "{audit}");
    assert!(actions.contains(&"export"), "{audit}");
    let text = audit.to_string();
    assert!(!text.contains(PHONE), "{audit}");
    assert!(!text.contains("12345678"), "{audit}");
    assert!(text.contains("138****5678"), "{audit}");
    // The searches were made by the admin with pii, a token this admin's
    // token list hides: the log does not name it either (an attacker's
    // finding at stop 33: its id and name were shown).
    let actors: Vec<(&Value, &str)> = audit["entries"]
        .as_array()
        .map(|es| {
            es.iter()
                .filter(|e| e["action"] == "search")
                .map(|e| (&e["token_id"], e["token_name"].as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    assert!(!actors.is_empty(), "{audit}");
    assert!(
        actors
            .iter()
            .all(|(id, name)| id.is_null() && *name == hotline::auth::BEYOND_LIMITS),
        "{audit}"
    );

    // An admin of every district without pii (defect 13): every entry, the
    // search terms of searches and exports masked.
    let no_pii = server.token("admin", false, None).await;
    let (status, audit) = get(&http, &format!("{base}/audit?limit=1000"), &no_pii).await;
    assert_eq!(status, 200);
    assert!(
        districts(&audit).contains(&Some("海淀区".into())),
        "{audit}"
    );
    let text = audit.to_string();
    assert!(!text.contains(PHONE), "{audit}");
    assert!(!text.contains("12345678"), "{audit}");
    // Every word searched for is masked as a name, alone or among other
    // words, whether or not it is a caller's: a caller's name and a name
    // that is nobody's read alike (no oracle for who is a caller). A ticket
    // id read stays whole.
    assert!(!text.contains("王小明"), "{audit}");
    assert!(!text.contains("王小名"), "{audit}");
    let queries: Vec<&str> = audit["entries"]
        .as_array()
        .map(|es| es.iter().filter_map(|e| e["query"].as_str()).collect())
        .unwrap_or_default();
    for q in ["王**", "王** 充**", "充**"] {
        assert!(queries.contains(&q), "{q}: {queries:?}");
    }
    let name_searches = queries.iter().filter(|q| **q == "王**").count();
    assert!(name_searches >= 2, "{queries:?}");
    // Tokens that may see personal data are beyond its limits: the token
    // list hides them, and so does the log of their creation.
    let (status, created) = create_token(
        &http,
        base,
        &root,
        json!({"name": "pii-reader-x", "role": "supervisor", "pii": true}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (_, audit) = get(&http, &format!("{base}/audit?limit=1000"), &no_pii).await;
    assert!(!audit.to_string().contains("pii-reader-x"), "{audit}");
    let (_, audit) = get(&http, &format!("{base}/audit?limit=1000"), &root).await;
    assert!(audit.to_string().contains("pii-reader-x"), "{audit}");
    let (_, clear) = get(&http, &format!("{base}/audit?limit=1000"), &root).await;
    let read_ids: Vec<&str> = clear["entries"]
        .as_array()
        .map(|es| {
            es.iter()
                .filter(|e| e["action"] == "read_pii")
                .filter_map(|e| e["target"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(!read_ids.is_empty(), "{clear}");
    for id in read_ids {
        assert!(text.contains(id), "{id} is not readable without pii");
    }
    server.stop().await;
}

/// What a search answers, without what differs between equal answers.
fn answer(page: &Value) -> (Value, Value) {
    (page["total"].clone(), page["hits"].clone())
}

/// The total, and each hit's ticket and score.
fn ranking(page: &Value) -> (Value, Vec<(Value, Value)>) {
    let hits = page["hits"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .map(|h| (h["ticket"]["id"].clone(), h["score"].clone()))
                .collect()
        })
        .unwrap_or_default();
    (page["total"].clone(), hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_is_no_oracle_for_personal_data_without_pii() {
    let server = TestServer::start().await;
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
            "text": format!(
                "王小明反映望京小区电动车充电桩坏了，联系电话{PHONE}，身份证{ID_NUMBER}，另一部电话138-8765-4321"
            ),
            "caller_name": "王小明",
            "caller_phone": PHONE,
            "district": "朝阳区",
        }),
    )
    .await;
    // Another ticket, so that "nothing found" and "everything found" differ.
    submit(
        &http,
        base,
        &operator,
        json!({"text": "海淀区某路口红绿灯坏了", "district": "海淀区"}),
    )
    .await;
    server.commit().await;

    let search = |q: String, token: String| {
        let http = http.clone();
        let url = format!("{base}/search?q={}", urlencode(&q));
        async move { get(&http, &url, &token).await }
    };
    // What a number that is nowhere in the store answers.
    let (status, absent) = search("13812355678".into(), supervisor.clone()).await;
    assert_eq!(status, 200);
    let absent = answer(&absent);
    assert_eq!(absent.0, 0, "{absent:?}");
    for q in [
        PHONE,
        ID_NUMBER,
        "138-1234-5678",
        "1381234",
        "12345678",
        "1234",
        "8765",
        "138 8765 4321",
        "13887654321",
        "110105",
        "19900307",
        "1990030712",
        "王小明",
        "小明",
    ] {
        let (status, found) = search(q.into(), supervisor.clone()).await;
        assert_eq!(status, 200, "{q}: {found}");
        assert_eq!(answer(&found), absent, "{q}: {found}");
        // Alongside an ordinary word, it finds what an absent number does,
        // ranked alike (the snippets mark the query's own words in the
        // masked text, which the reader sees anyway).
        let (_, with_word) = search(format!("充电桩 {q}"), supervisor.clone()).await;
        let (_, with_absent) = search("充电桩 13812355678".into(), supervisor.clone()).await;
        assert_eq!(ranking(&with_word), ranking(&with_absent), "{q}");
    }
    // Ordinary words still find the ticket.
    let (_, found) = search("充电桩".into(), supervisor.clone()).await;
    assert_eq!(found["total"], 1, "{found}");

    // A reader with pii finds it by the phone, however written, by the
    // identity number and by the caller's name.
    for q in [PHONE, "138-1234-5678", ID_NUMBER, "13887654321", "王小明"] {
        let (status, found) = search(q.into(), admin.clone()).await;
        assert_eq!(status, 200, "{q}: {found}");
        assert_eq!(found["total"], 1, "{q}: {found}");
        assert_eq!(found["hits"][0]["ticket"]["id"], id.as_str(), "{q}");
    }
    let (_, found) = search("13812355678".into(), admin.clone()).await;
    assert_eq!(found["total"], 0, "{found}");

    // Every search is audited, its query masked for an admin without pii.
    let no_pii = server.token("admin", false, None).await;
    let (_, audit) = get(&http, &format!("{base}/audit?limit=1000"), &no_pii).await;
    let searches = audit["entries"]
        .as_array()
        .map(|es| es.iter().filter(|e| e["action"] == "search").count())
        .unwrap_or_default();
    assert!(searches >= 2 * 14 + 5, "{audit}");
    assert!(!audit.to_string().contains(PHONE), "{audit}");
    let (_, audit) = get(&http, &format!("{base}/audit?limit=1000"), &admin).await;
    assert!(audit.to_string().contains(PHONE), "{audit}");
    server.stop().await;
}

/// Percent-encodes a query value (spaces, `-`, CJK).
fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
