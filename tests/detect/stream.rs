//! DetectorStream over the shipped packs: claims split across transcript segments are found once,
//! with the times of the segments they came from.

use claimwatch::detect::Utterance;
use claimwatch::detect::{Category, Detector, Lang};

use crate::common::repo;

fn seg(start_s: f64, end_s: f64, text: &str) -> Utterance {
    Utterance::new(start_s, end_s, text)
}

#[test]
fn split_claims_alert_once_with_segment_times() {
    let det = Detector::load(&repo().join("rules"), &repo().join("models/ipadic")).unwrap();
    let mut s = det.stream(Lang::Ja, Some("CN"));
    let mut all = Vec::new();
    for (i, t) in [
        "皆さんこんにちは。これは日本",
        "製のクリームです。",
        "日本製なので安心です。",
    ]
    .iter()
    .enumerate()
    {
        all.extend(s.push(seg(i as f64 * 2.0, i as f64 * 2.0 + 2.0, t)));
    }
    all.extend(s.finish());
    let origins: Vec<_> = all
        .iter()
        .filter(|a| a.category == Category::FalseOrigin)
        .collect();
    assert_eq!(origins.len(), 2, "{all:#?}");
    assert_eq!(origins[0].text, "日本製");
    assert_eq!(
        (origins[0].start_s, origins[0].end_s),
        (Some(0.0), Some(4.0))
    );
    assert_eq!(
        (origins[1].start_s, origins[1].end_s),
        (Some(4.0), Some(6.0))
    );
    let ids: std::collections::BTreeSet<_> = all.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "ids unique");

    let mut s = det.stream(Lang::En, None);
    let mut got = s.push(seg(0.0, 1.0, "and this one really cures"));
    got.extend(s.push(seg(1.0, 2.0, "acne in a week")));
    got.extend(s.finish());
    assert_eq!(
        got.iter()
            .filter(|a| a.category == Category::Efficacy)
            .count(),
        1,
        "{got:#?}"
    );
}
