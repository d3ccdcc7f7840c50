//! What a consumer reads in live payloads (issue 14): when a claim was said (`said_at`), alert
//! ids unique across streams and restarts, a prompt `detached` status, statuses only on change,
//! rounded figures, and a lag that shows a stream waiting for the decoder as behind.
//!
//! Input: the real binary with tiny.en and real sample clips (tests/live/serve.rs's [`Serve`]),
//! and a real stream worker whose decoder turn is held by the test, as by a busy other stream.
//! Output checked: SSE events, `/streams`, `/alerts`, the worker's figures.

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claimwatch::audio;
use claimwatch::events::{Hub, SourceState};
use claimwatch::live::turns::DecodeTurns;
use claimwatch::source::SourceEvent;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::common::{self, repo};
use crate::live::serve::{alerts_of, clip, ended, is_end_of, summary, tempdir, Serve, PATIENCE};
use crate::serve::client::SseEvent;

/// Milliseconds since the epoch of an RFC 3339 UTC time as the server writes it
/// (`2026-11-28T20:01:02.345Z`).
fn millis(rfc3339: &str) -> i64 {
    let b = rfc3339.as_bytes();
    assert!(b.len() == 24 && b[10] == b'T' && b[23] == b'Z', "{rfc3339}");
    let num = |range: std::ops::Range<usize>| rfc3339[range].parse::<i64>().unwrap();
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    // Days from civil (Howard Hinnant), the inverse of the server's conversion.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
    secs * 1000 + num(20..23)
}

#[test]
fn rfc3339_millis() {
    // (time, milliseconds since the epoch)
    let cases = [
        ("1970-01-01T00:00:00.000Z", 0),
        ("2000-02-29T00:00:00.005Z", 951_782_400_005),
        ("2026-11-27T03:26:24.123Z", 1_795_749_984_123),
    ];
    for (text, want) in cases {
        assert_eq!(millis(text), want, "{text}");
    }
}

/// Every float in `value` is a whole number of milliseconds.
fn assert_rounded(what: &str, value: &Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let v = n.as_f64().unwrap() * 1000.0;
            assert!((v - v.round()).abs() < 1e-6, "{what}: {value} not in ms");
        }
        Value::Array(items) => items.iter().for_each(|v| assert_rounded(what, v)),
        Value::Object(map) => map.values().for_each(|v| assert_rounded(what, v)),
        _ => {}
    }
}

fn of_stream<'a>(events: &'a [SseEvent], stream: &str) -> Vec<&'a SseEvent> {
    events
        .iter()
        .filter(|e| e.json()["stream"] == stream)
        .collect()
}

/// Two streams paced to real time, then a restart that attaches one of them again and a third
/// that is deleted while it runs.
#[test]
fn live_payloads_say_when_and_which() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let paced = |id: &str| {
        format!(
            "{id}=file:{}?realtime,lang=en,origin=CN",
            clip("en_origin_false").display()
        )
    };
    let flags = ["--allow-local-sources"];
    let serve = Serve::start_with(
        root.path(),
        None,
        &[paced("shop1"), paced("shop2")],
        &flags,
        None,
    );
    let mut left = 2;
    let first = serve.sse("/events", Some(0)).until("both ended", |events| {
        if events
            .last()
            .is_some_and(|e| is_end_of(e, "shop1") || is_end_of(e, "shop2"))
        {
            left -= 1;
        }
        left == 0
    });
    for e in &first {
        assert_rounded(&format!("event {:?}", e.id), &e.json());
    }
    let mut alert_ids = HashSet::new();
    for stream in ["shop1", "shop2"] {
        let events = of_stream(&first, stream);
        let up = events
            .iter()
            .find(|e| e.event == "status" && e.json()["state"] == "up")
            .unwrap_or_else(|| panic!("{stream} never up: {:#?}", summary(&first)))
            .json();
        let up_at = millis(up["at"].as_str().unwrap());
        let alerts: Vec<Value> = events
            .iter()
            .filter(|e| e.event == "alert")
            .map(|e| e.json())
            .collect();
        assert!(
            alerts.iter().any(|a| a["category"] == "false_origin"),
            "{stream}: {:#?}",
            summary(&first)
        );
        for alert in &alerts {
            // The id names the stream and the event: unique across streams.
            let id = alert["id"].as_str().unwrap();
            assert_eq!(id, format!("{stream}-{}", alert["event_id"]), "{alert}");
            assert!(alert_ids.insert(id.to_string()), "{id} twice");
            // Said after the stream came up, at about its stream time (a paced file is
            // never early), and before it was published.
            let said = millis(alert["said_at"].as_str().expect("said_at"));
            let start_ms = (alert["start_s"].as_f64().unwrap() * 1000.0) as i64;
            let published = millis(alert["at"].as_str().unwrap());
            assert!(
                said >= up_at + start_ms - 500 && said <= published,
                "{stream}: up {up_at}, start_s {start_ms} ms, said {said}, published \
                 {published}: {alert}"
            );
        }
        // Statuses only on change: no two alike, none about nothing dropped, and a
        // message-less one with the same state as the one before only after 10 s.
        let statuses: Vec<Value> = events
            .iter()
            .filter(|e| e.event == "status")
            .map(|e| e.json())
            .collect();
        let mut quiet: Vec<&Value> = Vec::new();
        for s in &statuses {
            let message = s["message"].as_str().unwrap_or("");
            assert!(
                !message.contains("dropped the oldest 0 s")
                    && !message.contains("dropped the oldest 0.0 s"),
                "{s}"
            );
            if message.is_empty() {
                if let Some(before) = quiet.last() {
                    let apart =
                        millis(s["at"].as_str().unwrap()) - millis(before["at"].as_str().unwrap());
                    assert!(
                        before["state"] != s["state"] || apart >= 10_000,
                        "{stream}: {before} then {s}"
                    );
                }
                quiet.push(s);
            }
        }
    }
    let old_max = first.iter().filter_map(|e| e.id).max().unwrap();
    serve.stop();

    // After a restart: shop1 again (a new detector run: ids must not repeat), and a long
    // stream deleted while it runs.
    let shop1 = format!(
        "shop1=file:{},lang=en,origin=CN",
        clip("en_origin_false").display()
    );
    let serve = Serve::start_with(root.path(), None, &[shop1], &flags, None);
    let mut events = serve.sse("/events", Some(old_max));
    let long = format!("file:{}?realtime", clip("en_demo").display());
    let (code, info) = serve.call(
        reqwest::Method::POST,
        "/streams",
        Some(&json!({"id": "gone", "source": long, "lang": "en"})),
    );
    assert_eq!(code, 201, "{info}");
    assert_rounded("POST /streams", &info);
    let mut upped = false;
    let got = events.until("gone up", |events| {
        upped |= events.last().is_some_and(|e| {
            e.event == "status" && e.json()["stream"] == "gone" && e.json()["state"] == "up"
        });
        upped
    });
    let (code, one) = serve.get("/streams/gone");
    assert_eq!((code, &one["id"]), (200, &json!("gone")), "{one}");
    assert_rounded("GET /streams/gone", &one);
    let (code, list) = serve.get("/streams");
    assert_eq!(code, 200);
    assert_rounded("GET /streams", &list);
    let (code, answer) = serve.get("/alerts?stream=nope");
    assert_eq!(code, 404, "{answer}");
    let (code, answer) = serve.call(reqwest::Method::DELETE, "/streams/gone", None);
    assert_eq!(code, 204, "{answer}");
    let mut detached = false;
    let mut shop1_done = got.iter().any(|e| is_end_of(e, "shop1"));
    let mut done_shop1 = ended("shop1");
    let rest = events.until("gone detached and shop1 ended", |events| {
        detached |= events
            .last()
            .is_some_and(|e| is_end_of(e, "gone") && e.json()["message"] == "detached");
        shop1_done |= done_shop1(events);
        detached && shop1_done
    });
    let after: Vec<SseEvent> = got.into_iter().chain(rest).collect();
    let gone_ends: Vec<&SseEvent> = after.iter().filter(|e| is_end_of(e, "gone")).collect();
    assert_eq!(gone_ends.len(), 1, "{:#?}", summary(&after));
    let (_, list) = serve.get("/streams");
    assert!(
        list.as_array().unwrap().iter().all(|s| s["id"] != "gone"),
        "{list}"
    );
    let again: Vec<Value> = alerts_of(&after, "false_origin")
        .iter()
        .map(|e| e.json())
        .filter(|a| a["stream"] == "shop1")
        .collect();
    assert!(!again.is_empty(), "{:#?}", summary(&after));
    for alert in &again {
        let id = alert["id"].as_str().unwrap();
        assert!(
            alert_ids.insert(id.to_string()),
            "{id} repeated after the restart"
        );
    }
    // The log gives the same ids back.
    let (_, logged) = serve.get("/alerts?stream=shop1");
    let logged: BTreeMap<u64, String> = logged
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["event_id"].as_u64().unwrap(),
                a["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (event_id, id) in &logged {
        assert_eq!(id, &format!("shop1-{event_id}"));
    }
    serve.stop();
}

/// A worker whose turn at the decoder never comes (the test holds it, as another stream's long
/// decodes would) still takes in the audio that arrives: `stream_s` and `lag_s` grow with it
/// instead of standing still at a healthy-looking value. Cancelled while waiting, it stops
/// without waiting for the turn.
#[test]
fn a_stream_waiting_for_the_decoder_shows_its_lag() {
    let _cores = common::whisper_lock();
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::open(dir.path()).unwrap();
    let speech = audio::read_all(&repo().join("samples/en_demo.wav")).unwrap();
    let sent = &speech[..25 * 16_000];
    let chunks: Vec<&[f32]> = sent.chunks(1_600).collect();
    let (tx, rx) = sync_channel(chunks.len() + 2);
    let turns = Arc::new(DecodeTurns::new(1));
    // No looks: they only happen when the decoder is free, which it never is here.
    let (worker, shared) = super::english_worker(&hub, 60.0, turns.clone());
    let held = turns.spare().unwrap();
    let cancel = CancellationToken::new();
    let thread = {
        let cancel = cancel.clone();
        std::thread::spawn(move || worker.run(rx, cancel))
    };
    tx.send(SourceEvent::Up).unwrap();
    for chunk in &chunks {
        tx.send(SourceEvent::Audio(
            chunk.to_vec(),
            std::time::SystemTime::now(),
        ))
        .unwrap();
    }
    let sent_s = sent.len() as f64 / 16_000.0;
    // A phrase is ready within the first 12 s, so before the fix the worker stood in line for
    // the decoder from then on and `stream_s` stopped there.
    let deadline = Instant::now() + PATIENCE;
    let figures = loop {
        let figures = shared.info.lock().unwrap().clone();
        if figures.stream_s >= sent_s - 1e-6 {
            break figures;
        }
        assert!(
            Instant::now() < deadline,
            "received only {} s of {sent_s} s while waiting: {figures:?}",
            figures.stream_s
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // Nothing was decoded: everything but skipped silence is lag.
    assert!(
        figures.lag_s >= sent_s / 2.0 && figures.lag_s <= sent_s,
        "lag {} s of {sent_s} s undecoded: {figures:?}",
        figures.lag_s
    );
    cancel.cancel();
    let deadline = Instant::now() + PATIENCE;
    while !thread.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the worker waits for its turn after being cancelled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    thread.join().unwrap();
    drop(held);
    assert_eq!(shared.info.lock().unwrap().state, SourceState::Ended);
}
