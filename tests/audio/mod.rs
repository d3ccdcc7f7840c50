//! Tests of the audio input stage against real files in `tests/data/audio/` (regenerate them
//! with `tests/data/audio/make.sh`) and, for the long-file case, a file sox writes at test time.

mod bad_input;
mod formats;
mod long_file;
mod sources;

use std::path::{Path, PathBuf};

use claimwatch::audio::SAMPLE_RATE;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/audio")
        .join(name)
}

pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// The 10%–90% stretch, away from codec start-up and fade-out transients.
pub fn middle(x: &[f32]) -> &[f32] {
    &x[x.len() / 10..x.len() * 9 / 10]
}

/// Frequency of a 16 kHz tone from its rising zero crossings.
pub fn zero_crossing_hz(x: &[f32]) -> f32 {
    let rising: Vec<usize> = (1..x.len())
        .filter(|&i| x[i - 1] < 0.0 && x[i] >= 0.0)
        .collect();
    assert!(
        rising.len() >= 2,
        "no tone: {} rising crossings",
        rising.len()
    );
    let periods = (rising.len() - 1) as f32;
    let span = (rising[rising.len() - 1] - rising[0]) as f32;
    periods * SAMPLE_RATE as f32 / span
}

/// Share of the signal's power at `hz` (single DFT bin, Goertzel): ~1.0 for a pure tone, ~0 when
/// the tone is absent. Catches aliasing and garbage that zero crossings alone would miss.
pub fn tone_fraction(x: &[f32], hz: f32) -> f32 {
    let w = std::f64::consts::TAU * f64::from(hz) / f64::from(SAMPLE_RATE);
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (n, &v) in x.iter().enumerate() {
        re += f64::from(v) * (w * n as f64).cos();
        im -= f64::from(v) * (w * n as f64).sin();
    }
    let n = x.len() as f64;
    let tone_power = 2.0 * (re * re + im * im) / (n * n);
    let total_power = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n;
    (tone_power / total_power) as f32
}
