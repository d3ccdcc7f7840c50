//! Sinks: consumers of the [event bus](crate::events) that deliver events somewhere else (a
//! webhook today). Each sink reads the bus like any other subscriber; the pipeline never knows
//! it exists.
//!
//! Input: events from [`EventBus::subscribe`]. Output: whatever the [`Sink`] does with them,
//! counted in its [`SinkStats`].
//!
//! [`spawn`] holds what every sink needs: it subscribes before returning (so nothing published
//! after it is missed), keeps a bounded queue between the bus and the sink so a slow or dead
//! receiver never slows publishing (a full queue drops the event from this sink only; it stays
//! on the bus), and stops on the shutdown token.
//!
//! - [`webhook`]: POSTs alerts to a URL (the reqwest adapter).

pub mod webhook;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::events::{Event, EventBus};

/// Counters of one sink, read by `/metrics`.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Events delivered.
    pub sent: AtomicU64,
    /// Events the sink gave up on.
    pub failed: AtomicU64,
    /// Events dropped because the sink's queue was full.
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
    /// Delivers one event, retrying as the sink sees fit; `Err` is why it gave up.
    fn deliver(&self, event: &Event) -> impl Future<Output = Result<(), String>> + Send;
}

/// Starts `sink` on the events published from now on, `queue` of them buffered. Needs a tokio
/// runtime. The handle ends after `shutdown` is cancelled; events still queued then are not
/// delivered.
pub fn spawn<S: Sink>(
    bus: &dyn EventBus,
    sink: S,
    queue: usize,
    stats: Arc<SinkStats>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let queue = queue.max(1);
    let (tx, rx) = mpsc::channel::<Event>(queue);
    let sink = Arc::new(sink);
    // Subscribed here, not in the task, so every event published after `spawn` returns is seen.
    let events = bus.subscribe(None, None);
    let feeder_sink = sink.clone();
    let feeder_stats = stats.clone();
    let feeder_shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events.take_until(feeder_shutdown.cancelled_owned()));
        while let Some(event) = events.next().await {
            if !feeder_sink.accepts(&event) {
                continue;
            }
            match tx.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    let n = feeder_stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    eprintln!(
                        "claimwatch: warning: {}: queue full ({queue} events): event {} not delivered ({n} dropped so far)",
                        feeder_sink.name(),
                        event.id
                    );
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
    });
    tokio::spawn(deliver_loop(sink, rx, stats, shutdown))
}

async fn deliver_loop<S: Sink>(
    sink: Arc<S>,
    mut rx: mpsc::Receiver<Event>,
    stats: Arc<SinkStats>,
    shutdown: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = rx.recv() => match event {
                Some(event) => event,
                None => return,
            },
        };
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = sink.deliver(&event) => outcome,
        };
        match outcome {
            Ok(()) => {
                stats.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(reason) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "claimwatch: warning: {}: gave up on event {}: {reason}",
                    sink.name(),
                    event.id
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventBody, Hub, SourceState, StreamStatus};
    use std::time::Duration;

    /// Fails on odd ids to exercise the failure count; waits on `gate` before each delivery.
    struct Recorder {
        gate: tokio::sync::Semaphore,
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
                Err("odd".into())
            } else {
                Ok(())
            }
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

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        let recorder = Recorder {
            // Never opens: at most one event waits in `deliver`, the queue (2) holds two more,
            // the rest are dropped.
            gate: tokio::sync::Semaphore::new(0),
        };
        let stats = Arc::new(SinkStats::default());
        let shutdown = CancellationToken::new();
        let handle = spawn(&hub, recorder, 2, stats.clone(), shutdown.clone());
        hub.publish("ignored", status()).unwrap(); // 1: not accepted
        for _ in 0..6 {
            hub.publish("a", status()).unwrap(); // 2..=7
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while stats.dropped.load(Ordering::Relaxed) < 3 {
            assert!(tokio::time::Instant::now() < deadline, "feeder stalled");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        shutdown.cancel();
        handle.await.unwrap();
        // 3 when the deliverer took the first event off the queue before the feeder filled it,
        // 4 when it had not run yet: either way the feeder never waited.
        let dropped = stats.dropped.load(Ordering::Relaxed);
        assert!((3..=4).contains(&dropped), "{dropped}");
        // Nothing was delivered: the gate never opened before shutdown.
        assert_eq!(stats.sent.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn counts_delivered_and_failed() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        let recorder = Recorder {
            gate: tokio::sync::Semaphore::new(1_000),
        };
        let stats = Arc::new(SinkStats::default());
        let shutdown = CancellationToken::new();
        let handle = spawn(&hub, recorder, 16, stats.clone(), shutdown.clone());
        hub.publish("ignored", status()).unwrap(); // 1
        for _ in 0..4 {
            hub.publish("a", status()).unwrap(); // 2..=5: 2 and 4 succeed, 3 and 5 fail
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while stats.sent.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) < 4 {
            assert!(tokio::time::Instant::now() < deadline, "sink stalled");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        shutdown.cancel();
        handle.await.unwrap();
        assert_eq!(stats.sent.load(Ordering::Relaxed), 2);
        assert_eq!(stats.failed.load(Ordering::Relaxed), 2);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 0);
    }
}
