//! Unsupported, corrupt, empty and missing inputs, rates that are not audio and recordings with
//! nothing to hear give one clear line naming the file, never a panic or a hang; truncated files
//! give what is there; NaN samples in good audio become 0.

use std::path::PathBuf;
use std::time::Duration;

use claimwatch::audio;

use super::fixture;
use crate::source::bounded::{join_within, output_within};

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

/// A WAV file as its header declares it, whatever the data: PCM (`float` false, 16-bit) or IEEE
/// float (32-bit), wrapping arithmetic so a crafted header can say anything.
fn wav(channels: u16, rate: u32, float: bool, data: &[u8]) -> Vec<u8> {
    let (format, bytes) = if float { (3u16, 4u16) } else { (1, 2) };
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&format.to_le_bytes());
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    let block = channels.wrapping_mul(bytes);
    wav.extend_from_slice(&rate.wrapping_mul(u32::from(block)).to_le_bytes());
    wav.extend_from_slice(&block.to_le_bytes());
    wav.extend_from_slice(&(bytes * 8).to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(data);
    wav
}

fn f32_bytes(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The built binary with `args`, bounded in time; its exit code and stderr.
fn claimwatch(args: &[&str]) -> (Option<i32>, String) {
    let output = crate::source::bounded::output_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_claimwatch"))
            .args(args)
            .current_dir(crate::common::repo()),
        std::time::Duration::from_secs(300),
    );
    let stderr = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_string();
    (output.status.code(), stderr)
}

/// A header that declares a rate no audio has: refused when opened, on one line, in the CLI
/// (exit 2) and in live sources, instead of expanding 32 KB at 1 Hz into 9 hours at 16 kHz.
#[test]
fn a_rate_that_is_not_audio_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = vec![0x11u8; 32_000];
    // (declared rate, refused)
    let cases = [
        (1, true),
        (1_999, true),
        (2_000, false),
        (384_000, false),
        (400_000, true),
    ];
    for (rate, refused) in cases {
        let path = dir.path().join(format!("rate_{rate}.wav"));
        std::fs::write(&path, wav(1, rate, false, &data)).unwrap();
        let want = format!(
            "{}: sample rate {rate} Hz is not audio (claimwatch takes 2000 to 384000 Hz)",
            path.display()
        );
        match audio::open(&path) {
            Err(err) => {
                assert!(refused, "{rate} Hz: {err}");
                assert_eq!(err.to_string(), want);
            }
            Ok(_) => {
                assert!(!refused, "{rate} Hz opened");
                // What is accepted decodes to the length its rate says, no more.
                let samples = audio::read_all(&path).unwrap();
                let want_len = audio::expected_len(16_000, rate) as usize;
                assert_eq!(samples.len(), want_len, "{rate} Hz");
                continue;
            }
        }
        let (code, stderr) = claimwatch(&["transcribe", "--lang", "en", path.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr, format!("claimwatch: error: {want}"));

        // Live: a file source fails at spawn; a container on stdin goes Down with the reason.
        let spec: claimwatch::source::SourceSpec =
            format!("file:{}", path.display()).parse().unwrap();
        let (tx, _rx) = std::sync::mpsc::sync_channel(4);
        let policy = claimwatch::source::NetPolicy::public_only();
        let err =
            claimwatch::source::spawn(spec, Default::default(), policy, tx, Default::default())
                .unwrap_err();
        assert_eq!(err.to_string(), want);
        let (tx, rx) = std::sync::mpsc::sync_channel(64);
        let bytes = std::fs::read(&path).unwrap();
        let thread = claimwatch::source::spawn_reader(
            std::io::Cursor::new(bytes),
            None,
            "<stdin>",
            tx,
            Default::default(),
        )
        .unwrap();
        join_within(thread, Duration::from_secs(60), "the stdin reader");
        let events: Vec<_> = rx.try_iter().collect();
        assert_eq!(
            events,
            [
                claimwatch::source::SourceEvent::Down {
                    reason: format!(
                        "<stdin>: sample rate {rate} Hz is not audio (claimwatch takes 2000 to 384000 Hz)"
                    )
                },
                claimwatch::source::SourceEvent::Ended
            ]
        );
    }
}

/// Nothing to listen to — no samples, only NaN or infinite samples, or bit-exact zeros — is an
/// error (exit 2, one line) in `transcribe` and `audit`, not an empty transcript that passes an
/// audit gate. A WAV with no samples is refused when opened; the others once read through.
#[test]
fn a_recording_with_nothing_to_hear_fails_transcribe_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let second = 16_000;
    let nan = f32_bytes(&vec![f32::NAN; second]);
    let inf = f32_bytes(&[f32::INFINITY, f32::NEG_INFINITY].repeat(second / 2));
    let zeros = f32_bytes(&vec![0.0; second]);
    // (file, WAV bytes, reason after "no audio", refused at open)
    let cases = [
        (
            "no_samples.wav",
            wav(1, 16_000, false, &[]),
            "the stream holds no samples".to_string(),
            true,
        ),
        (
            "all_nan.wav",
            wav(1, 16_000, true, &nan),
            format!("all {second} samples are NaN or infinite"),
            false,
        ),
        (
            "all_inf_44k.wav",
            wav(2, 44_100, true, &inf),
            format!("all {second} samples are NaN or infinite"),
            false,
        ),
        (
            "digital_silence.wav",
            wav(1, 16_000, true, &zeros),
            format!("all {second} samples are zero: digital silence"),
            false,
        ),
    ];
    for (name, bytes, why, at_open) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let want = format!("{}: no audio ({why})", path.display());
        match audio::open(&path) {
            Err(err) => {
                assert!(at_open, "{name}: {err}");
                assert_eq!(err.to_string(), want);
            }
            Ok(mut stream) => {
                assert!(!at_open, "{name} opened");
                let mut chunk = Vec::new();
                while stream.read(&mut chunk, 4096).unwrap() > 0 {
                    assert!(chunk.iter().all(|x| *x == 0.0), "{name}: {chunk:?}");
                }
                assert_eq!(stream.check_signal().unwrap_err().to_string(), want);
            }
        }
        let file = path.to_str().unwrap();
        for args in [
            vec!["transcribe", "--lang", "en", file],
            vec!["audit", "--lang", "en", "--format", "json", file],
        ] {
            let (code, stderr) = claimwatch(&args);
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            let first = stderr.lines().next().unwrap_or_default();
            assert_eq!(first, format!("claimwatch: error: {want}"), "{args:?}");
            // audit adds its one-line summary of how many files failed.
            let lines = if args[0] == "audit" && !at_open { 2 } else { 1 };
            assert_eq!(stderr.lines().count(), lines, "{args:?}: {stderr}");
        }
    }
}

/// NaN and infinite samples inside good audio become 0 before resampling (where a filter would
/// smear one NaN over hundreds of samples) and so never reach Whisper; the tone around them
/// is intact and the stream is not judged empty.
#[test]
fn nan_samples_in_good_audio_become_zero() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [16_000u32, 44_100] {
        let mut samples: Vec<f32> = (0..rate)
            .map(|i| 0.5 * (std::f32::consts::TAU * 440.0 * i as f32 / rate as f32).sin())
            .collect();
        let mut bad = 0;
        for (i, x) in samples.iter_mut().enumerate().step_by(97) {
            *x = if i % 2 == 0 { f32::NAN } else { f32::INFINITY };
            bad += 1;
        }
        let path = dir.path().join(format!("nan_{rate}.wav"));
        std::fs::write(&path, wav(1, rate, true, &f32_bytes(&samples))).unwrap();
        let mut stream = audio::open(&path).unwrap();
        let (mut out, mut chunk) = (Vec::new(), Vec::new());
        while stream.read(&mut chunk, 4096).unwrap() > 0 {
            out.extend_from_slice(&chunk);
        }
        assert_eq!(out.len(), 16_000, "{rate} Hz");
        let finite = out.iter().filter(|x| x.is_finite()).count();
        assert_eq!(
            finite,
            out.len(),
            "{rate} Hz: {} not finite",
            out.len() - finite
        );
        assert_eq!(stream.nonfinite_samples(), bad, "{rate} Hz");
        stream.check_signal().unwrap();
        let tone = super::tone_fraction(super::middle(&out), 440.0);
        assert!(tone > 0.95, "{rate} Hz: 440 Hz is {tone} of the power");
    }
}

/// A WAV header crafted to overflow the reader's arithmetic (65 535 channels: symphonia's RIFF
/// reader multiplies past u16 and, with overflow checks on, panics) is a corrupt file like any
/// other: one line, exit 2, no backtrace.
#[test]
fn a_header_that_makes_the_decoder_panic_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("channels_65535.wav");
    std::fs::write(&path, wav(65_535, 16_000, false, &[0u8; 32_000])).unwrap();

    if let Err(err) = audio::open(&path) {
        assert!(
            err.to_string()
                .starts_with(&format!("{}: ", path.display())),
            "{err}"
        );
    }
    let output = output_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_claimwatch"))
            .args(["transcribe", "--lang", "en"])
            .arg(&path),
        // A hang guard: whatever it reads is at most a few seconds of audio for tiny.en.
        Duration::from_secs(300),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Whichever way the reader takes it (an error, or audio it can read), never exit 101.
    assert_ne!(output.status.code(), Some(101), "{stderr}");
    if output.status.code() == Some(2) {
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("channels_65535.wav"), "{stderr}");
    }
}
