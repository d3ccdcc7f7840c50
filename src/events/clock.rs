//! Wall-clock timestamps for events: a [`SystemTime`] in, an RFC 3339 UTC string out
//! (`2026-11-27T03:26:24.123Z`). Hand-written because one civil-date conversion does not justify a
//! date crate; the algorithm is Howard Hinnant's `civil_from_days`.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `time` as RFC 3339 UTC with milliseconds; times before 1970 clamp to the epoch (a wall clock
/// that far off is a broken machine, and an event log must still get a valid string).
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let millis = since.subsec_millis();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// (year, month 1..=12, day 1..=31) of the day `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The instant an [`rfc3339`] string names (`YYYY-MM-DDTHH:MM:SS[.fff]Z`, as events carry);
/// `None` for anything else.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if b[16] != b':' || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let millis = match (b[19], text.strip_suffix('Z')) {
        (b'Z', _) if b.len() == 20 => 0,
        (b'.', Some(head)) => {
            let fraction = head.get(20..)?;
            if fraction.is_empty() || !fraction.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let padded: String = fraction.chars().chain("000".chars()).take(3).collect();
            padded.parse().ok()?
        }
        _ => return None,
    };
    let days = days_from_civil(year as i64, month as i64, day as i64);
    let secs = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
    let secs = u64::try_from(secs).ok()?;
    Some(
        UNIX_EPOCH
            + std::time::Duration::from_secs(secs)
            + std::time::Duration::from_millis(millis),
    )
}

/// Days from 1970-01-01 to the given civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_instants() {
        // (seconds since the epoch, millis, expected)
        let cases = [
            (0, 0, "1970-01-01T00:00:00.000Z"),
            (951_782_400, 5, "2000-02-29T00:00:00.005Z"),
            (1_709_251_199, 999, "2024-02-29T23:59:59.999Z"),
            (1_795_749_984, 123, "2026-11-27T03:26:24.123Z"),
            (4_102_444_800, 0, "2100-01-01T00:00:00.000Z"),
        ];
        for (secs, millis, want) in cases {
            let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis);
            assert_eq!(rfc3339(t), want, "{secs}");
        }
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00.000Z"
        );
        for (secs, millis, text) in cases {
            let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis);
            assert_eq!(parse_rfc3339(text), Some(t), "{text}");
        }
    }

    #[test]
    fn parsing() {
        // (text, seconds and millis since the epoch, or None)
        let cases = [
            ("2026-11-27T03:26:24Z", Some((1_795_749_984, 0))),
            ("2026-11-27T03:26:24.5Z", Some((1_795_749_984, 500))),
            ("2026-11-27T03:26:24.123456Z", Some((1_795_749_984, 123))),
            ("2026-11-27T03:26:24.123", None),
            ("2026-11-27 03:26:24Z", None),
            ("2026-13-27T03:26:24Z", None),
            ("2026-11-27T03:26:24.Z", None),
            ("1969-12-31T23:59:59Z", None),
            ("", None),
            ("2026-11-27T03:26:24+09:00", None),
        ];
        for (text, want) in cases {
            let want =
                want.map(|(s, ms)| UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms));
            assert_eq!(parse_rfc3339(text), want, "{text}");
        }
    }
}
