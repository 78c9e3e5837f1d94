//! Hot spots (issue 13): a burst planted in generated data is found, and
//! data without one yields nothing; clusters of near-identical complaints at
//! one address need different callers; the route keeps districts apart.

use chrono::{Duration, NaiveDate};
use hotline::hotspots::{burst_test, detect, poisson_upper_tail, HotspotQuery};
use hotline::intake::{prepare, TicketInput};
use hotline_store::{NewTicket, Submitted};
use hotline_suite::{state_in, TestServer};
use serde_json::Value;

/// The window's last day.
fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 30).unwrap_or_default()
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Poisson(mean) by inversion.
    fn poisson(&mut self, mean: f64) -> u32 {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        let (mut k, mut p) = (0u32, (-mean).exp());
        let mut cdf = p;
        while u > cdf && k < 100 {
            k += 1;
            p *= mean / f64::from(k);
            cdf += p;
        }
        k
    }
}

fn ticket(
    state: &hotline::AppState,
    n: usize,
    day: NaiveDate,
    (topic, district): (&str, &str),
    text: &str,
    address: Option<&str>,
    phone: Option<String>,
) -> NewTicket {
    let input = TicketInput {
        text: text.into(),
        topic: Some(topic.into()),
        district: Some(district.into()),
        address: address.map(Into::into),
        caller_phone: Some(phone.unwrap_or_else(|| format!("139{n:08}"))),
        caller_name: Some("李建国".into()),
        received_at: Some(format!("{day} {:02}:{:02}:00", 8 + n % 10, n % 60)),
        ..Default::default()
    };
    prepare(state, input)
        .unwrap_or_else(|e| panic!("{}", e.message))
        .0
}

const PAIRS: [(&str, &str); 6] = [
    ("kitchen_fumes", "朝阳区"),
    ("kitchen_fumes", "海淀区"),
    ("dogs", "朝阳区"),
    ("parks", "西城区"),
    ("ebike_charging", "丰台区"),
    ("school_traffic", "海淀区"),
];

/// Eight weeks and a window of ordinary traffic (about half a ticket a day
/// per pair), with or without a planted burst and an address cluster.
fn generate(state: &hotline::AppState, planted: bool) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut batch = Vec::new();
    let mut n = 0;
    let first = last_day() - Duration::days(58);
    for d in 0..59 {
        let day = first + Duration::days(d);
        for (topic, district) in PAIRS {
            for _ in 0..rng.poisson(0.5) {
                n += 1;
                let text = format!("第{n}号来电：反映{district}有关问题，希望相关部门处理");
                batch.push(ticket(state, n, day, (topic, district), &text, None, None));
            }
        }
    }
    if planted {
        // The burst: a restaurant's fumes in 朝阳, 14 calls in three days.
        for i in 0..14 {
            n += 1;
            let day = last_day() - Duration::days(i % 3);
            let text = format!("第{n}号来电：朝阳区某烧烤店油烟直排，熏得没法开窗");
            batch.push(ticket(
                state,
                n,
                day,
                ("kitchen_fumes", "朝阳区"),
                &text,
                None,
                None,
            ));
        }
        // The cluster: four callers, one building, nearly the same words.
        for (i, tail) in ["", "，请尽快", "！", "，已经好几天了"].iter().enumerate() {
            n += 1;
            let text = format!("海淀区学院路小区12号楼电梯又坏了，老人上不了楼{tail}");
            batch.push(ticket(
                state,
                n,
                last_day() - Duration::days(i as i64 % 2),
                ("other", "海淀区"),
                &text,
                Some(if i % 2 == 0 {
                    "北京市海淀区学院路小区12号楼3单元"
                } else {
                    "学院路小区 １２号楼"
                }),
                None,
            ));
        }
    }
    // Not clusters (with or without the plant): one caller calling three
    // times (repeats: the same caller, district and text), and three callers
    // at that address about different things, on a pair with a baseline
    // (西城 parks), so that they are no burst either.
    for i in (0..3).rev() {
        n += 1;
        let text = "西城区月坛小区5号楼楼道堆满杂物，消防通道被堵".to_owned();
        let phone = Some("13700001111".to_owned());
        batch.push(ticket(
            state,
            n,
            last_day() - Duration::days(i),
            ("parks", "西城区"),
            &text,
            Some("西城区月坛小区5号楼"),
            phone,
        ));
    }
    for (i, text) in [
        "月坛小区5号楼门口井盖丢了很危险",
        "小区里有人遛狗不牵绳吓到孩子",
        "楼下早点铺占道经营",
    ]
    .iter()
    .enumerate()
    {
        n += 1;
        batch.push(ticket(
            state,
            n,
            last_day() - Duration::days(i as i64),
            ("parks", "西城区"),
            text,
            Some("西城区月坛小区5号楼"),
            None,
        ));
    }
    let stored = state.store.submit(batch).unwrap_or_else(|e| panic!("{e}"));
    assert!(stored.iter().all(|s| matches!(s, Submitted::Created(_))));
    state.store.commit_index().unwrap_or_else(|e| panic!("{e}"));
}

fn query() -> HotspotQuery {
    HotspotQuery {
        date: last_day(),
        days: 3,
        district: None,
        topic: None,
    }
}

#[test]
fn the_poisson_tail_and_the_threshold() {
    assert!((poisson_upper_tail(1, 2.0) - (1.0 - (-2.0f64).exp())).abs() < 1e-12);
    assert!((poisson_upper_tail(0, 3.0) - 1.0).abs() < 1e-12);
    // P(X >= 10 | 1.5) = 4.12e-6 (summed by hand to 1 - P(X <= 9)).
    let p = poisson_upper_tail(10, 1.5);
    assert!((p - 4.1e-6).abs() < 0.05e-6, "{p}");
    // Half a ticket a day over eight weeks (28): three days expect 1.5.
    assert!(burst_test(14, 28, 3).is_some());
    assert!(
        burst_test(6, 28, 3).is_none(),
        "6 against 1.5 is not rare enough"
    );
    // A pair never seen before: four tickets are not a burst, five may be.
    assert!(burst_test(4, 0, 3).is_none());
    assert!(burst_test(5, 0, 3).is_some());
    // A busy pair: 30 where 28 are expected is nothing.
    assert!(burst_test(30, 520, 3).is_none());
}

#[test]
fn a_planted_burst_and_cluster_are_found() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    generate(&state, true);
    let found = detect(&state.store, &query()).unwrap_or_else(|e| panic!("{e}"));
    let bursts: Vec<(&str, &str)> = found
        .bursts
        .iter()
        .map(|b| (b.topic.as_str(), b.district.as_str()))
        .collect();
    assert_eq!(
        bursts,
        vec![("kitchen_fumes", "朝阳区")],
        "{:#?}",
        found.bursts
    );
    let b = &found.bursts[0];
    assert!(b.observed >= 14 && b.p_value <= 1e-5, "{b:?}");
    assert_eq!(b.ids.len() as i64, b.observed, "every ticket behind it");
    for id in &b.ids {
        let t = state
            .store
            .get(*id)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{id}"));
        assert_eq!(
            (t.topic.slug.as_str(), t.district.as_deref()),
            ("kitchen_fumes", Some("朝阳区"))
        );
    }
    assert_eq!(found.clusters.len(), 1, "{:#?}", found.clusters);
    let c = &found.clusters[0];
    assert_eq!(
        (c.address.as_str(), c.tickets, c.callers),
        ("学院路小区12号楼", 4, 4)
    );
    assert_eq!(c.district.as_deref(), Some("海淀区"));
    // Filters: another district has none; the burst's district has it.
    let other = detect(
        &state.store,
        &HotspotQuery {
            district: Some("西城区".into()),
            ..query()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        other.bursts.is_empty() && other.clusters.is_empty(),
        "{other:?}"
    );
    // A week later the burst is in the baseline, and the window is quiet.
    let later = detect(
        &state.store,
        &HotspotQuery {
            date: last_day() + Duration::days(7),
            ..query()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        later.bursts.is_empty() && later.clusters.is_empty(),
        "{later:?}"
    );
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn data_without_a_burst_yields_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    generate(&state, false);
    for days in [1, 3, 7] {
        let found = detect(&state.store, &HotspotQuery { days, ..query() })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(found.bursts.is_empty(), "{days} days: {:#?}", found.bursts);
        assert!(
            found.clusters.is_empty(),
            "{days} days: {:#?}",
            found.clusters
        );
    }
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hotspot_route_keeps_districts_apart_and_holds_nothing_personal() {
    let server = TestServer::start().await;
    let state = server.state.clone();
    tokio::task::spawn_blocking(move || generate(&state, true))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    server.state.clock.set(last_day().and_hms_opt(18, 0, 0));
    let base = &server.base;
    let supervisor = TestServer::client(&server.token("supervisor", false, None).await);
    let (status, body) = get(&supervisor, format!("{base}/hotspots")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["window"][1], "2024-06-30", "the clock's day");
    assert_eq!(body["bursts"][0]["district"], "朝阳区");
    assert_eq!(body["clusters"][0]["callers"], 4);
    let text = body.to_string();
    for secret in ["李建国", "139000", "油烟直排", "电梯又坏了"] {
        assert!(!text.contains(secret), "the hot spots show {secret}");
    }
    // The attacker limited to 海淀 sees 海淀's cluster, not 朝阳's burst.
    let haidian = TestServer::client(&server.token("supervisor", false, Some("海淀区")).await);
    let (status, body) = get(&haidian, format!("{base}/hotspots")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bursts"].as_array().map(Vec::len), Some(0), "{body}");
    assert_eq!(body["clusters"].as_array().map(Vec::len), Some(1), "{body}");
    for q in ["district=朝阳区", "district=朝阳"] {
        assert_eq!(
            get(&haidian, format!("{base}/hotspots?{q}")).await.0,
            403,
            "{q}"
        );
    }
    for (q, field) in [
        ("date=30/06/2024", "date"),
        // chrono reads these; the window and its baseline must still exist.
        ("date=-262143-01-01", "date"),
        ("date=+262142-12-31", "date"),
        ("days=0", "days"),
        ("days=15", "days"),
        ("topic=nope", "topic"),
        ("district=火星", "district"),
    ] {
        let (status, body) = get(&supervisor, format!("{base}/hotspots?{q}")).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body["error"]["field"], field, "{q}: {body}");
    }
    server.stop().await;
}
