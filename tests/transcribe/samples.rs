//! Every bundled clip transcribes close to its script. Thresholds are the error measured with the
//! q8_0 models (BENCHMARKS.md) plus a margin for other CPUs' float rounding; a regression in
//! decoding, resampling or windowing shows up as a jump far past them.

use claimwatch::eval;

use super::{text_of, transcribe};
use crate::common;

/// (clip, language, most word error (en) or character error (ja) allowed)
const CLIPS: &[(&str, &str, f64)] = &[
    ("ja_greeting", "ja", 0.12),
    ("ja_origin_false", "ja", 0.12),
    ("ja_efficacy", "ja", 0.35),
    ("ja_exaggeration", "ja", 0.35),
    ("ja_pricing", "ja", 0.20),
    ("ja_negated", "ja", 0.25),
    ("ja_demo", "ja", 0.20),
    ("ja_music_noise", "ja", 0.20),
    ("ja_music_gap", "ja", 0.28),
    ("en_greeting", "en", 0.25),
    ("en_origin_false", "en", 0.25),
    ("en_efficacy", "en", 0.20),
    ("en_exaggeration", "en", 0.15),
    ("en_pricing", "en", 0.20),
    ("en_negated", "en", 0.10),
    ("en_demo", "en", 0.18),
    ("en_music_noise", "en", 0.18),
    ("en_music_gap", "en", 0.32),
];

#[test]
fn every_sample_transcribes_close_to_its_script() {
    let mut failures = Vec::new();
    for &(clip, lang, max_error) in CLIPS {
        let audio = common::repo().join(format!("samples/{clip}.wav"));
        let script = std::fs::read_to_string(audio.with_extension("txt")).unwrap();
        let transcript = transcribe(&audio, lang);
        let text = text_of(&transcript);
        let error = eval::error_rate(lang, &script, &text);
        eprintln!("{clip}: error {error:.3} (max {max_error}) {text}");
        if error > max_error {
            failures.push(format!("{clip}: error {error:.3} > {max_error}: {text}"));
        }
        assert_eq!(transcript.language, lang, "{clip}");
        check_times(clip, &transcript);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Segment times lie inside the clip, each ends after it starts, and they never go backwards.
fn check_times(clip: &str, transcript: &claimwatch::transcribe::Transcript) {
    let mut previous_end = 0.0;
    for s in &transcript.segments {
        assert!(s.start_s <= s.end_s, "{clip}: {s:?}");
        assert!(s.start_s + 0.05 >= previous_end, "{clip}: overlaps: {s:?}");
        assert!(
            s.end_s <= transcript.duration_s + 0.05,
            "{clip}: past the end: {s:?}"
        );
        previous_end = s.end_s;
    }
    assert!(!transcript.segments.is_empty(), "{clip}: no segments");
}
