//! What the second listen may add to a report: a claim heard again inside its suspect, and
//! nothing the first pass already raised or that lies in the margins only (table-driven, with the
//! real rule packs; the transcripts are given, so no model is needed).

use claimwatch::detect::{Detector, Lang};
use claimwatch::second_listen;
use claimwatch::transcribe::relisten::Relistened;
use claimwatch::transcribe::Segment;

use crate::common::repo;

fn relistened(suspect: (f64, f64), heard: &[(f64, f64, &str)]) -> Relistened {
    Relistened {
        suspect_start_s: suspect.0,
        suspect_end_s: suspect.1,
        first_text: "結構落ちが下がった".into(),
        terms: vec!["血糖値".into()],
        segments: heard
            .iter()
            .map(|(a, b, t)| Segment::new(*a, *b, *t))
            .collect(),
    }
}

#[test]
fn second_listen_adds_only_new_claims_inside_the_suspect() {
    let det = Detector::load(&repo().join("rules"), &repo().join("models/ipadic")).unwrap();
    let claim = "飲み始めてから血糖値が下がったんです。";
    let first_pass = det.detect_text(claim, Lang::Ja, None);
    assert!(!first_pass.is_empty(), "the claim itself must alert");
    let mut raised_before = first_pass[0].clone();
    raised_before.start_s = Some(10.0);
    raised_before.end_s = Some(12.0);

    let mut same_rule_earlier = first_pass[0].clone();
    same_rule_earlier.start_s = Some(5.0);
    same_rule_earlier.end_s = Some(6.0);
    let first_segments = [Segment::new(4.0, 13.0, "…")];

    // (suspect, what the second listen heard, alerts of the first pass, alerts expected)
    let cases = [
        ((10.0, 12.0), vec![(9.0, 13.0, claim)], vec![], 1),
        // Heard in the margin only: the prompt may have put it there.
        ((10.0, 12.0), vec![(13.0, 14.5, claim)], vec![], 0),
        // Already raised by the first pass at that time.
        (
            (10.0, 12.0),
            vec![(9.0, 13.0, claim)],
            vec![raised_before],
            0,
        ),
        // Its rule already alerted in the same first-pass utterance (one alert per rule there).
        (
            (10.0, 12.0),
            vec![(9.0, 13.0, claim)],
            vec![same_rule_earlier],
            0,
        ),
        // The new decode says nothing a rule knows.
        (
            (10.0, 12.0),
            vec![(9.0, 13.0, "飲み始めてから結構落ちてきたんです。")],
            vec![],
            0,
        ),
        // A negated claim stays negated.
        (
            (10.0, 12.0),
            vec![(9.0, 13.0, "血糖値が下がるわけではありません。")],
            vec![],
            0,
        ),
    ];
    for (suspect, heard, first, want) in cases {
        let r = relistened(suspect, &heard);
        let got = second_listen::alerts(&det, Lang::Ja, None, &[r], &first, &first_segments);
        assert_eq!(
            got.len(),
            want,
            "{heard:?} with {} first-pass alerts",
            first.len()
        );
        assert!(got.iter().all(|a| a.second_listen));
    }
}
