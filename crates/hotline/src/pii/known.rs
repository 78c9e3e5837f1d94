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

/// The personal data known for one ticket, to find it in its free text too.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The caller's name, whole and its given name alone (when two
    /// characters or more), each as a pattern that allows separators,
    /// visible or not, between the characters (王 小 明, 王、小、明) and any
    /// case, with how many leading characters stay visible.
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
                        .join(r"[\s\p{Cf}\p{Mn}\p{Me}\p{Cc}\u{115F}\u{1160}\u{3164}\u{FFA0}\u{2800}·•・.\-_、，,]{0,3}")
                };
                // Case-insensitive: a name in Latin letters is written in
                // any case (Zhang San, ZHANG SAN, zhangsan).
                let spaced = |s: &str| format!("(?i){}", spaced(s));
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
