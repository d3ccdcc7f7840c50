//! The review workflow, operators and the CSV export over TCP: a real server on 127.0.0.1, a
//! real hub in a temporary data directory (reopened to prove that reviews survive a restart),
//! real alerts from the shipped rule packs, SSE read as a browser would.
//!
//! Input: alerts published on the hub, HTTP requests with and without tokens. Output checked:
//! status codes and JSON errors, `review` events on SSE, each alert's `review` in `GET /alerts`
//! before and after a restart, the CSV bytes, the metrics.

use claimwatch::serve::Operators;
use reqwest::Method;
use serde_json::{json, Value};

use super::client::SseClient;
use super::{alert, Options, Server};

const ALICE: &str = "alice-secret-0123456789";
const BOB: &str = "bob-secret-0123456789ab";
const SINGLE: &str = "single-secret-0123456789";

/// One request: (status, JSON body or the text as a JSON string, headers).
async fn send(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value, headers)
}

async fn review(server: &Server, token: Option<&str>, id: &str, body: Value) -> (u16, Value) {
    let url = server.url(&format!("/alerts/{id}/review"));
    let (status, value, _) = send(Method::POST, &url, token, Some(body)).await;
    (status, value)
}

/// `GET /alerts{query}` as (alert id, review state, reviewer, note).
async fn listed(server: &Server, query: &str) -> Vec<(String, String, Value, Value)> {
    let (status, body, _) = send(
        Method::GET,
        &server.url(&format!("/alerts{query}")),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let r = &a["review"];
            (
                a["id"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
                r["by"].clone(),
                r["note"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_are_logged_broadcast_listed_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    // Alert ids are STREAM-EVENTID: shop-1-1, shop-2-2, shop-1-3.
    for (i, stream) in ["shop-1", "shop-2", "shop-1"].into_iter().enumerate() {
        server.hub.publish(stream, alert(i)).unwrap();
    }
    let mut sse = SseClient::connect(&server.url("/events"), &[]).await;
    let mut shop2 = SseClient::connect(&server.url("/streams/shop-2/events"), &[]).await;
    assert!(listed(&server, "")
        .await
        .iter()
        .all(|a| a.1 == "new" && a.2.is_null()));

    let (status, body) = review(&server, None, "shop-1-1", json!({"state": "acknowledged"})).await;
    assert_eq!(status, 201, "{body}");
    // (field, value) of the answer, which is the review event as SSE carries it.
    for (field, want) in [
        ("type", json!("review")),
        ("stream", json!("shop-1")),
        ("event_id", json!(4)),
        ("alert_id", json!("shop-1-1")),
        ("alert_event_id", json!(1)),
        ("from", json!("new")),
        ("state", json!("acknowledged")),
        ("by", json!("local")),
    ] {
        assert_eq!(body[field], want, "{field} in {body}");
    }
    let note = "産地表示は中国、発言は「日本製」。\n録画 12:03 を確認";
    let (status, body) = review(
        &server,
        None,
        "shop-1-1",
        json!({"state": "confirmed", "note": note, "from": "acknowledged"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = review(&server, None, "shop-2-2", json!({"state": "escalated"})).await;
    assert_eq!(status, 201, "{body}");
    // Answered only once it is in the log: the line is in a segment file before any close.
    let logged: String = std::fs::read_dir(dir.path().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let reviews: Vec<Value> = logged
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["type"] == "review")
        .collect();
    assert_eq!(reviews.len(), 3, "{logged}");
    assert_eq!(reviews[1]["body"]["note"], note);

    // Every open console hears each decision, in order; a stream's endpoint hears its own.
    let events = sse.take(3).await;
    let seen: Vec<(String, Option<u64>, String, String)> = events
        .iter()
        .map(|e| {
            let j = e.json();
            (
                e.event.clone(),
                e.id,
                j["alert_id"].as_str().unwrap().to_string(),
                j["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("review", 4, "shop-1-1", "acknowledged"),
        ("review", 5, "shop-1-1", "confirmed"),
        ("review", 6, "shop-2-2", "escalated"),
    ]
    .map(|(k, id, a, s)| (k.to_string(), Some(id), a.to_string(), s.to_string()));
    assert_eq!(seen, want);
    assert_eq!(events[1].json()["note"], note);
    let own = shop2.take(1).await;
    assert_eq!(own[0].json()["alert_id"], "shop-2-2");

    // Refused requests: one JSON error each, with the status that says why, and nothing logged.
    let long = "x".repeat(2001);
    // (alert id, body, status, words in the error)
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "shop-9-1",
            json!({"state": "confirmed"}),
            404,
            "no alert \"shop-9-1\"",
        ),
        ("shop-1-2", json!({"state": "confirmed"}), 404, "no alert"),
        ("whatever", json!({"state": "confirmed"}), 404, "no alert"),
        (
            "shop-1-3",
            json!({"state": "closed"}),
            400,
            "unknown review state \"closed\"",
        ),
        (
            "shop-1-3",
            json!({"note": "x"}),
            400,
            "missing field `state`",
        ),
        (
            "shop-1-3",
            json!({"state": "confirmed", "note": long}),
            400,
            "at most 2000",
        ),
        (
            "shop-1-3",
            json!({"state": "confirmed", "from": "maybe"}),
            400,
            "from: unknown review state",
        ),
        (
            "shop-1-3",
            json!({"state": "confirmed", "by": "mallory"}),
            422,
            "unknown field `by`",
        ),
        (
            "shop-1-1",
            json!({"state": "new"}),
            409,
            "never goes back to new",
        ),
        (
            "shop-1-1",
            json!({"state": "acknowledged"}),
            409,
            "already confirmed by local",
        ),
        (
            "shop-1-1",
            json!({"state": "dismissed", "from": "acknowledged"}),
            409,
            "is confirmed by local now, not acknowledged",
        ),
    ];
    for (id, body, status, words) in cases {
        let (got, answer) = review(&server, None, id, body.clone()).await;
        assert_eq!(got, status, "{id} {body}: {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{id} {body}: {message}");
    }
    let (_, health, _) = send(Method::GET, &server.url("/healthz"), None, None).await;
    assert_eq!(health["next_event_id"], 7, "a refused review used an id");

    let before = listed(&server, "").await;
    let want = vec![
        (
            "shop-1-1".to_string(),
            "confirmed".to_string(),
            json!("local"),
            json!(note),
        ),
        (
            "shop-2-2".to_string(),
            "escalated".to_string(),
            json!("local"),
            Value::Null,
        ),
        (
            "shop-1-3".to_string(),
            "new".to_string(),
            Value::Null,
            Value::Null,
        ),
    ];
    assert_eq!(before, want);
    let (_, all, _) = send(Method::GET, &server.url("/alerts"), None, None).await;
    assert_eq!(all[0]["review"]["event_id"], 5);
    assert!(all[0]["review"]["at"].as_str().unwrap().ends_with('Z'));
    // (query, alert ids)
    let cases = [
        ("?review=new", vec!["shop-1-3"]),
        ("?review=new,escalated", vec!["shop-2-2", "shop-1-3"]),
        ("?review=confirmed&stream=shop-2", vec![]),
        ("?review=confirmed&stream=shop-1", vec!["shop-1-1"]),
    ];
    for (query, ids) in cases {
        let got: Vec<String> = listed(&server, query)
            .await
            .into_iter()
            .map(|a| a.0)
            .collect();
        assert_eq!(got, ids, "{query}");
    }
    let (status, body, headers) = send(
        Method::GET,
        &server.url("/alerts?review=new,escalated&limit=1"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        headers["link"],
        "</alerts?review=new%2Cescalated&after=2&limit=1>; rel=\"next\""
    );
    let (status, body, _) = send(Method::GET, &server.url("/alerts?review=open"), None, None).await;
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("unknown review state \"open\""));

    let (_, metrics, _) = send(Method::GET, &server.url("/metrics"), None, None).await;
    let metrics = metrics.as_str().unwrap().to_string();
    for line in [
        "claimwatch_reviews_total{state=\"acknowledged\"} 1",
        "claimwatch_reviews_total{state=\"confirmed\"} 1",
        "claimwatch_reviews_total{state=\"escalated\"} 1",
        "claimwatch_reviews_total{state=\"dismissed\"} 0",
        "claimwatch_alerts_by_review_state{state=\"new\"} 1",
        "claimwatch_alerts_by_review_state{state=\"confirmed\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }

    // A restart on the same data directory: the same reviews, the same rules.
    drop((sse, shop2));
    server.stop().await;
    let server = Server::start(dir.path(), Options::default()).await;
    assert_eq!(listed(&server, "").await, before);
    let (status, body) = review(&server, None, "shop-1-1", json!({"state": "acknowledged"})).await;
    assert_eq!(status, 409, "{body}");
    // Re-deciding is allowed, and logged with where it came from.
    let (status, body) = review(
        &server,
        None,
        "shop-1-1",
        json!({"state": "dismissed", "from": "confirmed"}),
    )
    .await;
    assert_eq!(
        (status, &body["from"], &body["event_id"]),
        (201, &json!("confirmed"), &json!(7)),
        "{body}"
    );
    // A client that reconnects with Last-Event-ID gets the decisions it missed, before and
    // after the restart.
    let mut replay = SseClient::connect(&server.url("/events"), &[("last-event-id", "3")]).await;
    let ids: Vec<Option<u64>> = replay.take(4).await.iter().map(|e| e.id).collect();
    assert_eq!(ids, [Some(4), Some(5), Some(6), Some(7)]);
    drop(replay);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_are_named_and_viewers_only_read() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        format!("alice={ALICE}"),
        format!("bob:viewer={BOB}"),
        SINGLE.to_string(),
    ];
    let options = Options {
        operators: Some(Operators::parse(&flags, None).unwrap()),
        ..Options::default()
    };
    let server = Server::start(dir.path(), options).await;
    server.attach("shop-1");
    for i in 0..3 {
        server.hub.publish("shop-1", alert(i)).unwrap();
    }
    let confirm = json!({"state": "confirmed"});
    let attach = json!({"id": "shop-2", "source": "file:x.wav"});
    // (token, method, path, body, status)
    type Case<'a> = (Option<&'a str>, Method, &'a str, Option<Value>, u16);
    let cases: Vec<Case> = vec![
        (Some(BOB), Method::GET, "/alerts", None, 200),
        (Some(BOB), Method::GET, "/alerts.csv", None, 200),
        (Some(BOB), Method::GET, "/streams", None, 200),
        (Some(BOB), Method::GET, "/metrics", None, 200),
        (
            Some(BOB),
            Method::POST,
            "/alerts/shop-1-1/review",
            Some(confirm.clone()),
            403,
        ),
        (
            Some(BOB),
            Method::POST,
            "/streams",
            Some(attach.clone()),
            403,
        ),
        (
            Some(BOB),
            Method::PUT,
            "/streams/shop-1/product",
            Some(json!({"origin": "JP"})),
            403,
        ),
        (Some(BOB), Method::DELETE, "/streams/shop-1", None, 403),
        (None, Method::GET, "/alerts", None, 401),
        (
            Some("wrong-secret-0123456789"),
            Method::POST,
            "/alerts/shop-1-1/review",
            Some(confirm.clone()),
            401,
        ),
        (
            Some(ALICE),
            Method::POST,
            "/alerts/shop-1-1/review",
            Some(confirm.clone()),
            201,
        ),
        (
            Some(SINGLE),
            Method::POST,
            "/alerts/shop-1-2/review",
            Some(confirm.clone()),
            201,
        ),
        (
            Some(ALICE),
            Method::PUT,
            "/streams/shop-1/product",
            Some(json!({"origin": "JP"})),
            200,
        ),
    ];
    for (token, method, path, body, status) in cases {
        let who = token.map(|t| &t[..4]);
        let (got, answer, _) = send(method.clone(), &server.url(path), token, body).await;
        assert_eq!(got, status, "{who:?} {method} {path}: {answer}");
        if got == 403 {
            let message = answer["error"].as_str().unwrap();
            assert!(message.contains("operator bob is a viewer"), "{message}");
        }
    }
    // Who decided is the operator the token belongs to; the unnamed token is `operator`.
    let (_, alerts, _) = send(Method::GET, &server.url("/alerts"), Some(BOB), None).await;
    let by: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["review"]["by"])
        .collect();
    assert_eq!(by, [&json!("alice"), &json!("operator"), &Value::Null]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_export_opens_in_excel_and_follows_the_filters() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let mut published = Vec::new();
    for (i, stream) in ["shop-1", "shop-2", "shop-1", "shop-1"]
        .into_iter()
        .enumerate()
    {
        published.push(server.hub.publish(stream, alert(i)).unwrap());
    }
    let note = "「日本製」, \"虚偽\"\n=再確認";
    let (status, body) = review(
        &server,
        None,
        "shop-1-1",
        json!({"state": "confirmed", "note": note}),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let response = reqwest::get(server.url("/alerts.csv?stream=shop-1"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"claimwatch-alerts-shop-1-")
            && disposition.ends_with("Z.csv\""),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM for Excel");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "alert_id",
            "stream",
            "said_at",
            "start_s",
            "end_s",
            "category",
            "severity",
            "rule",
            "text",
            "context",
            "declared_origin",
            "spoken_origin",
            "legal_basis",
            "review_state",
            "reviewer",
            "reviewed_at",
            "note",
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let ids: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(ids, ["shop-1-1", "shop-1-3", "shop-1-4"]);
    let first = published[0].alert().unwrap();
    assert_eq!(&rows[0][5], first.category.as_str());
    assert_eq!(&rows[0][8], first.text.as_str());
    assert_eq!(&rows[0][9], first.context.as_str());
    assert_eq!(&rows[0][3], first.start_s.unwrap().to_string());
    assert_eq!((&rows[0][13], &rows[0][14]), ("confirmed", "local"));
    assert_eq!(&rows[0][16], note, "quotes, commas and the newline survive");
    assert_eq!((&rows[1][13], &rows[1][14], &rows[1][16]), ("new", "", ""));

    // (query, status, alert ids or error words)
    let cases: [(&str, u16, &str); 6] = [
        ("?review=confirmed", 200, "shop-1-1"),
        ("?review=new&stream=shop-2", 200, "shop-2-2"),
        ("?after=3", 200, "shop-1-4"),
        ("?stream=ghost", 404, "no stream \"ghost\""),
        ("?category=bogus", 400, "unknown category"),
        ("?limit=5", 400, "every matching alert"),
    ];
    for (query, status, want) in cases {
        let response = reqwest::get(server.url(&format!("/alerts.csv{query}")))
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{query}");
        let text = response.text().await.unwrap();
        if status == 200 {
            let text = text.strip_prefix('\u{feff}').expect("BOM");
            let ids: Vec<String> = csv::Reader::from_reader(text.as_bytes())
                .records()
                .map(|r| r.unwrap()[0].to_string())
                .collect();
            assert_eq!(ids.join(" "), want, "{query}");
        } else {
            let error: Value = serde_json::from_str(&text).unwrap();
            assert!(
                error["error"].as_str().unwrap().contains(want),
                "{query}: {text}"
            );
        }
    }
    server.stop().await;
}

/// Operators deciding at once are ordered: of many acknowledging one alert together, exactly one
/// gets it and every other is told it is taken; the log holds one decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_simultaneous_acknowledgements_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    server.hub.publish("shop-1", alert(0)).unwrap();
    let url = server.url("/alerts/shop-1-1/review");
    let tries = (0..12).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            let body = json!({"state": "acknowledged"});
            send(Method::POST, &url, None, Some(body)).await.0
        })
    });
    let mut codes = Vec::new();
    for task in tries.collect::<Vec<_>>() {
        codes.push(task.await.unwrap());
    }
    codes.sort_unstable();
    let mut want = vec![409; 11];
    want.insert(0, 201);
    assert_eq!(codes, want);
    let (_, metrics, _) = send(Method::GET, &server.url("/metrics"), None, None).await;
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(
        metrics.contains("claimwatch_reviews_total{state=\"acknowledged\"} 1\n"),
        "{metrics}"
    );
    server.stop().await;
}
