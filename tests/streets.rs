//! Street level (街道 / 乡镇): recognised at intake, kept on the ticket
//! across a restart, counted by street, filtered on in the deadline queue,
//! checked when an operator or an import names one.

use chrono::NaiveDate;
use hotline::import::{run, ImportOptions};
use hotline::intake::{prepare, TicketInput};
use hotline_readers::FieldMap;
use hotline_store::{GroupBy, QueueQuery, StatsQuery, Store, Submitted, Ticket};
use hotline_suite::{state_in, TestServer};
use serde_json::{json, Value};

fn input(text: &str) -> TicketInput {
    TicketInput {
        text: text.into(),
        received_at: Some("2026-05-18 09:00:00".into()),
        ..TicketInput::default()
    }
}

fn submit(state: &hotline::AppState, input: TicketInput) -> Ticket {
    let (ticket, _) = prepare(state, input).unwrap_or_else(|e| panic!("{}", e.message));
    match state
        .store
        .submit(vec![ticket])
        .unwrap_or_else(|e| panic!("{e}"))
        .pop()
    {
        Some(Submitted::Created(t)) => *t,
        other => panic!("not created: {other:?}"),
    }
}

fn by_street(store: &Store) -> Vec<(String, i64)> {
    let q = StatsQuery {
        group_by: GroupBy::Street,
        ..StatsQuery::default()
    };
    store
        .stats(&q)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|r| (r.key, r.requests))
        .collect()
}

#[test]
fn a_street_is_kept_across_a_restart_counted_and_queued() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let from_text = submit(&state, input("望京这边小区电梯坏了一个月没人修"));
    assert_eq!(from_text.street.as_deref(), Some("望京街道"));
    assert_eq!(from_text.district.as_deref(), Some("朝阳区"));
    let from_address = submit(
        &state,
        TicketInput {
            address: Some("北京市朝阳区望京西园三区312号楼".into()),
            caller_phone: Some("13900000001".into()),
            ..input("楼下饭馆油烟直排，熏得没法开窗")
        },
    );
    assert_eq!(from_address.street.as_deref(), Some("望京街道"));
    let given = submit(
        &state,
        TicketInput {
            district: Some("海淀".into()),
            street: Some("中关村".into()),
            ..input("共享单车堆在人行道上")
        },
    );
    assert_eq!(
        (given.district.as_deref(), given.street.as_deref()),
        (Some("海淀区"), Some("中关村街道"))
    );
    // The district field wins a disagreement: no street.
    let disagreeing = submit(
        &state,
        TicketInput {
            district: Some("海淀区".into()),
            ..input("三里屯酒吧街半夜噪音太大")
        },
    );
    assert_eq!(disagreeing.street, None);
    let nowhere = submit(&state, input("小区门口的狗太多了"));
    assert_eq!(nowhere.street, None);

    let want = vec![
        ("unknown".to_owned(), 2),
        ("朝阳区望京街道".to_owned(), 2),
        ("海淀区中关村街道".to_owned(), 1),
    ];
    assert_eq!(by_street(&state.store), want);
    let report = state.store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_ok(), "{report:?}");

    let now = NaiveDate::from_ymd_opt(2026, 5, 18)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .unwrap_or_default();
    let queued = |store: &Store, street: &str| {
        let q = QueueQuery {
            street: Some(street.into()),
            page: 1,
            per_page: 50,
            ..QueueQuery::default()
        };
        let mut ids: Vec<_> = store
            .queue(&q, now)
            .unwrap_or_else(|e| panic!("{e}"))
            .items
            .into_iter()
            .map(|i| (i.id, i.street))
            .collect();
        ids.sort();
        ids
    };
    let mut want_queue = vec![
        (from_text.id, Some("望京街道".to_owned())),
        (from_address.id, Some("望京街道".to_owned())),
    ];
    want_queue.sort();
    assert_eq!(queued(&state.store, "望京街道"), want_queue);

    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);
    let store = Store::open(dir.path(), hotline_store::StoreConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let back = store
        .get(given.id)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("lost"));
    assert_eq!(back.street.as_deref(), Some("中关村街道"));
    assert_eq!(by_street(&store), want);
    assert_eq!(queued(&store, "望京街道"), want_queue);
    assert_eq!(queued(&store, "中关村街道").len(), 1);
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn an_operator_street_is_checked_against_the_gazetteer() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let field_of = |i: TicketInput| prepare(&state, i).err().and_then(|e| e.field);
    let unknown = TicketInput {
        street: Some("火星街道".into()),
        ..input("路灯坏了")
    };
    assert_eq!(field_of(unknown).as_deref(), Some("street"));
    let elsewhere = TicketInput {
        district: Some("海淀区".into()),
        street: Some("望京街道".into()),
        ..input("路灯坏了")
    };
    assert_eq!(field_of(elsewhere).as_deref(), Some("street"));
    // A name two districts share: the text says which.
    let (shared, _) = prepare(
        &state,
        TicketInput {
            street: Some("八里庄街道".into()),
            ..input("朝阳区某小区路灯坏了")
        },
    )
    .unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(
        (shared.district.as_deref(), shared.street.as_deref()),
        (Some("朝阳区"), Some("八里庄街道"))
    );
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn an_import_reads_a_street_column_and_rejects_an_unknown_street() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(&dir.path().join("data"));
    let file = dir.path().join("streets.csv");
    std::fs::write(
        &file,
        "工单编号,受理时间,诉求内容,区,街乡镇\n\
         S1,2024-03-01 09:00:00,小区路灯坏了,朝阳区,望京街道\n\
         S2,2024-03-01 10:00:00,小区路灯坏了,,将台乡\n\
         S3,2024-03-01 11:00:00,小区路灯坏了,朝阳区,火星街道\n\
         S4,2024-03-01 12:00:00,小区路灯坏了,海淀区,望京街道\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let report = dir.path().join("rejects.tsv");
    let options = ImportOptions {
        limits: Default::default(),
        files: vec![file],
        format: None,
        map: FieldMap::new(),
        report: report.clone(),
        quiet: true,
        progress_every: std::time::Duration::from_secs(5),
    };
    let done = run(&state, &options).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!((done.imported, done.rejected), (2, 2));
    let rejects = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}"));
    let fields: Vec<&str> = rejects
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(2))
        .collect();
    assert_eq!(fields, vec!["street", "street"], "{rejects}");
    assert_eq!(
        by_street(&state.store),
        vec![
            ("朝阳区将台地区".to_owned(), 1),
            ("朝阳区望京街道".to_owned(), 1)
        ]
    );
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_else(|e| panic!("{e}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_shows_filters_and_counts_streets() {
    let server = TestServer::start().await;
    let token = server.token("admin", true, None).await;
    let http = TestServer::client(&token);
    let base = &server.base;
    let r = http
        .post(format!("{base}/tickets"))
        .json(&json!({"text": "小区路灯坏了", "district": "朝阳区", "street": "望京"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 201);
    let created: Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let (status, ticket) = get(&http, format!("{base}/tickets/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(ticket["ticket"]["street"], "望京街道", "{ticket}");

    let r = http
        .post(format!("{base}/tickets"))
        .json(&json!({"text": "小区路灯坏了", "street": "火星街道"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.status().is_client_error(), "{}", r.status());
    let refused: Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused["error"]["field"], "street", "{refused}");

    let (status, stats) = get(&http, format!("{base}/stats?by=street")).await;
    assert_eq!(status, 200, "{stats}");
    let rows = stats["rows"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.iter()
            .any(|r| r["key"] == "朝阳区望京街道" && r["requests"] == 1),
        "{stats}"
    );
    let (status, queue) = get(&http, format!("{base}/queue?street=望京")).await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue["items"][0]["id"], id.as_str(), "{queue}");
    let (status, _) = get(&http, format!("{base}/queue?street=火星街道")).await;
    assert_eq!(status, 400);
    server.stop().await;
}

/// The demo's tickets carry streets, so a ranking by street has many rows
/// and few tickets without one.
#[test]
fn the_demo_ranks_streets() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = hotline_suite::state_with(dir.path(), |c| c.demo.tickets = 300);
    hotline::demo::populate(&state).unwrap_or_else(|e| panic!("{e}"));
    let rows = by_street(&state.store);
    let unknown = rows
        .iter()
        .find(|(k, _)| k == "unknown")
        .map_or(0, |(_, n)| *n);
    let total: i64 = rows.iter().map(|(_, n)| n).sum();
    assert!(rows.len() > 50, "{rows:?}");
    assert!(unknown * 4 < total, "{unknown} of {total} without a street");
    let report = state.store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_ok(), "{report:?}");
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// A supervisor limited to one district asks for every street, and for a
/// street of another district by name: neither answer shows the other
/// district's street.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_limited_supervisor_sees_only_its_own_streets() {
    let server = TestServer::start().await;
    let admin = TestServer::client(&server.token("admin", true, None).await);
    let base = &server.base;
    for (district, street) in [("朝阳区", "望京"), ("海淀区", "中关村街道")] {
        let r = admin
            .post(format!("{base}/tickets"))
            .json(&json!({"text": "小区路灯坏了", "district": district, "street": street}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 201);
    }
    let limited = TestServer::client(&server.token("supervisor", false, Some("海淀区")).await);
    let (status, stats) = get(&limited, format!("{base}/stats?by=street")).await;
    assert_eq!(status, 200, "{stats}");
    let keys: Vec<String> = stats["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["key"].as_str().map(str::to_owned))
        .collect();
    assert!(keys.iter().any(|k| k == "海淀区中关村街道"), "{stats}");
    assert!(!keys.iter().any(|k| k.starts_with("朝阳区")), "{stats}");
    let (status, queue) = get(&limited, format!("{base}/queue?street=望京")).await;
    assert!(
        status == 403 || queue["items"].as_array().is_some_and(|i| i.is_empty()),
        "{status} {queue}"
    );
}
