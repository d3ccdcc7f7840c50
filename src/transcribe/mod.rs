//! Transcription with whisper.cpp.
