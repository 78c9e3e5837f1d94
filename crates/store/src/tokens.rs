//! API tokens: random secrets shown once, kept only as SHA-256 hashes.
//!
//! A token is `hl_` followed by 32 random bytes in unpadded base64url. The
//! store keeps, in its own sled tree (`tokens`, beside the tickets' tree):
//! `i` + id → the record (JSON), and `h` + SHA-256(token) → id. Nothing that
//! could be turned back into the secret is stored.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::Store;
use crate::watermark::{Family, Watermark};

const RECORD: u8 = b'i';
const HASH: u8 = b'h';
const PREFIX: &str = "hl_";
/// Length of a token: the prefix and 32 bytes in unpadded base64 (43 characters).
const TOKEN_LEN: usize = 3 + 43;

/// What a token's holder may do (the routes each role may call are listed in
/// the application's permission table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Takes calls: submits tickets, routes, overrides topics, records events, searches.
    Operator,
    /// Reads: statistics, search, tickets, exports; writes nothing.
    Supervisor,
    /// Everything, plus tokens and the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Operator, Role::Supervisor, Role::Admin];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// May see callers' personal data unmasked.
    pub pii: bool,
    /// When set, the holder sees only this district's tickets and figures.
    pub district: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// The token whose quotas this one draws on, when it was made by an
    /// admin without `pii` (that admin's, or the one it draws on): such an
    /// admin cannot multiply what it holds by minting tokens. None: its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draws_on: Option<Uuid>,
}

impl TokenRecord {
    /// The token whose quotas this one uses up (itself, or see `draws_on`).
    pub fn quota_holder(&self) -> Uuid {
        self.draws_on.unwrap_or(self.id)
    }
}

/// Who creates, lists or revokes tokens. A token never grants more than
/// its issuer holds, and an admin token manages only the tokens within its
/// own limits: checked here, so that every path (the API, the command line,
/// the demo) goes through the same rule.
#[derive(Debug, Clone, Copy)]
pub enum Issuer<'a> {
    /// The command line or the demo: whoever can open the data directory
    /// (the server stopped) holds every right.
    Local,
    /// An API token (an admin's, for the routes to reach here).
    Token(&'a TokenRecord),
}

impl Issuer<'_> {
    /// May grant, see or revoke a token with these rights: the issuer is an
    /// admin, sees personal data when the token does, and is limited to no
    /// district or to the token's.
    pub fn covers(&self, pii: bool, district: Option<&str>) -> bool {
        match self {
            Issuer::Local => true,
            Issuer::Token(t) => {
                t.role == Role::Admin
                    && !t.revoked
                    && (t.pii || !pii)
                    && t.district
                        .as_deref()
                        .is_none_or(|own| Some(own) == district)
            }
        }
    }

    /// [`covers`](Issuer::covers) a stored token, or why not.
    fn check(&self, pii: bool, district: Option<&str>) -> Result<()> {
        if self.covers(pii, district) {
            return Ok(());
        }
        let Issuer::Token(t) = self else {
            return Ok(());
        };
        let why = if t.role != Role::Admin {
            "only an admin token manages tokens".to_owned()
        } else if pii && !t.pii {
            "this token does not see personal data, so it cannot grant or manage pii".to_owned()
        } else {
            format!(
                "this token is limited to {}, so it manages only tokens limited to it",
                t.district.as_deref().unwrap_or_default()
            )
        };
        Err(Error::Forbidden(why))
    }
}

/// A token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub pii: bool,
    pub district: Option<String>,
}

/// The token tree; a cheap `Clone` handle. Calls block (sled): call them
/// from a blocking thread, not from async code, except
/// [`verify_cached`](TokenStore::verify_cached).
#[derive(Debug, Clone)]
pub struct TokenStore {
    tree: sled::Tree,
    verified: Arc<RwLock<Verified>>,
    /// Makes each change durable, and counted, before it is answered.
    watermark: Arc<Watermark>,
}

/// Tokens verified in this process, by hash, so that every request after a
/// token's first is checked without IO. Only this process writes the tree
/// (sled locks the directory), so revoking through this handle is the only
/// way a cached token can go stale, and revoking clears it.
#[derive(Debug, Default)]
struct Verified {
    by_hash: HashMap<[u8; 32], TokenRecord>,
    /// Bumped by every revocation: a verification that read the tree before
    /// one does not cache what it read.
    generation: u64,
}

fn key(space: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(space);
    k.extend_from_slice(rest);
    k
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn decode(k: &[u8], v: &[u8]) -> Result<TokenRecord> {
    serde_json::from_slice(v).map_err(|e| Error::Corrupt {
        key: format!("tokens/{}", String::from_utf8_lossy(k)),
        message: e.to_string(),
    })
}

impl TokenStore {
    /// Opens (creating when missing) the token tree of `store`.
    pub fn open(store: &Store) -> Result<TokenStore> {
        Ok(TokenStore {
            tree: store.db().open_tree("tokens")?,
            verified: Arc::default(),
            watermark: store.inner.watermark.clone(),
        })
    }

    /// Creates a token and returns its record and its secret, which is not
    /// stored and cannot be shown again. Forbidden when the token would grant
    /// more than `by` holds.
    pub fn create(&self, new: NewToken, by: Issuer<'_>) -> Result<(TokenRecord, String)> {
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::invalid(
                "name",
                "a token's name has 1 to 100 characters",
            ));
        }
        let district = new
            .district
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        by.check(new.pii, district.as_deref())?;
        let bytes: [u8; 32] = rand::random();
        let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let record = TokenRecord {
            id: Uuid::now_v7(),
            name,
            role: new.role,
            pii: new.pii,
            district,
            created_at: Utc::now(),
            revoked: false,
            revoked_at: None,
            // A quota is held like a right: a token never holds more than
            // its issuer. Tokens of the command line, or of an admin with
            // pii (who sees phones anyway), have their own.
            draws_on: match by {
                Issuer::Token(issuer) if !issuer.pii => Some(issuer.quota_holder()),
                _ => None,
            },
        };
        let json = serde_json::to_vec(&record).map_err(|e| Error::Corrupt {
            key: format!("tokens/{}", record.id),
            message: e.to_string(),
        })?;
        let mut batch = sled::Batch::default();
        batch.insert(key(RECORD, record.id.as_bytes()), json);
        batch.insert(key(HASH, &hash(&secret)), record.id.as_bytes().to_vec());
        // Written through and fsynced, and counted in the watermark:
        // answered as done, it stays done after a power cut, and sled
        // losing it is found at the next opening.
        self.watermark
            .change(Family::Tokens, || Ok(self.tree.apply_batch(batch)?))?;
        Ok((record, secret))
    }

    /// Every token `by` may see, oldest first, revoked ones included.
    pub fn list(&self, by: Issuer<'_>) -> Result<Vec<TokenRecord>> {
        let mut list = Vec::new();
        for item in self.tree.scan_prefix([RECORD]) {
            let (k, v) = item?;
            let record = decode(&k, &v)?;
            if by.covers(record.pii, record.district.as_deref()) {
                list.push(record);
            }
        }
        Ok(list)
    }

    pub fn get(&self, id: Uuid) -> Result<Option<TokenRecord>> {
        let k = key(RECORD, id.as_bytes());
        self.tree.get(&k)?.map(|v| decode(&k, &v)).transpose()
    }

    /// Revokes a token for good; None when there is no such token or when it
    /// is beyond `by`'s limits: such a token is not listed to `by` either, and
    /// answering otherwise would tell which limit hides it. Revoking twice
    /// keeps the first revocation's time.
    pub fn revoke(&self, id: Uuid, by: Issuer<'_>) -> Result<Option<TokenRecord>> {
        let k = key(RECORD, id.as_bytes());
        let Some(mut record) = self.tree.get(&k)?.map(|v| decode(&k, &v)).transpose()? else {
            return Ok(None);
        };
        if !by.covers(record.pii, record.district.as_deref()) {
            return Ok(None);
        }
        if !record.revoked {
            record.revoked = true;
            record.revoked_at = Some(Utc::now());
            let json = serde_json::to_vec(&record).map_err(|e| Error::Corrupt {
                key: format!("tokens/{id}"),
                message: e.to_string(),
            })?;
            // Durable first, then out of the cache: the cache's lock is not
            // held while the change waits its turn behind audit writes, and
            // a verification that read the token before the change cannot
            // cache it after (the generation moves on).
            self.watermark.change(Family::Tokens, || {
                self.tree.insert(&k, json)?;
                Ok(())
            })?;
            let mut verified = self.verified.write().unwrap_or_else(|e| e.into_inner());
            verified.generation += 1;
            verified.by_hash.retain(|_, r| r.id != id);
        }
        Ok(Some(record))
    }

    /// The record of a live token verified before by this handle (or a clone
    /// of it), without IO; None when it must be verified with
    /// [`verify`](TokenStore::verify).
    pub fn verify_cached(&self, secret: &str) -> Option<TokenRecord> {
        let secret = secret.trim();
        if secret.len() != TOKEN_LEN || !secret.starts_with(PREFIX) {
            return None;
        }
        let verified = self.verified.read().unwrap_or_else(|e| e.into_inner());
        verified.by_hash.get(&hash(secret)).cloned()
    }

    /// The record of a live token; None for a malformed, unknown or revoked one.
    pub fn verify(&self, secret: &str) -> Result<Option<TokenRecord>> {
        let secret = secret.trim();
        if secret.len() != TOKEN_LEN || !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        let hashed = hash(secret);
        let generation = self
            .verified
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .generation;
        let Some(id) = self.tree.get(key(HASH, &hashed))? else {
            return Ok(None);
        };
        let Ok(id) = Uuid::from_slice(&id) else {
            return Ok(None);
        };
        let record = self.get(id)?.filter(|r| !r.revoked);
        if let Some(record) = &record {
            let mut verified = self.verified.write().unwrap_or_else(|e| e.into_inner());
            if verified.generation == generation {
                verified.by_hash.insert(hashed, record.clone());
            }
        }
        Ok(record)
    }
}
