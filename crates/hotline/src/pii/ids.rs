//! Finding personal identifiers other than numbers: e-mail addresses, WeChat and QQ ids, passport and permit numbers, licence plates.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Found;

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
        // Full-width letters, digits and dots, and 。 for a dot, count too.
        (r"(?P<v>[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-．]+[@＠][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-]+(?:[.．。][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-]+)*[.．。][A-Za-zＡ-Ｚａ-ｚ]{2,})".to_owned(), 1, 0),
        // WeChat ids after 微信 / vx / wx; QQ numbers after QQ.
        // The label however written: 微 信, 薇信, v信, WeChat ID, 微信号码是.
        (r"(?i:加\s?[vw]|微\s?信|薇信|威信|v\s?信|weixin|wechat(?:\s?id)?|v\s?x|w\s?x)\s*[（(]?\s*(?:号码?|账号|帐号|id)?\s*[)）]?\s*(?:是|为)?\s*[:：]?\s*(?P<v>[A-Za-z][-_A-Za-z0-9]{5,19})".to_owned(), 1, 0),
        // QQ, 扣扣, 企鹅号; the number may be cut by spaces (45678 9123).
        (r"(?i:q\s?q|ＱＱ|ｑｑ|扣扣|企鹅)\s*(?:号码?)?\s*(?:是|为)?\s*[:：]?\s*(?P<v>[1-9１-９](?:\s?[0-9０-９]){4,11})".to_owned(), 1, 0),
        // Passports, Hong Kong/Macao/Taiwan permits, residence permits: a
        // letter or two and 7 to 9 digits after their name, or E/G/C and 8 digits.
        (r"(?:护照|通行证|台胞证|回乡证|居留证|居住证|签证)\s*(?:号码?)?\s*(?:是|为|[:：])?\s*(?P<v>[A-Za-z]{1,2}[0-9]{7,9}|[0-9]{8,10})".to_owned(), 1, 1),
        (r"(?P<v>[EeGgCc][0-9]{8})".to_owned(), 1, 1),
        // Licence plates: 京A12345, 京A·12345, 京AD12345 (new energy).
        // Full-width letters and digits, a space after the province, and
        // any middle dot (・ too) are the same plate.
        // A separator may stand after the province and between any two
        // characters (京·A12345, 京A 1 2345).
        (format!(r"(?P<v>[{plate_province}][\s·•・.．\-]?[A-HJ-NP-Za-hj-np-zＡ-ＨＪ-ＮＰ-Ｚａ-ｈｊ-ｎｐ-ｚ](?:[\s·•・.．\-]?[A-HJ-NP-Za-hj-np-z0-9Ａ-ＨＪ-ＮＰ-Ｚａ-ｈｊ-ｎｐ-ｚ０-９]){{5,6}})"), 2, 1),
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

pub(super) fn find_other_ids(text: &str, found: &mut Vec<Found>) {
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
                    let value = if pattern.as_str().contains("weixin") {
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
