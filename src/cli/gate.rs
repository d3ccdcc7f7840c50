//! The exit gate `audit` and `detect` share: the severities of the alerts found and `--fail-on`
//! in, the exit code (0 pass, 1 fail) and one stderr line saying why out.
//!
//! The default is `medium`, from the law rather than from taste: everything at medium or above is
//! unlawful as said — efficacy claims for goods that are not approved drugs (薬機法 Art. 66–68;
//! FD&C Act, FTC Act §5), claims of safety or of proof the seller cannot back (景品表示法 Art. 7(2):
//! an unsubstantiated performance claim is treated as misleading; FTC substantiation doctrine),
//! and a spoken origin that contradicts the declared one. `low` alerts (time-limited prices, an
//! origin claim with no declared origin to check it against) need a fact check before anyone can
//! call them false, so they are reported without failing the gate.

use std::process::ExitCode;

use crate::detect::{Category, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    /// Exit 0 whatever the alerts.
    Never,
}

/// The `--fail-on` default (see the module docs for why).
pub const DEFAULT_FAIL_ON: &str = "medium";

impl FailOn {
    /// The least severity that fails the gate; `None` for `never`.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::High => Some(Severity::High),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::Low => Some(Severity::Low),
            FailOn::Never => None,
        }
    }

    /// The name as typed after `--fail-on`.
    pub fn name(self) -> &'static str {
        match self {
            FailOn::Critical => "critical",
            FailOn::High => "high",
            FailOn::Medium => "medium",
            FailOn::Low => "low",
            FailOn::Never => "never",
        }
    }
}

/// The exit code for alerts of `severities`, and the line that explains it.
pub fn verdict(fail_on: FailOn, severities: &[Severity]) -> (ExitCode, String) {
    let total = severities.len();
    let Some(threshold) = fail_on.threshold() else {
        return (
            ExitCode::SUCCESS,
            format!("exit 0: {} (--fail-on never)", alerts(total)),
        );
    };
    let failing = failing(fail_on, severities);
    if failing == 0 {
        let below = if total == 0 {
            String::new()
        } else {
            format!("; {} below it", alerts(total))
        };
        return (
            ExitCode::SUCCESS,
            format!(
                "exit 0: no alert at --fail-on {} or above{below}",
                fail_on.name()
            ),
        );
    }
    let worst = severities.iter().max().copied().unwrap_or(threshold);
    (
        ExitCode::from(1),
        format!(
            "exit 1: {} at --fail-on {} or above (worst: {worst})",
            alerts(failing),
            fail_on.name()
        ),
    )
}

/// How many of `severities` are at or above the gate (0 for `never`): the exit code and the
/// reports' verdict both come from this count.
pub fn failing(fail_on: FailOn, severities: &[Severity]) -> usize {
    fail_on
        .threshold()
        .map_or(0, |t| severities.iter().filter(|s| **s >= t).count())
}

/// A stderr line when origin claims were found but no declared origin was given to check them
/// against: the gate cannot call them false, and the reader should know why.
pub fn unchecked_origins(declared: Option<&str>, categories: &[Category]) -> Option<String> {
    let claims = categories
        .iter()
        .filter(|c| **c == Category::OriginClaim)
        .count();
    (declared.is_none() && claims > 0).then(|| {
        format!(
            "warning: {} of origin could not be checked: no --origin was given",
            match claims {
                1 => "1 claim".to_string(),
                n => format!("{n} claims"),
            }
        )
    })
}

fn alerts(n: usize) -> String {
    match n {
        0 => "no alerts".into(),
        1 => "1 alert".into(),
        n => format!("{n} alerts"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Severity::*;

    #[test]
    fn verdicts() {
        // (gate, severities found, exit code, explanation)
        let cases: &[(FailOn, &[Severity], u8, &str)] = &[
            (
                FailOn::Medium,
                &[],
                0,
                "exit 0: no alert at --fail-on medium or above",
            ),
            (
                FailOn::Medium,
                &[Low, Low],
                0,
                "exit 0: no alert at --fail-on medium or above; 2 alerts below it",
            ),
            (
                FailOn::Medium,
                &[Low, Medium, Critical],
                1,
                "exit 1: 2 alerts at --fail-on medium or above (worst: critical)",
            ),
            (
                FailOn::Critical,
                &[High],
                0,
                "exit 0: no alert at --fail-on critical or above; 1 alert below it",
            ),
            (
                FailOn::Never,
                &[Critical],
                0,
                "exit 0: 1 alert (--fail-on never)",
            ),
        ];
        for (fail_on, found, code, says) in cases {
            let (exit, line) = verdict(*fail_on, found);
            assert_eq!(exit, ExitCode::from(*code), "{fail_on:?} {found:?}");
            assert_eq!(line, *says);
        }
    }

    #[test]
    fn the_default_parses() {
        use clap::ValueEnum;
        assert_eq!(FailOn::from_str(DEFAULT_FAIL_ON, false), Ok(FailOn::Medium));
    }
}
