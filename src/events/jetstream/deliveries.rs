//! Deliveries once per cluster: a durable JetStream pull consumer that every node binds to, so
//! each event it takes is handed to one node at a time (the webhook, `serve --nats --webhook`).
//!
//! Input: a [`DurableConfig`] (the consumer's name, the event kinds wanted, the ack wait).
//! Output: a stream of [`Delivery`]s on this node, each an event this node now holds until it
//! [acks](Delivery::ack) it, [releases](Delivery::release) it, or dies.
//!
//! - The consumer is created by the first node that asks, with the events published from then
//!   on (`DeliverPolicy::New`), explicit acks and no limit on redeliveries; every other node (and
//!   the same node after a restart) binds to it as it is, whatever its own settings say.
//! - A node pulls one message at a time and pulls the next only once the last one is handled,
//!   so a message never waits in a node's buffer while its ack wait runs out.
//! - A message not acked within the ack wait (its node died, or lost NATS) goes to another node:
//!   at least once, never lost. [`Delivery::hold`] keeps a long piece of work (a POST retried
//!   against a receiver that is down) from being handed over meanwhile.
//! - Server 2.9 takes one filter subject, so kinds that one subject cannot name are filtered
//!   here: the others are acked as they come, without decoding ([`codec::kind_of`]).
//! - Up to [`MAX_IN_FLIGHT`] messages are out at once across the cluster, so nodes work side by
//!   side: order is kept per node, not across nodes.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, AckKind};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{codec, JetStreamBus, RETRY_PAUSE};
use crate::events::{BusError, Event, EventKind};

/// Messages out (delivered, not yet acked) at once across the cluster.
pub const MAX_IN_FLIGHT: i64 = 16;

/// How long one pull waits for a message before it asks again.
const PULL_EXPIRES: Duration = Duration::from_secs(5);

/// Longest wait for NATS to take a progress or release message (it buffers them while away).
const SEND_PATIENCE: Duration = Duration::from_secs(2);

/// A cluster-wide durable consumer, as a sink asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct DurableConfig {
    /// The consumer's name, the same on every node (`webhook-…`): letters, digits, `-`, `_`.
    pub name: String,
    /// Shown by `nats consumer info` (what the consumer delivers to).
    pub description: String,
    /// The event kinds wanted; the others are never handed out.
    pub kinds: Vec<EventKind>,
    /// How long a node may hold a message without a sign of life before another node gets it.
    pub ack_wait: Duration,
}

/// An event this node holds for the cluster. Dropped without [`ack`](Delivery::ack) (a node
/// shut down or killed), it goes to a node after the consumer's ack wait.
pub struct Delivery {
    pub event: Event,
    message: jetstream::Message,
    /// How often [`Delivery::hold`] tells the server the work goes on.
    keep_alive: Duration,
    /// Dropped with the delivery: this node may pull the next message.
    _done: oneshot::Sender<()>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("event", &self.event.id)
            .finish()
    }
}

impl Delivery {
    /// Runs `work` while telling the server, every third of the ack wait, that this node still
    /// works on the event, so it is not handed to another node meanwhile.
    pub async fn hold<T>(&self, work: impl Future<Output = T>) -> T {
        let mut work = std::pin::pin!(work);
        let mut tick = tokio::time::interval(self.keep_alive);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // The first tick is now: the delivery is fresh.
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tick.tick() => {
                    // A progress message lost with the connection costs a redelivery (a copy
                    // with the same event id), not the event.
                    let progress = self.message.ack_with(AckKind::Progress);
                    let _ = tokio::time::timeout(SEND_PATIENCE, progress).await;
                }
            }
        }
    }

    /// The event is handled: no node gets it again. `Ok` once the server confirmed; `Err` (NATS
    /// away) means it may be delivered again.
    pub async fn ack(self) -> Result<(), BusError> {
        self.message
            .double_ack()
            .await
            .map_err(|e| BusError::JetStream(format!("acknowledging event {}: {e}", self.event.id)))
    }

    /// Gives the event back unhandled (this node is shutting down): another node may take it
    /// now rather than after the ack wait.
    pub async fn release(self) {
        let nak = self.message.ack_with(AckKind::Nak(None));
        let _ = tokio::time::timeout(SEND_PATIENCE, nak).await;
    }
}

impl JetStreamBus {
    /// Binds to the durable consumer `config.name` (creating it when no node did yet) and starts
    /// pulling its messages for this node. `Err` is one line: NATS refused the consumer.
    pub fn durable_deliveries(
        &self,
        config: &DurableConfig,
    ) -> Result<BoxStream<'static, Delivery>, BusError> {
        let js = self.inner.js.clone();
        let stream = self.inner.stream.clone();
        let wanted = config.clone();
        let consumer = self.run(async move { bind(&js, &stream, &wanted).await })??;
        let (tx, mut rx) = mpsc::channel(1);
        self.inner.handle.spawn(feed(
            self.inner.js.clone(),
            self.inner.stream.clone(),
            config.clone(),
            consumer,
            tx,
            self.inner.stop.clone(),
        ));
        Ok(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed())
    }
}

/// The consumer's settings when this node is the one creating it.
fn consumer_config(config: &DurableConfig) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(config.name.clone()),
        description: Some(config.description.clone()),
        deliver_policy: consumer::DeliverPolicy::New,
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: config.ack_wait,
        // Never given up on: a node that dies mid-delivery is no reason to drop an event.
        max_deliver: -1,
        filter_subject: codec::kinds_filter(&config.kinds),
        max_ack_pending: MAX_IN_FLIGHT,
        ..Default::default()
    }
}

/// The consumer `config.name` as the server has it (created with [`consumer_config`] if new).
async fn bind(
    js: &jetstream::Context,
    stream: &str,
    config: &DurableConfig,
) -> Result<consumer::PullConsumer, BusError> {
    let fail = |e: &dyn std::fmt::Display| {
        BusError::JetStream(format!("consumer {} on stream {stream}: {e}", config.name))
    };
    let stream = js.get_stream(stream).await.map_err(|e| fail(&e))?;
    stream
        .get_or_create_consumer(&config.name, consumer_config(config))
        .await
        .map_err(|e| fail(&e))
}

/// A third of the consumer's own ack wait (the first node's settings, not necessarily ours).
fn keep_alive(consumer: &consumer::PullConsumer) -> Duration {
    let config = &consumer.cached_info().config;
    let ack_wait = config.backoff.first().copied().unwrap_or(config.ack_wait);
    let ack_wait = if ack_wait.is_zero() {
        Duration::from_secs(30) // The server's default.
    } else {
        ack_wait
    };
    (ack_wait / 3).max(Duration::from_millis(50))
}

/// Hands this node's messages to `tx`, one at a time, until its reader goes away or the bus
/// stops; through NATS outages it binds again and goes on.
async fn feed(
    js: jetstream::Context,
    stream: String,
    config: DurableConfig,
    consumer: consumer::PullConsumer,
    tx: mpsc::Sender<Delivery>,
    stop: CancellationToken,
) {
    let wanted: Vec<&str> = config.kinds.iter().map(|k| k.as_str()).collect();
    let mut every = keep_alive(&consumer);
    let mut consumer = Some(consumer);
    let mut warned = false;
    loop {
        // A slot first: nothing is pulled while the reader still holds the last delivery.
        let permit = tokio::select! {
            _ = stop.cancelled() => return,
            permit = tx.reserve() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let bound = match consumer.take() {
            Some(bound) => Ok(bound),
            None => bind(&js, &stream, &config).await.inspect(|bound| {
                every = keep_alive(bound);
            }),
        };
        let pulled = match bound {
            Ok(bound) => {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tx.closed() => return,
                    next = pull_one(&bound) => next,
                };
                if next.is_ok() {
                    consumer = Some(bound);
                }
                next
            }
            Err(e) => Err(e.to_string()),
        };
        let message = match pulled {
            Ok(Some(message)) => message,
            Ok(None) => continue,
            Err(e) => {
                if !warned {
                    // Once per outage: the pull is retried every RETRY_PAUSE until NATS answers.
                    eprintln!(
                        "claimwatch: warning: consumer {} on stream {stream}: {e}; retrying",
                        config.name
                    );
                    warned = true;
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(RETRY_PAUSE) => {}
                }
                continue;
            }
        };
        warned = false;
        let Some(event) = wanted_event(&message, &wanted) else {
            // Not for this consumer (or not an event): done with it here. A lost ack only
            // brings it back to be skipped again.
            let _ = message.ack().await;
            continue;
        };
        let (done, handled) = oneshot::channel();
        permit.send(Delivery {
            event,
            message,
            keep_alive: every,
            _done: done,
        });
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = handled => {}
        }
    }
}

/// One message, or `None` when none came within [`PULL_EXPIRES`].
async fn pull_one(consumer: &consumer::PullConsumer) -> Result<Option<jetstream::Message>, String> {
    let mut batch = consumer
        .batch()
        .max_messages(1)
        .expires(PULL_EXPIRES)
        .messages()
        .await
        .map_err(|e| e.to_string())?;
    match batch.next().await {
        Some(Ok(message)) => Ok(Some(message)),
        Some(Err(e)) => Err(e.to_string()),
        None => Ok(None),
    }
}

/// The event in `message` when its kind is one of `wanted`; `None` for the others and for a
/// payload that is not an event (warned about, as the ordered consumers skip it).
fn wanted_event(message: &jetstream::Message, wanted: &[&str]) -> Option<Event> {
    let kind = codec::kind_of(&message.subject)?;
    if !wanted.contains(&kind) {
        return None;
    }
    let seq = match message.info() {
        Ok(info) => info.stream_sequence,
        Err(e) => {
            eprintln!(
                "claimwatch: warning: JetStream message on {}: {e}; skipped",
                message.subject
            );
            return None;
        }
    };
    match codec::decode(seq, &message.payload) {
        Ok(event) => Some(event),
        Err(e) => {
            eprintln!(
                "claimwatch: warning: JetStream message {seq} on {}: {e}; skipped",
                message.subject
            );
            None
        }
    }
}
