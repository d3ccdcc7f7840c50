//! Whether a monitored broadcast is healthy: the other risk a live-commerce monitor watches besides
//! what is said (pure; no I/O).
//!
//! Input: the stream's audio as it arrives (in stream time), its source going down and up, audio
//! dropped by the lag bound, and the decoder's lag. Output: a [`HealthChange`] each time a
//! condition starts or clears — never one per chunk — for the worker to publish as a `health`
//! event:
//! - **silence**: no frame louder than the silence threshold for `silence_s` while the source is
//!   up (a muted microphone, a dead feed that still sends packets);
//! - **source down**: the source is down or reconnecting;
//! - **dropped audio**: the lag bound threw audio away (cleared after `quiet_s` without a drop);
//! - **clipping**: in a one-second block, at least `clipping_share` of the samples at full scale
//!   (cleared after `quiet_s` of clean blocks);
//! - **behind**: the decoder lags more than `behind_s` (cleared below half of it).

use serde::{Deserialize, Serialize};

use crate::audio::SAMPLE_RATE;
use crate::events::{HealthCondition as Condition, StreamHealth};
use crate::windowing::level;

/// Thresholds of one stream (`"health"` in `POST /streams`; every field optional).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Seconds without a sound above the silence threshold before `silence` starts.
    pub silence_s: f64,
    /// Decoder lag, in seconds, above which the stream is `behind`.
    pub behind_s: f64,
    /// Share of a second's samples at full scale that makes it clipped.
    pub clipping_share: f64,
    /// Seconds without a drop (or a clipped second) before `dropped_audio` (`clipping`) clears.
    pub quiet_s: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            silence_s: 30.0,
            behind_s: 10.0,
            clipping_share: 0.005,
            quiet_s: 30.0,
        }
    }
}

impl HealthConfig {
    /// The reason a threshold is unusable, for a 400 answer.
    pub fn check(&self) -> Result<(), String> {
        let checks = [
            ("silence_s", self.silence_s, 1.0, 3600.0),
            ("behind_s", self.behind_s, 1.0, 600.0),
            ("clipping_share", self.clipping_share, 0.0001, 1.0),
            ("quiet_s", self.quiet_s, 1.0, 3600.0),
        ];
        for (name, value, low, high) in checks {
            if !(low..=high).contains(&value) {
                return Err(format!("health.{name} {value}: use {low} to {high}"));
            }
        }
        Ok(())
    }
}

/// A condition started (`active`) or cleared, at stream time `stream_s`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthChange {
    pub condition: Condition,
    pub active: bool,
    pub stream_s: f64,
    /// What was measured: seconds of silence, seconds dropped, share clipped, lag.
    pub value: f64,
}

impl HealthChange {
    /// The `health` event body that says it.
    pub fn event(&self) -> StreamHealth {
        StreamHealth {
            condition: self.condition,
            active: self.active,
            stream_s: self.stream_s,
            value: self.value,
            message: self.message(),
        }
    }

    fn message(&self) -> String {
        let v = self.value;
        match (self.condition, self.active) {
            (Condition::Silence, true) => format!("no sound for {v:.0} s with the source up"),
            (Condition::Silence, false) => "sound again".into(),
            (Condition::SourceDown, true) => "source down or reconnecting".into(),
            (Condition::SourceDown, false) => "source up again".into(),
            (Condition::DroppedAudio, true) => {
                format!("transcription fell behind: dropped {v:.1} s of audio (--max-lag)")
            }
            (Condition::DroppedAudio, false) => {
                format!("no audio dropped lately ({v:.1} s dropped while it lasted)")
            }
            (Condition::Clipping, true) => format!(
                "clipping: {:.1} % of a second's samples at full scale",
                v * 100.0
            ),
            (Condition::Clipping, false) => "no clipping lately".into(),
            (Condition::Behind, true) => format!("behind real time: transcript lags {v:.1} s"),
            (Condition::Behind, false) => format!("caught up: lag {v:.1} s"),
        }
    }
}

/// Samples at or above this magnitude count as full scale (a resampled clipped peak overshoots
/// or falls a little short of 1.0).
const FULL_SCALE: f32 = 0.98;
const BLOCK: usize = SAMPLE_RATE as usize;
const RATE: f64 = SAMPLE_RATE as f64;

/// The level meter: the loudest 100 ms frame of each whole second of stream time, in dBFS. Fed
/// the frame levels the silence check measures anyway ([`HealthMonitor::audio`]).
#[derive(Debug, Default)]
struct LevelMeter {
    current_second: Option<i64>,
    loudest: f32,
    last: Option<f64>,
}

impl LevelMeter {
    /// A 100 ms frame starting at stream time `at_s` whose level is `dbfs`.
    fn frame(&mut self, at_s: f64, dbfs: f32) {
        let second = at_s.floor() as i64;
        if self.current_second != Some(second) {
            if self.current_second.is_some() {
                self.last = Some(f64::from(self.loudest.max(-120.0)));
            }
            self.current_second = Some(second);
            self.loudest = f32::NEG_INFINITY;
        }
        self.loudest = self.loudest.max(dbfs);
    }
}

/// One stream's conditions.
#[derive(Debug)]
pub struct HealthMonitor {
    config: HealthConfig,
    active: [bool; 5],
    up: bool,
    /// Stream time of the last frame louder than silence (or of the source coming up).
    last_sound_s: f64,
    last_drop_s: f64,
    dropped_since_start_s: f64,
    last_clipped_s: f64,
    block_clipped: usize,
    block_len: usize,
    worst_share: f64,
    level: LevelMeter,
}

impl HealthMonitor {
    pub fn new(config: HealthConfig) -> HealthMonitor {
        HealthMonitor {
            config,
            active: [false; 5],
            up: false,
            last_sound_s: 0.0,
            last_drop_s: f64::NEG_INFINITY,
            dropped_since_start_s: 0.0,
            last_clipped_s: f64::NEG_INFINITY,
            block_clipped: 0,
            block_len: 0,
            worst_share: 0.0,
            level: LevelMeter::default(),
        }
    }

    /// The level meter: the last whole second's loudest 100 ms frame (floored at −120 dBFS),
    /// once a second of audio has passed.
    pub fn level_dbfs(&self) -> Option<f64> {
        self.level.last
    }

    /// Conditions active now.
    pub fn active(&self) -> Vec<Condition> {
        Condition::ALL
            .into_iter()
            .filter(|c| self.active[*c as usize])
            .collect()
    }

    fn set(
        &mut self,
        condition: Condition,
        active: bool,
        stream_s: f64,
        value: f64,
        out: &mut Vec<HealthChange>,
    ) {
        if self.active[condition as usize] != active {
            self.active[condition as usize] = active;
            out.push(HealthChange {
                condition,
                active,
                stream_s,
                value,
            });
        }
    }

    /// The source came up (`true`) or went down / is reconnecting (`false`) at `stream_s`.
    pub fn source(&mut self, up: bool, stream_s: f64) -> Vec<HealthChange> {
        let mut out = Vec::new();
        if up && !self.up {
            // Silence is counted from when there is a source to be silent.
            self.last_sound_s = stream_s;
        }
        self.up = up;
        self.set(Condition::SourceDown, !up, stream_s, 0.0, &mut out);
        if !up {
            self.set(Condition::Silence, false, stream_s, 0.0, &mut out);
        }
        out
    }

    /// Audio that arrived starting at stream time `at_s`.
    pub fn audio(&mut self, at_s: f64, samples: &[f32]) -> Vec<HealthChange> {
        let mut out = Vec::new();
        let frame = BLOCK / 10;
        for (i, chunk) in samples.chunks(frame).enumerate() {
            let t = at_s + (i * frame) as f64 / RATE;
            let dbfs = level::loudest_frame_dbfs(chunk);
            self.level.frame(t, dbfs);
            if dbfs >= level::SILENCE_DBFS {
                self.last_sound_s = t + chunk.len() as f64 / RATE;
            }
        }
        let end_s = at_s + samples.len() as f64 / RATE;
        let quiet_for = end_s - self.last_sound_s;
        if self.up && quiet_for >= self.config.silence_s {
            self.set(Condition::Silence, true, end_s, quiet_for, &mut out);
        } else if quiet_for < self.config.silence_s {
            self.set(Condition::Silence, false, end_s, quiet_for, &mut out);
        }
        let mut t = at_s;
        for &x in samples {
            t += 1.0 / RATE;
            self.block_len += 1;
            if x.abs() >= FULL_SCALE {
                self.block_clipped += 1;
            }
            if self.block_len == BLOCK {
                let share = self.block_clipped as f64 / BLOCK as f64;
                if share >= self.config.clipping_share {
                    self.last_clipped_s = t;
                    self.worst_share = self.worst_share.max(share);
                    self.set(Condition::Clipping, true, t, share, &mut out);
                }
                self.block_len = 0;
                self.block_clipped = 0;
            }
        }
        if t - self.last_clipped_s >= self.config.quiet_s {
            let worst = std::mem::take(&mut self.worst_share);
            self.set(Condition::Clipping, false, t, worst, &mut out);
        }
        if end_s - self.last_drop_s >= self.config.quiet_s {
            let dropped = std::mem::take(&mut self.dropped_since_start_s);
            self.set(Condition::DroppedAudio, false, end_s, dropped, &mut out);
        }
        out
    }

    /// The lag bound dropped `seconds` of audio when the stream had reached `stream_s`.
    pub fn dropped(&mut self, seconds: f64, stream_s: f64) -> Vec<HealthChange> {
        let mut out = Vec::new();
        if seconds > 0.0 {
            self.last_drop_s = stream_s;
            self.dropped_since_start_s += seconds;
            self.set(Condition::DroppedAudio, true, stream_s, seconds, &mut out);
        }
        out
    }

    /// The decoder's lag now.
    pub fn lag(&mut self, lag_s: f64, stream_s: f64) -> Vec<HealthChange> {
        let mut out = Vec::new();
        if lag_s > self.config.behind_s {
            self.set(Condition::Behind, true, stream_s, lag_s, &mut out);
        } else if lag_s < self.config.behind_s / 2.0 {
            self.set(Condition::Behind, false, stream_s, lag_s, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f64, amplitude: f32) -> Vec<f32> {
        let n = (seconds * RATE) as usize;
        (0..n)
            .map(|i| amplitude * (i as f32 * 440.0 * std::f32::consts::TAU / 16_000.0).sin())
            .collect()
    }

    fn names(changes: &[HealthChange]) -> Vec<(&'static str, bool)> {
        changes
            .iter()
            .map(|c| (c.condition.as_str(), c.active))
            .collect()
    }

    /// Feeds `seconds` of audio in 0.5 s chunks from `at_s`; returns the changes and the end.
    fn feed(m: &mut HealthMonitor, at_s: f64, audio: &[f32]) -> (Vec<HealthChange>, f64) {
        let mut out = Vec::new();
        let mut t = at_s;
        for chunk in audio.chunks(8000) {
            out.extend(m.audio(t, chunk));
            t += chunk.len() as f64 / RATE;
        }
        (out, t)
    }

    #[test]
    fn silence_starts_once_after_its_threshold_and_clears_on_sound() {
        let config = HealthConfig {
            silence_s: 5.0,
            ..HealthConfig::default()
        };
        let mut m = HealthMonitor::new(config);
        assert!(m.source(true, 0.0).is_empty());
        let (changes, t) = feed(&mut m, 0.0, &tone(2.0, 0.3));
        assert!(changes.is_empty());
        let (changes, t) = feed(&mut m, t, &tone(8.0, 0.0));
        assert_eq!(names(&changes), [("silence", true)]);
        assert!((changes[0].stream_s - 7.0).abs() < 0.6, "{changes:?}");
        let (changes, _) = feed(&mut m, t, &tone(1.0, 0.3));
        assert_eq!(names(&changes), [("silence", false)]);
    }

    #[test]
    fn no_silence_while_the_source_is_down() {
        let mut m = HealthMonitor::new(HealthConfig {
            silence_s: 2.0,
            ..HealthConfig::default()
        });
        assert_eq!(names(&m.source(false, 0.0)), [("source_down", true)]);
        let (changes, t) = feed(&mut m, 0.0, &tone(5.0, 0.0));
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(names(&m.source(true, t)), [("source_down", false)]);
        let (changes, _) = feed(&mut m, t, &tone(1.0, 0.0));
        assert!(
            changes.is_empty(),
            "silence counts from the source coming up"
        );
    }

    #[test]
    fn clipping_and_drops_clear_after_a_quiet_spell() {
        let config = HealthConfig {
            quiet_s: 3.0,
            ..HealthConfig::default()
        };
        let mut m = HealthMonitor::new(config);
        m.source(true, 0.0);
        // A tone driven into the rails: flat tops at full scale.
        let clipped: Vec<f32> = tone(2.0, 3.0).iter().map(|x| x.clamp(-1.0, 1.0)).collect();
        let (changes, t) = feed(&mut m, 0.0, &clipped);
        assert_eq!(names(&changes), [("clipping", true)]);
        assert_eq!(names(&m.dropped(1.5, t)), [("dropped_audio", true)]);
        assert!(m.dropped(0.5, t).is_empty(), "one event per change");
        let (changes, t) = feed(&mut m, t, &tone(2.0, 0.3));
        assert!(changes.is_empty(), "{changes:?}");
        let (changes, _) = feed(&mut m, t, &tone(2.0, 0.3));
        assert_eq!(
            names(&changes),
            [("clipping", false), ("dropped_audio", false)]
        );
        assert_eq!(changes[1].value, 2.0, "seconds dropped while it lasted");
        assert!(m.active().is_empty());
    }

    #[test]
    fn the_meter_shows_the_last_whole_second() {
        let mut m = HealthMonitor::new(HealthConfig::default());
        m.audio(0.0, &tone(0.5, 0.5));
        assert_eq!(m.level_dbfs(), None);
        m.audio(0.5, &tone(1.0, 0.05));
        // Second 0 held the loud half second: −9 dBFS.
        assert!((m.level_dbfs().unwrap() + 9.03).abs() < 0.1);
        m.audio(1.5, &tone(1.0, 0.0));
        // Second 1: the quiet tone, then silence.
        assert!((m.level_dbfs().unwrap() + 29.03).abs() < 0.1);
    }

    #[test]
    fn behind_has_hysteresis() {
        let mut m = HealthMonitor::new(HealthConfig::default());
        // (lag, active after)
        let cases = [
            (3.0, None),
            (12.0, Some(true)),
            (8.0, None),
            (12.0, None),
            (4.0, Some(false)),
        ];
        for (lag, want) in cases {
            let changes = m.lag(lag, 0.0);
            assert_eq!(changes.first().map(|c| c.active), want, "{lag}");
        }
    }

    #[test]
    fn thresholds_are_checked() {
        assert!(HealthConfig::default().check().is_ok());
        let bad = HealthConfig {
            silence_s: 0.0,
            ..HealthConfig::default()
        };
        assert_eq!(
            bad.check().unwrap_err(),
            "health.silence_s 0: use 1 to 3600"
        );
        let parsed: HealthConfig = serde_json::from_str(r#"{"silence_s": 12}"#).unwrap();
        assert_eq!(parsed.silence_s, 12.0);
        assert!(serde_json::from_str::<HealthConfig>(r#"{"silent": 1}"#).is_err());
    }
}
