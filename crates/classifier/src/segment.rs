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
                start: piece.byte_start,
                stop,
                at: at as u32,
                len: (words.len() - at) as u32,
            });
        }
        Segmented { words, tokens }
    }

    /// The words the search index takes: every word but stopwords, and inside a compound
    /// word of three or more characters the dictionary words it contains
    /// (飞线充电 also gives 飞线 and 充电), so that a search for 充电 finds it.
    /// Space-separated, for the index's whitespace tokenizer.
    pub fn index_text(&self, seg: &Segmented) -> String {
        let mut out = String::with_capacity(seg.joined().len() * 2);
        for (token, word) in seg.tokens.iter().zip(seg.words()) {
            if token.stop {
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
