//! The review workflow's rules (pure): an operator's decision on an alert in, the `review` event
//! body to log or the reason it is refused out.
//!
//! States: `new` (never reviewed) → `acknowledged` (someone is looking at it) → `confirmed`,
//! `dismissed` or `escalated` (decided). The rules ([`check_transition`]):
//!
//! | from \ to | acknowledged | confirmed / dismissed / escalated | new |
//! |---|---|---|---|
//! | new | yes | yes | no |
//! | acknowledged | no (already taken up) | yes | no |
//! | confirmed / dismissed / escalated | no (decide again instead) | yes, the same one too | no |
//!
//! Why: every decision is logged, so deciding again loses nothing (a second reviewer may confirm
//! a confirmed alert with their own note, or legal may dismiss an escalated one). What is refused
//! is what would make the history read wrong: un-reviewing an alert (back to `new`), and going
//! from a decision back to "being looked at". Acknowledging twice is refused so that the second
//! of two operators taking up the same alert learns that someone already has it. A client may
//! also send the state it last saw (`from`): when the alert has moved since, the decision is
//! refused instead of silently overriding a colleague's.
//!
//! The current state of an alert is its last `review` event; replaying the log rebuilds it.

use serde::{Deserialize, Serialize};

/// Longest note, in characters (a note is a reviewer's reason, not a report).
pub const NOTE_MAX_CHARS: usize = 2000;

/// Where an alert is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    New,
    Acknowledged,
    Confirmed,
    Dismissed,
    Escalated,
}

impl ReviewState {
    pub const ALL: [ReviewState; 5] = [
        ReviewState::New,
        ReviewState::Acknowledged,
        ReviewState::Confirmed,
        ReviewState::Dismissed,
        ReviewState::Escalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::New => "new",
            ReviewState::Acknowledged => "acknowledged",
            ReviewState::Confirmed => "confirmed",
            ReviewState::Dismissed => "dismissed",
            ReviewState::Escalated => "escalated",
        }
    }

    /// The state named `name`, or the message for the user.
    pub fn parse(name: &str) -> Result<ReviewState, String> {
        ReviewState::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = ReviewState::ALL.iter().map(|s| s.as_str()).collect();
                format!(
                    "unknown review state {name:?} (known: {})",
                    known.join(", ")
                )
            })
    }

    /// A comma-separated list of states (a query filter such as `new,acknowledged`).
    pub fn parse_list(text: &str) -> Result<Vec<ReviewState>, String> {
        let mut states = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let state = ReviewState::parse(name)?;
            if !states.contains(&state) {
                states.push(state);
            }
        }
        Ok(states)
    }

    fn is_decision(self) -> bool {
        matches!(
            self,
            ReviewState::Confirmed | ReviewState::Dismissed | ReviewState::Escalated
        )
    }
}

/// The body of a `review` event: one decision on one alert. The event's `stream` is the alert's
/// stream and its `at` is when the decision was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// The alert's id (`STREAM-EVENTID`).
    pub alert_id: String,
    /// The alert's event id, so a replay need not parse `alert_id`.
    pub alert_event_id: u64,
    /// The state before this decision.
    pub from: ReviewState,
    pub state: ReviewState,
    /// The operator's name (`local` without tokens, `operator` for an unnamed token).
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An alert's review as `GET /alerts` shows it: its last decision, or `new` with nulls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentReview {
    pub state: ReviewState,
    pub by: Option<String>,
    /// When the last decision was recorded (RFC 3339).
    pub at: Option<String>,
    pub note: Option<String>,
    /// The `review` event that made this state (to line it up with SSE).
    pub event_id: Option<u64>,
}

impl CurrentReview {
    pub const NEW: CurrentReview = CurrentReview {
        state: ReviewState::New,
        by: None,
        at: None,
        note: None,
        event_id: None,
    };
}

/// Why a decision was refused: the request itself is wrong (400), or it does not fit the
/// alert's current state (409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Bad(String),
    #[error("{0}")]
    Conflict(String),
}

/// Checks a note: `None` and `""` mean no note; at most [`NOTE_MAX_CHARS`] characters.
pub fn check_note(note: Option<String>) -> Result<Option<String>, Refusal> {
    match note {
        None => Ok(None),
        Some(n) if n.trim().is_empty() => Ok(None),
        Some(n) if n.chars().count() > NOTE_MAX_CHARS => Err(Refusal::Bad(format!(
            "note of {} characters: at most {NOTE_MAX_CHARS}",
            n.chars().count()
        ))),
        Some(n) => Ok(Some(n)),
    }
}

/// Whether an alert whose review is `current` may move to `to`; `expected` is the state the
/// client last saw, when it says (see the module docs).
pub fn check_transition(
    current: &CurrentReview,
    expected: Option<ReviewState>,
    to: ReviewState,
) -> Result<(), Refusal> {
    let from = current.state;
    let by = || {
        current
            .by
            .as_deref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default()
    };
    if let Some(expected) = expected.filter(|&e| e != from) {
        return Err(Refusal::Conflict(format!(
            "the alert is {}{} now, not {}: reload it and decide again",
            from.as_str(),
            by(),
            expected.as_str()
        )));
    }
    match (from, to) {
        (_, ReviewState::New) => Err(Refusal::Conflict(
            "an alert never goes back to new: its reviews are kept; decide again instead".into(),
        )),
        (ReviewState::Acknowledged, ReviewState::Acknowledged) => Err(Refusal::Conflict(format!(
            "the alert is already acknowledged{}",
            by()
        ))),
        (decided, ReviewState::Acknowledged) if decided.is_decision() => {
            Err(Refusal::Conflict(format!(
                "the alert is already {}{}: acknowledging is for new alerts; decide again instead",
                decided.as_str(),
                by()
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewState::*;

    fn current(state: ReviewState) -> CurrentReview {
        CurrentReview {
            state,
            by: (state != New).then(|| "alice".to_string()),
            ..CurrentReview::NEW
        }
    }

    #[test]
    fn transitions() {
        // (from, to, allowed)
        let cases = [
            (New, New, false),
            (New, Acknowledged, true),
            (New, Confirmed, true),
            (New, Dismissed, true),
            (New, Escalated, true),
            (Acknowledged, New, false),
            (Acknowledged, Acknowledged, false),
            (Acknowledged, Confirmed, true),
            (Acknowledged, Dismissed, true),
            (Acknowledged, Escalated, true),
            (Confirmed, New, false),
            (Confirmed, Acknowledged, false),
            (Confirmed, Confirmed, true),
            (Confirmed, Dismissed, true),
            (Confirmed, Escalated, true),
            (Dismissed, Acknowledged, false),
            (Dismissed, Confirmed, true),
            (Dismissed, Dismissed, true),
            (Escalated, New, false),
            (Escalated, Acknowledged, false),
            (Escalated, Confirmed, true),
            (Escalated, Dismissed, true),
            (Escalated, Escalated, true),
        ];
        for (from, to, allowed) in cases {
            let got = check_transition(&current(from), None, to);
            match (allowed, got) {
                (true, Ok(())) => {}
                (false, Err(Refusal::Conflict(message))) => {
                    assert!(!message.is_empty(), "{from:?} → {to:?}")
                }
                (_, got) => panic!("{from:?} → {to:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn the_state_a_client_saw_must_still_hold() {
        // (current, expected, to, allowed, words in the refusal)
        let cases = [
            (New, Some(New), Confirmed, true, ""),
            (Confirmed, Some(Confirmed), Dismissed, true, ""),
            (
                Confirmed,
                Some(New),
                Dismissed,
                false,
                "is confirmed by alice now, not new",
            ),
            (
                Acknowledged,
                Some(New),
                Acknowledged,
                false,
                "acknowledged by alice now, not new",
            ),
        ];
        for (from, expected, to, allowed, words) in cases {
            let got = check_transition(&current(from), expected, to);
            assert_eq!(
                got.is_ok(),
                allowed,
                "{from:?} {expected:?} {to:?}: {got:?}"
            );
            if let Err(refusal) = got {
                assert!(matches!(refusal, Refusal::Conflict(_)));
                assert!(refusal.to_string().contains(words), "{refusal}");
            }
        }
    }

    #[test]
    fn state_names_and_lists() {
        // (text, states or error words)
        let cases: [(&str, Result<Vec<ReviewState>, &str>); 6] = [
            ("new", Ok(vec![New])),
            ("new,acknowledged", Ok(vec![New, Acknowledged])),
            (" confirmed , confirmed ", Ok(vec![Confirmed])),
            ("", Ok(vec![])),
            ("Confirmed", Err("unknown review state \"Confirmed\"")),
            ("new,closed", Err("known: new, acknowledged, confirmed")),
        ];
        for (text, want) in cases {
            match (ReviewState::parse_list(text), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text:?}"),
                (Err(got), Err(words)) => assert!(got.contains(words), "{text:?}: {got}"),
                (got, want) => panic!("{text:?}: {got:?}, want {want:?}"),
            }
        }
        for state in ReviewState::ALL {
            assert_eq!(ReviewState::parse(state.as_str()), Ok(state));
            let json = serde_json::to_value(state).unwrap();
            assert_eq!(json, state.as_str());
        }
    }

    #[test]
    fn notes() {
        let long = "あ".repeat(NOTE_MAX_CHARS);
        // (note, accepted as)
        type Case = (Option<String>, Result<Option<String>, ()>);
        let cases: [Case; 5] = [
            (None, Ok(None)),
            (Some(String::new()), Ok(None)),
            (Some("  \n".into()), Ok(None)),
            (Some(long.clone()), Ok(Some(long.clone()))),
            (Some(format!("{long}x")), Err(())),
        ];
        for (note, want) in cases {
            let got = check_note(note.clone()).map_err(|e| {
                assert!(matches!(e, Refusal::Bad(_)), "{e:?}");
                assert!(e.to_string().contains("at most 2000"), "{e}");
            });
            assert_eq!(got, want, "{:?}", note.map(|n| n.chars().count()));
        }
    }
}
