//! Where to cut live audio into windows for Whisper: at pauses, so each phrase is decoded once.
//!
//! Input: the 16 kHz mono samples received and not yet transcribed. Output: a [`Cut`] — decode
//! the first N samples as a whole phrase, decode a long run of speech and re-decode its tail
//! (no pause came in time), or wait for more audio — and how much leading silence to skip
//! without decoding it. Pure: no I/O, no whisper.
//!
//! Why pauses and not LocalAgreement: LocalAgreement re-decodes a growing window every step and
//! commits the prefix two decodes agree on, so each word costs several decodes; on 2 cores with
//! base that is slower than real time. A cut in a pause cannot split a word, so a phrase is
//! decoded once and all of it committed. Speech with no pause for `max_window_s` (fast talkers,
//! music under the voice) falls back to the batch rule: decode the window, commit all but the
//! last segment, and start the next window where that segment began ([`crate::transcribe`]'s
//! `window::commit`), so nothing is said twice and nothing is dropped at the seam.

use crate::audio::SAMPLE_RATE;

/// Frame over which loudness is judged: 20 ms.
const FRAME: usize = SAMPLE_RATE as usize / 50;

/// When to cut. Times in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhraseConfig {
    /// A run of quiet frames at least this long is a pause that may end a phrase.
    pub min_pause_s: f64,
    /// Shortest phrase worth a decode: pauses earlier than this are not cut at...
    pub min_phrase_s: f64,
    /// ...unless they last this long: the speaker stopped, and waiting for more speech would
    /// only hold the words back.
    pub end_pause_s: f64,
    /// Longest window: speech without a pause is decoded at this length.
    pub max_window_s: f64,
    /// Frames quieter than this (RMS, dBFS) are silence.
    pub silence_dbfs: f32,
}

impl Default for PhraseConfig {
    fn default() -> Self {
        PhraseConfig {
            // Sentence pauses in the samples are 0.4–1 s, commas 0.15–0.3 s. Cutting at commas
            // too took the worst en_demo alert from 3.7 s to 2.8 s after the words, at the same
            // live-vs-batch error (the context audio keeps each cut phrase in its sentence).
            min_pause_s: 0.2,
            // Each phrase waits for this much speech before a pause may end it. Alerts do not
            // wait for it (the runner looks at unfinished phrases), so it buys accuracy: live
            // vs batch over the 18 samples was 6.6% (en) / 5.4% (ja) apart at 1 s, 5.6 / 3.4
            // at 5 s and 2.8 / 3.8 at 8 s (examples/live_vs_batch, BENCHMARKS.md). Longer
            // phrases also pay for the re-heard context less often.
            min_phrase_s: 8.0,
            end_pause_s: 1.0,
            // Long enough for a sentence and its context, short enough that an utterance with
            // no pause is alerted within seconds; well inside Whisper's 30 s window.
            max_window_s: 12.0,
            silence_dbfs: crate::windowing::level::SILENCE_DBFS,
        }
    }
}

/// What to do with the pending audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Not enough audio to decide: wait.
    Wait,
    /// Samples `..end` are a phrase ending in a pause: decode and commit all of it.
    Phrase { end: usize },
    /// No pause within the longest window: decode `..end`, keep its last segment for next time.
    Window { end: usize },
}

/// Leading samples that are silence and can be skipped without decoding (a little is kept
/// before speech so the first word's onset is not clipped).
pub fn leading_silence(pcm: &[f32], config: &PhraseConfig) -> usize {
    let keep = FRAME * 10; // 200 ms of onset
    let quiet_frames = pcm
        .chunks_exact(FRAME)
        .take_while(|f| frame_dbfs(f) < config.silence_dbfs)
        .count();
    (quiet_frames * FRAME).saturating_sub(keep)
}

/// Where to cut `pcm` (pending audio, starting at speech). `ended`: no more audio will come.
pub fn cut(pcm: &[f32], config: &PhraseConfig, ended: bool) -> Cut {
    let rate = SAMPLE_RATE as f64;
    let max = (config.max_window_s * rate) as usize;
    let min_phrase = (config.min_phrase_s * rate) as usize;
    let min_pause_frames = ((config.min_pause_s * rate) as usize).div_ceil(FRAME);
    let end_pause_frames = ((config.end_pause_s * rate) as usize)
        .div_ceil(FRAME)
        .max(min_pause_frames);
    let horizon = pcm.len().min(max);

    // The latest pause that ends a long enough phrase, within the longest window: a decoder
    // that fell behind gets one wider window instead of many short ones.
    let mut best = None;
    let mut run = 0;
    for (i, frame) in pcm[..horizon].chunks_exact(FRAME).enumerate() {
        if frame_dbfs(frame) < config.silence_dbfs {
            run += 1;
            let pause_start = (i + 1 - run) * FRAME;
            if (run == min_pause_frames && pause_start >= min_phrase)
                || (run == end_pause_frames && pause_start > 0)
            {
                // Cut inside the pause, leaving a little silence after the last word.
                best = Some(pause_start + (min_pause_frames * FRAME) / 2);
            }
        } else {
            run = 0;
        }
    }
    if let Some(end) = best {
        return Cut::Phrase { end };
    }
    if ended {
        return if pcm.is_empty() {
            Cut::Wait
        } else {
            Cut::Phrase { end: pcm.len() }
        };
    }
    if pcm.len() >= max {
        return Cut::Window { end: max };
    }
    Cut::Wait
}

fn frame_dbfs(frame: &[f32]) -> f32 {
    let mean_square = frame.iter().map(|x| x * x).sum::<f32>() / frame.len().max(1) as f32;
    10.0 * mean_square.max(1e-12).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: usize = SAMPLE_RATE as usize;

    /// Audio from (seconds, loud?) runs: loud is a 300 Hz tone at −10 dBFS, quiet is zeros.
    fn audio(runs: &[(f64, bool)]) -> Vec<f32> {
        let mut out = Vec::new();
        for &(seconds, loud) in runs {
            let n = (seconds * RATE as f64) as usize;
            out.extend((0..n).map(|i| {
                if loud {
                    0.45 * (i as f32 * 300.0 * std::f32::consts::TAU / RATE as f32).sin()
                } else {
                    0.0
                }
            }));
        }
        out
    }

    fn secs(cut: Cut) -> (&'static str, f64) {
        match cut {
            Cut::Wait => ("wait", 0.0),
            Cut::Phrase { end } => ("phrase", end as f64 / RATE as f64),
            Cut::Window { end } => ("window", end as f64 / RATE as f64),
        }
    }

    #[test]
    fn cut_rules() {
        let config = PhraseConfig {
            min_phrase_s: 1.0,
            ..PhraseConfig::default()
        };
        // (name, audio, ended, expected kind, expected cut in seconds (±0.05))
        let cases: Vec<(&str, Vec<f32>, bool, &str, f64)> = vec![
            (
                "speech still going",
                audio(&[(3.0, true)]),
                false,
                "wait",
                0.0,
            ),
            (
                "pause after a phrase",
                audio(&[(2.0, true), (0.5, false)]),
                false,
                "phrase",
                2.0 + 0.2 / 2.0,
            ),
            (
                "pause too short",
                audio(&[(2.0, true), (0.1, false), (1.0, true)]),
                false,
                "wait",
                0.0,
            ),
            (
                "pause before the shortest phrase is not a cut",
                audio(&[(0.5, true), (0.5, false), (0.3, true)]),
                false,
                "wait",
                0.0,
            ),
            (
                "latest pause wins",
                audio(&[(2.0, true), (0.5, false), (2.0, true), (0.5, false)]),
                false,
                "phrase",
                4.5 + 0.1,
            ),
            (
                "a long pause ends a short phrase",
                audio(&[(0.5, true), (1.2, false)]),
                false,
                "phrase",
                0.5 + 0.1,
            ),
            (
                "a long pause ends a short phrase, later short pause wins",
                audio(&[(0.5, true), (1.2, false), (1.0, true), (0.3, false)]),
                false,
                "phrase",
                2.7 + 0.1,
            ),
            (
                "no pause in the longest window",
                audio(&[(13.0, true)]),
                false,
                "window",
                12.0,
            ),
            (
                "pause beyond the longest window is not seen",
                audio(&[(12.5, true), (1.0, false)]),
                false,
                "window",
                12.0,
            ),
            ("end of stream", audio(&[(1.5, true)]), true, "phrase", 1.5),
            ("end of nothing", Vec::new(), true, "wait", 0.0),
        ];
        for (name, pcm, ended, kind, at) in cases {
            let (got_kind, got_at) = secs(cut(&pcm, &config, ended));
            assert_eq!(got_kind, kind, "{name}");
            assert!(
                (got_at - at).abs() < 0.05,
                "{name}: cut at {got_at}, want {at}"
            );
        }
    }

    #[test]
    fn leading_silence_keeps_the_onset() {
        let config = PhraseConfig::default();
        let cases = [
            (audio(&[(2.0, false), (1.0, true)]), 1.8),
            (audio(&[(0.1, false), (1.0, true)]), 0.0),
            (audio(&[(1.0, true)]), 0.0),
            (audio(&[(3.0, false)]), 2.8),
        ];
        for (pcm, want) in cases {
            let got = leading_silence(&pcm, &config) as f64 / RATE as f64;
            assert!((got - want).abs() < 0.021, "skip {got}, want {want}");
        }
    }
}
