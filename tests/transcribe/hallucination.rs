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

/// Speech onsets read off the clips' 100 ms RMS frames: line 1 at 0.3 s, music from about 4.2 s
/// to 24.2 s, line 2 at 24.6 s (en) and 25.0 s (ja). Whisper's segment times are allowed 1.5 s
/// either way (its timestamps snap to its own 20 ms steps and to where it hears a phrase start).
const SLACK_S: f64 = 1.5;
const MUSIC_S: (f64, f64) = (4.2, 24.2);

#[test]
fn each_line_of_the_music_gap_clips_is_dated_where_it_is_said() {
    // How Whisper splits a line into segments is its own business (one segment per line today,
    // but a line may come as two); what matters is that each line has a segment starting where
    // it is said and that nothing said is dated inside the music.
    for (clip, lang, line_2_s) in [("ja_music_gap", "ja", 25.0), ("en_music_gap", "en", 24.6)] {
        let transcript = transcribe(&common::repo().join(format!("samples/{clip}.wav")), lang);
        let segments = &transcript.segments;
        for line_s in [0.3, line_2_s] {
            assert!(
                segments
                    .iter()
                    .any(|s| (s.start_s - line_s).abs() <= SLACK_S),
                "{clip}: no segment starts within {SLACK_S} s of the line said at {line_s} s: \
                 {segments:?}"
            );
        }
        // No segment starts inside the music, and no word in it is dated there. A segment's
        // closing punctuation may be: tiny.en dated en_music_gap's first "." at 6.18 s, 2 s
        // after "everyone" (3.92 s), which stretches that segment's end into the music while
        // every word of it is where it is said.
        let inside_music = (MUSIC_S.0 + SLACK_S, MUSIC_S.1 - SLACK_S);
        let inside = |t: f64| inside_music.0 < t && t < inside_music.1;
        for s in segments {
            assert!(
                !inside(s.start_s),
                "{clip}: segment starts inside the music ({:.1}..{:.1} s): {s:?}",
                inside_music.0,
                inside_music.1
            );
            assert!(!s.token_times.is_empty(), "{clip}: no token times: {s:?}");
            for token in &s.token_times {
                let piece = s.text.get(token.bytes.clone()).unwrap_or("");
                if piece.chars().any(char::is_alphanumeric) {
                    assert!(
                        !inside(token.start_s),
                        "{clip}: {piece:?} dated at {} s, inside the music ({:.1}..{:.1} s): {s:?}",
                        token.start_s,
                        inside_music.0,
                        inside_music.1
                    );
                }
            }
        }
    }
}
