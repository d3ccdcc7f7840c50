//! The log-mel filterbank whisper.cpp reads from a ggml file's header.
//!
//! Input: the number of mel bands. Output: `n_mels × 201` f32 weights, row-major, equal to
//! `librosa.filters.mel(sr=16000, n_fft=400, n_mels=n_mels)` (Slaney scale, Slaney norm), which
//! is what openai-whisper ships as `mel_filters.npz`. CTranslate2 directories do not carry the
//! filterbank, so it is computed here, replaying librosa's float64 arithmetic and its two f32
//! roundings (assignment into an f32 array, then the in-place normalisation) so the result
//! matches the reference to the last bit or within one ulp where libm's `ln`/`exp` differ.

/// Whisper's STFT size: 25 ms at 16 kHz.
pub const N_FFT: usize = 400;
/// Frequency bins of a real FFT of `N_FFT` points.
pub const N_FREQ_BINS: usize = N_FFT / 2 + 1;
const SAMPLE_RATE: f64 = 16_000.0;

// Slaney's mel scale: linear below 1 kHz, logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// Returns the `n_mels × N_FREQ_BINS` filterbank, row-major.
pub fn filterbank(n_mels: usize) -> Vec<f32> {
    // np.fft.rfftfreq(n=400, d=1/sr): k * (1 / (n * d)).
    let bin_hz = 1.0 / (N_FFT as f64 * (1.0 / SAMPLE_RATE));
    let fft_freqs: Vec<f64> = (0..N_FREQ_BINS).map(|k| k as f64 * bin_hz).collect();

    // np.linspace(min_mel, max_mel, n_mels + 2): i * step + start, last point exactly max.
    let n_points = n_mels + 2;
    let (min_mel, max_mel) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0));
    let step = (max_mel - min_mel) / (n_points - 1) as f64;
    let mel_freqs: Vec<f64> = (0..n_points)
        .map(|i| {
            let mel = if i == n_points - 1 {
                max_mel
            } else {
                i as f64 * step + min_mel
            };
            mel_to_hz(mel)
        })
        .collect();

    let mut weights = vec![0f32; n_mels * N_FREQ_BINS];
    for i in 0..n_mels {
        let lower_width = mel_freqs[i + 1] - mel_freqs[i];
        let upper_width = mel_freqs[i + 2] - mel_freqs[i + 1];
        let enorm = 2.0 / (mel_freqs[i + 2] - mel_freqs[i]);
        for (k, &freq) in fft_freqs.iter().enumerate() {
            let lower = -(mel_freqs[i] - freq) / lower_width;
            let upper = (mel_freqs[i + 2] - freq) / upper_width;
            // np.maximum(0, x) keeps x when x is -0.0 (the reference has -0.0 at the edges).
            let nearest_edge = lower.min(upper);
            let triangle = if 0.0 > nearest_edge {
                0.0
            } else {
                nearest_edge
            } as f32;
            weights[i * N_FREQ_BINS + k] = (triangle as f64 * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangles_are_non_negative_and_each_band_is_non_empty() {
        for n_mels in [80, 128] {
            let fb = filterbank(n_mels);
            assert_eq!(fb.len(), n_mels * N_FREQ_BINS);
            assert!(fb.iter().all(|w| *w >= 0.0));
            for band in fb.chunks(N_FREQ_BINS) {
                assert!(band.iter().any(|w| *w > 0.0));
            }
        }
    }

    #[test]
    fn mel_scale_round_trips() {
        for hz in [0.0, 440.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
    }
}
