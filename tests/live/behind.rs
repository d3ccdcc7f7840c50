//! A stream behind its audio skips the second listen (optional work that would delay every later
//! alert); a stream keeping up does it. Real tiny.en over en_demo, with a finder that points at
//! every committed segment, so only the transcriber's choice decides whether a span is heard again.

use std::ops::Range;

use claimwatch::audio;
use claimwatch::live::transcriber::LiveTranscriber;
use claimwatch::live::LiveConfig;
use claimwatch::transcribe::relisten::SuspectFinder;

use crate::common;
use crate::transcribe::default_model;

struct Everything;

impl SuspectFinder for Everything {
    fn suspects(&self, text: &str, _lang: &str) -> Vec<(Range<usize>, Vec<String>)> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        vec![(0..text.len(), vec!["clinically proven".to_string()])]
    }
}

/// (second listens done, windows skipped) for en_demo pushed in chunks of `chunk_s`, with a
/// step after each chunk.
fn run(chunk_s: f64) -> (usize, u64) {
    let samples = audio::read_all(&common::repo().join("samples/en_demo.wav")).unwrap();
    let model = default_model("en");
    let _cores = common::whisper_lock();
    let mut session = model.session().unwrap();
    let options = common::decode_options("en");
    let config = LiveConfig {
        max_lag_s: 600.0,
        peek_step_s: 0.0,
        ..LiveConfig::default()
    };
    let mut live = LiveTranscriber::new(config, options);
    live.listen_again_with(Box::new(Everything));
    let mut relistened = 0;
    for chunk in samples.chunks((chunk_s * 16_000.0) as usize) {
        live.push(chunk);
        live.step(&mut session).unwrap();
        relistened += live.take_relistened().len();
    }
    live.finish(&mut session).unwrap();
    relistened += live.take_relistened().len();
    (relistened, live.stats().second_listens_skipped)
}

#[test]
fn a_stream_behind_its_audio_skips_the_second_listen() {
    // Keeping up: a step after every second of audio, so nothing waits behind a window.
    let (heard, skipped) = run(1.0);
    assert_eq!(skipped, 0, "a stream keeping up skipped a second listen");
    assert!(
        heard >= 3,
        "only {heard} second listens over en_demo's phrases"
    );
    // All 50 s at once: every window but the last few has more than the bound behind it.
    let (heard_behind, skipped_behind) = run(60.0);
    eprintln!(
        "keeping up: {heard} second listens; all at once: {heard_behind}, {skipped_behind} skipped"
    );
    assert!(
        skipped_behind >= 3,
        "behind by the bound or more, yet {skipped_behind} skipped"
    );
    assert!(
        heard_behind < heard,
        "{heard_behind} second listens behind against {heard} keeping up"
    );
}
