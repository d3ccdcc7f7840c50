//! The cluster's event bus ([`JetStreamBus`]) against a real `nats-server -js` on loopback:
//! two nodes on one history, a node restarted, a message published twice, NATS itself
//! restarted, and `claimwatch serve --nats` as a user runs it.
//!
//! Input: events published on one node. Output checked: what the other node's subscribers and
//! queries see (ids, order, content), and what survives restarts.

mod failover;
mod nats;
mod radio;
mod serve;
mod webhook;

use std::path::Path;
use std::time::{Duration, Instant};

use claimwatch::events::{
    ChatComment, Decision, Event, EventBus, JetStreamBus, JetStreamConfig, ReviewError, ReviewState,
};
use futures_util::{Stream, StreamExt};

use crate::serve::{alert, transcript};
use nats::Nats;

/// Upper bound for anything a test waits for; never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(60);

fn node(nats: &Nats, name: &str, dir: &Path) -> JetStreamBus {
    JetStreamBus::connect(JetStreamConfig::new(&nats.url(), name, dir.join(name))).unwrap()
}

fn ids(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.id).collect()
}

async fn take(stream: impl Stream<Item = Event>, n: usize) -> Vec<Event> {
    let got = tokio::time::timeout(PATIENCE, stream.take(n).collect::<Vec<_>>())
        .await
        .expect("events in time");
    assert_eq!(got.len(), n);
    got
}

/// Waits until `done` holds (another node's view catching up).
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "not within {PATIENCE:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What node A publishes, node B's subscribers get in order with the same ids and content;
/// a subscriber resuming from a Last-Event-ID on one stream misses nothing of it; B's queries
/// answer the same as A's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_history_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("js"));
    let a = node(&nats, "a", dir.path());
    let b = node(&nats, "b", dir.path());
    let from_start = b.subscribe(None, Some(0));
    let live_only = b.subscribe(None, None);
    let mut published = Vec::new();
    // (publishing node, stream, body): both nodes write, interleaved.
    for i in 0..30 {
        let bus = if i % 3 == 0 { &b } else { &a };
        let stream = if i % 2 == 0 { "s1" } else { "s2" };
        let body = if i % 4 == 0 {
            alert(i)
        } else {
            transcript(&format!("t{i}"))
        };
        published.push(bus.publish(stream, body).unwrap());
    }
    let want: Vec<u64> = (1..=30).collect();
    assert_eq!(ids(&published), want, "ids are the JetStream sequence");
    for event in &published {
        if let Some(alert) = event.alert() {
            assert_eq!(alert.id, format!("{}-{}", event.stream, event.id));
        }
    }
    assert_eq!(take(from_start, 30).await, published);
    assert_eq!(take(live_only, 30).await, published);

    // Resume on one stream after its 3rd event: the rest of that stream, nothing else.
    let s1: Vec<Event> = published
        .iter()
        .filter(|e| e.stream == "s1")
        .cloned()
        .collect();
    let resumed = a.subscribe(Some("s1".into()), Some(s1[2].id));
    assert_eq!(take(resumed, s1.len() - 3).await, s1[3..]);

    eventually("b's view holds a's alerts", || {
        b.alerts(None, None, None).len() == a.alerts(None, None, None).len()
    });
    assert_eq!(b.alerts(None, None, None), a.alerts(None, None, None));
    assert_eq!(
        ids(&b.alerts(None, None, None)),
        [1, 5, 9, 13, 17, 21, 25, 29]
    );
    assert_eq!(b.transcript("s2"), a.transcript("s2"));
    assert_eq!(a.alert_counts(), b.alert_counts());
    assert_eq!((a.next_id(), b.next_id()), (31, 31));
}

fn decide(state: ReviewState, by: &str, expected: Option<ReviewState>) -> Decision {
    Decision {
        state,
        note: None,
        by: by.into(),
        expected,
    }
}

/// Two nodes deciding on the same alerts at once, both expecting `new`: for each alert exactly
/// one decision is recorded and the other is refused as a conflict (the per-alert subject's
/// expected last sequence). A node started again rebuilds alerts and reviews from the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_are_ordered_across_nodes_and_a_restarted_node_rebuilds_its_view() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("js"));
    let a = node(&nats, "a", dir.path());
    let b = node(&nats, "b", dir.path());
    let alerts: Vec<String> = (0..8)
        .map(|i| {
            let event = a.publish("shop", alert(i)).unwrap();
            event.alert().unwrap().id.clone()
        })
        .collect();
    eventually("b sees the alerts", || {
        b.alerts(None, None, None).len() == alerts.len()
    });
    let race = |bus: JetStreamBus, who: &'static str, state: ReviewState| {
        let alerts = alerts.clone();
        std::thread::spawn(move || {
            alerts
                .iter()
                .map(
                    |id| match bus.review(id, decide(state, who, Some(ReviewState::New))) {
                        Ok(_) => true,
                        Err(ReviewError::Refused(e)) => {
                            assert!(e.to_string().contains("not new"), "{e}");
                            false
                        }
                        Err(e) => panic!("{id}: {e}"),
                    },
                )
                .collect::<Vec<bool>>()
        })
    };
    let by_a = race(a.clone(), "alice", ReviewState::Confirmed);
    let by_b = race(b.clone(), "bob", ReviewState::Dismissed);
    let (by_a, by_b) = (by_a.join().unwrap(), by_b.join().unwrap());
    for (i, (x, y)) in by_a.iter().zip(&by_b).enumerate() {
        assert!(x ^ y, "alert {}: alice {x}, bob {y}", alerts[i]);
    }
    let won_by_a = by_a.iter().filter(|&&x| x).count() as u64;
    eventually("both views hold every decision", || {
        a.review_counts().values().sum::<u64>() == 8 && b.review_counts().values().sum::<u64>() == 8
    });
    let states = a.review_states();
    assert_eq!(
        (
            states[&ReviewState::Confirmed],
            states[&ReviewState::Dismissed]
        ),
        (won_by_a, 8 - won_by_a)
    );
    let before = a.reviewed_alerts(&Default::default());
    assert_eq!(b.reviewed_alerts(&Default::default()), before);

    // A node that stops and starts again reads it all back.
    drop(a);
    let a = node(&nats, "a", dir.path());
    assert_eq!(a.reviewed_alerts(&Default::default()), before);
    assert_eq!(a.review_counts(), b.review_counts());
    // The rules still apply to the rebuilt state.
    let err = a
        .review(&alerts[0], decide(ReviewState::Acknowledged, "carol", None))
        .unwrap_err();
    assert!(err.to_string().contains("already"), "{err}");
}

/// The server stores a message once per `Nats-Msg-Id` (a publish retried after a lost ack),
/// and a comment taken on two nodes is taken once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_published_event_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("js"));
    let a = node(&nats, "a", dir.path());
    let b = node(&nats, "b", dir.path());
    let (first, duplicate) = a.publish_with_id("shop", alert(0), "retry-1").unwrap();
    assert!(!duplicate);
    let (again, duplicate) = b.publish_with_id("shop", alert(0), "retry-1").unwrap();
    assert!(duplicate);
    assert_eq!(again.id, first.id);
    let next = a.publish("shop", transcript("after")).unwrap();
    assert_eq!(next.id, first.id + 1, "the duplicate used no sequence");
    eventually("b's view", || b.next_id() == next.id + 1);
    assert_eq!(ids(&b.alerts(None, None, None)), [first.id]);

    let comment = ChatComment {
        id: "c-1".into(),
        user: "viewer".into(),
        text: "hello".into(),
        posted_at: None,
        from_seller: false,
    };
    // (node, taken): the second node may not have seen the first's comment yet; the server's
    // deduplication stands in.
    assert!(a
        .publish_comment("shop", comment.clone())
        .unwrap()
        .is_some());
    assert!(b
        .publish_comment("shop", comment.clone())
        .unwrap()
        .is_none());
    assert!(a.publish_comment("shop", comment).unwrap().is_none());
    eventually("both views", || {
        a.comment_counts().get("shop") == Some(&1) && b.comment_counts().get("shop") == Some(&1)
    });
}

/// NATS killed and started again with its store kept: the nodes reconnect, a publish during
/// the outage goes through once the server is back, a live subscriber misses nothing, and a
/// new node reads the whole history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restarted_with_its_store_and_the_nodes_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = Nats::start(&dir.path().join("js"));
    let a = node(&nats, "a", dir.path());
    let b = node(&nats, "b", dir.path());
    let watching = b.subscribe(Some("shop".into()), None);
    let mut published: Vec<Event> = (0..3)
        .map(|i| a.publish("shop", alert(i)).unwrap())
        .collect();

    nats.restart();
    // Published while the client may still be reconnecting: retried until the server is back.
    let writer = {
        let a = a.clone();
        std::thread::spawn(move || {
            (3..6)
                .map(|i| a.publish("shop", alert(i)).unwrap())
                .collect::<Vec<_>>()
        })
    };
    published.extend(writer.join().unwrap());
    assert_eq!(ids(&published), (1..=6).collect::<Vec<_>>());
    assert_eq!(take(watching, 6).await, published);
    eventually("b's view after the restart", || {
        b.alerts(None, None, None).len() == 6
    });
    let c = node(&nats, "c", dir.path());
    assert_eq!(c.alerts(None, None, None), a.alerts(None, None, None));
    assert_eq!(
        ids(&c.alerts(None, None, None)),
        (1..=6).collect::<Vec<_>>()
    );
    // And the history goes on with the next sequence.
    assert_eq!(b.publish("shop", transcript("x")).unwrap().id, 7);
}

/// A server that cannot be reached, or has no JetStream, is one clear error.
#[test]
fn no_server_or_no_jetstream_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let plain = Nats::start_without_jetstream(&dir.path().join("js"));
    let unreachable = {
        // A port nothing listens on: the plain server's, once it is gone.
        let gone = Nats::start_without_jetstream(&dir.path().join("x"));
        gone.url()
    };
    let plain_url = plain.url();
    // (url, words)
    let cases = [
        (unreachable.as_str(), "cannot reach"),
        (plain_url.as_str(), "has no JetStream"),
    ];
    for (url, words) in cases {
        let config = JetStreamConfig {
            connect_timeout: Duration::from_secs(2),
            ..JetStreamConfig::new(url, "a", dir.path().to_path_buf())
        };
        let err = JetStreamBus::connect(config).unwrap_err().to_string();
        assert!(err.contains(words) && !err.contains('\n'), "{url}: {err}");
    }
}

/// `--nats` takes the servers of a NATS cluster comma-separated: with one of them down, the node
/// connects through another (the client tries them in random order; a list used to be parsed as
/// one URL and refused).
#[test]
fn a_comma_separated_server_list_connects_past_a_server_that_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("js"));
    let down = {
        let gone = Nats::start_without_jetstream(&dir.path().join("x"));
        gone.url()
    };
    let list = format!("{down}, {}", nats.url());
    let config = JetStreamConfig {
        connect_timeout: Duration::from_secs(2),
        ..JetStreamConfig::new(&list, "a", dir.path().join("a"))
    };
    let bus = JetStreamBus::connect(config).unwrap();
    let event = bus.publish("s1", transcript("hello")).unwrap();
    assert_eq!(event.id, 1);
}

/// What the review ordering rests on, asked of the server itself (Debian's 2.9.10 included):
/// a message on a review subject with `Nats-Expected-Last-Subject-Sequence` is refused once
/// that subject moved past it, and 0 means "no message on the subject yet".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_a_stale_expected_last_subject_sequence() {
    use async_nats::jetstream::{context::PublishErrorKind, message::PublishMessage};
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(&dir.path().join("js"));
    // The bus creates the stream.
    let _a = node(&nats, "a", dir.path());
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let subject = "claimwatch.events.shop.review.1";
    let send = |expected: u64| {
        let js = js.clone();
        async move {
            let message = PublishMessage::build()
                .payload("x".into())
                .expected_last_subject_sequence(expected);
            js.send_publish(subject, message).await.unwrap().await
        }
    };
    let first = send(0).await.unwrap();
    // (expected last sequence, accepted)
    let cases = [
        (0, false),
        (first.sequence + 7, false),
        (first.sequence, true),
    ];
    for (expected, accepted) in cases {
        match send(expected).await {
            Ok(_) => assert!(accepted, "{expected}"),
            Err(e) => {
                assert!(!accepted, "{expected}: {e}");
                assert_eq!(e.kind(), PublishErrorKind::WrongLastSequence, "{e}");
            }
        }
    }
}
