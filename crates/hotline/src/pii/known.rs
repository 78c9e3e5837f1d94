//! `Known`: the personal data known for one ticket, and the one finder of every identifier in a text (`Known::spans`, `Known::mask`).

use hotline_store::Ticket;
use regex::Regex;

use super::ids::find_other_ids;
use super::mask_phone;
use super::numbers::{digit_of, find_numbers};

/// One personal identifier found in a text.
#[derive(Debug, Clone)]
pub(super) struct Found {
    /// Byte range in the text.
    pub(super) range: std::ops::Range<usize>,
    /// The identifier in one spelling (ASCII digits, no separators, e-mail
    /// and ids lowercased): what its index term is computed from, so every
    /// spelling of it gives the same term.
    pub(super) value: String,
    /// The range's characters as a reader without `pii` sees them (as many
    /// as in the text).
    pub(super) masked: String,
}

/// Two-character surnames: the given name is what follows them.
const COMPOUND_SURNAMES: [&str; 16] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙",
    "宇文", "司徒", "端木", "南宫",
];

/// Words written around a name in a name field: titles, roles and
/// relations after it (张晓红女士, 王小明(业主), 吴海燕之女), what a caller is
/// before it (来电人李建国, 退休教师孙丽华). The name without them is the one
/// the text uses; a piece that is one of them alone is no name.
const NAME_AFFIXES: [&str; 79] = [
    "女士",
    "先生",
    "小姐",
    "同志",
    "老师傅",
    "老师",
    "师傅",
    "阿姨",
    "大爷",
    "大妈",
    "大姐",
    "大哥",
    "奶奶",
    "爷爷",
    "老人家",
    "老人",
    "老先生",
    "老太太",
    "太太",
    "夫人",
    "夫妇",
    "夫妻",
    "之女",
    "之子",
    "之妻",
    "之夫",
    "女儿",
    "儿子",
    "家属",
    "家人",
    "一家",
    "全家",
    "本人",
    "同学",
    "医生",
    "律师",
    "经理",
    "主任",
    "业主",
    "租户",
    "住户",
    "村民",
    "市民",
    "居民",
    "家长",
    "患者",
    "病人",
    "退休教师",
    "退休职工",
    "退休工人",
    "教师",
    "工人",
    "外卖员",
    "快递员",
    "骑手",
    "司机",
    "保安",
    "保洁",
    "大叔",
    "叔叔",
    "老伯",
    "伯伯",
    "大伯",
    "婶婶",
    "阿婆",
    "老奶奶",
    "老爷爷",
    "母亲",
    "父亲",
    "妈妈",
    "爸爸",
    "来电人",
    "来电者",
    "反映人",
    "投诉人",
    "等人",
    "等",
    "女",
    "男",
];

/// The personal data known for one ticket, to find it in its free text too.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The caller's name, whole and its given name alone (when two
    /// characters or more), each as a pattern that allows separators,
    /// visible or not, between the characters (王 小 明, 王、小、明) and any
    /// case, with how many leading characters stay visible. A name field
    /// with more than a name (张晓红女士, 王小明(业主), 李四 138…) gives
    /// the name in it too.
    names: Vec<(Regex, usize)>,
    /// The caller's phones: the field as written and its digits, and each
    /// number in it on its own (13811223344/62223333, 62345678转8001).
    phones: Vec<(String, String)>,
}

/// The names a name field holds: the field's letters, and each piece of it
/// between separators, digits and brackets, inside the brackets too, with
/// titles, roles and introductions taken off (张晓红女士 → 张晓红;
/// 王小明(业主) → 王小明; 业主（王小明） → 王小明). Pieces in Latin letters
/// stay whole (Zhang Wei): a part of one (Wei) would mask every word it is in.
fn names_in(field: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut push = |n: String| {
        if n.chars().count() >= 2 && !NAME_AFFIXES.contains(&n.as_str()) && !names.contains(&n) {
            names.push(n);
        }
    };
    push(field.chars().filter(|c| c.is_alphanumeric()).collect());
    let cjk = |c: char| matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}');
    // Digits end a piece, except Chinese numerals, which may be in a name (王五).
    let cut = |c: char| !c.is_alphanumeric() || (digit_of(c).is_some() && !cjk(c));
    // Longest first: 老先生 before 先生.
    let mut affixes = NAME_AFFIXES;
    affixes.sort_by_key(|a| std::cmp::Reverse(a.chars().count()));
    for piece in field.split(cut) {
        if !piece.chars().any(cjk) {
            continue;
        }
        let mut name = piece.to_owned();
        loop {
            let before = name.clone();
            for affix in &affixes {
                let keep = |rest: &str| rest.chars().count() >= 2;
                if let Some(rest) = name.strip_suffix(affix).filter(|r| keep(r)) {
                    name = rest.to_owned();
                }
                if let Some(rest) = name.strip_prefix(affix).filter(|r| keep(r)) {
                    name = rest.to_owned();
                }
            }
            if name == before {
                break;
            }
        }
        push(name);
    }
    names
}

/// A character of one number in a phone field: a digit however written,
/// or a space, hyphen, bracket or plus between its groups.
pub(super) fn within_phone(c: char) -> bool {
    digit_of(c).is_some() || matches!(c, ' ' | '-' | '－' | '(' | ')' | '（' | '）' | '+' | '＋')
}

/// The numbers of a phone field: the field as written with its digits, and
/// each part between characters that are neither digits nor a number's
/// separators (`/`, `,`, `转`, `或` …), when it has five digits or more.
fn phones_in(field: &str) -> Vec<(String, String)> {
    let digits = |s: &str| -> String { s.chars().filter_map(digit_of).map(char::from).collect() };
    let mut phones = Vec::new();
    let whole = digits(field);
    if whole.len() >= 5 {
        phones.push((field.to_owned(), whole));
    }
    for part in field.split(|c: char| !within_phone(c)) {
        let part = part.trim();
        let d = digits(part);
        if d.len() >= 5 && !phones.iter().any(|(w, _)| w == part) {
            phones.push((part.to_owned(), d));
        }
    }
    phones
}

impl Known {
    pub fn new(caller_name: Option<&str>, caller_phone: Option<&str>) -> Known {
        let mut names = Vec::new();
        for plain in caller_name.map(str::trim).map(names_in).unwrap_or_default() {
            let surname = COMPOUND_SURNAMES
                .iter()
                .find(|s| plain.starts_with(**s) && plain.chars().count() > 2)
                .map_or(1, |_| 2);
            let given: String = plain.chars().skip(surname).collect();
            let spaced = |s: &str| {
                s.chars()
                    .map(|c| regex::escape(&c.to_string()))
                    .collect::<Vec<_>>()
                    .join(r"[\s\p{Cf}\p{Mn}\p{Me}\p{Cc}\u{115F}\u{1160}\u{3164}\u{FFA0}\u{2800}·•・.\-_、，,/／*＊|｜；;。:：~～「」『』“”\x22'‘’]{0,3}")
            };
            // Case-insensitive: a name in Latin letters is written in
            // any case (Zhang San, ZHANG SAN, zhangsan).
            let spaced = |s: &str| format!("(?i){}", spaced(s));
            if let Ok(whole) = Regex::new(&spaced(&plain)) {
                names.push((whole, 1));
            }
            // 张女士's "given name" is a title: masked everywhere, it would
            // hide every 女士 and say nothing of the caller.
            if given.chars().count() >= 2 && !NAME_AFFIXES.contains(&given.as_str()) {
                if let Ok(given) = Regex::new(&spaced(&given)) {
                    names.push((given, 0));
                }
            }
        }
        let phones = caller_phone
            .map(str::trim)
            .map(phones_in)
            .unwrap_or_default();
        Known { names, phones }
    }

    pub fn of(ticket: &Ticket) -> Known {
        Known::new(
            ticket.caller_name.as_deref(),
            ticket.caller_phone.as_deref(),
        )
    }

    /// Every personal identifier in `text`, not overlapping, in order.
    fn find(&self, text: &str) -> Vec<Found> {
        let mut found = Vec::new();
        // The caller's phones as written (whatever they look like).
        for (written, digits) in &self.phones {
            for (at, s) in text.match_indices(written.as_str()) {
                let range = at..at + s.len();
                if found
                    .iter()
                    .any(|f: &Found| f.range.start < range.end && range.start < f.range.end)
                {
                    continue;
                }
                found.push(Found {
                    range,
                    value: digits.clone(),
                    masked: mask_phone(s),
                });
            }
        }
        find_other_ids(text, &mut found);
        let phones: Vec<&str> = self.phones.iter().map(|p| p.1.as_str()).collect();
        find_numbers(text, &phones, &mut found);
        for (pattern, keep) in &self.names {
            for m in pattern.find_iter(text) {
                let range = m.range();
                if found
                    .iter()
                    .any(|f| f.range.start < range.end && range.start < f.range.end)
                {
                    continue;
                }
                let mut seen = 0;
                let masked = m
                    .as_str()
                    .chars()
                    .map(|c| {
                        if !c.is_alphanumeric() {
                            return c;
                        }
                        seen += 1;
                        if seen <= *keep {
                            c
                        } else {
                            '*'
                        }
                    })
                    .collect();
                found.push(Found {
                    range,
                    value: m.as_str().chars().filter(|c| c.is_alphanumeric()).collect(),
                    masked,
                });
            }
        }
        found.sort_by_key(|f| f.range.start);
        found
    }

    /// Where personal data is written in `text`: the identifiers the masks
    /// hide and the caller's name (whole or given name) and phone, each as a
    /// byte range and in one spelling (digits as ASCII, no separators), so
    /// that every spelling of one identifier has one index term. What the
    /// search index must not hold in clear.
    pub fn spans(&self, text: &str) -> Vec<(std::ops::Range<usize>, String)> {
        self.find(text)
            .into_iter()
            .map(|f| (f.range, f.value))
            .collect()
    }

    /// Free text with every identifier masked where it appears, one
    /// character for one.
    pub fn mask(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for f in self.find(text) {
            if f.range.start < last {
                continue;
            }
            out.push_str(&text[last..f.range.start]);
            out.push_str(&f.masked);
            last = f.range.end;
        }
        out.push_str(&text[last..]);
        out
    }
}
