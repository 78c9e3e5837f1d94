//! `Taxonomy`: one year's governance topics from TOML, and the catch-all `other`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The slug of the catch-all class: a ticket that is none of the year's topics.
pub const OTHER: &str = "other";

/// One year's list of governance topics ("每月一题"), as configured.
#[derive(Debug, Clone, Serialize)]
pub struct Taxonomy {
    pub year: u16,
    /// Department that handles tickets routed to `other` (ordinary dispatch).
    pub other_department: String,
    /// The configured topics followed by `other`, always last.
    topics: Vec<Topic>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// Stable identifier used in files, URLs and the API.
    pub slug: String,
    /// The topic's official Chinese name.
    pub name: String,
    /// Lead department (牵头部门).
    pub department: String,
    #[serde(default)]
    pub description: String,
    /// Words that on their own point strongly at this topic; used as priors.
    #[serde(default)]
    pub seeds: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    year: u16,
    #[serde(default = "default_other_department")]
    other_department: String,
    topic: Vec<Topic>,
}

fn default_other_department() -> String {
    "按常规派单".to_owned()
}

impl Taxonomy {
    /// Parses and validates a taxonomy file (`config/topics/<year>.toml`).
    pub fn from_toml_str(source_name: &str, text: &str) -> Result<Self> {
        let file: TaxonomyFile =
            toml::from_str(text).map_err(|e| Error::config(source_name, e.to_string()))?;
        if file.topic.is_empty() {
            return Err(Error::config(source_name, "no [[topic]] entries"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, topic) in file.topic.iter().enumerate() {
            let at = format!("topic #{} ({})", i + 1, topic.slug);
            let valid_slug = !topic.slug.is_empty()
                && topic
                    .slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid_slug {
                return Err(Error::config(
                    source_name,
                    format!("{at}: slug must be lowercase ascii, digits or '_'"),
                ));
            }
            if topic.slug == OTHER {
                return Err(Error::config(
                    source_name,
                    format!("{at}: '{OTHER}' is implicit and must not be listed"),
                ));
            }
            if !seen.insert(topic.slug.clone()) {
                return Err(Error::config(source_name, format!("{at}: duplicate slug")));
            }
            if topic.name.trim().is_empty() || topic.department.trim().is_empty() {
                return Err(Error::config(
                    source_name,
                    format!("{at}: name and department are required"),
                ));
            }
        }
        let mut topics = file.topic;
        topics.push(Topic {
            slug: OTHER.to_owned(),
            name: "其他".to_owned(),
            department: file.other_department.clone(),
            description: "不属于本年度每月一题的诉求".to_owned(),
            seeds: Vec::new(),
        });
        Ok(Taxonomy {
            year: file.year,
            other_department: file.other_department,
            topics,
        })
    }

    /// All classes, `other` last.
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    pub fn get(&self, slug: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.slug == slug)
    }

    pub fn index_of(&self, slug: &str) -> Option<usize> {
        self.topics.iter().position(|t| t.slug == slug)
    }

    pub fn other_index(&self) -> usize {
        self.topics.len() - 1
    }
}
