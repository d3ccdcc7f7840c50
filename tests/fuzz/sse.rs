//! SSE and paging request heads → the real axum app (`claimwatch::serve::app`) over a real
//! [`Hub`] in a temporary data directory: `Last-Event-ID` values and query strings, generated
//! from boundary numbers and arbitrary visible bytes.
//!
//! The hub keeps only 4 alerts and 4 transcript lines in memory, so most replays read the
//! segment files. A 200 event stream is read until it has replayed the newest event in its scope
//! or a heartbeat says nothing more is queued; its ids must strictly increase and lie after the
//! `Last-Event-ID` asked for. Any other answer must be a 4xx with a one-line JSON error.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode};
use claimwatch::events::{Hub, HubLimits, SourceState};
use claimwatch::serve::{app, AppState};
use futures_util::StreamExt;
use proptest::prelude::*;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::{fuzz, Outcome, CI_CASES};
use crate::serve::client::parse_events;
use crate::serve::{alert, status, transcript, TestControl, PATIENCE};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    /// The newest event id of stream "shop", and of all streams.
    last_shop: u64,
    last_any: u64,
    _dir: tempfile::TempDir,
}

/// One hub shared by every case: 40 events on two streams, most only in the segment files.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // The hub spawns its log writer on the runtime it is opened in.
        let entered = runtime.enter();
        let dir = tempfile::tempdir().unwrap();
        let limits = HubLimits {
            alerts: 4,
            transcripts: 4,
            transcripts_per_stream: 4,
            statuses_per_stream: 2,
            ..HubLimits::default()
        };
        let hub = Hub::open_with(dir.path(), limits).unwrap();
        let (mut last_shop, mut last_any) = (0, 0);
        for i in 0..40 {
            let (stream, body) = match i % 4 {
                0 | 1 => ("shop", alert(i)),
                2 => ("other", transcript("今だけ半額です")),
                _ => ("shop", status(SourceState::Up)),
            };
            let event = hub.publish(stream, body).unwrap();
            last_any = event.id;
            if stream == "shop" {
                last_shop = event.id;
            }
        }
        hub.sync().unwrap();
        let mut state = AppState::new(
            Arc::new(hub),
            Arc::new(TestControl::default()),
            None,
            CancellationToken::new(),
        );
        // Only a marker for "the replay is over" below, never a measured time.
        state.heartbeat = Duration::from_millis(200);
        drop(entered);
        Fixture {
            runtime,
            state,
            last_shop,
            last_any,
            _dir: dir,
        }
    })
}

#[derive(Debug, Clone)]
struct Head {
    path: &'static str,
    query: String,
    last_event_id: Option<Vec<u8>>,
}

fn id_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (0u64..60).prop_map(|n| n.to_string().into_bytes()),
        1 => Just(u64::MAX.to_string().into_bytes()),
        1 => Just(b"18446744073709551616".to_vec()),
        1 => Just(b"99999999999999999999999999999999".to_vec()),
        1 => Just(b"-1".to_vec()),
        1 => Just(b"+5".to_vec()),
        1 => Just(b" 7 ".to_vec()),
        1 => Just(b"".to_vec()),
        1 => Just(b"0x10".to_vec()),
        1 => Just(b"1e3".to_vec()),
        // Any bytes a header value may carry (visible ASCII, tab, obs-text).
        4 => prop::collection::vec(
            prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff],
            0..40
        ),
    ]
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("last_event_id"),
        Just("after"),
        Just("since"),
        Just("limit"),
        Just("stream"),
        Just("category"),
        Just("x"),
    ];
    let value = prop_oneof![
        id_text().prop_map(|b| b.iter().map(|c| format!("%{c:02X}")).collect::<String>()),
        (0u64..60).prop_map(|n| n.to_string()),
        Just("shop".to_string()),
        Just("false_origin".to_string()),
        "[a-zA-Z0-9_.~%+-]{0,20}",
    ];
    prop_oneof![
        3 => Just(String::new()),
        4 => prop::collection::vec((key, value), 0..4).prop_map(|pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        }),
        1 => "[a-zA-Z0-9_=&%.+-]{0,40}",
    ]
}

fn head() -> impl Strategy<Value = Head> {
    let path = prop_oneof![
        Just("/events"),
        Just("/streams/shop/events"),
        Just("/streams/nope/events"),
        Just("/alerts"),
    ];
    (path, query(), prop::option::of(id_text())).prop_map(|(path, query, last_event_id)| Head {
        path,
        query,
        last_event_id,
    })
}

fn check(head: Head) -> Outcome {
    let fixture = fixture();
    fixture
        .runtime
        // The timer is made inside the runtime: `timeout` needs one when it is created.
        .block_on(async { tokio::time::timeout(PATIENCE, ask(fixture, head)).await })
        .expect("an answer within PATIENCE")
}

async fn ask(fixture: &Fixture, head: Head) -> Outcome {
    let uri = if head.query.is_empty() {
        head.path.to_string()
    } else {
        format!("{}?{}", head.path, head.query)
    };
    let mut request = Request::builder()
        .uri(&uri)
        .header("host", "127.0.0.1:8080");
    let mut asked_after = None;
    if let Some(value) = &head.last_event_id {
        let value = HeaderValue::from_bytes(value).expect("generated as a valid header value");
        asked_after = value
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        request = request.header("last-event-id", value);
    }
    let request = request
        .body(Body::empty())
        .expect("generated as a valid URI");
    let response = app(fixture.state.clone()).oneshot(request).await.unwrap();
    let code = response.status();
    let is_sse = head.path.ends_with("/events");
    if code == StatusCode::OK && is_sse {
        let newest = if head.path == "/events" {
            fixture.last_any
        } else {
            fixture.last_shop
        };
        let ids = replayed(response.into_body(), newest).await;
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids {ids:?}");
        if let (Some(after), Some(first)) = (asked_after, ids.first()) {
            assert!(*first > after, "asked after {after}, got {ids:?}");
        }
        return Outcome::Accepted;
    }
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: {code}: not JSON ({e}): {bytes:?}"));
    if code == StatusCode::OK {
        assert!(body.is_array(), "{uri}: {body}");
        return Outcome::Accepted;
    }
    assert!(
        code.is_client_error(),
        "{uri} {:?}: {code} {body}",
        head.last_event_id
    );
    Outcome::Refused(
        body["error"]
            .as_str()
            .expect("an error message")
            .to_string(),
    )
}

/// The ids of the events sent before the first heartbeat or up to `newest`.
async fn replayed(body: Body, newest: u64) -> Vec<u64> {
    let mut frames = body.into_data_stream();
    let mut buf = Vec::new();
    let mut ids = Vec::new();
    while let Some(frame) = frames.next().await {
        buf.extend_from_slice(&frame.unwrap());
        for event in parse_events(&mut buf) {
            if event.event == "heartbeat" {
                return ids;
            }
            serde_json::from_str::<Value>(&event.data).expect("event data is JSON");
            let id = event.id.expect("every event has an id");
            ids.push(id);
            if id >= newest {
                return ids;
            }
        }
    }
    panic!("the event stream ended by itself after {ids:?}");
}

#[test]
fn sse_and_paging_request_heads_never_panic() {
    fuzz("sse/alerts request heads", CI_CASES, head(), check);
}
