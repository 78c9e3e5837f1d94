//! Store insert throughput, and statistics latency at 10 k and at 1 M
//! tickets for the same queries: the counters are keyed by day and month, so
//! the time should follow the range asked, not the tickets stored. Each
//! ticket has one of 336 streets (16 districts × 21), about Beijing's 340.
//!
//!   cargo bench --bench store            (HOTLINE_BENCH_BIG=1000000 by default)

use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime};
use hotline_store::{
    EventBody, GroupBy, Kind, NewTicket, Satisfaction, StatsQuery, Store, StoreConfig,
    TopicAssignment, TopicSource, Urgency,
};

// The binary runs on mimalloc; so do its benchmarks, to measure the same thing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOPICS: [&str; 14] = [
    "ebike_charging",
    "shared_parking",
    "school_traffic",
    "employment",
    "parks",
    "dogs",
    "kitchen_fumes",
    "travel_agencies",
    "express_delivery",
    "old_elevators",
    "property_management",
    "sports_prepaid",
    "medical_order",
    "other",
];
const DISTRICTS: [&str; 16] = [
    "东城区",
    "西城区",
    "朝阳区",
    "海淀区",
    "丰台区",
    "石景山区",
    "门头沟区",
    "房山区",
    "通州区",
    "顺义区",
    "昌平区",
    "大兴区",
    "怀柔区",
    "平谷区",
    "密云区",
    "延庆区",
];

/// A deterministic synthetic ticket (no routing: this measures the store).
fn ticket(i: u64) -> NewTicket {
    let mut x = i.wrapping_mul(0x9E3779B97F4A7C15) ^ 0xD1B54A32D192ED03;
    let mut next = |n: u64| {
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58476D1CE4E5B9);
        x ^= x >> 29;
        x % n
    };
    let day =
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default() + chrono::Days::new(next(366));
    let received: NaiveDateTime = day
        .and_hms_opt(8 + next(10) as u32, 0, 0)
        .unwrap_or_default();
    let hours = |h: i64| received + chrono::Duration::hours(h);
    let mut history = vec![(
        hours(1 + next(30) as i64),
        EventBody::Dispatched {
            department: "d".into(),
        },
    )];
    if next(10) < 8 {
        let satisfaction = [
            Satisfaction::Satisfied,
            Satisfaction::BasicallySatisfied,
            Satisfaction::Unsatisfied,
        ][next(3) as usize];
        history.push((
            hours(72),
            EventBody::Callback {
                valid: true,
                contacted: next(10) < 9,
                resolved: next(10) < 8,
                satisfaction: Some(satisfaction),
            },
        ));
    }
    // 16 districts × 21 streets: about Beijing's 340 街道 / 乡镇.
    let district = DISTRICTS[next(16) as usize];
    NewTicket {
        external_id: Some(format!("b{i}")),
        received_at: Some(received),
        channel: "phone".into(),
        kind: Kind::ALL[next(5) as usize],
        urgency: Urgency::General,
        title: None,
        text: format!("第{i}号工单 合成文本 用于存储基准"),
        caller_name: None,
        caller_phone: None,
        address: None,
        district: Some(district.into()),
        street: Some(format!("{district}第{}街道", next(21))),
        topic: TopicAssignment::given(TOPICS[next(14) as usize], TopicSource::Imported),
        department: "d".into(),
        deciding_words: Vec::new(),
        index_tokens: format!("工单 合成 文本 存储 基准 t{}", i % 1000),
        history,
    }
}

fn fill(store: &Store, from: u64, to: u64) -> f64 {
    let started = Instant::now();
    let mut i = from;
    while i < to {
        let end = (i + 2000).min(to);
        store
            .submit((i..end).map(ticket).collect())
            .unwrap_or_else(|e| panic!("{e}"));
        i = end;
    }
    store.commit_index().unwrap_or_else(|e| panic!("{e}"));
    let rate = (to - from) as f64 / started.elapsed().as_secs_f64();
    // sled writes its dirty pages in the background once a second
    // (`flush_every_ms`): a query measured during that flush took 10-15x
    // as long (a year by topic 2-4 ms against 0.2 ms). The bench measures
    // the query; one that meets a flush in a busy server can take that long.
    std::thread::sleep(std::time::Duration::from_secs(3));
    rate
}

fn median_ms(store: &Store, q: &StatsQuery, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(store.stats(q).unwrap_or_else(|e| panic!("{e}")));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let big: u64 = std::env::var("HOTLINE_BENCH_BIG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 20_000 } else { 1_000_000 });
    let small = 10_000u64.min(big);
    let date = |m: u32, d: u32| NaiveDate::from_ymd_opt(2024, m, d);
    let queries = [
        (
            "year by topic",
            StatsQuery {
                from: date(1, 1),
                to: date(12, 31),
                group_by: GroupBy::Topic,
                ..Default::default()
            },
        ),
        (
            "assessment month by district",
            StatsQuery {
                from: date(5, 19),
                to: date(6, 18),
                group_by: GroupBy::District,
                ..Default::default()
            },
        ),
        (
            "assessment month by street",
            StatsQuery {
                from: date(5, 19),
                to: date(6, 18),
                group_by: GroupBy::Street,
                ..Default::default()
            },
        ),
        (
            "quarter by month",
            StatsQuery {
                from: date(4, 1),
                to: date(6, 30),
                group_by: GroupBy::Month,
                ..Default::default()
            },
        ),
        (
            "one day by topic",
            StatsQuery {
                from: date(3, 15),
                to: date(3, 15),
                group_by: GroupBy::Topic,
                ..Default::default()
            },
        ),
    ];
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let rate_small = fill(&store, 0, small);
    let at_small: Vec<f64> = queries
        .iter()
        .map(|(_, q)| median_ms(&store, q, 31))
        .collect();
    let rate_big = fill(&store, small, big);
    let at_big: Vec<f64> = queries
        .iter()
        .map(|(_, q)| median_ms(&store, q, 31))
        .collect();
    println!("insert (durable, indexed): {rate_small:.0} tickets/s for the first {small}, {rate_big:.0} tickets/s up to {big}");
    println!(
        "{:<30} {:>12} {:>12} {:>8}",
        "stats query (median of 31)",
        format!("{small}"),
        format!("{big}"),
        "ratio"
    );
    for ((name, _), (a, b)) in queries.iter().zip(at_small.iter().zip(&at_big)) {
        println!("{name:<30} {a:>10.3}ms {b:>10.3}ms {:>7.2}x", b / a);
    }
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}
