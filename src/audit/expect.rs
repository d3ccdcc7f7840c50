//! Sidecar expectations for regression clips (`samples/NAME.expect.toml`) and the check of an
//! audit against them.
//!
//! Input: the TOML text of a sidecar and a [`FileReport`]. Output: the [`Mismatch`]es, empty
//! when the clip passes. An expected alert is met by an alert of the same category whose time
//! span, widened by the tolerance, contains the expected time; every alert must meet some
//! expectation, so an extra alert fails the clip as surely as a missing one.
//!
//! ```toml
//! language = "ja"          # ja | en: the clip is transcribed in this language
//! origin = "CN"            # declared origin (ISO 3166 alpha-2), optional
//! tolerance_s = 1.5        # optional, default 1.5
//! [[alert]]
//! category = "false_origin"
//! at_s = 3.2               # roughly when the words are said
//! says = "日本製"           # optional note for humans
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
    #[serde(default)]
    pub says: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// An expected alert no alert met.
    Missing {
        category: Category,
        at_s: f64,
        says: String,
    },
    /// An alert no expectation accounts for.
    Unexpected {
        category: Category,
        start_s: Option<f64>,
        text: String,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Missing {
                category,
                at_s,
                says,
            } => write!(f, "missing {category} at {at_s:.1} s ({says})"),
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
        Ok(expectation)
    }

    pub fn load(path: &Path) -> Result<Expectation> {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        Expectation::parse(path, &text)
    }

    pub fn tolerance_s(&self) -> f64 {
        self.tolerance_s.unwrap_or(DEFAULT_TOLERANCE_S)
    }

    /// What `report` got wrong against this expectation; empty when it passes.
    pub fn check(&self, report: &FileReport) -> Vec<Mismatch> {
        let tolerance = self.tolerance_s();
        let mut used = vec![false; report.alerts.len()];
        let mut mismatches = Vec::new();
        for expected in &self.alerts {
            let met = report.alerts.iter().enumerate().position(|(i, alert)| {
                !used[i]
                    && alert.category == expected.category
                    && match (alert.start_s, alert.end_s) {
                        (Some(start), Some(end)) => {
                            start - tolerance <= expected.at_s && expected.at_s <= end + tolerance
                        }
                        _ => false,
                    }
            });
            match met {
                Some(i) => used[i] = true,
                None => mismatches.push(Mismatch::Missing {
                    category: expected.category,
                    at_s: expected.at_s,
                    says: expected.says.clone(),
                }),
            }
        }
        for (alert, used) in report.alerts.iter().zip(used) {
            if !used {
                mismatches.push(Mismatch::Unexpected {
                    category: alert.category,
                    start_s: alert.start_s,
                    text: alert.text.clone(),
                });
            }
        }
        mismatches
    }
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
        ];
        for (text, want) in cases {
            let err = Expectation::parse(Path::new("x.toml"), text).unwrap_err();
            assert!(err.to_string().contains(want), "{text:?}: {err}");
        }
    }
}
