//! Target fields, their source-column aliases, user overrides (`--map`) and
//! column resolution.

use std::collections::{HashMap, HashSet};

use crate::Error;

/// Number of target fields in an [`ImportRow`](crate::ImportRow).
pub(crate) const N: usize = 22;

pub(crate) const EXTERNAL_ID: usize = 0;
pub(crate) const RECEIVED_AT: usize = 1;
pub(crate) const TITLE: usize = 2;
pub(crate) const TEXT: usize = 3;
pub(crate) const CHANNEL: usize = 4;
pub(crate) const KIND: usize = 5;
pub(crate) const URGENCY: usize = 6;
pub(crate) const CALLER_NAME: usize = 7;
pub(crate) const CALLER_PHONE: usize = 8;
pub(crate) const ADDRESS: usize = 9;
pub(crate) const DISTRICT: usize = 10;
pub(crate) const TOPIC: usize = 11;
pub(crate) const DEPARTMENT: usize = 12;
pub(crate) const DISPATCHED_AT: usize = 13;
pub(crate) const CONTACTED: usize = 14;
pub(crate) const RESOLVED: usize = 15;
pub(crate) const FEEDBACK_AT: usize = 16;
pub(crate) const CALLBACK_AT: usize = 17;
pub(crate) const CALLBACK_VALID: usize = 18;
pub(crate) const SATISFACTION: usize = 19;
pub(crate) const CLOSED_AT: usize = 20;
pub(crate) const STREET: usize = 21;

/// The target field names, in [`ImportRow`](crate::ImportRow) order. These are
/// the valid `TARGET`s of `--map TARGET=SOURCE`, and the order of
/// [`Reader::columns`](crate::Reader::columns).
pub const TARGET_FIELDS: [&str; N] = [
    "external_id",
    "received_at",
    "title",
    "text",
    "channel",
    "kind",
    "urgency",
    "caller_name",
    "caller_phone",
    "address",
    "district",
    "topic",
    "department",
    "dispatched_at",
    "contacted",
    "resolved",
    "feedback_at",
    "callback_at",
    "callback_valid",
    "satisfaction",
    "closed_at",
    "street",
];

/// Column names used by real 12345 exports, per target, in priority order.
const ALIASES: [&[&str]; N] = [
    &["工单编号", "工单号", "编号"],
    &["受理时间", "来电时间", "登记时间", "创建时间"],
    &["标题", "诉求标题"],
    &["诉求内容", "来电内容", "内容", "工单内容", "问题描述"],
    &["渠道", "来源", "受理渠道"],
    &["诉求类型", "工单类型", "类型"],
    &["紧急程度"],
    &["来电人", "姓名", "联系人"],
    &["联系电话", "来电号码", "电话"],
    &["地址", "事发地址", "诉求地址"],
    &["区", "所属区", "区县"],
    &["主题", "每月一题", "问题分类", "专题", "所属专题", "分类"],
    &["承办单位", "主办单位", "派单部门"],
    &["派单时间"],
    &["是否联系", "是否响应"],
    &["是否解决"],
    &["反馈时间", "办结时间"],
    &["回访时间"],
    &["是否有效回访", "有效回访"],
    &["满意度", "是否满意"],
    &["结案时间", "关闭时间"],
    &["街乡镇", "街道", "所属街道", "街道乡镇", "乡镇街道"],
];

/// User overrides from `--map TARGET=SOURCE`: which source column (or JSON
/// key) feeds a target field. An override takes precedence over the target's
/// English name and its Chinese aliases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    sources: [Option<String>; N],
}

impl FieldMap {
    /// An empty map: every target is resolved by name and alias.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one `TARGET=SOURCE` pair (as given to `--map`) and records it;
    /// a later pair for the same target replaces an earlier one.
    ///
    /// # Errors
    /// [`Error::Map`] when there is no `=`, either side is empty, or `TARGET`
    /// is not one of [`TARGET_FIELDS`] (the message lists the valid ones).
    pub fn parse_pair(&mut self, spec: &str) -> Result<(), Error> {
        let Some((target, source)) = spec.split_once('=') else {
            return Err(Error::Map(format!(
                "'{spec}' is not TARGET=SOURCE (valid targets: {})",
                TARGET_FIELDS.join(", ")
            )));
        };
        self.insert(target, source)
    }

    /// Records that `target` is read from the column (or key) `source`.
    ///
    /// # Errors
    /// [`Error::Map`] when `target` is unknown or `source` is blank.
    pub fn insert(&mut self, target: &str, source: &str) -> Result<(), Error> {
        let target = target.trim();
        let source = source.trim();
        let Some(index) = target_index(target) else {
            return Err(Error::Map(format!(
                "unknown target field '{target}' (valid targets: {})",
                TARGET_FIELDS.join(", ")
            )));
        };
        if source.is_empty() {
            return Err(Error::Map(format!(
                "empty source column for target '{target}'"
            )));
        }
        self.sources[index] = Some(source.to_string());
        Ok(())
    }

    /// The source column mapped to `target`, if the user gave one.
    pub fn get(&self, target: &str) -> Option<&str> {
        target_index(target).and_then(|i| self.sources[i].as_deref())
    }

    /// True when no override was given.
    pub fn is_empty(&self) -> bool {
        self.sources.iter().all(Option::is_none)
    }

    pub(crate) fn source(&self, index: usize) -> Option<&str> {
        self.sources[index].as_deref()
    }
}

fn target_index(name: &str) -> Option<usize> {
    let name = name.trim();
    TARGET_FIELDS
        .iter()
        .position(|t| t.eq_ignore_ascii_case(name))
}

/// Priority of a match: lower wins. `MAPPED` is the user's `--map` source
/// matched exactly; `MAPPED_FOLDED` is the same, ignoring case.
pub(crate) const MAPPED: u16 = 0;
pub(crate) const MAPPED_FOLDED: u16 = 1;

/// Resolves header names (or JSON keys) to target fields.
///
/// Candidates per target, best first: the `--map` source, the English target
/// name, then the aliases in order. An exact match beats a case-insensitive
/// one of the same candidate. A name that is some target's `--map` source is
/// only a candidate for the targets mapped to it.
#[derive(Debug, Clone)]
pub(crate) struct Resolver {
    /// exact name -> (target, priority)
    exact: HashMap<String, Vec<(usize, u16)>>,
    /// lower-cased name -> (target, priority + 1)
    folded: HashMap<String, Vec<(usize, u16)>>,
}

impl Resolver {
    pub(crate) fn new(map: &FieldMap) -> Self {
        let mut exact: HashMap<String, Vec<(usize, u16)>> = HashMap::new();
        let mut folded: HashMap<String, Vec<(usize, u16)>> = HashMap::new();
        let mut add = |name: &str, t: usize, p: u16| {
            exact.entry(name.to_string()).or_default().push((t, p));
            folded
                .entry(name.to_lowercase())
                .or_default()
                .push((t, p + 1));
        };
        let mut reserved: HashSet<String> = HashSet::new();
        for (t, source) in map.sources.iter().enumerate() {
            if let Some(source) = source {
                add(source, t, MAPPED);
                reserved.insert(source.to_lowercase());
            }
        }
        for t in 0..N {
            let candidates = std::iter::once(TARGET_FIELDS[t]).chain(ALIASES[t].iter().copied());
            for (rank, name) in candidates.enumerate() {
                if reserved.contains(&name.to_lowercase()) {
                    continue;
                }
                let rank = u16::try_from(rank).unwrap_or(1000);
                add(name, t, (rank + 1) * 2);
            }
        }
        Self { exact, folded }
    }

    /// Calls `f(target, priority)` for each target that `name` (trimmed) can
    /// feed; lower priority wins.
    pub(crate) fn offer(&self, name: &str, mut f: impl FnMut(usize, u16)) {
        let name = name.trim();
        if let Some(hits) = self.exact.get(name) {
            for &(t, p) in hits {
                f(t, p);
            }
        }
        let hits = if name.chars().any(char::is_uppercase) {
            self.folded.get(&name.to_lowercase())
        } else {
            self.folded.get(name)
        };
        if let Some(hits) = hits {
            for &(t, p) in hits {
                f(t, p);
            }
        }
    }
}

/// Keeps the best candidate per target while names are offered in order:
/// the lowest priority wins, and on a tie the first one offered.
#[derive(Debug)]
pub(crate) struct Best<T> {
    pub(crate) slots: [Option<(u16, T)>; N],
}

impl<T: Clone> Best<T> {
    pub(crate) fn new() -> Self {
        Self {
            slots: std::array::from_fn(|_| None),
        }
    }

    pub(crate) fn offer(&mut self, resolver: &Resolver, name: &str, value: &T) {
        resolver.offer(name, |t, p| {
            let better = match &self.slots[t] {
                Some((q, _)) => p < *q,
                None => true,
            };
            if better {
                self.slots[t] = Some((p, value.clone()));
            }
        });
    }
}

/// Resolves a header row: for each target, the index of its column.
///
/// # Errors
/// [`Error::Format`] when a `--map` source is not in the header, or no
/// column can feed `text`; both messages list the headers seen.
pub(crate) fn resolve_header(
    path: &std::path::Path,
    headers: &[String],
    map: &FieldMap,
    resolver: &Resolver,
) -> Result<[Option<usize>; N], Error> {
    let mut best: Best<usize> = Best::new();
    for (i, h) in headers.iter().enumerate() {
        best.offer(resolver, h, &i);
    }
    for (t, slot) in best.slots.iter().enumerate() {
        if let Some(source) = map.source(t) {
            let found = matches!(slot, Some((p, _)) if *p <= MAPPED_FOLDED);
            if !found {
                return Err(Error::Format {
                    path: path.to_path_buf(),
                    message: format!(
                        "--map {}={source}: no column '{source}' in the header ({})",
                        TARGET_FIELDS[t],
                        list_headers(headers)
                    ),
                });
            }
        }
    }
    if best.slots[TEXT].is_none() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "no column for the ticket text: expected one of text, {} (or --map text=COLUMN); headers seen: {}",
                ALIASES[TEXT].join(", "),
                list_headers(headers)
            ),
        });
    }
    Ok(std::array::from_fn(|t| best.slots[t].map(|(_, i)| i)))
}

/// The headers, quoted and comma-separated, cut after the first 50.
pub(crate) fn list_headers(headers: &[String]) -> String {
    const SHOWN: usize = 50;
    if headers.is_empty() {
        return "none".to_string();
    }
    let mut out = headers
        .iter()
        .take(SHOWN)
        .map(|h| format!("'{}'", crate::value::shorten(h)))
        .collect::<Vec<_>>()
        .join(", ");
    if headers.len() > SHOWN {
        out.push_str(&format!(" and {} more", headers.len() - SHOWN));
    }
    out
}
