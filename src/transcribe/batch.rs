//! Whole-file transcription in bounded memory.
//!
//! Input: an [`AudioStream`] (16 kHz mono) and a [`WhisperSession`]. Output: a [`Transcript`]
//! whose segment times are seconds from the start of the file. Audio is pulled into a window of
//! at most 30 s; after each decode the window keeps only the audio not yet committed (see
//! [`commit::commit`]), so memory stays at one window whatever the file's length. Silent
//! windows are skipped and invented text dropped ([`hallucination`]). A file with nothing to
//! listen to (only NaN or digital silence) is an error, not an empty transcript.

use anyhow::Result;
use serde::Serialize;

use crate::audio::{AudioStream, SAMPLE_RATE};
use crate::transcribe::relisten::{self, Relistened, SuspectFinder};
use crate::transcribe::whisper::{DecodeOptions, WhisperSession};
use crate::transcribe::{hallucination, segment, Segment};
use crate::windowing::commit;

/// Whisper's window: 30 s of audio.
pub const WINDOW_SAMPLES: usize = 30 * SAMPLE_RATE as usize;

#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub language: String,
    pub duration_s: f64,
    pub segments: Vec<Segment>,
    /// What second listens heard ([`relisten`]), beside the first transcript.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relistened: Vec<Relistened>,
}

/// Transcribes everything `stream` yields. `progress` gets the seconds of audio done so far.
pub fn transcribe(
    session: &mut WhisperSession,
    stream: &mut AudioStream,
    options: &DecodeOptions,
    progress: impl FnMut(f64),
) -> Result<Transcript> {
    transcribe_with(session, stream, options, None, progress)
}

/// [`transcribe`], and where `second_listen` finds a suspect in a committed segment, that span
/// decoded again with its terms as the prompt ([`relisten`]).
pub fn transcribe_with(
    session: &mut WhisperSession,
    stream: &mut AudioStream,
    options: &DecodeOptions,
    second_listen: Option<&dyn SuspectFinder>,
    mut progress: impl FnMut(f64),
) -> Result<Transcript> {
    let mut options = options.clone();
    let mut window: Vec<f32> = Vec::with_capacity(WINDOW_SAMPLES);
    let mut chunk = Vec::new();
    let mut window_start = 0usize; // samples from the start of the file
    let mut ended = false;
    let mut segments = Vec::new();
    let mut relistened = Vec::new();
    let mut language = options.language.clone();

    loop {
        while !ended && window.len() < WINDOW_SAMPLES {
            if stream.read(&mut chunk, WINDOW_SAMPLES - window.len())? == 0 {
                ended = true;
            }
            window.extend_from_slice(&chunk);
        }
        if window.is_empty() {
            break;
        }
        let window_s = window.len() as f64 / SAMPLE_RATE as f64;
        let segments_heard = if hallucination::is_silent(&window) {
            Vec::new()
        } else {
            let result = session.transcribe(&window, &options)?;
            // Detect once, then hold the language fixed: detection flips on short windows.
            if language.is_none() {
                language = Some(result.language.clone());
                options.language = language.clone();
            }
            let mut heard = result.segments;
            heard.retain(|s| hallucination::check(s, &window).is_none());
            heard
        };
        let commit = commit::commit(segments_heard, window_s, ended);
        let offset_s = window_start as f64 / SAMPLE_RATE as f64;
        let committed: Vec<Segment> = commit
            .committed
            .into_iter()
            .map(|s| segment::in_stream_time(s, offset_s))
            .collect();
        if let (Some(finder), Some(lang)) = (second_listen, &language) {
            relistened.extend(relisten::relisten(
                session, &window, offset_s, &committed, lang, finder, &options,
            )?);
        }
        segments.extend(committed);
        let advance =
            ((commit.advance_s * SAMPLE_RATE as f64).round() as usize).clamp(1, window.len());
        window.drain(..advance);
        window_start += advance;
        progress(window_start as f64 / SAMPLE_RATE as f64);
        if ended && window.is_empty() {
            break;
        }
    }
    // Only NaN or zeros made an empty transcript that would read as "nothing was said".
    stream.check_signal()?;
    Ok(Transcript {
        language: language.unwrap_or_else(|| "en".to_string()),
        duration_s: window_start as f64 / SAMPLE_RATE as f64,
        segments,
        relistened,
    })
}
