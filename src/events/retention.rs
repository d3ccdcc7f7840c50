//! How the log is cut into segments and how long old segments are kept (`serve --retain`).
//!
//! Input: the `--retain` value (`2GiB`, `500MB`, `30d`, `12h`) and the segment files with their
//! sizes and times. Output: a validated [`LogConfig`], and which whole segments to delete.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// Segment and retention settings of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// A new segment starts once the current one holds this many bytes…
    pub segment_bytes: u64,
    /// …or was started this long ago.
    pub segment_age: Duration,
    pub retain: Retain,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 64 << 20,
            segment_age: Duration::from_secs(24 * 3600),
            retain: Retain::Forever,
        }
    }
}

/// What old segments are kept. The newest segment is never deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retain {
    #[default]
    Forever,
    /// Oldest segments are deleted while all segments together are larger.
    Bytes(u64),
    /// A segment is deleted once its last write is older.
    Age(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--retain {0:?}: expected a size (2GiB, 500MB) or an age (30d, 12h), more than zero")]
pub struct RetainError(String);

impl FromStr for Retain {
    type Err = RetainError;

    fn from_str(text: &str) -> Result<Retain, RetainError> {
        let bad = || RetainError(text.to_string());
        let trimmed = text.trim();
        // A bare number is ambiguous (bytes? days?): refused rather than guessed.
        if trimmed.is_empty() || trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(bad());
        }
        if let Ok(age) = humantime::parse_duration(trimmed) {
            return if age.is_zero() {
                Err(bad())
            } else {
                Ok(Retain::Age(age))
            };
        }
        match trimmed.parse::<bytesize::ByteSize>() {
            Ok(size) if size.as_u64() > 0 => Ok(Retain::Bytes(size.as_u64())),
            _ => Err(bad()),
        }
    }
}

/// A segment as retention sees it.
#[derive(Debug, Clone, Copy)]
pub struct SegmentInfo {
    pub bytes: u64,
    /// Last write.
    pub modified: SystemTime,
}

/// How many of `segments` (oldest first) to delete from the front under `retain` at `now`. The
/// last one (being written) always stays.
pub fn to_delete(segments: &[SegmentInfo], retain: Retain, now: SystemTime) -> usize {
    let deletable = segments.len().saturating_sub(1);
    match retain {
        Retain::Forever => 0,
        Retain::Bytes(limit) => {
            let mut total: u64 = segments.iter().map(|s| s.bytes).sum();
            let mut n = 0;
            while n < deletable && total > limit {
                total -= segments[n].bytes;
                n += 1;
            }
            n
        }
        Retain::Age(age) => segments[..deletable]
            .iter()
            .take_while(|s| now.duration_since(s.modified).is_ok_and(|d| d > age))
            .count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_values() {
        let day = Duration::from_secs(86_400);
        // (text, expected)
        let cases = [
            ("2GiB", Some(Retain::Bytes(2 << 30))),
            ("500MB", Some(Retain::Bytes(500_000_000))),
            ("30d", Some(Retain::Age(30 * day))),
            ("12h", Some(Retain::Age(Duration::from_secs(12 * 3600)))),
            ("0d", None),
            ("0B", None),
            ("30", None),
            ("", None),
            ("lots", None),
            ("-1GiB", None),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Retain>().ok(), want, "{text:?}");
        }
        let err = "30".parse::<Retain>().unwrap_err().to_string();
        assert!(
            err.contains("--retain \"30\"") && err.contains("30d"),
            "{err}"
        );
    }

    #[test]
    fn which_segments_go() {
        let now = SystemTime::now();
        let ago = |h: u64| now - Duration::from_secs(h * 3600);
        let seg = |bytes, hours| SegmentInfo {
            bytes,
            modified: ago(hours),
        };
        let four = [seg(10, 50), seg(10, 30), seg(10, 20), seg(10, 0)];
        // (segments, retain, deleted from the front)
        let cases: [(&[SegmentInfo], Retain, usize); 7] = [
            (&four, Retain::Forever, 0),
            (&four, Retain::Bytes(40), 0),
            (&four, Retain::Bytes(25), 2),
            (&four, Retain::Bytes(1), 3),
            (&four, Retain::Age(Duration::from_secs(24 * 3600)), 2),
            (&four, Retain::Age(Duration::from_secs(3600)), 3),
            (&[seg(100, 99)], Retain::Bytes(1), 0),
        ];
        for (segments, retain, want) in cases {
            assert_eq!(to_delete(segments, retain, now), want, "{retain:?}");
        }
    }
}
