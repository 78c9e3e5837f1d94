//! `hotline verify`, `salvage`, `compact` and `reindex`: checking and repairing the store (the journal check is verify's first step).

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::guard::{with_state, with_store};
use crate::config::Config;

/// `hotline verify`: the journal first, reading only, then the counters,
/// the deadline queue and the index against a recount. Never repairs.
pub fn verify(config: &Config, data_dir: &Path, json: bool) -> Result<()> {
    // The journal first, reading only: opening the store would cut a
    // torn tail, and refuses a damaged journal.
    let check = hotline_store::Store::check_journal(data_dir)
        .with_context(|| format!("checking the journal in {}", data_dir.display()))?;
    if !check.is_ok() {
        if json {
            println!("{}", serde_json::to_string_pretty(&check)?);
        } else {
            print_journal_check(&check);
        }
        let torn_only = check.missing_bytes == 0
            && !check.salvage_interrupted
            && check
                .damage
                .iter()
                .all(|d| d.kind == hotline_store::DamageKind::TornTail);
        if torn_only {
            bail!(
                "the journal {} ends inside a record, past what sled has applied: an interrupted append (unacknowledged), which opening the store cuts, unless the file was cut short or restored from an older copy, when acknowledged records were there; nothing was changed",
                check.path
            );
        }
        bail!(
            "the journal {} is damaged; nothing was changed (see `hotline salvage`)",
            check.path
        );
    }
    // Opening the store rebuilds a missing index in silence (it is derived
    // from the tickets): verify says so first and changes nothing.
    let index = data_dir.join("index");
    if !index.join("meta.json").is_file() {
        bail!(
            "the search index {} is missing (no meta.json); nothing was changed. No ticket is lost: `hotline reindex`, or any command that opens the store, rebuilds it from the journal",
            index.display()
        );
    }
    let report = with_store(config, data_dir, |store| Ok(store.verify()?))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "journal {} bytes, {} records; tickets {}, counter rows {}, open in the deadline queue {}, indexed {}",
            check.bytes,
            check.records,
            report.tickets,
            report.counter_rows,
            report.queue_entries,
            report.indexed_docs
        );
        for m in report.counter_mismatches.iter().take(20) {
            println!("counter mismatch: {m}");
        }
        for m in report.queue_mismatches.iter().take(20) {
            println!("deadline queue mismatch: {m}");
        }
        for c in report.corrupt_records.iter().take(20) {
            println!("corrupt: {c}");
        }
        if !report.damaged_index_files.is_empty() {
            println!(
                "search index files damaged (their checksums do not match): {}; run `hotline reindex` to rebuild the index from the tickets",
                report.damaged_index_files.join(", ")
            );
        }
        if report.index_missing > 0 {
            println!(
                "{} tickets missing from the index: run `hotline reindex`",
                report.index_missing
            );
        }
    }
    if !report.is_ok() {
        bail!("the store is inconsistent");
    }
    if !json {
        println!("ok: every journal record reads, counters and the deadline queue equal a recount and every ticket is indexed");
    }
    Ok(())
}

/// `hotline salvage`: offline, through `Store::salvage` (which opens and
/// closes the store itself).
pub fn salvage(config: &Config, data_dir: &Path, json: bool) -> Result<()> {
    let report = hotline_store::Store::salvage(data_dir, config.store.clone())
        .with_context(|| format!("salvaging the store in {}", data_dir.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_salvage(&report);
    }
    Ok(())
}

/// `hotline compact`: offline, through `Store::compact`, with progress.
pub fn compact(config: &Config, data_dir: &Path, json: bool) -> Result<()> {
    let progress = crate::progress::Progress::new(
        json,
        std::time::Duration::from_secs(5),
        "tickets rewritten",
    );
    let report = hotline_store::Store::compact(data_dir, config.store.clone(), |n| progress.set(n))
        .with_context(|| format!("compacting the store in {}", data_dir.display()))?;
    progress.finish();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "compacted {} tickets: journal {} → {} bytes",
            report.tickets, report.journal_bytes_before, report.journal_bytes_after
        );
    }
    Ok(())
}

/// `hotline reindex`: the index rebuilt from the store.
pub fn reindex(config: Config, data_dir: &Path) -> Result<()> {
    let n = with_state(config, data_dir, |state| Ok(state.store.reindex()?))?;
    println!("reindexed {n} tickets");
    Ok(())
}

fn print_journal_check(check: &hotline_store::JournalCheck) {
    println!(
        "journal {}: {} bytes, {} readable records, sled has applied {} bytes",
        check.path, check.bytes, check.records, check.applied
    );
    if check.missing_bytes > 0 {
        println!(
            "missing: the journal ends {} bytes before what sled has applied",
            check.missing_bytes
        );
    }
    for d in &check.damage {
        println!(
            "damaged at byte {} ({} bytes): {}",
            d.offset, d.bytes, d.message
        );
    }
    if check.salvage_interrupted {
        println!("a salvage was interrupted: run `hotline salvage` again");
    }
}

fn print_salvage(r: &hotline_store::SalvageReport) {
    if r.nothing_to_do {
        println!(
            "the journal {} is intact ({} records): nothing to salvage",
            r.journal, r.records_kept
        );
        return;
    }
    if r.resumed {
        println!("finished an interrupted salvage (its first run listed what was lost)");
    }
    if let Some(copy) = &r.damaged_copy {
        println!("the damaged journal's bytes are kept in {copy}");
    }
    println!(
        "kept {} records ({} bytes) in {}; tickets {} -> {}",
        r.records_kept, r.bytes_kept, r.journal, r.tickets_before, r.tickets_after
    );
    for l in &r.lost {
        println!(
            "lost {} bytes at byte {}: {}{}",
            l.bytes,
            l.offset,
            l.message,
            if l.tickets.is_empty() {
                String::new()
            } else {
                format!(
                    " (latest version of {})",
                    l.tickets
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    for id in &r.tickets_lost {
        println!("ticket lost: {id}");
    }
    for id in &r.tickets_rolled_back {
        println!("ticket rolled back to an earlier version: {id}");
    }
    for id in &r.tickets_without_index_words {
        println!("ticket kept without its index words: {id}");
    }
}
