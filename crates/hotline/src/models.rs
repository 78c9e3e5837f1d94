//! Router models installed in a data directory: which one is current, the
//! ones before it, installing a new one and rolling back.
//!
//! Layout: `models/<version>.json` (every installed model, kept), beside it
//! `models/<version>.sha256` (the file's SHA-256, written at install and
//! checked at every load: the version names the training inputs, not the
//! file's bytes, so a damaged file would route under a good model's name),
//! and `models/installed` (one `<version> <sha256>` per line, oldest first;
//! the last line is the current model). The list holds the checksum too, so
//! that losing the `.sha256` file cannot switch the check off: a line with a
//! checksum is checked against it and its sidecar must be there; only a
//! line written before checksums existed (a bare version) is loaded
//! unchecked. No list means the built-in model. Both are replaced
//! by writing a temporary file, syncing it and renaming it, so a crash
//! leaves the old or the new state, never half of one.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The model registry of one data directory.
#[derive(Debug, Clone)]
pub struct ModelRegistry {
    dir: PathBuf,
}

impl ModelRegistry {
    pub fn new(data_dir: &Path) -> ModelRegistry {
        ModelRegistry {
            dir: data_dir.join("models"),
        }
    }

    fn list_path(&self) -> PathBuf {
        self.dir.join("installed")
    }

    fn model_path(&self, version: &str) -> PathBuf {
        self.dir.join(format!("{version}.json"))
    }

    fn checksum_path(&self, version: &str) -> PathBuf {
        self.dir.join(format!("{version}.sha256"))
    }

    /// Installed versions, oldest first; the last is current. Empty: the
    /// built-in model is in use.
    pub fn installed(&self) -> Result<Vec<String>> {
        Ok(self.entries()?.into_iter().map(|e| e.version).collect())
    }

    /// The list's lines: each version with the checksum written beside it
    /// (none on a line from before checksums were listed).
    fn entries(&self) -> Result<Vec<Entry>> {
        let path = self.list_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let mut fields = line.split_whitespace();
            let Some(version) = fields.next() else {
                continue;
            };
            let sha256 = fields.next().map(str::to_owned);
            let well_formed = is_version(version)
                && sha256.as_deref().is_none_or(is_sha256_hex)
                && fields.next().is_none();
            if !well_formed {
                bail!(
                    "{} line {}: not `<version> <sha256>`: the list was damaged or edited",
                    path.display(),
                    number + 1
                );
            }
            entries.push(Entry {
                version: version.to_owned(),
                sha256,
            });
        }
        Ok(entries)
    }

    /// The current installed model's version and JSON, if one is installed.
    pub fn current(&self) -> Result<Option<(String, String)>> {
        let Some(Entry { version, sha256 }) = self.entries()?.pop() else {
            return Ok(None);
        };
        let path = self.model_path(&version);
        let json = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "the installed model {version} is missing ({}); `hotline model rollback` goes back to the one before",
                path.display()
            )
        })?;
        let actual = sha256_hex(json.as_bytes());
        let damaged = |against: &Path| {
            anyhow::anyhow!(
                "the installed model file {} does not match the checksum written when it was installed ({}): it was damaged or edited. `hotline model rollback` goes back to the one before",
                path.display(),
                against.display()
            )
        };
        if sha256.as_deref().is_some_and(|listed| listed != actual) {
            return Err(damaged(&self.list_path()));
        }
        let sums = self.checksum_path(&version);
        match std::fs::read_to_string(&sums) {
            Ok(expected) if expected.trim() != actual => return Err(damaged(&sums)),
            Ok(_) => {}
            // A model listed before checksums were written has none to check;
            // one listed with a checksum must still have its sidecar.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && sha256.is_none() => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "the checksum file of the installed model {version} is missing ({}): the data directory was damaged or edited. `hotline model rollback` goes back to the one before",
                sums.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", sums.display())),
        }
        Ok(Some((version, json)))
    }

    /// Saves a model and makes it current. Installing the current version
    /// again changes nothing.
    pub fn install(&self, version: &str, json: &str) -> Result<()> {
        if !is_version(version) {
            bail!("'{version}' is not a model version (m- and hex digits)");
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let sha256 = sha256_hex(json.as_bytes());
        write_atomically(&self.model_path(version), json.as_bytes())?;
        write_atomically(
            &self.checksum_path(version),
            format!("{sha256}\n").as_bytes(),
        )?;
        let mut list = self.entries()?;
        let entry = Entry {
            version: version.to_owned(),
            sha256: Some(sha256),
        };
        if list.last() == Some(&entry) {
            return Ok(());
        }
        list.retain(|e| e.version != version);
        list.push(entry);
        self.write_list(&list)
    }

    /// Goes back to the model installed before the current one (or to the
    /// built-in model when there was none); the model files stay. Returns the
    /// version now current, `None` for the built-in one.
    pub fn rollback(&self) -> Result<Option<String>> {
        let mut list = self.entries()?;
        if list.pop().is_none() {
            bail!(
                "no model is installed in {}: the built-in model is already in use",
                self.dir.display()
            );
        }
        self.write_list(&list)?;
        Ok(list.last().map(|e| e.version.clone()))
    }

    fn write_list(&self, list: &[Entry]) -> Result<()> {
        let mut text = String::new();
        for entry in list {
            text.push_str(&entry.version);
            if let Some(sha256) = &entry.sha256 {
                text.push(' ');
                text.push_str(sha256);
            }
            text.push('\n');
        }
        write_atomically(&self.list_path(), text.as_bytes())
    }
}

/// One line of the list of installed models.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    version: String,
    sha256: Option<String>,
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `m-` and twelve hex digits, as `hotline_classifier::version_of` makes.
fn is_version(v: &str) -> bool {
    v.strip_prefix("m-")
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error loading the current model must give; panics with `what`
    /// when it loads instead.
    fn load_refusal(registry: &ModelRegistry, what: &str) -> String {
        match registry.current() {
            Ok(c) => panic!("{what}: {c:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn install_and_roll_back_to_the_built_in_model() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let registry = ModelRegistry::new(dir.path());
        assert_eq!(registry.current().ok().flatten(), None);
        assert!(registry.rollback().is_err());
        registry
            .install("m-aaaa", "{\"a\":1}")
            .unwrap_or_else(|e| panic!("{e:#}"));
        registry
            .install("m-bbbb", "{\"b\":1}")
            .unwrap_or_else(|e| panic!("{e:#}"));
        registry
            .install("m-bbbb", "{\"b\":1}")
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            registry.installed().ok(),
            Some(vec!["m-aaaa".to_owned(), "m-bbbb".to_owned()])
        );
        assert_eq!(
            registry.current().ok().flatten(),
            Some(("m-bbbb".to_owned(), "{\"b\":1}".to_owned()))
        );
        assert_eq!(registry.rollback().ok(), Some(Some("m-aaaa".to_owned())));
        assert_eq!(
            registry.current().ok().flatten().map(|c| c.0),
            Some("m-aaaa".to_owned())
        );
        // The rolled-back model's file stays, to install again.
        assert!(dir.path().join("models/m-bbbb.json").exists());
        assert_eq!(registry.rollback().ok(), Some(None));
        assert_eq!(registry.current().ok().flatten(), None);
        assert!(registry.install("../evil", "{}").is_err());
    }

    /// What a bad sector or a hand edit does: the file is still a model,
    /// one number changed. It must not route under the good model's name.
    #[test]
    fn a_model_file_changed_after_install_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let registry = ModelRegistry::new(dir.path());
        let good = "{\"bias\":[-0.15908991,0.5]}";
        registry
            .install("m-aaaa", good)
            .unwrap_or_else(|e| panic!("{e:#}"));
        let file = dir.path().join("models/m-aaaa.json");
        std::fs::write(&file, good.replace("-0.159", "9.159")).unwrap_or_else(|e| panic!("{e}"));
        let refused = load_refusal(&registry, "a changed model file was loaded");
        assert!(refused.contains("m-aaaa.json"), "{refused}");
        assert!(refused.contains("rollback"), "{refused}");
        // Written back as installed: loaded again.
        std::fs::write(&file, good).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            registry.current().ok().flatten(),
            Some(("m-aaaa".to_owned(), good.to_owned()))
        );
    }

    /// What a bad disk or an editor that removes the sidecar does: losing
    /// `<version>.sha256` must not switch the check off, and an edited model
    /// is still refused by the checksum kept in the list.
    #[test]
    fn a_deleted_checksum_file_does_not_switch_the_check_off() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let registry = ModelRegistry::new(dir.path());
        let good = "{\"bias\":[-0.15908991,0.5]}";
        registry
            .install("m-aaaa", good)
            .unwrap_or_else(|e| panic!("{e:#}"));
        let sums = dir.path().join("models/m-aaaa.sha256");
        std::fs::remove_file(&sums).unwrap_or_else(|e| panic!("{e}"));
        let refused = load_refusal(&registry, "a model without its checksum file was loaded");
        assert!(refused.contains("m-aaaa.sha256"), "{refused}");
        assert!(refused.contains("rollback"), "{refused}");

        let file = dir.path().join("models/m-aaaa.json");
        std::fs::write(&file, good.replace("-0.159", "9.159")).unwrap_or_else(|e| panic!("{e}"));
        let refused = load_refusal(
            &registry,
            "an edited model without its checksum file was loaded",
        );
        assert!(refused.contains("m-aaaa.json"), "{refused}");
        assert!(refused.contains("models/installed"), "{refused}");

        // Installing it again writes both back.
        registry
            .install("m-aaaa", good)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            registry.current().ok().flatten(),
            Some(("m-aaaa".to_owned(), good.to_owned()))
        );
    }

    /// A data directory from before checksums were listed: a bare version
    /// and no sidecar loads as it did; a line that is neither is refused
    /// with its place, not read as a version.
    #[test]
    fn a_list_from_before_checksums_loads_and_a_damaged_line_is_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let models = dir.path().join("models");
        std::fs::create_dir_all(&models).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(models.join("m-aaaa.json"), "{}").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(models.join("installed"), "m-aaaa\n").unwrap_or_else(|e| panic!("{e}"));
        let registry = ModelRegistry::new(dir.path());
        assert_eq!(
            registry.current().ok().flatten(),
            Some(("m-aaaa".to_owned(), "{}".to_owned()))
        );
        std::fs::write(models.join("installed"), "m-aaaa\nm-bb\u{0}b zz\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = load_refusal(&registry, "a damaged list was read");
        assert!(refused.contains("installed line 2"), "{refused}");
        assert!(registry.installed().is_err());
    }
}
