//! The store on disk: rates on a hand-computed fixture, overrides, reopen,
//! repeats and Chinese search.

use chrono::NaiveDate;
use hotline::intake::{prepare, TicketInput};
use hotline_store::{EventBody, GroupBy, NewEvent, Satisfaction, StatsQuery, Submitted, Ticket};
use hotline_suite::state_in;

fn at(day: u32, hour: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 3, day)
        .and_then(|d| d.and_hms_opt(hour, 0, 0))
        .unwrap_or_default()
}

fn submit(state: &hotline::AppState, text: &str, received: &str, phone: Option<&str>) -> Ticket {
    let input = TicketInput {
        text: text.into(),
        received_at: Some(received.into()),
        caller_phone: phone.map(Into::into),
        ..Default::default()
    };
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

/// An event at `hour` of the day the ticket was received.
fn event(state: &hotline::AppState, t: &Ticket, hour: u32, body: EventBody) {
    let day = t.received_at.map_or(at(1, 0).date(), |r| r.date());
    state
        .store
        .add_event(
            t.id,
            NewEvent {
                id: None,
                at: day.and_hms_opt(hour, 0, 0),
                body,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
}

fn callback(resolved: bool, s: Satisfaction) -> EventBody {
    EventBody::Callback {
        valid: true,
        contacted: true,
        resolved,
        satisfaction: Some(s),
    }
}

#[test]
fn rates_match_a_hand_computed_fixture_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    // Four e-bike tickets: callbacks 满意+resolved, 基本满意+resolved, 不满意+unresolved, and one not called back.
    let texts = [
        "朝阳区望京小区没有电动车充电桩，只能飞线充电",
        "朝阳区小区充电桩全坏了，电动车没法充电",
        "朝阳区楼道里电瓶车飞线充电太危险，要求装充电桩",
        "朝阳区小区的电动自行车充电棚一直没建",
    ];
    let tickets: Vec<Ticket> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| submit(&state, t, &format!("2024-03-0{} 09:00:00", i + 1), None))
        .collect();
    assert!(
        tickets.iter().all(|t| t.topic.slug == "ebike_charging"),
        "{:?}",
        tickets.iter().map(|t| &t.topic).collect::<Vec<_>>()
    );
    for (t, dispatch_hour) in tickets.iter().zip([10, 11, 12, 13]) {
        event(
            &state,
            t,
            dispatch_hour,
            EventBody::Dispatched {
                department: "市城市管理委".into(),
            },
        );
    }
    event(
        &state,
        &tickets[0],
        15,
        callback(true, Satisfaction::Satisfied),
    );
    event(
        &state,
        &tickets[1],
        15,
        callback(true, Satisfaction::BasicallySatisfied),
    );
    event(
        &state,
        &tickets[2],
        15,
        callback(false, Satisfaction::Unsatisfied),
    );
    // A replayed event (same id) must not count twice.
    let replay = NewEvent {
        id: Some(uuid::Uuid::now_v7()),
        at: Some(at(4, 16)),
        body: EventBody::Closed { note: None },
    };
    state
        .store
        .add_event(tickets[3].id, replay.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    state
        .store
        .add_event(tickets[3].id, replay)
        .unwrap_or_else(|e| panic!("{e}"));

    let check = |state: &hotline::AppState| {
        let rows = state
            .store
            .stats(&StatsQuery {
                group_by: GroupBy::Topic,
                topic: Some("ebike_charging".into()),
                ..Default::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (
                r.requests,
                r.valid_callbacks,
                r.resolved,
                r.satisfied,
                r.basically_satisfied
            ),
            (4, 3, 2, 1, 1)
        );
        assert_eq!(r.response_rate, Some(1.0));
        assert!((r.resolution_rate.unwrap_or_default() - 2.0 / 3.0).abs() < 1e-9);
        assert!((r.satisfaction_rate.unwrap_or_default() - (1.0 + 0.9) / 3.0).abs() < 1e-9);
        let composite = 0.1 * 1.0 + 0.5 * (2.0 / 3.0) + 0.4 * (1.9 / 3.0);
        assert!((r.composite.unwrap_or_default() - composite).abs() < 1e-9);
        assert_eq!(r.dispatch_on_time_rate, Some(1.0));
    };
    check(&state);
    // Assessment month: 1–4 March fall in the month that ends on 18 March.
    let by_month = state
        .store
        .stats(&StatsQuery {
            group_by: GroupBy::AssessmentMonth,
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        by_month.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        vec!["2024-03"]
    );
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);
    let state = state_in(dir.path());
    check(&state);
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
}

#[test]
fn an_override_moves_the_counts_and_is_an_event() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let t = submit(
        &state,
        "小区物业把楼道里的充电桩拆了，物业费还涨价",
        "2024-03-05 08:00:00",
        None,
    );
    let before = t.topic.slug.clone();
    let target = if before == "property_management" {
        "ebike_charging"
    } else {
        "property_management"
    };
    let changed = state
        .store
        .set_topic(t.id, target, "市住房城乡建设委", Some("operator".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(changed.topic.slug, target);
    assert!(matches!(
        changed.events.last().map(|e| &e.body),
        Some(EventBody::TopicChanged { .. })
    ));
    let rows = state
        .store
        .stats(&StatsQuery::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let count = |slug: &str| {
        rows.iter()
            .find(|r| r.key == slug)
            .map_or(0, |r| r.requests)
    };
    assert_eq!((count(&before), count(target)), (0, 1));
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
}

#[test]
fn a_repeat_is_linked_to_the_open_ticket_and_not_counted_again() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let first = submit(
        &state,
        "楼下饭店油烟太大，呛得没法开窗",
        "2024-03-01 08:00:00",
        Some("13812345678"),
    );
    let second = submit(
        &state,
        "又是楼下那家饭店，油烟还是直排",
        "2024-03-03 08:00:00",
        Some("13812345678"),
    );
    assert_eq!(second.repeat_of, Some(first.id));
    // The same caller, the phone written otherwise: the same complaint.
    let same_text = submit(
        &state,
        "楼下饭店油烟太大，呛得没法开窗！",
        "2024-03-04 08:00:00",
        Some("138 1234 5678"),
    );
    assert_eq!(same_text.repeat_of, Some(first.id));
    // The same words from nobody known are a 诉求 of their own (defect 11).
    let anonymous = submit(
        &state,
        "楼下饭店油烟太大，呛得没法开窗！",
        "2024-03-04 09:00:00",
        None,
    );
    assert_eq!(anonymous.repeat_of, None);
    let later = submit(
        &state,
        "楼下饭店油烟太大，呛得没法开窗",
        "2024-05-20 08:00:00",
        Some("13812345678"),
    );
    assert_eq!(later.repeat_of, None, "outside the 30-day window");
    // Once the first is closed, the same complaint again is a new ticket.
    event(&state, &later, 9, EventBody::Closed { note: None });
    let after_close = submit(
        &state,
        "楼下饭店油烟太大，呛得没法开窗",
        "2024-05-21 08:00:00",
        Some("13812345678"),
    );
    assert_eq!(after_close.repeat_of, None, "the earlier one is closed");
    let rows = state
        .store
        .stats(&StatsQuery {
            group_by: GroupBy::Total,
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((rows[0].requests, rows[0].repeats), (4, 2));
}

#[test]
fn chinese_search_ranks_and_highlights() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    submit(
        &state,
        "小区电动车没有地方充电，希望安装充电桩",
        "2024-03-01 08:00:00",
        None,
    );
    submit(
        &state,
        "楼道里电动车飞线充电，存在火灾隐患",
        "2024-03-01 09:00:00",
        None,
    );
    let fee = submit(
        &state,
        "今年物业费从1.2元上涨到1.8元，没有开业主大会",
        "2024-03-01 10:00:00",
        None,
    );
    submit(
        &state,
        "手机充电器质量有问题，商家不退货",
        "2024-03-01 11:00:00",
        None,
    );
    submit(
        &state,
        "公园里的长椅坏了没人修",
        "2024-03-01 12:00:00",
        None,
    );
    state.store.commit_index().unwrap_or_else(|e| panic!("{e}"));
    let view = |q: &'static str| hotline::search::SearchParamsView {
        q,
        topic: None,
        district: None,
        kind: None,
        status: None,
        from: None,
        to: None,
        page: 1,
        per_page: 10,
        personal: false,
    };
    let page = hotline::search::run_search(&state, &view("电动车 充电"))
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(
        page.total,
        2,
        "{:?}",
        page.hits.iter().map(|h| &h.ticket.text).collect::<Vec<_>>()
    );
    assert!(page
        .hits
        .iter()
        .all(|h| h.ticket.topic.slug == "ebike_charging"));
    assert!(
        page.hits[0]
            .snippet
            .iter()
            .any(|f| f.mark && f.text == "电动车"),
        "{:?}",
        page.hits[0].snippet
    );
    let page = hotline::search::run_search(&state, &view("物业费上涨"))
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(page.total, 1);
    assert!(page.hits[0].ticket.text.contains("1.2元上涨"));
    let mut filtered = view("电动车");
    filtered.topic = Some("parks");
    assert_eq!(
        hotline::search::run_search(&state, &filtered)
            .unwrap_or_else(|e| panic!("{}", e.message))
            .total,
        0
    );

    // A lifecycle event re-indexes the ticket with the words of its one
    // segmentation (read back from the journal): still found by them, now
    // under its new status. A rebuilt index finds it the same way.
    event(
        &state,
        &fee,
        11,
        EventBody::Dispatched {
            department: "市住房城乡建设委".into(),
        },
    );
    let dispatched_fee = || {
        state.store.commit_index().unwrap_or_else(|e| panic!("{e}"));
        let mut by_status = view("物业费上涨");
        by_status.status = Some("dispatched");
        let page = hotline::search::run_search(&state, &by_status)
            .unwrap_or_else(|e| panic!("{}", e.message));
        page.hits.iter().map(|h| h.ticket.id).collect::<Vec<_>>()
    };
    assert_eq!(dispatched_fee(), vec![fee.id]);
    assert_eq!(state.store.reindex().unwrap_or_else(|e| panic!("{e}")), 5);
    assert_eq!(dispatched_fee(), vec![fee.id]);
}

/// What an attacker limited to one district would measure: the scores of
/// its district's hits, before and after other districts' tickets arrive.
/// Counted over the whole index, BM25's word weights would move with them.
#[test]
fn a_district_search_is_scored_by_its_own_tickets_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    submit(
        &state,
        "朝阳区望京小区电动车乱停，电动车把楼道堵了",
        "2024-03-01 08:00:00",
        None,
    );
    submit(
        &state,
        "朝阳区望京小区物业费太贵，物业不作为",
        "2024-03-01 09:00:00",
        None,
    );
    state.store.commit_index().unwrap_or_else(|e| panic!("{e}"));
    let search = |district: Option<&'static str>| {
        let view = hotline::search::SearchParamsView {
            q: "电动车 物业费",
            topic: None,
            district,
            kind: None,
            status: None,
            from: None,
            to: None,
            page: 1,
            per_page: 10,
            personal: false,
        };
        let page =
            hotline::search::run_search(&state, &view).unwrap_or_else(|e| panic!("{}", e.message));
        page.hits
            .iter()
            .map(|h| (h.ticket.id, h.score))
            .collect::<Vec<_>>()
    };
    let district_before = search(Some("朝阳区"));
    let city_before = search(None);
    assert_eq!(district_before.len(), 2, "{district_before:?}");

    for hour in 0..24 {
        submit(
            &state,
            "海淀区中关村电动车停在盲道上",
            &format!("2024-03-02 {hour:02}:00:00"),
            None,
        );
    }
    state.store.commit_index().unwrap_or_else(|e| panic!("{e}"));

    // The city-wide scores move (so this test can tell), the district's do not.
    assert_ne!(search(None), city_before);
    assert_eq!(search(Some("朝阳区")), district_before);
}

/// What a bad disk does to the search index: a few bytes of a segment
/// changed. `verify` names the damaged file and fails; `reindex` rebuilds
/// the index from the tickets and `verify` passes again.
#[test]
fn a_damaged_index_file_is_found_by_verify_and_rebuilt_by_reindex() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    for hour in 0..20 {
        submit(
            &state,
            &format!("朝阳区望京小区第{hour}号楼电动车飞线充电，物业不管"),
            &format!("2024-03-01 {hour:02}:00:00"),
            None,
        );
    }
    state.store.commit_index().unwrap_or_else(|e| panic!("{e}"));
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);

    // The largest document-store file of the index, a few bytes flipped.
    let index_dir = dir.path().join("index");
    let mut stores: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(&index_dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "store"))
        .map(|p| (std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0), p))
        .collect();
    stores.sort();
    let (len, damaged) = stores.pop().unwrap_or_else(|| panic!("no .store file"));
    let mut bytes = std::fs::read(&damaged).unwrap_or_else(|e| panic!("{e}"));
    let at = (len / 2) as usize;
    for b in &mut bytes[at..at + 4] {
        *b ^= 0x5A;
    }
    std::fs::write(&damaged, bytes).unwrap_or_else(|e| panic!("{e}"));

    let state = state_in(dir.path());
    let report = state.store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.is_ok(), "{report:?}");
    let name = damaged
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(
        report
            .damaged_index_files
            .iter()
            .any(|f| f.ends_with(&name)),
        "{name}: {report:?}"
    );
    assert_eq!(state.store.reindex().unwrap_or_else(|e| panic!("{e}")), 20);
    let report = state.store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_ok(), "{report:?}");
}

/// What one client could do to the disk: every event writes the whole
/// ticket again, so events are bounded in number and in size, and the
/// journal grows by at most a bounded record per request.
#[test]
fn a_tickets_events_are_bounded_in_number_and_size() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let t = submit(&state, "楼道灯坏了很久没人修", "2024-03-01 08:00:00", None);
    let contacted = |note: String| NewEvent {
        id: None,
        at: None,
        body: EventBody::Contacted { note: Some(note) },
    };
    match state.store.add_event(t.id, contacted("联".repeat(80_000))) {
        Err(hotline_store::Error::Invalid { field, .. }) => assert_eq!(field, "note"),
        other => panic!("a note of 80,000 characters: {other:?}"),
    }
    let long_department = NewEvent {
        id: None,
        at: None,
        body: EventBody::Dispatched {
            department: "局".repeat(5_000),
        },
    };
    match state.store.add_event(t.id, long_department) {
        Err(hotline_store::Error::Invalid { field, .. }) => assert_eq!(field, "department"),
        other => panic!("a department of 5,000 characters: {other:?}"),
    }
    for i in 0..hotline_store::MAX_EVENTS_PER_TICKET {
        state
            .store
            .add_event(t.id, contacted(format!("第{i}次联系")))
            .unwrap_or_else(|e| panic!("event {i}: {e}"));
    }
    match state.store.add_event(t.id, contacted("再联系一次".into())) {
        Err(hotline_store::Error::Conflict(message)) => {
            assert!(message.contains("events"), "{message}")
        }
        other => panic!("one event too many: {other:?}"),
    }
    // A full ticket can still be closed, and then takes nothing more.
    let closed = state
        .store
        .add_event(
            t.id,
            NewEvent {
                id: None,
                at: None,
                body: EventBody::Closed { note: None },
            },
        )
        .unwrap_or_else(|e| panic!("closing a full ticket: {e}"));
    assert_eq!(
        closed.events.len(),
        hotline_store::MAX_EVENTS_PER_TICKET + 1
    );
    assert!(state
        .store
        .add_event(t.id, contacted("还有".into()))
        .is_err());
}

#[test]
fn ranges_across_months_count_each_ticket_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let days = [
        "2024-01-15",
        "2024-01-31",
        "2024-02-01",
        "2024-02-29",
        "2024-03-01",
        "2024-03-10",
        "2024-04-30",
    ];
    for (i, day) in days.iter().enumerate() {
        submit(
            &state,
            &format!("第{i}件：小区楼下烧烤店油烟直排"),
            &format!("{day} 10:00:00"),
            None,
        );
    }
    let count = |from: Option<&str>, to: Option<&str>, by: GroupBy| -> i64 {
        let parse = |s: Option<&str>| {
            s.map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default())
        };
        let q = StatsQuery {
            from: parse(from),
            to: parse(to),
            group_by: by,
            ..Default::default()
        };
        state
            .store
            .stats(&q)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|r| r.requests + r.repeats)
            .sum()
    };
    for (from, to, expected) in [
        (Some("2024-01-20"), Some("2024-03-05"), 4),
        (Some("2024-02-01"), Some("2024-02-29"), 2),
        (Some("2024-01-01"), Some("2024-04-30"), 7),
        (Some("2024-01-31"), Some("2024-03-01"), 4),
        (Some("2024-03-02"), None, 2),
        (None, None, 7),
    ] {
        // Topic grouping reads month rows for whole months; day grouping reads only day rows.
        assert_eq!(
            count(from, to, GroupBy::Total),
            expected,
            "{from:?}..{to:?}"
        );
        assert_eq!(
            count(from, to, GroupBy::Day),
            expected,
            "{from:?}..{to:?} by day"
        );
    }
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
}

/// `hotline compact` keeps every ticket as it was (events, status, topic),
/// finds the same tickets in search under their latest status, keeps the
/// counts, and leaves one record per ticket; the store then goes on taking
/// tickets and events, and can be compacted again.
#[test]
fn compaction_keeps_every_ticket_and_drops_the_old_versions() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let texts = [
        "朝阳区小区没有电动车充电桩，只能飞线充电",
        "海淀区楼下烧烤店油烟太大，窗户都不能开",
        "西城区邻居遛狗不牵绳，孩子被吓哭了",
        "东城区小区电梯经常困人，物业不修",
        "丰台区快递不送上门，放驿站也不通知",
        "朝阳区物业费上涨不公示收支",
    ];
    let tickets: Vec<Ticket> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| submit(&state, t, &format!("2024-03-0{} 09:00:00", i + 1), None))
        .collect();
    for (i, t) in tickets.iter().enumerate() {
        let department = EventBody::Dispatched {
            department: "区城管委".into(),
        };
        event(&state, t, 10, department);
        event(&state, t, 11, EventBody::Contacted { note: None });
        if i % 2 == 0 {
            event(&state, t, 12, callback(true, Satisfaction::Satisfied));
        }
    }
    state
        .store
        .set_topic(
            tickets[5].id,
            "property_management",
            "市住房城乡建设委",
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));

    let as_json = |state: &hotline::AppState| -> Vec<serde_json::Value> {
        tickets
            .iter()
            .map(|t| {
                let stored = state.store.get(t.id).unwrap_or_else(|e| panic!("{e}"));
                serde_json::to_value(stored).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect()
    };
    let stats = |state: &hotline::AppState| {
        let rows = state
            .store
            .stats(&StatsQuery {
                group_by: GroupBy::Topic,
                ..Default::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        serde_json::to_string(&rows).unwrap_or_else(|e| panic!("{e}"))
    };
    let found = |state: &hotline::AppState, status: &str| -> Vec<String> {
        state.store.commit_index().unwrap_or_else(|e| panic!("{e}"));
        let page = state
            .store
            .search(&hotline_store::IndexQuery {
                words: vec!["朝阳区".into()],
                status: Some(status.into()),
                limit: 20,
                ..Default::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let mut ids: Vec<String> = page.hits.iter().map(|h| h.ticket.id.to_string()).collect();
        ids.sort();
        ids
    };
    let tickets_before = as_json(&state);
    let stats_before = stats(&state);
    let called_back_before = found(&state, "called_back");
    let contacted_before = found(&state, "contacted");
    assert_eq!(
        (called_back_before.len(), contacted_before.len()),
        (1, 1),
        "the two 朝阳区 tickets, one called back"
    );
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);

    let config = hotline::config::Config::load(None).unwrap_or_else(|e| panic!("{e:#}"));
    let report = hotline_store::Store::compact(dir.path(), config.store.clone(), |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.tickets, 6);
    // Three or four versions per ticket before, one after.
    assert!(
        report.journal_bytes_after * 2 < report.journal_bytes_before,
        "{report:?}"
    );
    assert!(!dir.path().join("journal.log").exists());
    let live = dir.path().join("journal.1.log");
    assert_eq!(
        std::fs::metadata(&live).map(|m| m.len()).ok(),
        Some(report.journal_bytes_after)
    );

    let state = state_in(dir.path());
    assert_eq!(as_json(&state), tickets_before);
    assert_eq!(stats(&state), stats_before);
    assert_eq!(found(&state, "called_back"), called_back_before);
    assert_eq!(found(&state, "contacted"), contacted_before);
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());

    // The store goes on: a new ticket, and an event on a compacted one.
    let new = submit(
        &state,
        "朝阳区公园的路灯坏了一个月",
        "2024-03-09 09:00:00",
        None,
    );
    event(
        &state,
        &tickets[1],
        13,
        callback(false, Satisfaction::Unsatisfied),
    );
    let after_events = as_json(&state);
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);

    let report = hotline_store::Store::compact(dir.path(), config.store, |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.tickets, 7);
    assert!(!live.exists());
    assert!(dir.path().join("journal.2.log").exists());
    let state = state_in(dir.path());
    assert_eq!(as_json(&state), after_events);
    assert!(state
        .store
        .get(new.id)
        .unwrap_or_else(|e| panic!("{e}"))
        .is_some());
    assert!(found(&state, "received").contains(&new.id.to_string()));
    assert_eq!(found(&state, "called_back").len(), 1);
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
}
