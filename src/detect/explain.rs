//! A matcher candidate → the [`Alert`] a reviewer reads: the rule's law, explanation and
//! suggestion, with `{spoken}` / `{declared}` filled with country names as the speaker would say
//! them.

use super::matcher::{Candidate, Kind};
use super::{Alert, AlertSource, Category, Detector, Lang};

impl Detector {
    /// Turns a candidate found in `text` into an alert.
    pub(crate) fn alert(
        &self,
        c: &Candidate,
        text: &str,
        lang: Lang,
        declared: Option<&str>,
        id: usize,
        times: Option<(f64, f64)>,
    ) -> Alert {
        let target = &self.matcher(lang).targets[c.target];
        let base = &target.base;
        let explanation = match (&target.kind, c.category) {
            (
                Kind::Origin {
                    unverified_explanation,
                },
                Category::OriginClaim,
            ) => unverified_explanation,
            _ => &base.explanation,
        };
        // Explanations name countries as the speaker would ("中国", "China"), not as ISO codes.
        // Looked up only for a text with a placeholder (most have none).
        let spoken = || {
            c.country
                .as_deref()
                .map(|code| self.country_name(code, lang))
                .unwrap_or_default()
        };
        let declared_name = || {
            declared
                .map(|code| self.country_name(code, lang))
                .unwrap_or_else(|| "?".to_string())
        };
        let fill = |s: &str| {
            if s.contains('{') {
                s.replace("{spoken}", &spoken())
                    .replace("{declared}", &declared_name())
            } else {
                s.to_string()
            }
        };
        let origin_alert = c.country.is_some();
        Alert {
            id: format!("a{id}"),
            category: c.category,
            rule: base.id.clone(),
            severity: c.severity,
            lang,
            text: text[c.orig.clone()].to_string(),
            context: text[c.sentence.clone()].trim().to_string(),
            start_s: times.map(|t| t.0),
            end_s: times.map(|t| t.1),
            legal_basis: base.legal_basis.clone(),
            explanation: fill(explanation),
            suggestion: fill(&base.suggestion),
            declared_origin: if origin_alert {
                declared.map(str::to_string)
            } else {
                None
            },
            spoken_origin: c.country.clone(),
            second_listen: false,
            said_at: None,
            source: AlertSource::Speech,
            comment: None,
        }
    }
}
