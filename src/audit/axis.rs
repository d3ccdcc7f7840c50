//! The HTML report's time axis: a file's duration in, the tick times and their `mm:ss` labels out.
//!
//! Ticks fall on round steps (5 s, 10 s, 30 s, 1 min, …) so a reader can count along the
//! timeline, and there are few enough of them for their labels not to run into each other.

/// Steps a tick may fall on, seconds; the first one that keeps at most `max_ticks` wins.
const STEPS: [f64; 15] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    14400.0,
];

/// Tick times from 0 to `duration_s` (inclusive when it falls on a step), at most `max_ticks + 1`.
pub fn ticks(duration_s: f64, max_ticks: usize) -> Vec<f64> {
    // NaN, zero or negative: only the origin.
    if duration_s.is_nan() || duration_s <= 0.0 || max_ticks == 0 {
        return vec![0.0];
    }
    let step = STEPS
        .iter()
        .copied()
        .find(|step| duration_s / step <= max_ticks as f64)
        .unwrap_or_else(|| (duration_s / max_ticks as f64 / 3600.0).ceil() * 3600.0);
    let count = (duration_s / step + 1e-9).floor() as usize;
    (0..=count).map(|i| i as f64 * step).collect()
}

/// `mm:ss` under an hour, `h:mm:ss` from an hour on (whole seconds: ticks are round).
pub fn label(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// A row for each marker at `positions` (percent of the timeline, in time order) so that markers
/// closer than `min_gap` sit in different rows instead of hiding each other: the lowest row whose
/// last marker is far enough back.
pub fn lanes(positions: &[f64], min_gap: f64) -> Vec<usize> {
    let mut last_in_lane: Vec<f64> = Vec::new();
    positions
        .iter()
        .map(
            |&p| match last_in_lane.iter().position(|&last| p - last >= min_gap) {
                Some(lane) => {
                    last_in_lane[lane] = p;
                    lane
                }
                None => {
                    last_in_lane.push(p);
                    last_in_lane.len() - 1
                }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_markers_get_their_own_rows() {
        // (positions in percent, rows)
        let cases: &[(&[f64], &[usize])] = &[
            (&[], &[]),
            (&[10.0, 20.0, 30.0], &[0, 0, 0]),
            (&[10.0, 11.0, 12.0, 20.0], &[0, 1, 2, 0]),
            (&[10.0, 11.0, 13.5, 14.0], &[0, 1, 0, 1]),
        ];
        for (positions, want) in cases {
            assert_eq!(lanes(positions, 3.0), *want, "{positions:?}");
        }
    }

    #[test]
    fn ticks_fall_on_round_steps() {
        // (duration, max ticks, expected ticks)
        let cases: &[(f64, usize, &[f64])] = &[
            (0.0, 8, &[0.0]),
            (f64::NAN, 8, &[0.0]),
            (9.68, 8, &[0.0, 2.0, 4.0, 6.0, 8.0]),
            (44.2, 8, &[0.0, 10.0, 20.0, 30.0, 40.0]),
            (60.0, 8, &[0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]),
            (3.0, 8, &[0.0, 1.0, 2.0, 3.0]),
            (125.0, 8, &[0.0, 30.0, 60.0, 90.0, 120.0]),
            (
                3600.0,
                8,
                &[0.0, 600.0, 1200.0, 1800.0, 2400.0, 3000.0, 3600.0],
            ),
            (100_000.0, 4, &[0.0, 25_200.0, 50_400.0, 75_600.0]),
        ];
        for (duration, max, want) in cases {
            assert_eq!(ticks(*duration, *max), *want, "{duration} s, {max} ticks");
        }
    }

    #[test]
    fn labels_are_minutes_and_seconds() {
        let cases = [
            (0.0, "00:00"),
            (9.6, "00:10"),
            (75.0, "01:15"),
            (3599.0, "59:59"),
            (3600.0, "1:00:00"),
            (7325.0, "2:02:05"),
            (-3.0, "00:00"),
        ];
        for (seconds, want) in cases {
            assert_eq!(label(seconds), want, "{seconds}");
        }
    }
}
