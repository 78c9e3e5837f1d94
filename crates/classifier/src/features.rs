//! From a segmented text to the sparse vector the model reads.
//!
//! Two families of features: jieba words (meaning) and CJK character bigrams
//! (robust to typos and homophones that split words differently, e.g. 充电装
//! for 充电桩 still shares 充电). Both are looked up without allocating: a
//! bigram is a slice of the original text.

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap;

use crate::segment::Segmented;

/// Relative weight of the bigram family against the word family.
pub(crate) const BIGRAM_WEIGHT: f32 = 0.5;

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// A letter with an optional number (`a`, `a5`, `k12`): how anonymised
/// letters name places (A市, K7县). Which letter a source gave a city says
/// nothing about the topic, and letting it count taught the model that
/// letters written that way are `other`.
fn is_place_code(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && word.len() <= 4
        && bytes.all(|b| b.is_ascii_digit())
}

/// Calls `term(t, bigram, byte_offset)` with every word and every CJK bigram
/// of `text`; `bigram` is the bigram's key ([`bigram_key`]), or `None` for a
/// word, so that routing does not decode the two characters again.
/// Words in `ignore` and place codes are skipped; at inference no set is
/// needed, since ignored words never entered the vocabulary.
pub(crate) fn for_each_term<'a>(
    seg: &'a Segmented,
    text: &'a str,
    ignore: Option<&crate::WordSet>,
    mut term: impl FnMut(&'a str, Option<u64>, usize),
) {
    for token in seg.tokens.iter().filter(|t| !t.stop) {
        let w = seg.word(token);
        if !ignore.is_some_and(|i| i.contains(w) || is_place_code(w))
            && !w.bytes().all(|b| b.is_ascii_digit())
        {
            term(w, None, token.start);
        }
    }
    let mut prev: Option<(usize, char)> = None;
    for (i, c) in text.char_indices() {
        if is_cjk(c) {
            if let Some((p, first)) = prev {
                term(&text[p..i + c.len_utf8()], Some(pair_key(first, c)), p);
            }
            prev = Some((i, c));
        } else {
            prev = None;
        }
    }
}

/// Longest first line read as a title (characters): real titles are one
/// short sentence; a longer first line is the letter itself.
const TITLE_MAX_CHARS: usize = 60;

/// Where the title ends (a byte offset, 0 when there is none): a short first
/// line followed by more text, as a message's title is read before its body.
fn title_end(text: &str) -> usize {
    match text.find('\n') {
        Some(end)
            if text[..end].chars().count() <= TITLE_MAX_CHARS && !text[end..].trim().is_empty() =>
        {
            end
        }
        _ => 0,
    }
}

/// Two characters as one integer.
pub(crate) fn bigram_key(bigram: &str) -> u64 {
    let mut chars = bigram.chars();
    let a = chars.next().unwrap_or('\0');
    let b = chars.next().unwrap_or('\0');
    pair_key(a, b)
}

/// A word's key in the vocabulary: a 64-bit hash of its bytes.
pub(crate) fn word_key(word: &str) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(word.as_bytes());
    hasher.finish()
}

fn pair_key(a: char, b: char) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// Vocabulary and inverse document frequencies learnt from the training set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocabulary {
    /// Keyed by the word's 64-bit hash ([`word_key`]): the map holds no
    /// `String`s (short words' letters inline, [`WordEntry`]), and a miss,
    /// most of a text's words, compares none. A hit
    /// is confirmed against the feature's letters ([`Vocabulary::word`]),
    /// because the hash is not keyed: a writer can forge a token with the
    /// key of 油烟 in a fraction of a second, and without the check it
    /// routed a letter to `kitchen_fumes` with 油烟 as its deciding word.
    pub words: FxHashMap<u64, WordEntry>,
    /// Words whose key an earlier word already holds, by their letters:
    /// found only when the check above fails, so a forged token planted in
    /// training neither takes a real word's feature nor drops it.
    collided: FxHashMap<String, u32>,
    /// Keyed by the two characters packed in a u64: no string hashing per lookup.
    pub bigrams: FxHashMap<u64, u32>,
    /// Surface form of every feature, by index (for explanations).
    pub surface: Vec<String>,
    pub is_bigram: Vec<bool>,
    pub idf: Vec<f32>,
    /// Each feature's idf times its family's weight, one read per feature
    /// in [`Vocabulary::vectorize`]. The family weights are 1 and 0.5,
    /// powers of two, so the product rounds exactly as multiplying by them
    /// after the idf did.
    scale: Vec<f32>,
    /// How many more times a term counts when it is in the title: a
    /// citizen's title names the complaint, the body wanders (issue 11).
    pub title_repeat: u32,
    /// For each word feature, the bigram features inside it (as ranges of
    /// `inner`): explanations credit a word with its bigrams' evidence, and
    /// this saves a hash lookup per character pair of every word shown.
    inner_of: Vec<(u32, u32)>,
    inner: Vec<u32>,
    /// One bit per hash of a bigram key, set for the vocabulary's bigrams:
    /// about half of a text's bigrams are not features, and this 32 KB
    /// filter (in cache, unlike the map) turns most of them away.
    bigram_filter: Vec<u64>,
}

/// A word feature in the map of words: its index and, for a word of up to
/// [`WordEntry::INLINE`] bytes (most Chinese words: five characters), its
/// letters, so that confirming a hit reads the entry the probe already
/// brought into cache rather than the feature's string elsewhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WordEntry {
    index: u32,
    /// The letters' length, or `u8::MAX` when they are not inline.
    len: u8,
    letters: [u8; WordEntry::INLINE],
}

impl WordEntry {
    const INLINE: usize = 15;

    fn new(index: u32, word: &str) -> WordEntry {
        let mut letters = [0; WordEntry::INLINE];
        let len = if word.len() <= WordEntry::INLINE {
            letters[..word.len()].copy_from_slice(word.as_bytes());
            word.len() as u8
        } else {
            u8::MAX
        };
        WordEntry {
            index,
            len,
            letters,
        }
    }

    fn letters(&self) -> Option<&[u8]> {
        self.letters.get(..usize::from(self.len))
    }
}

const FILTER_BITS: u32 = 18;

fn filter_slot(key: u64) -> (usize, u64) {
    let h = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS)) as usize;
    (h / 64, 1 << (h % 64))
}

impl Vocabulary {
    pub fn len(&self) -> usize {
        self.surface.len()
    }

    /// Adds a feature; false, and nothing added, when the term is already
    /// one. A word whose 64-bit key an earlier word holds is added to
    /// `collided`, not refused.
    #[must_use]
    pub fn push(&mut self, term: &str, bigram: bool, idf: f32) -> bool {
        let key = if bigram {
            bigram_key(term)
        } else {
            word_key(term)
        };
        self.push_keyed(term, bigram, idf, key)
    }

    /// [`Vocabulary::push`] with the key given: tests force collisions with it.
    fn push_keyed(&mut self, term: &str, bigram: bool, idf: f32, key: u64) -> bool {
        let index = self.surface.len() as u32;
        if bigram {
            match self.bigrams.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(index);
                }
                Entry::Occupied(_) => return false,
            }
        } else {
            match self.words.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(WordEntry::new(index, term));
                }
                Entry::Occupied(held) => {
                    if self.surface[held.get().index as usize] == term {
                        return false;
                    }
                    match self.collided.entry(term.to_owned()) {
                        Entry::Occupied(_) => return false,
                        Entry::Vacant(slot) => {
                            slot.insert(index);
                        }
                    }
                }
            }
        }
        self.surface.push(term.to_owned());
        self.is_bigram.push(bigram);
        self.idf.push(idf);
        true
    }

    /// Builds what is derived from the complete vocabulary: the bigram
    /// filter, and each word's list of the bigram features inside it. Called
    /// once, after the last `push`.
    pub fn finish(&mut self) {
        self.scale = self
            .idf
            .iter()
            .zip(&self.is_bigram)
            .map(|(&idf, &bigram)| idf * if bigram { BIGRAM_WEIGHT } else { 1.0 })
            .collect();
        self.inner_of.clear();
        self.inner.clear();
        self.bigram_filter = vec![0; (1 << FILTER_BITS) / 64];
        for &key in self.bigrams.keys() {
            let (word, bit) = filter_slot(key);
            self.bigram_filter[word] |= bit;
        }
        for (surface, &bigram) in self.surface.iter().zip(&self.is_bigram) {
            let start = self.inner.len() as u32;
            if !bigram {
                let pairs = surface.chars().zip(surface.chars().skip(1));
                for (a, b) in pairs {
                    if let Some(&f) = self.bigrams.get(&pair_key(a, b)) {
                        self.inner.push(f);
                    }
                }
            }
            self.inner_of.push((start, self.inner.len() as u32 - start));
        }
    }

    /// The feature of a word, if it is one.
    pub fn word(&self, word: &str) -> Option<u32> {
        let entry = self.words.get(&word_key(word))?;
        let same = match entry.letters() {
            Some(letters) => letters == word.as_bytes(),
            None => self.surface[entry.index as usize] == word,
        };
        if same {
            Some(entry.index)
        } else {
            self.collided.get(word).copied()
        }
    }

    /// The bigram features inside a word feature (none for a bigram).
    pub fn inner_bigrams(&self, feature: u32) -> &[u32] {
        let (start, len) = self.inner_of[feature as usize];
        &self.inner[start as usize..(start + len) as usize]
    }

    /// The tf-idf vector of a text, L2-normalised, as (feature, value) pairs
    /// sorted by feature index.
    pub fn vectorize(&self, seg: &Segmented, text: &str) -> Vec<(u32, f32)> {
        // Sorting the hits and counting runs is cheaper than a map per text.
        let title_end = title_end(text);
        // About one bigram a character and half as many words: a byte a
        // hit (three a Chinese character) holds a letter's hits; a long
        // title over a short body, counted `title_repeat` more times, may
        // still grow it.
        let mut hits: Vec<u32> = Vec::with_capacity(text.len());
        for_each_term(seg, text, None, |t, bigram, at| {
            let found = if let Some(key) = bigram {
                let (word, bit) = filter_slot(key);
                if self.bigram_filter[word] & bit == 0 {
                    None
                } else {
                    self.bigrams.get(&key).copied()
                }
            } else {
                self.word(t)
            };
            if let Some(i) = found {
                hits.push(i);
                if at < title_end {
                    hits.extend(std::iter::repeat_n(i, self.title_repeat as usize));
                }
            }
        });
        let hits = radix_sort(hits, self.len() as u32);
        let mut vector: Vec<(u32, f32)> = Vec::with_capacity(hits.len());
        for run in hits.chunk_by(|a, b| a == b) {
            let i = run[0];
            vector.push((i, (1.0 + (run.len() as f32).ln()) * self.scale[i as usize]));
        }
        let norm = vector.iter().map(|&(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut vector {
                *v /= norm;
            }
        }
        vector
    }
}

/// Sorts feature indices below `bound`, a byte at a time (least
/// significant first, as many bytes as `bound` needs): a text's few hundred
/// hits sort in a few linear passes, where a comparison sort spent a tenth
/// of routing. The order is the same as any sort's.
fn radix_sort(mut keys: Vec<u32>, bound: u32) -> Vec<u32> {
    let bytes = (32 - bound.leading_zeros()).div_ceil(8);
    let mut spare = vec![0u32; keys.len()];
    for byte in 0..bytes {
        let shift = byte * 8;
        let mut starts = [0usize; 257];
        for &k in &keys {
            starts[((k >> shift) & 0xFF) as usize + 1] += 1;
        }
        for b in 0..256 {
            starts[b + 1] += starts[b];
        }
        for &k in &keys {
            let slot = &mut starts[((k >> shift) & 0xFF) as usize];
            spare[*slot] = k;
            *slot += 1;
        }
        std::mem::swap(&mut keys, &mut spare);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_short_and_long_are_found_by_their_letters() {
        let mut vocab = Vocabulary::default();
        let words = ["油烟", "物业服务企业", "电动自行车充电设施建设", "a"];
        for w in words {
            assert!(vocab.push(w, false, 1.0));
        }
        vocab.finish();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(vocab.word(w), Some(i as u32), "{w}");
        }
        // Same length and same first letters, or one letter more or less.
        for w in [
            "油渍",
            "电动自行车充电设施建造",
            "电动自行车充电设施建设局",
            "物业服务企",
        ] {
            assert_eq!(vocab.word(w), None, "{w}");
        }
    }

    /// Every word stored under the key of another it is not: a prefix, an
    /// extension, the same length, at the 15 bytes kept inline and the 16
    /// that are not. A lookup of the other finds only the other's own
    /// feature, once it is one, whichever was pushed first.
    #[test]
    fn a_word_is_never_taken_for_one_whose_key_it_holds() {
        let fifteen = "电动车充电"; // 15 bytes, kept inline
        let sixteen = "电动车充电a"; // 16 bytes, compared with `surface`
        let pairs = [
            ("油烟", "油烟机"),
            ("油烟机", "油烟"),
            ("油烟", "油渍"),
            (fifteen, sixteen),
            (sixteen, fifteen),
            (fifteen, "电动车充"),
            ("电动车充", fifteen),
            (sixteen, "电动车充电b"),
            ("", "a"),
            ("a", ""),
        ];
        for (held, asked) in pairs {
            for held_first in [true, false] {
                let mut vocab = Vocabulary::default();
                // `held` under `asked`'s key: the two collide.
                let key = word_key(asked);
                let (first, second) = if held_first {
                    ((held, key), (asked, key))
                } else {
                    ((asked, key), (held, key))
                };
                assert!(vocab.push_keyed(first.0, false, 1.0, first.1));
                let mut alone = vocab.clone();
                alone.finish();
                let (absent, present) = if held_first {
                    (asked, held)
                } else {
                    (held, asked)
                };
                if present == held {
                    assert_eq!(alone.word(absent), None, "{absent:?} taken for {present:?}");
                }
                assert!(vocab.push_keyed(second.0, false, 1.0, second.1));
                assert!(
                    !vocab.push_keyed(second.0, false, 1.0, second.1),
                    "a repeat is refused"
                );
                vocab.finish();
                let index = |w: &str| u32::from(w != first.0);
                assert_eq!(
                    vocab.word(asked),
                    Some(index(asked)),
                    "{asked:?} beside {held:?}"
                );
            }
        }
    }

    /// A text's vector is (1 + ln count) · idf · the family's weight, L2
    /// normalised: a word and a bigram with the same idf and count weigh
    /// two to one.
    #[test]
    fn a_vector_weighs_words_and_bigrams_by_family_idf_and_count() {
        let segmenter =
            crate::segment::Segmenter::new("", "", false).unwrap_or_else(|e| panic!("{e}"));
        let mut vocab = Vocabulary::default();
        assert!(vocab.push("油烟", false, 3.0));
        assert!(vocab.push("油烟", true, 3.0));
        assert!(vocab.push("饭店", false, 2.0));
        vocab.finish();
        let text = "饭店油烟，油烟";
        let vector = vocab.vectorize(&segmenter.segment(text), text);
        let raw = [
            (1.0 + 2f32.ln()) * 3.0,                 // the word 油烟, twice
            (1.0 + 2f32.ln()) * 3.0 * BIGRAM_WEIGHT, // the bigram 油烟, twice
            2.0,                                     // the word 饭店, once
        ];
        let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
        let expected: Vec<(u32, f32)> = raw
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u32, v / norm))
            .collect();
        assert_eq!(vector, expected);
    }

    /// Routing takes a bigram's key from the two characters it has just
    /// read; the vocabulary stores bigrams under the key of their letters
    /// (`push`, at training). They must agree for every pair, or routing
    /// would silently find no bigram at all: CJK of both blocks, a pair
    /// across a word boundary, pairs cut by punctuation or Latin letters.
    #[test]
    fn a_bigram_is_passed_under_the_key_of_its_letters() {
        let segmenter =
            crate::segment::Segmenter::new("", "", false).unwrap_or_else(|e| panic!("{e}"));
        let text = "楼下饭店油烟，A3区㐀㐁电梯x困人\n标题行的油烟";
        let seg = segmenter.segment(text);
        let mut bigrams = Vec::new();
        for_each_term(&seg, text, None, |t, bigram, at| {
            if let Some(key) = bigram {
                assert_eq!(key, bigram_key(t), "{t}");
                assert_eq!(&text[at..at + t.len()], t);
                bigrams.push(t);
            }
        });
        assert_eq!(
            bigrams,
            [
                "楼下", "下饭", "饭店", "店油", "油烟", "区㐀", "㐀㐁", "㐁电", "电梯", "困人",
                "标题", "题行", "行的", "的油", "油烟"
            ]
        );
    }

    #[test]
    fn radix_sort_orders_as_a_comparison_sort_does() {
        let mut seed = 7u64;
        for (len, bound) in [
            (0, 1),
            (1, 1),
            (50, 200),
            (700, 49_226),
            (3000, 70_000),
            (500, u32::MAX),
        ] {
            let keys: Vec<u32> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    ((seed >> 33) as u32) % bound
                })
                .collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            assert_eq!(radix_sort(keys, bound), sorted, "{len} keys below {bound}");
        }
    }

    /// The filter in front of the bigram map may let a non-feature through,
    /// never stop a feature: every bigram of a large vocabulary is still found.
    #[test]
    fn every_vocabulary_bigram_is_found_through_the_filter() {
        let mut vocab = Vocabulary::default();
        let mut text = String::new();
        // 20,000 distinct pairs of CJK characters, a larger vocabulary than the shipped one's.
        for i in 0..20_000u32 {
            let a = char::from_u32(0x4E00 + (i * 7919) % 20_000).unwrap_or('一');
            let b = char::from_u32(0x4E00 + i % 20_000).unwrap_or('一');
            let bigram: String = [a, b].iter().collect();
            assert!(vocab.push(&bigram, true, 1.0));
            text.push_str(&bigram);
            text.push('，');
        }
        vocab.finish();
        let vector = vocab.vectorize(&Segmented::default(), &text);
        assert_eq!(vector.len(), 20_000);
        assert!(vector.iter().enumerate().all(|(i, &(f, _))| f == i as u32));
    }

    /// A token forged to share 油烟's 64-bit key (rustc-hash 2 is not
    /// keyed; a reviewer found this one in 0.2 s) is not taken for 油烟, in
    /// either order of training, and both stay features.
    #[test]
    fn a_word_forged_to_share_a_key_is_not_taken_for_another() {
        const FORGED: &str = "callmew84dcmindffw5b7ikbi9rdc2xq547bwfmvof4rdthw";
        assert_eq!(word_key(FORGED), word_key("油烟"), "the pair must collide");
        for order in [["油烟", FORGED], [FORGED, "油烟"]] {
            let mut vocab = Vocabulary::default();
            assert!(vocab.push(order[0], false, 1.0));
            assert!(vocab.push(order[1], false, 1.0));
            assert!(!vocab.push(order[0], false, 1.0), "a repeat is refused");
            assert!(!vocab.push(order[1], false, 1.0), "a repeat is refused");
            vocab.finish();
            assert_eq!(vocab.word(order[0]), Some(0));
            assert_eq!(vocab.word(order[1]), Some(1));
            assert_eq!(vocab.word("油烟机"), None);
        }
        // Only one of them known: the other is not found through its key.
        let mut vocab = Vocabulary::default();
        assert!(vocab.push("油烟", false, 1.0));
        vocab.finish();
        assert_eq!(vocab.word(FORGED), None);
    }

    fn weight_of(vocab: &Vocabulary, text: &str, bigram: &str) -> f32 {
        let feature = vocab.bigrams[&bigram_key(bigram)];
        let vector = vocab.vectorize(&Segmented::default(), text);
        vector
            .iter()
            .find(|&&(f, _)| f == feature)
            .map_or(0.0, |&(_, v)| v)
    }

    /// A title's words count more than the same words in the body, and only
    /// a short first line followed by a body is a title.
    #[test]
    fn a_short_first_line_is_read_as_a_title() {
        let mut vocab = Vocabulary::default();
        assert!(vocab.push("油烟", true, 1.0));
        assert!(vocab.push("停车", true, 1.0));
        vocab.finish();
        vocab.title_repeat = 3;
        let titled = "油烟\n停车";
        assert!(weight_of(&vocab, titled, "油烟") > 1.5 * weight_of(&vocab, titled, "停车"));
        // Without a body the line is the whole text, not a title.
        assert_eq!(title_end("油烟停车"), 0);
        assert_eq!(title_end("油烟\n  "), 0);
        // A long first line is the letter itself.
        let long = format!("{}\n停车", "油烟".repeat(31));
        assert_eq!(title_end(&long), 0);
        assert_eq!(title_end(titled), "油烟".len());
        // Models older than format 3 read titles like any line.
        vocab.title_repeat = 0;
        let plain = weight_of(&vocab, titled, "油烟");
        assert!((plain - weight_of(&vocab, titled, "停车")).abs() < 1e-6);
    }

    /// The letter codes of anonymised places are not words to learn from;
    /// real abbreviations are.
    #[test]
    fn place_codes_are_letters_with_numbers() {
        for code in ["a", "a5", "k12", "h3"] {
            assert!(is_place_code(code), "{code}");
        }
        for word in ["ems", "app", "5a", "wifi", "a12345", ""] {
            assert!(!is_place_code(word), "{word}");
        }
    }
}
