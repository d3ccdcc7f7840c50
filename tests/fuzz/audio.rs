//! Mutated audio files → [`AudioStream`] (symphonia demux + decode, downmix, resample), read to
//! the end from a seekable `Cursor` or through a non-seekable reader (as stdin and HTTP are).
//!
//! Seeds: a 0.25 s WAV made here and the small clips already in `tests/data/` (MP3, FLAC, ADTS
//! AAC, Ogg/Vorbis, M4A, and an HLS fMP4 init section followed by its first segment, as the HLS
//! source feeds them), so no new data is committed.

use std::io::Cursor;

use claimwatch::audio::{AudioStream, ReadOnlySource};
use proptest::prelude::*;

use super::mutate::{apply, mutations};
use super::{fuzz, Outcome, CI_CASES};
use crate::common::repo;

/// Output beyond this (ten minutes at 16 kHz) from a seed of a few seconds is accepted without
/// reading on: a header may promise that much, and the property is bounded work, not length.
const MAX_SAMPLES: usize = 16_000 * 600;

/// 0.25 s of a 440 Hz tone, 16-bit stereo at 22.05 kHz (so downmix and resampling both run).
fn wav_seed() -> Vec<u8> {
    let rate: u32 = 22_050;
    let frames = rate / 4;
    let data_len = frames * 4;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..frames {
        let v = ((n as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn data(parts: &[&str]) -> Vec<u8> {
    parts
        .iter()
        .flat_map(|p| std::fs::read(repo().join("tests/data").join(p)).unwrap())
        .collect()
}

/// Opens and reads `bytes` to the end; the first error (open, decode or "nothing to hear") is
/// the outcome.
fn decode(bytes: Vec<u8>, ext: &'static str, seekable: bool) -> Outcome {
    let source: Box<dyn claimwatch::audio::MediaSource> = if seekable {
        Box::new(Cursor::new(bytes))
    } else {
        Box::new(ReadOnlySource::new(Cursor::new(bytes)))
    };
    let name = format!("fuzz.{ext}");
    let mut stream = match AudioStream::from_source(source, Some(ext), &name) {
        Ok(stream) => stream,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let mut chunk = Vec::new();
    let mut total = 0;
    loop {
        match stream.read(&mut chunk, 1 << 14) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => return Outcome::Refused(e.to_string()),
        }
        if total > MAX_SAMPLES {
            return Outcome::Accepted;
        }
    }
    match stream.check_signal() {
        Ok(()) => Outcome::Accepted,
        Err(e) => Outcome::Refused(e.to_string()),
    }
}

/// One test per container, so a failure names the format.
fn run(ext: &'static str, seed: Vec<u8>) {
    // The unmutated seed must decode: otherwise every case would only test the error path.
    assert_eq!(
        decode(seed.clone(), ext, true),
        Outcome::Accepted,
        "{ext} seed"
    );
    let seed = std::sync::Arc::new(seed);
    let strategy =
        (mutations(), any::<bool>()).prop_map(move |(m, seekable)| (apply(&seed, &m), seekable));
    match ext {
        "wav" => fuzz("audio wav", CI_CASES, strategy, |(b, s)| {
            decode(b, "wav", s)
        }),
        "mp3" => fuzz("audio mp3", CI_CASES, strategy, |(b, s)| {
            decode(b, "mp3", s)
        }),
        "flac" => fuzz("audio flac", CI_CASES, strategy, |(b, s)| {
            decode(b, "flac", s)
        }),
        "aac" => fuzz("audio aac", CI_CASES, strategy, |(b, s)| {
            decode(b, "aac", s)
        }),
        "m4a" => fuzz("audio m4a", CI_CASES, strategy, |(b, s)| {
            decode(b, "m4a", s)
        }),
        "ogg" => fuzz("audio ogg", CI_CASES, strategy, |(b, s)| {
            decode(b, "ogg", s)
        }),
        "mp4" => fuzz("audio fmp4", CI_CASES, strategy, |(b, s)| {
            decode(b, "mp4", s)
        }),
        _ => unreachable!("{ext}"),
    }
}

#[test]
fn mutated_wav_never_panics() {
    run("wav", wav_seed());
}

#[test]
fn mutated_mp3_never_panics() {
    run("mp3", data(&["audio/mp3_44k.mp3"]));
}

#[test]
fn mutated_flac_never_panics() {
    run("flac", data(&["audio/flac_96k.flac"]));
}

#[test]
fn mutated_adts_aac_never_panics() {
    run("aac", data(&["audio/aac_48k.aac"]));
}

#[test]
fn mutated_ogg_vorbis_never_panics() {
    run("ogg", data(&["audio/ogg_stereo_44k.ogg"]));
}

#[test]
fn mutated_m4a_never_panics() {
    run("m4a", data(&["audio/m4a_44k.m4a"]));
}

#[test]
fn mutated_fmp4_never_panics() {
    run(
        "mp4",
        data(&["source/fmp4/init.mp4", "source/fmp4/seg0.m4s"]),
    );
}
