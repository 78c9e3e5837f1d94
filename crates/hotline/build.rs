//! Bundles the training corpus (training/corpus/*.jsonl) into the binary so the
//! default model can be built anywhere, with no file to find at run time.
use std::{env, fs, path::Path};

fn main() {
    let corpus_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../training/corpus");
    println!("cargo:rerun-if-changed={}", corpus_dir.display());
    let mut files: Vec<_> = fs::read_dir(&corpus_dir)
        .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    let mut code = String::from("/// (file name, contents) of every corpus file, sorted by name.\npub const CORPUS: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&env::var("OUT_DIR").unwrap_or_default()).join("corpus.rs");
    if let Err(e) = fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
