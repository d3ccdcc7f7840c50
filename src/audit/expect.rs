//! Sidecar expectations for regression clips (`samples/NAME.expect.toml`) and the check of an
//! audit against them.
//!
//! Input: the TOML text of a sidecar and a [`FileReport`]. Output: the [`Mismatch`]es, empty
//! when the clip matches its sidecar exactly, and a [`Score`] (labeled claims caught, alerts that
//! match no claim) for pooled precision and recall. An expected alert is met by an alert of the
//! same category whose time span, widened by the tolerance, reaches the expected time (or the
//! labeled span `at_s ..= until_s`); every alert must meet some expectation, so an extra alert
//! fails the clip as surely as a missing one.
//!
//! A sidecar lists every claim its script makes, also those the detector misses today: those are
//! marked `expected_miss = true`. A known miss is reported, not failed; a known miss that is
//! caught is good news ([`Mismatch::CaughtKnownMiss`]), not a failure either.
//!
//! ```toml
//! language = "ja"          # ja | en: the clip is transcribed in this language
//! origin = "CN"            # declared origin (ISO 3166 alpha-2), optional
//! tolerance_s = 1.5        # optional, default 1.5
//! [[alert]]
//! category = "false_origin"
//! at_s = 3.2               # roughly when the words are said
//! until_s = 5.0            # optional: the claim is said from at_s to until_s (an utterance)
//! says = "日本製"           # optional note for humans
//! expected_miss = true     # optional: the detector misses this claim today (say why in a comment)
//! ```
//! A clip that must raise nothing has no `[[alert]]`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::FileReport;
use crate::detect::{Category, Lang};

/// Alerts are checked against when the words are said, within this many seconds by default
/// (the audit issue's bound on alert times).
pub const DEFAULT_TOLERANCE_S: f64 = 1.5;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub language: Lang,
    pub origin: Option<String>,
    pub tolerance_s: Option<f64>,
    #[serde(default, rename = "alert")]
    pub alerts: Vec<ExpectedAlert>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAlert {
    pub category: Category,
    pub at_s: f64,
    /// End of the labeled span; absent: the claim is a point in time, `at_s`.
    pub until_s: Option<f64>,
    #[serde(default)]
    pub says: String,
    /// The script makes this claim but the detector misses it today: reported, not failed.
    #[serde(default)]
    pub expected_miss: bool,
}

impl ExpectedAlert {
    fn end_s(&self) -> f64 {
        self.until_s.unwrap_or(self.at_s)
    }

    /// Whether `alert` is this claim: same category, and the alert's span widened by
    /// `tolerance` overlaps the claim's span.
    fn met_by(&self, alert: &crate::detect::Alert, tolerance: f64) -> bool {
        alert.category == self.category
            && match (alert.start_s, alert.end_s) {
                (Some(start), Some(end)) => {
                    start - tolerance <= self.end_s() && self.at_s <= end + tolerance
                }
                _ => false,
            }
    }
}

/// Counts for pooled precision and recall over many clips.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Claims the sidecar labels (known misses included: the script says them).
    pub claims: usize,
    /// Claims met by an alert, each alert meeting at most one claim.
    pub caught: usize,
    /// Alerts raised.
    pub alerts: usize,
    /// Alerts that meet no claim at all (right category within the tolerance of none).
    pub false_alarms: usize,
}

impl Score {
    pub fn add(&mut self, other: Score) {
        self.claims += other.claims;
        self.caught += other.caught;
        self.alerts += other.alerts;
        self.false_alarms += other.false_alarms;
    }

    /// Caught / claims; 1 when there is nothing to catch.
    pub fn recall(&self) -> f64 {
        if self.claims == 0 {
            1.0
        } else {
            self.caught as f64 / self.claims as f64
        }
    }

    /// Alerts that meet a claim / alerts; 1 when nothing was raised.
    pub fn precision(&self) -> f64 {
        if self.alerts == 0 {
            1.0
        } else {
            (self.alerts - self.false_alarms) as f64 / self.alerts as f64
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// An expected alert no alert met; `heard` is what Whisper wrote over the claim's span, to
    /// tell a claim lost to ASR from a phrasing no rule knows.
    Missing {
        category: Category,
        at_s: f64,
        says: String,
        heard: String,
    },
    /// An alert no expectation accounts for.
    Unexpected {
        category: Category,
        start_s: Option<f64>,
        text: String,
    },
    /// An expected alert marked `expected_miss` that no alert met: as the sidecar says.
    KnownMiss {
        category: Category,
        at_s: f64,
        says: String,
        heard: String,
    },
    /// An expected alert marked `expected_miss` that an alert met: good news, the mark can go.
    CaughtKnownMiss {
        category: Category,
        at_s: f64,
        says: String,
    },
}

impl Mismatch {
    /// Whether this fails the clip (a missing claim or an unexpected alert).
    pub fn is_failure(&self) -> bool {
        matches!(self, Mismatch::Missing { .. } | Mismatch::Unexpected { .. })
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Missing {
                category,
                at_s,
                says,
                heard,
            } => write!(
                f,
                "missing {category} at {at_s:.1} s ({says}) heard \"{heard}\""
            ),
            Mismatch::KnownMiss {
                category,
                at_s,
                says,
                heard,
            } => write!(
                f,
                "known miss {category} at {at_s:.1} s ({says}) heard \"{heard}\""
            ),
            Mismatch::CaughtKnownMiss {
                category,
                at_s,
                says,
            } => write!(
                f,
                "caught known miss {category} at {at_s:.1} s ({says}): drop its expected_miss"
            ),
            Mismatch::Unexpected {
                category,
                start_s,
                text,
            } => match start_s {
                Some(s) => write!(f, "unexpected {category} at {s:.1} s ({text})"),
                None => write!(f, "unexpected {category} ({text})"),
            },
        }
    }
}

impl Expectation {
    /// Parses a sidecar; errors say `file:line: message`.
    pub fn parse(path: &Path, text: &str) -> Result<Expectation> {
        let expectation: Expectation = toml::from_str(text).map_err(|err| {
            let line = err
                .span()
                .map_or(1, |span| text[..span.start].matches('\n').count() + 1);
            anyhow::anyhow!("{}:{line}: {}", path.display(), err.message())
        })?;
        if let Some(origin) = &expectation.origin {
            if origin.len() != 2 || !origin.chars().all(|c| c.is_ascii_uppercase()) {
                bail!(
                    "{}: origin must be an ISO 3166 alpha-2 code such as CN, got {origin:?}",
                    path.display()
                );
            }
        }
        if expectation
            .tolerance_s
            .is_some_and(|t| t.is_nan() || t <= 0.0)
        {
            bail!("{}: tolerance_s must be positive", path.display());
        }
        for alert in &expectation.alerts {
            if alert
                .until_s
                .is_some_and(|end| end.is_nan() || end < alert.at_s)
            {
                bail!(
                    "{}: until_s must not be before at_s ({} at {} s)",
                    path.display(),
                    alert.category,
                    alert.at_s
                );
            }
        }
        Ok(expectation)
    }

    pub fn load(path: &Path) -> Result<Expectation> {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        Expectation::parse(path, &text)
    }

    pub fn tolerance_s(&self) -> f64 {
        self.tolerance_s.unwrap_or(DEFAULT_TOLERANCE_S)
    }

    /// What `report` got wrong against this expectation, and the known misses and caught known
    /// misses, which are not failures ([`Mismatch::is_failure`]).
    pub fn check(&self, report: &FileReport) -> Vec<Mismatch> {
        self.check_and_score(report).0
    }

    /// Claims caught and false alarms, for pooled precision and recall.
    pub fn score(&self, report: &FileReport) -> Score {
        self.check_and_score(report).1
    }

    fn check_and_score(&self, report: &FileReport) -> (Vec<Mismatch>, Score) {
        let tolerance = self.tolerance_s();
        let mut used = vec![false; report.alerts.len()];
        let mut mismatches = Vec::new();
        let mut caught = 0;
        // Firm claims take their alerts first, so a known miss said in the same utterance as a
        // firm claim cannot take the one alert the firm claim needs. Within each, an alert goes
        // first to a claim its own span overlaps, and only then, widened by the tolerance, to a
        // neighbour: otherwise a claim missed just before a caught one took that one's alert,
        // and the report named the caught claim as the one missing.
        let mut met: Vec<Option<usize>> = vec![None; self.alerts.len()];
        for firm in [true, false] {
            for widen in [0.0, tolerance] {
                for (k, expected) in self.alerts.iter().enumerate() {
                    if expected.expected_miss == firm || met[k].is_some() {
                        continue;
                    }
                    met[k] = report
                        .alerts
                        .iter()
                        .enumerate()
                        .position(|(i, alert)| !used[i] && expected.met_by(alert, widen));
                    if let Some(i) = met[k] {
                        used[i] = true;
                    }
                }
            }
        }
        for (expected, met) in self.alerts.iter().zip(met) {
            let (category, at_s, says) = (expected.category, expected.at_s, expected.says.clone());
            match met {
                Some(_) => {
                    caught += 1;
                    if expected.expected_miss {
                        mismatches.push(Mismatch::CaughtKnownMiss {
                            category,
                            at_s,
                            says,
                        });
                    }
                }
                None if expected.expected_miss => mismatches.push(Mismatch::KnownMiss {
                    category,
                    at_s,
                    says,
                    heard: heard(report, expected),
                }),
                None => mismatches.push(Mismatch::Missing {
                    category,
                    at_s,
                    says,
                    heard: heard(report, expected),
                }),
            }
        }
        let mut false_alarms = 0;
        for (alert, used) in report.alerts.iter().zip(used) {
            if !used {
                mismatches.push(Mismatch::Unexpected {
                    category: alert.category,
                    start_s: alert.start_s,
                    text: alert.text.clone(),
                });
                // A second alert on a claim another alert already met (two rules on one
                // utterance) fails the strict check but is no false alarm.
                if !self.alerts.iter().any(|e| e.met_by(alert, tolerance)) {
                    false_alarms += 1;
                }
            }
        }
        let score = Score {
            claims: self.alerts.len(),
            caught,
            alerts: report.alerts.len(),
            false_alarms,
        };
        (mismatches, score)
    }
}

/// The text of the segments that overlap the claim's span.
fn heard(report: &FileReport, expected: &ExpectedAlert) -> String {
    report
        .segments
        .iter()
        .filter(|s| {
            s.start_s < expected.end_s().max(expected.at_s + 0.5) && expected.at_s < s.end_s
        })
        .map(|s| s.text.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Alert;

    fn alert(category: Category, start_s: f64, end_s: f64) -> Alert {
        crate::detect::alert::example_alert(category, start_s, end_s)
    }

    fn report(alerts: Vec<Alert>) -> FileReport {
        FileReport {
            file: "x.wav".into(),
            language: "ja".into(),
            duration_s: 10.0,
            segments: vec![],
            alerts,
            second_listens: vec![],
        }
    }

    const TWO: &str = r#"
language = "ja"
origin = "CN"
[[alert]]
category = "false_origin"
at_s = 3.0
says = "日本製"
[[alert]]
category = "efficacy"
at_s = 8.0
"#;

    #[test]
    fn checks() {
        use Category::*;
        let expectation = Expectation::parse(Path::new("x.expect.toml"), TWO).unwrap();
        assert_eq!(expectation.origin.as_deref(), Some("CN"));
        let cases: Vec<(Vec<Alert>, usize, usize)> = vec![
            // (alerts, missing, unexpected)
            (
                vec![alert(FalseOrigin, 2.5, 3.5), alert(Efficacy, 7.0, 8.5)],
                0,
                0,
            ),
            // Within tolerance on either side.
            (
                vec![alert(FalseOrigin, 4.4, 5.0), alert(Efficacy, 5.0, 6.6)],
                0,
                0,
            ),
            // Too late, wrong category, one alert cannot meet two expectations.
            (
                vec![alert(FalseOrigin, 4.6, 5.0), alert(Efficacy, 7.0, 8.0)],
                1,
                1,
            ),
            (
                vec![alert(OriginClaim, 3.0, 3.5), alert(Efficacy, 7.0, 8.0)],
                1,
                1,
            ),
            (vec![alert(FalseOrigin, 2.0, 9.0)], 1, 0),
            (vec![], 2, 0),
        ];
        for (alerts, missing, unexpected) in cases {
            let got = expectation.check(&report(alerts.clone()));
            let count = |missing: bool| {
                got.iter()
                    .filter(|m| matches!(m, Mismatch::Missing { .. }) == missing)
                    .count()
            };
            assert_eq!(
                (count(true), count(false)),
                (missing, unexpected),
                "{alerts:?}"
            );
        }
    }

    const SPANS: &str = r#"
language = "en"
tolerance_s = 1.0
[[alert]]
category = "efficacy"
at_s = 10.0
until_s = 14.0
says = "it cures acne and treats eczema"
[[alert]]
category = "pricing"
at_s = 20.0
says = "today only"
expected_miss = true
[[alert]]
category = "exaggeration"
at_s = 30.0
until_s = 32.0
expected_miss = true
"#;

    #[test]
    fn spans_known_misses_and_scores() {
        use Category::*;
        let expectation = Expectation::parse(Path::new("x.expect.toml"), SPANS).unwrap();
        // The efficacy label spans 10-14 s: an alert at 14.5-15 s is within 1 s of its end. The
        // second efficacy alert on the same utterance fails the strict check but is no false
        // alarm; the pricing alert meets the known miss at 20 s (good news); the exaggeration
        // known miss stays missed; the alert at 40 s meets nothing.
        let got = expectation.check(&report(vec![
            alert(Efficacy, 14.5, 15.0),
            alert(Efficacy, 12.0, 13.0),
            alert(Pricing, 19.0, 19.5),
            alert(Pricing, 40.0, 41.0),
        ]));
        let kinds: Vec<&str> = got
            .iter()
            .map(|m| match m {
                Mismatch::Missing { .. } => "missing",
                Mismatch::Unexpected { .. } => "unexpected",
                Mismatch::KnownMiss { .. } => "known",
                Mismatch::CaughtKnownMiss { .. } => "caught",
            })
            .collect();
        assert_eq!(kinds, ["caught", "known", "unexpected", "unexpected"]);
        assert_eq!(got.iter().filter(|m| m.is_failure()).count(), 2);
        let score = expectation.score(&report(vec![
            alert(Efficacy, 14.5, 15.0),
            alert(Efficacy, 12.0, 13.0),
            alert(Pricing, 19.0, 19.5),
            alert(Pricing, 40.0, 41.0),
        ]));
        assert_eq!(
            score,
            Score {
                claims: 3,
                caught: 2,
                alerts: 4,
                false_alarms: 1
            }
        );
        assert!((score.recall() - 2.0 / 3.0).abs() < 1e-9);
        assert!((score.precision() - 0.75).abs() < 1e-9);
        // Nothing expected, nothing raised: perfect, not NaN.
        let none = Score::default();
        assert_eq!((none.recall(), none.precision()), (1.0, 1.0));
        // Only known misses, none caught: the clip passes.
        assert!(expectation
            .check(&report(vec![alert(Efficacy, 11.0, 12.0)]))
            .iter()
            .all(|m| !m.is_failure()));
    }

    #[test]
    fn an_alert_meets_the_claim_it_overlaps_before_a_neighbour() {
        let two_claims = r#"
language = "en"
[[alert]]
category = "efficacy"
at_s = 0.3
until_s = 2.9
says = "burn fat all day long"
[[alert]]
category = "efficacy"
at_s = 2.9
until_s = 6.8
says = "lost twenty pounds in a month"
"#;
        let expectation = Expectation::parse(Path::new("x.expect.toml"), two_claims).unwrap();
        let got = expectation.check(&report(vec![alert(Category::Efficacy, 3.4, 4.5)]));
        let missing: Vec<f64> = got
            .iter()
            .filter_map(|m| match m {
                Mismatch::Missing { at_s, .. } => Some(*at_s),
                _ => None,
            })
            .collect();
        assert_eq!(missing, vec![0.3], "{got:?}");
    }

    #[test]
    fn bad_sidecars_say_file_and_line() {
        let cases = [
            (
                "language = \"ja\"\n[[alert]]\ncategory = \"cure\"\nat_s = 1.0\n",
                "x.toml:3:",
            ),
            ("language = \"fr\"\n", "x.toml:1:"),
            ("language = \"ja\"\nfoo = 1\n", "x.toml:2:"),
            ("language = \"ja\"\norigin = \"japan\"\n", "origin must be"),
            (
                "language = \"ja\"\n[[alert]]\ncategory = \"pricing\"\nat_s = 5.0\nuntil_s = 4.0\n",
                "until_s must not be before at_s",
            ),
        ];
        for (text, want) in cases {
            let err = Expectation::parse(Path::new("x.toml"), text).unwrap_err();
            assert!(err.to_string().contains(want), "{text:?}: {err}");
        }
    }
}
