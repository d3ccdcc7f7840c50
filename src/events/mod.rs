//! The event bus: the one place where the live pipeline's output meets its consumers.
//!
//! Input: `(stream, body)` pairs the pipeline publishes from its worker threads (alerts, transcript
//! segments, stream status). Output: [`Event`]s with a bus-wide id and time, to subscribers (SSE,
//! sinks such as the webhook) and to queries (`/alerts`, transcripts, metrics).
//!
//! Dependencies point one way: sources → live → **events** ← HTTP / sinks. Nothing in here knows
//! about axum, the stream manager or any sink; the pipeline publishes through [`EventBus`] and
//! never sees who reads.
//!
//! - [`event`]: the event types and their two encodings (wire JSON, log line).
//! - [`log`]: the append-only JSON-lines log, its rotation and its crash recovery.
//! - [`segments`]: the log's files, read line by line.
//! - [`retention`]: segment size and age, `--retain`.
//! - [`check`]: the offline verification behind `claimwatch log check`.
//! - [`clips`]: the audio around each live alert (evidence), under the log's retention.
//! - [`hub`]: the local bus ([`Hub`]): ids, the log, memory, broadcast, replay.
//! - `store`: the in-memory view both buses answer queries from (bounded by [`HubLimits`]).
//! - [`jetstream`]: the cluster's bus ([`JetStreamBus`]) over a NATS JetStream stream.
//! - [`clock`]: RFC 3339 timestamps.
//! - [`round`]: numbers in payloads rounded to milliseconds.
//! - [`review`]: the review workflow's states and transition rules (the `review` event).
//!
//! [`EventBus`] is the interface both implementations satisfy: the local [`Hub`] over
//! `DATA_DIR/events/` (the default) and [`JetStreamBus`] (`serve --nats`).

pub mod check;
pub mod clips;
pub mod clock;
pub mod event;
pub mod hub;
pub mod jetstream;
pub mod log;
pub mod retention;
pub mod review;
pub mod round;
pub mod segments;
mod store;

use std::collections::BTreeMap;

use futures_util::stream::BoxStream;

pub use event::{
    ChatComment, Escalation, Event, EventBody, EventKind, HealthCondition, SourceState,
    StreamHealth, StreamStatus,
};
pub use hub::{Hub, HubLimits};
pub use jetstream::deliveries::{Delivery, DurableConfig};
pub use jetstream::{JetStreamBus, JetStreamConfig};
pub use log::{EventLog, LogError};
pub use retention::{LogConfig, Retain};
pub use review::{CurrentReview, Review, ReviewState};

use crate::detect::Category;

/// Why the bus could not take or give events.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("evidence clip {alert_id}: {source}")]
    Clip {
        alert_id: String,
        source: std::io::Error,
    },
    /// The cluster's history (NATS JetStream) did not take the event; the message says why.
    #[error("NATS JetStream: {0}")]
    JetStream(String),
}

/// Which kept alerts a query wants; every field narrows, `None`/empty does not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFilter<'a> {
    pub stream: Option<&'a str>,
    /// Alerts with an event id greater than this.
    pub since_id: Option<u64>,
    pub category: Option<Category>,
    /// Alerts whose current review state is one of these.
    pub review: Vec<ReviewState>,
}

/// A kept alert event and its current review (`new` when never reviewed).
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewedAlert {
    pub event: Event,
    pub review: CurrentReview,
}

/// An operator's decision, as checked by [`review::check_transition`].
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub state: ReviewState,
    /// Already checked by [`review::check_note`].
    pub note: Option<String>,
    /// The operator's name.
    pub by: String,
    /// The state the operator last saw, when the client says.
    pub expected: Option<ReviewState>,
}

/// Why a decision was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Refused(#[from] review::Refusal),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// What every event bus offers. Publishing is synchronous because the pipeline publishes from
/// plain threads; reading is a stream because consumers are async tasks.
///
/// Contract: ids are strictly increasing across the life of the bus and never reused; an event
/// [`publish`](EventBus::publish) returned `Ok` for is durable and reaches every subscriber whose
/// position is before it, once and in id order.
pub trait EventBus: Send + Sync + 'static {
    /// Records and broadcasts one event. Never waits for subscribers. An error means the event
    /// was not stored and not sent.
    fn publish(&self, stream: &str, body: EventBody) -> Result<Event, BusError>;

    /// Events of `stream` (all streams when `None`): first every kept event with id greater than
    /// `last_event_id`, then live ones, each once and in id order. With `last_event_id: None`
    /// only events published from now on. The stream never ends by itself; the consumer stops
    /// reading (SSE does on shutdown).
    fn subscribe(
        &self,
        stream: Option<String>,
        last_event_id: Option<u64>,
    ) -> BoxStream<'static, Event>;

    /// Kept alerts, oldest first: of `stream` (all when `None`), with event id greater than
    /// `since_id`, of `category`.
    fn alerts(
        &self,
        stream: Option<&str>,
        since_id: Option<u64>,
        category: Option<Category>,
    ) -> Vec<Event>;

    /// Kept transcript events of `stream`, oldest first.
    fn transcript(&self, stream: &str) -> Vec<Event>;

    /// Records a chat comment of `stream`, or `Ok(None)` when a kept comment of that stream
    /// has its id (a platform sending a batch again). Not durable until [`sync`](EventBus::sync):
    /// whoever takes a batch syncs once before saying it was taken.
    fn publish_comment(
        &self,
        stream: &str,
        comment: ChatComment,
    ) -> Result<Option<Event>, BusError>;

    /// Kept comment events of `stream`, oldest first.
    fn comments(&self, stream: &str) -> Vec<Event>;

    /// Comments ever taken in (restarts included), by stream.
    fn comment_counts(&self) -> BTreeMap<String, u64>;

    /// The latest status event of `stream`.
    fn latest_status(&self, stream: &str) -> Option<Event>;

    /// Whether any event of `stream` was ever published (in the kept history).
    fn knows_stream(&self, stream: &str) -> bool;

    /// Alerts ever published (restarts included), by (stream, category).
    fn alert_counts(&self) -> BTreeMap<(String, Category), u64>;

    /// Times a subscriber fell behind and caught up from the kept history.
    fn lag_recoveries(&self) -> u64;

    /// The id the next event will get.
    fn next_id(&self) -> u64;

    /// Kept alerts with their current review, oldest first, as `filter` says.
    fn reviewed_alerts(&self, filter: &AlertFilter) -> Vec<ReviewedAlert>;

    /// Records `decision` on the kept alert `alert_id` (`STREAM-EVENTID`) as a `review` event of
    /// the alert's stream, checked against the alert's current state ([`review`]) and appended
    /// atomically with that check. `Ok` only once the event is durable.
    fn review(&self, alert_id: &str, decision: Decision) -> Result<Event, ReviewError>;

    /// Review decisions ever recorded (restarts included), by the state decided.
    fn review_counts(&self) -> BTreeMap<ReviewState, u64>;

    /// Kept alerts by their current review state, `new` included.
    fn review_states(&self) -> BTreeMap<ReviewState, u64>;

    /// Makes everything published so far durable (call on shutdown).
    fn sync(&self) -> Result<(), BusError>;

    /// Keeps `samples` (16 kHz mono) as the evidence clip of the alert `alert_id`.
    fn store_clip(&self, alert_id: &str, samples: &[f32]) -> Result<(), BusError>;

    /// The evidence clip of `alert_id` as a WAV file, if one was stored and is still kept.
    fn clip(&self, alert_id: &str) -> Result<Option<Vec<u8>>, BusError>;

    /// This node's share of a consumer that hands each event of `config.kinds` to one node of
    /// the cluster at a time, until acked ([`jetstream::deliveries`]). `None`: this bus is one
    /// process (the local hub), and a sink reads [`subscribe`](EventBus::subscribe) from a
    /// position of its own instead.
    fn durable(
        &self,
        config: &DurableConfig,
    ) -> Option<Result<BoxStream<'static, Delivery>, BusError>> {
        let _ = config;
        None
    }
}

/// Stream ids appear in URLs, metric labels, log lines (and a cluster's subject names): 1 to 64
/// of A-Z a-z 0-9 - _. The one check the HTTP layer and the pipeline both apply; `Err` is the
/// message for the user.
pub fn check_stream_id(id: &str) -> Result<(), String> {
    let plain = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "stream id {id:?}: use 1 to 64 characters from A-Z a-z 0-9 - _"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids() {
        // (id, accepted)
        let cases = [
            ("shop-1", true),
            ("A_b-9", true),
            (&*"x".repeat(64), true),
            (&*"x".repeat(65), false),
            ("", false),
            ("a b", false),
            ("a/b", false),
            ("日本", false),
        ];
        for (id, ok) in cases {
            assert_eq!(check_stream_id(id).is_ok(), ok, "{id:?}");
        }
    }
}
