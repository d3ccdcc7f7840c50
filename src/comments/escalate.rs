//! Escalation (pure): comment alerts in order → one alert per user and category per window.
//!
//! A user who posts the same kind of comment again within `window` of their first one does not get
//! a second alert: the later comment joins the first alert (its `comment.count` goes up), and at
//! the third comment the alert's severity goes up one step (a campaign, not a slip). After the
//! window a new alert opens a new group. Time is whatever the caller says: the comment's own time,
//! or a stand-in from its position in the input (`claimwatch detect --comments`).
//!
//! The caller gives the alert the id it will have if it is new *before* offering it (a joined
//! alert's id is never used, so the caller can hand it to the next one); [`Offer::Joined`] names
//! the first alert's id so the caller can update what it kept or sent.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::detect::{Alert, Category, Severity};

/// What became of an offered alert.
// `New` carries the alert by value as the HTTP side's contract says; an Offer lives only until the
// caller matches on it, so the size difference costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Offer {
    /// The first of its group: keep and send it.
    New(Alert),
    /// It joined an open group: the first alert now stands for `count` comments at `severity`.
    Joined {
        first_alert_id: String,
        count: u32,
        severity: Severity,
    },
}

/// Repeats within this long of a user's first comment of a category join its alert (`detect
/// --comments` and `serve` alike).
pub const WINDOW: Duration = Duration::from_secs(600);

/// Comments of one user and category at which the alert goes up a step.
pub const RAISE_AT: u32 = 3;

struct Group {
    id: String,
    since: SystemTime,
    count: u32,
    severity: Severity,
}

/// Open groups by (user, category).
pub struct Escalator {
    window: Duration,
    open: HashMap<(String, Category), Group>,
}

impl Escalator {
    pub fn new(window: Duration) -> Escalator {
        Escalator {
            window,
            open: HashMap::new(),
        }
    }

    /// Forgets the groups whose window ended before `now` and returns their first alerts' ids,
    /// so that a long stream's memory follows its recent offenders, not all of them.
    pub fn prune(&mut self, now: SystemTime) -> Vec<String> {
        let window = self.window;
        let mut gone = Vec::new();
        self.open.retain(|_, g| {
            let open = now
                .duration_since(g.since)
                .map_or(true, |age| age <= window);
            if !open {
                gone.push(g.id.clone());
            }
            open
        });
        gone
    }

    /// The first alerts' ids of the groups open now.
    pub fn open_ids(&self) -> impl Iterator<Item = &str> {
        self.open.values().map(|g| g.id.as_str())
    }

    /// Groups open now.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Offers one comment alert posted at `at`. Alerts without a comment reference (spoken
    /// claims) are always new.
    pub fn offer(&mut self, alert: Alert, at: SystemTime) -> Offer {
        let Some(user) = alert.comment.as_ref().map(|c| c.user.clone()) else {
            return Offer::New(alert);
        };
        let key = (user, alert.category);
        if let Some(g) = self.open.get_mut(&key) {
            // A comment earlier than the first (clocks out of order) is in the window too.
            let age = at.duration_since(g.since).unwrap_or(Duration::ZERO);
            if age <= self.window {
                g.count += 1;
                if g.count == RAISE_AT {
                    g.severity = raise(g.severity);
                }
                return Offer::Joined {
                    first_alert_id: g.id.clone(),
                    count: g.count,
                    severity: g.severity,
                };
            }
        }
        self.open.insert(
            key,
            Group {
                id: alert.id.clone(),
                since: at,
                count: 1,
                severity: alert.severity,
            },
        );
        Offer::New(alert)
    }
}

/// One step up; critical stays critical.
pub fn raise(s: Severity) -> Severity {
    match s {
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// An RFC 3339 time (`2026-11-29T04:10:00Z`, `2026-11-29T13:10:00.5+09:00`) as a `SystemTime`;
/// `None` when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    // humantime reads UTC only: take a numeric offset off and apply it by hand.
    // A split inside a multi-byte character would panic: such a text is no RFC 3339 time.
    let tail_at = s.len().checked_sub(6).filter(|&i| s.is_char_boundary(i));
    let (local, offset_s) = match tail_at.map(|i| s.split_at(i)) {
        Some((head, tail))
            if (tail.starts_with('+') || tail.starts_with('-')) && tail.as_bytes()[3] == b':' =>
        {
            let h: i64 = tail[1..3].parse().ok()?;
            let m: i64 = tail[4..6].parse().ok()?;
            let sign = if tail.starts_with('-') { -1 } else { 1 };
            (head, sign * (h * 3600 + m * 60))
        }
        _ => (s.strip_suffix('Z').or_else(|| s.strip_suffix('z'))?, 0),
    };
    let t = humantime::parse_rfc3339_weak(local).ok()?;
    if offset_s >= 0 {
        t.checked_sub(Duration::from_secs(offset_s as u64))
    } else {
        t.checked_add(Duration::from_secs((-offset_s) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::alert::example_alert;
    use crate::detect::CommentRef;

    fn alert(id: &str, user: &str, category: Category) -> Alert {
        let mut a = example_alert(category, 0.0, 0.0);
        a.id = id.into();
        a.severity = category.default_severity();
        a.comment = Some(CommentRef {
            id: id.into(),
            user: user.into(),
            at: None,
            from_seller: false,
            count: 1,
        });
        a
    }

    #[test]
    fn table() {
        use Category::*;
        let t = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        // (id, user, category, seconds, expected: None = new, Some((first, count, severity)))
        type Step = (
            &'static str,
            &'static str,
            Category,
            u64,
            Option<(&'static str, u32, Severity)>,
        );
        let steps: &[Step] = &[
            ("c1", "u1", Abuse, 0, None),
            ("c2", "u1", Abuse, 60, Some(("c1", 2, Severity::High))),
            // Another category, another user: their own groups.
            ("c2", "u1", Scam, 61, None),
            ("c3", "u2", Abuse, 62, None),
            // The third raises one step; later ones stay there.
            ("c4", "u1", Abuse, 120, Some(("c1", 3, Severity::Critical))),
            ("c4", "u1", Abuse, 600, Some(("c1", 4, Severity::Critical))),
            // Past the window (600 s from the first): a new group.
            ("c4", "u1", Abuse, 601, None),
            ("c5", "u1", Abuse, 602, Some(("c4", 2, Severity::High))),
            // Medium → high at the third.
            ("c6", "u3", PersonalInfo, 0, None),
            (
                "c7",
                "u3",
                PersonalInfo,
                1,
                Some(("c6", 2, Severity::Medium)),
            ),
            ("c7", "u3", PersonalInfo, 2, Some(("c6", 3, Severity::High))),
            // Out of order in time: still the same group.
            ("c7", "u2", Abuse, 10, Some(("c3", 2, Severity::High))),
        ];
        let mut e = Escalator::new(Duration::from_secs(600));
        for (i, (id, user, cat, s, want)) in steps.iter().enumerate() {
            let got = e.offer(alert(id, user, *cat), t(*s));
            match (want, got) {
                (None, Offer::New(a)) => assert_eq!(a.id, *id, "step {i}"),
                (
                    Some((first, count, sev)),
                    Offer::Joined {
                        first_alert_id,
                        count: n,
                        severity,
                    },
                ) => {
                    assert_eq!(
                        (first_alert_id.as_str(), n, severity),
                        (*first, *count, *sev),
                        "step {i}"
                    )
                }
                (want, got) => panic!("step {i}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn times() {
        let utc = parse_rfc3339("2026-11-29T04:10:00Z").unwrap();
        let cases = [
            ("2026-11-29T13:10:00+09:00", Some(0)),
            ("2026-11-28T23:10:00-05:00", Some(0)),
            ("2026-11-29T04:10:30.5Z", Some(30)),
            ("2026-11-29 04:10:00", None),
            ("yesterday", None),
            ("", None),
            ("2026年11月29日 13時", None),
            ("午後1時10分+09:00", None),
        ];
        for (s, want) in cases {
            let got = parse_rfc3339(s).map(|t| t.duration_since(utc).unwrap().as_secs());
            assert_eq!(got, want, "{s:?}");
        }
    }

    #[test]
    fn pruning_forgets_only_groups_whose_window_ended() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut e = Escalator::new(Duration::from_secs(600));
        e.offer(alert("a1", "u1", Category::Abuse), t0);
        e.offer(
            alert("a2", "u2", Category::Abuse),
            t0 + Duration::from_secs(300),
        );
        // (now, ids forgotten, groups left)
        let cases = [(500, vec![], 2), (601, vec!["a1"], 1), (901, vec!["a2"], 0)];
        for (now, gone, left) in cases {
            assert_eq!(e.prune(t0 + Duration::from_secs(now)), gone, "at {now}");
            assert_eq!(e.len(), left, "at {now}");
        }
        // A pruned user starts a new group.
        let again = e.offer(
            alert("a3", "u1", Category::Abuse),
            t0 + Duration::from_secs(950),
        );
        assert!(matches!(again, Offer::New(_)));
        assert_eq!(e.open_ids().collect::<Vec<_>>(), ["a3"]);
    }

    #[test]
    fn spoken_alerts_pass_through() {
        let mut e = Escalator::new(Duration::from_secs(600));
        let a = example_alert(Category::Efficacy, 0.0, 1.0);
        for _ in 0..3 {
            assert!(matches!(
                e.offer(a.clone(), SystemTime::UNIX_EPOCH),
                Offer::New(_)
            ));
        }
    }
}
