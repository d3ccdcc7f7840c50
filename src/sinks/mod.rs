//! Sinks: consumers of the [event bus](crate::events) that deliver events somewhere else (a
//! webhook today), at least once. Each sink reads the bus like any other subscriber; the
//! pipeline never knows it exists.
//!
//! Input: events from the bus, one of two ways. Output: whatever the [`Sink`] does with them,
//! counted in its [`SinkStats`].
//!
//! - One process (the local hub): [`spawn`] subscribes from the sink's persisted [`Cursor`]
//!   before returning (so nothing published after it is missed, and what the last run had not
//!   delivered comes first), delivers accepted events one at a time in id order, and moves the
//!   cursor past each. The subscription is the queue: a slow or dead receiver never slows
//!   publishing (the subscription falls behind and re-reads from memory or the log's files) and
//!   nothing is dropped. On shutdown the cursor is saved; an event being delivered then is
//!   delivered again after the next start.
//! - A cluster (`serve --nats`): [`spawn_durable`] takes this node's share of a durable consumer
//!   every node binds to ([`EventBus::durable`]), so each event goes to one node at a time and is
//!   delivered once per cluster, at least once: it is acked only after the sink is done with it
//!   (delivered, or refused for good), kept alive while the sink retries, and given back on
//!   shutdown; a node killed mid-delivery leaves it unacked and another node delivers it after
//!   the ack wait (a copy the receiver may already have: same event id). Each node delivers in
//!   id order, one at a time; nodes work side by side, so across the cluster the order is not
//!   strictly kept. The position is the consumer's, on the NATS server: no cursor file.
//!
//! - [`webhook`]: POSTs alerts to a URL (the reqwest adapter).
//! - [`cursor`]: the persisted "delivered up to event id" of one sink.

pub mod cursor;
pub mod webhook;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use cursor::{Cursor, CursorError};

use crate::events::{Delivery, Event, EventBus};

/// Counters of one sink, read by `/metrics`.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Events delivered.
    pub sent: AtomicU64,
    /// Events the sink gave up on (a receiver that refuses them for good).
    pub failed: AtomicU64,
    /// Events dropped without a try. Stays 0 since sinks read from a cursor instead of a
    /// bounded queue; kept so `/metrics` keeps the series.
    pub dropped: AtomicU64,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SinkStats>();
};

/// Something that takes events off the bus.
pub trait Sink: Send + Sync + 'static {
    /// For messages: "webhook https://…".
    fn name(&self) -> String;
    /// Whether this sink takes `event` at all (the webhook takes alerts only).
    fn accepts(&self, event: &Event) -> bool;
    /// Delivers one event, retrying as the sink sees fit; `Err` is why it gave up for good.
    fn deliver(&self, event: &Event) -> impl Future<Output = Result<(), String>> + Send;
}

/// Events handled without a delivery (not for this sink) between two cursor saves.
const SAVE_EVERY_SKIPPED: u64 = 1024;

/// Starts `sink` on the events after `cursor`, then on those published from now on. Needs a
/// tokio runtime. The handle ends after `shutdown` is cancelled, with the cursor saved.
pub fn spawn<S: Sink>(
    bus: &dyn EventBus,
    sink: S,
    mut cursor: Cursor,
    stats: Arc<SinkStats>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    // Subscribed here, not in the task, so every event published after `spawn` returns is seen.
    let events = bus.subscribe(None, Some(cursor.delivered()));
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                event = events.next() => match event {
                    Some(event) => event,
                    None => break,
                },
            };
            if sink.accepts(&event) {
                let outcome = tokio::select! {
                    // Not delivered, cursor not moved: sent after the next start.
                    () = shutdown.cancelled() => break,
                    outcome = sink.deliver(&event) => outcome,
                };
                count(&sink, &stats, event.id, outcome);
                cursor.advance(event.id);
                save(&mut cursor, &sink);
            } else {
                cursor.advance(event.id);
                if cursor.unsaved() >= SAVE_EVERY_SKIPPED {
                    save(&mut cursor, &sink);
                }
            }
        }
        save(&mut cursor, &sink);
    })
}

/// Starts `sink` on this node's share of a cluster-wide durable consumer (`deliveries`, from
/// [`EventBus::durable`]). Needs a tokio runtime. The handle ends after `shutdown` is cancelled
/// (an event being delivered then is given back to the cluster) or when `deliveries` ends.
pub fn spawn_durable<S: Sink>(
    deliveries: BoxStream<'static, Delivery>,
    sink: S,
    stats: Arc<SinkStats>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut deliveries = deliveries;
        loop {
            let delivery = tokio::select! {
                () = shutdown.cancelled() => break,
                delivery = deliveries.next() => match delivery {
                    Some(delivery) => delivery,
                    None => break,
                },
            };
            if sink.accepts(&delivery.event) {
                let outcome = tokio::select! {
                    () = shutdown.cancelled() => None,
                    outcome = delivery.hold(sink.deliver(&delivery.event)) => Some(outcome),
                };
                let Some(outcome) = outcome else {
                    // Not delivered: another node (or this one after its restart) takes it.
                    delivery.release().await;
                    break;
                };
                count(&sink, &stats, delivery.event.id, outcome);
            }
            if let Err(e) = delivery.ack().await {
                // The event comes again (same id, so the receiver can drop the copy).
                eprintln!("claimwatch: warning: {}: {e}", sink.name());
            }
        }
    })
}

/// Counts one delivery's outcome; a refusal for good is worth a line.
fn count<S: Sink>(sink: &S, stats: &SinkStats, id: u64, outcome: Result<(), String>) {
    match outcome {
        Ok(()) => {
            stats.sent.fetch_add(1, Ordering::Relaxed);
        }
        Err(reason) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "claimwatch: warning: {}: gave up on event {id}: {reason}",
                sink.name()
            );
        }
    }
}

/// A cursor that cannot be written costs re-sent events after a restart, not lost ones: warn
/// and go on delivering.
fn save<S: Sink>(cursor: &mut Cursor, sink: &S) {
    if let Err(e) = cursor.save() {
        eprintln!(
            "claimwatch: warning: {}: saving its position: {:#}",
            sink.name(),
            anyhow::Error::from(e)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventBody, Hub, SourceState, StreamStatus};
    use std::sync::Mutex;
    use std::time::Duration;

    /// Fails on odd ids; records what it delivered; waits on `gate` before each delivery.
    struct Recorder {
        gate: Arc<tokio::sync::Semaphore>,
        delivered: Arc<Mutex<Vec<u64>>>,
    }

    impl Sink for Recorder {
        fn name(&self) -> String {
            "recorder".into()
        }
        fn accepts(&self, event: &Event) -> bool {
            event.stream != "ignored"
        }
        async fn deliver(&self, event: &Event) -> Result<(), String> {
            let _permit = self.gate.acquire().await.map_err(|e| e.to_string())?;
            if event.id % 2 == 1 {
                return Err("odd".into());
            }
            self.delivered.lock().unwrap().push(event.id);
            Ok(())
        }
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

    async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn counts_delivered_and_failed_and_moves_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        let recorder = Recorder {
            gate: Arc::new(tokio::sync::Semaphore::new(1_000)),
            delivered: Arc::default(),
        };
        let delivered = recorder.delivered.clone();
        let stats = Arc::new(SinkStats::default());
        let shutdown = CancellationToken::new();
        let cursor = Cursor::open(dir.path(), "recorder", 0).unwrap();
        let handle = spawn(&hub, recorder, cursor, stats.clone(), shutdown.clone());
        hub.publish("ignored", status()).unwrap(); // 1
        for _ in 0..4 {
            hub.publish("a", status()).unwrap(); // 2..=5: 2 and 4 succeed, 3 and 5 fail
        }
        eventually("four tries", || {
            stats.sent.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) == 4
        })
        .await;
        shutdown.cancel();
        handle.await.unwrap();
        assert_eq!(*delivered.lock().unwrap(), [2, 4]);
        assert_eq!(stats.failed.load(Ordering::Relaxed), 2);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 0);
        drop(hub);
        assert_eq!(
            Cursor::open(dir.path(), "recorder", 0).unwrap().delivered(),
            5
        );
    }

    #[tokio::test]
    async fn what_shutdown_interrupts_is_delivered_after_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        let delivered: Arc<Mutex<Vec<u64>>> = Arc::default();
        // First run: a gate that never opens, so nothing gets through before shutdown.
        let stuck = Recorder {
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
            delivered: delivered.clone(),
        };
        let stats = Arc::new(SinkStats::default());
        let shutdown = CancellationToken::new();
        let cursor = Cursor::open(dir.path(), "recorder", 0).unwrap();
        let handle = spawn(&hub, stuck, cursor, stats.clone(), shutdown.clone());
        for _ in 0..6 {
            hub.publish("a", status()).unwrap(); // 1..=6
        }
        shutdown.cancel();
        handle.await.unwrap();
        assert!(delivered.lock().unwrap().is_empty());
        assert_eq!(
            Cursor::open(dir.path(), "recorder", 99)
                .unwrap()
                .delivered(),
            0
        );

        // Next start: the cursor says nothing was delivered, so everything comes again.
        let open = Recorder {
            gate: Arc::new(tokio::sync::Semaphore::new(1_000)),
            delivered: delivered.clone(),
        };
        let shutdown = CancellationToken::new();
        let cursor = Cursor::open(dir.path(), "recorder", 99).unwrap();
        let handle = spawn(&hub, open, cursor, stats.clone(), shutdown.clone());
        eventually("six tries", || {
            stats.sent.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) == 6
        })
        .await;
        shutdown.cancel();
        handle.await.unwrap();
        assert_eq!(*delivered.lock().unwrap(), [2, 4, 6]);
    }
}
