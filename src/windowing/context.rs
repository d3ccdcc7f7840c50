//! Audio context for live windows: a phrase is decoded together with the seconds before it, and
//! only the words after that context are kept.
//!
//! Why: a phrase decoded alone lacks the sentences around it that a 30 s batch window gives
//! Whisper, and tiny.en then guesses unclear words differently (live vs batch 14.5% apart on
//! en_demo with 1 s phrases). Waiting for longer phrases closes part of that gap but delays every
//! alert by a sentence; re-hearing the already committed audio costs a little decode time instead.
//!
//! Input: the segments of a window whose first `boundary_s` seconds are context. Output: the
//! segments said after the boundary, times relative to the boundary. The boundary lies in a
//! pause (windows are cut at pauses), so a word is either wholly before it or wholly after it;
//! a segment that straddles it keeps the tokens that start after it. Pure: no I/O, no whisper.

use crate::transcribe::whisper::{TimedToken, WindowSegment};

/// Token times can be a frame or two early: a token starting this close before the boundary
/// still belongs after it.
const SLACK_S: f64 = 0.08;

pub fn after_boundary(segments: Vec<WindowSegment>, boundary_s: f64) -> Vec<WindowSegment> {
    let mut out = Vec::with_capacity(segments.len());
    for mut s in segments {
        if s.start_s >= boundary_s - SLACK_S {
            // Wholly after the context.
        } else if s.end_s <= boundary_s + SLACK_S || s.tokens.is_empty() {
            continue;
        } else {
            let first = s
                .tokens
                .iter()
                .position(|t| t.start_s >= boundary_s - SLACK_S);
            let Some(first) = first else { continue };
            s.tokens.drain(..first);
            s.text = whole_characters(&s.tokens);
            if s.text.is_empty() {
                continue;
            }
            s.start_s = s.tokens[0].start_s.max(boundary_s);
            s.seek_start_s = s.start_s;
        }
        let shift = |t: f64| (t - boundary_s).max(0.0);
        s.start_s = shift(s.start_s);
        s.end_s = shift(s.end_s);
        s.seek_start_s = shift(s.seek_start_s);
        for t in &mut s.tokens {
            t.start_s = shift(t.start_s);
            t.end_s = shift(t.end_s);
        }
        out.push(s);
    }
    out
}

/// `segment` without the tokens said after `until_s` (window time), or `None` when nothing is
/// left. A segment without token times is kept whole only if it ends by then.
pub fn before(mut segment: WindowSegment, until_s: f64) -> Option<WindowSegment> {
    if segment.tokens.is_empty() {
        return (segment.end_s <= until_s).then_some(segment);
    }
    let kept = segment
        .tokens
        .iter()
        .take_while(|t| t.start_s <= until_s)
        .count();
    if kept == segment.tokens.len() {
        return Some(segment);
    }
    segment.tokens.truncate(kept);
    segment.text = whole_characters(&segment.tokens);
    if segment.text.is_empty() {
        return None;
    }
    segment.start_s = segment.start_s.min(segment.tokens[0].start_s);
    let last = segment
        .tokens
        .last()
        .map_or(until_s, |t| t.end_s.min(until_s));
    segment.end_s = last.max(segment.start_s);
    Some(segment)
}

/// The text of what is left of a segment's tokens. A token boundary can split a UTF-8
/// character, so a cut at either end may leave half of one: it is dropped, not shown as "�".
fn whole_characters(tokens: &[TimedToken]) -> String {
    let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.bytes.clone()).collect();
    String::from_utf8_lossy(&bytes)
        .trim_matches('\u{FFFD}')
        .trim()
        .to_string()
}

/// Whisper sometimes dates a word of the context a little after the boundary, and the window
/// then repeats the end of the previous phrase ("Welcome back. Welcome back."). Returns `next`
/// without a start that repeats the end of `previous`: up to 6 words where words are spaced,
/// else 2 to 12 characters (one repeated kana is too often a real word to strip). Punctuation
/// is ignored when comparing. Empty when nothing but repetition and punctuation is left.
pub fn strip_repeated_start(previous: &str, next: &str, spaced: bool) -> String {
    let units = |text: &str| -> Vec<(usize, String)> {
        if spaced {
            text.split_whitespace()
                .map(|w| {
                    let offset = w.as_ptr() as usize - text.as_ptr() as usize + w.len();
                    (
                        offset,
                        w.chars()
                            .filter(|c| c.is_alphanumeric())
                            .flat_map(char::to_lowercase)
                            .collect(),
                    )
                })
                .filter(|(_, w): &(usize, String)| !w.is_empty())
                .collect()
        } else {
            text.char_indices()
                .filter(|(_, c)| c.is_alphanumeric())
                .map(|(i, c)| (i + c.len_utf8(), c.to_string()))
                .collect()
        }
    };
    let before = units(previous);
    let after = units(next);
    let (min, max) = if spaced { (1, 6) } else { (2, 12) };
    let longest = (min..=max.min(before.len()).min(after.len()))
        .rev()
        .find(|&k| {
            before[before.len() - k..]
                .iter()
                .map(|u| &u.1)
                .eq(after[..k].iter().map(|u| &u.1))
        });
    let rest = match longest {
        Some(k) => &next[after[k - 1].0..],
        None => next,
    };
    let rest = rest
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .trim();
    if rest.chars().any(char::is_alphanumeric) {
        rest.to_string()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment from (token text, start) pairs, each token 0.3 s long.
    fn seg(tokens: &[(&str, f64)]) -> WindowSegment {
        let tokens: Vec<TimedToken> = tokens
            .iter()
            .map(|&(text, t)| TimedToken {
                bytes: text.as_bytes().to_vec(),
                start_s: t,
                end_s: t + 0.3,
            })
            .collect();
        let text: String = tokens
            .iter()
            .map(|t| String::from_utf8_lossy(&t.bytes))
            .collect();
        WindowSegment {
            start_s: tokens[0].start_s,
            end_s: tokens.last().unwrap().end_s,
            seek_start_s: tokens[0].start_s,
            text: text.trim().to_string(),
            no_speech_prob: 0.0,
            avg_logprob: 0.0,
            tokens,
        }
    }

    #[test]
    fn repeated_starts() {
        // (previous, next, spaced, expected)
        let cases = [
            ("Welcome back.", "Welcome back.", true, ""),
            (
                "Welcome back.",
                "back. This supplement",
                true,
                "This supplement",
            ),
            (
                "made in Japan.",
                ". Use it every night",
                true,
                "Use it every night",
            ),
            ("It is very", "very good", true, "good"),
            ("one two", "three four", true, "three four"),
            (
                "みなさんこんばんは",
                "んは今夜のライブ",
                false,
                "今夜のライブ",
            ),
            ("お手入れです", "すごい", false, "すごい"),
            ("与えて", "、えて毎日", false, "毎日"),
            ("", "、", false, ""),
        ];
        for (previous, next, spaced, want) in cases {
            assert_eq!(
                strip_repeated_start(previous, next, spaced),
                want,
                "{previous} | {next}"
            );
        }
    }

    #[test]
    fn keeps_what_was_said_by_a_time() {
        // (name, segment, until, expected (text, end) or None)
        type Case = (
            &'static str,
            WindowSegment,
            f64,
            Option<(&'static str, f64)>,
        );
        let cases: Vec<Case> = vec![
            (
                "all said before: unchanged",
                seg(&[(" made", 1.0), (" in", 1.3)]),
                2.0,
                Some(("made in", 1.6)),
            ),
            (
                "word after the time dropped",
                seg(&[(" clinically", 1.0), (" pro", 1.8)]),
                1.5,
                Some(("clinically", 1.3)),
            ),
            ("nothing before", seg(&[(" x", 2.0)]), 1.0, None),
            (
                "a token dated after the time keeps the end after the start",
                seg(&[(" made", 1.0), (" in", 1.45)]),
                1.4,
                Some(("made", 1.3)),
            ),
            (
                "split UTF-8 character is not kept half",
                seg(&[("日本", 1.0), ("\u{88fd}", 3.0)]),
                2.0,
                Some(("日本", 1.3)),
            ),
        ];
        for (name, segment, until, want) in cases {
            let got = before(segment, until).map(|s| (s.text, s.end_s));
            let want = want.map(|(t, e)| (t.to_string(), e));
            match (&got, &want) {
                (Some(g), Some(w)) => {
                    assert_eq!(g.0, w.0, "{name}");
                    assert!((g.1 - w.1).abs() < 1e-9, "{name}: {g:?}");
                }
                _ => assert_eq!(got, want, "{name}"),
            }
        }
        // A segment split inside a character keeps only whole characters.
        let mut split = seg(&[("日本", 1.0)]);
        split.tokens.push(TimedToken {
            bytes: "製".as_bytes()[..2].to_vec(),
            start_s: 1.2,
            end_s: 1.5,
        });
        split.tokens.push(TimedToken {
            bytes: "製".as_bytes()[2..].to_vec(),
            start_s: 2.5,
            end_s: 2.8,
        });
        assert_eq!(before(split, 2.0).map(|s| s.text).as_deref(), Some("日本"));
    }

    #[test]
    fn keeps_what_follows_the_context() {
        // (name, segments, boundary, expected (text, start, end) after it)
        type Case = (
            &'static str,
            Vec<WindowSegment>,
            f64,
            Vec<(&'static str, f64, f64)>,
        );
        let cases: Vec<Case> = vec![
            (
                "context segment dropped, phrase kept and shifted",
                vec![
                    seg(&[(" made", 1.0), (" in", 1.3)]),
                    seg(&[(" Japan", 3.0)]),
                ],
                2.5,
                vec![("Japan", 0.5, 0.8)],
            ),
            (
                "straddling segment keeps the tokens after the pause",
                vec![seg(&[
                    (" it", 1.0),
                    (" is", 1.3),
                    (" made", 3.0),
                    (" here", 3.3),
                ])],
                2.5,
                vec![("made here", 0.5, 1.1)],
            ),
            (
                "token a frame early still counts",
                vec![seg(&[(" a", 1.0), (" b", 2.45)])],
                2.5,
                vec![("b", 0.0, 0.25)],
            ),
            (
                "no context: unchanged",
                vec![seg(&[(" x", 0.2)])],
                0.0,
                vec![("x", 0.2, 0.5)],
            ),
            (
                "all context: nothing",
                vec![seg(&[(" x", 0.2)])],
                2.0,
                vec![],
            ),
            (
                "split UTF-8 character is not kept half",
                vec![seg(&[("日本", 1.0), ("製", 3.0)])],
                2.5,
                vec![("製", 0.5, 0.8)],
            ),
        ];
        for (name, segments, boundary, want) in cases {
            let got: Vec<(String, f64, f64)> = after_boundary(segments, boundary)
                .into_iter()
                .map(|s| (s.text, s.start_s, s.end_s))
                .collect();
            let want: Vec<(String, f64, f64)> = want
                .into_iter()
                .map(|(t, a, b)| (t.to_string(), a, b))
                .collect();
            assert_eq!(got.len(), want.len(), "{name}: {got:?}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.0, w.0, "{name}");
                assert!(
                    (g.1 - w.1).abs() < 1e-9 && (g.2 - w.2).abs() < 1e-9,
                    "{name}: {g:?}"
                );
            }
        }
    }
}
