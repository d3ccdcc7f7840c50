//! The second listen with the real base model: it decodes again only what the finder points
//! at, around the suspect's own time, and leaves the first transcript as it was.

use std::ops::Range;

use claimwatch::audio;
use claimwatch::transcribe::batch;
use claimwatch::transcribe::relisten::{SuspectFinder, MARGIN_S, MAX_PER_WINDOW};
use claimwatch::transcribe::whisper::DecodeOptions;

use super::{default_model, transcribe};
use crate::common;

/// Points at the second half of every segment longer than six characters, with one term.
struct SecondHalf;

impl SuspectFinder for SecondHalf {
    fn suspects(&self, text: &str, _lang: &str) -> Vec<(Range<usize>, Vec<String>)> {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        if chars.len() <= 6 {
            return Vec::new();
        }
        let half = chars[chars.len() / 2].0;
        vec![(half..text.len(), vec!["シミが消える".to_string()])]
    }
}

#[test]
fn second_listen_hears_the_suspects_again_and_keeps_the_first_pass() {
    let path = common::repo().join("samples/ja_demo.wav");
    let first = transcribe(&path, "ja");
    let model = default_model("ja");
    let _cores = common::whisper_lock();
    let mut session = model.session().unwrap();
    let mut stream = audio::open(&path).unwrap();
    let options = DecodeOptions {
        language: Some("ja".into()),
        threads: common::threads(),
        ..DecodeOptions::default()
    };
    let t = batch::transcribe_with(
        &mut session,
        &mut stream,
        &options,
        Some(&SecondHalf),
        |_| {},
    )
    .unwrap();

    // The first pass is untouched: the second listen only adds beside it.
    let texts = |segments: &[claimwatch::transcribe::Segment]| -> Vec<String> {
        segments.iter().map(|s| s.text.clone()).collect()
    };
    assert_eq!(texts(&t.segments), texts(&first.segments));

    let windows = (t.duration_s / 30.0).ceil() as usize;
    assert!(
        !t.relistened.is_empty(),
        "no second listen on {}",
        path.display()
    );
    assert!(
        t.relistened.len() <= MAX_PER_WINDOW * windows.max(1),
        "{} second listens for {windows} windows",
        t.relistened.len()
    );
    let mut heard_any = false;
    for r in &t.relistened {
        assert_eq!(r.terms, ["シミが消える"]);
        assert!(0.0 <= r.suspect_start_s && r.suspect_start_s <= r.suspect_end_s);
        assert!(r.suspect_end_s <= t.duration_s + 0.01);
        for s in &r.segments {
            heard_any |= !s.text.trim().is_empty();
            // Only the suspect and its margins were decoded (DTW may date a word a little out).
            assert!(
                s.start_s >= r.suspect_start_s - MARGIN_S - 0.5
                    && s.end_s <= r.suspect_end_s + MARGIN_S + 0.5,
                "segment {:.2}-{:.2} outside suspect {:.2}-{:.2}",
                s.start_s,
                s.end_s,
                r.suspect_start_s,
                r.suspect_end_s
            );
        }
    }
    assert!(heard_any, "every second listen came back empty");
}
