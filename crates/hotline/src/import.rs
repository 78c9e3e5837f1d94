//! `hotline import`: streaming, parallel routing, batched durable writes.
//!
//! The reader thread parses rows; a pool of workers (one per core) segments
//! and routes them; the store's writer journals and applies each batch with
//! one fsync. Bounded channels keep memory constant whatever the file size.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hotline_readers::{FieldMap, Format, ImportRow, Reader, RowError};
use hotline_store::{Kind, NewTicket, Submitted, TopicAssignment, TopicSource, Urgency};
use serde::Serialize;

use crate::app::AppState;
use crate::intake::{self, history_of, Intake};
use crate::progress::Progress;

const BATCH: usize = 512;

#[derive(Debug, Default, Serialize)]
pub struct ImportSummary {
    /// Tickets stored by this run, repeats included.
    pub imported: u64,
    pub repeats: u64,
    /// Rows skipped because their external id was already stored.
    pub duplicates: u64,
    pub rejected: u64,
    pub rejected_by_reason: std::collections::BTreeMap<String, u64>,
    pub seconds: f64,
    pub tickets_per_second: f64,
    pub report: Option<PathBuf>,
    /// Files with rejected rows whose bytes read as GBK / GB18030 rather
    /// than UTF-8.
    pub gbk_files: Vec<PathBuf>,
}

impl ImportSummary {
    /// Why the import failed although every file could be opened: every
    /// row was rejected (none stored, none already there).
    pub fn failure(&self) -> Option<String> {
        if self.rejected == 0 || self.imported + self.duplicates > 0 {
            return None;
        }
        let mut message = format!(
            "every row was rejected ({}); nothing was imported",
            self.rejected
        );
        if !self.gbk_files.is_empty() {
            let names: Vec<String> = self
                .gbk_files
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            message.push_str(&format!(
                "; {} looks like GBK/GB18030, not UTF-8: re-save it as UTF-8 (in Excel: CSV UTF-8)",
                names.join(", ")
            ));
        }
        Some(message)
    }
}

/// Whether the start of a file reads as GBK rather than UTF-8.
fn file_looks_like_gbk(path: &Path) -> bool {
    use std::io::Read;
    let mut sample = Vec::with_capacity(64 * 1024);
    match std::fs::File::open(path) {
        Ok(f) => {
            f.take(64 * 1024).read_to_end(&mut sample).is_ok()
                && hotline_readers::looks_like_gbk(&sample)
        }
        Err(_) => false,
    }
}

/// FNV-1a: a stable id for rows that bring none, so re-importing them adds nothing.
fn content_id(row: &ImportRow) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    let received = row.received_at.map(|t| t.to_string()).unwrap_or_default();
    for part in [
        received.as_str(),
        row.title.as_deref().unwrap_or(""),
        row.text.as_str(),
    ] {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    format!("auto:{hash:016x}")
}

/// A row ready for the store, or one whose external id is stored already.
enum Prepared {
    New(Box<NewTicket>),
    Known,
}

/// Rows already stored (a file imported again, or an interrupted import run
/// again) are recognised by their external id before any analysis, so
/// resuming a long import skips its done part at the speed of a lookup. The
/// writer still decides duplicates for the rows that pass here, so the
/// lookup is skipped when the store was empty when the run started: only
/// this run can have stored them.
fn prepare_row(state: &AppState, mut row: ImportRow, look_up_stored: bool) -> Prepared {
    let external_id = row.external_id.take().unwrap_or_else(|| content_id(&row));
    if look_up_stored && matches!(state.store.find_external(&external_id), Ok(Some(_))) {
        return Prepared::Known;
    }
    row.external_id = Some(external_id);
    Prepared::New(Box::new(to_ticket(state, row)))
}

fn to_ticket(state: &AppState, mut row: ImportRow) -> NewTicket {
    // One analyzer for the whole row (a model may be loaded meanwhile).
    let analyzer = state.analyzer();
    // A topic column holds this year's slug or, as exports write it, its name.
    let topic = row.topic.as_deref().map(str::trim).and_then(|t| {
        analyzer
            .taxonomy()
            .topics()
            .iter()
            .find(|topic| topic.slug == t || topic.name == t)
            .map(|known| TopicAssignment::given(known.slug.clone(), TopicSource::Imported))
    });
    let external_id = row.external_id.clone().unwrap_or_else(|| content_id(&row));
    let intake = Intake {
        external_id: Some(external_id),
        received_at: row.received_at,
        channel: row.channel.take().unwrap_or_else(|| "import".to_owned()),
        kind: row
            .kind
            .as_deref()
            .and_then(Kind::parse)
            .unwrap_or(Kind::Complaint),
        urgency: row
            .urgency
            .as_deref()
            .and_then(Urgency::parse)
            .unwrap_or_default(),
        title: row.title.take(),
        text: std::mem::take(&mut row.text),
        caller_name: row.caller_name.take(),
        caller_phone: row.caller_phone.take(),
        address: row.address.take(),
        district: row.district.take(),
        street: row.street.take(),
        topic,
        department: row.department.clone(),
    };
    // A street the gazetteer cannot place here was already refused or, a
    // name two districts share, is left out (`canonical_district`).
    let mut ticket = intake::build(state, &analyzer, intake).ticket;
    // The row's outcomes, under the department the ticket went to.
    ticket.history = history_of(&row, &ticket.department);
    ticket
}

/// A row's district as the gazetteer names it (朝阳 → 朝阳区), and its
/// street (any listed form) by its full name; a district or a street the
/// gazetteer does not know (or a street of another district) rejects the
/// row (a free-text district would reach no district's supervisor and add
/// a row of its own to statistics).
fn canonical_district(state: &AppState, mut row: ImportRow) -> Result<ImportRow, RowError> {
    row.district =
        crate::intake::district_field(state, row.district.as_deref()).map_err(|reason| {
            RowError {
                line: row.line,
                field: Some("district".to_owned()),
                reason,
            }
        })?;
    // A street column names a street of the gazetteer, in the row's
    // district when it has one (its canonical name from here on).
    if let Some(given) = row.street.clone() {
        let analyzer = state.analyzer();
        let gazetteer = analyzer.gazetteer();
        match gazetteer.street(&given, row.district.as_deref()) {
            Ok(m) => row.street = Some(m.street),
            // A name two districts share, in a row without a district: the
            // text decides, as for an operator.
            Err(_)
                if row.district.is_none()
                    && gazetteer.streets().any(|(name, _)| name == given.trim()) => {}
            Err(reason) => {
                return Err(RowError {
                    line: row.line,
                    field: Some("street".to_owned()),
                    reason,
                })
            }
        }
    }
    Ok(row)
}

/// A row's receipt and outcomes are from 2000 on and not in the future,
/// and the outcomes after the receipt (see [`hotline_store::check_time`]);
/// otherwise the row is rejected naming the field, since an outcome before
/// receipt counts as on time.
fn check_times(row: ImportRow) -> Result<ImportRow, RowError> {
    // The receipt itself: from 2000 on and not in the future, as the API
    // reads it (a date of 2099 would also move every default period).
    if let Some(at) = row.received_at {
        hotline_store::check_time(at, None).map_err(|reason| RowError {
            line: row.line,
            field: Some("received_at".to_owned()),
            reason,
        })?;
    }
    for (field, at) in [
        ("dispatched_at", row.dispatched_at),
        ("feedback_at", row.feedback_at),
        ("callback_at", row.callback_at),
        ("closed_at", row.closed_at),
    ] {
        if let Some(at) = at {
            hotline_store::check_time(at, row.received_at).map_err(|reason| RowError {
                line: row.line,
                field: Some(field.to_owned()),
                reason,
            })?;
        }
    }
    Ok(row)
}

/// A row's topic column names one of this year's topics (its slug, or its
/// name as exports write it), and its external id is not longer than an
/// operator's may be; otherwise the row is rejected naming the field (a
/// topic dropped in silence would leave the ticket to the router, counted
/// under another topic than the file says).
fn check_given(state: &AppState, row: ImportRow) -> Result<ImportRow, RowError> {
    if let Some(given) = row
        .topic
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let analyzer = state.analyzer();
        let taxonomy = analyzer.taxonomy();
        if !taxonomy
            .topics()
            .iter()
            .any(|topic| topic.slug == given || topic.name == given)
        {
            return Err(RowError {
                line: row.line,
                field: Some("topic".to_owned()),
                reason: format!(
                    "unknown topic '{given}': not one of the {} topics (a slug or a name of config/topics/{}.toml); leave the column out to let the router decide, or import with the file's year set in [taxonomy]",
                    taxonomy.year, taxonomy.year
                ),
            });
        }
    }
    let known = crate::pii::Known::new(row.caller_name.as_deref(), row.caller_phone.as_deref());
    for (field, value) in [("department", &row.department), ("channel", &row.channel)] {
        if let Some(reason) = value
            .as_deref()
            .and_then(|value| crate::pii::identifier_in_label(value, &known))
        {
            return Err(RowError {
                line: row.line,
                field: Some(field.to_owned()),
                reason,
            });
        }
    }
    if let Some(id) = &row.external_id {
        intake::check_external_id(id).map_err(|reason| RowError {
            line: row.line,
            field: Some("external_id".to_owned()),
            reason,
        })?;
    }
    Ok(row)
}

/// The store options of a bulk load. `hotline import` holds the store's
/// lock, so nobody searches while it runs: the index commits every 200,000
/// tickets and at the end rather than every second, and defers merges
/// (fewer, larger segments). After a crash the index catches up from sled.
pub fn bulk_config(config: &mut crate::config::Config) {
    config.store.index_commit_docs = config.store.index_commit_docs.max(200_000);
    config.store.bulk_load = true;
}

#[derive(Debug)]
pub struct ImportOptions {
    pub files: Vec<PathBuf>,
    /// Caps on what an XLSX file may expand to (`[import]` in the config).
    pub limits: hotline_readers::Limits,
    pub format: Option<Format>,
    pub map: FieldMap,
    pub report: PathBuf,
    pub quiet: bool,
    /// How often a plain progress line is printed when not on a terminal.
    pub progress_every: Duration,
}

pub fn run(state: &AppState, opts: &ImportOptions) -> Result<ImportSummary> {
    let started = Instant::now();
    let mut summary = ImportSummary::default();
    let mut report =
        std::io::BufWriter::new(open_report(&opts.report, state.store.dir(), &opts.files)?);
    writeln!(report, "{REPORT_HEADER}")?;
    // Rows are counted once the store acknowledged them: durable, whatever
    // happens to the process next. The import kill test reads these lines.
    let progress = Progress::new(opts.quiet, opts.progress_every, "rows stored");
    let look_up_stored = !state.store.is_empty()?;
    for path in &opts.files {
        let reader = Reader::open_with_limits(path, opts.format, &opts.map, opts.limits)
            .with_context(|| format!("cannot import {}", path.display()))?;
        let format = reader.format();
        let rejected_before = summary.rejected;
        import_file(
            state,
            reader,
            path,
            &mut summary,
            &mut report,
            &progress,
            look_up_stored,
        )?;
        if summary.rejected > rejected_before && format != Format::Xlsx && file_looks_like_gbk(path)
        {
            tracing::info!(file = %path.display(), "rejected rows: the file looks like gbk, not utf-8");
            summary.gbk_files.push(path.clone());
        }
    }
    report.flush()?;
    state.store.commit_index()?;
    progress.finish();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.tickets_per_second = summary.imported as f64 / summary.seconds.max(1e-9);
    summary.report = (summary.rejected > 0).then(|| opts.report.clone());
    Ok(summary)
}

fn import_file(
    state: &AppState,
    reader: Reader,
    path: &Path,
    summary: &mut ImportSummary,
    report: &mut impl Write,
    progress: &Progress,
    look_up_stored: bool,
) -> Result<()> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(1);
    // Batches of raw rows go round-robin to the workers; results come back in
    // order through one channel per worker, so the store sees file order.
    std::thread::scope(|scope| -> Result<()> {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for _ in 0..workers {
            let (in_tx, in_rx) = sync_channel::<Vec<ImportRow>>(2);
            let (out_tx, out_rx) = sync_channel::<Vec<Prepared>>(2);
            scope.spawn(move || {
                while let Ok(rows) = in_rx.recv() {
                    let tickets = rows
                        .into_iter()
                        .map(|r| prepare_row(state, r, look_up_stored))
                        .collect();
                    if out_tx.send(tickets).is_err() {
                        return;
                    }
                }
            });
            inputs.push(in_tx);
            outputs.push(out_rx);
        }
        let (store_tx, store_rx) = sync_channel::<Vec<Prepared>>(2);
        let writer = scope.spawn(move || -> Result<(u64, u64, u64)> {
            let (mut imported, mut repeats, mut duplicates) = (0, 0, 0);
            while let Ok(batch) = store_rx.recv() {
                let mut new = Vec::with_capacity(batch.len());
                for prepared in batch {
                    match prepared {
                        Prepared::New(ticket) => new.push(*ticket),
                        Prepared::Known => duplicates += 1,
                    }
                }
                if new.is_empty() {
                    progress.set(imported + duplicates);
                    continue;
                }
                for s in state.store.submit(new)? {
                    match s {
                        Submitted::Created(t) => {
                            imported += 1;
                            repeats += u64::from(t.repeat_of.is_some());
                        }
                        Submitted::Duplicate(_) => duplicates += 1,
                    }
                }
                progress.set(imported + duplicates);
            }
            Ok((imported, repeats, duplicates))
        });
        let collector = scope.spawn(move || {
            let mut turn = 0;
            loop {
                match outputs[turn].recv() {
                    Ok(batch) => {
                        if store_tx.send(batch).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
                turn = (turn + 1) % outputs.len();
            }
        });
        let mut batch = Vec::with_capacity(BATCH);
        let mut turn = 0;
        let mut reject = |e: RowError, summary: &mut ImportSummary| -> Result<()> {
            summary.rejected += 1;
            // The summary is printed and counts kinds of damage: its key
            // is the field and the reason without the values it quotes.
            let key = match &e.field {
                Some(field) => format!("{field}: {}", reason_kind(&e.reason)),
                None => reason_kind(&e.reason),
            };
            *summary.rejected_by_reason.entry(key).or_default() += 1;
            // The report names the value (to find and fix the row), with the
            // phone and identity numbers in it masked.
            let clean = |s: &str| crate::pii::mask_free_text(&s.replace(['\t', '\n', '\r'], " "));
            writeln!(
                report,
                "{}\t{}\t{}\t{}",
                path.display(),
                e.line,
                e.field.as_deref().unwrap_or(""),
                clean(&e.reason)
            )?;
            Ok(())
        };
        for item in reader {
            match item
                .and_then(check_times)
                .and_then(|row| check_given(state, row))
                .and_then(|row| canonical_district(state, row))
            {
                Ok(row) => batch.push(row),
                Err(e) => reject(e, summary)?,
            }
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                inputs[turn]
                    .send(full)
                    .map_err(|_| anyhow::anyhow!("import worker stopped"))?;
                turn = (turn + 1) % inputs.len();
            }
        }
        if !batch.is_empty() {
            inputs[turn]
                .send(batch)
                .map_err(|_| anyhow::anyhow!("import worker stopped"))?;
        }
        drop(inputs);
        let _ = collector.join();
        let (imported, repeats, duplicates) = writer
            .join()
            .map_err(|_| anyhow::anyhow!("import writer panicked"))??;
        summary.imported += imported;
        summary.repeats += repeats;
        summary.duplicates += duplicates;
        Ok(())
    })
}

/// Refuses a report path that would truncate a file the import needs: one
/// inside the data directory (the journal, sled's files, the index) or one
/// of the files being imported. Opening the report truncates it, and an
/// import told `--report <data dir>/journal.log` once erased the journal of
/// every acknowledged ticket.
fn check_report_path(report: &Path, data_dir: &Path, files: &[PathBuf]) -> Result<()> {
    // The report may not exist yet: its folder's real path, then its name.
    let resolved = |path: &Path| -> Option<PathBuf> {
        if let Ok(real) = path.canonicalize() {
            return Some(real);
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Some(parent.canonicalize().ok()?.join(path.file_name()?))
    };
    let Some(report_at) = resolved(report) else {
        return Ok(()); // opening it will fail and say why
    };
    if let Ok(dir) = data_dir.canonicalize() {
        anyhow::ensure!(
            !report_at.starts_with(&dir),
            "the report {} would be written inside the data directory {}; choose a path outside it (--report)",
            report.display(),
            data_dir.display()
        );
    }
    for file in files {
        anyhow::ensure!(
            resolved(file).as_deref() != Some(report_at.as_path()),
            "the report {} is the file being imported; choose another path (--report)",
            report.display()
        );
    }
    Ok(())
}

/// The first line of every report: an existing file is overwritten only
/// when it starts so (an earlier report), or is empty.
const REPORT_HEADER: &str = "file\tline\tfield\treason";

/// Opens the report, a file only its owner may read (it quotes rejected
/// values, which may be callers' data): created 0600 on Unix, or an earlier
/// report truncated. Anything else that exists is refused rather than
/// truncated: a link (which the check of its folder cannot see through), a
/// hard link to the journal, the configuration, a model.
fn open_report(path: &Path, data_dir: &Path, files: &[PathBuf]) -> Result<std::fs::File> {
    check_report_path(path, data_dir, files)?;
    let shown = path.display();
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let checked = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // O_EXCL: a link planted meanwhile makes this fail, not follow it.
            options.create_new(true);
            None
        }
        Err(e) => return Err(e).with_context(|| format!("cannot write the report {shown}")),
        Ok(meta) if is_device(&meta) => None, // /dev/null: nothing to truncate
        Ok(meta) => {
            anyhow::ensure!(
                meta.file_type().is_file(),
                "the report {shown} exists and is not a plain file (a link or a folder); choose another path (--report)"
            );
            anyhow::ensure!(
                starts_as_report(path)?,
                "the report {shown} exists and is not an earlier report; choose another path (--report) or remove it first"
            );
            options.truncate(true);
            Some(meta)
        }
    };
    let file = options
        .open(path)
        .with_context(|| format!("cannot write the report {shown}"))?;
    #[cfg(unix)]
    if let Some(meta) = checked {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let opened = file.metadata()?;
        anyhow::ensure!(
            (opened.dev(), opened.ino()) == (meta.dev(), meta.ino()),
            "the report {shown} was replaced while it was opened; run the import again"
        );
        // An earlier report keeps its mode through open: narrow it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = checked;
    Ok(file)
}

/// A character device such as /dev/null, which a report may be sent to.
fn is_device(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileTypeExt::is_char_device(&meta.file_type())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Whether an existing file is empty or begins with the report's header.
fn starts_as_report(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = Vec::with_capacity(REPORT_HEADER.len());
    std::fs::File::open(path)
        .and_then(|f| f.take(REPORT_HEADER.len() as u64).read_to_end(&mut head))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(head.is_empty() || head == REPORT_HEADER.as_bytes())
}

/// A rejection's reason as a kind of damage: a quoted value and all that
/// follows it become `'…'`, numbers `#` (a date, a length), and what
/// follows a bracket or a colon (the lists of what is allowed) is left out.
/// A value may be a caller's, and may itself hold quotes: nothing after the
/// first quote is kept, since where the value ends cannot be told.
fn reason_kind(reason: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in reason.chars() {
        if c == '(' || c == '（' || c == ':' {
            break;
        }
        if c == '\'' {
            out.push_str("'…'");
            break;
        }
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
            continue;
        }
        in_number = false;
        out.push(c);
    }
    out.trim().to_owned()
}
