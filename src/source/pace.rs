//! Real-time pacing for file sources: samples sent so far + time since start → how long to wait
//! before the next chunk.
//!
//! Scheduling against the start instant (not summing sleeps) means a late wake-up is caught up
//! on the next chunk instead of drifting: after an hour the stream is still within one chunk of
//! the wall clock.

use std::time::Duration;

use crate::audio::SAMPLE_RATE;

/// When (relative to the start) the sample at index `sent_samples` is due.
pub fn due(sent_samples: u64) -> Duration {
    let secs = sent_samples / u64::from(SAMPLE_RATE);
    let rem = sent_samples % u64::from(SAMPLE_RATE);
    // Integer nanoseconds: f64 seconds would lose sub-sample precision after days of audio.
    Duration::from_secs(secs) + Duration::from_nanos(rem * 1_000_000_000 / u64::from(SAMPLE_RATE))
}

/// How long to wait, `elapsed` after the start, before sending audio that begins at sample
/// `sent_samples`; zero when it is already due (running late).
pub fn wait(sent_samples: u64, elapsed: Duration) -> Duration {
    due(sent_samples).saturating_sub(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_against_the_start_instant() {
        let ms = Duration::from_millis;
        let table = [
            // (sent samples, elapsed, wait)
            (0, ms(0), ms(0)),
            (1_600, ms(0), ms(100)),
            (1_600, ms(40), ms(60)),
            (1_600, ms(100), ms(0)),
            // Late by 250 ms: no wait, and the next chunks come back-to-back until caught up.
            (16_000, ms(1_250), ms(0)),
            (17_600, ms(1_250), ms(0)),
            (20_800, ms(1_250), ms(50)),
            // An hour in, still exact to the nanosecond.
            (
                57_600_000,
                Duration::from_secs(3_599),
                Duration::from_secs(1),
            ),
        ];
        for (sent, elapsed, want) in table {
            assert_eq!(
                wait(sent, elapsed),
                want,
                "sent {sent}, elapsed {elapsed:?}"
            );
        }
    }

    #[test]
    fn due_is_sample_exact() {
        assert_eq!(due(1), Duration::from_nanos(62_500));
        assert_eq!(
            due(16_001),
            Duration::from_secs(1) + Duration::from_nanos(62_500)
        );
    }
}
