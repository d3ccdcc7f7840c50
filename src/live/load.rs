//! Decode load: how much of the shared decoder a stream needs, as decode seconds per wall second
//! (0.25: a quarter of the decoder's time). Commits, gap flushes and the final flush are work a
//! stream cannot skip, so they are what is measured; looks at unfinished phrases are optional
//! (they only use a decoder nobody else wants) and are left out, or an idle server would look busy.
//!
//! Input: the wall time of each required decode, as it finishes. Output: an exponentially
//! weighted rate with a [`HALF_LIFE`], which the manager sums over streams to decide whether one
//! more fits ([`Admission`]). Pure: the caller passes the clock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How fast old decodes stop counting: a stream that went quiet stops weighing after a minute or so.
pub const HALF_LIFE: Duration = Duration::from_secs(20);

/// Stream time after which a stream's own measurement is trusted; before it, the stream counts
/// at least what streams of its language were measured to need (the rate is still ramping up).
pub const WARM_UP_S: f64 = 2.0 * 20.0;

/// Busy seconds per wall second, exponentially weighted.
#[derive(Debug)]
pub struct LoadMeter {
    state: Mutex<Rate>,
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    value: f64,
    at: Instant,
}

impl Rate {
    fn decayed(self, now: Instant) -> f64 {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.value * 0.5f64.powf(dt / HALF_LIFE.as_secs_f64())
    }
}

impl LoadMeter {
    pub fn new(now: Instant) -> LoadMeter {
        LoadMeter {
            state: Mutex::new(Rate {
                value: 0.0,
                at: now,
            }),
        }
    }

    /// Counts a decode that kept the decoder busy for `busy`, ending at `now`.
    pub fn record(&self, busy: Duration, now: Instant) {
        // The weight that makes a steady busy fraction f converge to f: the integral of the
        // decay kernel is HALF_LIFE / ln 2.
        let tau = HALF_LIFE.as_secs_f64() / std::f64::consts::LN_2;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let value = state.decayed(now) + busy.as_secs_f64() / tau;
        *state = Rate { value, at: now };
    }

    /// Decode seconds per wall second, as of `now`.
    pub fn rate(&self, now: Instant) -> f64 {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .decayed(now)
    }
}

/// What the manager knows about one running stream, for admission.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamLoad {
    /// Whether it decodes with the model admission asks about (same language).
    pub same_lang: bool,
    /// Its measured load.
    pub load: f64,
    /// Stream time received, seconds: below [`WARM_UP_S`] the measurement is still ramping up.
    pub stream_s: f64,
}

/// The decision on one more stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    Admit,
    /// Over the limit: the load now and what the new stream is expected to add.
    Refuse {
        load: f64,
        expected: f64,
    },
}

/// Whether a stream expected to need what streams of its language need fits under `max_load`.
/// `known` is the last trusted measurement for that language from streams that have since ended
/// (None if never measured). A language never measured is admitted while load is below the limit:
/// nothing says what it will cost, and refusing the first stream of a language helps nobody.
pub fn admit(streams: &[StreamLoad], known: Option<f64>, max_load: f64) -> Admission {
    let trusted = |s: &&StreamLoad| s.stream_s >= WARM_UP_S;
    let expected = streams
        .iter()
        .filter(|s| s.same_lang)
        .filter(trusted)
        .map(|s| s.load)
        .fold(known, |acc, l| Some(acc.map_or(l, |a: f64| a.max(l))));
    // Streams still warming up count as much as one of their language is expected to need.
    let load: f64 = streams
        .iter()
        .map(|s| match (trusted(&s), s.same_lang, expected) {
            (false, true, Some(e)) => s.load.max(e),
            _ => s.load,
        })
        .sum();
    let expected = expected.unwrap_or(0.0);
    if load + expected > max_load {
        Admission::Refuse { load, expected }
    } else {
        Admission::Admit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_busy_fraction_converges_to_itself() {
        let t0 = Instant::now();
        let meter = LoadMeter::new(t0);
        // 0.3 s of decoding every second for five minutes.
        for i in 1..=300 {
            meter.record(Duration::from_millis(300), t0 + Duration::from_secs(i));
        }
        let rate = meter.rate(t0 + Duration::from_secs(300));
        assert!((rate - 0.3).abs() < 0.02, "{rate}");
        // Quiet for a minute: three half-lives.
        let later = meter.rate(t0 + Duration::from_secs(360));
        assert!((later - rate / 8.0).abs() < 0.01, "{later}");
    }

    #[test]
    fn admission() {
        let warm = |same_lang, load| StreamLoad {
            same_lang,
            load,
            stream_s: 600.0,
        };
        let cold = |same_lang, load| StreamLoad {
            same_lang,
            load,
            stream_s: 5.0,
        };
        let refuse = |load, expected| Admission::Refuse { load, expected };
        // (running streams, last known load of the language, max load, decision)
        let cases: Vec<(Vec<StreamLoad>, Option<f64>, f64, Admission)> = vec![
            (vec![], None, 1.0, Admission::Admit),
            (
                vec![warm(true, 0.3), warm(true, 0.3)],
                None,
                1.0,
                Admission::Admit,
            ),
            (
                vec![warm(true, 0.3), warm(true, 0.3), warm(true, 0.3)],
                None,
                1.0,
                refuse(0.8999999999999999, 0.3),
            ),
            // Another language's load counts, but does not predict this one's.
            (vec![warm(false, 0.9)], None, 1.0, Admission::Admit),
            (vec![warm(false, 0.9)], Some(0.2), 1.0, refuse(0.9, 0.2)),
            // A stream still warming up counts what its language is known to need.
            (
                vec![warm(true, 0.4), cold(true, 0.05)],
                None,
                1.0,
                refuse(0.8, 0.4),
            ),
            (vec![cold(true, 0.05)], None, 1.0, Admission::Admit),
            // A raised limit (operators who accept lag) admits more.
            (
                vec![warm(true, 0.3), warm(true, 0.3), warm(true, 0.3)],
                None,
                1.5,
                Admission::Admit,
            ),
        ];
        for (i, (streams, known, max, want)) in cases.into_iter().enumerate() {
            assert_eq!(admit(&streams, known, max), want, "case {i}");
        }
    }
}
