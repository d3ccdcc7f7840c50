//! Audio dropped to bound the lag, reported at most once per interval: each drop (as often as
//! one per 100 ms chunk while decoding is behind) in → the seconds dropped since the last report
//! out, when a report is due.
//!
//! One status event per dropped chunk was about 10 a second per stream, each written to the
//! durable log; a total every few seconds says the same thing.

use std::time::{Duration, Instant};

/// Shortest time between two drop reports of one stream.
pub const DROP_REPORT_EVERY: Duration = Duration::from_secs(5);

/// Drops not yet reported, and when the last report went out.
#[derive(Debug)]
pub struct DropReport {
    every: Duration,
    unreported_s: f64,
    last_report: Option<Instant>,
}

impl DropReport {
    pub fn new(every: Duration) -> DropReport {
        DropReport {
            every,
            unreported_s: 0.0,
            last_report: None,
        }
    }

    /// Records `seconds` dropped at `now`. Returns the total to report if one is due: the first
    /// drop is reported at once (the operator learns the stream is behind), later ones at most
    /// once per interval.
    pub fn add(&mut self, seconds: f64, now: Instant) -> Option<f64> {
        if seconds <= 0.0 {
            return None;
        }
        self.unreported_s += seconds;
        self.due(now)
    }

    /// The unreported total if the interval since the last report has passed (called on every
    /// turn of the worker's loop, so drops that stop are still reported within an interval).
    pub fn due(&mut self, now: Instant) -> Option<f64> {
        let waited = self
            .last_report
            .is_none_or(|last| now.saturating_duration_since(last) >= self.every);
        if !waited {
            return None;
        }
        let total = self.take()?;
        self.last_report = Some(now);
        Some(total)
    }

    /// Whatever is unreported, due or not (when the stream ends).
    pub fn take(&mut self) -> Option<f64> {
        let total = std::mem::take(&mut self.unreported_s);
        (total > 0.0).then_some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    enum Step {
        /// Seconds dropped, at this many ms from the start.
        Drop(f64, u64),
        /// The loop's check, at this many ms.
        Tick(u64),
        /// The stream ends.
        End,
    }

    #[test]
    fn drops_are_reported_at_once_then_at_most_every_interval() {
        use Step::*;
        // (name, steps, reports: what each step returns)
        type Case = (&'static str, Vec<Step>, Vec<Option<f64>>);
        let cases: Vec<Case> = vec![
            ("first drop at once", vec![Drop(0.1, 0)], vec![Some(0.1)]),
            (
                "ten drops a second: one report, then the total after 5 s",
                vec![
                    Drop(0.1, 0),
                    Drop(0.1, 100),
                    Drop(0.1, 200),
                    Tick(4_999),
                    Drop(0.1, 5_000),
                ],
                vec![Some(0.1), None, None, None, Some(0.3)],
            ),
            (
                "drops that stop are reported by the loop's check",
                vec![
                    Drop(0.1, 0),
                    Drop(0.2, 1_000),
                    Tick(3_000),
                    Tick(5_000),
                    Tick(9_000),
                ],
                vec![Some(0.1), None, None, Some(0.2), None],
            ),
            (
                "what is left is reported at the end",
                vec![Drop(0.1, 0), Drop(0.4, 10), End, End],
                vec![Some(0.1), None, Some(0.4), None],
            ),
            (
                "nothing dropped, nothing said",
                vec![Drop(0.0, 0), Tick(6_000), End],
                vec![None, None, None],
            ),
        ];
        let start = Instant::now();
        for (name, steps, want) in cases {
            let mut report = DropReport::new(DROP_REPORT_EVERY);
            let at = |ms: u64| start + Duration::from_millis(ms);
            let got: Vec<Option<f64>> = steps
                .iter()
                .map(|step| match *step {
                    Drop(s, ms) => report.add(s, at(ms)),
                    Tick(ms) => report.due(at(ms)),
                    End => report.take(),
                })
                .map(|total| total.map(|t| (t * 1000.0).round() / 1000.0))
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
