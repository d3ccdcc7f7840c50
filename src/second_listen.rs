//! The detector's side of the second listen: it names the suspects
//! ([`crate::detect::Detector::suspects`]) and checks what the new decode heard. Input: the
//! [`Relistened`] spans of a transcript and the alerts of its first pass; output: the alerts only
//! the second listen found, marked `second_listen`.

use std::ops::Range;

use crate::detect::{Alert, Detector, Lang};
use crate::transcribe::relisten::{Relistened, SuspectFinder};
use crate::transcribe::Segment;

/// How far outside its suspect a claim heard on a second listen may lie: the margins are context
/// for the decoder, not audio to raise alerts on (a prompted decode can invent words there).
const REACH_S: f64 = 0.5;

impl SuspectFinder for Detector {
    fn suspects(&self, text: &str, lang: &str) -> Vec<(Range<usize>, Vec<String>)> {
        let Some(lang) = Lang::parse(lang) else {
            return Vec::new();
        };
        Detector::suspects(self, text, lang)
            .into_iter()
            .map(|s| (s.bytes, s.terms))
            .collect()
    }
}

/// Alerts in what the second listens heard that the first pass did not raise: a claim in a
/// suspect's own time (± [`REACH_S`]) with no first-pass alert of its category overlapping it,
/// and none of its rule in the first-pass segments around the suspect (`segments`): the first
/// pass raises one alert per rule and utterance (「今だけ半額、本日限りのお値段」 is one deadline).
pub fn alerts(
    detector: &Detector,
    lang: Lang,
    declared_origin: Option<&str>,
    relistened: &[Relistened],
    first: &[Alert],
    segments: &[Segment],
) -> Vec<Alert> {
    let mut out: Vec<Alert> = Vec::new();
    for r in relistened {
        let heard = detect_segments(detector, lang, declared_origin, &r.segments);
        // The first-pass utterances the suspect lies in.
        let around: Vec<&Segment> = segments
            .iter()
            .filter(|s| s.start_s < r.suspect_end_s && s.end_s > r.suspect_start_s)
            .collect();
        for mut alert in heard {
            let (Some(start), Some(end)) = (alert.start_s, alert.end_s) else {
                continue;
            };
            let inside = start < r.suspect_end_s + REACH_S && end > r.suspect_start_s - REACH_S;
            let same_rule_nearby = |a: &Alert| {
                a.rule == alert.rule
                    && a.start_s.is_some_and(|s| {
                        around.iter().any(|seg| seg.start_s <= s && s <= seg.end_s)
                    })
            };
            let overlaps = |a: &Alert| {
                a.category == alert.category
                    && a.start_s.is_some_and(|s| s < end)
                    && a.end_s.is_some_and(|e| e > start)
            };
            if !inside
                || first.iter().any(|a| overlaps(a) || same_rule_nearby(a))
                || out.iter().any(overlaps)
            {
                continue;
            }
            alert.second_listen = true;
            out.push(alert);
        }
    }
    out
}

/// Feeds segments through one detector stream: claims split across segments still match.
pub fn detect_segments(
    detector: &Detector,
    lang: Lang,
    declared_origin: Option<&str>,
    segments: &[Segment],
) -> Vec<Alert> {
    let mut stream = detector.stream(lang, declared_origin);
    let mut alerts = Vec::new();
    for segment in segments {
        alerts.extend(stream.push(segment));
    }
    alerts.extend(stream.finish());
    alerts
}
