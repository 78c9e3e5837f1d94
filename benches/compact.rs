//! `hotline compact` on a store whose tickets went through their whole
//! lifecycle after they were created (dispatched, contacted, feedback,
//! callback: four more versions of each in the journal): journal size before
//! and after, and compaction throughput.
//!
//!   cargo bench --bench compact          (HOTLINE_BENCH_N=100000 by default)

use std::time::Instant;

use chrono::NaiveDate;
use hotline_store::{
    EventBody, Kind, NewEvent, NewTicket, Satisfaction, Store, StoreConfig, Submitted,
    TopicAssignment, TopicSource, Urgency,
};

// The binary runs on mimalloc; so do its benchmarks, to measure the same thing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A ticket of about the real messages' average length (342 characters).
fn ticket(i: u64) -> NewTicket {
    let sentence =
        "小区楼道里有人飞线给电动车充电，物业不管，存在很大的火灾隐患，希望有关部门尽快处理。";
    let text: String = format!("第{i}号工单。") + &sentence.repeat(8);
    NewTicket {
        external_id: Some(format!("c{i}")),
        received_at: NaiveDate::from_ymd_opt(2024, 1 + (i % 12) as u32, 1 + (i % 28) as u32)
            .and_then(|d| d.and_hms_opt(9, 0, 0)),
        channel: "phone".into(),
        kind: Kind::Complaint,
        urgency: Urgency::General,
        title: None,
        text,
        caller_name: None,
        caller_phone: None,
        address: None,
        district: Some("朝阳区".into()),
        street: None,
        topic: TopicAssignment::given("ebike_charging", TopicSource::Imported),
        department: "市城市管理委".into(),
        deciding_words: Vec::new(),
        index_tokens: format!("小区 楼道 飞线 充电 电动车 物业 火灾 隐患 t{i}"),
        history: Vec::new(),
    }
}

fn lifecycle() -> [EventBody; 4] {
    [
        EventBody::Dispatched {
            department: "朝阳区城管委".into(),
        },
        EventBody::Contacted { note: None },
        EventBody::Feedback {
            resolved: true,
            note: Some("已安装充电桩".into()),
        },
        EventBody::Callback {
            valid: true,
            contacted: true,
            resolved: true,
            satisfaction: Some(Satisfaction::Satisfied),
        },
    ]
}

fn journal_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("journal"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: run small then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::var("HOTLINE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_000 } else { 100_000 });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let config = StoreConfig::default();

    let store = Store::open(&data, config.clone()).unwrap_or_else(|e| panic!("{e}"));
    let mut ids = Vec::with_capacity(n as usize);
    let mut i = 0;
    while i < n {
        let end = (i + 2000).min(n);
        for submitted in store
            .submit((i..end).map(ticket).collect())
            .unwrap_or_else(|e| panic!("{e}"))
        {
            if let Submitted::Created(t) = submitted {
                ids.push(t.id);
            }
        }
        i = end;
    }
    // Events come one request at a time, as from the departments: many
    // threads, so that the writer groups them.
    let started = Instant::now();
    std::thread::scope(|s| {
        for part in ids.chunks(ids.len().div_ceil(64)) {
            let store = &store;
            s.spawn(move || {
                for body in lifecycle() {
                    for id in part {
                        let event = NewEvent {
                            id: None,
                            at: None,
                            body: body.clone(),
                        };
                        store
                            .add_event(*id, event)
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                }
            });
        }
    });
    let events_rate = (ids.len() * 4) as f64 / started.elapsed().as_secs_f64();
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    let before = journal_bytes(&data);

    let started = Instant::now();
    let report = Store::compact(&data, config.clone(), |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let seconds = started.elapsed().as_secs_f64();
    let after = journal_bytes(&data);
    assert_eq!(report.tickets, n);
    assert_eq!(
        (report.journal_bytes_before, report.journal_bytes_after),
        (before, after)
    );

    let store = Store::open(&data, config).unwrap_or_else(|e| panic!("{e}"));
    let verify = store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(verify.is_ok(), "{verify:?}");
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));

    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "tickets {n}, each created then given 4 events ({events_rate:.0} events/s from 64 threads)"
    );
    println!("journal before        {:>10.1} MB", mb(before));
    println!(
        "journal after         {:>10.1} MB  ({:.1} % of before)",
        mb(after),
        100.0 * after as f64 / before as f64
    );
    println!("compaction            {seconds:>10.2} s  ({:.0} tickets/s, store opened and closed included)", n as f64 / seconds);
}
