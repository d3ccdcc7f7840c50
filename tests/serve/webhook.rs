//! The webhook over TCP: every alert arrives once, in order, as the SSE JSON, despite a failing
//! first try; a receiver that never answers fills the queue, and the overflow is counted.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use claimwatch::sinks::webhook::{self, WebhookConfig};
use serde_json::Value;

use super::{alert, transcript, Options, Server, PATIENCE};

#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Value>>>,
    tries: Arc<Mutex<usize>>,
}

/// Fails every third try with a 503, records the others.
async fn flaky(State(r): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    let mut tries = r.tries.lock().unwrap();
    *tries += 1;
    if *tries % 3 == 1 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    r.bodies.lock().unwrap().push(body);
    StatusCode::NO_CONTENT
}

async fn never_answers() -> StatusCode {
    std::future::pending::<()>().await;
    StatusCode::OK
}

async fn start_receiver(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alert_is_posted_once_in_order_despite_failures() {
    let receiver = Receiver::default();
    let url = start_receiver(
        Router::new()
            .route("/hook", post(flaky))
            .with_state(receiver.clone()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let config = WebhookConfig {
        initial_backoff: Duration::from_millis(10),
        ..WebhookConfig::new(url)
    };
    let metrics = server.state.metrics.clone();
    let task = webhook::spawn(
        &server.hub,
        config,
        metrics.webhook.clone(),
        server.shutdown.clone(),
    )
    .unwrap();

    let mut sent = Vec::new();
    for i in 0..6 {
        sent.push(server.hub.publish("shop-1", alert(i)).unwrap());
        server
            .hub
            .publish("shop-1", transcript("not an alert"))
            .unwrap();
    }
    eventually("six alerts delivered", || {
        receiver.bodies.lock().unwrap().len() == 6
    })
    .await;
    let bodies = receiver.bodies.lock().unwrap().clone();
    assert_eq!(
        bodies,
        sent.iter().map(|e| e.wire_json()).collect::<Vec<_>>()
    );
    assert_eq!(metrics.webhook.sent.load(Ordering::Relaxed), 6);
    assert_eq!(metrics.webhook.failed.load(Ordering::Relaxed), 0);
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.lines().any(|l| l == "claimwatch_webhook_sent_total 6"),
        "{text}"
    );
    server.stop().await;
    tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts_while_publishing_goes_on() {
    let url = start_receiver(Router::new().route("/hook", post(never_answers))).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let config = WebhookConfig {
        queue: 1,
        timeout: Duration::from_secs(3600),
        ..WebhookConfig::new(url)
    };
    let metrics = server.state.metrics.clone();
    let task = webhook::spawn(
        &server.hub,
        config,
        metrics.webhook.clone(),
        server.shutdown.clone(),
    )
    .unwrap();
    // A receiver that never answers must not hold up publishing: the ten publishes finish (a
    // publish that waited on the webhook would never return, and this would fail, not hang).
    let hub = server.hub.clone();
    let publishing = tokio::task::spawn_blocking(move || {
        for i in 0..10 {
            hub.publish("shop-1", alert(i)).unwrap();
        }
    });
    tokio::time::timeout(PATIENCE, publishing)
        .await
        .expect("publishing finishes while the webhook receiver never answers")
        .unwrap();
    // One alert in flight, one queued at most: the other eight (or nine) are dropped.
    eventually("overflow counted", || {
        metrics.webhook.dropped.load(Ordering::Relaxed) >= 8
    })
    .await;
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dropped: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("claimwatch_webhook_dropped_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((8..=9).contains(&dropped), "{text}");
    // Shutdown does not wait for the receiver that never answers.
    server.stop().await;
    tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
}
