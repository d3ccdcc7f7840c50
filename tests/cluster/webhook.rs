//! The webhook once per cluster: every node runs the same webhook, a durable JetStream consumer,
//! against one real receiver on loopback. Each alert is POSTed by one node; a receiver that
//! fails tries still gets every alert, and no copy once it took one; a node killed while its
//! POST hangs leaves the alert to another node (same `Idempotency-Key`).
//!
//! Input: alerts (and escalations, among transcripts the webhook skips) published on the nodes.
//! Output checked: what the receiver got, by idempotency key and body, and the sinks' counters.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use claimwatch::detect::Severity;
use claimwatch::events::{Escalation, EventBody, EventBus, JetStreamBus};
use claimwatch::sinks::webhook::{self, WebhookConfig, IDEMPOTENCY_HEADER};
use claimwatch::sinks::SinkStats;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::nats::Nats;
use super::{node, PATIENCE};
use crate::serve::{alert, transcript};

/// What a receiver saw: every try, and the deliveries it took, as (idempotency key, body).
#[derive(Clone, Default)]
struct Receiver {
    took: Arc<Mutex<Vec<(String, Value)>>>,
    /// Tries by idempotency key, answered or not.
    tries: Arc<Mutex<BTreeMap<String, u32>>>,
    /// Each alert's first tries answered 500.
    fail_first: u32,
    /// The next try gets no answer at all (then this clears).
    hang_next: Arc<AtomicBool>,
}

impl Receiver {
    fn took(&self) -> Vec<(String, Value)> {
        self.took.lock().unwrap().clone()
    }

    /// Every delivery's key is its body's event id; returns the distinct ids.
    fn checked_ids(&self) -> BTreeSet<u64> {
        let took = self.took.lock().unwrap();
        for (key, body) in took.iter() {
            assert_eq!(key, &body["event_id"].to_string(), "{body}");
        }
        took.iter()
            .map(|(_, b)| b["event_id"].as_u64().unwrap())
            .collect()
    }

    fn tries(&self) -> BTreeMap<String, u32> {
        self.tries.lock().unwrap().clone()
    }
}

async fn record(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_string();
    let tries = {
        let mut tries = r.tries.lock().unwrap();
        let n = tries.entry(key.clone()).or_insert(0);
        *n += 1;
        *n
    };
    if r.hang_next.swap(false, Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    if tries <= r.fail_first {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let body: Value = serde_json::from_str(&body).unwrap();
    r.took.lock().unwrap().push((key, body));
    StatusCode::NO_CONTENT
}

/// Serves `receiver` on a loopback port; returns the webhook URL. Stops with the test's runtime.
async fn start_receiver(receiver: &Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/hook", post(record))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// Polls `done` until it holds (the webhook works in the background; no fixed sleeps).
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One node's webhook sink.
struct Sink {
    stats: Arc<SinkStats>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

fn start_sink(bus: &JetStreamBus, config: WebhookConfig, dir: &Path) -> Sink {
    let stats = Arc::new(SinkStats::default());
    let shutdown = CancellationToken::new();
    let task = webhook::spawn(bus, config, dir, stats.clone(), shutdown.clone()).unwrap();
    Sink {
        stats,
        shutdown,
        task,
    }
}

impl Sink {
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the sink stops")
            .unwrap();
    }
}

fn sent(sinks: &[Sink]) -> Vec<u64> {
    sinks
        .iter()
        .map(|s| s.stats.sent.load(Ordering::Relaxed))
        .collect()
}

fn escalation(alert_id: &str, alert_event_id: u64) -> EventBody {
    EventBody::Escalation(Escalation {
        alert_id: alert_id.into(),
        alert_event_id,
        count: 2,
        severity: Severity::Critical,
        comment_id: "c-2".into(),
        user: "viewer-9".into(),
    })
}

/// Three nodes, one receiver, no failures: every alert and escalation published (on any node,
/// among transcripts) reaches the receiver exactly once, with its event id as the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_post_each_alert_once() {
    let receiver = Receiver::default();
    let url = start_receiver(&receiver).await;
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("js"));
    let nodes: Vec<JetStreamBus> = ["a", "b", "c"]
        .iter()
        .map(|name| node(&nats, name, dir.path()))
        .collect();
    let sinks: Vec<Sink> = nodes
        .iter()
        .map(|bus| start_sink(bus, WebhookConfig::new(url.clone()), dir.path()))
        .collect();

    let started = Instant::now();
    let mut want = BTreeSet::new();
    let mut skipped = 0;
    for i in 0..24 {
        let bus = &nodes[i % nodes.len()];
        let event = bus.publish("shop-1", alert(i)).unwrap();
        want.insert(event.id);
        if i % 4 == 0 {
            let alert_id = event.alert().unwrap().id.clone();
            want.insert(
                bus.publish("shop-1", escalation(&alert_id, event.id))
                    .unwrap()
                    .id,
            );
        }
        for t in 0..5 {
            bus.publish("shop-1", transcript(&format!("t{i}-{t}")))
                .unwrap();
            skipped += 1;
        }
    }
    eventually("every alert and escalation delivered", || {
        receiver.checked_ids() == want
    })
    .await;
    eprintln!(
        "three nodes: {} deliveries among {skipped} skipped transcripts in {:?} (publishing \
         included), sent by node {:?}",
        want.len(),
        started.elapsed(),
        sent(&sinks)
    );
    for sink in sinks {
        sink.stop().await;
    }
    // Once each: no copy arrived, and the nodes' counters add up to one POST per event.
    assert_eq!(receiver.took().len(), want.len());
    let tries = receiver.tries();
    assert!(tries.values().all(|&n| n == 1), "{tries:?}");
    drop(nodes);
}

/// A receiver that answers 500 to each alert's first two tries, spaced wider than the ack wait:
/// each alert is still delivered, by one node (the one retrying keeps it), and once taken no
/// copy follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_tries_are_retried_by_the_node_holding_the_alert() {
    let receiver = Receiver {
        fail_first: 2,
        ..Receiver::default()
    };
    let url = start_receiver(&receiver).await;
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("js"));
    let nodes = [node(&nats, "a", dir.path()), node(&nats, "b", dir.path())];
    let ack_wait = Duration::from_secs(2);
    let config = WebhookConfig {
        ack_wait,
        // Tries 1.5 s apart: the third comes after the ack wait, so only the node's progress
        // messages keep the alert from going to the other node meanwhile.
        initial_backoff: Duration::from_millis(1500),
        max_backoff: Duration::from_millis(1500),
        ..WebhookConfig::new(url)
    };
    let sinks: Vec<Sink> = nodes
        .iter()
        .map(|bus| start_sink(bus, config.clone(), dir.path()))
        .collect();
    let want: BTreeSet<u64> = (0..4)
        .map(|i| nodes[i % 2].publish("shop-1", alert(i)).unwrap().id)
        .collect();
    eventually("every alert delivered despite the 500s", || {
        receiver.checked_ids() == want
    })
    .await;
    // Long enough for a redelivery to show if an ack had not been taken.
    tokio::time::sleep(ack_wait * 3).await;
    let counted: u64 = sent(&sinks).iter().sum();
    let failed: u64 = sinks
        .iter()
        .map(|s| s.stats.failed.load(Ordering::Relaxed))
        .sum();
    for sink in sinks {
        sink.stop().await;
    }
    let keys: Vec<String> = receiver.took().into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys.len(), want.len(), "{keys:?}");
    let tries = receiver.tries();
    assert!(tries.values().all(|&n| n == 3), "{tries:?}");
    assert_eq!((counted, failed), (want.len() as u64, 0));
}

/// Node A's POST hangs (the receiver never answers it); while A lives it keeps the alert, and
/// node B does not send it. A is killed (its sink task aborted, its bus dropped, nothing
/// acked or given back): B delivers the alert after the ack wait, with the same key, and goes
/// on delivering what comes next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_held_by_a_killed_node_is_delivered_by_another() {
    let receiver = Receiver::default();
    receiver.hang_next.store(true, Ordering::SeqCst);
    let url = start_receiver(&receiver).await;
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("js"));
    let a = node(&nats, "a", dir.path());
    let b = node(&nats, "b", dir.path());
    let ack_wait = Duration::from_secs(2);
    let config = WebhookConfig {
        ack_wait,
        timeout: Duration::from_secs(3600),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        ..WebhookConfig::new(url)
    };
    // A alone first, so the hanging POST is A's.
    let sink_a = start_sink(&a, config.clone(), dir.path());
    let held = a.publish("shop-1", alert(0)).unwrap().id;
    let key = held.to_string();
    eventually("A's POST is under way", || {
        receiver.tries().contains_key(&key)
    })
    .await;
    let sink_b = start_sink(&b, config.clone(), dir.path());
    // A's progress messages keep the alert with A for longer than the ack wait.
    tokio::time::sleep(ack_wait * 3).await;
    assert_eq!(receiver.tries().get(&key), Some(&1), "B took A's alert");

    // Killed: no ack, no release, connection gone.
    sink_a.task.abort();
    let _ = sink_a.task.await;
    drop(a);
    let mut want = BTreeSet::from([held]);
    for i in 1..4 {
        want.insert(b.publish("shop-1", alert(i)).unwrap().id);
    }
    eventually("B delivers A's alert and the later ones", || {
        receiver.checked_ids() == want
    })
    .await;
    assert_eq!(receiver.tries()[&key], 2, "one hung try (A's), one by B");
    assert_eq!(sink_b.stats.sent.load(Ordering::Relaxed), want.len() as u64);
    sink_b.stop().await;
    // At least once: every id, and every copy under its own key (checked_ids checks the keys).
    assert!(receiver.took().len() >= want.len());
}

/// Node A's POST hangs and A shuts down (cancelled, as on SIGTERM): A gives the alert back, so
/// node B delivers it long before the ack wait (an hour here) would have handed it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_shutting_down_gives_its_alert_back() {
    let receiver = Receiver::default();
    receiver.hang_next.store(true, Ordering::SeqCst);
    let url = start_receiver(&receiver).await;
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("js"));
    let a = node(&nats, "a", dir.path());
    let b = node(&nats, "b", dir.path());
    let config = WebhookConfig {
        ack_wait: Duration::from_secs(3600),
        timeout: Duration::from_secs(3600),
        ..WebhookConfig::new(url)
    };
    let sink_a = start_sink(&a, config.clone(), dir.path());
    let held = a.publish("shop-1", alert(0)).unwrap().id;
    let key = held.to_string();
    eventually("A's POST is under way", || {
        receiver.tries().contains_key(&key)
    })
    .await;
    let sink_b = start_sink(&b, config, dir.path());
    sink_a.stop().await;
    eventually("B delivers the alert A gave back", || {
        receiver.checked_ids() == BTreeSet::from([held])
    })
    .await;
    assert_eq!(receiver.tries()[&key], 2, "one hung try (A's), one by B");
    sink_b.stop().await;
}
