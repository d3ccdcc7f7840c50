//! A targeted second listen: committed segments and their window's audio in, the spans a
//! [`SuspectFinder`] points at decoded again with its terms as Whisper's prompt out.
//!
//! A global vocabulary prompt for every window lost 4 clips (README): it pulls the whole decode
//! toward the rule words. Here only a few seconds around a suspect (± [`MARGIN_S`]) are decoded
//! again, with the few terms the suspect sounds like; the first transcript stays as it was, and
//! what the second listen heard is kept beside it ([`Relistened`]) for the detector to check. The
//! caller raises an alert from it only when its text matches a rule (`audit/second_listen.rs`).

use std::ops::Range;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::audio::SAMPLE_RATE;
use crate::transcribe::whisper::{audio_ctx_for, AudioCtx, DecodeOptions, WhisperSession};
use crate::transcribe::{hallucination, segment, Segment};

/// Audio kept on each side of a suspect: enough for the words around it to anchor the decode.
pub const MARGIN_S: f64 = 1.5;

/// At most this many second listens per window: each costs a decode.
pub const MAX_PER_WINDOW: usize = 2;

/// Finds what in a segment's text is worth hearing again (the detector, in practice).
pub trait SuspectFinder {
    /// Byte ranges of `text` (language `lang`, ISO 639-1) and, for each, the prompt terms.
    fn suspects(&self, text: &str, lang: &str) -> Vec<(Range<usize>, Vec<String>)>;
}

/// What a second listen heard. Times are seconds from the start of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relistened {
    /// The suspect's own time, before the margins.
    pub suspect_start_s: f64,
    pub suspect_end_s: f64,
    /// The first transcript's words there.
    pub first_text: String,
    /// The prompt terms.
    pub terms: Vec<String>,
    /// The new decode of the suspect and its margins.
    pub segments: Vec<Segment>,
}

/// One span to decode again, in seconds from the window start.
#[derive(Debug, Clone)]
struct Span {
    suspect: (f64, f64),
    first_text: String,
    terms: Vec<String>,
}

/// Second listens for the `committed` segments of one window (`window` holds its audio, which
/// starts at `offset_s` in the file), at most [`MAX_PER_WINDOW`], in time order.
pub fn relisten(
    session: &mut WhisperSession,
    window: &[f32],
    offset_s: f64,
    committed: &[Segment],
    lang: &str,
    finder: &dyn SuspectFinder,
    options: &DecodeOptions,
) -> Result<Vec<Relistened>> {
    let mut spans: Vec<Span> = Vec::new();
    for segment in committed {
        for (bytes, terms) in finder.suspects(&segment.text, lang) {
            let (start_s, end_s) = segment.time_of(bytes.clone());
            spans.push(Span {
                suspect: (start_s - offset_s, end_s - offset_s),
                first_text: segment.text[bytes].to_string(),
                terms,
            });
        }
    }
    spans.sort_by(|a, b| a.suspect.0.total_cmp(&b.suspect.0));
    let window_s = window.len() as f64 / SAMPLE_RATE as f64;
    let mut out = Vec::new();
    for span in merge(spans).into_iter().take(MAX_PER_WINDOW) {
        let from_s = (span.suspect.0 - MARGIN_S).max(0.0);
        let to_s = (span.suspect.1 + MARGIN_S).min(window_s);
        let at = |s: f64| ((s * SAMPLE_RATE as f64) as usize).min(window.len());
        let audio = &window[at(from_s)..at(to_s)];
        if audio.is_empty() {
            continue;
        }
        let mut options = options.clone();
        options.language = Some(lang.to_string());
        options.initial_prompt = Some(span.terms.join(prompt_separator(lang)));
        // A few seconds of audio: the encoder need not run over 30 s. Text the decoder invents in
        // the padding lies outside the suspect, where no alert is taken from. Fixed frames, so
        // a span that comes back empty is not decoded a third time at the full 30 s context
        // (3.6 CPU-s with tiny.en here, ten times the span's own decode).
        options.audio_ctx = AudioCtx::Frames(audio_ctx_for(audio.len()));
        let heard = session.transcribe(audio, &options)?;
        let base_s = offset_s + from_s;
        let segments = heard
            .segments
            .into_iter()
            .filter(|s| hallucination::check(s, audio).is_none())
            .map(|s| segment::in_stream_time(s, base_s))
            .collect();
        out.push(Relistened {
            suspect_start_s: offset_s + span.suspect.0,
            suspect_end_s: offset_s + span.suspect.1,
            first_text: span.first_text,
            terms: span.terms,
            segments,
        });
    }
    Ok(out)
}

/// Spans whose audio (margins included) would overlap become one, with both sets of terms.
fn merge(spans: Vec<Span>) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for span in spans {
        match out.last_mut() {
            Some(last) if span.suspect.0 - last.suspect.1 < 2.0 * MARGIN_S => {
                last.suspect.1 = last.suspect.1.max(span.suspect.1);
                last.first_text = format!("{} … {}", last.first_text, span.first_text);
                for t in span.terms {
                    if !last.terms.contains(&t) {
                        last.terms.push(t);
                    }
                }
            }
            _ => out.push(span),
        }
    }
    out
}

fn prompt_separator(lang: &str) -> &'static str {
    match lang {
        "ja" => "、",
        _ => ", ",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: f64, end: f64, term: &str) -> Span {
        Span {
            suspect: (start, end),
            first_text: term.to_string(),
            terms: vec![term.to_string()],
        }
    }

    #[test]
    fn close_spans_merge() {
        // (spans, expected merged (start, end, terms))
        type Merged = (f64, f64, Vec<&'static str>);
        let cases: Vec<(Vec<Span>, Vec<Merged>)> = vec![
            (vec![span(1.0, 2.0, "a")], vec![(1.0, 2.0, vec!["a"])]),
            (
                vec![span(1.0, 2.0, "a"), span(4.0, 5.0, "b")],
                vec![(1.0, 5.0, vec!["a", "b"])],
            ),
            (
                vec![span(1.0, 2.0, "a"), span(5.5, 6.0, "b")],
                vec![(1.0, 2.0, vec!["a"]), (5.5, 6.0, vec!["b"])],
            ),
            (
                vec![span(1.0, 2.0, "a"), span(1.5, 2.5, "a")],
                vec![(1.0, 2.5, vec!["a"])],
            ),
        ];
        for (spans, want) in cases {
            let got: Vec<(f64, f64, Vec<String>)> = merge(spans)
                .into_iter()
                .map(|s| (s.suspect.0, s.suspect.1, s.terms))
                .collect();
            let want: Vec<(f64, f64, Vec<String>)> = want
                .into_iter()
                .map(|(a, b, t)| (a, b, t.into_iter().map(String::from).collect()))
                .collect();
            assert_eq!(got, want);
        }
    }
}
