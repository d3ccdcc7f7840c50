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
