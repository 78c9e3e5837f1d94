//! The dashboard's static files, compiled into the binary and served without
//! a token (the page signs in with one and sends it on every API call).

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::app::AppState;

/// One file of the dashboard: where it is served, its type, its text.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($file:literal, $content_type:expr) => {
        Asset {
            path: concat!("/", $file),
            content_type: $content_type,
            body: include_str!(concat!("../assets/", $file)),
        }
    };
}

/// Every file the page loads: the page, its style, and its script modules
/// (`app.js` imports the others), one per role.
pub const FILES: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("periods.js", JS),
    asset!("names.js", JS),
    asset!("charts.js", JS),
    asset!("stats.js", JS),
    asset!("model.js", JS),
    asset!("dispatch.js", JS),
    asset!("hotspots.js", JS),
    asset!("search.js", JS),
    asset!("ticket.js", JS),
    asset!("intake.js", JS),
];

/// Scripts and styles from this server only; the page shows callers' texts,
/// so nothing else may run in it, frame it or receive its data.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

fn file(asset: Asset) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        asset.body,
    )
}

/// `/` (the page) and every file of [`FILES`] at its path.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for &asset in FILES {
        router = router.route(asset.path, get(move || async move { file(asset) }));
        if asset.path == "/index.html" {
            router = router.route("/", get(move || async move { file(asset) }));
        }
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module a script imports is served, and every script opens with
    /// one line saying what it owns.
    #[test]
    fn every_imported_module_is_served() {
        let served = |path: &str| FILES.iter().any(|a| a.path == path);
        for asset in FILES.iter().filter(|a| a.content_type == JS) {
            assert!(
                asset.body.starts_with("// ") && !asset.body.starts_with("// \n"),
                "{}: opens with a `//` line saying what it owns",
                asset.path
            );
            for line in asset.body.lines().filter(|l| l.starts_with("import ")) {
                let module = line
                    .split(" from './")
                    .nth(1)
                    .and_then(|rest| rest.strip_suffix("';"))
                    .unwrap_or_else(|| panic!("{}: '{line}' imports ./name.js", asset.path));
                assert!(
                    served(&format!("/{module}")),
                    "{} imports {module}, which is not served",
                    asset.path
                );
            }
        }
        assert!(served("/app.js") && served("/index.html") && served("/style.css"));
    }

    /// No file of the assets folder is left unserved (a new module forgotten here).
    #[test]
    fn every_file_of_the_folder_is_served() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets");
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for entry in entries {
            let name = entry.unwrap_or_else(|e| panic!("{e}")).file_name();
            let name = name.to_string_lossy();
            assert!(
                FILES
                    .iter()
                    .any(|a| a.path.strip_prefix('/') == Some(&*name)),
                "assets/{name} is not in FILES"
            );
        }
    }
}
