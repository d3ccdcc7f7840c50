//! Streaming resampler: interleaved f32 frames at any rate and channel count → 16 kHz mono f32.
//!
//! The only file that touches rubato. Channels are averaged first (see [`super::downmix`]) so
//! only one channel is resampled. Output is aligned to the input: the filter's delay is
//! trimmed from the start and [`Resampler::flush`] pads the tail, so sample `n` of the output is
//! at time `n / 16000` s and the total length is `round(frames_in × 16000 / from_rate)`.
//! Whisper timestamps depend on that alignment.

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Indexing, SincInterpolationParameters, WindowFunction,
};

use super::downmix::downmix_into;
use super::SAMPLE_RATE;

/// Input frames per rubato call: ~50 ms at 44.1 kHz, large enough to amortise call overhead,
/// small enough that the resampler's scratch buffers stay a few KiB.
const CHUNK_FRAMES: usize = 2048;

/// The FFT resampler works in blocks of `from_rate / gcd(from_rate, 16000)` input frames. For
/// every common rate that is ≤ 441 (44.1 kHz family), but an odd rate such as 11111 Hz would
/// need an 11111-point FFT per block; above this size the sinc resampler is used instead.
const MAX_FFT_BLOCK: usize = 2000;

/// Windowed-sinc length for the fallback: 256 taps keeps aliasing well below speech levels.
const SINC_LEN: usize = 256;

/// Lowest and highest input rates taken. Below 2 kHz nothing is speech (telephone audio is 8 kHz)
/// and every input sample would become 8 or more output samples: a 32 KB WAV header declaring
/// 1 Hz would expand to hours of audio. Above 384 kHz (the highest rate audio interfaces offer)
/// a header is lying as surely.
pub const MIN_RATE: u32 = 2_000;
pub const MAX_RATE: u32 = 384_000;

/// Why input cannot be resampled to 16 kHz mono.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// The declared rate is not one audio is recorded at (a corrupt or crafted header).
    #[error("sample rate {rate} Hz is not audio (claimwatch takes {MIN_RATE} to {MAX_RATE} Hz)")]
    RateOutOfRange { rate: u32 },
    /// A resampler could not be built or run for this input.
    #[error("cannot resample {channels}-channel audio at {rate} Hz to 16 kHz ({detail})")]
    Failed {
        rate: u32,
        channels: usize,
        detail: String,
    },
}

/// Converts a stream of interleaved frames to 16 kHz mono, keeping timing exact.
///
/// Feed it with [`process`](Self::process) as audio arrives, then call
/// [`flush`](Self::flush) once at the end to get the last samples. After `flush` the resampler
/// is back in its initial state and can take a new stream at the same rate.
pub struct Resampler {
    from_rate: u32,
    channels: usize,
    /// `None` when the input is already 16 kHz: downmix only.
    inner: Option<Box<dyn rubato::Resampler<f32>>>,
    /// Mono input not yet handed to rubato (less than one chunk after each `process`).
    pending: Vec<f32>,
    /// One chunk of rubato output.
    scratch: Vec<f32>,
    trim: Trim,
    frames_in: u64,
}

impl Resampler {
    /// A resampler from `from_rate` Hz with `channels` interleaved channels to 16 kHz mono.
    pub fn new(from_rate: u32, channels: usize) -> Result<Self, ResampleError> {
        let fail = |detail: &str| error(from_rate, channels, detail.to_string());
        if !(MIN_RATE..=MAX_RATE).contains(&from_rate) {
            return Err(ResampleError::RateOutOfRange { rate: from_rate });
        }
        if channels == 0 {
            return Err(fail("no channels"));
        }
        let inner = if from_rate == SAMPLE_RATE {
            None
        } else {
            Some(build(from_rate).map_err(|e| fail(&e.to_string()))?)
        };
        let to_skip = inner.as_ref().map_or(0, |r| r.output_delay());
        let scratch = vec![0.0; inner.as_ref().map_or(0, |r| r.output_frames_max())];
        Ok(Self {
            from_rate,
            channels,
            inner,
            pending: Vec::with_capacity(CHUNK_FRAMES * 2),
            scratch,
            trim: Trim {
                to_skip,
                frames_out: 0,
            },
            frames_in: 0,
        })
    }

    pub fn from_rate(&self) -> u32 {
        self.from_rate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Resamples `interleaved` (whole frames of `channels` samples) and appends the 16 kHz mono
    /// output that is ready to `out`. Up to one chunk of input is held back for the next call.
    pub fn process(
        &mut self,
        interleaved: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), ResampleError> {
        let frames = interleaved.len() / self.channels;
        self.frames_in += frames as u64;
        let Some(inner) = self.inner.as_mut() else {
            downmix_into(interleaved, self.channels, out);
            self.trim.frames_out += frames as u64;
            return Ok(());
        };
        downmix_into(interleaved, self.channels, &mut self.pending);

        let mut pos = 0;
        while self.pending.len() - pos >= inner.input_frames_next() {
            let need = inner.input_frames_next();
            let input = &self.pending[pos..pos + need];
            let (used, made) = run_chunk(inner.as_mut(), input, &mut self.scratch)
                .map_err(|e| error(self.from_rate, self.channels, e))?;
            pos += used;
            self.trim.emit(&self.scratch[..made], u64::MAX, out);
        }
        // One memmove of < 1 chunk per call, instead of one per chunk.
        self.pending.drain(..pos);
        Ok(())
    }

    /// Pushes the held-back input through, trims the output to exactly
    /// `round(frames_in × 16000 / from_rate)` samples, and resets for a new stream.
    pub fn flush(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let total = expected_len(self.frames_in, self.from_rate);
        if let Some(inner) = self.inner.as_mut() {
            // Zeros after the real input are what rubato's own `partial_len` would insert; they
            // drive the filter's tail (the delayed last samples) out.
            let mut stalled = 0;
            while self.trim.frames_out < total {
                let need = inner.input_frames_next();
                self.pending.resize(need.max(self.pending.len()), 0.0);
                let input = &self.pending[..need];
                let (used, made) = run_chunk(inner.as_mut(), input, &mut self.scratch)
                    .map_err(|e| error(self.from_rate, self.channels, e))?;
                self.pending.drain(..used);
                self.trim.emit(&self.scratch[..made], total, out);
                // A resampler that stops producing would loop forever; give up instead.
                stalled = if made == 0 { stalled + 1 } else { 0 };
                if stalled > 8 {
                    let detail = "resampler produced no output while flushing".to_string();
                    return Err(error(self.from_rate, self.channels, detail));
                }
            }
            inner.reset();
            self.trim.to_skip = inner.output_delay();
        }
        self.pending.clear();
        self.frames_in = 0;
        self.trim.frames_out = 0;
        Ok(())
    }
}

/// Output bookkeeping, apart from the rubato state so both can be borrowed at once.
struct Trim {
    /// Output frames still to drop: the filter's delay, so output starts at input time zero.
    to_skip: usize,
    frames_out: u64,
}

impl Trim {
    /// Appends `chunk` to `out`, minus the delay still to skip, stopping at `limit` frames.
    fn emit(&mut self, chunk: &[f32], limit: u64, out: &mut Vec<f32>) {
        let skip = self.to_skip.min(chunk.len());
        self.to_skip -= skip;
        let room = limit.saturating_sub(self.frames_out);
        let take = ((chunk.len() - skip) as u64).min(room) as usize;
        out.extend_from_slice(&chunk[skip..skip + take]);
        self.frames_out += take as u64;
    }
}

fn error(rate: u32, channels: usize, detail: String) -> ResampleError {
    ResampleError::Failed {
        rate,
        channels,
        detail,
    }
}

/// Number of 16 kHz samples that cover `frames` at `rate`, rounded to nearest.
pub fn expected_len(frames: u64, rate: u32) -> u64 {
    let rate = u128::from(rate.max(1));
    ((u128::from(frames) * u128::from(SAMPLE_RATE) + rate / 2) / rate) as u64
}

/// FFT resampling (exact rational ratio, fast) where the block size allows, else windowed sinc.
fn build(from_rate: u32) -> Result<Box<dyn rubato::Resampler<f32>>, String> {
    let (from, to) = (from_rate as usize, SAMPLE_RATE as usize);
    let block = from / gcd(from, to);
    if block <= MAX_FFT_BLOCK {
        let fft = Fft::<f32>::new(from, to, CHUNK_FRAMES, 1, FixedSync::Input)
            .map_err(|e| e.to_string())?;
        return Ok(Box::new(fft));
    }
    let params = SincInterpolationParameters::new(SINC_LEN, WindowFunction::BlackmanHarris2);
    let ratio = to as f64 / from as f64;
    let sinc = Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK_FRAMES, 1, FixedAsync::Input)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(sinc))
}

fn run_chunk(
    inner: &mut dyn rubato::Resampler<f32>,
    input: &[f32],
    scratch: &mut [f32],
) -> Result<(usize, usize), String> {
    let wave_in = SequentialSlice::new(input, 1, input.len()).map_err(|e| e.to_string())?;
    let frames_out = scratch.len();
    let mut wave_out =
        SequentialSlice::new_mut(scratch, 1, frames_out).map_err(|e| e.to_string())?;
    inner
        .process_into_buffer(&wave_in, &mut wave_out, None::<&Indexing>)
        .map_err(|e| e.to_string())
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, secs: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| 0.5 * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Feeds `input` in uneven pieces (as a decoder would) and returns the whole output.
    fn run(rate: u32, input: &[f32]) -> Vec<f32> {
        let mut r = Resampler::new(rate, 1).unwrap();
        let mut out = Vec::new();
        for piece in input.chunks(777) {
            r.process(piece, &mut out).unwrap();
        }
        r.flush(&mut out).unwrap();
        out
    }

    #[test]
    fn length_is_exact_for_common_and_odd_rates() {
        for rate in [8_000, 11_025, 11_111, 22_050, 44_100, 48_000, 96_000] {
            let input = vec![0.1; rate as usize * 3 / 2 + 7];
            let out = run(rate, &input);
            assert_eq!(
                out.len() as u64,
                expected_len(input.len() as u64, rate),
                "{rate} Hz"
            );
        }
    }

    /// A step at a known input time must land at the same output time: the delay is trimmed.
    #[test]
    fn no_delay_offset() {
        for rate in [8_000, 11_111, 44_100, 48_000] {
            let mut input = vec![0.0; rate as usize];
            let step = rate as usize / 2;
            input[step..].fill(0.5);
            let out = run(rate, &input);
            let crossing = out.iter().position(|&x| x > 0.25).unwrap();
            assert!(
                (crossing as i64 - 8_000).abs() <= 2,
                "{rate} Hz: step at output sample {crossing}, expected 8000"
            );
        }
    }

    #[test]
    fn passthrough_at_16k_downmixes_only() {
        let mut r = Resampler::new(16_000, 2).unwrap();
        let mut out = Vec::new();
        r.process(&[0.5, 0.0, 1.0, 1.0], &mut out).unwrap();
        r.flush(&mut out).unwrap();
        assert_eq!(out, [0.25, 1.0]);
    }

    #[test]
    fn reusable_after_flush() {
        let input = sine(440.0, 44_100, 0.5);
        assert_eq!(run(44_100, &input).len(), 8_000);
        let mut r = Resampler::new(44_100, 1).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        r.process(&input, &mut a).unwrap();
        r.flush(&mut a).unwrap();
        r.process(&input, &mut b).unwrap();
        r.flush(&mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_rates_that_are_not_audio_and_zero_channels() {
        // (rate, accepted)
        let cases = [
            (0, false),
            (1, false),
            (MIN_RATE - 1, false),
            (MIN_RATE, true),
            (8_000, true),
            (MAX_RATE, true),
            (MAX_RATE + 1, false),
            (u32::MAX, false),
        ];
        for (rate, accepted) in cases {
            match Resampler::new(rate, 1) {
                Ok(_) => assert!(accepted, "{rate} Hz accepted"),
                Err(err) => {
                    assert!(!accepted, "{rate} Hz refused: {err}");
                    assert_eq!(
                        err.to_string(),
                        format!(
                            "sample rate {rate} Hz is not audio (claimwatch takes 2000 to 384000 Hz)"
                        )
                    );
                }
            }
        }
        assert!(Resampler::new(44_100, 0).is_err());
    }
}
