#![no_main]
//! Any text through segmentation, routing and district detection: the answer
//! is always a configured topic with a confidence in [0, 1].
use std::sync::OnceLock;

use hotline_classifier::{parse_labelled, Analyzer, AnalyzerSources, RouterConfig, TrainParams};
use libfuzzer_sys::fuzz_target;

fn analyzer() -> &'static Analyzer {
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| {
        let sources = AnalyzerSources {
            taxonomy: include_str!("../../config/topics/2024.toml"),
            domain_dict: include_str!("../../config/dict/domain.txt"),
            stopwords: include_str!("../../config/dict/stopwords.txt"),
            gazetteer: include_str!("../../config/gazetteer/beijing.toml"),
            streets: include_str!("../../config/gazetteer/beijing_streets.toml"),
            hmm: true,
        };
        // A small slice of the corpus is enough to exercise every path.
        let mut examples = Vec::new();
        for text in [
            include_str!("../../training/corpus/ebike_charging.jsonl"),
            include_str!("../../training/corpus/property_management.jsonl"),
            include_str!("../../training/corpus/other.jsonl"),
        ] {
            examples.extend(parse_labelled("corpus", text).expect("corpus parses").iter().map(|r| r.example()));
        }
        // Seed words cover the topics without examples.
        let params = TrainParams { max_iterations: 50, ..TrainParams::default() };
        Analyzer::train(&sources, &examples, &params, RouterConfig::default()).expect("trains")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let a = analyzer().analyze(None, &text);
    assert!(analyzer().taxonomy().get(&a.routing.topic).is_some());
    assert!((0.0..=1.0).contains(&a.routing.confidence));
    let _ = analyzer().segmenter().index_text(&a.segmented);
});
