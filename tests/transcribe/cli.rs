//! `claimwatch transcribe` as a user runs it: the built binary, real files, its stdout, stderr
//! and exit code.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use claimwatch::eval;

use crate::common;
use crate::source::bounded::output_within;

/// A bound on one CLI run so a hung decode fails the test: the slowest case here (base on a
/// 10 s Japanese clip) takes well under a minute on 2 loaded cores.
const CLI_PATIENCE: Duration = Duration::from_secs(300);

fn claimwatch(args: &[&str]) -> Output {
    let _cores = common::whisper_lock();
    output_within(
        Command::new(env!("CARGO_BIN_EXE_claimwatch"))
            .args(args)
            .current_dir(common::repo()),
        CLI_PATIENCE,
    )
}

fn stderr_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_string()
}

#[test]
fn json_output_has_file_language_duration_and_timed_segments() {
    let output = claimwatch(&[
        "transcribe",
        "samples/en_pricing.wav",
        "--lang",
        "en",
        "--format",
        "json",
        "--threads",
        "2",
    ]);
    assert!(output.status.success(), "{}", stderr_line(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(json["file"], "samples/en_pricing.wav");
    assert_eq!(json["language"], "en");
    let duration = json["duration_s"].as_f64().unwrap();
    assert!((duration - 9.9).abs() < 0.1, "{duration}");
    let segments = json["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    let mut text = String::new();
    for s in segments {
        let (start, end) = (s["start_s"].as_f64().unwrap(), s["end_s"].as_f64().unwrap());
        assert!(
            0.0 <= start && start <= end && end <= duration + 0.05,
            "{s}"
        );
        text.push_str(s["text"].as_str().unwrap());
        text.push(' ');
    }
    let script = std::fs::read_to_string(common::repo().join("samples/en_pricing.txt")).unwrap();
    let wer = eval::wer(&script, &text);
    assert!(wer < 0.2, "WER {wer}: {text}");
}

#[test]
fn default_model_for_japanese_and_subtitle_formats() {
    let srt = claimwatch(&[
        "transcribe",
        "samples/ja_origin_false.wav",
        "--lang",
        "ja",
        "--format",
        "srt",
    ]);
    assert!(srt.status.success(), "{}", stderr_line(&srt));
    let srt = String::from_utf8(srt.stdout).unwrap();
    assert!(srt.starts_with("1\n00:00:0"), "{srt}");
    assert!(srt.contains(" --> "), "{srt}");
    assert!(srt.contains("国産"), "{srt}");

    let vtt = claimwatch(&[
        "transcribe",
        "samples/ja_origin_false.wav",
        "--lang",
        "ja",
        "--format",
        "vtt",
    ]);
    assert!(vtt.status.success(), "{}", stderr_line(&vtt));
    let vtt = String::from_utf8(vtt.stdout).unwrap();
    assert!(vtt.starts_with("WEBVTT\n"), "{vtt}");
    assert!(vtt.contains("国産"), "{vtt}");
}

/// Bad input: exit code 2 and one line on stderr naming the problem; never a panic.
#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let text_as_wav = dir.path().join("notes.wav");
    std::fs::write(&text_as_wav, "this is not audio\n").unwrap();
    let empty = dir.path().join("empty.mp3");
    std::fs::write(&empty, b"").unwrap();
    let text_as_wav = text_as_wav.to_str().unwrap();
    let empty = empty.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["transcribe", "no/such/file.wav"], "no/such/file.wav"),
        (&["transcribe", text_as_wav], "notes.wav"),
        (&["transcribe", empty], "empty.mp3"),
        (
            &[
                "transcribe",
                "samples/en_greeting.wav",
                "--model",
                "no/such/model.bin",
            ],
            "no/such/model.bin",
        ),
        (
            &[
                "transcribe",
                "samples/en_greeting.wav",
                "--model",
                text_as_wav,
            ],
            "could not load",
        ),
        (
            &[
                "transcribe",
                "samples/ja_greeting.wav",
                "--lang",
                "ja",
                "--model",
                "models/ggml-tiny.en-q8_0.bin",
            ],
            "English-only",
        ),
        (
            &["transcribe", "samples/en_greeting.wav", "--lang", "xx"],
            "--lang",
        ),
    ];
    for (args, expected) in cases {
        let output = claimwatch(args);
        let stderr = stderr_line(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        if !args.contains(&"xx") {
            // clap's usage errors span lines; ours are one line.
            assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
            assert!(stderr.starts_with("claimwatch: error: "), "{stderr}");
        }
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_claimwatch")).is_file());
}
