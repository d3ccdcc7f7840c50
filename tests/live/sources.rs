//! `claimwatch serve` with sources the other serve tests do not attach: an HLS playlist served
//! over HTTP and over HTTPS (a private CA, `--source-ca`) on loopback, a file read far faster than it can be transcribed so `--max-lag` has
//! to drop audio, and an HTTP source held mid-sentence so an early alert is never confirmed.
//! The real binary, tiny.en, the shipped rules and real audio throughout.

use std::process::Command;

use serde_json::Value;

use super::serve::{alerts_of, ended, expected_times, summary, tempdir, Serve};
use crate::common;
use crate::serve::client::SseEvent;
use crate::source::server::{Gate, Reply, Server};
use crate::transcribe::hallucination::sox;

/// en_origin_false ("… It is made in Japan, …") as ADTS AAC segments of about 2 s, as a live
/// packager writes them (tests/data/source/make.sh).
const CLAIM_SEGMENTS: usize = 5;

fn claim_segment(i: usize) -> Vec<u8> {
    std::fs::read(common::data(&format!("source/claim/seg{i}.aac"))).unwrap()
}

/// A live HLS playlist behind `serve`: each reload shows one more segment (a window of three),
/// and the last reload ends the list. The claim in the fourth segment reaches `/events` as a
/// false-origin alert dated at the words, every segment is fetched exactly once, and the stream
/// ends when the playlist does.
#[test]
fn hls_stream_through_serve_alerts_its_claim() {
    hls_through_serve(false);
}

/// The same over https, the way live packagers serve HLS: the server's certificate is signed by
/// a CA the built-in roots do not know, which `--source-ca` adds (and without which the source
/// is refused, with the stream down rather than silently accepted).
#[test]
fn hls_over_https_through_serve_alerts_its_claim() {
    hls_through_serve(true);
    let root = tempdir();
    let server = Server::start_tls(|_, _| Reply::Status(404));
    let flag = format!("shop={},lang=en", server.url("/live/index.m3u8"));
    let serve = Serve::start_with(
        root.path(),
        None,
        &[flag],
        &["--allow-private-sources"],
        None,
    );
    let events = serve.sse("/events", Some(0)).until("shop down", |seen| {
        seen.last().is_some_and(|e| {
            e.event == "status" && e.json()["stream"] == "shop" && e.json()["state"] == "down"
        })
    });
    assert!(!events.is_empty());
    assert_eq!(
        server.hits("/live/index.m3u8"),
        0,
        "no request without trust"
    );
    assert!(
        serve.stderr().to_lowercase().contains("certificate"),
        "{}",
        serve.stderr()
    );
    serve.stop();
}

fn hls_through_serve(tls: bool) {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let playlist = |path: &str, nth: usize| match path {
        "/live/index.m3u8" => {
            let shown = nth.min(CLAIM_SEGMENTS);
            let first = shown.saturating_sub(3);
            let mut text = format!(
                "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
            );
            for i in first..shown {
                text.push_str(&format!("#EXTINF:2.0,\nclaim/seg{i}.aac\n"));
            }
            if nth > CLAIM_SEGMENTS {
                text.push_str("#EXT-X-ENDLIST\n");
            }
            Reply::Body("application/vnd.apple.mpegurl", text.into_bytes())
        }
        other => match other
            .strip_prefix("/live/claim/seg")
            .and_then(|rest| rest.strip_suffix(".aac"))
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|&i| i < CLAIM_SEGMENTS)
        {
            Some(i) => Reply::Body("audio/aac", claim_segment(i)),
            None => Reply::Status(404),
        },
    };
    let server = if tls {
        Server::start_tls(playlist)
    } else {
        Server::start(playlist)
    };
    let flag = format!("shop={},lang=en,origin=CN", server.url("/live/index.m3u8"));
    let ca = crate::source::server::test_ca().display().to_string();
    let mut flags = vec!["--allow-private-sources"];
    if tls {
        flags.extend(["--source-ca", &ca]);
    }
    let serve = Serve::start_with(root.path(), None, &[flag], &flags, None);
    let mut all = serve.sse("/events", Some(0));
    let events = all.until("shop ended", ended("shop"));

    let alerts = alerts_of(&events, "false_origin");
    assert!(!alerts.is_empty(), "{:#?}", summary(&events));
    let want = expected_times("en_origin_false", "false_origin")[0];
    for alert in &alerts {
        let alert = alert.json();
        assert_eq!(alert["stream"], "shop");
        assert_eq!(alert["declared_origin"], "CN");
        let start = alert["start_s"].as_f64().unwrap();
        // The segments carry the clip's audio from its start, so stream time is clip time;
        // 1.5 s either way, as for file sources (Whisper's segment times).
        assert!(
            (start - want).abs() <= 1.5,
            "alert at {start} s, the words at {want} s"
        );
    }
    assert!(
        events
            .iter()
            .all(|e| e.event != "alert" || e.json()["category"] == "false_origin"),
        "an alert the clip has no claim for: {:#?}",
        summary(&events)
    );
    let states: Vec<String> = events
        .iter()
        .filter(|e| e.event == "status")
        .map(|e| e.json()["state"].as_str().unwrap().to_string())
        .collect();
    assert!(states.iter().any(|s| s == "up"), "{states:?}");
    assert!(
        !states.iter().any(|s| s == "down"),
        "the source failed: {states:?}\n{}",
        serve.stderr()
    );
    for i in 0..CLAIM_SEGMENTS {
        assert_eq!(
            server.hits(&format!("/live/claim/seg{i}.aac")),
            1,
            "segment {i}"
        );
    }
    assert!(server.hits("/live/index.m3u8") > CLAIM_SEGMENTS);
    serve.stop();
    assert!(all.ends());
}

/// `--max-lag 5` on a source that delivers audio far faster than it can be transcribed (a file,
/// read as fast as it decodes): the oldest audio is dropped, `status` events say how much, and
/// the lag every status reports stays within the bound.
#[test]
fn max_lag_drops_audio_and_keeps_the_lag_bounded() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    // 110 s of speech: en_demo, en_origin_false, en_demo.
    let long = root.path().join("long.wav");
    let demo = super::serve::clip("en_demo");
    sox(Command::new("sox")
        .arg(&demo)
        .arg(super::serve::clip("en_origin_false"))
        .arg(&demo)
        .arg(&long));
    const MAX_LAG_S: f64 = 5.0;
    let serve = Serve::start_with(
        root.path(),
        None,
        &[format!("shop=file:{},lang=en", long.display())],
        &["--max-lag", "5"],
        None,
    );
    let mut all = serve.sse("/events", Some(0));
    let events = all.until("shop ended", ended("shop"));
    serve.stop();

    let statuses: Vec<Value> = events
        .iter()
        .filter(|e| e.event == "status")
        .map(SseEvent::json)
        .collect();
    let reports: Vec<f64> = statuses
        .iter()
        .filter_map(|s| {
            let rest = s["message"]
                .as_str()?
                .strip_prefix("transcription is behind real time: dropped the oldest ")?;
            Some(rest.strip_suffix(" s of audio").unwrap().parse().unwrap())
        })
        .collect();
    let last = statuses.last().unwrap();
    let dropped_s = last["dropped_s"].as_f64().unwrap();
    let stream_s = last["stream_s"].as_f64().unwrap();
    eprintln!(
        "dropped {dropped_s} s of {stream_s} s in {} reports; lags {:?}",
        reports.len(),
        statuses
            .iter()
            .map(|s| s["lag_s"].as_f64().unwrap())
            .collect::<Vec<_>>()
    );
    // The file is read far faster than any decoder transcribes it (a source chunk takes well
    // under a millisecond, a decode tens of milliseconds or more), so whatever the machine, most
    // of it is past the bound when it arrives. Measured: 91.3 of 109.1 s dropped, in 2 reports,
    // with lag_s at most 5.0.
    assert!(
        dropped_s > stream_s / 2.0,
        "only {dropped_s} s dropped of {stream_s} s: {:#?}",
        summary(&events)
    );
    assert!(!reports.is_empty(), "no drop reported: {statuses:#?}");
    let reported: f64 = reports.iter().sum();
    assert!(
        (reported - dropped_s).abs() <= 0.001 * reports.len() as f64 + 1e-6,
        "reported {reported} s, dropped {dropped_s} s"
    );
    // Each push trims the untranscribed audio to the bound; a status is published after a push,
    // so no status can show more lag than the bound (each figure is rounded to the ms).
    for status in &statuses {
        let lag = status["lag_s"].as_f64().unwrap();
        assert!(
            lag <= MAX_LAG_S + 0.001,
            "lag {lag} s over --max-lag: {status}"
        );
    }
    // What was kept was still transcribed.
    assert!(events.iter().any(|e| e.event == "transcript"));
    assert!(all.ends());
}

/// An early alert the committed transcript never repeats (README, "Alerts before the phrase
/// ends"): it is not withdrawn; a `status` event names it as unconfirmed. An HTTP source sends
/// the first 8 s of en_origin_false (the claim "made in Japan" ends at about 6.3 s, its sentence
/// at 9.5 s) and holds the rest back, so the sentence can only be looked at, never committed;
/// once the look has raised the alert, the stream is detached, and the phrase is never
/// committed. Nothing here waits on a clock: the source is held until the test detaches it.
#[test]
fn an_early_alert_never_committed_is_kept_and_reported_unconfirmed() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let wav = std::fs::read(super::serve::clip("en_origin_false")).unwrap();
    // 16 kHz mono 16-bit after a 44-byte header: 32 000 bytes a second.
    let held_back_from = 44 + 8 * 32_000;
    let gate = Gate::default();
    let held = gate.clone();
    let clip_server = Server::start(move |_, nth| match nth {
        // The gate is never opened: the connection stays open with 8 s sent until the stream
        // is detached (or GATE_PATIENCE passes, which fails the test below first).
        1 => Reply::Gated("audio/wav", wav.clone(), held_back_from, held.clone()),
        _ => Reply::Status(503),
    });
    let flag = format!("shop={},lang=en,origin=CN", clip_server.url("/shop.wav"));
    let serve = Serve::start_with(
        root.path(),
        None,
        &[flag],
        &["--allow-private-sources"],
        None,
    );
    let mut all = serve.sse("/events", Some(0));
    let before = all.until("the false-origin alert from a look", |events| {
        !alerts_of(events, "false_origin").is_empty()
    });
    // Early: no committed transcript holds the claim's words yet.
    assert!(
        !before.iter().any(|e| e.event == "transcript"
            && e.json()["text"].as_str().unwrap_or("").contains("Japan")),
        "the claim was committed before the alert: {:#?}",
        summary(&before)
    );
    let alert = alerts_of(&before, "false_origin")[0].json();
    let id = alert["id"].as_str().unwrap().to_string();

    let (code, answer) = serve.call(reqwest::Method::DELETE, "/streams/shop", None);
    assert_eq!(code, 204, "{answer}");
    let after = all.until("the unconfirmed status", |events| {
        events.last().is_some_and(|e| {
            e.event == "status"
                && e.json()["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("does not repeat it"))
        })
    });
    let status = after.last().unwrap().json();
    let message = status["message"].as_str().unwrap();
    eprintln!("{:#?}\n{message}", summary(&before));
    assert_eq!(status["stream"], "shop");
    assert!(
        message.starts_with(&format!("alert {id} (")),
        "{message} does not name {id}"
    );
    assert!(
        !after.iter().any(|e| e.event == "transcript"
            && e.json()["stream"] == "shop"
            && e.json()["text"].as_str().unwrap_or("").contains("Japan")),
        "the claim was committed after all: {:#?}",
        summary(&after)
    );
    // Not withdrawn: the alert is still served.
    let (code, alerts) = serve.get("/alerts?stream=shop");
    assert_eq!(code, 200, "{alerts}");
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id.as_str()),
        "{id} not in /alerts: {alerts}"
    );
    drop(gate);
    serve.stop();
    assert!(all.ends());
}
