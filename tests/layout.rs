//! The source tree's rules: no file in `crates/` over 800 lines, and every Rust module (and test module) opens with a `//!` line, every dashboard script with a `//` line, saying what it owns.

use std::path::{Path, PathBuf};

/// Most lines a file in `crates/` may have, tests included.
const MAX_LINES: usize = 800;

/// Files known to be over [`MAX_LINES`], each being split by its own piece
/// of work (issue 14). Temporary: the test fails as soon as one of them is
/// no longer too long (or no longer there), so the entry is removed with
/// the split that fixes it, and the list ends empty.
const STILL_TOO_LONG: &[&str] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, build output and hidden entries left out.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A path relative to the repository, with `/` between its parts.
fn relative(path: &Path) -> String {
    let rel = path.strip_prefix(root()).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The text files under `dir` (binary fixtures have no lines to count).
fn texts(dir: &str) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    files(&root().join(dir), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((relative(&p), text))
        })
        .collect()
}

#[test]
fn no_file_in_crates_is_over_800_lines() {
    let files = texts("crates");
    assert!(
        files.iter().any(|(p, _)| p == "crates/hotline/src/lib.rs"),
        "the walk found the crates"
    );
    let mut too_long = Vec::new();
    let mut fixed = Vec::new();
    for (path, text) in &files {
        let lines = text.lines().count();
        let listed = STILL_TOO_LONG.contains(&path.as_str());
        if lines > MAX_LINES && !listed {
            too_long.push(format!("{path}: {lines} lines"));
        }
        if lines <= MAX_LINES && listed {
            fixed.push(format!("{path}: {lines} lines"));
        }
    }
    for listed in STILL_TOO_LONG {
        if !files.iter().any(|(p, _)| p == listed) {
            fixed.push(format!("{listed}: no longer there"));
        }
    }
    assert!(
        too_long.is_empty(),
        "over {MAX_LINES} lines: split them by role\n{}",
        too_long.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "no longer too long: remove them from STILL_TOO_LONG\n{}",
        fixed.join("\n")
    );
}

#[test]
fn every_module_opens_with_what_it_owns() {
    let mut missing = Vec::new();
    let mut modules = 0;
    for dir in ["crates", "tests"] {
        for (path, text) in texts(dir) {
            // A Rust module opens with `//!`, a dashboard script with `//`.
            let opening = if path.ends_with(".rs") {
                "//!"
            } else if path.ends_with(".js") && path.starts_with("crates/") {
                "// "
            } else {
                continue;
            };
            modules += 1;
            let first = text.lines().next().unwrap_or("");
            let says = first
                .strip_prefix(opening)
                .is_some_and(|rest| !rest.trim().is_empty() && !rest.starts_with('/'));
            if !says {
                missing.push(path);
            }
        }
    }
    assert!(modules > 100, "the walk found the modules ({modules})");
    assert!(
        missing.is_empty(),
        "open these with one `//!` line (`//` for a script) saying what the module owns:\n{}",
        missing.join("\n")
    );
}
