//! Cuts the evidence clip of each live alert out of the stream's recent audio (pure; no I/O).
//!
//! Input: the stream's audio as it arrives (in stream time, gaps included) and, for each alert
//! raised, its id and time. Output: for each alert, the samples from `margin_s` before its first
//! word to `margin_s` after its last, once the stream has reached that far (or when it ends).
//! The recent audio is kept for `keep_s` — longer than an alert can come after its words (the
//! lag bound plus a window) — so the start of the clip is still there when the alert is raised.

use std::collections::VecDeque;

use crate::audio::SAMPLE_RATE;

const RATE: f64 = SAMPLE_RATE as f64;

/// A clip ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub alert_id: String,
    /// Stream time of the first sample.
    pub from_s: f64,
    pub samples: Vec<f32>,
}

#[derive(Debug)]
struct Wanted {
    alert_id: String,
    from_s: f64,
    to_s: f64,
}

/// One stream's recent audio and the clips still waiting for audio.
#[derive(Debug)]
pub struct ClipRecorder {
    margin_s: f64,
    keep: usize,
    recent: VecDeque<f32>,
    /// Stream time of `recent[0]`.
    recent_start_s: f64,
    wanted: Vec<Wanted>,
}

impl ClipRecorder {
    /// Clips of `margin_s` on each side of a claim, from the last `keep_s` of audio.
    pub fn new(margin_s: f64, keep_s: f64) -> ClipRecorder {
        ClipRecorder {
            margin_s: margin_s.max(0.0),
            keep: (keep_s.max(2.0 * margin_s) * RATE) as usize,
            recent: VecDeque::new(),
            recent_start_s: 0.0,
            wanted: Vec::new(),
        }
    }

    fn recent_end_s(&self) -> f64 {
        self.recent_start_s + self.recent.len() as f64 / RATE
    }

    /// Audio that arrived starting at stream time `at_s`. Time without audio before it (a
    /// source outage) is kept as silence up to `keep_s`, so clip times stay stream times.
    pub fn audio(&mut self, at_s: f64, samples: &[f32]) {
        let missing = ((at_s - self.recent_end_s()) * RATE).round();
        if missing >= self.keep as f64 || at_s < self.recent_start_s {
            self.recent.clear();
            self.recent_start_s = at_s;
        } else if missing >= 1.0 {
            self.recent
                .extend(std::iter::repeat_n(0.0, missing as usize));
        }
        self.recent.extend(samples);
        if self.recent.len() > self.keep {
            let excess = self.recent.len() - self.keep;
            self.recent.drain(..excess);
            self.recent_start_s += excess as f64 / RATE;
        }
    }

    /// An alert on the words said from `start_s` to `end_s`.
    pub fn alert(&mut self, alert_id: &str, start_s: f64, end_s: f64) {
        self.wanted.push(Wanted {
            alert_id: alert_id.to_string(),
            from_s: (start_s - self.margin_s).max(0.0),
            to_s: end_s.max(start_s) + self.margin_s,
        });
    }

    /// The clips whose audio has all arrived.
    pub fn ready(&mut self) -> Vec<Clip> {
        let reached = self.recent_end_s();
        let (done, waiting) = std::mem::take(&mut self.wanted)
            .into_iter()
            .partition(|w| w.to_s <= reached);
        self.wanted = waiting;
        done.into_iter().map(|w| self.cut(w)).collect()
    }

    /// Every clip still waiting, with the audio there is (the stream ended).
    pub fn finish(&mut self) -> Vec<Clip> {
        std::mem::take(&mut self.wanted)
            .into_iter()
            .map(|w| self.cut(w))
            .collect()
    }

    fn cut(&self, wanted: Wanted) -> Clip {
        let at = |s: f64| {
            (((s - self.recent_start_s) * RATE).round().max(0.0) as usize).min(self.recent.len())
        };
        let (from, to) = (at(wanted.from_s), at(wanted.to_s));
        Clip {
            alert_id: wanted.alert_id,
            from_s: self.recent_start_s + from as f64 / RATE,
            samples: self.recent.range(from..to.max(from)).copied().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `seconds` of audio whose every sample is its own stream time, so cuts can be checked.
    fn timed(from_s: f64, seconds: f64) -> Vec<f32> {
        let n = (seconds * RATE) as usize;
        (0..n).map(|i| (from_s + i as f64 / RATE) as f32).collect()
    }

    fn span(clip: &Clip) -> (f64, f64) {
        let round = |x: f64| (x * 100.0).round() / 100.0;
        (
            round(clip.from_s),
            round(clip.from_s + clip.samples.len() as f64 / RATE),
        )
    }

    #[test]
    fn a_clip_waits_for_the_audio_after_the_claim() {
        let mut r = ClipRecorder::new(5.0, 60.0);
        r.audio(0.0, &timed(0.0, 12.0));
        r.alert("s-1", 8.0, 9.0);
        assert!(r.ready().is_empty(), "14 s not reached yet");
        r.audio(12.0, &timed(12.0, 2.0));
        let clips = r.ready();
        assert_eq!(clips.len(), 1);
        assert_eq!(span(&clips[0]), (3.0, 14.0));
        assert!((clips[0].samples[0] - 3.0).abs() < 1e-3);
        assert!(r.ready().is_empty(), "each clip once");
    }

    #[test]
    fn clips_are_cut_to_the_audio_there_is() {
        // (audio received, alert, want (from, to) after finish)
        let cases = [
            // Claim at the very start: no audio before 0.
            ((0.0, 10.0), (1.0, 2.0), (0.0, 7.0)),
            // Stream ends 1 s after the claim.
            ((0.0, 10.0), (8.0, 9.0), (3.0, 10.0)),
            // The start is older than what is kept (keep 20 s of 40 s).
            ((0.0, 40.0), (18.0, 19.0), (20.0, 24.0)),
        ];
        for ((from, seconds), (start, end), want) in cases {
            let mut r = ClipRecorder::new(5.0, 20.0);
            r.audio(from, &timed(from, seconds));
            r.alert("s-1", start, end);
            let mut clips = r.ready();
            clips.extend(r.finish());
            assert_eq!(clips.len(), 1);
            assert_eq!(span(&clips[0]), want, "{start}-{end}");
        }
    }

    #[test]
    fn an_outage_is_silence_in_stream_time() {
        let mut r = ClipRecorder::new(2.0, 60.0);
        r.audio(0.0, &timed(0.0, 5.0));
        r.audio(8.0, &timed(8.0, 5.0)); // 3 s without audio
        r.alert("s-2", 8.5, 9.0);
        let clips = r.ready();
        assert_eq!(span(&clips[0]), (6.5, 11.0));
        let at = |s: f64| clips[0].samples[((s - 6.5) * RATE) as usize];
        assert_eq!(at(7.0), 0.0);
        assert!((at(9.0) - 9.0).abs() < 1e-3);
        // An outage longer than what is kept starts afresh.
        r.audio(200.0, &timed(200.0, 1.0));
        r.alert("s-3", 200.0, 200.5);
        assert_eq!(span(&r.finish()[0]), (200.0, 201.0));
    }
}
