//! A 10-minute file streams through `read` in fixed chunks with the exact sample count.

use std::process::Command;

use claimwatch::audio::{self, SAMPLE_RATE};

use super::{rms, zero_crossing_hz};

#[test]
fn ten_minute_file_streams_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    // 8 kHz mono keeps the file (9.6 MB) and the test quick while still resampling.
    let status = Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&path)
        .args(["synth", "600", "sine", "440", "vol", "0.5"])
        .status()
        .expect("sox must be installed to generate the long test file");
    assert!(status.success());

    let mut stream = audio::open(&path).unwrap();
    assert_eq!(stream.duration_s(), Some(600.0));
    let mut chunk = Vec::new();
    let mut total = 0usize;
    let mut last = Vec::new();
    // Whisper's 30-second window.
    let max = 30 * SAMPLE_RATE as usize;
    while stream.read(&mut chunk, max).unwrap() > 0 {
        assert!(chunk.len() == max || total + chunk.len() == 600 * SAMPLE_RATE as usize);
        total += chunk.len();
        std::mem::swap(&mut last, &mut chunk);
    }
    assert_eq!(total, 600 * SAMPLE_RATE as usize);
    // The end is still the tone, at the right pitch and level.
    assert!((zero_crossing_hz(&last) - 440.0).abs() < 1.0);
    assert!((rms(&last[..max - 100]) - 0.3536).abs() < 0.01);
}
