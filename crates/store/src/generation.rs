//! Journal generations: the live file, removing the others, fsync so that a switch is on disk.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The journal file of a generation.
pub(crate) fn journal_path(dir: &Path, generation: u64) -> PathBuf {
    if generation == 0 {
        dir.join("journal.log")
    } else {
        dir.join(format!("journal.{generation}.log"))
    }
}

/// The generation a journal file's name gives (`journal.log` is 0,
/// `journal.3.log` 3); None for another file.
pub(crate) fn generation_of(path: &Path) -> Option<u64> {
    let name = path.file_name().and_then(|n| n.to_str())?;
    if name == "journal.log" {
        return Some(0);
    }
    name.strip_prefix("journal.")
        .and_then(|n| n.strip_suffix(".log"))
        .and_then(|g| g.parse::<u64>().ok())
}

/// Every journal file in `dir`, of any generation.
pub(crate) fn journal_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = Error::io_at(dir);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if generation_of(&path).is_some() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The journal files in `dir` that hold bytes, with their lengths: what a
/// sled lost or made anew must account for (an empty file holds nothing).
pub(crate) fn non_empty_journals(dir: &Path) -> Result<Vec<(PathBuf, u64)>> {
    let mut found = Vec::new();
    for file in journal_files(dir)? {
        let len = std::fs::metadata(&file).map_err(Error::io_at(&file))?.len();
        if len > 0 {
            found.push((file, len));
        }
    }
    Ok(found)
}

/// Removes the journal files of other generations than the live one: the
/// new file of a compaction that stopped before sled switched to it, or the
/// old file of one that stopped after. Neither holds anything sled points at.
/// When the live file itself is missing or shorter than sled has applied
/// (`applied`), nothing is removed and the others are named: one of them
/// may be all that is left of the tickets (the file of the generation
/// before a compaction, the live one lost or cut).
pub(crate) fn remove_other_journals(dir: &Path, generation: u64, applied: u64) -> Result<()> {
    let io = Error::io_at(dir);
    let live = journal_path(dir, generation);
    refuse_lost_live_journal(dir, generation, applied)?;
    for path in journal_files(dir)? {
        if path != live {
            tracing::info!(file = %path.display(), "removing the journal of an interrupted compaction");
            std::fs::remove_file(&path).map_err(io)?;
        }
    }
    Ok(())
}

/// fsyncs a directory (a file created or removed in it) or a file.
pub(crate) fn sync_path(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(Error::io_at(path))
}

/// Flushes `tree` and fsyncs sled's log (`<data dir>/sled/db`) and its
/// folder: sled 0.34's flush writes but does not fsync (see journal.rs).
/// For the few records that do not go through the journal, tokens and the
/// audit log, whose loss in a power cut would bring a revoked token back or
/// drop the trace of a read of personal data. (Values over a quarter of
/// sled's segment go to `sled/blobs`, which this leaves out: tokens and
/// audit entries are a few hundred bytes.)
pub(crate) fn flush_durably(tree: &sled::Tree, data_dir: &Path) -> Result<()> {
    tree.flush()?;
    let sled = data_dir.join("sled");
    sync_path(&sled.join("db"))?;
    sync_path(&sled)
}

/// fsyncs every file and directory under sled's directory: sled 0.34's
/// flush writes but does not fsync (see journal.rs), and a compaction must
/// know that sled's switch to the new journal is on disk before it deletes
/// the old one.
pub(crate) fn sync_tree(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(Error::io_at(dir))? {
        let path = entry.map_err(Error::io_at(dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            sync_path(&path)?;
        }
    }
    sync_path(dir)
}

/// Refuses when the live journal of `generation` is missing, or shorter
/// than the `applied` offset sled has applied, while files of other
/// generations hold bytes: one of them may be all that is left of the
/// tickets (the file of the generation before a compaction, the live one
/// lost, emptied or cut), and neither opening nor salvage may remove it or
/// rebuild without it.
pub(crate) fn refuse_lost_live_journal(dir: &Path, generation: u64, applied: u64) -> Result<()> {
    let live = journal_path(dir, generation);
    let live_len = std::fs::metadata(&live).map(|m| m.len()).ok();
    if live_len.is_some_and(|len| len >= applied) {
        return Ok(());
    }
    let others: Vec<(PathBuf, u64)> = non_empty_journals(dir)?
        .into_iter()
        .filter(|(path, _)| *path != live)
        .collect();
    if !others.is_empty() {
        let named: Vec<String> = others
            .iter()
            .map(|(path, len)| format!("{} ({len} bytes)", path.display()))
            .collect();
        return Err(Error::Corrupt {
            key: live.display().to_string(),
            message: format!(
                "the live journal {} is {}; {} of another generation {} present and may be all that is left of the tickets. Nothing was changed and nothing removed: restore {} from a backup, or keep a copy of the data directory and ask for help; do not delete those files",
                live.display(),
                match live_len {
                    None => "missing".to_owned(),
                    Some(len) => format!("shorter ({len} bytes) than sled has applied ({applied})"),
                },
                named.join(", "),
                if named.len() == 1 { "is" } else { "are" },
                live.display(),
            ),
        });
    }
    Ok(())
}
