//! The router: clear cases, confusable ones, explanations, determinism, bad input.

use hotline_classifier::{parse_labelled, Analyzer, Error, Example, Model, Segmenter, TrainParams};
use hotline_suite::analyzer;

fn topic_of(text: &str) -> String {
    analyzer().analyze(None, text).routing.topic
}

#[test]
fn domain_dictionary_keeps_hotline_words_whole() {
    let segmenter = analyzer();
    let seg = segmenter
        .segmenter()
        .segment("小区没有电动车充电桩，大家只能飞线充电，业委会也不管");
    let words: Vec<&str> = seg.words().collect();
    for w in ["充电桩", "飞线充电", "业委会"] {
        assert!(words.contains(&w), "{w} was split: {words:?}");
    }
    let seg = segmenter.segmenter().segment("医院门口有号贩子倒卖专家号");
    assert!(seg.words().any(|w| w == "号贩子"), "{:?}", seg.joined());
}

#[test]
fn clear_cases_reach_their_topic() {
    let cases = [
        ("小区没有电动车充电桩，大家只能飞线充电", "ebike_charging"),
        (
            "楼下烧烤店的油烟直接排到我家窗户，呛得没法开窗",
            "kitchen_fumes",
        ),
        ("邻居遛狗从来不牵绳，昨天把小孩吓哭了", "dogs"),
        ("快递员不送货上门，直接放驿站还不通知", "express_delivery"),
        (
            "我们楼的电梯用了二十多年，这个月已经困人三次了",
            "old_elevators",
        ),
        (
            "物业费今年突然上涨，物业公司也不公示收支",
            "property_management",
        ),
        (
            "健身房突然关门跑路，我办的年卡和私教课都没退",
            "sports_prepaid",
        ),
        ("医院挂号窗口有号贩子倒卖专家号", "medical_order"),
        ("参加旅行社的一日游被导游强制购物", "travel_agencies"),
        ("工地老板拖欠我们农民工工资三个月了", "employment"),
        (
            "学校门口放学时接孩子的车乱停，堵得水泄不通",
            "school_traffic",
        ),
        ("公园的厕所太少还经常锁门，晚上也没有路灯", "parks"),
        (
            "小区停车位太少，希望附近写字楼的停车场晚上能错时共享给居民",
            "shared_parking",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(topic_of(text), expected, "{text}");
    }
}

#[test]
fn confusable_cases_stay_other() {
    let cases = [
        "我的车在路边停了十分钟就被贴了罚单，想申诉",
        "附近工厂烟囱每天冒黑烟，气味很大",
        "电影院的储值卡突然不能用了，要求退款",
        "写字楼的电梯经常坏，上班要爬二十层",
        "医院收费单上多收了两项检查费",
        "家里停水三天了，也没有通知",
    ];
    // A short text that shares a topic's words may still pass the topic
    // threshold (a real letter needs it low); it must then be flagged.
    for text in cases {
        let routing = analyzer().analyze(None, text).routing;
        assert!(
            routing.topic == "other" || routing.needs_review,
            "{text}: {} at {:.2} without review",
            routing.topic,
            routing.confidence
        );
    }
}

#[test]
fn routing_is_explained_and_always_a_configured_slug() {
    let a = analyzer();
    let r = a
        .analyze(None, "小区没有电动车充电桩，大家只能飞线充电")
        .routing;
    assert_eq!(r.department, "市城市管理委");
    assert!(
        r.deciding_words
            .iter()
            .any(|w| w == "充电桩" || w == "飞线充电"),
        "{:?}",
        r.deciding_words
    );
    assert!(r.confidence > 0.5 && r.confidence <= 1.0);
    assert_eq!(r.top.len(), 3);
    assert!(r.top.windows(2).all(|w| w[0].score >= w[1].score));
    let slugs: Vec<&str> = a
        .taxonomy()
        .topics()
        .iter()
        .map(|t| t.slug.as_str())
        .collect();
    for text in [
        "",
        "   ",
        "hello world 123",
        "！！！？？",
        &"电梯".repeat(50_000),
    ] {
        let r = a.analyze(None, text).routing;
        assert!(slugs.contains(&r.topic.as_str()), "{} not a slug", r.topic);
        assert!((0.0..=1.0).contains(&r.confidence));
    }
    assert_eq!(a.analyze(None, "hello world").routing.topic, "other");
}

/// The prebuilt model (training/model/default.json) was trained on exactly
/// today's corpus, sources and parameters: editing any of them without
/// rebuilding it fails here, with the command that rebuilds it.
#[test]
fn the_prebuilt_model_matches_the_corpus() {
    let config = hotline::config::Config::load(None).unwrap_or_else(|e| panic!("{e}"));
    let examples = hotline::engine::builtin_examples().unwrap_or_else(|e| panic!("{e:#}"));
    let wanted = hotline::engine::with_sources(&config, |sources| {
        Ok(hotline_classifier::fingerprint(
            sources,
            &examples,
            &TrainParams::default(),
        ))
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    // The compiled-in file itself: the engine would quietly train instead
    // of loading a stale one, so its own analyzer proves nothing here.
    let prebuilt = Model::from_json(hotline::builtin::DEFAULT_MODEL, analyzer().taxonomy())
        .unwrap_or_else(|e| panic!("training/model/default.json: {e}"));
    let info = prebuilt.info().cloned();
    assert_eq!(
        info.as_ref().map(|i| i.fingerprint.as_str()),
        Some(wanted.as_str()),
        "training/model/default.json is stale: rebuild it with \
         `cargo run --release -- train --builtin --out training/model/default.json`"
    );
    let info = info.unwrap_or_else(|| panic!("no info"));
    assert_eq!(info.examples, examples.len());
    assert_eq!(info.version, hotline_classifier::version_of(&wanted));
    assert_eq!(prebuilt.version(), info.version);
    // And the engine loads it rather than training.
    assert_eq!(analyzer().router().model().version(), info.version);
}

/// A model file that lists one feature twice is refused and the feature is
/// named: words are looked up by a 64-bit key, and a second row for the
/// same key would otherwise be silently unreachable.
#[test]
fn a_model_file_with_a_feature_listed_twice_is_refused() {
    let mut file: serde_json::Value =
        serde_json::from_str(hotline::builtin::DEFAULT_MODEL).unwrap_or_else(|e| panic!("{e}"));
    let features = file["features"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("no features"));
    // The same word twice, and the same bigram twice.
    let word = features
        .iter()
        .position(|f| f[1] == false)
        .unwrap_or_else(|| panic!("no word feature"));
    let bigram = features
        .iter()
        .position(|f| f[1] == true)
        .unwrap_or_else(|| panic!("no bigram feature"));
    for first in [word, bigram] {
        let mut damaged = file.clone();
        let features = damaged["features"]
            .as_array_mut()
            .unwrap_or_else(|| panic!("no features"));
        let last = features.len() - 1;
        features[last] = features[first].clone();
        let term = features[first][0].as_str().unwrap_or_default().to_owned();
        let error = Model::from_json(&damaged.to_string(), analyzer().taxonomy())
            .err()
            .unwrap_or_else(|| panic!("{term} twice was loaded"));
        let message = error.to_string();
        assert!(
            message.contains(&term) && message.contains("already a feature"),
            "{message}"
        );
    }
    file["features"][0][2] = serde_json::json!(1.5);
    assert!(Model::from_json(&file.to_string(), analyzer().taxonomy()).is_ok());
}

/// A ticket cannot borrow a feature's evidence with a token forged to share
/// its 64-bit word key: the forged token below has 油烟's key, and before
/// lookups were confirmed by the word's letters this letter routed to
/// `kitchen_fumes` at 0.91 with 油烟 as its deciding word.
#[test]
fn a_token_forged_to_share_a_words_key_routes_as_an_unknown_word() {
    let text = "您好，我想咨询一下callmew84dcmindffw5b7ikbi9rdc2xq547bwfmvof4rdthw这件事，谢谢。";
    let routing = analyzer().analyze(None, text).routing;
    assert_eq!(routing.topic, "other", "{routing:?}");
    assert!(
        !routing.deciding_words.iter().any(|w| w == "油烟"),
        "{routing:?}"
    );
    // The same letter that does write the word is a fumes letter.
    let written = analyzer()
        .analyze(None, "您好，我想反映一下楼下餐馆油烟这件事，谢谢。")
        .routing;
    assert_eq!(written.topic, "kitchen_fumes", "{written:?}");
}

/// Model files with values the trainer never writes are refused at load,
/// not left to fail every ticket afterwards.
#[test]
fn a_model_file_with_impossible_values_is_refused() {
    let file: serde_json::Value =
        serde_json::from_str(hotline::builtin::DEFAULT_MODEL).unwrap_or_else(|e| panic!("{e}"));
    let damage = |key: &str, value: serde_json::Value| {
        let mut damaged = file.clone();
        damaged[key] = value;
        damaged.to_string()
    };
    // A huge idf made a text's vector NaN; a subnormal one rounded away.
    let idf_of = |idf: f64| {
        let mut damaged = file.clone();
        damaged["features"][0][2] = serde_json::json!(idf);
        damaged.to_string()
    };
    let mut infinite_weight = file.clone();
    infinite_weight["weights"][0] = serde_json::json!(1e39);
    for (what, text) in [
        ("temperature", damage("temperature", serde_json::json!(0.0))),
        (
            "temperature",
            damage("temperature", serde_json::json!(-1.0)),
        ),
        (
            "title_repeat",
            damage("title_repeat", serde_json::json!(4_294_967_295u32)),
        ),
        ("finite", infinite_weight.to_string()),
        ("idf", idf_of(0.0)),
        ("idf", idf_of(-1.0)),
        ("idf", idf_of(1e-40)),
        ("idf", idf_of(1e38)),
    ] {
        let error = Model::from_json(&text, analyzer().taxonomy())
            .err()
            .unwrap_or_else(|| panic!("a model with a bad {what} was loaded"));
        assert!(error.to_string().contains(what), "{error}");
    }
    assert!(Model::from_json(&file.to_string(), analyzer().taxonomy()).is_ok());
}

/// A router trained on `examples` with the configuration's sources and the
/// default parameters.
fn train_on(config: &hotline::config::Config, examples: &[Example]) -> Analyzer {
    hotline::engine::with_sources(config, |sources| {
        Ok(Analyzer::train(
            sources,
            examples,
            &TrainParams::default(),
            config.router.decision.clone(),
        )?)
    })
    .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Training again on the same inputs gives the prebuilt model's decisions:
/// the artifact is what the command in its test message builds, not a blob
/// from elsewhere.
#[test]
fn training_again_reproduces_the_prebuilt_model() {
    let config = hotline::config::Config::load(None).unwrap_or_else(|e| panic!("{e}"));
    let examples = hotline::engine::builtin_examples().unwrap_or_else(|e| panic!("{e:#}"));
    let trained = train_on(&config, &examples);
    let mut config = config.clone();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    config.router.model = dir.path().join("default.json");
    std::fs::write(&config.router.model, hotline::builtin::DEFAULT_MODEL)
        .unwrap_or_else(|e| panic!("{e}"));
    let prebuilt = hotline::engine::build_analyzer(&config).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        trained.router().model().version(),
        prebuilt.router().model().version()
    );
    for example in examples.iter().step_by(7) {
        let a = trained.analyze(None, &example.text).routing;
        let b = prebuilt.analyze(None, &example.text).routing;
        assert_eq!(a.topic, b.topic, "{}", example.text);
        assert!(
            (a.confidence - b.confidence).abs() < 1e-3,
            "{}: {} vs {}",
            example.text,
            a.confidence,
            b.confidence
        );
    }
}

#[test]
fn district_comes_from_names_and_places() {
    let a = analyzer();
    let d = |t: &str| a.analyze(None, t).district.map(|d| d.district);
    assert_eq!(
        d("朝阳区望京某小区楼下饭馆油烟大").as_deref(),
        Some("朝阳区")
    );
    assert_eq!(d("我住回龙观，小区没有充电桩").as_deref(), Some("昌平区"));
    assert_eq!(d("亦庄这边快递不送上门").as_deref(), Some("大兴区"));
    assert_eq!(d("小区门口的狗太多了"), None);
}

#[test]
fn a_bad_line_in_a_training_file_is_named() {
    let text = "{\"text\":\"充电桩坏了\",\"topic\":\"ebike_charging\"}\n{not json}\n";
    match parse_labelled("train.jsonl", text) {
        Err(Error::Example {
            line, source_name, ..
        }) => {
            assert_eq!(line, 2);
            assert_eq!(source_name, "train.jsonl");
        }
        other => panic!("expected a line error, got {other:?}"),
    }
    let empty = "{\"text\":\"  \",\"topic\":\"other\"}\n";
    assert!(matches!(
        parse_labelled("x", empty),
        Err(Error::Example { line: 1, .. })
    ));
}

#[test]
fn a_broken_domain_dictionary_is_an_error_not_a_panic() {
    // A frequency that is not a number.
    assert!(Segmenter::new("飞线充电 notanumber n\n", "", true).is_err());
}

/// A model saved by `hotline train` and loaded back (`router.model`) routes
/// and explains exactly as the model it was saved from.
#[test]
fn a_saved_model_routes_and_explains_as_the_trained_one() {
    let trained = analyzer();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("model.json");
    std::fs::write(&path, trained.router().model().to_json()).unwrap_or_else(|e| panic!("{e}"));
    let mut config = hotline::config::Config::load(None).unwrap_or_else(|e| panic!("{e:#}"));
    config.router.model = path;
    let loaded = hotline::engine::build_analyzer(&config).unwrap_or_else(|e| panic!("{e:#}"));
    for text in [
        "小区没有电动车充电桩，大家只能飞线充电",
        "楼下烧烤店的油烟直接排到我家窗户，呛得没法开窗",
        "我们楼的电梯用了二十多年，这个月已经困人三次了",
        "健身房老板跑路了，办的年卡没法退",
        "充电装坏了好几天没人修",
        "请问社保卡补办需要带什么材料",
    ] {
        let a = trained.analyze(None, text).routing;
        let b = loaded.analyze(None, text).routing;
        assert_eq!(a, b, "{text}");
        assert!(!b.deciding_words.is_empty(), "{text}: {b:?}");
    }
}

/// `hotline eval` reports each headline figure with a bootstrap interval
/// that holds it; a file the router gets all right has no spread, and the
/// same file gives the same interval twice.
#[test]
fn evaluation_reports_bootstrap_intervals_around_its_figures() {
    let lines = [
        r#"{"text": "小区没有电动车充电桩，大家只能飞线充电", "topic": "ebike_charging"}"#,
        r#"{"text": "楼下烧烤店的油烟直接排到我家窗户，呛得没法开窗", "topic": "kitchen_fumes"}"#,
        r#"{"text": "快递员从不送货上门，直接放驿站还要收费", "topic": "express_delivery"}"#,
        r#"{"text": "老楼电梯三天两头困人，请质监部门来查", "topic": "old_elevators"}"#,
        r#"{"text": "家里停水三天了，也没有通知", "topic": "other"}"#,
        r#"{"text": "我的车在路边停了十分钟就被贴了罚单，想申诉", "topic": "other"}"#,
        r#"{"text": "公司拖欠我们三个月工资，老板联系不上", "topic": "employment"}"#,
        r#"{"text": "医院收费单上多收了两项检查费", "topic": "kitchen_fumes"}"#,
    ];
    let rows = parse_labelled("fixture", &lines.join("\n")).unwrap_or_else(|e| panic!("{e}"));
    let a = analyzer();
    let report = hotline_classifier::evaluate(&a, &rows);
    let i = report.intervals.as_ref().expect("intervals");
    assert_eq!(i.resamples, hotline_classifier::RESAMPLES);
    for (interval, figure) in [
        (i.macro_f1, report.macro_f1),
        (i.routed_precision, report.routed_precision),
        (i.routed_recall, report.routed_recall),
    ] {
        assert!(
            interval.low <= figure && figure <= interval.high,
            "{interval:?} {figure}"
        );
    }
    // One deliberate error (a fee complaint labelled kitchen_fumes): the
    // figure can move, so the interval has width.
    assert!(report.macro_f1 < 1.0, "{report:?}");
    assert!(i.macro_f1.high - i.macro_f1.low > 0.0, "{i:?}");
    assert_eq!(
        hotline_classifier::evaluate(&a, &rows).intervals,
        report.intervals
    );
    let right = parse_labelled("fixture", &lines[..7].join("\n")).unwrap_or_else(|e| panic!("{e}"));
    let perfect = hotline_classifier::evaluate(&a, &right);
    assert_eq!(perfect.macro_f1, 1.0, "{perfect:?}");
    let i = perfect.intervals.expect("intervals");
    assert_eq!((i.macro_f1.low, i.macro_f1.high), (1.0, 1.0));
}

/// A model retrained on callers' tickets learns no term that only those
/// tickets hold: its features are exactly those the other examples give on
/// their own, so a text of such a term routes as a term nobody wrote does,
/// or any token could ask `/classify` whether some ticket in the city holds
/// it (a neighbour's name, in another district). The attacks tried: a word
/// made of letters nobody else writes; a two-letter name whose letters
/// stand side by side in the corpus across two words (老王强行 holds the
/// bigram 王强); a bigram the corpus holds once, which the tickets would
/// lift over the bigram threshold. The same examples, not private, do teach
/// the word: the test can fail.
#[test]
fn a_word_only_private_examples_hold_is_not_learnt() {
    let config = hotline::config::Config::load(None).unwrap_or_else(|e| panic!("{e}"));
    let secret = "龘靐齉";
    let public = [
        ("健身房关门跑路，我的年卡还没退费", "sports_prepaid"),
        ("路灯坏了很久没人修", "other"),
        ("老王强行拆了我家的墙", "other"),
    ];
    let private = [
        format!("{secret}开的游泳馆预付卡退不了费，{secret}人也找不到"),
        format!("{secret}开的健身房预付卡退不了费"),
        "王强家的狗天天夜里叫，王强也不牵绳".to_owned(),
        "王强遛狗不牵绳，王强的狗咬了人".to_owned(),
    ];
    let train = |with_private: Option<bool>| {
        let mut examples: Vec<Example> = public
            .iter()
            .map(|(text, topic)| Example {
                text: (*text).into(),
                topic: (*topic).into(),
                private: false,
            })
            .collect();
        if let Some(private_flag) = with_private {
            for (i, text) in private.iter().enumerate() {
                examples.push(Example {
                    text: text.clone(),
                    topic: if i < 2 { "sports_prepaid" } else { "dogs" }.into(),
                    private: private_flag,
                });
            }
        }
        train_on(&config, &examples)
    };
    // The terms (word or bigram), not their idf, which every example counts in.
    let features = |analyzer: &Analyzer| -> Vec<(String, bool)> {
        let json: serde_json::Value = serde_json::from_str(&analyzer.router().model().to_json())
            .unwrap_or_else(|e| panic!("{e}"));
        json["features"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| (f[0].as_str().unwrap_or_default().to_owned(), f[1] == true))
            .collect()
    };
    let without = train(None);
    let with_private = train(Some(true));
    assert_eq!(features(&with_private), features(&without));
    let asked = with_private.analyze(None, secret).routing;
    let baseline = with_private.analyze(None, "鱻灥厵").routing;
    assert_eq!(asked.topic, baseline.topic);
    assert!((asked.confidence - baseline.confidence).abs() < 1e-6);
    assert!(
        asked.deciding_words.is_empty(),
        "{:?}",
        asked.deciding_words
    );
    let named = with_private.analyze(None, "王强").routing;
    assert!(
        named.deciding_words.iter().all(|w| w != "王强"),
        "{:?}",
        named.deciding_words
    );
    let taught = train(Some(false));
    assert_ne!(features(&taught), features(&without));
    assert_eq!(taught.analyze(None, secret).routing.topic, "sports_prepaid");
}
