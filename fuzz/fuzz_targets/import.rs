// Shared by the import targets: the reader only opens files, so each input
// is written to a file first, then every row is read.
use std::io::Write;

pub fn read_all(data: &[u8], extension: &str) {
    let path = std::env::temp_dir().join(format!("hotline-fuzz-{}.{extension}", std::process::id()));
    let written = std::fs::File::create(&path).and_then(|mut f| f.write_all(data));
    if written.is_err() {
        return;
    }
    let mut map = hotline_readers::FieldMap::new();
    let _ = map.parse_pair("external_id=id");
    if let Ok(reader) = hotline_readers::Reader::open(&path, None, &map) {
        for row in reader.take(100_000) {
            // Every row is either accepted with text or rejected with a reason.
            match row {
                Ok(r) => assert!(!r.text.trim().is_empty()),
                Err(e) => assert!(!e.reason.is_empty()),
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}
