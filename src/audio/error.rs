//! The audio stage's error type: every failure names the input and says why, on one line.
//!
//! Input: whatever went wrong in opening, probing, decoding or resampling → output: an
//! [`AudioError`] whose `Display` is `"<name>: <reason>"`, ready for a CLI to print as is.

use std::io;

use super::resample::ResampleError;

/// Why an audio input could not be opened or read. `name` is the path (or a label such as
/// `<stdin>`) exactly as the caller gave it, so messages point at what the user typed.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// Opening or reading the source failed at the OS level (missing file, permissions, EIO).
    // The cause is in the message, not exposed as `source`: a `{:#}` chain would print it twice.
    #[error("{name}: {}", io_reason(.error))]
    Io { name: String, error: io::Error },

    #[error("{name}: file is empty")]
    Empty { name: String },

    /// No container reader recognised the bytes, or the container header is unreadable.
    #[error("{name}: not a recognised audio format (unsupported or corrupt)")]
    UnknownFormat { name: String },

    /// The container is fine but holds no audio (e.g. a video-only MP4).
    #[error("{name}: no audio track")]
    NoAudioTrack { name: String },

    #[error("{name}: unsupported audio codec ({detail})")]
    UnsupportedCodec { name: String, detail: String },

    /// The stream could not be decoded past this point (bad headers, a run of broken packets).
    #[error("{name}: corrupt audio ({detail})")]
    Corrupt { name: String, detail: String },

    #[error("{name}: {error}")]
    Resample { name: String, error: ResampleError },

    /// Decoded fine, but there is nothing to listen to (see `signal`): no samples, only NaN or
    /// infinite ones, or digital silence.
    #[error("{name}: no audio ({why})")]
    NoAudio { name: String, why: String },
}

/// `io::Error`'s own Display appends "(os error 2)"; users only need the reason.
fn io_reason(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let text = io::Error::from_raw_os_error(code).to_string();
            match text.rfind(" (os error") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        }
        None => err.to_string(),
    }
}
