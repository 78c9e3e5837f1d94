//! A demo data set: about 3,000 tickets over the twelve months ending
//! 2024-12-31, generated deterministically (a seeded SplitMix64; the same
//! seed and corpus give the same tickets), and three demo tokens.
//!
//! Texts come from the built-in training corpus, a Beijing district and often
//! one of its places prefixed when the text names none, and go through the
//! analyzer like an operator's ticket (so topics are the router's). About 40%
//! are 咨询. Lifecycles (dispatch delay, contact, feedback, callback and
//! satisfaction, closing) are drawn with probabilities that differ by topic
//! and by district, so rankings mean something. One call in 25 is the same
//! caller ringing again about a ticket still open, which the store links as
//! a repeat (重复件). Callers' names, phones and
//! addresses are fake (generated), some written into the text, so masking
//! shows. Tickets are submitted through the store with their history, in
//! time order, with external ids `DEMO-00001`…, so an interrupted run can be
//! completed and a finished one is never loaded twice.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use hotline_classifier::{Example, OTHER};
use hotline_store::{
    EventBody, Issuer, NewTicket, NewToken, Role, Satisfaction, Submitted, TokenRecord,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::builtin;
use crate::config::Config;
use crate::intake::{prepare, TicketInput};

/// The last day of the demo year.
pub const END: (i32, u32, u32) = (2024, 12, 31);
/// The external id of the first (earliest) demo ticket.
pub const FIRST_ID: &str = "DEMO-00001";
const BATCH: usize = 250;

/// SplitMix64: tiny, fast, and the same on every platform.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        items.get((self.next_u64() % items.len() as u64) as usize)
    }

    /// An index drawn with the given weights.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// Exponentially distributed with this mean.
    fn exp(&mut self, mean: f64) -> f64 {
        -(1.0 - self.unit()).ln() * mean
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next_u64() % 10) as u8))
            .collect()
    }
}

/// How well a district's departments do (scales contact, resolution and
/// satisfaction; divides delays). Fixed, so the rankings are stable.
fn district_quality(name: &str) -> f64 {
    match name {
        "东城区" => 1.04,
        "西城区" => 1.03,
        "朝阳区" => 0.95,
        "海淀区" => 1.00,
        "丰台区" => 0.92,
        "石景山区" => 1.02,
        "门头沟区" => 1.05,
        "房山区" => 0.93,
        "通州区" => 0.90,
        "顺义区" => 0.99,
        "昌平区" => 0.87,
        "大兴区" => 0.94,
        "怀柔区" => 1.06,
        "平谷区" => 1.01,
        "密云区" => 1.07,
        "延庆区" => 1.08,
        _ => 1.0,
    }
}

/// Share of the city's calls.
fn district_weight(name: &str) -> f64 {
    match name {
        "朝阳区" => 17.0,
        "海淀区" => 14.0,
        "丰台区" => 10.0,
        "昌平区" => 9.0,
        "大兴区" => 8.0,
        "通州区" => 8.0,
        "西城区" => 6.0,
        "顺义区" => 6.0,
        "东城区" => 5.0,
        "房山区" => 5.0,
        "石景山区" => 3.0,
        _ => 2.0,
    }
}

/// (chance a department resolves it, how slow its feedback is) by topic.
fn topic_profile(slug: &str) -> (f64, f64) {
    match slug {
        // Beijing resolves about 94 % of 诉求 (2023); the hard topics
        // (old lifts, property companies, prepaid cards) trail.
        "ebike_charging" => (0.975, 1.1),
        "shared_parking" => (0.945, 1.2),
        "school_traffic" => (0.995, 0.9),
        "employment" => (0.965, 1.3),
        "parks" => (0.995, 0.8),
        "dogs" => (0.975, 1.0),
        "kitchen_fumes" => (0.955, 1.2),
        "travel_agencies" => (0.985, 1.0),
        "express_delivery" => (0.995, 0.7),
        "old_elevators" => (0.905, 1.6),
        "property_management" => (0.925, 1.4),
        "sports_prepaid" => (0.915, 1.5),
        "medical_order" => (0.985, 0.9),
        _ => (0.985, 1.0),
    }
}

const MONTH_WEIGHT: [f64; 12] = [
    0.80, 0.70, 0.90, 0.95, 1.00, 1.10, 1.20, 1.15, 1.00, 0.95, 0.90, 0.95,
];
const HOUR_WEIGHT: [f64; 24] = [
    0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.5, 2.0, 2.0, 1.8, 1.2, 1.4, 1.8, 1.8, 1.6, 1.4,
    1.2, 1.1, 1.0, 0.8, 0.5, 0.2,
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "淑珍", "志强", "玉兰", "海燕",
    "小红", "晓东", "子涵", "浩然", "雨桐", "建华", "春梅",
];

#[derive(Deserialize)]
struct GazetteerFile {
    district: Vec<GazetteerDistrict>,
}

#[derive(Deserialize)]
struct GazetteerDistrict {
    name: String,
    #[serde(default)]
    places: Vec<String>,
}

/// Places of each district (short, plain names that read well as a prefix).
fn places(config: &Config) -> Result<HashMap<String, Vec<String>>> {
    let text = Config::read_or_builtin(&config.gazetteer.path, builtin::GAZETTEER)?;
    let file: GazetteerFile = toml::from_str(&text).context("reading the gazetteer's places")?;
    Ok(file
        .district
        .into_iter()
        .map(|d| {
            let places = d
                .places
                .into_iter()
                .filter(|p| (2..=4).contains(&p.chars().count()))
                .collect();
            (d.name, places)
        })
        .collect())
}

/// A street of `district` for a demo call, chosen from `key` (not from the
/// demo's random stream, which stays as it was): skewed towards the streets
/// listed first, so a ranking by street has a head and a tail.
pub(crate) fn demo_street(
    gazetteer: &hotline_classifier::Gazetteer,
    district: &str,
    key: u64,
) -> Option<String> {
    let streets: Vec<&str> = gazetteer
        .streets()
        .filter(|(_, d)| *d == district)
        .map(|(s, _)| s)
        .collect();
    let u = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
    let i = ((u * u) * streets.len() as f64) as usize;
    streets.get(i).map(|s| (*s).to_owned())
}

fn at(day: NaiveDate, hour: u32, minute: u32, second: u32) -> NaiveDateTime {
    day.and_hms_opt(hour, minute, second)
        .unwrap_or_else(|| day.and_time(chrono::NaiveTime::MIN))
}

fn hours(h: f64) -> Duration {
    Duration::seconds((h * 3600.0).round() as i64)
}

/// One generated call before routing.
struct Call {
    input: TicketInput,
    received: NaiveDateTime,
    district: String,
    rng: Rng,
    /// Called about again while still open: its ticket is not closed.
    keep_open: bool,
    /// A caller calling again about an open ticket: no lifecycle of its own.
    repeat: bool,
}

fn fake_mobile(rng: &mut Rng) -> String {
    let second = rng.pick(&['3', '5', '7', '8', '9']).copied().unwrap_or('3');
    format!("1{second}{}", rng.digits(9))
}

fn fake_landline(rng: &mut Rng) -> String {
    format!("010-{}{}", rng.range(5, 8), rng.digits(7))
}

fn fake_name(rng: &mut Rng) -> String {
    format!(
        "{}{}",
        rng.pick(SURNAMES).copied().unwrap_or("王"),
        rng.pick(GIVEN).copied().unwrap_or("明")
    )
}

/// A fake identity number of the right shape (a Beijing area code, a birthday).
fn fake_id(rng: &mut Rng) -> String {
    format!(
        "1101{:02}{}{:02}{:02}{}",
        rng.range(1, 15),
        rng.range(1950, 2000),
        rng.range(1, 12),
        rng.range(1, 28),
        rng.digits(4)
    )
}

/// The calls, in time order, before routing.
fn calls(state: &AppState, examples: &[Example], n: usize, seed: u64) -> Result<Vec<Call>> {
    let mut rng = Rng(seed);
    let analyzer = state.analyzer();
    let gazetteer = analyzer.gazetteer();
    let districts: Vec<String> = gazetteer.districts().to_vec();
    let weights: Vec<f64> = districts.iter().map(|d| district_weight(d)).collect();
    let places = places(&state.config)?;
    let (topical, other): (Vec<&Example>, Vec<&Example>) =
        examples.iter().partition(|e| e.topic != OTHER);
    let end = NaiveDate::from_ymd_opt(END.0, END.1, END.2).context("the demo's end date")?;
    let start = end - Duration::days(365);
    let days: Vec<NaiveDate> = start
        .iter_days()
        .skip(1)
        .take_while(|d| *d <= end)
        .collect();
    let day_weights: Vec<f64> = days
        .iter()
        .map(|d| {
            let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
            MONTH_WEIGHT[d.month0() as usize] * if weekend { 0.7 } else { 1.0 }
        })
        .collect();

    // One call in 25 is a caller ringing again about an open ticket.
    let repeats = n / 25;
    let mut calls = Vec::with_capacity(n);
    for _ in 0..n - repeats {
        let pool = if rng.chance(0.68) { &topical } else { &other };
        let Some(example) = rng.pick(pool) else {
            continue;
        };
        let day = days[rng.weighted(&day_weights)];
        let received = at(
            day,
            rng.weighted(&HOUR_WEIGHT) as u32,
            rng.range(0, 59),
            rng.range(0, 59),
        );
        let mut text = example.text.trim().to_owned();
        let (district, named) = match gazetteer.detect(&text) {
            Some(m) => (m.district, true),
            None => (
                districts
                    .get(rng.weighted(&weights))
                    .cloned()
                    .unwrap_or_default(),
                false,
            ),
        };
        let place = places
            .get(&district)
            .and_then(|p| rng.pick(p))
            .cloned()
            .unwrap_or_default();
        if !named && rng.chance(0.75) {
            text = format!("{district}{place}：{text}");
        }
        // The caller's street, as an operator writes it in the address or
        // the street field; a text that names its street keeps its own, and
        // one that names only its district still gets a street of it.
        let names_street = gazetteer
            .locate(Some(&district), None, &text)
            .street
            .is_some();
        let street = if names_street {
            None
        } else {
            demo_street(gazetteer, &district, received.and_utc().timestamp() as u64)
        };
        let caller_name = rng.chance(0.55).then(|| fake_name(&mut rng));
        let caller_phone = if rng.chance(0.7) {
            Some(if rng.chance(0.85) {
                fake_mobile(&mut rng)
            } else {
                fake_landline(&mut rng)
            })
        } else {
            None
        };
        let address = rng.chance(0.35).then(|| {
            format!(
                "{district}{}{place}{}号楼{}单元{}{:02}室",
                street.as_deref().unwrap_or_default(),
                rng.range(1, 30),
                rng.range(1, 6),
                rng.range(1, 24),
                rng.range(1, 4)
            )
        });
        let sep = if text.ends_with('。') || text.ends_with('？') || text.ends_with('！') {
            ""
        } else {
            "。"
        };
        if let Some(phone) = caller_phone.as_ref().filter(|_| rng.chance(0.12)) {
            text = format!("{text}{sep}联系电话{phone}。");
        } else if let Some(name) = caller_name.as_ref().filter(|_| rng.chance(0.08)) {
            text = format!("{text}{sep}来电人{name}要求尽快回复。");
        } else if rng.chance(0.01) {
            text = format!("{text}{sep}来电人身份证号{}。", fake_id(&mut rng));
        }
        let kind =
            ["咨询", "投诉", "求助", "举报", "建议"][rng.weighted(&[0.40, 0.33, 0.14, 0.05, 0.08])];
        let urgency = ["general", "utilities", "emergency", "complex"]
            [rng.weighted(&[0.91, 0.04, 0.01, 0.04])];
        let channel = ["phone", "web", "app", "wechat"][rng.weighted(&[0.7, 0.1, 0.12, 0.08])];
        calls.push(Call {
            input: TicketInput {
                text,
                kind: Some(kind.to_owned()),
                urgency: Some(urgency.to_owned()),
                channel: Some(channel.to_owned()),
                caller_name,
                caller_phone,
                address,
                district: (!named).then(|| district.clone()),
                street,
                received_at: Some(received.format("%Y-%m-%d %H:%M:%S").to_string()),
                ..TicketInput::default()
            },
            received,
            district,
            // Each call's lifecycle has its own stream, drawn after routing.
            rng: Rng(rng.next_u64()),
            keep_open: false,
            repeat: false,
        });
    }
    let mut again = Vec::with_capacity(repeats);
    let mut tries = 0;
    while again.len() < repeats && tries < repeats * 20 && !calls.is_empty() {
        tries += 1;
        let i = (rng.next_u64() % calls.len() as u64) as usize;
        let first = &calls[i];
        let later = first.received + Duration::hours(i64::from(rng.range(20, 20 * 24)));
        if first.keep_open
            || first.input.caller_phone.is_none()
            || first.input.kind.as_deref() == Some("咨询")
            || later.date() > end
        {
            continue;
        }
        let input = TicketInput {
            text: format!("来电人再次反映：{}", first.input.text),
            received_at: Some(later.format("%Y-%m-%d %H:%M:%S").to_string()),
            ..first.input.clone()
        };
        again.push(Call {
            input,
            received: later,
            district: first.district.clone(),
            rng: Rng(rng.next_u64()),
            keep_open: false,
            repeat: true,
        });
        calls[i].keep_open = true;
    }
    calls.extend(again);
    calls.sort_by_key(|c| c.received);
    for (i, call) in calls.iter_mut().enumerate() {
        call.input.external_id = Some(format!("DEMO-{:05}", i + 1));
    }
    Ok(calls)
}

/// A routed call's lifecycle up to the end of the demo year.
fn history(
    ticket: &NewTicket,
    received: NaiveDateTime,
    district: &str,
    rng: &mut Rng,
    keep_open: bool,
    state: &AppState,
) -> Vec<(NaiveDateTime, EventBody)> {
    let end = NaiveDate::from_ymd_opt(END.0, END.1, END.2)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap_or(received);
    let mut events = Vec::new();
    if ticket.kind == hotline_store::Kind::Consultation {
        // Answered on the call by the hotline's knowledge base.
        events.push((
            received + hours(rng.range(3, 25) as f64 / 60.0),
            EventBody::Closed {
                note: Some("话务员直接答复".to_owned()),
            },
        ));
        return events.into_iter().filter(|(t, _)| *t <= end).collect();
    }
    let q = district_quality(district);
    // Outcomes vary less between districts than timeliness does: the city's
    // rates sit in the nineties everywhere, a few points apart.
    let q_outcome = 1.0 + (q - 1.0) * 0.4;
    let (resolve, slow) = topic_profile(&ticket.topic.slug);
    let d = &state.config.store.deadlines;
    let (dispatch_hours, feedback_hours) = (
        d.dispatch(ticket.urgency, ticket.kind),
        d.feedback(ticket.urgency, ticket.kind),
    );
    let dispatch_mean = dispatch_hours / 4.0 / q.powi(4);
    let dispatched = received + hours(rng.exp(dispatch_mean).max(0.05));
    let department = if ticket.department.is_empty() {
        "属地街道乡镇".to_owned()
    } else {
        ticket.department.clone()
    };
    events.push((dispatched, EventBody::Dispatched { department }));
    let feedback_mean = feedback_hours / 3.0 * slow / (q * q);
    let answered = dispatched + hours(rng.exp(feedback_mean).max(0.5));
    let contacted = rng.chance((0.998 * q_outcome).min(0.9995));
    if contacted {
        let within = (answered - dispatched).num_seconds() as f64 / 3600.0;
        events.push((
            dispatched + hours(within * rng.unit() * 0.6),
            EventBody::Contacted { note: None },
        ));
    }
    let resolved = rng.chance((resolve * q_outcome).min(0.995) * if contacted { 1.0 } else { 0.8 });
    events.push((
        answered,
        EventBody::Feedback {
            resolved,
            note: None,
        },
    ));
    let called = answered + hours(rng.range(12, 72) as f64);
    let valid = rng.chance(0.88);
    // The caller's verdict: mostly what happened.
    let says_contacted = if contacted {
        rng.chance(0.998)
    } else {
        rng.chance(0.1)
    };
    let says_resolved = if resolved {
        rng.chance((0.995 * q_outcome).min(0.999))
    } else {
        rng.chance(0.05)
    };
    let satisfaction = if says_resolved {
        [
            Satisfaction::Satisfied,
            Satisfaction::BasicallySatisfied,
            Satisfaction::Unsatisfied,
        ][rng.weighted(&[0.82 * q_outcome * q_outcome, 0.16, 0.02 / q_outcome])]
    } else {
        [
            Satisfaction::Satisfied,
            Satisfaction::BasicallySatisfied,
            Satisfaction::Unsatisfied,
        ][rng.weighted(&[0.25 * q_outcome, 0.45 * q_outcome, 0.30])]
    };
    events.push((
        called,
        EventBody::Callback {
            valid,
            contacted: says_contacted,
            resolved: says_resolved,
            satisfaction: valid.then_some(satisfaction),
        },
    ));
    if !keep_open && rng.chance(0.92) {
        events.push((
            called + hours(rng.range(1, 6) as f64),
            EventBody::Closed { note: None },
        ));
    }
    events.sort_by_key(|(t, _)| *t);
    events.into_iter().filter(|(t, _)| *t <= end).collect()
}

/// Every demo ticket, routed, with its history, in submission order.
pub fn generate(state: &AppState) -> Result<Vec<NewTicket>> {
    let examples = crate::engine::builtin_examples()?;
    let calls = calls(
        state,
        &examples,
        state.config.demo.tickets,
        state.config.demo.seed,
    )?;
    let mut tickets = Vec::with_capacity(calls.len());
    for mut call in calls {
        let (mut ticket, _) = prepare(state, call.input)
            .map_err(|e| anyhow::anyhow!("demo ticket: {}", e.message))?;
        if !call.repeat {
            ticket.history = history(
                &ticket,
                call.received,
                &call.district,
                &mut call.rng,
                call.keep_open,
                state,
            );
        }
        tickets.push(ticket);
    }
    Ok(tickets)
}

/// What [`populate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Tickets were added (and duplicates of an interrupted run skipped).
    Loaded { created: usize, skipped: usize },
    /// The demo tickets are all there already.
    AlreadyLoaded { tickets: usize },
    /// The store holds other tickets: the demo is not mixed with them.
    NotEmpty { tickets: usize },
}

/// Fills an empty store with the demo tickets (or completes an interrupted
/// demo load); leaves a store holding anything else alone. Blocking.
pub fn populate(state: &AppState) -> Result<Outcome> {
    let existing = state.store.ticket_count();
    if existing > 0 {
        if state.store.find_external(FIRST_ID)?.is_none() {
            return Ok(Outcome::NotEmpty { tickets: existing });
        }
        if existing >= state.config.demo.tickets {
            return Ok(Outcome::AlreadyLoaded { tickets: existing });
        }
    }
    let started = std::time::Instant::now();
    let tickets = generate(state)?;
    let (mut created, mut skipped) = (0, 0);
    let mut batch = Vec::with_capacity(BATCH);
    let mut rest = tickets.into_iter().peekable();
    while rest.peek().is_some() {
        batch.extend(rest.by_ref().take(BATCH));
        for s in state.store.submit(std::mem::take(&mut batch))? {
            match s {
                Submitted::Created(_) => created += 1,
                Submitted::Duplicate(_) => skipped += 1,
            }
        }
    }
    // Today's open tickets and a hot spot, relative to now (once).
    let live = crate::demo_live::generate(state, state.clock.now())?;
    for s in state.store.submit(live)? {
        match s {
            Submitted::Created(_) => created += 1,
            Submitted::Duplicate(_) => skipped += 1,
        }
    }
    state.store.commit_index()?;
    tracing::info!(
        created,
        skipped,
        ms = started.elapsed().as_millis() as u64,
        "demo tickets loaded"
    );
    Ok(Outcome::Loaded { created, skipped })
}

/// The demo's token names, roles and personal-data permission.
pub const DEMO_TOKENS: [(&str, Role, bool); 3] = [
    ("demo-admin", Role::Admin, true),
    ("demo-supervisor", Role::Supervisor, false),
    ("demo-operator", Role::Operator, false),
];

/// Revokes the previous demo tokens and creates new ones (secrets are shown
/// once, so each start hands out new ones). Blocking.
pub fn tokens(state: &AppState) -> Result<Vec<(TokenRecord, String)>> {
    let demo = crate::tokens::Actor::Local("demo");
    for old in state.tokens.list(Issuer::Local)? {
        if !old.revoked && DEMO_TOKENS.iter().any(|(name, _, _)| *name == old.name) {
            crate::tokens::revoke(&state.tokens, &state.audit, old.id, demo)?;
        }
    }
    let mut created = Vec::new();
    for (name, role, pii) in DEMO_TOKENS {
        created.push(crate::tokens::create(
            &state.tokens,
            &state.audit,
            NewToken {
                name: name.to_owned(),
                role,
                pii,
                district: None,
            },
            demo,
        )?);
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_deterministic_and_spread() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut r = Rng(1);
        let mean = (0..10_000).map(|_| r.unit()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        let mut counts = [0usize; 3];
        for _ in 0..10_000 {
            counts[r.weighted(&[0.4, 0.4, 0.2])] += 1;
        }
        assert!((1800..2200).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn fake_numbers_are_masked() {
        let mut r = Rng(3);
        for _ in 0..50 {
            let m = fake_mobile(&mut r);
            assert_ne!(crate::pii::mask_numbers(&m), m);
            let l = fake_landline(&mut r);
            assert_ne!(crate::pii::mask_numbers(&l), l);
            let id = fake_id(&mut r);
            assert_eq!(id.len(), 18);
            assert_ne!(crate::pii::mask_numbers(&id), id);
        }
    }
}
