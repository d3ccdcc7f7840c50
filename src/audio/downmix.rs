//! Downmixing: interleaved frames of any channel count → mono, by averaging the channels.
//!
//! Averaging (not summing) keeps the level within [-1, 1] whatever the layout, and a tone on
//! one channel of two comes out at half amplitude, which is what Whisper expects of quiet speech.
//! A NaN or infinite sample (a float WAV or a driver can carry them) counts as 0: every source
//! passes through here before the resampler, whose filter would smear one NaN over hundreds of
//! samples, and before Whisper, whose mel spectrogram it would poison.

/// Appends one mono sample per frame of `interleaved` (`channels` samples per frame) to `out`.
/// A trailing partial frame cannot come from a decoder, so it is ignored rather than guessed at.
pub fn downmix_into(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    match channels {
        0 => {}
        1 => out.extend(interleaved.iter().copied().map(finite)),
        n => {
            let scale = 1.0 / n as f32;
            out.extend(
                interleaved
                    .chunks_exact(n)
                    .map(|frame| frame.iter().copied().map(finite).sum::<f32>() * scale),
            );
        }
    }
}

fn finite(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::downmix_into;

    #[test]
    fn averages_each_frame() {
        let mut out = vec![9.0];
        downmix_into(&[1.0, 0.0, 0.5, 0.5, -1.0, 1.0], 2, &mut out);
        assert_eq!(out, [9.0, 0.5, 0.5, 0.0]);
    }

    #[test]
    fn nan_and_infinite_samples_count_as_zero() {
        // (interleaved, channels, mono out)
        let cases: [(&[f32], usize, &[f32]); 3] = [
            (&[f32::NAN, 0.5, f32::INFINITY], 1, &[0.0, 0.5, 0.0]),
            (&[f32::NEG_INFINITY, 0.5, 0.25, f32::NAN], 2, &[0.25, 0.125]),
            (&[f32::NAN, f32::NAN], 2, &[0.0]),
        ];
        for (input, channels, want) in cases {
            let mut out = Vec::new();
            downmix_into(input, channels, &mut out);
            assert_eq!(out, want, "{input:?} ({channels} channels)");
        }
    }

    #[test]
    fn mono_passes_through_and_six_channels_average() {
        let mut out = Vec::new();
        downmix_into(&[0.25, -0.25], 1, &mut out);
        downmix_into(&[0.6, 0.0, 0.0, 0.0, 0.0, 0.0], 6, &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(&out[..2], &[0.25, -0.25]);
        assert!((out[2] - 0.1).abs() < 1e-6);
    }
}
