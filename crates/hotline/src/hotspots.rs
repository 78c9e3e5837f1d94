//! Hot spots (未诉先办): place × topic pairs flaring up against their own
//! recent past, and clusters of near-identical complaints about one address
//! from different callers (`GET /api/v1/hotspots`, `hotline hotspots`, the
//! 督办 tab's panel).
//!
//! **Bursts.** For each district × topic, `observed` = tickets received in
//! the window (the last `days` days ending at `date`, 3 by default; repeats
//! excluded) and the baseline = tickets in the 56 days (eight weeks) before
//! the window. The expected count is `λ × days` with
//! `λ = (baseline + 0.5) / 56` (half a ticket added so that a pair never seen
//! before still has a small, not a zero, expectation). The pair is a hot spot
//! when all three hold: `observed ≥ 5`, `observed ≥ 3 × expected`, and the
//! Poisson upper tail `P(X ≥ observed | mean = expected) ≤ 1e-5` (one false
//! alarm in about 400 days over the 15 × 16 = 240 pairs tested each day if
//! counts were Poisson; real counts are overdispersed, so the ratio and
//! minimum count guard against weekday swings). Read from the day counters:
//! the cost follows days × pairs, not the tickets stored.
//!
//! **Clusters.** Tickets of the window at one address (normalised: see
//! [`hotline_store::normalise_address`]) are linked when their texts share
//! at least half their character bigrams (Jaccard ≥ 0.5); a linked group
//! from at least three different known callers is a cluster. Only the
//! addresses that three callers named in the window are read.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, NaiveDate};
use hotline_store::{IndexQuery, Store, Ticket};
use serde::Serialize;
use uuid::Uuid;

/// Days before the window that make the baseline.
pub const BASELINE_DAYS: i64 = 56;
pub const MIN_COUNT: i64 = 5;
pub const MIN_RATIO: f64 = 3.0;
pub const MAX_P: f64 = 1e-5;
pub const MIN_CALLERS: usize = 3;
pub const MIN_SIMILARITY: f64 = 0.5;
/// Ticket ids listed with each hot spot (the rest are a search away).
const IDS_SHOWN: usize = 50;

/// What to look at.
#[derive(Debug, Clone)]
pub struct HotspotQuery {
    /// The last day of the window.
    pub date: NaiveDate,
    /// The window's length in days (1 to 14).
    pub days: i64,
    pub district: Option<String>,
    pub topic: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Burst {
    pub topic: String,
    pub district: String,
    pub observed: i64,
    /// Tickets in the eight weeks before the window.
    pub baseline: i64,
    pub expected: f64,
    pub ratio: f64,
    pub p_value: f64,
    /// The tickets behind it (up to 50, newest first).
    pub ids: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    pub address: String,
    pub district: Option<String>,
    /// The topic most of its tickets have.
    pub topic: String,
    pub tickets: usize,
    pub callers: usize,
    pub first: Option<chrono::NaiveDateTime>,
    pub last: Option<chrono::NaiveDateTime>,
    pub ids: Vec<Uuid>,
    /// The address as a reader without `pii` sees it: its first ticket's
    /// address masked with what every member knows of its caller, then
    /// normalised keeping the masks (see [`Hotspots::masked`]).
    #[serde(skip)]
    pub masked_address: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hotspots {
    pub window: (NaiveDate, NaiveDate),
    pub baseline: (NaiveDate, NaiveDate),
    pub method: &'static str,
    pub bursts: Vec<Burst>,
    pub clusters: Vec<Cluster>,
}

const METHOD: &str = "burst: observed >= 5, observed >= 3 x expected and Poisson P(X >= observed) <= 1e-5, expected = days x (baseline + 0.5) / 56; cluster: one address, texts sharing >= 50% character bigrams, >= 3 different callers";

fn ln_factorial(n: i64) -> f64 {
    (1..=n).map(|i| (i as f64).ln()).sum()
}

/// P(X ≥ k) for X ~ Poisson(mean).
pub fn poisson_upper_tail(k: i64, mean: f64) -> f64 {
    if k <= 0 {
        return 1.0;
    }
    if mean <= 0.0 {
        return 0.0;
    }
    let term = |i: i64| (-mean + i as f64 * mean.ln() - ln_factorial(i)).exp();
    if (k as f64) <= mean {
        let below: f64 = (0..k).map(term).sum();
        return (1.0 - below).clamp(0.0, 1.0);
    }
    // Terms fall from k on: sum until they no longer matter.
    let mut sum = 0.0;
    let mut t = term(k);
    let mut i = k;
    while t > sum * 1e-15 && i < k + 10_000 {
        sum += t;
        i += 1;
        t *= mean / i as f64;
    }
    sum.min(1.0)
}

/// Is `observed` against `baseline` over the windows a burst? Returns (expected, p).
pub fn burst_test(observed: i64, baseline: i64, days: i64) -> Option<(f64, f64)> {
    let expected = days as f64 * (baseline as f64 + 0.5) / BASELINE_DAYS as f64;
    let p = poisson_upper_tail(observed, expected);
    (observed >= MIN_COUNT && observed as f64 >= MIN_RATIO * expected && p <= MAX_P)
        .then_some((expected, p))
}

fn bigrams(text: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

fn jaccard(a: &HashSet<(char, char)>, b: &HashSet<(char, char)>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

fn caller_of(t: &Ticket) -> Option<String> {
    t.caller_phone
        .as_deref()
        .and_then(hotline_store::caller_key)
}

/// Groups one address's tickets by near-identical text (single link) and
/// keeps the groups of at least [`MIN_CALLERS`] different callers.
pub fn clusters_at(address: &str, tickets: &[Ticket]) -> Vec<Cluster> {
    let grams: Vec<HashSet<(char, char)>> = tickets.iter().map(|t| bigrams(&t.text)).collect();
    let mut parent: Vec<usize> = (0..tickets.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..tickets.len() {
        for j in i + 1..tickets.len() {
            if jaccard(&grams[i], &grams[j]) >= MIN_SIMILARITY {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<&Ticket>> = BTreeMap::new();
    for (i, t) in tickets.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(t);
    }
    groups
        .into_values()
        .filter_map(|members| {
            let callers: HashSet<String> = members.iter().filter_map(|t| caller_of(t)).collect();
            if callers.len() < MIN_CALLERS {
                return None;
            }
            let mut topics: HashMap<&str, usize> = HashMap::new();
            for t in &members {
                *topics.entry(t.topic.slug.as_str()).or_default() += 1;
            }
            let topic = topics
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                .map(|(t, _)| t.to_owned())
                .unwrap_or_default();
            Some(Cluster {
                masked_address: masked_address(&members),
                address: address.to_owned(),
                district: members.iter().find_map(|t| t.district.clone()),
                topic,
                tickets: members.len(),
                callers: callers.len(),
                first: members.iter().filter_map(|t| t.received_at).min(),
                last: members.iter().filter_map(|t| t.received_at).max(),
                ids: members.iter().map(|t| t.id).collect(),
            })
        })
        .collect()
}

/// The place of a cluster as a reader without `pii` may see it: the first
/// member's address masked as its ticket is (and with the other members'
/// names and phones), then normalised with the masks kept.
fn masked_address(members: &[&Ticket]) -> String {
    let Some(first) = members.iter().find(|t| t.address.is_some()) else {
        return String::new();
    };
    let mut address = first.address.clone().unwrap_or_default();
    for t in members {
        address = crate::pii::Known::of(t).mask(&address);
    }
    hotline_store::normalise_masked_address(&address, first.district.as_deref()).unwrap_or_default()
}

impl Hotspots {
    /// The hot spots as a reader without `pii` sees them: each cluster's
    /// address masked (a caller's phone or name written in it), sorted on
    /// what is shown, so the order says nothing of what the masks hide.
    pub fn masked(mut self) -> Hotspots {
        for c in &mut self.clusters {
            c.address = std::mem::take(&mut c.masked_address);
        }
        self.clusters.sort_by(|a, b| {
            b.callers
                .cmp(&a.callers)
                .then_with(|| a.address.cmp(&b.address))
                .then_with(|| a.first.cmp(&b.first))
                .then_with(|| a.ids.cmp(&b.ids))
        });
        self
    }
}

/// Runs both detectors. Blocking (store reads).
pub fn detect(store: &Store, q: &HotspotQuery) -> hotline_store::Result<Hotspots> {
    let window_from = q.date - Duration::days(q.days - 1);
    let baseline_from = window_from - Duration::days(BASELINE_DAYS);
    let baseline_to = window_from - Duration::days(1);
    let mut pairs: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for row in store.place_topic_days(baseline_from, q.date)? {
        if row.district.is_empty()
            || q.district.as_ref().is_some_and(|d| *d != row.district)
            || q.topic.as_ref().is_some_and(|t| *t != row.topic)
        {
            continue;
        }
        let pair = pairs.entry((row.topic, row.district)).or_default();
        if row.day >= window_from {
            pair.0 += row.received;
        } else {
            pair.1 += row.received;
        }
    }
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
    let mut bursts = Vec::new();
    for ((topic, district), (observed, baseline)) in pairs {
        let Some((expected, p_value)) = burst_test(observed, baseline, q.days) else {
            continue;
        };
        let found = store.search(&IndexQuery {
            topic: Some(topic.clone()),
            district: Some(district.clone()),
            from: start(window_from),
            to: start(q.date + Duration::days(1)),
            limit: IDS_SHOWN,
            ..IndexQuery::default()
        })?;
        let mut tickets: Vec<&Ticket> = found.hits.iter().map(|h| &h.ticket).collect();
        tickets.sort_by_key(|t| std::cmp::Reverse((t.received_at, t.id)));
        bursts.push(Burst {
            ratio: observed as f64 / expected,
            ids: tickets.iter().map(|t| t.id).collect(),
            topic,
            district,
            observed,
            baseline,
            expected,
            p_value,
        });
    }
    bursts.sort_by(|a, b| {
        a.p_value
            .total_cmp(&b.p_value)
            .then(b.observed.cmp(&a.observed))
    });

    let mut clusters = Vec::new();
    let groups = store.address_groups(window_from, q.date, MIN_CALLERS, q.district.as_deref())?;
    for group in groups.groups {
        let tickets: Vec<Ticket> = group
            .tickets
            .into_iter()
            .filter(|t| q.topic.as_ref().is_none_or(|s| *s == t.topic.slug))
            .collect();
        clusters.extend(clusters_at(&group.address, &tickets));
    }
    clusters.sort_by(|a, b| b.callers.cmp(&a.callers).then(a.address.cmp(&b.address)));
    Ok(Hotspots {
        window: (window_from, q.date),
        baseline: (baseline_from, baseline_to),
        method: METHOD,
        bursts,
        clusters,
    })
}

/// The hot spots as the command line prints them.
pub fn print(h: &Hotspots) {
    println!(
        "window {} – {} against {} – {}",
        h.window.0, h.window.1, h.baseline.0, h.baseline.1
    );
    if h.bursts.is_empty() && h.clusters.is_empty() {
        println!("no hot spot");
    }
    for b in &h.bursts {
        println!(
            "burst    {} {}: {} tickets, expected {:.1} ({} in the eight weeks before), {:.1}x, p = {:.1e}",
            b.district, b.topic, b.observed, b.expected, b.baseline, b.ratio, b.p_value
        );
    }
    for c in &h.clusters {
        println!(
            "cluster  {} {} ({}): {} near-identical tickets from {} callers, {} – {}",
            c.district.as_deref().unwrap_or("—"),
            c.address,
            c.topic,
            c.tickets,
            c.callers,
            c.first
                .map_or("—".into(), |t| t.format("%m-%d %H:%M").to_string()),
            c.last
                .map_or("—".into(), |t| t.format("%m-%d %H:%M").to_string()),
        );
    }
}
