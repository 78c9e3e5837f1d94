//! The watermark of the records only sled holds (API tokens and the audit
//! log): how many changes each has had, counted in sled and in a small
//! fsynced file beside it, so that sled coming back without its last
//! changes (a damaged message in its log ends its replay there, silently)
//! is found at open instead of bringing a revoked token back.
//!
//! Tickets need no such mark: the journal holds them and replays what sled
//! lost. Tokens and audit entries are in sled alone. Each change runs under
//! one lock: the change's batch, then its counter in the `watermark` tree
//! (after it in sled's log, so a tail lost takes the counter with the
//! change), `generation::flush_durably`, then the counters written to
//! `watermark` in the data directory and fdatasynced. The file is never
//! ahead of what sled has made durable; at open, sled behind the file is
//! damage, and the store is not opened.
//!
//! The file holds two slots of 28 bytes (a sequence number, the two
//! counters, a CRC-32), written in turn, so a write torn by a crash leaves
//! the other slot whole: the newest whole slot is the mark.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Which record family a change belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Tokens,
    Audit,
}

impl Family {
    fn key(self) -> &'static [u8] {
        match self {
            Family::Tokens => b"tokens",
            Family::Audit => b"audit",
        }
    }
}

const FILE: &str = "watermark";
const SLOT: usize = 28;

/// Counts of changes, per family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    tokens: u64,
    audit: u64,
}

impl Counts {
    fn get(&self, family: Family) -> u64 {
        match family {
            Family::Tokens => self.tokens,
            Family::Audit => self.audit,
        }
    }

    fn set(&mut self, family: Family, n: u64) {
        match family {
            Family::Tokens => self.tokens = n,
            Family::Audit => self.audit = n,
        }
    }
}

struct State {
    file: File,
    counts: Counts,
    seq: u64,
}

/// The lock every token and audit change takes, and the mark it keeps.
pub(crate) struct Watermark {
    tree: sled::Tree,
    /// The data directory (sled's log is fsynced under it) and the file.
    dir: PathBuf,
    path: PathBuf,
    state: Mutex<State>,
}

impl std::fmt::Debug for Watermark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watermark")
            .field("path", &self.path)
            .finish()
    }
}

fn encode(seq: u64, c: Counts) -> [u8; SLOT] {
    let mut slot = [0u8; SLOT];
    slot[..8].copy_from_slice(&seq.to_be_bytes());
    slot[8..16].copy_from_slice(&c.tokens.to_be_bytes());
    slot[16..24].copy_from_slice(&c.audit.to_be_bytes());
    let crc = crc32fast::hash(&slot[..24]);
    slot[24..].copy_from_slice(&crc.to_be_bytes());
    slot
}

fn decode(slot: &[u8]) -> Option<(u64, Counts)> {
    let slot: &[u8; SLOT] = slot.try_into().ok()?;
    let crc = u32::from_be_bytes(slot[24..].try_into().ok()?);
    if crc32fast::hash(&slot[..24]) != crc {
        return None;
    }
    let word = |i: usize| slot[i..i + 8].try_into().ok().map(u64::from_be_bytes);
    Some((
        word(0)?,
        Counts {
            tokens: word(8)?,
            audit: word(16)?,
        },
    ))
}

/// The newest whole slot of the file's bytes.
fn newest(bytes: &[u8]) -> Option<(u64, Counts)> {
    bytes
        .chunks(SLOT)
        .filter_map(decode)
        .max_by_key(|(seq, _)| *seq)
}

fn read_count(tree: &sled::Tree, family: Family) -> Result<u64> {
    Ok(tree
        .get(family.key())?
        .and_then(|v| v.as_ref().try_into().ok())
        .map_or(0, u64::from_be_bytes))
}

impl Watermark {
    /// Opens the mark of the store in `dir`, whose sled is `db`: refuses
    /// when sled holds fewer token or audit changes than the file says were
    /// made durable. A store without the file (written before it, or new)
    /// gets one from what sled holds; so does a sled that holds no token and
    /// no audit entry at all (moved aside and made anew, as the sled damage
    /// message advises: every token is gone then, none comes back revoked).
    pub(crate) fn open(db: &sled::Db, dir: &Path) -> Result<Watermark> {
        let tree = db.open_tree("watermark")?;
        let path = dir.join(FILE);
        let in_sled = Counts {
            tokens: read_count(&tree, Family::Tokens)?,
            audit: read_count(&tree, Family::Audit)?,
        };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io_at(&path)(e)),
        };
        let fresh_sled = db.open_tree("tokens")?.is_empty() && db.open_tree("audit")?.is_empty();
        let newest_in_file = bytes.as_deref().map(newest);
        // The file's sequence goes on from its newest slot whatever happens
        // below, so that no older slot can ever read as the newest again.
        let file_seq = newest_in_file.flatten().map_or(0, |(seq, _)| seq);
        let counts = match newest_in_file {
            Some(Some((_, marked))) if !fresh_sled => {
                if in_sled.tokens < marked.tokens || in_sled.audit < marked.audit {
                    return Err(Error::Corrupt {
                        key: format!("{} (API tokens and audit log)", dir.join("sled").display()),
                        message: format!(
                            "sled holds {} token change(s) and {} audit batch(es), but {} records that {} and {} were made durable: sled lost its last changes (a damaged log, or a `sled` restored from a backup without its `watermark`), so a revoked token could be live again and audit entries are missing. Restore the data directory (`sled` and `watermark` together) from a backup. To open it anyway, remove {} and then revoke and reissue every token",
                            in_sled.tokens, in_sled.audit, path.display(), marked.tokens, marked.audit, path.display()
                        ),
                    });
                }
                in_sled
            }
            Some(None) if !fresh_sled => {
                return Err(Error::Corrupt {
                    key: path.display().to_string(),
                    message: format!(
                        "neither slot of the watermark reads (both fail their checksum): sled's API tokens and audit log cannot be checked. Restore the data directory from a backup, or remove {} to open it as it is",
                        path.display()
                    ),
                });
            }
            _ if fresh_sled => {
                if in_sled != Counts::default() || bytes.is_some() {
                    tracing::warn!(
                        "sled holds no API token and no audit entry: watermark started again"
                    );
                }
                Counts::default()
            }
            // No file: a store written before the mark, or a file removed
            // on purpose (as the refusal above advises). Armed again from
            // what sled holds; said, since a file lost by the file system
            // turned the check off until now.
            _ => {
                if in_sled != Counts::default() {
                    tracing::warn!(path = %path.display(), "watermark file missing while sled counts token and audit changes: armed again from sled");
                }
                in_sled
            }
        };
        if fresh_sled {
            let mut batch = sled::Batch::default();
            batch.remove(Family::Tokens.key());
            batch.remove(Family::Audit.key());
            tree.apply_batch(batch)?;
            crate::generation::flush_durably(&tree, dir)?;
        }
        // Both slots written afresh, to a file put in place whole (a
        // temporary file, fsynced, renamed), so that a kill while it is made
        // leaves the old file or the new one, never an empty or torn one.
        let seq = file_seq + 2;
        let staged = dir.join(format!("{FILE}.new"));
        let io = Error::io_at(&staged);
        std::fs::write(
            &staged,
            [encode(seq - 1, counts), encode(seq, counts)].concat(),
        )
        .map_err(io)?;
        File::open(&staged).and_then(|f| f.sync_all()).map_err(io)?;
        std::fs::rename(&staged, &path).map_err(io)?;
        crate::generation::sync_path(dir)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(Error::io_at(&path))?;
        Ok(Watermark {
            tree,
            dir: dir.to_owned(),
            path,
            state: Mutex::new(State { file, counts, seq }),
        })
    }

    /// Makes one change of `family` durable: `apply` writes it to sled,
    /// then its counter follows in sled, sled's log is fsynced, and the
    /// file is written. Changes of both families are serialised here.
    pub(crate) fn change<T>(&self, family: Family, apply: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let out = apply()?;
        let n = state.counts.get(family) + 1;
        self.tree.insert(family.key(), &n.to_be_bytes())?;
        crate::generation::flush_durably(&self.tree, &self.dir)?;
        state.counts.set(family, n);
        self.write(&mut state)?;
        Ok(out)
    }

    /// Writes the counts to the next slot and fdatasyncs it.
    fn write(&self, state: &mut State) -> Result<()> {
        state.seq += 1;
        let slot = encode(state.seq, state.counts);
        let at = (state.seq % 2) * SLOT as u64;
        let io = Error::io_at(&self.path);
        state.file.write_all_at(&slot, at).map_err(io)?;
        state.file.sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{Issuer, NewToken, Role, TokenStore};
    use crate::{Store, StoreConfig};

    fn open(dir: &Path) -> Result<(Store, TokenStore)> {
        let store = Store::open(dir, StoreConfig::default())?;
        let tokens = TokenStore::open(&store)?;
        Ok((store, tokens))
    }

    /// The attack: a token is revoked (answered as done, fsynced), then one
    /// byte of sled's log in the revocation's message is flipped while the
    /// store is stopped. sled's replay ends there without a word, and the
    /// token would be live again; the watermark refuses the opening instead.
    /// Removing the file, as the refusal says, opens the store and shows
    /// what was refused: the token unrevoked.
    #[test]
    fn a_revocation_that_sled_lost_to_damage_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (store, tokens) = open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let new = NewToken {
            name: "victim".into(),
            role: Role::Admin,
            pii: true,
            district: None,
        };
        let (record, _) = tokens
            .create(new, Issuer::Local)
            .unwrap_or_else(|e| panic!("{e}"));
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop((store, tokens));
        let (store, tokens) = open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        tokens
            .revoke(record.id, Issuer::Local)
            .unwrap_or_else(|e| panic!("{e}"));
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop((store, tokens));
        let revoked = |tokens: &TokenStore| {
            tokens
                .get(record.id)
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some_and(|r| r.revoked)
        };
        let log = dir.path().join("sled").join("db");
        let mut bytes = std::fs::read(&log).unwrap_or_else(|e| panic!("{e}"));
        let needle = br#""revoked":true"#;
        let at = (0..bytes.len() - needle.len())
            .rev()
            .find(|&i| &bytes[i..i + needle.len()] == needle)
            .unwrap_or_else(|| panic!("no revocation in sled's log"));
        bytes[at - 5] ^= 1;
        std::fs::write(&log, bytes).unwrap_or_else(|e| panic!("{e}"));

        let refused = match open(dir.path()) {
            Ok(_) => panic!("a store whose sled lost a revocation was opened"),
            Err(e) => e.to_string(),
        };
        assert!(
            refused.contains("a revoked token could be live again")
                && refused.contains("watermark"),
            "{refused}"
        );
        std::fs::remove_file(dir.path().join(FILE)).unwrap_or_else(|e| panic!("{e}"));
        let (store, tokens) = open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !revoked(&tokens),
            "the damage this test makes did not undo the revocation"
        );
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    }

    fn create(tokens: &TokenStore, name: &str) {
        let new = NewToken {
            name: name.into(),
            role: Role::Operator,
            pii: false,
            district: None,
        };
        tokens
            .create(new, Issuer::Local)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// No false refusal where a kill may land: a sled made anew by hand (as
    /// the sled damage message advises), then a change whose file write a
    /// kill prevented (the file as it was before the change). The file's
    /// older slots, from before sled was made anew, must not read as newer.
    #[test]
    fn a_sled_made_anew_then_a_kill_before_the_files_write_opens() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (store, tokens) = open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        for name in ["a", "b", "c"] {
            create(&tokens, name);
        }
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop((store, tokens));
        let sled = dir.path().join("sled");
        std::fs::rename(&sled, dir.path().join("sled.aside")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(&sled).unwrap_or_else(|e| panic!("{e}"));
        let (store, tokens) = open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let before = std::fs::read(dir.path().join(FILE)).unwrap_or_else(|e| panic!("{e}"));
        create(&tokens, "d");
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
        drop((store, tokens));
        std::fs::write(dir.path().join(FILE), before).unwrap_or_else(|e| panic!("{e}"));
        let (store, tokens) = open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = tokens
            .list(Issuer::Local)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, vec!["d".to_owned()]);
        store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_torn_slot_leaves_the_other() {
        let a = encode(
            7,
            Counts {
                tokens: 3,
                audit: 9,
            },
        );
        let b = encode(
            8,
            Counts {
                tokens: 4,
                audit: 9,
            },
        );
        let mut file = [a, b].concat();
        assert_eq!(newest(&file).map(|(s, c)| (s, c.tokens)), Some((8, 4)));
        file[SLOT + 10] ^= 1;
        assert_eq!(newest(&file).map(|(s, c)| (s, c.tokens)), Some((7, 3)));
        file[3] ^= 1;
        assert_eq!(newest(&file), None);
        assert_eq!(newest(&file[..SLOT - 1]), None);
    }
}
