//! The detector's own input type: a piece of transcript text with when it was said, so that
//! `detect/` does not depend on how a transcriber represents segments. Callers convert their
//! segments (`crate::transcribe::Segment` → [`Utterance`] in `transcribe/segment.rs`).

use std::ops::Range;

/// One utterance: text with its time span (seconds from the start of the file or stream) and,
/// when known, the time of each token.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    /// When each token of `text` was said, in order; empty when unknown.
    pub token_times: Vec<TokenTime>,
}

/// A byte span of an utterance's text and when it was said (seconds, same clock).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenTime {
    pub bytes: Range<usize>,
    pub start_s: f64,
    pub end_s: f64,
}

impl Utterance {
    /// An utterance without token times (plain text, tests).
    pub fn new(start_s: f64, end_s: f64, text: impl Into<String>) -> Utterance {
        Utterance {
            start_s,
            end_s,
            text: text.into(),
            token_times: Vec::new(),
        }
    }
}

impl From<&Utterance> for Utterance {
    fn from(u: &Utterance) -> Self {
        u.clone()
    }
}

/// A byte span of text and when it was said: the detector's [`TokenTime`], and a transcriber's
/// own token type, so that one [`span_time`] serves both.
pub trait TimedSpan {
    fn bytes(&self) -> &Range<usize>;
    fn start_s(&self) -> f64;
    fn end_s(&self) -> f64;
}

impl TimedSpan for TokenTime {
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

/// The earliest start and latest end of the `times` overlapping `bytes`, if any.
pub fn span_time<T: TimedSpan>(times: &[T], bytes: Range<usize>) -> Option<(f64, f64)> {
    let mut found: Option<(f64, f64)> = None;
    for t in times
        .iter()
        .filter(|t| t.bytes().start < bytes.end && bytes.start < t.bytes().end)
    {
        found = Some(match found {
            None => (t.start_s(), t.end_s()),
            Some((s, e)) => (s.min(t.start_s()), e.max(t.end_s())),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_spans_date_bytes() {
        let times = vec![
            TokenTime {
                bytes: 0..3,
                start_s: 1.0,
                end_s: 1.5,
            },
            TokenTime {
                bytes: 3..9,
                start_s: 1.5,
                end_s: 2.5,
            },
        ];
        // (bytes, expected times)
        let cases = [
            (0..2, Some((1.0, 1.5))),
            (2..4, Some((1.0, 2.5))),
            (4..9, Some((1.5, 2.5))),
            (9..12, None),
        ];
        for (bytes, want) in cases {
            assert_eq!(span_time(&times, bytes.clone()), want, "{bytes:?}");
        }
    }
}
