//! Keyed hashes of personal identifiers, the only form in which the search index holds them.
//!
//! A phone number, an identity number or a caller's name in the index in
//! clear would let a reader who sees them masked find them back by
//! searching (the hit count answers yes or no). So the application indexes
//! them as `pii:` followed by HMAC-SHA256 of the identifier under a secret
//! of this store (32 random bytes in `personal.key` in the data directory,
//! written once and fsynced), cut to 128 bits. Only a search made for a
//! reader allowed to see personal data computes these terms; nobody else
//! can, and the words a text is segmented into never contain a `:`, so no
//! typed word reaches them.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::keys::META_PERSONAL_KEY_CHECK;
use crate::store::Store;

const KEY_FILE: &str = "personal.key";
const KEY_LEN: usize = 32;
const BLOCK: usize = 64;

/// The store's secret for hashing personal identifiers; a cheap `Clone` handle.
#[derive(Clone)]
pub struct PersonalKey {
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for PersonalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonalKey").finish_non_exhaustive()
    }
}

impl PersonalKey {
    /// The key of `store`, created on first use. Blocking. A store that
    /// recorded its key but has no key file has lost it: refused, since a
    /// new key would silently leave every identifier indexed so far
    /// unsearchable.
    pub fn open(store: &Store) -> Result<PersonalKey> {
        let path = store.dir().join(KEY_FILE);
        // Only a store that recorded its key has lost it: one written before
        // keys (or by the store alone, as its tests do) makes one now.
        let recorded = store.inner.tree.get(META_PERSONAL_KEY_CHECK)?.is_some();
        if !path.exists() && recorded {
            return Err(Error::Corrupt {
                key: path.display().to_string(),
                message: format!(
                    "missing, while the store holds {} tickets whose callers' names, phones and ID numbers are indexed under it: restore it from a backup. To go on without it, write 32 random bytes there by hand (`head -c 32 /dev/urandom > {}`): searches by a caller's identifier will then find only the tickets stored after",
                    store.ticket_count(),
                    path.display()
                ),
            });
        }
        let key = Self::open_in(store.dir())?;
        key.check_against(store)?;
        Ok(key)
    }

    /// What the store recorded of its key: a keyed hash of a fixed text,
    /// which tells the key apart without holding it.
    fn check_value(&self) -> Vec<u8> {
        hmac_sha256(&self.key, KEY_CHECK_TEXT)[..16].to_vec()
    }

    /// Refuses a key that is not the one the store recorded (a changed byte,
    /// or a key restored from another store), and records it when the store
    /// has none yet (a new store, or one written before the check existed).
    fn check_against(&self, store: &Store) -> Result<()> {
        let tree = &store.inner.tree;
        match tree.get(META_PERSONAL_KEY_CHECK)? {
            Some(recorded) if recorded.as_ref() == self.check_value().as_slice() => Ok(()),
            Some(_) => Err(Error::Corrupt {
                key: store.dir().join(KEY_FILE).display().to_string(),
                message: WRONG_KEY.to_owned(),
            }),
            None => {
                tree.insert(META_PERSONAL_KEY_CHECK, self.check_value())?;
                tree.flush()?;
                Ok(())
            }
        }
    }

    fn open_in(dir: &Path) -> Result<PersonalKey> {
        let path = dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; KEY_LEN] =
                    bytes.as_slice().try_into().map_err(|_| Error::Corrupt {
                        key: path.display().to_string(),
                        message: format!("{} bytes, not {KEY_LEN}", bytes.len()),
                    })?;
                Ok(PersonalKey { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; KEY_LEN] = rand::random();
                let tmp = dir.join(format!("{KEY_FILE}.tmp"));
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create(true).truncate(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&tmp).map_err(Error::io_at(&tmp))?;
                file.write_all(&key).map_err(Error::io_at(&tmp))?;
                file.sync_all().map_err(Error::io_at(&tmp))?;
                std::fs::rename(&tmp, &path).map_err(Error::io_at(&path))?;
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(Error::io_at(dir))?;
                Ok(PersonalKey { key })
            }
            Err(e) => Err(Error::io_at(&path)(e)),
        }
    }

    /// The index term of a personal identifier, whatever its spelling
    /// (separators, spaces, full-width digits and letters, case); None when
    /// it has no letter or digit.
    pub fn term(&self, value: &str) -> Option<String> {
        let canonical = canonical(value);
        if canonical.is_empty() {
            return None;
        }
        let mac = hmac_sha256(&self.key, canonical.as_bytes());
        let mut term = String::with_capacity(4 + 32);
        term.push_str("pii:");
        for b in &mac[..16] {
            term.push_str(&format!("{b:02x}"));
        }
        Some(term)
    }
}

/// The text whose keyed hash the store records as its key's check value.
const KEY_CHECK_TEXT: &[u8] = b"hotline personal key check";

const WRONG_KEY: &str = "is not the key this store's identifiers were indexed under (a changed byte, or a key restored from another store): every search by a caller's name, phone or ID number would miss the tickets stored so far. Restore the right personal.key from a backup";

/// What is wrong with the store's key file, read without creating or
/// recording anything (for `verify`): None when it is the store's key, or
/// when there is none and the store never recorded one (a store used
/// without the application, as its own tests do).
pub(crate) fn key_problem(store: &Store) -> Result<Option<String>> {
    let path = store.dir().join(KEY_FILE);
    let name = path.display();
    let recorded = store.inner.tree.get(META_PERSONAL_KEY_CHECK)?;
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(recorded.is_some().then(|| {
                format!("{name}: missing, while the store's identifiers are indexed under it")
            }));
        }
        Err(e) => return Ok(Some(format!("{name}: {e}"))),
    };
    let Ok(key) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) else {
        return Ok(Some(format!(
            "{name}: {} bytes, not {KEY_LEN}",
            bytes.len()
        )));
    };
    let key = PersonalKey { key };
    Ok(match recorded {
        Some(recorded) if recorded.as_ref() != key.check_value().as_slice() => {
            Some(format!("{name}: {WRONG_KEY}"))
        }
        _ => None,
    })
}

/// Letters and digits only, full-width forms folded to ASCII, ASCII lowercased.
fn canonical(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            c => c,
        })
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// HMAC-SHA256 (RFC 2104) of `message` under a key of at most one block.
fn hmac_sha256(key: &[u8; KEY_LEN], message: &[u8]) -> [u8; 32] {
    let mut padded = [0u8; BLOCK];
    padded[..KEY_LEN].copy_from_slice(key);
    let pad = |byte: u8| padded.map(|k| k ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    //! The keyed hash: HMAC against its test vector, one term per identifier.

    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_1() {
        // A 20-byte key padded with zeros to 32 is the same key for HMAC
        // (keys are zero-padded to the block).
        let mut key = [0u8; KEY_LEN];
        key[..20].copy_from_slice(&[0x0b; 20]);
        let mac = hmac_sha256(&key, b"Hi There");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn spellings_of_one_identifier_give_one_term() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = PersonalKey::open_in(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let t = key.term("13812345678");
        assert!(t
            .as_deref()
            .is_some_and(|t| t.starts_with("pii:") && t.len() == 36));
        assert_eq!(key.term("138-1234-5678"), t);
        assert_eq!(key.term("１３８ １２３４ ５６７８"), t);
        assert_ne!(key.term("13812345679"), t);
        assert_eq!(
            key.term("11010519900307123X"),
            key.term("11010519900307123x")
        );
        assert_eq!(key.term(" - "), None);
        // The same key after a reopen; another store, another key.
        let again = PersonalKey::open_in(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.term("13812345678"), t);
        let other = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let other = PersonalKey::open_in(other.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(other.term("13812345678"), t);
    }
}
