//! How an event is laid out in the JetStream stream (pure).
//!
//! Input: `(stream, at, body)` to publish, or a stored message's sequence and payload. Output:
//! the subject and payload to publish, or the [`Event`] it was.
//!
//! Subjects are `claimwatch.events.<stream>.<type>`; a review goes to
//! `claimwatch.events.<stream>.review.<alert event id>`, one subject per alert, so that
//! JetStream's expected-last-subject-sequence orders the decisions on one alert. Stream ids are
//! `A-Z a-z 0-9 - _` ([`check_stream_id`](crate::events::check_stream_id)): safe as a token.
//!
//! The payload is the log line ([`Event::to_log_line`]) with id 0: the id is the JetStream
//! sequence, known only once the server stored the message, so it is put back (and an alert's
//! `STREAM-EVENTID` id with it) on the way out.

use crate::events::event::{alert_id, Event, EventBody, EventKind};

/// Every claimwatch subject starts with this (the stream's subjects are `PREFIX.>`).
pub const PREFIX: &str = "claimwatch.events";

/// The subject `body` of `stream` is published to.
pub fn subject(stream: &str, body: &EventBody) -> String {
    match body {
        EventBody::Review(r) => review_subject(stream, r.alert_event_id),
        _ => format!("{PREFIX}.{stream}.{}", body.kind().as_str()),
    }
}

/// The subject holding the decisions on the alert `alert_event_id` of `stream`.
pub fn review_subject(stream: &str, alert_event_id: u64) -> String {
    format!(
        "{PREFIX}.{stream}.{}.{alert_event_id}",
        EventKind::Review.as_str()
    )
}

/// The filter subject of a subscription: one stream's events, or all.
pub fn filter(stream: Option<&str>) -> String {
    match stream {
        Some(stream) => format!("{PREFIX}.{stream}.>"),
        None => format!("{PREFIX}.>"),
    }
}

/// The filter subject of a durable consumer of `kinds`: one subject per kind would need the
/// server 2.10+ `filter_subjects`, so several kinds (or reviews, whose subjects are one token
/// longer) take every event and the consumer skips the others ([`kind_of`]).
pub fn kinds_filter(kinds: &[EventKind]) -> String {
    match kinds {
        [kind] if *kind != EventKind::Review => format!("{PREFIX}.*.{}", kind.as_str()),
        _ => filter(None),
    }
}

/// The event type a subject carries (`claimwatch.events.<stream>.<type>[.…]`), read without
/// decoding the payload; `None` for a subject that is not claimwatch's.
pub fn kind_of(subject: &str) -> Option<&str> {
    let rest = subject.strip_prefix(PREFIX)?.strip_prefix('.')?;
    let mut tokens = rest.split('.');
    let _stream = tokens.next()?;
    tokens.next().filter(|kind| !kind.is_empty())
}

/// The payload of `body` published by `stream` at `at`.
pub fn encode(stream: &str, at: &str, body: &EventBody) -> String {
    Event {
        id: 0,
        stream: stream.to_string(),
        at: at.to_string(),
        body: body.clone(),
    }
    .to_log_line()
}

/// The event stored at `sequence` with `payload`.
pub fn decode(sequence: u64, payload: &[u8]) -> Result<Event, String> {
    let text = std::str::from_utf8(payload).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut event = Event::from_log_line(text).map_err(|e| e.to_string())?;
    event.id = sequence;
    if let EventBody::Alert(alert) = &mut event.body {
        alert.id = alert_id(&event.stream, sequence);
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::event::tests::sample_alert;
    use crate::events::review::{Review, ReviewState};
    use crate::transcribe::Segment;

    #[test]
    fn subjects() {
        let review = EventBody::Review(Review {
            alert_id: "shop-1-7".into(),
            alert_event_id: 7,
            from: ReviewState::New,
            state: ReviewState::Confirmed,
            by: "alice".into(),
            note: None,
        });
        // (stream, body, subject)
        let cases = [
            (
                "shop-1",
                EventBody::Alert(sample_alert()),
                "claimwatch.events.shop-1.alert",
            ),
            (
                "s_2",
                EventBody::Transcript(Segment::new(0.0, 1.0, "x")),
                "claimwatch.events.s_2.transcript",
            ),
            ("shop-1", review, "claimwatch.events.shop-1.review.7"),
        ];
        for (stream, body, want) in cases {
            assert_eq!(subject(stream, &body), want);
            // Every subject is under its stream's filter and the catch-all.
            assert!(want.starts_with(filter(Some(stream)).trim_end_matches('>')));
            assert!(want.starts_with(filter(None).trim_end_matches('>')));
        }
    }

    #[test]
    fn durable_filters_and_the_kind_of_a_subject() {
        use EventKind::*;
        // (kinds, filter)
        let filters: [(&[EventKind], &str); 4] = [
            (&[Alert], "claimwatch.events.*.alert"),
            (&[Alert, Escalation], "claimwatch.events.>"),
            (&[Review], "claimwatch.events.>"),
            (&[], "claimwatch.events.>"),
        ];
        for (kinds, want) in filters {
            assert_eq!(kinds_filter(kinds), want, "{kinds:?}");
        }
        // (subject, kind)
        let subjects = [
            ("claimwatch.events.shop-1.alert", Some("alert")),
            ("claimwatch.events.s_2.escalation", Some("escalation")),
            ("claimwatch.events.shop-1.review.7", Some("review")),
            ("claimwatch.events.shop-1", None),
            ("claimwatch.events.shop-1.", None),
            ("claimwatch.eventsx.shop-1.alert", None),
            ("other.events.shop-1.alert", None),
        ];
        for (subject, want) in subjects {
            assert_eq!(kind_of(subject), want, "{subject}");
        }
    }

    #[test]
    fn the_sequence_becomes_the_event_and_alert_id() {
        let payload = encode(
            "shop-1",
            "2026-11-29T04:00:00.000Z",
            &EventBody::Alert(sample_alert()),
        );
        let event = decode(42, payload.as_bytes()).unwrap();
        assert_eq!(event.id, 42);
        assert_eq!(event.stream, "shop-1");
        assert_eq!(event.at, "2026-11-29T04:00:00.000Z");
        assert_eq!(event.alert().unwrap().id, "shop-1-42");
        for bad in [&b"\xff"[..], b"{}", b""] {
            assert!(decode(1, bad).is_err(), "{bad:?}");
        }
    }
}
