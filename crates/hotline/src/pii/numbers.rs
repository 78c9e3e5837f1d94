//! Finding numbers however written: identity numbers, mobiles and landlines (and the caller's phone) in ASCII, full-width or Chinese digits, cut by separators.

use super::known::Found;

/// The first code point (the zero) of each run of ten decimal digits
/// (Unicode category Nd) in the scripts and symbol sets a number could be
/// written in to slip past a mask: Arabic-Indic, Devanagari and the other
/// Indic scripts, Thai, Lao, Tibetan, Myanmar, Khmer, Mongolian, and the
/// five sets of mathematical digits (bold, double-struck, sans-serif, sans
/// bold, monospace). A test checks that every one is ten numeric
/// characters.
pub(super) const DIGIT_ZEROS: [u32; 24] = [
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x17E0, 0x1810, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC,
    0x1D7F6,
];

/// Runs of the digits one to nine written as symbols: circled, in
/// parentheses, with a full stop, and the dingbats' circled sets.
const SYMBOL_ONES: [u32; 6] = [0x2460, 0x2474, 0x2488, 0x2776, 0x2780, 0x278A];

/// A digit however it is written: ASCII, full-width, a Chinese numeral
/// (〇 零 一 … 九, 幺 for 1 and 两 for 2 as read out on the phone, 洞 拐 勾
/// for 0 7 9 as radio operators read them, and the
/// financial 壹 贰 …), another script's digit, a circled or otherwise
/// decorated one, a superscript or subscript, as its ASCII byte.
pub(super) fn digit_of(c: char) -> Option<u8> {
    let d = match c {
        '0'..='9' => c as u32 - '0' as u32,
        '０'..='９' => c as u32 - '０' as u32,
        '〇' | '零' | '⓪' | '⁰' | '洞' => 0,
        '一' | '幺' | '壹' | '¹' => 1,
        '二' | '两' | '贰' | '²' => 2,
        '三' | '叁' | '³' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' | '拐' => 7,
        '八' | '捌' => 8,
        '九' | '玖' | '勾' => 9,
        '⁴'..='⁹' => c as u32 - '⁴' as u32 + 4,
        '₀'..='₉' => c as u32 - '₀' as u32,
        _ => {
            let cp = c as u32;
            if let Some(zero) = DIGIT_ZEROS.iter().find(|z| (**z..**z + 10).contains(&cp)) {
                cp - zero
            } else if let Some(one) = SYMBOL_ONES.iter().find(|o| (**o..**o + 9).contains(&cp)) {
                cp - one + 1
            } else {
                return None;
            }
        }
    };
    Some(b'0' + d as u8)
}

pub(super) fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// What may stand between the digit groups of one number: spaces (and
/// the invisible ones), line breaks, hyphens, dots, commas, colons, tildes,
/// stars, bars, slashes, brackets, full-width punctuation (at most
/// [`MAX_GAP`] in a row: `(010) - 6234`). A comma between groups joins them even in an
/// amount (`13,800,000,000`): a masked amount costs a reader little, a
/// phone read through `139，1234，5678` costs the caller.
/// The most separators between two digit groups of one number: more than
/// anyone types between the parts of a phone number (`138     1234`).
const MAX_GAP: usize = 8;

/// Characters a reader does not see, or sees as a space: format controls
/// (soft hyphen, direction marks and isolates, zero-width joiners),
/// combining and enclosing marks, variation selectors, Hangul and Braille
/// fillers. Between two digit groups they hide nothing from the eye, so
/// they hide nothing from the masks either.
static INVISIBLE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^[\p{Cf}\p{Mn}\p{Me}\u{115F}\u{1160}\u{3164}\u{FFA0}\u{2800}]$")
        .expect("the invisible class is a valid pattern")
});

/// A character a reader does not see or sees as a space (see [`INVISIBLE`]),
/// any space or line break, or a control character.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace() || c.is_control() || INVISIBLE.is_match(c.encode_utf8(&mut [0; 4]))
}

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{3000}'
            | '\u{00A0}'
            | '\u{200B}'
            | '\u{200C}'
            | '\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\t'
            | '\n'
            | '\r'
            | ':'
            | '：'
            | '~'
            | '～'
            | '*'
            | '＊'
            | '|'
            | '｜'
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
            | ','
            | '，'
            | ';'
            | '；'
            | '。'
            | '+'
            | '＋'
            | '='
            | '＝'
            | '…'
            | '\''
            | '‘'
            | '’'
            | '#'
            | '＃'
            | '"'
            | '“'
            | '”'
            | '「'
            | '」'
            | '『'
            | '』'
            | '<'
            | '>'
            | '《'
            | '》'
            | '〈'
            | '〉'
            | '→'
            | '←'
            | '＞'
            | '＜'
    ) || is_invisible(c)
}

/// Which digits of a number (by their index among its digits) are hidden,
/// and the number's value, when the digits are a number the masks know.
/// `phones`: the digits of the caller's phones, hidden wherever written.
fn classify(d: &[u8], phones: &[&str]) -> Option<(std::ops::Range<usize>, String)> {
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
    if phones.contains(&text.as_str()) {
        return Some((0..n.saturating_sub(2), text));
    }
    None
}

/// Identity numbers, mobiles and landlines however written: digit groups
/// (ASCII, full-width, Chinese numerals, other scripts' and decorated
/// digits, mixed) cut by up to [`MAX_GAP`] separators, `+86` before a mobile; and the caller's phone. Ordinary
/// numbers (dates, amounts, house numbers, ids) are none of these.
pub(super) fn find_numbers(text: &str, phones: &[&str], found: &mut Vec<Found>) {
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
        // Letters before or after digits do not make them a model number:
        // Tel13712345678 and 13712345678wx are phones. (iPhone13 or a hex
        // id's digits match no number's pattern; one that does is masked.)
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
        // follow it across separators only: up to eighteen groups, an
        // identity number written a digit at a time.
        let mut last = r;
        while last + 1 < runs.len() && last - r < 17 {
            let gap = &chars[runs[last].1..runs[last + 1].0];
            if gap.len() > MAX_GAP || !gap.iter().all(|c| is_separator(c.1)) {
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
            if let Some((hidden, value)) = classify(&digits, phones) {
                matched = Some((end, hidden, value));
                break;
            }
        }
        let candidates: Vec<(usize, usize, Vec<bool>, String)> = match matched {
            Some((end, hidden, value)) => {
                // Groups read as one long number may hold a phone
                // (`13812345678，2024` reads as 15 digits, an identity
                // number's mask, which shows the mobile's middle): a phone
                // in its first or last groups, or in one group, hides its
                // digits too. (Not one across inner groups: an identity
                // number written a digit at a time holds mobiles' shapes,
                // and keeps its own mask.)
                let lens: Vec<usize> = runs[r..=end].iter().map(|x| x.2.len()).collect();
                let mut hide = vec![false; lens.iter().sum()];
                hidden.for_each(|k| hide[k] = true);
                for a in 0..lens.len() {
                    let offset: usize = lens[..a].iter().sum();
                    for b in a..lens.len() {
                        // One group on its own (a mobile between two
                        // numbers: 1，13612345678，123), or the first or
                        // last groups together.
                        // Inner groups of three digits or more (136 1234
                        // 5678 between two numbers) too; those of a number
                        // written a digit or two at a time are not.
                        let whole = (a, b) == (0, lens.len() - 1);
                        let inner = a != 0 && b != lens.len() - 1;
                        let spelled = lens[a..=b].iter().any(|n| *n < 3);
                        if whole || (inner && a != b && spelled) {
                            continue;
                        }
                        let part: Vec<u8> = runs[r + a..=r + b]
                            .iter()
                            .flat_map(|x| x.2.clone())
                            .collect();
                        if let Some((inner, _)) =
                            classify(&part, phones).filter(|_| part.len() <= 13)
                        {
                            inner.for_each(|k| hide[offset + k] = true);
                        }
                    }
                }
                let span = (runs[r].0, runs[end].1, hide, value);
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
                        // A mobile or an identity number, not a landline's
                        // shape (0 and ten digits) found inside a longer
                        // number: 订单号20241231123456 holds 02412311234.
                        if part.first() == Some(&b'0') {
                            return None;
                        }
                        let (hidden, value) = classify(part, &[])?;
                        let mut hide = vec![false; len];
                        hidden.for_each(|k| hide[k] = true);
                        Some((len, hide, value))
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
                    if hidden.get(seen - 1).copied().unwrap_or(false) {
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
