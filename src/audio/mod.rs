//! Audio input: decode any container symphonia reads, downmix, resample to 16 kHz mono f32.
//!
//! - [`downmix`]: interleaved frames → mono by averaging channels.
//! - [`resample`]: any rate → 16 kHz, delay-compensated (rubato adapter); reusable for live capture.

mod downmix;
mod resample;

pub use downmix::downmix_into;
pub use resample::{expected_len, ResampleError, Resampler};

/// Output sample rate: what Whisper expects.
pub const SAMPLE_RATE: u32 = 16_000;
