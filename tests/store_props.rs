//! Store properties: random operation sequences against an in-memory model,
//! and acknowledged tickets surviving a SIGKILL.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hotline_store::{
    contribution, Column, Counts, Error, EventBody, GroupBy, Kind, NewEvent, NewTicket,
    Satisfaction, StatsQuery, Store, StoreConfig, Submitted, Ticket, TopicAssignment, TopicSource,
    Urgency,
};
use proptest::prelude::*;

const SLUGS: [&str; 3] = ["water", "roads", "noise"];
const DISTRICTS: [&str; 3] = ["east", "west", "north"];
const EXTERNAL_IDS: [&str; 4] = ["ext-a", "ext-b", "ext-c", "ext-d"];
const PHONES: [&str; 3] = ["13800000001", "13800000002", "13800000003"];
const TEXTS: [&str; 4] = [
    "水管破裂 漏水严重",
    "路灯不亮",
    "夜间施工噪音扰民已经持续很久了",
    "咨询社保办理流程",
];

/// A local time `day` days after 2024-03-01 (day < 61), at `hour` o'clock.
fn stamp(day: u32, hour: u32) -> String {
    let (month, dom) = if day < 31 {
        (3, day + 1)
    } else {
        (4, day - 30)
    };
    format!("2024-{month:02}-{dom:02}T{hour:02}:15:00")
}

pub(crate) fn new_ticket(
    slug: &str,
    district: Option<&str>,
    kind: Kind,
    received: &str,
    external_id: Option<&str>,
    phone: Option<&str>,
    text: &str,
) -> NewTicket {
    NewTicket {
        external_id: external_id.map(str::to_owned),
        received_at: Some(serde_json::from_value(serde_json::json!(received)).expect("timestamp")),
        channel: "phone".into(),
        kind,
        urgency: Urgency::General,
        title: None,
        text: text.to_owned(),
        caller_name: None,
        caller_phone: phone.map(str::to_owned),
        address: None,
        district: district.map(str::to_owned),
        street: None,
        topic: TopicAssignment {
            slug: slug.to_owned(),
            source: TopicSource::Router,
            confidence: Some(0.9),
            model: None,
        },
        department: "d".into(),
        deciding_words: Vec::new(),
        index_tokens: text.chars().map(String::from).collect::<Vec<_>>().join(" "),
        history: Vec::new(),
    }
}

#[derive(Debug, Clone)]
enum Ev {
    Dispatched,
    Contacted,
    Feedback {
        resolved: bool,
    },
    Callback {
        valid: bool,
        contacted: bool,
        resolved: bool,
        satisfaction: Option<usize>,
    },
    Closed,
}

#[derive(Debug, Clone)]
enum Op {
    Submit {
        topic: usize,
        district: Option<usize>,
        kind: usize,
        day: u32,
        hour: u32,
        external_id: Option<usize>,
        phone: Option<usize>,
        text: usize,
    },
    Event {
        ticket: usize,
        later: u32,
        body: Ev,
    },
    SetTopic {
        ticket: usize,
        topic: usize,
    },
    Reopen,
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        2 => Just(Ev::Dispatched),
        1 => Just(Ev::Contacted),
        2 => any::<bool>().prop_map(|resolved| Ev::Feedback { resolved }),
        4 => (any::<bool>(), any::<bool>(), any::<bool>(), proptest::option::of(0usize..3)).prop_map(
            |(valid, contacted, resolved, satisfaction)| Ev::Callback {
                valid,
                contacted,
                resolved,
                satisfaction,
            }
        ),
        1 => Just(Ev::Closed),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (
            0usize..3,
            proptest::option::of(0usize..3),
            0usize..Kind::ALL.len(),
            0u32..61,
            0u32..12,
            proptest::option::of(0usize..EXTERNAL_IDS.len()),
            proptest::option::of(0usize..PHONES.len()),
            0usize..TEXTS.len(),
        )
            .prop_map(|(topic, district, kind, day, hour, external_id, phone, text)| Op::Submit {
                topic,
                district,
                kind,
                day,
                hour,
                external_id,
                phone,
                text,
            }),
        5 => (any::<usize>(), 1u32..12, ev()).prop_map(|(ticket, later, body)| Op::Event {
            ticket,
            later,
            body,
        }),
        2 => (any::<usize>(), 0usize..3).prop_map(|(ticket, topic)| Op::SetTopic { ticket, topic }),
        1 => Just(Op::Reopen),
    ]
}

fn open(dir: &Path) -> Store {
    Store::open(dir, StoreConfig::default()).expect("store opens")
}

/// Opens the store again right after `shutdown` in this same process:
/// shutdown waits for the indexer to release tantivy's lock, so no retry.
fn reopen(dir: &Path) -> Store {
    open(dir)
}

fn close_enough(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        _ => false,
    }
}

fn rate(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Everything the store says must follow from the model's tickets.
fn check(store: &Store, model: &[Ticket]) {
    let report = store.verify().expect("verify runs");
    assert!(report.is_ok(), "verify: {report:?}");
    assert_eq!(report.tickets as usize, model.len());
    for t in model {
        let stored = store.get(t.id).expect("get").expect("ticket is stored");
        assert_eq!(&stored, t, "stored ticket differs from the model");
    }

    // Stats by topic, recomputed from scratch.
    let cfg = StoreConfig::default();
    let mut expected: BTreeMap<String, (Counts, Counts)> = BTreeMap::new();
    for t in model {
        let (key, c) = contribution(t, &cfg.deadlines);
        let slot = expected.entry(key.topic).or_default();
        if key.kind == Kind::Consultation {
            slot.1.add(&c);
        } else {
            slot.0.add(&c);
        }
    }
    let rows = store
        .stats(&StatsQuery {
            group_by: GroupBy::Topic,
            include_undated: true,
            ..StatsQuery::default()
        })
        .expect("stats");
    let row_keys: HashSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    for (topic, (req, cons)) in &expected {
        if !(req.is_zero() && cons.is_zero()) {
            assert!(
                row_keys.contains(topic.as_str()),
                "no stats row for {topic}"
            );
        }
    }
    for row in &rows {
        let (req, cons) = expected.get(&row.key).copied().unwrap_or_default();
        let valid = req.get(Column::ValidCallbacks);
        assert_eq!(
            row.requests,
            req.get(Column::Received),
            "requests of {}",
            row.key
        );
        assert_eq!(
            row.consultations,
            cons.get(Column::Received) + cons.get(Column::Repeats),
            "consultations of {}",
            row.key
        );
        assert_eq!(
            row.repeats,
            req.get(Column::Repeats),
            "repeats of {}",
            row.key
        );
        assert_eq!(row.valid_callbacks, valid, "valid callbacks of {}", row.key);
        assert_eq!(
            row.contacted,
            req.get(Column::Contacted),
            "contacted of {}",
            row.key
        );
        assert_eq!(
            row.resolved,
            req.get(Column::Resolved),
            "resolved of {}",
            row.key
        );
        assert_eq!(
            row.satisfied,
            req.get(Column::Satisfied),
            "satisfied of {}",
            row.key
        );
        assert_eq!(
            row.basically_satisfied,
            req.get(Column::BasicallySatisfied),
            "basically satisfied of {}",
            row.key
        );
        assert_eq!(
            row.unsatisfied,
            req.get(Column::Unsatisfied),
            "unsatisfied of {}",
            row.key
        );
        assert!(close_enough(
            row.response_rate,
            rate(req.get(Column::Contacted), valid)
        ));
        assert!(close_enough(
            row.resolution_rate,
            rate(req.get(Column::Resolved), valid)
        ));
        let satisfaction = (valid > 0).then(|| {
            (req.get(Column::Satisfied) as f64 + 0.9 * req.get(Column::BasicallySatisfied) as f64)
                / valid as f64
        });
        assert!(
            close_enough(row.satisfaction_rate, satisfaction),
            "satisfaction of {}: {:?} vs {:?}",
            row.key,
            row.satisfaction_rate,
            satisfaction
        );
    }

    // One ticket per external id, and the lookup finds it.
    let mut per_external: HashMap<String, Vec<_>> = HashMap::new();
    for t in store.tickets() {
        let t = t.expect("ticket decodes");
        if let Some(ext) = t.external_id {
            per_external.entry(ext).or_default().push(t.id);
        }
    }
    for (ext, ids) in &per_external {
        assert_eq!(ids.len(), 1, "external id {ext} stored {} times", ids.len());
        assert_eq!(
            store.find_external(ext).expect("find_external"),
            Some(ids[0])
        );
    }
    let model_exts: HashSet<&str> = model
        .iter()
        .filter_map(|t| t.external_id.as_deref())
        .collect();
    assert_eq!(model_exts.len(), per_external.len());
}

fn run_ops(ops: &[Op]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(dir.path());
    let mut model: Vec<Ticket> = Vec::new();
    // (day, hour) each model ticket was received at, to date its events.
    let mut received: Vec<(u32, u32)> = Vec::new();
    for op in ops {
        match op {
            Op::Submit {
                topic,
                district,
                kind,
                day,
                hour,
                external_id,
                phone,
                text,
            } => {
                let ext = external_id.map(|i| EXTERNAL_IDS[i]);
                let nt = new_ticket(
                    SLUGS[*topic],
                    district.map(|i| DISTRICTS[i]),
                    Kind::ALL[*kind],
                    &stamp(*day, *hour),
                    ext,
                    phone.map(|i| PHONES[i]),
                    TEXTS[*text],
                );
                let out = store.submit(vec![nt]).expect("submit");
                assert_eq!(out.len(), 1);
                match out.into_iter().next().expect("one outcome") {
                    Submitted::Created(t) => {
                        if let Some(ext) = ext {
                            assert!(
                                model.iter().all(|m| m.external_id.as_deref() != Some(ext)),
                                "second ticket created for {ext}"
                            );
                        }
                        model.push(*t);
                        received.push((*day, *hour));
                    }
                    Submitted::Duplicate(id) => {
                        let ext = ext.expect("only tickets with an external id are duplicates");
                        let original = model
                            .iter()
                            .find(|m| m.id == id)
                            .expect("duplicate points at a stored ticket");
                        assert_eq!(original.external_id.as_deref(), Some(ext));
                    }
                }
            }
            Op::Event {
                ticket,
                later,
                body,
            } => {
                if model.is_empty() {
                    continue;
                }
                let i = ticket % model.len();
                let (day, hour) = received[i];
                let body = match body {
                    Ev::Dispatched => EventBody::Dispatched {
                        department: "d".into(),
                    },
                    Ev::Contacted => EventBody::Contacted { note: None },
                    Ev::Feedback { resolved } => EventBody::Feedback {
                        resolved: *resolved,
                        note: None,
                    },
                    Ev::Callback {
                        valid,
                        contacted,
                        resolved,
                        satisfaction,
                    } => EventBody::Callback {
                        valid: *valid,
                        contacted: *contacted,
                        resolved: *resolved,
                        satisfaction: satisfaction.map(|s| {
                            [
                                Satisfaction::Satisfied,
                                Satisfaction::BasicallySatisfied,
                                Satisfaction::Unsatisfied,
                            ][s]
                        }),
                    },
                    Ev::Closed => EventBody::Closed { note: None },
                };
                let event = NewEvent {
                    id: None,
                    at: Some(
                        serde_json::from_value(serde_json::json!(stamp(day, hour + later)))
                            .expect("timestamp"),
                    ),
                    body,
                };
                match store.add_event(model[i].id, event) {
                    Ok(t) => {
                        assert!(model[i].is_open(), "event accepted on a closed ticket");
                        model[i] = t;
                    }
                    Err(Error::Conflict(_)) => {
                        assert!(!model[i].is_open(), "conflict on an open ticket");
                    }
                    Err(e) => panic!("add_event: {e}"),
                }
            }
            Op::SetTopic { ticket, topic } => {
                if model.is_empty() {
                    continue;
                }
                let i = ticket % model.len();
                let t = store
                    .set_topic(model[i].id, SLUGS[*topic], "d", Some("prop".into()))
                    .expect("set_topic");
                assert_eq!(t.topic.slug, SLUGS[*topic]);
                model[i] = t;
            }
            Op::Reopen => {
                store.shutdown().expect("shutdown");
                drop(store);
                store = reopen(dir.path());
            }
        }
    }
    check(&store, &model);
    store.shutdown().expect("shutdown");
    drop(store);
    let store = reopen(dir.path());
    check(&store, &model);
    store.shutdown().expect("shutdown");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_operations_match_the_model(ops in proptest::collection::vec(op(), 1..=25)) {
        run_ops(&ops);
    }
}

const CRASH_DIR: &str = "HOTLINE_CRASH_DIR";
const CRASH_ROUND: &str = "HOTLINE_CRASH_ROUND";

/// Run by `crash_recovery_keeps_acknowledged_tickets` in a child process:
/// submits tickets forever, printing each one's external id once stored.
#[test]
#[ignore = "run as a child process by crash_recovery_keeps_acknowledged_tickets"]
fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let round = std::env::var(CRASH_ROUND).unwrap_or_else(|_| "0".into());
    let store = open(Path::new(&dir));
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    let mut n = 0u64;
    // Bounded, in case the parent goes away without killing us.
    while started.elapsed() < Duration::from_secs(120) {
        let ext = format!("r{round}-{n}");
        let nt = new_ticket(
            SLUGS[(n % 3) as usize],
            Some(DISTRICTS[(n % 3) as usize]),
            Kind::ALL[(n % 5) as usize],
            &stamp((n % 61) as u32, (n % 12) as u32),
            Some(&ext),
            None,
            TEXTS[(n % 4) as usize],
        );
        let out = store.submit(vec![nt]).expect("submit");
        assert!(matches!(out.as_slice(), [Submitted::Created(_)]));
        if writeln!(stdout, "ACK {ext} END")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return;
        }
        n += 1;
    }
}

#[test]
fn crash_recovery_keeps_acknowledged_tickets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut acked: Vec<String> = Vec::new();
    for round in 0..3 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store_props::crash_child",
                "--nocapture",
                "--ignored",
            ])
            .env(CRASH_DIR, dir.path())
            .env(CRASH_ROUND, round.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("child starts");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let parse = |line: &str| -> Option<String> {
            line.strip_prefix("ACK ")?
                .strip_suffix(" END")
                .map(str::to_owned)
        };
        let mut round_acks = 0usize;
        let started = Instant::now();
        let mut first_ack: Option<Instant> = None;
        loop {
            if round_acks >= 30 || first_ack.is_some_and(|t| t.elapsed() > Duration::from_secs(3)) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "child of round {round} acknowledged nothing"
            );
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(ext) = parse(&line) {
                        first_ack.get_or_insert_with(Instant::now);
                        acked.push(ext);
                        round_acks += 1;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("child of round {round} exited early: {:?}", child.wait())
                }
            }
        }
        child.kill().expect("SIGKILL the child");
        child.wait().expect("child reaped");
        reader.join().expect("reader thread");
        // Lines written before the kill are acknowledgements too.
        for line in rx.try_iter() {
            if let Some(ext) = parse(&line) {
                acked.push(ext);
            }
        }
    }
    assert!(
        acked.len() >= 3,
        "too few acknowledgements: {}",
        acked.len()
    );
    eprintln!(
        "{} tickets acknowledged over 3 killed children",
        acked.len()
    );

    let store = open(dir.path());
    let mut per_external: HashMap<String, usize> = HashMap::new();
    for t in store.tickets() {
        let t = t.expect("ticket decodes");
        *per_external
            .entry(
                t.external_id
                    .expect("every crash ticket has an external id"),
            )
            .or_default() += 1;
    }
    for ext in &acked {
        assert!(
            store.find_external(ext).expect("find_external").is_some(),
            "acknowledged {ext} lost"
        );
        assert_eq!(
            per_external.get(ext),
            Some(&1),
            "{ext} stored other than once"
        );
    }
    assert!(per_external.values().all(|n| *n == 1));
    let report = store.verify().expect("verify runs");
    assert!(report.is_ok(), "verify after crashes: {report:?}");
    assert_eq!(report.tickets as usize, store.ticket_count());
    assert!(report.indexed_docs >= report.tickets);
    store.shutdown().expect("shutdown");
}
