//! `Segmenter`: jieba with the domain dictionary and stopwords, the words for routing and for the index.

use std::io::BufReader;

use jieba_rs::Jieba;

use crate::error::{Error, Result};

/// Word segmentation shared by routing, indexing and search queries.
///
/// Loading jieba's dictionary is the expensive part (tens of milliseconds and
/// ~25 MB), so one `Segmenter` is built per process and shared by reference.
pub struct Segmenter {
    jieba: Jieba,
    stopwords: crate::WordSet,
    hmm: bool,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("stopwords", &self.stopwords.len())
            .field("hmm", &self.hmm)
            .finish()
    }
}

/// One word of a segmented text; its letters are in [`Segmented::word`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of the word in the segmented text.
    pub start: usize,
    /// A function word or hotline boilerplate: not routed on, not indexed.
    pub stop: bool,
    /// Where the word is in the words buffer.
    at: u32,
    len: u32,
}

/// A text cut into words once; routing and indexing both read it.
///
/// The words live in one buffer, separated by spaces, rather than one string
/// each: a long ticket has hundreds of words and this is the hot path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segmented {
    words: String,
    pub tokens: Vec<Token>,
}

impl Segmented {
    /// The word of a token, ASCII letters lowercased.
    pub fn word(&self, token: &Token) -> &str {
        &self.words[token.at as usize..(token.at + token.len) as usize]
    }

    /// All words, in order.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(|t| self.word(t))
    }

    /// The words that carry meaning, in order.
    pub fn content_words(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().filter(|t| !t.stop).map(|t| self.word(t))
    }

    /// All words separated by single spaces.
    pub fn joined(&self) -> &str {
        &self.words
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl Segmenter {
    /// Builds a segmenter from jieba's bundled dictionary plus a domain
    /// dictionary (`word [freq] [tag]` per line) and a stopword list (one per line).
    pub fn new(domain_dict: &str, stopwords: &str, hmm: bool) -> Result<Self> {
        let mut jieba = Jieba::new();
        jieba
            .load_dict(&mut BufReader::new(domain_dict.as_bytes()))
            .map_err(|e| Error::config("domain dictionary", e.to_string()))?;
        let stopwords = stopwords
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        Ok(Segmenter {
            jieba,
            stopwords,
            hmm,
        })
    }

    /// Adds words (place names, topic seeds) so that they are never split.
    pub fn add_words<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) {
        for word in words {
            if !self.jieba.has_word(word) {
                self.jieba.add_word(word, Some(2000), None);
            }
        }
    }

    pub fn segment(&self, text: &str) -> Segmented {
        let mut tokens = Vec::with_capacity(text.len() / 4);
        let mut words = String::with_capacity(text.len() + text.len() / 3);
        for (offset, chunk) in chunks(text) {
            self.segment_chunk(chunk, offset, &mut words, &mut tokens);
        }
        Segmented { words, tokens }
    }

    fn segment_chunk(
        &self,
        text: &str,
        offset: usize,
        words: &mut String,
        tokens: &mut Vec<Token>,
    ) {
        for piece in self.jieba.cut(text, self.hmm) {
            // CJK first: the general test takes a slow path for it.
            if !piece
                .word
                .chars()
                .any(|c| crate::features::is_cjk(c) || c.is_alphanumeric())
            {
                continue;
            }
            if !words.is_empty() {
                words.push(' ');
            }
            let at = words.len();
            words.push_str(piece.word);
            words[at..].make_ascii_lowercase();
            let stop = self.stopwords.contains(&words[at..]);
            tokens.push(Token {
                start: offset + piece.byte_start,
                stop,
                at: at as u32,
                len: (words.len() - at) as u32,
            });
        }
    }

    /// The words the search index takes: every word but stopwords, and inside a compound
    /// word of three or more characters the dictionary words it contains
    /// (飞线充电 also gives 飞线 and 充电), so that a search for 充电 finds it.
    /// Space-separated, for the index's whitespace tokenizer.
    pub fn index_text(&self, seg: &Segmented) -> String {
        self.index_text_except(seg, &[])
    }

    /// [`index_text`](Segmenter::index_text) without the words that overlap
    /// any of `hidden` (byte ranges of the segmented text: the personal
    /// identifiers the index must not hold in clear).
    pub fn index_text_except(&self, seg: &Segmented, hidden: &[std::ops::Range<usize>]) -> String {
        let mut out = String::with_capacity(seg.joined().len() * 2);
        for (token, word) in seg.tokens.iter().zip(seg.words()) {
            if token.stop {
                continue;
            }
            // A word keeps the byte length of the text it was cut from
            // (only ASCII letters are lowercased).
            let span = token.start..token.start + word.len();
            if hidden
                .iter()
                .any(|h| h.start < span.end && span.start < h.end)
            {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
            // Common CJK characters are three bytes each, so parts are cut by byte arithmetic.
            let chars = word.len() / 3;
            if chars < 3 || !word.chars().all(|c| matches!(c, '\u{4E00}'..='\u{9FFF}')) {
                continue;
            }
            for len in 2..chars {
                for start in 0..=chars - len {
                    let part = &word[start * 3..(start + len) * 3];
                    if self.jieba.has_word(part) && !self.stopwords.contains(part) {
                        out.push(' ');
                        out.push_str(part);
                    }
                }
            }
        }
        out
    }

    pub fn is_stopword(&self, word: &str) -> bool {
        self.stopwords.contains(word)
    }
}

/// Pieces of about `CHUNK_BYTES`, each ending just after a character jieba
/// never joins to a word (punctuation, spaces), so that the words are those
/// of the whole text: jieba cuts each run of word characters on its own.
///
/// Why: `Jieba::cut` reserves its output for the worst case, half a token
/// per byte at 48 bytes a token. For a whole ticket that is a block of tens
/// or hundreds of kilobytes, which the allocator serves from fresh pages,
/// zeroed by the kernel, on every call from a server thread; for a sentence
/// it is a few kilobytes, reused from call to call.
fn chunks(text: &str) -> impl Iterator<Item = (usize, &str)> {
    const CHUNK_BYTES: usize = 256;
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let rest = &text[start..];
        let end = rest
            .char_indices()
            .skip_while(|&(i, _)| i < CHUNK_BYTES)
            .find(|&(_, c)| !joins_words(c))
            .map_or(rest.len(), |(i, c)| i + c.len_utf8());
        let chunk = (start, &rest[..end]);
        start += end;
        Some(chunk)
    })
}

/// jieba's class of word characters (its `RE_HAN_DEFAULT`: CJK ideographs,
/// ASCII letters and digits, `+#&._%-`), or a little more: a chunk may end
/// only where jieba would split anyway, and not splitting is always safe.
fn joins_words(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '&' | '.' | '_' | '%' | '-')
    } else {
        matches!(c,
            '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{2FA1F}')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn segmenter() -> &'static Segmenter {
        static SEGMENTER: OnceLock<Segmenter> = OnceLock::new();
        SEGMENTER.get_or_init(|| {
            Segmenter::new("飞线充电 100 n\n", "的\n了\n", true).unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// The text cut by jieba in one piece.
    fn whole(text: &str) -> Segmented {
        let (mut words, mut tokens) = (String::new(), Vec::new());
        segmenter().segment_chunk(text, 0, &mut words, &mut tokens);
        Segmented { words, tokens }
    }

    #[test]
    fn a_long_ticket_cut_in_chunks_has_the_words_of_the_whole() {
        let sentence = "小区楼下有人飞线充电，电动自行车停在楼道里！物业说管不了。Tel:13800138000 \
                        地址：朝阳区望京街道10号楼2单元\r\n";
        let run = "电梯".repeat(200); // longer than a chunk, with nowhere to cut
        let text = format!("{}{run}{}", sentence.repeat(12), sentence.repeat(3));
        assert!(chunks(&text).count() > 4);
        let chunked = segmenter().segment(&text);
        assert_eq!(chunked, whole(&text));
        assert!(chunked.words().any(|w| w == "飞线充电"));
    }

    proptest! {
        #[test]
        fn chunks_never_change_the_words(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("充电桩"), Just("电动自行车"), Just("，"), Just("。"), Just(" "),
                    Just("\r\n"), Just("a1"), Just("B-2.5%"), Just("#"), Just("😀"),
                    Just("\u{20021}"), Just("\u{2A6E0}"), Just("豈"), Just("㐀"), Just("一"),
                    Just("物业"), Just("x"), Just("!"), Just("\u{200F}"), Just("楼道"),
                ],
                0..400,
            )
        ) {
            let text: String = parts.concat();
            prop_assert_eq!(segmenter().segment(&text), whole(&text));
        }
    }
}
