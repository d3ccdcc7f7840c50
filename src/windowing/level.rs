//! How loud audio is, for telling silence from sound before anything is decoded: samples in →
//! the loudest 100 ms frame's level in dBFS, and whether that is silence. Pure: no I/O.
//!
//! Batch windows, live phrases and Whisper's invented text all use the one threshold, so what
//! the live cutter skips as a pause is what the hallucination filter calls silence.

use crate::audio::SAMPLE_RATE;

/// RMS level of a 100 ms frame below which it is silence. Speech in the samples sits near
/// −20 dBFS and a quiet room's noise floor near −60 dBFS.
pub const SILENCE_DBFS: f32 = -45.0;

/// Loudness of the loudest 100 ms frame of `pcm`, in dBFS (−inf for no samples).
pub fn loudest_frame_dbfs(pcm: &[f32]) -> f32 {
    let frame = SAMPLE_RATE as usize / 10;
    pcm.chunks(frame)
        .map(|f| {
            let mean_square = f.iter().map(|x| x * x).sum::<f32>() / f.len() as f32;
            10.0 * mean_square.max(1e-12).log10()
        })
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Whether a whole window is too quiet to hold speech (it is then not decoded at all).
pub fn is_silent(pcm: &[f32]) -> bool {
    loudest_frame_dbfs(pcm) < SILENCE_DBFS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f64, amplitude: f32) -> Vec<f32> {
        let n = (seconds * SAMPLE_RATE as f64) as usize;
        (0..n)
            .map(|i| amplitude * (i as f32 * 440.0 * std::f32::consts::TAU / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn loudness_of_tones() {
        // A sine's RMS is its amplitude / sqrt(2): −3 dB below the peak.
        let cases = [(0.5, -9.03), (0.05, -29.03), (0.0, -120.0)];
        for (amplitude, dbfs) in cases {
            let got = loudest_frame_dbfs(&tone(1.0, amplitude));
            assert!((got - dbfs).abs() < 0.05, "{amplitude}: {got}");
        }
        assert_eq!(loudest_frame_dbfs(&[]), f32::NEG_INFINITY);
        assert!(is_silent(&tone(1.0, 0.001)) && !is_silent(&tone(1.0, 0.3)));
    }
}
