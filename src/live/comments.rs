//! A live stream's chat: batches of comments in (from `POST /streams/{id}/comments` or the
//! stream's comment feed) → each comment recorded once on the [event bus](crate::events),
//! checked, and its alerts published — or folded into the alert its user already has for that
//! category (an `escalation` event), so that a user posting ten insults raises one alert that
//! says ten.
//!
//! Viewer comments go through the comment packs ([`CommentDetector`]); the seller's own text
//! (`from_seller`) through the claims packs too, with the stream's declared origin at that
//! moment. A comment whose id the bus already holds for this stream is counted as a repeat and
//! not checked again, so a platform may re-send a batch it is unsure about.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::comments::escalate::{Escalator, Offer, WINDOW};
use crate::comments::{check_seller, Comment, CommentDetector};
use crate::detect::{Detector, Lang};
use crate::events::{BusError, ChatComment, Escalation as Escalated, EventBody, EventBus};
use crate::live::runner::StreamShared;

/// Comments in one batch, at most.
pub const MAX_BATCH: usize = 1000;
/// Bytes of a comment's text, at most (chat limits are far lower; a longer one is not chat).
pub const MAX_TEXT_BYTES: usize = 4096;
/// Bytes of a comment id or user, at most.
pub const MAX_ID_BYTES: usize = 256;

/// What became of a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Taken {
    /// Comments recorded now.
    pub accepted: usize,
    /// Comments whose id this stream already had: not recorded or checked again.
    pub repeated: usize,
    /// Ids of the alerts raised.
    pub alerts: Vec<String>,
    /// Ids of earlier alerts that later comments joined.
    pub escalated: Vec<String>,
}

/// One stream's chat desk; shared by the HTTP handler and the stream's feed thread.
pub struct CommentDesk {
    stream: String,
    /// The stream's language, or `None` for `auto` (each comment's own script decides).
    lang: Option<Lang>,
    bus: Arc<dyn EventBus>,
    comments: CommentDetector,
    claims: Detector,
    /// The stream's figures: its declared origin now, its alert counts.
    shared: Arc<StreamShared>,
    escalation: Mutex<Escalation>,
}

/// The escalator and what it cannot know: the id the bus gave each alert it opened a group
/// with. An alert is offered under a provisional id (the bus names it only when published).
struct Escalation {
    escalator: Escalator,
    /// Provisional id → (alert id, event id) of the alerts published.
    published: HashMap<String, (String, u64)>,
    next: u64,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CommentDesk>();
};

impl CommentDesk {
    pub fn new(
        stream: &str,
        lang: Option<Lang>,
        bus: Arc<dyn EventBus>,
        comments: CommentDetector,
        claims: Detector,
        shared: Arc<StreamShared>,
    ) -> CommentDesk {
        CommentDesk {
            stream: stream.to_string(),
            lang,
            bus,
            comments,
            claims,
            shared,
            escalation: Mutex::new(Escalation {
                escalator: Escalator::new(WINDOW),
                published: HashMap::new(),
                next: 0,
            }),
        }
    }

    /// Records, checks and alerts on `batch` (already [`check_batch`]ed), in order, the
    /// seller's text against the stream's declared origin now. Everything recorded is durable
    /// when this returns `Ok`. On a bus error, what was recorded before it stays recorded (a
    /// re-sent batch skips it).
    pub fn take(&self, batch: Vec<Comment>) -> Result<Taken, BusError> {
        let mut taken = Taken::default();
        let origin = self.shared.snapshot().origin;
        let origin = origin.as_deref();
        // One desk per stream and one lock: alerts and escalations of a stream keep the order
        // of its comments.
        let mut escalation = self.escalation.lock().unwrap_or_else(|p| p.into_inner());
        let escalation = &mut *escalation;
        // Groups past their window are closed for good: forget them and the ids behind them
        // (also those of groups a later alert replaced).
        if !escalation.escalator.prune(SystemTime::now()).is_empty()
            || escalation.published.len() > escalation.escalator.len()
        {
            let open: std::collections::HashSet<&str> = escalation.escalator.open_ids().collect();
            escalation
                .published
                .retain(|provisional, _| open.contains(provisional.as_str()));
        }
        for comment in batch {
            let stored = ChatComment {
                id: comment.id.clone(),
                user: comment.user.clone(),
                text: comment.text.clone(),
                posted_at: comment.at.clone(),
                from_seller: comment.from_seller,
            };
            if self.bus.publish_comment(&self.stream, stored)?.is_none() {
                taken.repeated += 1;
                continue;
            }
            taken.accepted += 1;
            let mut alerts = self.comments.check(&comment, self.lang);
            if comment.from_seller {
                alerts.extend(check_seller(&self.claims, &comment, self.lang, origin));
            }
            for mut alert in alerts {
                escalation.next += 1;
                let provisional = format!("pending-{}", escalation.next);
                alert.id = provisional.clone();
                // Taken in now: the window runs on claimwatch's clock, not the platform's.
                match escalation.escalator.offer(alert, SystemTime::now()) {
                    Offer::New(alert) => {
                        let event = self.bus.publish(&self.stream, EventBody::Alert(alert))?;
                        if let Some(alert) = event.alert() {
                            self.shared.count_alert(alert.category.as_str());
                            escalation
                                .published
                                .insert(provisional, (alert.id.clone(), event.id));
                            taken.alerts.push(alert.id.clone());
                        }
                    }
                    Offer::Joined {
                        first_alert_id,
                        count,
                        severity,
                    } => {
                        let Some((alert_id, event_id)) =
                            escalation.published.get(&first_alert_id).cloned()
                        else {
                            continue;
                        };
                        let body = EventBody::Escalation(Escalated {
                            alert_id: alert_id.clone(),
                            alert_event_id: event_id,
                            count,
                            severity,
                            comment_id: comment.id.clone(),
                            user: comment.user.clone(),
                        });
                        self.bus.publish(&self.stream, body)?;
                        if !taken.escalated.contains(&alert_id) {
                            taken.escalated.push(alert_id);
                        }
                    }
                }
            }
        }
        self.bus.sync()?;
        Ok(taken)
    }
}

/// Whether a batch may be taken at all: 1 to [`MAX_BATCH`] comments, each with an id and a
/// user of 1 to [`MAX_ID_BYTES`] bytes without control characters, and a text of at most
/// [`MAX_TEXT_BYTES`]. `Err` names the first bad comment by its position (from 0).
pub fn check_batch(batch: &[Comment]) -> Result<(), String> {
    if batch.is_empty() {
        return Err("no comments: send a JSON array of {\"id\", \"user\", \"text\"}".into());
    }
    if batch.len() > MAX_BATCH {
        return Err(format!(
            "{} comments in one batch: send at most {MAX_BATCH}",
            batch.len()
        ));
    }
    let plain = |s: &str| (1..=MAX_ID_BYTES).contains(&s.len()) && !s.chars().any(char::is_control);
    for (i, c) in batch.iter().enumerate() {
        if !plain(&c.id) {
            return Err(format!(
                "comment {i}: id {:?}: use 1 to {MAX_ID_BYTES} bytes without control characters",
                c.id
            ));
        }
        if !plain(&c.user) {
            return Err(format!(
                "comment {i} ({}): user {:?}: use 1 to {MAX_ID_BYTES} bytes without control characters",
                c.id, c.user
            ));
        }
        if c.text.len() > MAX_TEXT_BYTES {
            return Err(format!(
                "comment {i} ({}): text of {} bytes: at most {MAX_TEXT_BYTES}",
                c.id,
                c.text.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(id: &str, user: &str, text: &str) -> Comment {
        Comment {
            id: id.into(),
            user: user.into(),
            text: text.into(),
            at: None,
            from_seller: false,
        }
    }

    #[test]
    fn batches_that_are_refused() {
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        let many: Vec<Comment> = (0..=MAX_BATCH)
            .map(|i| comment(&i.to_string(), "u", "hi"))
            .collect();
        // (batch, error contains; None = accepted)
        let cases: Vec<(Vec<Comment>, Option<&str>)> = vec![
            (vec![comment("1", "u", "hi")], None),
            (vec![comment("1", "u", "")], None),
            (vec![], Some("no comments")),
            (many, Some("at most 1000")),
            (vec![comment("", "u", "hi")], Some("comment 0: id")),
            (
                vec![comment("1", "u", "hi"), comment("2", "", "hi")],
                Some("comment 1 (2): user"),
            ),
            (vec![comment("a\nb", "u", "hi")], Some("control")),
            (vec![comment("1", "u", &long)], Some("text of 4097 bytes")),
        ];
        for (batch, expected) in cases {
            let got = check_batch(&batch);
            match expected {
                None => assert!(got.is_ok(), "{got:?}"),
                Some(part) => {
                    let err = got.expect_err(part);
                    assert!(err.contains(part), "{err:?} lacks {part:?}");
                }
            }
        }
    }
}
