//! Unsupported, corrupt, empty and missing inputs give one clear line naming the file, never a
//! panic or a hang; truncated files give what is there.

use std::path::PathBuf;

use claimwatch::audio;

use super::fixture;

/// `(input, expected reason)`: the error must read `"<path>: <reason>"` on one line.
fn cases() -> Vec<(PathBuf, &'static str)> {
    vec![
        (fixture("empty.wav"), "file is empty"),
        (
            fixture("text_renamed.wav"),
            "not a recognised audio format (unsupported or corrupt)",
        ),
        (
            fixture("random_bytes.bin"),
            "not a recognised audio format (unsupported or corrupt)",
        ),
        (fixture("video_no_audio.mp4"), "no audio track"),
        (fixture("does_not_exist.wav"), "No such file or directory"),
        (fixture(""), "is a directory"),
    ]
}

#[test]
fn bad_input_is_one_line_naming_file_and_reason() {
    for (path, reason) in cases() {
        let err = match audio::open(&path) {
            Ok(_) => panic!("{}: opened, want error {reason:?}", path.display()),
            Err(err) => err.to_string(),
        };
        assert_eq!(err, format!("{}: {reason}", path.display()));
        // read_all goes through the same checks.
        assert_eq!(audio::read_all(&path).unwrap_err().to_string(), err);
    }
}

/// A file cut short decodes up to the cut (what players do). WAV and FLAC readers notice the
/// missing bytes; an MP3 is a plain run of frames, so its reader just sees the last one.
#[test]
fn truncated_files_yield_the_part_that_is_there() {
    for (cut, whole, noticed) in [
        ("truncated.wav", "wav_s24_44k.wav", true),
        ("truncated.flac", "flac_1k_44k.flac", true),
        ("truncated.mp3", "mp3_44k.mp3", false),
    ] {
        let full = audio::read_all(&fixture(whole)).unwrap();
        let mut stream = audio::open(&fixture(cut)).unwrap();
        let mut part = Vec::new();
        let mut chunk = Vec::new();
        while stream.read(&mut chunk, 4096).unwrap() > 0 {
            part.extend_from_slice(&chunk);
        }
        assert!(
            part.len() > full.len() / 5 && part.len() < full.len(),
            "{cut}: {} of {} samples",
            part.len(),
            full.len()
        );
        assert_eq!(stream.truncated(), noticed, "{cut}: truncated()");
        // Not silence or noise: the part is the same tone as the whole, up to the cut.
        let n = part.len() / 2;
        let diff = part[..n]
            .iter()
            .zip(&full[..n])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 0.01, "{cut}: differs from the whole file by {diff}");
    }
}

/// An MP4 cut before its index (ffmpeg writes `moov` last) has nothing to decode: clear error.
#[test]
fn mp4_cut_before_its_index_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.m4a");
    let bytes = std::fs::read(fixture("m4a_44k.m4a")).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = audio::read_all(&path).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
    assert!(!err.contains('\n'), "{err}");
    eprintln!("{err}");
}

/// A WAV header crafted to overflow the reader's arithmetic (65 535 channels: symphonia's RIFF
/// reader multiplies past u16 and, with overflow checks on, panics) is a corrupt file like any
/// other: one line, exit 2, no backtrace.
#[test]
fn a_header_that_makes_the_decoder_panic_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("channels_65535.wav");
    let (channels, rate, data) = (65_535u16, 16_000u32, vec![0u8; 32_000]);
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&rate.wrapping_mul(u32::from(channels) * 2).to_le_bytes());
    wav.extend_from_slice(&channels.wrapping_mul(2).to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    std::fs::write(&path, &wav).unwrap();

    if let Err(err) = audio::open(&path) {
        assert!(
            err.to_string()
                .starts_with(&format!("{}: ", path.display())),
            "{err}"
        );
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_claimwatch"))
        .args(["transcribe", "--lang", "en"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Whichever way the reader takes it (an error, or audio it can read), never exit 101.
    assert_ne!(output.status.code(), Some(101), "{stderr}");
    if output.status.code() == Some(2) {
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("channels_65535.wav"), "{stderr}");
    }
}
