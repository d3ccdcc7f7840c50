//! Looks at the phrase still being spoken ([`LiveTranscriber::peek`]) with the real model: a
//! claim in the middle of a sentence is seen, and alerted by a copy of the detector, before the
//! sentence is committed. Driven as a decoder that keeps up would see the audio (0.1 s pieces,
//! a commit whenever a phrase is ready, else a look), so the result does not depend on how fast
//! this machine is; `tests/live/serve.rs` covers the same path through the server.

use claimwatch::audio;
use claimwatch::detect::{Category, Detector, Lang};
use claimwatch::live::transcriber::LiveTranscriber;
use claimwatch::live::LiveConfig;

use crate::common;
use crate::transcribe::default_model;

#[test]
fn a_look_alerts_a_claim_before_its_sentence_is_committed() {
    // "Okay, next up is this ceramic mug, one of our best sellers.
    //  It is made in Japan, and every piece is finished by hand."
    let samples = audio::read_all(&common::repo().join("samples/en_origin_false.wav")).unwrap();
    let detector = Detector::load_default().unwrap();
    let mut committed_detector = detector.stream(Lang::En, Some("CN"));
    let model = default_model("en");
    let _cores = common::whisper_lock();
    let mut session = model.session().unwrap();
    let options = common::decode_options("en");
    let mut live = LiveTranscriber::new(LiveConfig::default(), options);
    // Stream time received when the claim was first alerted by a look, and when a commit first
    // held the claim's sentence.
    let (mut looked_at, mut committed_at) = (None, None);
    let mut looks = 0;
    for piece in samples.chunks(1600) {
        live.push(piece);
        let received = live.stats().received_s;
        if live.ready() {
            for segment in live.step(&mut session).unwrap() {
                committed_detector.push(&segment);
                if segment.text.contains("Japan") && committed_at.is_none() {
                    committed_at = Some(received);
                }
            }
        } else if let Some(segments) = live.peek(&mut session).unwrap() {
            looks += 1;
            let mut probe = committed_detector.clone();
            let alerts: Vec<_> = segments.iter().flat_map(|s| probe.push(s)).collect();
            if looked_at.is_none() && alerts.iter().any(|a| a.category == Category::FalseOrigin) {
                looked_at = Some(received);
                let alert = alerts
                    .iter()
                    .find(|a| a.category == Category::FalseOrigin)
                    .unwrap();
                // Dated by the words, within the sidecar's tolerance of when they are said.
                let start = alert.start_s.unwrap();
                assert!((start - 6.0).abs() <= 1.5, "alert at {start} s");
            }
        }
    }
    if committed_at.is_none() {
        committed_at = Some(live.stats().received_s);
    }
    let looked_at =
        looked_at.unwrap_or_else(|| panic!("no look alerted the claim ({looks} looks)"));
    let committed_at = committed_at.unwrap();
    eprintln!("{looks} looks; claim alerted by a look at {looked_at:.1} s, committed at {committed_at:.1} s");
    // The claim ends at about 6.3 s; a look sees it within a second, the commit only at the
    // end of the sentence (or the clip).
    assert!(
        looked_at < committed_at && looked_at <= 7.5,
        "look at {looked_at} s, commit at {committed_at} s"
    );
}
