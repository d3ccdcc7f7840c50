//! The local event bus ([`EventBus`] over the segment files in `DATA_DIR/events/`): every event
//! the pipeline publishes goes through here, gets its id and time, is written to the
//! [log](super::log), kept in memory for queries and replay, and broadcast to live subscribers
//! (SSE clients, sinks).
//!
//! Input: `(stream, body)` from any thread. Output: [`Event`]s to subscribers, in id order.
//!
//! Memory is bounded whatever the log holds: the last [`HubLimits::alerts`] alerts, the last
//! [`HubLimits::transcripts_per_stream`] transcript events of each stream and
//! [`HubLimits::transcripts`] of all streams together, the last
//! [`HubLimits::statuses_per_stream`] status events of each stream. Older events leave memory,
//! not the log. Queries (`/alerts`, transcripts) answer from memory; a replay (Last-Event-ID, a
//! lagging client, a webhook resuming from its cursor) that starts before what memory holds
//! without a hole reads the segment files, and says on stderr which ids retention already
//! deleted.
//!
//! Ordering: one mutex covers id assignment, the log write, the in-memory store and the
//! broadcast send, so the broadcast order is the id order and a subscriber can take "everything
//! stored" and "everything broadcast after" at one instant, with no gap or duplicate at the seam.
//!
//! Reviews: [`Hub::review`] checks a decision against the alert's current state and appends the
//! `review` event under that same mutex, so two operators deciding at once are ordered and the
//! second is checked against the first's result. The current state of each kept alert is its
//! last `review` event, rebuilt by reading the log at open like everything else; it leaves
//! memory with its alert. The last [`HubLimits::reviews`] review events stay in memory for
//! replay.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast;

use super::event::{alert_id, ChatComment, Event, EventBody};
use super::log::{EventLog, LogError};
use super::retention::LogConfig;
use super::review::{self, Review, ReviewState};
use super::segments;
use super::store::Store;
use super::{clips, clock};
use super::{AlertFilter, BusError, Decision, EventBus, ReviewError, ReviewedAlert};
use crate::detect::Category;

/// Bounds on what the hub keeps in memory, and how its log is cut and kept on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubLimits {
    /// Alerts kept, all streams together.
    pub alerts: usize,
    /// Transcript events kept, all streams together.
    pub transcripts: usize,
    pub transcripts_per_stream: usize,
    pub statuses_per_stream: usize,
    /// Review events kept for replay, all streams together (each kept alert's current review
    /// is kept with it regardless). Escalation events are kept the same way, with the same bound.
    pub reviews: usize,
    /// Comment events kept per stream; a comment whose id is among them is a repeat and is not
    /// taken again.
    pub comments_per_stream: usize,
    /// Events the broadcast channel holds for the slowest subscriber before it lags (a lagging
    /// subscriber re-reads from memory, so this trades memory for fewer re-reads).
    pub channel: usize,
    pub log: LogConfig,
}

impl Default for HubLimits {
    fn default() -> Self {
        HubLimits {
            alerts: 20_000,
            transcripts: 100_000,
            transcripts_per_stream: 20_000,
            statuses_per_stream: 64,
            reviews: 20_000,
            comments_per_stream: 20_000,
            channel: 1024,
            log: LogConfig::default(),
        }
    }
}

/// Events a catching-up subscriber reads per lock, so a long replay never holds up `publish`.
const CATCH_UP_BATCH: usize = 512;

/// Events a replay older than memory reads from the segment files per pass.
const DISK_BATCH: usize = 4096;

/// Cheap to clone; all clones share one log and one store.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// The log's segment directory, read without the lock by replays older than memory.
    seg_dir: PathBuf,
    tx: broadcast::Sender<Event>,
    /// Times a subscriber fell behind the channel and re-read from memory.
    lagged: AtomicU64,
}

struct State {
    log: EventLog,
    next_id: u64,
    store: Store,
}

// The pipeline publishes from plain threads while server tasks subscribe.
const _: () = {
    const fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Hub>();
};

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Hub")
            .field("log", &state.log.path())
            .field("next_id", &state.next_id)
            .field("kept", &state.store.events.len())
            .finish()
    }
}

impl Hub {
    /// Opens the log in `data_dir` (see [`EventLog::open`]) with the default [`HubLimits`].
    pub fn open(data_dir: &Path) -> Result<Hub, LogError> {
        Hub::open_with(data_dir, HubLimits::default())
    }

    pub fn open_with(data_dir: &Path, limits: HubLimits) -> Result<Hub, LogError> {
        let mut store = Store::new(limits);
        // Streamed: the store's bounds hold while a log of any size is read back.
        let recovered = EventLog::open(data_dir, limits.log, |event| store.insert(event))?;
        let (tx, _) = broadcast::channel(limits.channel.max(1));
        Ok(Hub {
            inner: Arc::new(Inner {
                seg_dir: recovered.log.segment_dir().to_path_buf(),
                state: Mutex::new(State {
                    log: recovered.log,
                    next_id: recovered.next_id,
                    store,
                }),
                tx,
                lagged: AtomicU64::new(0),
            }),
        })
    }

    /// `DATA_DIR/clips`, beside the segment directory.
    fn clips_dir(&self) -> PathBuf {
        clips::dir(self.inner.seg_dir.parent().unwrap_or(Path::new(".")))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the state consistent (each step is
        // complete or not started), so keep serving rather than poison every later call.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records and broadcasts one event. Synchronous and never waits for subscribers; blocks only
    /// for the log write (and its fsync for alerts). An error means the event was not stored and
    /// not sent, and its id is not used. An alert's `id` is replaced by
    /// [`alert_id`] (`STREAM-EVENTID`): a detector numbers its alerts per run, which repeats
    /// across streams and restarts.
    pub fn publish(&self, stream: &str, body: EventBody) -> Result<Event, LogError> {
        if let Some(field) = body.non_finite() {
            return Err(LogError::NonFinite {
                kind: body.kind().as_str(),
                field,
            });
        }
        let mut state = self.lock();
        self.append(&mut state, stream, body)
    }

    /// Gives `body` the next id and the time, logs it, keeps it and broadcasts it; the caller
    /// holds the lock.
    fn append(
        &self,
        state: &mut State,
        stream: &str,
        mut body: EventBody,
    ) -> Result<Event, LogError> {
        if let EventBody::Alert(alert) = &mut body {
            alert.id = alert_id(stream, state.next_id);
        }
        let event = Event {
            id: state.next_id,
            stream: stream.to_string(),
            at: clock::now_rfc3339(),
            body,
        };
        state.log.append(&event)?;
        state.next_id += 1;
        state.store.insert(event.clone());
        // No receivers is fine: nobody is listening right now.
        let _ = self.inner.tx.send(event.clone());
        Ok(event)
    }

    /// Records a chat comment unless one with its id is among the stream's kept comments
    /// (`Ok(None)`: a platform re-sending a batch). Not fsynced one by one: the caller syncs a
    /// batch before saying it was taken.
    pub fn publish_comment(
        &self,
        stream: &str,
        comment: ChatComment,
    ) -> Result<Option<Event>, LogError> {
        let mut state = self.lock();
        if state.store.has_comment(stream, &comment.id) {
            return Ok(None);
        }
        self.append(&mut state, stream, EventBody::Comment(comment))
            .map(Some)
    }

    /// Comments ever taken in (restarts included), by stream.
    pub fn comment_counts(&self) -> BTreeMap<String, u64> {
        self.lock().store.comment_counts.clone()
    }

    /// Kept comments of `stream`, oldest first.
    pub fn comments(&self, stream: &str) -> Vec<Event> {
        self.lock().store.comments(stream)
    }

    /// Records `decision` on the kept alert `alert_id` (`STREAM-EVENTID`) as a `review` event of
    /// the alert's stream, once it is durable in the log; the check against the alert's current
    /// state and the append happen under one lock (see the module docs).
    pub fn review(&self, alert_id: &str, decision: Decision) -> Result<Event, ReviewError> {
        let not_found = || {
            ReviewError::NotFound(format!(
                "no alert {alert_id:?} (an id from GET /alerts; only the last {} alerts are kept)",
                self.lock().store.limits.alerts
            ))
        };
        let mut state = self.lock();
        let Some((stream, event_id, current)) = state.store.review_target(alert_id) else {
            drop(state);
            return Err(not_found());
        };
        review::check_transition(&current, decision.expected, decision.state)
            .map_err(ReviewError::Refused)?;
        let body = EventBody::Review(Review {
            alert_id: alert_id.to_string(),
            alert_event_id: event_id,
            from: current.state,
            state: decision.state,
            by: decision.by,
            note: decision.note,
        });
        Ok(self.append(&mut state, &stream, body)?)
    }

    /// Kept alerts with their current review, oldest first, as `filter` says.
    pub fn reviewed_alerts(&self, filter: &AlertFilter) -> Vec<ReviewedAlert> {
        self.lock().store.reviewed_alerts(filter)
    }

    /// Review decisions ever recorded (restarts included), by the state decided.
    pub fn review_counts(&self) -> BTreeMap<ReviewState, u64> {
        self.lock().store.review_counts.clone()
    }

    /// Kept alerts by their current review state, every state present (0 when none).
    pub fn review_states(&self) -> BTreeMap<ReviewState, u64> {
        self.lock().store.review_states()
    }

    /// Events of `stream` (all streams when `None`): first every kept event with id greater than
    /// `last_event_id`, then live ones, each once and in id order. With `last_event_id: None` only
    /// events published from now on. A subscriber that falls behind the broadcast channel
    /// re-reads what it missed from memory, so it never blocks `publish` and never misses an
    /// alert. The stream never ends by itself (it holds a hub clone): the consumer stops it, as
    /// SSE does with the shutdown token.
    pub fn subscribe(
        &self,
        stream: Option<String>,
        last_event_id: Option<u64>,
    ) -> impl Stream<Item = Event> + Send + 'static {
        let (rx, last) = {
            let state = self.lock();
            (self.inner.tx.subscribe(), state.next_id - 1)
        };
        let cursor = last_event_id.map_or(last, |id| id.min(last));
        let sub = Subscription {
            hub: self.clone(),
            stream,
            cursor,
            catching_up: cursor < last,
            resume: None,
            pending: VecDeque::new(),
            rx,
        };
        futures_util::stream::unfold(sub, |mut sub| async move {
            let event = sub.next().await?;
            Some((event, sub))
        })
    }

    /// Kept alerts, oldest first: of `stream` (all when `None`), with event id greater than
    /// `since_id`, of `category`.
    pub fn alerts(
        &self,
        stream: Option<&str>,
        since_id: Option<u64>,
        category: Option<Category>,
    ) -> Vec<Event> {
        self.lock().store.alerts(stream, since_id, category)
    }

    /// Kept transcript events of `stream`, oldest first.
    pub fn transcript(&self, stream: &str) -> Vec<Event> {
        self.lock().store.transcript(stream)
    }

    /// The latest status event of `stream`.
    pub fn latest_status(&self, stream: &str) -> Option<Event> {
        self.lock().store.latest_status(stream)
    }

    /// Whether any event of `stream` was ever published (in this data directory's kept history).
    pub fn knows_stream(&self, stream: &str) -> bool {
        self.lock().store.knows_stream(stream)
    }

    /// Alerts ever published (including before a restart), by (stream, category).
    pub fn alert_counts(&self) -> BTreeMap<(String, Category), u64> {
        self.lock().store.alert_counts.clone()
    }

    /// Times a subscriber fell behind the broadcast channel and caught up from memory (for
    /// `/metrics`: a steady rise means clients or the channel size cannot keep up).
    pub fn lag_recoveries(&self) -> u64 {
        self.inner.lagged.load(Ordering::Relaxed)
    }

    /// The id the next event will get.
    pub fn next_id(&self) -> u64 {
        self.lock().next_id
    }

    /// Forces batched transcript/status lines to disk (call on shutdown).
    pub fn sync(&self) -> Result<(), LogError> {
        self.lock().log.sync()
    }

    /// Up to `limit` events after `cursor`, those of `stream` returned; the id reached; and
    /// whether more may follow. From memory when it holds everything after `cursor`, else from
    /// the segment files up to where memory does.
    fn read_after(
        &self,
        cursor: u64,
        stream: Option<&str>,
        limit: usize,
        resume: &mut Option<segments::Resume>,
    ) -> (Vec<Event>, u64, bool) {
        let complete_from = self.lock().store.complete_from;
        if cursor.saturating_add(1) < complete_from {
            return self.read_disk(cursor, complete_from, stream, resume);
        }
        *resume = None;
        let state = self.lock();
        let mut reached = cursor;
        let mut out = Vec::new();
        let after = state.store.events.range(cursor.saturating_add(1)..);
        for (scanned, (id, event)) in after.enumerate() {
            if scanned == limit {
                return (out, reached, true);
            }
            reached = *id;
            if stream.is_none_or(|s| event.stream == s) {
                out.push(event.clone());
            }
        }
        (out, reached, false)
    }

    /// Events with `cursor < id < until` from the segment files (see [`Hub::read_after`]).
    fn read_disk(
        &self,
        cursor: u64,
        until: u64,
        stream: Option<&str>,
        resume: &mut Option<segments::Resume>,
    ) -> (Vec<Event>, u64, bool) {
        match segments::read_range(&self.inner.seg_dir, cursor, until, DISK_BATCH, *resume) {
            Ok(range) => {
                *resume = range.resume;
                if let Some((from, to)) = range.gone {
                    eprintln!(
                        "claimwatch: warning: a replay from event {from} skips ids {from} to {to}: deleted under --retain"
                    );
                }
                let reached = match (range.more, range.events.last()) {
                    (true, Some(last)) => last.id,
                    _ => until - 1,
                };
                let events = range
                    .events
                    .into_iter()
                    .filter(|e| stream.is_none_or(|s| e.stream == s))
                    .collect();
                (events, reached, true)
            }
            Err(e) => {
                *resume = None;
                // The replay goes on from memory rather than stop a client for good.
                eprintln!(
                    "claimwatch: warning: {}: replaying events {} to {}: {e}; those are skipped",
                    self.inner.seg_dir.display(),
                    cursor + 1,
                    until - 1
                );
                (Vec::new(), until - 1, true)
            }
        }
    }
}

impl EventBus for Hub {
    fn publish(&self, stream: &str, body: EventBody) -> Result<Event, BusError> {
        Ok(Hub::publish(self, stream, body)?)
    }

    fn subscribe(
        &self,
        stream: Option<String>,
        last_event_id: Option<u64>,
    ) -> BoxStream<'static, Event> {
        Hub::subscribe(self, stream, last_event_id).boxed()
    }

    fn alerts(
        &self,
        stream: Option<&str>,
        since_id: Option<u64>,
        category: Option<Category>,
    ) -> Vec<Event> {
        Hub::alerts(self, stream, since_id, category)
    }

    fn transcript(&self, stream: &str) -> Vec<Event> {
        Hub::transcript(self, stream)
    }

    fn publish_comment(
        &self,
        stream: &str,
        comment: ChatComment,
    ) -> Result<Option<Event>, BusError> {
        Ok(Hub::publish_comment(self, stream, comment)?)
    }

    fn comments(&self, stream: &str) -> Vec<Event> {
        Hub::comments(self, stream)
    }

    fn comment_counts(&self) -> BTreeMap<String, u64> {
        Hub::comment_counts(self)
    }

    fn latest_status(&self, stream: &str) -> Option<Event> {
        Hub::latest_status(self, stream)
    }

    fn knows_stream(&self, stream: &str) -> bool {
        Hub::knows_stream(self, stream)
    }

    fn alert_counts(&self) -> BTreeMap<(String, Category), u64> {
        Hub::alert_counts(self)
    }

    fn lag_recoveries(&self) -> u64 {
        Hub::lag_recoveries(self)
    }

    fn next_id(&self) -> u64 {
        Hub::next_id(self)
    }

    fn reviewed_alerts(&self, filter: &AlertFilter) -> Vec<ReviewedAlert> {
        Hub::reviewed_alerts(self, filter)
    }

    fn review(&self, alert_id: &str, decision: Decision) -> Result<Event, ReviewError> {
        Hub::review(self, alert_id, decision)
    }

    fn review_counts(&self) -> BTreeMap<ReviewState, u64> {
        Hub::review_counts(self)
    }

    fn review_states(&self) -> BTreeMap<ReviewState, u64> {
        Hub::review_states(self)
    }

    fn sync(&self) -> Result<(), BusError> {
        Ok(Hub::sync(self)?)
    }

    fn store_clip(&self, alert_id: &str, samples: &[f32]) -> Result<(), BusError> {
        clips::write(&self.clips_dir(), alert_id, samples).map_err(|source| BusError::Clip {
            alert_id: alert_id.to_string(),
            source,
        })
    }

    fn clip(&self, alert_id: &str) -> Result<Option<Vec<u8>>, BusError> {
        clips::read(&self.clips_dir(), alert_id).map_err(|source| BusError::Clip {
            alert_id: alert_id.to_string(),
            source,
        })
    }
}

/// One subscriber's position: `cursor` is the highest id it has dealt with (sent or filtered).
struct Subscription {
    hub: Hub,
    stream: Option<String>,
    cursor: u64,
    catching_up: bool,
    /// Where a replay from the segment files goes on.
    resume: Option<segments::Resume>,
    pending: VecDeque<Event>,
    rx: broadcast::Receiver<Event>,
}

impl Subscription {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.catching_up {
                let (events, reached, more) = self.hub.read_after(
                    self.cursor,
                    self.stream.as_deref(),
                    CATCH_UP_BATCH,
                    &mut self.resume,
                );
                self.cursor = reached;
                self.pending.extend(events);
                self.catching_up = more;
                continue;
            }
            match self.rx.recv().await {
                // Already read from the store while catching up.
                Ok(event) if event.id <= self.cursor => continue,
                Ok(event) => {
                    self.cursor = event.id;
                    if self.stream.as_deref().is_none_or(|s| event.stream == s) {
                        return Some(event);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.hub.inner.lagged.fetch_add(1, Ordering::Relaxed);
                    self.catching_up = true;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Alert;
    use crate::events::event::tests::sample_alert;
    use crate::events::event::{Escalation, SourceState, StreamStatus};
    use crate::events::review::CurrentReview;
    use crate::events::{AlertFilter, Decision, ReviewError};
    use crate::transcribe::Segment;
    use futures_util::StreamExt;

    fn alert(category: Category) -> EventBody {
        EventBody::Alert(Alert {
            category,
            ..sample_alert()
        })
    }

    fn text(t: &str) -> EventBody {
        EventBody::Transcript(Segment::new(0.0, 1.0, t))
    }

    fn status() -> EventBody {
        EventBody::Status(StreamStatus {
            state: SourceState::Up,
            stream_s: 1.0,
            lag_s: 0.0,
            rtf: 1.0,
            dropped_s: 0.0,
            gap_s: None,
            message: None,
        })
    }

    fn ids(events: &[Event]) -> Vec<u64> {
        events.iter().map(|e| e.id).collect()
    }

    async fn take(stream: impl Stream<Item = Event>, n: usize) -> Vec<Event> {
        let got = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            stream.take(n).collect::<Vec<_>>(),
        )
        .await
        .expect("events within 30 s");
        assert_eq!(got.len(), n);
        got
    }

    #[test]
    fn ids_continue_after_reopening_and_history_survives() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        assert_eq!(hub.publish("a", alert(Category::Efficacy)).unwrap().id, 1);
        assert_eq!(hub.publish("a", text("hello")).unwrap().id, 2);
        drop(hub);
        let hub = Hub::open(dir.path()).unwrap();
        assert_eq!(hub.next_id(), 3);
        let e = hub.publish("b", alert(Category::Pricing)).unwrap();
        assert_eq!(e.id, 3);
        assert!(e.at.ends_with('Z') && e.at.len() == 24, "{}", e.at);
        assert_eq!(ids(&hub.alerts(None, None, None)), [1, 3]);
        assert_eq!(ids(&hub.transcript("a")), [2]);
        let counts = hub.alert_counts();
        assert_eq!(counts[&("a".to_string(), Category::Efficacy)], 1);
        assert_eq!(counts[&("b".to_string(), Category::Pricing)], 1);
    }

    #[test]
    fn alert_ids_are_unique_across_streams_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        // (stream, reopen the hub before publishing?) — every detector run numbers from a1.
        let plan = [
            ("shop-1", false),
            ("shop-2", false),
            ("shop-1", false),
            ("shop-1", true),
            ("shop-2", false),
        ];
        let mut hub = Hub::open(dir.path()).unwrap();
        let mut seen = Vec::new();
        for (stream, reopen) in plan {
            if reopen {
                drop(hub);
                hub = Hub::open(dir.path()).unwrap();
            }
            let event = hub.publish(stream, alert(Category::Efficacy)).unwrap();
            let id = event.alert().unwrap().id.clone();
            assert_eq!(id, format!("{stream}-{}", event.id));
            assert_eq!(event.wire_json()["id"], id.as_str());
            seen.push(id);
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{seen:?}");
        // The log keeps the id the bus gave, so a replay after a restart says the same.
        drop(hub);
        let hub = Hub::open(dir.path()).unwrap();
        let kept: Vec<String> = hub
            .alerts(None, None, None)
            .iter()
            .map(|e| e.alert().unwrap().id.clone())
            .collect();
        assert_eq!(kept, seen);
    }

    #[test]
    fn payload_floats_are_rounded_on_the_wire_and_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        let noisy = EventBody::Status(StreamStatus {
            state: SourceState::Up,
            stream_s: 47.400000000000006,
            lag_s: 3.55e-13,
            rtf: 2.0004999,
            dropped_s: 0.1 + 0.2,
            gap_s: Some(1.0 / 3.0),
            message: None,
        });
        let segment = EventBody::Transcript(Segment::new(0.1 + 0.2, 47.400000000000006, "x"));
        let want = [
            serde_json::json!({"stream_s": 47.4, "lag_s": 0.0, "rtf": 2.0, "dropped_s": 0.3, "gap_s": 0.333}),
            serde_json::json!({"start_s": 0.3, "end_s": 47.4}),
        ];
        for (body, want) in [noisy, segment].into_iter().zip(want) {
            let event = hub.publish("s", body).unwrap();
            let wire = event.wire_json();
            let line: serde_json::Value = serde_json::from_str(&event.to_log_line()).unwrap();
            for (field, value) in want.as_object().unwrap() {
                assert_eq!(&wire[field], value, "wire {field}");
                assert_eq!(&line["body"][field], value, "log {field}");
            }
        }
    }

    #[test]
    fn a_number_json_cannot_carry_is_refused_and_the_log_stays_readable() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        let mut bad = StreamStatus {
            state: SourceState::Up,
            stream_s: f64::INFINITY,
            lag_s: 0.0,
            rtf: 1.0,
            dropped_s: 0.0,
            gap_s: None,
            message: None,
        };
        let err = hub
            .publish("a", EventBody::Status(bad.clone()))
            .unwrap_err();
        assert!(err.to_string().contains("stream_s"), "{err}");
        bad.stream_s = 1.0;
        bad.gap_s = Some(f64::NAN);
        assert!(hub.publish("a", EventBody::Status(bad)).is_err());
        let err = hub
            .publish(
                "a",
                EventBody::Transcript(Segment::new(0.0, f64::INFINITY, "x")),
            )
            .unwrap_err();
        assert!(err.to_string().contains("end_s"), "{err}");
        // The refused events used no id, and a restart reads the log back.
        assert_eq!(hub.publish("a", text("fine")).unwrap().id, 1);
        drop(hub);
        assert_eq!(Hub::open(dir.path()).unwrap().next_id(), 2);
    }

    #[test]
    fn alert_queries_filter_by_stream_since_and_category() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        hub.publish("a", alert(Category::Efficacy)).unwrap(); // 1
        hub.publish("a", text("x")).unwrap(); // 2
        hub.publish("b", alert(Category::Pricing)).unwrap(); // 3
        hub.publish("a", alert(Category::Pricing)).unwrap(); // 4

        // (stream, since, category, expected ids)
        type Case = (
            Option<&'static str>,
            Option<u64>,
            Option<Category>,
            &'static [u64],
        );
        let cases: [Case; 6] = [
            (None, None, None, &[1, 3, 4]),
            (Some("a"), None, None, &[1, 4]),
            (None, Some(1), None, &[3, 4]),
            (None, None, Some(Category::Pricing), &[3, 4]),
            (Some("a"), Some(3), Some(Category::Pricing), &[4]),
            (Some("zzz"), None, None, &[]),
        ];
        for (stream, since, category, want) in cases {
            assert_eq!(
                ids(&hub.alerts(stream, since, category)),
                want,
                "{stream:?} {since:?} {category:?}"
            );
        }
    }

    fn comment(id: &str) -> ChatComment {
        ChatComment {
            id: id.into(),
            user: "u1".into(),
            text: "hello".into(),
            posted_at: None,
            from_seller: false,
        }
    }

    #[test]
    fn a_repeated_comment_id_is_taken_once_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let limits = HubLimits {
            comments_per_stream: 2,
            ..HubLimits::default()
        };
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        // (stream, comment id, taken)
        let cases = [
            ("a", "c1", true),
            ("a", "c1", false),
            ("b", "c1", true), // ids are the platform's, per stream
            ("a", "c2", true),
            ("a", "c3", true), // c1 of stream a leaves memory: the bound is 2 per stream
            ("a", "c3", false),
        ];
        for (stream, id, taken) in cases {
            let got = hub.publish_comment(stream, comment(id)).unwrap();
            assert_eq!(got.is_some(), taken, "{stream} {id}");
        }
        assert_eq!(hub.comments("a").len(), 2);
        drop(hub);
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        assert!(hub.publish_comment("a", comment("c2")).unwrap().is_none());
        assert!(hub.publish_comment("b", comment("c1")).unwrap().is_none());
        assert!(hub.publish_comment("b", comment("c9")).unwrap().is_some());
        let counts = hub.comment_counts();
        assert_eq!((counts["a"], counts["b"]), (3, 2));
    }

    #[test]
    fn queries_show_a_comment_alert_with_its_latest_escalation() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        let first = Alert {
            category: Category::Abuse,
            severity: crate::detect::Severity::High,
            source: crate::detect::AlertSource::Comment,
            comment: Some(crate::detect::CommentRef {
                id: "c1".into(),
                user: "u1".into(),
                at: None,
                from_seller: false,
                count: 1,
            }),
            ..sample_alert()
        };
        let published = hub.publish("s", EventBody::Alert(first)).unwrap();
        let alert_id = published.alert().unwrap().id.clone();
        for count in [2, 3] {
            hub.publish(
                "s",
                EventBody::Escalation(Escalation {
                    alert_id: alert_id.clone(),
                    alert_event_id: published.id,
                    count,
                    severity: crate::detect::Severity::Critical,
                    comment_id: format!("c{count}"),
                    user: "u1".into(),
                }),
            )
            .unwrap();
        }
        let check = |hub: &Hub| {
            let shown = hub.alerts(None, None, None);
            let alert = shown[0].alert().unwrap();
            assert_eq!(alert.comment.as_ref().unwrap().count, 3);
            assert_eq!(alert.severity, crate::detect::Severity::Critical);
            let reviewed = hub.reviewed_alerts(&AlertFilter::default());
            assert_eq!(reviewed[0].event, shown[0]);
        };
        check(&hub);
        drop(hub);
        check(&Hub::open(dir.path()).unwrap());
    }

    #[test]
    fn memory_keeps_only_the_last_alerts_transcripts_and_statuses() {
        let dir = tempfile::tempdir().unwrap();
        let limits = HubLimits {
            alerts: 4,
            transcripts: 100,
            transcripts_per_stream: 3,
            statuses_per_stream: 1,
            reviews: 20_000,
            comments_per_stream: 20_000,
            channel: 8,
            log: LogConfig::default(),
        };
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        for i in 0..10 {
            hub.publish("a", text(&format!("t{i}"))).unwrap();
            hub.publish("a", status()).unwrap();
            hub.publish("a", alert(Category::Efficacy)).unwrap();
        }
        assert_eq!(ids(&hub.alerts(None, None, None)), [21, 24, 27, 30]);
        // Counts cover every alert, kept or not.
        assert_eq!(
            hub.alert_counts()[&("a".to_string(), Category::Efficacy)],
            10
        );
        let texts: Vec<String> = hub
            .transcript("a")
            .into_iter()
            .map(|e| match e.body {
                EventBody::Transcript(s) => s.text,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(texts, ["t7", "t8", "t9"]);
        assert_eq!(hub.latest_status("a").unwrap().id, 29);
        assert_eq!(hub.lock().store.events.len(), 4 + 3 + 1);
        // Reopening applies the same bounds to what the log holds.
        drop(hub);
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        assert_eq!(hub.lock().store.events.len(), 4 + 3 + 1);
        assert_eq!(
            hub.alert_counts()[&("a".to_string(), Category::Efficacy)],
            10
        );
    }

    #[test]
    fn transcripts_of_all_streams_together_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let limits = HubLimits {
            transcripts: 5,
            transcripts_per_stream: 3,
            ..HubLimits::default()
        };
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        // (stream, text): ids 1..=8
        for (stream, t) in [
            ("a", "a1"),
            ("b", "b1"),
            ("a", "a2"),
            ("a", "a3"),
            ("a", "a4"),
        ]
        .into_iter()
        .chain([("b", "b2"), ("c", "c1"), ("c", "c2")])
        {
            hub.publish(stream, text(t)).unwrap();
        }
        // a1 left with the per-stream bound (4th of a), then b1 and a2 with the total one.
        assert_eq!(ids(&hub.transcript("a")), [4, 5]);
        assert_eq!(ids(&hub.transcript("b")), [6]);
        assert_eq!(ids(&hub.transcript("c")), [7, 8]);
        assert_eq!(hub.lock().store.events.len(), 5);
    }

    fn decide(state: ReviewState, by: &str, note: Option<&str>) -> Decision {
        Decision {
            state,
            note: note.map(String::from),
            by: by.into(),
            expected: None,
        }
    }

    #[tokio::test]
    async fn reviews_are_checked_logged_and_rebuilt_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        hub.publish("a", alert(Category::Efficacy)).unwrap(); // 1: a-1
        hub.publish("b", alert(Category::Pricing)).unwrap(); // 2: b-2
        let rx = hub.subscribe(None, None);
        let first = hub
            .review("a-1", decide(ReviewState::Acknowledged, "alice", None))
            .unwrap();
        assert_eq!((first.id, first.stream.as_str()), (3, "a"));
        // (alert id, decision, error words or "" for recorded)
        let cases = [
            (
                "a-1",
                ReviewState::Acknowledged,
                "already acknowledged by alice",
            ),
            ("a-1", ReviewState::New, "never goes back to new"),
            ("a-1", ReviewState::Confirmed, ""),
            ("a-1", ReviewState::Confirmed, ""),
            ("b-1", ReviewState::Confirmed, "no alert \"b-1\""),
            ("a-2", ReviewState::Confirmed, "no alert"),
            ("b-3", ReviewState::Confirmed, "no alert"),
            ("nonsense", ReviewState::Confirmed, "no alert"),
            ("b-2", ReviewState::Escalated, ""),
        ];
        for (id, state, words) in cases {
            match hub.review(id, decide(state, "bob", Some("理由"))) {
                Ok(event) => assert!(words.is_empty(), "{id} {state:?}: {event:?}"),
                Err(e) => assert!(
                    !words.is_empty() && e.to_string().contains(words),
                    "{id} {state:?}: {e}"
                ),
            }
        }
        // Refusals used no id; the recorded ones went out on the bus in order.
        assert_eq!(hub.next_id(), 7);
        let seen: Vec<(u64, String)> = take(rx, 4)
            .await
            .into_iter()
            .map(|e| match e.body {
                EventBody::Review(r) => {
                    (e.id, format!("{}:{:?}>{:?}", r.alert_id, r.from, r.state))
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            seen,
            [
                (3, "a-1:New>Acknowledged".to_string()),
                (4, "a-1:Acknowledged>Confirmed".to_string()),
                (5, "a-1:Confirmed>Confirmed".to_string()),
                (6, "b-2:New>Escalated".to_string()),
            ]
        );
        let stale = Decision {
            expected: Some(ReviewState::New),
            ..decide(ReviewState::Dismissed, "carol", None)
        };
        let err = hub.review("a-1", stale).unwrap_err();
        assert!(
            err.to_string().contains("confirmed by bob now, not new"),
            "{err}"
        );

        let before: Vec<(u64, CurrentReview)> = hub
            .reviewed_alerts(&AlertFilter::default())
            .into_iter()
            .map(|r| (r.event.id, r.review))
            .collect();
        assert_eq!(before[0].1.state, ReviewState::Confirmed);
        assert_eq!(before[0].1.by.as_deref(), Some("bob"));
        assert_eq!(before[0].1.note.as_deref(), Some("理由"));
        assert_eq!(before[0].1.event_id, Some(5));
        drop(hub);
        let hub = Hub::open(dir.path()).unwrap();
        let after: Vec<(u64, CurrentReview)> = hub
            .reviewed_alerts(&AlertFilter::default())
            .into_iter()
            .map(|r| (r.event.id, r.review))
            .collect();
        assert_eq!(after, before);
        assert_eq!(
            hub.review_counts(),
            BTreeMap::from([
                (ReviewState::Acknowledged, 1),
                (ReviewState::Confirmed, 2),
                (ReviewState::Escalated, 1)
            ])
        );
        // `claimwatch log check` reads review lines as sound events of their own kind.
        let report = crate::events::check::check(dir.path()).unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
        assert_eq!(report.kinds.get("review"), Some(&4));
        // The rules apply to the rebuilt state too.

        let err = hub
            .review("a-1", decide(ReviewState::Acknowledged, "dave", None))
            .unwrap_err();
        assert!(
            err.to_string().contains("already confirmed by bob"),
            "{err}"
        );
        // (review filter, alert ids)
        let cases: [(Vec<ReviewState>, Vec<u64>); 3] = [
            (vec![ReviewState::Escalated], vec![2]),
            (vec![ReviewState::New, ReviewState::Confirmed], vec![1]),
            (vec![ReviewState::New], vec![]),
        ];
        for (review, want) in cases {
            let filter = AlertFilter {
                review: review.clone(),
                ..AlertFilter::default()
            };
            let got: Vec<u64> = hub
                .reviewed_alerts(&filter)
                .iter()
                .map(|r| r.event.id)
                .collect();
            assert_eq!(got, want, "{review:?}");
        }
    }

    #[test]
    fn a_review_leaves_memory_with_its_alert() {
        let dir = tempfile::tempdir().unwrap();
        let limits = HubLimits {
            alerts: 2,
            reviews: 1,
            ..HubLimits::default()
        };
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        hub.publish("a", alert(Category::Efficacy)).unwrap(); // 1
        hub.review("a-1", decide(ReviewState::Dismissed, "alice", None))
            .unwrap(); // 2
        hub.publish("a", alert(Category::Efficacy)).unwrap(); // 3
        assert_eq!(
            hub.review_states()[&ReviewState::Dismissed],
            1,
            "{:?}",
            hub.review_states()
        );
        hub.publish("a", alert(Category::Efficacy)).unwrap(); // 4: alert 1 leaves
        let states = hub.review_states();
        assert_eq!(
            (states[&ReviewState::New], states[&ReviewState::Dismissed]),
            (2, 0)
        );
        let err = hub
            .review("a-1", decide(ReviewState::Confirmed, "bob", None))
            .unwrap_err();
        assert!(matches!(err, ReviewError::NotFound(_)), "{err}");
        hub.review("a-3", decide(ReviewState::Confirmed, "bob", None))
            .unwrap(); // 5: review 2 leaves memory
        assert_eq!(hub.lock().store.review_events.len(), 1);
        // Reopened with the same bounds: the same picture; the count keeps every decision.
        drop(hub);
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        let states = hub.review_states();
        assert_eq!(
            (states[&ReviewState::New], states[&ReviewState::Confirmed]),
            (1, 1)
        );
        assert_eq!(hub.review_counts().values().sum::<u64>(), 2);
    }

    #[tokio::test]
    async fn a_replay_older_than_memory_reads_the_segment_files() {
        let dir = tempfile::tempdir().unwrap();
        let limits = HubLimits {
            alerts: 2,
            transcripts_per_stream: 3,
            log: LogConfig {
                segment_bytes: 2_000,
                ..LogConfig::default()
            },
            ..HubLimits::default()
        };
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        for i in 0..60 {
            let body = if i % 4 == 0 {
                alert(Category::Efficacy)
            } else {
                text(&format!("t{i}"))
            };
            hub.publish(if i % 2 == 0 { "a" } else { "b" }, body)
                .unwrap();
        }
        drop(hub);
        // Reopened: memory holds a few events; every one is still replayed, from the files.
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        assert!(hub.lock().store.events.len() < 10);
        let all = take(hub.subscribe(None, Some(0)), 60).await;
        assert_eq!(ids(&all), (1..=60).collect::<Vec<_>>());
        let only_a = take(hub.subscribe(Some("a".into()), Some(30)), 15).await;
        assert_eq!(ids(&only_a), (31..=60).step_by(2).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn replay_then_live_without_gap_or_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        for i in 0..50 {
            hub.publish(if i % 2 == 0 { "a" } else { "b" }, text("x"))
                .unwrap();
        }
        // Subscribe mid-history while another thread keeps publishing: the seam between stored
        // and live events must be seamless.
        let writer = {
            let hub = hub.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    hub.publish(
                        if i % 2 == 0 { "a" } else { "b" },
                        alert(Category::Efficacy),
                    )
                    .unwrap();
                }
            })
        };
        let all = take(hub.subscribe(None, Some(10)), 240).await;
        assert_eq!(ids(&all), (11..=250).collect::<Vec<_>>());
        let only_b = take(hub.subscribe(Some("b".into()), Some(0)), 125).await;
        assert!(only_b.iter().all(|e| e.stream == "b"));
        assert_eq!(ids(&only_b), (2..=250).step_by(2).collect::<Vec<_>>());
        writer.join().unwrap();
    }

    #[tokio::test]
    async fn a_subscriber_that_lags_re_reads_instead_of_losing_events() {
        let dir = tempfile::tempdir().unwrap();
        let limits = HubLimits {
            channel: 4,
            ..HubLimits::default()
        };
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        let slow = hub.subscribe(None, None);
        // Far more than the channel holds, with nobody reading: publish must not wait.
        for _ in 0..1_000 {
            hub.publish("a", alert(Category::Efficacy)).unwrap();
        }
        let got = take(slow, 1_000).await;
        assert_eq!(ids(&got), (1..=1_000).collect::<Vec<_>>());
        assert!(hub.lag_recoveries() >= 1);
    }

    #[tokio::test]
    async fn no_last_event_id_means_live_only_and_a_future_id_is_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        hub.publish("a", text("old")).unwrap();
        let live = hub.subscribe(None, None);
        let future = hub.subscribe(None, Some(1_000));
        hub.publish("a", text("new")).unwrap();
        assert_eq!(ids(&take(live, 1).await), [2]);
        assert_eq!(ids(&take(future, 1).await), [2]);
    }
}
