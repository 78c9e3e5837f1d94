//! Search snippets as fragments of the stored text, the query's words marked, cut once here.

use serde::Serialize;

/// One piece of a snippet: text as stored (plain text, never markup), marked
/// when it is one of the query's words. In JSON `{"text": "…", "mark": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fragment {
    pub text: String,
    pub mark: bool,
}

impl Fragment {
    pub fn plain(text: impl Into<String>) -> Self {
        Fragment {
            text: text.into(),
            mark: false,
        }
    }

    pub fn marked(text: impl Into<String>) -> Self {
        Fragment {
            text: text.into(),
            mark: true,
        }
    }
}

/// Appends `text` to `out`, joined with the last fragment when both are
/// plain (or both marked), so fragments alternate; empty text adds nothing.
fn push(out: &mut Vec<Fragment>, text: &str, mark: bool) {
    if text.is_empty() {
        return;
    }
    match out.last_mut() {
        Some(last) if last.mark == mark => last.text.push_str(text),
        _ => out.push(Fragment {
            text: text.to_owned(),
            mark,
        }),
    }
}

/// About `width` characters of `text` around the first query word, in
/// fragments: every occurrence of a query word is a marked fragment (the
/// longest word where two start at one place), the rest plain; `…` opens or
/// closes the first or last plain fragment where the text was cut.
pub fn snippet(text: &str, words: &[String], width: usize) -> Vec<Fragment> {
    let words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !w.is_empty())
        .collect();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let first = words.iter().filter_map(|w| text.find(w)).min();
    let first_char = first.map_or(0, |b| chars.partition_point(|(i, _)| *i < b));
    let start = first_char.saturating_sub(width / 3);
    let end = (start + width).min(chars.len());
    let byte = |ci: usize| chars.get(ci).map_or(text.len(), |(b, _)| *b);
    let window = &text[byte(start)..byte(end)];
    let mut out = Vec::new();
    if start > 0 {
        push(&mut out, "…", false);
    }
    let mut rest = window;
    while !rest.is_empty() {
        let next = words
            .iter()
            .filter_map(|w| rest.find(w).map(|i| (i, *w)))
            .min_by_key(|(i, w)| (*i, usize::MAX - w.len()));
        match next {
            Some((i, w)) => {
                push(&mut out, &rest[..i], false);
                push(&mut out, w, true);
                rest = &rest[i + w.len()..];
            }
            None => {
                push(&mut out, rest, false);
                break;
            }
        }
    }
    if end < chars.len() {
        push(&mut out, "…", false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[&str]) -> Vec<String> {
        ws.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn the_query_words_are_marked_fragments() {
        let got = snippet(
            "小区电动车没有充电桩，电动车只能飞线",
            &words(&["电动车", "充电桩"]),
            60,
        );
        assert_eq!(
            got,
            vec![
                Fragment::plain("小区"),
                Fragment::marked("电动车"),
                Fragment::plain("没有"),
                Fragment::marked("充电桩"),
                Fragment::plain("，"),
                Fragment::marked("电动车"),
                Fragment::plain("只能飞线"),
            ]
        );
    }

    #[test]
    fn text_is_kept_as_written_not_escaped() {
        let got = snippet("a<b & \"c\" 噪音", &words(&["噪音"]), 60);
        assert_eq!(
            got,
            vec![Fragment::plain("a<b & \"c\" "), Fragment::marked("噪音")]
        );
    }

    #[test]
    fn a_cut_text_opens_and_closes_with_an_ellipsis() {
        let text = format!("{}充电桩{}", "甲".repeat(30), "乙".repeat(30));
        let got = snippet(&text, &words(&["充电桩"]), 12);
        assert_eq!(
            got,
            vec![
                Fragment::plain(format!("…{}", "甲".repeat(4))),
                Fragment::marked("充电桩"),
                Fragment::plain(format!("{}…", "乙".repeat(5))),
            ]
        );
    }

    #[test]
    fn adjacent_words_join_and_no_fragment_is_empty() {
        let got = snippet("充电桩充电桩", &words(&["充电桩", ""]), 60);
        assert_eq!(got, vec![Fragment::marked("充电桩充电桩")]);
        assert!(snippet("", &words(&["充电桩"]), 60).is_empty());
        assert_eq!(
            snippet("没有匹配", &words(&["充电桩"]), 60),
            vec![Fragment::plain("没有匹配")]
        );
    }

    #[test]
    fn fragments_serialise_as_text_and_mark() {
        let json =
            serde_json::to_string(&vec![Fragment::plain("电话"), Fragment::marked("充电桩")])
                .unwrap_or_default();
        assert_eq!(
            json,
            r#"[{"text":"电话","mark":false},{"text":"充电桩","mark":true}]"#
        );
    }
}
