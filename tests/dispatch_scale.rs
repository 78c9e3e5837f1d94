//! Opt-in measurement (issue 13): the deadline queue's p95 and the hot-spot
//! detection time with 1,000,000 tickets of which 100,000 open, beside the
//! same with 10,000 of which 1,000 open, in one run. Not a timed test: it
//! asserts only that the answers are right, and prints the figures for
//! BENCHMARKS.md.
//!
//! ```sh
//! cargo test --test tests -- --ignored dispatch_scale --nocapture
//! HOTLINE_SCALE_TICKETS=200000 cargo test …   # a smaller large store
//! ```

use std::time::Instant;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use hotline::hotspots::{detect, HotspotQuery};
use hotline_store::{
    EventBody, Kind, NewTicket, QueueQuery, Satisfaction, TopicAssignment, TopicSource, Urgency,
};

const TOPICS: [&str; 8] = [
    "ebike_charging",
    "shared_parking",
    "school_traffic",
    "employment",
    "parks",
    "dogs",
    "kitchen_fumes",
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

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 12, 31)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .unwrap_or_default()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Ticket `i` of `n`: one in ten open (received in the last ten days, half
/// of them dispatched), the rest closed over the year with a full life.
fn ticket(i: usize, n: usize, rng: &mut Rng) -> NewTicket {
    let topic = TOPICS[rng.below(TOPICS.len() as u64) as usize];
    let district = DISTRICTS[rng.below(DISTRICTS.len() as u64) as usize];
    let open = i.is_multiple_of(10);
    let received = if open {
        now() - Duration::minutes(rng.below(10 * 24 * 60) as i64)
    } else {
        now() - Duration::days(11) - Duration::minutes(rng.below(354 * 24 * 60) as i64)
    };
    let department = format!(
        "{district}{}",
        ["城管委", "住建委", "生态环境局", "街道办事处"][rng.below(4) as usize]
    );
    let mut history = Vec::new();
    if !open || rng.below(2) == 0 {
        history.push((
            received + Duration::hours(2),
            EventBody::Dispatched {
                department: department.clone(),
            },
        ));
    }
    if !open {
        history.push((
            received + Duration::days(2),
            EventBody::Feedback {
                resolved: true,
                note: None,
            },
        ));
        history.push((
            received + Duration::days(3),
            EventBody::Callback {
                valid: true,
                contacted: true,
                resolved: true,
                satisfaction: Some(Satisfaction::Satisfied),
            },
        ));
        history.push((
            received + Duration::days(3),
            EventBody::Closed { note: None },
        ));
    }
    NewTicket {
        external_id: Some(format!("S-{n}-{i}")),
        received_at: Some(received),
        channel: "phone".into(),
        kind: Kind::Complaint,
        urgency: [
            Urgency::General,
            Urgency::General,
            Urgency::Utilities,
            Urgency::Complex,
        ][rng.below(4) as usize],
        title: None,
        text: format!("第{i}件：{district}反映问题"),
        caller_name: None,
        caller_phone: None,
        address: None,
        district: Some(district.into()),
        street: None,
        topic: TopicAssignment::given(topic, TopicSource::Imported),
        department,
        deciding_words: Vec::new(),
        index_tokens: format!("{district} 反映 问题"),
        history,
    }
}

struct Figures {
    tickets: usize,
    open: u64,
    load_s: f64,
    queue_p50_ms: f64,
    queue_p95_ms: f64,
    hotspots_ms: f64,
}

fn measure(n: usize) -> Figures {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = hotline_suite::state_with(dir.path(), hotline::import::bulk_config);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ n as u64);
    let started = Instant::now();
    let mut batch = Vec::with_capacity(5000);
    for i in 0..n {
        batch.push(ticket(i, n, &mut rng));
        if batch.len() == 5000 {
            state
                .store
                .submit(std::mem::take(&mut batch))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    state.store.submit(batch).unwrap_or_else(|e| panic!("{e}"));
    state.store.commit_index().unwrap_or_else(|e| panic!("{e}"));
    let load_s = started.elapsed().as_secs_f64();

    let base = QueueQuery {
        page: 1,
        per_page: 50,
        ..QueueQuery::default()
    };
    let queries: Vec<QueueQuery> = vec![
        base.clone(),
        QueueQuery {
            state: Some(hotline_store::DeadlineState::Overdue),
            ..base.clone()
        },
        QueueQuery {
            district: Some("朝阳区".into()),
            ..base.clone()
        },
        QueueQuery {
            topic: Some("kitchen_fumes".into()),
            ..base.clone()
        },
        QueueQuery {
            department: Some("海淀区城管委".into()),
            ..base.clone()
        },
        QueueQuery {
            due_within: Some(Duration::hours(12)),
            ..base.clone()
        },
        QueueQuery {
            page: 20,
            ..base.clone()
        },
    ];
    let mut times = Vec::new();
    let mut open = 0;
    for round in 0..6 {
        for q in &queries {
            let t = Instant::now();
            let page = state
                .store
                .queue(q, now())
                .unwrap_or_else(|e| panic!("{e}"));
            if round > 0 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            if q.state.is_none()
                && q.district.is_none()
                && q.topic.is_none()
                && q.department.is_none()
                && q.due_within.is_none()
            {
                open = page.counts.total();
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    let t = Instant::now();
    let found = detect(
        &state.store,
        &HotspotQuery {
            date: now().date(),
            days: 3,
            district: None,
            topic: None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let hotspots_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(found.clusters.is_empty());
    assert_eq!(open as usize, n / 10, "every open ticket is in the queue");
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    Figures {
        tickets: n,
        open,
        load_s,
        queue_p50_ms: pct(0.5),
        queue_p95_ms: pct(0.95),
        hotspots_ms,
    }
}

#[test]
#[ignore = "a measurement: minutes at 1 M tickets; run with --ignored"]
fn dispatch_scale() {
    let large: usize = std::env::var("HOTLINE_SCALE_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let small = measure(10_000);
    let big = measure(large);
    println!("| tickets | open | load (s) | queue p50 | queue p95 | hot spots |");
    println!("|---|---|---|---|---|---|");
    for f in [&small, &big] {
        println!(
            "| {} | {} | {:.1} | {:.2} ms | {:.2} ms | {:.1} ms |",
            f.tickets, f.open, f.load_s, f.queue_p50_ms, f.queue_p95_ms, f.hotspots_ms
        );
    }
    println!(
        "ratio large/small: queue p95 {:.1}x, hot spots {:.1}x (tickets {}x)",
        big.queue_p95_ms / small.queue_p95_ms,
        big.hotspots_ms / small.hotspots_ms,
        big.tickets / small.tickets
    );
}
