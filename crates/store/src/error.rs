//! The store's errors: the caller's (`NotFound`, `Invalid`, `Conflict`, `Forbidden`) and ours.

use thiserror::Error;

/// Errors of the ticket store. `NotFound`, `Invalid`, `Conflict` and
/// `Forbidden` are the caller's doing; the rest are ours.
#[derive(Debug, Error)]
pub enum Error {
    #[error("ticket {0} not found")]
    NotFound(String),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    /// The caller's token does not allow it (a token granting more than its issuer holds).
    #[error("{0}")]
    Forbidden(String),
    #[error("{}", sled_message(.0))]
    Sled(#[from] sled::Error),
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// An I/O failure on one of the store's files (journal, index, folders).
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The writer could not make a change durable (its journal append or
    /// sled batch failed): nothing of it was acknowledged. Ours, not the
    /// caller's: a server error, never a conflict.
    #[error("not stored: {0}")]
    NotStored(String),
    /// A journal that cannot be trusted as it is: a record that fails its
    /// checksum, or a file shorter than sled has applied.
    #[error("journal {path} is damaged at byte {offset}: {message}")]
    Damaged {
        path: String,
        offset: u64,
        message: String,
    },
    #[error("corrupt record {key}: {message}")]
    Corrupt { key: String, message: String },
    #[error("the store is shutting down")]
    Closed,
}

/// What a sled error says to the person who must act on it: for damage,
/// where it is and the ways on (the tickets are in the journal).
fn sled_message(e: &sled::Error) -> String {
    match e {
        sled::Error::Corruption { at, .. } => {
            let at = at.map_or_else(|| "an unknown place".to_owned(), |at| format!("{at:?}"));
            format!(
                "the sled database (the data directory's `sled`) is damaged at {at}. The tickets are safe in the journal: restore `sled` from a backup (with the `watermark` file of the same backup), or move it aside and create it empty (`mkdir sled`) to rebuild the tickets from the journal (the API tokens and the audit log, which only sled holds, are then lost)"
            )
        }
        e => format!("storage: {e}"),
    }
}

impl Error {
    /// Maps an I/O error on a store file to an error naming that file.
    pub(crate) fn io_at(path: &std::path::Path) -> impl Fn(std::io::Error) -> Error + Copy + '_ {
        move |source| Error::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }

    /// True when a stored record cannot be read (a damaged journal or a
    /// record that does not decode): one ticket is lost to the reader, not
    /// the store.
    pub fn is_unreadable(&self) -> bool {
        matches!(self, Error::Damaged { .. } | Error::Corrupt { .. })
    }

    /// True when the caller can fix the request; false for our failures.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::NotFound(_) | Error::Invalid { .. } | Error::Conflict(_) | Error::Forbidden(_)
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn damage_in_sled_says_where_the_tickets_are_and_the_ways_on() {
        let e = Error::from(sled::Error::Corruption { at: None, bt: () });
        let text = e.to_string();
        for part in [
            "sled",
            "damaged",
            "journal",
            "mkdir sled",
            "backup",
            "audit log",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
