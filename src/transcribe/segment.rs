//! A piece of transcript with its place in the audio: the unit every later stage consumes.

use serde::{Deserialize, Serialize};

/// One transcribed segment. Times are seconds from the start of the file or stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
}
