//! No invented text where nobody speaks: near silence, a low noise floor, and 19 s of the bundled
//! music (cut from the music-gap clips with sox) give no segments with either model, and in the
//! music-gap clips nothing is dated inside the music.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::transcribe;
use crate::common;
use crate::source::bounded::output_within;

/// Runs sox (scripts/install-deps installs it), failing the test if it fails or hangs.
pub fn sox(command: &mut Command) {
    let out = output_within(command, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Synthesizes 20 s of 16 kHz mono audio into `out` with sox's `synth` effect.
fn synth(out: &Path, effect: &[&str]) {
    sox(Command::new("sox")
        .args(["-n", "-r", "16000", "-c", "1", "-b", "16"])
        .arg(out)
        .args(["synth", "20"])
        .args(effect));
}

fn cut(clip: &str, dir: &Path, from_s: &str, seconds: &str) -> PathBuf {
    let out = dir.join(format!("{clip}_cut.wav"));
    let input = common::repo().join(format!("samples/{clip}.wav"));
    sox(Command::new("sox")
        .arg(&input)
        .arg(&out)
        .args(["trim", from_s, seconds]));
    out
}

#[test]
fn silence_noise_and_music_give_no_text() {
    let dir = tempfile::tempdir().unwrap();
    // Silence as a recording has it: a few bits of noise (about −80 dBFS). Bit-exact zeros
    // throughout are refused as "no audio" (tests/audio/bad_input.rs).
    let silence = dir.path().join("silence.wav");
    synth(&silence, &["whitenoise", "vol", "0.0001"]);
    let noise = dir.path().join("noise.wav");
    // White noise at about −55 dBFS RMS: a quiet room.
    synth(&noise, &["whitenoise", "vol", "0.003"]);
    let files = [
        silence,
        noise,
        cut("ja_music_gap", dir.path(), "5", "19"),
        cut("en_music_gap", dir.path(), "5", "19"),
    ];
    let mut invented = Vec::new();
    for file in &files {
        for lang in ["ja", "en"] {
            let transcript = transcribe(file, lang);
            for s in &transcript.segments {
                invented.push(format!("{} ({lang}): {s:?}", file.display()));
            }
        }
    }
    assert!(invented.is_empty(), "{}", invented.join("\n"));
}

#[test]
fn each_line_of_the_music_gap_clips_is_dated_where_it_is_said() {
    // Speech onsets read off the clips' 100 ms RMS frames: line 1 at 0.3 s, music from about
    // 4.2 s to 24.2 s, line 2 at 24.6 s (en) and 25.0 s (ja). Alerts must be within 1.5 s.
    for (clip, lang, line_2_s) in [("ja_music_gap", "ja", 25.0), ("en_music_gap", "en", 24.6)] {
        let transcript = transcribe(&common::repo().join(format!("samples/{clip}.wav")), lang);
        let starts: Vec<f64> = transcript.segments.iter().map(|s| s.start_s).collect();
        assert_eq!(starts.len(), 2, "{clip}: {:?}", transcript.segments);
        assert!(
            (starts[0] - 0.3).abs() <= 1.5,
            "{clip}: {:?}",
            transcript.segments
        );
        assert!(
            (starts[1] - line_2_s).abs() <= 1.5,
            "{clip}: {:?}",
            transcript.segments
        );
    }
}
