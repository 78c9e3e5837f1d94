//! Which 街道 / 乡镇 (street or township) a ticket concerns, from the street
//! gazetteer (`config/gazetteer/beijing_streets.toml`), and how it agrees
//! with the district.
//!
//! The rule ([`Gazetteer::locate`]):
//! 1. The district is the district field when one is given, else the
//!    district found in the address, else the one found in the text
//!    ([`Gazetteer::detect`]).
//! 2. The street candidates are the street names found in the address, then
//!    in the text; within each, full names (…街道, …镇, …乡, …地区) before
//!    short forms (望京), each in the order written.
//! 3. With a district, the first candidate in that district is the street; a
//!    candidate of another district is dropped (the district wins a
//!    disagreement). Without one, the first candidate that names a single
//!    street is the street, and its district fills the district.
//!
//! One scan of the address and one of the text (a leftmost-longest
//! automaton), so the cost is linear in their length.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind as AcMatchKind};
use serde::{Deserialize, Serialize};

use crate::district::{DistrictMatch, Gazetteer, MatchKind};
use crate::error::{Error, Result};

/// The suffixes a street's full name ends in.
pub const STREET_SUFFIXES: [&str; 4] = ["街道", "地区", "镇", "乡"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreetsFile {
    #[serde(default)]
    ambiguous: Vec<String>,
    district: Vec<StreetsOfDistrict>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreetsOfDistrict {
    name: String,
    streets: Vec<String>,
}

/// A street recognised in a ticket, or named by a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreetMatch {
    /// The street's canonical full name (望京街道).
    pub street: String,
    /// Its district's full name.
    pub district: String,
    /// The words that named it (望京).
    pub matched: String,
}

/// Where a ticket is, as [`Gazetteer::locate`] decides it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Located {
    pub district: Option<String>,
    pub street: Option<StreetMatch>,
}

#[derive(Debug, Clone)]
struct Unit {
    name: String,
    district: usize,
}

/// The compiled street gazetteer: every form of every street in one automaton.
#[derive(Debug, Clone, Default)]
pub(crate) struct Streets {
    units: Vec<Unit>,
    /// Per pattern: the streets it names (empty for a blanked-out false
    /// friend) and whether it is a full name.
    patterns: Vec<(Vec<usize>, bool)>,
    pattern_text: Vec<String>,
    /// Every form → its pattern, for fields.
    forms: HashMap<String, usize>,
    automaton: Option<AhoCorasick>,
}

fn is_full(name: &str) -> bool {
    STREET_SUFFIXES.iter().any(|s| name.ends_with(s))
}

impl Streets {
    /// Reads the street gazetteer against the districts already known.
    pub(crate) fn from_toml_str(
        source_name: &str,
        text: &str,
        gazetteer: &Gazetteer,
    ) -> Result<Streets> {
        let file: StreetsFile =
            toml::from_str(text).map_err(|e| Error::config(source_name, e.to_string()))?;
        let mut streets = Streets::default();
        for entry in &file.district {
            let district = gazetteer
                .districts()
                .iter()
                .position(|d| *d == entry.name.trim())
                .ok_or_else(|| {
                    Error::config(
                        source_name,
                        format!("{} is not a district of the gazetteer", entry.name),
                    )
                })?;
            for line in &entry.streets {
                let mut forms = line.split_whitespace();
                let Some(name) = forms.next() else {
                    return Err(Error::config(
                        source_name,
                        format!("{}: empty street", entry.name),
                    ));
                };
                if !is_full(name) {
                    return Err(Error::config(
                        source_name,
                        format!("'{name}' does not end in 街道, 地区, 镇 or 乡"),
                    ));
                }
                let unit = streets.units.len();
                streets.units.push(Unit {
                    name: name.to_owned(),
                    district,
                });
                for form in std::iter::once(name).chain(forms) {
                    if gazetteer.canonical(form).is_some() {
                        return Err(Error::config(
                            source_name,
                            format!("'{form}' is a district's name: write the full form"),
                        ));
                    }
                    let full = is_full(form);
                    match streets.forms.get(form) {
                        // The same full name in two districts (八里庄街道):
                        // the district tells them apart.
                        Some(&p)
                            if full
                                && streets.patterns[p]
                                    .0
                                    .iter()
                                    .all(|&u| streets.units[u].district != district) =>
                        {
                            streets.patterns[p].0.push(unit);
                        }
                        Some(&p) => {
                            let other = &streets.units[streets.patterns[p].0[0]];
                            return Err(Error::config(
                                source_name,
                                format!(
                                    "'{form}' names both {} ({}) and {name} ({})",
                                    other.name,
                                    gazetteer.districts()[other.district],
                                    entry.name
                                ),
                            ));
                        }
                        None => {
                            streets
                                .forms
                                .insert(form.to_owned(), streets.patterns.len());
                            streets.patterns.push((vec![unit], full));
                            streets.pattern_text.push(form.to_owned());
                        }
                    }
                }
            }
        }
        for word in &file.ambiguous {
            streets.patterns.push((Vec::new(), false));
            streets.pattern_text.push(word.clone());
        }
        streets.automaton = Some(
            AhoCorasick::builder()
                .match_kind(AcMatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&streets.pattern_text)
                .map_err(|e| Error::config(source_name, e.to_string()))?,
        );
        Ok(streets)
    }

    /// The streets named in `text`, full names first, each in text order:
    /// (pattern, its streets).
    fn candidates<'a>(&'a self, text: &str, out: &mut Vec<(usize, &'a [usize])>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let start = out.len();
        for m in automaton.find_iter(text) {
            let p = m.pattern().as_usize();
            if !self.patterns[p].0.is_empty() {
                out.push((p, &self.patterns[p].0));
            }
        }
        // Stable: text order is kept within full names and within short forms.
        out[start..].sort_by_key(|(p, _)| !self.patterns[*p].1);
    }

    fn matched(&self, gazetteer: &Gazetteer, unit: usize, pattern: usize) -> StreetMatch {
        let u = &self.units[unit];
        StreetMatch {
            street: u.name.clone(),
            district: gazetteer.districts()[u.district].clone(),
            matched: self.pattern_text[pattern].clone(),
        }
    }
}

impl Gazetteer {
    /// Adds the street gazetteer (its text; see the module's rule).
    pub fn with_streets(mut self, source_name: &str, text: &str) -> Result<Gazetteer> {
        let streets = Streets::from_toml_str(source_name, text, &self)?;
        self.streets = streets;
        Ok(self)
    }

    /// Every street's canonical full name, with its district, in file order.
    pub fn streets(&self) -> impl Iterator<Item = (&str, &str)> {
        self.streets
            .units
            .iter()
            .map(|u| (u.name.as_str(), self.districts()[u.district].as_str()))
    }

    /// Where a ticket is: its district and street by the module's rule.
    /// `district` is the district field, already canonical
    /// ([`Gazetteer::canonical`]).
    pub fn locate(&self, district: Option<&str>, address: Option<&str>, text: &str) -> Located {
        match district {
            Some(d) => Located {
                district: Some(d.to_owned()),
                street: self.street_in(Some(d), address, text),
            },
            None => {
                let (district, street) = self.detect_place(address, text);
                Located {
                    district: district.map(|d| d.district),
                    street,
                }
            }
        }
    }

    /// The district found in the address, else in the text, and the street
    /// that agrees with it; a street fills a district not found.
    pub(crate) fn detect_place(
        &self,
        address: Option<&str>,
        text: &str,
    ) -> (Option<DistrictMatch>, Option<StreetMatch>) {
        let district = address
            .and_then(|a| self.detect(a))
            .or_else(|| self.detect(text));
        let street = self.street_in(
            district.as_ref().map(|d| d.district.as_str()),
            address,
            text,
        );
        let district = district.or_else(|| {
            street.as_ref().map(|s| DistrictMatch {
                district: s.district.clone(),
                matched: s.matched.clone(),
                kind: MatchKind::Place,
            })
        });
        (district, street)
    }

    /// The street of the module's rule, for a known district or none.
    fn street_in(
        &self,
        district: Option<&str>,
        address: Option<&str>,
        text: &str,
    ) -> Option<StreetMatch> {
        let streets = &self.streets;
        let mut candidates = Vec::new();
        if let Some(address) = address {
            streets.candidates(address, &mut candidates);
        }
        streets.candidates(text, &mut candidates);
        let wanted = match district {
            Some(d) => Some(self.districts().iter().position(|x| x == d)?),
            None => None,
        };
        candidates.into_iter().find_map(|(pattern, units)| {
            let unit = match wanted {
                Some(d) => *units.iter().find(|&&u| streets.units[u].district == d)?,
                None if units.len() == 1 => units[0],
                None => return None,
            };
            Some(streets.matched(self, unit, pattern))
        })
    }

    /// The street a street *field* names: any of its forms (望京街道,
    /// 将台乡, 望京), trimmed, after a leading 北京市 and district name
    /// (朝阳区望京街道), which then must be the street's. A name in two
    /// districts needs `district` (the ticket's) or a district prefix to
    /// choose. The message says what is wrong.
    pub fn street(&self, field: &str, district: Option<&str>) -> Result<StreetMatch, String> {
        let field = field.trim();
        let mut rest = ["北京市", "北京"]
            .iter()
            .find_map(|city| field.strip_prefix(city))
            .map_or(field, str::trim);
        let mut named: Option<&str> = None;
        for d in self.districts() {
            if let Some(r) = rest.strip_prefix(d.as_str()) {
                named = Some(d);
                rest = r.trim();
                break;
            }
        }
        let streets = &self.streets;
        let Some(&pattern) = streets.forms.get(rest) else {
            return Err(format!(
                "unknown 街道 / 乡镇 '{field}': not one of the configured ones (e.g. 望京街道)"
            ));
        };
        let units = &streets.patterns[pattern].0;
        let in_district = |d: &str| {
            units
                .iter()
                .copied()
                .find(|&u| self.districts()[streets.units[u].district] == d)
        };
        let unit = match (named, district) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!("'{field}' is in {a}, not in {b}"));
            }
            (Some(d), _) | (None, Some(d)) => in_district(d).ok_or_else(|| {
                let other = &streets.units[units[0]];
                format!(
                    "{} is in {}, not in {d}",
                    other.name,
                    self.districts()[other.district]
                )
            })?,
            (None, None) if units.len() == 1 => units[0],
            (None, None) => {
                let districts: Vec<&str> = units
                    .iter()
                    .map(|&u| self.districts()[streets.units[u].district].as_str())
                    .collect();
                return Err(format!(
                    "'{field}' is in {}: give the district",
                    districts.join(" and ")
                ));
            }
        };
        Ok(streets.matched(self, unit, pattern))
    }
}
