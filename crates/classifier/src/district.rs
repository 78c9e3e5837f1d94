//! Which of the city's districts a ticket concerns, from a gazetteer.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind as AcMatchKind};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GazetteerFile {
    #[serde(default)]
    ambiguous: Vec<String>,
    district: Vec<DistrictEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DistrictEntry {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    places: Vec<String>,
}

/// How a district was recognised, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The district's full name (朝阳区).
    Name,
    /// A 街道, town or well-known area inside it (望京).
    Place,
    /// A short or old name (朝阳, 宣武).
    Alias,
}

impl MatchKind {
    fn weight(self) -> u32 {
        match self {
            MatchKind::Name => 4,
            MatchKind::Place => 2,
            MatchKind::Alias => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistrictMatch {
    pub district: String,
    /// The words of the text that named it.
    pub matched: String,
    pub kind: MatchKind,
}

/// A compiled gazetteer: every name of every district in one automaton.
#[derive(Debug, Clone)]
pub struct Gazetteer {
    districts: Vec<String>,
    /// Each district's full name and its aliases (朝阳, 宣武), trimmed: what
    /// a district *field* may say (places are evidence in text, not names).
    names_of: std::collections::HashMap<String, usize>,
    /// Per pattern: the district it names (None for a known false friend) and how.
    patterns: Vec<(Option<usize>, MatchKind)>,
    pattern_text: Vec<String>,
    automaton: AhoCorasick,
    /// The 街道 / 乡镇 level (`street`), empty until
    /// [`Gazetteer::with_streets`] adds it.
    pub(crate) streets: crate::street::Streets,
}

impl Gazetteer {
    pub fn from_toml_str(source_name: &str, text: &str) -> Result<Self> {
        let file: GazetteerFile =
            toml::from_str(text).map_err(|e| Error::config(source_name, e.to_string()))?;
        let mut patterns = Vec::new();
        let mut pattern_text: Vec<String> = Vec::new();
        let mut owner: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        let mut districts = Vec::new();
        let mut names_of = std::collections::HashMap::new();
        for (d, entry) in file.district.iter().enumerate() {
            districts.push(entry.name.trim().to_owned());
            for name in std::iter::once(&entry.name).chain(&entry.aliases) {
                names_of.insert(name.trim().to_owned(), d);
            }
            let names = std::iter::once((&entry.name, MatchKind::Name))
                .chain(entry.places.iter().map(|p| (p, MatchKind::Place)))
                .chain(entry.aliases.iter().map(|a| (a, MatchKind::Alias)));
            for (name, kind) in names {
                let name = name.trim();
                if name.is_empty() {
                    return Err(Error::config(
                        source_name,
                        format!("{}: empty name", entry.name),
                    ));
                }
                if let Some(other) = owner.insert(name.to_owned(), entry.name.clone()) {
                    return Err(Error::config(
                        source_name,
                        format!("'{name}' is listed under both {other} and {}", entry.name),
                    ));
                }
                patterns.push((Some(d), kind));
                pattern_text.push(name.to_owned());
            }
        }
        for word in &file.ambiguous {
            patterns.push((None, MatchKind::Alias));
            pattern_text.push(word.clone());
        }
        // A full DFA: a few hundred patterns make it small, and it scans
        // every ticket's text several times faster than the default NFA.
        let automaton = AhoCorasick::builder()
            .match_kind(AcMatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&pattern_text)
            .map_err(|e| Error::config(source_name, e.to_string()))?;
        Ok(Gazetteer {
            districts,
            names_of,
            patterns,
            pattern_text,
            automaton,
            streets: crate::street::Streets::default(),
        })
    }

    pub fn districts(&self) -> &[String] {
        &self.districts
    }

    /// The district a district field names, as the gazetteer spells it: its
    /// full name or one of its aliases (朝阳 → 朝阳区, 宣武 → 西城区), with
    /// surrounding spaces (full-width too) and a leading 北京市 / 北京 left
    /// out. None for anything else: a place (望京) is evidence in a text, not
    /// a district's name.
    pub fn canonical(&self, field: &str) -> Option<&str> {
        let field = field.trim();
        let bare = ["北京市", "北京"]
            .iter()
            .find_map(|city| field.strip_prefix(city))
            .map_or(field, str::trim);
        [field, bare]
            .into_iter()
            .find_map(|name| self.names_of.get(name))
            .map(|&d| self.districts[d].as_str())
    }

    /// Every name the gazetteer knows (for the segmenter's dictionary and so
    /// that place names do not sway topic routing).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pattern_text.iter().map(String::as_str)
    }

    /// The district the text concerns: the one with the strongest evidence
    /// (a full name outweighs two places, a place outweighs two aliases), the
    /// earliest mentioned on a tie; None when no name is found.
    pub fn detect(&self, text: &str) -> Option<DistrictMatch> {
        let mut score = vec![0u32; self.districts.len()];
        let mut first: Vec<Option<(usize, usize, MatchKind)>> = vec![None; self.districts.len()];
        for m in self.automaton.find_iter(text) {
            let (district, kind) = self.patterns[m.pattern().as_usize()];
            let Some(d) = district else { continue };
            score[d] += kind.weight();
            let better = match first[d] {
                None => true,
                Some((_, _, k)) => kind.weight() > k.weight(),
            };
            if better {
                first[d] = Some((m.start(), m.pattern().as_usize(), kind));
            }
        }
        let earliest = |d: usize| first[d].map_or(usize::MAX, |f| f.0);
        let best = (0..self.districts.len())
            .filter(|&d| score[d] > 0)
            .max_by(|&a, &b| score[a].cmp(&score[b]).then(earliest(b).cmp(&earliest(a))))?;
        let (_, pattern, kind) = first[best]?;
        Some(DistrictMatch {
            district: self.districts[best].clone(),
            matched: self.pattern_text[pattern].clone(),
            kind,
        })
    }
}
