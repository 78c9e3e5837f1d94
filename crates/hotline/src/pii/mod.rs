//! Masking callers' personal data for tokens without the `pii` permission.
//!
//! Pure functions. Every mask replaces characters one for one (a digit or a
//! letter becomes `*`), so the masked text has as many characters as the
//! original: that is what lets [`mask_snippet`] mask a snippet's fragments
//! as one text and cut it again at the same places, whatever they split.
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

mod ids;
mod known;
mod numbers;
#[cfg(test)]
mod tests;

use hotline_store::{AuditEntry, EventBody, Fragment, SearchHit, Ticket};

pub use known::Known;
use numbers::is_digit;
pub use numbers::is_invisible;

/// Masks phone and identity numbers, and the other identifiers the masks
/// know (e-mail, WeChat and QQ ids, passports and permits, plates), in free text.
pub fn mask_numbers(text: &str) -> String {
    Known::default().mask(text)
}

/// Why a department or a channel may not be `value`: it holds a phone or
/// identity number, an e-mail or another identifier the masks know. Both
/// name offices and ways in; they are the keys of statistics and of the
/// deadline queue, which every role reads unmasked, so no person's number
/// may become one: seven digits or more count, however cut (a local number
/// without its area code too; 12345, the hotline's own number, does not),
/// and so does the caller's name or phone (`known`, the ticket's). None:
/// the value may be stored.
pub fn identifier_in_label(value: &str, known: &Known) -> Option<String> {
    // However cut (6234-5678): seven digits in all.
    let long_run = value
        .chars()
        .filter(|c| numbers::digit_of(*c).is_some())
        .count()
        >= 7;
    (long_run || known.mask(value) != value).then(|| {
        "names an office or a way in, not a person: it holds a phone or identity number \
         or another personal identifier"
            .to_owned()
    })
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

/// A phone field: each number in it (13811223344/62223333, 62345678转8001)
/// masks as the number it matches, otherwise every digit but its last two
/// (an 8-digit local number, an extension …).
pub fn mask_phone(phone: &str) -> String {
    let mut out = String::with_capacity(phone.len());
    let mut part = String::new();
    for c in phone.chars() {
        if known::within_phone(c) {
            part.push(c);
        } else {
            out.push_str(&mask_phone_part(&part));
            part.clear();
            out.push(c);
        }
    }
    out.push_str(&mask_phone_part(&part));
    out
}

fn mask_phone_part(phone: &str) -> String {
    let masked = mask_numbers(phone);
    if masked != phone {
        return masked;
    }
    let total = phone
        .chars()
        .filter(|c| numbers::digit_of(*c).is_some())
        .count();
    let mut seen = 0;
    phone
        .chars()
        .map(|c| {
            if numbers::digit_of(c).is_none() {
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
        // Digits however written (一三八…, other scripts): a query or a
        // label may hold any spelling.
        let any_digit = |c: char| numbers::digit_of(c).is_some();
        let run = masked[i..]
            .iter()
            .take_while(|c| any_digit(**c) || **c == '*')
            .count();
        if run == 0 {
            out.push(masked[i]);
            i += 1;
            continue;
        }
        // A run with a `*` is a number masked already.
        let plain = masked[i..i + run].iter().all(|c| any_digit(*c));
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
/// for and the target (which may describe one) masked as free text, and in
/// the query every run of characters other than digits between spaces and
/// punctuation masked as a name (王小明 → 王**, 充电桩 → 充**,
/// 来电人唐小红 → 来*****): a search for a caller by
/// name leaves the name in the log, and telling names from other words by
/// asking the index made the log an oracle for who is a caller (a name that
/// is a caller's came back masked, one that is nobody's in clear). Numbers
/// are left to the free-text masks, which keep a phone's three and four. A
/// target that is a ticket's id stays whole: it names a ticket, not a person.
pub fn mask_audit(entry: &mut AuditEntry) {
    // A token's description (its id, name and limits) names no caller.
    let about_token = matches!(
        entry.action,
        hotline_store::AuditAction::TokenCreated | hotline_store::AuditAction::TokenRevoked
    );
    if !about_token && uuid::Uuid::parse_str(&entry.target).is_err() {
        entry.target = mask_free_text(&entry.target);
    }
    if let Some(q) = &mut entry.query {
        // Numbers first, on the query as typed (a phone in Chinese numerals
        // or mixed digits is seen whole only there); then every other run
        // is masked as a name. A digit however written, and a star next to
        // one (a digit already masked), is a number's.
        let numbers_masked: Vec<char> = mask_free_text(q).chars().collect();
        let digit = |c: char| numbers::digit_of(c).is_some();
        let is_number: Vec<bool> = (0..numbers_masked.len())
            .map(|i| {
                let c = numbers_masked[i];
                if digit(c) {
                    return true;
                }
                if c != '*' {
                    return false;
                }
                let left = numbers_masked[..i].iter().rev().find(|c| **c != '*');
                let right = numbers_masked[i + 1..].iter().find(|c| **c != '*');
                left.is_some_and(|c| digit(*c)) || right.is_some_and(|c| digit(*c))
            })
            .collect();
        let breaks = |c: char| {
            c.is_whitespace()
                || (c.is_ascii_punctuation() && c != '-' && c != '*')
                || "，、；：。".contains(c)
        };
        let mut out = String::with_capacity(q.len());
        let mut i = 0;
        while i < numbers_masked.len() {
            let c = numbers_masked[i];
            if breaks(c) {
                out.push(c);
                i += 1;
                continue;
            }
            // A run of one kind (number or not) within a piece.
            let kind = is_number[i];
            let mut j = i;
            while j < numbers_masked.len() && !breaks(numbers_masked[j]) && is_number[j] == kind {
                j += 1;
            }
            let run: String = numbers_masked[i..j].iter().collect();
            if kind {
                out.push_str(&run);
            } else {
                out.push_str(&mask_name(&run));
            }
            i = j;
        }
        *q = out;
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

/// Masks a search snippet as one text: the fragments are joined, masked as
/// a whole (so a number or a name split between a marked and a plain
/// fragment is still recognised), and cut again at the same character
/// offsets, each fragment keeping its mark.
pub fn mask_snippet(fragments: &[Fragment], known: &Known) -> Vec<Fragment> {
    let joined: String = fragments.iter().map(|f| f.text.as_str()).collect();
    let masked: Vec<char> = known.mask(&joined).chars().collect();
    if masked.len() != joined.chars().count() {
        // Cannot happen (every mask keeps the count); never show the original.
        return vec![Fragment::plain("…")];
    }
    let mut next = mask_cut_numbers(&masked).into_iter();
    fragments
        .iter()
        .map(|f| Fragment {
            text: next.by_ref().take(f.text.chars().count()).collect(),
            mark: f.mark,
        })
        .collect()
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
    // Fields no one should write a person into, but anyone can: the
    // external id, the channel and every department named.
    mask_opt(&mut ticket.external_id, &known);
    ticket.channel = known.mask(&ticket.channel);
    ticket.department = known.mask(&ticket.department);
    if let Some(name) = &mut ticket.caller_name {
        *name = mask_name(name);
    }
    if let Some(phone) = &mut ticket.caller_phone {
        *phone = mask_phone(phone);
    }
    for word in &mut ticket.deciding_words {
        // A word of digits alone (五六, 8888) is a piece of a number: seen
        // on its own it would tell the digits the text masks.
        *word = if word.chars().all(|c| numbers::digit_of(c).is_some()) {
            "*".repeat(word.chars().count())
        } else {
            known.mask(word)
        };
    }
    for event in &mut ticket.events {
        match &mut event.body {
            EventBody::Returned { reason, department } => {
                *reason = known.mask(reason);
                mask_opt(department, &known);
            }
            EventBody::Reassigned { reason, department } => {
                mask_opt(reason, &known);
                *department = known.mask(department);
            }
            EventBody::TopicChanged { reason, .. } => mask_opt(reason, &known),
            EventBody::Contacted { note }
            | EventBody::Feedback { note, .. }
            | EventBody::Closed { note } => mask_opt(note, &known),
            EventBody::Dispatched { department } => *department = known.mask(department),
            EventBody::Callback { .. } => {}
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
/// cannot show half of itself), then masked across its fragments.
pub fn mask_hit(hit: &mut SearchHit, words: &[String], width: usize) {
    let known = Known::of(&hit.ticket);
    mask_ticket(&mut hit.ticket);
    let snippet = hotline_store::snippet(&hit.ticket.text, words, width);
    hit.snippet = mask_snippet(&snippet, &known);
}
