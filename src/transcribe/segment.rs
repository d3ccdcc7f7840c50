//! A piece of transcript with its place in the audio: the unit every later stage consumes.
//!
//! [`token_times`] turns whisper.cpp's timed tokens into byte spans of the segment's text, so a
//! claim found at bytes `a..b` of a segment is dated by the words that make it up
//! ([`Segment::time_of`]), not by the whole segment, which can run for many seconds.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::whisper::{TimedToken, WindowSegment};

/// One transcribed segment. Times are seconds from the start of the file or stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    /// When each token of `text` was said, in order; empty when unknown. Not serialized: the
    /// byte spans split characters, and consumers want alert times, which use them.
    #[serde(skip)]
    pub token_times: Vec<TextTime>,
}

/// A byte span of a segment's text and when it was said (seconds, same clock as the segment).
#[derive(Debug, Clone, PartialEq)]
pub struct TextTime {
    pub bytes: Range<usize>,
    pub start_s: f64,
    pub end_s: f64,
}

impl Segment {
    /// A segment without token times (text input, tests).
    pub fn new(start_s: f64, end_s: f64, text: impl Into<String>) -> Segment {
        Segment {
            start_s,
            end_s,
            text: text.into(),
            token_times: Vec::new(),
        }
    }

    /// When the text at `bytes` was said: the span of the tokens overlapping it, kept inside
    /// the segment; the whole segment when no token times are known.
    pub fn time_of(&self, bytes: Range<usize>) -> (f64, f64) {
        span_time(&self.token_times, bytes).unwrap_or((self.start_s, self.end_s))
    }
}

/// The detector takes its own input type; a segment converts to it with its token times.
impl From<&Segment> for crate::detect::Utterance {
    fn from(s: &Segment) -> Self {
        crate::detect::Utterance {
            start_s: s.start_s,
            end_s: s.end_s,
            text: s.text.clone(),
            token_times: s
                .token_times
                .iter()
                .map(|t| crate::detect::TokenTime {
                    bytes: t.bytes.clone(),
                    start_s: t.start_s,
                    end_s: t.end_s,
                })
                .collect(),
        }
    }
}

pub use crate::detect::utterance::span_time;

impl crate::detect::utterance::TimedSpan for TextTime {
    fn bytes(&self) -> &Range<usize> {
        &self.bytes
    }
    fn start_s(&self) -> f64 {
        self.start_s
    }
    fn end_s(&self) -> f64 {
        self.end_s
    }
}

/// A window's segment dated in file or stream time: `offset_s` is when the window starts.
pub fn in_stream_time(s: WindowSegment, offset_s: f64) -> Segment {
    let (start_s, end_s) = (offset_s + s.start_s, offset_s + s.end_s);
    Segment {
        start_s,
        end_s,
        token_times: token_times(&s.text, &s.tokens, offset_s, (start_s, end_s)),
        text: s.text,
    }
}

/// Byte spans of `text` (the trimmed concatenation of the tokens) for each token, times shifted
/// by `offset_s` and kept within `bounds`. Empty when the tokens do not spell `text` (lossy
/// UTF-8), so callers fall back to segment times rather than misplace a claim.
pub fn token_times(
    text: &str,
    tokens: &[TimedToken],
    offset_s: f64,
    bounds: (f64, f64),
) -> Vec<TextTime> {
    let joined: Vec<u8> = tokens
        .iter()
        .flat_map(|t| t.bytes.iter().copied())
        .collect();
    let Ok(joined) = std::str::from_utf8(&joined) else {
        return Vec::new();
    };
    if joined.trim() != text {
        return Vec::new();
    }
    let lead = joined.len() - joined.trim_start().len();
    let mut out = Vec::with_capacity(tokens.len());
    let mut pos = 0usize;
    for token in tokens {
        let start = pos.saturating_sub(lead).min(text.len());
        pos += token.bytes.len();
        let end = pos.saturating_sub(lead).min(text.len());
        if start < end {
            // Never panics on bounds the wrong way round (a segment cut short by a look).
            let clamp = |t: f64| (offset_s + t).max(bounds.0).min(bounds.1.max(bounds.0));
            out.push(TextTime {
                bytes: start..end,
                start_s: clamp(token.start_s),
                end_s: clamp(token.end_s),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str, t: f64) -> TimedToken {
        TimedToken {
            bytes: text.as_bytes().to_vec(),
            start_s: t,
            end_s: t + 0.2,
        }
    }

    #[test]
    fn tokens_map_to_byte_spans_of_the_trimmed_text() {
        let tokens = [
            token(" It", 0.5),
            token(" is", 0.8),
            token(" made", 1.0),
            token(" in", 1.3),
            token(" Japan", 1.5),
        ];
        let text = "It is made in Japan";
        let times = token_times(text, &tokens, 10.0, (10.0, 12.0));
        assert_eq!(times.len(), 5);
        assert_eq!(times[0].bytes, 0..2);
        assert_eq!(&text[times[2].bytes.clone()], " made");
        let seg = Segment {
            token_times: times,
            ..Segment::new(10.0, 12.0, text)
        };
        let at = text.find("made in Japan").unwrap();
        let (start, end) = seg.time_of(at..text.len());
        assert!((start - 11.0).abs() < 1e-9 && (end - 11.7).abs() < 1e-9);
    }

    #[test]
    fn a_character_split_across_tokens_still_maps() {
        // 製 is three UTF-8 bytes; whisper may emit them in two tokens.
        let bytes = "日本製".as_bytes();
        let tokens = [
            token("日本", 2.0),
            TimedToken {
                bytes: bytes[6..7].to_vec(),
                start_s: 2.4,
                end_s: 2.4,
            },
            TimedToken {
                bytes: bytes[7..].to_vec(),
                start_s: 2.5,
                end_s: 2.6,
            },
        ];
        let times = token_times("日本製", &tokens, 0.0, (0.0, 5.0));
        assert_eq!(times.len(), 3);
        assert_eq!(span_time(&times, 6..9), Some((2.4, 2.6)));
    }

    #[test]
    fn tokens_that_do_not_spell_the_text_give_nothing() {
        let tokens = [token(" hello", 0.0)];
        assert!(token_times("goodbye", &tokens, 0.0, (0.0, 1.0)).is_empty());
        let seg = Segment::new(3.0, 4.0, "goodbye");
        assert_eq!(seg.time_of(0..4), (3.0, 4.0));
    }

    #[test]
    fn times_stay_inside_the_segment() {
        let tokens = [token(" late", 9.0)];
        let times = token_times("late", &tokens, 0.0, (1.0, 2.0));
        assert_eq!((times[0].start_s, times[0].end_s), (2.0, 2.0));
    }
}
