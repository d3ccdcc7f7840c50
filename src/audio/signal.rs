//! Whether a stream held any audio: every decoded packet's samples in → on request, why there
//! was none (no samples at all, only NaN or infinite samples, or only exact zeros).
//!
//! A recording with nothing in it must fail `transcribe` and `audit` with a reason rather than
//! pass with an empty transcript: an audit gate that passes a broken file hides the breakage.
//! Digital silence (every sample exactly 0) counts as nothing: a microphone, a room or a codec
//! always leaves some noise, so bit-exact zeros throughout mean the capture or the export failed.

/// Counts kept over a whole stream; the samples themselves are not.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Signal {
    samples: u64,
    nonfinite: u64,
    /// Some finite sample was not 0.
    heard: bool,
}

impl Signal {
    /// Takes one packet's samples (any channel layout: a sample is a sample here).
    pub fn observe(&mut self, samples: &[f32]) {
        self.samples += samples.len() as u64;
        for &x in samples {
            if !x.is_finite() {
                self.nonfinite += 1;
            } else if x != 0.0 {
                self.heard = true;
            }
        }
    }

    /// Samples seen whose value was NaN or infinite (they reach the resampler as 0).
    pub fn nonfinite(&self) -> u64 {
        self.nonfinite
    }

    /// `None` when the stream held audio; else why not, worded to follow "no audio".
    pub fn missing(&self) -> Option<String> {
        let why = if self.samples == 0 {
            "the stream holds no samples".to_string()
        } else if self.nonfinite == self.samples {
            format!("all {} samples are NaN or infinite", self.samples)
        } else if self.heard {
            return None;
        } else if self.nonfinite > 0 {
            format!(
                "every sample is zero, NaN or infinite ({} of {} not finite)",
                self.nonfinite, self.samples
            )
        } else {
            format!("all {} samples are zero: digital silence", self.samples)
        };
        Some(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_why_a_stream_held_no_audio() {
        let (nan, inf) = (f32::NAN, f32::INFINITY);
        // (packets, why there was no audio, or None)
        let cases: Vec<(Vec<Vec<f32>>, Option<&str>)> = vec![
            (vec![], Some("the stream holds no samples")),
            (vec![vec![]], Some("the stream holds no samples")),
            (
                vec![vec![nan, inf], vec![-inf]],
                Some("all 3 samples are NaN or infinite"),
            ),
            (
                vec![vec![0.0; 4], vec![-0.0]],
                Some("all 5 samples are zero: digital silence"),
            ),
            (
                vec![vec![0.0, nan, 0.0]],
                Some("every sample is zero, NaN or infinite (1 of 3 not finite)"),
            ),
            (vec![vec![0.0, 0.0], vec![1e-6]], None),
            (vec![vec![nan, 0.25, inf]], None),
        ];
        for (packets, want) in cases {
            let mut signal = Signal::default();
            for packet in &packets {
                signal.observe(packet);
            }
            assert_eq!(signal.missing().as_deref(), want, "{packets:?}");
        }
    }
}
