//! The audit log: who saw callers' personal data, who searched or exported
//! what, who created or revoked tokens. Append-only, in its own sled tree (`audit`),
//! keyed by a time-ordered id so the newest entries are read first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::Store;
use crate::watermark::{Family, Watermark};

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A token allowed to see personal data was shown a ticket that has some.
    ReadPii,
    /// Statistics or search results were exported to a file.
    Export,
    /// A search (its query in [`AuditEntry::query`]).
    Search,
    TokenCreated,
    TokenRevoked,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::ReadPii => "read_pii",
            AuditAction::Export => "export",
            AuditAction::Search => "search",
            AuditAction::TokenCreated => "token_created",
            AuditAction::TokenRevoked => "token_revoked",
        }
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// The token used; None for the command line.
    pub token_id: Option<Uuid>,
    pub token_name: String,
    pub action: AuditAction,
    /// A ticket id, or a description of an export or of a token.
    pub target: String,
    /// The district the action was limited to (a ticket's, a search's
    /// filter, a token's limit); None: every district. Readers limited to a
    /// district see only its entries.
    #[serde(default)]
    pub district: Option<String>,
    /// The words searched for, as typed (it may hold personal data: shown
    /// masked to readers without `pii`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The entry is about a token that may see personal data (its creation
    /// or revocation): readers without `pii` do not see it, as they are not
    /// shown such tokens in the token list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub about_pii_token: bool,
}

impl AuditEntry {
    pub fn new(
        token_id: Option<Uuid>,
        token_name: &str,
        action: AuditAction,
        target: impl Into<String>,
    ) -> AuditEntry {
        AuditEntry {
            at: Utc::now(),
            token_id,
            token_name: token_name.to_owned(),
            action,
            target: target.into(),
            district: None,
            query: None,
            about_pii_token: false,
        }
    }

    /// The entry, about `district`.
    pub fn in_district(mut self, district: Option<&str>) -> AuditEntry {
        self.district = district.map(str::to_owned);
        self
    }

    /// The entry, about a token that may see personal data when `pii`.
    pub fn about_token_with_pii(mut self, pii: bool) -> AuditEntry {
        self.about_pii_token = pii;
        self
    }

    /// The entry, with the query searched for.
    pub fn with_query(mut self, query: &str) -> AuditEntry {
        self.query = Some(query.to_owned());
        self
    }
}

/// The audit tree; a cheap `Clone` handle. Calls block (sled).
#[derive(Debug, Clone)]
pub struct AuditLog {
    tree: sled::Tree,
    /// Makes each entry durable, and counted, before the answer.
    watermark: std::sync::Arc<Watermark>,
}

impl AuditLog {
    /// Opens (creating when missing) the audit tree of `store`.
    pub fn open(store: &Store) -> Result<AuditLog> {
        Ok(AuditLog {
            tree: store.db().open_tree("audit")?,
            watermark: store.inner.watermark.clone(),
        })
    }

    /// Appends entries in one atomic batch.
    pub fn record(&self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for entry in entries {
            let json = serde_json::to_vec(entry).map_err(|e| Error::Corrupt {
                key: "audit".into(),
                message: e.to_string(),
            })?;
            batch.insert(Uuid::now_v7().as_bytes().to_vec(), json);
        }
        // Written through and fsynced before the answer goes out: a read of
        // personal data must not vanish from the log because the process was
        // killed within sled's flush interval (a second), nor in a power cut
        // (sled's flush does not fsync), nor unseen when sled's log is
        // damaged (the watermark). Three syncs per request that reads
        // personal data, searches or exports: a few milliseconds.
        self.watermark
            .change(Family::Audit, || Ok(self.tree.apply_batch(batch)?))
    }

    /// The newest `limit` entries, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.recent_where(limit, |_| true)
    }

    /// The newest `limit` entries that `keep` accepts, newest first.
    pub fn recent_where(
        &self,
        limit: usize,
        keep: impl Fn(&AuditEntry) -> bool,
    ) -> Result<Vec<AuditEntry>> {
        let mut entries = Vec::new();
        for item in self.tree.iter().rev() {
            if entries.len() >= limit {
                break;
            }
            let (k, v) = item?;
            let entry: AuditEntry = serde_json::from_slice(&v).map_err(|e| Error::Corrupt {
                key: format!("audit/{}", Uuid::from_slice(&k).unwrap_or_default()),
                message: e.to_string(),
            })?;
            if keep(&entry) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}
