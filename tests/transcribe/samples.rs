//! Every bundled clip transcribes close to its script, one clip at a time and pooled per
//! language. Each bound is the error measured with the q8_0 models (the "measured" column:
//! this test's own output on the 2-core development machine, common::threads() = 2, agreeing
//! with BENCHMARKS.md) plus a stated margin for other CPUs' float rounding: CLIP_MARGIN per clip
//! (two words of a 20-word English clip, three or four characters of a 45-character Japanese one), and
//! POOLED_MARGIN on the mean over all clips of a language, weighted by script length. A
//! regression in decoding, resampling or windowing shows up as a jump far past them.

use claimwatch::eval;

use super::{text_of, transcribe};
use crate::common;

/// Most a single clip's error may exceed its measured value.
const CLIP_MARGIN: f64 = 0.08;

/// Most the pooled error of a language may exceed its measured value: en 0.082 over 292 words,
/// ja 0.122 over 654 characters (the "batch vs script" figures of tests/live/windows.rs, which
/// pools the same transcripts).
const POOLED_MARGIN: f64 = 0.03;
const POOLED: &[(&str, f64)] = &[("en", 0.082), ("ja", 0.122)];

/// (clip, language, measured word error (en) or character error (ja))
const CLIPS: &[(&str, &str, f64)] = &[
    ("ja_greeting", "ja", 0.031),
    ("ja_origin_false", "ja", 0.022),
    ("ja_efficacy", "ja", 0.182),
    ("ja_exaggeration", "ja", 0.196),
    ("ja_pricing", "ja", 0.102),
    ("ja_negated", "ja", 0.177),
    ("ja_demo", "ja", 0.118),
    ("ja_music_noise", "ja", 0.100),
    ("ja_music_gap", "ja", 0.178),
    ("en_greeting", "en", 0.143),
    ("en_origin_false", "en", 0.042),
    ("en_efficacy", "en", 0.080),
    ("en_exaggeration", "en", 0.053),
    ("en_pricing", "en", 0.095),
    ("en_negated", "en", 0.000),
    ("en_demo", "en", 0.090),
    ("en_music_noise", "en", 0.036),
    // "burns at wild use lead" for "burns fat while you sleep": the clip's last words, after
    // 20 s of music.
    ("en_music_gap", "en", 0.250),
];

#[test]
fn every_sample_transcribes_close_to_its_script() {
    let mut failures = Vec::new();
    // language -> (edits, script length)
    let mut pooled: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
    for &(clip, lang, measured) in CLIPS {
        let max_error = measured + CLIP_MARGIN;
        let audio = common::repo().join(format!("samples/{clip}.wav"));
        let script = std::fs::read_to_string(audio.with_extension("txt")).unwrap();
        let transcript = transcribe(&audio, lang);
        let text = text_of(&transcript);
        let error = eval::error_rate(lang, &script, &text);
        eprintln!("{clip}: error {error:.3} (measured {measured}, max {max_error:.3}) {text}");
        if error > max_error {
            failures.push(format!("{clip}: error {error:.3} > {max_error:.3}: {text}"));
        }
        let length = eval::length(lang, &script) as f64;
        let entry = pooled.entry(lang).or_default();
        entry.0 += error * length;
        entry.1 += length;
        assert_eq!(transcript.language, lang, "{clip}");
        check_times(clip, &transcript);
    }
    for &(lang, measured) in POOLED {
        let (edits, length) = pooled[lang];
        let error = edits / length;
        let max = measured + POOLED_MARGIN;
        eprintln!("{lang}: pooled error {error:.3} over {length} units (measured {measured}, max {max:.3})");
        if error > max {
            failures.push(format!("{lang}: pooled error {error:.3} > {max:.3}"));
        }
    }
    assert_eq!(pooled.len(), POOLED.len());
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
