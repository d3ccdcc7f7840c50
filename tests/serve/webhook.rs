//! The webhook over TCP, at least once: every alert arrives in order as the SSE JSON with an
//! `Idempotency-Key` carrying its event id, despite failing tries; a receiver that is down while
//! alerts are raised gets them once it is back, or after a restart of the server; a receiver that
//! never answers holds up no publish and loses no alert.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use claimwatch::sinks::webhook::{self, WebhookConfig, IDEMPOTENCY_HEADER};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::{alert, transcript, Options, Server, PATIENCE};

/// What a receiver took: (idempotency key, body), in arrival order.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, Value)>>>,
    tries: Arc<Mutex<usize>>,
    /// Every third try answers 503.
    flaky: bool,
    /// While set, tries get no answer at all.
    hang: Arc<AtomicBool>,
}

impl Receiver {
    fn bodies(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Every delivery's key is its body's event id; returns the distinct ids.
    fn checked_ids(&self) -> BTreeSet<u64> {
        let got = self.got.lock().unwrap();
        for (key, body) in got.iter() {
            assert_eq!(key, &body["event_id"].to_string(), "{body}");
        }
        got.iter()
            .map(|(_, b)| b["event_id"].as_u64().unwrap())
            .collect()
    }
}

async fn record(
    State(r): State<Receiver>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    if r.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let mut tries = r.tries.lock().unwrap();
    *tries += 1;
    if r.flaky && *tries % 3 == 1 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_string();
    r.got.lock().unwrap().push((key, body));
    StatusCode::NO_CONTENT
}

/// Serves `router` on `listener`; the receiver stops with the test's runtime.
fn serve_on(listener: tokio::net::TcpListener, router: Router) {
    tokio::spawn(async move { axum::serve(listener, router).await });
}

async fn start_receiver(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    serve_on(listener, router);
    url
}

fn recording(receiver: &Receiver) -> Router {
    Router::new()
        .route("/hook", post(record))
        .with_state(receiver.clone())
}

/// Polls `done` until it holds (the webhook works in the background; no fixed sleeps).
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn fast(url: String) -> WebhookConfig {
    WebhookConfig {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        ..WebhookConfig::new(url)
    }
}

fn start_webhook(server: &Server, config: WebhookConfig, dir: &Path) -> JoinHandle<()> {
    webhook::spawn(
        &server.hub,
        config,
        dir,
        server.state.metrics.webhook.clone(),
        server.shutdown.clone(),
    )
    .unwrap()
}

async fn stop(server: Server, task: JoinHandle<()>) {
    server.stop().await;
    tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alert_is_posted_in_order_with_its_key_despite_failures() {
    let receiver = Receiver {
        flaky: true,
        ..Receiver::default()
    };
    let url = start_receiver(recording(&receiver)).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let task = start_webhook(&server, fast(url), dir.path());

    let mut sent = Vec::new();
    for i in 0..6 {
        sent.push(server.hub.publish("shop-1", alert(i)).unwrap());
        server
            .hub
            .publish("shop-1", transcript("not an alert"))
            .unwrap();
    }
    eventually("six alerts delivered", || receiver.bodies().len() == 6).await;
    assert_eq!(
        receiver.bodies(),
        sent.iter().map(|e| e.wire_json()).collect::<Vec<_>>()
    );
    assert_eq!(receiver.checked_ids().len(), 6);
    let metrics = server.state.metrics.clone();
    assert_eq!(metrics.webhook.sent.load(Ordering::Relaxed), 6);
    assert_eq!(metrics.webhook.failed.load(Ordering::Relaxed), 0);
    let text = super::http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.lines().any(|l| l == "claimwatch_webhook_sent_total 6"),
        "{text}"
    );
    stop(server, task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_gets_every_alert_once_it_is_back() {
    // A port nothing listens on (yet): tries are refused. The socket stays bound, without
    // listening, until the receiver comes back on it, so no other process can take the port in
    // between (binding a port, closing it and binding it again raced with other tests).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr: SocketAddr = socket.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let task = start_webhook(&server, fast(format!("http://{addr}/hook")), dir.path());
    let sent: BTreeSet<u64> = (0..4)
        .map(|i| server.hub.publish("shop-1", alert(i)).unwrap().id)
        .collect();

    let receiver = Receiver::default();
    let listener = socket.listen(128).unwrap();
    serve_on(listener, recording(&receiver));
    eventually("four alerts after the receiver came back", || {
        receiver.checked_ids() == sent
    })
    .await;
    // Refused tries were retried, not given up.
    assert_eq!(
        server.state.metrics.webhook.failed.load(Ordering::Relaxed),
        0
    );
    stop(server, task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_a_receiver_never_answered_are_sent_after_a_serve_restart() {
    let receiver = Receiver::default();
    receiver.hang.store(true, Ordering::SeqCst);
    let url = start_receiver(recording(&receiver)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = || WebhookConfig {
        timeout: Duration::from_secs(3600),
        ..fast(url.clone())
    };

    // First run: the receiver never answers. Publishing goes on regardless (a publish that
    // waited on the webhook would never return, and this would fail, not hang).
    let server = Server::start(dir.path(), Options::default()).await;
    let task = start_webhook(&server, config(), dir.path());
    let hub = server.hub.clone();
    let publishing = tokio::task::spawn_blocking(move || {
        (0..10)
            .map(|i| hub.publish("shop-1", alert(i)).unwrap().id)
            .collect::<BTreeSet<u64>>()
    });
    let sent = tokio::time::timeout(PATIENCE, publishing)
        .await
        .expect("publishing finishes while the webhook receiver never answers")
        .unwrap();
    // Shutdown does not wait for the receiver that never answers.
    stop(server, task).await;
    assert!(receiver.bodies().is_empty());

    // The receiver answers again; a new server on the same data directory resumes from the
    // webhook's cursor and sends all ten, keys unchanged.
    receiver.hang.store(false, Ordering::SeqCst);
    let server = Server::start(dir.path(), Options::default()).await;
    let task = start_webhook(&server, config(), dir.path());
    eventually("ten alerts after the restart", || {
        receiver.checked_ids() == sent
    })
    .await;
    // Nothing that was published after the restart is needed to trigger it, and nothing before
    // the webhook first started is sent: exactly the ten.
    assert_eq!(receiver.bodies().len(), 10);
    stop(server, task).await;
}
