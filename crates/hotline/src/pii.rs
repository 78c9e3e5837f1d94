//! Masking callers' personal data for tokens without the `pii` permission.
//!
//! Pure functions. Every mask replaces characters one for one (a digit or a
//! letter becomes `*`), so the masked text has as many characters as the
//! original: that is what lets [`mask_markup`] mask text interleaved with
//! `<mark>` tags position by position, whatever the tags split.
//!
//! What is masked: the caller's name (first character kept), the caller's
//! phone, and in every free text (title, text, notes, address, snippets)
//! mobile numbers (`138****5678`, `+86` too), landlines (area code and the
//! last two digits kept), identity numbers (18 or 15 digits; first 6 and
//! last 4 kept), e-mail addresses (first character of the mailbox and the
//! domain kept), WeChat and QQ ids, passport and permit numbers, licence
//! plates (`京A****5`), and the caller's own name (also spaced, `王 小 明`, and
//! the given name alone, `小明`) and phone wherever they are written.
//! Numbers are read however written: ASCII, full-width or Chinese numerals
//! (`一三八`, `幺` for 1), mixed, in groups cut by spaces, hyphens, dots,
//! slashes, brackets or full-width punctuation. Dates, amounts, house
//! numbers and ids are not numbers of a person and stay. Addresses are
//! otherwise kept (the house number may stay).
//!
//! The index reads the same finder ([`Known::spans`]): each identifier is
//! hashed in one spelling (ASCII digits, no separators), so every spelling
//! of it gives one `pii:` term.

use std::sync::LazyLock;

use hotline_store::{AuditEntry, EventBody, SearchHit, Ticket};
use regex::Regex;

/// A digit however it is written: ASCII, full-width, a Chinese numeral
/// (〇 零 一 … 九, 幺 for 1 as read out on the phone, and the financial
/// 壹 贰 …), as its ASCII byte.
fn digit_of(c: char) -> Option<u8> {
    let d = match c {
        '0'..='9' => c as u32 - '0' as u32,
        '０'..='９' => c as u32 - '０' as u32,
        '〇' | '零' => 0,
        '一' | '幺' | '壹' => 1,
        '二' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    };
    Some(b'0' + d as u8)
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// One personal identifier found in a text.
#[derive(Debug, Clone)]
struct Found {
    /// Byte range in the text.
    range: std::ops::Range<usize>,
    /// The identifier in one spelling (ASCII digits, no separators, e-mail
    /// and ids lowercased): what its index term is computed from, so every
    /// spelling of it gives the same term.
    value: String,
    /// The range's characters as a reader without `pii` sees them (as many
    /// as in the text).
    masked: String,
}

/// What may stand between the digit groups of one number: spaces, hyphens,
/// dots, slashes, brackets, full-width punctuation (at most four in a row:
/// `(010) - 6234`).
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{3000}'
            | '\t'
            | '-'
            | '－'
            | '—'
            | '–'
            | '‐'
            | '_'
            | '.'
            | '．'
            | '·'
            | '•'
            | '・'
            | '/'
            | '／'
            | '('
            | ')'
            | '（'
            | '）'
            | '['
            | ']'
            | '【'
            | '】'
            | '、'
    )
}

/// Which digits of a number (by their index among its digits) are hidden,
/// and the number's value, when the digits are a number the masks know.
/// `phone`: the caller's phone digits, hidden wherever written.
fn classify(d: &[u8], phone: Option<&str>) -> Option<(std::ops::Range<usize>, String)> {
    let n = d.len();
    let text = String::from_utf8_lossy(d).into_owned();
    let is_mobile = |d: &[u8]| d.len() == 11 && d[0] == b'1' && (b'3'..=b'9').contains(&d[1]);
    let all_digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
    // An identity number: 18 characters (the last may be X), or 15 digits.
    if n == 18 && d[0] != b'0' && all_digits(&d[..17]) && (d[17].is_ascii_digit() || d[17] == b'X')
    {
        return Some((6..14, text));
    }
    if !all_digits(d) {
        return None;
    }
    if n == 15 && d[0] != b'0' {
        return Some((6..12, text));
    }
    if is_mobile(d) {
        return Some((3..7, text));
    }
    // +86 / 0086 and a mobile: the value is the national number.
    for prefix in [&b"86"[..], &b"0086"[..]] {
        if n == prefix.len() + 11 && d.starts_with(prefix) && is_mobile(&d[prefix.len()..]) {
            let p = prefix.len();
            return Some((p + 3..p + 7, text[p..].to_owned()));
        }
    }
    // A landline with its area code: 010 and 02x are three digits, others four.
    if (10..=12).contains(&n) && d[0] == b'0' && d[1] != b'0' {
        let area = if matches!(d[1], b'1' | b'2') { 3 } else { 4 };
        return Some((area..n - 2, text));
    }
    if phone.is_some_and(|p| p == text) {
        return Some((0..n.saturating_sub(2), text));
    }
    None
}

/// Identity numbers, mobiles and landlines however written: digit groups
/// (ASCII, full-width, Chinese numerals, mixed) cut by up to three
/// separators, `+86` before a mobile; and the caller's phone. Ordinary
/// numbers (dates, amounts, house numbers, ids) are none of these.
fn find_numbers(text: &str, phone: Option<&str>, found: &mut Vec<Found>) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    // Runs of digits: (first char, end char, digits); an X may end one.
    let mut runs: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if digit_of(chars[i].1).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::new();
        while let Some(d) = chars.get(i).and_then(|c| digit_of(c.1)) {
            digits.push(d);
            i += 1;
        }
        if matches!(chars.get(i).map(|c| c.1), Some('X' | 'x' | 'Ｘ' | 'ｘ')) {
            digits.push(b'X');
            i += 1;
        }
        // Digits run into ASCII letters (a hex id, a model number): not a
        // number of a person.
        if chars.get(i).is_some_and(|c| c.1.is_ascii_alphabetic()) {
            while chars.get(i).is_some_and(|c| c.1.is_ascii_alphanumeric()) {
                i += 1;
            }
            continue;
        }
        runs.push((start, i, digits));
    }
    let byte = |char_index: usize| chars.get(char_index).map_or(text.len(), |c| c.0);
    let taken = |found: &[Found], range: &std::ops::Range<usize>| {
        found
            .iter()
            .any(|f| f.range.start < range.end && range.start < f.range.end)
    };
    let mut r = 0;
    while r < runs.len() {
        // The longest number starting at this run, over the runs that
        // follow it across separators only.
        let mut last = r;
        while last + 1 < runs.len() && last - r < 8 {
            let gap = &chars[runs[last].1..runs[last + 1].0];
            if gap.len() > 4 || !gap.iter().all(|c| is_separator(c.1)) {
                break;
            }
            last += 1;
        }
        let mut matched = None;
        for end in (r..=last).rev() {
            let digits: Vec<u8> = runs[r..=end].iter().flat_map(|x| x.2.clone()).collect();
            if digits.len() > 20 {
                continue;
            }
            if let Some((hidden, value)) = classify(&digits, phone) {
                matched = Some((end, hidden, value));
                break;
            }
        }
        let candidates: Vec<(usize, usize, std::ops::Range<usize>, String)> = match matched {
            Some((end, hidden, value)) => {
                let span = (runs[r].0, runs[end].1, hidden, value);
                r = end + 1;
                vec![span]
            }
            None => {
                // Inside one long run: a mobile or an identity number
                // written without a break before or after it.
                let (start, _, digits) = &runs[r];
                r += 1;
                let mut inner = Vec::new();
                let mut k = 0;
                while k < digits.len() {
                    let hit = [18, 11].into_iter().find_map(|len| {
                        let part = digits.get(k..k + len)?;
                        let (hidden, value) = classify(part, None)?;
                        Some((len, hidden, value))
                    });
                    match hit {
                        Some((len, hidden, value)) => {
                            inner.push((start + k, start + k + len, hidden, value));
                            k += len;
                        }
                        None => k += 1,
                    }
                }
                inner
            }
        };
        for (from, to, hidden, value) in candidates {
            let range = byte(from)..byte(to);
            if taken(found, &range) {
                continue;
            }
            let mut seen = 0;
            let masked = chars[from..to]
                .iter()
                .map(|&(_, c)| {
                    if digit_of(c).is_none() && !matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ') {
                        return c;
                    }
                    seen += 1;
                    if hidden.contains(&(seen - 1)) {
                        '*'
                    } else {
                        c
                    }
                })
                .collect();
            found.push(Found {
                range,
                value,
                masked,
            });
        }
    }
}

/// `keep` characters kept at the start of `s`, the rest but the last
/// `keep_end` hidden (separators kept).
fn mask_keeping(s: &str, keep: usize, keep_end: usize) -> String {
    let n = s.chars().filter(|c| c.is_alphanumeric()).count();
    let mut seen = 0;
    s.chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen <= keep || seen + keep_end > n {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// Personal identifiers other than numbers, under PIPL: e-mail addresses,
/// WeChat and QQ ids, passport and permit numbers, licence plates. Each
/// pattern names its identifier `v`; the text around it must not continue it.
static OTHER_IDS: LazyLock<Vec<(Regex, usize, usize)>> = LazyLock::new(|| {
    let plate_province = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
    [
        // e-mail: the first character of the mailbox kept, the domain kept
        // (masked below by keeping the part after @).
        (r"(?P<v>[A-Za-z0-9._%+\-]+[@＠][A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})".to_owned(), 1, 0),
        // WeChat ids after 微信 / vx / wx; QQ numbers after QQ.
        (r"(?i:微信号?|weixin|wechat|vx|wx)\s*(?:号码?)?\s*(?:是|为|[:：])?\s*(?P<v>[A-Za-z][-_A-Za-z0-9]{5,19})".to_owned(), 1, 0),
        (r"(?i:qq)\s*(?:号码?)?\s*(?:是|为|[:：])?\s*(?P<v>[1-9][0-9]{4,11})".to_owned(), 1, 0),
        // Passports, Hong Kong/Macao/Taiwan permits, residence permits: a
        // letter or two and 7 to 9 digits after their name, or E/G/C and 8 digits.
        (r"(?:护照|通行证|台胞证|回乡证|居留证|居住证|签证)\s*(?:号码?)?\s*(?:是|为|[:：])?\s*(?P<v>[A-Za-z]{1,2}[0-9]{7,9}|[0-9]{8,10})".to_owned(), 1, 1),
        (r"(?P<v>[EeGgCc][0-9]{8})".to_owned(), 1, 1),
        // Licence plates: 京A12345, 京A·12345, 京AD12345 (new energy).
        (format!(r"(?P<v>[{plate_province}][A-HJ-NP-Za-hj-np-z][\s·•.\-]?[A-HJ-NP-Za-hj-np-z0-9]{{5,6}})"), 2, 1),
    ]
    .into_iter()
    .map(|(pattern, keep, keep_end)| {
        (
            Regex::new(&pattern).expect("the identifier patterns are valid regular expressions"),
            keep,
            keep_end,
        )
    })
    .collect()
});

fn find_other_ids(text: &str, found: &mut Vec<Found>) {
    for (pattern, keep, keep_end) in OTHER_IDS.iter() {
        for caps in pattern.captures_iter(text) {
            let Some(v) = caps.name("v") else { continue };
            let before = text[..v.start()].chars().next_back();
            let after = text[v.end()..].chars().next();
            let continues = |c: Option<char>| {
                c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
            };
            if continues(before) || continues(after) {
                continue;
            }
            let range = v.range();
            if found
                .iter()
                .any(|f| f.range.start < range.end && range.start < f.range.end)
            {
                continue;
            }
            let written = v.as_str();
            let (masked, value) = match written.find(['@', '＠']) {
                Some(at) => {
                    let (mailbox, domain) = written.split_at(at);
                    (
                        format!("{}{domain}", mask_keeping(mailbox, 1, 0)),
                        written.replace('＠', "@").to_lowercase(),
                    )
                }
                None => {
                    // Separators out; plates and permits upper case,
                    // WeChat ids lower (their `_` and `-` kept).
                    let value: String = written
                        .chars()
                        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
                        .collect();
                    let value = if pattern.as_str().contains("微信") {
                        value.to_lowercase()
                    } else {
                        value.to_uppercase()
                    };
                    (mask_keeping(written, *keep, *keep_end), value)
                }
            };
            found.push(Found {
                range,
                value,
                masked,
            });
        }
    }
}

/// Masks phone and identity numbers, and the other identifiers the masks
/// know (e-mail, WeChat and QQ ids, passports and permits, plates), in free text.
pub fn mask_numbers(text: &str) -> String {
    Known::default().mask(text)
}

/// 张三丰 → 张**; a one-character name becomes `*`.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let mut chars = name.chars();
    match (chars.next(), chars.clone().count()) {
        (None, _) => String::new(),
        (Some(_), 0) => "*".to_owned(),
        (Some(first), rest) => std::iter::once(first)
            .chain(std::iter::repeat_n('*', rest))
            .collect(),
    }
}

/// A phone field: the number masks when it matches one, otherwise every
/// digit but the last two (an 8-digit local number, an extension …).
pub fn mask_phone(phone: &str) -> String {
    let masked = mask_numbers(phone);
    if masked != phone {
        return masked;
    }
    let total = phone.chars().filter(|c| is_digit(*c)).count();
    let mut seen = 0;
    phone
        .chars()
        .map(|c| {
            if !is_digit(c) {
                return c;
            }
            seen += 1;
            if seen + 2 > total {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// Free text whose origin is unknown (a search query, an audit entry): the
/// numbers the masks recognise, then every other run of five digits or more
/// but its last two (a local number, part of a number).
pub fn mask_free_text(text: &str) -> String {
    let masked: Vec<char> = mask_numbers(text).chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < masked.len() {
        let run = masked[i..]
            .iter()
            .take_while(|c| is_digit(**c) || **c == '*')
            .count();
        if run == 0 {
            out.push(masked[i]);
            i += 1;
            continue;
        }
        // A run with a `*` is a number masked already.
        let plain = masked[i..i + run].iter().all(|c| is_digit(*c));
        for (k, c) in masked[i..i + run].iter().enumerate() {
            if plain && run >= 5 && k + 2 < run {
                out.push('*');
            } else {
                out.push(*c);
            }
        }
        i += run;
    }
    out
}

/// An audit entry as an admin without `pii` reads it: the query searched
/// for and the target (which may describe one) masked as free text.
pub fn mask_audit(entry: &mut AuditEntry) {
    entry.target = mask_free_text(&entry.target);
    if let Some(q) = &mut entry.query {
        *q = mask_free_text(q);
    }
}

/// Two-character surnames: the given name is what follows them.
const COMPOUND_SURNAMES: [&str; 16] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙",
    "宇文", "司徒", "端木", "南宫",
];

/// The personal data known for one ticket, to find it in its free text too.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The caller's name, whole and its given name alone (when two
    /// characters or more), each as a pattern that allows separators
    /// between the characters (王 小 明), with how many leading characters
    /// stay visible.
    names: Vec<(Regex, usize)>,
    /// The caller's phone as written, and its digits.
    phone: Option<(String, String)>,
}

impl Known {
    pub fn new(caller_name: Option<&str>, caller_phone: Option<&str>) -> Known {
        let mut names = Vec::new();
        if let Some(name) = caller_name.map(str::trim) {
            let plain: String = name.chars().filter(|c| c.is_alphanumeric()).collect();
            // A one-character "name" would mask that character everywhere.
            if plain.chars().count() >= 2 {
                let surname = COMPOUND_SURNAMES
                    .iter()
                    .find(|s| plain.starts_with(**s) && plain.chars().count() > 2)
                    .map_or(1, |_| 2);
                let given: String = plain.chars().skip(surname).collect();
                let spaced = |s: &str| {
                    s.chars()
                        .map(|c| regex::escape(&c.to_string()))
                        .collect::<Vec<_>>()
                        .join(r"[\s\u{3000}·•・.\-_]{0,2}")
                };
                if let Ok(whole) = Regex::new(&spaced(&plain)) {
                    names.push((whole, 1));
                }
                if given.chars().count() >= 2 {
                    if let Ok(given) = Regex::new(&spaced(&given)) {
                        names.push((given, 0));
                    }
                }
            }
        }
        let phone = caller_phone.map(str::trim).and_then(|p| {
            let digits: String = p.chars().filter_map(digit_of).map(char::from).collect();
            (digits.len() >= 5).then(|| (p.to_owned(), digits))
        });
        Known { names, phone }
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
        // The caller's phone as written (whatever it looks like).
        if let Some((written, digits)) = &self.phone {
            for (at, s) in text.match_indices(written.as_str()) {
                found.push(Found {
                    range: at..at + s.len(),
                    value: digits.clone(),
                    masked: mask_phone(s),
                });
            }
        }
        find_other_ids(text, &mut found);
        find_numbers(text, self.phone.as_ref().map(|p| p.1.as_str()), &mut found);
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

/// A run of five digits or more cut by an excerpt's edge (`…3812345678`) is
/// a number whose pattern can no longer be seen: masked whole.
fn mask_cut_numbers(plain: &[char]) -> Vec<char> {
    let mut out = plain.to_vec();
    if plain.first() == Some(&'…') {
        let n = plain[1..].iter().take_while(|c| is_digit(**c)).count();
        if n >= 5 {
            out[1..=n].iter_mut().for_each(|c| *c = '*');
        }
    }
    if plain.len() > 1 && plain.last() == Some(&'…') {
        let end = plain.len() - 1;
        let n = plain[..end]
            .iter()
            .rev()
            .take_while(|c| is_digit(**c))
            .count();
        if n >= 5 {
            out[end - n..end].iter_mut().for_each(|c| *c = '*');
        }
    }
    out
}

/// Masks HTML-like text (a search snippet: escaped text with `<mark>` tags)
/// as if the tags were not there, so a number or a name split by a tag is
/// still recognised; the tags are kept where they were.
pub fn mask_markup(markup: &str, known: &Known) -> String {
    // The text outside tags, and for each of its characters nothing else: the
    // masks keep the character count, so the masked text is put back in order.
    let mut plain = String::with_capacity(markup.len());
    let mut in_tag = false;
    for c in markup.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (true, '>') => in_tag = false,
            (false, c) => plain.push(c),
            (true, _) => {}
        }
    }
    let masked: Vec<char> = known.mask(&plain).chars().collect();
    let plain_chars: Vec<char> = plain.chars().collect();
    let masked = if masked.len() == plain_chars.len() {
        mask_cut_numbers(&masked)
    } else {
        // Cannot happen (every mask keeps the count); never show the original.
        return "…".to_owned();
    };
    let mut next = masked.into_iter();
    let mut out = String::with_capacity(markup.len());
    let mut in_tag = false;
    for c in markup.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                out.push(c);
            }
            (true, '>') => {
                in_tag = false;
                out.push(c);
            }
            (true, c) => out.push(c),
            (false, _) => out.push(next.next().unwrap_or('*')),
        }
    }
    out
}

fn mask_opt(value: &mut Option<String>, known: &Known) {
    if let Some(v) = value {
        *v = known.mask(v);
    }
}

/// The ticket as a token without `pii` sees it.
pub fn mask_ticket(ticket: &mut Ticket) {
    let known = Known::of(ticket);
    mask_opt(&mut ticket.title, &known);
    ticket.text = known.mask(&ticket.text);
    mask_opt(&mut ticket.address, &known);
    if let Some(name) = &mut ticket.caller_name {
        *name = mask_name(name);
    }
    if let Some(phone) = &mut ticket.caller_phone {
        *phone = mask_phone(phone);
    }
    for word in &mut ticket.deciding_words {
        *word = known.mask(word);
    }
    for event in &mut ticket.events {
        match &mut event.body {
            EventBody::Returned { reason, .. } => *reason = known.mask(reason),
            EventBody::Reassigned { reason, .. } | EventBody::TopicChanged { reason, .. } => {
                mask_opt(reason, &known)
            }
            EventBody::Contacted { note }
            | EventBody::Feedback { note, .. }
            | EventBody::Closed { note } => mask_opt(note, &known),
            EventBody::Dispatched { .. } | EventBody::Callback { .. } => {}
        }
    }
}

/// True when the ticket holds personal data: a caller's name, phone or
/// address, or a number the masks hide.
pub fn has_personal_data(ticket: &Ticket) -> bool {
    if ticket.caller_name.is_some() || ticket.caller_phone.is_some() || ticket.address.is_some() {
        return true;
    }
    let mut masked = ticket.clone();
    mask_ticket(&mut masked);
    masked != *ticket
}

/// A search hit as a token without `pii` sees it: the ticket masked, and the
/// snippet cut again from the masked text (so a number at the excerpt's edge
/// cannot show half of itself), then masked as markup.
pub fn mask_hit(hit: &mut SearchHit, words: &[String], width: usize) {
    let known = Known::of(&hit.ticket);
    mask_ticket(&mut hit.ticket);
    let snippet = hotline_store::snippet(&hit.ticket.text, words, width);
    hit.snippet = mask_markup(&snippet, &known);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Known {
        Known::default()
    }

    /// A digit written as a Chinese numeral (幺 for 1 as read out on the phone).
    fn chinese(d: char, alt: bool) -> char {
        let i = d.to_digit(10).unwrap_or(0) as usize;
        if alt && d == '1' {
            return '幺';
        }
        ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'][i]
    }

    /// The digits of a text, however written, in order: what a reader could
    /// read off it.
    fn digits_of(text: &str) -> String {
        text.chars().filter_map(digit_of).map(char::from).collect()
    }

    /// Deterministic pseudo-random numbers (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn digits(&mut self, n: usize) -> String {
            (0..n)
                .map(|_| char::from(b'0' + self.below(10) as u8))
                .collect()
        }
    }

    /// A number written one of the many ways people write numbers: groups
    /// cut by spaces, hyphens, dots, slashes, brackets, full-width
    /// punctuation; full-width digits; Chinese numerals, whole or mixed.
    fn spell(number: &str, groups: &[usize], rng: &mut Rng) -> String {
        const SEPARATORS: [&str; 12] = [
            "", " ", "-", ".", "/", "　", "－", "·", "—", " - ", "．", "、",
        ];
        let sep = SEPARATORS[rng.below(SEPARATORS.len())];
        let digits = rng.below(5); // 0 ASCII, 1 full-width, 2 Chinese, 3 mixed, 4 幺
        let mut out = String::new();
        let mut at = 0;
        for (g, len) in groups.iter().enumerate() {
            let part = &number[at..(at + len).min(number.len())];
            at += len;
            if g > 0 {
                out.push_str(sep);
            }
            let bracket = g == 0 && groups.len() > 1 && rng.below(4) == 0;
            if bracket {
                out.push(if rng.below(2) == 0 { '(' } else { '（' });
            }
            for (k, d) in part.chars().enumerate() {
                out.push(match digits {
                    1 => char::from_u32(d as u32 - '0' as u32 + '０' as u32).unwrap_or(d),
                    2 => chinese(d, false),
                    3 if k % 2 == 0 => chinese(d, false),
                    4 => chinese(d, true),
                    _ => d,
                });
            }
            if bracket {
                out.push(if rng.below(2) == 0 { ')' } else { '）' });
            }
        }
        out
    }

    const SENTENCES: [(&str, &str); 6] = [
        ("来电人反映小区充电桩坏了，联系电话", "，请尽快处理。"),
        ("我的号码是", "，晚上八点后打"),
        ("回电", "或者发短信"),
        ("身份证号", "，我叫王小明"),
        ("投诉人（", "）说楼下饭店油烟太大"),
        ("他留了", "这个，说3号楼2单元502室在2024年3月2日交了3000元"),
    ];

    #[test]
    fn a_generated_corpus_of_spellings_leaves_no_number_readable() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut cases = 0;
        for _ in 0..3000 {
            let kind = rng.below(4);
            // `hidden`: which of the number's digits the mask hides.
            let (number, groups, hidden): (String, Vec<usize>, (usize, usize)) = match kind {
                0 => {
                    let n = format!("1{}{}", 3 + rng.below(7), rng.digits(9));
                    let hidden = (3, 7);
                    let groups = [vec![11], vec![3, 4, 4], vec![3, 8], vec![7, 4]];
                    (n, groups[rng.below(4)].clone(), hidden)
                }
                1 => {
                    let n = format!(
                        "0{}{}",
                        ["10", "21", "755", "512"][rng.below(4)],
                        rng.digits(8)
                    );
                    let area = if n.len() == 11 { 3 } else { 4 };
                    let hidden = (area, n.len() - 2);
                    let groups = [vec![n.len()], vec![area, 8], vec![area, 4, 4]];
                    (n, groups[rng.below(3)].clone(), hidden)
                }
                2 => {
                    let n = format!(
                        "11010{}19{}{:02}{:02}{}",
                        rng.below(10),
                        50 + rng.below(50),
                        1 + rng.below(12),
                        1 + rng.below(28),
                        rng.digits(4)
                    );
                    let hidden = (6, 14);
                    let groups = [
                        vec![18],
                        vec![6, 8, 4],
                        vec![6, 4, 4, 4],
                        vec![3, 3, 4, 4, 4],
                    ];
                    (n, groups[rng.below(4)].clone(), hidden)
                }
                _ => {
                    // +86 and a mobile.
                    let n = format!("86138{}", rng.digits(8));
                    (n, vec![2, 3, 4, 4], (5, 9))
                }
            };
            let written = spell(&number, &groups, &mut rng);
            let written = if kind == 3 {
                format!("+{written}")
            } else {
                written
            };
            let (before, after) = SENTENCES[rng.below(SENTENCES.len())];
            let text = format!("{before}{written}{after}");
            let masked = none().mask(&text);
            assert_eq!(masked.chars().count(), text.chars().count(), "{text}");
            // What a reader can read: the sentence's own digits and the
            // number's kept ones, nothing else.
            let kept = format!("{}{}", &number[..hidden.0], &number[hidden.1..]);
            let expected = format!("{}{kept}{}", digits_of(before), digits_of(after));
            assert_eq!(digits_of(&masked), expected, "{text} → {masked}");
            // The index holds the same identifier, whatever the spelling.
            let values: Vec<String> = none()
                .spans(&text)
                .into_iter()
                .map(|(_, v)| v.to_string())
                .collect();
            let national = number.strip_prefix("86").unwrap_or(&number);
            assert!(values.iter().any(|v| v == national), "{text}: {values:?}");
            cases += 1;
        }
        assert_eq!(cases, 3000);
    }

    #[test]
    fn other_identifiers_are_masked_and_indexed_as_themselves() {
        let cases = [
            (
                "邮箱zhang.san88@qq.com，谢谢",
                "zhang.san88@qq.com",
                "hang.san88",
            ),
            ("发邮件到 Wang_Li@163.COM 就行", "wang_li@163.com", "ang_Li"),
            (
                "加我微信号：wxid_abc12345，",
                "wxid_abc12345",
                "xid_abc1234",
            ),
            ("微信 zhangsan_1988 联系", "zhangsan_1988", "hangsan_198"),
            ("QQ号：123456789，", "123456789", "2345678"),
            ("qq 87654321 也行", "87654321", "765432"),
            ("护照号码E12345678，", "E12345678", "1234567"),
            ("港澳通行证C87654321已过期", "C87654321", "8765432"),
            ("车牌京A12345停在消防通道", "京A12345", "1234"),
            ("京N·D6789X的车主", "京ND6789X", "D6789"),
            ("一辆沪B 3C5D7长期占道", "沪B3C5D7", "3C5D"),
        ];
        for (text, value, hidden) in cases {
            let masked = none().mask(text);
            assert_eq!(masked.chars().count(), text.chars().count(), "{text}");
            assert!(!masked.contains(hidden), "{text} → {masked}");
            let values: Vec<String> = none()
                .spans(text)
                .into_iter()
                .map(|(_, v)| v.to_string())
                .collect();
            assert!(
                values.iter().any(|v| v.eq_ignore_ascii_case(value)),
                "{text}: {values:?}"
            );
        }
    }

    #[test]
    fn names_spaced_or_given_alone_are_masked() {
        let known = Known::new(Some("王小明"), None);
        for text in ["王 小 明来电", "王　小明说", "找小明就行", "王·小·明"] {
            let masked = known.mask(text);
            assert!(
                !masked.contains('小') && !masked.contains('明'),
                "{text} → {masked}"
            );
            assert_eq!(masked.chars().count(), text.chars().count());
        }
        assert_eq!(known.mask("王 小 明来电"), "王 * *来电");
        let values: Vec<String> = known
            .spans("找小明就行")
            .into_iter()
            .map(|(_, v)| v.to_string())
            .collect();
        assert!(values.contains(&"小明".to_owned()), "{values:?}");
        // A compound surname: the given name is what follows it.
        let known = Known::new(Some("欧阳娜娜"), None);
        assert_eq!(known.mask("娜娜反映"), "**反映");
    }

    #[test]
    fn ordinary_numbers_in_many_spellings_stay() {
        for s in [
            "2024-03-02 09:00",
            "2024年3月2日",
            "二〇二四年三月二日",
            "欠薪300000元",
            "交了3000元，又交了5,000元",
            "3号楼2单元502室",
            "8号楼3单元502室",
            "12345热线",
            "第20240302期",
            "工单ZH20240401001已办结",
            "工单号0190f7b4-0000-7000-8000-000000000000",
            "一二三四五六七八九十",
            "面积120.5平方米，单价65000元",
            "京津冀协同发展",
            "Vue3和A4纸",
        ] {
            assert_eq!(none().mask(s), s);
        }
    }

    #[test]
    fn names_keep_their_first_character() {
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("王小明"), "王**");
        assert_eq!(mask_name("王明"), "王*");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name(" 欧阳娜娜 "), "欧***");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn mobiles_keep_three_and_four() {
        assert_eq!(mask_numbers("电话13812345678。"), "电话138****5678。");
        assert_eq!(mask_numbers("138-1234-5678"), "138-****-5678");
        assert_eq!(mask_numbers("138 1234 5678"), "138 **** 5678");
        assert_eq!(mask_numbers("+8613812345678"), "+86138****5678");
        assert_eq!(mask_numbers("１３８１２３４５６７８"), "１３８****５６７８");
        assert_eq!(mask_phone("13812345678"), "138****5678");
    }

    #[test]
    fn landlines_keep_area_code_and_last_two() {
        assert_eq!(mask_numbers("010-62345678"), "010-******78");
        assert_eq!(mask_numbers("01062345678"), "010******78");
        assert_eq!(mask_numbers("0755-1234567"), "0755-*****67");
        assert_eq!(mask_numbers("075512345678"), "0755******78");
        // A local number alone is not recognised in free text, but is in the phone field.
        assert_eq!(mask_phone("62345678"), "******78");
    }

    #[test]
    fn identity_numbers_keep_six_and_four() {
        assert_eq!(
            mask_numbers("身份证110105199003071234号"),
            "身份证110105********1234号"
        );
        assert_eq!(mask_numbers("11010519900307123X"), "110105********123X");
    }

    #[test]
    fn ordinary_numbers_stay() {
        for s in [
            "2024-03-02 09:00",
            "欠薪300000元",
            "8号楼3单元502室",
            "12345热线",
            "第20240302期",
        ] {
            assert_eq!(mask_numbers(s), s);
        }
    }

    #[test]
    fn spans_find_numbers_and_the_callers_name() {
        let known = Known::new(Some("王小明"), Some("62345678"));
        let text = "王小明反映，回电62345678或138-1234-5678，身份证110105199003071234";
        let found: Vec<String> = known.spans(text).into_iter().map(|(_, s)| s).collect();
        for s in ["王小明", "62345678", "13812345678", "110105199003071234"] {
            assert!(found.iter().any(|f| f == s), "{s}: {found:?}");
        }
    }

    #[test]
    fn free_text_hides_every_long_digit_run() {
        assert_eq!(mask_free_text("q=13812345678"), "q=138****5678");
        assert_eq!(mask_free_text("q=1381234"), "q=*****34");
        assert_eq!(mask_free_text("q=62345678 topic=x"), "q=******78 topic=x");
        assert_eq!(mask_free_text("q=充电桩 2024"), "q=充电桩 2024");
        assert_eq!(
            mask_free_text("q=110105199003071234"),
            "q=110105********1234"
        );
    }

    #[test]
    fn the_callers_name_and_phone_are_masked_in_text() {
        let known = Known::new(Some("王小明"), Some("62345678"));
        assert_eq!(
            known.mask("王小明反映，回电62345678或13812345678"),
            "王**反映，回电******78或138****5678"
        );
    }

    #[test]
    fn a_phone_split_by_a_mark_tag_does_not_leak() {
        let s = "电话138<mark>1234</mark>5678，请回电";
        let masked = mask_markup(s, &none());
        assert_eq!(masked, "电话138<mark>****</mark>5678，请回电");
        let s = "<mark>1381234</mark>5678";
        assert_eq!(mask_markup(s, &none()), "<mark>138****</mark>5678");
        let s = "身份证<mark>110105</mark>199003071234";
        assert_eq!(
            mask_markup(s, &none()),
            "身份证<mark>110105</mark>********1234"
        );
    }

    #[test]
    fn a_name_split_by_a_mark_tag_does_not_leak() {
        let known = Known::new(Some("王小明"), None);
        assert_eq!(
            mask_markup("<mark>王</mark>小明反映&lt;噪音&gt;", &known),
            "<mark>王</mark>**反映&lt;噪音&gt;"
        );
    }

    #[test]
    fn numbers_cut_by_the_excerpts_edge_are_masked() {
        assert_eq!(
            mask_markup("…3812345678，<mark>充电桩</mark>坏了", &none()),
            "…**********，<mark>充电桩</mark>坏了"
        );
        assert_eq!(
            mask_markup("<mark>充电桩</mark>坏了，电话1381234…", &none()),
            "<mark>充电桩</mark>坏了，电话*******…"
        );
        assert_eq!(mask_markup("…2024年", &none()), "…2024年");
    }

    #[test]
    fn a_ticket_is_masked_everywhere() {
        let mut t: Ticket = serde_json::from_value(serde_json::json!({
            "id": "0190f7b4-0000-7000-8000-000000000000",
            "external_id": null,
            "received_at": "2024-03-02T09:00:00",
            "accepted_at": "2024-03-02T09:00:00Z",
            "channel": "phone",
            "kind": "complaint",
            "urgency": "general",
            "title": "王小明来电",
            "text": "本人王小明，电话13812345678，身份证110105199003071234",
            "caller_name": "王小明",
            "caller_phone": "13812345678",
            "address": "朝阳区望京西园8号楼",
            "district": "朝阳区",
            "topic": {"slug": "other", "source": "router", "confidence": 0.9},
            "department": "",
            "deciding_words": [],
            "repeat_of": null,
            "events": [
                {"id": "0190f7b4-0000-7000-8000-000000000001", "at": "2024-03-02T10:00:00",
                 "recorded_at": "2024-03-02T10:00:00Z", "type": "feedback", "resolved": true,
                 "note": "已联系王小明 13812345678"}
            ],
            "seq": 1
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(has_personal_data(&t));
        mask_ticket(&mut t);
        let json = serde_json::to_string(&t).unwrap_or_default();
        assert!(!json.contains("13812345678"), "{json}");
        assert!(!json.contains("王小明"), "{json}");
        assert!(!json.contains("199003071234"), "{json}");
        assert_eq!(t.caller_name.as_deref(), Some("王**"));
        assert_eq!(t.caller_phone.as_deref(), Some("138****5678"));
        assert_eq!(t.address.as_deref(), Some("朝阳区望京西园8号楼"));
    }
}
