//! Transcription with whisper.cpp.

mod segment;

pub use segment::Segment;
