//! The cluster's event bus ([`EventBus`] over a NATS JetStream stream, `serve --nats`): every
//! node publishes to one stream and reads the same history.
//!
//! Input: `(stream, body)` from any thread, as for the local [`Hub`](super::Hub). Output:
//! [`Event`]s whose id is the JetStream stream sequence, so ids are strictly increasing across
//! the whole cluster and an alert's id is `STREAM-SEQ` on every node.
//!
//! - Publishing: each event is published to `claimwatch.events.<stream>.<type>` ([`codec`]) with
//!   a `Nats-Msg-Id` and its ack awaited; a publish retried after a lost connection keeps its
//!   message id, so the server stores it once (within the stream's duplicate window, 2 min).
//! - Subscribing: an ordered consumer from `last_event_id + 1`, filtered to one stream's
//!   subjects, then live; recreated from where it got to after a NATS outage.
//! - Queries: a local view ([`Store`], the local hub's in-memory store and bounds) that a
//!   background task keeps by consuming the whole stream from its first message. A publish
//!   returns once this node's view holds the event, so a node reads its own writes.
//! - Reviews: checked against the view, then published to the alert's own review subject with
//!   `Nats-Expected-Last-Subject-Sequence` = the last decision the view saw; when another node
//!   decided in between, the server refuses, the view catches up and the check runs again. Two
//!   operators deciding at once on two nodes are thus ordered, as on one node.
//! - Deliveries once per cluster ([`deliveries`]): a durable consumer every node binds to, for
//!   the webhook.
//! - Evidence clips stay on the local disk of the node that recorded them (`DATA_DIR/clips`);
//!   a node asked for one it lacks asks the others (`clip_share`).
//!
//! The trait is synchronous (the pipeline publishes from plain threads; the HTTP layer calls
//! some methods from `spawn_blocking`, some straight from its async handlers), so the bus owns a
//! small runtime of its own: a call hands its future to that runtime and waits on a plain
//! channel, which works from any thread and never nests `block_on` inside a runtime.

mod clip_share;
pub mod codec;
pub mod deliveries;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, context::PublishErrorKind, stream};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::event::{ChatComment, Event, EventBody};
use super::hub::HubLimits;
use super::log::LogError;
use super::retention::Retain;
use super::review::{self, Review, ReviewState};
use super::store::Store;
use super::{clips, clock};
use super::{AlertFilter, BusError, Decision, EventBus, ReviewError, ReviewedAlert};
use crate::detect::Category;
use deliveries::{Delivery, DurableConfig};

/// How long a publish keeps retrying through a lost connection before it reports an error.
const PUBLISH_PATIENCE: Duration = Duration::from_secs(15);

/// How long a publish waits for this node's view to hold what it published.
const VIEW_PATIENCE: Duration = Duration::from_secs(10);

/// Pause between attempts to recreate a consumer after a NATS outage.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Decisions a review retries after another node's decision on the same alert came first.
const REVIEW_ATTEMPTS: usize = 5;

/// Events a subscription buffers for a slow reader before its consumer waits.
const SUBSCRIPTION_BUFFER: usize = 256;

/// Where the cluster is and how this node joins it.
#[derive(Debug, Clone)]
pub struct JetStreamConfig {
    /// `nats://HOST:PORT` (several comma-separated for a NATS cluster).
    pub url: String,
    /// This node's name: in its NATS connection name and its message ids.
    pub node: String,
    /// The JetStream stream (`CLAIMWATCH`).
    pub stream: String,
    /// Bounds of the local view; `log.retain` becomes the stream's max age or max bytes.
    pub limits: HubLimits,
    /// Evidence clips are kept in `DATA_DIR/clips` of this node.
    pub data_dir: PathBuf,
    /// Longest wait for the first connection (then the NATS client reconnects by itself).
    pub connect_timeout: Duration,
}

impl JetStreamConfig {
    pub fn new(url: &str, node: &str, data_dir: PathBuf) -> JetStreamConfig {
        JetStreamConfig {
            url: url.to_string(),
            node: node.to_string(),
            stream: "CLAIMWATCH".into(),
            limits: HubLimits::default(),
            data_dir,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Cheap to clone; all clones share one connection and one view.
#[derive(Clone)]
pub struct JetStreamBus {
    inner: Arc<Inner>,
}

struct Inner {
    _runtime: OwnedRuntime,
    handle: tokio::runtime::Handle,
    js: jetstream::Context,
    stream: String,
    /// `NODE-BOOT-` : with a counter, each publish's `Nats-Msg-Id`, unique across restarts.
    msg_prefix: String,
    published: AtomicU64,
    view: Arc<View>,
    clips_dir: PathBuf,
    /// Times a subscription's consumer was recreated to resume after an outage.
    resumed: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The bus's runtime, shut down in the background when dropped: a bus may be dropped inside
/// another runtime's async context, where dropping a runtime the usual way panics.
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

// The pipeline publishes from plain threads while server tasks subscribe.
const _: () = {
    const fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<JetStreamBus>();
};

impl std::fmt::Debug for JetStreamBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamBus")
            .field("stream", &self.inner.stream)
            .field("applied", &self.inner.view.applied())
            .finish()
    }
}

/// What a publish attempt came to.
#[derive(Debug)]
enum PublishFail {
    /// The alert's review subject moved on since the view's last decision.
    Conflict,
    Other(String),
}

impl JetStreamBus {
    /// Connects, makes sure the stream exists (created with file storage and the retention of
    /// `config.limits.log.retain`; an existing one is used as it is) and reads the whole stream
    /// into the view before returning. `Err` is one line for the user: the server cannot be
    /// reached, has no JetStream, or refused the stream.
    pub fn connect(config: JetStreamConfig) -> Result<JetStreamBus, BusError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("claimwatch-nats")
            .enable_all()
            .build()
            .map_err(|e| BusError::JetStream(format!("starting its runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let runtime = OwnedRuntime(Some(runtime));
        let setup = {
            let config = config.clone();
            async move { open(&config).await }
        };
        let js = run_on(&handle, setup)
            .ok_or_else(|| BusError::JetStream("its runtime stopped".into()))??;
        let boot = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let bus = JetStreamBus {
            inner: Arc::new(Inner {
                _runtime: runtime,
                handle,
                js,
                stream: config.stream.clone(),
                msg_prefix: format!("{}-{boot:x}-", config.node),
                published: AtomicU64::new(0),
                view: Arc::new(View::new(config.limits)),
                clips_dir: clips::dir(&config.data_dir),
                resumed: Arc::new(AtomicU64::new(0)),
                stop: CancellationToken::new(),
            }),
        };
        let last = bus.last_sequence()?;
        bus.inner.handle.spawn(clip_share::answer(
            bus.inner.js.client(),
            bus.inner.clips_dir.clone(),
            bus.inner.stop.clone(),
        ));
        bus.inner.handle.spawn(follow(
            bus.inner.js.clone(),
            bus.inner.stream.clone(),
            bus.inner.view.clone(),
            bus.inner.stop.clone(),
        ));
        // A history of any size is read back before the node answers queries, as the local
        // hub reads its log at open; only a stalled read gives up.
        let view = bus.inner.view.clone();
        let caught_up = run_on(&bus.inner.handle, async move {
            view.wait_applied(last, Duration::from_secs(300)).await
        });
        if caught_up != Some(true) {
            return Err(BusError::JetStream(format!(
                "reading the stream {} back: stalled at {} of {last}",
                config.stream,
                bus.inner.view.applied()
            )));
        }
        Ok(bus)
    }

    /// The stream's last sequence, as the server says now.
    fn last_sequence(&self) -> Result<u64, BusError> {
        let js = self.inner.js.clone();
        let name = self.inner.stream.clone();
        self.run(async move {
            let stream = js.get_stream(&name).await.map_err(|e| e.to_string())?;
            Ok::<u64, String>(stream.cached_info().state.last_sequence)
        })?
        .map_err(|e| BusError::JetStream(format!("stream {}: {e}", self.inner.stream)))
    }

    /// Runs `future` on the bus's runtime and waits for it, from any thread.
    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, BusError> {
        run_on(&self.inner.handle, future)
            .ok_or_else(|| BusError::JetStream("the bus is shutting down".into()))
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.inner.view.store()
    }

    fn next_msg_id(&self) -> String {
        let n = self.inner.published.fetch_add(1, Ordering::Relaxed);
        format!("{}{n}", self.inner.msg_prefix)
    }

    /// Publishes `body` of `stream` with message id `msg_id` (and, for a review, the alert's
    /// last decision as the expected last sequence of its subject), then waits for the view to
    /// hold it. Returns the event and whether the server had it already (same message id).
    fn publish_as(
        &self,
        stream: &str,
        body: EventBody,
        msg_id: String,
        expected: Option<u64>,
    ) -> Result<(Event, bool), PublishFail> {
        if let Some(field) = body.non_finite() {
            return Err(PublishFail::Other(
                LogError::NonFinite {
                    kind: body.kind().as_str(),
                    field,
                }
                .to_string(),
            ));
        }
        let at = clock::now_rfc3339();
        let subject = codec::subject(stream, &body);
        let payload = codec::encode(stream, &at, &body);
        let js = self.inner.js.clone();
        let ack = self
            .run(send(js, subject, payload, msg_id, expected))
            .map_err(|e| PublishFail::Other(e.to_string()))??;
        let view = self.inner.view.clone();
        let seq = ack.sequence;
        // The event is durable whatever this wait says; it only makes this node's queries see
        // its own write.
        let _ = self.run(async move { view.wait_applied(seq, VIEW_PATIENCE).await });
        let kept = self.store().events.get(&seq).cloned();
        let event = match kept {
            Some(event) => event,
            None => codec::decode(seq, codec::encode(stream, &at, &body).as_bytes())
                .map_err(PublishFail::Other)?,
        };
        Ok((event, ack.duplicate))
    }

    /// Publishes with a message id of its own. Exposed for tests of the server's deduplication.
    #[doc(hidden)]
    pub fn publish_with_id(
        &self,
        stream: &str,
        body: EventBody,
        msg_id: &str,
    ) -> Result<(Event, bool), BusError> {
        self.publish_as(stream, body, msg_id.to_string(), None)
            .map_err(fail_to_bus)
    }

    /// The connection and the runtime this bus runs on, so the cluster's coordination
    /// ([`crate::cluster`]) shares them instead of opening a second connection.
    pub fn connection(&self) -> (jetstream::Context, tokio::runtime::Handle) {
        (self.inner.js.clone(), self.inner.handle.clone())
    }
}

fn fail_to_bus(fail: PublishFail) -> BusError {
    match fail {
        PublishFail::Conflict => BusError::JetStream("wrong last sequence".into()),
        PublishFail::Other(message) => BusError::JetStream(message),
    }
}

/// Runs `future` on `handle`'s runtime and waits, from any thread (never from inside it);
/// `None` when that runtime is gone. The bus and the cluster's KV adapter both call async-nats
/// from plain threads this way.
pub(crate) fn run_on<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    future: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().ok()
}

/// Connects and makes sure the stream exists.
async fn open(config: &JetStreamConfig) -> Result<jetstream::Context, BusError> {
    let url = &config.url;
    // Several servers of one NATS cluster, comma-separated: the client tries each (a plain
    // `&str` would be parsed as one URL).
    let servers: Vec<&str> = url
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let client = async_nats::ConnectOptions::new()
        .name(format!("claimwatch {}", config.node))
        .connection_timeout(config.connect_timeout)
        .connect(servers)
        .await
        .map_err(|e| BusError::JetStream(format!("cannot reach {url}: {e}")))?;
    let js = jetstream::new(client);
    let (max_age, max_bytes) = match config.limits.log.retain {
        Retain::Forever => (Duration::ZERO, -1),
        Retain::Age(age) => (age, -1),
        Retain::Bytes(bytes) => (Duration::ZERO, i64::try_from(bytes).unwrap_or(i64::MAX)),
    };
    js.get_or_create_stream(stream::Config {
        name: config.stream.clone(),
        subjects: vec![codec::filter(None)],
        storage: stream::StorageType::File,
        max_age,
        max_bytes,
        ..Default::default()
    })
    .await
    .map_err(|e| match e.kind() {
        // Nobody answers on the JetStream API: a server started without -js.
        jetstream::context::CreateStreamErrorKind::JetStreamUnavailable
        | jetstream::context::CreateStreamErrorKind::TimedOut => BusError::JetStream(format!(
            "{url} has no JetStream (start nats-server with -js): {e}"
        )),
        _ => BusError::JetStream(format!("stream {} on {url}: {e}", config.stream)),
    })?;
    Ok(js)
}

/// Publishes one message and awaits its ack, retrying with the same message id through a lost
/// connection for [`PUBLISH_PATIENCE`].
async fn send(
    js: jetstream::Context,
    subject: String,
    payload: String,
    msg_id: String,
    expected: Option<u64>,
) -> Result<jetstream::publish::PublishAck, PublishFail> {
    let mut message = jetstream::message::PublishMessage::build()
        .payload(payload.into())
        .message_id(&msg_id);
    if let Some(seq) = expected {
        message = message.expected_last_subject_sequence(seq);
    }
    let deadline = Instant::now() + PUBLISH_PATIENCE;
    loop {
        let attempt = async {
            js.send_publish(subject.clone(), message.clone())
                .await?
                .await
        };
        let error = match attempt.await {
            Ok(ack) => return Ok(ack),
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                return Err(PublishFail::Conflict)
            }
            Err(e) => e,
        };
        let retry = matches!(
            error.kind(),
            PublishErrorKind::TimedOut
                | PublishErrorKind::BrokenPipe
                | PublishErrorKind::StreamNotFound
                | PublishErrorKind::Other
        );
        if !retry || Instant::now() >= deadline {
            return Err(PublishFail::Other(format!(
                "publishing to {subject}: {error}"
            )));
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

/// The stream's ordered consumer from `start`, filtered by `filter`.
async fn consume_from(
    js: &jetstream::Context,
    name: &str,
    filter: String,
    start: u64,
) -> Result<consumer::pull::Ordered, String> {
    let stream = js.get_stream(name).await.map_err(|e| e.to_string())?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: filter,
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start.max(1),
            },
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    consumer.messages().await.map_err(|e| e.to_string())
}

/// The next event of `messages`: `Ok(None)` when the message was not one of ours (skipped),
/// `Err` when the consumer failed or ended.
async fn next_event(
    messages: &mut consumer::pull::Ordered,
) -> Result<(u64, Option<Event>), String> {
    let message = match messages.next().await {
        Some(Ok(message)) => message,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err("the consumer ended".into()),
    };
    let seq = message.info().map_err(|e| e.to_string())?.stream_sequence;
    match codec::decode(seq, &message.payload) {
        Ok(event) => Ok((seq, Some(event))),
        Err(e) => {
            eprintln!(
                "claimwatch: warning: JetStream message {seq} on {}: {e}; skipped",
                message.subject
            );
            Ok((seq, None))
        }
    }
}

/// Keeps `view` up to date with the whole stream until `stop`; through NATS outages it
/// resumes from the view's last sequence.
async fn follow(js: jetstream::Context, name: String, view: Arc<View>, stop: CancellationToken) {
    let mut warned = false;
    while !stop.is_cancelled() {
        let start = view.applied() + 1;
        let error = match consume_from(&js, &name, codec::filter(None), start).await {
            Ok(mut messages) => loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    next = next_event(&mut messages) => next,
                };
                match next {
                    Ok((seq, event)) => {
                        warned = false;
                        view.apply(seq, event);
                    }
                    Err(e) => break e,
                }
            },
            Err(e) => e,
        };
        if !warned {
            // Once per outage: the consumer is retried every RETRY_PAUSE until NATS answers.
            eprintln!(
                "claimwatch: warning: reading the JetStream stream {name} from {}: {error}; retrying",
                view.applied() + 1
            );
            warned = true;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(RETRY_PAUSE) => {}
        }
    }
}

/// Sends `stream`'s events after `cursor` to `tx` until its reader goes away.
async fn forward(
    js: jetstream::Context,
    name: String,
    stream: Option<String>,
    mut cursor: u64,
    tx: mpsc::Sender<Event>,
    resumed: Arc<AtomicU64>,
    stop: CancellationToken,
) {
    let filter = codec::filter(stream.as_deref());
    let mut first = true;
    loop {
        if !first {
            resumed.fetch_add(1, Ordering::Relaxed);
        }
        first = false;
        if let Ok(mut messages) = consume_from(&js, &name, filter.clone(), cursor + 1).await {
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tx.closed() => return,
                    next = next_event(&mut messages) => next,
                };
                let Ok((seq, event)) = next else { break };
                cursor = seq;
                if let Some(event) = event {
                    if tx.send(event).await.is_err() {
                        return;
                    }
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tx.closed() => return,
            _ = tokio::time::sleep(RETRY_PAUSE) => {}
        }
    }
}

/// The local view: the store and the last stream sequence applied to it.
struct View {
    store: Mutex<Store>,
    applied: watch::Sender<u64>,
}

impl View {
    fn new(limits: HubLimits) -> View {
        View {
            store: Mutex::new(Store::new(limits)),
            applied: watch::Sender::new(0),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // Each insert is complete or not started: keep serving after a panic elsewhere.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    fn apply(&self, seq: u64, event: Option<Event>) {
        if let Some(event) = event {
            self.store().insert(event);
        }
        self.applied.send_replace(seq);
    }

    /// Whether the view reached `seq` within `patience`.
    async fn wait_applied(&self, seq: u64, patience: Duration) -> bool {
        let mut rx = self.applied.subscribe();
        let reached = tokio::time::timeout(patience, rx.wait_for(|applied| *applied >= seq)).await;
        matches!(reached, Ok(Ok(_)))
    }
}

impl EventBus for JetStreamBus {
    fn publish(&self, stream: &str, body: EventBody) -> Result<Event, BusError> {
        let msg_id = self.next_msg_id();
        self.publish_as(stream, body, msg_id, None)
            .map(|(event, _)| event)
            .map_err(fail_to_bus)
    }

    fn subscribe(
        &self,
        stream: Option<String>,
        last_event_id: Option<u64>,
    ) -> BoxStream<'static, Event> {
        // "From now on" is the stream's last sequence now, as the server says; while NATS is
        // away (or does not answer), what this node has read: SSE handlers call this on an
        // async worker, which must not wait out a request timeout.
        let connected =
            self.inner.js.client().connection_state() == async_nats::connection::State::Connected;
        let last = connected
            .then(|| self.last_sequence().ok())
            .flatten()
            .unwrap_or_else(|| self.inner.view.applied());
        let cursor = last_event_id.map_or(last, |id| id.min(last));
        let (tx, mut rx) = mpsc::channel(SUBSCRIPTION_BUFFER);
        self.inner.handle.spawn(forward(
            self.inner.js.clone(),
            self.inner.stream.clone(),
            stream,
            cursor,
            tx,
            self.inner.resumed.clone(),
            self.inner.stop.clone(),
        ));
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
    }

    fn alerts(
        &self,
        stream: Option<&str>,
        since_id: Option<u64>,
        category: Option<Category>,
    ) -> Vec<Event> {
        self.store().alerts(stream, since_id, category)
    }

    fn transcript(&self, stream: &str) -> Vec<Event> {
        self.store().transcript(stream)
    }

    fn publish_comment(
        &self,
        stream: &str,
        comment: ChatComment,
    ) -> Result<Option<Event>, BusError> {
        if self.store().has_comment(stream, &comment.id) {
            return Ok(None);
        }
        // One message id per (stream, comment id): two nodes taking the same batch at once
        // store it once (within the duplicate window; the view's kept ids cover the rest).
        let hex: String = comment.id.bytes().map(|b| format!("{b:02x}")).collect();
        let msg_id = if hex.len() <= 128 {
            format!("comment-{stream}-{hex}")
        } else {
            self.next_msg_id()
        };
        let (event, duplicate) = self
            .publish_as(stream, EventBody::Comment(comment), msg_id, None)
            .map_err(fail_to_bus)?;
        Ok((!duplicate).then_some(event))
    }

    fn comments(&self, stream: &str) -> Vec<Event> {
        self.store().comments(stream)
    }

    fn comment_counts(&self) -> BTreeMap<String, u64> {
        self.store().comment_counts.clone()
    }

    fn latest_status(&self, stream: &str) -> Option<Event> {
        self.store().latest_status(stream)
    }

    fn knows_stream(&self, stream: &str) -> bool {
        self.store().knows_stream(stream)
    }

    fn alert_counts(&self) -> BTreeMap<(String, Category), u64> {
        self.store().alert_counts.clone()
    }

    fn lag_recoveries(&self) -> u64 {
        self.inner.resumed.load(Ordering::Relaxed)
    }

    fn next_id(&self) -> u64 {
        self.inner.view.applied() + 1
    }

    fn reviewed_alerts(&self, filter: &AlertFilter) -> Vec<ReviewedAlert> {
        self.store().reviewed_alerts(filter)
    }

    fn review(&self, alert_id: &str, decision: Decision) -> Result<Event, ReviewError> {
        for _ in 0..REVIEW_ATTEMPTS {
            let target = self.store().review_target(alert_id);
            let Some((stream, event_id, current)) = target else {
                return Err(ReviewError::NotFound(format!(
                    "no alert {alert_id:?} (an id from GET /alerts; only the last {} alerts are kept)",
                    self.store().limits.alerts
                )));
            };
            review::check_transition(&current, decision.expected, decision.state)?;
            let body = EventBody::Review(Review {
                alert_id: alert_id.to_string(),
                alert_event_id: event_id,
                from: current.state,
                state: decision.state,
                by: decision.by.clone(),
                note: decision.note.clone(),
            });
            // 0: no decision on this alert yet (its subject is empty).
            let expected = current.event_id.unwrap_or(0);
            match self.publish_as(&stream, body, self.next_msg_id(), Some(expected)) {
                Ok((event, _)) => return Ok(event),
                Err(PublishFail::Conflict) => {
                    // Another node decided first: catch up with it and check again.
                    let last = self.last_sequence()?;
                    let view = self.inner.view.clone();
                    self.run(async move { view.wait_applied(last, VIEW_PATIENCE).await })?;
                }
                Err(PublishFail::Other(message)) => return Err(BusError::JetStream(message).into()),
            }
        }
        Err(BusError::JetStream(format!(
            "alert {alert_id}: other decisions kept coming first ({REVIEW_ATTEMPTS} tries)"
        ))
        .into())
    }

    fn review_counts(&self) -> BTreeMap<ReviewState, u64> {
        self.store().review_counts.clone()
    }

    fn review_states(&self) -> BTreeMap<ReviewState, u64> {
        self.store().review_states()
    }

    fn sync(&self) -> Result<(), BusError> {
        // Every publish already waited for the server's ack.
        Ok(())
    }

    fn store_clip(&self, alert_id: &str, samples: &[f32]) -> Result<(), BusError> {
        clips::write(&self.inner.clips_dir, alert_id, samples).map_err(|source| BusError::Clip {
            alert_id: alert_id.to_string(),
            source,
        })
    }

    fn clip(&self, alert_id: &str) -> Result<Option<Vec<u8>>, BusError> {
        let here =
            clips::read(&self.inner.clips_dir, alert_id).map_err(|source| BusError::Clip {
                alert_id: alert_id.to_string(),
                source,
            })?;
        if here.is_some() {
            return Ok(here);
        }
        // Recorded by another node (or by none).
        let client = self.inner.js.client();
        self.run(clip_share::fetch(client, alert_id.to_string()))
    }

    fn durable(
        &self,
        config: &DurableConfig,
    ) -> Option<Result<BoxStream<'static, Delivery>, BusError>> {
        Some(self.durable_deliveries(config))
    }
}
