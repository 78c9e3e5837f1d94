//! Masking callers' personal data for tokens without the `pii` permission.
//!
//! Pure functions. Every mask replaces characters one for one (a digit or a
//! letter becomes `*`), so the masked text has as many characters as the
//! original: that is what lets [`mask_markup`] mask text interleaved with
//! `<mark>` tags position by position, whatever the tags split.
//!
//! What is masked: the caller's name (first character kept), the caller's
//! phone, and in every free text (title, text, notes, address, snippets)
//! mobile numbers (`138****5678`), landlines (area code and the last two
//! digits kept), 18-digit identity numbers (first 6 and last 4 kept) and the
//! caller's own name and phone wherever they are written. Full-width digits
//! count as digits. Addresses are otherwise kept (the house number may stay).

use std::sync::LazyLock;

use hotline_store::{AuditEntry, EventBody, SearchHit, Ticket};
use regex::Regex;

/// Identity numbers first (18 characters), then mobiles (optionally written
/// 138-1234-5678 or 138 1234 5678), then landlines.
static NUMBERS: LazyLock<Regex> = LazyLock::new(|| {
    const D: &str = "[0-9０-９]";
    let pattern = format!(
        "(?P<id>[1-9１-９]{D}{{16}}[0-9０-９XxＸｘ])\
         |(?P<mobile>[1１][3-9３-９]{D}(?:[- ]?{D}{{4}}){{2}})\
         |(?P<landline>[0０]{D}{{2,3}}-?{D}{{7,8}})"
    );
    Regex::new(&pattern).expect("the number patterns are valid regular expressions")
});

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// The ASCII value of a digit, full-width or not.
fn digit_value(c: char) -> Option<u32> {
    if c.is_ascii_digit() {
        c.to_digit(10)
    } else if ('０'..='９').contains(&c) {
        Some(c as u32 - '０' as u32)
    } else {
        None
    }
}

fn mask_id(s: &str) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| if (6..14).contains(&i) { '*' } else { c })
        .collect()
}

/// 13812345678 → 138****5678: the 4th to 7th digits.
fn mask_mobile(s: &str) -> String {
    let mut n = 0;
    s.chars()
        .map(|c| {
            if is_digit(c) {
                n += 1;
                if (4..=7).contains(&n) {
                    return '*';
                }
            }
            c
        })
        .collect()
}

/// 010-62345678 → 010-******78: the area code and the last two digits kept.
fn mask_landline(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let area = match chars.iter().position(|c| *c == '-') {
        Some(p) => p + 1,
        // 010 and 02x are three digits long, the others four.
        None => match chars.get(1).copied().and_then(digit_value) {
            Some(1 | 2) => 3,
            _ => 4,
        },
    };
    let digits_after: usize = chars[area.min(chars.len())..]
        .iter()
        .filter(|c| is_digit(**c))
        .count();
    let mut seen = 0;
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i < area || !is_digit(c) {
                return c;
            }
            seen += 1;
            if seen + 2 > digits_after {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// Masks phone and identity numbers in free text.
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in NUMBERS.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&text[last..m.start()]);
        let s = m.as_str();
        if caps.name("id").is_some() {
            out.push_str(&mask_id(s));
        } else if caps.name("mobile").is_some() {
            out.push_str(&mask_mobile(s));
        } else {
            out.push_str(&mask_landline(s));
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
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

/// The personal data known for one ticket, to find it in its free text too.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// (as written, masked), longest first.
    values: Vec<(String, String)>,
}

impl Known {
    pub fn new(caller_name: Option<&str>, caller_phone: Option<&str>) -> Known {
        let mut values = Vec::new();
        if let Some(name) = caller_name.map(str::trim) {
            // A one-character "name" would mask that character everywhere.
            if name.chars().count() >= 2 {
                values.push((name.to_owned(), mask_name(name)));
            }
        }
        if let Some(phone) = caller_phone.map(str::trim) {
            if phone.chars().filter(|c| is_digit(*c)).count() >= 5 {
                values.push((phone.to_owned(), mask_phone(phone)));
            }
        }
        values.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        Known { values }
    }

    pub fn of(ticket: &Ticket) -> Known {
        Known::new(
            ticket.caller_name.as_deref(),
            ticket.caller_phone.as_deref(),
        )
    }

    /// Where personal data is written in `text`: the numbers the masks
    /// recognise and the caller's name and phone, each as a byte range and
    /// as written. What the search index must not hold in clear.
    pub fn spans<'t>(&self, text: &'t str) -> Vec<(std::ops::Range<usize>, &'t str)> {
        let mut spans: Vec<(std::ops::Range<usize>, &'t str)> = NUMBERS
            .find_iter(text)
            .map(|m| (m.range(), m.as_str()))
            .collect();
        for (value, _) in &self.values {
            for (at, found) in text.match_indices(value.as_str()) {
                spans.push((at..at + found.len(), found));
            }
        }
        spans
    }

    /// Free text with numbers masked and the caller's name and phone masked
    /// wherever they appear.
    pub fn mask(&self, text: &str) -> String {
        let mut out = mask_numbers(text);
        for (value, masked) in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), masked);
            }
        }
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
        let found: Vec<&str> = known
            .spans(text)
            .into_iter()
            .map(|(r, s)| {
                assert_eq!(&text[r], s);
                s
            })
            .collect();
        for s in ["王小明", "62345678", "138-1234-5678", "110105199003071234"] {
            assert!(found.contains(&s), "{s}: {found:?}");
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
