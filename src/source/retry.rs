//! Reconnect policy: a [`RetryConfig`] (from a config file or defaults) → a [`Backoff`] that
//! yields the delays before each retry: exponential from `initial_s`, capped at `max_s`, back to
//! `initial_s` once a connection has produced audio.
//!
//! Pure arithmetic; the sleeping (which must watch the shutdown token) is in [`super::emit`].

use std::time::Duration;

use serde::Deserialize;

/// How long to wait between reconnection attempts of a live source.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// First delay after a failure, in seconds.
    pub initial_s: f64,
    /// Longest delay, in seconds; each failure in a row doubles the delay up to this.
    pub max_s: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_s: 0.5,
            max_s: 30.0,
        }
    }
}

/// A [`RetryConfig`] that cannot work; `Display` is one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("retry: {0}")]
pub struct RetryConfigError(String);

// Above a day, a "retry" is a stop; below a millisecond it is a busy loop against a dead server.
const MIN_S: f64 = 0.001;
const MAX_S: f64 = 86_400.0;

impl RetryConfig {
    /// Checks the delays: finite, within 1 ms..=1 day, and `initial_s <= max_s`.
    pub fn build(self) -> Result<Self, RetryConfigError> {
        for (name, value) in [("initial_s", self.initial_s), ("max_s", self.max_s)] {
            if !value.is_finite() || !(MIN_S..=MAX_S).contains(&value) {
                return Err(RetryConfigError(format!(
                    "{name} = {value} must be between {MIN_S} and {MAX_S} seconds"
                )));
            }
        }
        if self.initial_s > self.max_s {
            return Err(RetryConfigError(format!(
                "initial_s = {} is larger than max_s = {}",
                self.initial_s, self.max_s
            )));
        }
        Ok(self)
    }
}

/// The delay schedule of one source: call [`next_delay`](Self::next_delay) after each failure and
/// [`reset`](Self::reset) after a connection that delivered audio.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: RetryConfig,
    failures: u32,
}

impl Backoff {
    pub fn new(config: RetryConfig) -> Self {
        Self {
            config,
            failures: 0,
        }
    }

    /// The wait before the next attempt: `initial_s × 2^(failures so far)`, capped at `max_s`.
    pub fn next_delay(&mut self) -> Duration {
        // 2^63 overflows nothing in f64, but capping the exponent keeps powi exact and cheap.
        let factor = 2f64.powi(self.failures.min(62) as i32);
        self.failures = self.failures.saturating_add(1);
        Duration::from_secs_f64((self.config.initial_s * factor).min(self.config.max_s))
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_resets() {
        let mut backoff = Backoff::new(RetryConfig::default().build().unwrap());
        let secs: Vec<f64> = (0..9).map(|_| backoff.next_delay().as_secs_f64()).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(500));
        // Thousands of failures in a row stay at the cap instead of overflowing.
        for _ in 0..10_000 {
            backoff.next_delay();
        }
        assert_eq!(backoff.next_delay(), Duration::from_secs(30));
    }

    #[test]
    fn build_rejects_unusable_delays() {
        let table = [
            (0.5, 30.0, None),
            (2.0, 2.0, None),
            (0.0, 30.0, Some("initial_s = 0 must be between")),
            (-1.0, 30.0, Some("initial_s = -1 must be between")),
            (f64::NAN, 30.0, Some("initial_s = NaN")),
            (0.5, f64::INFINITY, Some("max_s = inf")),
            (0.5, 1e9, Some("max_s = 1000000000 must be between")),
            (10.0, 1.0, Some("initial_s = 10 is larger than max_s = 1")),
        ];
        for (initial_s, max_s, want) in table {
            let got = RetryConfig { initial_s, max_s }.build();
            match want {
                None => assert!(got.is_ok(), "{initial_s}/{max_s}: {got:?}"),
                Some(text) => {
                    let err = got.unwrap_err().to_string();
                    assert!(err.contains(text), "{initial_s}/{max_s}: {err}");
                }
            }
        }
    }

    #[test]
    fn config_file_form() {
        let got: RetryConfig = toml::from_str("initial_s = 1.0\nmax_s = 8.0").unwrap();
        assert_eq!(
            got,
            RetryConfig {
                initial_s: 1.0,
                max_s: 8.0
            }
        );
        let defaults: RetryConfig = toml::from_str("").unwrap();
        assert_eq!(defaults, RetryConfig::default());
        let err = toml::from_str::<RetryConfig>("initial = 1.0").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
