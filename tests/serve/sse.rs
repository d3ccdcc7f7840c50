//! SSE over TCP: round trip, replay after a disconnect, restart on the same data directory, a
//! client that stops reading, heartbeats, shutdown with streams open, the cap on clients and
//! 404 for a stream nobody knows.

use std::time::Duration;

use claimwatch::events::{EventBody, HubLimits, SourceState};
use serde_json::Value;

use super::client::{RawSse, SseClient};
use super::{alert, demo_alerts, status, transcript, Options, Server, PATIENCE};
use crate::source::bounded::join_within;

fn ids(events: &[super::client::SseEvent]) -> Vec<u64> {
    events.iter().map(|e| e.id.expect("event id")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_round_trip_as_sse_with_the_alert_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    server.attach("shop-2");
    let mut all = SseClient::connect(&server.url("/events"), &[]).await;
    let mut shop2 = SseClient::connect(&server.url("/streams/shop-2/events"), &[]).await;

    // Published from a plain thread, as the pipeline does.
    let hub = server.hub.clone();
    let published = std::thread::spawn(move || {
        let mut out = Vec::new();
        for i in 0..demo_alerts().len() {
            let stream = if i % 2 == 0 { "shop-1" } else { "shop-2" };
            out.push(hub.publish(stream, alert(i)).unwrap());
        }
        out.push(
            hub.publish("shop-2", transcript("しかもこれ、日本製なんです。"))
                .unwrap(),
        );
        out.push(hub.publish("shop-1", status(SourceState::Down)).unwrap());
        out
    });
    let published = join_within(published, PATIENCE, "publishing from a plain thread");

    let got = all.take(published.len()).await;
    assert_eq!(
        ids(&got),
        published.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    for (sse, event) in got.iter().zip(&published) {
        assert_eq!(sse.event, event.kind().as_str());
        assert_eq!(sse.json(), event.wire_json());
    }
    // An alert's data is the detector's alert JSON plus stream, at and the event id.
    let first = got[0].json();
    let EventBody::Alert(a) = &published[0].body else {
        unreachable!()
    };
    assert_eq!(first["category"], a.category.as_str());
    assert_eq!(first["start_s"], a.start_s.unwrap());
    assert_eq!(first["text"], a.text.as_str());
    assert_eq!(first["stream"], "shop-1");
    assert_eq!(first["event_id"], published[0].id);
    assert!(first["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(got.last().unwrap().json()["state"], "down");

    let only = shop2
        .take(published.iter().filter(|e| e.stream == "shop-2").count())
        .await;
    assert!(only.iter().all(|e| e.json()["stream"] == "shop-2"));
    assert_eq!(only.last().unwrap().event, "transcript");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_client_resumes_after_its_last_event_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let mut client = SseClient::connect(&server.url("/events"), &[]).await;
    for i in 0..5 {
        server.hub.publish("shop-1", alert(i)).unwrap();
    }
    let seen = client.take(3).await;
    let last = seen.last().unwrap().id.unwrap();
    drop(client); // disconnect mid-stream
    for i in 5..9 {
        server.hub.publish("shop-1", alert(i)).unwrap();
    }

    // The header a browser's EventSource sends on reconnect.
    let header = last.to_string();
    let mut again = SseClient::connect(
        &server.url("/events"),
        &[("Last-Event-ID", header.as_str())],
    )
    .await;
    let rest = again.take(6).await;
    assert_eq!(ids(&rest), (last + 1..=9).collect::<Vec<_>>());
    // No duplicate afterwards: the next event is a new one.
    server.hub.publish("shop-1", alert(9)).unwrap();
    assert_eq!(again.take(1).await[0].id, Some(10));

    // The query parameter for curl users; 0 replays everything.
    let mut curl = SseClient::connect(&server.url("/events?last_event_id=0"), &[]).await;
    assert_eq!(ids(&curl.take(10).await), (1..=10).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_on_the_same_data_dir_keeps_alerts_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    for i in 0..4 {
        server.hub.publish("shop-1", alert(i)).unwrap();
        server
            .hub
            .publish("shop-1", transcript(&format!("line {i}")))
            .unwrap();
    }
    let before: Value = super::http()
        .get(server.url("/alerts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before.as_array().unwrap().len(), 4);
    server.stop().await;

    let server = Server::start(dir.path(), Options::default()).await;
    let after: Value = super::http()
        .get(server.url("/alerts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after, before);
    let transcript: Value = super::http()
        .get(server.url("/streams/shop-1/transcript"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(transcript.as_array().unwrap().len(), 4);
    let next = server.hub.publish("shop-1", alert(4)).unwrap();
    assert_eq!(next.id, 9);
    let mut replay = SseClient::connect(&server.url("/events"), &[("Last-Event-ID", "0")]).await;
    assert_eq!(ids(&replay.take(9).await), (1..=9).collect::<Vec<_>>());
    let metrics = super::http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let total: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("claimwatch_alerts_total{stream=\"shop-1\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 5, "{metrics}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_blocks_nobody_and_later_gets_everything() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        limits: HubLimits {
            channel: 64,
            ..HubLimits::default()
        },
        ..Options::default()
    };
    let server = Server::start(dir.path(), options).await;
    // From id 0, so neither depends on when the server handles the request.
    let mut stalled = RawSse::open(server.addr, "/events?last_event_id=0").await;
    let mut reader = SseClient::connect(&server.url("/events?last_event_id=0"), &[]).await;

    // About 6 MB of events: far beyond the socket buffers of the stalled connection (4 KiB
    // receive, at most 4 MiB send) and the broadcast channel (64), with real alerts among them.
    let filler = "ライブ配信の文字起こし。".repeat(30);
    let hub = server.hub.clone();
    let publisher = std::thread::spawn(move || {
        let mut alerts = Vec::new();
        for i in 0..6_000 {
            if i % 30 == 0 {
                alerts.push(hub.publish("shop-1", alert(i / 30)).unwrap().id);
            } else {
                hub.publish("shop-1", transcript(&filler)).unwrap();
            }
        }
        alerts
    });
    // The reading client keeps up while the other is stuck, and publishing finishes.
    let live = reader.take(6_000).await;
    assert_eq!(ids(&live), (1..=6_000).collect::<Vec<_>>());
    let alert_ids = tokio::task::spawn_blocking(move || {
        join_within(publisher, PATIENCE, "publishing while a client is stuck")
    })
    .await
    .unwrap();
    assert_eq!(alert_ids.len(), 200);

    // The stalled client resumes and gets every event, alerts included, in order.
    let late = stalled.take(6_000).await;
    assert_eq!(ids(&late), (1..=6_000).collect::<Vec<_>>());
    let late_alerts: Vec<u64> = late
        .iter()
        .filter(|e| e.event == "alert")
        .map(|e| e.id.unwrap())
        .collect();
    assert_eq!(late_alerts, alert_ids);
    // It really fell behind (and the server caught it up from memory).
    assert!(server.hub.lag_recoveries() >= 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_streams_get_heartbeats_without_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        heartbeat: Duration::from_millis(200),
        ..Options::default()
    };
    let server = Server::start(dir.path(), options).await;
    let mut client = SseClient::connect(&server.url("/events"), &[]).await;
    let beat = client.next().await.unwrap();
    assert_eq!((beat.event.as_str(), beat.id), ("heartbeat", None));
    // A browser's EventSource dispatches only events with data.
    assert_eq!(beat.data, "{}");
    server.hub.publish("shop-1", alert(0)).unwrap();
    assert_eq!(client.take(1).await[0].id, Some(1));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams_and_serve_returns() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    server.attach("shop-1");
    let mut a = SseClient::connect(&server.url("/events"), &[]).await;
    let mut b = SseClient::connect(&server.url("/streams/shop-1/events"), &[]).await;
    server.hub.publish("shop-1", alert(0)).unwrap();
    a.take(1).await;
    b.take(1).await;
    let url = server.url("/healthz");
    tokio::time::timeout(PATIENCE, server.stop())
        .await
        .expect("shutdown does not hang on open SSE streams");
    assert_eq!(a.next().await, None);
    assert_eq!(b.next().await, None);
    assert!(
        super::http().get(url).send().await.is_err(),
        "no longer listening"
    );
}

/// The `claimwatch_sse_clients` gauge, read over HTTP.
async fn sse_clients(server: &Server) -> u64 {
    let text = super::http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("claimwatch_sse_clients "))
        .unwrap_or_else(|| panic!("no claimwatch_sse_clients in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// `--max-sse-clients 2`: a third client gets 503 with a JSON reason and `Retry-After`, other
/// requests are still served, and a client that goes away frees its slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_clients_are_capped_and_a_closed_client_frees_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        max_sse_clients: 2,
        // Heartbeats write to the socket, so a vanished client is noticed soon.
        heartbeat: Duration::from_millis(100),
        ..Options::default()
    };
    let server = Server::start(dir.path(), options).await;
    server.attach("shop-1");
    let first = SseClient::connect(&server.url("/events"), &[]).await;
    let mut second = SseClient::connect(&server.url("/streams/shop-1/events"), &[]).await;
    assert_eq!(sse_clients(&server).await, 2);

    for path in ["/events", "/streams/shop-1/events"] {
        let refused = super::http().get(server.url(path)).send().await.unwrap();
        assert_eq!(refused.status(), 503, "{path}");
        assert_eq!(refused.headers()["retry-after"], "5", "{path}");
        let body: Value = refused.json().await.unwrap();
        let reason = body["error"].as_str().unwrap();
        assert!(reason.contains("too many SSE clients: 2 of 2"), "{reason}");
    }
    let health = super::http()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "only event streams are capped");
    assert_eq!(
        sse_clients(&server).await,
        2,
        "refused clients hold no slot"
    );

    drop(first);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while sse_clients(&server).await > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed client still holds its slot after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut third = SseClient::connect(&server.url("/events"), &[]).await;
    server.hub.publish("shop-1", alert(0)).unwrap();
    assert_eq!(third.take(1).await[0].id, Some(1));
    assert_eq!(second.take(1).await[0].id, Some(1));
    server.stop().await;
}

/// `/streams/{id}/events` for an id never attached and not in the log is 404, not an event
/// stream that stays silent forever; an attached stream, or one only in the log, is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_an_unknown_stream_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let ghost = super::http()
        .get(server.url("/streams/ghost/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(ghost.status(), 404);
    let body: Value = ghost.json().await.unwrap();
    assert_eq!(body["error"], "no stream \"ghost\"");

    server.attach("shop-1");
    server.hub.publish("old-show", alert(1)).unwrap();
    let mut attached = SseClient::connect(&server.url("/streams/shop-1/events"), &[]).await;
    let mut logged = SseClient::connect(
        &server.url("/streams/old-show/events"),
        &[("Last-Event-ID", "0")],
    )
    .await;
    assert_eq!(logged.take(1).await[0].json()["stream"], "old-show");
    server.hub.publish("shop-1", alert(0)).unwrap();
    assert_eq!(attached.take(1).await[0].json()["stream"], "shop-1");
    server.stop().await;
}
