#![no_main]
//! Any bytes as a .jsonl import file: rows or row errors, never a panic.
use libfuzzer_sys::fuzz_target;

#[path = "import.rs"]
mod import;

fuzz_target!(|data: &[u8]| import::read_all(data, "jsonl"));
