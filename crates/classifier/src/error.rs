//! The classifier's errors: malformed configuration texts, unusable training or evaluation lines, bad models.

use thiserror::Error;

/// Everything that can go wrong while building or running the router.
#[derive(Debug, Error)]
pub enum Error {
    /// A configuration text (taxonomy, gazetteer, dictionary) is malformed.
    #[error("{source_name}: {message}")]
    Config {
        source_name: String,
        message: String,
    },
    /// A training or evaluation line could not be used.
    #[error("{source_name}:{line}: {message}")]
    Example {
        source_name: String,
        line: usize,
        message: String,
    },
    /// A serialized model could not be read or does not fit the taxonomy.
    #[error("model: {0}")]
    Model(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn config(source_name: &str, message: impl Into<String>) -> Self {
        Error::Config {
            source_name: source_name.to_owned(),
            message: message.into(),
        }
    }
}
