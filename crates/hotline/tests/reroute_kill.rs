//! `hotline reroute` killed part-way, ten times, then run to the end: the
//! counters equal a recount (`verify`), every change is recorded once, and
//! every ticket the new model routes elsewhere was moved.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hotline");

fn hotline(data: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "hotline {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn reroute_killed_ten_times_records_each_change_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let report = dir.path().join("rejects.tsv");
    let report = report.to_string_lossy().into_owned();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/import/history_labelled.csv"
    );
    // A newer model, learnt from labelled history in another directory.
    let labelled = dir.path().join("labelled");
    hotline(&labelled, &["import", fixture, "--report", &report]);
    hotline(&labelled, &["train", "--from-store"]);

    // The same complaints, unlabelled, ten times over: the built-in model
    // routes most of the garden ones to `other`, the newer one to `parks`.
    let history = std::fs::read_to_string(fixture).unwrap_or_else(|e| panic!("{e}"));
    let mut csv = String::from("工单编号,受理时间,标题,诉求内容,区,诉求类型\n");
    let mut garden = 0;
    for copy in 0..10 {
        for line in history.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            if fields[6] == "公园管理服务优化" {
                garden += 1;
            }
            csv.push_str(&format!(
                "C{copy}-{},{}\n",
                fields[0],
                fields[1..6].join(",")
            ));
        }
    }
    let unlabelled = dir.path().join("unlabelled.csv");
    std::fs::write(&unlabelled, csv).unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    hotline(
        &data,
        &["import", &unlabelled.to_string_lossy(), "--report", &report],
    );
    let copy_models = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
        for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{e}")) {
            let entry = entry.unwrap_or_else(|e| panic!("{e}"));
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    };
    copy_models(&labelled.join("models"), &data.join("models"));

    for round in 0..10u64 {
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(&data)
            .args(["reroute", "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        // Start-up takes part of it; the kills land at different points of the work.
        std::thread::sleep(Duration::from_millis(150 + 97 * round));
        let _ = child.kill();
        let _ = child.wait();
    }
    let last = hotline(&data, &["reroute", "--json"]);
    let summary: serde_json::Value =
        serde_json::from_slice(&last.stdout).unwrap_or_else(|e| panic!("{e}"));
    hotline(&data, &["verify"]);

    let config = hotline::config::Config::load(None).unwrap_or_else(|e| panic!("{e:#}"));
    let store =
        hotline_store::Store::open(&data, config.store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let (mut on_parks, mut moved) = (0, 0);
    for ticket in store.tickets() {
        let ticket = ticket.unwrap_or_else(|e| panic!("{e}"));
        let reroutes = ticket
            .events
            .iter()
            .filter(|e| {
                matches!(
                    &e.body,
                    hotline_store::EventBody::TopicChanged {
                        rerouted_by: Some(_),
                        ..
                    }
                )
            })
            .count();
        assert!(reroutes <= 1, "{} rerouted {reroutes} times", ticket.id);
        if ticket.topic.slug == "parks" {
            on_parks += 1;
            // Either the built-in model already chose it at intake, or the
            // newer one moved it, once.
            if reroutes == 1 {
                assert_eq!(ticket.topic.model.as_deref(), summary["model"].as_str());
                moved += 1;
            }
        } else {
            assert_eq!(reroutes, 0, "{} moved off parks", ticket.id);
        }
    }
    store.shutdown().unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    assert_eq!(on_parks, garden, "{summary}");
    // Most were the newer model's work, spread over the killed runs.
    assert!(
        moved * 2 > garden,
        "only {moved} of {garden} rerouted: {summary}"
    );
    // The last run found the work of the killed ones done, and nothing is left.
    let again = hotline(&data, &["reroute", "--json"]);
    let again: serde_json::Value =
        serde_json::from_slice(&again.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again["changed"], 0, "{again}");
}
