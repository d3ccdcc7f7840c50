//! `file:PATH[?realtime]` and bare paths.

use std::time::Instant;

use claimwatch::audio;
use claimwatch::source::{self, SourceSpec};

use super::events::{audio, start, summary};
use super::repo;

/// Paced replay gives the same samples as decoding the file, and takes (at least) about as long
/// as the audio lasts — checked loosely, the machine is shared.
#[test]
fn realtime_file_is_the_files_audio_paced_to_the_clock() {
    let path = repo("tests/data/audio/speech_22k.wav");
    let want = audio::read_all(&path).unwrap();
    let duration_s = want.len() as f64 / 16_000.0;
    assert!(duration_s > 2.5, "fixture too short to see pacing");

    let began = Instant::now();
    let mut run = start(&format!("file:{}?realtime", path.display()));
    let events = run.run_to_end().to_vec();
    let took = began.elapsed().as_secs_f64();

    assert_eq!(summary(&events), "Up Audio Ended");
    assert_eq!(audio(&events), want);
    assert!(
        took >= duration_s * 0.9,
        "{duration_s:.2} s of audio came in {took:.2} s: not paced"
    );
}

#[test]
fn plain_file_and_bare_path_give_the_files_audio() {
    let path = repo("samples/formats/en_greeting.ogg");
    let want = audio::read_all(&path).unwrap();
    for spec in [
        format!("file:{}", path.display()),
        path.display().to_string(),
    ] {
        let mut run = start(&spec);
        let events = run.run_to_end().to_vec();
        assert_eq!(summary(&events), "Up Audio Ended", "{spec}");
        assert_eq!(audio(&events), want, "{spec}");
        // Audio comes in 100 ms chunks; only the last may be shorter.
        let sizes: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                source::SourceEvent::Audio(a, _) => Some(a.len()),
                _ => None,
            })
            .collect();
        assert!(
            sizes[..sizes.len() - 1].iter().all(|&n| n == 1_600),
            "{sizes:?}"
        );
    }
}

/// Missing and undecodable files fail at spawn, on one line naming the file — no thread, no retry.
#[test]
fn missing_or_undecodable_file_is_one_line_at_spawn() {
    let table = [
        (
            "tests/data/audio/does_not_exist.wav",
            "No such file or directory",
        ),
        (
            "tests/data/audio/random_bytes.bin",
            "not a recognised audio format",
        ),
        ("tests/data/audio/empty.wav", "file is empty"),
    ];
    for (rel, want) in table {
        let path = repo(rel);
        let spec: SourceSpec = format!("file:{}", path.display()).parse().unwrap();
        let (tx, _rx) = std::sync::mpsc::sync_channel(4);
        let err = source::spawn(
            spec,
            Default::default(),
            Default::default(),
            tx,
            Default::default(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string()) && text.contains(want),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text:?}");
    }
}

#[test]
fn bad_specs_are_one_line() {
    let table = [
        (
            "rtmp://x.test/live",
            "bad source \"rtmp://x.test/live\": unsupported scheme rtmp://",
        ),
        (
            "-?format=s16le&rate=48000&channels=12",
            "channels 12 is out of range (1..=8)",
        ),
        ("device:", "device name is empty"),
    ];
    for (spec, want) in table {
        let err = spec.parse::<SourceSpec>().unwrap_err().to_string();
        assert!(err.contains(want) && !err.contains('\n'), "{spec}: {err}");
    }
}

#[test]
fn invalid_retry_config_fails_at_spawn() {
    let spec: SourceSpec = "http://127.0.0.1:9/".parse().unwrap();
    let (tx, _rx) = std::sync::mpsc::sync_channel(4);
    let retry = source::RetryConfig {
        initial_s: 5.0,
        max_s: 1.0,
    };
    let err = source::spawn(spec, retry, Default::default(), tx, Default::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "retry: initial_s = 5 is larger than max_s = 1"
    );
}
