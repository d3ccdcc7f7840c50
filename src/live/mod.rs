//! Live monitoring: audio that arrives as it is spoken → committed transcript → alerts, seconds
//! after the words.
//!
//! - [`phrase`]: where to cut arriving audio into windows (pure).
//! - [`transcriber`]: one stream's rolling-window transcription with bounded lag.

pub mod phrase;
pub mod transcriber;

pub use phrase::PhraseConfig;
pub use transcriber::{LiveConfig, LiveStats, LiveTranscriber};
