//! Reconciles the two looks a live stream takes at its words (pure; no I/O): alerts raised early,
//! from a look at a phrase still being spoken, against the alerts of its committed transcript,
//! and the alerts raised lately against what a second listen finds.
//!
//! Input: alerts as they are raised (early or committed) and how far commits have reached.
//! Output: whether a committed alert was already raised early (so it is not raised twice), the
//! early alerts no commit repeated (reported as unconfirmed: they were already sent), and the
//! alerts of the last minute for the second listen to check against.

use crate::detect::{Alert, Category};

/// Token times of two decodes of the same words differ by a few tenths of a second.
const SAME_CLAIM_SLACK_S: f64 = 1.0;
/// An early alert not repeated by commits reaching this far past it was not confirmed.
pub const CONFIRM_WITHIN_S: f64 = 15.0;
/// How far back raised alerts are remembered for the second listen: a window with its context
/// and the listen's margins spans well under a minute.
const KEEP_RAISED_S: f64 = 60.0;

/// What identifies a claim raised early when its commit comes.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyAlert {
    /// The id the event bus gave it when it was raised.
    pub id: String,
    pub rule: String,
    pub category: Category,
    pub start_s: f64,
    pub end_s: f64,
}

impl EarlyAlert {
    fn of(alert: &Alert, id: String) -> EarlyAlert {
        let start_s = alert.start_s.unwrap_or(0.0);
        EarlyAlert {
            id,
            rule: alert.rule.clone(),
            category: alert.category,
            start_s,
            end_s: alert.end_s.unwrap_or(start_s),
        }
    }

    /// The same claim heard twice: same category (the detector raises one alert per category
    /// for overlapping words) at about the same time.
    fn same_claim(&self, alert: &Alert) -> bool {
        let start = alert.start_s.unwrap_or(0.0);
        let end = alert.end_s.unwrap_or(start);
        self.category == alert.category
            && start < self.end_s + SAME_CLAIM_SLACK_S
            && self.start_s < end + SAME_CLAIM_SLACK_S
    }
}

/// One stream's alerts in flight between its looks, commits and second listens.
#[derive(Debug, Default)]
pub struct Reconciler {
    /// Raised from a look, not yet repeated by a commit.
    early: Vec<EarlyAlert>,
    /// Everything raised in the last [`KEEP_RAISED_S`] of stream time.
    raised: Vec<Alert>,
}

impl Reconciler {
    /// Whether a look's alert is a claim already raised early (a later look hears it again).
    pub fn already_early(&self, alert: &Alert) -> bool {
        self.early.iter().any(|e| e.same_claim(alert))
    }

    /// Keeps a look's alert, raised under `id`, until a commit repeats it.
    pub fn raised_early(&mut self, alert: &Alert, id: String) {
        self.early.push(EarlyAlert::of(alert, id));
    }

    /// A committed alert: true if it repeats one raised early (which is then confirmed and must
    /// not be raised again), false if it is new.
    pub fn confirms(&mut self, committed: &Alert) -> bool {
        match self.early.iter().position(|e| e.same_claim(committed)) {
            Some(i) => {
                self.early.remove(i);
                true
            }
            None => false,
        }
    }

    /// Early alerts that commits reaching `committed_s` did not repeat (within
    /// [`CONFIRM_WITHIN_S`] of it; `f64::INFINITY` at the end of the stream).
    pub fn unconfirmed(&mut self, committed_s: f64) -> Vec<EarlyAlert> {
        let (expired, kept) = std::mem::take(&mut self.early)
            .into_iter()
            .partition(|e| e.end_s < committed_s - CONFIRM_WITHIN_S);
        self.early = kept;
        expired
    }

    /// Remembers an alert as sent, for [`Self::recent`]; forgets those long before it.
    pub fn sent(&mut self, alert: &Alert) {
        let said_s = alert.start_s.unwrap_or(0.0);
        self.raised
            .retain(|a| a.end_s.unwrap_or(0.0) > said_s - KEEP_RAISED_S);
        self.raised.push(alert.clone());
    }

    /// Alerts sent in about the last minute of stream time: what a second listen must not raise
    /// again.
    pub fn recent(&self) -> &[Alert] {
        &self.raised
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(category: Category, start_s: f64, end_s: f64) -> Alert {
        crate::detect::alert::example_alert(category, start_s, end_s)
    }

    #[test]
    fn early_and_committed_alerts_of_one_claim() {
        let early = EarlyAlert::of(&alert(Category::Efficacy, 10.0, 11.0), "s-1".into());
        // (name, committed alert, same claim?)
        let cases = [
            ("same times", alert(Category::Efficacy, 10.0, 11.0), true),
            (
                "times a little apart",
                alert(Category::Efficacy, 10.4, 11.6),
                true,
            ),
            (
                "just within the slack",
                alert(Category::Efficacy, 11.9, 12.5),
                true,
            ),
            ("later claim", alert(Category::Efficacy, 12.5, 13.0), false),
            ("earlier claim", alert(Category::Efficacy, 7.0, 8.5), false),
            (
                "other category",
                alert(Category::Exaggeration, 10.0, 11.0),
                false,
            ),
        ];
        for (name, committed, want) in cases {
            assert_eq!(early.same_claim(&committed), want, "{name}");
        }
    }

    #[test]
    fn a_commit_confirms_an_early_alert_once_and_the_rest_expire() {
        let mut r = Reconciler::default();
        r.raised_early(&alert(Category::Efficacy, 10.0, 11.0), "s-1".into());
        r.raised_early(&alert(Category::Pricing, 20.0, 21.0), "s-2".into());
        assert!(r.already_early(&alert(Category::Efficacy, 10.2, 11.1)));
        assert!(r.confirms(&alert(Category::Efficacy, 10.2, 11.1)));
        // Confirmed once: the same claim committed again is new.
        assert!(!r.confirms(&alert(Category::Efficacy, 10.2, 11.1)));
        // (commits reached, unconfirmed ids)
        let cases: [(f64, &[&str]); 3] = [(30.0, &[]), (36.5, &["s-2"]), (f64::INFINITY, &[])];
        for (reached, want) in cases {
            let ids: Vec<String> = r.unconfirmed(reached).into_iter().map(|e| e.id).collect();
            assert_eq!(ids, want, "{reached}");
        }
    }

    #[test]
    fn recent_alerts_cover_about_a_minute() {
        let mut r = Reconciler::default();
        r.sent(&alert(Category::Efficacy, 5.0, 6.0));
        r.sent(&alert(Category::Pricing, 50.0, 51.0));
        assert_eq!(r.recent().len(), 2);
        r.sent(&alert(Category::OriginClaim, 70.0, 71.0));
        let kept: Vec<Category> = r.recent().iter().map(|a| a.category).collect();
        assert_eq!(kept, [Category::Pricing, Category::OriginClaim]);
    }
}
