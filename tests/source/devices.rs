//! `claimwatch devices` and `device:` sources on whatever audio hardware the machine has (often
//! none on a server): never a panic, always a clear line.

use std::process::Command;
use std::time::Duration;

use claimwatch::source::{self, SourceEvent};

use super::bounded::output_within;
use super::events::{downs, start};

#[test]
fn devices_command_prints_a_listing_or_a_clear_line() {
    // Bounded: an audio backend that blocks enumerating devices fails the test, not the run.
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_claimwatch")).arg("devices"),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    match out.status.code() {
        Some(0) => assert!(!stdout.trim().is_empty(), "exit 0 with no output"),
        Some(2) => assert!(
            stderr.starts_with("claimwatch: error: audio devices: "),
            "{stderr}"
        ),
        other => panic!("exit {other:?}: {stdout} {stderr}"),
    }
    // The library agrees with the command.
    let listed = source::list_devices();
    assert_eq!(listed.is_ok(), out.status.success());
}

/// A device that does not exist: Down with a reason naming it, retried, and stopped on request.
#[test]
fn unknown_device_is_down_and_retried() {
    let mut run = start("device:no such microphone");
    let events = run.until(|e| downs(e).len() >= 2).to_vec();
    run.stop();
    let reasons = downs(&events);
    assert!(
        reasons[0].starts_with("device:no such microphone: "),
        "{reasons:?}"
    );
    assert!(!events.iter().any(|e| matches!(e, SourceEvent::Audio(..))));
}

/// ALSA's `null` PCM (defined in alsa-lib's own alsa.conf, so present wherever cpal's ALSA
/// backend links) captures silence: the whole cpal path — default config, sample conversion,
/// downmix, resampling, events — runs without a sound card.
#[test]
fn alsa_null_device_captures_silence() {
    let mut run = start("device:null");
    let events = run
        .until(|e| super::events::audio(e).len() >= 8_000 || downs(e).len() >= 2)
        .to_vec();
    run.stop();
    assert!(downs(&events).is_empty(), "{:?}", downs(&events));
    assert!(super::events::summary(&events).starts_with("Up Audio"));
    let got = super::events::audio(&events);
    assert!(got.len() >= 8_000);
    assert!(got.iter().all(|&v| v == 0.0), "null capture is not silent");
}
