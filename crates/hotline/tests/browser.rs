//! The dashboard's browser test (tests/e2e/dashboard.mjs) run against this
//! package's own `hotline` binary, so it needs no separate build.
//!
//! It needs Debian's Chromium, Node and `npm ci` in tests/e2e. Without them
//! it says so and passes, unless HOTLINE_E2E is set (as `.ci/run` does after
//! installing them), in which case their absence is a failure.

use std::path::Path;
use std::process::Command;

#[test]
fn dashboard_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let e2e = root.join("tests/e2e");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (!Path::new(&chromium).exists()).then_some("chromium"),
        (!node_ok).then_some("node"),
        (!e2e.join("node_modules/playwright-core").exists())
            .then_some("tests/e2e/node_modules (npm ci)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("HOTLINE_E2E").is_none(),
            "HOTLINE_E2E is set but these are missing: {missing:?}"
        );
        eprintln!("browser test skipped, missing: {missing:?} (see tests/e2e/README.md)");
        return;
    }
    let artifacts = root.join("artifacts/e2e");
    let status = Command::new("node")
        .arg(e2e.join("dashboard.mjs"))
        .env("HOTLINE_BIN", env!("CARGO_BIN_EXE_hotline"))
        .env("ARTIFACTS", &artifacts)
        .env("CHROMIUM", &chromium)
        .status()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    assert!(
        status.success(),
        "the browser test failed; screenshots and server.log are in {}",
        artifacts.display()
    );
}
