//! `hotline eval --baseline`: two routers scored on the same rows, the change with paired intervals.

use std::path::Path;
use std::process::{Command, Output};

fn hotline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_baseline_is_compared_on_the_same_rows_with_paired_intervals() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rows = [
        ("小区没有电动车充电桩，大家只能飞线充电", "ebike_charging"),
        (
            "楼下烧烤店的油烟直接排到我家窗户，呛得没法开窗",
            "kitchen_fumes",
        ),
        ("快递员从不送货上门，直接放驿站还要收费", "express_delivery"),
        ("老楼电梯三天两头困人，请质监部门来查", "old_elevators"),
        ("公司拖欠我们三个月工资，老板联系不上", "employment"),
        ("家里停水三天了，也没有通知", "other"),
        ("我的车在路边停了十分钟就被贴了罚单，想申诉", "other"),
    ];
    let labelled: Vec<String> = rows
        .iter()
        .map(|(text, topic)| serde_json::json!({"text": text, "topic": topic}).to_string())
        .collect();
    let data = dir.path().join("labelled.jsonl");
    std::fs::write(&data, labelled.join("\n")).unwrap_or_else(|e| panic!("{e}"));
    // The baseline routes a topic only when it is almost sure: it loses
    // topical rows the default router finds.
    let strict = dir.path().join("strict.toml");
    std::fs::write(
        &strict,
        "[router]\ntopic_threshold = 0.99\nother_bias = 8.0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let data_arg = data.to_string_lossy().into_owned();
    let strict_arg = strict.to_string_lossy().into_owned();
    let out = hotline(
        dir.path(),
        &[
            "eval",
            "--data",
            &data_arg,
            "--baseline",
            &strict_arg,
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let c: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(c["baseline"]["rows"], 7, "{c}");
    assert_eq!(c["candidate"]["rows"], 7, "{c}");
    let before = c["baseline"]["routed_recall"].as_f64().unwrap_or(1.0);
    let after = c["candidate"]["routed_recall"].as_f64().unwrap_or(0.0);
    assert!(after > before, "{c}");
    let d = &c["change"]["routed_recall"];
    let (value, low, high) = (
        d["value"].as_f64().unwrap_or(f64::NAN),
        d["low"].as_f64().unwrap_or(f64::NAN),
        d["high"].as_f64().unwrap_or(f64::NAN),
    );
    assert!((value - (after - before)).abs() < 1e-9, "{c}");
    assert!(low <= value && value <= high && low > 0.0, "{c}");

    // The text report says which baseline it compared with.
    let out = hotline(
        dir.path(),
        &["eval", "--data", &data_arg, "--baseline", &strict_arg],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("strict.toml"), "{}", text(&out));
    assert!(text(&out).contains("paired bootstrap"), "{}", text(&out));

    // A baseline that is not there is an error that names it.
    let out = hotline(
        dir.path(),
        &["eval", "--data", &data_arg, "--baseline", "nowhere.toml"],
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("nowhere.toml"), "{}", text(&out));
}
