//! Dispatch and deadlines (issue 13): the deadline queue on a real store with
//! a fixed clock, 改派, a ticket closed after its deadline, the queue's
//! survival of a reopen and `verify`, and the HTTP route with its district
//! limits, masking and bad parameters.

use chrono::{NaiveDate, NaiveDateTime};
use hotline::intake::{prepare, TicketInput};
use hotline_store::{
    DeadlineState, EventBody, GroupBy, NewEvent, QueueQuery, Stage, StatsQuery, Submitted, Ticket,
};
use hotline_suite::{state_in, TestServer};
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};

fn t(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 3, day)
        .and_then(|d| d.and_hms_opt(hour, minute, 0))
        .unwrap_or_default()
}

fn fmt(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

static CALLERS: AtomicU32 = AtomicU32::new(5678);

fn submit(
    state: &hotline::AppState,
    text: &str,
    received: NaiveDateTime,
    urgency: &str,
    district: &str,
) -> Ticket {
    let input = TicketInput {
        text: text.into(),
        received_at: Some(fmt(received)),
        urgency: Some(urgency.into()),
        district: Some(district.into()),
        caller_name: Some("王小明".into()),
        // One caller each: the same caller in the same district would be a repeat.
        caller_phone: Some(format!(
            "1381234{:04}",
            CALLERS.fetch_add(1, Ordering::Relaxed)
        )),
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

fn event(state: &hotline::AppState, id: uuid::Uuid, at: NaiveDateTime, body: EventBody) {
    state
        .store
        .add_event(
            id,
            NewEvent {
                id: None,
                at: Some(at),
                body,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
}

fn all() -> QueueQuery {
    QueueQuery {
        page: 1,
        per_page: 100,
        ..QueueQuery::default()
    }
}

const FUMES: &str = "楼下饭店油烟直排，呛得没法开窗，希望尽快处理";

/// Now: 2024-03-10 12:00 (Beijing). General tickets: dispatch within 24 h,
/// feedback within 168 h; due soon in the last quarter (6 h, 42 h).
#[test]
fn every_deadline_state_with_a_fixed_clock() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let now = t(10, 12, 0);
    // Dispatch stage: received 2 h ago (22 h left: on time), 20 h ago (4 h
    // left: due soon), 30 h ago (6 h overdue).
    let on_time = submit(&state, FUMES, t(10, 10, 0), "general", "朝阳区");
    let due_soon = submit(
        &state,
        &format!("{FUMES}。二"),
        t(9, 16, 0),
        "general",
        "朝阳区",
    );
    let overdue = submit(
        &state,
        &format!("{FUMES}。三"),
        t(9, 6, 0),
        "general",
        "海淀区",
    );
    // Emergency: one hour to dispatch; received 50 min ago: 10 min left, due soon.
    let emergency = submit(
        &state,
        "燃气管道漏气，味道很大，请马上派人",
        t(10, 11, 10),
        "emergency",
        "海淀区",
    );
    // Feedback stage: dispatched 5 days ago (2 days left of 7: on time),
    // 6 days 12 h ago (12 h left: due soon), 8 days ago (overdue).
    let fb_on_time = submit(
        &state,
        &format!("{FUMES}。四"),
        t(5, 9, 0),
        "general",
        "朝阳区",
    );
    event(
        &state,
        fb_on_time.id,
        t(5, 12, 0),
        EventBody::Dispatched {
            department: "朝阳区生态环境局".into(),
        },
    );
    let fb_due_soon = submit(
        &state,
        &format!("{FUMES}。五"),
        t(3, 20, 0),
        "general",
        "朝阳区",
    );
    event(
        &state,
        fb_due_soon.id,
        t(4, 0, 0),
        EventBody::Dispatched {
            department: "朝阳区生态环境局".into(),
        },
    );
    let fb_overdue = submit(
        &state,
        &format!("{FUMES}。六"),
        t(1, 9, 0),
        "general",
        "朝阳区",
    );
    event(
        &state,
        fb_overdue.id,
        t(2, 12, 0),
        EventBody::Dispatched {
            department: "朝阳区生态环境局".into(),
        },
    );
    // Answered and closed tickets leave the queue.
    let answered = submit(
        &state,
        &format!("{FUMES}。七"),
        t(9, 9, 0),
        "general",
        "朝阳区",
    );
    event(
        &state,
        answered.id,
        t(9, 10, 0),
        EventBody::Dispatched {
            department: "朝阳区生态环境局".into(),
        },
    );
    event(
        &state,
        answered.id,
        t(9, 18, 0),
        EventBody::Feedback {
            resolved: true,
            note: None,
        },
    );

    let page = state
        .store
        .queue(&all(), now)
        .unwrap_or_else(|e| panic!("{e}"));
    let state_of = |id| {
        page.items
            .iter()
            .find(|i| i.id == id)
            .map(|i| (i.state, i.stage, i.seconds_left))
    };
    assert_eq!(
        state_of(on_time.id),
        Some((DeadlineState::OnTime, Stage::Dispatch, 22 * 3600))
    );
    assert_eq!(
        state_of(due_soon.id),
        Some((DeadlineState::DueSoon, Stage::Dispatch, 4 * 3600))
    );
    assert_eq!(
        state_of(overdue.id),
        Some((DeadlineState::Overdue, Stage::Dispatch, -6 * 3600))
    );
    assert_eq!(
        state_of(emergency.id),
        Some((DeadlineState::DueSoon, Stage::Dispatch, 10 * 60))
    );
    assert_eq!(
        state_of(fb_on_time.id),
        Some((DeadlineState::OnTime, Stage::Feedback, 48 * 3600))
    );
    assert_eq!(
        state_of(fb_due_soon.id),
        Some((DeadlineState::DueSoon, Stage::Feedback, 12 * 3600))
    );
    assert_eq!(
        state_of(fb_overdue.id),
        Some((DeadlineState::Overdue, Stage::Feedback, -24 * 3600))
    );
    assert_eq!(
        state_of(answered.id),
        None,
        "a ticket with feedback owes no deadline"
    );
    assert_eq!(page.total, 7);
    assert_eq!(
        (
            page.counts.on_time,
            page.counts.due_soon,
            page.counts.overdue
        ),
        (2, 3, 2)
    );
    // Sorted by time left, most overdue first.
    let left: Vec<i64> = page.items.iter().map(|i| i.seconds_left).collect();
    assert!(left.windows(2).all(|w| w[0] <= w[1]), "{left:?}");
    assert_eq!(page.items.first().map(|i| i.id), Some(fb_overdue.id));

    // Filters: state, district, due within, department, paging.
    let q = |f: &dyn Fn(&mut QueueQuery)| {
        let mut q = all();
        f(&mut q);
        state.store.queue(&q, now).unwrap_or_else(|e| panic!("{e}"))
    };
    let overdue_only = q(&|q| q.state = Some(DeadlineState::Overdue));
    assert_eq!(overdue_only.total, 2);
    assert_eq!(
        overdue_only.counts.total(),
        7,
        "counts ignore the state filter"
    );
    let haidian = q(&|q| q.district = Some("海淀区".into()));
    assert_eq!(haidian.total, 2);
    let within = q(&|q| q.due_within = Some(chrono::Duration::hours(5)));
    // Overdue (2) and those due within 5 h: the emergency (10 min) and 4 h.
    assert_eq!(within.total, 4, "{:?}", within.items);
    let dept = q(&|q| q.department = Some("朝阳区生态环境局".into()));
    assert_eq!(dept.total, 3);
    let second = q(&|q| {
        q.per_page = 3;
        q.page = 2
    });
    assert_eq!(second.total, 7);
    assert_eq!(
        second.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        page.items[3..6].iter().map(|i| i.id).collect::<Vec<_>>()
    );
    let eco = page
        .by_department
        .iter()
        .find(|d| d.department == "朝阳区生态环境局")
        .map(|d| (d.counts.on_time, d.counts.due_soon, d.counts.overdue));
    assert_eq!(eco, Some((1, 1, 1)));

    // The same moment an hour later: the due-soon dispatch (4 h left) is 3 h
    // left, the emergency is 50 min overdue.
    let later = state
        .store
        .queue(&all(), t(10, 13, 0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        later
            .items
            .iter()
            .find(|i| i.id == emergency.id)
            .map(|i| (i.state, i.seconds_left)),
        Some((DeadlineState::Overdue, -50 * 60))
    );

    // verify recounts the queue, and it survives a reopen.
    let report = state.store.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.queue_entries, 7);
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);
    let state = state_in(dir.path());
    let again = state
        .store
        .queue(&all(), now)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        again
            .items
            .iter()
            .map(|i| (i.id, i.state))
            .collect::<Vec<_>>(),
        page.items
            .iter()
            .map(|i| (i.id, i.state))
            .collect::<Vec<_>>()
    );
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// 改派: the ticket moves to the named department, its feedback clock keeps
/// running from the first dispatch; 退单 leaves it with no department.
#[test]
fn reassignment_moves_the_ticket_and_keeps_its_clock() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let now = t(10, 12, 0);
    let ticket = submit(&state, FUMES, t(8, 9, 0), "general", "朝阳区");
    let before = state
        .store
        .queue(&all(), now)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        before.items[0].department, ticket.department,
        "before dispatch: the lead department"
    );
    assert!(!ticket.department.is_empty());
    event(
        &state,
        ticket.id,
        t(8, 10, 0),
        EventBody::Dispatched {
            department: "朝阳区生态环境局".into(),
        },
    );
    event(
        &state,
        ticket.id,
        t(9, 10, 0),
        EventBody::Reassigned {
            department: "望京街道办事处".into(),
            reason: Some("属地管理".into()),
        },
    );
    let page = state
        .store
        .queue(&all(), now)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.total, 1);
    let item = &page.items[0];
    assert_eq!(item.department, "望京街道办事处");
    assert_eq!(item.stage, Stage::Feedback);
    assert_eq!(
        item.deadline,
        t(15, 10, 0),
        "seven days from the first dispatch, not from the 改派"
    );
    let by_old = state
        .store
        .queue(
            &QueueQuery {
                department: Some("朝阳区生态环境局".into()),
                ..all()
            },
            now,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(by_old.total, 0, "the old department no longer holds it");
    // Sent back (退单): held by nobody until dispatched again.
    event(
        &state,
        ticket.id,
        t(9, 15, 0),
        EventBody::Returned {
            department: Some("望京街道办事处".into()),
            reason: "不属于本单位职责".into(),
        },
    );
    let page = state
        .store
        .queue(&all(), now)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items[0].department, "");
    assert_eq!(page.items[0].deadline, t(15, 10, 0));
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// A ticket closed after its deadline leaves the queue and counts as late.
#[test]
fn a_ticket_closed_after_its_deadline_leaves_the_queue_and_counts_late() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let ticket = submit(&state, FUMES, t(1, 9, 0), "utilities", "朝阳区");
    // Utilities: dispatch within 2 h, feedback within 24 h.
    event(
        &state,
        ticket.id,
        t(1, 10, 0),
        EventBody::Dispatched {
            department: "朝阳区生态环境局".into(),
        },
    );
    let open = state
        .store
        .queue(&all(), t(3, 9, 0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        open.items.first().map(|i| i.state),
        Some(DeadlineState::Overdue)
    );
    event(
        &state,
        ticket.id,
        t(3, 9, 0),
        EventBody::Feedback {
            resolved: true,
            note: None,
        },
    );
    event(
        &state,
        ticket.id,
        t(3, 12, 0),
        EventBody::Closed { note: None },
    );
    let page = state
        .store
        .queue(&all(), t(3, 13, 0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.total, 0, "{:?}", page.items);
    let rows = state
        .store
        .stats(&StatsQuery {
            group_by: GroupBy::Total,
            ..StatsQuery::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let row = &rows[0];
    assert_eq!(row.dispatch_on_time_rate, Some(1.0));
    assert_eq!(
        row.feedback_on_time_rate,
        Some(0.0),
        "feedback 47 h after dispatch is late"
    );
    assert_eq!(row.overdue, 1);
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// Changing the deadlines in the configuration rebuilds the queue at the
/// next opening (verify would otherwise find every key stale).
#[test]
fn new_deadlines_rebuild_the_queue_on_open() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let ticket = submit(&state, FUMES, t(1, 9, 0), "general", "朝阳区");
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);
    let state = hotline_suite::state_with(dir.path(), |c| {
        c.store.deadlines.dispatch_general_hours = 48.0
    });
    let page = state
        .store
        .queue(&all(), t(1, 10, 0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        page.items.first().map(|i| (i.id, i.deadline)),
        Some((ticket.id, t(3, 9, 0)))
    );
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// A district's queue walks only its own open tickets: its cost, and so
/// the time a district-limited token can measure, owes nothing to how many
/// tickets other districts have open (an attacker timed a district's queue
/// at 0.45 ms, then 30 ms once 60,000 tickets were open elsewhere, with the
/// same answer). Its answer is the city's queue filtered to the district,
/// in the same order, with and without a deadline bound, and after a
/// reopen; `verify` checks the district keys against a recount.
#[test]
fn a_districts_queue_walks_only_its_own_open_tickets() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    for i in 0..6 {
        submit(&state, FUMES, t(1, 9, i), "general", "朝阳区");
    }
    for i in 0..40 {
        submit(&state, FUMES, t(1, 8, i), "general", "海淀区");
    }
    let check = |state: &hotline::AppState| {
        for due_within in [None, Some(chrono::Duration::hours(24))] {
            let city = state
                .store
                .queue(
                    &QueueQuery {
                        due_within,
                        ..all()
                    },
                    t(1, 10, 0),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            let own = state
                .store
                .queue(
                    &QueueQuery {
                        district: Some("朝阳区".into()),
                        due_within,
                        ..all()
                    },
                    t(1, 10, 0),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            let filtered: Vec<_> = city
                .items
                .iter()
                .filter(|i| i.district.as_deref() == Some("朝阳区"))
                .map(|i| i.id)
                .collect();
            assert_eq!(own.items.iter().map(|i| i.id).collect::<Vec<_>>(), filtered);
            assert_eq!((own.total, own.keys_read), (6, 6), "{due_within:?}");
        }
    };
    check(&state);
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(state);
    let state = state_in(dir.path());
    check(&state);
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The route: a fixed clock, filters, 400 naming bad parameters, and an
/// attacker's token limited to one district that tries to see another's
/// queue, or callers' data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_route_keeps_districts_apart_and_holds_nothing_personal() {
    let server = TestServer::start().await;
    let state = server.state.clone();
    tokio::task::spawn_blocking(move || {
        submit(&state, FUMES, t(9, 6, 0), "general", "朝阳区");
        submit(
            &state,
            &format!("{FUMES}，二"),
            t(10, 10, 0),
            "general",
            "朝阳区",
        );
        submit(
            &state,
            "海淀区小区电梯坏了一周没人修，老人上不了楼",
            t(9, 6, 0),
            "general",
            "海淀区",
        );
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    server.state.clock.set(Some(t(10, 12, 0)));
    let base = &server.base;

    let supervisor = TestServer::client(&server.token("supervisor", false, None).await);
    let (status, body) = get(&supervisor, format!("{base}/queue")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 3);
    assert_eq!(body["now"], "2024-03-10T12:00:00");
    assert_eq!(body["counts"]["overdue"], 2);
    assert_eq!(body["counts"]["on_time"], 1);
    assert_eq!(body["items"][0]["state"], "overdue");
    assert_eq!(body["items"][0]["seconds_left"], -6 * 3600);
    let text = body.to_string();
    for secret in ["1381234", "王小明", "油烟直排"] {
        assert!(!text.contains(secret), "the queue shows {secret}: {text}");
    }
    let (status, body) = get(
        &supervisor,
        format!("{base}/queue?state=超期&district=朝阳&due_within=2h"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 1);

    // Bad input: 400 naming the parameter.
    for (query, field) in [
        ("state=late", "state"),
        ("due_within=soon", "due_within"),
        ("due_within=-3", "due_within"),
        ("district=纽约", "district"),
        ("topic=no_such_topic", "topic"),
        ("per_page=0", "per_page"),
        ("page=abc", "page"),
    ] {
        let (status, body) = get(&supervisor, format!("{base}/queue?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    let (status, _) = get(&supervisor, format!("{base}/queue?color=red")).await;
    assert_eq!(status, 400);

    // The attacker: a 海淀 supervisor. Its queue is 海淀's; 朝阳's is 403,
    // whether asked by name, by short form or through a department filter.
    let haidian = TestServer::client(&server.token("supervisor", false, Some("海淀区")).await);
    let (status, body) = get(&haidian, format!("{base}/queue")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 1);
    assert!(body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|i| i["district"] == "海淀区"));
    let departments: Vec<&Value> = body["by_department"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(departments.len(), 1, "{body}");
    // The counts by state too: they come from count rows that hold no
    // district, so a limited token must not read 朝阳's backlog through them.
    let counted: i64 = ["overdue", "due_soon", "on_time"]
        .iter()
        .map(|state| body["counts"][state].as_i64().unwrap_or(-100))
        .sum();
    assert_eq!(counted, 1, "{body}");
    for query in [
        "district=朝阳区",
        "district=朝阳",
        "district=%E6%9C%9D%E9%98%B3%E5%8C%BA",
    ] {
        let (status, body) = get(&haidian, format!("{base}/queue?{query}")).await;
        assert_eq!(status, 403, "{query}: {body}");
    }
    let (_, body) = get(&haidian, format!("{base}/queue?department=市生态环境局")).await;
    assert_eq!(body["total"], 0, "{body}");

    // No token: 401; every role may read the queue.
    let (status, _) = get(&reqwest::Client::new(), format!("{base}/queue")).await;
    assert_eq!(status, 401);
    let operator = TestServer::client(&server.token("operator", false, None).await);
    assert_eq!(get(&operator, format!("{base}/queue")).await.0, 200);
    server.stop().await;
}

/// Rates and on-time rates by department: a ticket counts for the department
/// that holds it (after 改派, the new one; before dispatch, the lead one).
#[test]
fn statistics_by_department_follow_reassignment() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = state_in(dir.path());
    let a = submit(&state, FUMES, t(1, 9, 0), "general", "朝阳区");
    event(
        &state,
        a.id,
        t(1, 10, 0),
        EventBody::Dispatched {
            department: "朝阳区生态环境局".into(),
        },
    );
    event(
        &state,
        a.id,
        t(2, 10, 0),
        EventBody::Reassigned {
            department: "望京街道办事处".into(),
            reason: None,
        },
    );
    event(
        &state,
        a.id,
        t(3, 10, 0),
        EventBody::Feedback {
            resolved: true,
            note: None,
        },
    );
    event(
        &state,
        a.id,
        t(4, 10, 0),
        EventBody::Callback {
            valid: true,
            contacted: true,
            resolved: true,
            satisfaction: Some(hotline_store::Satisfaction::Satisfied),
        },
    );
    let b = submit(
        &state,
        "海淀区小区电梯坏了一周没人修，老人上不了楼",
        t(1, 9, 0),
        "general",
        "海淀区",
    );
    let rows = state
        .store
        .stats(&StatsQuery {
            group_by: GroupBy::Department,
            ..StatsQuery::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    assert!(keys.contains(&"望京街道办事处"), "{keys:?}");
    assert!(keys.contains(&b.department.as_str()), "{keys:?}");
    assert!(
        !keys.contains(&"朝阳区生态环境局"),
        "the old department: {keys:?}"
    );
    let wj = rows
        .iter()
        .find(|r| r.key == "望京街道办事处")
        .unwrap_or_else(|| panic!("{keys:?}"));
    assert_eq!((wj.requests, wj.valid_callbacks, wj.resolved), (1, 1, 1));
    assert_eq!(wj.dispatch_on_time_rate, Some(1.0));
    assert_eq!(wj.satisfaction_rate, Some(1.0));
    // District filter: 海淀 only.
    let haidian = state
        .store
        .stats(&StatsQuery {
            group_by: GroupBy::Department,
            district: Some("海淀区".into()),
            ..StatsQuery::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        haidian.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        vec![b.department.as_str()]
    );
    assert!(state
        .store
        .verify()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_ok());
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// The demo shows the 督办 tab at work: open tickets in every deadline
/// state as of now, and the planted hot spot (a burst and a cluster).
#[test]
fn the_demo_has_every_deadline_state_and_a_hot_spot() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = hotline_suite::state_with(dir.path(), |c| c.demo.tickets = 300);
    let now = NaiveDate::from_ymd_opt(2026, 5, 20)
        .and_then(|d| d.and_hms_opt(15, 0, 0))
        .unwrap_or_default();
    state.clock.set(Some(now));
    hotline::demo::populate(&state).unwrap_or_else(|e| panic!("{e}"));
    let page = state
        .store
        .queue(&all(), now)
        .unwrap_or_else(|e| panic!("{e}"));
    let live: Vec<_> = page
        .items
        .iter()
        .filter(|i| i.received_at > now - chrono::Duration::days(30))
        .collect();
    for s in DeadlineState::ALL {
        assert!(live.iter().any(|i| i.state == s), "no {s:?} in {live:#?}");
    }
    assert!(
        live.iter().any(|i| i.stage == Stage::Feedback)
            && live.iter().any(|i| i.stage == Stage::Dispatch)
    );
    let found = hotline::hotspots::detect(
        &state.store,
        &hotline::hotspots::HotspotQuery {
            date: now.date(),
            days: 3,
            district: None,
            topic: None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        found
            .bursts
            .iter()
            .map(|b| (b.topic.as_str(), b.district.as_str()))
            .collect::<Vec<_>>(),
        vec![("kitchen_fumes", "朝阳区")]
    );
    assert_eq!(found.clusters.len(), 1, "{:#?}", found.clusters);
    assert_eq!(found.clusters[0].address, "望京西园三区312号楼");
    state.store.shutdown().unwrap_or_else(|e| panic!("{e}"));
}
