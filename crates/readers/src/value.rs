//! Parsing of single values: dates, enumerations, yes/no, string cleaning.

use std::borrow::Cow;

use calamine::{ExcelDateTime, ExcelDateTimeType};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// Years accepted for any date.
const MIN_YEAR: i32 = 1990;
const MAX_YEAR: i32 = 2100;

/// Offset of Beijing local time from UTC, in seconds.
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

/// Outcome of reading a date value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateValue {
    /// Blank, `null`, `NULL` or `-`: undated.
    Absent,
    Date(NaiveDateTime),
    OutOfRange(NaiveDateTime),
    Unreadable,
}

/// Parses a timestamp as found in hotline exports into Beijing local time.
///
/// Accepted: `2019/11/10 18:59:24`, `2019/2/28 11:25:05`, `2019-08-22 00:00:00`,
/// `2019-08-22 00:00`, `2020-08-27` (midnight), `2020-08-27T10:00:00`,
/// fractional seconds, RFC 3339 with `Z` or an offset (converted to UTC+8),
/// `2020年8月27日`, `2020年8月27日 10:05`, `2020年8月27日10时05分`, `20200827`,
/// `202008271005`, `20200827100500`, and `.` as a date separator.
///
/// Returns `None` for blank, `null`/`NULL`, `-`, an unreadable value, or a
/// year outside 1990..=2100.
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    match read_datetime(s) {
        DateValue::Date(d) => Some(d),
        _ => None,
    }
}

/// Like [`parse_datetime`] but tells blank, out-of-range and unreadable apart.
pub(crate) fn read_datetime(s: &str) -> DateValue {
    let s = s.trim();
    if is_null_like(s) {
        return DateValue::Absent;
    }
    match parse_any(s) {
        Some(d) => check_range(d),
        None => DateValue::Unreadable,
    }
}

pub(crate) fn check_range(d: NaiveDateTime) -> DateValue {
    use chrono::Datelike;
    if (MIN_YEAR..=MAX_YEAR).contains(&d.year()) {
        DateValue::Date(d)
    } else {
        DateValue::OutOfRange(d)
    }
}

pub(crate) fn is_null_like(s: &str) -> bool {
    s.is_empty() || s == "-" || s.eq_ignore_ascii_case("null")
}

/// An Excel serial date (days since 1899-12-30, fraction = time of day).
pub(crate) fn from_excel_serial(value: f64, is_1904: bool) -> Option<NaiveDateTime> {
    if !value.is_finite() || !(0.0..2_958_466.0).contains(&value) {
        return None;
    }
    let (y, mo, d, h, mi, s, ms) =
        ExcelDateTime::new(value, ExcelDateTimeType::DateTime, is_1904).to_ymd_hms_milli();
    NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))?.and_hms_milli_opt(
        u32::from(h),
        u32::from(mi),
        u32::from(s),
        u32::from(ms),
    )
}

fn normalize(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '年' | '月' => out.push('-'),
            '日' | '号' | '秒' => out.push(' '),
            '时' | '点' | '分' | '：' => out.push(':'),
            '／' => out.push('/'),
            '－' => out.push('-'),
            '\u{3000}' => out.push(' '),
            '０'..='９' => {
                let digit = u32::from(c) - u32::from('０');
                out.push(char::from_digit(digit, 10).unwrap_or('0'));
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn parse_any(s: &str) -> Option<NaiveDateTime> {
    let norm = normalize(s);
    let s = norm.trim().trim_end_matches(':').trim_end();
    let (date_part, time_part) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    if date_part.bytes().all(|b| b.is_ascii_digit()) {
        if !time_part.is_empty() && date_part.len() != 8 {
            return None;
        }
        let compact = parse_compact(date_part)?;
        return if time_part.is_empty() {
            Some(compact)
        } else {
            with_time(compact.date(), time_part)
        };
    }
    let date = parse_date(date_part)?;
    if time_part.is_empty() {
        return Some(date.and_time(NaiveTime::MIN));
    }
    with_time(date, time_part)
}

/// `20200827`, `202008271005`, `20200827100500`.
fn parse_compact(s: &str) -> Option<NaiveDateTime> {
    let num = |range: std::ops::Range<usize>| -> Option<u32> { s.get(range)?.parse().ok() };
    let year = i32::try_from(num(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(4..6)?, num(6..8)?)?;
    let (h, m, sec) = match s.len() {
        8 => (0, 0, 0),
        12 => (num(8..10)?, num(10..12)?, 0),
        14 => (num(8..10)?, num(10..12)?, num(12..14)?),
        _ => return None,
    };
    date.and_hms_opt(h, m, sec)
}

/// `2019-08-22`, `2019/2/28`, `2019.2.28`.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let sep = s.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
    let mut parts = s.split(sep);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || !(1..=2).contains(&m.len()) {
        return None;
    }
    if !(1..=2).contains(&d.len()) {
        return None;
    }
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y) && digits(m) && digits(d)) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Adds a time of day (`10:05`, `10:05:00`, `10:05:00.123`, optionally with a
/// `Z` or `±hh:mm` offset, converted to UTC+8).
fn with_time(date: NaiveDate, time: &str) -> Option<NaiveDateTime> {
    let (clock, offset) = split_offset(time)?;
    let mut parts = clock.split(':');
    let h = parts.next()?;
    let m = parts.next()?;
    let sec = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let small = |p: &str| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if !small(h) || !small(m) {
        return None;
    }
    let (sec, nanos) = match sec {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = match sec.split_once(['.', ',']) {
                Some((w, f)) => (w, f),
                None => (sec, ""),
            };
            if !small(whole) || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let nanos = if frac.is_empty() {
                0
            } else {
                let scale = 10u32.pow(u32::try_from(9 - frac.len()).ok()?);
                frac.parse::<u32>().ok()? * scale
            };
            (whole.parse().ok()?, nanos)
        }
    };
    let t = NaiveTime::from_hms_nano_opt(h.parse().ok()?, m.parse().ok()?, sec, nanos)?;
    let local = date.and_time(t);
    match offset {
        None => Some(local),
        Some(offset_secs) => local.checked_add_signed(Duration::seconds(
            BEIJING_OFFSET_SECS - i64::from(offset_secs),
        )),
    }
}

/// Splits `10:00:00+08:00` into the clock and the offset in seconds east of
/// UTC. `Z` is UTC. No offset: `None`.
fn split_offset(time: &str) -> Option<(&str, Option<i32>)> {
    let time = time.trim();
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock.trim_end(), Some(0)));
    }
    let Some(i) = time.rfind(['+', '-']) else {
        return Some((time, None));
    };
    let (clock, off) = (time[..i].trim_end(), &time[i..]);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    Some((clock, Some(sign * (h * 3600 + m * 60))))
}

/// The canonical kind of a ticket: 咨询, 求助, 投诉, 举报 or 建议 (also read from
/// the English consultation, help, complaint, report, suggestion in any case).
pub fn canonical_kind(s: &str) -> Option<&'static str> {
    let s = s.trim();
    Some(match s.to_ascii_lowercase().as_str() {
        "咨询" | "consultation" => "咨询",
        "求助" | "help" => "求助",
        "投诉" | "complaint" => "投诉",
        "举报" | "report" => "举报",
        "建议" | "suggestion" => "建议",
        _ => return None,
    })
}

/// The canonical urgency: `emergency`, `utilities`, `general` or `complex`
/// (also read from 紧急, 水电气热, 一般/普通, 复杂/疑难).
pub fn canonical_urgency(s: &str) -> Option<&'static str> {
    let s = s.trim();
    Some(match s.to_ascii_lowercase().as_str() {
        "emergency" | "紧急" => "emergency",
        "utilities" | "水电气热" => "utilities",
        "general" | "一般" | "普通" => "general",
        "complex" | "复杂" | "疑难" => "complex",
        _ => return None,
    })
}

/// The canonical satisfaction: 满意, 基本满意 or 不满意 (also read from 非常满意,
/// 比较满意, 非常不满意, satisfied, basically_satisfied, unsatisfied).
pub fn canonical_satisfaction(s: &str) -> Option<&'static str> {
    let s = s.trim();
    Some(match s.to_ascii_lowercase().as_str() {
        "满意" | "非常满意" | "satisfied" => "满意",
        "基本满意" | "比较满意" | "basically_satisfied" | "basically satisfied" => {
            "基本满意"
        }
        "不满意" | "非常不满意" | "unsatisfied" | "dissatisfied" => "不满意",
        _ => return None,
    })
}

/// Reads a yes/no value: 是/否, 已联系/未联系, 已解决/未解决, 有效/无效,
/// true/false, yes/no, y/n, 1/0 (case-insensitive).
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    match s.to_ascii_lowercase().as_str() {
        "是" | "已联系" | "已解决" | "有效" | "已响应" | "true" | "yes" | "y" | "1" => {
            Some(true)
        }
        "否" | "未联系" | "未解决" | "无效" | "未响应" | "false" | "no" | "n" | "0" => {
            Some(false)
        }
        _ => None,
    }
}

/// Removes C0 control characters other than `\n` and `\t`, then trims.
/// Returns `None` when nothing is left.
pub(crate) fn clean(s: &str) -> Option<String> {
    let bad = |c: char| c < ' ' && c != '\n' && c != '\t';
    let out = if s.contains(bad) {
        Cow::Owned(s.chars().filter(|c| !bad(*c)).collect::<String>())
    } else {
        Cow::Borrowed(s)
    };
    let trimmed = out.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == out.len() {
        Some(out.into_owned())
    } else {
        Some(trimmed.to_string())
    }
}

/// Quotes a value for an error message, cut to 40 characters.
///
/// A cut value ends at its last Chinese character that is not a numeral:
/// what stood after it (digits however written and separated, letters,
/// signs) is left out. The message is masked after it is made, and a phone
/// number or e-mail address cut in part is no longer recognised as one, so
/// its first digits would be shown in clear.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX + 1)
        .collect();
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        let cut = cut.trim_end_matches(|c: char| {
            !is_han(c) || "〇一二三四五六七八九十零壹贰叁肆伍陆柒捌玖拾两幺".contains(c)
        });
        format!("{cut}…")
    } else {
        s
    }
}

/// A Chinese character (a numeral among them may be part of a number).
fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}')
}

/// Shows a number the way a person typed it: integers without `.0`.
pub(crate) fn format_number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn date_shapes() {
        let cases = [
            ("2019/11/10 18:59:24", "2019-11-10 18:59:24"),
            ("2019/2/28 11:25:05", "2019-02-28 11:25:05"),
            ("2019/2/8 1:25:05", "2019-02-08 01:25:05"),
            ("2019-08-22 00:00:00", "2019-08-22 00:00:00"),
            ("2019-08-22 00:00", "2019-08-22 00:00:00"),
            ("2020-08-27", "2020-08-27 00:00:00"),
            ("2020-08-27T10:00:00", "2020-08-27 10:00:00"),
            ("2020-08-27T02:00:00Z", "2020-08-27 10:00:00"),
            ("2020-08-27T10:00:00+08:00", "2020-08-27 10:00:00"),
            ("2020-08-27T00:30:00-02:00", "2020-08-27 10:30:00"),
            ("2020-08-27 10:00:00 +0800", "2020-08-27 10:00:00"),
            ("2020年8月27日", "2020-08-27 00:00:00"),
            ("2020年8月27日 10:05", "2020-08-27 10:05:00"),
            ("2020年8月27日10时05分", "2020-08-27 10:05:00"),
            ("20200827", "2020-08-27 00:00:00"),
            ("20200827100501", "2020-08-27 10:05:01"),
            ("2020.8.27", "2020-08-27 00:00:00"),
            ("  2020-08-27  ", "2020-08-27 00:00:00"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_datetime(input), Some(dt(want)), "{input}");
        }
        let frac = parse_datetime("2019-08-22 10:00:00.250").unwrap();
        assert_eq!(frac.and_utc().timestamp_subsec_millis(), 250);
    }

    #[test]
    fn date_rejects() {
        for bad in [
            "2019-13-45",
            "2019-02-30",
            "yesterday",
            "2019-08-22 25:00",
            "2019-08",
            "12/08/2019",
            "2019-08-22 10:00:00+99:00",
            "2020082",
            "1234567890123",
        ] {
            assert_eq!(read_datetime(bad), DateValue::Unreadable, "{bad}");
        }
        for absent in ["", "  ", "null", "NULL", "-"] {
            assert_eq!(read_datetime(absent), DateValue::Absent, "{absent:?}");
        }
        assert!(matches!(
            read_datetime("1899-12-31"),
            DateValue::OutOfRange(_)
        ));
        assert!(matches!(
            read_datetime("2101-01-01"),
            DateValue::OutOfRange(_)
        ));
        assert_eq!(parse_datetime("1989-12-31"), None);
        assert!(parse_datetime("2100-12-31 23:59:59").is_some());
    }

    #[test]
    fn excel_serial() {
        assert_eq!(
            from_excel_serial(44070.5, false),
            Some(dt("2020-08-27 12:00:00"))
        );
        assert_eq!(from_excel_serial(-1.0, false), None);
        assert_eq!(from_excel_serial(f64::NAN, false), None);
    }

    #[test]
    fn enums_and_bools() {
        assert_eq!(canonical_kind(" Complaint "), Some("投诉"));
        assert_eq!(canonical_kind("举报"), Some("举报"));
        assert_eq!(canonical_kind("抱怨"), None);
        assert_eq!(canonical_urgency("水电气热"), Some("utilities"));
        assert_eq!(canonical_urgency("疑难"), Some("complex"));
        assert_eq!(canonical_urgency("soon"), None);
        assert_eq!(canonical_satisfaction("非常不满意"), Some("不满意"));
        assert_eq!(canonical_satisfaction("比较满意"), Some("基本满意"));
        assert_eq!(canonical_satisfaction("Satisfied"), Some("满意"));
        assert_eq!(canonical_satisfaction("ok"), None);
        for t in ["是", "已联系", "已解决", "有效", "TRUE", "Yes", "y", "1"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["否", "未联系", "未解决", "无效", "false", "NO", "N", "0"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean(" a\u{0}b\r\n\tc "), Some("ab\n\tc".to_string()));
        assert_eq!(clean("\u{1}\u{2} \u{3000}"), None);
        assert_eq!(shorten(&"好".repeat(50)).chars().count(), 41);
        // The word a cut falls in is left out, not shown in part.
        let phone = format!("{}138-1234-5678，谢谢", "满".repeat(29));
        assert_eq!(shorten(&phone), format!("{}…", "满".repeat(29)));
        let spaced = format!("{}手机1 3 8 1 2 3 4 5 6 7 8", "满".repeat(25));
        assert_eq!(shorten(&spaced), format!("{}手机…", "满".repeat(25)));
        let mail = format!("{}邮箱zhangsan@qq.com", "满".repeat(35));
        assert_eq!(shorten(&mail), format!("{}邮箱…", "满".repeat(35)));
        let wide = format!("{}电话１３８１２３４５６７８", "满".repeat(33));
        assert_eq!(shorten(&wide), format!("{}电话…", "满".repeat(33)));
        for number in [
            "138/1234/5678",
            "138．1234．5678",
            "138–1234–5678",
            "一三八、一二三四、五六七八",
        ] {
            let value = format!("{}号码{number}", "满".repeat(32));
            assert_eq!(
                shorten(&value),
                format!("{}号码…", "满".repeat(32)),
                "{number}"
            );
        }
        assert_eq!(format_number(12345.0), "12345");
        assert_eq!(format_number(1.5), "1.5");
    }
}
