//! Viewer comments end to end: the real binary, the shipped comment and claims packs, a real
//! HTTP client on loopback. A platform posts batches to `POST /streams/{id}/comments` and a
//! second stream reads its chat from a JSON-lines feed file. Checked: alerts with
//! `source: "comment"` on the same SSE and `/alerts` as speech; one escalating alert for a user
//! who keeps insulting; the seller's own text judged against the declared origin; a re-sent
//! batch taken once, also after a restart; bad batches refused with one clear line; a bad feed
//! line named by file:line and skipped.
//!
//! The streams' audio is a short silence: these tests are about the chat, and Whisper on
//! silence costs next to nothing.

use std::path::Path;

use serde_json::{json, Value};

use super::serve::{summary, tempdir, Serve};
use crate::common;

const TOKEN: &str = "e2e-comments-token-0123456789";

/// Two seconds of 16 kHz silence.
fn silence(path: &Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(path, spec).unwrap();
    for _ in 0..32_000 {
        wav.write_sample(0i16).unwrap();
    }
    wav.finalize().unwrap();
}

fn comment(id: &str, user: &str, text: &str) -> Value {
    json!({"id": id, "user": user, "text": text, "at": "2026-11-29T10:00:00Z"})
}

/// The batch a platform sends for stream `shop` (declared origin CN, English).
fn batch() -> Value {
    json!([
        comment("c1", "troll42", "you are a stupid idiot"),
        comment("c2", "troll42", "what an idiot lol"),
        comment("c3", "troll42", "idiot idiot idiot"),
        comment("c4", "angry1", "kill yourself"),
        comment("c5", "fan", "I'm dying laughing, this lipstick slays"),
        comment("c6", "fan", "can I pay with PayPal on the official store?"),
        {"id": "c7", "user": "shop_official", "text": "Made in Japan, 100% authentic!",
         "from_seller": true},
        comment("c8", "spam99", "DM me on telegram @cheapdeals for half price"),
        comment("c1", "troll42", "you are a stupid idiot"),
    ])
}

fn alerts_of_stream(serve: &Serve, stream: &str) -> Vec<Value> {
    let (code, alerts) = serve.get(&format!("/alerts?stream={stream}"));
    assert_eq!(code, 200, "{alerts}");
    alerts.as_array().unwrap().clone()
}

fn by_category<'a>(alerts: &'a [Value], category: &str) -> Vec<&'a Value> {
    alerts
        .iter()
        .filter(|a| a["category"] == category)
        .collect()
}

#[test]
fn a_platform_posts_chat_and_gets_one_alert_per_offence_once() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let audio = root.path().join("silence.wav");
    silence(&audio);
    let stream = format!("shop=file:{},lang=en,origin=CN", audio.display());
    let serve = Serve::start_with(
        root.path(),
        Some(TOKEN),
        std::slice::from_ref(&stream),
        &[],
        None,
    );

    let (code, taken) = serve.call(
        reqwest::Method::POST,
        "/streams/shop/comments",
        Some(&batch()),
    );
    assert_eq!(code, 200, "{taken}\n{}", serve.stderr());
    assert_eq!(taken["accepted"], 8, "{taken}");
    assert_eq!(taken["repeated"], 1, "{taken}");

    let alerts = alerts_of_stream(&serve, "shop");
    let abuse = by_category(&alerts, "abuse");
    assert_eq!(
        abuse.len(),
        1,
        "one alert for troll42's three insults: {alerts:#?}"
    );
    let abuse = abuse[0];
    assert_eq!(abuse["source"], "comment");
    assert_eq!(abuse["comment"]["id"], "c1");
    assert_eq!(abuse["comment"]["user"], "troll42");
    assert_eq!(abuse["comment"]["count"], 3, "{abuse}");
    assert_eq!(abuse["severity"], "critical", "raised a step at 3: {abuse}");
    assert_eq!(taken["escalated"], json!([abuse["id"]]), "{taken}");

    let threat = by_category(&alerts, "threat");
    assert_eq!(threat.len(), 1, "{alerts:#?}");
    assert_eq!(threat[0]["comment"]["id"], "c4");
    assert_eq!(threat[0]["severity"], "critical");
    let scam = by_category(&alerts, "scam");
    assert_eq!(scam.len(), 1, "{alerts:#?}");
    assert_eq!(scam[0]["comment"]["id"], "c8");
    // The seller's own text, against the stream's declared origin.
    let origin = by_category(&alerts, "false_origin");
    assert_eq!(origin.len(), 1, "{alerts:#?}");
    assert_eq!(origin[0]["comment"]["from_seller"], true);
    assert_eq!(origin[0]["declared_origin"], "CN");
    // Idioms and a payment question on the official store raise nothing.
    let ids: Vec<&str> = alerts
        .iter()
        .map(|a| a["comment"]["id"].as_str().unwrap_or(""))
        .collect();
    assert!(!ids.contains(&"c5") && !ids.contains(&"c6"), "{alerts:#?}");
    assert_eq!(taken["alerts"].as_array().unwrap().len(), alerts.len());

    // The same SSE as speech: comments, alerts and the escalations, in order.
    let events =
        serve
            .sse("/streams/shop/events", Some(0))
            .until("the last comment's events", |events| {
                events.iter().filter(|e| e.event == "comment").count() == 8
                    && events.iter().filter(|e| e.event == "escalation").count() == 2
            });
    let escalations: Vec<Value> = events
        .iter()
        .filter(|e| e.event == "escalation")
        .map(|e| e.json())
        .collect();
    assert_eq!(escalations[1]["count"], 3, "{:#?}", summary(&events));
    assert_eq!(escalations[1]["alert_id"], abuse["id"]);

    let (code, stored) = serve.get("/streams/shop/comments");
    assert_eq!(code, 200);
    assert_eq!(stored.as_array().unwrap().len(), 8, "{stored}");
    assert_eq!(stored[0]["posted_at"], "2026-11-29T10:00:00Z");

    // Bad batches: one clear line each, nothing taken.
    let long = "x".repeat(5000);
    let bad: [(&str, Value, u16, &str); 5] = [
        ("/streams/shop/comments", json!([]), 400, "no comments"),
        (
            "/streams/shop/comments",
            json!([{"id": "z", "user": "u", "txt": "typo"}]),
            422,
            "txt",
        ),
        (
            "/streams/shop/comments",
            json!([comment("z1", "u", &long)]),
            400,
            "text of 5000 bytes",
        ),
        (
            "/streams/shop/comments",
            json!({"id": "z"}),
            422,
            "sequence",
        ),
        (
            "/streams/nobody/comments",
            json!([comment("z2", "u", "hi")]),
            404,
            "no stream nobody",
        ),
    ];
    for (path, body, status, part) in bad {
        let (code, answer) = serve.call(reqwest::Method::POST, path, Some(&body));
        assert_eq!(code, status, "{path} {body}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(part), "{error:?} lacks {part:?}");
        assert!(!error.contains('\n'), "{error:?}");
    }
    let (_, _, metrics) = serve.get_bytes("/metrics");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("claimwatch_comments_total{stream=\"shop\"} 8"),
        "{metrics}"
    );
    serve.stop();

    // After a restart the platform re-sends the batch it was not sure about: nothing new.
    let serve = Serve::start_with(root.path(), Some(TOKEN), &[stream], &[], None);
    let (code, again) = serve.call(
        reqwest::Method::POST,
        "/streams/shop/comments",
        Some(&batch()),
    );
    assert_eq!(code, 200, "{again}");
    assert_eq!(
        (again["accepted"].clone(), again["repeated"].clone()),
        (json!(0), json!(9))
    );
    assert_eq!(alerts_of_stream(&serve, "shop").len(), alerts.len());
    serve.stop();
}

#[test]
fn a_stream_reads_its_chat_from_a_feed_and_skips_a_bad_line() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let audio = root.path().join("silence.wav");
    silence(&audio);
    let feed = root.path().join("chat.jsonl");
    let lines = [
        json!({"id": "f1", "user": "a", "text": "今日も可愛い！"}).to_string(),
        "{not json".to_string(),
        json!({"id": "f2", "user": "b", "text": "しね"}).to_string(),
        String::new(),
        json!({"id": "f3", "user": "c", "text": "ＬＩＮＥで連絡ください ID: cheap_bag77"})
            .to_string(),
    ];
    std::fs::write(&feed, lines.join("\n") + "\n").unwrap();
    let stream = format!(
        "live=file:{},lang=ja,comments={}",
        audio.display(),
        feed.display()
    );
    let serve = Serve::start_with(root.path(), Some(TOKEN), &[stream], &[], None);
    let events =
        serve
            .sse("/streams/live/events", Some(0))
            .until("the feed's three comments", |events| {
                events.iter().filter(|e| e.event == "comment").count() == 3
                    && events.iter().filter(|e| e.event == "alert").count() >= 2
            });
    let categories: Vec<String> = events
        .iter()
        .filter(|e| e.event == "alert")
        .map(|e| e.json()["category"].as_str().unwrap().to_string())
        .collect();
    assert!(categories.contains(&"threat".to_string()), "{categories:?}");
    assert!(categories.contains(&"scam".to_string()), "{categories:?}");
    let stderr = serve.stderr();
    assert!(
        stderr.contains(&format!("{}:2:", feed.display())) && stderr.contains("skipped"),
        "{stderr}"
    );
    serve.stop();
}

/// A chat feed over HTTP that never ends: one comment now, one more a moment later on the same
/// response, which stays open (as a platform's chat stream does).
#[test]
fn a_stream_follows_an_http_chat_feed_as_it_arrives() {
    use std::io::{Read, Write};
    let _cores = common::whisper_lock();
    let root = tempdir();
    let audio = root.path().join("silence.wav");
    silence(&audio);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sent, later) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut head = [0u8; 1024];
        let _ = socket.read(&mut head).unwrap();
        let first = json!({"id": "h1", "user": "x", "text": "kill yourself"}).to_string();
        write!(
            socket,
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n\r\n{first}\n"
        )
        .unwrap();
        socket.flush().unwrap();
        // The second line only once the first was acted on: the feed is read as it arrives.
        later.recv().unwrap();
        let second = json!({"id": "h2", "user": "y", "text": "text me on telegram @bag_deals"});
        writeln!(socket, "{second}").unwrap();
        socket.flush().unwrap();
        // Held open until the test ends.
        let _ = later.recv();
    });
    let stream = format!(
        "feed=file:{},lang=en,comments=http://127.0.0.1:{port}/chat",
        audio.display()
    );
    let serve = Serve::start_with(
        root.path(),
        Some(TOKEN),
        &[stream],
        &["--allow-private-sources"],
        None,
    );
    let mut sse = serve.sse("/streams/feed/events", Some(0));
    let first = sse.until("the first comment's alert", |events| {
        events.iter().any(|e| e.event == "alert")
    });
    let threat = first.iter().find(|e| e.event == "alert").unwrap().json();
    assert_eq!(threat["category"], "threat", "{threat}");
    assert_eq!(threat["comment"]["id"], "h1");
    sent.send(()).unwrap();
    let second = sse.until("the second comment's alert", |events| {
        events.iter().any(|e| e.event == "alert")
    });
    let scam = second.iter().find(|e| e.event == "alert").unwrap().json();
    assert_eq!(scam["category"], "scam", "{scam}");
    assert_eq!(scam["comment"]["id"], "h2");
    serve.stop();
    drop(sent);
    server.join().unwrap();
}
