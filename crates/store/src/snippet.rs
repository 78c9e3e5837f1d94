//! Highlighted excerpts for search results, cut from the stored text.

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// About `width` characters of `text` around the first query word, HTML-escaped,
/// every occurrence of a query word wrapped in `<mark>`.
pub fn snippet(text: &str, words: &[String], width: usize) -> String {
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
    let mut out = String::with_capacity(window.len() + 32);
    if start > 0 {
        out.push('…');
    }
    let mut rest = window;
    while !rest.is_empty() {
        let next = words
            .iter()
            .filter_map(|w| rest.find(w).map(|i| (i, *w)))
            .min_by_key(|(i, w)| (*i, usize::MAX - w.len()));
        match next {
            Some((i, w)) => {
                escape(&rest[..i], &mut out);
                out.push_str("<mark>");
                escape(w, &mut out);
                out.push_str("</mark>");
                rest = &rest[i + w.len()..];
            }
            None => {
                escape(rest, &mut out);
                break;
            }
        }
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}
