//! Which segments of a decoded window to keep, and where the next window starts.
//!
//! Input: the segments whisper.cpp returned for one window, the window's length, and whether the
//! audio ends with it. Output: the segments to commit and how far to advance. The last segment of
//! a window that does not end the audio may be cut off mid-word, so it is decoded again as the
//! start of the next window (openai-whisper's "seek" rule); a window whose only segment would be
//! held back is committed whole so decoding always moves forward. Pure: no I/O, no whisper.

use crate::transcribe::whisper::WindowSegment;

/// Least progress per window, in seconds: below this, holding back the tail is not worth a re-decode.
const MIN_ADVANCE_S: f64 = 1.0;

#[derive(Debug, PartialEq)]
pub struct WindowCommit {
    pub committed: Vec<WindowSegment>,
    pub advance_s: f64,
}

pub fn commit(mut segments: Vec<WindowSegment>, window_s: f64, is_last: bool) -> WindowCommit {
    for s in &mut segments {
        s.end_s = s.end_s.min(window_s);
        s.start_s = s.start_s.min(s.end_s);
        s.seek_start_s = s.seek_start_s.min(window_s);
    }
    segments.retain(|s| !s.text.trim().is_empty());
    if is_last || segments.len() < 2 {
        return WindowCommit {
            committed: segments,
            advance_s: window_s,
        };
    }
    let held_back_from = segments[segments.len() - 1]
        .seek_start_s
        .min(segments[segments.len() - 1].start_s);
    if held_back_from < MIN_ADVANCE_S {
        return WindowCommit {
            committed: segments,
            advance_s: window_s,
        };
    }
    segments.pop();
    WindowCommit {
        committed: segments,
        advance_s: held_back_from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start_s: f64, end_s: f64, text: &str) -> WindowSegment {
        WindowSegment {
            start_s,
            end_s,
            seek_start_s: start_s,
            text: text.to_string(),
            no_speech_prob: 0.0,
            avg_logprob: 0.0,
            tokens: vec![],
        }
    }

    #[test]
    fn commit_rules() {
        let three = vec![
            seg(0.0, 8.0, "a"),
            seg(8.0, 20.0, "b"),
            seg(20.0, 30.0, "c"),
        ];
        let cases: Vec<(&str, Vec<WindowSegment>, bool, usize, f64)> = vec![
            ("tail held back", three.clone(), false, 2, 20.0),
            ("last window keeps all", three, true, 3, 30.0),
            (
                "single segment commits",
                vec![seg(0.0, 30.0, "a")],
                false,
                1,
                30.0,
            ),
            ("silence advances whole window", vec![], false, 0, 30.0),
            (
                "blank text is dropped",
                vec![seg(0.0, 5.0, " "), seg(5.0, 9.0, "x")],
                true,
                1,
                30.0,
            ),
            (
                "tail from 0.5 s commits all",
                vec![seg(0.0, 0.4, "a"), seg(0.5, 30.0, "b")],
                false,
                2,
                30.0,
            ),
        ];
        for (name, segments, is_last, n, advance) in cases {
            let got = commit(segments, 30.0, is_last);
            assert_eq!(got.committed.len(), n, "{name}");
            assert_eq!(got.advance_s, advance, "{name}");
        }
    }

    #[test]
    fn times_are_clamped_to_the_window() {
        let got = commit(vec![seg(29.0, 31.5, "a")], 30.0, true);
        assert_eq!(
            (got.committed[0].start_s, got.committed[0].end_s),
            (29.0, 30.0)
        );
    }
}
