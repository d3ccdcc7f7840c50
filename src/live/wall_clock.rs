//! When stream time happened on the wall clock: arrivals of audio (stream time received so far,
//! wall-clock time of arrival) in → the wall-clock time of any recent stream time out, for an
//! alert's `said_at`.
//!
//! A live source delivers audio as it is spoken, so the last sample of a chunk was said when the
//! chunk arrived. Stream time also counts outages (gaps) and audio dropped to bound the lag, so
//! it cannot be turned into wall-clock time by adding it to the start time: each arrival is kept
//! as an anchor, and a time is dated from the first anchor at or after it.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// Anchors older than this (stream time before the newest) are forgotten; an alert is never held
/// back that long (the lag is bounded by `--max-lag`, a phrase by 12 s).
const KEEP_S: f64 = 600.0;

/// Recent arrivals of one stream's audio.
#[derive(Debug, Default)]
pub struct WallClock {
    /// (stream time received up to, wall-clock time it arrived), in arrival order.
    anchors: VecDeque<(f64, SystemTime)>,
}

impl WallClock {
    /// Audio up to stream time `received_s` arrived at `now`.
    pub fn arrived(&mut self, received_s: f64, now: SystemTime) {
        self.anchors.push_back((received_s, now));
        while self
            .anchors
            .front()
            .is_some_and(|(s, _)| *s < received_s - KEEP_S)
        {
            self.anchors.pop_front();
        }
    }

    /// When stream time `t` was said. Chunks are dated when their source had them (not when the
    /// busy worker took them), and a network source may deliver late or in bursts; but audio
    /// cannot arrive before it is spoken, so every later arrival bounds it (`wall - (s - t)`) and the tightest bound is the answer. Audio
    /// delivered faster than real time (a recording) is never dated before the previous take of
    /// audio, less the chunk. `None` before any audio arrived.
    pub fn said_at(&self, t: f64) -> Option<SystemTime> {
        let Some(first) = self.anchors.iter().position(|(s, _)| *s >= t) else {
            // Beyond what arrived: extrapolated from the newest arrival.
            let (s, wall) = *self.anchors.back()?;
            return Some(shift(wall, t - s));
        };
        let (first_s, first_wall) = self.anchors[first];
        let bound = self
            .anchors
            .range(first..)
            .map(|&(s, wall)| shift(wall, t - s))
            .min()?;
        let floor = self
            .anchors
            .range(..first)
            .rev()
            .find(|(_, wall)| *wall < first_wall)
            .map(|&(_, wall)| shift(wall, t - first_s));
        Some(floor.map_or(bound, |floor| bound.max(floor)))
    }
}

/// `wall` moved by `seconds` (either way).
fn shift(wall: SystemTime, seconds: f64) -> SystemTime {
    let by = Duration::from_secs_f64(seconds.abs().min(1e9));
    if seconds >= 0.0 {
        wall + by
    } else {
        wall.checked_sub(by).unwrap_or(wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: f64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs_f64(secs)
    }

    #[test]
    fn stream_time_is_dated_by_its_arrival() {
        let mut clock = WallClock::default();
        // 0.1 s chunks taken as they arrive from wall second 1000; a 30 s outage (stream time
        // 2.0 → 32.0) that ended at wall second 1032.0; a source hiccup that delivered 5 s at
        // once at 1040.0; then 3 s of chunks that waited while the worker decoded, all taken at
        // 1043.0 (they arrived in real time, the last just then); then real time again.
        for i in 1..=20 {
            clock.arrived(i as f64 / 10.0, at(1000.0 + i as f64 / 10.0));
        }
        clock.arrived(32.0, at(1032.0));
        clock.arrived(32.1, at(1032.1));
        clock.arrived(37.1, at(1040.0));
        for k in 372..=401 {
            clock.arrived(k as f64 / 10.0, at(1043.0));
        }
        clock.arrived(40.2, at(1043.1));
        // (stream time, expected wall second)
        let cases = [
            (0.0, 1000.0),
            (0.05, 1000.05),
            (1.0, 1001.0),
            (2.0, 1002.0),
            (32.05, 1032.05),
            (36.1, 1039.0),
            // Taken late, dated by when it arrived.
            (38.0, 1040.9),
            (40.15, 1043.05),
            // Beyond what arrived: extrapolated from the newest arrival.
            (41.2, 1044.1),
        ];
        for (t, want) in cases {
            let got = clock.said_at(t).unwrap();
            let got = got.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
            assert!((got - want).abs() < 1e-6, "{t}: {got} != {want}");
        }
    }

    #[test]
    fn a_recording_faster_than_real_time_is_not_dated_before_its_previous_take() {
        let mut clock = WallClock::default();
        // 10 s of a recording taken at wall second 100, 10 s more at wall second 101.
        for k in 1..=200 {
            let take = if k <= 100 { 100.0 } else { 101.0 };
            clock.arrived(k as f64 / 10.0, at(take));
        }
        // (stream time, expected wall second)
        let cases = [
            // Nothing bounds the first take from below: as if spoken live up to the last
            // arrival (20 s at 101).
            (5.0, 86.0),
            // The second take came after the first: not before 100.
            (12.0, 100.0),
            (19.95, 100.95),
        ];
        for (t, want) in cases {
            let got = clock.said_at(t).unwrap();
            let got = got.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
            assert!((got - want).abs() < 1e-6, "{t}: {got} != {want}");
        }
    }

    #[test]
    fn nothing_arrived_nothing_dated() {
        assert_eq!(WallClock::default().said_at(1.0), None);
    }

    #[test]
    fn old_arrivals_are_forgotten() {
        let mut clock = WallClock::default();
        for i in 0..=2000 {
            clock.arrived(i as f64, at(i as f64));
        }
        assert!(clock.anchors.len() <= KEEP_S as usize + 1);
        let got = clock.said_at(1500.0).unwrap();
        assert_eq!(got, at(1500.0));
    }
}
