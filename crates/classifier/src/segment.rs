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

/// One word of a segmented text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The word, ASCII letters lowercased.
    pub word: String,
    /// Byte offset of the word in the segmented text.
    pub start: usize,
    /// A function word or hotline boilerplate: kept for search, ignored by routing.
    pub stop: bool,
}

/// A text cut into words once; routing and indexing both read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segmented {
    pub tokens: Vec<Token>,
}

impl Segmented {
    /// The words that carry meaning, in order.
    pub fn content_words(&self) -> impl Iterator<Item = &str> {
        self.tokens
            .iter()
            .filter(|t| !t.stop)
            .map(|t| t.word.as_str())
    }

    /// All words separated by single spaces: the form the search index takes,
    /// so that indexing needs no second segmentation.
    pub fn joined(&self) -> String {
        let mut out = String::with_capacity(self.tokens.iter().map(|t| t.word.len() + 1).sum());
        for (i, t) in self.tokens.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&t.word);
        }
        out
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
        for piece in self.jieba.cut(text, self.hmm) {
            if !piece.word.chars().any(char::is_alphanumeric) {
                continue;
            }
            let word = if piece.word.bytes().any(|b| b.is_ascii_uppercase()) {
                piece.word.to_ascii_lowercase()
            } else {
                piece.word.to_owned()
            };
            let stop = self.stopwords.contains(&word);
            tokens.push(Token {
                word,
                start: piece.byte_start,
                stop,
            });
        }
        Segmented { tokens }
    }

    /// The words the search index takes: every word, and inside a compound
    /// word of three or more characters the dictionary words it contains
    /// (飞线充电 also gives 飞线 and 充电), so that a search for 充电 finds it.
    /// Space-separated, for the index's whitespace tokenizer.
    pub fn index_text(&self, seg: &Segmented) -> String {
        let mut out = String::with_capacity(seg.tokens.iter().map(|t| t.word.len() * 2 + 1).sum());
        for token in &seg.tokens {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&token.word);
            let bounds: Vec<usize> = token
                .word
                .char_indices()
                .map(|(i, _)| i)
                .chain([token.word.len()])
                .collect();
            let chars = bounds.len() - 1;
            if chars < 3 || !token.word.chars().all(crate::features::is_cjk) {
                continue;
            }
            for len in 2..chars {
                for start in 0..=chars - len {
                    let part = &token.word[bounds[start]..bounds[start + len]];
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
