//! The demo's "today" (issue 13): open tickets received in the last days
//! before now (the engine's clock), in every deadline state, and one planted
//! hot spot, so that a newcomer sees the 督办 tab at work. Unlike the demo
//! year, these depend on when the demo is loaded: they are submitted with
//! external ids `DEMO-LIVE-…`, once.

use anyhow::Result;
use chrono::{Duration, NaiveDateTime};
use hotline_store::{EventBody, NewTicket, Urgency};

use crate::app::AppState;
use crate::intake::{prepare, TicketInput};

/// What each open ticket is: its text, district, urgency, how long ago it
/// came in (hours) and, when dispatched, how long after receipt (hours).
const OPEN: &[(&str, &str, &str, f64, Option<f64>)] = &[
    (
        "小区楼下饭店油烟直排，熏得家里没法开窗",
        "西城区",
        "general",
        30.0,
        None,
    ), // dispatch overdue
    (
        "小区电动车充电桩坏了半个月没人修",
        "海淀区",
        "general",
        20.0,
        None,
    ), // dispatch due soon
    (
        "校门口接送孩子的车辆乱停，早上堵得走不动",
        "海淀区",
        "general",
        2.0,
        None,
    ), // on time
    (
        "燃气表箱漏气，楼道里有味道",
        "丰台区",
        "emergency",
        0.8,
        None,
    ), // due soon
    ("小区停水一天了没有通知", "通州区", "utilities", 3.0, None), // overdue
    (
        "公园厕所一直锁着门，游客没法用",
        "东城区",
        "general",
        200.0,
        Some(2.0),
    ), // feedback overdue
    (
        "遛狗不牵绳，小孩被吓哭了",
        "朝阳区",
        "general",
        140.0,
        Some(1.0),
    ), // feedback due soon
    (
        "公司拖欠三个月工资不发",
        "昌平区",
        "general",
        50.0,
        Some(3.0),
    ), // feedback on time
    (
        "小区夜间停车难，希望开放周边单位车位错时共享",
        "大兴区",
        "complex",
        100.0,
        Some(5.0),
    ), // on time
    (
        "暖气不热，室温只有十四度",
        "石景山区",
        "utilities",
        30.0,
        Some(1.0),
    ), // feedback overdue
];

/// The planted hot spot: one building's neighbours, nearly the same words.
const HOTSPOT_TEXTS: &[&str] = &[
    "朝阳区望京西园三区312号楼下的烧烤店油烟直排，熏得没法开窗",
    "望京西园三区312号楼楼下烧烤店油烟直排，熏得家里没法开窗",
    "朝阳区望京西园三区312号楼下烧烤店每天晚上油烟直排，没法开窗",
    "望京西园三区312号楼下的烧烤店油烟直排，熏得根本没法开窗",
    "朝阳区望京西园三区312号楼下的烧烤店油烟直排熏得没法开窗，请处理",
    "望京西园三区312号楼下烧烤店油烟直排，熏得没法开窗，已经一周了",
];

fn at(now: NaiveDateTime, hours_ago: f64) -> NaiveDateTime {
    now - Duration::seconds((hours_ago * 3600.0) as i64)
}

/// The live tickets as of `now`.
pub fn generate(state: &AppState, now: NaiveDateTime) -> Result<Vec<NewTicket>> {
    let mut tickets = Vec::new();
    let mut n = 0;
    let analyzer = state.analyzer();
    let mut input = |text: &str, district: &str, urgency: &str, received: NaiveDateTime| {
        n += 1;
        TicketInput {
            text: text.into(),
            district: Some(district.into()),
            street: crate::demo::demo_street(analyzer.gazetteer(), district, n as u64),
            urgency: Some(urgency.into()),
            kind: Some("投诉".into()),
            caller_name: Some(format!(
                "{}先生",
                ["赵", "钱", "孙", "李", "周", "吴", "郑", "王"][n % 8]
            )),
            caller_phone: Some(format!("1391000{n:04}")),
            received_at: Some(received.format("%Y-%m-%d %H:%M:%S").to_string()),
            external_id: Some(format!("DEMO-LIVE-{n:03}")),
            ..TicketInput::default()
        }
    };
    for (text, district, urgency, ago, dispatched) in OPEN {
        let received = at(now, *ago);
        let (mut ticket, _) = prepare(state, input(text, district, urgency, received))
            .map_err(|e| anyhow::anyhow!("demo ticket: {}", e.message))?;
        if let Some(after) = dispatched {
            let department = if ticket.department.is_empty() {
                "属地街道乡镇".to_owned()
            } else {
                ticket.department.clone()
            };
            ticket.history = vec![(
                received + Duration::seconds((after * 3600.0) as i64),
                EventBody::Dispatched { department },
            )];
        }
        tickets.push(ticket);
    }
    for (i, text) in HOTSPOT_TEXTS.iter().enumerate() {
        let received = at(now, 4.0 + 9.0 * i as f64);
        let mut one = input(text, "朝阳区", "general", received);
        one.address = Some(if i % 2 == 0 {
            "北京市朝阳区望京西园三区312号楼".into()
        } else {
            "望京西园三区312号楼".into()
        });
        one.topic = Some("kitchen_fumes".into());
        // The address names the street (望京街道).
        one.street = None;
        let (ticket, _) =
            prepare(state, one).map_err(|e| anyhow::anyhow!("demo ticket: {}", e.message))?;
        tickets.push(ticket);
    }
    debug_assert!(tickets
        .iter()
        .all(|t| t.urgency != Urgency::General || t.received_at.is_some()));
    Ok(tickets)
}
