//! The API document (OpenAPI 3.0): written by hand as JSON, one file per resource under `openapi/`, assembled once into the document served at `/api/v1/openapi.json`.

use std::sync::OnceLock;

use serde_json::{Map, Value};

/// Everything but the paths: version, info, components, security.
const DOCUMENT: &str = include_str!("openapi/document.json");

/// The paths, by resource (as the handlers are split in `server/`).
const PATHS: &[(&str, &str)] = &[
    ("tickets.json", include_str!("openapi/tickets.json")),
    ("search.json", include_str!("openapi/search.json")),
    ("stats.json", include_str!("openapi/stats.json")),
    ("model.json", include_str!("openapi/model.json")),
    ("admin.json", include_str!("openapi/admin.json")),
    ("meta.json", include_str!("openapi/meta.json")),
    ("dispatch.json", include_str!("openapi/dispatch.json")),
];

/// The files put together: the paths of every file under `paths`. A file
/// that is not a JSON object, or a path written in two files, is an error
/// naming the file (the tests assemble the document, so it never reaches a
/// running server).
pub fn assemble() -> Result<Value, String> {
    let mut document: Value =
        serde_json::from_str(DOCUMENT).map_err(|e| format!("openapi/document.json: {e}"))?;
    let mut paths = Map::new();
    for (file, text) in PATHS {
        let part: Map<String, Value> =
            serde_json::from_str(text).map_err(|e| format!("openapi/{file}: {e}"))?;
        for (path, item) in part {
            if paths.insert(path.clone(), item).is_some() {
                return Err(format!("openapi/{file}: {path} is written twice"));
            }
        }
    }
    document["paths"] = Value::Object(paths);
    Ok(document)
}

/// The document as served, assembled at first use.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| assemble().unwrap_or_else(|e| panic!("the API document: {e}")))
}

/// The document's text, serialised once.
pub fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| serde_json::to_string_pretty(document()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_assemble_into_one_document() {
        let doc = assemble().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["components"]["schemas"]["Error"].is_object());
        let paths = doc["paths"].as_object().map_or(0, Map::len);
        let written: usize = PATHS
            .iter()
            .map(|(_, text)| {
                serde_json::from_str::<Map<String, Value>>(text).map_or(0, |m| m.len())
            })
            .sum();
        assert_eq!(paths, written, "every path of every file, none twice");
        let again: Value = serde_json::from_str(text()).unwrap_or_default();
        assert_eq!(&again, document());
    }
}
