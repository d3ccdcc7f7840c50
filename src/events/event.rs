//! Event types shared by the hub, the log, SSE, the JSON endpoints and the webhook (pure).
//!
//! Two encodings of one [`Event`]:
//! - the wire object ([`Event::wire_json`]): the body's own fields (an alert is the same JSON as
//!   `claimwatch detect --format json`) plus `type`, `stream`, `at` and `event_id`. `event_id`
//!   rather than `id` because an alert already has an `id` field (`STREAM-EVENTID` on the bus,
//!   see [`alert_id`]).
//! - the log line ([`Event::to_log_line`]): `{"id", "stream", "at", "type", "body"}`; the body is
//!   nested so that no body field can ever collide with the envelope.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::detect::Alert;
use crate::events::review::Review;
use crate::events::round;
use crate::transcribe::Segment;

/// One published event. `id` is strictly increasing across the life of a data directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: u64,
    pub stream: String,
    /// Wall-clock publication time, RFC 3339 UTC.
    pub at: String,
    pub body: EventBody,
}

/// What happened. Alert and transcript times are stream time (seconds since the stream began).
// The alert grew past the other bodies when it gained the comment reference (issue 17); events
// are built once and moved into the bus, so boxing it would change every producer for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    Alert(Alert),
    Transcript(Segment),
    Status(StreamStatus),
    Health(StreamHealth),
    /// An operator's decision on an alert of the event's stream (see [`review`](super::review)).
    Review(Review),
}

/// A broadcast's health changed: a condition (silence, source down, …) started or cleared. Sent
/// once per change, not per chunk of audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamHealth {
    pub condition: HealthCondition,
    /// True when the condition starts, false when it clears.
    pub active: bool,
    /// Stream time of the change.
    pub stream_s: f64,
    /// What was measured: seconds of silence, seconds dropped, share of samples clipped, lag.
    pub value: f64,
    pub message: String,
}

/// The conditions a stream's health is watched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthCondition {
    /// No sound above the silence threshold for a while, with the source up.
    Silence,
    /// The source is down or reconnecting.
    SourceDown,
    /// The lag bound threw audio away.
    DroppedAudio,
    /// Samples at full scale.
    Clipping,
    /// The transcript lags the audio by more than the stream's threshold.
    Behind,
}

impl HealthCondition {
    pub const ALL: [HealthCondition; 5] = [
        HealthCondition::Silence,
        HealthCondition::SourceDown,
        HealthCondition::DroppedAudio,
        HealthCondition::Clipping,
        HealthCondition::Behind,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HealthCondition::Silence => "silence",
            HealthCondition::SourceDown => "source_down",
            HealthCondition::DroppedAudio => "dropped_audio",
            HealthCondition::Clipping => "clipping",
            HealthCondition::Behind => "behind",
        }
    }
}

/// A stream's health at one moment (sent on state changes and periodically by the pipeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamStatus {
    pub state: SourceState,
    pub stream_s: f64,
    pub lag_s: f64,
    pub rtf: f64,
    pub dropped_s: f64,
    /// Stream time lost to an outage, on the status that reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a source is in its life.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    Starting,
    Up,
    Down,
    Ended,
}

impl SourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Starting => "starting",
            SourceState::Up => "up",
            SourceState::Down => "down",
            SourceState::Ended => "ended",
        }
    }
}

/// The event types, as named in SSE `event:` lines and the log's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Alert,
    Transcript,
    Status,
    Health,
    Review,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Alert => "alert",
            EventKind::Transcript => "transcript",
            EventKind::Status => "status",
            EventKind::Health => "health",
            EventKind::Review => "review",
        }
    }

    /// Whether the log fsyncs this kind before the append returns: a client was or will be told
    /// it happened (an alert it may have acted on, a review it was answered 201 for).
    pub fn is_durable(self) -> bool {
        matches!(self, EventKind::Alert | EventKind::Review)
    }
}

impl EventBody {
    pub fn kind(&self) -> EventKind {
        match self {
            EventBody::Alert(_) => EventKind::Alert,
            EventBody::Transcript(_) => EventKind::Transcript,
            EventBody::Status(_) => EventKind::Status,
            EventBody::Health(_) => EventKind::Health,
            EventBody::Review(_) => EventKind::Review,
        }
    }

    /// The first number that JSON cannot carry (infinity, NaN), named; serde_json would write it
    /// as `null`, and the log line could then not be read back.
    pub fn non_finite(&self) -> Option<&'static str> {
        let numbers: Vec<(&'static str, f64)> = match self {
            EventBody::Alert(a) => [("start_s", a.start_s), ("end_s", a.end_s)]
                .into_iter()
                .filter_map(|(name, v)| v.map(|v| (name, v)))
                .collect(),
            EventBody::Transcript(s) => vec![("start_s", s.start_s), ("end_s", s.end_s)],
            EventBody::Status(s) => [
                ("stream_s", s.stream_s),
                ("lag_s", s.lag_s),
                ("rtf", s.rtf),
                ("dropped_s", s.dropped_s),
            ]
            .into_iter()
            .chain(s.gap_s.map(|g| ("gap_s", g)))
            .collect(),
            EventBody::Health(h) => vec![("stream_s", h.stream_s), ("value", h.value)],
            EventBody::Review(_) => Vec::new(),
        };
        numbers
            .into_iter()
            .find(|(_, v)| !v.is_finite())
            .map(|(name, _)| name)
    }

    /// The body alone as a JSON object, numbers rounded to milliseconds ([`round`]).
    fn to_value(&self) -> Value {
        let value = match self {
            EventBody::Alert(a) => round::to_rounded_json(a),
            EventBody::Transcript(s) => round::to_rounded_json(s),
            EventBody::Status(s) => round::to_rounded_json(s),
            EventBody::Health(h) => round::to_rounded_json(h),
            EventBody::Review(r) => round::to_rounded_json(r),
        };
        // These types are plain structs of strings, numbers and options: serializing cannot fail.
        value.unwrap_or(Value::Null)
    }

    fn from_value(kind: EventKind, value: Value) -> serde_json::Result<EventBody> {
        Ok(match kind {
            EventKind::Alert => EventBody::Alert(serde_json::from_value(value)?),
            EventKind::Transcript => EventBody::Transcript(serde_json::from_value(value)?),
            EventKind::Status => EventBody::Status(serde_json::from_value(value)?),
            EventKind::Health => EventBody::Health(serde_json::from_value(value)?),
            EventKind::Review => EventBody::Review(serde_json::from_value(value)?),
        })
    }
}

/// The id the bus gives the alert published as event `event_id` of `stream`: unique across
/// streams and restarts because event ids are, and readable without the envelope (a webhook
/// consumer or a spreadsheet of alerts sees which stream it came from).
pub fn alert_id(stream: &str, event_id: u64) -> String {
    format!("{stream}-{event_id}")
}

/// The log's line layout.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogLine {
    id: u64,
    stream: String,
    at: String,
    #[serde(rename = "type")]
    kind: EventKind,
    body: Value,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    pub fn alert(&self) -> Option<&Alert> {
        match &self.body {
            EventBody::Alert(a) => Some(a),
            _ => None,
        }
    }

    /// The object sent as SSE `data:`, in JSON arrays and to the webhook.
    pub fn wire_json(&self) -> Value {
        let mut map = match self.body.to_value() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        map.insert("type".into(), self.kind().as_str().into());
        map.insert("stream".into(), self.stream.clone().into());
        map.insert("at".into(), self.at.clone().into());
        map.insert("event_id".into(), self.id.into());
        Value::Object(map)
    }

    /// One line of `events.jsonl`, without the newline.
    pub fn to_log_line(&self) -> String {
        let line = LogLine {
            id: self.id,
            stream: self.stream.clone(),
            at: self.at.clone(),
            kind: self.kind(),
            body: self.body.to_value(),
        };
        serde_json::to_string(&line).unwrap_or_default()
    }

    /// Parses a line written by [`Event::to_log_line`].
    pub fn from_log_line(line: &str) -> serde_json::Result<Event> {
        let line: LogLine = serde_json::from_str(line)?;
        Ok(Event {
            id: line.id,
            stream: line.stream,
            at: line.at,
            body: EventBody::from_value(line.kind, line.body)?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::detect::{Category, Lang, Severity};
    use crate::events::review::ReviewState;

    pub(crate) fn sample_alert() -> Alert {
        Alert {
            id: "a1".into(),
            category: Category::FalseOrigin,
            rule: "ja_origin_made_in".into(),
            severity: Severity::Critical,
            lang: Lang::Ja,
            text: "日本製".into(),
            context: "これは日本製です".into(),
            start_s: Some(11.08),
            end_s: Some(12.5),
            legal_basis: "景品表示法".into(),
            explanation: "x".into(),
            suggestion: "y".into(),
            declared_origin: Some("CN".into()),
            spoken_origin: Some("JP".into()),
            second_listen: false,
            said_at: None,
            source: crate::detect::AlertSource::Speech,
            comment: None,
        }
    }

    fn events() -> Vec<Event> {
        let status = StreamStatus {
            state: SourceState::Down,
            stream_s: 30.0,
            lag_s: 1.5,
            rtf: 2.0,
            dropped_s: 0.0,
            gap_s: Some(4.0),
            message: Some("connection reset".into()),
        };
        [
            EventBody::Alert(sample_alert()),
            EventBody::Transcript(Segment::new(0.5, 2.0, "みなさん\"こんばんは\"\n")),
            EventBody::Status(status),
            EventBody::Review(Review {
                alert_id: "shop-1-7".into(),
                alert_event_id: 7,
                from: ReviewState::New,
                state: ReviewState::Confirmed,
                by: "alice".into(),
                note: Some("産地\"表示\"違反\n".into()),
            }),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, body)| Event {
            id: i as u64 + 7,
            stream: "shop-1".into(),
            at: "2026-11-27T03:26:24.123Z".into(),
            body,
        })
        .collect()
    }

    #[test]
    fn log_lines_round_trip_every_kind() {
        for event in events() {
            let line = event.to_log_line();
            assert!(!line.contains('\n'), "{line}");
            assert_eq!(Event::from_log_line(&line).unwrap(), event, "{line}");
        }
    }

    #[test]
    fn wire_json_is_the_body_plus_envelope() {
        let [alert, transcript, status, review]: [Event; 4] = events().try_into().unwrap();
        let a = alert.wire_json();
        let r = review.wire_json();
        // (field, expected)
        let cases: [(&Value, &str, Value); 13] = [
            (&r, "type", "review".into()),
            (&r, "alert_id", "shop-1-7".into()),
            (&r, "from", "new".into()),
            (&r, "state", "confirmed".into()),
            (&r, "by", "alice".into()),
            (&a, "id", "a1".into()),
            (&a, "event_id", 7.into()),
            (&a, "type", "alert".into()),
            (&a, "stream", "shop-1".into()),
            (&a, "category", "false_origin".into()),
            (&a, "start_s", 11.08.into()),
            (
                &transcript.wire_json(),
                "text",
                "みなさん\"こんばんは\"\n".into(),
            ),
            (&status.wire_json(), "state", "down".into()),
        ];
        for (object, field, want) in cases {
            assert_eq!(object[field], want, "{field} in {object}");
        }
        assert!(status.wire_json().get("gap_s").is_some());
    }

    #[test]
    fn bad_log_lines_are_errors() {
        for line in [
            "",
            "{}",
            r#"{"id":1,"stream":"s","at":"t","type":"nope","body":{}}"#,
            r#"{"id":1,"stream":"s","at":"t","type":"alert","body":{"text":"x"}}"#,
            r#"{"id":-1,"stream":"s","at":"t","type":"status","body":{}}"#,
        ] {
            assert!(Event::from_log_line(line).is_err(), "{line}");
        }
    }
}
